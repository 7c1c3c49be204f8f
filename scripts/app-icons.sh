#!/usr/bin/env bash
# Regenerates the app's icon set (top-level icons/) from one source image
# drawn by src-tauri/icon-source.mjs, with the pinned Tauri CLI (`tauri icon`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/src-tauri"
[ -x node_modules/.bin/tauri ] || npm ci --no-audit --no-fund --prefer-offline
node icon-source.mjs "$root/icons/source.png"
npx --no-install tauri icon "$root/icons/source.png" --output "$root/icons"
echo "icons written to $root/icons"
