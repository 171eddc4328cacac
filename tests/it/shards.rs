//! Past one database: portals on two shards. Two servers on the same two shards serve every
//! portal alike; each portal's data lives on its own shard only; ids stay unique when a
//! portal moves between shards (`hubcalls move-portal`), which loses nothing and empties
//! the source; a shard that goes away fails only its own portals, and readiness and the
//! metrics name it.
//!
//! These tests need a database: set HUBCALLS_TEST_DATABASE_URL (`.ci/run` always does).

use crate::common;

use common::relay::Relay;
use common::{spawn_with, TestApp, ADMIN_TOKEN, OTHER_PORTAL_TOKEN, TOKEN};
use hubcalls::config::{Config, ShardLayout, Storage, TokenGrant};
use hubcalls::crm::migration::{count_portal, PortalCounts};
use hubcalls::crm::objects::{ObjectType, Partition};
use hubcalls::crm::ports::{AdminStore, RecordStore, RestoredRecord};
use hubcalls::crm::record::Record;
use hubcalls::store::sharded::{open_shard, IdRange};
use hubcalls::store::PostgresStore;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The database URL, or `None` after saying why the test is skipped.
fn database_url(test: &str) -> Option<String> {
    let url = common::test_database_url();
    if url.is_none() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped: the shard tests need {} (e.g. postgres://postgres@127.0.0.1:5432/test)",
            common::TEST_DATABASE_URL
        );
    }
    url
}

/// A server on `layout` with tokens of portals 1 and 2 and the admin API on.
async fn spawn_on(layout: ShardLayout) -> TestApp {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![
            TokenGrant::full_access(TOKEN, 1),
            TokenGrant::full_access(OTHER_PORTAL_TOKEN, 2),
        ],
    );
    config.storage = Storage::Sharded(layout);
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    spawn_with(config).await
}

/// `layout`'s shards with portal 1 placed as `portal_1_on` says (`None`: not listed, so on
/// the default shard `s0`) and `moving` fenced.
fn layout_with(url: &str, base: &str, portal_1_on: Option<usize>, moving: &[u32]) -> ShardLayout {
    let mut shards = common::shard_layout(url, base, 2).shards().to_vec();
    for (n, shard) in shards.iter_mut().enumerate() {
        shard.portals = if portal_1_on == Some(n) {
            vec![1]
        } else {
            Vec::new()
        };
    }
    ShardLayout::new(shards, Some("s0"), moving.to_vec()).unwrap()
}

/// The same shards as a configuration file's `[postgres]` section.
fn config_toml(url: &str, base: &str, portal_1_on: Option<usize>, moving: &[u32]) -> String {
    let mut toml = format!("[postgres]\ndefault_shard = \"s0\"\nmoving_portals = {moving:?}\n");
    for n in 0..2 {
        toml.push_str(&format!(
            "\n[[postgres.shards]]\nname = \"s{n}\"\nurl = \"{url}\"\nschema = \"{base}_s{n}\"\nid_range = {n}\nportals = [{}]\n",
            if portal_1_on == Some(n) { "1" } else { "" }
        ));
    }
    toml
}

/// What one shard's database holds of `portal` (and which portals it holds), read by
/// opening it alone, off the async workers (the synchronous client blocks).
async fn on_shard(url: &str, base: &str, n: usize, portal: u32) -> (PortalCounts, Vec<u32>) {
    let settings = common::postgres_settings(url, &format!("{base}_s{n}"));
    tokio::task::spawn_blocking(move || {
        let store = PostgresStore::open(&settings).expect("the shard opens");
        (
            count_portal(&store, portal).expect("counts"),
            store.portals().expect("portals"),
        )
    })
    .await
    .unwrap()
}

