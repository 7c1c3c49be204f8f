//! `/api/sessions`: the devices a parent is signed in on, and signing them out.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::i18n::{Lang, Msg};
use crate::timefmt::format_millis;

use super::{ApiError, AppState, CurrentUser};

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Response, ApiError> {
    let rows = state.sessions.list(me.user_id).await?;
    let sessions: Vec<Value> = rows
        .iter()
        .map(|s| {
            json!({
                "id": s.public_id,
                "user_agent": s.user_agent,
                "ip": s.ip,
                "created_at": format_millis(s.created_at),
                "last_seen_at": format_millis(s.last_seen_at),
                "expires_at": format_millis(s.expires_at),
                "current": s.token_hash == me.token_hash,
            })
        })
        .collect();
    Ok(Json(sessions).into_response())
}

/// Signs one device out; the current one too, if asked (like logout).
pub async fn end_one(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !state.sessions.end_one(me.user_id, &id).await? {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            Msg::SessionNotFound,
        ));
    }
    tracing::info!(username = %me.username, session = %id, "device signed out");
    Ok(Json(json!({"success": true, "message": Msg::SessionEnded.text(lang)})).into_response())
}

pub async fn end_others(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    lang: Lang,
) -> Result<Response, ApiError> {
    let revoked = state
        .sessions
        .end_all_but(me.user_id, Some(me.token_hash))
        .await?;
    tracing::info!(username = %me.username, revoked, "other devices signed out");
    Ok(Json(json!({
        "success": true,
        "revoked": revoked,
        "message": Msg::OtherSessionsEnded(revoked).text(lang),
    }))
    .into_response())
}
