//! Search benchmark: loads realistic calls into one portal of a file-backed SQLite store and
//! reports latency (p50, p99) and throughput of the search issue's workloads.
//!
//! ```sh
//! cargo bench --bench search                         # 10k and 100k calls
//! cargo bench --bench search -- 10000 100000 1000000 # chosen sizes
//! ```
//!
//! With `HUBCALLS_BENCH_DATABASE_URL=postgres://…` set, the same runs go to the PostgreSQL
//! store (a fresh schema per size, dropped afterwards) instead.
//!
//! Numbers are printed, never asserted. Runs go through `RecordService::search`, the code path
//! an HTTP search takes minus JSON encoding.

/// The server's allocator (see `src/main.rs`), so in-process numbers (load, start-up, RSS)
/// are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hubcalls::config::PostgresSettings;
use hubcalls::crm::ports::Store;
use hubcalls::crm::record::{PortalId, WriteSource};
use hubcalls::crm::records::{CreateRequest, RecordService};
use hubcalls::crm::search::{FilterSpec, SearchLimits, SearchRequest, SortSpec};
use hubcalls::store::{PostgresStore, SqliteStore};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PORTAL: PortalId = 1;
const BATCH: usize = 100;
/// 2025-01-01T00:00:00Z; calls spread over the following year.
const YEAR_START_MS: i64 = 1_735_689_600_000;
const YEAR_MS: i64 = 365 * 86_400_000;
const DAY_MS: i64 = 86_400_000;

const COMPANIES: [&str; 20] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Aperture",
    "Vandelay",
    "Gringotts",
    "Oscorp",
    "Pied Piper",
    "Massive Dynamic",
    "Monarch",
    "Dunder Mifflin",
    "Prestige",
];
const KINDS: [&str; 8] = [
    "Discovery call",
    "Follow-up",
    "Demo",
    "Renewal",
    "Support call",
    "Check-in",
    "Pricing discussion",
    "Onboarding",
];
const NOTES: [&str; 8] = [
    "Discussed pricing and the rollout timeline.",
    "Customer asked for a security review before signing.",
    "Left a voicemail, will try again tomorrow.",
    "Walked through the reporting dashboard.",
    "Agreed on next steps: send proposal by Friday.",
    "Escalated the integration issue to engineering.",
    "Budget approved for next quarter.",
    "Needs sign-off from procurement.",
];
const STATUSES: [&str; 5] = ["COMPLETED", "NO_ANSWER", "BUSY", "FAILED", "CANCELED"];
const DISPOSITIONS: [&str; 6] = [
    "9d9162e7-6cf3-4944-bf63-4dff82258764",
    "f240bbac-87c9-4f6e-bf70-924b57d47db7",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff",
    "b2cf5968-551e-4856-9783-52b3da59a7d0",
    "73a0d17f-1163-4015-bdd5-ec830791da20",
    "17b47fee-58de-441e-a44c-c6300d46f273",
];

fn realistic_call(rng: &mut StdRng) -> CreateRequest {
    let company = COMPANIES[rng.random_range(0..COMPANIES.len())];
    let kind = KINDS[rng.random_range(0..KINDS.len())];
    let note = NOTES[rng.random_range(0..NOTES.len())];
    let timestamp = YEAR_START_MS + rng.random_range(0..YEAR_MS);
    let properties = vec![
        ("hs_timestamp", timestamp.to_string()),
        ("hs_call_title", format!("{kind} with {company}")),
        ("hs_call_body", format!("<p>{note}</p>")),
        (
            "hs_call_direction",
            if rng.random_bool(0.5) {
                "OUTBOUND"
            } else {
                "INBOUND"
            }
            .to_owned(),
        ),
        (
            "hs_call_status",
            STATUSES[rng.random_range(0..STATUSES.len())].to_owned(),
        ),
        (
            "hs_call_disposition",
            DISPOSITIONS[rng.random_range(0..DISPOSITIONS.len())].to_owned(),
        ),
        (
            "hs_call_duration",
            rng.random_range(0..3_600_000u32).to_string(),
        ),
        (
            "hs_call_from_number",
            format!("+1555{:07}", rng.random_range(0..10_000_000u32)),
        ),
        (
            "hs_call_to_number",
            format!("+1555{:07}", rng.random_range(0..10_000_000u32)),
        ),
        ("hubspot_owner_id", rng.random_range(1..50u32).to_string()),
    ];
    CreateRequest {
        properties: properties
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        associations: Vec::new(),
        object_write_trace_id: None,
    }
}

