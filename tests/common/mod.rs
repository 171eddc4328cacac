//! Shared helpers for the integration tests: a real server on a free port, driven over HTTP.

#![allow(dead_code)]

pub mod relay;

use std::net::SocketAddr;

use hubcalls::config::{Config, PostgresSettings, Storage, TokenGrant};
use hubcalls::App;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

/// The full-access token of portal 1 in every test server.
pub const TOKEN: &str = "pat-test-portal-1";
/// A read-only token of portal 1: it reads contacts (and so engagements), owners and
/// object schemas.
pub const READ_ONLY_TOKEN: &str = "pat-test-readonly";
/// A full-access token of portal 2.
pub const OTHER_PORTAL_TOKEN: &str = "pat-test-portal-2";

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub token: String,
    /// The SQLite store's directory when the harness made one for this server alone
    /// (removed with the test's `TestApp`).
    pub store_dir: Option<tempfile::TempDir>,
}

fn grants() -> Vec<TokenGrant> {
    let mut read_only = TokenGrant::full_access(READ_ONLY_TOKEN, 1);
    read_only.scopes = [
        "crm.objects.contacts.read",
        "crm.objects.owners.read",
        "crm.schemas.custom.read",
    ]
    .map(str::to_owned)
    .to_vec();
    vec![
        TokenGrant::full_access(TOKEN, 1),
        read_only,
        TokenGrant::full_access(OTHER_PORTAL_TOKEN, 2),
    ]
}

/// Set to a PostgreSQL URL, it moves every test server onto the PostgreSQL store (each on
/// a fresh schema of its own, so tests run in parallel); unset, they use SQLite.
pub const TEST_DATABASE_URL: &str = "HUBCALLS_TEST_DATABASE_URL";

/// The PostgreSQL URL the tests run against, if any.
pub fn test_database_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Set to a number of shards (2 or more) with [`TEST_DATABASE_URL`], every test server
/// runs on that many fresh schemas as shards of one store (see [`shard_layout`]).
pub const TEST_SHARDS: &str = "HUBCALLS_TEST_SHARDS";

/// How many shards test servers run on, when the harness asks for shards.
pub fn test_shards() -> Option<usize> {
    test_database_url()?;
    std::env::var(TEST_SHARDS)
        .ok()
        .and_then(|n| n.trim().parse::<usize>().ok())
        .filter(|&n| n >= 2)
}

/// `count` shards named `s0`, `s1`, … on the schemas `{base}_s0`, `{base}_s1`, …: portal 1
/// (the tests' main portal) placed on `s1`, every other portal (2 and whatever else tests
/// use) on the default shard `s0`, so the suite's portals land on both.
pub fn shard_layout(url: &str, base: &str, count: usize) -> hubcalls::config::ShardLayout {
    let shards = (0..count)
        .map(|n| {
            let mut postgres = postgres_settings(url, &format!("{base}_s{n}"));
            // About the connections one unsharded test server has, in all.
            postgres.pool_size = (8 / count as u32).max(2);
            hubcalls::config::ShardSettings {
                name: format!("s{n}"),
                postgres,
                portals: if n == 1 { vec![1] } else { Vec::new() },
                id_range: n as u32,
            }
        })
        .collect();
    hubcalls::config::ShardLayout::new(shards, Some("s0"), Vec::new()).expect("a valid layout")
}

/// The `[postgres]` section of a configuration file for [`shard_layout`]'s shards, for
/// tests that start the binary.
pub fn shard_config_toml(url: &str, base: &str, count: usize) -> String {
    let mut toml = String::from("[postgres]\npool_size = 4\ndefault_shard = \"s0\"\n");
    for n in 0..count {
        toml.push_str(&format!(
            "\n[[postgres.shards]]\nname = \"s{n}\"\nurl = \"{url}\"\nschema = \"{base}_s{n}\"\nid_range = {n}\nportals = [{}]\n",
            if n == 1 { "1" } else { "" }
        ));
    }
    toml
}

