#!/usr/bin/env bash
# Measures the desktop app (home-hub mode, no cradles): time from process
# start to the hub's page loaded in the window (the app logs "first paint"
# on the page-load event; also timed from outside), and idle memory of the
# app with its WebKit processes after 10 s. Runs under Xvfb and a private
# D-Bus session on free ports with throw-away data and settings folders.
# Usage: scripts/app-measure.sh [path/to/cradle-app] [runs]   (default: target/release/cradle-app, 3)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
app="${1:-$root/target/release/cradle-app}"
runs="${2:-3}"
[ -x "$app" ] || { echo "no app binary at $app (build it: scripts/app-deb.sh)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

display=""
for n in $(seq 141 190); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then display=":$n"; break; fi
done
Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
tmp="$(mktemp -d)"
trap 'kill "$xvfb_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done

cat >"$tmp/one-run.sh" <<'INNER'
#!/usr/bin/env bash
# One start of the app: prints "<app-log ms> <outside ms> <rss MB> <pss MB> <processes>".
set -euo pipefail
app="$1"; log="$2"
start=$(date +%s%N)
"$app" 2>"$log" &
pid=$!
for _ in $(seq 600); do
  grep -q "first paint" "$log" && break
  kill -0 "$pid" 2>/dev/null || { echo "app exited" >&2; cat "$log" >&2; exit 1; }
  sleep 0.02
done
outside=$(( ($(date +%s%N) - start) / 1000000 ))
inside=$(grep -o "first paint.*ms=[0-9]*" "$log" | grep -o "[0-9]*$" || echo "?")
sleep 10
tree() { echo "$1"; for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done; }
rss=0; pss=0; parts=""
for p in $(tree "$pid"); do
  r=$(awk '/^Rss:/{print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || echo 0)
  s=$(awk '/^Pss:/{print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || echo 0)
  rss=$((rss + ${r:-0})); pss=$((pss + ${s:-0}))
  parts+="$(basename "$(readlink /proc/"$p"/exe)")=$(( ${r:-0} / 1024 )),"
done
kill "$pid"; wait "$pid" 2>/dev/null || true
echo "$inside $outside $((rss / 1024)) $((pss / 1024)) ${parts%,}"
INNER
chmod +x "$tmp/one-run.sh"

echo "app: $app ($(du -h "$app" | cut -f1))"
echo "run  first-paint(app log, ms)  first-paint(outside, ms)  idle RSS MB  idle PSS MB  RSS MB per process"
for i in $(seq "$runs"); do
  result=$(env DISPLAY="$display" RUST_LOG=info,rumqttc=warn \
    CRADLE_HUB_HTTP_ADDR="127.0.0.1:$(free_port)" CRADLE_HUB_MQTT_ADDR="127.0.0.1:$(free_port)" \
    CRADLE_HUB_DATA_DIR="$tmp/hub-$i" XDG_CONFIG_HOME="$tmp/config-$i" XDG_DATA_HOME="$tmp/data-$i" \
    XDG_CACHE_HOME="$tmp/cache-$i" \
    dbus-run-session -- "$tmp/one-run.sh" "$app" "$tmp/app-$i.log" 2>/dev/null | tail -n1)
  echo "$i    $result" | awk '{printf "%-4s %-28s %-25s %-12s %-12s %s\n", $1, $2, $3, $4, $5, $6}'
done