fn filter(property: &str, operator: &str, value: &str) -> FilterSpec {
    FilterSpec {
        property_name: property.to_owned(),
        operator: operator.to_owned(),
        value: Some(value.to_owned()),
        ..FilterSpec::default()
    }
}

fn workloads() -> Vec<(&'static str, bool, SearchRequest)> {
    let day = YEAR_START_MS + 100 * DAY_MS;
    vec![
        (
            "EQ direction + sort hs_timestamp DESC, limit 100",
            false,
            SearchRequest {
                filter_groups: vec![vec![filter("hs_call_direction", "EQ", "OUTBOUND")]],
                sort: Some(SortSpec {
                    property_name: "hs_timestamp".to_owned(),
                    descending: true,
                }),
                limit: Some(100),
                ..SearchRequest::default()
            },
        ),
        (
            "hs_timestamp BETWEEN one day",
            true,
            SearchRequest {
                filter_groups: vec![vec![FilterSpec {
                    high_value: Some((day + DAY_MS - 1).to_string()),
                    ..filter("hs_timestamp", "BETWEEN", &day.to_string())
                }]],
                limit: Some(100),
                ..SearchRequest::default()
            },
        ),
        (
            "CONTAINS_TOKEN hs_call_title 'vandelay'",
            true,
            SearchRequest {
                filter_groups: vec![vec![filter("hs_call_title", "CONTAINS_TOKEN", "vandelay")]],
                limit: Some(100),
                ..SearchRequest::default()
            },
        ),
        (
            "query 'procurement'",
            false,
            SearchRequest {
                query: Some("procurement".to_owned()),
                limit: Some(100),
                ..SearchRequest::default()
            },
        ),
        (
            "3-group OR",
            false,
            SearchRequest {
                filter_groups: vec![
                    vec![
                        filter("hs_call_status", "EQ", "NO_ANSWER"),
                        filter("hs_call_duration", "LT", "60000"),
                    ],
                    vec![
                        filter("hs_call_disposition", "EQ", DISPOSITIONS[1]),
                        filter("hs_call_direction", "EQ", "INBOUND"),
                        filter("hs_call_title", "CONTAINS_TOKEN", "renewal"),
                    ],
                    vec![filter("hubspot_owner_id", "EQ", "7")],
                ],
                limit: Some(100),
                ..SearchRequest::default()
            },
        ),
        (
            "page to offset 9,900 (sorted by hs_timestamp)",
            false,
            SearchRequest {
                sort: Some(SortSpec {
                    property_name: "hs_timestamp".to_owned(),
                    descending: false,
                }),
                limit: Some(100),
                after: Some("9900".to_owned()),
                ..SearchRequest::default()
            },
        ),
    ]
}

/// Resident set size of this process, from `/proc/self/status` (0 where there is none).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    let engine = if database_url().is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("# hubcalls search benchmark ({engine} store, one portal)");
    for size in sizes {
        run(size);
    }
}

