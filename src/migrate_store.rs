//! `hubcalls migrate-store`: copies every portal from one store to another (SQLite data
//! directory ↔ PostgreSQL), verified by counts. The copying itself is `crm::migration`.

use std::path::{Path, PathBuf};

use crate::config::{storage_of_file, PostgresSettings, Storage};
use crate::crm::migration::{copy_store, PortalCounts};

#[derive(Debug, clap::Args)]
pub struct MigrateStoreArgs {
    /// The store to copy from: a data directory, or a `postgres://` URL.
    #[arg(
        long,
        required_unless_present = "from_config",
        conflicts_with = "from_config"
    )]
    pub from: Option<String>,
    /// Or the store a configuration file names (its `data_dir` or `[postgres]` section;
    /// with `[[postgres.shards]]`, each portal is read from its shard).
    #[arg(long)]
    pub from_config: Option<PathBuf>,
    /// The store to copy into (the same forms). Best empty: a call id it already holds in
    /// another portal stops the copy; same-id calls of the same portal are replaced.
    #[arg(
        long,
        required_unless_present = "to_config",
        conflicts_with = "to_config"
    )]
    pub to: Option<String>,
    /// Or the store a configuration file names (with `[[postgres.shards]]`, each portal is
    /// written to the shard the file places it on).
    #[arg(long)]
    pub to_config: Option<PathBuf>,
    /// PostgreSQL schema of the source, when it is a database.
    #[arg(long)]
    pub from_schema: Option<String>,
    /// PostgreSQL schema of the destination, when it is a database.
    #[arg(long)]
    pub to_schema: Option<String>,
}

/// A store named on the command line: a database URL, a data directory, or a
/// configuration file's store.
fn storage(
    location: Option<&str>,
    schema: Option<String>,
    config: Option<&Path>,
) -> Result<Storage, String> {
    let storage = match (location, config) {
        (_, Some(path)) => storage_of_file(path).map_err(|e| e.to_string())?,
        (Some(location), None)
            if location.starts_with("postgres://") || location.starts_with("postgresql://") =>
        {
            let mut settings = PostgresSettings::new(location);
            settings.schema = schema;
            Storage::Postgres(settings)
        }
        (Some(location), None) => Storage::Directory(PathBuf::from(location)),
        (None, None) => return Err("name a store or a configuration file".to_owned()),
    };
    Ok(match storage {
        Storage::Postgres(settings) => Storage::Postgres(for_copying(settings)),
        Storage::Sharded(layout) => Storage::Sharded(layout.with_postgres(|settings| {
            *settings = for_copying(settings.clone());
        })),
        other => other,
    })
}

/// Connection settings of a copy: one page at a time needs a single connection, and large
/// pages and counts on big stores may take a while.
pub fn for_copying(mut settings: PostgresSettings) -> PostgresSettings {
    settings.pool_size = 2;
    settings.statement_timeout_ms = 600_000;
    settings
}

fn describe(storage: &Storage) -> String {
    match storage {
        Storage::Memory => "memory".to_owned(),
        Storage::Directory(dir) => dir.display().to_string(),
        Storage::Postgres(settings) => format!("PostgreSQL {}", settings.describe()),
        Storage::Sharded(layout) => format!("shards [{}]", layout.describe().join("; ")),
    }
}

/// Runs the copy; returns the summary to print, or what went wrong.
pub fn run(args: MigrateStoreArgs) -> Result<String, String> {
    let from = storage(
        args.from.as_deref(),
        args.from_schema,
        args.from_config.as_deref(),
    )?;
    let to = storage(
        args.to.as_deref(),
        args.to_schema,
        args.to_config.as_deref(),
    )?;
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
