//! `/api/notifications`: each member's own inbox of alerts (read state,
//! unread count, filters, read-all, delta sync by cursor), and
//! `/api/cradles/<uuid>/notify`: a member's push and email switches.
//!
//! The query rules are plain functions ([`parse_list`], [`parse_sync`],
//! [`parse_read_all`], [`parse_prefs`]); handlers only read and write.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::alerts::engine::AlertType;
use crate::i18n::{Lang, Msg};
use crate::retention;
use crate::store::notifications::{self, Filter, Marked, Notification, NotifyPrefs};
use crate::timefmt::{Millis, format_millis, now_millis, parse_time};

use super::{ApiError, AppState, CurrentUser, JsonObject, MemberOf, Watch};

/// Notifications per list page: default and most.
pub const LIST_LIMIT: (usize, usize) = (50, 100);
/// Notifications per sync page: default and most.
pub const SYNC_LIMIT: (usize, usize) = (100, 500);
/// Notifications marked read per step of a read-all (see `retention::drain`).
const READ_ALL_STEP: usize = 256;

pub fn notification_json(n: &Notification, lang: Lang) -> Value {
    let a = &n.alert;
    json!({
        "id": n.id,
        "alert_id": a.id,
        "agent_uuid": a.agent_uuid,
        "alert_type": a.alert_type,
        "message": crate::alerts::message(a, lang),
        "created_at": format_millis(a.created_at),
        "read": n.read_at.is_some(),
        "read_at": n.read_at.map(format_millis),
        "resolved": a.resolved,
        "resolved_at": a.resolved_at.map(format_millis),
        "seq": n.seq,
    })
}

/// `GET /api/notifications` as typed. Empty values count as absent (forms
/// send them).
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    unread: Option<String>,
    #[serde(rename = "type")]
    alert_type: Option<String>,
    uuid: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: Filter,
    /// Only notifications after this one (newest first): the previous
    /// page's `next_before`.
    pub before: Option<i64>,
    pub limit: usize,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_limit(raw: Option<&str>, (default, max): (usize, usize)) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| ApiError::bad_request(Msg::BadLimit(max)))
}

fn parse_alert_type(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|t| {
        AlertType::parse(t)
            .map(|t| t.as_str().to_owned())
            .ok_or_else(|| ApiError::bad_request(Msg::UnknownAlertType))
    })
    .transpose()
}

/// Cradle ids are short ASCII strings; anything else cannot match one.
fn parse_uuid(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|u| {
        if u.len() <= 128 {
            Ok(u.to_owned())
        } else {
            Err(ApiError::bad_request(Msg::InvalidField("uuid")))
        }
    })
    .transpose()
}

fn parse_time_param(raw: Option<&str>) -> Result<Option<Millis>, ApiError> {
    raw.map(|t| parse_time(t).ok_or_else(|| ApiError::bad_request(Msg::BadDate)))
        .transpose()
}

pub fn parse_list(p: &ListParams) -> Result<ListQuery, ApiError> {
    let unread_only = match present(&p.unread) {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(ApiError::bad_request(Msg::InvalidField("unread"))),
    };
    let from = parse_time_param(present(&p.from))?;
    let to = parse_time_param(present(&p.to))?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::bad_request(Msg::TimeRangeReversed));
    }
    let before = present(&p.before)
        .map(|b| {
            b.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::bad_request(Msg::InvalidField("before")))
        })
        .transpose()?;
    Ok(ListQuery {
        filter: Filter {
            unread_only,
            alert_type: parse_alert_type(present(&p.alert_type))?,
            uuid: parse_uuid(present(&p.uuid))?,
            from,
            to,
        },
        before,
        limit: parse_limit(present(&p.limit), LIST_LIMIT)?,
    })
}

