//! Settings from CLI flags, environment variables and an optional TOML file,
//! in that order of precedence. clap handles flags and env together; the TOML
//! file only fills what neither gave, then built-in defaults apply.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
// Switches set from the environment take 1/0, yes/no, on/off as well as true/false.
use clap::builder::BoolishValueParser;
use serde::Deserialize;

use crate::i18n::Lang;

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (snake_case keys, e.g. `http_addr = "0.0.0.0:8080"`).
    #[arg(long, env = "CRADLE_HUB_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Address of the HTTP server (API, live view, UI). Port 0 picks a free port. [default: 0.0.0.0:8080, or 127.0.0.1:8080 with --demo]
    #[arg(long, env = "CRADLE_HUB_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// Listen address of the hub's own MQTT endpoint for cradles (ignored with an external broker). [default: 0.0.0.0:1883, or 127.0.0.1:1883 with --demo]
    #[arg(long, env = "CRADLE_HUB_MQTT_ADDR")]
    pub mqtt_addr: Option<SocketAddr>,

    /// Use this external MQTT broker (e.g. Mosquitto) instead of the hub's own endpoint, e.g. mqtt://127.0.0.1:1883.
    /// MQTT_BROKER_HOST and MQTT_BROKER_PORT mean the same.
    #[arg(long, env = "CRADLE_HUB_MQTT_URL")]
    pub mqtt_url: Option<String>,

    /// User name the hub logs in to the external broker with (e.g. Home Assistant's Mosquitto add-on allows no anonymous clients).
    #[arg(long, env = "CRADLE_HUB_MQTT_USERNAME")]
    pub mqtt_username: Option<String>,

    /// Password for --mqtt-username. Prefer the environment variable or the TOML file: flags show in process lists.
    #[arg(long, env = "CRADLE_HUB_MQTT_PASSWORD", hide_env_values = true)]
    pub mqtt_password: Option<String>,

    /// Folder for the SQLite database and the generated secret key. [default: ./cradle-hub-data]
    #[arg(long, env = "CRADLE_HUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Demo mode: the hub's own MQTT endpoint, two simulated cradles and a demo account, on loopback.
    #[arg(long, env = "CRADLE_HUB_DEMO", value_parser = BoolishValueParser::new())]
    pub demo: bool,

    /// Language of messages when the client sends no usable Accept-Language (en or ko). [default: en]
    #[arg(long, env = "CRADLE_HUB_DEFAULT_LANGUAGE")]
    pub default_language: Option<Lang>,

    /// Key for signing media tokens. Without it a random key is generated and kept in the data folder.
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Largest MQTT payload accepted, in bytes (frames are ~40-80 KB of base64). [default: 524288]
    #[arg(long, env = "CRADLE_HUB_MAX_MQTT_PAYLOAD")]
    pub max_mqtt_payload: Option<usize>,

    /// A login session ends after this many days without use. [default: 30]
    #[arg(long, env = "CRADLE_HUB_SESSION_DAYS")]
    pub session_days: Option<u32>,

    /// A login session ends this many days after sign-in, however much it is used. [default: 180]
    #[arg(long, env = "CRADLE_HUB_SESSION_MAX_DAYS")]
    pub session_max_days: Option<u32>,

    /// Serve the web UI from this folder instead of the copy built into the binary (UI development).
    #[arg(long, env = "CRADLE_HUB_UI_DIR")]
    pub ui_dir: Option<PathBuf>,

    /// Days that readings, alerts and alert recordings are kept. [default: 30]
    #[arg(long, env = "CRADLE_HUB_RETENTION_DAYS")]
    pub retention_days: Option<u32>,

    /// Most disk space alert recordings may use, in MB; the oldest go first. [default: 2048]
    #[arg(long, env = "CRADLE_HUB_MAX_RECORDINGS_MB")]
    pub max_recordings_mb: Option<u64>,

    /// HTTPS on the HTTP port: off, self-signed (the hub's own local CA, kept in the data folder) or files (--tls-cert and --tls-key). [default: off]
    #[arg(long, env = "CRADLE_HUB_TLS", value_enum)]
    pub tls: Option<TlsMode>,

    /// PEM certificate chain for --tls files; reloaded when the file changes.
    #[arg(long, env = "CRADLE_HUB_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls files; reloaded when the file changes.
    #[arg(long, env = "CRADLE_HUB_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Do not advertise the hub on the LAN over mDNS/DNS-SD (_cradle-hub._tcp and _mqtt._tcp).
    #[arg(long, env = "CRADLE_HUB_NO_MDNS", value_parser = BoolishValueParser::new())]
    pub no_mdns: bool,

    /// The hub's name on the LAN (mDNS instance name, shown by apps that find it). [default: Cradle Hub on <hostname>]
    #[arg(long, env = "CRADLE_HUB_NAME")]
    pub name: Option<String>,

    /// Publish Home Assistant MQTT discovery configs and states for each cradle (external-broker mode only).
    #[arg(long, env = "CRADLE_HUB_HA_DISCOVERY", value_parser = BoolishValueParser::new())]
    pub ha_discovery: bool,

    /// Bearer token that may read GET /metrics without a login (for Prometheus). Without it, /metrics needs a signed-in user.
    #[arg(long, env = "CRADLE_HUB_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Contact that push services (Google, Mozilla, Apple) may use about this hub's notifications, sent with every push: mailto:you@example.com or an https:// page. Apple refuses pushes whose contact is not a real mailto: address or https:// page. [default: mailto:cradle-hub@example.com]
    #[arg(long, env = "CRADLE_HUB_PUSH_CONTACT")]
    pub push_contact: Option<String>,

    /// Test only: push endpoints may be plain http:// and on loopback (the integration tests' local push service).
    #[arg(long, hide = true)]
    pub allow_insecure_push_endpoints: bool,
}

