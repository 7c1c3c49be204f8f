//! `cradle-hub user add|list|reset-password|delete`: the same name rules
//! and argon2id hashes as signing up over HTTP (`crate::auth`).
//!
//! - `add` and `reset-password` work beside a running hub: it keeps no
//!   accounts in memory, and a reset's revocation of the user's sessions
//!   reaches its session cache before the command returns.
//! - `delete` needs the hub stopped: a running hub keeps each cradle's owner,
//!   its alert and motor state in memory, and a new account could be given
//!   the deleted one's id (SQLite reuses the highest rowid) and with it,
//!   in that memory, the deleted user's cradles.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use rand::Rng;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::db::{Access, HubDb};
use super::{AdminError, PasswordArg, UserCommand};
use crate::auth::{self, MIN_PASSWORD_CHARS};
use crate::config::ServeArgs;
use crate::data_lock;
use crate::store::{agents, sessions, users};
use crate::timefmt::{Millis, now_millis};

/// Letters and digits nobody confuses when reading them off a screen (no
/// 0/o, 1/l/i).
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// Four groups of four: 16 of 31 symbols, about 79 bits.
const GROUPS: usize = 4;
const GROUP_LEN: usize = 4;
/// More than any password anyone types; stdin is not read beyond it.
const MAX_PASSWORD_INPUT: usize = 4096;
/// How long `reset-password` waits for a running hub to drop the sessions
/// (it looks every second).
const HUB_CONFIRMS_WITHIN: Duration = Duration::from_secs(5);

pub fn run(command: UserCommand, serve: &ServeArgs) -> Result<(), AdminError> {
    match command {
        UserCommand::Add {
            name,
            password,
            dir,
        } => add(&dir.resolve(serve)?, &name, &password),
        UserCommand::List { dir } => list(&dir.resolve(serve)?),
        UserCommand::ResetPassword {
            name,
            password,
            dir,
        } => reset_password(&dir.resolve(serve)?, &name, &password),
        UserCommand::Delete {
            name,
            transfer_to,
            yes,
            dir,
        } => delete(&dir.resolve(serve)?, &name, transfer_to.as_deref(), yes),
    }
}

/// A new password: generated (then shown once) or given on stdin.
enum NewPassword {
    Generated(String),
    Given(String),
}

impl NewPassword {
    fn read(arg: &PasswordArg) -> Result<NewPassword, AdminError> {
        if !arg.password_stdin {
            return Ok(NewPassword::Generated(generate_password()));
        }
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(AdminError::PasswordInput(
                "pipe the password in, e.g. `printf '%s\\n' \"$PASSWORD\" | cradle-hub user ...`; \
                 leave --password-stdin out to get a generated one",
            ));
        }
        let mut input = Vec::new();
        stdin
            .lock()
            .take(MAX_PASSWORD_INPUT as u64 + 1)
            .read_to_end(&mut input)
            .map_err(|_| AdminError::PasswordInput("cannot read standard input"))?;
        password_from_input(&input).map(NewPassword::Given)
    }

    fn text(&self) -> &str {
        match self {
            NewPassword::Generated(p) | NewPassword::Given(p) => p,
        }
    }

    fn hash(&self) -> Result<String, AdminError> {
        // On the blocking pool (see `admin::run`): waiting here is fine.
        let password = self.text().to_owned();
        Ok(tokio::runtime::Handle::current().block_on(auth::hash_password(password))?)
    }

    fn show(&self) {
        if let NewPassword::Generated(p) = self {
            println!("Password (shown only this once): {p}");
            println!("Sign in with it, then change it in the app's settings.");
        }
    }
}

