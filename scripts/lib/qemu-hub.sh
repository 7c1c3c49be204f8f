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
