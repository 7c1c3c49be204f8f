//! Web Push: the hub's VAPID key and each device's subscription.

use utoipa::ToSchema;

use super::common::{ErrorBody, SuccessOnly};

#[derive(ToSchema)]
pub struct PushPublicKey {
    /// The VAPID public key: base64url of the uncompressed P-256 point, for
    /// `pushManager.subscribe({applicationServerKey})`.
    pub public_key: String,
}

#[derive(ToSchema)]
pub struct PushKeys {
    /// The browser's P-256 key: base64url of the 65-byte uncompressed point.
    #[schema(min_length = 87, max_length = 88)]
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    #[schema(min_length = 22, max_length = 24)]
    pub auth: String,
}

/// A standard Web Push subscription (`PushSubscription.toJSON()`), plus
/// the language its notifications are written in.
#[derive(ToSchema)]
pub struct PushSubscription {
    /// `https://` on a public host name, port 443 (a push service on the
    /// internet); anything else is refused with 400.
    #[schema(pattern = "^https://", max_length = 2048)]
    pub endpoint: String,
    pub keys: PushKeys,
    /// `en` or `ko`; default: the request's language (`Accept-Language`).
    pub lang: Option<String>,
}

#[derive(ToSchema)]
pub struct PushUnsubscribe {
    pub endpoint: String,
}

#[derive(ToSchema)]
pub struct PushUnsubscribed {
    /// Always `true`.
    pub success: bool,
    /// Whether this account had subscribed the endpoint.
    pub removed: bool,
}

/// The key devices subscribe with.
#[utoipa::path(get, path = "/api/push/public_key", tag = "settings",
    security(("cradle_session" = [])),
    responses((status = 200, description = "The VAPID public key", body = PushPublicKey)))]
pub fn push_public_key() {}

/// Pushes alerts of every cradle the user can see to this device (RFC 8291
/// aes128gcm, VAPID). The payload, once decrypted: `{"title", "body",
/// "alert_id", "agent_uuid", "alert_type", "url": "/#/alerts/<id>",
/// "tag": "alert-<id>", "lang"}`. An endpoint belongs to the account that
/// subscribed it last.
#[utoipa::path(post, path = "/api/push_subscription", tag = "settings", operation_id = "push_subscription",
    request_body = PushSubscription,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Saved", body = SuccessOnly),
        (status = 400, description = "A field missing or invalid (named), or an endpoint that is not a public https push service", body = ErrorBody),
    ))]
pub fn push_subscribe() {}

/// This device gets no more pushes for this account.
#[utoipa::path(delete, path = "/api/push_subscription", tag = "settings",
    request_body = PushUnsubscribe,
    security(("cradle_session" = [])),
    responses((status = 200, description = "Done (also when there was nothing to remove)", body = PushUnsubscribed)))]
pub fn push_unsubscribe() {}
