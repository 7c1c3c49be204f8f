//! The household: invites, joining by code, members and roles, ownership,
//! the activity log and the owner's app live-view switch.

use utoipa::ToSchema;

use super::common::{ErrorBody, SuccessOnly};

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum MemberRole {
    Parent,
    Viewer,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Parent,
    Viewer,
}

#[derive(ToSchema)]
pub struct InviteRequest {
    /// `parent`: watch, rock, resolve alerts, change alert settings;
    /// `viewer`: watch and see alerts only.
    pub role: MemberRole,
}

#[derive(ToSchema)]
pub struct Invite {
    pub id: i64,
    /// Six digits.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    pub role: MemberRole,
    /// Opens the hub's join screen with the code filled in (`…/#/join/<code>`).
    pub join_url: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Ten minutes after it was made.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

#[derive(ToSchema)]
pub struct AcceptInvite {
    /// Six digits; spaces and dashes are ignored.
    #[schema(min_length = 1)]
    pub code: String,
}

#[derive(ToSchema)]
pub struct Joined {
    /// Always `true`.
    pub success: bool,
    pub message: String,
    /// The cradle joined.
    pub uuid: String,
    pub role: MemberRole,
}

#[derive(ToSchema)]
pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// When they joined (for the owner: when the cradle was claimed).
    #[schema(format = DateTime)]
    pub added_at: String,
    /// This is the requesting user.
    pub you: bool,
}

#[derive(ToSchema)]
pub struct RoleChange {
    /// `owner` hands the cradle over: the previous owner stays as a parent.
    pub role: Role,
}

#[derive(ToSchema)]
pub struct ActivityEntry {
    pub id: i64,
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(required = true)]
    pub user_id: Option<i64>,
    #[schema(required = true)]
    pub username: Option<String>,
    /// `rocked`, `stopped`, `resolved`, `settings_changed`, `invited`,
    /// `invite_revoked`, `joined`, `role_changed`, `ownership_transferred`,
    /// `removed`, `left`, `lan_app_view_changed`.
    pub action: String,
    /// Facts of the action (the alert resolved, the fields changed, the
    /// role given, ...).
    pub detail: serde_json::Value,
}

#[derive(ToSchema)]
pub struct ActivityPage {
    /// Newest first.
    pub items: Vec<ActivityEntry>,
    /// Pass as `before` for the next page; `null` on the last one.
    #[schema(required = true)]
    pub next_before: Option<i64>,
}

#[derive(ToSchema)]
pub struct LanAppView {
    pub enabled: bool,
}

#[derive(ToSchema)]
pub struct LanAppViewSet {
    /// Always `true`.
    pub success: bool,
    pub enabled: bool,
}

/// Makes an invite to this cradle (owner only).
#[utoipa::path(post, path = "/api/cradles/{uuid}/invites", tag = "household",
    params(("uuid" = String, Path)),
    request_body = InviteRequest,
    security(("cradle_session" = [])),
    responses(
        (status = 201, description = "A code, valid once for ten minutes", body = Invite),
        (status = 403, description = "Only the owner invites", body = ErrorBody),
    ))]
pub fn create_invite() {}

/// The invites of this cradle that can still be used (owner only).
#[utoipa::path(get, path = "/api/cradles/{uuid}/invites", tag = "household",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Open invites, newest first", body = Vec<Invite>),
        (status = 403, description = "Only the owner sees invites", body = ErrorBody),
    ))]
pub fn list_invites() {}

/// Revokes an open invite (owner only).
#[utoipa::path(delete, path = "/api/cradles/{uuid}/invites/{id}", tag = "household",
    params(("uuid" = String, Path), ("id" = i64, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Revoked", body = SuccessOnly),
        (status = 403, description = "Only the owner revokes", body = ErrorBody),
        (status = 404, description = "No open invite of this cradle by that id", body = ErrorBody),
    ))]
pub fn revoke_invite() {}

/// Joins the cradle an invite code was made for, with its role.
#[utoipa::path(post, path = "/api/invites/accept", tag = "household",
    request_body = AcceptInvite,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Joined", body = Joined),
        (status = 400, description = "Not six digits", body = ErrorBody),
        (status = 404, description = "No usable invite has this code (wrong, expired, used or revoked); counts as a wrong try", body = ErrorBody),
        (status = 409, description = "You already own or are a member of that cradle", body = ErrorBody),
    ))]
pub fn accept_invite() {}

/// The cradle's owner and members (any member).
#[utoipa::path(get, path = "/api/cradles/{uuid}/members", tag = "household",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "The owner first, then members by when they joined", body = Vec<Member>)))]
pub fn members() {}

/// Changes a member's role, or hands the cradle over with `owner` (owner only).
#[utoipa::path(patch, path = "/api/cradles/{uuid}/members/{user_id}", tag = "household",
    params(("uuid" = String, Path), ("user_id" = i64, Path)),
    request_body = RoleChange,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Changed", body = SuccessOnly),
        (status = 403, description = "Only the owner changes roles", body = ErrorBody),
        (status = 404, description = "Not a member of this cradle", body = ErrorBody),
        (status = 409, description = "The owner's own role changes only by handing the cradle over", body = ErrorBody),
    ))]
pub fn change_role() {}

/// Removes a member (owner), or leaves the cradle (a member, their own id).
#[utoipa::path(delete, path = "/api/cradles/{uuid}/members/{user_id}", tag = "household",
    params(("uuid" = String, Path), ("user_id" = i64, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Removed", body = SuccessOnly),
        (status = 403, description = "Only the owner removes someone else", body = ErrorBody),
        (status = 404, description = "Not a member of this cradle", body = ErrorBody),
        (status = 409, description = "The owner cannot leave: hand the cradle over first", body = ErrorBody),
    ))]
pub fn remove_member() {}

/// Who did what to the cradle, newest first (any member).
#[utoipa::path(get, path = "/api/cradles/{uuid}/activity", tag = "household",
    params(
        ("uuid" = String, Path),
        ("before" = Option<i64>, Query, description = "The previous page's `next_before`"),
        ("limit" = Option<u32>, Query, description = "1..=100, default 50"),
    ),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "A page", body = ActivityPage),
        (status = 400, description = "`before` or `limit` does not parse or is out of range", body = ErrorBody),
    ))]
pub fn activity() {}

/// Whether the Smart Cradle app's live view works without its cookie from
/// the address of a household device (owner only).
#[utoipa::path(get, path = "/api/cradles/{uuid}/lan_app_view", tag = "household",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "The switch", body = LanAppView),
        (status = 403, description = "Only the owner", body = ErrorBody),
    ))]
pub fn lan_app_view_get() {}

/// Turns the app live view on this network on or off (owner only). On, a
/// request to `/stream/<uuid>` or `/api/alert_frame/<id>` without cookie or
/// token is served when it comes from the address of a device with a live
/// session of a member of the cradle (logged each time): anyone else behind
/// that address (a shared Wi-Fi's NAT) could watch too.
#[utoipa::path(post, path = "/api/cradles/{uuid}/lan_app_view", tag = "household",
    params(("uuid" = String, Path)),
    request_body = LanAppView,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Set", body = LanAppViewSet),
        (status = 403, description = "Only the owner", body = ErrorBody),
    ))]
pub fn lan_app_view_set() {}
