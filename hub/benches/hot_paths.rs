//! Micro-benchmarks of the per-message hot paths: `cargo bench -p cradle-hub`.

use std::hint::black_box;

use base64::Engine;
use cradle_hub::alerts::engine::{AlertSettings, Engine as AlertEngine};
use cradle_hub::mqtt::parse::{self, Kind};
use cradle_hub::readings::{Direction, Reading};
use criterion::{Criterion, criterion_group, criterion_main};

fn frame_payload() -> Vec<u8> {
    let jpeg = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/frame-0.jpg"
    ))
    .unwrap_or_default();
    format!(
        r#"{{"frame": "{}", "timestamp": "2026-11-22 20:56:17"}}"#,
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    )
    .into_bytes()
}

fn parsing(c: &mut Criterion) {
    let frame = frame_payload();
    c.bench_function("parse frame payload (39 KB JPEG)", |b| {
        b.iter(|| parse::parse_payload(Kind::Frame, black_box(&frame)))
    });
    let temperature = br#"{"temperature": "37.4"}"#;
    c.bench_function("parse temperature payload", |b| {
        b.iter(|| parse::parse_payload(Kind::Temperature, black_box(temperature)))
    });
    let direction =
        r#"{"direction": "정면 유지 중", "timestamp": "2026-11-22 20:56:17"}"#.as_bytes();
    c.bench_function("parse direction payload", |b| {
        b.iter(|| parse::parse_payload(Kind::Direction, black_box(direction)))
    });
    c.bench_function("parse topic", |b| {
        b.iter(|| parse::parse_topic(black_box("cradle/abc-123/direction")))
    });
}

fn engine(c: &mut Criterion) {
    let mut engine = AlertEngine::default();
    let settings = AlertSettings::default();
    let reading = Reading::Direction(Direction::from_device("정면 유지 중"));
    let mut now = 0;
    c.bench_function("alert engine step (direction reading)", |b| {
        b.iter(|| {
            now += 100;
            engine.on_reading(black_box("cradle-1"), black_box(&reading), now, &settings)
        })
    });
}

criterion_group!(benches, parsing, engine);
criterion_main!(benches);
