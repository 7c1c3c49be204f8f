//! Admin commands for a headless hub: `user`, `backup`, `restore`, `check`.
//!
//! Each finds the data folder the way the hub does (`--data-dir`,
//! `CRADLE_HUB_DATA_DIR`, `data_dir` in the `--config` file, then
//! `./cradle-hub-data`) and opens its SQLite database directly. Beside a
//! running hub this is safe: SQLite orders the command's writes with the
//! hub's, and the hub notices sessions a command ended
//! ([`crate::sessions::Sessions::follow_outside_revocations`]). What needs
//! the folder to itself (`restore`, `user delete`) takes the data-folder
//! lock ([`crate::data_lock`]), so it refuses while a hub runs and no hub
//! starts while it works.

pub mod backup;
pub mod check;
pub mod db;
mod files;
pub mod users;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::auth::{AuthError, MIN_PASSWORD_CHARS};
use crate::config::{ConfigError, ServeArgs, Settings};
use crate::data_lock::{HeldBy, LockError};

/// The admin subcommands, flattened into `cradle-hub`'s own.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage accounts: add, list, reset-password, delete.
    User(UserArgs),
    /// Copy the database to FILE, safely while the hub runs.
    #[command(long_about = BACKUP_HELP)]
    Backup(BackupArgs),
    /// Replace the database with a backup; the hub must be stopped.
    #[command(long_about = RESTORE_HELP)]
    Restore(RestoreArgs),
    /// Check the database: integrity, schema version, sizes, whether a hub runs on it.
    #[command(long_about = CHECK_HELP)]
    Check(CheckArgs),
}

const BACKUP_HELP: &str = "Copy the database to FILE, safely while the hub runs and writes.\n\n\
    SQLite's online backup API copies one consistent moment of the database; the hub goes on \
    taking readings meanwhile. FILE holds everything in the database: accounts (password hashes), \
    cradles and their settings, readings, alerts, the alert recordings (their video frames are \
    stored in the database) and the motor log. It is a plain SQLite file, readable only by its \
    owner; it is first written as FILE.partial and renamed when complete.\n\n\
    Not included: secret.key (the key that signs short-lived media links; a new one is made if \
    it is missing, which only ends links already handed out) and the tls/ folder (the hub's own \
    certificate authority for --tls self-signed; copy it as well to keep phones trusting the hub \
    after moving to a new machine).";

const RESTORE_HELP: &str = "Replace the hub's database with a backup made by `cradle-hub backup`.\n\n\
    Refused while a hub runs on the data folder (stop it first, e.g. `sudo systemctl stop \
    cradle-hub`); no hub can start while the restore works. FILE is checked before anything is \
    replaced: it must be an intact Cradle Hub database of a schema this cradle-hub knows (an \
    older one is upgraded). The restored copy is prepared beside the database and put in place \
    with one rename, so an interrupted restore leaves the old database as it was. The database \
    replaced is kept as cradle-hub.sqlite3.before-restore-<time> (delete it when you no longer \
    need it). Everyone signs in again: sessions in the backup are not restored. The data folder \
    may be a new, empty one (moving to a new machine).";

const CHECK_HELP: &str = "Check the hub's database and report on it: PRAGMA integrity_check, the \
    schema version (and whether it is the one this cradle-hub uses), what it holds, the sizes of \
    the database, its write-ahead log and the alert recordings, free disk space, and whether a \
    hub is running on the data folder. Safe while the hub runs. Exits non-zero when the database \
    is missing, damaged or not one this cradle-hub can use.";

/// Where the data folder is. The rest of the settings come from `--config`.
#[derive(Debug, Clone, Default, Args)]
pub struct DataDirArg {
    /// The hub's data folder. [default: data_dir from --config, else from /etc/cradle-hub/config.toml when the package installed it, else ./cradle-hub-data]
    #[arg(long, env = "CRADLE_HUB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The config file the Debian package installs and its service reads.
pub const PACKAGED_CONFIG: &str = "/etc/cradle-hub/config.toml";

impl DataDirArg {
    /// The folder the hub would use with these settings.
    pub fn resolve(&self, serve: &ServeArgs) -> Result<PathBuf, ConfigError> {
        let packaged = Path::new(PACKAGED_CONFIG);
        let args = self.settings_args(serve, packaged.is_file().then_some(packaged));
        if args.config.as_deref() == Some(packaged) && serve.config.is_none() {
            eprintln!("Using the hub's settings in {PACKAGED_CONFIG}.");
        }
        Ok(Settings::resolve(&args)?.data_dir)
    }

