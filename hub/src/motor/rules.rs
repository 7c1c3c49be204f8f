//! Motor safety as plain Rust over an injected clock: when a parent may
//! rock or stop, when rocking stops by itself, and the soothing loop. The
//! caller sends what [`MotorRules::tick`] decides and reports back with
//! [`MotorRules::sent`] or [`MotorRules::failed`].

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use crate::alerts::engine::AlertSettings;
use crate::timefmt::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Start,
    Stop,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            _ => None,
        }
    }
}

/// Who sent a motor command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// A parent, from a screen.
    User,
    /// The soothing loop.
    Soothing,
    /// The hub's automatic stop after `max_rock_minutes`.
    Automatic,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::User => "user",
            Actor::Soothing => "soothing",
            Actor::Automatic => "automatic",
        }
    }
    pub fn parse(s: &str) -> Option<Actor> {
        match s {
            "user" => Some(Actor::User),
            "soothing" => Some(Actor::Soothing),
            "automatic" => Some(Actor::Automatic),
            _ => None,
        }
    }
}

/// The cradle is rocking: since when, until when at the latest, and who started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rocking {
    pub since: Millis,
    pub stops_at: Millis,
    pub by: Actor,
}

/// Why a parent's command was refused (HTTP 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// More than [`MAX_COMMANDS_PER_MINUTE`] in the last minute.
    TooMany { retry_after_ms: Millis },
    /// A start less than [`RESTART_GAP_MS`] after a stop.
    TooSoonAfterStop { retry_after_ms: Millis },
}

impl Refusal {
    /// For the motor log.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::TooMany { .. } => "refused: more than 30 commands a minute",
            Refusal::TooSoonAfterStop { .. } => "refused: a start less than 2 s after a stop",
        }
    }

    pub fn retry_after_ms(self) -> Millis {
        match self {
            Refusal::TooMany { retry_after_ms } | Refusal::TooSoonAfterStop { retry_after_ms } => {
                retry_after_ms
            }
        }
    }
}

/// What the caller must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Send {
        action: Action,
        by: Actor,
    },
    /// The soothing loop rocked `minutes` and the baby is still crying.
    SoothingFailed {
        minutes: u32,
        crying_for_ms: Millis,
    },
}

pub const MAX_COMMANDS_PER_MINUTE: usize = 30;
pub const RESTART_GAP_MS: Millis = 2_000;
/// A parent's command pauses the soothing loop this long.
pub const MANUAL_PAUSES_SOOTHING_MS: Millis = 10 * 60_000;
/// The soothing loop stops rocking after this much quiet.
pub const QUIET_BEFORE_STOP_MS: Millis = 60_000;
/// A stop the cradle did not take is tried again this often.
pub const STOP_RETRY_MS: Millis = 5_000;
/// A soothing start the cradle did not take waits this long.
pub const SOOTHE_RETRY_MS: Millis = 30_000;
const MINUTE_MS: Millis = 60_000;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum Soothing {
    #[default]
    Idle,
    Rocking {
        started: Millis,
        until: Millis,
        quiet_since: Option<Millis>,
    },
    /// Rocked the whole time and the baby still cried: no new attempt
    /// until this spell of crying ends.
    GaveUp,
}

#[derive(Debug, Default)]
struct CradleMotor {
    /// A parent's commands of the last minute.
    recent: VecDeque<Millis>,
    last_stop_at: Option<Millis>,
    rocking: Option<Rocking>,
    manual_at: Option<Millis>,
    crying_since: Option<Millis>,
    soothing: Soothing,
    /// No automatic stop is tried before this (the last one failed).
    stop_retry_at: Option<Millis>,
    /// No soothing start before this (the last one failed).
    soothe_retry_at: Option<Millis>,
}

#[derive(Debug, Default)]
pub struct MotorRules {
    cradles: HashMap<String, CradleMotor>,
}

fn minutes(m: u32) -> Millis {
    Millis::from(m) * MINUTE_MS
}

impl MotorRules {
    pub fn rocking(&self, uuid: &str) -> Option<Rocking> {
        self.cradles.get(uuid).and_then(|c| c.rocking)
    }

