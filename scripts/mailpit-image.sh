#!/usr/bin/env bash
# Builds a mailpit image (the development mail catcher of docker-compose.yml)
# without a registry: the mailpit binary is built from the Go module proxy
# on this machine (static, CGO_ENABLED=0) and `docker import` turns a root
# file system holding only it and an empty /tmp into an image. The tag is
# reused when present.
#
# The binary is the one adapters/mail/mailpittest builds for the tests:
# same version and flags, same cache (~/.cache/authd-test/mailpit-VERSION)
# and lock, so a machine builds it once for both.
#
# Built from the module proxy, mailpit lacks its web UI's JavaScript (made
# by npm, which is not reachable here): the page at :8025 stays blank, the
# API answers (curl 127.0.0.1:8025/api/v1/messages). Online, the official
# image (docker-compose.yml's default) has the UI.
#
#   scripts/mailpit-image.sh [TAG]     default authd-test/mailpit:v1.33.1
#   FORCE=1 scripts/mailpit-image.sh   rebuild even if the tag exists
set -euo pipefail
VERSION=v1.33.1 # keep in step with adapters/mail/mailpittest.Version
TAG="${1:-authd-test/mailpit:$VERSION}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

if have_image "$TAG"; then
  echo "mailpit-image: $TAG already present, reusing it"
  exit 0
fi
[ "$(go env GOOS)" = linux ] || { echo "mailpit-image: needs a Linux host (the binary goes into a Linux image as built)" >&2; exit 1; }
workdir

start=$(date +%s)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/authd-test/mailpit-$VERSION"
mkdir -p "$cache"
(
  flock 9 # the test helper takes the same lock
  if [ ! -x "$cache/mailpit" ]; then
    echo "mailpit-image: building mailpit $VERSION with $(go env GOVERSION) into $cache"
    gobin="$(mktemp -d "$cache/build-XXXXXX")"
    trap 'rm -rf "$gobin"' EXIT
    (cd "$gobin" && GOBIN="$gobin" CGO_ENABLED=0 GOWORK=off GOFLAGS= go install -trimpath \
      -ldflags "-s -w -X github.com/axllent/mailpit/config.Version=$VERSION" \
      "github.com/axllent/mailpit@$VERSION")
    mv "$gobin/mailpit" "$cache/mailpit"
  fi
) 9>"$cache/build.lock"

mkdir -p "$tmp/rootfs/tmp"
chmod 1777 "$tmp/rootfs/tmp" # mailpit's database, when none is named, is a temporary file
cp "$cache/mailpit" "$tmp/rootfs/mailpit"
tar --numeric-owner --owner=0 --group=0 -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .

# Accepts any SMTP credentials, or none, also without TLS: a mail catcher
# for development, never a relay (it sends nothing on).
import_rootfs "$TAG" "mailpit $VERSION built from the Go module proxy (authd scripts/mailpit-image.sh)" \
'ENV MP_SMTP_AUTH_ACCEPT_ANY=true \
    MP_SMTP_AUTH_ALLOW_INSECURE=true \
    MP_SMTP_DISABLE_RDNS=true \
    MP_DISABLE_VERSION_CHECK=true \
    TMPDIR=/tmp
USER 65532:65532
EXPOSE 1025 8025
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=10 CMD ["/mailpit", "readyz"]
ENTRYPOINT ["/mailpit"]' "$tmp/rootfs.tar"

echo "mailpit-image: built $TAG in $(( $(date +%s) - start ))s ($(image_size "$TAG"))"
