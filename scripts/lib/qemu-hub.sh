# shellcheck shell=bash
# Sourced by scripts/pi-test.sh and scripts/pi-soak.sh: running the cross-built
# hub under qemu-user beside x86 processes, and stopping them all on exit.
# Needs scripts/lib/apt.sh sourced first.

# find_qemu NAME (qemu-aarch64, qemu-arm): the qemu-user binary's path,
# installing Debian's qemu-user-static when neither form is there.
find_qemu() {
  local name="$1" found
  found="$(command -v "$name-static" || command -v "$name" || true)"
  if [ -z "$found" ]; then
    ensure_apt_packages qemu-user-static >&2
    found="$(command -v "$name-static" || command -v "$name")"
  fi
  echo "$found"
}

# A scratch folder in $work and every background process put in $pids are
# stopped and removed on exit, pass or fail.
work="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_emulated_hub QEMU SYSROOT HUB_BIN RUST_LOG: the hub under qemu on free
# loopback ports with a fresh data folder in $work, its log in $work/hub.log.
# Sets http_port, mqtt_port and hub_pid (qemu's own pid, which is the hub's).
start_emulated_hub() {
  local qemu="$1" sysroot="$2" bin="$3" log_level="$4"
  http_port="$(free_port)"
  mqtt_port="$(free_port)"
  RUST_LOG="$log_level" "$qemu" -L "$sysroot" "$bin" --http-addr "127.0.0.1:$http_port" \
    --mqtt-addr "127.0.0.1:$mqtt_port" --data-dir "$work/data" --no-mdns >"$work/hub.log" 2>&1 &
  hub_pid=$!
  pids+=("$hub_pid")
}
