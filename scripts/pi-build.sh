#!/usr/bin/env bash
# Cross-compiles the hub (`cradle-hub`) for a Raspberry Pi on an x86-64
# Debian machine, with rustup's target and Debian's cross GCC as linker and as
# C/C++ compiler for the bundled C parts (SQLite, openh264, ring, mimalloc).
#
#   scripts/pi-build.sh [--debug] [--arch arm64|armhf]
#
# --arch arm64 (default): 64-bit Raspberry Pi OS, aarch64-unknown-linux-gnu.
# --arch armhf: 32-bit Raspberry Pi OS, armv7-unknown-linux-gnueabihf
#   (ARMv7: Pi 2 and later, Zero 2 W; not the ARMv6 Pi 1, Zero, Zero W).
# --debug: the dev profile with dependencies at opt-level 1, what the qemu
#   test runs (quicker to build from cold than release or plain dev).
#
# Leaves target/<triple>/{release,debug}/cradle-hub (or under
# $CARGO_TARGET_DIR if set). Installs what it lacks with apt (root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,15s/^# \{0,1\}//p' "$0"
}

profile=release
arch=arm64
while (($#)); do
  case "$1" in
    --debug) profile=debug ;;
    --arch)
      [ $# -ge 2 ] || { echo "pi-build: --arch needs arm64 or armhf" >&2; exit 2; }
      arch="$2"
      shift
      ;;
    --arch=*) arch="${1#--arch=}" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "pi-build: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

case "$arch" in
  arm64)
    triple=aarch64-unknown-linux-gnu
    gnu=aarch64-linux-gnu
    apt_packages=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross)
    ;;
  armhf)
    triple=armv7-unknown-linux-gnueabihf
    gnu=arm-linux-gnueabihf
    apt_packages=(gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf libc6-dev-armhf-cross)
    ;;
  *) echo "pi-build: --arch must be arm64 or armhf, not '$arch'" >&2; exit 2 ;;
esac

source scripts/lib/apt.sh
ensure_apt_packages "${apt_packages[@]}"
if ! rustup target list --installed | grep -qx "$triple"; then
  rustup target add "$triple"
fi

# Cargo and the cc crate read the cross tools from these variables, so no
# .cargo/config.toml is needed. The names follow the target triple:
# CARGO_TARGET_<TRIPLE IN CAPITALS>_LINKER and CC_<triple_with_underscores>.
triple_env="${triple//-/_}"
triple_cargo="${triple_env^^}"
export "CARGO_TARGET_${triple_cargo}_LINKER=${gnu}-gcc"
export "CC_${triple_env}=${gnu}-gcc"
export "CXX_${triple_env}=${gnu}-g++"
export "AR_${triple_env}=${gnu}-ar"

# Not linted (scripts/test.sh lints the x86 build): the same compiler whoever
# calls, so pi-test.sh finds test.sh's background build done.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
build_args=(--locked -p cradle-hub --bin cradle-hub --target "$triple")
if [ "$profile" = release ]; then
  build_args+=(--release)
else
  # The workspace builds dependencies at opt-level 3 even in debug (tests
  # hash passwords and encode video natively). A debug cross-build is for the
  # qemu test, where opt-level 1 is fast enough: cold, 8 min 8 s instead of
  # 11 min 7 s on 2 cores (2026-11-29), which CI's budget needs.
  build_args+=(--config 'profile.dev.package."*".opt-level=1')
fi
echo "==> cargo build ${build_args[*]}"
cargo build "${build_args[@]}"

binary="${CARGO_TARGET_DIR:-target}/$triple/$profile/cradle-hub"
[ -x "$binary" ] || { echo "pi-build: cargo finished but $binary is missing" >&2; exit 1; }
machine="$("${gnu}-readelf" -h "$binary" | sed -n 's/^ *Machine: *//p')"
echo "==> $binary ($machine, $(du -h "$binary" | cut -f1))"