/// How the HTTP port does HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plain HTTP only.
    #[default]
    Off,
    /// A server certificate from the hub's own local CA.
    SelfSigned,
    /// A certificate and key from files (e.g. from another CA).
    Files,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Off => "off",
            TlsMode::SelfSigned => "self-signed",
            TlsMode::Files => "files",
        }
    }
}

/// The TOML file: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    http_addr: Option<SocketAddr>,
    mqtt_addr: Option<SocketAddr>,
    mqtt_url: Option<String>,
    mqtt_username: Option<String>,
    mqtt_password: Option<String>,
    data_dir: Option<PathBuf>,
    demo: Option<bool>,
    default_language: Option<Lang>,
    secret_key: Option<String>,
    max_mqtt_payload: Option<usize>,
    session_days: Option<u32>,
    session_max_days: Option<u32>,
    retention_days: Option<u32>,
    max_recordings_mb: Option<u64>,
    ui_dir: Option<PathBuf>,
    tls: Option<TlsMode>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    mdns: Option<bool>,
    name: Option<String>,
    ha_discovery: Option<bool>,
    metrics_token: Option<String>,
    email: Option<EmailFile>,
    push_contact: Option<String>,
}

/// `[email]` as written in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailFile {
    host: String,
    port: Option<u16>,
    #[serde(default)]
    security: SmtpSecurity,
    user: Option<String>,
    password: Option<String>,
    from: String,
}

impl std::fmt::Debug for EmailFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailFile")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, refused if the server cannot (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine or a test sink.
    None,
}

/// Alert emails: the mail server the hub sends through (`[email]`).
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub login: Option<SmtpLogin>,
    pub from: lettre::message::Mailbox,
}

/// The hub's login at the mail server. The password never shows in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpLogin {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for SmtpLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpLogin")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl EmailSettings {
    fn resolve(file: EmailFile) -> Result<EmailSettings, ConfigError> {
        let host = file.host.trim().to_owned();
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
            return Err(ConfigError::Email(format!(
                "host {:?} must be the mail server's name or address, e.g. \"smtp.example.com\"",
                file.host
            )));
        }
        let port = match file.port {
            Some(0) => return Err(ConfigError::Email("port must be 1 to 65535".into())),
            Some(port) => port,
            None if file.security == SmtpSecurity::Tls => 465,
            None => 587,
        };
        let user = file.user.filter(|u| !u.is_empty());
        let password = file.password.filter(|p| !p.is_empty());
        let login = match (user, password) {
            (Some(user), Some(password)) => Some(SmtpLogin { user, password }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Email("user is set but password is not".into()));
            }
            (None, Some(_)) => {
                return Err(ConfigError::Email("password is set but user is not".into()));
            }
        };
        let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]");
        if login.is_some() && file.security == SmtpSecurity::None && !local {
            return Err(ConfigError::Email(
                "security = \"none\" would send the password unencrypted; use \"starttls\" or \"tls\"".into(),
            ));
        }
        let from = file.from.trim().parse().map_err(|e| {
            ConfigError::Email(format!(
                "from {:?} is not an email address like \"Cradle Hub <hub@example.com>\": {e}",
                file.from
            ))
        })?;
        Ok(EmailSettings {
            host,
            port,
            security: file.security,
            login,
            from,
        })
    }
}

