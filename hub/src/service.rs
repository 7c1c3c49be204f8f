//! Running as a systemd service (`Type=notify`, see hub/debian/cradle-hub.service):
//! `READY=1` once HTTP and MQTT accept, `STATUS=` lines for `systemctl
//! status`, `STOPPING=1` at shutdown, and the watchdog. Every notification is
//! a no-op outside systemd (no `NOTIFY_SOCKET`).
//!
//! The watchdog (`WatchdogSec=`) is petted only while the loops that take in
//! and keep cradle data are alive: the MQTT task, the alert ticker and the
//! store's writer thread, which must also keep taking the writes queued for
//! it. A writer stuck on a dying SD card, a panicked MQTT loop or a wedged
//! async runtime (the pets come from a task on it) stop the pets, and
//! systemd restarts the hub. Whether to pet is [`Watch::check`], plain Rust
//! over an injected clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

use crate::RunningHub;
use crate::api::AppState;
use crate::tasks::{MQTT_TASK, TaskHealth};

/// The tasks whose death stops the pets: cradle data comes in through the
/// MQTT task, and alerts (crying, temperature, a cradle gone quiet) are raised
/// by the ticker. The store's writer is watched apart, see [`WriterSample`].
/// Other tasks (maintenance, session clean-up) dying shows in `/health`
/// without restarting the hub.
pub const VITAL_TASKS: [&str; 2] = [MQTT_TASK, "alert-ticker"];

/// The writer has had writes waiting this long without taking any: stuck.
/// Batches take milliseconds; the slowest seen (a checkpoint on an SD card)
/// well under a second.
pub const WRITER_STUCK: Duration = Duration::from_secs(10);

/// How often the hub checks itself (and pets the watchdog if healthy), at
/// most: with `WatchdogSec=30` a stuck writer is seen within about 20 s and
/// the hub restarted within about 45 s.
const CHECK_PERIOD: Duration = Duration::from_secs(5);

/// What [`Watch::check`] sees of the store's writer at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterSample {
    /// The writer thread is running.
    pub alive: bool,
    /// Batches the writer has taken so far (it counts one as it starts it,
    /// whether the batch then commits or fails).
    pub batches: u64,
    /// Writes waiting in its queue.
    pub queued: usize,
}

/// What [`Watch::check`] sees of one vital task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSample {
    pub name: &'static str,
    pub alive: bool,
    /// Told to stop (shutdown): its end is not a failure.
    pub stopping: bool,
}

/// Why the watchdog is not petted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Sickness {
    #[error("the {0} task has stopped")]
    TaskStopped(&'static str),
    #[error("the database writer thread has stopped")]
    WriterStopped,
    #[error("the database writer has taken no write for {}s with {queued} waiting", .for_.as_secs())]
    WriterStuck { for_: Duration, queued: usize },
}

/// The watchdog's memory between checks: the writer's progress.
#[derive(Debug, Default)]
pub struct Watch {
    last_batches: Option<u64>,
    /// Since when writes have waited with no new batch taken.
    writer_idle_with_work_since: Option<Instant>,
}

impl Watch {
    /// `Ok` when the hub may pet the watchdog at `now`. Call it at every
    /// pet: a stuck writer is seen from the second check that finds writes
    /// waiting and no batch taken since the check before.
    pub fn check(
        &mut self,
        now: Instant,
        tasks: &[TaskSample],
        writer: WriterSample,
    ) -> Result<(), Sickness> {
        let progressed = self.last_batches != Some(writer.batches);
        self.last_batches = Some(writer.batches);
        if progressed || writer.queued == 0 {
            self.writer_idle_with_work_since = None;
        } else {
            self.writer_idle_with_work_since.get_or_insert(now);
        }
        if let Some(dead) = tasks.iter().find(|t| !t.alive && !t.stopping) {
            return Err(Sickness::TaskStopped(dead.name));
        }
        if !writer.alive {
            return Err(Sickness::WriterStopped);
        }
        if let Some(since) = self.writer_idle_with_work_since {
            let for_ = now.saturating_duration_since(since);
            if for_ >= WRITER_STUCK {
                return Err(Sickness::WriterStuck {
                    for_,
                    queued: writer.queued,
                });
            }
        }
        Ok(())
    }
}

/// True when a service manager listens for notifications.
fn under_systemd() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some()
}

/// Sends `states`; the first failure is logged (then every 5 s would be).
fn notify(states: &[NotifyState]) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if let Err(e) = sd_notify::notify(states)
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(error = %e, "systemd: cannot notify the service manager");
    }
}

/// `STATUS=` before the hub has started.
pub fn starting(data_dir: &std::path::Path) {
    let status = format!("Starting: opening the database in {}", data_dir.display());
    notify(&[NotifyState::Status(&status)]);
}

/// The hub could not start: the reason shows in `systemctl status`.
pub fn failed(error: &dyn std::fmt::Display) {
    let status = format!("Failed to start: {error}");
    notify(&[NotifyState::Status(&status)]);
}