    /// On a packaged install `sudo cradle-hub user add ann` must act on the
    /// service's data folder, not on ./cradle-hub-data wherever the shell is:
    /// with neither a folder nor a config file given, the packaged config is used.
    fn settings_args(&self, serve: &ServeArgs, packaged: Option<&Path>) -> ServeArgs {
        let mut args = serve.clone();
        if self.data_dir.is_some() {
            args.data_dir = self.data_dir.clone();
        } else if args.config.is_none() && args.data_dir.is_none() {
            args.config = packaged.map(Path::to_path_buf);
        }
        args
    }
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Clone, Args)]
pub struct PasswordArg {
    /// Read the password from standard input (one line) instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account and print its generated password (shown once), or take one with
    /// --password-stdin. Works while the hub runs.
    Add {
        /// 1 to 64 characters, no spaces at either end.
        name: String,
        #[command(flatten)]
        password: PasswordArg,
        #[command(flatten)]
        dir: DataDirArg,
    },
    /// List the accounts with their cradles, live sessions and last activity.
    List {
        #[command(flatten)]
        dir: DataDirArg,
    },
    /// Set a new password (generated and printed once, or from --password-stdin) and sign the
    /// user out everywhere; a running hub drops those sessions before this returns.
    ResetPassword {
        /// The account's name.
        name: String,
        #[command(flatten)]
        password: PasswordArg,
        #[command(flatten)]
        dir: DataDirArg,
    },
    /// Delete an account and its sessions; the hub must be stopped. Its cradles are removed as
    /// in the app (their readings, alerts and recordings are deleted when the hub next starts)
    /// unless --transfer-to gives them, with their history, to another account.
    Delete {
        /// The account's name.
        name: String,
        /// Give the user's cradles, with their history, to this account instead.
        #[arg(long, value_name = "USER")]
        transfer_to: Option<String>,
        /// Do not ask for confirmation (needed when not run from a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        dir: DataDirArg,
    },
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup.
    pub file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub dir: DataDirArg,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup made by `cradle-hub backup`.
    pub file: PathBuf,
    #[command(flatten)]
    pub dir: DataDirArg,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub dir: DataDirArg,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{}", in_use(.dir, .by, .what))]
    InUse {
        dir: PathBuf,
        by: HeldBy,
        what: &'static str,
    },
    #[error(
        "no Cradle Hub database in {dir} (no {}): is that the hub's data folder? \
         Give it with --data-dir, or the hub's config file with --config",
        crate::store::DB_FILE
    )]
    NoDatabase { dir: PathBuf },
    #[error("{path} is not a SQLite database")]
    NotADatabase { path: PathBuf },
    #[error("{path} is not a Cradle Hub database: {why}")]
    NotCradleHub { path: PathBuf, why: String },
    #[error(
        "{path} has schema version {found}, newer than this cradle-hub knows ({known}): \
         use the cradle-hub version that wrote it"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error(
        "{path} has schema version {found}; this cradle-hub uses {known}. Start the hub once \
         (it upgrades the database; a hub still running an older version must be restarted), \
         then try again"
    )]
    TooOld {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error(
        "the database {path} is damaged; SQLite's integrity check found:\n  {}\n\
         Restore the latest backup: stop the hub, then `cradle-hub restore FILE`",
        .problems.join("\n  ")
    )]
    Damaged {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("database error on {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "invalid user name {0:?}: 1 to 64 characters, no spaces at either end, \
         no control characters"
    )]
    InvalidUsername(String),
    #[error("there is already a user named {0:?}")]
    UserExists(String),
    #[error("there is no user named {0:?} (see `cradle-hub user list`)")]
    NoSuchUser(String),
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("--password-stdin: {0}")]
    PasswordInput(&'static str),
    #[error("cannot hash the password: {0}")]
    Hash(#[from] AuthError),
    #[error("{0} exists: choose another file name, or add --force to replace it")]
    Exists(PathBuf),
    #[error("{0} is the hub's database itself: give the backup another name")]
    IntoItself(PathBuf),
    #[error("{0}")]
    Refused(String),
    #[error(
        "the password was changed and {ended} session(s) deleted, but the running hub ({by}) \
         did not confirm within {secs} s that it signed them out; restart it to be sure \
         (e.g. `sudo systemctl restart cradle-hub`)"
    )]
    HubDidNotConfirm { ended: usize, by: HeldBy, secs: u64 },
    #[error("the admin task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

fn in_use(dir: &std::path::Path, by: &HeldBy, what: &str) -> String {
    let stop = if by.is_hub() {
        " (e.g. `sudo systemctl stop cradle-hub`, or Ctrl-C where it runs)"
    } else {
        ""
    };
    format!(
        "the data folder {} is in use by {by}, and `cradle-hub {what}` needs it to itself. \
         Stop it first{stop}, then run this again",
        dir.display()
    )
}

/// Runs an admin command to its end; the caller prints the error and exits
/// non-zero. SQLite and file work run on the blocking pool.
pub async fn run(command: AdminCommand, serve: &ServeArgs) -> Result<(), AdminError> {
    let serve = serve.clone();
    tokio::task::spawn_blocking(move || match command {
        AdminCommand::User(UserArgs { command }) => users::run(command, &serve),
        AdminCommand::Backup(args) => backup::backup(&args.dir.resolve(&serve)?, &args),
        AdminCommand::Restore(args) => backup::restore(&args.dir.resolve(&serve)?, &args.file),
        AdminCommand::Check(args) => check::check(&args.dir.resolve(&serve)?),
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_config_is_used_only_when_nothing_else_names_the_folder() {
        let packaged = Path::new(PACKAGED_CONFIG);
        let none = DataDirArg::default();
        let args = none.settings_args(&ServeArgs::default(), Some(packaged));
        assert_eq!(args.config.as_deref(), Some(packaged));
        // Not installed: the hub's own default folder.
        let args = none.settings_args(&ServeArgs::default(), None);
        assert_eq!(args.config, None);

        let given = DataDirArg {
            data_dir: Some("/srv/hub".into()),
        };
        let args = given.settings_args(&ServeArgs::default(), Some(packaged));
        assert_eq!(args.config, None);
        assert_eq!(args.data_dir.as_deref(), Some(Path::new("/srv/hub")));

        let own_config = ServeArgs {
            config: Some("/home/pi/hub.toml".into()),
            ..Default::default()
        };
        let args = none.settings_args(&own_config, Some(packaged));
        assert_eq!(args.config.as_deref(), Some(Path::new("/home/pi/hub.toml")));
    }
}
