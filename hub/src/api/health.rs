//! `/health`: hub, database and MQTT state for monitors and the desktop app.
//! `status` is `degraded` (503) with the reasons in `problems` when the
//! database cannot be read, the writer thread or any owned task has
//! stopped, the disk is full, or MQTT is disconnected, and when the hub's
//! self-watchdog ([`crate::watchdog`]) sees ingest stopped while cradles are
//! connected, writes failing for 30 s, or the disk nearly full.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::atomic::Ordering;

use crate::tasks::MQTT_TASK;
use crate::timefmt::{format_millis, now_millis};
use crate::watchdog;

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
    let store = &state.store;
    let writer = store.writer_health();
    let writer_ok = writer.is_alive();
    let disk_full = store.disk_full();
    // The MQTT task registers its TaskHealth as "mqtt": once it has stopped,
    // a stale "connected" flag is not believed.
    let mqtt_task_dead = state
        .tasks
        .health()
        .iter()
        .any(|t| t.name == MQTT_TASK && !t.is_alive());
    let mqtt_ok = state.mqtt.is_up() && !mqtt_task_dead;

    let mut problems: Vec<String> = Vec::new();
    if !db_ok {
        problems.push("database unreadable".into());
    }
    if !writer_ok {
        problems.push("database writer stopped".into());
    }
    if disk_full {
        problems.push("disk full".into());
    }
    let mut tasks = serde_json::Map::new();
    for t in state.tasks.health() {
        if !t.is_alive() && !t.is_stopping() && t.name != writer.name {
            problems.push(format!("{} stopped", t.name));
        }
        tasks.insert(
            t.name.to_owned(),
            json!({"alive": t.is_alive(), "last_beat": t.last_beat().map(format_millis)}),
        );
    }
    if !mqtt_ok {
        problems.push("mqtt disconnected".into());
    }
    let dir = store.dir().to_owned();
    let disk = tokio::task::spawn_blocking(move || watchdog::disk_space(&dir))
        .await
        .ok()
        .flatten();
    let (connected_cradles, newest_connection_at) = state.live.connected();
    let watched = watchdog::problems(&watchdog::Observed {
        now: now_millis(),
        started_at: state.started_at_ms,
        connected_cradles,
        newest_connection_at,
        last_ingest_at: state.ingest.counters.last_taken_at(),
        last_commit_at: writer.last_beat(),
        last_write_failure_at: store.stats().last_failure_at(),
        disk,
    });
    problems.extend(watched.iter().map(|p| p.as_str().to_owned()));
    let ok = problems.is_empty();

    let counters = &state.ingest.counters;
    let dropped = counts(counters.dropped_all());
    let stats = store.stats();
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "problems": problems,
        "hub": "ok",
        "database": match (db_ok && writer_ok, disk_full) {
            (_, true) => "disk full",
            (true, false) => "ok",
            (false, false) => "error",
        },
        "mqtt": match (mqtt_ok, mqtt_task_dead) {
            (true, _) => "connected",
            (false, true) => "stopped",
            (false, false) => "disconnected",
        },
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
        "recording": if disk_full { "paused: disk full" } else { "on" },
        "store": {
            "jobs": stats.jobs.load(Ordering::Relaxed),
            "batches": stats.batches.load(Ordering::Relaxed),
            "failed_jobs": stats.failed_jobs.load(Ordering::Relaxed),
            "panicked_jobs": stats.panicked_jobs.load(Ordering::Relaxed),
            "queued": store.queued(),
            "writer": if writer_ok { "running" } else { "stopped" },
            "last_commit": writer.last_beat().map(format_millis),
            "disk_full_since": store.disk_full_since().map(format_millis),
            "open_readers": store.open_readers(),
        },
        "tasks": tasks,
        "unsaved_alerts": state.alerts.unsaved_count(),
        "disk": disk.map(|d| json!({"free_bytes": d.free_bytes, "total_bytes": d.total_bytes})),
        "connected_cradles": connected_cradles,
        "last_ingest": state.ingest.counters.last_taken_at().map(format_millis),
        "version": env!("CARGO_PKG_VERSION"),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
