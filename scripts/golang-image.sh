#!/usr/bin/env bash
# Builds the Go build-stage image for the Dockerfile offline: a minimal
# Debian trixie root (from Debian's packages) holding this machine's Go
# toolchain, which must match go.mod's go line. Online, the Dockerfile's
# default (the official golang image) is used instead. Module downloads in
# the build still go through the Go module proxy; the go command trusts
# Debian's CAs plus this machine's local ones (/usr/local/share/
# ca-certificates, e.g. an egress proxy's), through SSL_CERT_FILE only, so
# the runtime image, which copies Debian's bundle, does not inherit them.
#
#   scripts/golang-image.sh [TAG]     default authd-build/golang:1.26
#   FORCE=1 scripts/golang-image.sh   rebuild even if the tag exists
set -euo pipefail
TAG="${1:-authd-build/golang:1.26}"
SUITE="${SUITE:-trixie}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

if have_image "$TAG"; then
  echo "golang-image: $TAG already present, reusing it"
  exit 0
fi
goroot="$(go env GOROOT)"
version="$(go env GOVERSION)"
need_mmdebstrap
workdir

start=$(date +%s)
echo "golang-image: building $TAG from Debian $SUITE packages and $version at $goroot"
mmdebstrap --quiet --variant=essential --mode=root \
  --include=ca-certificates \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='mkdir -p "$1/usr/local/go"' \
  --customize-hook="sync-in $goroot /usr/local/go" \
  --customize-hook='cat "$1/etc/ssl/certs/ca-certificates.crt" /usr/local/share/ca-certificates/*.crt > "$1/etc/ssl/build-ca.crt" 2>/dev/null || cp "$1/etc/ssl/certs/ca-certificates.crt" "$1/etc/ssl/build-ca.crt"' \
  --customize-hook='rm -rf "$1/var/cache/apt/"* "$1/var/lib/apt/lists/"*' \
  "$SUITE" "$tmp/rootfs.tar" "$MIRROR"
import_rootfs "$TAG" "$version on Debian $SUITE (authd scripts/golang-image.sh)" \
'ENV PATH=/usr/local/go/bin:/root/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    GOTOOLCHAIN=local \
    SSL_CERT_FILE=/etc/ssl/build-ca.crt
WORKDIR /src' "$tmp/rootfs.tar"

echo "golang-image: built $TAG ($version) in $(( $(date +%s) - start ))s ($(image_size "$TAG"))"
