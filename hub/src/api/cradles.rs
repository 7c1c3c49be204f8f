//! `/register_agent`, `/register_cradle`, `/select_cradle`, `/delete_cradle`,
//! `/api/agents`, and media tokens.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::{MEDIA_TOKEN_TTL_MS, MediaGrant};
use crate::i18n::{Lang, Msg};
use crate::mqtt::parse::MAX_UUID_LEN;
use crate::store::agents::{self, Agent, Claim};
use crate::timefmt::{format_millis, now_millis};

use super::{ApiError, AppState, CurrentUser, JsonObject, MemberOf, Watch};
use crate::household::Need;

fn agent_json(a: &Agent) -> Value {
    json!({
        "id": a.id,
        "uuid": a.uuid,
        "ip": a.ip,
        "created_at": format_millis(a.created_at),
        "updated_at": format_millis(a.updated_at),
        // Additions: the cradle came back from another address while claimed.
        "previous_ip": a.previous_ip,
        "ip_changed_at": a.ip_changed_at.map(format_millis),
    })
}

/// Unclaimed cradles kept; registering one more removes the one that
/// registered longest ago (and its data).
pub const MAX_UNCLAIMED: usize = 64;

/// How long a claim waits for the wipe of the cradle's previous data.
const CLAIM_WIPE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A cradle id becomes an MQTT topic level: no wildcards or separators.
fn valid_uuid(uuid: &str) -> bool {
    !uuid.is_empty()
        && uuid.len() <= MAX_UUID_LEN
        && !uuid.contains(['/', '+', '#'])
        && !uuid.chars().any(char::is_control)
}

/// Called by the cradle itself on boot: no session. Rate-limited per
/// source address; at most [`MAX_UNCLAIMED`] unclaimed cradles are kept.
pub async fn register_agent(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    if let Err(secs) = state.register_limiter.check(peer.ip(), now_millis()) {
        tracing::info!(peer = %peer.ip(), "register_agent: rate limited");
        return Err(ApiError::too_many(Msg::TooManyRegistrations, secs));
    }
    let uuid = body.str("uuid")?.to_owned();
    if !valid_uuid(&uuid) {
        return Err(ApiError::bad_request(Msg::InvalidField("uuid")));
    }
    let ip = body.str("ip")?;
    if ip.len() > 64 || ip.chars().any(char::is_control) {
        return Err(ApiError::bad_request(Msg::InvalidField("ip")));
    }
    let ip = ip.to_owned();
    let now = now_millis();
    let registered = state
        .store
        .write(move |c| agents::register(c, &uuid, &ip, now, MAX_UNCLAIMED))
        .await?;
    let agent = &registered.agent;
    state.live.ensure(&agent.uuid, agent.owner_id);
    for old in &registered.evicted {
        state.live.remove(old);
        tracing::warn!(
            uuid = old,
            "unclaimed cradle removed: too many unclaimed cradles registered"
        );
    }
    if !registered.evicted.is_empty() {
        state.maintenance.wipe_soon();
    }
    if let Some(old_ip) = &registered.ip_changed_from {
        tracing::warn!(
            uuid = agent.uuid,
            owner = agent.owner_id,
            old_ip,
            new_ip = agent.ip,
            peer = %peer.ip(),
            "claimed cradle registered from a new address"
        );
    } else {
        tracing::info!(uuid = agent.uuid, ip = agent.ip, "cradle registered");
    }
    Ok(
        Json(json!({"status": "success", "message": Msg::AgentRegistered.text(lang)}))
            .into_response(),
    )
}

