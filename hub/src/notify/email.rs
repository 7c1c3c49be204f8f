//! The email channel. When an alert is raised and its cradle's
//! `email_notifications_enabled` setting is on, everyone who can see the
//! cradle, has an address and has not turned email off for it gets one, in
//! their language. One task (the outbox) sends them through the `[email]`
//! mail server: a short queue, a few messages at a time, each with a
//! deadline, and no retries. A mail server that is down or slow costs a
//! logged failure per message, never a delayed alert.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::alerts::engine::{AlertSettings, AlertType};
use crate::config::{EmailSettings, SmtpSecurity};
use crate::i18n::Lang;
use crate::log_gate::LogGate;
use crate::store::alerts::AlertRow;
use crate::store::{Store, users};
use crate::tasks::{TaskHealth, Tasks};
use crate::timefmt::now_millis;

/// Alerts waiting for their emails to be written; beyond this they are
/// dropped (and logged).
const QUEUE: usize = 64;
/// Messages sent at the same time.
const SENDING_AT_ONCE: usize = 4;
/// Messages being sent or waiting for a turn; beyond this they are dropped
/// (and logged).
const MAX_IN_FLIGHT: usize = 256;
/// Each step of the conversation with the mail server, connecting included.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// One message, from connecting to the server's last answer.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot set up TLS for the mail server {host}: {source}")]
    Tls {
        host: String,
        source: lettre::transport::smtp::Error,
    },
    #[error(transparent)]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("the mail server did not finish within {0:?}")]
    Timeout(Duration),
}

/// The hub's connection settings to its mail server. The password stays in
/// the transport and is never logged.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for logs.
    server: String,
}

