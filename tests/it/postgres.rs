//! Several servers on one PostgreSQL database: ids unique across servers, every write
//! visible to the others at once, concurrent updates of one call losing nothing, migrations
//! safe when servers start together, and a database outage answered with 503s (not hangs)
//! and recovered from.
//!
//! These tests need a database: set HUBCALLS_TEST_DATABASE_URL (`.ci/run` always does).

use crate::common;

use std::collections::HashSet;
use std::sync::Arc;

use common::relay::Relay;
use common::{postgres_settings, spawn_with, TestApp, OTHER_PORTAL_TOKEN, TOKEN};
use hubcalls::config::{Config, Storage, TokenGrant};
use hubcalls::crm::error::StoreError;
use hubcalls::crm::objects::{ObjectType, Partition};
use hubcalls::crm::ports::{RecordStore, Scheduling};
use hubcalls::store::PostgresStore;
use serde_json::{json, Value};

/// The database URL, or `None` after saying why the test is skipped.
fn database_url(test: &str) -> Option<String> {
    let url = common::test_database_url();
    if url.is_none() {
        // Straight to stderr, past the test harness's capture, so the skip is seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped: the PostgreSQL tests need {} (e.g. postgres://postgres@127.0.0.1:5432/test)",
            common::TEST_DATABASE_URL
        );
    }
    url
}

fn config_on(url: &str, schema: &str) -> Config {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![
            TokenGrant::full_access(TOKEN, 1),
            TokenGrant::full_access(OTHER_PORTAL_TOKEN, 2),
        ],
    );
    config.storage = Storage::Postgres(postgres_settings(url, schema));
    config
}

/// Two servers, each with its own connection pool and caches, on one schema.
async fn two_servers(url: &str) -> (TestApp, TestApp) {
    let schema = common::fresh_schema_name();
    let a = spawn_with(config_on(url, &schema)).await;
    let b = spawn_with(config_on(url, &schema)).await;
    (a, b)
}

