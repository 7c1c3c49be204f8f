//! The hub's background work, owned: every task gets a child of one root
//! [`CancellationToken`], is joined (or aborted) on shutdown, and reports
//! its liveness through a [`TaskHealth`] that `/health` shows.
//!
//! A task that is not spawned here (a thread, or a task another module
//! spawns itself) still takes a [`Tasks::child_token`] and hands its
//! `JoinHandle` to [`Tasks::adopt`] and its [`TaskHealth`] to
//! [`Tasks::register`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::timefmt::{Millis, now_millis};

/// The name the MQTT task's [`TaskHealth`] is registered under: `/health`
/// then reports `"mqtt": "stopped"` once it has ended, whatever the
/// connection flag last said.
pub const MQTT_TASK: &str = "mqtt";

/// Liveness of one long-running task or thread: alive while its
/// [`AliveGuard`] exists (the guard drops when the task ends, is cancelled or
/// panics), plus the time of its last beat (e.g. the writer's last commit).
#[derive(Debug)]
pub struct TaskHealth {
    pub name: &'static str,
    alive: AtomicBool,
    /// Unix ms of the last beat, 0 for none yet.
    last_beat: AtomicI64,
    /// Stopped on purpose (shutdown), not died.
    stopped: AtomicBool,
}

impl TaskHealth {
    pub fn new(name: &'static str) -> Arc<TaskHealth> {
        Arc::new(TaskHealth {
            name,
            alive: AtomicBool::new(false),
            last_beat: AtomicI64::new(0),
            stopped: AtomicBool::new(false),
        })
    }

    /// Marks the task alive until the returned guard drops. Hold it for the
    /// task's whole life (inside the future or thread).
    pub fn alive_guard(self: &Arc<Self>) -> AliveGuard {
        self.alive.store(true, Ordering::Release);
        AliveGuard(self.clone())
    }

    pub fn beat(&self, at: Millis) {
        self.last_beat.store(at, Ordering::Relaxed);
    }

