# shellcheck shell=bash
# Sourced by the scripts that need the debug binaries (hub, app, tools).

# build_workspace [cargo flags]: every binary of the workspace, built from
# the same units as the test run (`--all-targets` takes the dev-dependencies'
# features in too), so after scripts/test.sh's tests this only links. A
# narrower selection such as `-p cradle-hub` resolves features anew and
# rebuilds hundreds of dependencies: 6.5 min on 2 cores (2026-11-29).
# shellcheck disable=SC2120 # the flags are optional
build_workspace() {
  cargo build --locked --workspace --all-targets "$@"
}

# without_lints CMD...: runs CMD without the clippy wrapper scripts/test.sh
# exports; `cargo install` would otherwise lint the crate it installs.
without_lints() {
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS "$@"
}
