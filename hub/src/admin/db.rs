//! The hub's database as an admin command opens it: never created here,
//! its schema checked against the one this binary knows, and the folder's
//! lock taken when the command needs the folder to itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::AdminError;
use crate::data_lock::{self, DataDirLock, HeldBy, LockError};
use crate::store;

/// How a command shares the data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads, or small writes SQLite orders with the hub's (a running hub
    /// notices them): fine beside a running hub, but not beside a restore.
    Beside,
    /// Only with no hub running; the folder's lock is held meanwhile.
    Alone(&'static str),
}

pub struct HubDb {
    pub conn: Connection,
    pub path: PathBuf,
    /// Who runs on the folder, when the command does not hold it.
    pub running: Option<HeldBy>,
    _lock: Option<DataDirLock>,
}

impl HubDb {
    /// Opens `<dir>/cradle-hub.sqlite3` for a command that reads and writes
    /// it: the schema must be this binary's.
    pub fn open(dir: &Path, access: Access) -> Result<HubDb, AdminError> {
        let db = HubDb::open_any_schema(dir, access)?;
        match version(&db.conn, &db.path)? {
            v if v == store::schema_version() as i64 => Ok(db),
            v if v > store::schema_version() as i64 => Err(AdminError::TooNew {
                path: db.path,
                found: v,
                known: store::schema_version(),
            }),
            0 => Err(AdminError::NotCradleHub {
                path: db.path,
                why: "it has no schema version".into(),
            }),
            v => Err(AdminError::TooOld {
                path: db.path,
                found: v,
                known: store::schema_version(),
            }),
        }
    }

    /// Opens it whatever its schema (backup and check report it).
    pub fn open_any_schema(dir: &Path, access: Access) -> Result<HubDb, AdminError> {
        let path = dir.join(store::DB_FILE);
        if !path.is_file() {
            return Err(AdminError::NoDatabase {
                dir: dir.to_owned(),
            });
        }
        let (lock, running) = match access {
            Access::Alone(what) => match DataDirLock::acquire(dir, what) {
                Ok(lock) => (Some(lock), None),
                Err(LockError::Held { by, .. }) => {
                    return Err(AdminError::InUse {
                        dir: dir.to_owned(),
                        by,
                        what,
                    });
                }
                Err(e) => return Err(e.into()),
            },
            Access::Beside => (None, data_lock::holder(dir)?),
        };
        let conn = open_existing(&path)?;
        Ok(HubDb {
            conn,
            path,
            running,
            _lock: lock,
        })
    }

    /// The hub running on the folder, if one is (a holder that did not
    /// say who it is counts as one).
    pub fn hub(&self) -> Option<&HeldBy> {
        self.running.as_ref().filter(|by| !by.is_admin_command())
    }

    /// Refuses a write while another admin command has the folder to
    /// itself (a restore would put another database in place under it).
    pub fn writable(&self, what: &'static str) -> Result<(), AdminError> {
        match &self.running {
            Some(by) if by.is_admin_command() => Err(AdminError::InUse {
                dir: self.path.parent().unwrap_or(Path::new(".")).to_owned(),
                by: by.clone(),
                what,
            }),
            _ => Ok(()),
        }
    }

    pub fn sqlite(&self) -> impl Fn(rusqlite::Error) -> AdminError + '_ {
        |e| sqlite_error(&self.path, e)
    }
}

/// Opens an existing SQLite file for reading and writing, as the hub's
/// connections are set up (waits for the hub's locks rather than failing).
pub fn open_existing(path: &Path) -> Result<Connection, AdminError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sqlite_error(path, e))?;
    conn.busy_timeout(Duration::from_secs(10))
        .and_then(|()| conn.pragma_update(None, "foreign_keys", "ON"))
        .map_err(|e| sqlite_error(path, e))?;
    Ok(conn)
}

/// A SQLite error on `path`, named plainly when it means the file is not a
/// database or is damaged.
pub fn sqlite_error(path: &Path, e: rusqlite::Error) -> AdminError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => AdminError::NotADatabase {
            path: path.to_owned(),
        },
        Some(ErrorCode::DatabaseCorrupt) => AdminError::Damaged {
            path: path.to_owned(),
            problems: vec![e.to_string()],
        },
        _ => AdminError::Sqlite {
            path: path.to_owned(),
            source: e,
        },
    }
}

/// The schema version (SQLite's `user_version`, set by the migrations).
pub fn version(conn: &Connection, path: &Path) -> Result<i64, AdminError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| sqlite_error(path, e))
}

/// Tables, indexes and triggers with their columns: what a schema version
/// is made of, comment and spacing aside.
pub type Shape = BTreeSet<(String, String, Vec<String>)>;

