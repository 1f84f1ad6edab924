#!/usr/bin/env bash
# Builds a PostgreSQL 17 image from Debian packages only (no registry):
# mmdebstrap assembles a minimal Debian trixie root with postgresql-17, and
# `docker import` turns the tarball into an image with the official image's
# entrypoint contract. The tag is reused when present, so only the first run
# on a machine pays for the build.
#
#   scripts/postgres-image.sh [TAG]     default authd-test/postgres:17
#   FORCE=1 scripts/postgres-image.sh   rebuild even if the tag exists
set -euo pipefail
TAG="${1:-authd-test/postgres:17}"
SUITE="${SUITE:-trixie}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

if have_image "$TAG"; then
  echo "postgres-image: $TAG already present, reusing it"
  exit 0
fi
need_mmdebstrap
workdir

start=$(date +%s)
echo "postgres-image: building $TAG from Debian $SUITE packages"
# --variant=essential has no apt/perl-doc bloat; postgresql-common's postinst
# must not create its own "main" cluster, our entrypoint initialises PGDATA.
mmdebstrap --quiet --variant=essential --mode=root \
  --include=postgresql-17,postgresql-client-17,ca-certificates,tzdata,gzip \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.d/authd.conf"' \
  --customize-hook="copy-in $here/postgres-image/docker-entrypoint.sh /usr/local/bin" \
  --customize-hook='chmod 755 "$1/usr/local/bin/docker-entrypoint.sh" && mkdir -p "$1/docker-entrypoint-initdb.d" "$1/var/lib/postgresql/data" "$1/var/run/postgresql" && chroot "$1" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql && rm -rf "$1/var/cache/apt/"* "$1/var/lib/apt/lists/"*' \
  "$SUITE" "$tmp/rootfs.tar" "$MIRROR"
import_rootfs "$TAG" "PostgreSQL 17 root file system from Debian $SUITE packages (authd scripts/postgres-image.sh)" \
'ENV PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]' "$tmp/rootfs.tar"

echo "postgres-image: built $TAG in $(( $(date +%s) - start ))s ($(image_size "$TAG"))"
