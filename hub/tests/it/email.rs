//! Alert emails through a real SMTP server: aiosmtpd (tests/smtp_sink.py),
//! started by the test on a free loopback port, decodes each message with
//! Python's own MIME parser. The hub's `[email]` points at it.

use std::process::Stdio;
use std::time::Duration;

use cradle_hub::config::{EmailSettings, SmtpSecurity};
use cradle_hub::i18n::Lang;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::common::{Client, Cradle, TestHub};

const WAIT: Duration = Duration::from_secs(15);

struct SmtpSink {
    /// Its stdin closes with it, which ends the script.
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    port: u16,
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        let script = format!("{}/tests/smtp_sink.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut sink = SmtpSink {
            _child: child,
            lines: BufReader::new(stdout).lines(),
            port: 0,
        };
        let ready = sink.next_line().await;
        sink.port = ready["listening"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("the SMTP sink did not start: {ready}"));
        sink
    }

    async fn next_line(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("the SMTP sink spoke in time")
            .expect("read the SMTP sink's output")
            .expect(
                "the SMTP sink is running (python3 with aiosmtpd: scripts/test.sh installs it)",
            );
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// The next message the sink received, decoded.
    async fn next(&mut self) -> Value {
        self.next_line().await
    }

    fn settings(&self) -> EmailSettings {
        EmailSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            security: SmtpSecurity::None,
            login: None,
            from: "Cradle Hub <hub@example.com>"
                .parse()
                .expect("from address"),
        }
    }
}

async fn newest_alert_id(ann: &Client, count: usize) -> i64 {
    let list = ann
        .wait_for("/api/alert_logs", |b| {
            b.as_array().is_some_and(|a| a.len() >= count)
        })
        .await;
    list[0]["id"].as_i64().expect("alert id")
}

/// A high temperature on `cradle`, after the previous alert (if any) was
/// resolved; returns the new alert's id.
async fn heat(ann: &Client, cradle: &Cradle, count: usize, celsius: f64) -> i64 {
    if count > 1 {
        let previous = newest_alert_id(ann, count - 1).await;
        let (s, body) = ann
            .post(&format!("/api/alert_logs/{previous}/resolve"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    cradle
        .publish("temperature", format!(r#"{{"temperature": "{celsius}"}}"#))
        .await;
    newest_alert_id(ann, count).await
}

#[tokio::test]
async fn alerts_are_emailed_to_members_who_want_them_with_a_link() {
    let mut sink = SmtpSink::start().await;
    let settings = sink.settings();
    // Nobody has a push subscription: emails are in the hub's language.
    let t = TestHub::start_with(|s| {
        s.email = Some(settings);
        s.default_language = Lang::Ko;
    })
    .await;
    let mut ann = t.user("ann").await;
    ann.lang = Some("en");
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;

    let (s, account) = ann.get("/api/account").await;
    assert_eq!(s, StatusCode::OK);
    assert!(account["id"].is_i64(), "{account}");
    assert_eq!(account["username"], "ann");
    assert_eq!(account["email"], Value::Null);
    assert_eq!(account["email_available"], true);
    for bad in [
        json!("ann"),
        json!("ann@"),
        json!("a b@example.com"),
        json!(5),
    ] {
        let (s, body) = ann.post("/api/account/email", json!({"email": bad})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["success"], false);
        assert!(
            body["message"].as_str().unwrap().contains("email"),
            "{body}"
        );
    }
    let (s, body) = ann
        .post("/api/account/email", json!({"email": " ann@example.com "}))
        .await;
    assert_eq!(
        (s, &body["email"]),
        (StatusCode::OK, &json!("ann@example.com"))
    );
    assert_eq!(ann.get("/api/account").await.1["email"], "ann@example.com");

    let bob = t.user("bob").await;
    bob.post("/api/account/email", json!({"email": "bob@example.com"}))
        .await;
    let (s, invite) = ann
        .post("/api/cradles/c1/invites", json!({"role": "viewer"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{invite}");
    let (s, body) = bob
        .post("/api/invites/accept", json!({"code": invite["code"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // The cradle's email switch is off by default: this alert is not emailed.
    let off = heat(&ann, &cradle, 1, 39.0).await;
    let (s, _) = ann
        .post(
            "/api/alert_settings/c1",
            json!({"email_notifications_enabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let on = heat(&ann, &cradle, 2, 39.5).await;
    let mut mails = [sink.next().await, sink.next().await];
    mails.sort_by_key(|m| m["to"].as_str().unwrap_or_default().to_owned());
    let link = format!("{}/#/alerts/{on}", t.hub.url());
    for (mail, to) in mails.iter().zip(["ann@example.com", "bob@example.com"]) {
        assert_eq!(mail["rcpt_to"], json!([to]), "{mail}");
        assert_eq!(mail["to"], to);
        assert_eq!(mail["from"], "Cradle Hub <hub@example.com>");
        assert_eq!(mail["mail_from"], "hub@example.com");
        assert_eq!(mail["content_type"], "text/plain");
        assert!(
            mail["subject"]
                .as_str()
                .unwrap()
                .contains("요람 경보: 고온 (c1)"),
            "{mail}"
        );
        let body = mail["body"].as_str().unwrap();
        assert!(body.starts_with("고온 경보: 39.5 °C"), "{body}");
        // The alert raised while the cradle's switch was off came first,
        // and was not sent: these are the next one's.
        assert!(body.contains(&link), "{body}");
        assert_ne!(off, on);
    }

    // Bob turns email off for this cradle; ann's next alerts still arrive,
    // and nothing for bob arrives before or between them.
    let (s, body) = bob
        .post("/api/cradles/c1/notify", json!({"email": false}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for (count, celsius) in [(3, 40.0), (4, 40.5)] {
        let id = heat(&ann, &cradle, count, celsius).await;
        let mail = sink.next().await;
        assert_eq!(mail["rcpt_to"], json!(["ann@example.com"]), "{mail}");
        assert!(
            mail["body"]
                .as_str()
                .unwrap()
                .contains(&format!("/#/alerts/{id}")),
            "{mail}"
        );
    }

    // null (or "") removes the address.
    let (s, body) = ann.post("/api/account/email", json!({"email": null})).await;
    assert_eq!((s, &body["email"]), (StatusCode::OK, &Value::Null));
    assert_eq!(ann.get("/api/account").await.1["email"], Value::Null);
}

#[tokio::test]
async fn without_email_settings_the_account_says_email_is_unavailable() {
    let t = TestHub::start().await;
    let ann = t.user("ann").await;
    let (s, account) = ann.get("/api/account").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(account["email_available"], false);
    // The address is kept for when the hub gets a mail server.
    let (s, _) = ann
        .post("/api/account/email", json!({"email": "ann@example.com"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ann.get("/api/account").await.1["email"], "ann@example.com");
    assert_eq!(
        t.client().get("/api/account").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.client()
            .post("/api/account/email", json!({"email": "x@example.com"}))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}
