#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit and integration
# tests (real SQLite, real MQTT via the hub's own endpoint and Mosquitto).
# Installs what a fresh Debian machine lacks (needs root or sudo for apt).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mosquitto mosquitto-clients ffmpeg nasm chromium fonts-nanum libnss3-tools
  # The desktop app (src-tauri, a workspace member) and its end-to-end test.
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev
  libdbus-1-dev xvfb dbus dunst webkit2gtk-driver x11-utils
  # The mDNS tests make a LAN of their own: network namespaces and a veth pair.
  iproute2)
# The UI tests need Node.js (npm installs TypeScript and playwright-core).
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

source scripts/lib/apt.sh
ensure_apt_packages "${APT_PACKAGES[@]}"
# Debian starts a system-wide mosquitto on port 1883 after installing it; the
# tests start their own on free ports and do not need it.

# The MQTT endpoint's tests drive it with the firmware's own client library.
if ! python3 -c 'import paho.mqtt' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'paho-mqtt>=2,<3'
fi
# The email test sends alerts to a local SMTP server (aiosmtpd).
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'aiosmtpd>=1.4,<2'
fi
# The /metrics test parses the scrape with the Prometheus project's own parser.
if ! python3 -c 'import prometheus_client.parser' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'prometheus-client>=0.20,<1'
fi

if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
  rustup component add clippy rustfmt
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
# Clippy lints the workspace's own crates while the tests build them: what
# `cargo clippy --all-targets -- -D warnings` sets up (clippy-driver as the
# compiler of workspace members, its arguments in CLIPPY_ARGS), but building
# rather than only checking. A lint fails the build just the same, and the
# ~600 dependencies are compiled once instead of checked once and built once:
# minutes of CI's hour. Exported, so every build below shares the test run's
# units; `cargo install` goes without it (scripts/lib/build.sh's
# without_lints), or it would lint the crate it installs.
RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
source scripts/lib/build.sh
echo "==> tests, with clippy's lints (-D warnings) on every target of the workspace"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # nextest does not run doctests.
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi
echo "==> web UI: type check and end-to-end test in Chromium"
# The binaries (and the benches, the one target kind the tests did not build).
build_workspace -q
# The arm64 cross-build is minutes of CPU; the browser tests and the API
# fuzzing mostly wait on timers and pages and need no cargo, so the build runs
# meanwhile, at low priority. pi-test.sh below finds it done.
echo "==> Raspberry Pi: debug cross-build of the arm64 hub (in the background)"
pi_build_log="$(mktemp)"
nice -n 19 ./scripts/pi-build.sh --debug >"$pi_build_log" 2>&1 &
pi_build_pid=$!
trap 'kill "$pi_build_pid" 2>/dev/null || true' EXIT
./ui-tests/run.sh
./scripts/schemathesis.sh
if ! wait "$pi_build_pid"; then
  cat "$pi_build_log" >&2
  echo "the arm64 cross-build failed" >&2
  exit 1
fi
trap - EXIT
tail -n 3 "$pi_build_log"
rm -f "$pi_build_log"

echo "==> desktop app: end-to-end test under Xvfb"
./scripts/app-e2e.sh

echo "==> Raspberry Pi: the arm64 hub (debug cross-build) under qemu-user"
./scripts/pi-test.sh
echo "==> the hub's Debian packages: contents, shellcheck, systemd-analyze, install under systemd in a container"
./scripts/hub-deb-test.sh

echo "==> benchmark smoke run (checks it works; timings are not asserted)"
bench_out="$(mktemp -d)"
hub="${CARGO_TARGET_DIR:-target}/debug/cradle-hub"
"$hub" bench --scenario all --duration 2 --warmup 1 --burst 5000 \
  --churn 50 --json "$bench_out/bench.json"
# A tiny soak and its plot: checks the RSS series and the PNG writer end to end.
"$hub" bench --scenario soak --cradles 2 --viewers 2 --duration 3 --old-readings 20000 \
  --warmup 1 --sample-every 1 --json "$bench_out/soak.json"
"$hub" bench plot --json "$bench_out/soak.json" --out "$bench_out/soak.png"
rm -rf "$bench_out"
cargo test --locked -q --workspace --bench hot_paths
echo "==> all tests passed"
