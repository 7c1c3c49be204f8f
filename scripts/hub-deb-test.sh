#!/usr/bin/env bash
# Tests the hub's Debian package for real, with no release build: packages the
# debug hub that scripts/test.sh builds anyway (and a debug arm64 hub, only if
# one was built: scripts/pi-build.sh --debug) as cargo-deb does a release
# one, then
#
# 1. dpkg-deb --info/--contents: architecture, files, modes, conffile,
#    dependencies; shellcheck on the maintainer scripts as packaged;
# 2. installs the amd64 package in a container booted with systemd as PID 1
#    (systemd-nspawn over a throw-away overlay of this machine's own root, so
#    nothing is downloaded and nothing here changes): dpkg -i, the postinst
#    makes the user and systemd starts the unit as packaged (Type=notify,
#    hardening, watchdog); systemd-analyze verify; /health healthy as the
#    cradle-hub user; data files owned by it; readable journal;
# 3. the watchdog: one thread of the hub, the database writer, is frozen
#    (ptrace) while logins queue writes; the hub stops petting the watchdog
#    and systemd restarts it;
# 4. an upgrade over an edited conffile keeps the config and the data;
# 5. dpkg --purge removes data, config, user and unit: nothing named
#    cradle-hub is left in the container's file system.
#
#   scripts/hub-deb-test.sh [--release]
#
# --release: test the release binaries scripts/hub-deb.sh built instead
# (target/release, target/aarch64-unknown-linux-gnu/release; builds nothing).
# Needs root. Installs shellcheck, systemd-container, cargo-deb if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh
source scripts/lib/cargo-deb.sh
source scripts/lib/health.sh
source scripts/lib/build.sh
started=$SECONDS
profile=debug
profile_args=(--profile dev) # cargo-deb packages target/debug
case "${1:-}" in
  "") ;;
  --release) profile=release profile_args=() ;;
  *) echo "usage: scripts/hub-deb-test.sh [--release]" >&2; exit 2 ;;
esac

