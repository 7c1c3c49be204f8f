//! SQLite persistence. One writer thread owns the only write connection and
//! commits queued jobs in batches (one transaction per batch); reads run on a
//! small pool of read-only connections on the blocking thread pool. No SQLite
//! call ever runs on an async worker thread.

pub mod agents;
pub mod alerts;
pub mod frames;
pub mod sensors;
pub mod sessions;
pub mod settings;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use include_dir::{Dir, include_dir};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::Migrations;
use tokio::sync::{Semaphore, mpsc, oneshot};

static MIGRATIONS_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../migrations");

/// Jobs waiting for the writer before HTTP writes are refused with 503.
/// MQTT ingest waits instead (backpressure to the broker, nothing dropped).
const WRITE_QUEUE: usize = 8192;
/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 2048;
const READERS: usize = 4;
/// Reads queued beyond this get `Busy` (503) instead of piling up.
const MAX_QUEUED_READS: usize = 256;

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
}

/// What runs after the batch's commit (or rollback): tells the caller.
type Completion = Box<dyn FnOnce(bool) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Option<Completion> + Send>;

#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    readers: Arc<ReaderPool>,
    stats: Arc<WriterStats>,
}

#[derive(Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub jobs: AtomicU64,
    pub failed_jobs: AtomicU64,
}

struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    available: Semaphore,
    queue: Semaphore,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/cradle-hub.sqlite3`, applies the
    /// embedded migrations and starts the writer thread.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join("cradle-hub.sqlite3");
        let mut writer = Connection::open(&path)?;
        configure(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        let migrations = Migrations::from_directory(&MIGRATIONS_DIR)?;
        migrations.to_latest(&mut writer)?;

        let mut idle = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            idle.push(open_reader(&path)?);
        }
        let readers = Arc::new(ReaderPool {
            idle: Mutex::new(idle),
            available: Semaphore::new(READERS),
            queue: Semaphore::new(MAX_QUEUED_READS),
            path,
        });

        let (jobs, rx) = mpsc::channel::<Job>(WRITE_QUEUE);
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx, &thread_stats))
            .map_err(|source| StoreError::DataDir {
                path: data_dir.to_owned(),
                source,
            })?;
        Ok(Store {
            jobs,
            readers,
            stats,
        })
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Runs `f` in the writer's current batch and returns its result once the
    /// batch is committed. Refuses with `Busy` when the queue is full (HTTP
    /// answers 503 rather than piling up).
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let (job, rx) = with_reply(f);
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
        })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Like [`Store::write`] but waits for room in the queue instead of
    /// refusing: for writes that must not be lost (alerts raised by ingest).
    pub async fn write_waiting<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        self.write_queued(f)
            .await?
            .await
            .map_err(|_| StoreError::Closed)?
    }

    /// Queues a write (waiting for room) and returns as soon as it is queued;
    /// the receiver resolves after its batch commits. Lets a caller keep
    /// several writes in flight in order (QoS 1 acknowledgements).
    pub async fn write_queued<T, F>(&self, f: F) -> Result<Committed<T>, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let (job, rx) = with_reply(f);
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        Ok(rx)
    }

    /// Queues a write nobody waits for (sensor readings, frames). Waits for
    /// room in the queue rather than dropping: ingest slows, data is kept.
    pub async fn write_detached<F>(&self, what: &'static str, f: F) -> Result<(), StoreError>
    where
        F: FnOnce(&Connection) -> Result<(), rusqlite::Error> + Send + 'static,
    {
        let job: Job = Box::new(move |conn| {
            if let Err(e) = f(conn) {
                tracing::warn!(error = %e, what, "store: write failed");
            }
            None
        });
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)
    }

    /// Runs a read on a pooled read-only connection off the async runtime.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let pool = &self.readers;
        let _queued = pool.queue.try_acquire().map_err(|_| StoreError::Busy)?;
        let permit = pool
            .available
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let conn = pool.idle.lock().pop();
        let pool2 = self.readers.clone();
        let result = tokio::task::spawn_blocking(move || {
            let conn = match conn {
                Some(c) => c,
                None => open_reader(&pool2.path)?,
            };
            let result = f(&conn);
            pool2.idle.lock().push(conn);
            result.map_err(StoreError::from)
        })
        .await
        .map_err(|_| StoreError::Closed)?;
        drop(permit);
        result
    }

    /// Resolves once every job queued before it is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(())).await
    }
}

/// Resolves with a queued write's result once its batch has committed.
pub type Committed<T> = oneshot::Receiver<Result<T, StoreError>>;

fn with_reply<T, F>(f: F) -> (Job, Committed<T>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |conn| {
        let result = f(conn);
        Some(Box::new(move |committed| {
            let _ = tx.send(match result {
                Ok(v) if committed => Ok(v),
                Ok(_) => Err(StoreError::NotCommitted),
                Err(e) => Err(StoreError::Sqlite(e)),
            });
        }))
    });
    (job, rx)
}

fn configure(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
}

fn writer_loop(mut conn: Connection, mut rx: mpsc::Receiver<Job>, stats: &WriterStats) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut completions: Vec<Completion> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let jobs_in_batch = batch.len() as u64;
        let committed = match conn.transaction() {
            Ok(tx) => {
                for job in batch.drain(..) {
                    if let Some(done) = job(&tx) {
                        completions.push(done);
                    }
                }
                match tx.commit() {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, "store: commit failed");
                        false
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store: cannot begin a transaction");
                stats
                    .failed_jobs
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
                false
            }
        };
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(jobs_in_batch, Ordering::Relaxed);
        for done in completions.drain(..) {
            done(committed);
        }
    }
    tracing::debug!("store: writer stopped");
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
}
