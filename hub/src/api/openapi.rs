//! `GET /api/openapi.json`: the whole HTTP API as OpenAPI 3.1, generated
//! from the descriptions in `openapi/`.
//!
//! The handlers carry no annotations (they change often and by many
//! hands); each operation is described here instead, next to schema types
//! that mirror the JSON the handler builds. The refusals that come from
//! shared machinery rather than from one handler (bad JSON, login, cradle
//! ownership, throttling, a busy store) are added to every operation they
//! apply to by [`add_shared_refusals`], so no operation can forget one.
//! The `spec_covers_every_route_of_the_router` test keeps the spec and the
//! router in step.

// The items in these modules only describe: the spec is generated from
// them, nothing constructs or calls them.
#[allow(dead_code)]
mod accounts;
#[allow(dead_code)]
mod alerts;
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod cradles;
#[allow(dead_code)]
mod household;
#[allow(dead_code)]
mod hub;
#[allow(dead_code)]
mod inbox;
#[allow(dead_code)]
mod monitoring;
#[allow(dead_code)]
mod push;

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, HeaderBuilder, Ref, RefOr, ResponseBuilder};

use crate::auth::SESSION_COOKIE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cradle Hub",
        description = "The hub's HTTP API: the mobile app's contract (docs: API.md) and the hub's additions. \
                       Times are RFC 3339 UTC with a `Z`. A cradle is called an agent.",
    ),
    paths(
        accounts::register,
        accounts::check_username,
        accounts::login,
        accounts::logout_get,
        accounts::logout,
        accounts::change_password,
        accounts::account,
        accounts::set_email,
        accounts::list_sessions,
        accounts::revoke_session,
        accounts::revoke_other_sessions,
        cradles::register_agent,
        cradles::register_cradle,
        cradles::select_cradle,
        cradles::delete_cradle,
        cradles::list_agents,
        cradles::media_token_get,
        cradles::media_token,
        cradles::mqtt_password_get,
        cradles::mqtt_password_set,
        monitoring::agent_status,
        monitoring::latest_readings,
        monitoring::sensor_history,
        monitoring::crying_status,
        monitoring::direction_status,
        monitoring::live_stream,
        monitoring::video,
        monitoring::recordings,
        alerts::alert_logs,
        alerts::alert_history,
        alerts::alert_detail,
        alerts::alert_frame,
        alerts::resolve_alert,
        alerts::alert_clip,
        alerts::alert_settings_get,
        alerts::alert_settings_set,
        push::push_public_key,
        push::push_subscribe,
        push::push_unsubscribe,
        alerts::control_motor,
        alerts::motor_log,
        alerts::events,
        household::create_invite,
        household::list_invites,
        household::revoke_invite,
        household::accept_invite,
        household::members,
        household::change_role,
        household::remove_member,
        household::activity,
        household::lan_app_view_get,
        household::lan_app_view_set,
        inbox::list,
        inbox::unread_count,
        inbox::read,
        inbox::unread,
        inbox::read_all,
        inbox::sync,
        inbox::notify_prefs_get,
        inbox::notify_prefs_set,
        hub::health,
        hub::metrics,
        hub::openapi_json,
        hub::ca_cert,
        hub::ca_page,
        hub::hub_info,
        hub::hub_qr_svg,
        hub::qr_decode,
    ),
    components(schemas(common::ErrorBody)),
    modifiers(&SecuritySchemes),
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cradle_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "Set by POST /login",
            ))),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The hub's --metrics-token, for Prometheus"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "media_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "From /api/media_token/{uuid}, for <img> and <video> elements",
            ))),
        );
    }
}

/// Routes with a per-client attempt budget (429 with Retry-After).
const THROTTLED: &[&str] = &[
    "/login",
    "/register",
    "/check_username/{username}",
    "/api/account/password",
    "/control_motor/{uuid}",
    "/register_agent",
    "/api/invites/accept",
];

/// Operations a cradle's viewer (or a parent, for the owner's) may not use:
/// `(method, path)`.
const ROLE_LIMITED: &[(&str, &str)] = &[
    ("post", "/control_motor/{uuid}"),
    ("post", "/api/alert_settings/{uuid}"),
    ("post", "/api/alert_logs/{id}/resolve"),
    ("post", "/delete_cradle"),
    ("get", "/api/cradles/{uuid}/mqtt_password"),
    ("post", "/api/cradles/{uuid}/mqtt_password"),
];

