//! Property tests: arbitrary and mutated input for everything that reads
//! bytes from outside the hub (cargo-fuzz needs nightly; this runs on
//! stable, in CI, in seconds).
//!
//! Case counts. The defaults keep the whole target within seconds in a
//! debug build. `PROPTEST_CASES` sets the count of the cheap, pure parsers
//! (MQTT packets, payloads, topics); the slow ones have their own variables
//! so that a long run of the parsers does not become hours of HTTP or video
//! encoding: `PROPS_HTTP_CASES`, `PROPS_QR_CASES`, `PROPS_CLIP_CASES`.
//!
//! ```text
//! PROPTEST_CASES=200000 cargo test --release -p cradle-hub --test props
//! ```

mod api_bodies;
mod clip;
mod mqtt_packets;
mod payloads;
mod qr;

use proptest::test_runner::Config;

/// `default` cases unless the environment variable `var` sets a count.
/// Failures are not persisted to files: a failing case found once is
/// kept as a named regression test instead.
pub fn config(var: &str, default: u32) -> Config {
    let cases = std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// The cheap parsers' configuration: `PROPTEST_CASES` or `default`.
pub fn cheap(default: u32) -> Config {
    config("PROPTEST_CASES", default)
}
