//! The notification inbox over the real hub: alerts raised over MQTT become
//! one notification per member, each with their own read state, unread
//! count (also on `/api/events`), filters, read-all and delta sync.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Client, Cradle, TestHub};

const SSE_WAIT: Duration = Duration::from_secs(10);

/// A hub where ann owns cradle c1 and bob joined it as a viewer by invite;
/// cat has an account and nothing else.
async fn household() -> (TestHub, Client, Client, Client, Cradle) {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let bob = t.user("bob").await;
    let (s, invite) = ann
        .post("/api/cradles/c1/invites", json!({"role": "viewer"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{invite}");
    let (s, joined) = bob
        .post("/api/invites/accept", json!({"code": invite["code"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{joined}");
    let cat = t.user("cat").await;
    let cradle = t.cradle("c1").await;
    (t, ann, bob, cat, cradle)
}

/// The user's notifications once there are at least `n`, newest first.
async fn inbox(c: &Client, n: usize) -> Vec<Value> {
    c.wait_for("/api/notifications", |b| {
        b["items"].as_array().is_some_and(|a| a.len() >= n)
    })
    .await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn unread_count(c: &Client) -> i64 {
    let (s, body) = c.get("/api/notifications/unread_count").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["unread_count"].as_i64().expect("a count")
}

fn id(n: &Value) -> i64 {
    n["id"].as_i64().expect("an id")
}

#[tokio::test]
async fn an_alert_is_unread_for_each_member_until_they_read_it() {
    let (_t, ann, bob, cat, cradle) = household().await;
    let mut ann_events = ann.events().await;
    let snapshot = ann_events.next("snapshot", SSE_WAIT).await;
    assert_eq!(snapshot["unread_count"], 0, "{snapshot}");
    let mut bob_events = bob.events().await;
    bob_events.next("snapshot", SSE_WAIT).await;

    cradle
        .publish("temperature", r#"{"temperature": "39.0"}"#)
        .await;
    for events in [&mut ann_events, &mut bob_events] {
        events
            .next_matching("unread_count", SSE_WAIT, |d| d["unread_count"] == 1)
            .await;
    }
    let ann_n = inbox(&ann, 1).await.remove(0);
    let bob_n = inbox(&bob, 1).await.remove(0);
    let (_, alerts) = ann.get("/api/alert_logs").await;
    assert_eq!(ann_n["alert_id"], alerts[0]["id"]);
    assert_eq!(bob_n["alert_id"], alerts[0]["id"]);
    assert_ne!(ann_n["id"], bob_n["id"], "one notification each");
    assert_eq!(ann_n["agent_uuid"], "c1");
    assert_eq!(ann_n["alert_type"], "high_temperature");
    assert_eq!(ann_n["created_at"], alerts[0]["created_at"]);
    assert_eq!(
        (&ann_n["read"], &ann_n["read_at"], &ann_n["resolved"]),
        (&json!(false), &Value::Null, &json!(false))
    );
    assert!(
        ann_n["message"].as_str().unwrap().contains("39.0"),
        "{ann_n}"
    );
    assert!(ann_n["seq"].is_i64());
    let mut bob_ko = bob.client_clone();
    bob_ko.lang = Some("ko");
    let (_, ko) = bob_ko.get("/api/notifications").await;
    assert!(
        ko["items"][0]["message"].as_str().unwrap().contains("고온"),
        "{ko}"
    );

    // Ann reads it: hers is read (every screen of hers hears it), bob's is not.
    let (s, body) = ann
        .post(
            &format!("/api/notifications/{}/read", id(&ann_n)),
            json!({}),
        )
        .await;
    assert_eq!((s, body), (StatusCode::OK, json!({"success": true})));
    ann_events
        .next_matching("unread_count", SSE_WAIT, |d| d["unread_count"] == 0)
        .await;
    let (_, page) = ann.get("/api/notifications").await;
    assert_eq!(page["unread_count"], 0);
    assert_eq!(page["items"][0]["read"], true);
    assert!(page["items"][0]["read_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(unread_count(&bob).await, 1);
    let (_, bobs) = bob.get("/api/notifications?unread=true").await;
    assert_eq!(bobs["items"].as_array().unwrap().len(), 1);

    // Someone else's notification is not found, exactly like none at all.
    let (s, missing) = bob.post("/api/notifications/999999/read", json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for (who, n) in [(&bob, &ann_n), (&cat, &ann_n), (&cat, &bob_n)] {
        for action in ["read", "unread"] {
            let (s, body) = who
                .post(&format!("/api/notifications/{}/{action}", id(n)), json!({}))
                .await;
            assert_eq!((s, &body), (StatusCode::NOT_FOUND, &missing));
        }
    }
    let (s, body) = cat.get("/api/notifications").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["items"], json!([]));
    assert_eq!(unread_count(&bob).await, 1, "cat's tries changed nothing");
    assert_eq!(
        Client::new(&ann.base).get("/api/notifications").await.0,
        StatusCode::UNAUTHORIZED
    );

    // Unread again, then read-all with the mobile app's empty body.
    let (s, _) = ann
        .post(
            &format!("/api/notifications/{}/unread", id(&ann_n)),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    ann_events
        .next_matching("unread_count", SSE_WAIT, |d| d["unread_count"] == 1)
        .await;
    let (s, body, _) = ann
        .send(
            ann.raw(Method::POST, "/api/notifications/read_all")
                .header("content-type", "application/json"),
        )
        .await;
    assert_eq!(
        (s, body),
        (StatusCode::OK, json!({"success": true, "updated": 1}))
    );
    assert_eq!(unread_count(&ann).await, 0);
    assert_eq!(unread_count(&bob).await, 1);
}

#[tokio::test]
async fn filters_by_type_and_time_page_and_refuse_bad_input() {
    let (_t, ann, _bob, _cat, cradle) = household().await;
    let (s, _) = ann
        .post(
            "/api/alert_settings/c1",
            json!({"crying_duration_threshold": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    cradle
        .publish("temperature", r#"{"temperature": "39.0"}"#)
        .await;
    let hot = inbox(&ann, 1).await.remove(0);
    cradle
        .publish("crying", r#"{"status": "Crying", "probability": 0.9}"#)
        .await;
    let crying = inbox(&ann, 2).await.remove(0);
    assert_eq!(
        (&hot["alert_type"], &crying["alert_type"]),
        (&json!("high_temperature"), &json!("crying"))
    );
    let alert_types = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["alert_type"].as_str().unwrap().to_owned())
            .collect()
    };
    let get = |path: String| {
        let ann = &ann;
        async move {
            let (s, body) = ann.get(&path).await;
            assert_eq!(s, StatusCode::OK, "{path}: {body}");
            body
        }
    };
    assert_eq!(
        alert_types(&get("/api/notifications?type=crying".into()).await),
        ["crying"]
    );
    assert_eq!(
        alert_types(&get("/api/notifications?type=high_temperature&uuid=c1".into()).await),
        ["high_temperature"]
    );
    assert!(alert_types(&get("/api/notifications?uuid=c2".into()).await).is_empty());
    let (hot_at, crying_at) = (
        hot["created_at"].as_str().unwrap(),
        crying["created_at"].as_str().unwrap(),
    );
    assert!(hot_at < crying_at, "{hot_at} {crying_at}");
    assert_eq!(
        alert_types(&get(format!("/api/notifications?from={crying_at}")).await),
        ["crying"]
    );
    // The naive form (read as UTC), as other routes take it.
    let naive = hot_at.trim_end_matches('Z');
    assert_eq!(
        alert_types(&get(format!("/api/notifications?to={naive}")).await),
        ["high_temperature"]
    );
    assert_eq!(
        alert_types(&get(format!("/api/notifications?from={hot_at}&to={crying_at}")).await),
        ["crying", "high_temperature"]
    );

    // Pages of one, newest first.
    let first = get("/api/notifications?limit=1".into()).await;
    assert_eq!(alert_types(&first), ["crying"]);
    assert_eq!(
        first["unread_count"], 2,
        "the whole inbox's, not the page's"
    );
    let next = first["next_before"].as_i64().expect("a next page");
    let second = get(format!("/api/notifications?limit=1&before={next}")).await;
    assert_eq!(alert_types(&second), ["high_temperature"]);
    assert_eq!(second["next_before"], Value::Null);

    // Read-all of one type.
    let (s, body) = ann
        .post("/api/notifications/read_all", json!({"type": "crying"}))
        .await;
    assert_eq!(
        (s, body),
        (StatusCode::OK, json!({"success": true, "updated": 1}))
    );
    assert_eq!(
        alert_types(&get("/api/notifications?unread=true".into()).await),
        ["high_temperature"]
    );

    for (path, words) in [
        ("/api/notifications?type=fire", "Unknown alert type"),
        ("/api/notifications?from=yesterday", "Dates must look like"),
        (
            "/api/notifications?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "\"from\"",
        ),
        ("/api/notifications?limit=0", "\"limit\""),
        ("/api/notifications?unread=maybe", "\"unread\""),
        ("/api/notifications?before=x", "\"before\""),
        ("/api/notifications/sync?since=abc", "\"since\""),
        ("/api/notifications/sync?since=999999999", "Start over"),
        ("/api/notifications/sync?limit=501", "\"limit\""),
    ] {
        let (s, body) = ann.get(path).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["success"], false);
        assert!(
            body["message"].as_str().unwrap().contains(words),
            "{path}: {body}"
        );
    }
    let (s, body) = ann
        .post("/api/notifications/read_all", json!({"type": "fire"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
}

/// A full sync, then one page per change.
async fn sync(c: &Client, since: &str, limit: usize) -> (Vec<Value>, String, bool) {
    let (s, body) = c
        .get(&format!(
            "/api/notifications/sync?since={since}&limit={limit}"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap().clone();
    let seqs: Vec<i64> = items.iter().map(|n| n["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "ordered by seq: {seqs:?}"
    );
    let ids: HashSet<i64> = items.iter().map(id).collect();
    assert_eq!(ids.len(), items.len(), "no id twice in a page: {body}");
    (
        items,
        body["cursor"].as_str().expect("a cursor").to_owned(),
        body["has_more"].as_bool().expect("has_more"),
    )
}

#[tokio::test]
async fn sync_sends_each_change_once_with_a_higher_seq() {
    let (_t, ann, bob, _cat, cradle) = household().await;
    let (s, _) = ann
        .post(
            "/api/alert_settings/c1",
            json!({"crying_duration_threshold": 0, "abnormal_position_timeout": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    cradle
        .publish("temperature", r#"{"temperature": "39.0"}"#)
        .await;
    cradle
        .publish("crying", r#"{"status": "Crying", "probability": 0.9}"#)
        .await;
    cradle
        .publish("direction", r#"{"direction": "인식 안됨"}"#)
        .await;
    // high_temperature, crying, face_not_detected, abnormal_position.
    inbox(&ann, 4).await;
    inbox(&bob, 4).await;

    let (all, cursor, more) = sync(&ann, "", 100).await;
    assert_eq!((all.len(), more), (4, false));
    assert_eq!(cursor, all[3]["seq"].to_string());
    let (none, same, more) = sync(&ann, &cursor, 100).await;
    assert!(none.is_empty() && !more);
    assert_eq!(same, cursor, "nothing new: the same cursor");
    let (_, bob_cursor, _) = sync(&bob, "0", 100).await;

    // Ann reads one: it comes back once, read, with a higher seq; bob's
    // inbox has not changed.
    let read = &all[0];
    let (s, _) = ann
        .post(&format!("/api/notifications/{}/read", id(read)), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (changed, cursor, _) = sync(&ann, &cursor, 100).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(
        (id(&changed[0]), &changed[0]["read"]),
        (id(read), &json!(true))
    );
    assert!(changed[0]["seq"].as_i64() > read["seq"].as_i64());
    assert!(sync(&bob, &bob_cursor, 100).await.0.is_empty());

    // Ann resolves another alert: it changes in both inboxes.
    let resolved = &all[1];
    let (s, body) = ann
        .post(
            &format!("/api/alert_logs/{}/resolve", resolved["alert_id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (changed, _, _) = sync(&ann, &cursor, 100).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(id(&changed[0]), id(resolved));
    assert_eq!(changed[0]["resolved"], true);
    assert!(changed[0]["resolved_at"].as_str().unwrap().ends_with('Z'));
    let (bobs, _, _) = sync(&bob, &bob_cursor, 100).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["alert_id"], resolved["alert_id"]);

    // Replaying the first cursor: each notification once, in its latest
    // state, however small the pages.
    for limit in [1, 3, 100] {
        let (mut since, mut seen, mut pages) = (String::new(), Vec::new(), 0);
        loop {
            let (items, next, more) = sync(&ann, &since, limit).await;
            assert!(items.len() <= limit);
            seen.extend(items);
            since = next;
            pages += 1;
            if !more {
                break;
            }
        }
        let ids: HashSet<i64> = seen.iter().map(id).collect();
        assert_eq!((seen.len(), ids.len()), (4, 4), "limit {limit}: {seen:?}");
        assert_eq!(pages, 4usize.div_ceil(limit), "limit {limit}");
        let latest = seen.iter().find(|n| id(n) == id(read)).unwrap();
        assert_eq!(latest["read"], true);
    }
}

#[tokio::test]
async fn each_member_sets_their_own_notify_switches() {
    let (_t, ann, bob, cat, _cradle) = household().await;
    let (s, body) = bob.get("/api/cradles/c1/notify").await;
    assert_eq!(
        (s, body),
        (StatusCode::OK, json!({"push": true, "email": true}))
    );
    let (s, body) = bob
        .post("/api/cradles/c1/notify", json!({"email": false}))
        .await;
    assert_eq!(
        (s, body),
        (
            StatusCode::OK,
            json!({"success": true, "push": true, "email": false})
        )
    );
    assert_eq!(
        bob.get("/api/cradles/c1/notify").await.1,
        json!({"push": true, "email": false})
    );
    assert_eq!(
        ann.get("/api/cradles/c1/notify").await.1,
        json!({"push": true, "email": true}),
        "ann's are her own"
    );
    for body in [json!({}), json!({"push": "off"})] {
        let (s, answer) = bob.post("/api/cradles/c1/notify", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{answer}");
    }
    assert_eq!(
        cat.get("/api/cradles/c1/notify").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cat.post("/api/cradles/c1/notify", json!({"push": false}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
