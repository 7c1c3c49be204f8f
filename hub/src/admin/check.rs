//! `cradle-hub check`: is the database intact, of which schema, how big,
//! and is a hub running on the folder. Only reads; safe beside a hub.

use std::path::Path;
use std::time::Instant;

use super::AdminError;
use super::backup::integrity_problems;
use super::db::{self, Access, Contents, HubDb};
use super::files::{self, human_bytes};
use crate::store;

pub fn check(dir: &Path) -> Result<(), AdminError> {
    let db = HubDb::open_any_schema(dir, Access::Beside)?;
    println!("Data folder: {}", dir.display());
    println!(
        "Hub:         {}",
        match &db.running {
            Some(by) if by.is_hub() => match by.pid {
                Some(pid) => format!("running (pid {pid})"),
                None => "running".to_owned(),
            },
            Some(by) => format!("in use by {by}"),
            None => "not running".to_owned(),
        }
    );
    let wal = files::size_of(&files::with_suffix(&db.path, "-wal"));
    println!(
        "Database:    {} ({}, write-ahead log {})",
        db.path.display(),
        human_bytes(files::size_of(&db.path)),
        human_bytes(wal)
    );
    if let Some(disk) = crate::watchdog::disk_space(dir) {
        println!(
            "Disk:        {} free of {}",
            human_bytes(disk.free_bytes),
            human_bytes(disk.total_bytes)
        );
    }

    let sqlite = db.sqlite();
    let version = db::version(&db.conn, &db.path)?;
    let known = store::schema_version() as i64;
    println!(
        "Schema:      version {version}{}",
        match version.cmp(&known) {
            std::cmp::Ordering::Equal => " (this cradle-hub's)".to_owned(),
            std::cmp::Ordering::Less => {
                format!(" (this cradle-hub uses {known}; the hub upgrades it when it starts)")
            }
            std::cmp::Ordering::Greater => format!(" (newer than this cradle-hub's {known})"),
        }
    );
    let started = Instant::now();
    let problems = integrity_problems(&db.conn).map_err(&sqlite)?;
    if !problems.is_empty() {
        return Err(AdminError::Damaged {
            path: db.path.clone(),
            problems,
        });
    }
    println!(
        "Integrity:   ok (PRAGMA integrity_check, {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    // Its own schema, or an older one the hub will upgrade: same tables?
    db::known_schema(&db.conn, &db.path)?;
    let contents = Contents::read(&db.conn).map_err(&sqlite)?;
    // Alert recordings are the frames stored in the database itself.
    println!("Contents:    {contents}");
    Ok(())
}
