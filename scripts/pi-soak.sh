#!/usr/bin/env bash
# Measures the memory of the arm64 (Raspberry Pi) release hub under steady
# load, emulated by qemu-user on this x86-64 machine: the hub runs under qemu,
# the x86 `cradle-hub bench --scenario soak` drives it from outside (cradles
# over MQTT, MJPEG viewers over HTTP) and records the qemu process's RSS.
#
#   scripts/pi-soak.sh [--cradles N] [--viewers N] [--minutes M] [--out PREFIX]
#
# Defaults: 2 cradles, 4 viewers, 12 minutes, PREFIX docs/soak-pi-qemu-<N>x<V>.
# Writes PREFIX.json (the bench's results with the RSS series), PREFIX.png
# (the curve) and PREFIX-split.json: every 30 s, how much of that RSS the
# emulated hub holds and how much qemu itself (its translated code, its own
# heap), read from /proc/<pid>/smaps. CPU figures under emulation mean
# nothing for a Pi; only memory is worth reading.
set -euo pipefail
cd "$(dirname "$0")/.."

cradles=2
viewers=4
minutes=12
out=""
while (($#)); do
  case "$1" in
    --cradles | --viewers | --minutes | --out)
      [ $# -ge 2 ] || { echo "pi-soak: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"
      shift
      ;;
    -h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "pi-soak: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
for n in "$cradles" "$viewers" "$minutes"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "pi-soak: '$n' is not a whole number" >&2; exit 2; }
done
out="${out:-docs/soak-pi-qemu-${cradles}x${viewers}}"

triple=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu
source scripts/lib/apt.sh
source scripts/lib/qemu-hub.sh
qemu="$(find_qemu qemu-aarch64)"
scripts/pi-build.sh
cargo build --locked -q -p cradle-hub --bin cradle-hub
hub_bin="${CARGO_TARGET_DIR:-target}/$triple/release/cradle-hub"
bench_bin="${CARGO_TARGET_DIR:-target}/debug/cradle-hub"

start_emulated_hub "$qemu" "$sysroot" "$hub_bin" warn
deadline=$((SECONDS + 90))
until curl -fsS -o /dev/null "http://127.0.0.1:$http_port/health" 2>/dev/null; do
  if ! kill -0 "$hub_pid" 2>/dev/null || ((SECONDS >= deadline)); then
    echo "pi-soak: the arm64 hub did not start:" >&2
    tail -n 25 "$work/hub.log" >&2
    exit 1
  fi
  sleep 0.5
done

# Every 30 s, and once more when stopped, the qemu process's RSS split into
# the emulated hub and qemu itself. qemu-user maps the emulated program at its
# own addresses (guest_base 0): the binary and libraries from 0x55_0000_0000,
# mimalloc's arenas from 2 TiB, its stacks and mmaps in between. qemu's own
# memory is its static binary, its brk heap, the translated-code buffer (rwx)
# and its glibc's arenas and thread stacks, in the host's mmap area near the
# top of user space.
python3 - "$hub_pid" "$work/split.jsonl" <<'PY' &
import json, os, signal, sys, time
pid, out = int(sys.argv[1]), sys.argv[2]
started = time.monotonic()

def sample():
    kb = {"hub": 0, "qemu": 0, "qemu_translated_code": 0}
    host = rwx = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            words = line.split()
            if "-" in words[0] and len(words) >= 5 and ":" in words[3]:
                name = words[5] if len(words) > 5 else ""
                host = (int(words[0].split("-")[0], 16) >= 0x7F00_0000_0000
                        or name.startswith("[") or "qemu-" in name)
                rwx = words[1] == "rwxp"
            elif words[0] == "Rss:":
                kb["qemu" if host else "hub"] += int(words[1])
                if host and rwx:
                    kb["qemu_translated_code"] += int(words[1])
    point = {"t_s": round(time.monotonic() - started, 1)}
    point.update({f"{k}_mb": round(v / 1024, 1) for k, v in kb.items()})
    with open(out, "a") as f:
        f.write(json.dumps(point) + "\n")

def last_sample_and_exit(*_):
    sample()
    sys.exit(0)

signal.signal(signal.SIGTERM, last_sample_and_exit)
while os.path.exists(f"/proc/{pid}"):
    sample()
    time.sleep(30)
PY
sampler_pid=$!
# Stopped first, so that its last sample still finds the hub.
pids=("$sampler_pid" "${pids[@]}")

echo "==> soak: $cradles cradles, $viewers viewers, $minutes min against the arm64 hub (pid $hub_pid)"
"$bench_bin" bench --scenario soak --hub-url "http://127.0.0.1:$http_port" \
  --mqtt-url "mqtt://127.0.0.1:$mqtt_port" --hub-pid "$hub_pid" --cradles "$cradles" \
  --viewers "$viewers" --duration "$((minutes * 60))" --warmup 10 --sample-every 10 --json "$out.json"
kill "$sampler_pid"
wait "$sampler_pid" || true
# Emulated CPU time says nothing about a Pi's: leave it out of the record.
jq '.results |= map(del(.hub_cpu_pct)
  | .notes += ["arm64 release hub under qemu-user; RSS is the qemu process (see the -split.json); hub CPU left out, meaningless under emulation"])' \
  "$out.json" >"$work/results.json"
mv "$work/results.json" "$out.json"
jq -s '{note: "RSS of the qemu process split by /proc/<pid>/smaps: hub = the emulated arm64 hub (binary, libraries, heap, stacks), qemu = the emulator (its binary, heap, translated code)", samples: .}' \
  "$work/split.jsonl" >"$out-split.json"
"$bench_bin" bench plot --json "$out.json" --out "$out.png" \
  --title "arm64 release hub under qemu-aarch64 (RSS includes the emulator)"
tail -n 1 "$work/split.jsonl"
echo "==> $out.json, $out.png, $out-split.json"