fn ids_of(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn ids_are_unique_across_servers() {
    let Some(url) = database_url("ids_are_unique_across_servers") else {
        return;
    };
    let (a, b) = two_servers(&url).await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut tasks = Vec::new();
    for round in 0..10 {
        for server in [a.clone(), b.clone()] {
            tasks.push(tokio::spawn(async move {
                let single = server
                    .create_call(json!({"hs_call_title": format!("single {round}")}))
                    .await;
                let inputs: Vec<Value> = (0..10)
                    .map(|i| json!({"properties": {"hs_timestamp": 1, "hs_call_title": format!("batch {round}-{i}")}}))
                    .collect();
                let batch = server
                    .post(
                        "/crm/v3/objects/calls/batch/create",
                        json!({ "inputs": inputs }),
                    )
                    .await;
                assert_eq!(batch.status, 201, "body: {}", batch.text);
                let mut ids = ids_of(&batch.body);
                ids.push(single);
                ids
            }));
        }
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 220);
    assert_eq!(distinct.len(), 220, "ids repeat across servers");
}

#[tokio::test]
async fn a_write_on_one_server_is_read_on_the_other_at_once() {
    let Some(url) = database_url("a_write_on_one_server_is_read_on_the_other_at_once") else {
        return;
    };
    let (a, b) = two_servers(&url).await;

    // A property defined on A validates writes on B straight away (B had its schema cached).
    let before = b
        .create_call(json!({"hs_call_title": "warm B's cache"}))
        .await;
    let defined = a
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "ticket_ref", "label": "Ticket", "type": "string", "fieldType": "text", "groupName": "callinformation", "hasUniqueValue": true}),
        )
        .await;
    assert_eq!(defined.status, 201, "body: {}", defined.text);

    let id = a
        .create_call(json!({"hs_call_title": "Quarterly review", "ticket_ref": "T-1"}))
        .await;
    let got = b
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title,ticket_ref"
        ))
        .await;
    assert_eq!(got.status, 200, "body: {}", got.text);
    assert_eq!(got.body["properties"]["ticket_ref"], "T-1");

    let listed = b.get("/crm/v3/objects/calls?limit=100").await;
    assert!(ids_of(&listed.body).contains(&id));
    let found = b
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "ticket_ref", "operator": "EQ", "value": "t-1"}]}]}),
        )
        .await;
    assert_eq!(found.status, 200, "body: {}", found.text);
    assert_eq!(found.body["total"], 1);
    assert_eq!(ids_of(&found.body), vec![id.clone()]);

    // The unique value holds across servers too.
    let clash = b
        .patch(
            &format!("/crm/v3/objects/calls/{before}"),
            json!({"properties": {"ticket_ref": "T-1"}}),
        )
        .await;
    clash.assert_error(400, "VALIDATION_ERROR");

    // An archive on B is seen by A.
    assert_eq!(
        b.delete(&format!("/crm/v3/objects/calls/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        a.get(&format!("/crm/v3/objects/calls/{id}")).await.status,
        404
    );
}

#[tokio::test]
async fn concurrent_updates_from_two_servers_lose_nothing() {
    let Some(url) = database_url("concurrent_updates_from_two_servers_lose_nothing") else {
        return;
    };
    let (a, b) = two_servers(&url).await;
    let id = a.create_call(json!({"hs_call_title": "start"})).await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    const ROUNDS: usize = 25;
    // Each server writes its own property; both also write a shared one.
    let mut tasks = Vec::new();
    for (server, property) in [(a.clone(), "hs_call_title"), (b.clone(), "hs_call_body")] {
        for round in 0..ROUNDS {
            let server = server.clone();
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                let value = format!("{property} {round}");
                let reply = server
                    .patch(
                        &format!("/crm/v3/objects/calls/{id}"),
                        json!({"properties": {property: value, "hs_call_from_number": value}}),
                    )
                    .await;
                assert_eq!(reply.status, 200, "body: {}", reply.text);
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let got = b
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title,hs_call_body,hs_call_from_number&propertiesWithHistory=hs_call_title,hs_call_body,hs_call_from_number"
        ))
        .await;
    assert_eq!(got.status, 200, "body: {}", got.text);
    let history = &got.body["propertiesWithHistory"];
    let values = |name: &str| -> HashSet<String> {
        history[name]
            .as_array()
            .unwrap_or_else(|| panic!("history of {name}: {history}"))
            .iter()
            .map(|e| e["value"].as_str().unwrap().to_owned())
            .collect()
    };
    // Every acknowledged value of each property is in its history.
    let titles = values("hs_call_title");
    let bodies = values("hs_call_body");
    let dispositions = values("hs_call_from_number");
    for round in 0..ROUNDS {
        assert!(
            titles.contains(&format!("hs_call_title {round}")),
            "{titles:?}"
        );
        assert!(
            bodies.contains(&format!("hs_call_body {round}")),
            "{bodies:?}"
        );
    }
    assert_eq!(dispositions.len(), 2 * ROUNDS, "{dispositions:?}");
    // The final state holds each server's last write: the newest history entries.
    let newest = |name: &str| history[name][0]["value"].clone();
    assert_eq!(
        got.body["properties"]["hs_call_title"],
        newest("hs_call_title")
    );
    assert_eq!(
        got.body["properties"]["hs_call_body"],
        newest("hs_call_body")
    );
    assert_eq!(
        got.body["properties"]["hs_call_from_number"],
        newest("hs_call_from_number")
    );
}

/// Reads by id are awaited on connections of their own (`AsyncReads`); they return what
/// the pooled reads return, for live, archived and missing ids alike.
#[tokio::test]
async fn awaited_reads_by_id_return_what_pooled_reads_return() {
    let Some(url) = database_url("awaited_reads_by_id_return_what_pooled_reads_return") else {
        return;
    };
    let schema = common::fresh_schema_name();
    let app = spawn_with(config_on(&url, &schema)).await;
    let live = app
        .create_call(json!({"hs_call_title": "kept", "hs_call_body": "a \"quoted\" body"}))
        .await;
    let archived = app.create_call(json!({"hs_call_title": "gone"})).await;
    let archive = app
        .delete(&format!("/crm/v3/objects/calls/{archived}"))
        .await;
    assert_eq!(archive.status, 204);
    let got = app
        .get(&format!(
            "/crm/v3/objects/calls/{live}?properties=hs_call_body"
        ))
        .await;
    assert_eq!(got.status, 200, "body: {}", got.text);
    assert_eq!(got.body["properties"]["hs_call_body"], "a \"quoted\" body");
    assert_eq!(
        app.get(&format!("/crm/v3/objects/calls/{archived}"))
            .await
            .status,
        404
    );

    let settings = postgres_settings(&url, &schema);
    let store = tokio::task::spawn_blocking(move || PostgresStore::open(&settings))
        .await
        .unwrap()
        .expect("the store opens");
    let store = Arc::new(store);
    let partition = Partition::new(1, ObjectType::CALLS);
    let ids: Vec<u64> = vec![
        live.parse().unwrap(),
        archived.parse().unwrap(),
        live.parse::<u64>().unwrap() + 1_000,
    ];
    let pooled = {
        let (store, ids) = (Arc::clone(&store), ids.clone());
        tokio::task::spawn_blocking(move || store.get_records(partition, &ids))
            .await
            .unwrap()
            .expect("a pooled read")
    };
    let reads = store.async_reads().expect("PostgreSQL has awaited reads");
    let mut awaited = reads
        .get_records(partition, &ids)
        .await
        .expect("an awaited read");
    awaited.sort_by_key(|record| record.id);
    let mut pooled = pooled;
    pooled.sort_by_key(|record| record.id);
    assert_eq!(awaited, pooled);
    assert_eq!(awaited.len(), 2, "the missing id reads as nothing");
    assert!(awaited.iter().any(|record| record.is_archived()));
    // Another portal's partition holds none of them.
    let elsewhere = reads
        .get_records(Partition::new(2, ObjectType::CALLS), &ids)
        .await
        .expect("an awaited read");
    assert!(elsewhere.is_empty());
    tokio::task::spawn_blocking(move || drop(store))
        .await
        .unwrap();
}

/// A network that goes silent without closing connections: an awaited read gives up within
/// the statement timeout (and a second) or the connect timeout, with "unavailable", and
/// the connections it gave up on are replaced once the network is back.
#[tokio::test]
async fn awaited_reads_give_up_on_a_silent_network_and_recover() {
    let Some(url) = database_url("awaited_reads_give_up_on_a_silent_network_and_recover") else {
        return;
    };
    let (relay, relayed_url) = common::relay::relayed(&url).await;
    let mut settings = postgres_settings(&relayed_url, &common::fresh_schema_name());
    settings.statement_timeout_ms = 500;
    settings.connect_timeout_secs = 1;
    let store = tokio::task::spawn_blocking(move || PostgresStore::open(&settings))
        .await
        .unwrap()
        .expect("the store opens");
    let store = Arc::new(store);
    let reads = store.async_reads().expect("PostgreSQL has awaited reads");
    let partition = Partition::new(1, ObjectType::CALLS);
    // Open every connection (they are taken in turn).
    for _ in 0..8 {
        let read = reads.get_records(partition, &[1]).await;
        assert!(read.expect("a read").is_empty());
    }

    relay.freeze();
    for _ in 0..8 {
        let started = std::time::Instant::now();
        let read = reads.get_records(partition, &[1]).await;
        assert!(
            matches!(read, Err(StoreError::Unavailable(_))),
            "a silent network is unavailable: {read:?}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the read waited {:?}",
            started.elapsed()
        );
    }
    // Reads that queue for one slot while it cannot connect stop waiting on their own
    // clocks: 16 at once over 4 slots, none waits for those before it in its queue.
    let mut at_once = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        at_once.spawn(async move {
            let started = std::time::Instant::now();
            let reads = store.async_reads().expect("awaited reads");
            let read = reads.get_records(partition, &[1]).await;
            (read.is_err(), started.elapsed())
        });
    }
    while let Some(outcome) = at_once.join_next().await {
        let (failed, waited) = outcome.unwrap();
        assert!(failed, "a silent network is unavailable");
        assert!(
            waited < std::time::Duration::from_millis(2_500),
            "a queued read waited {waited:?}"
        );
    }

    relay.thaw();
    for _ in 0..8 {
        let read = reads.get_records(partition, &[1]).await;
        assert!(read.expect("a read after the network is back").is_empty());
    }
    tokio::task::spawn_blocking(move || drop(store))
        .await
        .unwrap();
}