/// `GET /api/notifications/sync` as typed.
#[derive(Debug, Default, Deserialize)]
pub struct SyncParams {
    since: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct SyncQuery {
    /// The `seq` after which changes are wanted (0: everything).
    pub since: i64,
    pub limit: usize,
}

pub fn parse_sync(p: &SyncParams) -> Result<SyncQuery, ApiError> {
    let since = match present(&p.since) {
        None => 0,
        Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(Msg::BadSyncCursor))?,
        Some(_) => return Err(ApiError::bad_request(Msg::BadSyncCursor)),
    };
    Ok(SyncQuery {
        since,
        limit: parse_limit(present(&p.limit), SYNC_LIMIT)?,
    })
}

/// A cursor this hub never gave (its database was restored or reset), or
/// one older than the deletions it still remembers: continuing from it
/// would silently skip changes, so the client starts over.
pub fn check_cursor(since: i64, last_seq: i64, aged_deletions_seq: i64) -> Result<(), ApiError> {
    if since > last_seq {
        return Err(ApiError::bad_request(Msg::SyncCursorAhead)
            .with_detail(format!("since {since} > last seq {last_seq}")));
    }
    if since > 0 && since < aged_deletions_seq {
        return Err(
            ApiError::bad_request(Msg::SyncCursorTooOld).with_detail(format!(
                "since {since} < aged deletions {aged_deletions_seq}"
            )),
        );
    }
    Ok(())
}

/// One page of changes: the notifications changed and the ids deleted, in
/// `seq` order together, the cursor to ask from next, and whether more are
/// waiting. Each list holds up to one more than the page.
pub struct SyncPage {
    pub items: Vec<Notification>,
    pub deleted: Vec<i64>,
    pub cursor: i64,
    pub has_more: bool,
}

pub fn sync_page(items: Vec<Notification>, deleted: Vec<(i64, i64)>, q: &SyncQuery) -> SyncPage {
    let mut changes: Vec<(i64, Result<Notification, i64>)> = items
        .into_iter()
        .map(|n| (n.seq, Ok(n)))
        .chain(deleted.into_iter().map(|(seq, id)| (seq, Err(id))))
        .collect();
    changes.sort_by_key(|(seq, _)| *seq);
    let has_more = changes.len() > q.limit;
    changes.truncate(q.limit);
    let cursor = changes.last().map_or(q.since, |(seq, _)| *seq);
    let mut page = SyncPage {
        items: Vec::new(),
        deleted: Vec::new(),
        cursor,
        has_more,
    };
    for (_, change) in changes {
        match change {
            Ok(n) => page.items.push(n),
            Err(id) => page.deleted.push(id),
        }
    }
    page
}

/// `{uuid?, type?}` of a read-all (an empty body reads everything).
pub fn parse_read_all(
    body: &Map<String, Value>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let text = |field: &'static str| -> Result<Option<&str>, ApiError> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty())),
            Some(_) => Err(ApiError::bad_request(Msg::InvalidField(field))),
        }
    };
    Ok((parse_uuid(text("uuid")?)?, parse_alert_type(text("type")?)?))
}

/// `{push?, email?}`: at least one, each a boolean.
pub fn parse_prefs(body: &Map<String, Value>) -> Result<(Option<bool>, Option<bool>), ApiError> {
    let flag = |field: &'static str| match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(Msg::InvalidField(field))),
    };
    match (flag("push")?, flag("email")?) {
        (None, None) => Err(ApiError::bad_request(Msg::NotifyPrefsEmpty)),
        prefs => Ok(prefs),
    }
}

fn params<T>(
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query
        .map(|Query(p)| p)
        .map_err(|e| ApiError::bad_request(Msg::MalformedRequest).with_detail(e.body_text()))
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_list(&params(query)?)?;
    let user_id = user.user_id;
    let (mut items, unread) = state
        .store
        .read(move |c| {
            Ok((
                notifications::list(c, user_id, &q.filter, q.before, q.limit + 1)?,
                notifications::unread_count(c, user_id)?,
            ))
        })
        .await?;
    let more = items.len() > q.limit;
    items.truncate(q.limit);
    let next_before = items.last().filter(|_| more).map(|n| n.id);
    Ok(Json(json!({
        "items": items.iter().map(|n| notification_json(n, lang)).collect::<Vec<_>>(),
        "unread_count": unread,
        "next_before": next_before,
    }))
    .into_response())
}