    /// An automatic stop failed and is being tried again.
    pub fn retrying_stop(&self, uuid: &str) -> bool {
        self.cradles
            .get(uuid)
            .is_some_and(|c| c.stop_retry_at.is_some())
    }

    /// After a restart: the last command the cradle took was a start at
    /// `since` by `by`: it is rocking and stops on time.
    pub fn restore_rocking(&mut self, uuid: &str, since: Millis, by: Actor, s: &AlertSettings) {
        let c = self.cradles.entry(uuid.to_owned()).or_default();
        c.rocking = Some(Rocking {
            since,
            stops_at: since + minutes(s.max_rock_minutes),
            by,
        });
    }

    /// A parent asks to start or stop. Stopping a rocking cradle is never
    /// refused. Either way the soothing loop pauses: a parent always wins.
    pub fn parent_command(
        &mut self,
        uuid: &str,
        action: Action,
        now: Millis,
    ) -> Result<(), Refusal> {
        let c = self.cradles.entry(uuid.to_owned()).or_default();
        while c.recent.front().is_some_and(|t| now - t >= MINUTE_MS) {
            c.recent.pop_front();
        }
        let stopping_motion = action == Action::Stop && c.rocking.is_some();
        if !stopping_motion {
            if c.recent.len() >= MAX_COMMANDS_PER_MINUTE {
                let oldest = c.recent.front().copied().unwrap_or(now);
                return Err(Refusal::TooMany {
                    retry_after_ms: (oldest + MINUTE_MS - now).max(1),
                });
            }
            if action == Action::Start
                && let Some(stopped) = c.last_stop_at
                && now - stopped < RESTART_GAP_MS
            {
                return Err(Refusal::TooSoonAfterStop {
                    retry_after_ms: stopped + RESTART_GAP_MS - now,
                });
            }
        }
        c.recent.push_back(now);
        c.manual_at = Some(now);
        c.soothing = Soothing::Idle;
        Ok(())
    }

    /// The cradle's connection took the command.
    pub fn sent(&mut self, uuid: &str, action: Action, by: Actor, now: Millis, s: &AlertSettings) {
        let c = self.cradles.entry(uuid.to_owned()).or_default();
        match action {
            Action::Start => {
                let limit = match (by, c.soothing) {
                    (Actor::Soothing, Soothing::Rocking { until, .. }) => {
                        until.min(now + minutes(s.max_rock_minutes))
                    }
                    _ => now + minutes(s.max_rock_minutes),
                };
                c.rocking = Some(Rocking {
                    since: now,
                    stops_at: limit,
                    by,
                });
            }
            Action::Stop => {
                c.rocking = None;
                c.last_stop_at = Some(now);
                c.stop_retry_at = None;
            }
        }
    }

    /// The command did not reach the cradle.
    pub fn failed(&mut self, uuid: &str, action: Action, by: Actor, now: Millis) {
        let c = self.cradles.entry(uuid.to_owned()).or_default();
        match (action, by) {
            // Whoever asked, a stop that did not reach a rocking cradle is
            // the hub's to finish: it is tried again until it does.
            (Action::Stop, _) => {
                if let Some(r) = c.rocking.as_mut() {
                    r.stops_at = r.stops_at.min(now);
                    c.stop_retry_at = Some(now + STOP_RETRY_MS);
                }
            }
            (Action::Start, Actor::Soothing) => {
                c.soothing = Soothing::Idle;
                c.soothe_retry_at = Some(now + SOOTHE_RETRY_MS);
            }
            _ => {}
        }
    }

