//! Bad input gets a clear 4xx in the contract's error shape; browsers'
//! cross-site requests are refused; the password hash cannot be turned
//! against the hub; every response carries the security headers.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Client, TestHub};

fn assert_error_shape(route: &str, body: &Value) {
    assert_eq!(body["success"], false, "{route}: {body}");
    assert_eq!(body["status"], "error", "{route}: {body}");
    let message = body["message"].as_str().unwrap_or("");
    assert!(
        !message.is_empty(),
        "{route}: a message a person can read: {body}"
    );
    assert_eq!(body["error"], body["message"], "{route}: {body}");
}

/// Every route that takes a JSON body, as (path, needs a login).
const JSON_ROUTES: [(&str, bool); 10] = [
    ("/register", false),
    ("/login", false),
    ("/register_agent", false),
    ("/register_cradle", true),
    ("/select_cradle", true),
    ("/delete_cradle", true),
    ("/control_motor/c1", true),
    ("/api/alert_settings/c1", true),
    ("/api/cradles/c1/mqtt_password", true),
    ("/api/account/password", true),
];

#[tokio::test]
async fn empty_truncated_or_non_object_json_is_400_on_every_json_route() {
    let hub = TestHub::start().await;
    let mut ann = hub.user("ann").await;
    hub.cradle_for(&mut ann, "c1").await;
    let anonymous = hub.client();
    let bodies = [
        "",
        "   \n",
        "{\"username\": \"ann\"",
        "[]",
        "42",
        "null",
        "\"text\"",
    ];
    for (route, login) in JSON_ROUTES {
        let client = if login { &ann } else { &anonymous };
        for body in bodies {
            let (status, reply, _) = client
                .send(
                    client
                        .raw(Method::POST, route)
                        .header("content-type", "application/json")
                        .body(body),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{route} with {body:?}: {reply}"
            );
            assert_error_shape(route, &reply);
        }
    }
    // The settings are unchanged by all that.
    let (status, settings) = ann.get("/api/alert_settings/c1").await;
    assert_eq!(status, StatusCode::OK, "{settings}");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_and_a_missing_content_type_is_accepted() {
    let hub = TestHub::start().await;
    let ann = hub.user("ann").await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, reply, _) = ann
            .send(
                ann.raw(Method::POST, "/register_agent")
                    .header("content-type", content_type)
                    .body(r#"{"uuid": "c9", "ip": "10.0.0.9"}"#),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}: {reply}"
        );
        assert_error_shape("/register_agent", &reply);
    }
    // The QR route takes pictures, not forms or text.
    let (status, reply, _) = ann
        .send(
            ann.raw(Method::POST, "/api/qr/decode")
                .header("content-type", "text/plain")
                .body("cradle-1"),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{reply}");
    assert_error_shape("/api/qr/decode", &reply);
    // Tools that send no Content-Type at all keep working.
    let (status, reply, _) = ann
        .send(
            ann.raw(Method::POST, "/register_agent")
                .body(r#"{"uuid": "c9", "ip": "10.0.0.9"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

#[tokio::test]
async fn register_agent_without_ip_is_400_as_the_contract_says() {
    let hub = TestHub::start().await;
    let c = hub.client();
    for body in [
        json!({"uuid": "c1"}),
        json!({"uuid": "c1", "ip": ""}),
        json!({"uuid": "c1", "ip": 7}),
    ] {
        let (status, reply) = c.post("/register_agent", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {reply}");
        assert_eq!(reply["status"], "error", "{reply}");
    }
    let (status, _) = c
        .post("/register_agent", json!({"uuid": "c1", "ip": "10.0.0.7"}))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn state_changing_requests_from_another_site_are_403() {
    let hub = TestHub::start().await;
    let mut ann = hub.user("ann").await;
    hub.cradle_for(&mut ann, "c1").await;
    let own_origin = hub.hub.url();
    let motor = |origin: Option<&str>, site: Option<&str>| {
        let mut r = ann
            .raw(Method::POST, "/control_motor/c1")
            .json(&json!({"action": "stop"}));
        if let Some(o) = origin {
            r = r.header("origin", o.to_owned());
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s.to_owned());
        }
        r
    };
    for (origin, site) in [
        (Some("http://evil.example"), None),
        (Some("null"), None),
        (None, Some("cross-site")),
    ] {
        let (status, reply, _) = ann.send(motor(origin, site)).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{origin:?} {site:?}: {reply}"
        );
        assert_error_shape("/control_motor", &reply);
    }
    // The hub's own page, and clients that send no Origin, are not refused
    // (the motor answers for itself: the cradle is not connected).
    for origin in [Some(own_origin.as_str()), None] {
        let (status, reply, _) = ann.send(motor(origin, Some("same-origin"))).await;
        assert_ne!(status, StatusCode::FORBIDDEN, "{origin:?}: {reply}");
    }
    // Reading is not a state change.
    let (status, _, _) = ann
        .send(
            ann.raw(Method::GET, "/api/agents")
                .header("origin", "http://evil.example"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let hub = TestHub::start().await;
    let ann = hub.user("ann").await;
    for path in ["/", "/api/agents", "/no-such-api", "/health"] {
        let res = ann.raw(Method::GET, path).send().await.expect("request");
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "img-src 'self' data: blob:",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        let permissions = h["permissions-policy"].to_str().unwrap();
        assert!(permissions.contains("camera=(self)"), "{permissions}");
        assert!(permissions.contains("microphone=()"), "{permissions}");
    }
}

#[tokio::test]
async fn signing_up_is_throttled_per_address() {
    let hub = TestHub::start().await;
    let c = hub.client();
    let mut created = 0;
    let mut refused = None;
    for i in 0..40 {
        let (status, body, headers) = c
            .send(
                c.raw(Method::POST, "/register")
                    .json(&json!({"username": format!("user{i}"), "password": "pass-word"})),
            )
            .await;
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(headers.contains_key("retry-after"), "{body}");
                assert_error_shape("/register", &body);
                refused = Some(i);
                break;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(
        created, 20,
        "a family's accounts fit; then {refused:?} is refused"
    );
}

#[tokio::test]
async fn username_lookups_are_throttled_per_address() {
    let hub = TestHub::start().await;
    let c = hub.client();
    let mut allowed = 0;
    for i in 0..60 {
        let (status, body) = c.get(&format!("/check_username/name{i}")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        allowed += 1;
    }
    assert!((30..=32).contains(&allowed), "{allowed} lookups before 429");
}

/// Guesses sent all at once are counted before any hash finishes, so only
/// the free ones are checked; the rest wait for the throttle.
#[tokio::test]
async fn parallel_password_guesses_all_count() {
    let hub = TestHub::start().await;
    hub.user("ann").await;
    let guesses = (0..12).map(|i| {
        let c = Client::new(&hub.hub.url());
        async move {
            c.post(
                "/login",
                json!({"username": "ann", "password": format!("guess-{i}")}),
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, throttled), (5, 7), "{statuses:?}");
    // A name far longer than any valid one is refused like a wrong one.
    let c = hub.client();
    let (status, body) = c
        .post(
            "/login",
            json!({"username": "x".repeat(100_000), "password": "p"}),
        )
        .await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
        "{status}: {body}"
    );
}

/// Refusals by the router or an extractor (before any handler) have the
/// same JSON shape as every other error.
#[tokio::test]
async fn the_routers_own_refusals_are_json_too() {
    let hub = TestHub::start().await;
    let mut ann = hub.user("ann").await;
    hub.cradle_for(&mut ann, "c1").await;
    let cases = [
        (
            Method::GET,
            "/api/cradles/c1/motor_log?limit=abc",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/cradles/c1/motor_log?limit=-1",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/hub_qr.svg?text=a&text=b",
            StatusCode::BAD_REQUEST,
        ),
        (Method::GET, "/api/events?lang=xx", StatusCode::BAD_REQUEST),
        (Method::PUT, "/login", StatusCode::METHOD_NOT_ALLOWED),
    ];
    for (method, path, expected) in cases {
        let (status, body, headers) = ann.send(ann.raw(method.clone(), path)).await;
        assert_eq!(status, expected, "{method} {path}: {body}");
        assert_eq!(
            headers["content-type"], "application/json",
            "{method} {path}"
        );
        assert_error_shape(path, &body);
    }
    let too_big = vec![0u8; 9 * 1024 * 1024];
    let (status, body, _) = ann
        .send(
            ann.raw(Method::POST, "/api/qr/decode")
                .header("content-type", "image/jpeg")
                .body(too_big),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_error_shape("/api/qr/decode", &body);
}
