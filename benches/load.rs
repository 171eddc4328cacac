//! HTTP load benchmark, driven by **wrk** (`apt-get install -y wrk`; the bench stops with a
//! message if it is missing), so that its numbers compare with those of the harness hubcalls is
//! judged by (`../shared/perf`): the same workloads W1..W6 with the same body shapes (the
//! project's own Lua scripts in `benches/wrk/`), the server on core 0 and wrk on core 1 with one
//! thread (`taskset`), concurrency 32, 10,000 calls seeded through batch/create, and a minimal
//! hyper server next to it (this binary with `--serve-ceiling`) answering every route with a
//! fixed call body: `ceiling` (one call per collection) and `ceiling-r100` (100 per collection,
//! ~68 KB). W3, W4 and W5 are compared with `ceiling-r100`, the others with `ceiling`.
//!
//! `--object-type T` runs the same six workloads against `/crm/v3/objects/T` instead, with
//! bodies a real integration writes to that type (`benches/wrk/objects.lua`, seeds in
//! `load/objects.rs`); `all` runs every type in turn, each on a fresh server with its own
//! ceilings. The ceilings answer with the call body whatever the type.
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
//! cargo bench --bench load -- --object-type contacts         # or companies, deals, ..., all
//! cargo bench --bench load -- --url http://127.0.0.1:8080    # a server started elsewhere (token below)
//! cargo bench --bench load -- --no-ceiling                   # without the ceiling servers (no ratio)
//! HUBCALLS_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/test cargo bench --bench load  # PostgreSQL store
//! ```
//!
//! Other options: `--warmup SECONDS` (default 3, 0 for none); `--seed-calls N` seeds N objects
//! of whichever type. `--ceiling` is accepted for old command lines (the ceiling runs unless
//! `--no-ceiling`). Without `taskset` nothing is pinned (the table says so).
//!
//! Any non-2xx answer, socket error or failed wrk run, warm-ups included, is printed when it
//! happens (with the first such answer's status and body) and makes the bench exit with status
//! 1 after the table: a run that is not clean measures something else.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use report::{print_table, thousands};

#[path = "load/ceiling.rs"]
mod ceiling;
#[path = "load/objects.rs"]
mod objects;
#[path = "load/report.rs"]
mod report;

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
    /// The object types the workloads run against, in turn (plural names).
    object_types: Vec<&'static str>,
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
        object_types: vec!["calls"],
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
            "--object-type" => {
                match objects::parse_object_types(args.next().as_deref().unwrap_or("")) {
                    Ok(types) => options.object_types = types,
                    Err(message) => {
                        eprintln!("{message}");
                        std::process::exit(2);
                    }
                }
            }
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
    /// What unit/s counts; `None`: the objects created, named by their type.
    unit_name: Option<&'static str>,
    unit: Unit,
    /// Compared with `ceiling-r100` (collections of 100), not `ceiling`.
    collection: bool,
}

