#!/usr/bin/env bash
# Builds the hub's Debian packages, release builds, with cargo-deb:
#
#   scripts/hub-deb.sh [--arch amd64|arm64]...
#
# leaves target/debian/cradle-hub_<version>_amd64.deb and
# target/debian/cradle-hub_<version>_arm64.deb (both unless --arch picks).
# amd64 is built here; arm64 is cross-compiled by scripts/pi-build.sh.
# Installs cargo-deb (pinned, about 5 minutes from cold) and what
# pi-build.sh needs when they are missing.
#
# The package: /usr/bin/cradle-hub, /etc/cradle-hub/config.toml (a conffile),
# the cradle-hub.service unit (enabled and started on install), the
# cradle-hub system user and /var/lib/cradle-hub (made by the postinst).
# Its files are in hub/debian/ and [package.metadata.deb] in hub/Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/cargo-deb.sh

usage() {
  sed -n '2,15s/^# \{0,1\}//p' "$0"
}

arches=()
while (($#)); do
  case "$1" in
    --arch)
      [ $# -ge 2 ] || { echo "hub-deb: --arch needs amd64 or arm64" >&2; exit 2; }
      arches+=("$2")
      shift
      ;;
    --arch=*) arches+=("${1#--arch=}") ;;
    -h | --help) usage; exit 0 ;;
    *) echo "hub-deb: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
((${#arches[@]})) || arches=(amd64 arm64)

ensure_cargo_deb
out="${CARGO_TARGET_DIR:-target}/debian"
mkdir -p "$out"

for arch in "${arches[@]}"; do
  case "$arch" in
    amd64)
      echo "==> cargo build --release (amd64)"
      cargo build --locked --release -p cradle-hub --bin cradle-hub
      deb_args=()
      ;;
    arm64)
      scripts/pi-build.sh --arch arm64
      deb_args=(--target aarch64-unknown-linux-gnu)
      ;;
    *) echo "hub-deb: --arch must be amd64 or arm64, not '$arch'" >&2; exit 2 ;;
  esac
  # --strip: the release profile keeps line tables (~125 MB); the package
  # carries the stripped binary.
  deb="$(package_hub "$out" --strip "${deb_args[@]}")"
  echo "==> $deb ($(du -h "$deb" | cut -f1))"
  dpkg-deb --field "$deb" Package Version Architecture Depends Installed-Size
done
