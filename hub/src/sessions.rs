//! Login sessions: SQLite is the truth; a cache keeps every authenticated
//! request off the database. A session ends when it has not been used for
//! the idle period, at the absolute end counted from sign-in, or when it is
//! revoked (logout, "sign out other devices", a password change). Every
//! revocation goes through here and clears the cache at once, and open
//! streams of that session end with it ([`Sessions::ended`]). Revocations
//! by another process (`cradle-hub user reset-password`) are noticed within
//! a second ([`Sessions::follow_outside_revocations`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthError, hash_token};
use crate::store::Store;
use crate::store::sessions::{self, NewSession, SessionRow};
use crate::tasks::TaskHealth;
use crate::timefmt::{Millis, now_millis};

/// A logged-in user as seen by handlers.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub username: String,
    pub selected_cradle: Option<String>,
    pub token_hash: [u8; 32],
    /// Names the session in the device list and in media tokens.
    pub public_id: String,
    pub expires_at: Millis,
    pub ends_at: Millis,
    last_seen_at: Millis,
    last_ip: Option<IpAddr>,
    /// When `last_seen_at` was last written to SQLite.
    persisted_at: Millis,
}

/// How long sessions last. Pure, so the rules are tested without a clock.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle_ms: Millis,
    pub absolute_ms: Millis,
}

impl Lifetimes {
    pub fn from_days(idle_days: u32, absolute_days: u32) -> Lifetimes {
        let day = 86_400_000;
        let idle_ms = Millis::from(idle_days.max(1)) * day;
        Lifetimes {
            idle_ms,
            absolute_ms: (Millis::from(absolute_days) * day).max(idle_ms),
        }
    }

    /// When a session used at `last_seen` ends, absent further use.
    pub fn expires_at(self, last_seen: Millis, ends_at: Millis) -> Millis {
        (last_seen + self.idle_ms).min(ends_at)
    }
}

/// Last use is written to SQLite at most this often per session: enough for
/// the device list and for idle expiry across a restart, without a write
/// per request.
const PERSIST_LAST_SEEN_EVERY_MS: Millis = 5 * 60 * 1000;

const SESSION_CACHE_MAX: usize = 10_000;
/// How often the hub looks for sessions another process ended: one read of
/// two `hub_meta` rows.
const OUTSIDE_REVOCATIONS_EVERY: Duration = Duration::from_secs(1);
const USER_AGENT_MAX_CHARS: usize = 256;
/// A household device counts as present at its address for the app live
/// view only if its session was used this recently (addresses change hands).
pub const RECENT_USE_MS: Millis = 12 * 60 * 60 * 1000;

#[derive(Default)]
struct Cache {
    by_hash: HashMap<[u8; 32], Session>,
    by_public: HashMap<String, [u8; 32]>,
    /// Bumped by every revocation. A session read from SQLite is cached only
    /// if no revocation happened since the read began, so a read racing a
    /// sign-out cannot put the ended session back.
    generation: u64,
}

impl Cache {
    fn put(&mut self, session: Session) {
        if self.by_hash.len() >= SESSION_CACHE_MAX {
            // Cheap bound: start over; entries reload from SQLite on demand.
            self.by_hash.clear();
            self.by_public.clear();
        }
        self.by_public
            .insert(session.public_id.clone(), session.token_hash);
        self.by_hash.insert(session.token_hash, session);
    }

    /// Caches a session read from SQLite when the cache was at `generation`.
    fn put_if_current(&mut self, session: Session, generation: u64) {
        if self.generation == generation {
            self.put(session);
        }
    }

    fn remove(&mut self, token_hash: &[u8; 32]) {
        if let Some(s) = self.by_hash.remove(token_hash) {
            self.by_public.remove(&s.public_id);
        }
    }
}

pub struct Sessions {
    store: Store,
    cache: Mutex<Cache>,
    lifetimes: Lifetimes,
    /// Bumped on every revocation, so open streams re-check their session.
    revocations: watch::Sender<u64>,
}

impl Sessions {
    pub fn new(store: Store, lifetimes: Lifetimes) -> Sessions {
        Sessions {
            store,
            cache: Mutex::new(Cache::default()),
            lifetimes,
            revocations: watch::Sender::new(0),
        }
    }

    /// The cookie may live as long as the session could: idle expiry is
    /// enforced here, not by the browser.
    pub fn cookie_max_age_secs(&self) -> i64 {
        self.lifetimes.absolute_ms / 1000
    }

