//! `/api/cradles/<uuid>/mqtt_password`: the owner's switch for "this cradle
//! must log in to the hub's MQTT endpoint". Turning it on generates a
//! password, shown once; only its hash is kept.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::auth;
use crate::i18n::{Lang, Msg};
use crate::store::agents;
use crate::timefmt::now_millis;

use super::{ApiError, AppState, JsonObject, MemberOf, Own};

pub async fn get(owned: MemberOf<Own>) -> Json<Value> {
    Json(json!({
        "required": owned.cradle.mqtt_password_hash().is_some(),
        "username": &*owned.cradle.uuid,
    }))
}

/// `{"required": true}` sets a new password (again: a new one) and returns
/// it; `{"required": false}` lets anonymous firmware connect again.
pub async fn set(
    State(state): State<AppState>,
    owned: MemberOf<Own>,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let required = match body.0.get("required") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(Msg::MissingField("required")));
        }
        Some(_) => return Err(ApiError::bad_request(Msg::InvalidField("required"))),
    };
    let uuid = owned.cradle.uuid.clone();
    if !required {
        let db_uuid = uuid.clone();
        state
            .store
            .write(move |c| agents::set_mqtt_password(c, &db_uuid, None, now_millis()))
            .await?;
        owned.cradle.set_mqtt_password_hash(None);
        tracing::info!(cradle = %uuid, "mqtt: password turned off");
        return Ok(Json(json!({
            "success": true,
            "required": false,
            "username": &*uuid,
            "message": Msg::MqttPasswordOff.text(lang),
        }))
        .into_response());
    }
    let password = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>());
    let hash = auth::hash_password(password.clone()).await?;
    let db_uuid = uuid.clone();
    let db_hash = hash.clone();
    state
        .store
        .write(move |c| agents::set_mqtt_password(c, &db_uuid, Some(&db_hash), now_millis()))
        .await?;
    owned.cradle.set_mqtt_password_hash(Some(&hash));
    let closed = state
        .mqtt
        .endpoint()
        .map_or(0, |server| server.password_enabled(&uuid));
    tracing::info!(cradle = %uuid, closed_connections = closed, "mqtt: password turned on");
    Ok(Json(json!({
        "success": true,
        "required": true,
        "username": &*uuid,
        "password": password,
        "message": Msg::MqttPasswordOn.text(lang),
    }))
    .into_response())
}
