//! Keeps the planner's statistics and visibility maps of the index tables fresh while they
//! grow fast.
//!
//! Why: search plans depend on them. Right after a bulk load (a batch import, a test suite's
//! seeding, a benchmark) a table PostgreSQL has never analysed is estimated at a row or two,
//! so the planner joins every match one by one where it should walk the sort index and
//! stop after a page, and counts fetch every heap row because no page is marked all-visible
//! yet. Autovacuum repairs both, but only on its own round (a minute by default) and past
//! thresholds meant for slowly changing tables. A thread of each server checks every few
//! seconds how much each table grew or shrank since its last analysis, and vacuums and
//! analyses a table whose size changed by a tenth. `SKIP_LOCKED` makes a server pass over a
//! table another server (or autovacuum) is already working on. The thread has a connection
//! of its own, so a long vacuum delays nothing else.

use std::sync::{Arc, Weak};
use std::time::Duration;

use postgres::NoTls;

/// How often the tables' change counts are checked.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The tables search plans read; the others are small or read by key.
const TABLES: &[&str] = &["calls", "call_values", "call_associations"];

/// The thread keeping statistics fresh; it stops within [`CHECK_EVERY`] of being dropped.
pub(super) struct StatisticsKeeper {
    _alive: Arc<()>,
}

impl StatisticsKeeper {
    pub(super) fn start(config: postgres::Config) -> Self {
        let alive = Arc::new(());
        let watched = Arc::downgrade(&alive);
        let started = std::thread::Builder::new()
            .name("hubcalls-pg-stats".into())
            .spawn(move || keep(config, watched));
        if let Err(error) = started {
            // Autovacuum still does the work, later.
            tracing::warn!(%error, "cannot start the statistics keeper");
        }
        Self { _alive: alive }
    }
}

fn keep(config: postgres::Config, alive: Weak<()>) {
    let mut client = None;
    while alive.strong_count() > 0 {
        std::thread::sleep(CHECK_EVERY);
        if alive.strong_count() == 0 {
            return;
        }
        if client.is_none() {
            client = config.connect(NoTls).ok();
        }
        let Some(connection) = client.as_mut() else {
            continue;
        };
        if let Err(error) = refresh_stale_tables(connection) {
            tracing::debug!(%error, "refreshing planner statistics failed");
            client = None;
        }
    }
}

/// Vacuums and analyses every table of [`TABLES`] that grew or shrank by more than a tenth
/// (and a thousand rows) since the planner last counted its rows (`reltuples`, which
/// `VACUUM` and `ANALYZE` set; -1 before either ever ran). Updates that leave a table's size
/// alone are autovacuum's: counting them too (`n_mod_since_analyze`) had this thread
/// re-analyse `call_values` every few seconds under an update load, a tenth of
/// PostgreSQL's CPU (docs/performance.md, "Issue 16, fourth round").
fn refresh_stale_tables(client: &mut postgres::Client) -> Result<(), postgres::Error> {
    let stale = client.query(
        "SELECT s.relname::TEXT FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
         WHERE s.schemaname = current_schema() AND s.relname::TEXT = ANY($1)
         AND abs(s.n_live_tup - greatest(c.reltuples, 0)) > greatest(1000, c.reltuples / 10)",
        &[&TABLES],
    )?;
    for row in stale {
        let table: String = row.try_get(0)?;
        // Only names from TABLES come back: nothing from input reaches this statement.
        if TABLES.contains(&table.as_str()) {
            client.batch_execute(&format!("VACUUM (ANALYZE, SKIP_LOCKED) {table}"))?;
        }
    }
    Ok(())
}