/// The PostgreSQL store on `base` the harness asks for: one schema, or shards of it.
fn postgres_storage(url: &str, base: &str) -> Storage {
    match test_shards() {
        Some(count) => Storage::Sharded(shard_layout(url, base, count)),
        None => Storage::Postgres(postgres_settings(url, base)),
    }
}

/// A schema name no other test server uses.
pub fn fresh_schema_name() -> String {
    format!("hubcalls_test_{}", uuid::Uuid::new_v4().simple())
}

/// PostgreSQL settings for a test server on `schema`.
pub fn postgres_settings(url: &str, schema: &str) -> PostgresSettings {
    let mut settings = PostgresSettings::new(url);
    settings.schema = Some(schema.to_owned());
    settings.pool_size = 8;
    settings
}

/// Set to `memory`, test servers keep SQLite in memory instead of in a file of their own
/// (the default: it is what `hubcalls` runs on, with its group commit and reader pool).
/// The PostgreSQL store on a fresh schema (or shards), shared by a test binary's cases,
/// when the harness runs against PostgreSQL.
pub fn shared_postgres_store() -> Option<&'static std::sync::Arc<dyn hubcalls::crm::ports::Store>> {
    use std::sync::{Arc, OnceLock};
    static STORE: OnceLock<Option<Arc<dyn hubcalls::crm::ports::Store>>> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let url = test_database_url()?;
            let storage = postgres_storage(&url, &fresh_schema_name());
            Some(hubcalls::open_store(&storage, None).expect("PostgreSQL store opens"))
        })
        .as_ref()
}

pub const TEST_STORE: &str = "HUBCALLS_TEST_STORE";

/// A store of its own for one test server: a SQLite file in a fresh directory (returned
/// too, to be removed with the server's test), SQLite in memory, or a fresh PostgreSQL
/// schema.
pub fn fresh_storage() -> (Storage, Option<tempfile::TempDir>) {
    if let Some(url) = test_database_url() {
        return (postgres_storage(&url, &fresh_schema_name()), None);
    }
    if std::env::var(TEST_STORE).is_ok_and(|store| store == "memory") {
        return (Storage::Memory, None);
    }
    let dir = tempfile::Builder::new()
        .prefix("hubcalls-test-")
        .tempdir()
        .expect("temporary store directory");
    (Storage::Directory(dir.path().to_owned()), Some(dir))
}

/// A store that outlives its server, kept in `dir`: a SQLite file there, or a PostgreSQL
/// schema named after `dir`, so a server started again on `dir` finds the same data.
pub fn storage_in(dir: &std::path::Path) -> Storage {
    match test_database_url() {
        Some(url) => {
            // FNV-1a of the path: stable, and short enough for a schema name.
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for byte in dir.to_string_lossy().bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            postgres_storage(&url, &format!("hubcalls_test_dir_{hash:016x}"))
        }
        None => Storage::Directory(dir.to_owned()),
    }
}

/// Starts a server on a store of its own (see [`fresh_storage`]).
pub async fn spawn_app() -> TestApp {
    spawn_with(Config::in_memory("127.0.0.1:0".parse().unwrap(), grants())).await
}

/// Starts a server on a store kept in `dir` (to test durability across restarts).
pub async fn spawn_app_in(dir: &std::path::Path) -> TestApp {
    let mut config = Config::in_memory("127.0.0.1:0".parse().unwrap(), grants());
    config.storage = storage_in(dir);
    spawn_with(config).await
}

