//! Crash safety: the real binary is killed with SIGKILL in the middle of concurrent writes of
//! every kind of record (calls, contacts, companies, deals, notes, tickets), again and again;
//! every acknowledged write must survive with its exact value and history, no batch may be
//! half-present, and the database must stay sound. Runs on PostgreSQL
//! instead when the harness sets HUBCALLS_TEST_DATABASE_URL (the server dies, the
//! database does not: what it acknowledged must be there after a restart all the same), and
//! on shards of it when the harness also sets HUBCALLS_TEST_SHARDS (the test's portal 1 is
//! on a shard of its own, not the default one).

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{json, Value};

const TOKEN: &str = "pat-crash-test";
const ITERATIONS: usize = 20;
const WRITERS: usize = 6;

struct Server {
    child: Child,
    base: String,
}

/// Where the server keeps its data across restarts.
enum Store {
    Directory(std::path::PathBuf),
    Postgres {
        url: String,
        schema: String,
    },
    /// A configuration file declaring the shards.
    Sharded(std::path::PathBuf),
}

impl Store {
    fn for_this_run(dir: &Path) -> Self {
        match (common::test_database_url(), common::test_shards()) {
            (Some(url), Some(count)) => {
                let config = dir.join("shards.toml");
                let toml = common::shard_config_toml(&url, &common::fresh_schema_name(), count);
                std::fs::write(&config, toml).expect("the shards' configuration is written");
                Self::Sharded(config)
            }
            (Some(url), None) => Self::Postgres {
                url,
                schema: common::fresh_schema_name(),
            },
            (None, _) => Self::Directory(dir.to_owned()),
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Self::Directory(dir) => vec!["--data-dir".to_owned(), dir.display().to_string()],
            Self::Postgres { url, schema } => vec![
                "--database-url".to_owned(),
                url.clone(),
                "--database-schema".to_owned(),
                schema.clone(),
            ],
            Self::Sharded(config) => vec!["--config".to_owned(), config.display().to_string()],
        }
    }
}