    /// Creates a session and returns the cookie token.
    pub async fn create(
        &self,
        user_id: i64,
        username: &str,
        user_agent: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<String, AuthError> {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let token_hash = hash_token(&token);
        let public_id = hex_id();
        let now = now_millis();
        let ends_at = now + self.lifetimes.absolute_ms;
        let expires_at = self.lifetimes.expires_at(now, ends_at);
        let user_agent: Option<String> =
            user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect());
        let ip_text = ip.map(|ip| ip.to_string());
        let stored_id = public_id.clone();
        self.store
            .write(move |c| {
                sessions::insert(
                    c,
                    &NewSession {
                        token_hash: &token_hash,
                        public_id: &stored_id,
                        user_id,
                        user_agent: user_agent.as_deref(),
                        ip: ip_text.as_deref(),
                        now,
                        expires_at,
                        ends_at,
                    },
                )
            })
            .await?;
        self.cache.lock().put(Session {
            user_id,
            username: username.to_owned(),
            selected_cradle: None,
            token_hash,
            public_id,
            expires_at,
            ends_at,
            last_seen_at: now,
            last_ip: ip,
            persisted_at: now,
        });
        Ok(token)
    }

    /// The session of a cookie token, counting this as a use of it.
    pub async fn lookup(
        &self,
        token: &str,
        from: Option<IpAddr>,
    ) -> Result<Option<Session>, AuthError> {
        self.lookup_at(token, from, now_millis()).await
    }