/// Where the hub's MQTT client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttMode {
    /// Cradles connect to the hub itself, on this address.
    Endpoint { listen: SocketAddr },
    /// Connect to a broker someone else runs.
    External { host: String, port: u16 },
}

/// The hub's login at an external broker. The password never shows in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerLogin {
    pub username: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for BrokerLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerLogin")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Fully resolved settings the hub runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub http_addr: SocketAddr,
    pub mqtt: MqttMode,
    /// Login at the external broker; `None` connects anonymously.
    pub mqtt_login: Option<BrokerLogin>,
    pub data_dir: PathBuf,
    pub demo: bool,
    pub default_language: Lang,
    pub secret_key: Option<String>,
    pub max_mqtt_payload: usize,
    /// Idle expiry of a session.
    pub session_days: u32,
    /// Absolute expiry of a session, never shorter than the idle one.
    pub session_max_days: u32,
    pub retention_days: u32,
    pub max_recording_bytes: i64,
    pub ui_dir: Option<PathBuf>,
    pub tls: TlsMode,
    /// Certificate chain and key for [`TlsMode::Files`]; both set in that mode.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Advertise the hub over mDNS/DNS-SD.
    pub mdns: bool,
    /// The hub's name on the LAN; `None` means "Cradle Hub on <hostname>".
    pub name: Option<String>,
    /// Home Assistant MQTT discovery (only acted on with an external broker).
    pub ha_discovery: bool,
    /// Bearer token for `GET /metrics` without a login.
    pub metrics_token: Option<String>,
    /// The mail server for alert emails; `None`: no email is sent.
    pub email: Option<EmailSettings>,
    /// The VAPID contact (`mailto:` or `https:`) sent with every push.
    pub push_contact: Option<String>,
    /// Test only: plain-http and loopback push endpoints are allowed.
    pub allow_insecure_push: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid MQTT broker address {0:?}: expected mqtt://host:port")]
    MqttUrl(String),
    #[error("invalid MQTT_BROKER_PORT {0:?}")]
    MqttPort(String),
    #[error("an MQTT broker password was given without a user name (--mqtt-username)")]
    MqttPasswordWithoutUser,
    #[error("--tls files needs both --tls-cert and --tls-key")]
    TlsFiles,
    #[error("invalid [email] section in the config file: {0}")]
    Email(String),
    #[error("invalid push contact {0:?}: expected mailto:you@example.com or an https:// address")]
    PushContact(String),
}

pub const DEFAULT_MAX_MQTT_PAYLOAD: usize = 512 * 1024;

impl Settings {
    /// Settings for tests and embedders: everything on loopback port 0.
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> Settings {
        Settings {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            mqtt: MqttMode::Endpoint {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            },
            mqtt_login: None,
            data_dir: data_dir.into(),
            demo: false,
            default_language: Lang::En,
            secret_key: None,
            max_mqtt_payload: DEFAULT_MAX_MQTT_PAYLOAD,
            session_days: 30,
            session_max_days: 180,
            retention_days: 30,
            max_recording_bytes: 2048 * 1024 * 1024,
            ui_dir: None,
            tls: TlsMode::Off,
            tls_cert: None,
            tls_key: None,
            // Tests run many hubs at once; they opt in to mDNS where it is tested.
            mdns: false,
            name: None,
            ha_discovery: false,
            metrics_token: None,
            email: None,
            push_contact: None,
            allow_insecure_push: false,
        }
    }

