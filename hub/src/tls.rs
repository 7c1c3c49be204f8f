//! HTTPS on the LAN (issue 13). Phones need a secure context for the
//! camera, service workers and Web Push, so the HTTP port can also speak
//! TLS (`--tls self-signed|files`).
//!
//! - [`ca`]: the hub's own local CA and the server certificates it signs.
//! - [`certs`]: the certificate rustls presents, swapped at run time when
//!   the LAN addresses change, the certificate nears expiry, or (`files`)
//!   the files change.
//! - [`serve`]: one port for both: a TLS ClientHello is served over TLS,
//!   plain HTTP from loopback as before, plain HTTP from the LAN with a
//!   redirect to the same URL over HTTPS.

pub mod ca;
pub mod certs;
pub mod serve;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

use crate::config::{Settings, TlsMode};
use crate::tasks::Tasks;

/// What the UI, `/api/hub_info` and the QR need to know about HTTPS.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub mode: TlsMode,
    /// The local CA (`self-signed` only): with `files`, the certificate
    /// comes from a CA the hub does not hold.
    pub ca: Option<CaPublic>,
}

#[derive(Debug, Clone)]
pub struct CaPublic {
    /// PEM, served at `/ca.crt`.
    pub pem: String,
    /// SHA-256 of the certificate (DER), lowercase hex.
    pub sha256: String,
}

impl TlsInfo {
    pub fn ca_sha256(&self) -> Option<&str> {
        self.ca.as_ref().map(|c| c.sha256.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `reason` never quotes the file: it may be a private key.
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("cannot create a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    KeyMismatch { cert: PathBuf, key: PathBuf },
}

impl TlsError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> TlsError {
        TlsError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// The TLS side of a running hub.
pub struct Tls {
    pub info: Arc<TlsInfo>,
    pub acceptor: TlsAcceptor,
    source: certs::CertSource,
}

impl Tls {
    /// Loads or creates what `settings.tls` asks for; `None` when it is off.
    /// Blocking (files, key generation): call from `spawn_blocking`.
    pub fn setup(settings: &Settings) -> Result<Option<Tls>, TlsError> {
        let (source, ca) = match settings.tls {
            TlsMode::Off => return Ok(None),
            TlsMode::SelfSigned => {
                let ca = ca::LocalCa::load_or_create(&settings.data_dir)?;
                let public = CaPublic {
                    pem: ca.cert_pem.clone(),
                    sha256: ca.sha256_hex(),
                };
                tracing::info!(
                    ca = %settings.data_dir.join(ca::TLS_DIR).join(ca::CA_CERT_FILE).display(),
                    sha256 = %public.sha256,
                    "tls: self-signed, local CA ready"
                );
                (certs::CertSource::self_signed(ca)?, Some(public))
            }
            TlsMode::Files => {
                let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) else {
                    return Err(TlsError::Pem {
                        path: PathBuf::new(),
                        reason: "--tls files needs --tls-cert and --tls-key".into(),
                    });
                };
                (certs::CertSource::files(cert.clone(), key.clone())?, None)
            }
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(source.resolver());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Some(Tls {
            info: Arc::new(TlsInfo {
                mode: settings.tls,
                ca,
            }),
            acceptor: TlsAcceptor::from(Arc::new(config)),
            source,
        }))
    }

    /// Keeps the certificate current for as long as the hub runs.
    pub fn spawn_renewal(&self, tasks: &Arc<Tasks>) {
        let source = self.source.clone();
        tasks.spawn("tls-certs", move |token, health| source.run(token, health));
    }
}

tokio::task_local! {
    /// Whether the request being handled came over TLS; set by
    /// [`serve`] around each request so handlers need no extra extractor.
    static REQUEST_IS_TLS: bool;
}

/// Whether the request this handler runs for came over TLS (false outside
/// a request, and with `--tls off`).
pub fn request_is_tls() -> bool {
    REQUEST_IS_TLS.try_with(|t| *t).unwrap_or(false)
}

/// Extra attributes of a cookie: `Secure` only over TLS, since a browser
/// drops a `Secure` cookie set over plain HTTP (the desktop app and local
/// tools on loopback).
pub fn cookie_attrs(is_tls: bool) -> &'static str {
    if is_tls { "; Secure" } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn secure_only_inside_a_tls_request() {
        assert_eq!(cookie_attrs(request_is_tls()), "");
        let inside = REQUEST_IS_TLS
            .scope(true, async { cookie_attrs(request_is_tls()) })
            .await;
        assert_eq!(inside, "; Secure");
    }
}
