//! Accounts and sessions: argon2id password hashes, server-side sessions
//! (the cookie holds a random token, SQLite holds its SHA-256), login
//! throttling, and signed expiring media tokens for `<img>`/`<video>` URLs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError, sessions, users};
use crate::timefmt::{Millis, now_millis};

pub const SESSION_COOKIE: &str = "cradle_session";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task failed")]
    Join,
}

/// A logged-in user as seen by handlers.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub username: String,
    pub selected_cradle: Option<String>,
    pub token_hash: [u8; 32],
    pub expires_at: Millis,
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// argon2id with the crate's defaults (19 MiB, 2 passes), off the async threads.
pub async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Hash(e.to_string()))
    })
    .await
    .map_err(|_| AuthError::Join)?
}

pub async fn verify_password(password: String, hash: String) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|_| AuthError::Join)
}

/// A stored hash to verify against when the user does not exist, so a wrong
/// name costs as long as a wrong password (no username probing by timing).
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub async fn dummy_hash() -> String {
    if let Some(h) = DUMMY_HASH.get() {
        return h.clone();
    }
    let h = hash_password("not-a-real-password".into())
        .await
        .unwrap_or_default();
    DUMMY_HASH.get_or_init(|| h).clone()
}

/// Sessions: SQLite is the truth, a small cache keeps the hot path (every
/// authenticated request) off the database.
pub struct Sessions {
    store: Store,
    cache: Mutex<HashMap<[u8; 32], Session>>,
    lifetime_ms: Millis,
}

const SESSION_CACHE_MAX: usize = 10_000;

impl Sessions {
    pub fn new(store: Store, lifetime_days: u32) -> Sessions {
        Sessions {
            store,
            cache: Mutex::new(HashMap::new()),
            lifetime_ms: Millis::from(lifetime_days) * 86_400_000,
        }
    }

    pub fn lifetime_secs(&self) -> i64 {
        self.lifetime_ms / 1000
    }

    /// Creates a session and returns the cookie token.
    pub async fn create(&self, user_id: i64, username: &str) -> Result<String, AuthError> {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let token_hash = hash_token(&token);
        let now = now_millis();
        let expires_at = now + self.lifetime_ms;
        self.store
            .write(move |c| sessions::insert(c, &token_hash, user_id, now, expires_at))
            .await?;
        self.cache_put(Session {
            user_id,
            username: username.to_owned(),
            selected_cradle: None,
            token_hash,
            expires_at,
        });
        Ok(token)
    }

    pub async fn lookup(&self, token: &str) -> Result<Option<Session>, AuthError> {
        let token_hash = hash_token(token);
        let now = now_millis();
        if let Some(s) = self.cache.lock().get(&token_hash) {
            return Ok((s.expires_at > now).then(|| s.clone()));
        }
        let row = self
            .store
            .read(move |c| sessions::lookup(c, &token_hash, now))
            .await?;
        Ok(row.map(|r| {
            let session = Session {
                user_id: r.user_id,
                username: r.username,
                selected_cradle: r.selected_cradle,
                token_hash,
                expires_at: r.expires_at,
            };
            self.cache_put(session.clone());
            session
        }))
    }

    pub async fn delete(&self, token_hash: [u8; 32]) -> Result<(), AuthError> {
        self.cache.lock().remove(&token_hash);
        self.store
            .write(move |c| sessions::delete(c, &token_hash))
            .await?;
        Ok(())
    }

    pub async fn select_cradle(
        &self,
        token_hash: [u8; 32],
        uuid: Option<String>,
    ) -> Result<(), AuthError> {
        let stored = uuid.clone();
        self.store
            .write(move |c| sessions::select_cradle(c, &token_hash, stored.as_deref()))
            .await?;
        if let Some(s) = self.cache.lock().get_mut(&token_hash) {
            s.selected_cradle = uuid;
        }
        Ok(())
    }

    /// A deleted cradle is no longer anyone's selection.
    pub fn forget_cradle(&self, uuid: &str) {
        for s in self.cache.lock().values_mut() {
            if s.selected_cradle.as_deref() == Some(uuid) {
                s.selected_cradle = None;
            }
        }
    }

    fn cache_put(&self, session: Session) {
        let mut cache = self.cache.lock();
        if cache.len() >= SESSION_CACHE_MAX {
            // Cheap bound: start over; entries reload from SQLite on demand.
            cache.clear();
        }
        cache.insert(session.token_hash, session);
    }

    pub async fn delete_expired(&self) -> Result<usize, AuthError> {
        let now = now_millis();
        self.cache.lock().retain(|_, s| s.expires_at > now);
        Ok(self
            .store
            .write(move |c| sessions::delete_expired(c, now))
            .await?)
    }
}