/// The harness's workloads, in table order.
const WORKLOADS: [Workload; 6] = [
    Workload {
        name: "W1 create",
        script: "w1_create.lua",
        unit_name: None,
        unit: Unit::Requests,
        collection: false,
    },
    Workload {
        name: "W2 get",
        script: "w2_get.lua",
        unit_name: Some("gets"),
        unit: Unit::Requests,
        collection: false,
    },
    Workload {
        name: "W3 batch create",
        script: "w3_batch_create.lua",
        unit_name: None,
        unit: Unit::Batches,
        collection: true,
    },
    Workload {
        name: "W4 search",
        script: "w4_search.lua",
        unit_name: Some("searches"),
        unit: Unit::Requests,
        collection: true,
    },
    Workload {
        name: "W5 list",
        script: "w5_list.lua",
        unit_name: Some("objects"),
        unit: Unit::Objects,
        collection: true,
    },
    Workload {
        name: "W6 update",
        script: "w6_update.lua",
        unit_name: Some("updates"),
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

/// Creates `count` objects of `object_type` through batch/create, one request after the other,
/// and writes the ids that come back to `ids` (a ceiling hands back the same id each time: fine
/// for W2/W6).
async fn seed(base: &str, object_type: &str, count: usize, ids: &Path) {
    let client = reqwest::Client::new();
    let tag = format!("s{}", unix_seconds());
    let mut file = std::io::BufWriter::new(std::fs::File::create(ids).expect("ids file"));
    let started = Instant::now();
    for start in (0..count).step_by(BATCH) {
        let inputs: Vec<Value> = (start..(start + BATCH).min(count))
            .map(|n| objects::seeded_object(object_type, n, &tag))
            .collect();
        let response = client
            .post(format!("{base}/crm/v3/objects/{object_type}/batch/create"))
            .bearer_auth(TOKEN)
            .json(&json!({ "inputs": inputs }))
            .send()
            .await
            .expect("seeding request");
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            panic!("seeding {object_type} into {base}: {status} {body}");
        }
        let body: Value = response.json().await.expect("seeding response");
        for result in body["results"].as_array().expect("results") {
            writeln!(file, "{}", result["id"].as_str().expect("id")).expect("write id");
        }
    }
    file.flush().expect("write ids");
    println!(
        "seeded {count} {object_type} into {base} in {:.1} s",
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
    /// The first non-2xx answer the script saw: its status and the start of its body.
    first_error: Option<String>,
}

impl Run {
    /// What was wrong with this run, if anything: every answer of a clean run is a 2xx.
    fn problem(&self) -> Option<String> {
        if self.non_2xx == 0 && self.socket_errors == 0 {
            return None;
        }
        Some(format!(
            "{} non-2xx of {} answers, {} socket errors{}",
            self.non_2xx,
            self.ok_requests + self.non_2xx,
            self.socket_errors,
            self.first_error
                .as_deref()
                .map_or(String::new(), |e| format!("; first non-2xx: {e}"))
        ))
    }
}

/// One wrk run of `workload` on `object_type` against `base`, at `CONCURRENCY`, from core 1
/// when pinned.
fn run_wrk(
    base: &str,
    object_type: &str,
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
        .env("OBJECT_TYPE", object_type)
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
        first_error: result["first_error"].as_str().map(str::to_owned),
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

/// The runs of one server on one object type, kept for the table once the server is gone.
struct Measured {
    object_type: &'static str,
    label: &'static str,
    /// `runs[w]`: the measured runs of `WORKLOADS[w]`.
    runs: Vec<Vec<Run>>,
}

fn wrk_installed() -> bool {
    Command::new("wrk")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The chosen workloads against `object_type`: a fresh server (or the one at `--url`) and,
/// unless `--no-ceiling`, fresh ceilings, each seeded, warmed up and measured `options.reps`
/// times. What was wrong with a run (non-2xx answers, socket errors, no result) is printed at
/// once and added to `problems`.
fn run_object_type(
    object_type: &'static str,
    options: &Options,
    pinned: bool,
    chosen: &[usize],
    seeding: &tokio::runtime::Runtime,
    problems: &mut Vec<String>,
) -> Vec<Measured> {
    println!("\n== {object_type}");
    let ids_dir = tempfile::tempdir().expect("temp dir");
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
        workloads: chosen.to_vec(),
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
        seeding.block_on(seed(&target.server.base, object_type, count, &target.ids));
        target.runs = WORKLOADS.iter().map(|_| Vec::new()).collect();
    }

    let mut created = 0;
    let mut measure = |target: &Target, w: usize, seconds: u64, phase: &str| -> Option<Run> {
        let what = format!(
            "{object_type} {} {} ({phase})",
            target.label, WORKLOADS[w].name
        );
        match run_wrk(
            &target.server.base,
            object_type,
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
                if let Some(problem) = run.problem() {
                    eprintln!("  !! {what}: {problem}");
                    problems.push(format!("{what}: {problem}"));
                }
                Some(run)
            }
            Err(error) => {
                eprintln!("  !! {what}: {error}");
                problems.push(format!("{what}: {error}"));
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
                measure(target, w, options.warmup, "warm-up");
            }
        }
    }
    for rep in 0..options.reps {
        println!("repetition {} of {}", rep + 1, options.reps);
        let phase = format!("repetition {}", rep + 1);
        for w in RUN_ORDER {
            for k in 0..targets.len() {
                // Rotated, so no server always runs first.
                let t = (k + rep) % targets.len();
                if !targets[t].workloads.contains(&w) {
                    continue;
                }
                if let Some(run) = measure(&targets[t], w, options.seconds, &phase) {
                    println!(
                        "  {:<9} {:<12} {:<15} {:>9} req/s  p50 {:.2} ms  p99 {:.2} ms  non-2xx {}  socket errors {}",
                        object_type,
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
    if options.url.is_none() {
        println!(
            "hubcalls stored about {} {object_type} at the end ({} seeded, {created} created by \
             W1/W3 and their warm-ups).",
            thousands((options.seed_calls as u64 + created) as f64),
            options.seed_calls
        );
    }
    if let Some(rss) = targets[0].server.rss_mib() {
        println!("hubcalls RSS after the {object_type} runs: {rss:.0} MiB");
    }
    targets
        .into_iter()
        .map(|target| Measured {
            object_type,
            label: target.label,
            runs: target.runs,
        })
        .collect()
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
    let seeding = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut measured = Vec::new();
    let mut problems = Vec::new();
    for &object_type in &options.object_types {
        measured.extend(run_object_type(
            object_type,
            &options,
            pinned,
            &chosen,
            &seeding,
            &mut problems,
        ));
    }
    print_table(&measured, &options, pinned);
    if !problems.is_empty() {
        eprintln!(
            "\n!! {} wrk run(s) were not clean, so the numbers above do not measure what they \
             say:",
            problems.len()
        );
        for problem in &problems {
            eprintln!("  {problem}");
        }
        std::process::exit(1);
    }
}
