//! Every POST route of a real hub, over HTTP, with arbitrary bodies,
//! content types and origins: never a 5xx, and every refusal in the one
//! error shape clients read (`success`/`status`/`message`/`error`).

use std::collections::BTreeMap;
use std::time::Duration;

use cradle_hub::config::Settings;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use reqwest::StatusCode;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

use crate::config;

/// The cradle whose uuid is in routes' paths: connected over MQTT, so a
/// valid motor command reaches it.
const MAIN: &str = "props-cradle";
/// A second cradle of the same owner. Bodies may name it (so deleting,
/// claiming and selecting really happen), and its MQTT password may be
/// switched, without cutting off the main one.
const SPARE: &str = "props-spare";
const PASSWORD: &str = "pass-word";

/// The POST routes of the router, read from its source so that a route
/// added later is covered (or this test is told about it).
fn post_routes() -> Vec<String> {
    let source = include_str!("../../src/api/mod.rs");
    let routes: Vec<String> = source
        .split(".route(")
        .skip(1)
        .filter(|chunk| chunk.contains("post("))
        .filter_map(|chunk| chunk.split('"').nth(1).map(str::to_owned))
        .collect();
    assert!(
        routes.len() >= 10 && routes.iter().any(|r| r == "/login"),
        "could not read the POST routes from api/mod.rs: {routes:?}"
    );
    routes
}

/// A path to request for `route`: parameters name real things.
fn concrete(route: &str) -> String {
    let uuid = if route.contains("mqtt_password") {
        SPARE
    } else {
        MAIN
    };
    route.replace("{uuid}", uuid).replace("{id}", "1")
}

/// Field names the handlers read, and some they do not.
const KEYS: [&str; 26] = [
    "username",
    "password",
    "current_password",
    "new_password",
    "uuid",
    "cradle_uuid",
    "ip",
    "action",
    "required",
    "max_temperature",
    "abnormal_position_timeout",
    "crying_duration_threshold",
    "push_notifications_enabled",
    "email_notifications_enabled",
    "offline_alert_enabled",
    "offline_after",
    "camera_silent_after",
    "max_rock_minutes",
    "soothing_enabled",
    "soothe_after",
    "soothe_minutes",
    "endpoint",
    "keys",
    "p256dh",
    "auth",
    "__proto__",
];

const STRINGS: [&str; 16] = [
    SPARE,
    "start",
    "stop",
    "START",
    "",
    " ",
    "10.0.0.7",
    "::1",
    "999.1.1.1",
    "https://push.example/endpoint",
    "javascript:alert(1)",
    "2026-11-22T20:56:17Z",
    "인식 안됨",
    "\u{0}",
    "../../etc/passwd",
    "' OR 1=1 --",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (-100i64..1000).prop_map(Value::from),
        proptest::sample::select(&STRINGS[..]).prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        "[a-z0-9]{200,300}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 20, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(proptest::sample::select(&KEYS[..]), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let object = btree_map(proptest::sample::select(&KEYS[..]), json(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect()));
    prop_oneof![
        6 => object.prop_map(|v| v.to_string().into_bytes()),
        2 => json().prop_map(|v| v.to_string().into_bytes()),
        1 => (json(), any::<usize>()).prop_map(|(v, cut)| {
            let b = v.to_string().into_bytes();
            b[..cut % (b.len() + 1)].to_vec()
        }),
        2 => vec(any::<u8>(), 0..256),
        1 => Just(Vec::new()),
    ]
}