/// Failed-login throttling per username and per client address: after
/// `FREE_FAILURES` failures inside the window, each further attempt must wait
/// an exponentially growing delay.
pub struct LoginThrottle {
    entries: Mutex<HashMap<ThrottleKey, Failures>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ThrottleKey {
    User(String),
    Addr(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Millis,
}

const FREE_FAILURES: u32 = 5;
const THROTTLE_WINDOW_MS: Millis = 15 * 60 * 1000;
const MAX_DELAY_MS: Millis = 5 * 60 * 1000;
const THROTTLE_MAX_KEYS: usize = 50_000;

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl LoginThrottle {
    fn keys(username: &str, addr: Option<IpAddr>) -> impl Iterator<Item = ThrottleKey> {
        std::iter::once(ThrottleKey::User(username.to_lowercase()))
            .chain(addr.map(ThrottleKey::Addr))
    }

    fn delay(f: Failures) -> Millis {
        if f.count < FREE_FAILURES {
            return 0;
        }
        let exp = (f.count - FREE_FAILURES).min(10);
        (1000 * (1i64 << exp)).min(MAX_DELAY_MS)
    }

    /// Seconds to wait before another attempt is allowed, if any.
    pub fn retry_after(&self, username: &str, addr: Option<IpAddr>, now: Millis) -> Option<u64> {
        let entries = self.entries.lock();
        Self::keys(username, addr)
            .filter_map(|k| entries.get(&k).copied())
            .filter(|f| now - f.last < THROTTLE_WINDOW_MS)
            .map(|f| f.last + Self::delay(f) - now)
            .filter(|wait| *wait > 0)
            .max()
            .map(|ms| (ms as u64).div_ceil(1000))
    }

    pub fn failed(&self, username: &str, addr: Option<IpAddr>, now: Millis) {
        let mut entries = self.entries.lock();
        if entries.len() >= THROTTLE_MAX_KEYS {
            entries.retain(|_, f| now - f.last < THROTTLE_WINDOW_MS);
        }
        for key in Self::keys(username, addr) {
            let f = entries.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now - f.last >= THROTTLE_WINDOW_MS {
                f.count = 0;
            }
            f.count += 1;
            f.last = now;
        }
    }

    pub fn succeeded(&self, username: &str) {
        self.entries
            .lock()
            .remove(&ThrottleKey::User(username.to_lowercase()));
    }
}

/// A token bucket per client address: `burst` calls at once, then one
/// every `refill_ms`. The clock is passed in.
pub struct RateLimiter {
    burst: u32,
    refill_ms: Millis,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Calls left (refilled continuously).
    tokens: f64,
    at: Millis,
}

const LIMITER_MAX_KEYS: usize = 50_000;

impl RateLimiter {
    pub fn new(burst: u32, refill_ms: Millis) -> RateLimiter {
        RateLimiter {
            burst: burst.max(1),
            refill_ms: refill_ms.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `/register_agent`: a cradle calls it once per boot. 30 at once (a
    /// household's cradles after a power cut, the bench's 16), then one
    /// every 2 s per address.
    pub fn register_agent() -> RateLimiter {
        RateLimiter::new(30, 2_000)
    }

    /// Takes one call from `addr`'s bucket, or says how many seconds until
    /// the next one is allowed.
    pub fn check(&self, addr: IpAddr, now: Millis) -> Result<(), u64> {
        let full = f64::from(self.burst);
        let refill_ms = self.refill_ms as f64;
        let mut buckets = self.buckets.lock();
        if buckets.len() >= LIMITER_MAX_KEYS {
            buckets.retain(|_, b| b.tokens + (now - b.at) as f64 / refill_ms < full);
        }
        let b = buckets.entry(addr).or_insert(Bucket {
            tokens: full,
            at: now,
        });
        let elapsed = (now - b.at).max(0) as f64;
        b.tokens = (b.tokens + elapsed / refill_ms).min(full);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait_ms = (1.0 - b.tokens) * refill_ms;
            Err(((wait_ms / 1000.0).ceil() as u64).max(1))
        }
    }
}

/// Signs `<uuid>.<user>.<expiry>` so a media URL works without a cookie for
/// a short time and only for that cradle's owner.
#[derive(Clone)]
pub struct MediaSigner {
    key: Arc<Vec<u8>>,
}

pub const MEDIA_TOKEN_TTL_MS: Millis = 60 * 60 * 1000;

impl MediaSigner {
    pub fn new(key: &[u8]) -> MediaSigner {
        MediaSigner {
            key: Arc::new(key.to_vec()),
        }
    }

    /// HMAC accepts keys of any length, so this is `None` only in theory.
    fn mac(&self, scope: &str, user_id: i64, expires: Millis) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).ok()?;
        mac.update(format!("media\0{scope}\0{user_id}\0{expires}").as_bytes());
        Some(mac)
    }

    /// A token for media of `scope` (a cradle uuid) for `user_id`.
    pub fn issue(&self, scope: &str, user_id: i64, expires: Millis) -> String {
        let sig = self
            .mac(scope, user_id, expires)
            .map(|m| m.finalize().into_bytes().to_vec())
            .unwrap_or_default();
        format!("{user_id}.{expires}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// The user the token was issued to, if it is valid for `scope` now.
    pub fn verify(&self, token: &str, scope: &str, now: Millis) -> Option<i64> {
        let mut parts = token.splitn(3, '.');
        let user_id: i64 = parts.next()?.parse().ok()?;
        let expires: Millis = parts.next()?.parse().ok()?;
        let sig = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        if expires <= now {
            return None;
        }
        self.mac(scope, user_id, expires)?.verify_slice(&sig).ok()?;
        Some(user_id)
    }
}

/// The media-signing key: SECRET_KEY when set, else a random key kept in the
/// data folder so tokens survive restarts.
pub fn load_or_create_key(
    configured: Option<&str>,
    data_dir: &std::path::Path,
) -> std::io::Result<Vec<u8>> {
    if let Some(k) = configured {
        return Ok(Sha256::digest(k.as_bytes()).to_vec());
    }
    let path = data_dir.join("secret.key");
    match std::fs::read(&path) {
        Ok(k) if k.len() >= 32 => Ok(k),
        _ => {
            let key = rand::random::<[u8; 32]>().to_vec();
            write_private(&path, &key)?;
            Ok(key)
        }
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

/// Username rules: 1–64 characters, no surrounding whitespace, no control characters.
pub fn valid_username(name: &str) -> bool {
    let len = name.chars().count();
    (1..=64).contains(&len) && name.trim() == name && !name.chars().any(char::is_control)
}

pub const MIN_PASSWORD_CHARS: usize = 4;

/// Creates an account directly (demo mode, admin tooling).
pub async fn create_user(store: &Store, username: &str, password: &str) -> Result<i64, AuthError> {
    let hash = hash_password(password.to_owned()).await?;
    let name = username.to_owned();
    Ok(store
        .write(move |c| users::insert(c, &name, &hash, now_millis()))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_tokens_are_scoped_and_expire() {
        let signer = MediaSigner::new(b"key");
        let t = signer.issue("cradle-a", 7, 10_000);
        assert_eq!(signer.verify(&t, "cradle-a", 9_999), Some(7));
        assert_eq!(signer.verify(&t, "cradle-a", 10_000), None);
        assert_eq!(signer.verify(&t, "cradle-b", 0), None);
        assert_eq!(signer.verify(&t.replace("7.", "8."), "cradle-a", 0), None);
        assert_eq!(MediaSigner::new(b"other").verify(&t, "cradle-a", 0), None);
        assert_eq!(signer.verify("garbage", "cradle-a", 0), None);
    }

    #[test]
    fn rate_limiter_allows_a_burst_then_one_per_period_per_address() {
        let l = RateLimiter::new(3, 2_000);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.check(a, 0), Ok(()));
        }
        assert_eq!(l.check(a, 0), Err(2));
        assert_eq!(l.check(b, 0), Ok(()), "addresses are separate");
        assert_eq!(l.check(a, 1_000), Err(1));
        assert_eq!(l.check(a, 2_000), Ok(()));
        assert!(l.check(a, 2_001).is_err());
        // A long pause refills up to the burst, not beyond.
        for _ in 0..3 {
            assert_eq!(l.check(a, 1_000_000), Ok(()));
        }
        assert!(l.check(a, 1_000_000).is_err());
    }

    #[test]
    fn throttle_after_five_failures_and_window_reset() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..5 {
            assert_eq!(t.retry_after("ann", Some(ip), i), None);
            t.failed("ann", Some(ip), i);
        }
        assert_eq!(t.retry_after("ann", None, 5), Some(1));
        // Another name from the same address is throttled too.
        assert!(t.retry_after("bob", Some(ip), 5).is_some());
        assert_eq!(t.retry_after("bob", None, 5), None);
        assert_eq!(t.retry_after("ann", Some(ip), 5 + THROTTLE_WINDOW_MS), None);
        t.succeeded("ann");
        assert_eq!(t.retry_after("ann", None, 5), None);
    }

    #[test]
    fn usernames() {
        assert!(valid_username("엄마"));
        assert!(!valid_username(""));
        assert!(!valid_username(" ann"));
        assert!(!valid_username(&"x".repeat(65)));
    }

    #[tokio::test]
    async fn argon2id_round_trip() {
        let h = hash_password("secret".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("secret".into(), h.clone()).await.unwrap());
        assert!(!verify_password("Secret".into(), h).await.unwrap());
    }
}
