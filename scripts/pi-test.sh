#!/usr/bin/env bash
# Runs the Raspberry Pi hub (arm64 unless --arch armhf) under qemu-user on
# this x86-64 machine and checks what a Pi owner would: it starts, serves
# /health, takes two cradles (the x86 simulator) on its MQTT endpoint, signs
# a parent up and in, streams the live view and raises an alert.
#
#   scripts/pi-test.sh [--release] [--arch arm64|armhf]
#
# Builds the hub first with scripts/pi-build.sh (--debug unless --release)
# and the x86 simulator with cargo. qemu is invoked explicitly (binfmt_misc
# need not be registered), with the cross libc as its sysroot.
# Everything it starts is stopped on exit, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
arch=arm64
while (($#)); do
  case "$1" in
    --release) profile=release ;;
    --arch)
      [ $# -ge 2 ] || { echo "pi-test: --arch needs arm64 or armhf" >&2; exit 2; }
      arch="$2"
      shift
      ;;
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "pi-test: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
case "$arch" in
  arm64) triple=aarch64-unknown-linux-gnu sysroot=/usr/aarch64-linux-gnu qemu_name=qemu-aarch64 ;;
  armhf) triple=armv7-unknown-linux-gnueabihf sysroot=/usr/arm-linux-gnueabihf qemu_name=qemu-arm ;;
  *) echo "pi-test: --arch must be arm64 or armhf, not '$arch'" >&2; exit 2 ;;
esac
started=$SECONDS

source scripts/lib/apt.sh
source scripts/lib/qemu-hub.sh
source scripts/lib/health.sh
source scripts/lib/build.sh
qemu="$(find_qemu "$qemu_name")"

build_args=(--arch "$arch")
[ "$profile" = release ] || build_args+=(--debug)
scripts/pi-build.sh "${build_args[@]}"
echo "==> x86 simulator: the workspace's debug binaries"
build_workspace -q
hub_bin="${CARGO_TARGET_DIR:-target}/$triple/$profile/cradle-hub"
sim_bin="${CARGO_TARGET_DIR:-target}/debug/cradle-hub"
built=$SECONDS


