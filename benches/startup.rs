//! Start-up benchmark: seeds calls into a file store through the release binary's batch API
//! and kills it right after (SIGKILL: the index saved while serving is behind, the journal
//! names what it misses), then times start-ups: after that crash, after clean shutdowns
//! (SIGTERM: the search index is saved), after one write and a crash, and without a saved
//! index (built from the rows). Each times the first answered get by id and the first
//! answered search (searches and writes wait for the index).
//!
//! ```sh
//! cargo build --release
//! cargo bench --bench startup                # 100,000 calls
//! cargo bench --bench startup -- 1000000     # chosen size
//! ```

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::call_body;
use serde_json::{json, Value};

const TOKEN: &str = "pat-startup-benchmark";

/// A running server and the address it printed.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the release binary on `dir`; returns once it printed its address.
    fn start(dir: &Path) -> Self {
        let binary = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/hubcalls");
        assert!(
            Path::new(binary).exists(),
            "build the server first: cargo build --release"
        );
        let mut child = Command::new(binary)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--token",
                TOKEN,
                "--data-dir",
            ])
            .arg(dir)
            .env("HUBCALLS_LOG", "hubcalls=info")
            .stdout(Stdio::piped())
            .stderr(log_file(dir))
            .spawn()
            .expect("server starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let base = loop {
            let line = lines.next().expect("banner").expect("line");
            if let Some(at) = line.find("listening on ") {
                break line[at + 13..].trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, base }
    }

    /// What the server logged about its search index (from where, how long).
    fn index_log(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("server.log"))
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("search index") || line.contains("saved index"))
            .map(str::to_owned)
            .collect()
    }

    fn rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    /// Stops the server with `signal` (`TERM` or `KILL`) and waits for it to exit.
    fn stop(mut self, signal: &str) -> Duration {
        let started = Instant::now();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
        self.child.wait().expect("server exits");
        started.elapsed()
    }
}

/// Seeds `count` calls; answers the id of one of them (ids are not contiguous: a batch that
/// gave up waiting for the writer runs again with new ones).
async fn seed(client: &reqwest::Client, base: &str, count: usize) -> String {
    let started = Instant::now();
    let mut some_id = None;
    let batches: Vec<usize> = (0..count.div_ceil(100)).collect();
    // Four batches in flight: the server's group commit takes them together.
    for chunk in batches.chunks(4) {
        let requests: Vec<_> = chunk
            .iter()
            .map(|batch| {
                let inputs: Vec<Value> = (batch * 100..((batch + 1) * 100).min(count))
                    .map(call_body)
                    .collect();
                tokio::spawn(
                    client
                        .post(format!("{base}/crm/v3/objects/calls/batch/create"))
                        .bearer_auth(TOKEN)
                        .json(&json!({ "inputs": inputs }))
                        .send(),
                )
            })
            .collect();
        for request in requests {
            let reply = request.await.expect("task").expect("seed batch");
            assert_eq!(reply.status(), 201);
            if some_id.is_none() {
                let body: Value = reply.json().await.expect("a batch answer");
                some_id = body["results"][0]["id"].as_str().map(str::to_owned);
            }
        }
    }
    println!(
        "seeded {count} calls in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    some_id.expect("a seeded call")
}

/// The server's log, `server.log` in its data directory (written afresh by each start).
fn log_file(dir: &Path) -> Stdio {
    std::fs::File::create(dir.join("server.log")).map_or(Stdio::null(), Stdio::from)
}

/// Polls `request` until it answers 200; returns when it did, from `since`.
async fn first_ok(since: Instant, request: impl Fn() -> reqwest::RequestBuilder) -> Duration {
    loop {
        if let Ok(reply) = request().send().await {
            if reply.status() == 200 {
                return since.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Starts the server on `dir` and times its first get by id and first search.
async fn time_start(client: &reqwest::Client, dir: &Path, id: &str, case: &str) -> Server {
    let started = Instant::now();
    let server = Server::start(dir);
    let listening = started.elapsed();
    let base = server.base.clone();
    let get = first_ok(started, || {
        client
            .get(format!("{base}/crm/v3/objects/calls/{id}"))
            .bearer_auth(TOKEN)
    })
    .await;
    let search = first_ok(started, || {
        client
            .post(format!("{base}/crm/v3/objects/calls/search"))
            .bearer_auth(TOKEN)
            .json(&json!({"query": "discovery", "limit": 1}))
    })
    .await;
    println!(
        "| {case} | {:.2} | {:.2} | {:.2} | {:.0} |",
        listening.as_secs_f64(),
        get.as_secs_f64(),
        search.as_secs_f64(),
        server.rss_mib()
    );
    for line in Server::index_log(dir) {
        eprintln!("    {line}");
    }
    server
}

fn main() {
    let size: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .expect("client");
        let server = Server::start(dir.path());
        let id = seed(&client, &server.base, size).await;
        // A crash right after the load: the index saved while serving is behind by what was
        // written since its last save, which the journal names.
        let index_file = dir.path().join("hubcalls.index");
        let saved = std::fs::metadata(&index_file).map_or(0.0, |m| m.len() as f64 / 1048576.0);
        server.stop("KILL");
        println!("killed right after the load; the index saved while serving: {saved:.0} MiB");
        for line in Server::index_log(dir.path()) {
            eprintln!("    {line}");
        }
        println!("\n| start-up with {size} calls | listening s | first get by id s | first search s | RSS MiB |");
        println!("|---|---|---|---|---|");
        let server = time_start(&client, dir.path(), &id, "after a crash during the load (saved index + journal)").await;
        let shutdown = server.stop("TERM");
        println!(
            "clean shutdown (saves the search index): {:.2} s; saved index {:.0} MiB",
            shutdown.as_secs_f64(),
            std::fs::metadata(&index_file).map_or(0.0, |m| m.len() as f64 / 1048576.0)
        );
        for run in 1..=3 {
            let server = time_start(&client, dir.path(), &id, &format!("after a clean shutdown, run {run}")).await;
            server.stop("TERM");
        }
        // A write, then a crash: the saved index is behind by one write.
        let server = Server::start(dir.path());
        let reply = client
            .post(format!("{}/crm/v3/objects/calls", server.base))
            .bearer_auth(TOKEN)
            .json(&call_body(size))
            .send()
            .await
            .expect("create");
        assert_eq!(reply.status(), 201);
        server.stop("KILL");
        let server = time_start(&client, dir.path(), &id, "after a write and a crash (saved index + journal)").await;
        server.stop("KILL");
        // No saved index at all (lost, or written by another version): built from the rows.
        std::fs::remove_file(&index_file).expect("the saved index is there");
        let server = time_start(&client, dir.path(), &id, "without a saved index (built from the rows)").await;
        server.stop("TERM");
    });
}
