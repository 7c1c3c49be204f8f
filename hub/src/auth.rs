//! Accounts: argon2id password hashes behind a bounded gate, login
//! throttling, and signed expiring media tokens for `<img>`/`<video>` URLs.
//! Sessions (the cookie holds a random token, SQLite its SHA-256) are in
//! [`crate::sessions`].

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

use crate::store::{Store, StoreError, users};
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
    #[error("too many passwords are being checked at once")]
    Busy,
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Password hashing is the one thing a stranger can make the hub do that
/// costs real memory (argon2id with the crate's defaults: 19 MiB, 2 passes).
/// A few run at once; a bounded line waits; beyond that the caller gets
/// [`AuthError::Busy`] (HTTP 503) instead of the hub running out of memory.
struct HashGate {
    admitted: tokio::sync::Semaphore,
    running: tokio::sync::Semaphore,
}

/// Requests that may wait for a hashing slot: a household's logins after a
/// restart, or a test suite's, fit; a flood does not.
const HASH_QUEUE: usize = 64;

impl HashGate {
    fn new(queue: usize, running: usize) -> HashGate {
        HashGate {
            admitted: tokio::sync::Semaphore::new(queue),
            running: tokio::sync::Semaphore::new(running),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let _admitted = self.admitted.try_acquire().map_err(|_| AuthError::Busy)?;
        let _running = self.running.acquire().await.map_err(|_| AuthError::Busy)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| AuthError::Join)
    }
}

static HASH_GATE: std::sync::LazyLock<HashGate> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    HashGate::new(HASH_QUEUE, cores.clamp(1, 4))
});

pub async fn hash_password(password: String) -> Result<String, AuthError> {
    HASH_GATE
        .run(move || {
            let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
                .map_err(|e| AuthError::Hash(e.to_string()))?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AuthError::Hash(e.to_string()))
        })
        .await?
}