fail() {
  echo "hub-deb-test: FAIL: $*" >&2
  if [ -n "${leader:-}" ]; then
    echo "--- journalctl -u cradle-hub (last 40 lines)" >&2
    ct journalctl -u cradle-hub --no-pager -n 40 >&2 || true
  fi
  exit 1
}
step() { echo "==> $*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i and a container)"
ensure_apt_packages shellcheck systemd systemd-container dpkg-dev curl iproute2 python3 binutils
ensure_cargo_deb

target="${CARGO_TARGET_DIR:-target}"
if [ ! -x "$target/$profile/cradle-hub" ]; then
  [ "$profile" = debug ] || fail "no $target/release/cradle-hub: run scripts/hub-deb.sh first"
  step "cargo build (debug): the workspace's binaries"
  build_workspace
fi

work="$(mktemp -d /tmp/hub-deb-test.XXXXXX)"
nspawn_pid=""
leader=""
cleanup() {
  # Killing the container's PID 1 ends every process in it at once (an
  # orderly shutdown takes longer and gains nothing here); nspawn follows.
  if [ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ]; then
    kill -9 "$leader" 2>/dev/null || true
  fi
  if [ -n "$nspawn_pid" ]; then
    for _ in $(seq 50); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$nspawn_pid" 2>/dev/null; then kill -9 "$nspawn_pid"; fi
  fi
  mountpoint -q "$work/ns/root" && umount "$work/ns/root"
  mountpoint -q "$work/ns" && umount "$work/ns"
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- packages
# --profile dev packages target/debug (cargo-deb warns that it is meant for
# release builds); --strip and --fast keep it quick.
step "cargo deb --no-build ${profile_args[*]} (amd64, two versions for the upgrade)"
mkdir -p "$work/debs/v1" "$work/debs/v2"
deb1="$(package_hub "$work/debs/v1/" "${profile_args[@]}" --strip --fast 2>"$work/cargo-deb.log")" ||
  { cat "$work/cargo-deb.log" >&2; fail "cargo deb"; }
version1="$(dpkg-deb --field "$deb1" Version)"
version2="${version1}+upgradetest"
deb2="$(package_hub "$work/debs/v2/" "${profile_args[@]}" --strip --fast --deb-version "$version2" 2>>"$work/cargo-deb.log")" ||
  { cat "$work/cargo-deb.log" >&2; fail "cargo deb (upgrade)"; }
debs=("$deb1:amd64:X86-64")
if [ -x "$target/aarch64-unknown-linux-gnu/$profile/cradle-hub" ]; then
  step "cargo deb --no-build ${profile_args[*]} --target aarch64-unknown-linux-gnu"
  mkdir -p "$work/debs/arm64"
  deb_arm64="$(package_hub "$work/debs/arm64/" "${profile_args[@]}" --strip --fast \
    --target aarch64-unknown-linux-gnu 2>>"$work/cargo-deb.log")" ||
    { cat "$work/cargo-deb.log" >&2; fail "cargo deb (arm64)"; }
  debs+=("$deb_arm64:arm64:AArch64")
else
  echo "    (no $profile arm64 hub in $target/aarch64-unknown-linux-gnu/$profile: arm64 package not checked)"
fi

# ---------------------------------------------------------------- 1. inspect
for entry in "${debs[@]}"; do
  IFS=: read -r deb arch machine <<<"$entry"
  step "dpkg-deb --info/--contents $(basename "$deb")"
  [ "$(dpkg-deb --field "$deb" Architecture)" = "$arch" ] || fail "$deb: architecture is not $arch"
  [ "$(dpkg-deb --field "$deb" Package)" = cradle-hub ] || fail "$deb: package name"
  depends="$(dpkg-deb --field "$deb" Depends)"
  [[ "$depends" == *adduser* && "$depends" == *libc6* ]] || fail "$deb: Depends '$depends'"
  [ "$(dpkg-deb --info "$deb" conffiles)" = /etc/cradle-hub/config.toml ] ||
    fail "$deb: conffiles is not /etc/cradle-hub/config.toml"
  contents="$(dpkg-deb --contents "$deb" | awk '{print $1, $2, $6}')"
  for want in \
    "-rwxr-xr-x 0/0 ./usr/bin/cradle-hub" \
    "-rw-r----- 0/0 ./etc/cradle-hub/config.toml" \
    "-rw-r--r-- 0/0 ./usr/lib/systemd/system/cradle-hub.service"; do
    grep -qxF -- "$want" <<<"$contents" || fail "$deb: no '$want' in:"$'\n'"$contents"
  done
  rm -rf "$work/x" && mkdir "$work/x"
  dpkg-deb --extract "$deb" "$work/x"
  dpkg-deb --control "$deb" "$work/x/DEBIAN"
  got="$(readelf -h "$work/x/usr/bin/cradle-hub" | sed -n 's/^ *Machine: *//p')"
  [[ "$got" == *"$machine"* ]] || fail "$deb: binary is for '$got', not $machine"
  scripts=()
  for s in preinst postinst prerm postrm; do
    [ -e "$work/x/DEBIAN/$s" ] && scripts+=("$work/x/DEBIAN/$s")
  done
  shellcheck --shell=sh "${scripts[@]}" || fail "shellcheck on the maintainer scripts"
  echo "    $arch, $(du -h "$deb" | cut -f1), Depends: $depends; shellcheck: ${scripts[*]##*/} clean"
done

# ---------------------------------------------------------------- container
# systemd as PID 1 in a container whose root is an overlay of this machine's
# root (upper layer in memory): the packages install as on a real system and
# the upper layer is exactly what installing and purging changed. A private
# veth link (host0, no route out) carries the hub's mDNS multicast.
step "booting a container with systemd as PID 1 (systemd-nspawn over an overlay of /)"
mkdir -p "$work/ns"
mount -t tmpfs -o size=1g,mode=0755 hub-deb-test "$work/ns"
mkdir -p "$work/ns/upper" "$work/ns/work" "$work/ns/root"
mount -t overlay hub-deb-test -o "lowerdir=/,upperdir=$work/ns/upper,workdir=$work/ns/work" "$work/ns/root"
machine="hubdeb-$$"
systemd-nspawn --quiet --boot --register=no --keep-unit --console=pipe \
  --network-veth --machine="$machine" --directory="$work/ns/root" \
  --bind-ro="$work/debs:/debs" </dev/null >"$work/boot.log" 2>&1 &
nspawn_pid=$!
for _ in $(seq 100); do
  leader="$( (ps --ppid "$nspawn_pid" -o pid= || true) | tr -d ' ' | head -n1)"
  [ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] && break
  kill -0 "$nspawn_pid" 2>/dev/null || { cat "$work/boot.log" >&2; fail "systemd-nspawn exited"; }
  sleep 0.2
done
[ -n "$leader" ] || fail "no container init"
ct() { nsenter --target "$leader" --all -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
booted=""
for _ in $(seq 600); do # its bus socket comes up a moment after PID 1
  booted="$(ct systemctl is-system-running --wait 2>/dev/null || true)"
  [ -n "$booted" ] && break
  sleep 0.2
done
[[ "$booted" == running || "$booted" == degraded ]] || { cat "$work/boot.log" >&2; fail "container boot: '$booted'"; }
# This machine's image forbids starting services from maintainer scripts
# (Docker's policy-rc.d); a Raspberry Pi has none, nor has the container.
ct rm -f /usr/sbin/policy-rc.d
# Mosquitto, installed here for the MQTT tests, holds port 1883 as the hub's
# own endpoint would (docs: on a Pi with Mosquitto, set mqtt_url instead).
if ct systemctl is-active --quiet mosquitto; then ct systemctl stop mosquitto; fi
ct ip link set host0 up
ct ip addr add 10.213.77.2/24 dev host0
# The veth's other end, here, must be up for host0 to carry anything; it
# goes away with the container.
peer="$(ct cat /sys/class/net/host0/iflink)"
ip link set "$(ip -o link show | awk -F': ' -v i="$peer" '$1 == i { sub(/@.*/, "", $2); print $2 }')" up
echo "    PID 1 in the container: $(ct ps -o comm= -p 1), $(ct systemctl --version | head -n1), system $booted"

show() { ct systemctl show cradle-hub --value -p "$1"; }
wait_active() {
  local state
  for _ in $(seq 150); do
    state="$(show ActiveState)"
    [ "$state" = active ] && return 0
    sleep 0.2
  done
  fail "cradle-hub.service is '$state', not active"
}
http() { ct curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }
# /health, healthy (scripts/lib/health.sh) or fails with what it said.
health_check() {
  local answer code
  answer="$(ct curl -s -w '\n%{http_code}' --max-time 5 http://127.0.0.1:8080/health || true)"
  code="${answer##*$'\n'}"
  health_ok "$code" "${answer%$'\n'*}" || fail "/health $1 answered ${code:-nothing}: ${answer:0:400}"
}
login() {
  http -H 'Content-Type: application/json' \
    -d '{"username":"debtest","password":"correct horse battery"}' http://127.0.0.1:8080/login
}

# ---------------------------------------------------------------- 2. install
find "$work/ns/upper" -mindepth 1 -printf '%P\n' | sort >"$work/upper-before"
step "dpkg -i $(basename "$deb1") in the container"
ct dpkg -i "/debs/v1/$(basename "$deb1")" </dev/null >"$work/dpkg-install.log" 2>&1 ||
  { cat "$work/dpkg-install.log" >&2; fail "dpkg -i"; }
ct getent passwd cradle-hub >/dev/null || fail "the postinst did not create the cradle-hub user"
[ "$(ct systemctl is-enabled cradle-hub)" = enabled ] || fail "cradle-hub.service not enabled"
wait_active
ct systemd-analyze verify /usr/lib/systemd/system/cradle-hub.service ||
  fail "systemd-analyze verify cradle-hub.service"
echo "    systemd-analyze verify: clean; $(ct systemd-analyze security --no-pager cradle-hub | tail -n1)"
[ "$(show Type)" = notify ] || fail "Type=$(show Type)"
[ "$(show WatchdogUSec)" = 30s ] || fail "WatchdogUSec=$(show WatchdogUSec)"
status="$(show StatusText)"
[[ "$status" == "Serving: HTTP on 0.0.0.0:8080, MQTT on 0.0.0.0:1883; 0 cradles connected" ]] ||
  fail "STATUS is '$status'"
pid="$(show MainPID)"
[ "$(ct ps -o user= -p "$pid")" = cradle-hub ] || fail "the hub runs as $(ct ps -o user= -p "$pid")"
health_check "after the install"
[ "$(http -H 'Content-Type: application/json' \
  -d '{"username":"debtest","password":"correct horse battery"}' http://127.0.0.1:8080/register)" = 201 ] ||
  fail "POST /register"
[ "$(login)" = 200 ] || fail "POST /login"
ct test -s /var/lib/cradle-hub/cradle-hub.sqlite3 || fail "no database in /var/lib/cradle-hub"
foreign="$(ct find /var/lib/cradle-hub \( ! -user cradle-hub -o ! -group cradle-hub \) -printf '%p %u:%g\n')"
[ -z "$foreign" ] || fail "files in /var/lib/cradle-hub not owned by cradle-hub: $foreign"
[ "$(ct stat -c '%U:%G %a' /var/lib/cradle-hub)" = "cradle-hub:cradle-hub 750" ] ||
  fail "/var/lib/cradle-hub is $(ct stat -c '%U:%G %a' /var/lib/cradle-hub)"
[ "$(ct stat -c '%U:%G %a' /etc/cradle-hub/config.toml)" = "root:cradle-hub 640" ] ||
  fail "config.toml is $(ct stat -c '%U:%G %a' /etc/cradle-hub/config.toml)"
ct journalctl -u cradle-hub -o cat --no-pager >"$work/journal.txt"
grep -q "http: listening" "$work/journal.txt" || fail "no 'http: listening' in the journal"
grep -q "systemd: ready" "$work/journal.txt" || fail "no 'systemd: ready' in the journal"
! grep -q $'\e' "$work/journal.txt" || fail "colour codes in the journal"
# A call the hardening forbids would show as a warning or an error.
! grep -E ' (WARN|ERROR) ' "$work/journal.txt" || fail "warnings or errors in the journal"
# mDNS through the hardening (RestrictAddressFamilies, SystemCallFilter): a
# DNS-SD query for _cradle-hub._tcp on host0 gets the hub's answer, port 8080.
ct python3 -c '
import socket, struct, sys, time
ip, group = sys.argv[1], "224.0.0.251"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(ip))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
name = b"".join(bytes([len(label)]) + label for label in b"_cradle-hub._tcp.local".split(b".")) + b"\0"
query = struct.pack(">6H", 0, 0, 1, 0, 0, 0) + name + struct.pack(">2H", 12, 1)  # PTR, IN
s.settimeout(0.5)
deadline = time.time() + 10
while time.time() < deadline:
    s.sendto(query, (group, 5353))
    try:
        while True:
            data, (sender, _) = s.recvfrom(9000)
            if sender == ip and data[2] & 0x80 and struct.pack(">H", 8080) in data:
                sys.exit(0)
    except socket.timeout:
        pass
sys.exit("no mDNS answer from the hub on host0")
' 10.213.77.2 || fail "mDNS"
echo "    active as cradle-hub (pid $pid), /health 200, answers mDNS on host0, no warning logged"
echo "    STATUS: $status"
echo "    $(ct ls -l /var/lib/cradle-hub | tail -n +2 | awk '{print $3":"$4, $NF}' | tr '\n' ' ')"

# ---------------------------------------------------------------- 3. watchdog
# A 6 s watchdog keeps this short (the hub checks every 3 s, sees the writer
# stuck after 10 s of queued writes); JSON logs at the same time.
step "watchdog: freeze the database writer thread, expect a restart"
ct mkdir -p /etc/systemd/system/cradle-hub.service.d
printf '[Service]\nWatchdogSec=6s\nEnvironment=CRADLE_HUB_LOG_FORMAT=json\n' |
  ct tee /etc/systemd/system/cradle-hub.service.d/test.conf >/dev/null
ct systemctl daemon-reload
ct systemctl restart cradle-hub
wait_active
[ "$(show WatchdogUSec)" = 6s ] || fail "drop-in WatchdogSec not applied"
pid="$(show MainPID)"
sleep 7 # more than one watchdog interval: the hub pets it
if [ "$(show MainPID)" != "$pid" ] || [ "$(show NRestarts)" != 0 ]; then
  fail "a healthy hub was restarted"
fi
writer=""
for task in $(ct ls "/proc/$pid/task"); do
  [ "$(ct cat "/proc/$pid/task/$task/comm")" = sqlite-writer ] && writer="$task"
done
[ -n "$writer" ] || fail "no sqlite-writer thread in the hub"
# PTRACE_SEIZE + PTRACE_INTERRUPT stop that one thread; the rest of the hub
# (HTTP, MQTT, the watchdog task) runs on.
ct python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
tid = int(sys.argv[1])
for request in (0x4206, 0x4207):  # PTRACE_SEIZE, PTRACE_INTERRUPT
    if libc.ptrace(request, tid, None, None) != 0:
        sys.exit("ptrace: " + os.strerror(ctypes.get_errno()))
while True:  # keep it stopped until the hub is killed
    _, status = os.waitpid(tid, 0x40000000)  # __WALL
    if os.WIFEXITED(status) or os.WIFSIGNALED(status):
        break
' "$writer" &
tracer=$!
restarted=""
for i in $(seq 60); do
  # Each login queues a session write the frozen writer never takes.
  ((i % 3 == 1)) && login >/dev/null &
  if [ "$(show NRestarts)" -ge 1 ] && [ "$(show MainPID)" != "$pid" ] && [ "$(show MainPID)" != 0 ]; then
    restarted="after ~${i}s"
    break
  fi
  sleep 1
done
if [ -z "$restarted" ]; then
  kill "$tracer" 2>/dev/null || true
  fail "systemd did not restart the hub with its writer frozen"
fi
wait "$tracer" 2>/dev/null || true
wait_active
ct journalctl -u cradle-hub -o cat --no-pager >"$work/journal.txt"
grep -q "database writer has taken no write" "$work/journal.txt" || fail "the hub did not log the stuck writer"
grep -q "Watchdog timeout" "$work/journal.txt" || fail "systemd logged no watchdog timeout"
json_lines="$(grep -c '^{"timestamp"' "$work/journal.txt" || true)"
((json_lines > 0)) || fail "no JSON log lines with CRADLE_HUB_LOG_FORMAT=json"
echo "    restarted $restarted: $(grep -o 'Watchdog timeout[^!]*!' "$work/journal.txt" | head -n1)"
health_check "after the restart"
[ "$(login)" = 200 ] || fail "login after the restart"
ct rm -r /etc/systemd/system/cradle-hub.service.d
ct systemctl daemon-reload

# ---------------------------------------------------------------- 4. upgrade
step "upgrade to $version2 over an edited conffile"
ct sed -i 's/^# retention_days = 30$/retention_days = 14/' /etc/cradle-hub/config.toml
ct grep -qx 'retention_days = 14' /etc/cradle-hub/config.toml || fail "editing the config"
pid="$(show MainPID)"
ct dpkg -i "/debs/v2/$(basename "$deb2")" </dev/null >"$work/dpkg-upgrade.log" 2>&1 ||
  { cat "$work/dpkg-upgrade.log" >&2; fail "dpkg -i (upgrade)"; }
[ "$(ct dpkg-query -W -f "\${Version}" cradle-hub)" = "$version2" ] || fail "not upgraded"
ct grep -qx 'retention_days = 14' /etc/cradle-hub/config.toml || fail "the upgrade lost the config edit"
[ -z "$(ct find /etc/cradle-hub -name '*.dpkg-*')" ] || fail "dpkg left .dpkg-* files in /etc/cradle-hub"
[ "$(ct stat -c '%U:%G %a' /etc/cradle-hub/config.toml)" = "root:cradle-hub 640" ] || fail "config mode after upgrade"
wait_active
[ "$(show MainPID)" != "$pid" ] || fail "the upgrade did not restart the hub"
health_check "after the upgrade"
[ "$(login)" = 200 ] || fail "the account did not survive the upgrade"
echo "    $version1 -> $version2: config edit kept, account kept, hub restarted (pid $(show MainPID))"

# ---------------------------------------------------------------- 5. purge
step "dpkg --purge cradle-hub"
ct dpkg --purge cradle-hub </dev/null >"$work/dpkg-purge.log" 2>&1 ||
  { cat "$work/dpkg-purge.log" >&2; fail "dpkg --purge"; }
ct pgrep -u cradle-hub >/dev/null 2>&1 && fail "a cradle-hub process survived the purge"
for path in /var/lib/cradle-hub /etc/cradle-hub /usr/bin/cradle-hub; do
  ! ct test -e "$path" || fail "$path is left after purge"
done
! ct getent passwd cradle-hub >/dev/null || fail "the cradle-hub user is left"
! ct getent group cradle-hub >/dev/null || fail "the cradle-hub group is left"
! ct dpkg-statoverride --list /etc/cradle-hub/config.toml >/dev/null || fail "the statoverride is left"
# Everything the install changed in the container is in the overlay's upper
# layer: apart from logs and dpkg's own records, nothing may mention it.
left="$(find "$work/ns/upper" -mindepth 1 -printf '%P\n' | sort | comm -13 "$work/upper-before" - |
  grep -i cradle | grep -v -e '^var/log/' -e '^var/lib/dpkg/' || true)"
[ -z "$left" ] || fail "left after purge:"$'\n'"$left"
echo "    no file, user, group or override of cradle-hub left"

echo "==> hub-deb-test: all passed in $((SECONDS - started)) s"
