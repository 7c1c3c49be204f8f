#!/usr/bin/env bash
# Fuzzes the hub's HTTP API from its own OpenAPI document (GET
# /api/openapi.json) with schemathesis, against a live debug hub with a
# logged-in user who owns a simulated cradle. Fails on any 5xx and on any
# answer the document does not describe (status, content type, body).
#
#   ./scripts/schemathesis.sh            (after cargo build -p cradle-hub)
#
# SCHEMATHESIS_EXAMPLES (default 40) bounds the generated cases per
# operation; the run takes about two minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
HUB_BIN="${CRADLE_HUB_BIN:-$ROOT/target/debug/cradle-hub}"
SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-40}"

# Through python3 -m: pip's script folder need not be on PATH.
schemathesis() { python3 -m schemathesis.cli "$@"; }
if [ "$(schemathesis --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  python3 -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
if [ ! -x "$HUB_BIN" ]; then
  echo "hub binary not found: $HUB_BIN (run: cargo build -p cradle-hub)" >&2
  exit 1
fi

WORK="$(mktemp -d)"
HUB_PID=""
SIM_PID=""
cleanup() {
  for pid in $SIM_PID $HUB_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $SIM_PID $HUB_PID; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "schemathesis.sh: $*" >&2
  echo "--- hub log (last 40 lines) ---" >&2
  tail -n 40 "$WORK/hub.log" >&2 || true
  exit 1
}

# Waits up to $2 tenths of a second for the hub log to match $1; prints the match.
wait_for_log() {
  local pattern="$1" tenths="$2" found
  for _ in $(seq "$tenths"); do
    found="$(grep -oE "$pattern" "$WORK/hub.log" | head -n 1 || true)"
    if [ -n "$found" ]; then
      echo "$found"
      return 0
    fi
    kill -0 "$HUB_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

echo "==> starting the hub (free ports, data in $WORK/data)"
NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}" "$HUB_BIN" --data-dir "$WORK/data" \
  --http-addr 127.0.0.1:0 --mqtt-addr 127.0.0.1:0 >"$WORK/hub.log" 2>&1 &
HUB_PID=$!
URL="$(wait_for_log 'Cradle Hub is running: http://[^ ]+' 600 | awk '{print $NF}')" ||
  fail "the hub did not start"
MQTT_PORT="$(wait_for_log 'listening for cradles addr=[^ ]+' 100 | sed 's/.*://')" ||
  fail "the hub's MQTT endpoint did not start"
echo "hub: $URL (mqtt $MQTT_PORT)"

echo "==> a user and a claimed, simulated cradle"
CRADLE=schemathesis-cradle
NO_COLOR=1 "$HUB_BIN" simulate --hub-url "$URL" --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" \
  --uuid "$CRADLE" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
wait_for_log "cradle registered.*$CRADLE" 200 >/dev/null || fail "the simulated cradle did not register"
curl -fsS -o /dev/null -H 'content-type: application/json' \
  -d '{"username":"fuzzer","password":"fuzzer-password"}' "$URL/register" || fail "register failed"
curl -fsS -o /dev/null -c "$WORK/cookies" -H 'content-type: application/json' \
  -d '{"username":"fuzzer","password":"fuzzer-password"}' "$URL/login" || fail "login failed"
SESSION="$(awk '$6 == "cradle_session" {print $7}' "$WORK/cookies")"
[ -n "$SESSION" ] || fail "no session cookie after login"
COOKIE="cradle_session=$SESSION"
# Two more cradles, registered like firmware does but never connected:
# the MQTT password switch is fuzzed on one (turning it on disconnects the
# cradle, and the simulator has no password), `/delete_cradle` on the
# other, so the simulated cradle stays claimed and connected all along.
SPARE=schemathesis-spare
DOOMED=schemathesis-doomed
for uuid in "$SPARE" "$DOOMED"; do
  curl -fsS -o /dev/null -H 'content-type: application/json' \
    -d "{\"uuid\":\"$uuid\",\"ip\":\"127.0.0.1\"}" "$URL/register_agent" || fail "registering $uuid failed"
done
for uuid in "$CRADLE" "$SPARE" "$DOOMED"; do
  curl -fsS -o /dev/null -b "$COOKIE" -H 'content-type: application/json' \
    -d "{\"cradle_uuid\":\"$uuid\"}" "$URL/register_cradle" || fail "claiming $uuid failed"
done
# A reading or two, so status, history and alerts have something to show.
sleep 2

# Operations not fuzzed:
# - /logout, ending other sessions or one chosen by id, and the password
#   change would end (or strand) the run's own session;
# - the live view never ends (the SSE streams are read up to their first
#   event: max-stream-events below).
EXCLUDE=(
  --exclude-path /logout
  --exclude-path /api/sessions/revoke_others
  --exclude-path /api/account/password
  --exclude-operation-id revoke_session
  --exclude-path /stream/{uuid}
)
# Most generated path uuids are the claimed cradle (the realistic case),
# the rest random (someone else's or nobody's: 404).
cat >"$WORK/schemathesis.toml" <<EOF
max-stream-events = 1

[dictionaries.cradles]
values = ["$CRADLE"]

[parameters]
"path.uuid" = { dictionary = "cradles", probability = 0.7 }

[[operations]]
include-operation-id = "mqtt_password_set"
parameters = { "path.uuid" = "$SPARE" }

[[operations]]
include-operation-id = "delete_cradle"
parameters = { "body.uuid" = "$DOOMED" }

# The contract answers a motor command for a cradle that is not connected
# with 500, which not_a_server_error would report: commands go to the
# connected cradle only (uuids learnt from responses would include the others).
[[operations]]
include-operation-id = "control_motor"
parameters = { "path.uuid" = "$CRADLE" }
EOF

echo "==> schemathesis $SCHEMATHESIS_VERSION, at most $EXAMPLES cases per operation"
# One worker: with two, Python 3.11 before 3.11.8 can fail inside
# hypothesis ("AST constructor recursion depth mismatch", a CPython bug).
status=0
# Its cache folder goes with the temporary folder.
cd "$WORK"
schemathesis --config-file "$WORK/schemathesis.toml" run "$URL/api/openapi.json" \
  --url "$URL" \
  --header "Cookie: $COOKIE" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$EXAMPLES" \
  --workers 1 \
  --request-timeout 20 \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --no-color \
  "${EXCLUDE[@]}" 2>&1 | tee "$WORK/run.log" || status=$?

cases="$(grep -oE '[0-9]+ generated' "$WORK/run.log" | tail -n 1 | grep -oE '[0-9]+' || echo '?')"
echo "==> schemathesis: $cases cases run, exit status $status"
kill -0 "$HUB_PID" 2>/dev/null || fail "the hub stopped during the run"
# A 5xx is already a failure; a panicked task may not show in any answer.
if grep -qE 'panicked|ERROR' "$WORK/hub.log"; then
  echo "hub log errors:" >&2
  grep -E 'panicked|ERROR' "$WORK/hub.log" | head -n 20 >&2
fi
if grep -q 'panicked' "$WORK/hub.log"; then
  status=1
fi
exit "$status"