pub async fn verify_password(password: String, hash: String) -> Result<bool, AuthError> {
    HASH_GATE
        .run(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return false;
            };
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .await
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
        std::iter::once(ThrottleKey::User(Self::user_key(username)))
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
        Self::retry_after_in(&entries, username, addr, now)
    }

    fn retry_after_in(
        entries: &HashMap<ThrottleKey, Failures>,
        username: &str,
        addr: Option<IpAddr>,
        now: Millis,
    ) -> Option<u64> {
        Self::keys(username, addr)
            .filter_map(|k| entries.get(&k).copied())
            .filter(|f| now - f.last < THROTTLE_WINDOW_MS)
            .map(|f| f.last + Self::delay(f) - now)
            .filter(|wait| *wait > 0)
            .max()
            .map(|ms| (ms as u64).div_ceil(1000))
    }

    /// Counts an attempt as failed before the password is checked, so that
    /// parallel guesses cannot all slip in while the first hashes run; a
    /// success takes it back ([`LoginThrottle::succeeded`]). `Err` holds the
    /// seconds to wait when the attempt is not allowed at all.
    pub fn attempt(&self, username: &str, addr: Option<IpAddr>, now: Millis) -> Result<(), u64> {
        let mut entries = self.entries.lock();
        if let Some(secs) = Self::retry_after_in(&entries, username, addr, now) {
            return Err(secs);
        }
        Self::count_failure(&mut entries, username, addr, now);
        Ok(())
    }

    pub fn failed(&self, username: &str, addr: Option<IpAddr>, now: Millis) {
        Self::count_failure(&mut self.entries.lock(), username, addr, now);
    }

    fn count_failure(
        entries: &mut HashMap<ThrottleKey, Failures>,
        username: &str,
        addr: Option<IpAddr>,
        now: Millis,
    ) {
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

    /// The right password: the name starts afresh, and the address gets
    /// back the attempt [`LoginThrottle::attempt`] counted.
    pub fn succeeded(&self, username: &str, addr: Option<IpAddr>) {
        let mut entries = self.entries.lock();
        entries.remove(&ThrottleKey::User(Self::user_key(username)));
        if let Some(f) = addr.and_then(|a| entries.get_mut(&ThrottleKey::Addr(a))) {
            f.count = f.count.saturating_sub(1);
        }
    }

    /// Names longer than any valid one are cut, so a key never holds more
    /// than a valid name's worth of text.
    fn user_key(username: &str) -> String {
        username
            .chars()
            .take(MAX_USERNAME_CHARS)
            .collect::<String>()
            .to_lowercase()
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

    /// `/register`: a family creates a few accounts; a script creating
    /// thousands (each a password hash and a row) is slowed to one every 10 s.
    pub fn signup() -> RateLimiter {
        RateLimiter::new(20, 10_000)
    }

    /// `/check_username`: the sign-up form asks as the name is typed.
    pub fn username_lookup() -> RateLimiter {
        RateLimiter::new(30, 1_000)
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

/// Signs `<uuid>.<user>.<session>.<expiry>` so a media URL works without a
/// cookie for a short time, only for that cradle's owner, and only while
/// the session it was issued to lasts (checked by the caller).
#[derive(Clone)]
pub struct MediaSigner {
    key: Arc<Vec<u8>>,
}

pub const MEDIA_TOKEN_TTL_MS: Millis = 60 * 60 * 1000;

/// What a valid media token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaGrant {
    pub user_id: i64,
    /// The public id of the session that asked for it.
    pub session: String,
}

impl MediaSigner {
    pub fn new(key: &[u8]) -> MediaSigner {
        MediaSigner {
            key: Arc::new(key.to_vec()),
        }
    }

    /// HMAC accepts keys of any length, so this is `None` only in theory.
    fn mac(&self, scope: &str, grant: &MediaGrant, expires: Millis) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).ok()?;
        mac.update(
            format!(
                "media\0{scope}\0{}\0{}\0{expires}",
                grant.user_id, grant.session
            )
            .as_bytes(),
        );
        Some(mac)
    }

    /// A token for media of `scope` (a cradle uuid).
    pub fn issue(&self, scope: &str, grant: &MediaGrant, expires: Millis) -> String {
        let sig = self
            .mac(scope, grant, expires)
            .map(|m| m.finalize().into_bytes().to_vec())
            .unwrap_or_default();
        format!(
            "{}.{}.{expires}.{}",
            grant.user_id,
            grant.session,
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// What the token grants, if it is valid for `scope` now.
    pub fn verify(&self, token: &str, scope: &str, now: Millis) -> Option<MediaGrant> {
        let mut parts = token.splitn(4, '.');
        let user_id: i64 = parts.next()?.parse().ok()?;
        let session = parts.next()?;
        if session.is_empty() || !session.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expires: Millis = parts.next()?.parse().ok()?;
        let sig = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        if expires <= now {
            return None;
        }
        let grant = MediaGrant {
            user_id,
            session: session.to_owned(),
        };
        self.mac(scope, &grant, expires)?.verify_slice(&sig).ok()?;
        Some(grant)
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

pub const MAX_USERNAME_CHARS: usize = 64;

/// Username rules: 1–64 characters, no surrounding whitespace, no control characters.
pub fn valid_username(name: &str) -> bool {
    let len = name.chars().count();
    (1..=MAX_USERNAME_CHARS).contains(&len)
        && name.trim() == name
        && !name.chars().any(char::is_control)
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
        let grant = MediaGrant {
            user_id: 7,
            session: "abc123".into(),
        };
        let t = signer.issue("cradle-a", &grant, 10_000);
        assert_eq!(signer.verify(&t, "cradle-a", 9_999), Some(grant.clone()));
        assert_eq!(signer.verify(&t, "cradle-a", 10_000), None);
        assert_eq!(signer.verify(&t, "cradle-b", 0), None);
        assert_eq!(signer.verify(&t.replace("7.", "8."), "cradle-a", 0), None);
        assert_eq!(
            signer.verify(&t.replace("abc123", "abc124"), "cradle-a", 0),
            None
        );
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
        t.succeeded("ann", None);
        assert_eq!(t.retry_after("ann", None, 5), None);
    }

    #[test]
    fn attempts_count_before_the_password_is_checked() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        // Ten guesses sent at once: only the first five are let through.
        let allowed = (0..10)
            .filter(|_| t.attempt("ann", Some(ip), 0).is_ok())
            .count();
        assert_eq!(allowed, 5);
        // A household logging in many times from one address is not locked out.
        let home: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..20 {
            assert_eq!(t.attempt("dad", Some(home), i), Ok(()), "login {i}");
            t.succeeded("dad", Some(home));
        }
    }

    #[test]
    fn throttle_keys_hold_at_most_a_valid_name() {
        let t = LoginThrottle::default();
        let long = "x".repeat(100_000);
        t.failed(&long, None, 0);
        let entries = t.entries.lock();
        let ThrottleKey::User(key) = entries.keys().next().unwrap() else {
            panic!("a user key")
        };
        assert_eq!(key.chars().count(), MAX_USERNAME_CHARS);
    }

    #[tokio::test]
    async fn hashing_beyond_the_queue_is_refused_not_queued() {
        let gate = Arc::new(HashGate::new(2, 1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let running = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(move || wait.recv().is_ok()).await }
        });
        while gate.running.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let queued = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(|| true).await }
        });
        while gate.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = gate.run(|| true).await;
        assert!(matches!(refused, Err(AuthError::Busy)), "{refused:?}");
        release.send(()).unwrap();
        assert!(running.await.unwrap().unwrap());
        assert!(queued.await.unwrap().unwrap(), "a queued hash still runs");
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