/// Routes that never touch the store, so never answer 503 busy.
const STORELESS: &[&str] = &[
    "/api/openapi.json",
    "/ca.crt",
    "/ca",
    "/api/hub_info",
    "/api/hub_qr.svg",
];

/// A shared refusal: its status, component name and description.
struct Refusal {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const BAD_JSON: Refusal = Refusal {
    status: "400",
    name: "BadRequest",
    description: "The body is empty, not JSON or not an object, or a field is missing or invalid (named in the message)",
};
const TOO_LARGE: Refusal = Refusal {
    status: "413",
    name: "PayloadTooLarge",
    description: "The body is larger than 8 MiB",
};
const NOT_JSON: Refusal = Refusal {
    status: "415",
    name: "UnsupportedMediaType",
    description: "A Content-Type other than application/json",
};
const CROSS_SITE: Refusal = Refusal {
    status: "403",
    name: "CrossSite",
    description: "The request came from another site (Origin)",
};
const LOGGED_OUT: Refusal = Refusal {
    status: "401",
    name: "Unauthorized",
    description: "Not logged in (or a bad media token)",
};
const NOT_YOURS: Refusal = Refusal {
    status: "404",
    name: "CradleNotFound",
    description: "No such cradle, or someone else's (indistinguishable on purpose)",
};
const ROLE: Refusal = Refusal {
    status: "403",
    name: "RoleForbids",
    description: "Your role on this cradle does not allow it (viewers watch; parents also rock, resolve and change alert settings; the owner manages the household)",
};
const THROTTLE: Refusal = Refusal {
    status: "429",
    name: "TooManyRequests",
    description: "Too many attempts: try again after Retry-After seconds",
};
const BUSY: Refusal = Refusal {
    status: "503",
    name: "Busy",
    description: "The hub is busy (its store queue is full): try again",
};

/// Adds the refusals of the shared extractors and layers, as references to
/// response components, to each operation they apply to; an operation that
/// describes one of those statuses itself keeps its own description.
fn add_shared_refusals(spec: &mut utoipa::openapi::OpenApi) {
    let components = spec.components.get_or_insert_with(Default::default);
    for refusal in [
        &BAD_JSON,
        &TOO_LARGE,
        &NOT_JSON,
        &CROSS_SITE,
        &LOGGED_OUT,
        &NOT_YOURS,
        &ROLE,
        &THROTTLE,
        &BUSY,
    ] {
        let mut response = ResponseBuilder::new()
            .description(refusal.description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("Error"))),
            );
        if refusal.status == THROTTLE.status {
            response = response.header(
                "retry-after",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds"))
                    .build(),
            );
        }
        components
            .responses
            .insert(refusal.name.to_owned(), RefOr::T(response.build()));
    }
    for (path, item) in spec.paths.paths.iter_mut() {
        let operations = [
            (&mut item.get, "get", false),
            (&mut item.post, "post", true),
            (&mut item.delete, "delete", true),
            (&mut item.put, "put", true),
            (&mut item.patch, "patch", true),
        ];
        for (operation, method, changes_state) in operations {
            let Some(operation) = operation.as_mut() else {
                continue;
            };
            let json_body = operation
                .request_body
                .as_ref()
                .is_some_and(|body| match body {
                    RefOr::T(body) => body.content.contains_key("application/json"),
                    RefOr::Ref(_) => false,
                });
            let logged_in = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            if json_body {
                add(operation, &BAD_JSON);
                add(operation, &TOO_LARGE);
                add(operation, &NOT_JSON);
            }
            if changes_state {
                add(operation, &CROSS_SITE);
            }
            if logged_in {
                add(operation, &LOGGED_OUT);
                if path.contains("{uuid}") {
                    add(operation, &NOT_YOURS);
                }
            }
            if ROLE_LIMITED.contains(&(method, path.as_str())) {
                add(operation, &ROLE);
            }
            if THROTTLED.contains(&path.as_str()) {
                add(operation, &THROTTLE);
            }
            if !STORELESS.contains(&path.as_str()) {
                add(operation, &BUSY);
            }
        }
    }
}

fn add(operation: &mut Operation, refusal: &Refusal) {
    operation
        .responses
        .responses
        .entry(refusal.status.to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(refusal.name)));
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut spec = ApiDoc::openapi();
    spec.info.version = env!("CARGO_PKG_VERSION").to_owned();
    spec.info.license = None;
    spec.info.contact = None;
    add_shared_refusals(&mut spec);
    spec
}

