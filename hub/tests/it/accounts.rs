use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::TestHub;

#[tokio::test]
async fn register_login_logout_round_trip() {
    let t = TestHub::start().await;
    let mut c = t.client();

    let (s, body) = c
        .post(
            "/register",
            json!({"username": "ann", "password": "secret1"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(body["success"], true);
    assert!(body["message"].is_string());

    let (s, body) = c
        .post("/register", json!({"username": "ann", "password": "other"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], false);
    assert!(body["message"].is_string() && body["error"] == body["message"]);

    let (s, body) = c.get("/check_username/ann").await;
    assert_eq!((s, body), (StatusCode::OK, json!({"exists": true})));
    let (_, body) = c.get("/check_username/nobody").await;
    assert_eq!(body, json!({"exists": false}));

    let (s, body, headers) = c
        .send(
            c.raw(Method::POST, "/login")
                .json(&json!({"username": "ann", "password": "secret1"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["success"], true);
    assert_eq!(body["user"]["username"], "ann");
    assert!(body["user"]["id"].is_i64());
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    c.cookie = Some(cookie.split(';').next().unwrap().to_owned());

    let (s, _) = c.get("/api/agents").await;
    assert_eq!(s, StatusCode::OK);

    // The mobile app posts /logout with a JSON content type and no body.
    let (s, body, _) = c
        .send(
            c.raw(Method::POST, "/logout")
                .header("content-type", "application/json"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["success"], true);
    // The session is gone server-side: the old cookie no longer works.
    let (s, body) = c.get("/api/agents").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["success"], false);
    // Logging out again is harmless.
    let (s, _) = c.get("/logout").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn bad_bodies_get_clear_400s() {
    let t = TestHub::start().await;
    let c = t.client();
    let (s, body) = c.post("/register", json!({"username": "ann"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("password"),
        "{body}"
    );
    let (s, _) = c.post("/login", json!({"password": "x"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = c
        .post("/register", json!({"username": 5, "password": "xxxxx"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body, _) = c
        .send(
            c.raw(Method::POST, "/login")
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], false);
    let (s, _, _) = c
        .send(
            c.raw(Method::POST, "/register")
                .body(vec![b'x'; 9 * 1024 * 1024]),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, _) = c.get("/no/such/route").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled() {
    let t = TestHub::start().await;
    let mut c = t.user("ann").await;
    c.cookie = None;
    for _ in 0..5 {
        let (s, body) = c
            .post("/login", json!({"username": "ann", "password": "wrong"}))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(body["success"], false);
    }
    let (s, body, headers) = c
        .send(
            c.raw(Method::POST, "/login")
                .json(&json!({"username": "ann", "password": "pass-word"})),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    // An unknown name is refused the same way as a wrong password.
    let (s, _) = c
        .post("/login", json!({"username": "nobody", "password": "x"}))
        .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "same address is throttled too"
    );
}

#[tokio::test]
async fn messages_follow_accept_language() {
    let t = TestHub::start().await;
    let mut c = t.client();
    c.lang = Some("ko-KR,ko;q=0.9");
    let (_, body) = c
        .post("/login", json!({"username": "x", "password": "y"}))
        .await;
    assert!(
        body["message"].as_str().unwrap().contains("비밀번호"),
        "{body}"
    );
    c.lang = Some("en-US");
    let (_, body) = c
        .post("/login", json!({"username": "x", "password": "y"}))
        .await;
    assert!(
        body["message"].as_str().unwrap().contains("password"),
        "{body}"
    );

    let t = TestHub::start_with(|s| s.default_language = cradle_hub::i18n::Lang::Ko).await;
    let (_, body) = t
        .client()
        .post("/login", json!({"username": "x", "password": "y"}))
        .await;
    assert!(
        body["message"].as_str().unwrap().contains("비밀번호"),
        "default language applies: {body}"
    );
}