fail() {
  echo "pi-test: FAILED: $*" >&2
  local log
  for log in "$work"/*.log; do
    [ -s "$log" ] || continue
    echo "--- last lines of $(basename "$log") ---" >&2
    tail -n 25 "$log" >&2
  done
  exit 1
}

arm() { "$qemu" -L "$sysroot" "$hub_bin" "$@"; }

echo "==> $hub_bin under $(basename "$qemu")"
version="$(arm --version)" || fail "the $arch binary does not run under qemu: --version failed"
expected="$("$sim_bin" --version)"
[ "$version" = "$expected" ] || fail "$arch --version says '$version', the x86 build '$expected'"
echo "    --version: $version"

start_emulated_hub "$qemu" "$sysroot" "$hub_bin" info
url="http://127.0.0.1:$http_port"
mqtt_url="mqtt://127.0.0.1:$mqtt_port"

# Emulated, the hub starts in seconds rather than milliseconds.
deadline=$((SECONDS + 90))
until curl -sS -o /dev/null "$url/health" 2>/dev/null; do
  kill -0 "$hub_pid" 2>/dev/null || fail "the $arch hub exited during start-up"
  ((SECONDS < deadline)) || fail "the $arch hub did not answer /health within 90 s"
  sleep 0.5
done
code="$(curl -sS -o "$work/health.json" -w '%{http_code}' "$url/health")"
health_ok "$code" "$(cat "$work/health.json")" || fail "/health answered $code: $(head -c 400 "$work/health.json")"
echo "    /health: $code $(head -c 120 "$work/health.json")"

# Two cradles, as real firmware: /register_agent, then MQTT to the hub's
# own endpoint. The second one cries from the start and never stops.
"$sim_bin" simulate --hub-url "$url" --mqtt-url "$mqtt_url" --uuid pi-cradle-1 \
  >"$work/cradle-1.log" 2>&1 &
pids+=($!)
"$sim_bin" simulate --hub-url "$url" --mqtt-url "$mqtt_url" --uuid pi-cradle-2 --cry-for 86400 \
  >"$work/cradle-2.log" 2>&1 &
pids+=($!)

jar="$work/cookies"
api() { curl -sS -b "$jar" -c "$jar" -H 'content-type: application/json' "$@"; }

code="$(api -o "$work/register.json" -w '%{http_code}' -X POST "$url/register" \
  -d '{"username":"pi-parent","password":"correct horse battery"}')"
[ "$code" = 201 ] || fail "POST /register answered $code: $(cat "$work/register.json")"
code="$(api -o "$work/login.json" -D "$work/login.headers" -w '%{http_code}' -X POST "$url/login" \
  -d '{"username":"pi-parent","password":"correct horse battery"}')"
[ "$code" = 200 ] || fail "POST /login answered $code: $(cat "$work/login.json")"
grep -qi '^set-cookie:' "$work/login.headers" || fail "/login set no session cookie"
echo "    signed up and logged in as pi-parent"

# The cradles register themselves when they boot; claim each once it has.
for uuid in pi-cradle-1 pi-cradle-2; do
  deadline=$((SECONDS + 60))
  until code="$(api -o "$work/claim.json" -w '%{http_code}' -X POST "$url/register_cradle" \
    -d "{\"cradle_uuid\":\"$uuid\"}")" && [ "$code" = 200 ]; do
    [ "$code" = 404 ] || fail "POST /register_cradle $uuid answered $code: $(cat "$work/claim.json")"
    ((SECONDS < deadline)) || fail "$uuid never registered with the hub (60 s)"
    sleep 0.5
  done
done
agents="$(api "$url/api/agents" | jq -r '[.[].uuid] | sort | join(",")')"
[ "$agents" = "pi-cradle-1,pi-cradle-2" ] || fail "/api/agents lists '$agents'"

# Readings from both cradles arrive over MQTT.
for uuid in pi-cradle-1 pi-cradle-2; do
  deadline=$((SECONDS + 60))
  until api "$url/api/agent_status/$uuid" | jq -e '.temperature != null' >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "no temperature from $uuid over MQTT within 60 s"
    sleep 1
  done
done
echo "    two cradles claimed, both reporting over MQTT"

# The live view: at least one whole JPEG part of the multipart stream.
curl -sS -b "$jar" --max-time 10 -o "$work/stream.bin" -D "$work/stream.headers" \
  "$url/stream/pi-cradle-1" 2>/dev/null || true
grep -qi '^content-type: multipart/x-mixed-replace; boundary=frame' "$work/stream.headers" ||
  fail "/stream/pi-cradle-1 headers: $(tr -d '\r' <"$work/stream.headers")"
python3 - "$work/stream.bin" <<'EOF' || fail "no whole JPEG part in /stream/pi-cradle-1"
import re, sys
data = open(sys.argv[1], "rb").read()
m = re.search(rb"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: (\d+)\r\n(?:[^\r\n]*\r\n)*?\r\n", data)
if not m:
    sys.exit(f"no part header in {len(data)} bytes")
jpeg = data[m.end():m.end() + int(m.group(1))]
if len(jpeg) != int(m.group(1)) or jpeg[:2] != b"\xff\xd8" or jpeg[-2:] != b"\xff\xd9":
    sys.exit("the first part is not a whole JPEG")
parts = data.count(b"Content-Type: image/jpeg")
print(f"    live view: {parts} JPEG parts in 10 s, the first {len(jpeg)} bytes")
EOF

# An alert: the crying cradle with a 2 s threshold.
code="$(api -o "$work/settings.json" -w '%{http_code}' -X POST "$url/api/alert_settings/pi-cradle-2" \
  -d '{"crying_duration_threshold":2}')"
[ "$code" = 200 ] || fail "POST /api/alert_settings answered $code: $(cat "$work/settings.json")"
deadline=$((SECONDS + 60))
until api "$url/api/alert_logs" >"$work/alerts.json" &&
  jq -e 'any(.[]; .agent_uuid == "pi-cradle-2" and .alert_type == "crying")' "$work/alerts.json" >/dev/null; do
  ((SECONDS < deadline)) || fail "no crying alert in /api/alert_logs within 60 s: $(cat "$work/alerts.json")"
  sleep 1
done
echo "    alert: $(jq -c '[.[] | select(.alert_type == "crying")][0] | {agent_uuid, alert_type, message}' "$work/alerts.json")"

kill -0 "$hub_pid" 2>/dev/null || fail "the $arch hub died during the test"
echo "==> pi-test passed: $arch $profile hub under qemu ($((built - started)) s building, $((SECONDS - built)) s testing)"