#[test]
fn servers_starting_together_migrate_once() {
    let Some(url) = database_url("servers_starting_together_migrate_once") else {
        return;
    };
    let schema = common::fresh_schema_name();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let settings = postgres_settings(&url, &schema);
            std::thread::spawn(move || PostgresStore::open(&settings).map(|_| ()))
        })
        .collect();
    for start in starts {
        start.join().unwrap().expect("every server starts");
    }
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let rows = client
        .query(
            &format!("SELECT version, count(*) FROM {schema}.hubcalls_migrations GROUP BY version"),
            &[],
        )
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let count: i64 = row.get(1);
        assert_eq!(
            count,
            1,
            "migration {} applied {count} times",
            row.get::<_, i32>(0)
        );
    }
}

#[tokio::test]
async fn a_database_outage_gives_503s_and_readiness_fails_then_recovers() {
    let Some(url) = database_url("a_database_outage_gives_503s_and_readiness_fails_then_recovers")
    else {
        return;
    };
    let parsed: postgres::Config = url.parse().unwrap();
    let host = match parsed.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let target = format!(
        "{host}:{}",
        parsed.get_ports().first().copied().unwrap_or(5432)
    );
    let relay = Relay::start(0, target.clone()).await;
    let user = parsed.get_user().unwrap_or("postgres");
    let dbname = parsed.get_dbname().unwrap_or("postgres");
    let relayed_url = format!("postgres://{user}@127.0.0.1:{}/{dbname}", relay.port);

    let mut config = config_on(&relayed_url, &common::fresh_schema_name());
    if let Storage::Postgres(settings) = &mut config.storage {
        settings.connect_timeout_secs = 1;
    }
    let app = spawn_with(config).await;
    let id = app.create_call(json!({"hs_call_title": "before"})).await;
    // A read by id first, so the connections of awaited reads are open when the cut
    // drops them.
    let first = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
    assert_eq!(first.status, 200, "body: {}", first.text);

    relay.cut();
    let started = std::time::Instant::now();
    let write = app
        .create_call_reply(json!({"hs_call_title": "during"}))
        .await;
    write.assert_error(503, "SERVICE_UNAVAILABLE");
    let read = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
    read.assert_error(503, "SERVICE_UNAVAILABLE");
    let ready = app
        .send_raw(reqwest::Method::GET, "/readyz", None, None)
        .await;
    ready.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the outage made requests hang: {:?}",
        started.elapsed()
    );

    let _restored = Relay::start(relay.port, target).await;
    let mut recovered = false;
    for _ in 0..50 {
        let ready = app
            .send_raw(reqwest::Method::GET, "/readyz", None, None)
            .await;
        if ready.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(recovered, "readiness did not come back");
    let got = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title"
        ))
        .await;
    assert_eq!(got.status, 200, "body: {}", got.text);
    assert_eq!(got.body["properties"]["hs_call_title"], "before");
    // Reads by id take the awaited connections in turn: each dropped one is replaced.
    for _ in 0..8 {
        let again = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
        assert_eq!(again.status, 200, "body: {}", again.text);
    }
    let listed = app.get("/crm/v3/objects/calls").await;
    assert_eq!(
        ids_of(&listed.body),
        vec![id],
        "the failed write left nothing"
    );
}

