//! `hubcalls migrate-store`: copies every portal from one store to another (SQLite data
//! directory ↔ PostgreSQL), verified by counts. The copying itself is `crm::migration`.

use std::path::PathBuf;

use crate::config::{PostgresSettings, Storage};
use crate::crm::migration::{copy_store, PortalCounts};

#[derive(Debug, clap::Args)]
pub struct MigrateStoreArgs {
    /// The store to copy from: a data directory, or a `postgres://` URL.
    #[arg(long)]
    pub from: String,
    /// The store to copy into (the same forms). Best empty: a call id it already holds in
    /// another portal stops the copy; same-id calls of the same portal are replaced.
    #[arg(long)]
    pub to: String,
    /// PostgreSQL schema of the source, when it is a database.
    #[arg(long)]
    pub from_schema: Option<String>,
    /// PostgreSQL schema of the destination, when it is a database.
    #[arg(long)]
    pub to_schema: Option<String>,
}

/// A store named on the command line: a database URL or a data directory.
fn storage(location: &str, schema: Option<String>) -> Storage {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        let mut settings = PostgresSettings::new(location);
        settings.schema = schema;
        // One page at a time: a single connection is all the copy uses.
        settings.pool_size = 2;
        // Large pages and counts on big stores may take a while.
        settings.statement_timeout_ms = 600_000;
        Storage::Postgres(settings)
    } else {
        Storage::Directory(PathBuf::from(location))
    }
}

fn describe(storage: &Storage) -> String {
    match storage {
        Storage::Memory => "memory".to_owned(),
        Storage::Directory(dir) => dir.display().to_string(),
        Storage::Postgres(settings) => format!("PostgreSQL {}", settings.describe()),
    }
}

/// Runs the copy; returns the summary to print, or what went wrong.
pub fn run(args: MigrateStoreArgs) -> Result<String, String> {
    let from = storage(&args.from, args.from_schema);
    let to = storage(&args.to, args.to_schema);
    if from == to {
        return Err("--from and --to name the same store".to_owned());
    }
    if let Storage::Directory(dir) = &from {
        if !dir.join("hubcalls.sqlite3").is_file() {
            return Err(format!("{} holds no hubcalls database", dir.display()));
        }
    }
    let source = crate::open_store(&from, None).map_err(|e| format!("{}: {e}", describe(&from)))?;
    let destination =
        crate::open_store(&to, None).map_err(|e| format!("{}: {e}", describe(&to)))?;
    eprintln!("copying {} → {}", describe(&from), describe(&to));
    let mut last_report = std::time::Instant::now();
    let report = copy_store(
        source.as_ref(),
        destination.as_ref(),
        &mut |portal, copied| {
            if last_report.elapsed() >= std::time::Duration::from_secs(1) {
                eprintln!("  portal {portal}: {copied} records copied");
                last_report = std::time::Instant::now();
            }
        },
    )
    .map_err(|e| e.to_string())?;
    let mut summary = format!("copied {} portal(s), verified by counts:\n", report.len());
    let mut total = PortalCounts::default();
    for (portal, counts) in &report {
        summary.push_str(&format!(
            "  portal {portal}: {} live records, {} archived, {} history entries, {} associations, {} properties, {} groups\n",
            counts.live_calls,
            counts.archived_calls,
            counts.history_entries,
            counts.associations,
            counts.properties,
            counts.groups
        ));
        total.live_calls += counts.live_calls;
        total.archived_calls += counts.archived_calls;
    }
    summary.push_str(&format!(
        "  in all: {} records ({} archived)",
        total.live_calls + total.archived_calls,
        total.archived_calls
    ));
    Ok(summary)
}