fn database_url() -> Option<String> {
    std::env::var("HUBCALLS_BENCH_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// The PostgreSQL store to measure (on a fresh schema, dropped afterwards), when
/// HUBCALLS_BENCH_DATABASE_URL is set.
fn open_postgres(size: usize) -> Option<(Arc<dyn Store>, String)> {
    let url = database_url()?;
    let schema = format!("hubcalls_bench_{size}_{}", std::process::id());
    let mut settings = PostgresSettings::new(url);
    settings.schema = Some(schema.clone());
    settings.statement_timeout_ms = 600_000;
    let store = PostgresStore::open(&settings).expect("store opens");
    Some((Arc::new(store), schema))
}

/// Bytes of a data directory's files.
fn directory_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn admin_client() -> Option<postgres::Client> {
    postgres::Client::connect(&database_url()?, postgres::NoTls).ok()
}

/// Bytes of a PostgreSQL schema's tables and indexes.
fn schema_bytes(schema: &str) -> u64 {
    let Some(mut client) = admin_client() else {
        return 0;
    };
    client
        .query_one(
            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            &[&schema],
        )
        .map(|row| row.get::<_, i64>(0) as u64)
        .unwrap_or(0)
}

/// Drops the benchmark's PostgreSQL schema when the run ends.
struct DropSchema(Option<String>);

impl Drop for DropSchema {
    fn drop(&mut self) {
        if let (Some(schema), Some(mut client)) = (&self.0, admin_client()) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

fn run(size: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let postgres = open_postgres(size);
    let sqlite = match postgres {
        Some(_) => None,
        None => Some(Arc::new(
            SqliteStore::open(dir.path()).expect("store opens"),
        )),
    };
    let (store, drop_schema): (Arc<dyn Store>, DropSchema) = match (&postgres, &sqlite) {
        (Some((store, schema)), _) => (store.clone(), DropSchema(Some(schema.clone()))),
        (None, Some(sqlite)) => (sqlite.clone(), DropSchema(None)),
        (None, None) => unreachable!("one store is always open"),
    };
    let service = RecordService::new(store, SearchLimits::default());
    let source = WriteSource::integration(1);
    let mut rng = StdRng::seed_from_u64(42);
    let started = Instant::now();
    let mut loaded = 0;
    while loaded < size {
        let batch: Vec<CreateRequest> = (0..BATCH.min(size - loaded))
            .map(|_| realistic_call(&mut rng))
            .collect();
        service
            .create_batch(
                hubcalls::crm::objects::Partition::calls(PORTAL),
                &source,
                &batch,
            )
            .expect("load batch");
        loaded += batch.len();
    }
    let load = started.elapsed();
    let db_bytes = match &drop_schema.0 {
        Some(schema) => schema_bytes(schema),
        None => directory_bytes(dir.path()),
    };
    println!(
        "\n## {size} calls: loaded in {:.1} s ({:.0} calls/s), {:.0} bytes on disk per call",
        load.as_secs_f64(),
        size as f64 / load.as_secs_f64(),
        db_bytes as f64 / size as f64
    );
    let service = match sqlite {
        Some(sqlite) => {
            println!(
                "in-memory index after load: {:.0} MiB estimated ({:.0} bytes per call); process RSS {:.0} MiB",
                sqlite.index_heap_bytes() as f64 / 1048576.0,
                sqlite.index_heap_bytes() as f64 / size as f64,
                rss_mib()
            );
            // Start-up: a clean shutdown saves the index; reopening reads it back. Then
            // the same without the saved index: rebuilt from the rows (after a crash).
            drop(service);
            let saving = Instant::now();
            drop(sqlite);
            println!(
                "shutdown with {size} calls (saves the search index): {:.2} s; saved index {:.0} MiB",
                saving.elapsed().as_secs_f64(),
                std::fs::metadata(dir.path().join("hubcalls.index"))
                    .map_or(0.0, |m| m.len() as f64 / 1048576.0)
            );
            let reopening = Instant::now();
            let store = SqliteStore::open(dir.path()).expect("store reopens");
            let opened = reopening.elapsed();
            store.wait_for_index().expect("index loads");
            println!(
                "start-up with {size} calls from the saved index: open (reads by id served) {:.2} s, searches and writes served after {:.2} s",
                opened.as_secs_f64(),
                reopening.elapsed().as_secs_f64(),
            );
            // A crash leaves no saved index: forget the store instead of dropping it, and
            // remove the file as a stale one would be ignored.
            std::mem::forget(store);
            std::fs::remove_file(dir.path().join("hubcalls.index")).expect("saved index");
            let reopening = Instant::now();
            let store = Arc::new(SqliteStore::open(dir.path()).expect("store reopens"));
            store.wait_for_index().expect("index builds");
            println!(
                "start-up with {size} calls without a saved index (after a crash): searches and writes served after {:.2} s (rebuilt from the rows)",
                reopening.elapsed().as_secs_f64(),
            );
            RecordService::new(store, SearchLimits::default())
        }
        None => service,
    };
    println!("| workload | total | p50 ms | p99 ms | searches/s |");
    println!("|---|---|---|---|---|");
    for (name, _selective, request) in workloads() {
        let runs = if size >= 1_000_000 { 30 } else { 60 };
        let mut samples = Vec::with_capacity(runs);
        let mut total = 0;
        // One warm-up run so the page cache holds what the query touches.
        service
            .search(
                hubcalls::crm::objects::Partition::calls(PORTAL),
                request.clone(),
            )
            .expect("search");
        let all = Instant::now();
        for _ in 0..runs {
            let t = Instant::now();
            let hits = service
                .search(
                    hubcalls::crm::objects::Partition::calls(PORTAL),
                    request.clone(),
                )
                .expect("search");
            samples.push(t.elapsed());
            total = hits.total;
        }
        let elapsed = all.elapsed();
        samples.sort();
        println!(
            "| {name} | {total} | {} | {} | {:.0} |",
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.99)),
            runs as f64 / elapsed.as_secs_f64()
        );
    }
}