pub async fn register_cradle(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let uuid = match body.opt_str("cradle_uuid")? {
        Some(u) if !u.trim().is_empty() => u.trim().to_owned(),
        _ => return Err(ApiError::bad_request(Msg::MissingField("cradle_uuid"))),
    };
    if !valid_uuid(&uuid) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, Msg::UnknownCradle));
    }
    let heard_on_mqtt = state.live.was_heard(&uuid);
    let user_id = user.user_id;
    // A cradle removed earlier is claimable once its old data is gone:
    // finish that wipe first, or, if it is long (months of readings), let
    // it go on in the background and ask the client to come back.
    let wiping = || {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Msg::Busy)
            .with_detail("the cradle's previous data is still being deleted")
            .with_retry_after(10)
    };
    match tokio::time::timeout(CLAIM_WIPE_WAIT, state.maintenance.finish_wipe(&uuid)).await {
        Ok(done) => done?,
        Err(_) => {
            state.maintenance.wipe_soon();
            return Err(wiping());
        }
    }
    let claim_uuid = uuid.clone();
    let claim = state
        .store
        .write(move |c| agents::claim(c, &claim_uuid, user_id, heard_on_mqtt, now_millis()))
        .await?;
    match claim {
        Claim::Claimed(agent) => {
            state.live.set_owner(&agent.uuid, Some(user_id));
            state.alerts.cradles_changed(user_id);
            tracing::info!(uuid = agent.uuid, user = user.username, "cradle claimed");
            Ok(Json(json!({
                "success": true,
                "message": Msg::CradleClaimed.text(lang),
                "agent": agent_json(&agent),
            }))
            .into_response())
        }
        Claim::OwnedByOther => Err(ApiError::new(StatusCode::CONFLICT, Msg::CradleOwnedByOther)),
        Claim::Unknown => Err(ApiError::new(StatusCode::NOT_FOUND, Msg::UnknownCradle)),
        Claim::WipePending => Err(wiping()),
    }
}

/// The body's `uuid` if the user's role on that cradle allows `need`.
fn member_uuid<'a>(
    state: &AppState,
    user_id: i64,
    body: &'a JsonObject,
    need: Need,
) -> Result<&'a str, ApiError> {
    let uuid = body.str("uuid")?;
    super::extract::cradle_for(state, uuid, user_id, need)?;
    Ok(uuid)
}

pub async fn select_cradle(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let uuid = member_uuid(&state, user.user_id, &body, Need::Watch)?.to_owned();
    state
        .sessions
        .select_cradle(user.token_hash, Some(uuid))
        .await?;
    Ok(Json(json!({"success": true, "message": Msg::CradleSelected.text(lang)})).into_response())
}

pub async fn delete_cradle(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let uuid = member_uuid(&state, user.user_id, &body, Need::Own)?.to_owned();
    let _household_change = state.household_changes.lock().await;
    let household = state
        .live
        .get(&uuid)
        .map(|c| c.audience())
        .unwrap_or_default();
    let wipe_uuid = uuid.clone();
    state
        .store
        .write(move |c| {
            crate::store::household::forget_cradle(c, &wipe_uuid)?;
            agents::unclaim(c, &wipe_uuid, now_millis())
        })
        .await?;
    // Its readings, frames and alerts go in the background, in chunks.
    state.maintenance.wipe_soon();
    state.live.set_owner(&uuid, None);
    state.sessions.forget_cradle(&uuid);
    state.alerts.forget_cradle(&uuid, user.user_id);
    for (member, _) in household.iter().filter(|(u, _)| *u != user.user_id) {
        state.alerts.cradles_changed(*member);
    }
    state.motor.forget(&uuid);
    tracing::info!(uuid, user = user.username, "cradle removed");
    Ok(Json(json!({"success": true, "message": Msg::CradleDeleted.text(lang)})).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, ApiError> {
    let user_id = user.user_id;
    let agents = state
        .store
        .read(move |c| agents::visible_to(c, user_id))
        .await?;
    let list: Vec<Value> = agents
        .iter()
        .map(|(a, role)| {
            let mut v = agent_json(a);
            v["role"] = json!(role);
            let status = state.live.get(&a.uuid).map(|c| c.status());
            let status = status.as_ref();
            v["last_update"] = json!(status.and_then(|s| s.last_update()).map(format_millis));
            v["last_seen"] = json!(status.and_then(|s| s.last_seen()).map(format_millis));
            v["online"] = json!(status.is_some_and(|s| s.online(now_millis())));
            v["mqtt_password_required"] = json!(a.mqtt_password_hash.is_some());
            v["selected"] = json!(user.selected_cradle.as_deref() == Some(a.uuid.as_str()));
            v
        })
        .collect();
    Ok(Json(list).into_response())
}

/// A signed URL token for the cradle's media (`/stream/<uuid>?token=`),
/// valid for an hour, for viewers that cannot send the session cookie.
pub async fn media_token(
    State(state): State<AppState>,
    owned: MemberOf<Watch>,
) -> Result<Response, ApiError> {
    let expires = now_millis() + MEDIA_TOKEN_TTL_MS;
    let grant = MediaGrant {
        user_id: owned.user.user_id,
        session: owned.user.public_id.clone(),
    };
    let token = state.signer.issue(&owned.cradle.uuid, &grant, expires);
    Ok(Json(json!({"token": token, "expires_at": format_millis(expires)})).into_response())
}
