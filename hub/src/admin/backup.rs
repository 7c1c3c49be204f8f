//! `cradle-hub backup FILE` and `cradle-hub restore FILE`.
//!
//! A backup is SQLite's online backup of the database, taken in one step:
//! one read transaction, so one consistent moment, while the hub keeps
//! writing (WAL mode: its writer is never blocked by a reader). The copy is
//! a self-contained file (rollback journal, not WAL).
//!
//! A restore checks the backup, prepares the new database beside the old
//! one and swaps it in with one rename; the old one stays as a hard link
//! under another name. At every moment the folder holds either the old
//! database, whole, or the new one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::db::{self, Access, Contents, HubDb};
use super::files::{self, Scratch, human_bytes};
use super::{AdminError, BackupArgs};
use crate::data_lock::{self, DataDirLock, LockError};
use crate::store;

/// How long a backup step may keep finding the database busy (a hub
/// recovering its WAL at start) before giving up.
const BUSY_FOR_AT_MOST: Duration = Duration::from_secs(10);

pub fn backup(dir: &Path, args: &BackupArgs) -> Result<(), AdminError> {
    let started = Instant::now();
    let source = HubDb::open_any_schema(dir, Access::Beside)?;
    let target = &args.file;
    if same_file(target, &source.path) {
        return Err(AdminError::IntoItself(target.clone()));
    }
    if target.exists() && !args.force {
        return Err(AdminError::Exists(target.clone()));
    }
    let partial = Scratch::new(files::with_suffix(target, ".partial"));
    // Created empty and private first: SQLite takes an empty file as a new
    // database, and keeps its permissions.
    drop(files::create_private(partial.path())?);
    let mut copy =
        Connection::open(partial.path()).map_err(|e| db::sqlite_error(partial.path(), e))?;
    copy_all(&source.conn, &mut copy).map_err(|e| db::sqlite_error(&source.path, e))?;
    let sqlite = |e| db::sqlite_error(partial.path(), e);
    // The copy took the source's WAL flag in its header: one file instead.
    copy.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sqlite)?;
    let version = db::version(&copy, partial.path())?;
    let contents = Contents::read(&copy).map_err(sqlite)?;
    drop(copy);
    std::fs::File::open(partial.path())
        .and_then(|f| f.sync_all())
        .map_err(|source| AdminError::Io {
            what: "write",
            path: partial.path().to_owned(),
            source,
        })?;
    std::fs::rename(partial.path(), target).map_err(|source| AdminError::Io {
        what: "rename the finished backup to",
        path: target.clone(),
        source,
    })?;
    partial.keep();
    files::sync_dir(files::parent_of(target))?;
    println!(
        "Backed up {} (schema version {version}: {contents})",
        source.path.display()
    );
    println!(
        "to {} ({}) in {:.1} s{}.",
        target.display(),
        human_bytes(files::size_of(target)),
        started.elapsed().as_secs_f64(),
        if source.hub().is_some() {
            ", while the hub was running"
        } else {
            ""
        }
    );
    println!(
        "Included: the Web Push key, so phones keep getting alerts from a restored hub. \
         Not included: secret.key (signs short-lived media links; remade when missing) and \
         tls/ (the hub's own certificate authority, if you use --tls self-signed)."
    );
    Ok(())
}

/// Copies every page of `from` into `to` in one backup step: one read
/// transaction, so one consistent moment even while another process
/// writes. (Step by step, SQLite would start over after each of the hub's
/// commits and might never finish.)
fn copy_all(from: &Connection, to: &mut Connection) -> rusqlite::Result<()> {
    let backup = Backup::new(from, to)?;
    let started = Instant::now();
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::Busy | StepResult::Locked if started.elapsed() < BUSY_FOR_AT_MOST => {
                std::thread::sleep(Duration::from_millis(100));
            }
            StepResult::More => {}
            _ => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("the database stayed busy".into()),
                ));
            }
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

