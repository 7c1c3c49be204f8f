//! The household routes: invites, joining by code, members and roles,
//! ownership, and the owner's app live-view switch. The rules are in
//! [`crate::household`]; the changes are single store jobs, mirrored into
//! the cradle's live state once committed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::household::invites::{self, INVITE_TTL_MS};
use crate::household::{RemoveRefusal, Role, may_remove};
use crate::i18n::{Lang, Msg};
use crate::store::household::{self as rows, Accepted, Invite};
use crate::timefmt::format_millis;

use super::{ApiError, AppState, CurrentUser, JsonObject, MemberOf, Own, Watch};

fn invite_json(invite: &Invite, base_url: &str) -> Value {
    json!({
        "id": invite.id,
        "code": invite.code,
        "role": invite.role.as_str(),
        "join_url": format!("{base_url}/#/join/{}", invite.code),
        "created_at": format_millis(invite.created_at),
        "expires_at": format_millis(invite.expires_at),
    })
}

fn member_role(body: &JsonObject) -> Result<Role, ApiError> {
    Role::parse_member(body.str("role")?).ok_or(ApiError::bad_request(Msg::InvalidField("role")))
}

/// `POST /api/cradles/<uuid>/invites {role}`
pub async fn create_invite(
    State(state): State<AppState>,
    owner: MemberOf<Own>,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let role = member_role(&body)?;
    let now = state.clock.now();
    let (uuid, by) = (owner.cradle.uuid.to_string(), owner.user.user_id);
    let invite = state
        .store
        .write(move |c| {
            let code = invites::new_code(&mut rand::rng(), |code| rows::code_in_use(c, code, now))?;
            rows::create_invite(c, &uuid, &code, role, by, now, now + INVITE_TTL_MS)
        })
        .await?;
    let what = json!({"role": role.as_str(), "invite_id": invite.id});
    super::activity::record(&state, &owner.cradle.uuid, &owner.user, "invited", what).await;
    let base = super::qr::base_url(&state, &headers);
    Ok((StatusCode::CREATED, Json(invite_json(&invite, &base))).into_response())
}

/// `GET /api/cradles/<uuid>/invites`: the ones that can still be used.
pub async fn list_invites(
    State(state): State<AppState>,
    owner: MemberOf<Own>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (uuid, now) = (owner.cradle.uuid.to_string(), state.clock.now());
    let open = state
        .store
        .read(move |c| rows::open_invites(c, &uuid, now))
        .await?;
    let base = super::qr::base_url(&state, &headers);
    Ok(Json(Value::Array(
        open.iter().map(|i| invite_json(i, &base)).collect(),
    )))
}

/// `DELETE /api/cradles/<uuid>/invites/<id>`
pub async fn revoke_invite(
    State(state): State<AppState>,
    owner: MemberOf<Own>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let (uuid, now) = (owner.cradle.uuid.to_string(), state.clock.now());
    let revoked = state
        .store
        .write(move |c| rows::revoke_invite(c, &uuid, id, now))
        .await?;
    if !revoked {
        return Err(ApiError::not_found());
    }
    let what = json!({"invite_id": id});
    super::activity::record(
        &state,
        &owner.cradle.uuid,
        &owner.user,
        "invite_revoked",
        what,
    )
    .await;
    Ok(Json(json!({"success": true})).into_response())
}

