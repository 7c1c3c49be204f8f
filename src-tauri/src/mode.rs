//! Which hub the app uses, and the small JSON file that remembers it.
//!
//! *Home hub* (the default): the app runs the hub itself. *Remote hub*: it
//! shows and follows a hub elsewhere on the LAN (e.g. a Raspberry Pi) and
//! starts none. `CRADLE_APP_REMOTE=http://host:port` picks remote mode for one
//! run without touching the saved choice (tests, trying a hub out).

use std::path::{Path, PathBuf};

use cradle_hub::i18n::Lang;
use serde::{Deserialize, Serialize};

pub const REMOTE_ENV: &str = "CRADLE_APP_REMOTE";
const FILE_NAME: &str = "app.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Home,
    /// The hub's base URL, normalised (`http://host:port`, no trailing slash).
    Remote(String),
}

impl Mode {
    pub fn window_title(&self) -> String {
        match self {
            Mode::Home => "Cradle Hub — home hub".to_owned(),
            Mode::Remote(url) => format!("Cradle Hub — remote: {url}"),
        }
    }

    pub fn kind(&self) -> ModeKind {
        match self {
            Mode::Home => ModeKind::Home,
            Mode::Remote(_) => ModeKind::Remote,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeKind {
    #[default]
    Home,
    Remote,
}

/// What `app.json` in the app's config folder holds. Unknown or missing
/// fields fall back to defaults so an older or hand-edited file still loads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    #[serde(default)]
    pub mode: ModeKind,
    /// Kept when switching back home, so the form remembers the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_url: Option<String>,
    /// A TLS hub's CA fingerprint (SHA-256 hex) pinned for `remote_url`:
    /// from its QR code or confirmed by the user on first use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ca_sha256: Option<String>,
    /// The UI's language as last reported by the page (`en` / `ko`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Saved {
    /// The saved mode; a remote choice without a usable address is home.
    pub fn mode(&self) -> Mode {
        match (self.mode, self.remote_url.as_deref().map(normalize_hub_url)) {
            (ModeKind::Remote, Some(Ok(url))) => Mode::Remote(url),
            _ => Mode::Home,
        }
    }

    pub fn language(&self) -> Option<Lang> {
        self.language.as_deref().and_then(parse_lang)
    }
}

pub fn parse_lang(s: &str) -> Option<Lang> {
    match s.trim().to_ascii_lowercase().get(..2) {
        Some("en") => Some(Lang::En),
        Some("ko") => Some(Lang::Ko),
        _ => None,
    }
}

/// The settings file, read once at start and rewritten on every change.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(config_dir: &Path) -> Store {
        Store {
            path: config_dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A missing file is the default; an unreadable or invalid one too, with a warning.
    pub fn load(&self) -> Saved {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %self.path.display(), error = %e, "app settings unreadable; using defaults");
                Saved::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "app settings unreadable; using defaults");
                Saved::default()
            }
        }
    }

    /// Writes atomically (temporary file + rename).
    pub fn save(&self, saved: &Saved) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(saved).map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// The mode for this run: `CRADLE_APP_REMOTE` if set (and valid), else the saved one.
/// The flag says whether the environment decided.
pub fn effective(saved: &Saved, env_remote: Option<&str>) -> Result<(Mode, bool), String> {
    match env_remote.map(str::trim).filter(|s| !s.is_empty()) {
        Some(url) => normalize_hub_url(url)
            .map(|url| (Mode::Remote(url), true))
            .map_err(|e| format!("{REMOTE_ENV}: {e}")),
        None => Ok((saved.mode(), false)),
    }
}

/// A hub address as entered, with the CA fingerprint it may carry (the
/// hub's QR code holds `https://<ip>:<port>/?ca_sha256=<hex>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubAddress {
    /// Normalised, as [`normalize_hub_url`].
    pub url: String,
    pub ca_sha256: Option<String>,
}

pub fn parse_hub_address(input: &str) -> Result<HubAddress, String> {
    let url = normalize_hub_url(input)?;
    let trimmed = input.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("http://{trimmed}")
    };
    let ca_sha256 = match tauri::Url::parse(&with_scheme).ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == "ca_sha256")
            .map(|(_, v)| v.into_owned())
    }) {
        Some(fp) => Some(crate::pin::parse_fingerprint(&fp)?),
        None => None,
    };
    Ok(HubAddress { url, ca_sha256 })
}

/// Host and port of a normalised hub URL, whatever its scheme (one port
/// serves both plain HTTP and HTTPS on a TLS hub).
pub fn authority(url: &str) -> Option<String> {
    let u = tauri::Url::parse(url).ok()?;
    Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?))
}

/// The CA fingerprint expected of the hub at `url` this run: the one the
/// address itself carries (`CRADLE_APP_REMOTE=...?ca_sha256=`), else the one
/// saved for that same host and port.
pub fn expected_pin(saved: &Saved, env_remote: Option<&str>, url: &str) -> Option<String> {
    if let Some(fp) = env_remote
        .filter(|s| !s.trim().is_empty())
        .and_then(|e| parse_hub_address(e).ok())
        .and_then(|a| a.ca_sha256)
    {
        return Some(fp);
    }
    let saved_url = saved.remote_url.as_deref().map(normalize_hub_url)?.ok()?;
    if authority(&saved_url)? != authority(url)? {
        return None;
    }
    saved
        .remote_ca_sha256
        .as_deref()
        .and_then(|f| crate::pin::parse_fingerprint(f).ok())
}