    /// About twice a second per cradle, with whether the baby is crying now.
    pub fn tick(
        &mut self,
        uuid: &str,
        now: Millis,
        crying: bool,
        s: &AlertSettings,
    ) -> Vec<Decision> {
        let c = self.cradles.entry(uuid.to_owned()).or_default();
        let mut out = Vec::new();
        if crying {
            c.crying_since.get_or_insert(now);
        } else {
            c.crying_since = None;
        }
        let may_stop = c.stop_retry_at.is_none_or(|t| now >= t);
        match c.soothing {
            Soothing::Rocking {
                started,
                until,
                quiet_since,
            } => {
                if crying {
                    if now >= until {
                        let crying_for_ms = c.crying_since.map_or(0, |t| now - t);
                        c.soothing = Soothing::GaveUp;
                        out.push(Decision::Send {
                            action: Action::Stop,
                            by: Actor::Soothing,
                        });
                        out.push(Decision::SoothingFailed {
                            minutes: ((until - started) / MINUTE_MS) as u32,
                            crying_for_ms,
                        });
                    } else {
                        c.soothing = Soothing::Rocking {
                            started,
                            until,
                            quiet_since: None,
                        };
                    }
                } else {
                    let quiet = quiet_since.unwrap_or(now);
                    if now - quiet >= QUIET_BEFORE_STOP_MS || now >= until {
                        c.soothing = Soothing::Idle;
                        out.push(Decision::Send {
                            action: Action::Stop,
                            by: Actor::Soothing,
                        });
                    } else {
                        c.soothing = Soothing::Rocking {
                            started,
                            until,
                            quiet_since: Some(quiet),
                        };
                    }
                }
            }
            Soothing::GaveUp => {
                if !crying {
                    c.soothing = Soothing::Idle;
                }
            }
            Soothing::Idle => {
                let cried_long_enough = c
                    .crying_since
                    .is_some_and(|t| now - t >= Millis::from(s.soothe_after) * 1000);
                let paused = c
                    .manual_at
                    .is_some_and(|t| now - t < MANUAL_PAUSES_SOOTHING_MS)
                    || c.soothe_retry_at.is_some_and(|t| now < t);
                if s.soothing_enabled && cried_long_enough && !paused && c.rocking.is_none() {
                    c.soothing = Soothing::Rocking {
                        started: now,
                        until: now + minutes(s.soothe_minutes),
                        quiet_since: None,
                    };
                    out.push(Decision::Send {
                        action: Action::Start,
                        by: Actor::Soothing,
                    });
                }
            }
        }
        let stopping = out.iter().any(|d| {
            matches!(
                d,
                Decision::Send {
                    action: Action::Stop,
                    ..
                }
            )
        });
        if !stopping
            && may_stop
            && let Some(r) = c.rocking
            && now >= r.stops_at
        {
            out.push(Decision::Send {
                action: Action::Stop,
                by: Actor::Automatic,
            });
        }
        out
    }

