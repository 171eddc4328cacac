//! `hubcalls move-portal`: moves one portal from its shard to another, verified by counts,
//! and only then removes it from the source. The moving itself is `crm::migration`; this
//! checks the request against the configuration's shards and opens the two it needs.
//!
//! Servers must not write the portal meanwhile: the configuration they run with lists it in
//! `moving_portals` (they refuse its requests), or they are stopped (`--offline`). The
//! procedure is in docs/deploy.md.

use std::path::PathBuf;

use crate::config::{storage_of_file, Storage};
use crate::crm::migration::{move_portal, MoveOutcome, PortalCounts};
use crate::crm::record::PortalId;
use crate::migrate_store::for_copying;
use crate::store::sharded::open_shard;

#[derive(Debug, clap::Args)]
pub struct MovePortalArgs {
    /// The configuration file that declares the shards (`[[postgres.shards]]`).
    #[arg(long, env = "HUBCALLS_CONFIG")]
    pub config: PathBuf,
    /// The portal to move.
    #[arg(long)]
    pub portal: PortalId,
    /// The shard to move it to, by name.
    #[arg(long)]
    pub to: String,
    /// The shard it is on now (default: where the configuration places it).
    #[arg(long)]
    pub from: Option<String>,
    /// Every server is stopped, so the portal need not be in `moving_portals`.
    #[arg(long)]
    pub offline: bool,
}

/// Runs the move; returns the summary to print, or what went wrong.
pub fn run(args: MovePortalArgs) -> Result<String, String> {
    let Storage::Sharded(layout) = storage_of_file(&args.config).map_err(|e| e.to_string())? else {
        return Err(format!(
            "{} declares no shards ([[postgres.shards]])",
            args.config.display()
        ));
    };
    let portal = args.portal;
    let shard_named = |name: &str| {
        layout
            .index_of(name)
            .map(|index| &layout.shards()[index])
            .ok_or_else(|| format!("{} declares no shard {name:?}", args.config.display()))
    };
    let to = shard_named(&args.to)?;
    let from = match &args.from {
        Some(name) => shard_named(name)?,
        None => &layout.shards()[layout.shard_of(portal)],
    };
    if from.name == to.name {
        return Err(format!(
            "portal {portal} would move from shard {} to itself{}",
            to.name,
            if args.from.is_none() {
                " (the configuration places it there already: name its shard with --from)"
            } else {
                ""
            }
        ));
    }
    if !args.offline && !layout.is_moving(portal) {
        return Err(format!(
            "portal {portal} is not in moving_portals of {}: servers could write it during the \
             move. List it there and restart the servers first (docs/deploy.md), or pass \
             --offline when every server is stopped",
            args.config.display()
        ));
    }
    let open = |shard: &crate::store::sharded::ShardSettings| {
        let mut settings = shard.clone();
        settings.postgres = for_copying(settings.postgres);
        open_shard(&settings).map_err(|e| e.to_string())
    };
    let source = open(from)?;
    let destination = open(to)?;
    eprintln!(
        "moving portal {portal}: shard {} → shard {}",
        from.name, to.name
    );
    let mut last_report = std::time::Instant::now();
    let outcome = move_portal(&source, &destination, portal, &mut |copied| {
        if last_report.elapsed() >= std::time::Duration::from_secs(1) {
            eprintln!("  {copied} records copied");
            last_report = std::time::Instant::now();
        }
    })
    .map_err(|e| e.to_string())?;
    let next_step = format!(
        "next: place portal {portal} on shard {} (its `portals`) and take it out of \
         moving_portals, then restart the servers",
        to.name
    );
    Ok(match outcome {
        MoveOutcome::Moved(counts) => format!(
            "moved portal {portal} from shard {} to shard {}, verified by counts: {}; \
             shard {} holds nothing of it now\n{next_step}",
            from.name,
            to.name,
            describe(&counts),
            from.name
        ),
        MoveOutcome::AlreadyMoved(counts) => format!(
            "portal {portal} is on shard {} already ({}) and shard {} holds nothing of it: \
             nothing to do\n{next_step}",
            to.name,
            describe(&counts),
            from.name
        ),
    })
}

fn describe(counts: &PortalCounts) -> String {
    format!(
        "{} live records, {} archived, {} history entries, {} associations, {} properties, \
         {} groups, {} pipelines",
        counts.live_calls,
        counts.archived_calls,
        counts.history_entries,
        counts.associations,
        counts.properties,
        counts.groups,
        counts.pipelines
    )
}