    /// Resolve flags+env (already merged by clap) with the TOML file and the
    /// legacy `MQTT_BROKER_HOST`/`MQTT_BROKER_PORT` variables.
    pub fn resolve(args: &ServeArgs) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let demo = args.demo || file.demo.unwrap_or(false);
        let default_ip: [u8; 4] = if demo { [127, 0, 0, 1] } else { [0, 0, 0, 0] };

        let legacy_host = std::env::var("MQTT_BROKER_HOST")
            .ok()
            .filter(|h| !h.is_empty());
        let legacy_port = match std::env::var("MQTT_BROKER_PORT") {
            Ok(p) if !p.is_empty() => Some(p.parse::<u16>().map_err(|_| ConfigError::MqttPort(p))?),
            _ => None,
        };
        let mqtt_url = args.mqtt_url.clone().or(file.mqtt_url);
        let mqtt = if let Some(url) = mqtt_url {
            let (host, port) = parse_mqtt_url(&url)?;
            MqttMode::External { host, port }
        } else if let Some(host) = legacy_host {
            MqttMode::External {
                host,
                port: legacy_port.unwrap_or(1883),
            }
        } else {
            MqttMode::Endpoint {
                listen: args
                    .mqtt_addr
                    .or(file.mqtt_addr)
                    .unwrap_or_else(|| SocketAddr::from((default_ip, legacy_port.unwrap_or(1883)))),
            }
        };

        let mqtt_username = args
            .mqtt_username
            .clone()
            .or(file.mqtt_username)
            .filter(|u| !u.is_empty());
        let mqtt_password = args.mqtt_password.clone().or(file.mqtt_password);
        let mqtt_login = match (mqtt_username, mqtt_password) {
            (Some(username), password) => Some(BrokerLogin { username, password }),
            (None, Some(_)) => return Err(ConfigError::MqttPasswordWithoutUser),
            (None, None) => None,
        };

