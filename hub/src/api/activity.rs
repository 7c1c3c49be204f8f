//! `GET /api/cradles/<uuid>/activity`: who did what to a cradle, and the
//! one place handlers record it.

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use crate::i18n::Msg;
use crate::sessions::Session;
use crate::store::household;
use crate::timefmt::{format_millis, now_millis};

use super::{ApiError, AppState, MemberOf, Watch};

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;

/// Records that `user` did `action` to the cradle. The action is done
/// already: a failure to record it is logged, not returned.
pub async fn record(
    state: &AppState,
    uuid: &str,
    user: &Session,
    action: &'static str,
    detail: Value,
) {
    let (uuid, user_id, username) = (uuid.to_owned(), user.user_id, user.username.clone());
    let written = state
        .store
        .write_waiting(move |c| {
            household::log_activity(
                c,
                &uuid,
                now_millis(),
                Some((user_id, &username)),
                action,
                &detail,
            )
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(action, error = %e, "activity log: not recorded");
    }
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    before: Option<String>,
    limit: Option<String>,
}

/// `?before=<id>&limit=<n>`: ids and sizes as the client sent them.
fn page_of(q: &PageQuery) -> Result<(Option<i64>, usize), ApiError> {
    let before = match q.before.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .map_err(|_| ApiError::bad_request(Msg::InvalidField("before")))?,
        ),
    };
    let limit = match q.limit.as_deref() {
        None | Some("") => DEFAULT_PAGE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => return Err(ApiError::bad_request(Msg::InvalidField("limit"))),
        },
    };
    Ok((before, limit))
}

pub async fn list(
    State(state): State<AppState>,
    member: MemberOf<Watch>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (before, limit) = page_of(&q)?;
    let uuid = member.cradle.uuid.to_string();
    // One more than asked tells whether there is a next page.
    let mut rows = state
        .store
        .read(move |c| household::activity_page(c, &uuid, before, limit + 1))
        .await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_before = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "at": format_millis(r.at),
                "user_id": r.user_id,
                "username": r.username,
                "action": r.action,
                "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or_else(|_| json!({})),
            })
        })
        .collect();
    Ok(Json(json!({"items": items, "next_before": next_before})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(before: Option<&str>, limit: Option<&str>) -> PageQuery {
        PageQuery {
            before: before.map(str::to_owned),
            limit: limit.map(str::to_owned),
        }
    }

    #[test]
    fn pages_default_and_refuse_nonsense() {
        assert_eq!(page_of(&q(None, None)).unwrap(), (None, DEFAULT_PAGE));
        assert_eq!(page_of(&q(Some("42"), Some("10"))).unwrap(), (Some(42), 10));
        for (b, l) in [
            (Some("x"), None),
            (None, Some("0")),
            (None, Some("101")),
            (None, Some("-1")),
        ] {
            assert!(page_of(&q(b, l)).is_err(), "{b:?} {l:?}");
        }
    }
}
