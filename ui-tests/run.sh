#!/usr/bin/env bash
# Type-checks the web UI (ui/) and runs its end-to-end test in Chromium
# against a real hub. The hub binary comes from $CRADLE_HUB_BIN (default:
# the debug build). Screenshots end up in ui-test-output/.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd .. && pwd)"
export CRADLE_HUB_BIN="${CRADLE_HUB_BIN:-$ROOT/target/debug/cradle-hub}"

# Debian's Chromium (and a Korean font so Korean screenshots are legible),
# and certutil (libnss3-tools) for the HTTPS check's scratch NSS database.
if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ] || ! dpkg -s fonts-nanum >/dev/null 2>&1 || ! command -v certutil >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "==> installing chromium, fonts-nanum and libnss3-tools"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-nanum libnss3-tools
fi

if [ ! -x "$CRADLE_HUB_BIN" ]; then
  echo "hub binary not found: $CRADLE_HUB_BIN (run: cargo build -p cradle-hub)" >&2
  exit 1
fi

echo "==> npm ci"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

echo "==> tsc (type-checks ../ui/**/*.js; the service worker with the worker's globals)"
npx --no-install tsc -p .
npx --no-install tsc -p tsconfig.sw.json

echo "==> end-to-end test"
node e2e.mjs

echo "==> household: two accounts, an invite, a viewer's limits"
node household.mjs

echo "==> HTTPS: Chromium trusts the hub's local CA (--tls self-signed)"
node tls.mjs

echo "==> installable app: manifest, service worker, push, offline page"
node pwa.mjs
