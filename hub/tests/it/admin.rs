//! The admin commands of a headless hub, run as the real `cradle-hub`
//! binary against real data folders, beside a real hub where it matters:
//! backup while the hub ingests and restore into a new folder, accounts
//! (a password reset signs a running hub's sessions out before it returns),
//! `check` on a damaged copy, and the data-folder lock that keeps a second
//! hub, or a restore, off a folder a hub runs on.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cradle_hub::config::Settings;
use reqwest::StatusCode;
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::common::{Client, TestHub, fixture_frame};

/// What a `cradle-hub` run printed and how it ended.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok={}\n--- stdout\n{}--- stderr\n{}",
            self.ok, self.stdout, self.stderr
        )
    }
}

impl Ran {
    fn succeeded(self) -> Ran {
        assert!(self.ok, "expected success: {self:?}");
        assert!(self.stderr.is_empty(), "{self:?}");
        self
    }

    /// Failed with a message naming the problem, and no panic.
    fn failed_with(self, words: &str) -> Ran {
        assert!(!self.ok, "expected a failure: {self:?}");
        assert!(self.stderr.starts_with("cradle-hub: "), "{self:?}");
        assert!(self.stderr.contains(words), "expected {words:?}: {self:?}");
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        self
    }

    /// The generated password a command printed.
    fn password(&self) -> String {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Password (shown only this once): "))
            .unwrap_or_else(|| panic!("no password printed: {self:?}"))
            .to_owned()
    }
}