/// `READY=1` (HTTP and MQTT accept: [`crate::start`] has returned), then
/// the watchdog and status loop when systemd runs the hub.
pub fn ready(hub: &RunningHub) {
    if !under_systemd() {
        return;
    }
    let watchdog = sd_notify::watchdog_enabled();
    let status = serving_status(&hub.state);
    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
    match watchdog {
        Some(interval) => tracing::info!(
            interval_ms = interval.as_millis() as u64,
            "systemd: ready; petting the watchdog while ingest and the store are alive"
        ),
        None => tracing::info!("systemd: ready"),
    }
    let state = hub.state.clone();
    hub.tasks().spawn("systemd-watchdog", move |token, health| {
        watch(state, watchdog, status, token, health)
    });
}

/// `STOPPING=1`: the hub is shutting down on purpose.
pub fn stopping() {
    notify(&[
        NotifyState::Stopping,
        NotifyState::Status("Stopping: closing streams and flushing the database"),
    ]);
}

/// Every [`CHECK_PERIOD`], or half the watchdog interval if that is shorter:
/// check, pet if healthy, refresh `STATUS=` when it changed.
async fn watch(
    state: AppState,
    watchdog: Option<Duration>,
    mut status: String,
    token: CancellationToken,
    health: Arc<TaskHealth>,
) {
    let period = watchdog.map_or(CHECK_PERIOD, |w| (w / 2).min(CHECK_PERIOD));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watch = Watch::default();
    let mut sick = false;
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = ticks.tick() => {}
        }
        health.beat_now();
        let verdict = watch.check(Instant::now(), &task_samples(&state), writer_sample(&state));
        let next = match (&verdict, watchdog) {
            (Ok(()), _) => serving_status(&state),
            (Err(why), Some(_)) => format!("Unhealthy: {why}; systemd will restart the hub"),
            (Err(why), None) => format!("Unhealthy: {why}"),
        };
        match (&verdict, sick, watchdog) {
            (Err(why), false, Some(_)) => tracing::error!(
                problem = %why,
                "hub unhealthy: no longer petting the systemd watchdog, so systemd restarts the hub"
            ),
            (Err(why), false, None) => tracing::error!(problem = %why, "hub unhealthy"),
            (Ok(()), true, _) => tracing::info!("hub healthy again"),
            _ => {}
        }
        sick = verdict.is_err();
        let mut states = Vec::with_capacity(2);
        if !sick && watchdog.is_some() {
            states.push(NotifyState::Watchdog);
        }
        if next != status {
            status = next;
            states.push(NotifyState::Status(&status));
        }
        if !states.is_empty() {
            notify(&states);
        }
    }
}

fn task_samples(state: &AppState) -> Vec<TaskSample> {
    state
        .tasks
        .health()
        .iter()
        .filter(|t| VITAL_TASKS.contains(&t.name))
        .map(|t| TaskSample {
            name: t.name,
            alive: t.is_alive(),
            stopping: t.is_stopping(),
        })
        .collect()
}

fn writer_sample(state: &AppState) -> WriterSample {
    WriterSample {
        alive: state.store.writer_health().is_alive(),
        batches: state.store.stats().batches.load(Ordering::Relaxed),
        queued: state.store.queued(),
    }
}

