//! SQLite persistence. One writer thread owns the only write connection and
//! commits queued jobs in batches (one transaction per batch, one SAVEPOINT
//! per job, so a failing or panicking job is undone alone); reads run on a
//! small pool of read-only connections on the blocking thread pool. No
//! SQLite call ever runs on an async worker thread.
//!
//! Guarantees callers rely on:
//! - A job is atomic: all of its statements are committed, or none.
//! - A job's error (or panic) is reported to its caller only; the writer
//!   keeps running and the other jobs of the batch commit.
//! - No job holds the writer long: bulk deletes go through
//!   [`chunked`] in slices of bounded duration (see `retention`).
//! - A read holds its pool slot until its query is over, even when its
//!   caller has gone; a caller that goes interrupts the query.

pub mod agents;
pub mod aging;
pub mod alerts;
pub mod backlog;
pub mod frames;
pub mod household;
pub mod motor_log;
pub mod notifications;
pub mod push;
pub mod sensors;
pub mod sessions;
pub mod settings;
pub mod users;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use include_dir::{Dir, include_dir};
use parking_lot::Mutex;
use prometheus_client::metrics::histogram::Histogram;
use rusqlite::{Connection, InterruptHandle, OpenFlags, ffi};
use rusqlite_migration::Migrations;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::tasks::TaskHealth;
use crate::timefmt::{Millis, now_millis};

static MIGRATIONS_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../migrations");

/// The database's file name in the data folder.
pub const DB_FILE: &str = "cradle-hub.sqlite3";

/// The embedded migrations. Applied in full they give the schema this
/// binary reads and writes.
pub fn migrations() -> Result<Migrations<'static>, StoreError> {
    Ok(Migrations::from_directory(&MIGRATIONS_DIR)?)
}

/// A database in memory with the whole schema and foreign keys on, like the
/// hub's own connections: for the store's unit tests.
#[cfg(test)]
pub(crate) fn migrated_in_memory() -> Connection {
    let mut c = Connection::open_in_memory().expect("in-memory database");
    c.pragma_update(None, "foreign_keys", "ON")
        .expect("foreign keys");
    migrations()
        .and_then(|m| Ok(m.to_latest(&mut c)?))
        .expect("the embedded migrations apply");
    c
}

/// The version of that schema: the number of migrations, as kept in
/// SQLite's `user_version` once they are applied.
pub fn schema_version() -> usize {
    MIGRATIONS_DIR.dirs().count()
}

/// Jobs waiting for the writer before HTTP writes are refused with 503.
/// MQTT ingest waits instead (backpressure to the broker, nothing dropped).
const WRITE_QUEUE: usize = 8192;
/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 2048;
const READERS: usize = 4;
/// Page cache of each read connection, in KiB (SQLite's default is 2 MiB
/// per connection). Reads are history ranges walked once through an index,
/// which a cache barely helps; with the default the four of them could
/// slowly fill up to 8 MiB of a small hub's memory.
const READER_CACHE_KIB: i64 = 512;
const WRITER_CACHE_KIB: i64 = 1024;
/// Reads queued beyond this get `Busy` (503) instead of piling up.
const MAX_QUEUED_READS: usize = 256;
/// A batch holding the writer longer than this is logged.
const SLOW_BATCH: Duration = Duration::from_millis(200);
/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Pages in the WAL above which maintenance pauses until the checkpointer
/// has caught up (checkpointing every 200 ms meanwhile): a continuous
/// stream of deletes would keep the WAL from ever restarting.
const WAL_PRESSURE_PAGES: i64 = 16_384;
/// The writer finishes a checkpoint itself only when at most this many
/// pages are left to copy.
const RELIEF_MAX_PAGES: i64 = 1_024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("cannot create data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database is busy")]
    Busy,
    #[error("the database writer has stopped")]
    Closed,
    #[error("the batch this write belonged to failed to commit")]
    NotCommitted,
    #[error("the disk is full: the write was not stored")]
    DiskFull,
    #[error("the database job panicked: {0}")]
    Panicked(String),
}

impl StoreError {
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::DiskFull => true,
            StoreError::Sqlite(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            _ => false,
        }
    }
}

/// Upper bounds (seconds) of the commit-time histogram: a commit on an SSD
/// takes about a millisecond, one on a Raspberry Pi's SD card far longer,
/// and [`SLOW_BATCH`] and beyond is logged.
const COMMIT_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5,
];

pub struct WriterStats {
    pub batches: AtomicU64,
    pub jobs: AtomicU64,
    pub failed_jobs: AtomicU64,
    pub panicked_jobs: AtomicU64,
    /// Unix ms of the last failed job, 0 if none.
    last_failure_at: AtomicI64,
    /// How long each batch held the writer, from BEGIN to the end of its
    /// COMMIT (what a queued write waits once the writer takes it). One
    /// observation per batch, not per job.
    pub commit_seconds: Histogram,
}