/// Accepts what a person types or a hub's QR code holds — `192.168.1.20:8080`,
/// `http://pi.local:8080/`, `http://hub/#/alerts` — and returns the base URL
/// `http://host[:port]`. Only http and https are accepted.
pub fn normalize_hub_url(input: &str) -> Result<String, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("the hub address is empty".to_owned());
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("http://{input}")
    };
    let url = tauri::Url::parse(&with_scheme)
        .map_err(|e| format!("{input:?} is not a hub address ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{input:?}: only http:// and https:// hubs are supported"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{input:?}: an address with a user name is not supported"
        ));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(format!("{input:?} has no host"));
    };
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls_are_normalised() {
        assert_eq!(
            normalize_hub_url("192.168.1.20:8080").as_deref(),
            Ok("http://192.168.1.20:8080")
        );
        assert_eq!(
            normalize_hub_url(" http://pi.local:8080/#/alerts ").as_deref(),
            Ok("http://pi.local:8080")
        );
        assert_eq!(
            normalize_hub_url("https://hub.example/").as_deref(),
            Ok("https://hub.example")
        );
        assert_eq!(
            normalize_hub_url("http://[fd00::2]:8080").as_deref(),
            Ok("http://[fd00::2]:8080")
        );
        assert!(normalize_hub_url("").is_err());
        assert!(normalize_hub_url("ftp://hub").is_err());
        assert!(normalize_hub_url("http://user:pw@hub").is_err());
        assert!(normalize_hub_url("http://").is_err());
    }

    #[test]
    fn env_beats_saved_and_saved_defaults_home() {
        let saved = Saved {
            mode: ModeKind::Remote,
            remote_url: Some("10.0.0.5:8080".into()),
            remote_ca_sha256: None,
            language: None,
        };
        assert_eq!(
            effective(&saved, None),
            Ok((Mode::Remote("http://10.0.0.5:8080".into()), false))
        );
        assert_eq!(
            effective(&saved, Some("http://127.0.0.1:9")),
            Ok((Mode::Remote("http://127.0.0.1:9".into()), true))
        );
        assert_eq!(effective(&saved, Some("  ")).map(|m| m.1), Ok(false));
        assert!(effective(&saved, Some("gopher://x")).is_err());
        assert_eq!(Saved::default().mode(), Mode::Home);
        let broken = Saved {
            mode: ModeKind::Remote,
            remote_url: None,
            remote_ca_sha256: None,
            language: None,
        };
        assert_eq!(broken.mode(), Mode::Home);
    }

    #[test]
    fn titles_name_the_mode() {
        assert_eq!(Mode::Home.window_title(), "Cradle Hub — home hub");
        assert_eq!(
            Mode::Remote("http://10.0.0.5:8080".into()).window_title(),
            "Cradle Hub — remote: http://10.0.0.5:8080"
        );
    }

    #[test]
    fn settings_file_round_trip_and_tolerance() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::new(&dir.path().join("nested"));
        assert_eq!(store.load(), Saved::default());
        let saved = Saved {
            mode: ModeKind::Remote,
            remote_url: Some("http://10.0.0.5:8080".into()),
            remote_ca_sha256: Some(FP.into()),
            language: Some("ko".into()),
        };
        store.save(&saved).expect("save");
        assert_eq!(store.load(), saved);
        assert_eq!(store.load().language(), Some(Lang::Ko));
        std::fs::write(store.path(), "{\"mode\":\"remote\",\"extra\":1}").expect("write");
        assert_eq!(store.load().mode(), Mode::Home);
        std::fs::write(store.path(), "not json").expect("write");
        assert_eq!(store.load(), Saved::default());
    }

    const FP: &str = "3f4a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90";

    #[test]
    fn the_qr_codes_address_carries_the_fingerprint() {
        let a = parse_hub_address(&format!("https://192.168.1.20:8443/?ca_sha256={FP}"))
            .expect("QR address");
        assert_eq!(a.url, "https://192.168.1.20:8443");
        assert_eq!(a.ca_sha256.as_deref(), Some(FP));
        let upper = format!("https://hub:8443?ca_sha256={}", FP.to_uppercase());
        assert_eq!(
            parse_hub_address(&upper)
                .expect("upper")
                .ca_sha256
                .as_deref(),
            Some(FP)
        );
        let plain = parse_hub_address("192.168.1.20:8080").expect("plain");
        assert_eq!(plain.url, "http://192.168.1.20:8080");
        assert_eq!(plain.ca_sha256, None);
        assert!(parse_hub_address("https://hub:8443/?ca_sha256=abc").is_err());
    }

    #[test]
    fn the_saved_pin_goes_with_its_host_and_port_only() {
        let saved = Saved {
            mode: ModeKind::Remote,
            remote_url: Some("https://10.0.0.5:8080".into()),
            remote_ca_sha256: Some(FP.into()),
            language: None,
        };
        // One port serves both schemes.
        assert_eq!(
            expected_pin(&saved, None, "http://10.0.0.5:8080").as_deref(),
            Some(FP)
        );
        assert_eq!(expected_pin(&saved, None, "https://10.0.0.5:8081"), None);
        assert_eq!(expected_pin(&saved, None, "https://10.0.0.6:8080"), None);
        let other = FP.replace('3', "4");
        let env = format!("https://10.0.0.5:8080/?ca_sha256={other}");
        assert_eq!(
            expected_pin(&saved, Some(&env), "https://10.0.0.5:8080").as_deref(),
            Some(other.as_str())
        );
        assert_eq!(authority("https://hub"), Some("hub:443".into()));
    }

    #[test]
    fn languages() {
        assert_eq!(parse_lang("ko-KR"), Some(Lang::Ko));
        assert_eq!(parse_lang("EN"), Some(Lang::En));
        assert_eq!(parse_lang("fr"), None);
        assert_eq!(parse_lang("k"), None);
    }
}