/// A body the route accepts, to be damaged field by field: random
/// objects alone rarely get past the first missing field.
fn template(route: &str) -> Value {
    match route {
        "/register" | "/login" => json!({"username": "props-user", "password": "props-pass"}),
        // Changing to the same password keeps the shared session's login valid.
        "/api/account/password" => {
            json!({"current_password": PASSWORD, "new_password": PASSWORD})
        }
        "/register_agent" => json!({"uuid": SPARE, "ip": "10.0.0.8"}),
        "/register_cradle" => json!({"cradle_uuid": SPARE}),
        "/select_cradle" | "/delete_cradle" => json!({"uuid": SPARE}),
        r if r.starts_with("/control_motor/") => json!({"action": "stop"}),
        r if r.ends_with("/mqtt_password") => json!({"required": true}),
        r if r.starts_with("/api/alert_settings/") => json!({
            "max_temperature": 38.0,
            "abnormal_position_timeout": 30,
            "crying_duration_threshold": 30,
            "push_notifications_enabled": true,
            "email_notifications_enabled": false,
            "offline_alert_enabled": true,
            "offline_after": 120,
            "max_rock_minutes": 10,
            "soothing_enabled": false,
            "soothe_after": 60,
            "soothe_minutes": 5,
        }),
        "/api/push_subscription" => json!({
            "endpoint": "https://fcm.googleapis.com/fcm/send/props",
            "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"},
        }),
        _ => json!({}),
    }
}

#[derive(Debug, Clone, Copy)]
enum Edit {
    Keep,
    Replace,
    Remove,
}

fn near_valid(route: &str) -> impl Strategy<Value = Vec<u8>> + use<> {
    let template = template(route);
    let fields = template.as_object().map_or(0, |m| m.len());
    let edit = prop_oneof![
        3 => Just(Edit::Keep),
        1 => Just(Edit::Replace),
        1 => Just(Edit::Remove),
    ];
    (
        vec((edit, scalar()), fields),
        btree_map(proptest::sample::select(&KEYS[..]), scalar(), 0..2),
    )
        .prop_map(move |(edits, extra)| {
            let mut object = template.as_object().cloned().unwrap_or_default();
            let keys: Vec<String> = object.keys().cloned().collect();
            for (key, (edit, value)) in keys.into_iter().zip(edits) {
                match edit {
                    Edit::Keep => {}
                    Edit::Replace => {
                        object.insert(key, value);
                    }
                    Edit::Remove => {
                        object.remove(&key);
                    }
                }
            }
            for (key, value) in extra {
                object.entry(key).or_insert(value);
            }
            Value::Object(object).to_string().into_bytes()
        })
}

const CONTENT_TYPES: [Option<&str>; 10] = [
    Some("application/json"),
    Some("application/json"),
    Some("application/json"),
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    None,
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some("image/jpeg"),
    Some("multipart/form-data; boundary=x"),
];

#[derive(Debug, Clone, Copy)]
enum Origin {
    None,
    Same,
    Foreign,
    Null,
}

#[derive(Debug, Clone)]
struct Case {
    route: usize,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    origin: Origin,
    logged_in: bool,
}

fn case(routes: &[String]) -> impl Strategy<Value = Case> {
    let routes = routes.to_vec();
    (0..routes.len())
        .prop_flat_map(move |route| {
            let body = prop_oneof![
                3 => near_valid(&routes[route]).boxed(),
                2 => body().boxed(),
            ];
            (Just(route), body)
        })
        .prop_flat_map(|(route, body)| {
            (
                Just(route),
                Just(body),
                proptest::sample::select(&CONTENT_TYPES[..]),
                prop_oneof![
                    8 => Just(Origin::None),
                    1 => Just(Origin::Same),
                    1 => Just(Origin::Foreign),
                    1 => Just(Origin::Null),
                ],
                prop_oneof![5 => Just(true), 1 => Just(false)],
            )
        })
        .prop_map(|(route, body, content_type, origin, logged_in)| Case {
            route,
            body,
            content_type,
            origin,
            logged_in,
        })
}

struct Hub {
    base: String,
    http: reqwest::Client,
    cookie: String,
    _cradle: tokio::task::JoinHandle<()>,
    _hub: cradle_hub::RunningHub,
    _dir: tempfile::TempDir,
}

async fn post_json(
    http: &reqwest::Client,
    url: String,
    cookie: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut r = http.post(url).json(&body);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.expect("request")
}

