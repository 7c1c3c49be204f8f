use clap::Parser;

// glibc's per-thread arenas fragment under ~10 MB/s of 40-80 KB frame
// buffers allocated on one runtime thread and freed on another; mimalloc
// returns the memory. Built with `no_thp`: with transparent huge pages each
// touched 2 MiB page of its arenas stayed resident whole (12 of the idle
// hub's 25 MB RSS).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tracing_subscriber::EnvFilter;

use cradle_hub::config::Settings;
use cradle_hub::service;

mod cli;
use cli::{Cli, Command, LogFormat};

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,rumqttc=warn,mdns_sd=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // journald and log files would show colour codes as text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // stdout is for what people read (the demo's URL and password).
        .with_writer(std::io::stderr);
    // journald stamps every line itself (systemd sets JOURNAL_STREAM for a
    // service whose stderr goes to the journal).
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    match (format, under_journald) {
        (LogFormat::Text, false) => builder.init(),
        (LogFormat::Text, true) => builder.without_time().init(),
        (LogFormat::Json, _) => builder.json().flatten_event(true).init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match cli.command {
        Some(Command::Simulate(args)) => cradle_tools::simulator::run(args).await,
        Some(Command::Bench(args)) => cradle_tools::bench::run(args).await,
        Some(Command::Admin(command)) => {
            if let Err(e) = cradle_hub::admin::run(command, &cli.serve).await {
                eprintln!("cradle-hub: {e}");
                std::process::exit(1);
            }
            Ok(())
        }
        Some(Command::SeedOldReadings {
            data_dir,
            rows,
            days_old,
        }) => Ok(cradle_hub::store::backlog::seed_old_readings(&data_dir, rows, days_old).await?),
        None => serve(&cli.serve).await,
    }
}

async fn serve(args: &cradle_hub::config::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args).inspect_err(|e| service::failed(e))?;
    let demo = settings.demo;
    service::starting(&settings.data_dir);
    let hub = cradle_hub::start(settings)
        .await
        .inspect_err(|e| service::failed(e))?;
    service::ready(&hub);
    let url = hub.url();
    let _sim = if demo {
        let (password, sim) = cradle_hub::demo::setup(&hub).await?;
        println!();
        println!("  Cradle Hub demo is running: {url}");
        println!(
            "  Log in as  {}  /  {password}",
            cradle_hub::demo::DEMO_USER
        );
        println!(
            "  Simulated cradles: {}",
            cradle_hub::demo::DEMO_CRADLES.join(", ")
        );
        println!();
        Some(sim)
    } else {
        println!("Cradle Hub is running: {url}");
        None
    };
    if hub.state.tls.is_some() {
        // `url` stays plain HTTP: it is what works on this machine (loopback is
        // served without TLS). Other devices need https and the hub's CA.
        let addr = hub.http_addr;
        let host = if addr.ip().is_unspecified() {
            "<this computer's address>".to_owned()
        } else {
            addr.ip().to_string()
        };
        println!(
            "HTTPS for phones and other computers: https://{host}:{} (trust the hub's certificate first: {url}/ca)",
            addr.port()
        );
    }
    // Ctrl-C or SIGTERM: streams close, tasks stop, the store is flushed,
    // all within 2 s. A second Ctrl-C exits at once.
    cradle_hub::tasks::shutdown_signal().await;
    service::stopping();
    hub.shutdown().await;
    Ok(())
}
