# shellcheck shell=bash
# Sourced by scripts/hub-deb.sh and scripts/hub-deb-test.sh: cargo-deb, and
# packaging a hub binary that is already built.

CARGO_DEB_VERSION=3.8.0

# Installs the pinned cargo-deb unless a cargo-deb is there. A debug build:
# 1 minute from cold on 2 cores instead of 5 for an optimised one, and it
# still packages the debug hub in about 5 s (CI's budget is tight).
ensure_cargo_deb() {
  if ! cargo deb --version >/dev/null 2>&1; then
    echo "==> cargo install --debug cargo-deb $CARGO_DEB_VERSION"
    env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS \
      cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --debug
  fi
}

# package_hub OUT_DIR [cargo-deb flags]: packages the cradle-hub binary cargo
# already built (release unless --profile says otherwise; --target for a
# cross build) into OUT_DIR and prints the .deb's path.
package_hub() {
  local out="$1"
  shift
  cargo deb -p cradle-hub --no-build --locked --output "$out" "$@" | tail -n1
}