    pub fn beat_now(&self) {
        self.beat(now_millis());
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    pub fn last_beat(&self) -> Option<Millis> {
        Some(self.last_beat.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    /// True once the task has been told to stop (its end is not a failure).
    pub fn is_stopping(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    pub fn mark_stopping(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

/// Keeps a [`TaskHealth`] alive; dropping it (also while unwinding from a
/// panic) marks the task dead.
pub struct AliveGuard(Arc<TaskHealth>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
        if std::thread::panicking() {
            tracing::error!(task = self.0.name, "task panicked and stopped");
        }
    }
}

/// The hub's tasks: one root token, the join handles and the health flags.
pub struct Tasks {
    root: CancellationToken,
    handles: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
    health: Mutex<Vec<Arc<TaskHealth>>>,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks {
            root: CancellationToken::new(),
            handles: Mutex::new(Vec::new()),
            health: Mutex::new(Vec::new()),
        }
    }
}

impl Tasks {
    pub fn new() -> Arc<Tasks> {
        Arc::new(Tasks::default())
    }

    /// The root token: cancelled when the hub shuts down.
    pub fn token(&self) -> &CancellationToken {
        &self.root
    }

    /// A token cancelled with the root (give one to each task).
    pub fn child_token(&self) -> CancellationToken {
        self.root.child_token()
    }

    /// Shows `health` in `/health`; its task dying makes the hub degraded.
    pub fn register(&self, health: Arc<TaskHealth>) {
        self.health.lock().push(health);
    }

    /// Joins (or aborts) this task on shutdown.
    pub fn adopt(&self, name: &'static str, handle: JoinHandle<()>) {
        let mut handles = self.handles.lock();
        handles.retain(|(_, h)| !h.is_finished());
        handles.push((name, handle));
    }

    /// Adopts a task spawned elsewhere and shows its liveness in `/health`,
    /// which turns 503 ("<name> stopped") if it ends before shutdown.
    pub fn adopt_with_health(&self, name: &'static str, task: JoinHandle<()>) {
        let health = TaskHealth::new(name);
        let alive = health.alive_guard();
        self.register(health);
        self.adopt(
            name,
            tokio::spawn(async move {
                let _alive = alive;
                if let Err(e) = task.await {
                    tracing::error!(task = name, error = %e, "task failed");
                }
            }),
        );
    }

    /// Spawns `make(token, health)` on the runtime: the token is a child of
    /// the root, the health is registered and marked alive for as long as
    /// the future runs. The future should return soon after its token is
    /// cancelled.
    pub fn spawn<F, Fut>(&self, name: &'static str, make: F) -> Arc<TaskHealth>
    where
        F: FnOnce(CancellationToken, Arc<TaskHealth>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let health = TaskHealth::new(name);
        let guard = health.alive_guard();
        let fut = make(self.child_token(), health.clone());
        let handle = tokio::spawn(async move {
            let _alive = guard;
            fut.await;
        });
        self.register(health.clone());
        self.adopt(name, handle);
        health
    }

    pub fn health(&self) -> Vec<Arc<TaskHealth>> {
        self.health.lock().clone()
    }

    /// Tells every task to stop: the root token is cancelled, and their
    /// health no longer counts as a failure when they end.
    pub fn cancel(&self) {
        for h in self.health.lock().iter() {
            h.mark_stopping();
        }
        self.root.cancel();
    }

    /// Waits for the tasks until `deadline`; the ones still running then
    /// are aborted.
    pub async fn join(&self, deadline: Instant) {
        let handles = std::mem::take(&mut *self.handles.lock());
        for (name, mut handle) in handles {
            match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) if e.is_panic() => tracing::error!(task = name, "task had panicked"),
                Ok(Err(_)) => {}
                Err(_) => {
                    tracing::warn!(task = name, "task did not stop in time; aborted");
                    handle.abort();
                }
            }
        }
    }

    /// [`Tasks::cancel`], then [`Tasks::join`].
    pub async fn stop(&self, deadline: Instant) {
        self.cancel();
        self.join(deadline).await;
    }
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM. After it returns, a second Ctrl-C
/// or SIGTERM ends the process at once (exit code 130).
pub async fn shutdown_signal() {
    let name = first_signal().await;
    tracing::info!(signal = name, "shutting down (again to exit at once)");
    tokio::spawn(async {
        let name = first_signal().await;
        tracing::warn!(signal = name, "second signal: exiting now");
        std::process::exit(130);
    });
}

async fn first_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Sleeps `period`, or returns false at once if `token` is cancelled.
pub async fn sleep_or_cancel(token: &CancellationToken, period: Duration) -> bool {
    tokio::select! {
        _ = token.cancelled() => false,
        _ = tokio::time::sleep(period) => true,
    }
}

/// Runs `tick(now)` every `period` until `token` is cancelled, beating
/// `health` before each tick; a tick still running when `token` is
/// cancelled is dropped. Ticks missed while one ran are skipped.
pub async fn every<F, Fut>(
    period: std::time::Duration,
    token: CancellationToken,
    health: Arc<TaskHealth>,
    mut tick: F,
) where
    F: FnMut(crate::timefmt::Millis) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = interval.tick() => {}
        }
        let now = crate::timefmt::now_millis();
        health.beat(now);
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick(now) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn health_follows_the_task_and_stop_cancels_it() {
        let tasks = Tasks::new();
        let h = tasks.spawn("waits", |token, health| async move {
            health.beat(5);
            token.cancelled().await;
        });
        tokio::task::yield_now().await;
        assert!(h.is_alive());
        assert_eq!(h.last_beat(), Some(5));
        tasks.stop(Instant::now() + Duration::from_secs(1)).await;
        assert!(!h.is_alive());
        assert!(h.is_stopping());
    }

    #[tokio::test]
    async fn a_panicking_task_is_reported_dead() {
        let tasks = Tasks::new();
        let h = tasks.spawn("dies", |_token, _health| async move {
            tokio::task::yield_now().await;
            panic!("boom");
        });
        for _ in 0..100 {
            if !h.is_alive() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!h.is_alive());
        assert!(!h.is_stopping());
    }
}