        let session_days = args.session_days.or(file.session_days).unwrap_or(30).max(1);
        let tls = args.tls.or(file.tls).unwrap_or_default();
        let tls_cert = args.tls_cert.clone().or(file.tls_cert);
        let tls_key = args.tls_key.clone().or(file.tls_key);
        if tls == TlsMode::Files && (tls_cert.is_none() || tls_key.is_none()) {
            return Err(ConfigError::TlsFiles);
        }
        let email = file.email.map(EmailSettings::resolve).transpose()?;
        let push_contact = args
            .push_contact
            .clone()
            .or(file.push_contact)
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if let Some(c) = &push_contact
            && !((c.starts_with("mailto:") && c.contains('@')) || c.starts_with("https://"))
        {
            return Err(ConfigError::PushContact(c.clone()));
        }
        Ok(Settings {
            http_addr: args
                .http_addr
                .or(file.http_addr)
                .unwrap_or_else(|| SocketAddr::from((default_ip, 8080))),
            mqtt,
            mqtt_login,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("cradle-hub-data")),
            demo,
            default_language: args
                .default_language
                .or(file.default_language)
                .unwrap_or(Lang::En),
            secret_key: args
                .secret_key
                .clone()
                .or(file.secret_key)
                .filter(|k| !k.is_empty()),
            max_mqtt_payload: args
                .max_mqtt_payload
                .or(file.max_mqtt_payload)
                .unwrap_or(DEFAULT_MAX_MQTT_PAYLOAD),
            session_days,
            session_max_days: args
                .session_max_days
                .or(file.session_max_days)
                .unwrap_or(180)
                .max(session_days),
            retention_days: args
                .retention_days
                .or(file.retention_days)
                .unwrap_or(30)
                .max(1),
            max_recording_bytes: args
                .max_recordings_mb
                .or(file.max_recordings_mb)
                .unwrap_or(2048)
                .saturating_mul(1024 * 1024)
                .min(i64::MAX as u64) as i64,
            ui_dir: args.ui_dir.clone().or(file.ui_dir),
            tls,
            tls_cert,
            tls_key,
            mdns: !args.no_mdns && file.mdns.unwrap_or(true),
            name: args
                .name
                .clone()
                .or(file.name)
                .filter(|n| !n.trim().is_empty()),
            ha_discovery: args.ha_discovery || file.ha_discovery.unwrap_or(false),
            metrics_token: args
                .metrics_token
                .clone()
                .or(file.metrics_token)
                .filter(|t| !t.is_empty()),
            email,
            push_contact,
            allow_insecure_push: args.allow_insecure_push_endpoints,
        })
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Accepts `mqtt://host:port`, `tcp://host:port`, `host:port` or `host`
/// (port 1883): the same parser the simulator and the bench use.
pub fn parse_mqtt_url(url: &str) -> Result<(String, u16), ConfigError> {
    cradle_tools::protocol::parse_mqtt_url(url).map_err(|_| ConfigError::MqttUrl(url.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forms themselves are tested with the shared parser in
    /// `cradle_tools::protocol`; here, that a bad URL is a config error.
    #[test]
    fn mqtt_urls() {
        assert_eq!(
            parse_mqtt_url("mqtt://127.0.0.1:1884").unwrap(),
            ("127.0.0.1".into(), 1884)
        );
        assert!(matches!(
            parse_mqtt_url("mqtt://host:notaport"),
            Err(ConfigError::MqttUrl(u)) if u == "mqtt://host:notaport"
        ));
    }

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let dir = std::env::temp_dir().join(format!("cradle-hub-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hub.toml");
        std::fs::write(&file, "http_addr = \"127.0.0.1:9000\"\nsession_days = 7\n").unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            http_addr: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let settings = Settings::resolve(&args).unwrap();
        assert_eq!(settings.http_addr, "127.0.0.1:9100".parse().unwrap());
        assert_eq!(settings.session_days, 7);
        std::fs::write(&file, "no_such_key = 1\n").unwrap();
        assert!(matches!(
            Settings::resolve(&args),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn broker_login_from_file_and_its_password_is_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(
            &file,
            "mqtt_url = \"mqtt://127.0.0.1:1883\"\nmqtt_username = \"hub\"\nmqtt_password = \"s3cret-pass\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            ..Default::default()
        };
        let settings = Settings::resolve(&args).unwrap();
        let login = settings.mqtt_login.clone().unwrap();
        assert_eq!(login.username, "hub");
        assert_eq!(login.password.as_deref(), Some("s3cret-pass"));
        assert!(!format!("{settings:?}").contains("s3cret-pass"));

        let args = ServeArgs {
            mqtt_password: Some("x".into()),
            ..Default::default()
        };
        assert!(matches!(
            Settings::resolve(&args),
            Err(ConfigError::MqttPasswordWithoutUser)
        ));
    }

    #[test]
    fn tls_defaults_off_and_files_needs_both_paths() {
        let settings = Settings::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(settings.tls, TlsMode::Off);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(&file, "tls = \"self-signed\"\n").unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        assert_eq!(Settings::resolve(&args).unwrap().tls, TlsMode::SelfSigned);
        let args = ServeArgs {
            tls: Some(TlsMode::Files),
            tls_cert: Some("cert.pem".into()),
            ..Default::default()
        };
        assert!(matches!(
            Settings::resolve(&args),
            Err(ConfigError::TlsFiles)
        ));
    }

    fn email_from(toml: &str) -> Result<Option<EmailSettings>, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(&file, toml).unwrap();
        Settings::resolve(&ServeArgs {
            config: Some(file),
            ..Default::default()
        })
        .map(|s| s.email)
    }

    #[test]
    fn email_is_off_without_a_section_and_starttls_on_587_by_default() {
        assert!(email_from("").unwrap().is_none());
        let email = email_from(
            "[email]\nhost = \"smtp.example.com\"\nuser = \"hub@example.com\"\npassword = \"app-s3cret\"\nfrom = \"Cradle Hub <hub@example.com>\"\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(email.host, "smtp.example.com");
        assert_eq!(email.security, SmtpSecurity::Starttls);
        assert_eq!(email.port, 587);
        assert_eq!(email.from.email.to_string(), "hub@example.com");
        assert_eq!(email.from.name.as_deref(), Some("Cradle Hub"));
        let login = email.login.clone().unwrap();
        assert_eq!(
            (login.user.as_str(), login.password.as_str()),
            ("hub@example.com", "app-s3cret")
        );
        assert!(!format!("{email:?}").contains("app-s3cret"));

        let explicit = email_from(
            "email = { host = \"mail.example.com\", port = 2525, security = \"starttls\", from = \"hub@example.com\" }\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (explicit.security, explicit.port, explicit.login),
            (SmtpSecurity::Starttls, 2525, None)
        );
        let tls = email_from("[email]\nhost = \"smtp.example.com\"\nsecurity = \"tls\"\nfrom = \"hub@example.com\"\n")
            .unwrap()
            .unwrap();
        assert_eq!((tls.security, tls.port), (SmtpSecurity::Tls, 465));
        let local = email_from("[email]\nhost = \"127.0.0.1\"\nport = 25\nsecurity = \"none\"\nfrom = \"hub@example.com\"\n")
            .unwrap()
            .unwrap();
        assert_eq!((local.security, local.port), (SmtpSecurity::None, 25));
    }

    #[test]
    fn bad_email_settings_stop_the_start_with_a_clear_reason() {
        let bad = |toml: &str, says: &str| {
            let e = email_from(toml).expect_err(toml).to_string();
            assert!(e.contains(says), "{toml:?}: {e}");
            assert!(!e.contains("s3cret"), "{e}");
        };
        bad(
            "[email]\nhost = \"smtp.example.com\"\nsecurity = \"ssl\"\nfrom = \"hub@example.com\"\n",
            "starttls",
        );
        bad("[email]\nhost = \"smtp.example.com\"\n", "from");
        bad(
            "[email]\nhost = \"smtp.example.com\"\nfrom = \"not an address\"\n",
            "from \"not an address\"",
        );
        bad(
            "[email]\nhost = \"smtp://smtp.example.com\"\nfrom = \"hub@example.com\"\n",
            "host",
        );
        bad("[email]\nhost = \"\"\nfrom = \"hub@example.com\"\n", "host");
        bad(
            "[email]\nhost = \"smtp.example.com\"\nport = 0\nfrom = \"hub@example.com\"\n",
            "port",
        );
        bad(
            "[email]\nhost = \"smtp.example.com\"\npassword = \"s3cret\"\nfrom = \"hub@example.com\"\n",
            "user is not",
        );
        bad(
            "[email]\nhost = \"smtp.example.com\"\nuser = \"hub\"\nfrom = \"hub@example.com\"\n",
            "password is not",
        );
        bad(
            "[email]\nhost = \"smtp.example.com\"\nsecurity = \"none\"\nuser = \"hub\"\npassword = \"s3cret\"\nfrom = \"hub@example.com\"\n",
            "unencrypted",
        );
        bad(
            "[email]\nhost = \"smtp.example.com\"\nfrom = \"hub@example.com\"\nsender = \"x\"\n",
            "sender",
        );
    }

    #[test]
    fn demo_defaults_to_loopback() {
        let args = ServeArgs {
            demo: true,
            mqtt_url: None,
            ..Default::default()
        };
        // The legacy variables are not set in the test environment of CI; if
        // they are, the endpoint case does not apply and this check is moot.
        if std::env::var("MQTT_BROKER_HOST").is_ok() {
            return;
        }
        let settings = Settings::resolve(&args).unwrap();
        assert!(settings.http_addr.ip().is_loopback());
        assert!(
            matches!(settings.mqtt, MqttMode::Endpoint { listen } if listen.ip().is_loopback())
        );
    }

    #[test]
    fn a_push_contact_is_a_mailto_or_https_address() {
        let with = |contact: &str| {
            Settings::resolve(&ServeArgs {
                push_contact: Some(contact.into()),
                ..Default::default()
            })
        };
        assert_eq!(
            with(" mailto:me@example.org ")
                .unwrap()
                .push_contact
                .as_deref(),
            Some("mailto:me@example.org")
        );
        assert!(with("https://example.org/contact").is_ok());
        assert_eq!(with("").unwrap().push_contact, None);
        for bad in ["me@example.org", "mailto:nobody", "http://example.org/"] {
            assert!(
                matches!(with(bad), Err(ConfigError::PushContact(_))),
                "{bad}"
            );
        }
    }
}
