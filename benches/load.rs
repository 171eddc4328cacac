//! HTTP load benchmark, driven by **wrk** (`apt-get install -y wrk`; the bench stops with a
//! message if it is missing), so that its numbers compare with those of the harness hubcalls is
//! judged by (`../shared/perf`): the same workloads W1..W6 with the same body shapes (the
//! project's own Lua scripts in `benches/wrk/`), the server on core 0 and wrk on core 1 with one
//! thread (`taskset`), concurrency 32, 10,000 calls seeded through batch/create, and a minimal
//! hyper server next to it (this binary with `--serve-ceiling`) answering every route with a
//! fixed call body: `ceiling` (one call per collection) and `ceiling-r100` (100 per collection,
//! ~68 KB). W3, W4 and W5 are compared with `ceiling-r100`, the others with `ceiling`.
//!
//! As `../shared/perf/compare.sh`: every server first gets a warm-up run of each of its
//! workloads, then each repetition runs W2 W4 W5 W6 W1 W3 (reads first: W1 and W3 grow the
//! store, the warm-up included) with the servers' order rotated from one repetition to the
//! next. It prints a markdown table of the medians of the repetitions: req/s, unit/s, p50, p99,
//! non-2xx responses, socket errors, and the ratio of the server's req/s to the ceiling's.
//!
//! ```sh
//! apt-get install -y wrk
//! cargo build --release
//! cargo bench --bench load                                   # W1..W6, 2 x 8 s each, 10k seeded calls
//! cargo bench --bench load -- --seconds 10 --reps 3 --seed-calls 100000
//! cargo bench --bench load -- --only W4                      # the workloads whose name contains the text
//! cargo bench --bench load -- --url http://127.0.0.1:8080    # a server started elsewhere (token below)
//! cargo bench --bench load -- --no-ceiling                   # without the ceiling servers (no ratio)
//! HUBCALLS_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/test cargo bench --bench load  # PostgreSQL store
//! ```
//!
//! Other options: `--warmup SECONDS` (default 3, 0 for none). `--ceiling` is accepted for old
//! command lines (the ceiling runs unless `--no-ceiling`). Without `taskset` nothing is pinned
//! (the table says so).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

#[path = "load/ceiling.rs"]
mod ceiling;

const TOKEN: &str = "pat-load-benchmark";
/// Open connections of every run, as the harness's comparison run.
const CONCURRENCY: usize = 32;
/// Where the servers and wrk run when `taskset` exists (the harness's `pinned` mode).
const SERVER_CPU: &str = "0";
const WRK_CPU: &str = "1";
/// Inputs of one W3 request and of one seeding request.
const BATCH: usize = 100;

struct Options {
    seconds: u64,
    reps: usize,
    warmup: u64,
    seed_calls: usize,
    url: Option<String>,
    ceiling: bool,
    /// Only the workloads whose name contains this text (for profiling one of them).
    only: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        seconds: 8,
        reps: 2,
        warmup: 3,
        seed_calls: 10_000,
        url: None,
        ceiling: true,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |default| args.next().and_then(|v| v.parse().ok()).unwrap_or(default);
        match arg.as_str() {
            "--seconds" => options.seconds = number(8).max(1),
            "--reps" => options.reps = number(2).max(1) as usize,
            "--warmup" => options.warmup = number(3),
            "--seed-calls" => options.seed_calls = number(10_000).max(1) as usize,
            "--url" => options.url = args.next(),
            "--only" => options.only = args.next(),
            "--no-ceiling" => options.ceiling = false,
            // `--ceiling` (the ceiling runs by default now), and the `--bench` cargo passes.
            _ => {}
        }
    }
    options
}

/// What a workload's unit/s counts.
#[derive(Clone, Copy)]
enum Unit {
    /// One per 2xx response.
    Requests,
    /// `BATCH` calls per 2xx response.
    Batches,
    /// The objects counted in the responses' bodies (the script counts them).
    Objects,
}

struct Workload {
    name: &'static str,
    script: &'static str,
    unit_name: &'static str,
    unit: Unit,
    /// Compared with `ceiling-r100` (collections of 100), not `ceiling`.
    collection: bool,
}

/// The harness's workloads, in table order.
const WORKLOADS: [Workload; 6] = [
    Workload {
        name: "W1 create",
        script: "w1_create.lua",
        unit_name: "calls",
        unit: Unit::Requests,
        collection: false,
    },
    Workload {
        name: "W2 get",
        script: "w2_get.lua",
        unit_name: "gets",
        unit: Unit::Requests,
        collection: false,
    },
    Workload {
        name: "W3 batch create",
        script: "w3_batch_create.lua",
        unit_name: "calls",
        unit: Unit::Batches,
        collection: true,
    },
    Workload {
        name: "W4 search",
        script: "w4_search.lua",
        unit_name: "searches",
        unit: Unit::Requests,
        collection: true,
    },
    Workload {
        name: "W5 list",
        script: "w5_list.lua",
        unit_name: "objects",
        unit: Unit::Objects,
        collection: true,
    },
    Workload {
        name: "W6 update",
        script: "w6_update.lua",
        unit_name: "updates",
        unit: Unit::Requests,
        collection: false,
    },
];

