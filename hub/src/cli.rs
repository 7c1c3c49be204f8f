//! The `cradle-hub` command line: the hub itself (no subcommand, settings in
//! `cradle_hub::config`) and the tools that live in `cradle_tools`.

use clap::{Parser, Subcommand};
use cradle_hub::config::ServeArgs;

#[derive(Debug, Parser)]
#[command(
    name = "cradle-hub",
    version,
    about = "Local-first smart-cradle hub: MQTT ingest, alerts, REST API, live view and web UI",
    long_about = "Local-first smart-cradle hub.\n\nCradles publish readings and frames over MQTT \
                  (the hub's own MQTT endpoint by default); parents use the REST API, live view and web UI.\n\
                  Precedence of settings: command-line flags, then environment variables, then the \
                  TOML file given with --config, then built-in defaults."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log lines as readable text (for a terminal and journalctl) or as JSON, one object per line.
    #[arg(long, env = "CRADLE_HUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play one or more simulated cradles against a hub, exactly as real firmware does.
    Simulate(cradle_tools::simulator::SimulateArgs),
    /// Measure a hub from outside (MQTT + HTTP) under the load scenarios of docs/PERFORMANCE.md;
    /// `bench plot` draws a soak's memory curve.
    Bench(cradle_tools::bench::BenchArgs),
    #[command(flatten)]
    Admin(cradle_hub::admin::AdminCommand),
    /// Fill a data folder with readings past retention (for `bench --old-readings`).
    #[command(hide = true)]
    SeedOldReadings {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        #[arg(long)]
        rows: i64,
        #[arg(long, default_value_t = 40)]
        days_old: i64,
    },
}
