//! Liveness rules: the cradle went quiet (`cradle_offline`), its camera died
//! while its sensors go on (`camera_silent`), or its thermometer gives
//! nothing usable (`sensor_fault`). Each fires once per spell and resolves
//! itself when the spell ends. Plain Rust over what the hub observed and an
//! injected clock.

use crate::alerts::engine::{AlertFacts, AlertSettings, AlertType, Fired};
use crate::timefmt::Millis;

/// What the hub has observed of one cradle, at the time of a check.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    /// The cradle's connection to the hub's own endpoint is up. With an
    /// external broker the hub cannot see connections: always false, and
    /// the last message alone decides.
    pub connected: bool,
    /// Any word from the cradle: a message or, on the endpoint, a packet.
    pub last_seen: Option<Millis>,
    /// The last sensor message of any kind, unusable temperatures included.
    pub last_sensor_at: Option<Millis>,
    pub last_frame_at: Option<Millis>,
    /// The last usable temperature.
    pub last_temperature_at: Option<Millis>,
    /// The last temperature message that was unusable (`"nan"`, out of range).
    pub last_unusable_temperature_at: Option<Millis>,
}

/// Sensors count as reporting while their last message is this recent.
pub const REPORTING_MS: Millis = 15_000;
/// Temperature unusable or missing this long (while data flows): `sensor_fault`.
pub const SENSOR_FAULT_AFTER_MS: Millis = 5 * 60_000;

/// The liveness alert types, in the order of [`Watch`]'s spells.
pub const TYPES: [AlertType; 3] = [
    AlertType::CradleOffline,
    AlertType::CameraSilent,
    AlertType::SensorFault,
];

pub fn is_liveness(t: AlertType) -> bool {
    TYPES.contains(&t)
}

/// What a check decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Fire(Fired),
    /// The spell of alert `id` is over: it resolves itself.
    Resolve {
        alert_type: AlertType,
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, Default)]
struct Spell {
    /// Its alert fired during the current spell (no second one until it ends).
    raised: bool,
    /// The alert to resolve when the spell ends; `None` once a parent
    /// resolved it.
    open: Option<i64>,
}

/// One cradle's liveness state.
#[derive(Debug, Clone)]
pub struct Watch {
    /// When the hub began to watch: its start for cradles it knew before,
    /// or the first check. Silence is counted from no earlier than this.
    since: Millis,
    /// The last-seen time kept across a restart.
    restored_last_seen: Option<Millis>,
    spells: [Spell; TYPES.len()],
}

impl Watch {
    pub fn new(since: Millis) -> Watch {
        Watch {
            since,
            restored_last_seen: None,
            spells: [Spell::default(); TYPES.len()],
        }
    }

    /// After a restart: the cradle was last heard at `last_seen`.
    pub fn restore_last_seen(&mut self, last_seen: Millis) {
        self.restored_last_seen = Some(last_seen);
    }

    /// After a restart: alert `id` of type `t` was still open.
    pub fn restore_open(&mut self, t: AlertType, id: i64) {
        if let Some(spell) = self.spell(t) {
            *spell = Spell {
                raised: true,
                open: Some(id),
            };
        }
    }

    /// The hub stored the alert it fired as `id`.
    pub fn stored(&mut self, t: AlertType, id: i64) {
        if let Some(spell) = self.spell(t)
            && spell.raised
        {
            spell.open = Some(id);
        }
    }

    /// A parent resolved alert `id`: nothing to resolve when the spell ends,
    /// and no new alert before it does.
    pub fn resolved(&mut self, t: AlertType, id: i64) {
        if let Some(spell) = self.spell(t)
            && spell.open == Some(id)
        {
            spell.open = None;
        }
    }

    fn spell(&mut self, t: AlertType) -> Option<&mut Spell> {
        let i = TYPES.iter().position(|x| *x == t)?;
        Some(&mut self.spells[i])
    }

