//! `/register`, `/check_username/{username}`, `/login`, `/logout`, the
//! password change, the account and its email address (`/api/account`) and
//! the session list (`/api/sessions`).

use utoipa::ToSchema;

use super::common::{ErrorBody, MessageOk};

#[derive(ToSchema)]
pub struct Credentials {
    #[schema(min_length = 1)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
}

#[derive(ToSchema)]
pub struct NewAccount {
    /// Up to 64 characters, no surrounding spaces or control characters.
    #[schema(min_length = 1, max_length = 64, pattern = r"^\S(.*\S)?$")]
    pub username: String,
    #[schema(min_length = 4)]
    pub password: String,
}

#[derive(ToSchema)]
pub struct UsernameExists {
    pub exists: bool,
}

#[derive(ToSchema)]
pub struct UserRef {
    pub id: i64,
    pub username: String,
}

#[derive(ToSchema)]
pub struct LoginOk {
    /// Always `true`.
    pub success: bool,
    pub message: String,
    pub user: UserRef,
}

#[derive(ToSchema)]
pub struct PasswordChange {
    #[schema(min_length = 1)]
    pub current_password: String,
    #[schema(min_length = 1)]
    pub new_password: String,
}

/// One login of the current user (a browser or the app on one device).
#[derive(ToSchema)]
pub struct SessionInfo {
    pub id: String,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    #[schema(required = true)]
    pub ip: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_seen_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The session this request came with.
    pub current: bool,
}

/// The signed-in account.
#[derive(ToSchema)]
pub struct Account {
    pub id: i64,
    pub username: String,
    /// Where alert emails go; `null` for none.
    #[schema(required = true, format = Email)]
    pub email: Option<String>,
    /// The hub has a mail server (`[email]` in its config file): without
    /// one, no email is sent, though an address may still be saved.
    pub email_available: bool,
}

#[derive(ToSchema)]
pub struct EmailChange {
    /// The address alert emails go to; `null` or `""` removes it. Surrounding
    /// spaces are ignored.
    #[schema(required = true, max_length = 254, format = Email)]
    pub email: Option<String>,
}

#[derive(ToSchema)]
pub struct EmailChanged {
    /// Always `true`.
    pub success: bool,
    /// The address as saved, or `null` once removed.
    #[schema(required = true, format = Email)]
    pub email: Option<String>,
    pub message: String,
}

#[derive(ToSchema)]
pub struct RevokedOthers {
    /// Always `true`.
    pub success: bool,
    /// How many other sessions ended.
    pub revoked: i64,
    pub message: String,
}

/// Creates an account.
#[utoipa::path(post, path = "/register", tag = "accounts",
    request_body = NewAccount,
    responses(
        (status = 201, description = "Account created", body = MessageOk),
        (status = 400, description = "A field is missing, the name is invalid or taken, or the password too short", body = ErrorBody),
    ))]
pub fn register() {}

/// Whether an account of that name exists.
#[utoipa::path(get, path = "/check_username/{username}", tag = "accounts",
    params(("username" = String, Path)),
    responses((status = 200, description = "Existence of the name", body = UsernameExists)))]
pub fn check_username() {}

/// Logs in: sets the `cradle_session` cookie.
#[utoipa::path(post, path = "/login", tag = "accounts",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in", body = LoginOk,
            headers(("set-cookie" = String, description = "`cradle_session=...; Path=/; HttpOnly; SameSite=Lax`"))),
        (status = 400, description = "A field is missing", body = ErrorBody),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
    ))]
pub fn login() {}

/// Logs out (also without a session: never an error) and clears the cookie.
#[utoipa::path(get, path = "/logout", tag = "accounts", operation_id = "logout_get",
    responses((status = 200, description = "Logged out", body = MessageOk)))]
pub fn logout_get() {}

/// Logs out (also without a session: never an error) and clears the cookie.
#[utoipa::path(post, path = "/logout", tag = "accounts", operation_id = "logout",
    responses((status = 200, description = "Logged out", body = MessageOk)))]
pub fn logout() {}

/// Changes the password of the logged-in user.
#[utoipa::path(post, path = "/api/account/password", tag = "accounts",
    request_body = PasswordChange,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Password changed", body = MessageOk),
        (status = 400, description = "A field is missing or the new password too short", body = ErrorBody),
        (status = 401, description = "Not logged in, or the current password is wrong", body = ErrorBody),
    ))]
pub fn change_password() {}

/// The signed-in account, its email address, and whether the hub can send email.
#[utoipa::path(get, path = "/api/account", tag = "accounts",
    security(("cradle_session" = [])),
    responses((status = 200, description = "The account", body = Account)))]
pub fn account() {}

/// Sets or removes the address the user's alert emails go to. Which cradles
/// email them is each cradle's `email_notifications_enabled` alert setting
/// and the member's own switch (`/api/cradles/{uuid}/notify`).
#[utoipa::path(post, path = "/api/account/email", tag = "accounts",
    request_body = EmailChange,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Address saved or removed", body = EmailChanged),
        (status = 400, description = "`email` is missing or not an email address", body = ErrorBody),
    ))]
pub fn set_email() {}

/// The current user's sessions.
#[utoipa::path(get, path = "/api/sessions", tag = "accounts",
    security(("cradle_session" = [])),
    responses((status = 200, description = "Sessions", body = Vec<SessionInfo>)))]
pub fn list_sessions() {}

/// Ends one of the current user's sessions.
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "accounts",
    params(("id" = String, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Session ended", body = MessageOk),
        (status = 404, description = "No such session of this user", body = ErrorBody),
    ))]
pub fn revoke_session() {}

/// Ends every session of the current user except this one.
#[utoipa::path(post, path = "/api/sessions/revoke_others", tag = "accounts",
    security(("cradle_session" = [])),
    responses((status = 200, description = "Other sessions ended", body = RevokedOthers)))]
pub fn revoke_other_sessions() {}
