#!/usr/bin/env bash
# Builds the desktop app's Debian package, offline: one release build and
# `tauri bundle --bundles deb` with the pinned Tauri CLI (src-tauri/package.json;
# `npm ci` fetches it once if node_modules is missing). Output:
# target/release/bundle/deb/*.deb. (AppImage needs a download: not built.)
#
# The CLI only recognises a Tauri project by a tauri.conf.json inside the
# crate's folder, while this repository keeps its one config at the top level:
# the script links it there for the duration of the build, and passes the
# config's paths as absolute ones (the CLI would read them relative to
# src-tauri/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/src-tauri"

[ -x node_modules/.bin/tauri ] || npm ci --no-audit --no-fund --prefer-offline

link="$root/src-tauri/tauri.conf.json"
if [ ! -e "$link" ]; then
  ln -s ../tauri.conf.json "$link"
  trap 'rm -f "$link"' EXIT
fi

icons=""
for f in 32x32.png 128x128.png 128x128@2x.png icon.png icon.icns icon.ico; do
  icons+="${icons:+,}\"$root/icons/$f\""
done
overrides="{\"build\":{\"frontendDist\":\"$root/src-tauri/setup\"},\"bundle\":{\"icon\":[$icons]}}"

# Build, strip the debug line tables the release profile keeps (they make
# the binary ~170 MB; stripped ~1/6 of that), then bundle.
npx --no-install tauri build --no-bundle --config "$overrides" "$@"
strip --strip-debug "$root/target/release/cradle-app"
npx --no-install tauri bundle --bundles deb --config "$overrides" "$@"

deb="$(ls -t "$root"/target/release/bundle/deb/*.deb | head -n1)"
echo "==> $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