/// Starts a server on `config`. A configuration asking for the in-memory store gets a
/// store of its own instead (see [`fresh_storage`]), so every test runs on the store the
/// harness chose.
pub async fn spawn_with(mut config: Config) -> TestApp {
    let mut store_dir = None;
    if config.storage == Storage::Memory {
        (config.storage, store_dir) = fresh_storage();
    }
    let app = App::build(config).await.expect("server starts");
    let address = app.address();
    tokio::spawn(app.run(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::new(),
        token: TOKEN.to_owned(),
        store_dir,
    }
}

/// A response's status, headers and JSON body (`Value::Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    async fn from(response: Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body reads");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Self {
            status,
            headers,
            body,
            text,
        }
    }

    /// Asserts HubSpot's error envelope and returns the body.
    pub fn assert_error(&self, status: u16, category: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.body["status"], "error", "body: {}", self.text);
        assert_eq!(self.body["category"], category, "body: {}", self.text);
        let correlation = self.body["correlationId"].as_str().expect("correlationId");
        assert_eq!(
            self.headers["x-hubspot-correlation-id"].to_str().unwrap(),
            correlation
        );
        assert_eq!(
            self.headers["content-type"].to_str().unwrap(),
            "application/json;charset=utf-8"
        );
        &self.body
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A request with this app's token (or `token`), a raw body and no other header.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        Reply::from(request.send().await.expect("request is sent")).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send_raw(method, path, Some(&self.token), body.map(|b| b.to_string()))
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str) -> Reply {
        self.send(Method::PUT, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Asks to create a call with `properties` (plus an `hs_timestamp` if missing).
    pub async fn create_call_reply(&self, mut properties: Value) -> Reply {
        if properties.get("hs_timestamp").is_none() {
            properties["hs_timestamp"] = json!("2025-04-24T20:01:33.000Z");
        }
        self.post("/crm/v3/objects/calls", json!({ "properties": properties }))
            .await
    }

    /// Creates a call with `properties` (plus an `hs_timestamp` if missing); returns its id.
    pub async fn create_call(&self, properties: Value) -> String {
        let reply = self.create_call_reply(properties).await;
        assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a record of the type at `type_path` (`contacts`, `companies`, `deals`, …)
    /// with `properties` as given; returns its id.
    pub async fn create_record(&self, type_path: &str, properties: Value) -> String {
        let reply = self
            .post(
                &format!("/crm/v3/objects/{type_path}"),
                json!({ "properties": properties }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "creating {type_path}: {}",
            reply.text
        );
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a contact with an email no other contact has; returns its id.
    pub async fn create_contact(&self) -> String {
        self.create_record("contacts", json!({ "email": unique_email() }))
            .await
    }

    /// Creates `count` contacts (see [`TestApp::create_contact`]); returns their ids in
    /// creation order.
    pub async fn create_contacts(&self, count: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            ids.push(self.create_contact().await);
        }
        ids
    }

    /// Creates a record of the type at `type_path` with just what a create of that type
    /// needs (a unique email for a contact, a name, a pipeline stage, …); returns its id.
    pub async fn create_minimal(&self, type_path: &str) -> String {
        self.create_record(type_path, minimal_properties(type_path))
            .await
    }
}

/// An email address no other test uses (contacts' `email` is unique per portal).
pub fn unique_email() -> String {
    format!("{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The least a create of the type at `type_path` needs (see [`TestApp::create_minimal`]).
pub fn minimal_properties(type_path: &str) -> Value {
    match type_path {
        "contacts" => json!({ "email": unique_email() }),
        "companies" => json!({ "name": "Test company" }),
        "deals" => json!({ "dealname": "Test deal", "dealstage": "appointmentscheduled" }),
        "tickets" => json!({ "subject": "Test ticket", "hs_pipeline_stage": "1" }),
        "calls" | "notes" | "meetings" | "tasks" => {
            json!({ "hs_timestamp": "2025-04-24T20:01:33.000Z" })
        }
        "emails" => {
            json!({ "hs_timestamp": "2025-04-24T20:01:33.000Z", "hs_email_direction": "EMAIL" })
        }
        "products" => json!({ "name": "Test product", "price": "100" }),
        "line_items" => json!({ "name": "Test line item", "quantity": "1", "price": "100" }),
        other => panic!("no minimal properties known for {other}"),
    }
}

// ----- store-level tests ------------------------------------------------------------------

/// A SQLite file store in `dir`, with its search index built.
pub fn open_file_store(dir: &std::path::Path) -> hubcalls::store::SqliteStore {
    let store = hubcalls::store::SqliteStore::open(dir).expect("store opens");
    store.wait_for_index().expect("index builds");
    store
}

/// A new call of portal 1 with a fresh id of `store` and only a title.
pub fn titled_call(
    store: &dyn hubcalls::crm::ports::Store,
    title: &str,
) -> hubcalls::crm::ports::NewRecord {
    let id = store
        .allocate_ids(hubcalls::crm::objects::Partition::calls(1), 1)
        .expect("an id")[0];
    hubcalls::crm::ports::NewRecord {
        call: hubcalls::crm::record::Record {
            id,
            properties: std::collections::BTreeMap::from([(
                "hs_call_title".to_owned(),
                title.to_owned(),
            )]),
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_000,
            archived_at: None,
        },
        changes: Vec::new(),
        associations: Vec::new(),
    }
}

/// Puts contacts with exactly `ids` into `portal` of `store`, for tests that name contacts
/// by fixed ids below the API (associations now need their records to exist).
pub fn restore_contacts(
    store: &dyn hubcalls::crm::ports::Store,
    portal: hubcalls::crm::record::PortalId,
    ids: &[u64],
) {
    use hubcalls::crm::objects::{ObjectType, Partition};
    let contacts: Vec<hubcalls::crm::ports::RestoredRecord> = ids
        .iter()
        .map(|&id| hubcalls::crm::ports::RestoredRecord {
            call: hubcalls::crm::record::Record {
                id,
                properties: std::collections::BTreeMap::from([(
                    "hs_object_id".to_owned(),
                    id.to_string(),
                )]),
                created_at: 1_700_000_000_000,
                updated_at: 1_700_000_000_000,
                archived_at: None,
            },
            history: Vec::new(),
            associations: Vec::new(),
        })
        .collect();
    store
        .restore_records(
            Partition::new(portal, ObjectType::CONTACTS),
            ObjectType::CONTACTS.catalogue(),
            &contacts,
        )
        .expect("contacts are restored");
}

// ----- the admin API (fixtures and export) -------------------------------------------------

/// The admin token of servers started by [`spawn_admin_app`].
pub const ADMIN_TOKEN: &str = "admin-secret";

/// Starts a server (on a store of its own) with the admin API on. Its request limit is long:
/// loading a large fixture on PostgreSQL takes a while on a small machine.
pub async fn spawn_admin_app() -> TestApp {
    let mut config = Config::in_memory("127.0.0.1:0".parse().unwrap(), grants());
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    config.http.request_timeout_secs = 300;
    spawn_with(config).await
}

impl TestApp {
    /// The portal's NDJSON export through the admin API.
    pub async fn export_portal(&self, portal: u32) -> String {
        let response = self
            .client
            .get(self.url(&format!("/_hubcalls/portals/{portal}/export")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("export request is sent");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("export reads")
    }

    /// Loads an NDJSON fixture into the portal through the admin API (`query` is `""` or
    /// `"?reset=true"`).
    pub async fn load_fixture(&self, portal: u32, query: &str, body: &str) -> Reply {
        self.send_raw(
            Method::POST,
            &format!("/_hubcalls/portals/{portal}/fixtures{query}"),
            Some(ADMIN_TOKEN),
            Some(body.to_owned()),
        )
        .await
    }
}

/// The records of an export without its header (which carries the time of the export).
pub fn export_records(export: &str) -> Vec<Value> {
    export
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("each line is JSON"))
        .filter(|record| record["record"] != "header")
        .collect()
}

/// The problems of a refused fixture, as (line, message).
pub fn fixture_problems(reply: &Reply) -> Vec<(String, String)> {
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["context"]["line"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
