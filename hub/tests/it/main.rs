//! Integration tests: the real hub on ephemeral ports, real SQLite files,
//! real MQTT (the hub's own endpoint, and Mosquitto in `mosquitto.rs`), real HTTP.
//! One test binary keeps link time down.

mod accounts;
mod admin;
mod alerts;
mod common;
mod cradles;
mod disk_full;
mod email;
mod endpoint;
mod ha;
mod hardening;
mod household;
mod inbox;
mod lifecycle;
mod mdns;
mod media;
mod metrics;
mod monitoring;
mod mosquitto;
mod mqtt_input;
mod netns;
mod push;
mod safety;
mod sessions;
mod tls;
