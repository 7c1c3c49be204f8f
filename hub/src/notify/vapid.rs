//! The hub's VAPID key (RFC 8292): a P-256 key generated once and kept in
//! the database beside the subscriptions, signing a short-lived ES256 token
//! on every push. A browser binds each subscription to the public key, so a
//! lost key means every device has to subscribe again; kept in the
//! database, it travels in `cradle-hub backup`. The private key is never
//! logged.

use std::io;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;

use crate::store::{self, Store, StoreError};
use crate::timefmt::now_millis;

/// Where hubs before schema 7 kept the key (the raw 32-byte private
/// scalar): moved into the database at start, then removed.
pub const LEGACY_KEY_FILE: &str = "vapid.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read {path}: {source}")]
    LegacyFile { path: PathBuf, source: io::Error },
    #[error("start-up task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Where the key in use came from, as the start-up log says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Database,
    /// Moved in from an older hub's `vapid.key`: devices keep their pushes.
    LegacyFile,
    /// None was kept, or the kept one was damaged: devices subscribe again.
    Created,
}

/// The hub's key: the one in the database; else the one an older hub kept
/// in `vapid.key`, moved into the database; else a new one. A kept key
/// that is no valid key is replaced (devices enable push again), and a
/// damaged `vapid.key` is set aside as `vapid.key.invalid`.
pub async fn load_or_create(
    store: &Store,
    data_dir: &Path,
) -> Result<(VapidKey, Origin), KeyError> {
    let stored = store.read(store::push::vapid_key).await?;
    if let Some(bytes) = stored {
        if let Some(key) = VapidKey::from_bytes(&bytes) {
            return Ok((key, Origin::Database));
        }
        tracing::warn!(
            "push: the kept VAPID key is no valid key; a new one is made and devices must enable push again"
        );
    }
    let dir = data_dir.to_owned();
    let legacy = tokio::task::spawn_blocking(move || read_legacy(&dir)).await??;
    let (key, origin) = match legacy {
        Some(key) => (key, Origin::LegacyFile),
        None => (VapidKey::generate(), Origin::Created),
    };
    let private = key.signing.to_bytes().to_vec();
    store
        .write_waiting(move |c| store::push::set_vapid_key(c, &private, now_millis()))
        .await?;
    match origin {
        Origin::LegacyFile => {
            let path = data_dir.join(LEGACY_KEY_FILE);
            // Kept in the database now; a second copy would only drift.
            let removed = tokio::task::spawn_blocking(move || std::fs::remove_file(&path)).await?;
            match removed {
                Ok(()) => {
                    tracing::info!("push: the VAPID key moved from vapid.key into the database")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "push: the VAPID key is in the database now, but vapid.key could not be removed")
                }
            }
        }
        Origin::Created => tracing::info!("push: VAPID key created"),
        Origin::Database => {}
    }
    Ok((key, origin))
}

/// The key in an older hub's `vapid.key`, if there is a valid one. A file
/// holding no valid key is set aside as `vapid.key.invalid`.
fn read_legacy(data_dir: &Path) -> Result<Option<VapidKey>, KeyError> {
    let path = data_dir.join(LEGACY_KEY_FILE);
    let failed = |source| KeyError::LegacyFile {
        path: path.clone(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) => match VapidKey::from_bytes(&bytes) {
            Some(key) => Ok(Some(key)),
            None => {
                tracing::warn!(
                    path = %path.display(),
                    "push: vapid.key holds no valid key; set aside, a new one is made and devices must enable push again"
                );
                std::fs::rename(&path, data_dir.join(format!("{LEGACY_KEY_FILE}.invalid")))
                    .map_err(failed)?;
                Ok(None)
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(failed(e)),
    }
}

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
    /// A key from its raw 32-byte private scalar, if that is one.
    pub fn from_bytes(bytes: &[u8]) -> Option<VapidKey> {
        SigningKey::from_slice(bytes)
            .ok()
            .map(VapidKey::from_signing)
    }

    pub fn generate() -> VapidKey {
        loop {
            // Retried in the 2^-32 case of bytes that are no valid scalar.
            if let Some(key) = VapidKey::from_bytes(&rand::random::<[u8; 32]>()) {
                return key;
            }
        }
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

#[cfg(test)]
mod tests {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    use super::*;
    use crate::store::tempdir::TempDir;

    /// The key in use after a start on `dir`, and where it came from.
    async fn start_on(dir: &Path) -> (VapidKey, Origin) {
        let store = Store::open(dir).unwrap();
        let loaded = load_or_create(&store, dir).await.unwrap();
        store
            .close(std::time::Duration::from_secs(5))
            .await
            .unwrap();
        loaded
    }

    #[tokio::test]
    async fn the_key_is_made_once_and_kept_in_the_database() {
        let dir = TempDir::new();
        let (first, origin) = start_on(dir.path()).await;
        assert_eq!(origin, Origin::Created);
        let (again, origin) = start_on(dir.path()).await;
        assert_eq!(
            (again.public_key(), origin),
            (first.public_key(), Origin::Database)
        );
        assert!(
            !dir.path().join(LEGACY_KEY_FILE).exists(),
            "no copy beside the database"
        );
        let public = URL_SAFE_NO_PAD.decode(first.public_key()).unwrap();
        assert_eq!((public.len(), public[0]), (65, 4), "uncompressed point");
        assert_eq!(
            format!("{first:?}"),
            format!("VapidKey {{ public: {:?}, .. }}", first.public_key()),
            "the private key stays out of debug output"
        );
    }

    #[tokio::test]
    async fn an_older_hubs_key_file_moves_into_the_database() {
        let dir = TempDir::new();
        let old = VapidKey::generate();
        std::fs::write(dir.path().join(LEGACY_KEY_FILE), old.signing.to_bytes()).unwrap();
        let (moved, origin) = start_on(dir.path()).await;
        assert_eq!(
            (moved.public_key(), origin),
            (old.public_key(), Origin::LegacyFile)
        );
        assert!(!dir.path().join(LEGACY_KEY_FILE).exists());
        let (kept, origin) = start_on(dir.path()).await;
        assert_eq!(
            (kept.public_key(), origin),
            (old.public_key(), Origin::Database)
        );
    }

    #[tokio::test]
    async fn a_damaged_key_is_replaced_and_a_damaged_file_set_aside() {
        let dir = TempDir::new();
        std::fs::write(dir.path().join(LEGACY_KEY_FILE), b"garbage").unwrap();
        let (made, origin) = start_on(dir.path()).await;
        assert_eq!(origin, Origin::Created);
        assert_eq!(
            std::fs::read(dir.path().join(format!("{LEGACY_KEY_FILE}.invalid"))).unwrap(),
            b"garbage"
        );
        assert_eq!(start_on(dir.path()).await.0.public_key(), made.public_key());

        // Zero is no P-256 private scalar.
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|c| store::push::set_vapid_key(c, &[0; 32], 0))
            .await
            .unwrap();
        store
            .close(std::time::Duration::from_secs(5))
            .await
            .unwrap();
        let (fresh, origin) = start_on(dir.path()).await;
        assert_eq!(origin, Origin::Created);
        assert_ne!(fresh.public_key(), made.public_key());
        assert_eq!(
            start_on(dir.path()).await.0.public_key(),
            fresh.public_key()
        );
    }

    #[test]
    fn the_token_is_an_es256_jwt_for_the_audience() {
        let key = VapidKey::generate();
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