impl Default for WriterStats {
    fn default() -> WriterStats {
        WriterStats {
            batches: AtomicU64::new(0),
            jobs: AtomicU64::new(0),
            failed_jobs: AtomicU64::new(0),
            panicked_jobs: AtomicU64::new(0),
            last_failure_at: AtomicI64::new(0),
            commit_seconds: Histogram::new(COMMIT_BUCKETS),
        }
    }
}

impl WriterStats {
    fn failed(&self) {
        self.failed_jobs.fetch_add(1, Ordering::Relaxed);
        self.last_failure_at
            .store(crate::timefmt::now_millis(), Ordering::Relaxed);
    }

    pub fn last_failure_at(&self) -> Option<Millis> {
        Some(self.last_failure_at.load(Ordering::Relaxed)).filter(|t| *t != 0)
    }
}

#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Msg>,
    readers: Arc<ReaderPool>,
    shared: Arc<Shared>,
}

/// What the writer thread and the handles share.
struct Shared {
    stats: WriterStats,
    /// Alive while the writer thread runs; beats at every commit.
    health: Arc<TaskHealth>,
    /// Unix ms since the disk is full (a write failed for lack of space), 0 if not.
    disk_full_since: AtomicI64,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Pages in the WAL at the last checkpoint, and how many of them it
    /// could not copy yet.
    wal_pages: AtomicI64,
    wal_backlog: AtomicI64,
    /// Stops the checkpointer when dropped, and its thread.
    checkpointer: Mutex<Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
}

impl Shared {
    fn set_disk_full(&self, full: bool) {
        if full {
            let now = now_millis();
            if self
                .disk_full_since
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                tracing::error!(
                    "store: the disk is full; writes fail until space returns \
                     (live view, alerts and notifications go on; recording is paused)"
                );
            }
        } else if self.disk_full_since.swap(0, Ordering::AcqRel) != 0 {
            tracing::warn!("store: disk space is back; writing again");
        }
    }

    fn disk_full(&self) -> bool {
        self.disk_full_since.load(Ordering::Acquire) != 0
    }
}

struct ReaderPool {
    idle: Mutex<Vec<Reader>>,
    available: Arc<Semaphore>,
    queue: Arc<Semaphore>,
    path: PathBuf,
    /// Read-only connections open right now (in the pool or in use).
    open: Arc<AtomicUsize>,
}

