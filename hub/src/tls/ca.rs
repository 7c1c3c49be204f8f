//! The hub's own small certificate authority for `--tls self-signed`.
//!
//! Phones trust the CA once (see `/ca`); the server certificate it signs can
//! then change with the LAN addresses without anyone re-installing
//! anything. So the CA is created once and kept: `<data>/tls/ca.key`
//! (mode 0600) and `<data>/tls/ca.crt`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::TlsError;

/// Folder inside the data folder.
pub const TLS_DIR: &str = "tls";
pub const CA_CERT_FILE: &str = "ca.crt";
pub const CA_KEY_FILE: &str = "ca.key";

/// Long enough that nobody has to re-install it on their phones in the
/// life of the hub.
const CA_DAYS: i64 = 20 * 365;
/// Apple refuses server certificates valid for more than 825 days even
/// from a CA the user installed; 397 is the public-web limit and safe
/// everywhere.
pub const SERVER_DAYS: i64 = 397;

pub struct LocalCa {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for LocalCa {
    // The issuer holds the private key: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa")
            .field("sha256", &self.sha256_hex())
            .finish_non_exhaustive()
    }
}

/// The CA's name depends only on its key, so the issuer can be rebuilt
/// from the key file alone, without parsing the certificate.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let id = hex(&Sha256::digest(key.public_key_raw())[..4]);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Cradle Hub");
    dn.push(DnType::CommonName, format!("Cradle Hub local CA {id}"));
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    // Path length 0: the CA signs server certificates, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

impl LocalCa {
    /// Loads the CA of an earlier run, or creates one. A certificate that
    /// is missing or belongs to another key is signed again from the key,
    /// with the same name, so devices that trust the key stay valid.
    pub fn load_or_create(data_dir: &Path) -> Result<LocalCa, TlsError> {
        let dir = data_dir.join(TLS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| TlsError::io(&dir, e))?;
        let key_path = dir.join(CA_KEY_FILE);
        let cert_path = dir.join(CA_CERT_FILE);

        let key = match std::fs::read_to_string(&key_path) {
            Ok(pem) => KeyPair::from_pem(&pem).map_err(|e| TlsError::Pem {
                path: key_path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = KeyPair::generate()?;
                write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
                // A certificate left from another key is of no use now.
                let _ = std::fs::remove_file(&cert_path);
                tracing::info!(path = %dir.display(), "tls: created a new local CA");
                key
            }
            Err(e) => return Err(TlsError::io(&key_path, e)),
        };
        restrict_permissions(&key_path)?;

        let params = ca_params(&key);
        let stored = match std::fs::read_to_string(&cert_path) {
            Ok(pem) => Some(pem),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(TlsError::io(&cert_path, e)),
        };
        let stored = stored.and_then(|pem| {
            let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
            // The certificate's public key must be this key: its SPKI bit
            // string holds the raw public key bytes.
            contains(der.as_ref(), key.public_key_raw()).then_some((pem, der))
        });
        let (cert_pem, cert_der) = match stored {
            Some(found) => found,
            None => {
                let mut params = params.clone();
                let now = OffsetDateTime::now_utc();
                params.not_before = now - Duration::days(1);
                params.not_after = now + Duration::days(CA_DAYS);
                let cert = params.self_signed(&key)?;
                write_file(&cert_path, cert.pem().as_bytes(), false)?;
                (cert.pem(), cert.der().clone())
            }
        };
        Ok(LocalCa {
            cert_pem,
            cert_der,
            issuer: Issuer::new(params, key),
        })
    }

    /// SHA-256 of the certificate (DER), lowercase hex: what phones show
    /// as the certificate's fingerprint.
    pub fn sha256_hex(&self) -> String {
        hex(&Sha256::digest(self.cert_der.as_ref()))
    }

    /// A fresh server certificate and key for these names, chained to the CA.
    pub fn issue_server(&self, names: &ServerNames) -> Result<Arc<CertifiedKey>, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Cradle Hub");
        dn.push(DnType::CommonName, names.common_name());
        params.distinguished_name = dn;
        params.subject_alt_names = names.san()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        // Clocks of phones are rarely exactly right.
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(SERVER_DAYS);
        let cert = params.signed_by(&key, &self.issuer)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signer = rustls::crypto::ring::sign::any_supported_type(&key_der)?;
        Ok(Arc::new(CertifiedKey::new(
            vec![cert.der().clone(), self.cert_der.clone()],
            signer,
        )))
    }
}

