# Shared by the image scripts: sourced, not run.

# have_image TAG: the tag exists locally and FORCE is not set.
have_image() {
  [ -z "${FORCE:-}" ] && docker image inspect "$1" >/dev/null 2>&1
}

# need_mmdebstrap installs mmdebstrap from Debian's packages if missing.
need_mmdebstrap() {
  command -v mmdebstrap >/dev/null && return 0
  echo "images: installing mmdebstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mmdebstrap >/dev/null
}

# import_rootfs TAG MESSAGE DOCKERFILE_BODY TARBALL: imports a root file
# system tarball as TAG-rootfs, then sets the image config with a one-step
# build on top (docker import on older engines rejects STOPSIGNAL and
# friends). FROM names a local image: nothing is pulled.
import_rootfs() {
  local tag="$1" message="$2" body="$3" tarball="$4"
  docker import --message "$message" "$tarball" "$tag-rootfs" >/dev/null
  printf 'FROM %s\n%s\n' "$tag-rootfs" "$body" | docker build -q -t "$tag" - >/dev/null
  docker rmi "$tag-rootfs" >/dev/null 2>&1 || true
}

# image_size TAG prints the image's size in MB.
image_size() {
  docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'
}

# workdir makes a temporary directory removed when the script exits.
workdir() {
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/authd-image.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
}