async fn as_portal(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> common::Reply {
    app.send_raw(method, path, Some(token), body.map(|b| b.to_string()))
        .await
}

async fn create_call_as(app: &TestApp, token: &str, title: &str) -> String {
    let reply = as_portal(
        app,
        token,
        Method::POST,
        "/crm/v3/objects/calls",
        Some(json!({"properties": {"hs_call_title": title, "hs_timestamp": "2025-04-24T20:01:33.000Z"}})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

fn id_number(id: &str) -> u64 {
    id.parse().expect("a numeric id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_two_shards_serve_every_portal_alike() {
    let Some(url) = database_url("two_servers_on_two_shards_serve_every_portal_alike") else {
        return;
    };
    let base = common::fresh_schema_name();
    // Portal 1 on shard s1, portal 2 on the default shard s0.
    let a = spawn_on(layout_with(&url, &base, Some(1), &[])).await;
    let b = spawn_on(layout_with(&url, &base, Some(1), &[])).await;

    let one = create_call_as(&a, TOKEN, "portal 1 through a").await;
    let two = create_call_as(&b, OTHER_PORTAL_TOKEN, "portal 2 through b").await;
    let read = as_portal(
        &b,
        TOKEN,
        Method::GET,
        &format!("/crm/v3/objects/calls/{one}?properties=hs_call_title"),
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(
        read.body["properties"]["hs_call_title"],
        "portal 1 through a"
    );
    let read = as_portal(
        &a,
        OTHER_PORTAL_TOKEN,
        Method::GET,
        &format!("/crm/v3/objects/calls/{two}?properties=hs_call_title"),
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(
        read.body["properties"]["hs_call_title"],
        "portal 2 through b"
    );

    // An update through one server is what the other reads, searches and lists next.
    let patched = as_portal(
        &b,
        TOKEN,
        Method::PATCH,
        &format!("/crm/v3/objects/calls/{one}"),
        Some(json!({"properties": {"hs_call_title": "patched through b"}})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let search = as_portal(&a, TOKEN, Method::POST, "/crm/v3/objects/calls/search", Some(json!({"filterGroups": [{"filters": [{"propertyName": "hs_call_title", "operator": "EQ", "value": "patched through b"}]}]}))).await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.text);
    assert_eq!(search.body["total"], 1, "{}", search.text);
    let listed = as_portal(
        &a,
        OTHER_PORTAL_TOKEN,
        Method::GET,
        "/crm/v3/objects/calls",
        None,
    )
    .await;
    assert_eq!(listed.body["results"].as_array().unwrap().len(), 1);

    // Each portal is on its own shard only, with ids of that shard's range.
    assert_eq!(on_shard(&url, &base, 1, 1).await.1, vec![1]);
    assert_eq!(on_shard(&url, &base, 0, 1).await.1, vec![2]);
    assert!(IdRange::numbered(1).contains(id_number(&one)), "{one}");
    assert!(IdRange::numbered(0).contains(id_number(&two)), "{two}");
}

/// Portal 1 written on shard s1 with everything a portal holds, moved to s0 by the command
/// while servers fence it, read back through a server placing it on s0: the export is the
/// same, s1 holds nothing of it, and ids handed out afterwards collide with nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_portal_loses_nothing_empties_the_source_and_keeps_ids_unique() {
    let Some(url) =
        database_url("move_portal_loses_nothing_empties_the_source_and_keeps_ids_unique")
    else {
        return;
    };
    let base = common::fresh_schema_name();
    let before = spawn_on(layout_with(&url, &base, Some(1), &[])).await;
    let group = before
        .post(
            "/crm/v3/properties/calls/groups",
            json!({"name": "dialer_data", "label": "Dialer data"}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
    let property = before.post("/crm/v3/properties/calls", json!({"name": "dialer_id", "label": "Dialer id", "type": "string", "fieldType": "text", "groupName": "dialer_data"})).await;
    assert_eq!(property.status, StatusCode::CREATED, "{}", property.text);
    let pipeline = before.post("/crm/v3/pipelines/deals", json!({"label": "Renewals", "displayOrder": 1, "pipelineId": "renewals", "stages": [{"label": "Due", "displayOrder": 0, "stageId": "r1", "metadata": {"probability": 0.5}}]})).await;
    assert_eq!(pipeline.status, StatusCode::CREATED, "{}", pipeline.text);
    let call = before
        .create_call(json!({"hs_call_title": "first", "dialer_id": "d-1"}))
        .await;
    let patched = before
        .patch(
            &format!("/crm/v3/objects/calls/{call}"),
            json!({"properties": {"hs_call_title": "second"}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let archived = before
        .create_call(json!({"hs_call_title": "to the bin"}))
        .await;
    assert_eq!(
        before
            .delete(&format!("/crm/v3/objects/calls/{archived}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let contact = before.create_contact().await;
    let associated = before
        .put(&format!(
            "/crm/v4/objects/calls/{call}/associations/default/contacts/{contact}"
        ))
        .await;
    assert_eq!(associated.status, StatusCode::OK, "{}", associated.text);
    let deal = before
        .create_record(
            "deals",
            json!({"dealname": "Renewal", "pipeline": "renewals", "dealstage": "r1"}),
        )
        .await;
    let other_portal = create_call_as(&before, OTHER_PORTAL_TOKEN, "portal 2 stays").await;
    let exported = common::export_records(&before.export_portal(1).await);
    assert!(exported.len() >= 6, "{exported:?}");
    for id in [&call, &archived, &contact, &deal] {
        assert!(
            IdRange::numbered(1).contains(id_number(id)),
            "{id} from shard s1's range"
        );
    }

    // Servers fence the portal: its requests are refused, retryably; other portals go on.
    let fenced = spawn_on(layout_with(&url, &base, Some(1), &[1])).await;
    fenced
        .get(&format!("/crm/v3/objects/calls/{call}"))
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    let unaffected = as_portal(
        &fenced,
        OTHER_PORTAL_TOKEN,
        Method::GET,
        &format!("/crm/v3/objects/calls/{other_portal}"),
        None,
    )
    .await;
    assert_eq!(unaffected.status, StatusCode::OK, "{}", unaffected.text);

    let dir = tempfile::tempdir().unwrap();
    let unfenced_file = dir.path().join("unfenced.toml");
    std::fs::write(&unfenced_file, config_toml(&url, &base, Some(1), &[])).unwrap();
    let fenced_file = dir.path().join("fenced.toml");
    std::fs::write(&fenced_file, config_toml(&url, &base, Some(1), &[1])).unwrap();

    // Without the fence (and servers running) the command refuses.
    let refused = move_portal(&unfenced_file, &["--portal", "1", "--to", "s0"]).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("moving_portals"),
        "{refused:?}"
    );
    let moved = move_portal(&fenced_file, &["--portal", "1", "--to", "s0"]).await;
    let stdout = String::from_utf8_lossy(&moved.stdout);
    assert!(moved.status.success(), "{moved:?}");
    assert!(
        stdout.contains("moved portal 1 from shard s1 to shard s0"),
        "{stdout}"
    );
    // A second run finds the work done.
    let again = move_portal(
        &fenced_file,
        &["--portal", "1", "--to", "s0", "--from", "s1"],
    )
    .await;
    assert!(again.status.success(), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to do"));

    let (left, portals) = on_shard(&url, &base, 1, 1).await;
    assert!(left.is_empty(), "the source holds nothing of portal 1");
    assert!(portals.is_empty());

    // Placed on s0 now (unlisted: the default shard), it reads back whole.
    let after = spawn_on(layout_with(&url, &base, None, &[])).await;
    assert_eq!(
        common::export_records(&after.export_portal(1).await),
        exported
    );
    let got = after.get(&format!("/crm/v3/objects/calls/{call}?properties=hs_call_title,dialer_id&propertiesWithHistory=hs_call_title&associations=contacts")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["properties"]["dialer_id"], "d-1");
    assert_eq!(
        got.body["propertiesWithHistory"]["hs_call_title"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{}",
        got.text
    );
    assert_eq!(
        got.body["associations"]["contacts"]["results"][0]["id"],
        contact.as_str()
    );

    // New ids of both portals come from s0's range: restoring s1's ids did not drag s0's
    // sequence there, so nothing s1 hands out later can meet them.
    let new_one = after
        .create_call(json!({"hs_call_title": "after the move"}))
        .await;
    let new_two = create_call_as(&after, OTHER_PORTAL_TOKEN, "portal 2 after").await;
    for id in [&new_one, &new_two] {
        assert!(
            IdRange::numbered(0).contains(id_number(id)),
            "{id} from shard s0's range"
        );
    }
    assert!(![&call, &archived, &contact, &deal, &other_portal].contains(&&new_one));

    // And back, while servers are stopped (--offline): s1 takes ids of s0's range without
    // its own sequence moving, and the portal's ids from both ranges live side by side.
    let moved_back = move_portal(
        &unfenced_file,
        &["--portal", "1", "--to", "s1", "--from", "s0", "--offline"],
    )
    .await;
    assert!(moved_back.status.success(), "{moved_back:?}");
    let back = spawn_on(layout_with(&url, &base, Some(1), &[])).await;
    let newest = back
        .create_call(json!({"hs_call_title": "back on s1"}))
        .await;
    assert!(
        IdRange::numbered(1).contains(id_number(&newest)),
        "{newest}"
    );
    let listed = back.get("/crm/v3/objects/calls?limit=100").await;
    assert_eq!(
        listed.body["results"].as_array().unwrap().len(),
        3,
        "{}",
        listed.text
    );
}

/// Runs `hubcalls move-portal --config <config> <args>`.
async fn move_portal(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hubcalls"));
    command
        .arg("move-portal")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("HUBCALLS_CONFIG");
    tokio::task::spawn_blocking(move || command.output().expect("the command runs"))
        .await
        .unwrap()
}

#[test]
fn a_shard_refuses_ids_of_another_range_and_restores_never_drag_its_sequence() {
    let Some(url) =
        database_url("a_shard_refuses_ids_of_another_range_and_restores_never_drag_its_sequence")
    else {
        return;
    };
    let base = common::fresh_schema_name();
    let layout = common::shard_layout(&url, &base, 2);
    let s0 = open_shard(&layout.shards()[0]).unwrap();
    let partition = Partition::new(9, ObjectType::CALLS);
    let foreign = IdRange::numbered(1).first + 41;
    let restored = RestoredRecord {
        call: Record {
            id: foreign,
            properties: Default::default(),
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_000,
            archived_at: None,
        },
        history: Vec::new(),
        associations: Vec::new(),
    };
    s0.restore_records(partition, ObjectType::CALLS.catalogue(), &[restored])
        .unwrap();
    let next = s0.allocate_ids(partition, 1).unwrap()[0];
    assert!(IdRange::numbered(0).contains(next), "allocated {next}");

    // The database remembers its range: opening it as another shard's fails.
    let mut wrong = layout.shards()[0].clone();
    wrong.id_range = 7;
    let refused = open_shard(&wrong).err().expect("another range is refused");
    assert!(
        refused.to_string().contains("another id_range"),
        "{refused}"
    );
}

/// A shard that stops answering fails its own portals only; readiness names it, and so do
/// the metrics; both come back with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_shard_fails_only_its_portals_and_readiness_names_it() {
    let Some(url) = database_url("a_lost_shard_fails_only_its_portals_and_readiness_names_it")
    else {
        return;
    };
    let base = common::fresh_schema_name();
    let (relay, relayed_url) = common::relay::relayed(&url).await;
    let mut shards = layout_with(&url, &base, Some(1), &[]).shards().to_vec();
    shards[1].postgres.url = relayed_url;
    shards[1].postgres.connect_timeout_secs = 1;
    let app = spawn_on(ShardLayout::new(shards, Some("s0"), Vec::new()).unwrap()).await;
    let on_s1 = app.create_call(json!({"hs_call_title": "on s1"})).await;
    let on_s0 = create_call_as(&app, OTHER_PORTAL_TOKEN, "on s0").await;

    relay.cut();
    app.get(&format!("/crm/v3/objects/calls/{on_s1}"))
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    let other = as_portal(
        &app,
        OTHER_PORTAL_TOKEN,
        Method::GET,
        &format!("/crm/v3/objects/calls/{on_s0}"),
        None,
    )
    .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    let ready = app.send_raw(Method::GET, "/readyz", None, None).await;
    let body = ready.assert_error(503, "SERVICE_UNAVAILABLE");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("shard s1") && !message.contains("s0"),
        "{message}"
    );
    let metrics = metrics_of(&app).await;
    assert!(
        metrics.contains("hubcalls_store_shard_up{shard=\"s1\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hubcalls_store_shard_up{shard=\"s0\"} 1"),
        "{metrics}"
    );

    let _restored = Relay::start(relay.port, common::relay::target_of(&url)).await;
    let mut recovered = false;
    for _ in 0..50 {
        if app
            .send_raw(Method::GET, "/readyz", None, None)
            .await
            .status
            == StatusCode::OK
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(recovered, "readiness did not come back");
    let metrics = metrics_of(&app).await;
    assert!(
        metrics.contains("hubcalls_store_shard_up{shard=\"s1\"} 1"),
        "{metrics}"
    );
}

/// The server's `/metrics` text.
async fn metrics_of(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    response.text().await.unwrap()
}