/// Indexes into `WORKLOADS` in the order a repetition runs them: reads first, as the harness,
/// since creates grow the store the reads run on.
const RUN_ORDER: [usize; 6] = [1, 3, 4, 5, 0, 2];

/// A server the workloads run against: a child process (pinned to core 0 when `taskset`
/// exists), or a server at `--url`.
struct Server {
    child: Option<Child>,
    base: String,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// The release binary on a fresh data directory.
    fn start(pinned: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let binary = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/hubcalls");
        assert!(
            Path::new(binary).exists(),
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
        let mut server = Self::spawn(binary, &args, pinned);
        server._dir = Some(dir);
        server
    }

    /// This benchmark binary serving fixed bodies with `per_collection` calls in collections
    /// (see `serve_ceiling`), as a process of its own pinned like the server, so the ratio
    /// compares like with like.
    fn start_ceiling(per_collection: usize, pinned: bool) -> Self {
        let me = std::env::current_exe().expect("own path");
        let args = ["--serve-ceiling".to_owned(), per_collection.to_string()];
        Self::spawn(&me.display().to_string(), &args, pinned)
    }

    fn spawn(binary: &str, args: &[String], pinned: bool) -> Self {
        let mut command = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", SERVER_CPU, binary]);
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

/// A seeded call's properties, shaped as the harness seeds them (`perfctl.py seed`): a
/// ~190-character body, timestamps spread over a year, half inbound and half outbound.
fn seeded_call(n: usize, tag: &str) -> Value {
    const STATUSES: [&str; 6] = [
        "COMPLETED",
        "NO_ANSWER",
        "BUSY",
        "FAILED",
        "COMPLETED",
        "COMPLETED",
    ];
    let at =
        time::OffsetDateTime::from_unix_timestamp(1_700_000_000 + (n as i64 * 37) % 31_536_000)
            .expect("a timestamp in range");
    let timestamp = at
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
        ))
        .expect("format");
    json!({"properties": {
        "hs_timestamp": timestamp,
        "hs_call_title": format!("Seeded call {tag}-{n} with ACME procurement"),
        "hs_call_body": format!("Spoke with the customer about renewal timeline and pricing for the \
            enterprise tier. Agreed next steps: send recap, schedule a follow-up demo, loop in \
            finance. Ref {tag}-{n}; notes logged by the rep."),
        "hs_call_duration": ((n * 7919) % 3_600_000).to_string(),
        "hs_call_direction": if n.is_multiple_of(2) { "INBOUND" } else { "OUTBOUND" },
        "hs_call_status": STATUSES[n % STATUSES.len()],
    }, "associations": []})
}

/// Creates `count` calls through batch/create, one request after the other, and writes the
/// ids that come back to `ids` (a ceiling hands back the same id each time: fine for W2/W6).
async fn seed(base: &str, count: usize, ids: &Path) {
    let client = reqwest::Client::new();
    let tag = format!("s{}", unix_seconds());
    let mut file = std::io::BufWriter::new(std::fs::File::create(ids).expect("ids file"));
    let started = Instant::now();
    for start in (0..count).step_by(BATCH) {
        let inputs: Vec<Value> = (start..(start + BATCH).min(count))
            .map(|n| seeded_call(n, &tag))
            .collect();
        let response = client
            .post(format!("{base}/crm/v3/objects/calls/batch/create"))
            .bearer_auth(TOKEN)
            .json(&json!({ "inputs": inputs }))
            .send()
            .await
            .expect("seeding request");
        let status = response.status();
        assert!(status.is_success(), "seeding {base}: {status}");
        let body: Value = response.json().await.expect("seeding response");
        for result in body["results"].as_array().expect("results") {
            writeln!(file, "{}", result["id"].as_str().expect("id")).expect("write id");
        }
    }
    file.flush().expect("write ids");
    println!(
        "seeded {count} calls into {base} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What one wrk run measured.
struct Run {
    rps: f64,
    unit_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    socket_errors: u64,
    /// 2xx responses (what grows the store in W1 and W3).
    ok_requests: u64,
}

/// One wrk run of `workload` against `base`, at `CONCURRENCY`, from core 1 when pinned.
fn run_wrk(
    base: &str,
    ids: &Path,
    workload: &Workload,
    seconds: u64,
    pinned: bool,
) -> Result<Run, String> {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/wrk");
    let threads = if pinned {
        1
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get().min(CONCURRENCY))
    };
    let mut command = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", WRK_CPU, "wrk"]);
        c
    } else {
        Command::new("wrk")
    };
    let run_tag = format!(
        "r{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
    );
    let output = command
        .arg(format!("-t{threads}"))
        .arg(format!("-c{CONCURRENCY}"))
        .arg(format!("-d{seconds}s"))
        .args(["--timeout", "10s", "-s"])
        .arg(scripts.join(workload.script))
        .arg(base)
        .env("TOKEN", TOKEN)
        .env("IDS_FILE", ids)
        .env("RUN_TAG", run_tag)
        .env("WRK_LUA_DIR", &scripts)
        .output()
        .map_err(|e| format!("wrk did not start: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout
        .lines()
        .find_map(|l| l.strip_prefix("HUBCALLS_WRK_RESULT "))
    else {
        return Err(format!(
            "wrk printed no result ({}): {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    };
    let result: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
    let number = |key: &str| result[key].as_f64().unwrap_or(0.0);
    let seconds = number("seconds").max(f64::MIN_POSITIVE);
    let requests = number("requests");
    let non_2xx = number("non_2xx");
    let ok_per_s = (requests - non_2xx).max(0.0) / seconds;
    Ok(Run {
        rps: requests / seconds,
        unit_per_s: match workload.unit {
            Unit::Requests => ok_per_s,
            Unit::Batches => ok_per_s * BATCH as f64,
            Unit::Objects => number("objects") / seconds,
        },
        p50_ms: number("p50_ms"),
        p99_ms: number("p99_ms"),
        non_2xx: non_2xx as u64,
        socket_errors: number("socket_errors") as u64,
        ok_requests: (requests - non_2xx).max(0.0) as u64,
    })
}

/// A server the bench measures, with its seeded ids, its workloads and its runs.
struct Target {
    label: &'static str,
    server: Server,
    ids: PathBuf,
    /// Indexes into `WORKLOADS`.
    workloads: Vec<usize>,
    /// `runs[w]`: the measured runs of `WORKLOADS[w]`.
    runs: Vec<Vec<Run>>,
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < -0.5 {
        out.insert(0, '-');
    }
    out
}

fn print_table(targets: &[Target], options: &Options, pinned: bool) {
    let placement = if pinned {
        format!("servers on core {SERVER_CPU}, wrk on core {WRK_CPU} with 1 thread")
    } else {
        "nothing pinned (no taskset)".to_owned()
    };
    let when = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    println!(
        "\n### wrk, medians of {} x {} s at concurrency {CONCURRENCY}, {} seeded calls, {placement}, {when}\n",
        options.reps, options.seconds, options.seed_calls
    );
    println!(
        "| workload | server | req/s | unit/s | p50 ms | p99 ms | non-2xx | socket errors | ratio to ceiling | req/s of each rep |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let median_rps = |label: &str, w: usize| {
        targets
            .iter()
            .find(|t| t.label == label && !t.runs[w].is_empty())
            .map(|t| median(t.runs[w].iter().map(|r| r.rps).collect()))
    };
    for (w, workload) in WORKLOADS.iter().enumerate() {
        for target in targets.iter().filter(|t| !t.runs[w].is_empty()) {
            let runs = &target.runs[w];
            let of = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
            let rps = of(|r| r.rps);
            let ratio = if target.label == "hubcalls" {
                let ceiling = if workload.collection {
                    "ceiling-r100"
                } else {
                    "ceiling"
                };
                median_rps(ceiling, w).map_or("–".to_owned(), |c| {
                    format!("{:.3} (vs {ceiling})", rps / c)
                })
            } else {
                String::new()
            };
            let reps: Vec<String> = runs.iter().map(|r| thousands(r.rps)).collect();
            println!(
                "| {} | {} | {} | {} {}/s | {:.2} | {:.2} | {} | {} | {ratio} | {} |",
                workload.name,
                target.label,
                thousands(rps),
                thousands(of(|r| r.unit_per_s)),
                workload.unit_name,
                of(|r| r.p50_ms),
                of(|r| r.p99_ms),
                runs.iter().map(|r| r.non_2xx).sum::<u64>(),
                runs.iter().map(|r| r.socket_errors).sum::<u64>(),
                reps.join(", "),
            );
        }
    }
    println!(
        "\nnon-2xx and socket errors: totals over the repetitions (a run with any is not clean: \
         its unit/s counts 2xx responses only). Ratio: the server's median req/s over the \
         ceiling's, measured in the same run."
    );
}

fn wrk_installed() -> bool {
    Command::new("wrk")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--serve-ceiling") {
        let per_collection = args.get(at + 1).and_then(|v| v.parse().ok()).unwrap_or(1);
        ceiling::serve_ceiling(per_collection);
        return;
    }
    if !wrk_installed() {
        eprintln!(
            "This benchmark drives the server with wrk, which is not installed (or not on PATH).\n\
             Install it with: apt-get install -y wrk"
        );
        std::process::exit(2);
    }
    let options = options();
    let pinned = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    let chosen: Vec<usize> = (0..WORKLOADS.len())
        .filter(|&w| {
            options
                .only
                .as_deref()
                .is_none_or(|only| WORKLOADS[w].name.contains(only))
        })
        .collect();
    if chosen.is_empty() {
        eprintln!("no workload's name contains {:?}", options.only);
        std::process::exit(2);
    }
    let ids_dir = tempfile::tempdir().expect("temp dir");
    let seeding = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let server = match &options.url {
        Some(url) => Server {
            child: None,
            base: url.trim_end_matches('/').to_owned(),
            _dir: None,
        },
        None => Server::start(pinned),
    };
    println!(
        "hubcalls: {}{}",
        server.base,
        match (&options.url, pinned) {
            (Some(_), _) => " (started elsewhere, not pinned by the bench)",
            (None, true) => " (pinned to core 0)",
            (None, false) => "",
        }
    );
    let mut targets = vec![Target {
        label: "hubcalls",
        server,
        ids: ids_dir.path().join("hubcalls"),
        workloads: chosen.clone(),
        runs: Vec::new(),
    }];
    if options.ceiling {
        for (label, per_collection, collection) in
            [("ceiling", 1, false), ("ceiling-r100", 100, true)]
        {
            let workloads: Vec<usize> = chosen
                .iter()
                .copied()
                .filter(|&w| WORKLOADS[w].collection == collection)
                .collect();
            if workloads.is_empty() {
                continue;
            }
            let server = Server::start_ceiling(per_collection, pinned);
            println!("{label}: {}", server.base);
            targets.push(Target {
                label,
                server,
                ids: ids_dir.path().join(label),
                workloads,
                runs: Vec::new(),
            });
        }
    }
    for target in &mut targets {
        let count = if target.label == "hubcalls" {
            options.seed_calls
        } else {
            BATCH
        };
        seeding.block_on(seed(&target.server.base, count, &target.ids));
        target.runs = WORKLOADS.iter().map(|_| Vec::new()).collect();
    }

    let mut created = 0;
    let mut measure = |target: &Target, w: usize, seconds: u64| -> Option<Run> {
        match run_wrk(
            &target.server.base,
            &target.ids,
            &WORKLOADS[w],
            seconds,
            pinned,
        ) {
            Ok(run) => {
                if target.label == "hubcalls" {
                    created += match WORKLOADS[w].unit {
                        Unit::Batches => run.ok_requests * BATCH as u64,
                        _ if w == 0 => run.ok_requests,
                        _ => 0,
                    };
                }
                Some(run)
            }
            Err(error) => {
                eprintln!("  !! {} {}: {error}", target.label, WORKLOADS[w].name);
                None
            }
        }
    };
    if options.warmup > 0 {
        println!(
            "warm-up: {} s of each workload on each server",
            options.warmup
        );
        for target in &targets {
            for &w in &target.workloads {
                measure(target, w, options.warmup);
            }
        }
    }
    for rep in 0..options.reps {
        println!("repetition {} of {}", rep + 1, options.reps);
        for w in RUN_ORDER {
            for k in 0..targets.len() {
                // Rotated, so no server always runs first.
                let t = (k + rep) % targets.len();
                if !targets[t].workloads.contains(&w) {
                    continue;
                }
                if let Some(run) = measure(&targets[t], w, options.seconds) {
                    println!(
                        "  {:<12} {:<15} {:>9} req/s  p50 {:.2} ms  p99 {:.2} ms  non-2xx {}  socket errors {}",
                        targets[t].label,
                        WORKLOADS[w].name,
                        thousands(run.rps),
                        run.p50_ms,
                        run.p99_ms,
                        run.non_2xx,
                        run.socket_errors
                    );
                    targets[t].runs[w].push(run);
                }
            }
        }
    }
    print_table(&targets, &options, pinned);
    if options.url.is_none() {
        println!(
            "hubcalls stored about {} calls at the end ({} seeded, {created} created by W1/W3 \
             and their warm-ups).",
            thousands((options.seed_calls as u64 + created) as f64),
            options.seed_calls
        );
    }
    if let Some(rss) = targets[0].server.rss_mib() {
        println!("hubcalls RSS after the run: {rss:.0} MiB");
    }
}