/// What the server certificate is valid for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerNames {
    /// Sorted, without duplicates, so two sets compare equal when the
    /// machine's addresses did not change.
    pub ips: Vec<IpAddr>,
    pub dns: Vec<String>,
}

impl ServerNames {
    /// The machine's current names: its non-loopback interface addresses,
    /// loopback, `localhost` and `<hostname>.local` (mDNS).
    pub fn current() -> ServerNames {
        let mut ips: Vec<IpAddr> = match if_addrs::get_if_addrs() {
            Ok(ifaces) => ifaces
                .into_iter()
                .map(|i| i.ip())
                .filter(|ip| !ip.is_loopback() && !ip.is_unspecified() && !ip.is_multicast())
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "tls: cannot list the network interfaces");
                Vec::new()
            }
        };
        ips.push(IpAddr::from([127, 0, 0, 1]));
        ips.push(IpAddr::from(std::net::Ipv6Addr::LOCALHOST));
        ips.sort();
        ips.dedup();
        let mut dns = vec!["localhost".to_owned()];
        if let Some(host) = mdns_name(&gethostname::gethostname().to_string_lossy()) {
            dns.push(host);
        }
        ServerNames { ips, dns }
    }

    fn common_name(&self) -> String {
        self.dns
            .iter()
            .find(|d| d.ends_with(".local"))
            .or(self.dns.first())
            .cloned()
            .unwrap_or_else(|| "Cradle Hub".to_owned())
    }

    fn san(&self) -> Result<Vec<SanType>, TlsError> {
        let mut san = Vec::with_capacity(self.ips.len() + self.dns.len());
        for d in &self.dns {
            san.push(SanType::DnsName(d.as_str().try_into()?));
        }
        san.extend(self.ips.iter().map(|ip| SanType::IpAddress(*ip)));
        Ok(san)
    }
}

/// `<hostname>.local` when the host name is a usable DNS label (mDNS
/// answers for the first label only).
pub fn mdns_name(hostname: &str) -> Option<String> {
    let label = hostname.split('.').next()?.to_ascii_lowercase();
    let valid = !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label != "localhost";
    valid.then(|| format!("{label}.local"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Written to a temporary file first and renamed, so a crash never leaves
/// half a key; private files are created 0600.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), TlsError> {
    use std::io::Write;
    let tmp: PathBuf = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(|e| TlsError::io(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| TlsError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TlsError::io(path, e))
}

/// A key file copied in by hand may be readable by everyone.
fn restrict_permissions(path: &Path) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| TlsError::io(path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| TlsError::io(path, e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mdns_names() {
        assert_eq!(mdns_name("Nursery-Pi").as_deref(), Some("nursery-pi.local"));
        assert_eq!(mdns_name("hub.example.org").as_deref(), Some("hub.local"));
        assert_eq!(mdns_name("localhost"), None);
        assert_eq!(mdns_name(""), None);
        assert_eq!(mdns_name("bad_name"), None);
    }

    #[test]
    fn ca_is_reused_and_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = LocalCa::load_or_create(dir.path()).unwrap();
        let b = LocalCa::load_or_create(dir.path()).unwrap();
        assert_eq!(a.cert_pem, b.cert_pem);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TLS_DIR).join(CA_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A lost certificate is signed again from the kept key: same name
        // and key, so server certificates still chain to what phones trust.
        std::fs::remove_file(dir.path().join(TLS_DIR).join(CA_CERT_FILE)).unwrap();
        let c = LocalCa::load_or_create(dir.path()).unwrap();
        assert_ne!(c.cert_pem, a.cert_pem);
        assert!(contains(
            c.cert_der.as_ref(),
            c.issuer.key().public_key_raw()
        ));
        let names = ServerNames::current();
        let leaf = c.issue_server(&names).unwrap();
        assert_eq!(leaf.cert.len(), 2);
    }
}