/// Right after a bulk load PostgreSQL has no statistics of the index tables and plans
/// searches as if they held a row or two; the server analyses (and vacuums) a table that
/// grew or shrank by a tenth within seconds, without waiting for autovacuum's round.
#[tokio::test]
async fn a_bulk_load_is_analysed_within_seconds() {
    let Some(url) = database_url("a_bulk_load_is_analysed_within_seconds") else {
        return;
    };
    let schema = common::fresh_schema_name();
    let app = spawn_with(config_on(&url, &schema)).await;
    for round in 0..3 {
        let inputs: Vec<Value> = (0..100)
            .map(|i| json!({"properties": {"hs_timestamp": 1, "hs_call_title": format!("load {round}-{i}"), "hs_call_direction": "INBOUND"}}))
            .collect();
        let created = app
            .post(
                "/crm/v3/objects/calls/batch/create",
                json!({"inputs": inputs}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    // The synchronous client blocks: off the test's async thread.
    let (watched_url, watched_schema) = (url.clone(), schema.clone());
    let watched = tokio::task::spawn_blocking(move || {
        let (url, schema) = (watched_url, watched_schema);
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        // The keeper checks every 5 s; autovacuum's round is a minute by default.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let analysed: bool = client
                .query_one(
                    "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL
                     FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'call_values'",
                    &[&schema],
                )
                .map(|row| row.get(0))
                .unwrap_or(false);
            if analysed {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "call_values of {schema} was not analysed within 15 s of a load of 300 calls"
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    });
    watched.await.unwrap().unwrap();

    // Updates that leave the tables' sizes alone are autovacuum's: the keeper analysing
    // `call_values` again for them cost a tenth of PostgreSQL's CPU under an update load.
    let counts = {
        let (url, schema) = (url.clone(), schema.clone());
        move || {
            let (url, schema) = (url.clone(), schema.clone());
            tokio::task::spawn_blocking(move || {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let row = client
                    .query_one(
                        "SELECT analyze_count, n_tup_upd FROM pg_stat_user_tables
                         WHERE schemaname = $1 AND relname = 'call_values'",
                        &[&schema],
                    )
                    .unwrap();
                (row.get::<_, i64>(0), row.get::<_, i64>(1))
            })
        }
    };
    // The keeper may still be at the first load's tables: let it finish its round.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (before, _) = counts().await.unwrap();
    let listed = app.get("/crm/v3/objects/calls?limit=100").await;
    let ids: Vec<String> = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| call["id"].as_str().unwrap().to_owned())
        .collect();
    for round in 0..4 {
        let direction = if round % 2 == 0 {
            "OUTBOUND"
        } else {
            "INBOUND"
        };
        let inputs: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "properties": {"hs_call_title": format!("changed {round}"), "hs_call_direction": direction}}))
            .collect();
        let updated = app
            .post(
                "/crm/v3/objects/calls/batch/update",
                json!({"inputs": inputs}),
            )
            .await;
        assert_eq!(updated.status, 200, "{}", updated.body);
    }
    // Backends report their row counts when idle, within seconds: wait until the updates
    // show (over a thousand value rows and a tenth of the table: the old trigger), then
    // over a check of the keeper (every 5 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while counts().await.unwrap().1 < 1_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the updates never showed in the statistics"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(
        counts().await.unwrap().0,
        before,
        "1,200 value rows updated in place, the table no larger: no analysis"
    );
}

