//! `/health`: hub, database and MQTT state for monitors and the desktop app.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::atomic::Ordering;

use super::AppState;

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
    let mqtt_ok = state.mqtt.is_connected();
    let ok = db_ok && mqtt_ok;
    let counters = &state.ingest.counters;
    let dropped: serde_json::Map<String, serde_json::Value> = counters
        .dropped_all()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "hub": "ok",
        "database": if db_ok { "ok" } else { "error" },
        "mqtt": if mqtt_ok { "connected" } else { "disconnected" },
        "mqtt_broker": state.mqtt.broker,
        "mqtt_reconnects": state.mqtt.reconnects.load(Ordering::Relaxed),
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