/// A read-only connection, counted while it exists.
struct Reader {
    conn: Connection,
    open: Arc<AtomicUsize>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/cradle-hub.sqlite3`, applies the
    /// embedded migrations and starts the writer thread.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let mut writer = Connection::open(&path)?;
        configure(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.set_prepared_statement_cache_capacity(64);
        // Writes append at the right edge of each index: 1 MiB of cache holds
        // those pages (SQLite's default is 2 MiB).
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        // Checkpoints (copying the WAL into the database file, with an
        // fsync) run on their own thread, never inside a commit: on the
        // writer they stalled everyone for tens of milliseconds. No
        // journal_size_limit either: cutting a large WAL file back happens
        // in a commit and took up to 460 ms; the file is reused instead.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        migrations()?.to_latest(&mut writer)?;

        let open = Arc::new(AtomicUsize::new(0));
        let mut idle = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            idle.push(open_reader(&path, &open)?);
        }
        let readers = Arc::new(ReaderPool {
            idle: Mutex::new(idle),
            available: Arc::new(Semaphore::new(READERS)),
            queue: Arc::new(Semaphore::new(MAX_QUEUED_READS)),
            path,
            open,
        });

        let (jobs, rx) = mpsc::channel::<Msg>(WRITE_QUEUE);
        let shared = Arc::new(Shared {
            stats: WriterStats::default(),
            health: TaskHealth::new("database-writer"),
            disk_full_since: AtomicI64::new(0),
            thread: Mutex::new(None),
            wal_pages: AtomicI64::new(0),
            wal_backlog: AtomicI64::new(0),
            checkpointer: Mutex::new(None),
        });
        let thread_shared = shared.clone();
        let alive = shared.health.alive_guard();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let _alive = alive;
                writer_loop(&writer, rx, &thread_shared);
                drop(writer);
            })
            .map_err(|source| StoreError::DataDir {
                path: data_dir.to_owned(),
                source,
            })?;
        *shared.thread.lock() = Some(thread);
        let checkpoint_conn = Connection::open(&readers.path)?;
        configure(&checkpoint_conn)?;
        // It copies WAL frames into the file; it reads almost nothing through
        // a cache.
        checkpoint_conn.pragma_update(None, "cache_size", -64)?;
        let (stop, stopped) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        let checkpointer = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpoint_conn, &stopped, &thread_shared))
            .map_err(|source| StoreError::DataDir {
                path: data_dir.to_owned(),
                source,
            })?;
        *shared.checkpointer.lock() = Some((stop, checkpointer));
        Ok(Store {
            jobs,
            readers,
            shared,
        })
    }

    pub fn stats(&self) -> &WriterStats {
        &self.shared.stats
    }

    /// The writer thread's liveness; its last beat is the last commit.
    pub fn writer_health(&self) -> &Arc<TaskHealth> {
        &self.shared.health
    }

    /// The folder the database lives in.
    pub fn dir(&self) -> &Path {
        self.readers.path.parent().unwrap_or(Path::new("."))
    }

    /// Jobs waiting for the writer.
    pub fn queued(&self) -> usize {
        WRITE_QUEUE - self.jobs.capacity()
    }

    /// Read-only connections open now (at most the pool's size).
    pub fn open_readers(&self) -> usize {
        self.readers.open.load(Ordering::Relaxed)
    }

    /// The WAL has grown past what the checkpointer keeps up with: bulk
    /// work should pause until this is false again.
    pub fn wal_pressure(&self) -> bool {
        self.shared.wal_pages.load(Ordering::Relaxed) > WAL_PRESSURE_PAGES
    }

    /// True from a write that failed for lack of disk space until one that
    /// changed something commits again.
    pub fn disk_full(&self) -> bool {
        self.shared.disk_full()
    }

    pub fn disk_full_since(&self) -> Option<Millis> {
        Some(self.shared.disk_full_since.load(Ordering::Acquire)).filter(|t| *t != 0)
    }

    /// Runs `f` as one atomic job in the writer's current batch and returns
    /// its result once the batch is committed. Refuses with `Busy` when the
    /// queue is full (HTTP answers 503 rather than piling up).
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let (job, rx) = reply_job(f, false);
        self.jobs.try_send(Msg::Job(job)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
        })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Like [`Store::write`] but waits for room in the queue instead of
    /// refusing: for writes that must not be lost.
    pub async fn write_waiting<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        self.enqueue(f).await?.await
    }

    /// Queues `f` (waiting for room in the queue, not for the writer) and
    /// returns a future of its result. Jobs run in the order they are
    /// queued, so a job queued after this one sees its changes.
    pub async fn enqueue<T, F>(
        &self,
        f: F,
    ) -> Result<impl Future<Output = Result<T, StoreError>> + Send + 'static, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let (job, rx) = reply_job(f, false);
        self.jobs
            .send(Msg::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        Ok(async move { rx.await.map_err(|_| StoreError::Closed)? })
    }

    /// Like [`Store::write_waiting`], for a maintenance job (at most a few
    /// milliseconds, see [`chunked`]): it is committed in a batch of its
    /// own, so the writes queued meanwhile never wait for it twice.
    pub async fn write_bulk<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let (job, rx) = reply_job(f, true);
        self.jobs
            .send(Msg::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues a write nobody waits for (sensor readings, frames). Waits for
    /// room in the queue rather than dropping: ingest slows, data is kept.
    pub async fn write_detached<F>(&self, what: &'static str, f: F) -> Result<(), StoreError>
    where
        F: FnOnce(&Connection) -> Result<(), rusqlite::Error> + Send + 'static,
    {
        let job = Box::new(DetachedJob {
            f: Some(f),
            what,
            error: None,
        });
        self.jobs
            .send(Msg::Job(job))
            .await
            .map_err(|_| StoreError::Closed)
    }

    /// Runs a read on a pooled read-only connection off the async runtime.
    /// The pool slot belongs to the query, not to the caller: if the caller
    /// goes away (a client disconnects, a timeout), the query is
    /// interrupted and its slot freed only once it has really stopped.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let pool = self.readers.clone();
        let queued = pool
            .queue
            .clone()
            .try_acquire_owned()
            .map_err(|_| StoreError::Busy)?;
        let running = pool
            .available
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let cancel = Arc::new(Mutex::new(ReadCancel::default()));
        let mut guard = CancelOnDrop {
            cancel: cancel.clone(),
            armed: true,
        };
        let task = tokio::task::spawn_blocking(move || {
            let _slot = (queued, running);
            let reader = match pool.idle.lock().pop() {
                Some(r) => r,
                None => open_reader(&pool.path, &pool.open)?,
            };
            {
                let mut c = cancel.lock();
                if c.cancelled {
                    drop(c);
                    pool.idle.lock().push(reader);
                    return Err(StoreError::Closed);
                }
                c.handle = Some(reader.conn.get_interrupt_handle());
            }
            let result = f(&reader.conn);
            // After this no interrupt can reach the connection's next user.
            cancel.lock().handle = None;
            pool.idle.lock().push(reader);
            result.map_err(StoreError::from)
        });
        let result = match task.await {
            Ok(r) => r,
            Err(e) if e.is_panic() => Err(StoreError::Panicked(panic_message(&*e.into_panic()))),
            Err(_) => Err(StoreError::Closed),
        };
        guard.armed = false;
        result
    }

    /// Resolves once every job queued before it is committed (waits for
    /// room in the queue rather than failing when it is full).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write_waiting(|_| Ok(())).await
    }

    /// Commits every job queued so far, then stops the writer thread and
    /// waits for it (at most `timeout`). Later writes fail with `Closed`.
    pub async fn close(&self, timeout: Duration) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.shared.health.mark_stopping();
        let sent = tokio::time::timeout_at(deadline, self.jobs.send(Msg::Stop)).await;
        if !matches!(sent, Ok(Ok(()))) {
            return Err(if sent.is_err() {
                StoreError::Busy
            } else {
                StoreError::Closed
            });
        }
        let writer = self.shared.thread.lock().take();
        let checkpointer = self.shared.checkpointer.lock().take();
        let joined = tokio::task::spawn_blocking(move || {
            let writer = writer.map_or(Ok(()), |t| t.join());
            if let Some((stop, thread)) = checkpointer {
                drop(stop);
                let _ = thread.join();
            }
            writer
        });
        match tokio::time::timeout_at(deadline, joined).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(_) => Err(StoreError::Closed),
            Err(_) => Err(StoreError::Busy),
        }
    }
}

#[derive(Default)]
struct ReadCancel {
    cancelled: bool,
    handle: Option<InterruptHandle>,
}

/// Interrupts the read's query if the caller's future is dropped first.
struct CancelOnDrop {
    cancel: Arc<Mutex<ReadCancel>>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            let mut c = self.cancel.lock();
            c.cancelled = true;
            if let Some(h) = &c.handle {
                h.interrupt();
            }
        }
    }
}

/// Runs `step(conn, rows)` (which deletes at most `rows` rows and says how
/// many it did) again and again until it deletes fewer than `rows` or
/// `budget` has passed. For bulk deletes inside one job: the job stays
/// short, the caller queues the next one. Returns (rows deleted, done).
pub fn chunked(
    c: &Connection,
    budget: Duration,
    rows: usize,
    mut step: impl FnMut(&Connection, usize) -> rusqlite::Result<usize>,
) -> rusqlite::Result<(usize, bool)> {
    let started = Instant::now();
    let mut total = 0;
    loop {
        let n = step(c, rows)?;
        total += n;
        if n < rows {
            return Ok((total, true));
        }
        if started.elapsed() >= budget {
            return Ok((total, false));
        }
    }
}

enum Msg {
    Job(Box<dyn Job>),
    /// Stop after the jobs queued before this.
    Stop,
}

/// How a job ended, told to its caller after its batch.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// It ran and its batch committed.
    Committed,
    /// It ran but its batch did not commit.
    NotCommitted { disk_full: bool },
    /// It failed or panicked; its own changes were undone.
    Failed { disk_full: bool },
}

trait Job: Send {
    /// Runs in a batch of its own (maintenance chunks).
    fn is_bulk(&self) -> bool {
        false
    }
    /// Runs the job's statements; on failure, the SQLite error's code.
    fn run(&mut self, c: &Connection) -> Result<(), Option<ffi::Error>>;
    fn panicked(&mut self, message: &str);
    fn finish(self: Box<Self>, outcome: Outcome);
}

type Reply<T> = oneshot::Receiver<Result<T, StoreError>>;

struct ReplyJob<T, F> {
    bulk: bool,
    f: Option<F>,
    result: Option<Result<T, StoreError>>,
    tx: oneshot::Sender<Result<T, StoreError>>,
}

fn reply_job<T, F>(f: F, bulk: bool) -> (Box<dyn Job>, Reply<T>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job = ReplyJob {
        bulk,
        f: Some(f),
        result: None,
        tx,
    };
    (Box::new(job), rx)
}

impl<T, F> Job for ReplyJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
{
    fn is_bulk(&self) -> bool {
        self.bulk
    }

    fn run(&mut self, c: &Connection) -> Result<(), Option<ffi::Error>> {
        let f = self.f.take().ok_or(None)?;
        match f(c) {
            Ok(v) => {
                self.result = Some(Ok(v));
                Ok(())
            }
            Err(e) => {
                let code = e.sqlite_error().copied();
                self.result = Some(Err(e.into()));
                Err(code)
            }
        }
    }

    fn panicked(&mut self, message: &str) {
        self.result = Some(Err(StoreError::Panicked(message.to_owned())));
    }

    fn finish(self: Box<Self>, outcome: Outcome) {
        let this = *self;
        let reply = match (this.result, outcome) {
            (Some(Ok(v)), Outcome::Committed) => Ok(v),
            (
                _,
                Outcome::Failed { disk_full: true } | Outcome::NotCommitted { disk_full: true },
            ) => Err(StoreError::DiskFull),
            (Some(Err(e)), _) => Err(e),
            _ => Err(StoreError::NotCommitted),
        };
        let _ = this.tx.send(reply);
    }
}

struct DetachedJob<F> {
    f: Option<F>,
    what: &'static str,
    error: Option<String>,
}

impl<F> Job for DetachedJob<F>
where
    F: FnOnce(&Connection) -> Result<(), rusqlite::Error> + Send + 'static,
{
    fn run(&mut self, c: &Connection) -> Result<(), Option<ffi::Error>> {
        let f = self.f.take().ok_or(None)?;
        f(c).map_err(|e| {
            let code = e.sqlite_error().copied();
            self.error = Some(e.to_string());
            code
        })
    }

    fn panicked(&mut self, message: &str) {
        self.error = Some(format!("panicked: {message}"));
    }

    fn finish(self: Box<Self>, outcome: Outcome) {
        match (outcome, &self.error) {
            // The writer has said so once; no line per reading.
            (
                Outcome::Failed { disk_full: true } | Outcome::NotCommitted { disk_full: true },
                _,
            ) => {
                tracing::debug!(what = self.what, "store: not stored, disk full")
            }
            (Outcome::Failed { .. }, Some(e)) => {
                tracing::warn!(error = %e, what = self.what, "store: write failed")
            }
            _ => {}
        }
    }
}

fn configure(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

fn open_reader(path: &Path, open: &Arc<AtomicUsize>) -> Result<Reader, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    open.fetch_add(1, Ordering::Relaxed);
    Ok(Reader {
        conn,
        open: open.clone(),
    })
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// SQLite's "disk full", or an I/O error whose cause is no space, the file
/// size limit or the quota.
fn is_disk_full(conn: &Connection, code: &ffi::Error) -> bool {
    match code.code {
        rusqlite::ErrorCode::DiskFull => true,
        rusqlite::ErrorCode::SystemIoFailure => {
            // SAFETY: the handle is only used for this call, on the
            // connection's own thread.
            let errno = unsafe { ffi::sqlite3_system_errno(conn.handle()) };
            use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
            matches!(
                std::io::Error::from_raw_os_error(errno).kind(),
                StorageFull | FileTooLarge | QuotaExceeded
            )
        }
        _ => false,
    }
}

/// The highest id `table` ever held: its high-water mark (kept by a
/// trigger, migration 04) or its current maximum, whichever is larger.
fn high_id(c: &Connection, table: &'static str) -> rusqlite::Result<i64> {
    c.query_row(
        &format!(
            "SELECT max(COALESCE((SELECT MAX(id) FROM {table}), 0),
                        COALESCE((SELECT value FROM hub_meta WHERE key = '{table}_high_id'), 0))"
        ),
        [],
        |r| r.get(0),
    )
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Copies committed pages from the WAL into the database file every
/// [`CHECKPOINT_EVERY`] (PASSIVE: never waits for, nor blocks, the writer
/// or readers) until `stop` is dropped.
fn checkpoint_loop(conn: &Connection, stop: &std::sync::mpsc::Receiver<()>, shared: &Shared) {
    let mut last_error: Option<String> = None;
    let mut wait = CHECKPOINT_EVERY;
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(wait) {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match done {
            Ok((pages, copied)) => {
                last_error = None;
                shared.wal_pages.store(pages, Ordering::Relaxed);
                shared.wal_backlog.store(pages - copied, Ordering::Relaxed);
                wait = if pages > WAL_PRESSURE_PAGES {
                    CHECKPOINT_EVERY / 5
                } else {
                    CHECKPOINT_EVERY
                };
            }
            Err(e) => {
                let message = e.to_string();
                if !shared.disk_full() && last_error.as_deref() != Some(message.as_str()) {
                    tracing::warn!(error = %e, "store: checkpoint failed");
                }
                last_error = Some(message);
            }
        }
    }
}

fn writer_loop(conn: &Connection, mut rx: mpsc::Receiver<Msg>, shared: &Shared) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    // A bulk job met while filling a batch waits for the next one.
    let mut carried: Option<Box<dyn Job>> = None;
    let mut last_relief = Instant::now();
    let mut stop = false;
    while !stop {
        let first = match carried.take() {
            Some(job) => job,
            None => match rx.blocking_recv() {
                Some(Msg::Job(job)) => job,
                Some(Msg::Stop) | None => break,
            },
        };
        // A bulk job is committed alone: the writes queued meanwhile do
        // not wait for it, nor it for them.
        let bulk = first.is_bulk();
        batch.push(first);
        while !bulk && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(job)) if job.is_bulk() => {
                    carried = Some(job);
                    break;
                }
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        run_batch(conn, &mut batch, shared);
        relieve_wal(conn, shared, &mut last_relief);
    }
    tracing::debug!("store: writer stopped");
}

/// While the WAL is large, the writer finishes the checkpointer's work
/// itself (at most every 100 ms): a checkpoint on another connection
/// never catches up with a writer that commits while it runs, and only a
/// fully copied WAL restarts from its beginning. Only once the
/// checkpointer has copied nearly everything, so this stays short.
fn relieve_wal(conn: &Connection, shared: &Shared, last: &mut Instant) {
    if shared.wal_pages.load(Ordering::Relaxed) <= WAL_PRESSURE_PAGES
        || shared.wal_backlog.load(Ordering::Relaxed) > RELIEF_MAX_PAGES
        || last.elapsed() < Duration::from_millis(100)
    {
        return;
    }
    *last = Instant::now();
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    let took = last.elapsed();
    if took >= SLOW_BATCH {
        tracing::warn!(
            ms = took.as_millis() as u64,
            "store: finishing a checkpoint held the writer"
        );
    }
    if let Ok((pages, copied)) = done {
        // All copied: the next transaction starts the WAL over.
        let left = if pages == copied { 0 } else { pages };
        shared.wal_pages.store(left, Ordering::Relaxed);
        shared.wal_backlog.store(pages - copied, Ordering::Relaxed);
    }
}

fn begin(conn: &Connection) -> bool {
    match exec(conn, "BEGIN") {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "store: cannot begin a transaction");
            false
        }
    }
}

/// One transaction for the batch, one savepoint per job.
fn run_batch(conn: &Connection, batch: &mut Vec<Box<dyn Job>>, shared: &Shared) {
    let stats = &shared.stats;
    let started = Instant::now();
    let jobs = batch.len();
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.jobs.fetch_add(jobs as u64, Ordering::Relaxed);
    let mut ran: Vec<Box<dyn Job>> = Vec::with_capacity(batch.len());
    let mut in_tx = false;
    let mut changed = false;
    for mut job in batch.drain(..) {
        if !in_tx {
            in_tx = begin(conn);
            if !in_tx {
                stats.failed();
                job.finish(Outcome::NotCommitted {
                    disk_full: shared.disk_full(),
                });
                continue;
            }
        }
        let changes_before = conn.total_changes();
        let failure = match exec(conn, "SAVEPOINT job") {
            Err(e) => Some(e.sqlite_error().copied()),
            Ok(()) => match catch_unwind(AssertUnwindSafe(|| job.run(conn))) {
                Ok(Ok(())) => match exec(conn, "RELEASE job") {
                    Ok(()) => None,
                    Err(e) => Some(e.sqlite_error().copied()),
                },
                Ok(Err(code)) => Some(code),
                Err(panic) => {
                    let message = panic_message(&*panic);
                    tracing::error!(
                        panic = message,
                        "store: a write job panicked; it alone fails, the writer goes on"
                    );
                    stats.panicked_jobs.fetch_add(1, Ordering::Relaxed);
                    job.panicked(&message);
                    Some(None)
                }
            },
        };
        let Some(code) = failure else {
            changed |= conn.total_changes() != changes_before;
            ran.push(job);
            continue;
        };
        stats.failed();
        let disk_full = code.as_ref().is_some_and(|c| is_disk_full(conn, c));
        if disk_full {
            shared.set_disk_full(true);
        }
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (it does on disk full
            // and I/O errors): the jobs that ran before are lost too.
            in_tx = false;
            changed = false;
            if !ran.is_empty() && !disk_full {
                tracing::error!(jobs = ran.len(), "store: SQLite rolled back the batch");
            }
            for j in ran.drain(..) {
                j.finish(Outcome::NotCommitted { disk_full });
            }
        } else if let Err(e) =
            exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
        {
            tracing::error!(error = %e, "store: cannot roll a failed job back; dropping the batch");
            let _ = exec(conn, "ROLLBACK");
            in_tx = false;
            changed = false;
            for j in ran.drain(..) {
                j.finish(Outcome::NotCommitted { disk_full });
            }
        }
        job.finish(Outcome::Failed { disk_full });
    }
    if !in_tx {
        return;
    }
    let committing = Instant::now();
    let committed = exec(conn, "COMMIT");
    let took = started.elapsed();
    stats.commit_seconds.observe(took.as_secs_f64());
    if took >= SLOW_BATCH {
        tracing::warn!(
            ms = took.as_millis() as u64,
            commit_ms = committing.elapsed().as_millis() as u64,
            jobs,
            "store: a batch held the writer"
        );
    }
    match committed {
        Ok(()) => {
            shared.health.beat_now();
            if changed {
                shared.set_disk_full(false);
            }
            for j in ran.drain(..) {
                j.finish(Outcome::Committed);
            }
        }
        Err(e) => {
            let disk_full = e.sqlite_error().is_some_and(|c| is_disk_full(conn, c));
            if disk_full {
                shared.set_disk_full(true);
            } else {
                tracing::error!(error = %e, "store: commit failed");
            }
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
            stats
                .failed_jobs
                .fetch_add(ran.len() as u64, Ordering::Relaxed);
            for j in ran.drain(..) {
                j.finish(Outcome::NotCommitted { disk_full });
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn test_store() -> (Store, tempdir::TempDir) {
    let dir = tempdir::TempDir::new();
    let store = Store::open(dir.path()).expect("open store");
    (store, dir)
}

#[cfg(test)]
pub(crate) mod tempdir {
    use std::path::{Path, PathBuf};

    /// A folder removed when dropped.
    pub struct TempDir(PathBuf);
    impl TempDir {
        pub fn new() -> TempDir {
            let path = std::env::temp_dir().join(format!(
                "cradle-hub-test-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&path).expect("create temp dir");
            TempDir(path)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Occupies the writer with a job that waits until the returned sender
    /// sends (or is dropped), so the test controls when the queue drains.
    async fn hold_writer(store: &Store) -> std::sync::mpsc::Sender<()> {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        store
            .write_detached("blocker", move |_| {
                let _ = wait.recv();
                Ok(())
            })
            .await
            .unwrap();
        while store.queued() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        release
    }

    #[tokio::test]
    async fn writes_are_visible_to_readers_after_commit() {
        let (store, _dir) = test_store();
        let id = store
            .write(|c| users::insert(c, "ann", "hash", 1))
            .await
            .unwrap();
        let user = store.read(move |c| users::by_id(c, id)).await.unwrap();
        assert_eq!(user.map(|u| u.username), Some("ann".to_owned()));
        // Reopening applies no migration twice.
        drop(store);
    }

    #[tokio::test]
    async fn a_failing_job_does_not_undo_its_batch_neighbours() {
        let (store, _dir) = test_store();
        let a = store.write(|c| users::insert(c, "ann", "h", 1));
        let b = store.write(|c| users::insert(c, "ann", "h", 1));
        let c = store.write(|c| users::insert(c, "bob", "h", 1));
        let (a, b, c) = tokio::join!(a, b, c);
        assert!(a.is_ok() && b.is_err() && c.is_ok());
        let n = store
            .read(|c| c.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0)))
            .await
            .unwrap();
        assert_eq!(n, 2);
    }

    fn count(c: &Connection, table: &str) -> rusqlite::Result<i64> {
        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
    }

    /// Defect: a multi-statement job that failed halfway committed its
    /// first statements.
    #[tokio::test]
    async fn a_job_failing_halfway_leaves_no_trace() {
        let (store, _dir) = test_store();
        let before = store.write(|c| users::insert(c, "ann", "h", 1));
        let half = store.write(|c| {
            users::insert(c, "bob", "h", 1)?;
            users::insert(c, "ann", "h", 1)?; // taken: fails
            Ok(())
        });
        let after = store.write(|c| users::insert(c, "cy", "h", 1));
        let (before, half, after) = tokio::join!(before, half, after);
        assert!(before.is_ok() && after.is_ok(), "its neighbours commit");
        assert!(matches!(half, Err(StoreError::Sqlite(_))), "{half:?}");
        let names = store
            .read(|c| {
                c.prepare("SELECT username FROM users ORDER BY username")?
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .unwrap();
        assert_eq!(names, ["ann", "cy"], "bob, its first statement, is gone");
    }

    /// Defect: a panicking job ended the writer thread; every later write failed.
    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_writer_goes_on() {
        let (store, _dir) = test_store();
        let before = store.write(|c| users::insert(c, "ann", "h", 1));
        let panics = store.write(|c| -> rusqlite::Result<()> {
            users::insert(c, "bob", "h", 1)?;
            panic!("a bug in a job");
        });
        let after = store.write(|c| users::insert(c, "cy", "h", 1));
        let (before, panics, after) = tokio::join!(before, panics, after);
        assert!(before.is_ok() && after.is_ok());
        assert!(
            matches!(panics, Err(StoreError::Panicked(ref m)) if m.contains("a bug")),
            "{panics:?}"
        );
        store
            .write(|c| users::insert(c, "dee", "h", 1))
            .await
            .expect("the writer still works");
        assert!(store.writer_health().is_alive());
        assert!(store.writer_health().last_beat().is_some());
        assert_eq!(store.stats().panicked_jobs.load(Ordering::Relaxed), 1);
        assert_eq!(
            store.read(|c| count(c, "users")).await.unwrap(),
            3,
            "bob rolled back"
        );
    }

    /// Defect: the read permit belonged to the caller's future: a caller
    /// that went away freed it while its query ran on, and the next reads
    /// opened new connections.
    #[tokio::test]
    async fn cancelled_reads_do_not_open_more_connections() {
        let (store, _dir) = test_store();
        assert_eq!(store.open_readers(), READERS);
        // Every pooled connection busy in a read that blocks until released.
        let mut release = Vec::new();
        let started = Arc::new(AtomicUsize::new(0));
        let mut slow = Vec::new();
        for _ in 0..READERS {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            release.push(tx);
            let (store, started) = (store.clone(), started.clone());
            slow.push(tokio::spawn(async move {
                store
                    .read(move |c| {
                        started.fetch_add(1, Ordering::SeqCst);
                        let _ = rx.recv();
                        count(c, "users")
                    })
                    .await
            }));
        }
        while started.load(Ordering::SeqCst) < READERS {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Their callers go away (a client disconnects, a timeout fires).
        for s in &slow {
            s.abort();
        }
        for s in slow {
            let _ = s.await;
        }
        // New reads wait for the slots rather than opening connections.
        let quick: Vec<_> = (0..READERS)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.read(|c| count(c, "users")).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(store.open_readers(), READERS);
        drop(release);
        for q in quick {
            assert_eq!(q.await.unwrap().unwrap(), 0);
        }
        assert_eq!(store.open_readers(), READERS, "no connection was added");
    }

    #[tokio::test]
    async fn a_cancelled_read_is_interrupted() {
        let (store, _dir) = test_store();
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
        let r = tokio::time::timeout(
            Duration::from_millis(100),
            store.read(move |c| c.query_row(endless, [], |r| r.get::<_, i64>(0))),
        )
        .await;
        assert!(r.is_err(), "timed out");
        // All slots come back soon: the endless query was interrupted.
        let all: Vec<_> = (0..READERS)
            .map(|_| store.read(|c| count(c, "users")))
            .collect();
        let done =
            tokio::time::timeout(Duration::from_secs(5), futures_util::future::join_all(all))
                .await
                .expect("reads get their slots back");
        assert!(done.iter().all(|r| r.is_ok()));
    }

    /// Defect: flush() refused with Busy when the queue was full (the
    /// desktop app flushing before it quits).
    #[tokio::test]
    async fn flush_waits_for_room_in_a_full_queue() {
        let (store, _dir) = test_store();
        let release = hold_writer(&store).await;
        for _ in 0..WRITE_QUEUE {
            store.write_detached("filler", |_| Ok(())).await.unwrap();
        }
        assert_eq!(store.queued(), WRITE_QUEUE);
        assert!(matches!(
            store.write(|_| Ok(())).await,
            Err(StoreError::Busy)
        ));
        let flush = tokio::spawn({
            let store = store.clone();
            async move { store.flush().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        release.send(()).unwrap();
        flush.await.unwrap().expect("flush waited for room");
        assert_eq!(store.queued(), 0);
    }

    /// Writes queued while a maintenance chunk runs are committed before
    /// the next chunk, not with it.
    #[tokio::test]
    async fn a_bulk_job_is_committed_in_a_batch_of_its_own() {
        let (store, _dir) = test_store();
        let release = hold_writer(&store).await;
        let batches = store.stats().batches.load(Ordering::Relaxed);
        let a = store.write(|c| users::insert(c, "a", "h", 1));
        let bulk = store.write_bulk(|c| users::insert(c, "bulk", "h", 1));
        let b = store.write(|c| users::insert(c, "b", "h", 1));
        let c = store.write(|c| users::insert(c, "c", "h", 1));
        let released = async {
            while store.queued() < 4 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            release.send(()).unwrap();
        };
        let (a, bulk, b, c, ()) = tokio::join!(a, bulk, b, c, released);
        assert!(a.is_ok() && bulk.is_ok() && b.is_ok() && c.is_ok());
        assert_eq!(
            store.stats().batches.load(Ordering::Relaxed) - batches,
            3,
            "[a], [bulk], [b, c]"
        );
    }

    #[tokio::test]
    async fn close_commits_what_is_queued_then_refuses() {
        let (store, _dir) = test_store();
        for i in 0..100 {
            store
                .write_detached("user", move |c| {
                    users::insert(c, &format!("u{i}"), "h", 1).map(|_| ())
                })
                .await
                .unwrap();
        }
        store.close(Duration::from_secs(2)).await.unwrap();
        assert!(!store.writer_health().is_alive());
        assert!(matches!(
            store.write(|_| Ok(())).await,
            Err(StoreError::Closed)
        ));
        assert_eq!(store.read(|c| count(c, "users")).await.unwrap(), 100);
    }

    #[tokio::test]
    async fn the_wal_is_checkpointed_off_the_writer() {
        let (store, dir) = test_store();
        let db = dir.path().join("cradle-hub.sqlite3");
        let before = std::fs::metadata(&db).unwrap().len();
        store
            .write(|c| {
                c.execute(
                    "CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
                     SELECT i, randomblob(1000) AS b FROM n",
                    [],
                )
            })
            .await
            .unwrap();
        assert_eq!(
            std::fs::metadata(&db).unwrap().len(),
            before,
            "the commit only wrote the WAL"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::fs::metadata(&db).unwrap().len() < before + 1_000_000 {
            assert!(std::time::Instant::now() < deadline, "never checkpointed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[test]
    fn chunked_stops_at_its_budget_or_when_done() {
        let conn = Connection::open_in_memory().unwrap();
        let mut calls = 0;
        let (n, done) = chunked(&conn, Duration::from_secs(60), 10, |_, rows| {
            calls += 1;
            Ok(if calls < 3 { rows } else { 4 })
        })
        .unwrap();
        assert_eq!((n, done, calls), (24, true, 3));
        let (n, done) = chunked(&conn, Duration::ZERO, 10, |_, rows| Ok(rows)).unwrap();
        assert_eq!((n, done), (10, false), "one step, then the budget is spent");
    }
}
