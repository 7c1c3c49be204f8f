//! Telling the household about alerts away from the hub's screens: every
//! raised alert goes to each member who can see its cradle, on each channel
//! they use, and a push reminder follows if it is still unresolved after
//! [`crate::alerts::REMIND_AFTER_MS`]. It runs beside alert handling, each alert on its own task, so a
//! slow push service never delays an alert, the event stream or another
//! alert's delivery.

pub mod email;
pub mod endpoint;
pub mod push;
pub mod vapid;

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::alerts::{Alerts, HubEvent};
use crate::store::Store;
use crate::store::alerts::AlertRow;
use crate::tasks::TaskHealth;

pub struct Notifier {
    store: Store,
    alerts: Arc<Alerts>,
    push: push::Push,
    /// The email channel, when the hub has `[email]`.
    email: Option<Arc<email::AlertEmails>>,
}

impl Notifier {
    pub fn new(
        store: Store,
        alerts: Arc<Alerts>,
        push: push::Push,
        email: Option<Arc<email::AlertEmails>>,
    ) -> Arc<Notifier> {
        Arc::new(Notifier {
            store,
            alerts,
            push,
            email,
        })
    }

    pub fn push(&self) -> &push::Push {
        &self.push
    }

    /// Delivers each alert of `events` until `token` is cancelled. Take
    /// `events` before cradles can connect, so no alert is missed.
    pub async fn run(
        self: Arc<Self>,
        mut events: broadcast::Receiver<HubEvent>,
        token: CancellationToken,
        health: Arc<TaskHealth>,
    ) {
        health.beat_now();
        loop {
            let event = tokio::select! {
                _ = token.cancelled() => return,
                e = events.recv() => e,
            };
            health.beat_now();
            match event {
                Ok(HubEvent::AlertRaised { alert, .. }) => {
                    self.spawn_delivery(alert, push::Announce::Raised, &token);
                }
                Ok(HubEvent::AlertReminder { alert, .. }) => {
                    self.spawn_delivery(alert, push::Announce::Reminder, &token);
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "notify: fell behind the alert events; some were not delivered"
                    );
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    fn spawn_delivery(
        self: &Arc<Self>,
        alert: AlertRow,
        announce: push::Announce,
        token: &CancellationToken,
    ) {
        let notifier = self.clone();
        let token = token.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = notifier.deliver(alert, announce) => {}
            }
        });
    }

    /// One alert on every channel, side by side.
    async fn deliver(&self, alert: AlertRow, announce: push::Announce) {
        let settings = self.alerts.settings(&alert.agent_uuid);
        // Channels: each reads its own recipients and their switches, and
        // never waits for another. Email tells of an alert once: a reminder
        // minutes later is for the phone in the parent's pocket.
        if announce == push::Announce::Raised {
            email::send_alert_emails(self.email.as_deref(), &settings, &alert);
        }
        if settings.push_notifications_enabled {
            push::send_all(&self.push, &self.store, &alert, announce).await;
        }
    }
}