/// The line `systemctl status` shows while all is well.
fn serving_status(state: &AppState) -> String {
    let (cradles, _) = state.live.connected();
    let mqtt = match state.mqtt.endpoint() {
        Some(endpoint) => format!("MQTT on {}", endpoint.addr),
        None if state.mqtt.is_up() => format!("MQTT broker {}", state.mqtt.address()),
        None => format!("MQTT broker {} unreachable", state.mqtt.address()),
    };
    let plural = if cradles == 1 { "" } else { "s" };
    format!(
        "Serving: HTTP on {}, {mqtt}; {cradles} cradle{plural} connected",
        state.http_addr
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn alive(name: &'static str) -> TaskSample {
        TaskSample {
            name,
            alive: true,
            stopping: false,
        }
    }

    fn writer(batches: u64, queued: usize) -> WriterSample {
        WriterSample {
            alive: true,
            batches,
            queued,
        }
    }

    #[test]
    fn a_busy_or_idle_hub_is_healthy() {
        let t0 = Instant::now();
        let tasks = [alive(MQTT_TASK), alive("alert-ticker")];
        let mut watch = Watch::default();
        // Busy: the writer takes batches while more wait.
        for (i, batches) in [10, 25, 40, 41].into_iter().enumerate() {
            let now = t0 + 15 * S * i as u32;
            assert_eq!(watch.check(now, &tasks, writer(batches, 7)), Ok(()));
        }
        // Idle: no batch taken, nothing waiting, for minutes.
        for i in 4..20 {
            assert_eq!(watch.check(t0 + 15 * S * i, &tasks, writer(41, 0)), Ok(()));
        }
    }

    #[test]
    fn a_writer_that_stops_taking_queued_writes_is_stuck() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        assert_eq!(watch.check(t0, &[], writer(100, 0)), Ok(()));
        // Writes queue up; the writer takes none.
        assert_eq!(watch.check(t0 + 2 * S, &[], writer(100, 3)), Ok(()));
        assert_eq!(watch.check(t0 + 11 * S, &[], writer(100, 60)), Ok(()));
        assert_eq!(
            watch.check(t0 + 12 * S, &[], writer(100, 64)),
            Err(Sickness::WriterStuck {
                for_: 10 * S,
                queued: 64
            })
        );
        // It comes back: one batch taken is enough.
        assert_eq!(watch.check(t0 + 13 * S, &[], writer(101, 64)), Ok(()));
    }

    #[test]
    fn a_first_check_with_writes_waiting_is_not_a_stall() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        assert_eq!(watch.check(t0, &[], writer(5, 9)), Ok(()));
        assert_eq!(watch.check(t0 + 15 * S, &[], writer(5, 9)), Ok(()));
        assert!(matches!(
            watch.check(t0 + 30 * S, &[], writer(5, 9)),
            Err(Sickness::WriterStuck { .. })
        ));
    }

    #[test]
    fn a_dead_writer_or_vital_task_stops_the_pets_unless_shutting_down() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        let dead = WriterSample {
            alive: false,
            ..writer(1, 0)
        };
        assert_eq!(watch.check(t0, &[], dead), Err(Sickness::WriterStopped));
        let mqtt_dead = TaskSample {
            alive: false,
            ..alive(MQTT_TASK)
        };
        assert_eq!(
            watch.check(t0, &[alive("alert-ticker"), mqtt_dead], writer(1, 0)),
            Err(Sickness::TaskStopped(MQTT_TASK))
        );
        let mqtt_stopped = TaskSample {
            stopping: true,
            ..mqtt_dead
        };
        assert_eq!(watch.check(t0, &[mqtt_stopped], writer(1, 0)), Ok(()));
    }

    #[test]
    fn sickness_reads_well_in_systemctl_status() {
        let stuck = Sickness::WriterStuck {
            for_: Duration::from_millis(12_400),
            queued: 64,
        };
        assert_eq!(
            stuck.to_string(),
            "the database writer has taken no write for 12s with 64 waiting"
        );
        assert_eq!(
            Sickness::TaskStopped(MQTT_TASK).to_string(),
            "the mqtt task has stopped"
        );
    }

    /// The names in [`VITAL_TASKS`] are the ones the hub registers: a
    /// renamed task would otherwise silently stop being watched.
    #[tokio::test]
    async fn the_vital_tasks_are_registered_by_a_running_hub() {
        let dir = tempfile::tempdir().unwrap();
        let hub = crate::start(crate::config::Settings::ephemeral(dir.path()))
            .await
            .unwrap();
        let samples = task_samples(&hub.state);
        let names: Vec<_> = samples.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), VITAL_TASKS.len(), "registered: {names:?}");
        for name in VITAL_TASKS {
            assert!(names.contains(&name), "{name} not registered: {names:?}");
        }
        assert!(samples.iter().all(|t| t.alive));
        let mut watch = Watch::default();
        assert_eq!(
            watch.check(Instant::now(), &samples, writer_sample(&hub.state)),
            Ok(())
        );
        let status = serving_status(&hub.state);
        assert!(
            status.starts_with(&format!("Serving: HTTP on {}, MQTT on ", hub.http_addr)),
            "{status}"
        );
        assert!(status.ends_with("0 cradles connected"), "{status}");
        hub.shutdown().await;
    }

    /// The packaged /etc/cradle-hub/config.toml parses with the hub's own
    /// parser (which refuses unknown keys), means the package's paths, and
    /// every setting it shows commented out is a real key with a valid value.
    #[test]
    fn the_packaged_config_parses_as_shipped_and_uncommented() {
        use crate::config::{MqttMode, ServeArgs, Settings};
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("debian/config.toml");
        let settings = Settings::resolve(&ServeArgs {
            config: Some(shipped.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            settings.data_dir,
            std::path::Path::new("/var/lib/cradle-hub")
        );
        assert_eq!(settings.http_addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(
            settings.mqtt,
            MqttMode::Endpoint {
                listen: "0.0.0.0:1883".parse().unwrap()
            }
        );

        let text = std::fs::read_to_string(&shipped).unwrap();
        let mut examples = 0;
        let uncommented: String = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(setting) if is_setting(setting) => {
                    examples += 1;
                    format!("{setting}\n")
                }
                _ => format!("{line}\n"),
            })
            .collect();
        assert!(examples >= 10, "only {examples} commented settings");
        let dir = tempfile::tempdir().unwrap();
        let all = dir.path().join("config.toml");
        std::fs::write(&all, uncommented).unwrap();
        let resolved = Settings::resolve(&ServeArgs {
            config: Some(all),
            ..Default::default()
        });
        assert!(resolved.is_ok(), "{resolved:?}");
    }

    /// `key = value` with a snake_case key: a setting, not prose.
    fn is_setting(line: &str) -> bool {
        line.split_once(" = ").is_some_and(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
    }
}