impl Mailer {
    /// Loads the system's CA certificates for STARTTLS and TLS: blocking,
    /// call it off the async runtime.
    pub fn new(settings: &EmailSettings) -> Result<Mailer, MailError> {
        let tls_parameters = || {
            TlsParameters::new(settings.host.clone()).map_err(|source| MailError::Tls {
                host: settings.host.clone(),
                source,
            })
        };
        let tls = match settings.security {
            // Tls::Required: no credentials nor message go out if the
            // server cannot upgrade the connection.
            SmtpSecurity::Starttls => Tls::Required(tls_parameters()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
                .port(settings.port)
                .tls(tls)
                .timeout(Some(COMMAND_TIMEOUT))
                .hello_name(hello_name());
        if let Some(login) = &settings.login {
            builder =
                builder.credentials(Credentials::new(login.user.clone(), login.password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: settings.from.clone(),
            server: format!("{}:{}", settings.host, settings.port),
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match tokio::time::timeout(MESSAGE_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(MailError::Smtp(e)),
            Err(_) => Err(MailError::Timeout(MESSAGE_TIMEOUT)),
        }
    }
}

/// The name the hub greets the mail server with (EHLO): its host name when
/// that is a plain DNS label sequence, else lettre's default.
fn hello_name() -> ClientId {
    let name = gethostname::gethostname().to_string_lossy().into_owned();
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if plain {
        ClientId::Domain(name)
    } else {
        ClientId::default()
    }
}

/// Where the links in emails point: the hub's own address, as a phone on
/// the LAN reaches it.
#[derive(Debug, Clone, Copy)]
pub struct HubAddress {
    pub http_addr: SocketAddr,
    pub https: bool,
}

impl HubAddress {
    /// Asked for each alert: the LAN address may have changed since start.
    fn base_url(&self) -> String {
        let ip = if self.http_addr.ip().is_unspecified() {
            crate::discovery::primary_lan_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
        } else {
            self.http_addr.ip()
        };
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", SocketAddr::new(ip, self.http_addr.port()))
    }
}

/// The queue of alerts to email, emptied by the `alert-email` task.
pub struct AlertEmails {
    queue: mpsc::Sender<AlertRow>,
    dropped: LogGate<1>,
}

/// The outbox before it runs: alerts queued meanwhile wait for it.
pub struct PendingOutbox {
    mailer: Mailer,
    waiting: mpsc::Receiver<AlertRow>,
}

impl AlertEmails {
    /// The queue, taken before alerts can be raised, and its outbox, started
    /// once the hub knows the address its links point to.
    pub fn new(mailer: Mailer) -> (Arc<AlertEmails>, PendingOutbox) {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let emails = Arc::new(AlertEmails {
            queue,
            dropped: LogGate::default(),
        });
        (emails, PendingOutbox { mailer, waiting })
    }

    /// Queues the alert's emails without waiting.
    pub fn queue(&self, alert: &AlertRow) {
        if let Err(e) = self.queue.try_send(alert.clone())
            && let Some(suppressed) = self.dropped.admit(0, now_millis())
        {
            tracing::warn!(
                alert = alert.id,
                suppressed,
                error = %e,
                "email: alert not emailed: too many alerts waiting for the mail server"
            );
        }
    }
}

impl PendingOutbox {
    /// Starts the `alert-email` task, which writes and sends the emails.
    pub fn start(self, store: Store, hub: HubAddress, default_lang: Lang, tasks: &Tasks) {
        let outbox = Outbox {
            mailer: Arc::new(self.mailer),
            store,
            hub,
            default_lang,
        };
        let waiting = self.waiting;
        tasks.spawn("alert-email", move |token, health| {
            outbox.run(waiting, token, health)
        });
    }
}

/// Emails a newly raised alert to the members who want it, if the hub has
/// `[email]` and the cradle's `email_notifications_enabled` is on (its
/// `settings`). Returns at once; the `alert-email` task does the sending.
pub fn send_alert_emails(emails: Option<&AlertEmails>, settings: &AlertSettings, alert: &AlertRow) {
    if let Some(emails) = emails
        && settings.email_notifications_enabled
    {
        emails.queue(alert);
    }
}

struct Outbox {
    mailer: Arc<Mailer>,
    store: Store,
    hub: HubAddress,
    default_lang: Lang,
}

impl Outbox {
    async fn run(
        self,
        mut waiting: mpsc::Receiver<AlertRow>,
        token: CancellationToken,
        health: Arc<TaskHealth>,
    ) {
        let turns = Arc::new(Semaphore::new(SENDING_AT_ONCE));
        let mut sending = JoinSet::new();
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                Some(done) = sending.join_next(), if !sending.is_empty() => {
                    if let Err(e) = done {
                        tracing::error!(error = %e, "email: a send task failed");
                    }
                }
                alert = waiting.recv() => {
                    let Some(alert) = alert else { return };
                    health.beat_now();
                    self.write(alert, &turns, &mut sending).await;
                }
            }
        }
    }

    /// Writes the alert's emails and hands them to `sending`.
    async fn write(&self, alert: AlertRow, turns: &Arc<Semaphore>, sending: &mut JoinSet<()>) {
        let uuid = alert.agent_uuid.clone();
        let recipients = match self
            .store
            .read(move |c| users::email_recipients(c, &uuid))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(alert = alert.id, error = %e, "email: cannot look up who gets the alert; not emailed");
                return;
            }
        };
        if recipients.is_empty() {
            return;
        }
        let base_url = self.hub.base_url();
        for r in recipients {
            if sending.len() >= MAX_IN_FLIGHT {
                tracing::warn!(
                    alert = alert.id,
                    user_id = r.user_id,
                    "email: not sent: too many emails waiting for the mail server"
                );
                continue;
            }
            let lang = r
                .lang
                .as_deref()
                .and_then(Lang::from_accept_language)
                .unwrap_or(self.default_lang);
            // Checked when saved through the API, but the column can be
            // edited by hand: a bad one skips this member only.
            let to = match r.email.parse::<Mailbox>() {
                Ok(to) => to,
                Err(e) => {
                    tracing::warn!(alert = alert.id, user_id = r.user_id, error = %e, "email: the member's address is not valid; not sent");
                    continue;
                }
            };
            let message = match compose(self.mailer.from.clone(), to, &alert, lang, &base_url) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(alert = alert.id, user_id = r.user_id, error = %e, "email: cannot write the message");
                    continue;
                }
            };
            let (mailer, turns, alert_id, user_id) =
                (self.mailer.clone(), turns.clone(), alert.id, r.user_id);
            sending.spawn(async move {
                let Ok(_turn) = turns.acquire_owned().await else {
                    return;
                };
                match mailer.send(message).await {
                    Ok(()) => tracing::info!(alert = alert_id, user_id, "email: alert sent"),
                    Err(e) => tracing::warn!(
                        alert = alert_id,
                        user_id,
                        server = mailer.server(),
                        error = %e,
                        "email: alert not sent"
                    ),
                }
            });
        }
    }
}

fn compose(
    from: Mailbox,
    to: Mailbox,
    alert: &AlertRow,
    lang: Lang,
    base_url: &str,
) -> Result<Message, lettre::error::Error> {
    let (subject, body) = alert_text(alert, lang, base_url);
    Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
}