/// A hub with a logged-in owner of two cradles, the main one connected.
async fn start_hub() -> Hub {
    let dir = tempfile::tempdir().expect("temp dir");
    let hub = cradle_hub::start(Settings::ephemeral(dir.path()))
        .await
        .expect("hub starts");
    let base = hub.url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("http client");
    let user = json!({"username": "props-owner", "password": PASSWORD});
    let res = post_json(&http, format!("{base}/register"), None, user.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = post_json(&http, format!("{base}/login"), None, user).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("login sets a cookie")
        .to_owned();
    for uuid in [MAIN, SPARE] {
        let agent = json!({"uuid": uuid, "ip": "10.0.0.7"});
        let res = post_json(&http, format!("{base}/register_agent"), None, agent).await;
        assert_eq!(res.status(), StatusCode::OK);
        let claim = json!({"cradle_uuid": uuid});
        let res = post_json(
            &http,
            format!("{base}/register_cradle"),
            Some(&cookie),
            claim,
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let port = hub.mqtt_addr.expect("the hub's own MQTT endpoint").port();
    let cradle = connect_cradle(port).await;
    Hub {
        base,
        http,
        cookie,
        _cradle: cradle,
        _hub: hub,
        _dir: dir,
    }
}

/// The main cradle, subscribed to its servo topic; it also reports a
/// fever so that alert 1 exists for the resolve route.
async fn connect_cradle(port: u16) -> tokio::task::JoinHandle<()> {
    let options = MqttOptions::new("props-cradle-client", "127.0.0.1", port);
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client
                        .subscribe(format!("cradle/{MAIN}/servo"), QoS::AtMostOnce)
                        .await;
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = client
                        .publish(
                            format!("cradle/{MAIN}/temperature"),
                            QoS::AtLeastOnce,
                            false,
                            br#"{"temperature":"45.0"}"#.to_vec(),
                        )
                        .await;
                    let _ = ready_tx.send(());
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready_rx.recv())
        .await
        .expect("the test cradle connects");
    task
}

/// What the hub answered, if it broke the contract.
async fn send(hub: &Hub, routes: &[String], case: &Case) -> Result<StatusCode, String> {
    let route = &routes[case.route];
    let mut req = hub
        .http
        .post(format!("{}{}", hub.base, concrete(route)))
        .body(case.body.clone());
    if let Some(ct) = case.content_type {
        req = req.header("content-type", ct);
    }
    // Logging out with the shared session would end it for later cases.
    if case.logged_in && route != "/logout" {
        req = req.header("cookie", &hub.cookie);
    }
    req = match case.origin {
        Origin::None => req,
        Origin::Same => req.header("origin", &hub.base),
        Origin::Foreign => req
            .header("origin", "http://evil.example")
            .header("sec-fetch-site", "cross-site"),
        Origin::Null => req.header("origin", "null"),
    };
    let res = req.send().await.map_err(|e| format!("no answer: {e}"))?;
    let status = res.status();
    let retry_after = res.headers().contains_key("retry-after");
    let text = res.text().await.map_err(|e| format!("no body: {e}"))?;
    let describe = || format!("POST {route} -> {status} {text}");
    if status.is_server_error() && !(status == StatusCode::SERVICE_UNAVAILABLE && retry_after) {
        return Err(describe());
    }
    if status.is_client_error() || status.is_server_error() {
        let body: Value = serde_json::from_str(&text).map_err(|_| describe())?;
        let shaped = body["success"] == Value::Bool(false)
            && body["status"] == "error"
            && body["message"]
                .as_str()
                .is_some_and(|m| !m.trim().is_empty())
            && body.get("error").is_some();
        if !shaped {
            return Err(describe());
        }
    }
    Ok(status)
}

#[test]
fn every_post_route_answers_any_body_without_5xx_and_in_the_error_shape() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let hub = rt.block_on(start_hub());
    let routes = post_routes();
    let seen: std::cell::RefCell<BTreeMap<(String, u16), u32>> = Default::default();
    let mut runner = TestRunner::new(config("PROPS_HTTP_CASES", 300));
    let result = runner.run(&case(&routes), |case| {
        let status = rt
            .block_on(send(&hub, &routes, &case))
            .map_err(TestCaseError::fail)?;
        *seen
            .borrow_mut()
            .entry((routes[case.route].clone(), status.as_u16()))
            .or_default() += 1;
        Ok(())
    });
    if std::env::var_os("PROPS_VERBOSE").is_some() {
        for ((route, status), n) in seen.borrow().iter() {
            eprintln!("{route} {status}: {n}");
        }
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}