    pub fn check(&mut self, o: &Observed, now: Millis, s: &AlertSettings) -> Vec<Change> {
        let mut out = Vec::new();
        let heard = o.last_seen.or(self.restored_last_seen);
        if heard.is_none() {
            return out; // Never heard from: no data yet, not a failure.
        }
        let since = self.since;
        let counted_from = |t: Option<Millis>| t.unwrap_or(since).max(since);
        let quiet_ms = now - counted_from(o.last_seen);
        let offline = !o.connected && quiet_ms >= secs(s.offline_after);
        let offline_facts = AlertFacts {
            last_seen: heard,
            duration_s: Some(whole_seconds(quiet_ms)),
            ..AlertFacts::default()
        };
        self.step(
            0,
            offline && s.offline_alert_enabled,
            now,
            offline_facts,
            &mut out,
        );
        if offline {
            // Its camera and sensors are silent because the cradle is: those
            // spells neither start nor end until it is back.
            return out;
        }
        let reporting = o.last_sensor_at.is_some_and(|t| now - t < REPORTING_MS);
        let no_frame_ms = now - counted_from(o.last_frame_at);
        let camera_silent = reporting && no_frame_ms >= secs(s.camera_silent_after);
        self.step(
            1,
            camera_silent && s.camera_silent_alert_enabled,
            now,
            AlertFacts {
                duration_s: Some(whole_seconds(no_frame_ms)),
                ..AlertFacts::default()
            },
            &mut out,
        );
        let since_temperature = counted_from(o.last_temperature_at);
        let fault = reporting && now - since_temperature >= SENSOR_FAULT_AFTER_MS;
        let unusable = o
            .last_unusable_temperature_at
            .is_some_and(|t| t >= since_temperature);
        self.step(
            2,
            fault && s.sensor_fault_alert_enabled,
            now,
            AlertFacts {
                duration_s: Some(whole_seconds(now - since_temperature)),
                unusable_temperature: Some(unusable),
                ..AlertFacts::default()
            },
            &mut out,
        );
        out
    }

    fn step(
        &mut self,
        i: usize,
        condition: bool,
        now: Millis,
        facts: AlertFacts,
        out: &mut Vec<Change>,
    ) {
        let spell = &mut self.spells[i];
        match (condition, spell.raised) {
            (true, false) => {
                *spell = Spell {
                    raised: true,
                    open: None,
                };
                out.push(Change::Fire(Fired {
                    alert_type: TYPES[i],
                    at: now,
                    facts,
                }));
            }
            (false, true) => {
                if let Some(id) = spell.open.take() {
                    out.push(Change::Resolve {
                        alert_type: TYPES[i],
                        id,
                    });
                }
                spell.raised = false;
            }
            _ => {}
        }
    }
}

fn secs(s: u32) -> Millis {
    Millis::from(s) * 1000
}