/// The subject and plain-text body of an alert's email in `lang`.
fn alert_text(alert: &AlertRow, lang: Lang, base_url: &str) -> (String, String) {
    let title = AlertType::parse(&alert.alert_type).map_or(alert.alert_type.as_str(), |t| {
        crate::alerts::messages::title(t, lang)
    });
    let message = crate::alerts::message(alert, lang);
    let link = format!("{base_url}/#/alerts/{}", alert.id);
    // The cradle id came from MQTT: nothing in it may break the header.
    let cradle: String = alert
        .agent_uuid
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let urgent = crate::alerts::is_critical(alert);
    match lang {
        Lang::En => (
            format!(
                "{}Cradle alert: {title} ({cradle})",
                if urgent { "[URGENT] " } else { "" }
            ),
            format!(
                "{message}\n\nCradle: {cradle}\nOpen the alert: {link}\n\n-- \n\
                 Sent by your Cradle Hub because email notifications are on for this cradle.\n\
                 To stop them, turn email off in the cradle's notification settings.\n"
            ),
        ),
        Lang::Ko => (
            format!(
                "{}요람 경보: {title} ({cradle})",
                if urgent { "[긴급] " } else { "" }
            ),
            format!(
                "{message}\n\n요람: {cradle}\n경보 열기: {link}\n\n-- \n\
                 이 요람의 이메일 알림이 켜져 있어 Cradle Hub가 보낸 메일입니다.\n\
                 받지 않으려면 요람의 알림 설정에서 이메일을 끄세요.\n"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SmtpLogin;

    fn alert() -> AlertRow {
        AlertRow {
            id: 42,
            agent_uuid: "c1".into(),
            alert_type: "high_temperature".into(),
            temperature: Some(38.6),
            face_detected: None,
            notification_sent: false,
            resolved: false,
            created_at: 0,
            resolved_at: None,
            detail: r#"{"temperature":38.6,"max_temperature":38.0}"#.into(),
        }
    }

    #[test]
    fn an_alert_email_says_what_happened_in_the_readers_language_with_a_link() {
        let (subject, body) = alert_text(&alert(), Lang::En, "http://192.168.1.5:8080");
        assert!(subject.contains("High temperature (c1)"), "{subject}");
        assert!(
            body.starts_with("High temperature: 38.6 °C (limit 38.0 °C)."),
            "{body}"
        );
        assert!(
            body.contains("http://192.168.1.5:8080/#/alerts/42"),
            "{body}"
        );
        let (subject, body) = alert_text(&alert(), Lang::Ko, "http://hub");
        assert!(subject.contains("고온 (c1)"), "{subject}");
        assert!(body.starts_with("고온 경보: 38.6 °C"), "{body}");
        assert!(body.contains("http://hub/#/alerts/42"), "{body}");

        let mut odd = alert();
        odd.agent_uuid = "c1\r\nBcc: x@example.com".into();
        let (subject, _) = alert_text(&odd, Lang::En, "http://hub");
        assert!(!subject.contains(['\r', '\n']), "{subject}");
        let message = compose(
            "Cradle Hub <hub@example.com>".parse().unwrap(),
            "ann@example.com".parse().unwrap(),
            &odd,
            Lang::En,
            "http://hub",
        )
        .unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(text.contains("To: ann@example.com\r\n"), "{text}");
        assert!(!text.contains("\r\nBcc:"), "{text}");
    }

    #[test]
    fn links_use_the_lan_address_of_a_hub_listening_everywhere() {
        let local = HubAddress {
            http_addr: "127.0.0.1:8080".parse().unwrap(),
            https: false,
        };
        assert_eq!(local.base_url(), "http://127.0.0.1:8080");
        let everywhere = HubAddress {
            http_addr: "0.0.0.0:8443".parse().unwrap(),
            https: true,
        };
        let url = everywhere.base_url();
        assert!(
            url.starts_with("https://") && url.ends_with(":8443"),
            "{url}"
        );
        assert!(!url.contains("0.0.0.0"), "{url}");
    }

    #[test]
    fn every_security_mode_builds_a_transport() {
        let settings = |security| EmailSettings {
            host: "smtp.example.com".into(),
            port: 587,
            security,
            login: Some(SmtpLogin {
                user: "hub".into(),
                password: "s3cret".into(),
            }),
            from: "hub@example.com".parse().unwrap(),
        };
        for security in [
            SmtpSecurity::Starttls,
            SmtpSecurity::Tls,
            SmtpSecurity::None,
        ] {
            let mailer = Mailer::new(&settings(security)).unwrap();
            assert_eq!(mailer.server(), "smtp.example.com:587");
        }
    }
}