    pub fn forget(&mut self, uuid: &str) {
        self.cradles.remove(uuid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Millis = 1000;
    const MIN: Millis = 60 * S;

    fn soothing_on() -> AlertSettings {
        AlertSettings {
            soothing_enabled: true,
            ..AlertSettings::default()
        }
    }

    /// Runs ticks every half second from `from` to `to` (inclusive) with
    /// `crying`, sending every decision successfully; returns them.
    fn run(
        r: &mut MotorRules,
        from: Millis,
        to: Millis,
        crying: bool,
        s: &AlertSettings,
    ) -> Vec<(Millis, Decision)> {
        let mut out = Vec::new();
        let mut t = from;
        while t <= to {
            for d in r.tick("a", t, crying, s) {
                if let Decision::Send { action, by } = d {
                    r.sent("a", action, by, t, s);
                }
                out.push((t, d));
            }
            t += 500;
        }
        out
    }

    fn sends(d: &[(Millis, Decision)]) -> Vec<(Millis, Action, Actor)> {
        d.iter()
            .filter_map(|(t, d)| match d {
                Decision::Send { action, by } => Some((*t, *action, *by)),
                Decision::SoothingFailed { .. } => None,
            })
            .collect()
    }

    #[test]
    fn rocking_stops_by_itself_after_max_rock_minutes() {
        let mut r = MotorRules::default();
        let s = AlertSettings::default();
        r.parent_command("a", Action::Start, 0).unwrap();
        r.sent("a", Action::Start, Actor::User, 0, &s);
        assert_eq!(
            r.rocking("a"),
            Some(Rocking {
                since: 0,
                stops_at: 15 * MIN,
                by: Actor::User
            })
        );
        assert!(run(&mut r, S, 15 * MIN - 500, false, &s).is_empty());
        assert_eq!(
            sends(&run(&mut r, 15 * MIN, 15 * MIN + 10 * S, false, &s)),
            [(15 * MIN, Action::Stop, Actor::Automatic)]
        );
        assert_eq!(r.rocking("a"), None);
    }

    #[test]
    fn a_failed_automatic_stop_is_retried_every_few_seconds() {
        let mut r = MotorRules::default();
        let s = AlertSettings::default();
        r.sent("a", Action::Start, Actor::User, 0, &s);
        let at = 15 * MIN;
        assert_eq!(r.tick("a", at, false, &s).len(), 1);
        r.failed("a", Action::Stop, Actor::Automatic, at);
        assert!(r.tick("a", at + STOP_RETRY_MS - 1, false, &s).is_empty());
        assert_eq!(
            r.tick("a", at + STOP_RETRY_MS, false, &s),
            [Decision::Send {
                action: Action::Stop,
                by: Actor::Automatic
            }]
        );
    }

    #[test]
    fn more_than_30_commands_a_minute_are_refused_but_stopping_motion_never_is() {
        let mut r = MotorRules::default();
        let s = AlertSettings::default();
        for i in 0..30 {
            r.parent_command("a", Action::Stop, i * 100).unwrap();
        }
        let refused = r.parent_command("a", Action::Stop, 3_100).unwrap_err();
        assert_eq!(
            refused,
            Refusal::TooMany {
                retry_after_ms: MIN - 3_100
            }
        );
        // Rocking (say the soothing loop started): a stop still goes through.
        r.sent("a", Action::Start, Actor::Soothing, 3_200, &s);
        assert!(r.parent_command("a", Action::Stop, 3_300).is_ok());
        // A minute after the first, there is room again.
        assert!(r.parent_command("b", Action::Start, 0).is_ok());
        assert!(r.parent_command("a", Action::Stop, MIN + 100).is_ok());
    }

    #[test]
    fn a_start_less_than_2_s_after_a_stop_is_refused() {
        let mut r = MotorRules::default();
        let s = AlertSettings::default();
        r.parent_command("a", Action::Stop, 10 * S).unwrap();
        r.sent("a", Action::Stop, Actor::User, 10 * S, &s);
        assert_eq!(
            r.parent_command("a", Action::Start, 11 * S + 500),
            Err(Refusal::TooSoonAfterStop {
                retry_after_ms: 500
            })
        );
        assert!(r.parent_command("a", Action::Start, 12 * S).is_ok());
    }

    #[test]
    fn soothing_rocks_after_soothe_after_and_stops_after_a_quiet_minute() {
        let mut r = MotorRules::default();
        let s = soothing_on();
        assert!(run(&mut r, 0, 20 * S - 500, true, &s).is_empty());
        let d = run(&mut r, 20 * S, 30 * S, true, &s);
        assert_eq!(sends(&d), [(20 * S, Action::Start, Actor::Soothing)]);
        assert_eq!(r.rocking("a").map(|r| r.stops_at), Some(20 * S + 5 * MIN));
        // The baby calms down at 40 s: rocking goes on for a quiet minute.
        assert!(run(&mut r, 40 * S, 100 * S - 500, false, &s).is_empty());
        assert_eq!(
            sends(&run(&mut r, 100 * S, 110 * S, false, &s)),
            [(100 * S, Action::Stop, Actor::Soothing)]
        );
    }

    #[test]
    fn soothing_gives_up_after_soothe_minutes_with_an_alert_and_waits_for_a_new_spell() {
        let mut r = MotorRules::default();
        let s = soothing_on();
        let d = run(&mut r, 0, 20 * S + 5 * MIN, true, &s);
        assert_eq!(
            sends(&d),
            [
                (20 * S, Action::Start, Actor::Soothing),
                (20 * S + 5 * MIN, Action::Stop, Actor::Soothing)
            ]
        );
        assert!(d.contains(&(
            20 * S + 5 * MIN,
            Decision::SoothingFailed {
                minutes: 5,
                crying_for_ms: 20 * S + 5 * MIN
            }
        )));
        // Still crying: no second attempt.
        let later = 20 * S + 5 * MIN + 500;
        assert!(run(&mut r, later, later + 10 * MIN, true, &s).is_empty());
        // A new spell after a pause gets a new attempt.
        let calm = later + 10 * MIN + 500;
        run(&mut r, calm, calm + 5 * S, false, &s);
        let again = calm + 6 * S;
        assert_eq!(
            sends(&run(&mut r, again, again + 20 * S, true, &s)),
            [(again + 20 * S, Action::Start, Actor::Soothing)]
        );
    }

    #[test]
    fn a_parent_command_wins_and_pauses_soothing_for_10_minutes() {
        let mut r = MotorRules::default();
        let s = soothing_on();
        run(&mut r, 0, 20 * S, true, &s);
        assert_eq!(r.rocking("a").map(|r| r.by), Some(Actor::Soothing));
        r.parent_command("a", Action::Stop, 25 * S).unwrap();
        r.sent("a", Action::Stop, Actor::User, 25 * S, &s);
        // Still crying, but the loop is paused for 10 minutes.
        assert!(run(&mut r, 25 * S + 500, 25 * S + 10 * MIN - 500, true, &s).is_empty());
        assert_eq!(
            sends(&run(&mut r, 25 * S + 10 * MIN, 25 * S + 10 * MIN, true, &s)),
            [(25 * S + 10 * MIN, Action::Start, Actor::Soothing)]
        );
    }

    #[test]
    fn soothing_off_by_default_and_never_over_a_parents_rocking() {
        let mut r = MotorRules::default();
        assert!(run(&mut r, 0, 5 * MIN, true, &AlertSettings::default()).is_empty());
        let mut r = MotorRules::default();
        let s = AlertSettings {
            soothing_enabled: true,
            ..AlertSettings::default()
        };
        r.sent("a", Action::Start, Actor::User, 0, &s);
        let d = run(&mut r, 0, 10 * MIN, true, &s);
        assert!(sends(&d).iter().all(|(_, _, by)| *by != Actor::Soothing));
    }

    #[test]
    fn a_failed_soothing_start_waits_before_trying_again() {
        let mut r = MotorRules::default();
        let s = soothing_on();
        run(&mut r, 0, 20 * S - 500, true, &s);
        assert_eq!(r.tick("a", 20 * S, true, &s).len(), 1);
        r.failed("a", Action::Start, Actor::Soothing, 20 * S);
        assert!(r.tick("a", 20 * S + 500, true, &s).is_empty());
        assert_eq!(
            r.tick("a", 20 * S + SOOTHE_RETRY_MS, true, &s),
            [Decision::Send {
                action: Action::Start,
                by: Actor::Soothing
            }]
        );
    }

    #[test]
    fn a_parents_stop_that_did_not_reach_the_cradle_is_finished_by_the_hub() {
        let mut r = MotorRules::default();
        let s = AlertSettings::default();
        r.sent("a", Action::Start, Actor::User, 0, &s);
        r.parent_command("a", Action::Stop, 10 * S).unwrap();
        r.failed("a", Action::Stop, Actor::User, 10 * S);
        assert!(r.tick("a", 10 * S + 500, false, &s).is_empty());
        assert_eq!(
            r.tick("a", 10 * S + STOP_RETRY_MS, false, &s),
            [Decision::Send {
                action: Action::Stop,
                by: Actor::Automatic
            }]
        );
    }

    #[test]
    fn rocking_restored_after_a_restart_still_stops_on_time() {
        let mut r = MotorRules::default();
        let s = AlertSettings::default();
        r.restore_rocking("a", 0, Actor::User, &s);
        assert!(r.tick("a", 15 * MIN - 1, false, &s).is_empty());
        assert_eq!(r.tick("a", 15 * MIN, false, &s).len(), 1);
    }
}
