//! The hub's VAPID key (RFC 8292): a P-256 key generated once and kept in
//! the data folder, signing a short-lived ES256 token on every push. A
//! browser binds each subscription to the public key, so a lost key means
//! every device has to subscribe again. The private key is never logged.

use std::io::{self, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;

/// In the data folder: the raw 32-byte private scalar, mode 0600.
pub const KEY_FILE: &str = "vapid.key";

pub struct VapidKey {
    signing: SigningKey,
    /// The uncompressed public point, base64url: `applicationServerKey`.
    public_b64: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public_b64)
            .finish_non_exhaustive()
    }
}

impl VapidKey {
    /// Reads the key from `data_dir`, or creates it there. A file that
    /// holds no valid key is set aside as `vapid.key.invalid` and replaced
    /// (devices subscribe again); an unreadable one is an error.
    pub fn load_or_create(data_dir: &Path) -> io::Result<VapidKey> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => match SigningKey::from_slice(&bytes) {
                Ok(signing) => return Ok(VapidKey::from_signing(signing)),
                Err(_) => {
                    tracing::warn!(
                        path = %path.display(),
                        "push: the VAPID key file holds no valid key; a new one is made and devices must enable push again"
                    );
                    std::fs::rename(&path, data_dir.join(format!("{KEY_FILE}.invalid")))?;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let signing = loop {
            // Retried in the 2^-32 case of bytes that are no valid scalar.
            if let Ok(k) = SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        write_new_private(&path, &signing.to_bytes())?;
        tracing::info!("push: VAPID key created");
        Ok(VapidKey::from_signing(signing))
    }

    fn from_signing(signing: SigningKey) -> VapidKey {
        let point = signing.verifying_key().to_encoded_point(false);
        VapidKey {
            public_b64: URL_SAFE_NO_PAD.encode(point.as_bytes()),
            signing,
        }
    }

    /// The public key as browsers take it (base64url, uncompressed point).
    pub fn public_key(&self) -> &str {
        &self.public_b64
    }

    /// The `Authorization` header of one push: `vapid t=<JWT>, k=<key>`,
    /// the JWT (ES256) naming the push service's origin, an expiry (Unix
    /// seconds, at most 24 h ahead) and a contact (`mailto:` or `https:`).
    pub fn authorization(&self, audience: &str, expires_at: i64, contact: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = URL_SAFE_NO_PAD
            .encode(json!({"aud": audience, "exp": expires_at, "sub": contact}).to_string());
        let signed = format!("{header}.{claims}");
        // SHA-256 and the fixed 64-byte r||s form, as JWS ES256 wants.
        let signature: Signature = self.signing.sign(signed.as_bytes());
        format!(
            "vapid t={signed}.{}, k={}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes()),
            self.public_b64
        )
    }
}

/// Creates `path` readable by the hub's user only; fails if it exists.
fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    use super::*;
    use crate::store::tempdir::TempDir;

    #[test]
    fn the_key_is_made_once_private_and_kept() {
        let dir = TempDir::new();
        let first = VapidKey::load_or_create(dir.path()).unwrap();
        let again = VapidKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        let public = URL_SAFE_NO_PAD.decode(first.public_key()).unwrap();
        assert_eq!((public.len(), public[0]), (65, 4), "uncompressed point");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            format!("{first:?}"),
            format!("VapidKey {{ public: {:?}, .. }}", first.public_key()),
            "the private key stays out of debug output"
        );
    }

    #[test]
    fn a_damaged_key_file_is_set_aside_and_replaced() {
        let dir = TempDir::new();
        std::fs::write(dir.path().join(KEY_FILE), b"garbage").unwrap();
        let key = VapidKey::load_or_create(dir.path()).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(format!("{KEY_FILE}.invalid"))).unwrap(),
            b"garbage"
        );
        assert_eq!(
            VapidKey::load_or_create(dir.path()).unwrap().public_key(),
            key.public_key()
        );
    }

    #[test]
    fn the_token_is_an_es256_jwt_for_the_audience() {
        let dir = TempDir::new();
        let key = VapidKey::load_or_create(dir.path()).unwrap();
        let header = key.authorization(
            "https://fcm.googleapis.com",
            1_900_000_000,
            "mailto:a@example.com",
        );
        let rest = header.strip_prefix("vapid t=").unwrap();
        let (jwt, k) = rest.split_once(", k=").unwrap();
        assert_eq!(k, key.public_key());
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let head: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(head["alg"], "ES256");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            json!({"aud": "https://fcm.googleapis.com", "exp": 1_900_000_000, "sub": "mailto:a@example.com"})
        );
        let verifying = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        verifying
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }
}
