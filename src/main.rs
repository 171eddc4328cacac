//! The `hubcalls` command line: `serve` (the default), `export` and `import`.

mod cli_transfer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hubcalls::config::{Config, ServeArgs, Storage, TokenOrigin};
use hubcalls::{shutdown_signal, App};

/// mimalloc instead of glibc's allocator: per-request work allocates many small, short-lived
/// values (parsed JSON, rendered bodies), and the load benchmark's profile had glibc's
/// malloc and free at ~17 % of the server's time. Its version 2 (the crate's `v2` feature):
/// as fast here as version 3, with an RSS after the load benchmark of 730 MiB instead of
/// 1.2 GiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "hubcalls",
    version,
    about = "HubSpot's CRM v3 Calls API, self-hosted"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log format on stderr (the filter is HUBCALLS_LOG, e.g. `info`).
    #[arg(
        long,
        env = "HUBCALLS_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Copy every portal from one store to another (SQLite data directory ↔ PostgreSQL),
    /// verified by counts.
    MigrateStore(hubcalls::migrate_store::MigrateStoreArgs),
    /// Move one portal from its shard to another (`[[postgres.shards]]`), verified by
    /// counts, then remove it from the source.
    MovePortal(hubcalls::move_portal::MovePortalArgs),
    /// Write a portal (every object type: custom properties and pipelines, records with
    /// history and associations) as NDJSON.
    Export(cli_transfer::ExportArgs),
    /// Load an NDJSON export or fixture, or a HubSpot CSV export of one object type.
    Import(cli_transfer::ImportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("HUBCALLS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::MigrateStore(args)) => {
            return match hubcalls::migrate_store::run(args) {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("hubcalls migrate-store: {message}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::MovePortal(args)) => {
            return match hubcalls::move_portal::run(args) {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("hubcalls move-portal: {message}");
                    ExitCode::FAILURE
                }
            };
        }
        None => cli.serve,
        Some(Command::Export(args)) => return finish(cli_transfer::export(args)),
        Some(Command::Import(args)) => return finish(cli_transfer::import(args)),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hubcalls: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hubcalls: {message}");
            ExitCode::FAILURE
        }
    }
}

fn finish(outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hubcalls: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let config = Config::resolve(args).map_err(|e| e.to_string())?;
    for warning in &config.warnings {
        eprintln!("hubcalls: warning: {warning}");
    }
    let app = App::build(config.clone())
        .await
        .map_err(|e| e.to_string())?;
    // Signal handlers before the banner: whoever reads "listening on" may signal at once.
    let shutdown = shutdown_signal();
    print_banner(&config, app.address());
    app.run(shutdown).await.map_err(|e| e.to_string())
}

/// What a newcomer needs to point an SDK at this server.
fn print_banner(config: &Config, address: std::net::SocketAddr) {
    println!(
        "hubcalls {} listening on http://{address}",
        env!("CARGO_PKG_VERSION")
    );
    match &config.storage {
        Storage::Memory => println!("  store: in memory (nothing survives a restart)"),
        Storage::Directory(dir) => println!("  store: {}", dir.display()),
        Storage::Postgres(settings) => println!("  store: PostgreSQL {}", settings.describe()),
        Storage::Sharded(layout) => {
            for line in layout.describe() {
                println!("  store: {line}");
            }
            let moving: Vec<String> = layout.moving().map(|p| p.to_string()).collect();
            if !moving.is_empty() {
                println!(
                    "  being moved (refused for now): portal(s) {}",
                    moving.join(", ")
                );
            }
        }
    }
    if let [grant] = config.tokens.as_slice() {
        let origin = match config.token_origin {
            TokenOrigin::Generated => " (generated)",
            TokenOrigin::Configured => "",
        };
        println!(
            "  token{origin}: {} (portal {}, scopes: {})",
            grant.token,
            grant.portal,
            grant.scopes.join(" ")
        );
    } else {
        println!("  tokens: {} configured", config.tokens.len());
    }
    println!(
        "  try: curl -H 'Authorization: Bearer <token>' http://{address}/crm/v3/objects/calls"
    );
}