    /// [`Sessions::lookup`] at a given time.
    pub async fn lookup_at(
        &self,
        token: &str,
        from: Option<IpAddr>,
        now: Millis,
    ) -> Result<Option<Session>, AuthError> {
        let token_hash = hash_token(token);
        let cached = self.use_cached(&token_hash, from, now);
        let session = match cached {
            Some(hit) => hit,
            None => {
                let generation = self.cache.lock().generation;
                let Some(row) = self
                    .store
                    .read(move |c| sessions::lookup(c, &token_hash, now))
                    .await?
                else {
                    return Ok(None);
                };
                let mut session = from_row(row);
                session.last_ip = from.or(session.last_ip);
                self.cache.lock().put_if_current(session, generation);
                match self.use_cached(&token_hash, from, now) {
                    Some(hit) => hit,
                    // Revoked while it was being read, or expired.
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(session))
    }

    /// Marks a cached session used now and writes that down when due; `None`
    /// when it is not cached or has expired (then it is dropped).
    fn use_cached(
        &self,
        token_hash: &[u8; 32],
        from: Option<IpAddr>,
        now: Millis,
    ) -> Option<Session> {
        let mut cache = self.cache.lock();
        let s = cache.by_hash.get_mut(token_hash)?;
        if s.expires_at <= now {
            cache.remove(token_hash);
            return None;
        }
        s.last_seen_at = now;
        s.last_ip = from.or(s.last_ip);
        s.expires_at = self.lifetimes.expires_at(now, s.ends_at);
        if now - s.persisted_at >= PERSIST_LAST_SEEN_EVERY_MS {
            s.persisted_at = now;
            let (hash, expires_at) = (s.token_hash, s.expires_at);
            let ip = s.last_ip.map(|ip| ip.to_string());
            let store = self.store.clone();
            tokio::spawn(async move {
                let written = store
                    .write(move |c| sessions::touch(c, &hash, now, ip.as_deref(), expires_at))
                    .await;
                if let Err(e) = written {
                    tracing::debug!(error = %e, "session: last use not recorded");
                }
            });
        }
        Some(s.clone())
    }

    /// A live session used from `ip` within [`RECENT_USE_MS`] whose user
    /// `wanted` accepts: `(user_id, public_id, username)`. Sessions used
    /// since the hub started are known with their latest address; older
    /// ones by the address last written down, if not cached with another.
    pub async fn live_at_ip(
        &self,
        ip: IpAddr,
        wanted: impl Fn(i64) -> bool + Send + 'static,
    ) -> Result<Option<(i64, String, String)>, AuthError> {
        let now = now_millis();
        let since = now - RECENT_USE_MS;
        let cached = self
            .cache
            .lock()
            .by_hash
            .values()
            .find(|s| {
                s.last_ip == Some(ip)
                    && s.expires_at > now
                    && s.last_seen_at > since
                    && wanted(s.user_id)
            })
            .map(|s| (s.user_id, s.public_id.clone(), s.username.clone()));
        if cached.is_some() {
            return Ok(cached);
        }
        let address = ip.to_string();
        let stored = self
            .store
            .read(move |c| sessions::live_at_ip(c, &address, now, since))
            .await?;
        // A cached session's address is the newer one: it was not a match.
        let cache = self.cache.lock();
        Ok(stored
            .into_iter()
            .find(|(user, id, _)| !cache.by_public.contains_key(id) && wanted(*user)))
    }

    /// Whether the session named `public_id` is still live (media tokens).
    pub async fn is_live(&self, public_id: &str) -> Result<bool, AuthError> {
        let now = now_millis();
        {
            let cache = self.cache.lock();
            if let Some(s) = cache
                .by_public
                .get(public_id)
                .and_then(|h| cache.by_hash.get(h))
            {
                return Ok(s.expires_at > now);
            }
        }
        let generation = self.cache.lock().generation;
        let id = public_id.to_owned();
        let row = self
            .store
            .read(move |c| sessions::lookup_public(c, &id, now))
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let raced = {
            let mut cache = self.cache.lock();
            let raced = cache.generation != generation;
            if !raced {
                cache.put(from_row(row));
            }
            raced
        };
        if raced {
            // A revocation ran meanwhile: ask again rather than trust the read.
            return Box::pin(self.is_live(public_id)).await;
        }
        Ok(true)
    }

    /// A user's live sessions, most recently used first, with this
    /// process's fresher last-use times.
    pub async fn list(&self, user_id: i64) -> Result<Vec<SessionRow>, AuthError> {
        let now = now_millis();
        let mut rows = self
            .store
            .read(move |c| sessions::of_user(c, user_id, now))
            .await?;
        let cache = self.cache.lock();
        for row in &mut rows {
            if let Some(s) = cache.by_hash.get(&row.token_hash) {
                row.last_seen_at = row.last_seen_at.max(s.last_seen_at);
                row.expires_at = s.expires_at;
                if let Some(ip) = s.last_ip {
                    row.ip = Some(ip.to_string());
                }
            }
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.last_seen_at));
        Ok(rows)
    }

    /// Logout.
    pub async fn end(&self, token_hash: [u8; 32]) -> Result<(), AuthError> {
        self.store
            .write(move |c| sessions::delete(c, &token_hash))
            .await?;
        self.forget(&[token_hash]);
        Ok(())
    }

    /// Ends one of the user's sessions; false when there is no such session.
    pub async fn end_one(&self, user_id: i64, public_id: &str) -> Result<bool, AuthError> {
        let id = public_id.to_owned();
        let ended = self
            .store
            .write(move |c| sessions::delete_public(c, user_id, &id))
            .await?;
        if let Some(hash) = ended {
            self.forget(&[hash]);
        }
        Ok(ended.is_some())
    }

    /// Ends every session of the user but `keep`; how many ended.
    pub async fn end_all_but(
        &self,
        user_id: i64,
        keep: Option<[u8; 32]>,
    ) -> Result<usize, AuthError> {
        let ended = self
            .store
            .write(move |c| sessions::delete_user_sessions(c, user_id, keep.as_ref()))
            .await?;
        // The cache also loses sessions the database no longer had (expired).
        let mut gone: Vec<[u8; 32]> = self
            .cache
            .lock()
            .by_hash
            .values()
            .filter(|s| s.user_id == user_id && Some(s.token_hash) != keep)
            .map(|s| s.token_hash)
            .collect();
        gone.extend_from_slice(&ended);
        self.forget(&gone);
        Ok(ended.len())
    }

    /// Called after the rows are gone from SQLite.
    fn forget(&self, hashes: &[[u8; 32]]) {
        if hashes.is_empty() {
            return;
        }
        let mut cache = self.cache.lock();
        cache.generation += 1;
        for h in hashes {
            cache.remove(h);
        }
        drop(cache);
        self.revocations.send_modify(|n| *n += 1);
    }

    /// Drops every cached session (each is read again from SQLite at its
    /// next use) and has open streams check theirs again: for sessions
    /// another process ended, which the cache cannot tell apart.
    pub fn forget_all(&self) {
        let mut cache = self.cache.lock();
        cache.generation += 1;
        cache.by_hash.clear();
        cache.by_public.clear();
        drop(cache);
        self.revocations.send_modify(|n| *n += 1);
    }

    /// Runs until `token` is cancelled: when an admin command has ended
    /// sessions in SQLite, forgets the cached ones and records that it did,
    /// which the command waits for before it reports success.
    pub async fn follow_outside_revocations(
        self: Arc<Self>,
        token: CancellationToken,
        health: Arc<TaskHealth>,
    ) {
        let mut every = tokio::time::interval(OUTSIDE_REVOCATIONS_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut applied: Option<i64> = None;
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = every.tick() => {}
            }
            health.beat_now();
            let (made, seen) = match self.store.read(sessions::outside_revocations).await {
                Ok(counts) => counts,
                Err(e) => {
                    tracing::debug!(error = %e, "session: outside revocations not read");
                    continue;
                }
            };
            // The first look is only a baseline, unless a command waits.
            if applied.is_some_and(|a| a != made) || (applied.is_none() && made > seen) {
                self.forget_all();
                tracing::info!("sessions ended by an admin command; signed out here too");
            }
            applied = Some(made);
            if made > seen {
                let written = self
                    .store
                    .write(move |c| sessions::applied_outside_revocations(c, made))
                    .await;
                if let Err(e) = written {
                    tracing::debug!(error = %e, "session: outside revocation not acknowledged");
                }
            }
        }
    }