/// Runs `cradle-hub ARGS` with `stdin` piped in (or none: not a terminal).
async fn run(args: &[&str], stdin: Option<&str>, env: &[(&str, &Path)]) -> Ran {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_cradle-hub"));
    command
        .args(args)
        .env_remove("CRADLE_HUB_DATA_DIR")
        .env_remove("CRADLE_HUB_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("run cradle-hub");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).await.expect("write stdin");
    }
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("cradle-hub finishes")
        .expect("cradle-hub output");
    Ran {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `cradle-hub ARGS --data-dir DIR`.
async fn admin(dir: &Path, args: &[&str], stdin: Option<&str>) -> Ran {
    let dir = dir.to_str().expect("UTF-8 temp path");
    let mut all = args.to_vec();
    all.extend(["--data-dir", dir]);
    run(&all, stdin, &[]).await
}

/// The query of `/api/sensor_data` for every reading.
const ALL_TIME: &str = "?start_date=2000-01-01T00:00:00Z&end_date=2100-01-01T00:00:00Z";

fn db_of(dir: &Path) -> std::path::PathBuf {
    dir.join("cradle-hub.sqlite3")
}

fn open_read_only(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open database")
}

/// Every row of `table`, in key order.
fn rows(c: &Connection, table: &str, filter: &str) -> Vec<Vec<Sql>> {
    let mut stmt = c
        .prepare(&format!("SELECT * FROM {table} {filter} ORDER BY 1, 2"))
        .expect("select");
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect())
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

fn count(c: &Connection, table: &str) -> i64 {
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

/// POST /login with a password; the status.
async fn login_status(c: &Client, name: &str, password: &str) -> StatusCode {
    c.post("/login", json!({"username": name, "password": password}))
        .await
        .0
}

/// A cradle sending frames and readings (some above the 38 °C alert
/// threshold, so frames are recorded) until the flag is cleared.
fn ingest(cradle: crate::common::Cradle, running: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let frames = [fixture_frame(0), fixture_frame(1)];
        let mut i = 0usize;
        while running.load(Ordering::Relaxed) {
            cradle.frame(&frames[i % 2]).await;
            let temperature = if i % 50 < 25 { "36.5" } else { "39.5" };
            cradle
                .publish(
                    "temperature",
                    json!({"temperature": temperature}).to_string(),
                )
                .await;
            i += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
}

#[tokio::test]
async fn backup_while_the_hub_ingests_then_restore_into_a_new_folder() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let running = Arc::new(AtomicBool::new(true));
    let cradle = ingest(t.cradle("c1").await, running.clone());
    let store = t.hub.state.store.clone();
    let recorded = || {
        store.read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM sensor_data), (SELECT count(*) FROM video_frames)",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !matches!(recorded().await.unwrap(), (r, f) if r >= 50 && f >= 5) {
        assert!(tokio::time::Instant::now() < deadline, "nothing recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (_, push_key) = ann.get("/api/push/public_key").await;
    let spare = tempfile::tempdir().unwrap();
    let file = spare.path().join("hub-backup.db");
    let ran = admin(t.dir.path(), &["backup", file.to_str().unwrap()], None)
        .await
        .succeeded();
    assert!(ran.stdout.contains("while the hub was running"), "{ran:?}");
    assert!(ran.stdout.contains("Not included: secret.key"), "{ran:?}");
    assert!(ran.stdout.contains("Included: the Web Push key"), "{ran:?}");
    assert!(!spare.path().join("hub-backup.db.partial").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner reads a backup");
    }
    let backup = open_read_only(&file);
    let backed_up_readings = count(&backup, "sensor_data");

    // The hub went on ingesting during and after the backup.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while recorded().await.unwrap().0 < backed_up_readings + 20 {
        assert!(tokio::time::Instant::now() < deadline, "ingest stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.store(false, Ordering::Relaxed);
    cradle.await.unwrap();
    store.flush().await.unwrap();

    // One consistent moment: the readings up to the last one backed up,
    // all of them and nothing else.
    let live = open_read_only(&db_of(t.dir.path()));
    let last: i64 = backup
        .query_row("SELECT max(id) FROM sensor_data", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows(&backup, "sensor_data", ""),
        rows(&live, "sensor_data", &format!("WHERE id <= {last}"))
    );
    assert!(count(&backup, "video_frames") >= 5);
    assert!(count(&backup, "alert_logs") >= 1);
    assert_eq!(rows(&backup, "users", ""), rows(&live, "users", ""));

    // Into a new folder: the same rows, table for table, but no sessions.
    let restored_dir = tempfile::tempdir().unwrap();
    let target = restored_dir.path().join("data");
    let ran = admin(&target, &["restore", file.to_str().unwrap()], None)
        .await
        .succeeded();
    assert!(ran.stdout.contains("everyone signs in again"), "{ran:?}");
    let restored = open_read_only(&db_of(&target));
    for table in [
        "users",
        "agents",
        "alert_settings",
        "sensor_data",
        "alert_logs",
        "video_frames",
        "alert_frames",
        "motor_log",
        "push_subscriptions",
        "pending_wipes",
        "hub_meta",
    ] {
        assert_eq!(
            rows(&restored, table, ""),
            rows(&backup, table, ""),
            "{table}"
        );
    }
    assert!(count(&backup, "sessions") > 0);
    assert_eq!(count(&restored, "sessions"), 0);
    drop(restored);

    // A hub on the restored folder: the parent signs in with the same
    // password and finds the cradle and its alerts; the old cookie is gone.
    let hub = cradle_hub::start(Settings::ephemeral(&target))
        .await
        .expect("a hub starts on the restored folder");
    let mut old = ann.client_clone();
    old.base = hub.url();
    assert_eq!(old.get("/api/agents").await.0, StatusCode::UNAUTHORIZED);
    let mut again = Client::new(&hub.url());
    again.login("ann", "pass-word").await;
    let (s, agents) = again.get("/api/agents").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(agents[0]["uuid"], "c1");
    let (s, alerts) = again.get("/api/alert_logs").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        alerts.as_array().map(Vec::len),
        Some(count(&backup, "alert_logs") as usize)
    );
    // Phones stay subscribed: the push key came with the backup.
    assert_eq!(again.get("/api/push/public_key").await.1, push_key);
    hub.shutdown().await;

    // A backup made before the key was kept in the database has none:
    // restored over this folder, the replaced database's key stays.
    let older = spare.path().join("older-backup.db");
    std::fs::copy(&file, &older).unwrap();
    Connection::open(&older)
        .unwrap()
        .execute("DELETE FROM vapid_key", [])
        .unwrap();
    let ran = admin(&target, &["restore", older.to_str().unwrap()], None)
        .await
        .succeeded();
    assert!(ran.stdout.contains("phones keep getting alerts"), "{ran:?}");
    let hub = cradle_hub::start(Settings::ephemeral(&target))
        .await
        .expect("a hub starts on the folder restored again");
    let mut ann_again = Client::new(&hub.url());
    ann_again.login("ann", "pass-word").await;
    assert_eq!(ann_again.get("/api/push/public_key").await.1, push_key);
    hub.shutdown().await;
}

#[tokio::test]
async fn a_password_reset_signs_the_user_out_of_a_running_hub() {
    let t = TestHub::start().await;
    let ann = t.user("ann").await;
    let bob = t.user("bob").await;
    let mut events = ann.events().await;
    assert_eq!(ann.get("/api/agents").await.0, StatusCode::OK);

    let ran = admin(
        t.dir.path(),
        &["user", "reset-password", "ann", "--password-stdin"],
        Some("a-new-secret\n"),
    )
    .await
    .succeeded();
    assert!(
        ran.stdout.contains("The running hub has signed them out."),
        "{ran:?}"
    );
    assert!(
        !ran.stdout.contains("a-new-secret"),
        "a given password is not echoed"
    );
    // At once, when the command has returned: no waiting, no polling.
    assert_eq!(ann.get("/api/agents").await.0, StatusCode::UNAUTHORIZED);
    tokio::time::timeout(Duration::from_secs(5), events.closed())
        .await
        .expect("the open events stream ends with the session");
    assert_eq!(
        bob.get("/api/agents").await.0,
        StatusCode::OK,
        "other users stay signed in"
    );
    let fresh = t.client();
    assert_eq!(
        login_status(&fresh, "ann", "pass-word").await,
        StatusCode::UNAUTHORIZED
    );
    let mut with_new = t.client();
    with_new.login("ann", "a-new-secret").await;
    assert_eq!(with_new.get("/api/agents").await.0, StatusCode::OK);

    // Without --password-stdin: a generated one, printed once.
    let ran = admin(t.dir.path(), &["user", "reset-password", "ann"], None)
        .await
        .succeeded();
    let generated = ran.password();
    assert_eq!(
        with_new.get("/api/agents").await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut third = t.client();
    third.login("ann", &generated).await;
    assert_eq!(third.get("/api/agents").await.0, StatusCode::OK);
}

/// A hub that never acknowledges (here: only its lock, as an older hub
/// without the session follower would be): the reset says so and fails.
#[tokio::test]
async fn a_reset_the_hub_does_not_confirm_is_not_reported_as_done() {
    let t = TestHub::start().await;
    t.user("ann").await;
    let TestHub { hub, dir } = t;
    hub.shutdown().await;
    let _silent_hub = cradle_hub::data_lock::DataDirLock::acquire(dir.path(), "hub").unwrap();
    let ran = admin(
        dir.path(),
        &["user", "reset-password", "ann", "--password-stdin"],
        Some("a-new-secret\n"),
    )
    .await
    .failed_with("did not confirm");
    assert!(ran.stderr.contains("restart it"), "{ran:?}");
    assert!(ran.stdout.contains("Changed the password"), "{ran:?}");
}

#[tokio::test]
async fn accounts_are_added_listed_and_deleted() {
    let t = TestHub::start().await;
    // Added while the hub runs: usable at once.
    let ran = admin(t.dir.path(), &["user", "add", "dad"], None)
        .await
        .succeeded();
    let mut dad = t.client();
    dad.login("dad", &ran.password()).await;
    admin(
        t.dir.path(),
        &["user", "add", "mom", "--password-stdin"],
        Some("mom-password\n"),
    )
    .await
    .succeeded();
    let mut mom = t.client();
    mom.login("mom", "mom-password").await;
    admin(t.dir.path(), &["user", "add", "gran"], None)
        .await
        .succeeded();
    admin(t.dir.path(), &["user", "add", "dad"], None)
        .await
        .failed_with("already a user named \"dad\"");
    t.cradle_for(&mut dad, "c1").await;

    let ran = admin(t.dir.path(), &["user", "list"], None)
        .await
        .succeeded();
    let line = |name: &str| -> Vec<String> {
        ran.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} listed: {ran:?}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // ID USER CREATED(date time) CRADLES SESSIONS LAST-ACTIVE
    assert_eq!(line("dad")[4..6], ["1", "1"], "{ran:?}");
    assert_eq!(line("gran")[4..6], ["0", "0"], "{ran:?}");

    // Deleting needs the hub stopped.
    admin(t.dir.path(), &["user", "delete", "dad", "--yes"], None)
        .await
        .failed_with("in use by a running hub");
    let TestHub { hub, dir } = t;
    hub.shutdown().await;
    admin(dir.path(), &["user", "delete", "dad"], None)
        .await
        .failed_with("Add --yes");
    admin(
        dir.path(),
        &["user", "delete", "dad", "--transfer-to", "nobody", "--yes"],
        None,
    )
    .await
    .failed_with("no user named \"nobody\"");
    let ran = admin(dir.path(), &["user", "delete", "dad", "--yes"], None)
        .await
        .succeeded();
    assert!(ran.stdout.contains("c1 are removed"), "{ran:?}");

    // Gran's cradle goes to mom with its history instead.
    let hub = cradle_hub::start(Settings::ephemeral(dir.path()))
        .await
        .unwrap();
    let mut gran = Client::new(&hub.url());
    admin(
        dir.path(),
        &["user", "reset-password", "gran", "--password-stdin"],
        Some("gran-password\n"),
    )
    .await
    .succeeded();
    gran.login("gran", "gran-password").await;
    crate::common::claim_cradle(&hub.url(), &mut gran, "c2").await;
    let c2 = crate::common::Cradle::connect(hub.mqtt_addr.unwrap().port(), "c2").await;
    c2.publish("temperature", r#"{"temperature": "36.6"}"#)
        .await;
    gran.wait_for(&format!("/api/sensor_data/c2{ALL_TIME}"), |b| {
        b.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    hub.state.store.flush().await.unwrap();
    hub.shutdown().await;
    admin(
        dir.path(),
        &["user", "delete", "gran", "--transfer-to", "mom", "--yes"],
        None,
    )
    .await
    .succeeded();

    let hub = cradle_hub::start(Settings::ephemeral(dir.path()))
        .await
        .unwrap();
    let fresh = Client::new(&hub.url());
    assert_eq!(
        login_status(&fresh, "dad", "anything").await,
        StatusCode::UNAUTHORIZED
    );
    let mut mom = Client::new(&hub.url());
    mom.login("mom", "mom-password").await;
    let (_, agents) = mom.get("/api/agents").await;
    let uuids: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["uuid"].as_str())
        .collect();
    assert_eq!(uuids, ["c2"], "gran's cradle, not dad's removed one");
    let (_, readings) = mom.get(&format!("/api/sensor_data/c2{ALL_TIME}")).await;
    assert!(
        readings.as_array().is_some_and(|a| !a.is_empty()),
        "with its history"
    );
    // Dad's cradle is free to claim again (its old data wiped first).
    crate::common::claim_cradle(&hub.url(), &mut mom, "c1").await;
    hub.shutdown().await;
}

/// Overwrites the first page of `table`'s b-tree in the database at `path`.
fn damage_table(path: &Path, table: &str) {
    let (page_size, root): (i64, i64) = {
        let c = open_read_only(path);
        (
            c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap(),
            c.query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap(),
        )
    };
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(((root - 1) * page_size) as u64))
        .unwrap();
    f.write_all(&vec![0x5a; page_size as usize]).unwrap();
}

#[tokio::test]
async fn check_reports_on_a_running_hub_and_fails_on_a_damaged_copy() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;
    for i in 0..20 {
        cradle
            .publish("temperature", format!(r#"{{"temperature": "36.{i}"}}"#))
            .await;
    }
    ann.wait_for(&format!("/api/sensor_data/c1{ALL_TIME}"), |b| {
        b.as_array().is_some_and(|a| a.len() >= 20)
    })
    .await;
    t.hub.state.store.flush().await.unwrap();

    let ran = admin(t.dir.path(), &["check"], None).await.succeeded();
    for words in [
        "Hub:         running (pid",
        "Integrity:   ok",
        "(this cradle-hub's)",
        "write-ahead log",
        "1 user(s), 1 cradle(s), 20 reading(s)",
        "Disk:",
    ] {
        assert!(ran.stdout.contains(words), "{words:?}: {ran:?}");
    }

    let spare = tempfile::tempdir().unwrap();
    let file = spare.path().join("b.db");
    admin(t.dir.path(), &["backup", file.to_str().unwrap()], None)
        .await
        .succeeded();
    let copy = spare.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(&file, db_of(&copy)).unwrap();
    let ran = admin(&copy, &["check"], None).await.succeeded();
    assert!(ran.stdout.contains("Hub:         not running"), "{ran:?}");

    damage_table(&db_of(&copy), "sensor_data");
    let ran = admin(&copy, &["check"], None)
        .await
        .failed_with("is damaged");
    assert!(ran.stderr.contains("cradle-hub restore"), "{ran:?}");

    // The first bytes gone: not a database at all.
    std::fs::copy(&file, db_of(&copy)).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(db_of(&copy))
            .unwrap();
        f.write_all(&[0u8; 100]).unwrap();
    }
    admin(&copy, &["check"], None)
        .await
        .failed_with("is not a SQLite database");

    admin(&spare.path().join("nowhere"), &["check"], None)
        .await
        .failed_with("no Cradle Hub database in");
}

#[tokio::test]
async fn restore_refuses_a_running_hub_and_files_that_are_not_good_backups() {
    let t = TestHub::start().await;
    t.user("ann").await;
    t.hub.state.store.flush().await.unwrap();
    let spare = tempfile::tempdir().unwrap();
    let file = spare.path().join("b.db");
    admin(t.dir.path(), &["backup", file.to_str().unwrap()], None)
        .await
        .succeeded();
    let before = std::fs::read(db_of(t.dir.path())).unwrap();
    admin(t.dir.path(), &["restore", file.to_str().unwrap()], None)
        .await
        .failed_with("in use by a running hub");
    assert_eq!(std::fs::read(db_of(t.dir.path())).unwrap(), before);
    admin(t.dir.path(), &["backup", file.to_str().unwrap()], None)
        .await
        .failed_with("exists");

    // Refused before anything is replaced; the folder is as it was.
    let fresh = tempfile::tempdir().unwrap();
    let text = spare.path().join("notes.txt");
    std::fs::write(&text, "shopping list").unwrap();
    admin(fresh.path(), &["restore", text.to_str().unwrap()], None)
        .await
        .failed_with("is not a SQLite database");
    let other = spare.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); PRAGMA user_version = 1;")
        .unwrap();
    admin(fresh.path(), &["restore", other.to_str().unwrap()], None)
        .await
        .failed_with("is not a Cradle Hub database");
    let newer = spare.path().join("newer.db");
    std::fs::copy(&file, &newer).unwrap();
    Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    admin(fresh.path(), &["restore", newer.to_str().unwrap()], None)
        .await
        .failed_with("newer than this cradle-hub knows");
    let damaged = spare.path().join("damaged.db");
    std::fs::copy(&file, &damaged).unwrap();
    damage_table(&damaged, "users");
    admin(fresh.path(), &["restore", damaged.to_str().unwrap()], None)
        .await
        .failed_with("is damaged");
    let left: Vec<_> = std::fs::read_dir(fresh.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "cradle-hub.lock")
        .collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");

    // An older schema is upgraded on the way in.
    let old = spare.path().join("old.db");
    {
        let mut c = Connection::open(&old).unwrap();
        cradle_hub::store::migrations()
            .unwrap()
            .to_version(&mut c, 1)
            .unwrap();
    }
    let ran = admin(fresh.path(), &["restore", old.to_str().unwrap()], None)
        .await
        .succeeded();
    assert!(
        ran.stdout.contains("Upgraded it from schema version 1"),
        "{ran:?}"
    );

    // Over a stopped hub's database: replaced, and the old one kept.
    admin(t.dir.path(), &["user", "add", "bob"], None)
        .await
        .succeeded();
    let TestHub { hub, dir } = t;
    hub.shutdown().await;
    let ran = admin(dir.path(), &["restore", file.to_str().unwrap()], None)
        .await
        .succeeded();
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with("cradle-hub.sqlite3.before-restore-")
            })
        })
        .unwrap_or_else(|| panic!("old database kept: {ran:?}"));
    assert!(ran.stdout.contains(&kept.display().to_string()), "{ran:?}");
    let name_list = |path: &Path| -> Vec<String> {
        let c = open_read_only(path);
        let mut stmt = c.prepare("SELECT username FROM users ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(name_list(&kept), ["ann", "bob"]);
    assert_eq!(name_list(&db_of(dir.path())), ["ann"]);
    let hub = cradle_hub::start(Settings::ephemeral(dir.path()))
        .await
        .expect("the hub starts on the restored database");
    let mut ann = Client::new(&hub.url());
    ann.login("ann", "pass-word").await;
    hub.shutdown().await;
}

#[tokio::test]
async fn a_second_hub_on_the_same_folder_is_refused() {
    let t = TestHub::start().await;
    let Err(e) = cradle_hub::start(Settings::ephemeral(t.dir.path())).await else {
        panic!("a second hub started on the same folder");
    };
    let message = e.to_string();
    assert!(
        message.contains(&format!(
            "is in use by a running hub (pid {})",
            std::process::id()
        )),
        "{message}"
    );

    let dir = t.dir.path().to_str().unwrap();
    let ran = run(
        &[
            "--data-dir",
            dir,
            "--http-addr",
            "127.0.0.1:0",
            "--mqtt-addr",
            "127.0.0.1:0",
            "--no-mdns",
        ],
        None,
        &[],
    )
    .await;
    assert!(!ran.ok, "{ran:?}");
    assert!(ran.stderr.contains("is in use by a running hub"), "{ran:?}");

    // Once the first has stopped, another starts.
    let TestHub { hub, dir } = t;
    hub.shutdown().await;
    let again = cradle_hub::start(Settings::ephemeral(dir.path()))
        .await
        .expect("a hub starts after the first stopped");
    again.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_every_command_has_help() {
    for (args, words) in [
        (&["user", "--help"][..], "reset-password"),
        (&["user", "add", "--help"], "--password-stdin"),
        (&["user", "list", "--help"], "--data-dir"),
        (&["user", "reset-password", "--help"], "everywhere"),
        (&["user", "delete", "--help"], "--transfer-to"),
        (&["backup", "--help"], "secret.key"),
        (&["restore", "--help"], "Refused"),
        (&["check", "--help"], "integrity_check"),
        (&["--help"], "restore"),
    ] {
        let ran = run(args, None, &[]).await.succeeded();
        assert!(ran.stdout.contains(words), "{args:?}: {ran:?}");
    }

    let t = TestHub::start().await;
    t.user("ann").await;
    let dir = t.dir.path();
    admin(dir, &["user", "add", " ann"], None)
        .await
        .failed_with("invalid user name");
    admin(dir, &["user", "add", &"x".repeat(65)], None)
        .await
        .failed_with("invalid user name");
    admin(
        dir,
        &["user", "add", "zed", "--password-stdin"],
        Some("abc\n"),
    )
    .await
    .failed_with("at least 4 characters");
    admin(dir, &["user", "add", "zed", "--password-stdin"], Some(""))
        .await
        .failed_with("no password on standard input");
    admin(dir, &["user", "reset-password", "nobody"], None)
        .await
        .failed_with("no user named \"nobody\"");
    admin(
        dir,
        &["user", "delete", "ann", "--transfer-to", "ann", "--yes"],
        None,
    )
    .await
    .failed_with("in use by a running hub");
    let ran = run(&["user", "add"], None, &[]).await;
    assert!(!ran.ok && ran.stderr.contains("<NAME>"), "{ran:?}");

    // The data folder from the config file or the environment, as the hub
    // finds it.
    let spare = tempfile::tempdir().unwrap();
    let config = spare.path().join("hub.toml");
    std::fs::write(&config, format!("data_dir = {:?}\n", dir.to_str().unwrap())).unwrap();
    let ran = run(&["check", "--config", config.to_str().unwrap()], None, &[])
        .await
        .succeeded();
    assert!(
        ran.stdout
            .contains(&format!("Data folder: {}", dir.display())),
        "{ran:?}"
    );
    let ran = run(&["user", "list"], None, &[("CRADLE_HUB_DATA_DIR", dir)])
        .await
        .succeeded();
    assert!(ran.stdout.contains("ann"), "{ran:?}");
    std::fs::write(&config, "no_such_setting = 1\n").unwrap();
    run(&["check", "--config", config.to_str().unwrap()], None, &[])
        .await
        .failed_with("invalid config file");
}
