# authd: a static binary on an empty base, run as a non-root user.
#
#   docker build -t authd:local .
#
# Both base images are build arguments, so an offline build farm can
# substitute images it built itself (scripts/golang-image.sh does that here):
#   docker build --build-arg GO_IMAGE=authd-build/golang:1.26 -t authd:local .
# Only the classic builder's features are used, so this also builds on
# engines without BuildKit.
ARG GO_IMAGE=golang:1.26-trixie
ARG RUNTIME_IMAGE=scratch

FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags='-s -w' -o /out/root/usr/local/bin/authd ./cmd/authd \
 && go build -trimpath -ldflags='-s -w' -o /out/root/usr/local/bin/authd-web ./examples/web \
 && mkdir -p /out/root/etc/ssl/certs /out/state/authd \
 && echo 'authd state: the signing key (signing.pem) when none is mounted elsewhere; data/ holds the embedded SQLite store and its key' >/out/state/authd/README \
 && cp /etc/ssl/certs/ca-certificates.crt /out/root/etc/ssl/certs/ \
 && echo 'authd:x:65532:65532:authd:/var/lib/authd:/nonexistent' >/out/root/etc/passwd \
 && echo 'authd:x:65532:' >/out/root/etc/group

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/root/ /
# /var/lib/authd belongs to the authd user, so a named volume mounted there
# (the compose stack keeps its signing key in one) is writable by it: Docker
# copies a non-empty image directory, owner included, into a new volume.
# The binary and /etc stay root's.
COPY --from=build --chown=65532:65532 /out/state/authd /var/lib/authd
USER 65532:65532
ENV AUTH_ADDR=:8080 AUTH_DATA_DIR=/var/lib/authd/data
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/authd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/authd"]
CMD ["serve"]
