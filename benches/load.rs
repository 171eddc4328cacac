//! HTTP load benchmark: starts the release binary on a file-backed store (or uses
//! `--url`), drives each scenario at concurrency 1 and 32, and prints req/s, p50, p99,
//! errors and the server's RSS. Runs with errors are flagged, never counted as throughput.
//!
//! ```sh
//! cargo build --release
//! taskset -c 1 cargo bench --bench load                  # server pinned to core 0 by the bench
//! cargo bench --bench load -- --seconds 5 --seed-calls 100000
//! cargo bench --bench load -- --ceiling                  # also a minimal hyper server, for the ratio
//! cargo bench --bench load -- --only "single create"     # the scenarios whose name contains the text
//! HUBCALLS_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/test cargo bench --bench load  # PostgreSQL store
//! ```

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::call_body;
use serde_json::{json, Value};

const TOKEN: &str = "pat-load-benchmark";
const CONCURRENCIES: [usize; 2] = [1, 32];

struct Options {
    seconds: u64,
    seed_calls: usize,
    url: Option<String>,
    ceiling: bool,
    /// Only the scenarios whose name contains this text (for profiling one of them).
    only: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        seconds: 3,
        seed_calls: 100_000,
        url: None,
        ceiling: false,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => options.seconds = args.next().and_then(|v| v.parse().ok()).unwrap_or(3),
            "--seed-calls" => {
                options.seed_calls = args.next().and_then(|v| v.parse().ok()).unwrap_or(100_000)
            }
            "--url" => options.url = args.next(),
            "--ceiling" => options.ceiling = true,
            "--only" => options.only = args.next(),
            "--serve-ceiling" => {}
            _ => {}
        }
    }
    options
}

/// The server under test: a child process (pinned to core 0 when `taskset` exists).
struct Server {
    child: Option<Child>,
    base: String,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// The release binary on a fresh data directory.
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let binary = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/hubcalls");
        assert!(
            std::path::Path::new(binary).exists(),
            "build the server first: cargo build --release"
        );
        let mut args: Vec<String> = ["serve", "--listen", "127.0.0.1:0", "--token", TOKEN]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // HUBCALLS_BENCH_DATABASE_URL moves the server onto PostgreSQL (a fresh schema).
        match std::env::var("HUBCALLS_BENCH_DATABASE_URL") {
            Ok(url) if !url.is_empty() => args.extend([
                "--database-url".to_owned(),
                url,
                "--database-schema".to_owned(),
                format!("hubcalls_bench_load_{}", std::process::id()),
            ]),
            _ => args.extend(["--data-dir".to_owned(), dir.path().display().to_string()]),
        }
        let mut server = Self::spawn(binary, &args);
        server._dir = Some(dir);
        server
    }

    /// This benchmark binary serving the fixed body (see `serve_ceiling`), as a process of
    /// its own pinned like the server, so the ratio compares like with like.
    fn start_ceiling() -> Self {
        let me = std::env::current_exe().expect("own path");
        Self::spawn(&me.display().to_string(), &["--serve-ceiling".to_owned()])
    }

    fn spawn(binary: &str, args: &[String]) -> Self {
        let pinned = Command::new("taskset").arg("-V").output().is_ok();
        let mut command = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", binary]);
            c
        } else {
            Command::new(binary)
        };
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("banner").expect("line");
            if let Some(at) = line.find("listening on ") {
                break line[at + 13..].trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        println!(
            "server: {binary} on {base}{}",
            if pinned { " (pinned to core 0)" } else { "" }
        );
        Self {
            child: Some(child),
            base,
            _dir: None,
        }
    }

    fn rss_mib(&self) -> Option<f64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One request of a scenario: method, path, body.
type RequestFn = Arc<dyn Fn(usize) -> (reqwest::Method, String, Option<Value>) + Send + Sync>;

