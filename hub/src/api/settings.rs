//! `/api/alert_settings/<uuid>`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::alerts::engine::AlertSettings;
use crate::i18n::Msg;

use super::{ApiError, AppState, JsonObject, MemberOf, Operate, Watch};

pub const TEMPERATURE_LIMITS: std::ops::RangeInclusive<f64> = 30.0..=45.0;
/// Durations up to a day are accepted.
pub const MAX_SECONDS: u32 = 86_400;
/// `offline_after` and `camera_silent_after`.
pub const WATCH_SECONDS: std::ops::RangeInclusive<u32> = 10..=3600;
/// `max_rock_minutes` and `soothe_minutes`.
pub const ROCK_MINUTES: std::ops::RangeInclusive<u32> = 1..=60;
pub const SOOTHE_AFTER_SECONDS: std::ops::RangeInclusive<u32> = 5..=600;

pub fn settings_json(s: &AlertSettings) -> Value {
    json!({
        "max_temperature": s.max_temperature,
        "abnormal_position_timeout": s.abnormal_position_timeout,
        "crying_duration_threshold": s.crying_duration_threshold,
        "push_notifications_enabled": s.push_notifications_enabled,
        "email_notifications_enabled": s.email_notifications_enabled,
        "offline_alert_enabled": s.offline_alert_enabled,
        "offline_after": s.offline_after,
        "camera_silent_alert_enabled": s.camera_silent_alert_enabled,
        "camera_silent_after": s.camera_silent_after,
        "sensor_fault_alert_enabled": s.sensor_fault_alert_enabled,
        "max_rock_minutes": s.max_rock_minutes,
        "soothing_enabled": s.soothing_enabled,
        "soothe_after": s.soothe_after,
        "soothe_minutes": s.soothe_minutes,
    })
}

pub async fn get(State(state): State<AppState>, owned: MemberOf<Watch>) -> Json<Value> {
    Json(settings_json(&state.alerts.settings(&owned.cradle.uuid)))
}

/// Applies the fields present onto the current settings: absent fields
/// keep their value, unknown fields are ignored, bad values name the field.
pub fn apply(
    mut s: AlertSettings,
    body: &serde_json::Map<String, Value>,
) -> Result<AlertSettings, ApiError> {
    let invalid = |f: &'static str| ApiError::bad_request(Msg::InvalidField(f));
    let number = |f: &'static str| -> Result<Option<f64>, ApiError> {
        match body.get(f) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or(invalid(f)),
            // Some clients send numbers from text inputs.
            Some(Value::String(t)) => t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or(invalid(f)),
            Some(_) => Err(invalid(f)),
        }
    };
    let flag = |f: &'static str| -> Result<Option<bool>, ApiError> {
        match body.get(f) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(f)),
        }
    };
    let whole =
        |f: &'static str, range: std::ops::RangeInclusive<u32>| -> Result<Option<u32>, ApiError> {
            match number(f)? {
                None => Ok(None),
                Some(v)
                    if v >= f64::from(*range.start())
                        && v <= f64::from(*range.end())
                        && v.fract() == 0.0 =>
                {
                    Ok(Some(v as u32))
                }
                Some(_) => Err(invalid(f)),
            }
        };
    let seconds = |f: &'static str| whole(f, 0..=MAX_SECONDS);
    if let Some(t) = number("max_temperature")? {
        if !TEMPERATURE_LIMITS.contains(&t) {
            return Err(invalid("max_temperature"));
        }
        s.max_temperature = t;
    }
    if let Some(v) = seconds("abnormal_position_timeout")? {
        s.abnormal_position_timeout = v;
    }
    if let Some(v) = seconds("crying_duration_threshold")? {
        s.crying_duration_threshold = v;
    }
    if let Some(v) = flag("push_notifications_enabled")? {
        s.push_notifications_enabled = v;
    }
    if let Some(v) = flag("email_notifications_enabled")? {
        s.email_notifications_enabled = v;
    }
    if let Some(v) = flag("offline_alert_enabled")? {
        s.offline_alert_enabled = v;
    }
    if let Some(v) = whole("offline_after", WATCH_SECONDS)? {
        s.offline_after = v;
    }
    if let Some(v) = flag("camera_silent_alert_enabled")? {
        s.camera_silent_alert_enabled = v;
    }
    if let Some(v) = whole("camera_silent_after", WATCH_SECONDS)? {
        s.camera_silent_after = v;
    }
    if let Some(v) = flag("sensor_fault_alert_enabled")? {
        s.sensor_fault_alert_enabled = v;
    }
    if let Some(v) = whole("max_rock_minutes", ROCK_MINUTES)? {
        s.max_rock_minutes = v;
    }
    if let Some(v) = flag("soothing_enabled")? {
        s.soothing_enabled = v;
    }
    if let Some(v) = whole("soothe_after", SOOTHE_AFTER_SECONDS)? {
        s.soothe_after = v;
    }
    if let Some(v) = whole("soothe_minutes", ROCK_MINUTES)? {
        s.soothe_minutes = v;
    }
    Ok(s)
}

pub async fn post(
    State(state): State<AppState>,
    owned: MemberOf<Operate>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let uuid = owned.cradle.uuid.to_string();
    let before = state.alerts.settings(&uuid);
    let updated = apply(before, &body.0)?;
    state.alerts.save_settings(&uuid, updated).await?;
    let changed = changed_fields(&settings_json(&before), &settings_json(&updated));
    if !changed.is_empty() {
        let what = json!({"fields": changed});
        super::activity::record(&state, &uuid, &owned.user, "settings_changed", what).await;
    }
    Ok(Json(json!({"success": true, "settings": settings_json(&updated)})).into_response())
}

/// The names of the settings whose values differ.
fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn partial_updates_keep_other_fields_and_ignore_unknown_ones() {
        let s = apply(
            AlertSettings::default(),
            &obj(json!({"max_temperature": 37.5, "agent_uuid": "x", "id": 3})),
        )
        .unwrap();
        assert_eq!(s.max_temperature, 37.5);
        assert_eq!(s.crying_duration_threshold, 30);
        let s = apply(
            s,
            &obj(json!({"crying_duration_threshold": 5, "push_notifications_enabled": false})),
        )
        .unwrap();
        assert_eq!(
            (
                s.max_temperature,
                s.crying_duration_threshold,
                s.push_notifications_enabled
            ),
            (37.5, 5, false)
        );
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        for (body, field) in [
            (json!({"max_temperature": 29.9}), "max_temperature"),
            (json!({"max_temperature": 45.1}), "max_temperature"),
            (
                json!({"crying_duration_threshold": -1}),
                "crying_duration_threshold",
            ),
            (
                json!({"abnormal_position_timeout": 1.5}),
                "abnormal_position_timeout",
            ),
            (
                json!({"push_notifications_enabled": "yes"}),
                "push_notifications_enabled",
            ),
        ] {
            let e = apply(AlertSettings::default(), &obj(body)).unwrap_err();
            assert_eq!(e.msg, Msg::InvalidField(field));
        }
        assert!(
            apply(
                AlertSettings::default(),
                &obj(json!({"max_temperature": 30, "crying_duration_threshold": 0}))
            )
            .is_ok()
        );
    }
}