    /// Resolves when the session named `public_id` has been revoked. Open
    /// streams end with their session instead of running on after a logout.
    pub async fn ended(&self, public_id: String) {
        // Subscribed before the first check, so a revocation between the
        // stream's opening and its first poll is not missed.
        let mut revocations = self.revocations.subscribe();
        loop {
            if let Ok(false) = self.is_live(&public_id).await {
                return;
            }
            if revocations.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
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
        if let Some(s) = self.cache.lock().by_hash.get_mut(&token_hash) {
            s.selected_cradle = uuid;
        }
        Ok(())
    }

    /// A deleted cradle is no longer anyone's selection.
    pub fn forget_cradle(&self, uuid: &str) {
        for s in self.cache.lock().by_hash.values_mut() {
            if s.selected_cradle.as_deref() == Some(uuid) {
                s.selected_cradle = None;
            }
        }
    }

    /// `user_id` left the cradle: their sessions no longer have it selected.
    pub fn forget_cradle_of(&self, user_id: i64, uuid: &str) {
        for s in self.cache.lock().by_hash.values_mut() {
            if s.user_id == user_id && s.selected_cradle.as_deref() == Some(uuid) {
                s.selected_cradle = None;
            }
        }
    }

    pub async fn delete_expired(&self) -> Result<usize, AuthError> {
        let now = now_millis();
        {
            let mut cache = self.cache.lock();
            let expired: Vec<[u8; 32]> = cache
                .by_hash
                .values()
                .filter(|s| s.expires_at <= now)
                .map(|s| s.token_hash)
                .collect();
            for h in &expired {
                cache.remove(h);
            }
        }
        Ok(self
            .store
            .write(move |c| sessions::delete_expired(c, now))
            .await?)
    }
}

fn from_row(row: SessionRow) -> Session {
    Session {
        user_id: row.user_id,
        username: row.username,
        selected_cradle: row.selected_cradle,
        token_hash: row.token_hash,
        public_id: row.public_id,
        expires_at: row.expires_at,
        ends_at: row.ends_at,
        last_seen_at: row.last_seen_at,
        last_ip: row.ip.and_then(|ip| ip.parse().ok()),
        persisted_at: row.last_seen_at,
    }
}

/// 96 random bits, hex: not guessable, short enough for a URL.
fn hex_id() -> String {
    rand::random::<[u8; 12]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_expiry() {
        let day = 86_400_000;
        let life = Lifetimes::from_days(30, 180);
        // Used today: good for 30 more days.
        assert_eq!(life.expires_at(0, 180 * day), 30 * day);
        // Used daily, it still ends 180 days after sign-in.
        assert_eq!(life.expires_at(170 * day, 180 * day), 180 * day);
        // An absolute lifetime shorter than the idle one is raised to it.
        let odd = Lifetimes::from_days(30, 7);
        assert_eq!(odd.absolute_ms, 30 * day);
    }

    #[tokio::test]
    async fn a_session_ends_when_idle_and_at_its_absolute_end() {
        let day: Millis = 86_400_000;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = crate::auth::create_user(&store, "ann", "pass-word")
            .await
            .unwrap();
        let sessions = Sessions::new(store.clone(), Lifetimes::from_days(30, 180));
        let t0 = now_millis();
        let token = sessions
            .create(user, "ann", Some("test"), None)
            .await
            .unwrap();

        // Used every 25 days, it lasts until its absolute end.
        let mut at = t0;
        while at + 25 * day < t0 + 180 * day {
            at += 25 * day;
            assert!(
                sessions
                    .lookup_at(&token, None, at)
                    .await
                    .unwrap()
                    .is_some(),
                "day {}",
                (at - t0) / day
            );
        }
        // (It was created a moment after t0.)
        assert!(
            sessions
                .lookup_at(&token, None, t0 + 180 * day + 60_000)
                .await
                .unwrap()
                .is_none()
        );

        // Left alone for 31 days, another one ends, in the cache and in SQLite.
        let idle = sessions.create(user, "ann", None, None).await.unwrap();
        assert!(
            sessions
                .lookup_at(&idle, None, t0 + 31 * day)
                .await
                .unwrap()
                .is_none()
        );
        let fresh = Sessions::new(store, Lifetimes::from_days(30, 180));
        assert!(
            fresh
                .lookup_at(&idle, None, t0 + 31 * day)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            fresh
                .lookup_at(&idle, None, t0 + day)
                .await
                .unwrap()
                .is_some()
        );
    }

    /// `cradle-hub user reset-password` deletes the sessions from another
    /// process; a running hub's cache would go on accepting them.
    #[tokio::test]
    async fn sessions_another_process_ended_are_dropped_by_the_follower() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = crate::auth::create_user(&store, "ann", "pass-word")
            .await
            .unwrap();
        let sessions = Arc::new(Sessions::new(store.clone(), Lifetimes::from_days(30, 180)));
        let token = sessions.create(user, "ann", None, None).await.unwrap();
        let session = sessions.lookup(&token, None).await.unwrap().unwrap();
        let stream_ended = sessions.ended(session.public_id.clone());

        let db = dir.path().join(crate::store::DB_FILE);
        let revocation = tokio::task::spawn_blocking(move || {
            let mut c = rusqlite::Connection::open(db).unwrap();
            c.busy_timeout(Duration::from_secs(5)).unwrap();
            let tx = c.transaction().unwrap();
            sessions::delete_user_sessions(&tx, user, None).unwrap();
            let n = sessions::revoked_outside(&tx).unwrap();
            tx.commit().unwrap();
            n
        })
        .await
        .unwrap();
        assert!(
            sessions.lookup(&token, None).await.unwrap().is_some(),
            "the cache alone cannot tell"
        );

        let stop = CancellationToken::new();
        let follower = tokio::spawn(
            sessions
                .clone()
                .follow_outside_revocations(stop.clone(), TaskHealth::new("test")),
        );
        tokio::time::timeout(Duration::from_secs(5), stream_ended)
            .await
            .expect("an open stream of the session ends");
        assert!(sessions.lookup(&token, None).await.unwrap().is_none());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while store.read(sessions::outside_revocations).await.unwrap() != (revocation, revocation) {
            assert!(std::time::Instant::now() < deadline, "never acknowledged");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        follower.await.unwrap();
    }

    #[tokio::test]
    async fn revoking_clears_the_cache_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = crate::auth::create_user(&store, "ann", "pass-word")
            .await
            .unwrap();
        let sessions = Sessions::new(store, Lifetimes::from_days(30, 180));
        let phone = sessions
            .create(user, "ann", Some("phone"), None)
            .await
            .unwrap();
        let laptop = sessions
            .create(user, "ann", Some("laptop"), None)
            .await
            .unwrap();
        let phone_session = sessions.lookup(&phone, None).await.unwrap().unwrap();
        let laptop_session = sessions.lookup(&laptop, None).await.unwrap().unwrap();
        assert!(sessions.is_live(&phone_session.public_id).await.unwrap());

        let ended = sessions
            .end_all_but(user, Some(laptop_session.token_hash))
            .await
            .unwrap();
        assert_eq!(ended, 1);
        assert!(sessions.lookup(&phone, None).await.unwrap().is_none());
        assert!(!sessions.is_live(&phone_session.public_id).await.unwrap());
        assert!(sessions.lookup(&laptop, None).await.unwrap().is_some());

        assert!(
            sessions
                .end_one(user, &laptop_session.public_id)
                .await
                .unwrap()
        );
        assert!(
            !sessions
                .end_one(user, &laptop_session.public_id)
                .await
                .unwrap()
        );
        assert!(sessions.lookup(&laptop, None).await.unwrap().is_none());
    }
}
