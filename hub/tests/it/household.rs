//! The household over the real API: invites with the hub's clock moved
//! forward, roles on every per-cradle route (one table, every role), members,
//! ownership, the activity log and the app live-view switch.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Client, Cradle, TestHub, fixture_frame};

const UUID: &str = "home-cradle";

/// An invite of `role` from `owner`, accepted by `joiner`.
async fn join(owner: &Client, joiner: &Client, role: &str) {
    let (s, invite) = owner
        .post(
            &format!("/api/cradles/{UUID}/invites"),
            json!({"role": role}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{invite}");
    let (s, body) = joiner
        .post("/api/invites/accept", json!({"code": invite["code"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["role"], role);
    assert_eq!(body["uuid"], UUID);
}

struct Household {
    t: TestHub,
    owner: Client,
    parent: Client,
    viewer: Client,
    stranger: Client,
    cradle: Cradle,
}

async fn household() -> Household {
    let t = TestHub::start().await;
    let mut owner = t.user("olivia").await;
    t.cradle_for(&mut owner, UUID).await;
    let cradle = t.cradle(UUID).await;
    let parent = t.user("paul").await;
    let viewer = t.user("grandma").await;
    let mut stranger = t.user("stranger").await;
    // The stranger has a cradle of their own: being someone's owner does
    // not open anyone else's.
    t.cradle_for(&mut stranger, "elsewhere").await;
    join(&owner, &parent, "parent").await;
    join(&owner, &viewer, "viewer").await;
    Household {
        t,
        owner,
        parent,
        viewer,
        stranger,
        cradle,
    }
}

async fn user_id(c: &Client, name: &str) -> i64 {
    let (s, members) = c.get(&format!("/api/cradles/{UUID}/members")).await;
    assert_eq!(s, StatusCode::OK, "{members}");
    members
        .as_array()
        .and_then(|m| m.iter().find(|m| m["username"] == name))
        .and_then(|m| m["user_id"].as_i64())
        .unwrap_or_else(|| panic!("{name} is not a member: {members}"))
}

/// An alert on the cradle (a high temperature), as everyone sees it.
async fn raise_alert(h: &Household) -> i64 {
    h.cradle
        .publish("temperature", r#"{"temperature": "39.5"}"#)
        .await;
    let alerts = h
        .viewer
        .wait_for("/api/alert_logs", |b| {
            b.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    alerts[0]["id"].as_i64().expect("alert id")
}

#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
enum Least {
    Viewer,
    Parent,
    Owner,
}

/// Status and message of a request, reading only the head of streams.
async fn call(
    c: &Client,
    method: &Method,
    path: &str,
    body: &Option<Value>,
) -> (StatusCode, String) {
    let mut req = c.raw(method.clone(), path);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let streaming = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/") || t.starts_with("text/event-stream"));
    if streaming {
        return (status, String::new());
    }
    let text = res.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, message)
}

/// Every per-cradle route, with the least role it needs. Generated checks
/// below run each one as owner, parent, viewer and stranger.
fn routes(
    alert_id: i64,
    viewer_id: i64,
    invite_id: i64,
) -> Vec<(Method, String, Option<Value>, Least)> {
    let u = UUID;
    let get = |p: String, least| (Method::GET, p, None, least);
    let post = |p: String, b: Value, least| (Method::POST, p, Some(b), least);
    vec![
        get(format!("/api/agent_status/{u}"), Least::Viewer),
        get(format!("/get_sensor_data/{u}"), Least::Viewer),
        get(
            format!(
                "/api/sensor_data/{u}?start_date=2026-01-01T00:00:00Z&end_date=2030-01-01T00:00:00Z"
            ),
            Least::Viewer,
        ),
        get(format!("/crying_status/{u}"), Least::Viewer),
        get(format!("/direction_status/{u}"), Least::Viewer),
        get(format!("/stream/{u}"), Least::Viewer),
        get(format!("/api/media_token/{u}"), Least::Viewer),
        get(format!("/api/alert_history/{u}"), Least::Viewer),
        get(format!("/api/alert_detail/{alert_id}"), Least::Viewer),
        get(format!("/api/alert_clip/{alert_id}"), Least::Viewer),
        get(format!("/api/recordings/{u}"), Least::Viewer),
        get(
            format!("/api/video/{u}?date=2026-01-01&time=00:00:00"),
            Least::Viewer,
        ),
        get(format!("/api/alert_settings/{u}"), Least::Viewer),
        get(format!("/api/cradles/{u}/motor_log"), Least::Viewer),
        get(format!("/api/cradles/{u}/members"), Least::Viewer),
        get(format!("/api/cradles/{u}/activity"), Least::Viewer),
        post("/select_cradle".into(), json!({"uuid": u}), Least::Viewer),
        post(
            format!("/control_motor/{u}"),
            json!({"action": "stop"}),
            Least::Parent,
        ),
        post(
            format!("/api/alert_settings/{u}"),
            json!({"max_temperature": 39.0}),
            Least::Parent,
        ),
        post(
            format!("/api/alert_logs/{alert_id}/resolve"),
            json!({}),
            Least::Parent,
        ),
        get(format!("/api/cradles/{u}/invites"), Least::Owner),
        post(
            format!("/api/cradles/{u}/invites"),
            json!({"role": "viewer"}),
            Least::Owner,
        ),
        (
            Method::DELETE,
            format!("/api/cradles/{u}/invites/{invite_id}"),
            None,
            Least::Owner,
        ),
        (
            Method::PATCH,
            format!("/api/cradles/{u}/members/{viewer_id}"),
            Some(json!({"role": "viewer"})),
            Least::Owner,
        ),
        get(format!("/api/cradles/{u}/mqtt_password"), Least::Owner),
        post(
            format!("/api/cradles/{u}/mqtt_password"),
            json!({"required": false}),
            Least::Owner,
        ),
        get(format!("/api/cradles/{u}/lan_app_view"), Least::Owner),
        post(
            format!("/api/cradles/{u}/lan_app_view"),
            json!({"enabled": false}),
            Least::Owner,
        ),
    ]
}

const NOT_YOURS: [&str; 2] = ["No such cradle in your account.", "Not found."];

#[tokio::test]
async fn every_per_cradle_route_enforces_every_role() {
    let h = household().await;
    h.cradle.frame(&fixture_frame(0)).await;
    let alert_id = raise_alert(&h).await;
    let viewer_id = user_id(&h.owner, "grandma").await;
    let (_, invite) = h
        .owner
        .post(
            &format!("/api/cradles/{UUID}/invites"),
            json!({"role": "parent"}),
        )
        .await;
    let invite_id = invite["id"].as_i64().expect("invite id");
    // The owner goes last: their changes (revoking the invite) must not
    // decide the others' answers.
    let people = [
        (None, &h.stranger),
        (Some(Least::Viewer), &h.viewer),
        (Some(Least::Parent), &h.parent),
        (Some(Least::Owner), &h.owner),
    ];
    for (method, path, body, least) in routes(alert_id, viewer_id, invite_id) {
        for (role, client) in &people {
            let (status, message) = call(client, &method, &path, &body).await;
            let case = format!("{method} {path} as {role:?}: {status} {message:?}");
            match role {
                None => {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{case}");
                    assert!(NOT_YOURS.contains(&message.as_str()), "{case}");
                }
                Some(r) if *r < least => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{case}");
                    assert!(message.contains("owner"), "says who may: {case}");
                }
                Some(_) => {
                    assert!(
                        !matches!(status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED)
                            && !NOT_YOURS.contains(&message.as_str())
                            && !status.is_server_error(),
                        "{case}"
                    );
                }
            }
        }
    }
    // The viewer's refused motor command never reached the cradle, and
    // their refusal says why in Korean too.
    let mut korean = h.viewer.client_clone();
    korean.lang = Some("ko");
    let (s, body) = korean
        .post(
            &format!("/control_motor/{UUID}"),
            json!({"action": "start"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        body["message"].as_str().unwrap_or("").contains("보기 전용"),
        "{body}"
    );
    let (_, log) = h.owner.get(&format!("/api/cradles/{UUID}/motor_log")).await;
    assert!(
        log["entries"]
            .as_array()
            .or(log.as_array())
            .is_some_and(|e| e.iter().all(|e| e["username"] != "grandma")),
        "{log}"
    );

    // Removing the cradle is the owner's alone; the others keep it.
    for c in [&h.parent, &h.viewer] {
        let (s, _) = c.post("/delete_cradle", json!({"uuid": UUID})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _) = h
        .stranger
        .post("/delete_cradle", json!({"uuid": UUID}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h.owner.post("/delete_cradle", json!({"uuid": UUID})).await;
    assert_eq!(s, StatusCode::OK);
    for c in [&h.parent, &h.viewer] {
        let (s, _) = c.get(&format!("/api/agent_status/{UUID}")).await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "the household goes with the cradle"
        );
        let (_, agents) = c.get("/api/agents").await;
        assert_eq!(agents, json!([]));
    }
}

#[tokio::test]
async fn shared_cradles_are_listed_with_the_role_and_the_contract_fields() {
    let h = household().await;
    for (c, role) in [
        (&h.owner, "owner"),
        (&h.parent, "parent"),
        (&h.viewer, "viewer"),
    ] {
        let (s, agents) = c.get("/api/agents").await;
        assert_eq!(s, StatusCode::OK);
        let a = &agents[0];
        assert_eq!(agents.as_array().map(Vec::len), Some(1), "{agents}");
        assert_eq!(a["uuid"], UUID);
        assert_eq!(a["role"], role);
        for field in ["id", "ip", "created_at", "updated_at"] {
            assert!(a.get(field).is_some(), "{field} missing: {a}");
        }
    }
    let (_, members) = h.viewer.get(&format!("/api/cradles/{UUID}/members")).await;
    let roles: Vec<(&str, &str, bool)> = members
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["username"].as_str().unwrap_or(""),
                m["role"].as_str().unwrap_or(""),
                m["you"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("olivia", "owner", false),
            ("paul", "parent", false),
            ("grandma", "viewer", true)
        ]
    );
}

#[tokio::test]
async fn invites_expire_work_once_and_can_be_revoked() {
    let h = household().await;
    let newcomer = h.t.user("nanny").await;
    let invite_path = format!("/api/cradles/{UUID}/invites");

    // The code is six digits with a join link and a ten-minute expiry.
    let (s, invite) = h.owner.post(&invite_path, json!({"role": "viewer"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let code = invite["code"].as_str().expect("code").to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{invite}"
    );
    assert!(
        invite["join_url"]
            .as_str()
            .unwrap_or("")
            .ends_with(&format!("/#/join/{code}"))
    );
    let (_, open) = h.owner.get(&invite_path).await;
    assert!(
        open.as_array()
            .is_some_and(|o| o.iter().any(|i| i["code"] == code.as_str()))
    );

    // Expired after ten minutes (the hub's clock moved, no sleeping).
    h.t.hub
        .state
        .clock
        .advance(Duration::from_secs(10 * 60 + 1));
    let (s, body) = newcomer
        .post("/api/invites/accept", json!({"code": code}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("10 minutes"),
        "{body}"
    );
    let (_, open) = h.owner.get(&invite_path).await;
    assert_eq!(open, json!([]), "expired invites are not open");

    // Works once: the second person gets the same answer as a wrong code.
    let (_, invite) = h.owner.post(&invite_path, json!({"role": "parent"})).await;
    let code = invite["code"].as_str().expect("code").to_owned();
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let (s, body) = newcomer
        .post("/api/invites/accept", json!({"code": spaced}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let latecomer = h.t.user("uncle").await;
    let (s, _) = latecomer
        .post("/api/invites/accept", json!({"code": code}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Joining twice is a clear conflict, not a second membership.
    let (_, again) = h.owner.post(&invite_path, json!({"role": "viewer"})).await;
    let (s, _) = newcomer
        .post("/api/invites/accept", json!({"code": again["code"]}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Revoked codes stop working.
    let (_, invite) = h.owner.post(&invite_path, json!({"role": "viewer"})).await;
    let (s, _) = h
        .owner
        .send(
            h.owner
                .raw(Method::DELETE, &format!("{invite_path}/{}", invite["id"])),
        )
        .await
        .into_pair();
    assert_eq!(s, StatusCode::OK);
    let (s, _) = latecomer
        .post("/api/invites/accept", json!({"code": invite["code"]}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Nonsense is a 400, not a guess.
    let (s, _) = latecomer
        .post("/api/invites/accept", json!({"code": "12ab56"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn five_wrong_codes_per_account_then_429_until_ten_minutes_pass() {
    let h = household().await;
    let guesser = h.t.user("guesser").await;
    let (_, invite) = h
        .owner
        .post(
            &format!("/api/cradles/{UUID}/invites"),
            json!({"role": "viewer"}),
        )
        .await;
    let real = invite["code"].as_str().expect("code").to_owned();
    let wrong = |i: u32| {
        let n = (real.parse::<u32>().unwrap_or(0) + 1 + i) % 1_000_000;
        format!("{n:06}")
    };
    for i in 0..5 {
        let (s, _) = guesser
            .post("/api/invites/accept", json!({"code": wrong(i)}))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    // Even the right code waits now: guessing is what is limited.
    let (s, body, headers) = guesser
        .send(
            guesser
                .raw(Method::POST, "/api/invites/accept")
                .json(&json!({"code": real})),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=600).contains(&wait), "{wait}");
    // Other accounts are not held up by this one.
    let (_, other) = h
        .owner
        .post(
            &format!("/api/cradles/{UUID}/invites"),
            json!({"role": "viewer"}),
        )
        .await;
    let neighbour = h.t.user("neighbour").await;
    let (s, _) = neighbour
        .post("/api/invites/accept", json!({"code": other["code"]}))
        .await;
    assert_eq!(s, StatusCode::OK);

    h.t.hub.state.clock.advance(Duration::from_secs(wait));
    let (s, body) = guesser
        .post("/api/invites/accept", json!({"code": real}))
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "the code itself expired meanwhile: {body}"
    );
    let (_, fresh) = h
        .owner
        .post(
            &format!("/api/cradles/{UUID}/invites"),
            json!({"role": "viewer"}),
        )
        .await;
    let (s, _) = guesser
        .post("/api/invites/accept", json!({"code": fresh["code"]}))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn roles_change_members_leave_and_ownership_moves_with_one_owner_always() {
    let h = household().await;
    let members = format!("/api/cradles/{UUID}/members");
    let paul = user_id(&h.owner, "paul").await;
    let grandma = user_id(&h.owner, "grandma").await;
    let olivia = user_id(&h.owner, "olivia").await;

    // The viewer becomes a parent and may rock.
    let (s, _) = h
        .owner
        .send(
            h.owner
                .raw(Method::PATCH, &format!("{members}/{grandma}"))
                .json(&json!({"role": "parent"})),
        )
        .await
        .into_pair();
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .viewer
        .post(
            &format!("/api/alert_settings/{UUID}"),
            json!({"max_temperature": 37.0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // A member cannot remove another; the owner cannot leave.
    let (s, _) = h
        .parent
        .send(
            h.parent
                .raw(Method::DELETE, &format!("{members}/{grandma}")),
        )
        .await
        .into_pair();
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = h
        .owner
        .send(h.owner.raw(Method::DELETE, &format!("{members}/{olivia}")))
        .await
        .into_pair();
    assert_eq!(s, StatusCode::CONFLICT);

    // Ownership goes to Paul; Olivia stays as a parent.
    let (s, _) = h
        .owner
        .send(
            h.owner
                .raw(Method::PATCH, &format!("{members}/{paul}"))
                .json(&json!({"role": "owner"})),
        )
        .await
        .into_pair();
    assert_eq!(s, StatusCode::OK);
    let (_, list) = h.parent.get(&members).await;
    let owners: Vec<&Value> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "owner")
        .collect();
    assert_eq!(owners.len(), 1, "{list}");
    assert_eq!(owners[0]["username"], "paul");
    let (s, _) = h
        .owner
        .post(
            &format!("/api/cradles/{UUID}/invites"),
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the previous owner is a parent now"
    );
    let (s, _) = h
        .parent
        .post(
            &format!("/api/cradles/{UUID}/invites"),
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, agents) = h.owner.get("/api/agents").await;
    assert_eq!(agents[0]["role"], "parent");

    // Grandma leaves; her open live view and status stream end and the
    // cradle is gone for her.
    let stream = h
        .viewer
        .raw(Method::GET, &format!("/stream/{UUID}"))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    let crying = h
        .viewer
        .raw(Method::GET, &format!("/crying_status/{UUID}"))
        .send()
        .await
        .expect("sse");
    assert_eq!(crying.status(), StatusCode::OK);
    let (s, _) = h
        .viewer
        .send(
            h.viewer
                .raw(Method::DELETE, &format!("{members}/{grandma}")),
        )
        .await
        .into_pair();
    assert_eq!(s, StatusCode::OK);
    h.cradle.frame(&fixture_frame(1)).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), stream.bytes()).await;
    assert!(ended.is_ok(), "the removed member's live view ends");
    let ended = tokio::time::timeout(Duration::from_secs(10), crying.bytes()).await;
    assert!(ended.is_ok(), "the removed member's status stream ends");
    let (s, _) = h.viewer.get(&format!("/api/agent_status/{UUID}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The activity log tells the story, newest first, in pages.
    let (_, page) = h
        .owner
        .get(&format!("/api/cradles/{UUID}/activity?limit=2"))
        .await;
    let actions: Vec<&str> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["left", "invited"], "{page}");
    let before = page["next_before"].as_i64().expect("more pages");
    let (_, rest) = h
        .owner
        .get(&format!(
            "/api/cradles/{UUID}/activity?before={before}&limit=100"
        ))
        .await;
    let rest: Vec<(&str, &str)> = rest["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or(""),
                a["username"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rest,
        [
            ("ownership_transferred", "olivia"),
            ("settings_changed", "grandma"),
            ("role_changed", "olivia"),
            ("joined", "grandma"),
            ("invited", "olivia"),
            ("joined", "paul"),
            ("invited", "olivia"),
        ]
    );
}

#[tokio::test]
async fn the_app_live_view_is_served_to_a_household_device_address_only_when_allowed() {
    let h = household().await;
    h.cradle.frame(&fixture_frame(0)).await;
    let no_cookie = h.t.client();
    let stream = format!("/stream/{UUID}");
    let status = |c: &Client| {
        let req = c.raw(Method::GET, &stream);
        async move { req.send().await.expect("request").status() }
    };
    assert_eq!(
        status(&no_cookie).await,
        StatusCode::UNAUTHORIZED,
        "off by default"
    );

    // Only the owner may turn it on, and it is logged in the activity.
    let switch = format!("/api/cradles/{UUID}/lan_app_view");
    let (s, _) = h.parent.post(&switch, json!({"enabled": true})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = h.owner.post(&switch, json!({"enabled": true})).await;
    assert_eq!((s, &body["enabled"]), (StatusCode::OK, &json!(true)));
    // Every client of this test is on 127.0.0.1, where household members
    // are signed in: the cookie-less request is the app's WebView.
    assert_eq!(status(&no_cookie).await, StatusCode::OK);
    // Another cradle, whose owner did not allow it, stays closed; so do
    // the clips, which the app does not show.
    let (s, _) = no_cookie.get("/stream/elsewhere").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let alert_id = {
        h.cradle
            .publish("temperature", r#"{"temperature": "39.5"}"#)
            .await;
        let alerts = h
            .owner
            .wait_for("/api/alert_logs", |b| {
                b.as_array().is_some_and(|a| !a.is_empty())
            })
            .await;
        alerts[0]["id"].as_i64().expect("alert id")
    };
    let (s, _) = no_cookie.get(&format!("/api/alert_clip/{alert_id}")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Turning it off ends a live view it granted.
    let granted = no_cookie
        .raw(Method::GET, &stream)
        .send()
        .await
        .expect("stream");
    assert_eq!(granted.status(), StatusCode::OK);
    let (s, _) = h.owner.post(&switch, json!({"enabled": false})).await;
    assert_eq!(s, StatusCode::OK);
    h.cradle.frame(&fixture_frame(1)).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), granted.bytes()).await;
    assert!(ended.is_ok(), "the granted live view ends with the switch");
    assert_eq!(status(&no_cookie).await, StatusCode::UNAUTHORIZED);
    let (_, log) = h.owner.get(&format!("/api/cradles/{UUID}/activity")).await;
    assert_eq!(log["items"][0]["action"], "lan_app_view_changed");
    assert_eq!(log["items"][0]["detail"]["enabled"], false);
}

#[tokio::test]
async fn a_member_who_leaves_gets_the_cradles_notifications_as_deletions_in_sync() {
    let h = household().await;
    let alert_id = raise_alert(&h).await;
    let (s, first) = h.viewer.get("/api/notifications/sync").await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let mine = first["items"]
        .as_array()
        .and_then(|i| i.iter().find(|n| n["alert_id"] == alert_id))
        .and_then(|n| n["id"].as_i64())
        .expect("the alert is in the viewer's inbox");
    let cursor = first["cursor"].as_str().expect("cursor").to_owned();

    let grandma = user_id(&h.viewer, "grandma").await;
    let (s, _) = h
        .viewer
        .send(h.viewer.raw(
            Method::DELETE,
            &format!("/api/cradles/{UUID}/members/{grandma}"),
        ))
        .await
        .into_pair();
    assert_eq!(s, StatusCode::OK);
    let (s, next) = h
        .viewer
        .get(&format!("/api/notifications/sync?since={cursor}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{next}");
    assert_eq!(next["items"], json!([]));
    assert_eq!(next["deleted"], json!([mine]));
    // Replaying from the new cursor brings nothing again.
    let (_, again) = h
        .viewer
        .get(&format!(
            "/api/notifications/sync?since={}",
            next["cursor"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(
        (&again["items"], &again["deleted"]),
        (&json!([]), &json!([]))
    );
    // The others keep theirs.
    let (_, owner) = h.owner.get("/api/notifications/sync").await;
    assert!(owner["items"].as_array().is_some_and(|i| !i.is_empty()));
}

trait IntoPair {
    fn into_pair(self) -> (StatusCode, Value);
}

impl IntoPair for (StatusCode, Value, reqwest::header::HeaderMap) {
    fn into_pair(self) -> (StatusCode, Value) {
        (self.0, self.1)
    }
}
