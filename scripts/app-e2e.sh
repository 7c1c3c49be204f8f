#!/usr/bin/env bash
# End-to-end test of the desktop app (src-tauri/): the real app under Xvfb and
# a private D-Bus session, driven over WebDriver (tauri-driver + Debian's
# WebKitWebDriver), with dunst logging the notifications. See
# src-tauri/e2e/app-e2e.mjs for what is checked. Evidence (logs, screenshots,
# results.json with start-up time and memory) goes to target/app-e2e/.
# Installs what a fresh Debian machine lacks (needs root or sudo for apt).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

APT_PACKAGES=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libssl-dev libdbus-1-dev xvfb dbus dunst webkit2gtk-driver x11-utils libx11-6 python3)
source "$root/scripts/lib/apt.sh"
source "$root/scripts/lib/build.sh"
ensure_apt_packages "${APT_PACKAGES[@]}"

if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "==> cargo install tauri-driver"
  # A debug build: it only relays WebDriver calls, and compiles in half the time.
  without_lints cargo install tauri-driver --locked --debug
fi

echo "==> building the app and the hub (debug)"
build_workspace

# A display of our own.
display=""
for n in $(seq 91 140); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then display=":$n"; break; fi
done
[ -n "$display" ] || { echo "no free X display number" >&2; exit 1; }
Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill "$xvfb_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
export DISPLAY="$display"
# The app's own logs (and the first-paint line) at info level.
export RUST_LOG="${RUST_LOG:-info,rumqttc=warn}"
# No mDNS: the start page would look for hubs on the machine's own network.
# The LAN list is tested in a private pair of network namespaces instead
# (cargo test -p cradle-app lan::).
export CRADLE_HUB_NO_MDNS=1

echo "==> end-to-end test (display $display)"
dbus-run-session -- node "$root/src-tauri/e2e/app-e2e.mjs"

echo "==> notifications past the cap close the oldest (a real notification service)"
# The unit test of the cap needs dunst on a session bus, so it is ignored by
# a plain `cargo test`.
dbus-run-session -- sh -c 'dunst >/dev/null 2>&1 & dunst_pid=$!; sleep 1
  cargo test --locked --workspace --lib -- --ignored notify::; rc=$?
  kill "$dunst_pid" 2>/dev/null; exit "$rc"'
