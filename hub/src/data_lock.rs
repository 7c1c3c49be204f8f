//! One process at a time owns a data folder: the hub while it runs, or an
//! admin command that must not run beside one (`restore`, `user delete`).
//! The claim is an advisory lock on `<data folder>/cradle-hub.lock` through
//! std's `File::try_lock` (flock on Linux): the kernel drops it when the
//! process ends, however it ends, so a crash never leaves a stale lock
//! behind. The file's text only says who holds it, for error messages.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "cradle-hub.lock";

/// Who holds a folder's lock, as the holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy {
    pub pid: Option<u32>,
    /// `hub`, or the admin command (`restore`, `user delete`).
    pub what: Option<String>,
}

impl HeldBy {
    /// Reads what [`DataDirLock::acquire`] wrote: `<pid> <what>`.
    fn parse(text: &str) -> HeldBy {
        let mut words = text.split_whitespace();
        let pid = words.next().and_then(|p| p.parse().ok());
        let what = words.collect::<Vec<_>>().join(" ");
        HeldBy {
            pid,
            what: Some(what).filter(|w| !w.is_empty() && pid.is_some()),
        }
    }

    pub fn is_hub(&self) -> bool {
        self.what.as_deref() == Some("hub")
    }

    /// An admin command that has the folder to itself (not a hub, nor a
    /// holder that did not say).
    pub fn is_admin_command(&self) -> bool {
        self.what.is_some() && !self.is_hub()
    }
}

impl std::fmt::Display for HeldBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.what.as_deref(), self.pid) {
            (Some("hub"), Some(pid)) => write!(f, "a running hub (pid {pid})"),
            (Some(what), Some(pid)) => write!(f, "`cradle-hub {what}` (pid {pid})"),
            _ => f.write_str("another process"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the data folder {dir} is in use by {by}: only one hub (or one admin command \
         that needs the folder to itself) may use it at a time"
    )]
    Held { dir: PathBuf, by: HeldBy },
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The folder's lock, held until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes `dir`'s lock for this process (creating the folder if needed),
    /// recording `what` holds it; refuses at once if another holds it.
    pub fn acquire(dir: &Path, what: &str) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let (mut file, writable) = open(&path, dir).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    dir: dir.to_owned(),
                    by: read_holder(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        if writable {
            // Only a hint for messages: failing to write it changes nothing.
            let _ = file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| writeln!(file, "{} {what}", std::process::id()));
        }
        Ok(DataDirLock { _file: file })
    }
}

/// Who holds `dir`'s lock right now, if anyone. `None` also when the
/// folder or its lock file does not exist (nothing has ever run there).
/// The check takes the lock for an instant when nobody holds it.
pub fn holder(dir: &Path) -> Result<Option<HeldBy>, LockError> {
    let path = dir.join(LOCK_FILE);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LockError::Io { path, source }),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => Ok(Some(read_holder(&mut file))),
        Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
    }
}

/// Opens the lock file for writing, or only for reading when it belongs to
/// another user (a lock works on a read-only file too).
fn open(path: &Path, dir: &Path) -> std::io::Result<(File, bool)> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    match options.open(path) {
        Ok(f) => {
            adopt_folder_owner(&f, dir);
            Ok((f, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Ok((File::open(path)?, false))
        }
        Err(e) => Err(e),
    }
}

/// A file root creates in a data folder that belongs to another user (the
/// hub's own, e.g. `cradle-hub`) is given to that user, so the hub can still
/// open it after `sudo cradle-hub restore`. For anyone but root, nothing.
pub fn adopt_folder_owner(file: &File, dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (Ok(folder), Ok(meta)) = (std::fs::metadata(dir), file.metadata()) else {
            return;
        };
        if meta.uid() == 0 && (folder.uid(), folder.gid()) != (meta.uid(), meta.gid()) {
            let _ = std::os::unix::fs::fchown(file, Some(folder.uid()), Some(folder.gid()));
        }
    }
    #[cfg(not(unix))]
    let _ = (file, dir);
}

fn read_holder(file: &mut File) -> HeldBy {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.take(256).read_to_string(&mut text);
    HeldBy::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()).unwrap(), None, "no lock file yet");
        let hub = DataDirLock::acquire(dir.path(), "hub").unwrap();
        let by = holder(dir.path()).unwrap().expect("held");
        assert_eq!(by.pid, Some(std::process::id()));
        assert!(by.is_hub());
        match DataDirLock::acquire(dir.path(), "restore") {
            Err(LockError::Held { by, .. }) => assert!(by.is_hub()),
            other => panic!("{other:?}"),
        }
        drop(hub);
        assert_eq!(holder(dir.path()).unwrap(), None);
        let restore = DataDirLock::acquire(dir.path(), "restore").unwrap();
        let by = holder(dir.path()).unwrap().expect("held");
        assert_eq!(by.what.as_deref(), Some("restore"));
        drop(restore);
    }

    #[test]
    fn holder_text() {
        let hub = HeldBy::parse("42 hub\n");
        assert_eq!(hub.to_string(), "a running hub (pid 42)");
        assert!(hub.is_hub() && !hub.is_admin_command());
        assert!(HeldBy::parse("7 restore").is_admin_command());
        assert!(
            !HeldBy::parse("").is_admin_command(),
            "unknown: maybe a hub"
        );
        assert_eq!(
            HeldBy::parse("7 user delete").to_string(),
            "`cradle-hub user delete` (pid 7)"
        );
        assert_eq!(HeldBy::parse("").to_string(), "another process");
        assert_eq!(HeldBy::parse("garbage here").to_string(), "another process");
    }
}