pub fn restore(dir: &Path, file: &Path) -> Result<(), AdminError> {
    let started = Instant::now();
    check_header(file)?;
    // The whole restore holds the folder: no hub starts on it meanwhile.
    let _lock = match DataDirLock::acquire(dir, "restore") {
        Ok(lock) => lock,
        Err(LockError::Held { by, .. }) => {
            return Err(AdminError::InUse {
                dir: dir.to_owned(),
                by,
                what: "restore",
            });
        }
        Err(e) => return Err(e.into()),
    };
    let live = dir.join(store::DB_FILE);
    if same_file(file, &live) {
        return Err(AdminError::Refused(format!(
            "{} is the database being replaced; give a backup",
            file.display()
        )));
    }
    let beside_wal = files::with_suffix(file, "-wal");
    if files::size_of(&beside_wal) > 0 {
        return Err(AdminError::Refused(format!(
            "{} has a write-ahead log beside it ({}): it is a live database, not a backup. \
             Make one with `cradle-hub backup`",
            file.display(),
            beside_wal.display()
        )));
    }

    // 1. A private copy in the data folder (the rename at the end stays on
    //    one file system), checked and brought up to date there.
    let restoring = Scratch::new(files::with_suffix(&live, ".restoring"));
    std::fs::copy(file, restoring.path()).map_err(|source| AdminError::Io {
        what: "copy the backup to",
        path: restoring.path().to_owned(),
        source,
    })?;
    let (from_version, contents) = prepare(restoring.path())?;
    let push_key = keep_push_key(restoring.path(), &live)?;
    let new_file = std::fs::File::open(restoring.path()).map_err(|source| AdminError::Io {
        what: "open",
        path: restoring.path().to_owned(),
        source,
    })?;
    data_lock::adopt_folder_owner(&new_file, dir);
    new_file.sync_all().map_err(|source| AdminError::Io {
        what: "write",
        path: restoring.path().to_owned(),
        source,
    })?;
    drop(new_file);

    // 2. The old database, whole (its WAL folded in), kept under another name.
    let kept = if live.exists() {
        Some(set_aside(&live)?)
    } else {
        None
    };

    // 3. One rename puts the new one in place.
    std::fs::rename(restoring.path(), &live).map_err(|source| AdminError::Io {
        what: "put the restored database in place at",
        path: live.clone(),
        source,
    })?;
    restoring.keep();
    files::sync_dir(dir)?;

    println!(
        "Restored {} into {} in {:.1} s: {contents}.",
        file.display(),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    if from_version < store::schema_version() as i64 {
        println!(
            "Upgraded it from schema version {from_version} to {}.",
            store::schema_version()
        );
    }
    println!("Sessions in the backup were not restored: everyone signs in again.");
    match push_key {
        PushKey::FromBackup => {}
        PushKey::KeptFromReplaced => println!(
            "The backup predates the Web Push key in the database; the key of the database it \
             replaced is kept, so phones keep getting alerts."
        ),
        PushKey::None => println!(
            "The backup holds no Web Push key: the hub makes one at start (or takes an older \
             hub's vapid.key from the folder); phones that had push on turn it on again."
        ),
    }
    if let Some(kept) = kept {
        println!(
            "The database it replaced is kept as {} ({}); delete it when you no longer need it.",
            kept.display(),
            human_bytes(files::size_of(&kept))
        );
    }
    println!("Start the hub again (e.g. `sudo systemctl start cradle-hub`).");
    Ok(())
}

/// Where the restored database's Web Push (VAPID) key comes from.
/// Browsers bind subscriptions to it, so losing it silences every phone.
enum PushKey {
    FromBackup,
    /// Backups made before the key moved into the database (schema 7) have
    /// none; the database being replaced may.
    KeptFromReplaced,
    None,
}

/// Gives the restored copy at `restoring` the replaced database's push key
/// when the backup brought none.
fn keep_push_key(restoring: &Path, live: &Path) -> Result<PushKey, AdminError> {
    let conn = db::open_existing(restoring)?;
    let sqlite = |e| db::sqlite_error(restoring, e);
    if store::push::vapid_key(&conn).map_err(sqlite)?.is_some() {
        return Ok(PushKey::FromBackup);
    }
    // The replaced database may be older, or damaged (the reason for the
    // restore): then it has no key to give.
    let replaced = live
        .exists()
        .then(|| db::open_existing(live).ok())
        .flatten()
        .and_then(|old| store::push::vapid_key(&old).ok().flatten());
    let Some(key) = replaced else {
        return Ok(PushKey::None);
    };
    store::push::set_vapid_key(&conn, &key, crate::timefmt::now_millis()).map_err(sqlite)?;
    Ok(PushKey::KeptFromReplaced)
}

/// Refuses early what cannot be a backup: a missing file, or one that is
/// not a SQLite database at all.
fn check_header(file: &Path) -> Result<(), AdminError> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let read = std::fs::File::open(file).and_then(|mut f| f.read_exact(&mut header));
    match read {
        Ok(()) if &header == b"SQLite format 3\0" => Ok(()),
        Ok(()) => Err(AdminError::NotADatabase {
            path: file.to_owned(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(AdminError::NotADatabase {
            path: file.to_owned(),
        }),
        Err(source) => Err(AdminError::Io {
            what: "read",
            path: file.to_owned(),
            source,
        }),
    }
}

/// Checks the copy at `path` (intact, a Cradle Hub schema this binary
/// knows), upgrades it, and drops its sessions; returns the version it had
/// and what it holds.
fn prepare(path: &Path) -> Result<(i64, Contents), AdminError> {
    let mut conn = db::open_existing(path)?;
    let sqlite = |e| db::sqlite_error(path, e);
    let problems = integrity_problems(&conn).map_err(sqlite)?;
    if !problems.is_empty() {
        return Err(AdminError::Damaged {
            path: path.to_owned(),
            problems,
        });
    }
    let version = db::known_schema(&conn, path)?;
    // A backup written by `cradle-hub backup` is in rollback-journal mode;
    // a raw copy of a hub's file may say WAL. One file either way.
    conn.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sqlite)?;
    if version < store::schema_version() as i64 {
        store::migrations()
            .and_then(|m| Ok(m.to_latest(&mut conn)?))
            .map_err(|e| AdminError::NotCradleHub {
                path: path.to_owned(),
                why: format!("upgrading it failed: {e}"),
            })?;
    }
    // Revoked sign-ins must not come back with an old backup.
    conn.execute("DELETE FROM sessions", []).map_err(sqlite)?;
    let contents = Contents::read(&conn).map_err(sqlite)?;
    Ok((version, contents))
}

/// `PRAGMA integrity_check`'s findings (at most 20); empty when intact.
pub fn integrity_problems(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let found: Vec<String> = conn
        .prepare("PRAGMA integrity_check(20)")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(if found == ["ok"] { Vec::new() } else { found })
}

/// Folds the old database's WAL into it and keeps it as
/// `cradle-hub.sqlite3.before-restore-<time>`, a second name for the same
/// file, so the database stays in place until the rename replaces it.
fn set_aside(live: &Path) -> Result<PathBuf, AdminError> {
    let wal = files::with_suffix(live, "-wal");
    // Leaving WAL mode checkpoints the log and removes it. If that fails
    // (a damaged database), the log goes aside with it instead: a stale
    // log next to the restored database would be applied to it.
    let folded = db::open_existing(live).and_then(|c| {
        c.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get::<_, String>(0))
            .map_err(|e| db::sqlite_error(live, e))
    });
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    let kept = files::with_suffix(live, &format!(".before-restore-{stamp}"));
    let io = |what, path: &Path| {
        let path = path.to_owned();
        move |source| AdminError::Io { what, path, source }
    };
    if std::fs::hard_link(live, &kept).is_err() {
        // No hard links on this file system (FAT): a rename, so for a
        // moment there is no database; a hub cannot start meanwhile (the
        // lock is held).
        std::fs::rename(live, &kept).map_err(io("keep the old database as", &kept))?;
    }
    if folded.is_err() && wal.exists() {
        std::fs::rename(&wal, files::with_suffix(&kept, "-wal"))
            .map_err(io("move the old write-ahead log", &wal))?;
    }
    let _ = std::fs::remove_file(files::with_suffix(live, "-shm"));
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sqlite_file_passes_the_header_check() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a database, just some text").unwrap();
        assert!(matches!(
            check_header(&text),
            Err(AdminError::NotADatabase { .. })
        ));
        let short = dir.path().join("short");
        std::fs::write(&short, "SQLite").unwrap();
        assert!(matches!(
            check_header(&short),
            Err(AdminError::NotADatabase { .. })
        ));
        assert!(matches!(
            check_header(&dir.path().join("missing")),
            Err(AdminError::Io { .. })
        ));
        let db = dir.path().join("real.db");
        Connection::open(&db)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        check_header(&db).unwrap();
    }

    #[test]
    fn a_backup_of_a_wal_database_is_one_self_contained_file() {
        let dir = tempfile::tempdir().unwrap();
        let live = Connection::open(dir.path().join("live.db")).unwrap();
        live.pragma_update(None, "journal_mode", "WAL").unwrap();
        live.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        let target = dir.path().join("copy.db");
        let mut copy = Connection::open(&target).unwrap();
        copy_all(&live, &mut copy).unwrap();
        copy.pragma_update(None, "journal_mode", "DELETE").unwrap();
        drop(copy);
        let bytes = std::fs::read(&target).unwrap();
        assert_eq!((bytes[18], bytes[19]), (1, 1), "rollback journal, not WAL");
        let copy = Connection::open_with_flags(&target, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
        let n: i64 = copy
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
        assert!(!files::with_suffix(&target, "-wal").exists());
    }
}