static SPEC_JSON: LazyLock<String> = LazyLock::new(|| {
    document()
        .to_json()
        .expect("the OpenAPI document serializes")
});

pub async fn spec() -> Response {
    let mut res = SPEC_JSON.as_str().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];

    /// `(path, method)` of every `.route("...", get(..).post(..))` call in
    /// the router's source: axum's router cannot list its routes, and its
    /// `{param}` syntax is OpenAPI's.
    fn routed(source: &str) -> BTreeSet<(String, String)> {
        let mut routes = BTreeSet::new();
        for call in source.split(".route(").skip(1) {
            let call = call.trim_start();
            let Some(rest) = call.strip_prefix('"') else {
                continue;
            };
            let Some((path, rest)) = rest.split_once('"') else {
                continue;
            };
            let mut depth = 1usize;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let method_routers = &rest[..end];
            for method in METHODS {
                let needle = format!("{method}(");
                let found = method_routers.match_indices(&needle).any(|(i, _)| {
                    // `get(` or `routing::get(` as a method router, not
                    // `settings::get` or `forget(`.
                    let before = &method_routers[..i];
                    before.ends_with("routing::")
                        || !before
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                });
                if found {
                    routes.insert((path.to_owned(), (*method).to_owned()));
                }
            }
        }
        routes
    }

    fn specified() -> BTreeSet<(String, String)> {
        let spec = serde_json::to_value(document()).unwrap();
        let mut ops = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if METHODS.contains(&method.as_str()) {
                    ops.insert((path.clone(), method.clone()));
                }
            }
        }
        ops
    }

    #[test]
    fn route_parser_reads_chained_and_multiline_routes() {
        let source = r#"
            .route("/a/{uuid}", get(x::get).post(x::set))
            .route(
                "/b",
                post(b::forget),
            )
            .route("/c", get(c::list))
            .route("/d/{id}", axum::routing::delete(d::end_one))"#;
        let expected: BTreeSet<_> = [
            ("/a/{uuid}", "get"),
            ("/a/{uuid}", "post"),
            ("/b", "post"),
            ("/c", "get"),
            ("/d/{id}", "delete"),
        ]
        .into_iter()
        .map(|(p, m)| (p.to_owned(), m.to_owned()))
        .collect();
        assert_eq!(routed(source), expected);
    }

    #[test]
    fn spec_covers_every_route_of_the_router() {
        let routes = routed(include_str!("mod.rs"));
        assert!(routes.len() > 40, "the route parser found only {routes:?}");
        let spec = specified();
        let unspecified: Vec<_> = routes.difference(&spec).collect();
        assert!(
            unspecified.is_empty(),
            "routed in hub/src/api/mod.rs but missing from the OpenAPI spec (describe them in hub/src/api/openapi/): {unspecified:?}"
        );
        let unrouted: Vec<_> = spec.difference(&routes).collect();
        assert!(
            unrouted.is_empty(),
            "in the OpenAPI spec but not routed in hub/src/api/mod.rs: {unrouted:?}"
        );
    }

    #[test]
    fn every_operation_documents_its_refusals_with_the_error_schema() {
        let spec = serde_json::to_value(document()).unwrap();
        assert_eq!(spec["openapi"], "3.1.0");
        let error_ref = "#/components/schemas/Error";
        assert_eq!(
            spec["components"]["responses"]["Unauthorized"]["content"]["application/json"]["schema"]
                ["$ref"],
            error_ref
        );
        let login = &spec["paths"]["/login"]["post"]["responses"];
        for status in ["400", "401", "403", "413", "415", "429", "503"] {
            assert!(login.get(status).is_some(), "/login lacks {status}");
        }
        // The handler's own 401 (wrong password) keeps its description.
        assert_eq!(login["401"]["description"], "Wrong name or password");
        let status = &spec["paths"]["/api/agent_status/{uuid}"]["get"]["responses"];
        for code in ["200", "401", "404", "503"] {
            assert!(status.get(code).is_some(), "agent_status lacks {code}");
        }
        assert!(
            status.get("415").is_none(),
            "a route without a body cannot answer 415"
        );
        assert_eq!(
            spec["components"]["securitySchemes"]["cradle_session"],
            serde_json::json!({"type": "apiKey", "in": "cookie", "name": "cradle_session", "description": "Set by POST /login"})
        );
    }
}
