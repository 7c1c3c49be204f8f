//! The hub watching itself: conditions under which it cannot be trusted to
//! raise alerts, so `/health` turns 503 and screens show why. Plain Rust
//! over observed times and an injected clock; [`disk_space`] is the only I/O.

use std::path::Path;

use crate::timefmt::Millis;

/// Connected cradles sent nothing the hub took in for this long.
pub const INGEST_STALL_MS: Millis = 30_000;
/// Every write failed for this long.
pub const WRITES_FAILING_MS: Millis = 30_000;
pub const DISK_MIN_FREE_BYTES: u64 = 200 * 1024 * 1024;
pub const DISK_MIN_FREE_PERCENT: u64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub free_bytes: u64,
    pub total_bytes: u64,
}

/// What the hub observed of itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observed {
    pub now: Millis,
    pub started_at: Millis,
    /// Cradles connected to the hub's own endpoint, and when the newest of
    /// those connections came up (0 with an external broker: unknown).
    pub connected_cradles: usize,
    pub newest_connection_at: Option<Millis>,
    /// The last frame or reading taken in.
    pub last_ingest_at: Option<Millis>,
    pub last_commit_at: Option<Millis>,
    pub last_write_failure_at: Option<Millis>,
    pub disk: Option<DiskSpace>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Cradles are connected but nothing has been taken in since `since`.
    IngestStopped {
        since: Millis,
    },
    /// Writes have failed since `since` with no commit in between.
    WritesFailing {
        since: Millis,
    },
    DiskNearlyFull(DiskSpace),
}

impl Problem {
    /// The reason in `/health`'s `problems`, and the key screens translate.
    pub fn as_str(&self) -> &'static str {
        match self {
            Problem::IngestStopped { .. } => "ingest stopped",
            Problem::WritesFailing { .. } => "database writes failing",
            Problem::DiskNearlyFull(_) => "disk nearly full",
        }
    }
}

pub fn problems(o: &Observed) -> Vec<Problem> {
    let mut out = Vec::new();
    if o.connected_cradles > 0 {
        let since = [o.last_ingest_at, o.newest_connection_at, Some(o.started_at)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(o.started_at);
        if o.now - since >= INGEST_STALL_MS {
            out.push(Problem::IngestStopped { since });
        }
    }
    if let Some(failed) = o.last_write_failure_at {
        let since_success = o.last_commit_at.unwrap_or(o.started_at);
        // Still failing (a failure within the window), and no commit for
        // the whole window.
        if o.now - failed < WRITES_FAILING_MS && failed - since_success >= WRITES_FAILING_MS {
            out.push(Problem::WritesFailing {
                since: since_success,
            });
        }
    }
    if let Some(d) = o.disk
        && (d.free_bytes < DISK_MIN_FREE_BYTES
            || d.free_bytes.saturating_mul(100)
                < d.total_bytes.saturating_mul(DISK_MIN_FREE_PERCENT))
    {
        out.push(Problem::DiskNearlyFull(d));
    }
    out
}

/// Free and total space of the file system holding `dir` (for the hub's
/// user: blocks reserved for root do not count as free).
#[cfg(unix)]
pub fn disk_space(dir: &Path) -> Option<DiskSpace> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(DiskSpace {
        free_bytes: st.f_bavail.saturating_mul(st.f_frsize),
        total_bytes: st.f_blocks.saturating_mul(st.f_frsize),
    })
}

#[cfg(not(unix))]
pub fn disk_space(_dir: &Path) -> Option<DiskSpace> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Millis = 1000;
    const GB: u64 = 1 << 30;

    fn healthy(now: Millis) -> Observed {
        Observed {
            now,
            started_at: 0,
            connected_cradles: 2,
            newest_connection_at: Some(S),
            last_ingest_at: Some(now - 100),
            last_commit_at: Some(now - 100),
            last_write_failure_at: None,
            disk: Some(DiskSpace {
                free_bytes: 50 * GB,
                total_bytes: 100 * GB,
            }),
        }
    }

    #[test]
    fn a_healthy_hub_has_no_problems() {
        assert!(problems(&healthy(600 * S)).is_empty());
    }

    #[test]
    fn ingest_stopped_only_while_cradles_are_connected() {
        let mut o = healthy(600 * S);
        o.last_ingest_at = Some(600 * S - 30 * S);
        assert_eq!(problems(&o), [Problem::IngestStopped { since: 570 * S }]);
        o.last_ingest_at = Some(600 * S - 29 * S);
        assert!(problems(&o).is_empty());
        o.last_ingest_at = None;
        o.newest_connection_at = Some(590 * S);
        assert!(problems(&o).is_empty(), "a cradle that just connected");
        o.connected_cradles = 0;
        o.newest_connection_at = None;
        assert!(
            problems(&o).is_empty(),
            "nobody connected: nothing to take in"
        );
    }

    #[test]
    fn writes_failing_for_30_s_with_no_commit() {
        let mut o = healthy(600 * S);
        o.last_commit_at = Some(560 * S);
        o.last_write_failure_at = Some(599 * S);
        assert_eq!(problems(&o), [Problem::WritesFailing { since: 560 * S }]);
        // One failure among commits is not the store failing.
        o.last_commit_at = Some(598 * S);
        assert!(problems(&o).is_empty());
        // Failures that stopped long ago are over.
        o.last_commit_at = Some(100 * S);
        o.last_write_failure_at = Some(200 * S);
        assert!(problems(&o).is_empty());
    }

    #[test]
    fn disk_nearly_full_under_200_mb_or_2_percent() {
        let mut o = healthy(600 * S);
        o.disk = Some(DiskSpace {
            free_bytes: 199 * 1024 * 1024,
            total_bytes: 8 * GB,
        });
        assert!(matches!(problems(&o)[..], [Problem::DiskNearlyFull(_)]));
        o.disk = Some(DiskSpace {
            free_bytes: 19 * GB,
            total_bytes: 1000 * GB,
        });
        assert!(matches!(problems(&o)[..], [Problem::DiskNearlyFull(_)]));
        o.disk = Some(DiskSpace {
            free_bytes: 21 * GB,
            total_bytes: 1000 * GB,
        });
        assert!(problems(&o).is_empty());
    }

    #[test]
    fn disk_space_of_a_real_folder() {
        let dir = tempfile::tempdir().unwrap();
        let d = disk_space(dir.path()).expect("statvfs works");
        assert!(d.total_bytes > 0 && d.free_bytes <= d.total_bytes);
    }
}
