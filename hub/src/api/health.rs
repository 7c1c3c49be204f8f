//! `/health`: hub, database and MQTT state for monitors and the desktop app.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::atomic::Ordering;

use super::AppState;
use crate::mqtt::MqttLink;
use crate::mqtt::server::ServerHandle;

fn counts(pairs: Vec<(&'static str, u64)>) -> serde_json::Value {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Connections, and what the endpoint refused and why connections ended.
fn endpoint_json(server: &ServerHandle) -> serde_json::Value {
    let stats = server.stats();
    json!({
        "connections": server.connections(),
        "accepted": stats.accepted.load(Ordering::Relaxed),
        "refused": counts(stats.refused()),
        "closed": counts(stats.closed()),
    })
}

pub async fn health(State(state): State<AppState>) -> Response {
    let db_ok = matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            state
                .store
                .read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
        )
        .await,
        Ok(Ok(1))
    );
    let mqtt_ok = state.mqtt.is_up();
    let ok = db_ok && mqtt_ok;
    let counters = &state.ingest.counters;
    let dropped = counts(counters.dropped_all());
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "hub": "ok",
        "database": if db_ok { "ok" } else { "error" },
        "mqtt": if mqtt_ok { "connected" } else { "disconnected" },
        "mqtt_broker": state.mqtt.address(),
        "mqtt_mode": match &state.mqtt {
            MqttLink::Endpoint(_) => "endpoint",
            MqttLink::Broker(_) => "external",
        },
        "mqtt_reconnects": match &state.mqtt {
            MqttLink::Broker(client) => client.reconnects.load(Ordering::Relaxed),
            MqttLink::Endpoint(_) => 0,
        },
        "mqtt_endpoint": state.mqtt.endpoint().map(endpoint_json),
        "cradles": state.live.len(),
        "uptime_seconds": state.started_at.elapsed().as_secs(),
        "ingest": {
            "frames": counters.frames.load(Ordering::Relaxed),
            "readings": counters.readings.load(Ordering::Relaxed),
            "dropped": dropped,
        },
        "store": {
            "jobs": state.store.stats().jobs.load(Ordering::Relaxed),
            "batches": state.store.stats().batches.load(Ordering::Relaxed),
        },
        "version": env!("CARGO_PKG_VERSION"),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