/// `POST /api/invites/accept {code}`: joins the cradle the code was made for.
pub async fn accept(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let code = invites::normalize_code(body.str("code")?)
        .ok_or(ApiError::bad_request(Msg::InvalidField("code")))?;
    if let Err(secs) = state.invite_guesses.attempt(user.user_id, now) {
        return Err(ApiError::too_many(Msg::TooManyWrongCodes, secs)
            .with_detail(format!("user {} guessed too many codes", user.user_id)));
    }
    let user_id = user.user_id;
    let _household = state.household_changes.lock().await;
    let accepted = state
        .store
        .write(move |c| rows::accept_invite(c, &code, user_id, now))
        .await;
    let invite = match accepted {
        Ok(Accepted::Joined(invite)) => {
            state.invite_guesses.refund(user.user_id);
            invite
        }
        Ok(Accepted::NoSuchCode) => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, Msg::WrongInviteCode));
        }
        Ok(Accepted::AlreadyMember(_)) => {
            state.invite_guesses.refund(user.user_id);
            return Err(ApiError::new(StatusCode::CONFLICT, Msg::AlreadyMember));
        }
        Err(e) => {
            state.invite_guesses.refund(user.user_id);
            return Err(e.into());
        }
    };
    if let Some(cradle) = state.live.get(&invite.agent_uuid) {
        cradle.set_member(user.user_id, Some(invite.role));
    }
    state.alerts.cradles_changed(user.user_id);
    tracing::info!(
        uuid = invite.agent_uuid,
        user = user.username,
        role = invite.role.as_str(),
        "joined a cradle"
    );
    let what = json!({"role": invite.role.as_str(), "invite_id": invite.id});
    super::activity::record(&state, &invite.agent_uuid, &user, "joined", what).await;
    Ok(Json(json!({
        "success": true,
        "message": Msg::JoinedCradle.text(lang),
        "uuid": invite.agent_uuid,
        "role": invite.role.as_str(),
    }))
    .into_response())
}

/// `GET /api/cradles/<uuid>/members`: the owner first.
pub async fn members(
    State(state): State<AppState>,
    member: MemberOf<Watch>,
) -> Result<Json<Value>, ApiError> {
    let uuid = member.cradle.uuid.to_string();
    let all = state
        .store
        .read(move |c| rows::members_of(c, &uuid))
        .await?;
    Ok(Json(Value::Array(
        all.iter()
            .map(|m| {
                json!({
                    "user_id": m.user_id,
                    "username": m.username,
                    "role": m.role.as_str(),
                    "added_at": format_millis(m.added_at),
                    "you": m.user_id == member.user.user_id,
                })
            })
            .collect(),
    )))
}

/// For the activity log, which names people as they were called then.
async fn username_of(state: &AppState, user_id: i64) -> Option<String> {
    state
        .store
        .read(move |c| crate::store::users::by_id(c, user_id))
        .await
        .ok()
        .flatten()
        .map(|u| u.username)
}

fn target_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, Msg::MemberNotFound))
}

/// `PATCH /api/cradles/<uuid>/members/<user_id> {role}`: `parent` or
/// `viewer`; `owner` hands the cradle over (the previous owner stays as a
/// parent).
pub async fn change_role(
    State(state): State<AppState>,
    owner: MemberOf<Own>,
    Path((_, target)): Path<(String, String)>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let target = target_id(&target)?;
    let role =
        Role::parse(body.str("role")?).ok_or(ApiError::bad_request(Msg::InvalidField("role")))?;
    let cradle = owner.cradle.clone();
    let from = owner.user.user_id;
    if target == from {
        // The owner's own role changes only by handing the cradle over.
        return Err(ApiError::new(StatusCode::CONFLICT, Msg::OwnerCannotLeave));
    }
    let Some(current) = cradle.role_of(target) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, Msg::MemberNotFound));
    };
    let uuid = cradle.uuid.to_string();
    let now = state.clock.now();
    let target_name = username_of(&state, target).await;
    let _household = state.household_changes.lock().await;
    if cradle.role_of(target).is_none() || cradle.owner() != Some(from) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, Msg::MemberNotFound));
    }
    if role == Role::Owner {
        let moved = state
            .store
            .write(move |c| rows::transfer_ownership(c, &uuid, from, target, now))
            .await?;
        if !moved {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                Msg::TransferToMembersOnly,
            ));
        }
        state.live.set_owner(&cradle.uuid, Some(target));
        cradle.set_member(target, None);
        cradle.set_member(from, Some(Role::Parent));
        cradle.set_lan_app_view(false);
        let what = json!({"to_user_id": target, "target_username": target_name});
        super::activity::record(
            &state,
            &cradle.uuid,
            &owner.user,
            "ownership_transferred",
            what,
        )
        .await;
        tracing::info!(
            uuid = &*cradle.uuid,
            from,
            to = target,
            "ownership handed over"
        );
    } else {
        let changed = state
            .store
            .write(move |c| rows::set_role(c, &uuid, target, role))
            .await?;
        if !changed {
            return Err(ApiError::new(StatusCode::NOT_FOUND, Msg::MemberNotFound));
        }
        cradle.set_member(target, Some(role));
        if current != role {
            let what = json!({
                "user_id": target,
                "target_username": target_name,
                "from": current.as_str(),
                "to": role.as_str(),
            });
            super::activity::record(&state, &cradle.uuid, &owner.user, "role_changed", what).await;
        }
    }
    state.alerts.cradles_changed(target);
    state.alerts.cradles_changed(from);
    Ok(Json(json!({"success": true})).into_response())
}

