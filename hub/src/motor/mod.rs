//! The rocking motor: every command goes through here, from a parent, the
//! soothing loop or the automatic stop. Each is checked against the safety
//! rules ([`rules`]), sent on the cradle's servo topic, shown in its live
//! status and written to its motor log.

pub mod rules;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::alerts::Alerts;
use crate::live::Live;
use crate::mqtt::{MqttLink, ServoError};
use crate::store::{Store, StoreError, motor_log};
use crate::tasks::TaskHealth;
use crate::timefmt::{Millis, now_millis};

pub use rules::{Action, Actor, Refusal, Rocking};
use rules::{Decision, MotorRules};

#[derive(Debug, thiserror::Error)]
pub enum MotorError {
    #[error("refused by the motor's safety limits")]
    Refused(Refusal),
    #[error(transparent)]
    NotSent(#[from] ServoError),
}

/// Who asked, for the log.
#[derive(Debug, Clone)]
pub struct Requester {
    pub user_id: i64,
    pub username: String,
}

pub struct Motor {
    rules: Mutex<MotorRules>,
    mqtt: MqttLink,
    store: Store,
    live: Arc<Live>,
    alerts: Arc<Alerts>,
}

impl Motor {
    /// Cradles whose last command taken was a start go on rocking, and
    /// stop on time.
    pub async fn load(
        mqtt: MqttLink,
        store: Store,
        live: Arc<Live>,
        alerts: Arc<Alerts>,
    ) -> Result<Arc<Motor>, StoreError> {
        let rocking = store.read(motor_log::still_rocking).await?;
        let mut rules = MotorRules::default();
        for (uuid, since, by) in rocking {
            let Some(cradle) = live.get(&uuid) else {
                continue;
            };
            let s = alerts.settings(&uuid);
            rules.restore_rocking(&uuid, since, by, &s);
            cradle.set_rocking(rules.rocking(&uuid));
        }
        Ok(Arc::new(Motor {
            rules: Mutex::new(rules),
            mqtt,
            store,
            live,
            alerts,
        }))
    }

    pub fn rocking(&self, uuid: &str) -> Option<Rocking> {
        self.rules.lock().rocking(uuid)
    }

    /// A parent's command: checked against the limits, sent, logged.
    pub async fn command(
        &self,
        uuid: &str,
        action: Action,
        by: &Requester,
    ) -> Result<(), MotorError> {
        let now = now_millis();
        let checked = self.rules.lock().parent_command(uuid, action, now);
        if let Err(refusal) = checked {
            self.log(
                uuid,
                now,
                action,
                Actor::User,
                Some(by),
                Some(refusal.as_str()),
            )
            .await;
            return Err(MotorError::Refused(refusal));
        }
        self.send(uuid, action, Actor::User, Some(by), now)
            .await
            .map_err(MotorError::NotSent)
    }

    async fn send(
        &self,
        uuid: &str,
        action: Action,
        actor: Actor,
        by: Option<&Requester>,
        now: Millis,
    ) -> Result<(), ServoError> {
        let sent = self.mqtt.publish_servo(uuid, action == Action::Start);
        let s = self.alerts.settings(uuid);
        let (rocking, retried) = {
            let mut rules = self.rules.lock();
            let retried = actor == Actor::Automatic && rules.retrying_stop(uuid);
            match &sent {
                Ok(()) => rules.sent(uuid, action, actor, now, &s),
                Err(_) => rules.failed(uuid, action, actor, now),
            }
            (rules.rocking(uuid), retried)
        };
        if let Some(cradle) = self.live.get(uuid) {
            cradle.set_rocking(rocking);
        }
        // While the cradle is away its automatic stop is tried every few
        // seconds: the first failure is logged, then the outcome.
        if retried && sent.is_err() {
            return sent;
        }
        let (action_name, actor_name) = (action.as_str(), actor.as_str());
        match &sent {
            Ok(()) => tracing::info!(
                uuid,
                action = action_name,
                actor = actor_name,
                "motor command sent"
            ),
            Err(e) => {
                tracing::warn!(uuid, action = action_name, actor = actor_name, error = %e, "motor command not sent")
            }
        }
        let error = sent.as_ref().err().map(ToString::to_string);
        self.log(uuid, now, action, actor, by, error.as_deref())
            .await;
        sent
    }

    async fn log(
        &self,
        uuid: &str,
        at: Millis,
        action: Action,
        actor: Actor,
        by: Option<&Requester>,
        error: Option<&str>,
    ) {
        let entry = motor_log::Entry {
            agent_uuid: uuid.to_owned(),
            at,
            action,
            actor,
            user_id: by.map(|b| b.user_id),
            username: by.map(|b| b.username.clone()),
            sent: error.is_none(),
            error: error.map(str::to_owned),
        };
        // A parent's command answers once its entry is stored, so the log
        // they open next shows it; the hub's own never wait for the writer.
        let stored = if by.is_some() {
            match self
                .store
                .enqueue(move |c| motor_log::insert(c, &entry))
                .await
            {
                Ok(committed) => committed.await,
                Err(e) => Err(e),
            }
        } else {
            self.store
                .write_detached("motor log", move |c| motor_log::insert(c, &entry))
                .await
        };
        if let Err(e) = stored {
            tracing::warn!(uuid, error = %e, "motor: cannot store a log entry");
        }
    }

    /// Automatic stops and the soothing loop, for every claimed cradle.
    pub async fn tick(&self, now: Millis) {
        for cradle in self.live.claimed() {
            let crying = cradle.is_crying();
            let s = self.alerts.settings(&cradle.uuid);
            let decisions = self.rules.lock().tick(&cradle.uuid, now, crying, &s);
            for decision in decisions {
                match decision {
                    Decision::Send { action, by } => {
                        let _ = self.send(&cradle.uuid, action, by, None, now).await;
                    }
                    Decision::SoothingFailed {
                        minutes,
                        crying_for_ms,
                    } => {
                        self.alerts
                            .soothing_failed(&cradle.uuid, minutes, crying_for_ms, now)
                            .await;
                    }
                }
            }
        }
    }

    pub fn forget(&self, uuid: &str) {
        self.rules.lock().forget(uuid);
    }

    /// The motor task: [`Motor::tick`] twice a second until `token` is cancelled.
    pub async fn run(self: Arc<Self>, token: CancellationToken, health: Arc<TaskHealth>) {
        crate::tasks::every(Duration::from_millis(500), token, health, |now| {
            self.tick(now)
        })
        .await;
    }
}