/// `xxxx-xxxx-xxxx-xxxx` from [`ALPHABET`].
pub fn generate_password() -> String {
    let mut rng = rand::rng();
    (0..GROUPS)
        .map(|_| {
            (0..GROUP_LEN)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The password in what `--password-stdin` read: one line, its line end
/// not part of it; the same minimum length as signing up over HTTP.
pub fn password_from_input(input: &[u8]) -> Result<String, AdminError> {
    if input.len() > MAX_PASSWORD_INPUT {
        return Err(AdminError::PasswordInput(
            "more than 4 KiB on standard input",
        ));
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| AdminError::PasswordInput("standard input is not UTF-8 text"))?;
    let line = match text.strip_suffix('\n') {
        Some(l) => l.strip_suffix('\r').unwrap_or(l),
        None => text,
    };
    if line.contains('\n') {
        return Err(AdminError::PasswordInput("give the password on one line"));
    }
    if line.is_empty() {
        return Err(AdminError::PasswordInput("no password on standard input"));
    }
    if line.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AdminError::PasswordTooShort);
    }
    Ok(line.to_owned())
}

fn add(dir: &Path, name: &str, password: &PasswordArg) -> Result<(), AdminError> {
    if !auth::valid_username(name) {
        return Err(AdminError::InvalidUsername(name.to_owned()));
    }
    let password = NewPassword::read(password)?;
    let db = HubDb::open(dir, Access::Beside)?;
    db.writable("user add")?;
    if users::exists(&db.conn, name).map_err(db.sqlite())? {
        return Err(AdminError::UserExists(name.to_owned()));
    }
    let hash = password.hash()?;
    match users::insert(&db.conn, name, &hash, now_millis()) {
        Ok(_) => {}
        Err(e) if users::is_unique_violation(&e) => {
            return Err(AdminError::UserExists(name.to_owned()));
        }
        Err(e) => return Err(db.sqlite()(e)),
    }
    println!("Created user {name:?} in {}.", dir.display());
    password.show();
    Ok(())
}

/// One line of `user list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub created_at: Millis,
    pub cradles: i64,
    pub sessions: i64,
    pub last_active: Option<Millis>,
}

fn accounts(c: &rusqlite::Connection, now: Millis) -> rusqlite::Result<Vec<Account>> {
    c.prepare(
        "SELECT u.id, u.username, u.created_at,
                (SELECT count(*) FROM agents a WHERE a.owner_id = u.id),
                (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?1),
                (SELECT max(COALESCE(s.last_seen_at, s.created_at)) FROM sessions s
                  WHERE s.user_id = u.id)
         FROM users u ORDER BY u.id",
    )?
    .query_map([now], |r| {
        Ok(Account {
            id: r.get(0)?,
            name: r.get(1)?,
            created_at: r.get(2)?,
            cradles: r.get(3)?,
            sessions: r.get(4)?,
            last_active: r.get(5)?,
        })
    })?
    .collect()
}

/// `2026-11-22 20:56` (UTC).
fn minute(ms: Millis) -> String {
    crate::timefmt::format_millis(ms)
        .get(..16)
        .map(|t| t.replacen('T', " ", 1))
        .unwrap_or_default()
}

