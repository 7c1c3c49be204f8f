//! The alert rules of API.md as plain Rust over typed readings and an
//! injected clock (`now` is always a parameter): no I/O, no timers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::alerts::liveness::{self, Change, Observed, Watch};
use crate::readings::{Crying, Reading};
use crate::timefmt::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    HighTemperature,
    Crying,
    AbnormalPosition,
    FaceNotDetected,
    /// No word from the cradle (liveness; resolves itself).
    CradleOffline,
    /// Sensors report but the camera sends no frame (resolves itself).
    CameraSilent,
    /// Temperature readings unusable or missing (resolves itself).
    SensorFault,
}

impl AlertType {
    pub const ALL: [AlertType; 7] = [
        AlertType::HighTemperature,
        AlertType::Crying,
        AlertType::AbnormalPosition,
        AlertType::FaceNotDetected,
        AlertType::CradleOffline,
        AlertType::CameraSilent,
        AlertType::SensorFault,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::HighTemperature => "high_temperature",
            AlertType::Crying => "crying",
            AlertType::AbnormalPosition => "abnormal_position",
            AlertType::FaceNotDetected => "face_not_detected",
            AlertType::CradleOffline => "cradle_offline",
            AlertType::CameraSilent => "camera_silent",
            AlertType::SensorFault => "sensor_fault",
        }
    }

    /// Sent to every screen of the owner with the highest urgency. A
    /// crying alert is critical when soothing failed (see
    /// [`AlertFacts::is_critical`]).
    pub fn is_critical(self) -> bool {
        matches!(
            self,
            AlertType::HighTemperature | AlertType::CradleOffline | AlertType::CameraSilent
        )
    }

    pub fn parse(s: &str) -> Option<AlertType> {
        AlertType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// While an alert of this type is unresolved, no new one is raised
    /// for the same cradle within this window.
    pub fn repeat_window_ms(self) -> Millis {
        match self {
            AlertType::HighTemperature => 5 * 60 * 1000,
            _ => 2 * 60 * 1000,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Per-cradle thresholds (API.md defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AlertSettings {
    pub max_temperature: f64,
    pub abnormal_position_timeout: u32,
    pub crying_duration_threshold: u32,
    pub push_notifications_enabled: bool,
    pub email_notifications_enabled: bool,
    pub offline_alert_enabled: bool,
    /// Seconds without a word from the cradle before `cradle_offline`.
    pub offline_after: u32,
    pub camera_silent_alert_enabled: bool,
    /// Seconds without a frame (while sensors report) before `camera_silent`.
    pub camera_silent_after: u32,
    pub sensor_fault_alert_enabled: bool,
    /// Rocking stops by itself after this many minutes.
    pub max_rock_minutes: u32,
    /// The hub rocks a crying baby by itself (off by default).
    pub soothing_enabled: bool,
    /// Seconds of crying before the soothing loop rocks.
    pub soothe_after: u32,
    /// Minutes the soothing loop rocks before it gives up and alerts.
    pub soothe_minutes: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            max_temperature: 38.0,
            abnormal_position_timeout: 30,
            crying_duration_threshold: 30,
            push_notifications_enabled: true,
            email_notifications_enabled: false,
            offline_alert_enabled: true,
            offline_after: 60,
            camera_silent_alert_enabled: true,
            camera_silent_after: 60,
            sensor_fault_alert_enabled: true,
            max_rock_minutes: 15,
            soothing_enabled: false,
            soothe_after: 20,
            soothe_minutes: 5,
        }
    }
}

/// What an alert records, so its message can be rendered later in any language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertFacts {
    /// The temperature reading (high_temperature) or the latest one known.
    pub temperature: Option<f64>,
    pub max_temperature: Option<f64>,
    /// How long the condition had lasted when the alert fired, in seconds.
    pub duration_s: Option<u64>,
    /// The device's direction string at the time.
    pub direction: Option<String>,
    pub face_detected: Option<bool>,
    /// When the hub last heard from the cradle (cradle_offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Millis>,
    /// The soothing loop rocked this many minutes and the baby still cries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soothed_minutes: Option<u32>,
    /// sensor_fault: unusable values arrived (`"nan"`, out of range), as
    /// opposed to no temperature at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable_temperature: Option<bool>,
    /// A liveness alert that resolved itself: when the cradle (its camera,
    /// its thermometer) came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_at: Option<Millis>,
}

impl AlertFacts {
    pub fn is_critical(&self, t: AlertType) -> bool {
        t.is_critical() || self.soothed_minutes.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub alert_type: AlertType,
    pub at: Millis,
    pub facts: AlertFacts,
}

#[derive(Debug, Clone, Copy)]
struct LastAlert {
    at: Millis,
    id: Option<i64>,
    resolved: bool,
}

#[derive(Debug, Default)]
struct CradleRules {
    temperature: Option<f64>,
    direction: Option<String>,
    face_missing: Option<bool>,
    crying_since: Option<Millis>,
    not_frontal_since: Option<Millis>,
    no_face_since: Option<Millis>,
    last: [Option<LastAlert>; AlertType::ALL.len()],
    /// A duration rule's clock restarts when its alert fires or is resolved,
    /// so one long spell does not re-alert the moment a parent resolves it.
    restarted_at: [Option<Millis>; AlertType::ALL.len()],
    /// Liveness, from the first check on.
    watch: Option<Watch>,
}

impl CradleRules {
    fn suppressed(&self, t: AlertType, now: Millis) -> bool {
        self.last[t.index()].is_some_and(|l| !l.resolved && now - l.at < t.repeat_window_ms())
    }

    fn fire(&mut self, t: AlertType, now: Millis, facts: AlertFacts) -> Fired {
        self.last[t.index()] = Some(LastAlert {
            at: now,
            id: None,
            resolved: false,
        });
        self.restarted_at[t.index()] = Some(now);
        Fired {
            alert_type: t,
            at: now,
            facts,
        }
    }

    /// Start of the running spell for a duration rule, counting restarts.
    fn spell_start(&self, t: AlertType, since: Option<Millis>) -> Option<Millis> {
        let since = since?;
        Some(self.restarted_at[t.index()].map_or(since, |r| r.max(since)))
    }

    fn check_durations(&mut self, now: Millis, s: &AlertSettings, out: &mut Vec<Fired>) {
        let crying_ms = Millis::from(s.crying_duration_threshold) * 1000;
        if let Some(start) = self.spell_start(AlertType::Crying, self.crying_since)
            && now - start >= crying_ms
            && !self.suppressed(AlertType::Crying, now)
        {
            let facts = self.facts(Some(now - self.crying_since.unwrap_or(start)));
            out.push(self.fire(AlertType::Crying, now, facts));
        }
        let position_ms = Millis::from(s.abnormal_position_timeout) * 1000;
        for (t, since) in [
            (AlertType::AbnormalPosition, self.not_frontal_since),
            (AlertType::FaceNotDetected, self.no_face_since),
        ] {
            if let Some(start) = self.spell_start(t, since)
                && now - start > position_ms
                && !self.suppressed(t, now)
            {
                let mut facts = self.facts(Some(now - since.unwrap_or(start)));
                if t == AlertType::FaceNotDetected {
                    facts.face_detected = Some(false);
                }
                out.push(self.fire(t, now, facts));
            }
        }
    }

    fn facts(&self, duration_ms: Option<Millis>) -> AlertFacts {
        AlertFacts {
            temperature: self.temperature,
            max_temperature: None,
            duration_s: duration_ms.map(|d| (d.max(0) / 1000) as u64),
            direction: self.direction.clone(),
            face_detected: self.face_missing.map(|m| !m),
            ..AlertFacts::default()
        }
    }
}

/// Rule state of every cradle.
#[derive(Debug, Default)]
pub struct Engine {
    cradles: HashMap<String, CradleRules>,
}

impl Engine {
    pub fn on_reading(
        &mut self,
        uuid: &str,
        reading: &Reading,
        now: Millis,
        s: &AlertSettings,
    ) -> Vec<Fired> {
        let rules = self.cradles.entry(uuid.to_owned()).or_default();
        let mut out = Vec::new();
        match reading {
            Reading::Temperature(t) => {
                rules.temperature = Some(*t);
                if *t > s.max_temperature && !rules.suppressed(AlertType::HighTemperature, now) {
                    let mut facts = rules.facts(None);
                    facts.max_temperature = Some(s.max_temperature);
                    out.push(rules.fire(AlertType::HighTemperature, now, facts));
                }
            }
            Reading::Crying { crying, .. } => match crying {
                Crying::Crying => {
                    rules.crying_since.get_or_insert(now);
                }
                Crying::NotCrying => rules.crying_since = None,
            },
            Reading::Direction(d) => {
                rules.direction = Some(d.raw().to_owned());
                rules.face_missing = Some(d.is_face_missing());
                if d.is_frontal() {
                    rules.not_frontal_since = None;
                } else {
                    rules.not_frontal_since.get_or_insert(now);
                }
                if d.is_face_missing() {
                    rules.no_face_since.get_or_insert(now);
                } else {
                    rules.no_face_since = None;
                }
            }
        }
        rules.check_durations(now, s, &mut out);
        out
    }

    /// Duration rules also fire between readings (called about once a second).
    pub fn on_tick(&mut self, uuid: &str, now: Millis, s: &AlertSettings) -> Vec<Fired> {
        let mut out = Vec::new();
        if let Some(rules) = self.cradles.get_mut(uuid) {
            rules.check_durations(now, s, &mut out);
        }
        out
    }

    pub fn cradles(&self) -> impl Iterator<Item = &str> {
        self.cradles.keys().map(String::as_str)
    }

    /// Liveness rules of one cradle (about once a second). Silence counts
    /// from the first check at the earliest.
    pub fn check_liveness(
        &mut self,
        uuid: &str,
        observed: &Observed,
        now: Millis,
        s: &AlertSettings,
    ) -> Vec<Change> {
        let rules = self.cradles.entry(uuid.to_owned()).or_default();
        rules
            .watch
            .get_or_insert_with(|| Watch::new(now))
            .check(observed, now, s)
    }

    /// After a restart (at `started`): when the cradle was last heard from,
    /// and its liveness alerts still open.
    pub fn restore_liveness(
        &mut self,
        uuid: &str,
        started: Millis,
        last_seen: Option<Millis>,
        open: &[(AlertType, i64)],
    ) {
        let rules = self.cradles.entry(uuid.to_owned()).or_default();
        let watch = rules.watch.get_or_insert_with(|| Watch::new(started));
        if let Some(t) = last_seen {
            watch.restore_last_seen(t);
        }
        for (t, id) in open {
            watch.restore_open(*t, *id);
        }
    }

    /// Links the stored id to the latest alert of that type.
    pub fn stored(&mut self, uuid: &str, t: AlertType, id: i64) {
        let Some(rules) = self.cradles.get_mut(uuid) else {
            return;
        };
        if liveness::is_liveness(t) {
            if let Some(watch) = rules.watch.as_mut() {
                watch.stored(t, id);
            }
        } else if let Some(last) = rules.last[t.index()].as_mut() {
            last.id = Some(id);
        }
    }

    /// A parent resolved alert `id`: the repeat window no longer holds and
    /// the duration clock restarts.
    pub fn resolved(&mut self, uuid: &str, t: AlertType, id: i64, now: Millis) {
        if let Some(watch) = self.cradles.get_mut(uuid).and_then(|r| r.watch.as_mut()) {
            watch.resolved(t, id);
        }
        if let Some(rules) = self.cradles.get_mut(uuid)
            && let Some(last) = rules.last[t.index()].as_mut()
            && last.id.is_none_or(|l| l == id)
        {
            last.resolved = true;
            rules.restarted_at[t.index()] = Some(now);
        }
    }

    /// Forget a cradle (deleted / unclaimed).
    pub fn forget(&mut self, uuid: &str) {
        self.cradles.remove(uuid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readings::Direction;

    const S: Millis = 1000;

    fn settings() -> AlertSettings {
        AlertSettings::default()
    }
    fn temp(t: f64) -> Reading {
        Reading::Temperature(t)
    }
    fn crying(c: bool) -> Reading {
        Reading::Crying {
            crying: if c { Crying::Crying } else { Crying::NotCrying },
            probability: None,
        }
    }
    fn dir(raw: &str) -> Reading {
        Reading::Direction(Direction::from_device(raw))
    }
    fn types(f: &[Fired]) -> Vec<AlertType> {
        f.iter().map(|f| f.alert_type).collect()
    }

    #[test]
    fn high_temperature_above_threshold_only_and_not_again_within_5_min() {
        let mut e = Engine::default();
        let s = settings();
        assert!(
            e.on_reading("a", &temp(38.0), 0, &s).is_empty(),
            "equal is not above"
        );
        let fired = e.on_reading("a", &temp(38.1), S, &s);
        assert_eq!(types(&fired), [AlertType::HighTemperature]);
        assert_eq!(fired[0].facts.temperature, Some(38.1));
        assert_eq!(fired[0].facts.max_temperature, Some(38.0));
        assert!(
            e.on_reading("a", &temp(39.0), S + 300 * S - 1, &s)
                .is_empty()
        );
        assert_eq!(
            types(&e.on_reading("a", &temp(39.0), S + 300 * S, &s)),
            [AlertType::HighTemperature]
        );
    }

    #[test]
    fn resolving_inside_the_window_allows_a_new_alert() {
        let mut e = Engine::default();
        let s = settings();
        e.on_reading("a", &temp(39.0), 0, &s);
        e.stored("a", AlertType::HighTemperature, 7);
        assert!(e.on_reading("a", &temp(39.0), 10 * S, &s).is_empty());
        e.resolved("a", AlertType::HighTemperature, 7, 11 * S);
        assert_eq!(
            types(&e.on_reading("a", &temp(39.0), 12 * S, &s)),
            [AlertType::HighTemperature]
        );
    }

    #[test]
    fn crying_fires_at_the_threshold_and_stopping_resets_the_timer() {
        let mut e = Engine::default();
        let s = settings();
        assert!(e.on_reading("a", &crying(true), 0, &s).is_empty());
        assert!(e.on_tick("a", 29 * S, &s).is_empty(), "29 s is not yet 30");
        // It stops and starts again: the timer restarts.
        e.on_reading("a", &crying(false), 29 * S + 500, &s);
        e.on_reading("a", &crying(true), 31 * S, &s);
        assert!(
            e.on_tick("a", 60 * S, &s).is_empty(),
            "only 29 s of the new spell"
        );
        let fired = e.on_tick("a", 61 * S, &s);
        assert_eq!(types(&fired), [AlertType::Crying]);
        assert_eq!(fired[0].facts.duration_s, Some(30));
    }

    #[test]
    fn crying_repeats_after_2_min_while_unresolved_not_before() {
        let mut e = Engine::default();
        let s = settings();
        e.on_reading("a", &crying(true), 0, &s);
        assert_eq!(types(&e.on_tick("a", 30 * S, &s)), [AlertType::Crying]);
        assert!(e.on_tick("a", 30 * S + 120 * S - 1, &s).is_empty());
        assert_eq!(
            types(&e.on_tick("a", 30 * S + 120 * S, &s)),
            [AlertType::Crying]
        );
    }

    #[test]
    fn crying_resolved_inside_the_window_needs_a_new_threshold_of_crying() {
        let mut e = Engine::default();
        let s = settings();
        e.on_reading("a", &crying(true), 0, &s);
        e.on_tick("a", 30 * S, &s);
        e.stored("a", AlertType::Crying, 1);
        e.resolved("a", AlertType::Crying, 1, 40 * S);
        assert!(e.on_tick("a", 69 * S, &s).is_empty());
        assert_eq!(types(&e.on_tick("a", 70 * S, &s)), [AlertType::Crying]);
    }

    #[test]
    fn position_rules_fire_after_more_than_the_timeout() {
        let mut e = Engine::default();
        let s = settings();
        e.on_reading("a", &dir("정면 유지 중"), 0, &s);
        e.on_reading("a", &dir("좌측으로 움직임"), S, &s);
        assert!(
            e.on_tick("a", 31 * S, &s).is_empty(),
            "exactly 30 s is not more than 30"
        );
        let fired = e.on_reading("a", &dir("확인 중..."), 31 * S + 1, &s);
        assert_eq!(
            types(&fired),
            [AlertType::AbnormalPosition],
            "checking counts as not frontal"
        );
        assert_eq!(fired[0].facts.direction.as_deref(), Some("확인 중..."));
        assert!(e.on_tick("a", 31 * S + 1 + 120 * S - 1, &s).is_empty());
        // Frontal again: the spell ends.
        e.on_reading("a", &dir("정면 유지 중"), 200 * S, &s);
        assert!(e.on_tick("a", 400 * S, &s).is_empty());
    }

    #[test]
    fn no_face_and_detector_error_count_as_face_not_detected() {
        let mut e = Engine::default();
        let s = settings();
        e.on_reading("a", &dir("인식 안됨"), 0, &s);
        e.on_reading("a", &dir("인식 오류"), 10 * S, &s);
        let fired = e.on_tick("a", 30 * S + 1, &s);
        assert!(
            types(&fired).contains(&AlertType::FaceNotDetected),
            "{fired:?}"
        );
        let face = fired
            .iter()
            .find(|f| f.alert_type == AlertType::FaceNotDetected)
            .unwrap();
        assert_eq!(face.facts.face_detected, Some(false));
        // A turned face ends the no-face spell but not the not-frontal one.
        e.on_reading("a", &dir("우측으로 움직임"), 40 * S, &s);
        assert!(!types(&e.on_tick("a", 200 * S, &s)).contains(&AlertType::FaceNotDetected));
    }

    #[test]
    fn two_cradles_are_independent_and_settings_apply_per_call() {
        let mut e = Engine::default();
        let low = AlertSettings {
            max_temperature: 30.0,
            ..settings()
        };
        assert_eq!(
            types(&e.on_reading("a", &temp(31.0), 0, &low)),
            [AlertType::HighTemperature]
        );
        assert!(e.on_reading("b", &temp(31.0), 0, &settings()).is_empty());
        assert_eq!(
            types(&e.on_reading("b", &temp(31.0), S, &low)),
            [AlertType::HighTemperature]
        );
        assert!(e.on_reading("a", &temp(31.0), S, &low).is_empty());
    }
}
