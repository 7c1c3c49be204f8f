//! Each member's notification inbox (read state, filters, delta sync) and
//! their push and email switches per cradle.

use utoipa::ToSchema;

use super::alerts::AlertType;
use super::common::{ErrorBody, SuccessOnly};

/// One alert as one member's notification: their own read state.
#[derive(ToSchema)]
pub struct Notification {
    pub id: i64,
    pub alert_id: i64,
    pub agent_uuid: String,
    pub alert_type: AlertType,
    /// In the request's language.
    pub message: String,
    /// When the alert was raised.
    #[schema(format = DateTime)]
    pub created_at: String,
    pub read: bool,
    #[schema(required = true, format = DateTime)]
    pub read_at: Option<String>,
    pub resolved: bool,
    #[schema(required = true, format = DateTime)]
    pub resolved_at: Option<String>,
    /// Grows with every change of this notification (created, read or
    /// unread, resolved): the sync cursor.
    pub seq: i64,
}

#[derive(ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    pub items: Vec<Notification>,
    /// All of your unread notifications, whatever the filters.
    pub unread_count: i64,
    /// Pass as `before` for the next page; `null` on the last one.
    #[schema(required = true)]
    pub next_before: Option<i64>,
}

#[derive(ToSchema)]
pub struct UnreadCount {
    pub unread_count: i64,
}

/// Both optional: without them every unread notification is marked read.
#[derive(ToSchema)]
pub struct ReadAll {
    pub uuid: Option<String>,
    pub r#type: Option<AlertType>,
}

#[derive(ToSchema)]
pub struct ReadAllDone {
    /// Always `true`.
    pub success: bool,
    /// How many were marked read.
    pub updated: i64,
}

#[derive(ToSchema)]
pub struct SyncPage {
    /// In the order of their changes; a notification changed again since
    /// an earlier page comes again, with a higher `seq`.
    pub items: Vec<Notification>,
    /// Ids of your notifications deleted since `since` (retention, a removed
    /// cradle, leaving one): drop them from the cache.
    pub deleted: Vec<i64>,
    /// `seq` of the last change in this page (or `since` when nothing
    /// changed): the next `since`.
    pub cursor: String,
    /// More changes wait: ask again from `cursor` at once.
    pub has_more: bool,
}

/// The member's own delivery switches for this cradle (both on until changed).
#[derive(ToSchema)]
pub struct NotifyPrefs {
    /// Web Push to this member's devices.
    pub push: bool,
    /// Email to this member's address.
    pub email: bool,
}

/// At least one of the two.
#[derive(ToSchema)]
pub struct NotifyPrefsUpdate {
    pub push: Option<bool>,
    pub email: Option<bool>,
}

#[derive(ToSchema)]
pub struct NotifyPrefsSaved {
    /// Always `true`.
    pub success: bool,
    pub push: bool,
    pub email: bool,
}

/// Your notifications, newest first, filtered and paged.
#[utoipa::path(get, path = "/api/notifications", tag = "inbox",
    params(
        ("unread" = Option<bool>, Query, description = "`true`: only unread ones"),
        ("type" = Option<AlertType>, Query),
        ("uuid" = Option<String>, Query, description = "One cradle's"),
        ("from" = Option<String>, Query, description = "Raised at or after (RFC 3339, or naive UTC)"),
        ("to" = Option<String>, Query, description = "Raised at or before"),
        ("before" = Option<i64>, Query, description = "The previous page's `next_before`"),
        ("limit" = Option<u32>, Query, description = "1..=100, default 50"),
    ),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "A page", body = NotificationPage),
        (status = 400, description = "A filter that does not parse (named), `from` after `to`, limit out of range", body = ErrorBody),
    ))]
pub fn list() {}

/// How many of your notifications are unread.
#[utoipa::path(get, path = "/api/notifications/unread_count", tag = "inbox",
    security(("cradle_session" = [])),
    responses((status = 200, description = "Count", body = UnreadCount)))]
pub fn unread_count() {}

/// Marks one of your notifications read (the first read time is kept).
#[utoipa::path(post, path = "/api/notifications/{id}/read", tag = "inbox",
    params(("id" = i64, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Read", body = SuccessOnly),
        (status = 404, description = "No such notification of yours", body = ErrorBody),
    ))]
pub fn read() {}

/// Marks one of your notifications unread again.
#[utoipa::path(post, path = "/api/notifications/{id}/unread", tag = "inbox",
    params(("id" = i64, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Unread", body = SuccessOnly),
        (status = 404, description = "No such notification of yours", body = ErrorBody),
    ))]
pub fn unread() {}

/// Marks read your unread notifications raised until now, optionally of one
/// cradle or type. An empty body is accepted.
#[utoipa::path(post, path = "/api/notifications/read_all", tag = "inbox",
    request_body = ReadAll,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Done", body = ReadAllDone),
        (status = 400, description = "Unknown type, or a field of the wrong type", body = ErrorBody),
    ))]
pub fn read_all() {}

/// Delta sync for an offline cache: your notifications changed or deleted
/// after `since`, in the order of their changes. Replaying a cursor never
/// lists an item twice in a page. Deletions are remembered for the
/// retention period; an older cursor is refused (start over).
#[utoipa::path(get, path = "/api/notifications/sync", tag = "inbox",
    params(
        ("since" = Option<String>, Query, description = "The last answer's `cursor`; absent: from the start"),
        ("limit" = Option<u32>, Query, description = "1..=500, default 100"),
    ),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Changes", body = SyncPage),
        (status = 400, description = "`since` not a cursor of this hub, or older than the deletions it remembers (start over without it); limit out of range", body = ErrorBody),
    ))]
pub fn sync() {}

/// Your push and email switches for this cradle (any member).
#[utoipa::path(get, path = "/api/cradles/{uuid}/notify", tag = "inbox", operation_id = "notify_prefs_get",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Switches", body = NotifyPrefs)))]
pub fn notify_prefs_get() {}

/// Changes the switches given (any member, for themselves).
#[utoipa::path(post, path = "/api/cradles/{uuid}/notify", tag = "inbox", operation_id = "notify_prefs_set",
    params(("uuid" = String, Path)),
    request_body = NotifyPrefsUpdate,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Saved", body = NotifyPrefsSaved),
        (status = 400, description = "Neither switch given, or not a boolean", body = ErrorBody),
    ))]
pub fn notify_prefs_set() {}