struct Outcome {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn drive(
    client: &reqwest::Client,
    base: &str,
    concurrency: usize,
    seconds: u64,
    request: RequestFn,
) -> Outcome {
    let counter = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = client.clone();
            let base = base.to_owned();
            let request = Arc::clone(&request);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let (method, path, body) = request(n);
                    let mut builder = client
                        .request(method, format!("{base}{path}"))
                        .bearer_auth(TOKEN);
                    if let Some(body) = body {
                        builder = builder.json(&body);
                    }
                    let t = Instant::now();
                    match builder.send().await {
                        Ok(response) => {
                            let ok = response.status().is_success();
                            let _ = response.bytes().await;
                            latencies.push(t.elapsed());
                            if !ok {
                                errors += 1;
                            }
                        }
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut outcome = Outcome {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for worker in workers {
        let (latencies, errors) = worker.await.expect("worker");
        outcome.requests += latencies.len();
        outcome.errors += errors;
        outcome.latencies.extend(latencies);
    }
    outcome.elapsed = started.elapsed();
    outcome.latencies.sort();
    outcome
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

async fn seed(client: &reqwest::Client, base: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    let started = Instant::now();
    for batch in 0..count.div_ceil(100) {
        let inputs: Vec<Value> = (0..100.min(count - batch * 100))
            .map(|i| call_body(batch * 100 + i))
            .collect();
        let body: Value = client
            .post(format!("{base}/crm/v3/objects/calls/batch/create"))
            .bearer_auth(TOKEN)
            .json(&json!({ "inputs": inputs }))
            .send()
            .await
            .expect("seed batch")
            .json()
            .await
            .expect("seed json");
        for result in body["results"].as_array().expect("results") {
            ids.push(result["id"].as_str().expect("id").to_owned());
        }
    }
    println!(
        "seeded {count} calls in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ids
}

fn scenarios(ids: Arc<Vec<String>>) -> Vec<(&'static str, usize, RequestFn)> {
    let get_ids = Arc::clone(&ids);
    let update_ids = Arc::clone(&ids);
    let read_ids = Arc::clone(&ids);
    let page_ids = Arc::clone(&ids);
    vec![
        (
            "single create",
            1,
            Arc::new(|n| {
                (
                    reqwest::Method::POST,
                    "/crm/v3/objects/calls".into(),
                    Some(call_body(n)),
                )
            }),
        ),
        (
            "get by id",
            1,
            Arc::new(move |n| {
                let id = &get_ids[n * 7919 % get_ids.len()];
                (
                    reqwest::Method::GET,
                    format!("/crm/v3/objects/calls/{id}?properties=hs_call_title"),
                    None,
                )
            }),
        ),
        (
            "update",
            1,
            Arc::new(move |n| {
                let id = &update_ids[n * 7919 % update_ids.len()];
                (
                    reqwest::Method::PATCH,
                    format!("/crm/v3/objects/calls/{id}"),
                    Some(json!({"properties": {"hs_call_title": format!("Renamed {n}")}})),
                )
            }),
        ),
        (
            "batch create of 100",
            100,
            Arc::new(|n| {
                let inputs: Vec<Value> = (0..100).map(|i| call_body(n * 100 + i)).collect();
                (
                    reqwest::Method::POST,
                    "/crm/v3/objects/calls/batch/create".into(),
                    Some(json!({ "inputs": inputs })),
                )
            }),
        ),
        (
            "batch read of 100",
            100,
            Arc::new(move |n| {
                let start = n * 100 % read_ids.len().saturating_sub(100).max(1);
                let inputs: Vec<Value> = read_ids[start..(start + 100).min(read_ids.len())]
                    .iter()
                    .map(|id| json!({"id": id}))
                    .collect();
                (
                    reqwest::Method::POST,
                    "/crm/v3/objects/calls/batch/read".into(),
                    Some(json!({"inputs": inputs, "properties": ["hs_call_title"]})),
                )
            }),
        ),
        (
            "list page of 100",
            100,
            Arc::new(move |n| {
                let after = &page_ids[n * 100 % page_ids.len()];
                (
                    reqwest::Method::GET,
                    format!("/crm/v3/objects/calls?limit=100&after={after}"),
                    None,
                )
            }),
        ),
        (
            "search EQ + sort, limit 100",
            1,
            Arc::new(|_| {
                (
                    reqwest::Method::POST,
                    "/crm/v3/objects/calls/search".into(),
                    Some(json!({
                        "filterGroups": [{"filters": [{"propertyName": "hs_call_direction", "operator": "EQ", "value": "OUTBOUND"}]}],
                        "sorts": [{"propertyName": "hs_timestamp", "direction": "DESCENDING"}],
                        "limit": 100
                    })),
                )
            }),
        ),
        (
            "search query, limit 10",
            1,
            Arc::new(|n| {
                (
                    reqwest::Method::POST,
                    "/crm/v3/objects/calls/search".into(),
                    Some(json!({"query": format!("{}", n % 1000)})),
                )
            }),
        ),
    ]
}

/// A minimal server returning a fixed 673-byte-like call body: the machine's ceiling.
/// Runs when this binary is started with `--serve-ceiling`.
fn serve_ceiling() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let body = serde_json::to_string(&json!({
            "id": "10000000001", "properties": {"hs_call_title": "Discovery call", "hs_timestamp": "2025-04-24T20:01:33Z",
            "hs_createdate": "2025-05-01T13:39:33.903Z", "hs_lastmodifieddate": "2025-05-01T13:39:33.903Z", "hs_object_id": "10000000001"},
            "createdAt": "2025-05-01T13:39:33.903Z", "updatedAt": "2025-05-01T13:39:33.903Z", "archived": false
        }))
        .expect("body");
        let app = axum::Router::new().fallback(move || {
            let body = body.clone();
            async move { body }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("listening on http://{}", listener.local_addr().expect("address"));
        let _ = axum::serve(listener, app).await;
    });
}

fn main() {
    if std::env::args().any(|a| a == "--serve-ceiling") {
        serve_ceiling();
        return;
    }
    let options = options();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        let server = match &options.url {
            Some(url) => Server {
                child: None,
                base: url.clone(),
                _dir: None,
            },
            None => Server::start(),
        };
        let ids = Arc::new(seed(&client, &server.base, options.seed_calls).await);
        println!(
            "\n| scenario | concurrency | req/s | calls/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|"
        );
        for (name, calls_per_request, request) in scenarios(Arc::clone(&ids)) {
            if options.only.as_deref().is_some_and(|only| !name.contains(only)) {
                continue;
            }
            for concurrency in CONCURRENCIES {
                let outcome = drive(
                    &client,
                    &server.base,
                    concurrency,
                    options.seconds,
                    Arc::clone(&request),
                )
                .await;
                let rate = outcome.requests as f64 / outcome.elapsed.as_secs_f64();
                let flagged = if outcome.errors > 0 { " (errors: not counted)" } else { "" };
                let (rate_text, calls_text) = if outcome.errors > 0 {
                    ("-".to_owned(), "-".to_owned())
                } else {
                    (
                        format!("{rate:.0}"),
                        format!("{:.0}", rate * calls_per_request as f64),
                    )
                };
                println!(
                    "| {name}{flagged} | {concurrency} | {rate_text} | {calls_text} | {:.2} | {:.2} | {} |",
                    percentile(&outcome.latencies, 0.5),
                    percentile(&outcome.latencies, 0.99),
                    outcome.errors
                );
            }
        }
        if let Some(rss) = server.rss_mib() {
            println!("\nserver RSS after the run: {rss:.0} MiB");
        }
        drop(server);
        if options.ceiling {
            let ceiling = Server::start_ceiling();
            for concurrency in CONCURRENCIES {
                let request: RequestFn =
                    Arc::new(|_| (reqwest::Method::GET, "/call".into(), None));
                let outcome =
                    drive(&client, &ceiling.base, concurrency, options.seconds, request).await;
                println!(
                    "ceiling (minimal server, fixed call body), concurrency {concurrency}: {:.0} req/s, p50 {:.2} ms",
                    outcome.requests as f64 / outcome.elapsed.as_secs_f64(),
                    percentile(&outcome.latencies, 0.5)
                );
            }
        }
    });
}