fn start(store: &Store) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubcalls"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
        .args(store.args())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server prints its address")
            .expect("line");
        if let Some(at) = line.find("listening on ") {
            break line[at + "listening on ".len()..].trim().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

/// A type the writers write, the property they title records with, and what a create of
/// it needs besides. Each writer writes one type, so crashes hit writes of every type.
struct Kind {
    path: &'static str,
    title: &'static str,
    required: fn() -> Value,
}

const KINDS: [Kind; 6] = [
    Kind {
        path: "calls",
        title: "hs_call_title",
        required: || json!({"hs_timestamp": "2025-01-01T00:00:00Z"}),
    },
    Kind {
        path: "contacts",
        title: "firstname",
        required: || json!({}),
    },
    Kind {
        path: "companies",
        title: "name",
        required: || json!({}),
    },
    Kind {
        path: "deals",
        title: "dealname",
        required: || json!({"dealstage": "appointmentscheduled"}),
    },
    Kind {
        path: "notes",
        title: "hs_note_body",
        required: || json!({"hs_timestamp": "2025-01-01T00:00:00Z"}),
    },
    Kind {
        path: "tickets",
        title: "subject",
        required: || json!({"hs_pipeline_stage": "1"}),
    },
];

/// What the writers were told succeeded.
#[derive(Default)]
struct Acknowledged {
    /// (type path, record id, every title acknowledged for it, in order)
    calls: Vec<(&'static str, String, Vec<String>)>,
    /// (batch tag, number of calls) of acknowledged batch creates
    batches: Vec<(String, usize)>,
    /// batch tags that were sent, acknowledged or not
    attempted_batches: Vec<String>,
}

async fn writer(base: String, iteration: usize, writer: usize, ack: Arc<Mutex<Acknowledged>>) {
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{base}{path}");
    for step in 0.. {
        if step % 5 == 4 {
            let tag = format!("batch-{iteration}-{writer}-{step}");
            ack.lock().unwrap().attempted_batches.push(tag.clone());
            let inputs: Vec<Value> = (0..10)
                .map(|i| {
                    json!({"properties": {
                        "hs_timestamp": "2025-01-01T00:00:00Z",
                        "hs_call_external_id": tag,
                        "hs_call_title": format!("{tag}-{i}"),
                    }})
                })
                .collect();
            let reply = client
                .post(url("/crm/v3/objects/calls/batch/create"))
                .bearer_auth(TOKEN)
                .json(&json!({ "inputs": inputs }))
                .send()
                .await;
            match reply {
                Ok(r) if r.status() == 201 => ack.lock().unwrap().batches.push((tag, 10)),
                Ok(r) if r.status().is_success() => panic!("unexpected status {}", r.status()),
                _ => return,
            }
            continue;
        }
        let kind = &KINDS[writer % KINDS.len()];
        let title = format!("title-{iteration}-{writer}-{step}");
        // Update the writer's last record half of the time, else create a new one.
        let target = {
            let ack = ack.lock().unwrap();
            ack.calls
                .iter()
                .rev()
                .find(|(_, _, titles)| {
                    titles[0].starts_with(&format!("title-{iteration}-{writer}-"))
                })
                .map(|(_, id, _)| id.clone())
        };
        let reply = match (&target, step % 2) {
            (Some(id), 1) => {
                client
                    .patch(url(&format!("/crm/v3/objects/{}/{id}", kind.path)))
                    .bearer_auth(TOKEN)
                    .json(&json!({"properties": {kind.title: title}}))
                    .send()
                    .await
            }
            _ => {
                let mut properties = (kind.required)();
                properties[kind.title] = json!(title);
                client
                    .post(url(&format!("/crm/v3/objects/{}", kind.path)))
                    .bearer_auth(TOKEN)
                    .json(&json!({ "properties": properties }))
                    .send()
                    .await
            }
        };
        let Ok(reply) = reply else { return };
        let status = reply.status();
        let Ok(body) = reply.json::<Value>().await else {
            return;
        };
        assert!(status.is_success(), "write failed with {status}: {body}");
        let id = body["id"].as_str().expect("id").to_owned();
        let mut ack = ack.lock().unwrap();
        match ack.calls.iter_mut().find(|(_, known, _)| *known == id) {
            Some((_, _, titles)) => titles.push(title),
            None => ack.calls.push((kind.path, id, vec![title])),
        }
    }
}

async fn verify(base: &str, ack: &Acknowledged) -> usize {
    let client = reqwest::Client::new();
    let mut checked = 0;
    for (path, id, titles) in &ack.calls {
        let title = KINDS
            .iter()
            .find(|k| k.path == *path)
            .expect("a written type")
            .title;
        let reply: Value = client
            .get(format!(
                "{base}/crm/v3/objects/{path}/{id}?properties={title}&propertiesWithHistory={title}"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let stored = reply["properties"][title].as_str().unwrap_or_else(|| {
            panic!("acknowledged {path} {id} is missing after the crash: {reply}")
        });
        let history: Vec<&str> = reply["propertiesWithHistory"][title]
            .as_array()
            .expect("history")
            .iter()
            .map(|e| e["value"].as_str().unwrap())
            .collect();
        let last = titles.last().unwrap();
        // The last acknowledged value, or a later write that committed but was not answered.
        assert!(
            stored == last || history.iter().position(|v| v == last) == Some(1),
            "{path} {id}: stored {stored}, last acknowledged {last}, history {history:?}"
        );
        for title in titles {
            assert!(
                history.contains(&title.as_str()),
                "{path} {id}: {title} lost from history"
            );
        }
        checked += 1;
    }
    for tag in &ack.attempted_batches {
        let body: Value = client
            .post(format!("{base}/crm/v3/objects/calls/search"))
            .bearer_auth(TOKEN)
            .json(&json!({"filterGroups": [{"filters": [
                {"propertyName": "hs_call_external_id", "operator": "EQ", "value": tag}
            ]}]}))
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        let total = body["total"].as_u64().unwrap();
        let acknowledged = ack.batches.iter().any(|(t, _)| t == tag);
        assert!(
            total == 10 || (total == 0 && !acknowledged),
            "batch {tag}: {total} of 10 calls present (acknowledged: {acknowledged})"
        );
        checked += 1;
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::for_this_run(dir.path());
    let mut all = Acknowledged::default();
    let mut checked = 0;
    for iteration in 0..ITERATIONS {
        let mut server = start(&store);
        checked += verify(&server.base, &all).await;
        let ack = Arc::new(Mutex::new(Acknowledged::default()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(writer(server.base.clone(), iteration, w, Arc::clone(&ack))))
            .collect();
        // A database server adds connection set-up to a fresh server's first writes: give
        // it longer, so each run still kills the server amid batches.
        let pause = match store {
            Store::Directory(_) => rand::rng().random_range(50..250),
            Store::Postgres { .. } | Store::Sharded(_) => rand::rng().random_range(300..900),
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reaped");
        for w in writers {
            w.await.expect("writer task");
        }
        let ack = Arc::try_unwrap(ack).ok().unwrap().into_inner().unwrap();
        all.calls.extend(ack.calls);
        all.batches.extend(ack.batches);
        all.attempted_batches.extend(ack.attempted_batches);
    }
    let mut server = start(&store);
    checked += verify(&server.base, &all).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(
        all.calls.len() > ITERATIONS,
        "too few writes were made to test anything"
    );
    if let Store::Directory(dir) = &store {
        let conn = rusqlite::Connection::open(dir.join("hubcalls.sqlite3")).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
    eprintln!(
        "crash safety: {ITERATIONS} SIGKILLs survived, {} calls and {} batches acknowledged, {checked} checks",
        all.calls.len(),
        all.batches.len()
    );
}
