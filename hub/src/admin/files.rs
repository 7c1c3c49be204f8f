//! Small file-system and formatting helpers of the admin commands.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::AdminError;

/// `1536` → `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The size of a file, or 0 when it does not exist.
pub fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// `path` with `suffix` appended to its file name: `a/b.db` → `a/b.db.partial`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The folder `path` is in (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename or a new file in `dir` durable (a no-op where folders
/// cannot be opened, as on Windows).
pub fn sync_dir(dir: &Path) -> Result<(), AdminError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| AdminError::Io {
            what: "sync the folder",
            path: dir.to_owned(),
            source,
        })?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates (or empties) a file only its owner may read: backups hold
/// password hashes.
pub fn create_private(path: &Path) -> Result<File, AdminError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| AdminError::Io {
        what: "create",
        path: path.to_owned(),
        source,
    })
}

/// A file that is removed (with its SQLite journal) when dropped, unless
/// [`Scratch::keep`] was called: no half-written backup or restore copy is
/// left behind by an error.
pub struct Scratch {
    path: PathBuf,
    armed: bool,
}

impl Scratch {
    pub fn new(path: PathBuf) -> Scratch {
        Scratch { path, armed: true }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(with_suffix(&self.path, "-journal"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts_read_plainly() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_bytes(u64::MAX), "16384.0 PiB");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1234), "-1,234");
    }

    #[test]
    fn suffixes_and_parents() {
        assert_eq!(
            with_suffix(Path::new("a/b.db"), ".partial"),
            PathBuf::from("a/b.db.partial")
        );
        assert_eq!(parent_of(Path::new("b.db")), Path::new("."));
        assert_eq!(parent_of(Path::new("a/b.db")), Path::new("a"));
    }

    #[test]
    fn a_scratch_file_goes_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        std::fs::write(&gone, b"x").unwrap();
        std::fs::write(with_suffix(&gone, "-journal"), b"x").unwrap();
        drop(Scratch::new(gone.clone()));
        assert!(!gone.exists() && !with_suffix(&gone, "-journal").exists());
        let kept = dir.path().join("kept");
        std::fs::write(&kept, b"x").unwrap();
        Scratch::new(kept.clone()).keep();
        assert!(kept.exists());
    }
}