/// A database written by a hubcalls that kept a row per token (layout 2) is migrated to
/// words on the values' rows: every token is found again by `CONTAINS_TOKEN` and `query`.
#[tokio::test]
async fn token_rows_of_an_older_layout_become_searchable_words() {
    let Some(url) = database_url("token_rows_of_an_older_layout_become_searchable_words") else {
        return;
    };
    let schema = common::fresh_schema_name();
    let before = spawn_with(config_on(&url, &schema)).await;
    for title in ["Quarterly review with Acme", "Weekly sync"] {
        let created = before
            .post(
                "/crm/v3/objects/calls",
                json!({"properties": {"hs_timestamp": 1, "hs_call_title": title}}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    drop(before);
    // Back to layout 2 (every later step undone): the token rows that hubcalls wrote, and
    // no words column.
    let downgrade_schema = schema.clone();
    let downgrade_url = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&downgrade_url, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!(
                r#"SET search_path = {downgrade_schema};
                CREATE TABLE call_tokens (
                    portal BIGINT NOT NULL, name TEXT COLLATE "C" NOT NULL,
                    token TEXT COLLATE "C" NOT NULL, call_id BIGINT NOT NULL,
                    PRIMARY KEY (portal, name, token, call_id));
                INSERT INTO call_tokens
                    SELECT DISTINCT portal, name, t, call_id
                    FROM call_values, regexp_split_to_table(lower(text), '[^a-z0-9]+') AS t
                    WHERE t <> '' AND words IS NOT NULL;
                DROP INDEX call_values_words;
                ALTER TABLE call_values DROP COLUMN words;
                DROP STATISTICS call_values_name_text;
                DELETE FROM hubcalls_migrations WHERE version >= 3;"#
            ))
            .unwrap();
    })
    .await
    .unwrap();

    let after = spawn_with(config_on(&url, &schema)).await;
    let search = |body: Value| after.post("/crm/v3/objects/calls/search", body);
    let by_token = search(json!({"filterGroups": [{"filters": [
        {"propertyName": "hs_call_title", "operator": "CONTAINS_TOKEN", "value": "acme"}
    ]}]}))
    .await;
    assert_eq!(by_token.status, 200, "{}", by_token.body);
    assert_eq!(by_token.body["total"], 1, "{}", by_token.body);
    let by_query = search(json!({"query": "week", "properties": ["hs_call_title"]})).await;
    assert_eq!(by_query.body["total"], 1, "{}", by_query.body);
    assert_eq!(
        by_query.body["results"][0]["properties"]["hs_call_title"],
        "Weekly sync"
    );
    let left = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .query_one(
                "SELECT count(*) FROM information_schema.tables
                 WHERE table_schema = $1 AND table_name = 'call_tokens'",
                &[&schema],
            )
            .map(|row| row.get::<_, i64>(0))
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(left, 0, "the token table is dropped");
}