/// `DELETE /api/cradles/<uuid>/members/<user_id>`: the owner removes a
/// member, or a member leaves.
pub async fn remove(
    State(state): State<AppState>,
    member: MemberOf<Watch>,
    Path((_, target)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let target = target_id(&target)?;
    let cradle = member.cradle.clone();
    let Some(target_role) = cradle.role_of(target) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, Msg::MemberNotFound));
    };
    let me = member.user.user_id;
    match may_remove((me, member.role), (target, target_role)) {
        Ok(()) => {}
        Err(RemoveRefusal::OwnerStays) => {
            return Err(ApiError::new(StatusCode::CONFLICT, Msg::OwnerCannotLeave));
        }
        Err(RemoveRefusal::NotAllowed) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                Msg::OnlyOwnerRemovesOthers,
            ));
        }
    }
    let uuid = cradle.uuid.to_string();
    let target_name = username_of(&state, target).await;
    let _household = state.household_changes.lock().await;
    let removed = state
        .store
        .write(move |c| rows::remove_member(c, &uuid, target))
        .await?;
    if !removed {
        return Err(ApiError::new(StatusCode::NOT_FOUND, Msg::MemberNotFound));
    }
    cradle.set_member(target, None);
    state.sessions.forget_cradle_of(target, &cradle.uuid);
    state.alerts.cradles_changed(target);
    state.alerts.inbox_changed(target);
    let (action, what) = if target == me {
        ("left", json!({}))
    } else {
        (
            "removed",
            json!({"user_id": target, "target_username": target_name}),
        )
    };
    super::activity::record(&state, &cradle.uuid, &member.user, action, what).await;
    tracing::info!(
        uuid = &*cradle.uuid,
        user = target,
        action,
        "member left the cradle"
    );
    Ok(Json(json!({"success": true})).into_response())
}

/// `GET /api/cradles/<uuid>/lan_app_view`
pub async fn lan_app_view(owner: MemberOf<Own>) -> Json<Value> {
    Json(json!({"enabled": owner.cradle.lan_app_view()}))
}

/// `POST /api/cradles/<uuid>/lan_app_view {enabled}`
pub async fn set_lan_app_view(
    State(state): State<AppState>,
    owner: MemberOf<Own>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let enabled = match body.0.get("enabled") {
        Some(Value::Bool(b)) => *b,
        None => return Err(ApiError::bad_request(Msg::MissingField("enabled"))),
        Some(_) => return Err(ApiError::bad_request(Msg::InvalidField("enabled"))),
    };
    let uuid = owner.cradle.uuid.to_string();
    let _household = state.household_changes.lock().await;
    state
        .store
        .write(move |c| rows::set_lan_app_view(c, &uuid, enabled))
        .await?;
    if owner.cradle.lan_app_view() != enabled {
        owner.cradle.set_lan_app_view(enabled);
        let what = json!({"enabled": enabled});
        super::activity::record(
            &state,
            &owner.cradle.uuid,
            &owner.user,
            "lan_app_view_changed",
            what,
        )
        .await;
        tracing::info!(
            uuid = &*owner.cradle.uuid,
            enabled,
            "app live view on this network"
        );
    }
    Ok(Json(json!({"success": true, "enabled": enabled})).into_response())
}