pub fn shape(conn: &Connection) -> rusqlite::Result<Shape> {
    let objects: Vec<(String, String)> = conn
        .prepare(
            "SELECT type, name FROM sqlite_schema
             WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    objects
        .into_iter()
        .map(|(kind, name)| {
            let columns = if kind == "table" || kind == "index" {
                let pragma = if kind == "table" {
                    "table_info"
                } else {
                    "index_info"
                };
                conn.prepare(&format!("SELECT name FROM pragma_{pragma}(?1)"))?
                    .query_map([&name], |r| r.get::<_, Option<String>>(0))?
                    .map(|c| c.map(Option::unwrap_or_default))
                    .collect::<rusqlite::Result<Vec<_>>>()?
            } else {
                Vec::new()
            };
            Ok((kind, name, columns))
        })
        .collect()
}

/// The shape the migrations give at `version`.
pub fn expected_shape(version: usize) -> Result<Shape, AdminError> {
    let internal = |e: rusqlite::Error| AdminError::Sqlite {
        path: PathBuf::from(":memory:"),
        source: e,
    };
    let mut conn = Connection::open_in_memory().map_err(internal)?;
    // Building this scratch schema is not an upgrade of anyone's database:
    // the migrations' "Database migrated" log line would only mislead.
    let _quiet = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
    store::migrations()
        .and_then(|m| Ok(m.to_version(&mut conn, version)?))
        .map_err(|e| AdminError::NotCradleHub {
            path: PathBuf::from(":memory:"),
            why: format!("the built-in migrations failed: {e}"),
        })?;
    shape(&conn).map_err(internal)
}

/// How `found` differs from `expected`, in a few words; `None` if it does not.
pub fn shape_difference(expected: &Shape, found: &Shape) -> Option<String> {
    let describe = |s: &[&(String, String, Vec<String>)]| {
        let names: Vec<String> = s
            .iter()
            .take(5)
            .map(|(kind, name, _)| format!("{kind} {name}"))
            .collect();
        let more = s.len().saturating_sub(names.len());
        if more > 0 {
            format!("{} and {more} more", names.join(", "))
        } else {
            names.join(", ")
        }
    };
    let missing: Vec<_> = expected.difference(found).collect();
    let unexpected: Vec<_> = found.difference(expected).collect();
    match (missing.is_empty(), unexpected.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("missing or different: {}", describe(&missing))),
        (true, false) => Some(format!("not in the schema: {}", describe(&unexpected))),
        (false, false) => Some(format!(
            "missing or different: {}; not in the schema: {}",
            describe(&missing),
            describe(&unexpected)
        )),
    }
}

/// Checks that `conn` holds a Cradle Hub schema this binary knows (any
/// version up to its own); returns the version.
pub fn known_schema(conn: &Connection, path: &Path) -> Result<i64, AdminError> {
    let found = version(conn, path)?;
    let known = store::schema_version();
    if found > known as i64 {
        return Err(AdminError::TooNew {
            path: path.to_owned(),
            found,
            known,
        });
    }
    if found <= 0 {
        return Err(AdminError::NotCradleHub {
            path: path.to_owned(),
            why: "it has no Cradle Hub schema version".into(),
        });
    }
    let expected = expected_shape(found as usize)?;
    let actual = shape(conn).map_err(|e| sqlite_error(path, e))?;
    match shape_difference(&expected, &actual) {
        None => Ok(found),
        Some(why) => Err(AdminError::NotCradleHub {
            path: path.to_owned(),
            why: format!("its tables are not those of schema version {found} ({why})"),
        }),
    }
}

/// What a database holds, in the words of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Contents {
    pub users: i64,
    pub cradles: i64,
    pub readings: i64,
    pub alerts: i64,
    pub frames: i64,
    pub frame_bytes: i64,
    pub sessions: i64,
}

impl Contents {
    pub fn read(conn: &Connection) -> rusqlite::Result<Contents> {
        let count = |table: &str| -> rusqlite::Result<i64> {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        };
        Ok(Contents {
            users: count("users")?,
            cradles: count("agents")?,
            readings: count("sensor_data")?,
            alerts: count("alert_logs")?,
            frames: count("video_frames")?,
            frame_bytes: conn.query_row(
                "SELECT COALESCE(SUM(bytes), 0) FROM video_frames",
                [],
                |r| r.get(0),
            )?,
            sessions: count("sessions")?,
        })
    }
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = super::files::thousands;
        write!(
            f,
            "{} user(s), {} cradle(s), {} reading(s), {} alert(s), {} recorded frame(s) ({})",
            n(self.users),
            n(self.cradles),
            n(self.readings),
            n(self.alerts),
            n(self.frames),
            super::files::human_bytes(u64::try_from(self.frame_bytes).unwrap_or(0)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_shape_is_what_a_hub_creates() {
        let dir = tempfile::tempdir().unwrap();
        drop(store::Store::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(store::DB_FILE)).unwrap();
        let latest = expected_shape(store::schema_version()).unwrap();
        assert_eq!(shape_difference(&latest, &shape(&conn).unwrap()), None);
        assert_eq!(
            known_schema(&conn, dir.path()).unwrap(),
            store::schema_version() as i64
        );
    }

    #[test]
    fn another_schema_is_named_by_what_differs() {
        let latest = expected_shape(store::schema_version()).unwrap();
        let older = expected_shape(1).unwrap();
        let why = shape_difference(&latest, &older).unwrap();
        assert!(why.starts_with("missing or different: "), "{why}");
        let other = Connection::open_in_memory().unwrap();
        other
            .execute_batch(
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); PRAGMA user_version = 1;",
            )
            .unwrap();
        let err = known_schema(&other, Path::new("notes.db")).unwrap_err();
        assert!(
            matches!(&err, AdminError::NotCradleHub { why, .. } if why.contains("table notes")),
            "{err}"
        );
        other.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            known_schema(&other, Path::new("notes.db")),
            Err(AdminError::TooNew { found: 99, .. })
        ));
        other.pragma_update(None, "user_version", 0).unwrap();
        assert!(matches!(
            known_schema(&other, Path::new("notes.db")),
            Err(AdminError::NotCradleHub { .. })
        ));
    }
}