pub async fn unread_count(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, ApiError> {
    let user_id = user.user_id;
    let n = state
        .store
        .read(move |c| notifications::unread_count(c, user_id))
        .await?;
    Ok(Json(json!({"unread_count": n})).into_response())
}

async fn mark(
    state: &AppState,
    user_id: i64,
    id: &str,
    at: Option<Millis>,
) -> Result<Response, ApiError> {
    // Not a number: no such notification, like someone else's.
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::new(axum::http::StatusCode::NOT_FOUND, Msg::NotificationNotFound))?;
    let marked = state
        .store
        .write(move |c| notifications::mark(c, user_id, id, at))
        .await?;
    match marked {
        Marked::NotFound => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            Msg::NotificationNotFound,
        )),
        Marked::Changed => {
            state.alerts.inbox_changed(user_id);
            Ok(Json(json!({"success": true})).into_response())
        }
        Marked::Unchanged => Ok(Json(json!({"success": true})).into_response()),
    }
}

pub async fn read(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    mark(&state, user.user_id, &id, Some(now_millis())).await
}

pub async fn unread(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    mark(&state, user.user_id, &id, None).await
}

pub async fn read_all(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, ApiError> {
    let body = match body {
        Ok(JsonObject(map)) => map,
        Err(e) if e.msg == Msg::EmptyBody => Map::new(),
        Err(e) => return Err(e),
    };
    let (uuid, alert_type) = parse_read_all(&body)?;
    let (user_id, now) = (user.user_id, now_millis());
    // In short steps: a long-neglected inbox may hold thousands.
    let updated = retention::drain(&state.store, READ_ALL_STEP, move |c, n| {
        notifications::mark_all_read(c, user_id, uuid.as_deref(), alert_type.as_deref(), now, n)
    })
    .await?;
    if updated > 0 {
        state.alerts.inbox_changed(user_id);
    }
    Ok(Json(json!({"success": true, "updated": updated})).into_response())
}

pub async fn sync(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    query: Result<Query<SyncParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_sync(&params(query)?)?;
    let (user_id, since, limit) = (user.user_id, q.since, q.limit);
    let (last_seq, aged, items, deleted) = state
        .store
        .read(move |c| {
            Ok((
                notifications::last_seq(c)?,
                notifications::aged_deletions_seq(c)?,
                notifications::changed_since(c, user_id, since, limit + 1)?,
                notifications::deleted_since(c, user_id, since, limit + 1)?,
            ))
        })
        .await?;
    check_cursor(q.since, last_seq, aged)?;
    let page = sync_page(items, deleted, &q);
    Ok(Json(json!({
        "items": page.items.iter().map(|n| notification_json(n, lang)).collect::<Vec<_>>(),
        "deleted": page.deleted,
        "cursor": page.cursor.to_string(),
        "has_more": page.has_more,
    }))
    .into_response())
}

fn prefs_json(p: NotifyPrefs) -> Value {
    json!({"push": p.push, "email": p.email})
}

pub async fn get_prefs(
    State(state): State<AppState>,
    member: MemberOf<Watch>,
) -> Result<Response, ApiError> {
    let (uuid, user_id) = (member.cradle.uuid.to_string(), member.user.user_id);
    let prefs = state
        .store
        .read(move |c| notifications::notify_prefs(c, &uuid, user_id))
        .await?;
    Ok(Json(prefs_json(prefs)).into_response())
}

pub async fn set_prefs(
    State(state): State<AppState>,
    member: MemberOf<Watch>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let (push, email) = parse_prefs(&body)?;
    let (uuid, user_id) = (member.cradle.uuid.to_string(), member.user.user_id);
    let prefs = state
        .store
        .write(move |c| notifications::set_notify_prefs(c, &uuid, user_id, push, email))
        .await?;
    let mut answer = prefs_json(prefs);
    answer["success"] = json!(true);
    Ok(Json(answer).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::store::alerts::AlertRow;

    /// The query string as axum reads it from a request.
    fn query<T: serde::de::DeserializeOwned>(pairs: &[(&str, &str)]) -> T {
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace(' ', "%20")))
            .collect::<Vec<_>>()
            .join("&");
        let uri: axum::http::Uri = format!("/x?{query}").parse().unwrap();
        Query::<T>::try_from_uri(&uri).unwrap().0
    }

    fn list_params(pairs: &[(&str, &str)]) -> ListParams {
        query(pairs)
    }

    fn refusal<T: std::fmt::Debug>(r: Result<T, ApiError>) -> Msg {
        let e = r.unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        e.msg
    }

    #[test]
    fn list_filters_parse_or_are_refused_by_name() {
        let q = parse_list(&list_params(&[])).unwrap();
        assert_eq!(
            q,
            ListQuery {
                filter: Filter::ALL,
                before: None,
                limit: 50
            }
        );
        let q = parse_list(&list_params(&[
            ("unread", "true"),
            ("type", "crying"),
            ("uuid", "c1"),
            ("from", "2026-11-22T20:00:00Z"),
            ("to", "2026-11-22 21:00:00"),
            ("before", "42"),
            ("limit", "100"),
        ]))
        .unwrap();
        assert!(q.filter.unread_only);
        assert_eq!(q.filter.alert_type.as_deref(), Some("crying"));
        assert_eq!(q.filter.uuid.as_deref(), Some("c1"));
        assert_eq!(q.filter.to.unwrap() - q.filter.from.unwrap(), 3_600_000);
        assert_eq!((q.before, q.limit), (Some(42), 100));
        // Empty values, as a form sends them, are no filter.
        let q = parse_list(&list_params(&[("type", ""), ("unread", ""), ("limit", "")])).unwrap();
        assert_eq!(q.filter, Filter::ALL);
        assert!(
            !parse_list(&list_params(&[("unread", "false")]))
                .unwrap()
                .filter
                .unread_only
        );

        for (pairs, msg) in [
            (vec![("unread", "yes")], Msg::InvalidField("unread")),
            (vec![("type", "fire")], Msg::UnknownAlertType),
            (vec![("from", "yesterday")], Msg::BadDate),
            (vec![("to", "2026-13-01T00:00:00")], Msg::BadDate),
            (
                vec![
                    ("from", "2026-11-22T21:00:00Z"),
                    ("to", "2026-11-22T20:00:00Z"),
                ],
                Msg::TimeRangeReversed,
            ),
            (vec![("before", "abc")], Msg::InvalidField("before")),
            (vec![("before", "-1")], Msg::InvalidField("before")),
            (vec![("limit", "0")], Msg::BadLimit(100)),
            (vec![("limit", "101")], Msg::BadLimit(100)),
            (vec![("limit", "ten")], Msg::BadLimit(100)),
        ] {
            assert_eq!(refusal(parse_list(&list_params(&pairs))), msg, "{pairs:?}");
        }
        let long = "u".repeat(129);
        assert_eq!(
            refusal(parse_list(&list_params(&[("uuid", &long)]))),
            Msg::InvalidField("uuid")
        );
    }

    #[test]
    fn sync_cursors_are_whole_numbers_this_hub_gave() {
        let sync = |pairs: &[(&str, &str)]| parse_sync(&query(pairs));
        assert_eq!(
            sync(&[]).unwrap(),
            SyncQuery {
                since: 0,
                limit: 100
            }
        );
        assert_eq!(
            sync(&[("since", "17"), ("limit", "500")]).unwrap(),
            SyncQuery {
                since: 17,
                limit: 500
            }
        );
        for bad in ["-1", "1.5", "abc", "%2B3", "99999999999999999999"] {
            assert_eq!(
                refusal(sync(&[("since", bad)])),
                Msg::BadSyncCursor,
                "{bad}"
            );
        }
        assert_eq!(refusal(sync(&[("limit", "501")])), Msg::BadLimit(500));
        assert!(check_cursor(17, 17, 0).is_ok());
        assert_eq!(refusal(check_cursor(18, 17, 0)), Msg::SyncCursorAhead);
        // Deletions up to seq 9 were forgotten: a cursor before them may
        // have missed some; from scratch (0) is always fine.
        assert_eq!(refusal(check_cursor(8, 17, 9)), Msg::SyncCursorTooOld);
        assert!(check_cursor(9, 17, 9).is_ok());
        assert!(check_cursor(0, 17, 9).is_ok());
    }

    fn notification(seq: i64) -> Notification {
        Notification {
            id: seq,
            read_at: None,
            seq,
            alert: AlertRow {
                id: seq,
                agent_uuid: "c1".into(),
                alert_type: "crying".into(),
                temperature: None,
                face_detected: None,
                notification_sent: false,
                resolved: false,
                created_at: 0,
                resolved_at: None,
                detail: "{}".into(),
            },
        }
    }

    #[test]
    fn a_sync_page_says_where_to_go_on_and_whether_more_wait() {
        let q = SyncQuery { since: 5, limit: 2 };
        let shape = |p: SyncPage| (p.items.len(), p.deleted, p.cursor, p.has_more);
        let page = sync_page(
            vec![notification(6), notification(8), notification(9)],
            vec![],
            &q,
        );
        assert_eq!(shape(page), (2, vec![], 8, true));
        let page = sync_page(vec![notification(6)], vec![], &q);
        assert_eq!(shape(page), (1, vec![], 6, false));
        let page = sync_page(Vec::new(), Vec::new(), &q);
        assert_eq!(
            shape(page),
            (0, vec![], 5, false),
            "nothing new: same cursor"
        );
        // Deletions take their place in seq order.
        let page = sync_page(vec![notification(8)], vec![(6, 41), (9, 42)], &q);
        assert_eq!(shape(page), (1, vec![41], 8, true));
        let page = sync_page(vec![], vec![(9, 42)], &SyncQuery { since: 8, limit: 2 });
        assert_eq!(shape(page), (0, vec![42], 9, false));
    }

    #[test]
    fn read_all_and_prefs_bodies() {
        let body = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(parse_read_all(&body(json!({}))).unwrap(), (None, None));
        assert_eq!(
            parse_read_all(&body(json!({"uuid": "c1", "type": "crying"}))).unwrap(),
            (Some("c1".into()), Some("crying".into()))
        );
        assert_eq!(
            refusal(parse_read_all(&body(json!({"type": "fire"})))),
            Msg::UnknownAlertType
        );
        assert_eq!(
            refusal(parse_read_all(&body(json!({"uuid": 3})))),
            Msg::InvalidField("uuid")
        );

        assert_eq!(
            parse_prefs(&body(json!({"push": false}))).unwrap(),
            (Some(false), None)
        );
        assert_eq!(
            parse_prefs(&body(json!({"push": true, "email": false}))).unwrap(),
            (Some(true), Some(false))
        );
        assert_eq!(
            refusal(parse_prefs(&body(json!({})))),
            Msg::NotifyPrefsEmpty
        );
        assert_eq!(
            refusal(parse_prefs(&body(json!({"email": "no"})))),
            Msg::InvalidField("email")
        );
    }

    #[test]
    fn the_message_is_in_the_readers_language() {
        let mut n = notification(1);
        n.alert.alert_type = "high_temperature".into();
        n.alert.detail = r#"{"temperature":38.6,"max_temperature":38.0}"#.into();
        let en = notification_json(&n, Lang::En);
        let ko = notification_json(&n, Lang::Ko);
        assert!(en["message"].as_str().unwrap().contains("38.6"), "{en}");
        assert_ne!(en["message"], ko["message"]);
        assert_eq!(
            (en["read"].clone(), en["read_at"].clone()),
            (json!(false), Value::Null)
        );
    }
}