fn whole_seconds(ms: Millis) -> u64 {
    (ms.max(0) / 1000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Millis = 1000;
    const START: Millis = 1_000_000;

    fn fired(c: &[Change]) -> Vec<AlertType> {
        c.iter()
            .filter_map(|c| match c {
                Change::Fire(f) => Some(f.alert_type),
                Change::Resolve { .. } => None,
            })
            .collect()
    }
    fn resolved(c: &[Change]) -> Vec<(AlertType, i64)> {
        c.iter()
            .filter_map(|c| match c {
                Change::Resolve { alert_type, id } => Some((*alert_type, *id)),
                Change::Fire(_) => None,
            })
            .collect()
    }
    /// A healthy cradle heard at `t`: everything arrives.
    fn healthy(t: Millis) -> Observed {
        Observed {
            connected: false,
            last_seen: Some(t),
            last_sensor_at: Some(t),
            last_frame_at: Some(t),
            last_temperature_at: Some(t),
            last_unusable_temperature_at: None,
        }
    }

    #[test]
    fn a_cradle_never_heard_from_raises_nothing() {
        let mut w = Watch::new(START);
        let s = AlertSettings::default();
        assert!(
            w.check(&Observed::default(), START + 3600 * S, &s)
                .is_empty()
        );
    }

    #[test]
    fn silence_raises_cradle_offline_once_and_data_resolves_it() {
        let mut w = Watch::new(START);
        let s = AlertSettings::default();
        let last = START + 5 * S;
        assert!(w.check(&healthy(last), last + 59 * S, &s).is_empty());
        let c = w.check(&healthy(last), last + 60 * S, &s);
        assert_eq!(fired(&c), [AlertType::CradleOffline]);
        let Change::Fire(f) = &c[0] else { panic!() };
        assert_eq!(f.facts.last_seen, Some(last));
        w.stored(AlertType::CradleOffline, 7);
        assert!(
            w.check(&healthy(last), last + 600 * S, &s).is_empty(),
            "once per outage"
        );
        let back = last + 700 * S;
        let c = w.check(&healthy(back), back, &s);
        assert_eq!(resolved(&c), [(AlertType::CradleOffline, 7)]);
        assert!(fired(&c).is_empty());
        // A second outage is a second alert.
        assert_eq!(
            fired(&w.check(&healthy(back), back + 60 * S, &s)),
            [AlertType::CradleOffline]
        );
    }

    #[test]
    fn a_connected_cradle_is_not_offline_and_a_dropped_one_is_after_the_window() {
        let mut w = Watch::new(START);
        let s = AlertSettings {
            offline_after: 10,
            ..AlertSettings::default()
        };
        let mut o = healthy(START);
        o.connected = true;
        assert!(
            w.check(&o, START + 30 * S, &s).is_empty(),
            "the link is up: keepalive expiry tells when it is not"
        );
        let mut w = Watch::new(START);
        o.connected = false; // The connection dropped at START.
        assert_eq!(
            fired(&w.check(&o, START + 10 * S, &s)),
            [AlertType::CradleOffline]
        );
    }

    #[test]
    fn after_a_restart_the_window_counts_from_the_hub_start() {
        let s = AlertSettings::default();
        let mut w = Watch::new(START);
        w.restore_last_seen(START - 3_600 * S);
        assert!(
            w.check(&Observed::default(), START + 59 * S, &s).is_empty(),
            "not at once: the cradle gets the usual window to come back"
        );
        let c = w.check(&Observed::default(), START + 60 * S, &s);
        assert_eq!(fired(&c), [AlertType::CradleOffline]);
        let Change::Fire(f) = &c[0] else { panic!() };
        assert_eq!(f.facts.last_seen, Some(START - 3_600 * S));
    }

    #[test]
    fn an_alert_open_before_a_restart_is_not_repeated_and_resolves_when_back() {
        let s = AlertSettings::default();
        let mut w = Watch::new(START);
        w.restore_last_seen(START - 3_600 * S);
        w.restore_open(AlertType::CradleOffline, 3);
        assert!(
            w.check(&Observed::default(), START + 600 * S, &s)
                .is_empty()
        );
        let back = START + 700 * S;
        assert_eq!(
            resolved(&w.check(&healthy(back), back, &s)),
            [(AlertType::CradleOffline, 3)]
        );
    }

    #[test]
    fn a_parent_resolving_it_during_the_outage_ends_it_quietly() {
        let s = AlertSettings::default();
        let mut w = Watch::new(START);
        w.check(&healthy(START), START + 60 * S, &s);
        w.stored(AlertType::CradleOffline, 9);
        w.resolved(AlertType::CradleOffline, 9);
        assert!(
            w.check(&healthy(START), START + 300 * S, &s).is_empty(),
            "no second alert for the same outage"
        );
        let back = START + 400 * S;
        assert!(
            w.check(&healthy(back), back, &s).is_empty(),
            "nothing left to resolve"
        );
    }

    #[test]
    fn camera_silent_while_sensors_report_and_a_frame_resolves_it() {
        let s = AlertSettings::default();
        let mut w = Watch::new(START);
        let mut o = healthy(START);
        let now = START + 60 * S;
        o.last_seen = Some(now);
        o.last_sensor_at = Some(now);
        o.last_temperature_at = Some(now);
        assert_eq!(fired(&w.check(&o, now, &s)), [AlertType::CameraSilent]);
        w.stored(AlertType::CameraSilent, 4);
        o.last_frame_at = Some(now + S);
        assert_eq!(
            resolved(&w.check(&o, now + S, &s)),
            [(AlertType::CameraSilent, 4)]
        );
    }

    #[test]
    fn a_cradle_that_never_sent_a_frame_is_camera_silent_from_first_sight() {
        let s = AlertSettings::default();
        let mut w = Watch::new(START);
        let now = START + 60 * S;
        let o = Observed {
            last_seen: Some(now),
            last_sensor_at: Some(now),
            last_temperature_at: Some(now),
            ..Observed::default()
        };
        assert_eq!(fired(&w.check(&o, now - S, &s)), []);
        assert_eq!(fired(&w.check(&o, now, &s)), [AlertType::CameraSilent]);
    }

    #[test]
    fn while_offline_camera_and_sensor_spells_neither_fire_nor_resolve() {
        let s = AlertSettings::default();
        let mut w = Watch::new(START);
        let mut o = healthy(START);
        o.last_frame_at = None;
        o.last_sensor_at = Some(START + 59 * S);
        o.last_seen = Some(START + 59 * S);
        w.check(&o, START + 60 * S, &s);
        w.stored(AlertType::CameraSilent, 5);
        // Gone quiet: offline, and the camera alert stays open.
        let c = w.check(&o, START + 200 * S, &s);
        assert_eq!(fired(&c), [AlertType::CradleOffline]);
        assert!(resolved(&c).is_empty());
    }

    #[test]
    fn nan_temperatures_for_five_minutes_raise_sensor_fault_and_a_good_one_resolves_it() {
        let s = AlertSettings::default();
        let mut w = Watch::new(START);
        let good = START + S;
        let mut o = healthy(good);
        let mut t = good;
        while t + 10 * S < good + SENSOR_FAULT_AFTER_MS {
            t += 10 * S;
            o = Observed {
                last_seen: Some(t),
                last_sensor_at: Some(t),
                last_frame_at: Some(t),
                last_unusable_temperature_at: Some(t),
                ..o
            };
            assert!(w.check(&o, t, &s).is_empty(), "at {t}");
        }
        let t = good + SENSOR_FAULT_AFTER_MS;
        o.last_seen = Some(t);
        o.last_sensor_at = Some(t);
        let c = w.check(&o, t, &s);
        assert_eq!(fired(&c), [AlertType::SensorFault]);
        let Change::Fire(f) = &c[0] else { panic!() };
        assert_eq!(f.facts.unusable_temperature, Some(true));
        w.stored(AlertType::SensorFault, 11);
        o.last_temperature_at = Some(t + S);
        assert_eq!(
            resolved(&w.check(&o, t + S, &s)),
            [(AlertType::SensorFault, 11)]
        );
    }

    #[test]
    fn no_temperature_at_all_while_other_data_flows_is_a_sensor_fault() {
        let s = AlertSettings::default();
        let mut w = Watch::new(START);
        let t = START + SENSOR_FAULT_AFTER_MS;
        let o = Observed {
            last_seen: Some(t),
            last_sensor_at: Some(t),
            last_frame_at: Some(t),
            ..Observed::default()
        };
        let c = w.check(&o, t, &s);
        assert_eq!(fired(&c), [AlertType::SensorFault]);
        let Change::Fire(f) = &c[0] else { panic!() };
        assert_eq!(f.facts.unusable_temperature, Some(false));
    }

    #[test]
    fn disabled_rules_stay_quiet() {
        let s = AlertSettings {
            offline_alert_enabled: false,
            camera_silent_alert_enabled: false,
            sensor_fault_alert_enabled: false,
            ..AlertSettings::default()
        };
        let mut w = Watch::new(START);
        let o = Observed {
            last_seen: Some(START),
            ..Observed::default()
        };
        assert!(w.check(&o, START + 3_600 * S, &s).is_empty());
        let now = START + 3_600 * S;
        let o = Observed {
            last_seen: Some(now),
            last_sensor_at: Some(now),
            ..Observed::default()
        };
        assert!(w.check(&o, now, &s).is_empty());
    }
}