/// The table `user list` prints, columns padded to their widest cell.
pub fn account_table(accounts: &[Account]) -> String {
    let mut rows = vec![[
        "ID".to_owned(),
        "USER".to_owned(),
        "CREATED (UTC)".to_owned(),
        "CRADLES".to_owned(),
        "SESSIONS".to_owned(),
        "LAST ACTIVE (UTC)".to_owned(),
    ]];
    rows.extend(accounts.iter().map(|a| {
        [
            a.id.to_string(),
            a.name.clone(),
            minute(a.created_at),
            a.cradles.to_string(),
            a.sessions.to_string(),
            a.last_active.map_or_else(|| "-".to_owned(), minute),
        ]
    }));
    let mut widths = [0; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn list(dir: &Path) -> Result<(), AdminError> {
    let db = HubDb::open(dir, Access::Beside)?;
    let accounts = accounts(&db.conn, now_millis()).map_err(db.sqlite())?;
    if accounts.is_empty() {
        println!(
            "No users in {} yet. Add one with `cradle-hub user add NAME`.",
            dir.display()
        );
    } else {
        print!("{}", account_table(&accounts));
    }
    Ok(())
}

fn reset_password(dir: &Path, name: &str, password: &PasswordArg) -> Result<(), AdminError> {
    let password = NewPassword::read(password)?;
    let mut db = HubDb::open(dir, Access::Beside)?;
    db.writable("user reset-password")?;
    let user = users::by_name(&db.conn, name)
        .map_err(db.sqlite())?
        .ok_or_else(|| AdminError::NoSuchUser(name.to_owned()))?;
    let hash = password.hash()?;
    let path = db.path.clone();
    let sqlite = |e| super::db::sqlite_error(&path, e);
    let tx = db
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    users::set_password(&tx, user.id, &hash).map_err(sqlite)?;
    let ended = sessions::delete_user_sessions(&tx, user.id, None)
        .map_err(sqlite)?
        .len();
    let revocation = sessions::revoked_outside(&tx).map_err(sqlite)?;
    tx.commit().map_err(sqlite)?;
    println!("Changed the password of {name:?}; ended {ended} session(s) (signed out everywhere).");
    password.show();
    if let Some(hub) = db.hub().cloned() {
        wait_for_hub(&db, dir, revocation, ended, hub)?;
        println!("The running hub has signed them out.");
    }
    Ok(())
}

/// Waits until the running hub has dropped the sessions from its cache, or
/// has stopped (a new start reads them from SQLite).
fn wait_for_hub(
    db: &HubDb,
    dir: &Path,
    revocation: i64,
    ended: usize,
    hub: data_lock::HeldBy,
) -> Result<(), AdminError> {
    let started = Instant::now();
    loop {
        let (_, applied) = sessions::outside_revocations(&db.conn).map_err(db.sqlite())?;
        if applied >= revocation || data_lock::holder(dir)?.is_none() {
            return Ok(());
        }
        if started.elapsed() >= HUB_CONFIRMS_WITHIN {
            return Err(AdminError::HubDidNotConfirm {
                ended,
                by: hub,
                secs: HUB_CONFIRMS_WITHIN.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What `user delete` is about to do, in words, for the question and the report.
fn deletion_plan(name: &str, sessions: i64, cradles: &[String], heir: Option<&str>) -> String {
    let mut plan = format!("user {name:?} and its {sessions} session(s)");
    if cradles.is_empty() {
        return plan;
    }
    let list = cradles.join(", ");
    match heir {
        Some(heir) => plan.push_str(&format!(
            "; its cradle(s) {list} go to {heir:?} with their history"
        )),
        None => plan.push_str(&format!(
            "; its cradle(s) {list} are removed, their readings, alerts and recordings \
             deleted when the hub next starts"
        )),
    }
    plan
}

fn confirm(plan: &str, yes: bool) -> Result<(), AdminError> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(AdminError::Refused(format!(
            "not deleted: this would delete {plan}. Add --yes to do it without a question"
        )));
    }
    print!("Delete {plan}? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|_| AdminError::Refused("not deleted: no answer".into()))?;
    match answer.trim().to_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(AdminError::Refused("not deleted".into())),
    }
}

fn delete(dir: &Path, name: &str, heir: Option<&str>, yes: bool) -> Result<(), AdminError> {
    let mut db = HubDb::open(dir, Access::Alone("user delete"))?;
    let user = users::by_name(&db.conn, name)
        .map_err(db.sqlite())?
        .ok_or_else(|| AdminError::NoSuchUser(name.to_owned()))?;
    let heir = match heir {
        Some(h) if h == name => {
            return Err(AdminError::Refused(
                "--transfer-to names the user being deleted".into(),
            ));
        }
        Some(h) => Some(
            users::by_name(&db.conn, h)
                .map_err(db.sqlite())?
                .ok_or_else(|| AdminError::NoSuchUser(h.to_owned()))?,
        ),
        None => None,
    };
    let cradles: Vec<String> = agents::owned_by(&db.conn, user.id)
        .map_err(db.sqlite())?
        .into_iter()
        .map(|a| a.uuid)
        .collect();
    let session_count: i64 = db
        .conn
        .query_row(
            "SELECT count(*) FROM sessions WHERE user_id = ?1",
            [user.id],
            |r| r.get(0),
        )
        .map_err(db.sqlite())?;
    let plan = deletion_plan(
        name,
        session_count,
        &cradles,
        heir.as_ref().map(|h| h.username.as_str()),
    );
    confirm(&plan, yes)?;

    let path = db.path.clone();
    let sqlite = |e| super::db::sqlite_error(&path, e);
    let now = now_millis();
    let tx = db
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    for uuid in &cradles {
        match &heir {
            Some(heir) => {
                tx.execute(
                    "UPDATE agents SET owner_id = ?2, updated_at = ?3 WHERE uuid = ?1",
                    params![uuid, heir.id, now],
                )
                .map_err(sqlite)?;
                // An heir who was a member is the owner now, not both.
                tx.execute(
                    "DELETE FROM cradle_members WHERE agent_uuid = ?1 AND user_id = ?2",
                    params![uuid, heir.id],
                )
                .map_err(sqlite)?;
            }
            None => {
                crate::store::household::forget_cradle(&tx, uuid).map_err(sqlite)?;
                agents::unclaim(&tx, uuid, now).map_err(sqlite)?;
            }
        }
    }
    sessions::delete_user_sessions(&tx, user.id, None).map_err(sqlite)?;
    // Push subscriptions go with the row (ON DELETE CASCADE).
    let deleted = tx
        .query_row(
            "DELETE FROM users WHERE id = ?1 RETURNING id",
            [user.id],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(sqlite)?;
    if deleted.is_none() {
        return Err(AdminError::NoSuchUser(name.to_owned()));
    }
    tx.commit().map_err(sqlite)?;
    println!("Deleted {plan}.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_readable_and_different() {
        let a = generate_password();
        let b = generate_password();
        assert_ne!(a, b);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.len(), GROUPS);
        assert!(groups.iter().all(|g| g.len() == GROUP_LEN));
        assert!(a.bytes().all(|c| c == b'-' || ALPHABET.contains(&c)), "{a}");
        assert!(!a.contains(['0', 'o', '1', 'l', 'i']));
        assert!(password_from_input(a.as_bytes()).is_ok());
    }

    #[test]
    fn a_password_on_stdin_is_one_line_without_its_line_end() {
        assert_eq!(password_from_input(b"s3cret\n").unwrap(), "s3cret");
        assert_eq!(password_from_input(b"s3cret\r\n").unwrap(), "s3cret");
        assert_eq!(password_from_input(b"s3cret").unwrap(), "s3cret");
        assert_eq!(
            password_from_input(" with spaces \n".as_bytes()).unwrap(),
            " with spaces ",
            "spaces are the password's own, as over HTTP"
        );
        assert_eq!(
            password_from_input("비밀번호\n".as_bytes()).unwrap(),
            "비밀번호"
        );
        assert!(matches!(
            password_from_input(b""),
            Err(AdminError::PasswordInput(m)) if m.contains("no password")
        ));
        assert!(matches!(
            password_from_input(b"\n"),
            Err(AdminError::PasswordInput(_))
        ));
        assert!(matches!(
            password_from_input(b"abc\n"),
            Err(AdminError::PasswordTooShort)
        ));
        assert!(matches!(
            password_from_input(b"first\nsecond\n"),
            Err(AdminError::PasswordInput(m)) if m.contains("one line")
        ));
        assert!(matches!(
            password_from_input(&[0xff, 0xfe, b'a', b'b', b'c', b'd']),
            Err(AdminError::PasswordInput(m)) if m.contains("UTF-8")
        ));
        assert!(matches!(
            password_from_input(&vec![b'a'; MAX_PASSWORD_INPUT + 1]),
            Err(AdminError::PasswordInput(_))
        ));
    }

    #[test]
    fn the_account_table_lines_up() {
        let table = account_table(&[
            Account {
                id: 1,
                name: "ann".into(),
                created_at: 0,
                cradles: 2,
                sessions: 1,
                last_active: Some(60_000),
            },
            Account {
                id: 12,
                name: "엄마".into(),
                created_at: 0,
                cradles: 0,
                sessions: 0,
                last_active: None,
            },
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID  USER  CREATED (UTC)"), "{table}");
        assert_eq!(
            lines[1],
            "1   ann   1970-01-01 00:00  2        1         1970-01-01 00:01"
        );
        assert!(lines[2].ends_with("  -"), "{table}");
    }

    #[test]
    fn the_deletion_plan_says_where_the_cradles_go() {
        assert_eq!(
            deletion_plan("ann", 2, &[], None),
            "user \"ann\" and its 2 session(s)"
        );
        let removed = deletion_plan("ann", 0, &["c1".into(), "c2".into()], None);
        assert!(removed.contains("c1, c2 are removed"), "{removed}");
        let given = deletion_plan("ann", 0, &["c1".into()], Some("bob"));
        assert!(given.contains("go to \"bob\""), "{given}");
    }
}
