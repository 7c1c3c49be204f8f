//! The certificate rustls presents, and what keeps it current.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use super::TlsError;
use super::ca::{LocalCa, SERVER_DAYS, ServerNames};
use crate::tasks::{self, TaskHealth};

/// How often `files` mode looks at the files' modification times.
pub const FILES_POLL: Duration = Duration::from_secs(2);
/// How often `self-signed` mode compares the machine's addresses with the
/// certificate's (a laptop hub moves between networks; DHCP changes).
pub const ADDRESS_POLL: Duration = Duration::from_secs(30);
/// A server certificate this close to its end is replaced.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The certificate in use, for every handshake; swapped whole.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    fn new(key: Arc<CertifiedKey>) -> CertStore {
        CertStore {
            current: RwLock::new(key),
        }
    }

    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.read().clone()
    }

    fn replace(&self, key: Arc<CertifiedKey>) {
        *self.current.write() = key;
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Where the certificate comes from, with what is needed to tell that it
/// must change.
#[derive(Clone)]
pub struct CertSource {
    store: Arc<CertStore>,
    kind: Arc<Mutex<Kind>>,
}

enum Kind {
    SelfSigned {
        ca: Box<LocalCa>,
        names: ServerNames,
        expires: SystemTime,
    },
    Files {
        cert: PathBuf,
        key: PathBuf,
        /// The files as last read (successfully or not), so a bad file is
        /// reported once, not at every poll.
        seen: Option<Stamp>,
    },
}

/// Modification time and size of both files.
type Stamp = [(Option<SystemTime>, u64); 2];

fn stamp(cert: &Path, key: &Path) -> Option<Stamp> {
    let one = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    Some([one(cert)?, one(key)?])
}

impl CertSource {
    pub fn self_signed(ca: LocalCa) -> Result<CertSource, TlsError> {
        let names = ServerNames::current();
        let key = ca.issue_server(&names)?;
        tracing::info!(ips = ?names.ips, dns = ?names.dns, "tls: server certificate issued");
        Ok(CertSource {
            store: Arc::new(CertStore::new(key)),
            kind: Arc::new(Mutex::new(Kind::SelfSigned {
                ca: Box::new(ca),
                names,
                expires: server_expiry(),
            })),
        })
    }

    /// Fails when the files are unusable at start: there is no older
    /// certificate to keep serving.
    pub fn files(cert: PathBuf, key: PathBuf) -> Result<CertSource, TlsError> {
        let seen = stamp(&cert, &key);
        let loaded = load_files(&cert, &key)?;
        tracing::info!(cert = %cert.display(), "tls: certificate loaded");
        Ok(CertSource {
            store: Arc::new(CertStore::new(loaded)),
            kind: Arc::new(Mutex::new(Kind::Files { cert, key, seen })),
        })
    }

    pub fn resolver(&self) -> Arc<CertStore> {
        self.store.clone()
    }

    pub async fn run(self, token: CancellationToken, health: Arc<TaskHealth>) {
        let period = match &*self.kind.lock() {
            Kind::SelfSigned { .. } => ADDRESS_POLL,
            Kind::Files { .. } => FILES_POLL,
        };
        tasks::every(period, token, health, |_| {
            let this = self.clone();
            async move {
                // File reads and key generation: off the async threads.
                if let Err(e) = tokio::task::spawn_blocking(move || this.check()).await {
                    tracing::error!(error = %e, "tls: certificate check failed");
                }
            }
        })
        .await;
    }

    /// One look: replaces the certificate when it must change and the
    /// new one is good; otherwise the old one stays.
    pub fn check(&self) {
        let mut kind = self.kind.lock();
        match &mut *kind {
            Kind::SelfSigned { ca, names, expires } => {
                let now_names = ServerNames::current();
                let near_end = expires
                    .duration_since(SystemTime::now())
                    .map(|left| left < RENEW_BEFORE)
                    .unwrap_or(true);
                if now_names == *names && !near_end {
                    return;
                }
                match ca.issue_server(&now_names) {
                    Ok(key) => {
                        self.store.replace(key);
                        tracing::info!(ips = ?now_names.ips, dns = ?now_names.dns, near_end, "tls: server certificate reissued");
                        *names = now_names;
                        *expires = server_expiry();
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "tls: cannot reissue the server certificate; the old one stays")
                    }
                }
            }
            Kind::Files { cert, key, seen } => {
                let now = stamp(cert, key);
                if now.is_none() || now == *seen {
                    return;
                }
                *seen = now;
                match load_files(cert, key) {
                    Ok(loaded) => {
                        self.store.replace(loaded);
                        tracing::info!(cert = %cert.display(), "tls: certificate reloaded");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "tls: new certificate files not used; the old certificate stays")
                    }
                }
            }
        }
    }
}

fn server_expiry() -> SystemTime {
    SystemTime::now() + Duration::from_secs(SERVER_DAYS as u64 * 24 * 3600)
}

/// A PEM chain (leaf first) and its private key, checked to belong
/// together. Errors name the file, never its contents.
pub fn load_files(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let pem_error = |path: &Path, what: &str| TlsError::Pem {
        path: path.to_owned(),
        reason: what.to_owned(),
    };
    let cert_pem = std::fs::read(cert).map_err(|e| TlsError::io(cert, e))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| pem_error(cert, "not a valid PEM certificate file"))?;
    if chain.is_empty() {
        return Err(pem_error(cert, "no CERTIFICATE in the file"));
    }
    let key_pem = std::fs::read(key).map_err(|e| TlsError::io(key, e))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|_| pem_error(key, "no usable PEM private key in the file"))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key_der)
        .map_err(|_| pem_error(key, "unsupported private key type"))?;
    let loaded = CertifiedKey::new(chain, signer);
    match loaded.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(loaded))
        }
        Err(_) => Err(TlsError::KeyMismatch {
            cert: cert.to_owned(),
            key: key.to_owned(),
        }),
    }
}
