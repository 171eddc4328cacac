//! One configuration, from flags, `HUBCALLS_*` environment variables and an optional TOML
//! file (flags and environment win over the file).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

// The settings each layer owns, re-exported here where embedders (and the tests) have always
// found what a `Config` carries.
pub use crate::api::settings::{
    full_scopes, FaultKind, FaultLatency, FaultRule, FaultSettings, HttpLimits, RateLimits, Tier,
    TokenGrant,
};
use crate::crm::owners::OwnerSettings;
use crate::crm::record::PortalId;
use crate::crm::search::SearchLimits;
use crate::crm::write_rules::WriteRuleSettings;
pub use crate::store::postgres::PostgresSettings;
pub use crate::store::sharded::{ShardLayout, ShardSettings};
use crate::webhooks::{DeliverySettings, WebhookSettings};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./hubcalls-data";
/// Where a generated token is kept, inside the data directory.
const TOKEN_FILE: &str = "token";

/// `--rate-limit-tier`: the account tiers of [`Tier`], as the command line spells them (the
/// API layer's type knows nothing of flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TierFlag {
    Free,
    Starter,
    Professional,
    Enterprise,
}

impl From<TierFlag> for Tier {
    fn from(flag: TierFlag) -> Self {
        match flag {
            TierFlag::Free => Tier::Free,
            TierFlag::Starter => Tier::Starter,
            TierFlag::Professional => Tier::Professional,
            TierFlag::Enterprise => Tier::Enterprise,
        }
    }
}

/// Flags of `hubcalls serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HUBCALLS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded database.
    #[arg(long, env = "HUBCALLS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory (nothing survives a restart).
    #[arg(long, env = "HUBCALLS_IN_MEMORY")]
    pub in_memory: bool,
    /// Store calls in PostgreSQL instead of the embedded store (`postgres://user@host/db`);
    /// several servers may share one database.
    #[arg(long, env = "HUBCALLS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// PostgreSQL schema to keep hubcalls' tables in (created if missing; default: the
    /// connection's search path, normally `public`).
    #[arg(long, env = "HUBCALLS_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// TOML configuration file (tokens, limits).
    #[arg(long, env = "HUBCALLS_CONFIG")]
    pub config: Option<PathBuf>,
    /// A single full-scope token for portal 1 (instead of the config file's tokens).
    #[arg(long, env = "HUBCALLS_TOKEN")]
    pub token: Option<String>,
    /// Token of the admin API (`/_hubcalls/...`: reset a portal, load a fixture, export);
    /// without it that API is off.
    #[arg(long, env = "HUBCALLS_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Apply HubSpot's rate limits of this account tier (off by default).
    #[arg(long, env = "HUBCALLS_RATE_LIMIT_TIER", value_enum)]
    pub rate_limit_tier: Option<TierFlag>,
    /// Delay, in milliseconds, before search sees a write (rehearses HubSpot's index lag).
    #[arg(long, env = "HUBCALLS_SEARCH_LAG_MS")]
    pub search_lag_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    #[serde(default)]
    tokens: Vec<TokenGrant>,
    #[serde(default)]
    search: SearchLimitsFile,
    #[serde(default)]
    http: HttpLimits,
    #[serde(default)]
    rate_limits: RateLimits,
    admin_token: Option<String>,
    max_database_bytes: Option<u64>,
    #[serde(default)]
    postgres: PostgresFile,
    #[serde(default)]
    webhooks: Vec<WebhookSettings>,
    #[serde(default)]
    webhook_delivery: DeliverySettings,
    #[serde(default)]
    owners: Vec<OwnerSettings>,
    #[serde(default)]
    validation_rules: Vec<WriteRuleSettings>,
    #[serde(default)]
    faults: Vec<FaultRule>,
    fault_seed: Option<u64>,
    search_lag_ms: Option<u64>,
}

/// The `[postgres]` section: where the shared store is and how it is used. Either one
/// database (`url`, `schema`) or several shards (`[[postgres.shards]]`); the pool and
/// timeouts apply to each database.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostgresFile {
    url: Option<String>,
    schema: Option<String>,
    pool_size: Option<u32>,
    statement_timeout_ms: Option<u64>,
    connect_timeout_secs: Option<u64>,
    #[serde(default)]
    shards: Vec<ShardFile>,
    /// The shard of every portal no shard lists (default: the first shard).
    default_shard: Option<String>,
    /// Portals being moved between shards: their requests are refused (503) meanwhile.
    #[serde(default)]
    moving_portals: Vec<PortalId>,
}

/// One `[[postgres.shards]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardFile {
    name: String,
    url: String,
    schema: Option<String>,
    #[serde(default)]
    portals: Vec<PortalId>,
    /// Which id range the shard hands out ids from (default: its position in the list).
    id_range: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchLimitsFile {
    max_filter_groups: Option<usize>,
    max_filters_per_group: Option<usize>,
    max_filters: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    Memory,
    Directory(PathBuf),
    Postgres(PostgresSettings),
    /// Several PostgreSQL databases, portals spread over them.
    Sharded(ShardLayout),
}

/// Where the token printed at start-up came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    Configured,
    Generated,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub storage: Storage,
    pub tokens: Vec<TokenGrant>,
    pub token_origin: TokenOrigin,
    pub search_limits: SearchLimits,
    pub http: HttpLimits,
    pub rate_limits: RateLimits,
    /// Token of the admin API; `None` turns that API off.
    pub admin_token: Option<String>,
    /// A cap on the database size: past it, writes answer 503 (as on a full disk) while
    /// reads go on.
    pub max_database_bytes: Option<u64>,
    /// Webhook settings of portals (`[[webhooks]]`); the admin API can change them.
    pub webhooks: Vec<WebhookSettings>,
    /// How webhooks are batched, timed out and retried (`[webhook_delivery]`).
    pub webhook_delivery: DeliverySettings,
    /// The portals' owners (`[[owners]]`), served read-only by the owners API.
    pub owners: Vec<OwnerSettings>,
    /// The portals' write validation rules (`[[validation_rules]]`), enforced on the
    /// `2026-09` API paths; the admin API can change them.
    pub validation_rules: Vec<WriteRuleSettings>,
    /// Things an operator should fix, printed at start-up (e.g. a token file others can read).
    pub warnings: Vec<String>,
    /// Injected latency and failures (none by default).
    pub faults: FaultSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot keep the generated token in {path}: {source}")]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Config {
    /// A configuration for tests and embedding: in memory, on `listen`, with given tokens.
    pub fn in_memory(listen: SocketAddr, tokens: Vec<TokenGrant>) -> Self {
        Self {
            listen,
            storage: Storage::Memory,
            tokens,
            token_origin: TokenOrigin::Configured,
            search_limits: SearchLimits::default(),
            http: HttpLimits::default(),
            rate_limits: RateLimits::default(),
            admin_token: None,
            max_database_bytes: None,
            webhooks: Vec::new(),
            webhook_delivery: DeliverySettings::default(),
            owners: Vec::new(),
            validation_rules: Vec::new(),
            warnings: Vec::new(),
            faults: FaultSettings::default(),
        }
    }

    /// Resolves flags, environment and file into one configuration. With no token
    /// configured anywhere, one is generated (and kept in the data directory).
    pub fn resolve(args: ServeArgs) -> Result<Self, ConfigError> {
        let mut warnings = Vec::new();
        let file = match &args.config {
            Some(path) => {
                warnings.extend(readable_by_others(path));
                read_config_file(path)?
            }
            None => ConfigFile::default(),
        };
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address parses"));
        let storage = resolve_storage(&args, &file).map_err(|message| ConfigError::Invalid {
            path: args.config.clone().unwrap_or_default(),
            message,
        })?;
        let mut search_limits = SearchLimits::default();
        if let Some(n) = file.search.max_filter_groups {
            search_limits.max_groups = n;
        }
        if let Some(n) = file.search.max_filters_per_group {
            search_limits.max_filters_per_group = n;
        }
        if let Some(n) = file.search.max_filters {
            search_limits.max_filters = n;
        }
        let (tokens, token_origin) = match (args.token, file.tokens) {
            (Some(token), _) => (
                vec![TokenGrant::full_access(token, 1)],
                TokenOrigin::Configured,
            ),
            (None, tokens) if !tokens.is_empty() => (tokens, TokenOrigin::Configured),
            (None, _) => (
                vec![TokenGrant::full_access(generated_token(&storage)?, 1)],
                TokenOrigin::Generated,
            ),
        };
        let mut config = Self::in_memory(listen, tokens);
        config.storage = storage;
        config.token_origin = token_origin;
        config.search_limits = search_limits;
        config.http = file.http;
        config.rate_limits = file.rate_limits;
        config.admin_token = args.admin_token.or(file.admin_token);
        config.max_database_bytes = file.max_database_bytes;
        config.webhooks = file.webhooks;
        config.webhook_delivery = file.webhook_delivery;
        config.owners = file.owners;
        config.validation_rules = file.validation_rules;
        config.faults = FaultSettings {
            rules: file.faults,
            seed: file.fault_seed,
        };
        config
            .faults
            .validate()
            .map_err(|message| ConfigError::Invalid {
                path: args.config.clone().unwrap_or_default(),
                message,
            })?;
        config.search_limits.index_lag_ms = args.search_lag_ms.or(file.search_lag_ms).unwrap_or(0);
        if let Some(tier) = args.rate_limit_tier {
            config.rate_limits.tier = Some(tier.into());
        }
        if let (TokenOrigin::Generated, Storage::Directory(dir)) =
            (&config.token_origin, &config.storage)
        {
            warnings.extend(readable_by_others(&dir.join(TOKEN_FILE)));
        }
        config.warnings = warnings;
        Ok(config)
    }
}

/// The store the flags and the file ask for. The most explicit choice wins: memory, then
/// PostgreSQL (one database or shards, not both), then a directory.
fn resolve_storage(args: &ServeArgs, file: &ConfigFile) -> Result<Storage, String> {
    if args.in_memory {
        return Ok(Storage::Memory);
    }
    let postgres = &file.postgres;
    let database_url = args.database_url.clone().or(postgres.url.clone());
    let with_file_limits = |mut settings: PostgresSettings| {
        if let Some(n) = postgres.pool_size {
            settings.pool_size = n;
        }
        if let Some(ms) = postgres.statement_timeout_ms {
            settings.statement_timeout_ms = ms;
        }
        if let Some(secs) = postgres.connect_timeout_secs {
            settings.connect_timeout_secs = secs;
        }
        settings
    };
    if !postgres.shards.is_empty() {
        if database_url.is_some() || args.database_schema.is_some() || postgres.schema.is_some() {
            return Err(
                "[[postgres.shards]] and a single database (url, schema, --database-url, \
                 --database-schema) are both set: choose one"
                    .to_owned(),
            );
        }
        let shards = postgres
            .shards
            .iter()
            .enumerate()
            .map(|(position, shard)| {
                let mut settings = with_file_limits(PostgresSettings::new(shard.url.clone()));
                settings.schema = shard.schema.clone();
                ShardSettings {
                    name: shard.name.clone(),
                    postgres: settings,
                    portals: shard.portals.clone(),
                    id_range: shard
                        .id_range
                        .unwrap_or(u32::try_from(position).unwrap_or(u32::MAX)),
                }
            })
            .collect();
        let layout = ShardLayout::new(
            shards,
            postgres.default_shard.as_deref(),
            postgres.moving_portals.clone(),
        )
        .map_err(|problem| format!("[[postgres.shards]]: {problem}"))?;
        return Ok(Storage::Sharded(layout));
    }
    if postgres.default_shard.is_some() || !postgres.moving_portals.is_empty() {
        return Err("default_shard and moving_portals need [[postgres.shards]]".to_owned());
    }
    if let Some(url) = database_url {
        let mut settings = with_file_limits(PostgresSettings::new(url));
        settings.schema = args.database_schema.clone().or(postgres.schema.clone());
        return Ok(Storage::Postgres(settings));
    }
    Ok(Storage::Directory(
        args.data_dir
            .clone()
            .or(file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
    ))
}

/// The store a configuration file asks for (its `[postgres]` section, or its `data_dir`),
/// for commands that work on the store itself (`move-portal`, `migrate-store`).
pub fn storage_of_file(path: &Path) -> Result<Storage, ConfigError> {
    let file = read_config_file(path)?;
    resolve_storage(&ServeArgs::default(), &file).map_err(|message| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    })
}

fn read_config_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// A private-app-style token, kept in the data directory so it stays the same across
/// restarts (in memory, a new one each start).
fn generated_token(storage: &Storage) -> Result<String, ConfigError> {
    let fresh = || format!("pat-local-{}", uuid::Uuid::new_v4());
    let Storage::Directory(dir) = storage else {
        return Ok(fresh());
    };
    let path = dir.join(TOKEN_FILE);
    let token_error = |source| ConfigError::TokenFile {
        path: path.clone(),
        source,
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.to_owned());
        }
    }
    std::fs::create_dir_all(dir).map_err(token_error)?;
    let token = fresh();
    write_private_file(&path, &token).map_err(token_error)?;
    Ok(token)
}

/// A warning when a file that holds tokens can be read by other users.
fn readable_by_others(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            format!(
                "{} holds tokens and is readable by other users (mode {mode:o}); run: chmod 600 {}",
                path.display(),
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Writes a file only its owner can read: it holds a credential.
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_entries_parse() {
        let file: ConfigFile = toml::from_str(
            r#"
            [[tokens]]
            token = "pat-local-readonly"
            portal = 1
            scopes = ["crm.objects.contacts.read"]

            [[tokens]]
            token = "pat-other"
            portal = 2
            "#,
        )
        .unwrap();
        assert_eq!(file.tokens[0].scopes, vec!["crm.objects.contacts.read"]);
        assert_eq!(file.tokens[1].scopes, full_scopes());
        assert_eq!(file.tokens[1].portal, 2);
    }

    #[test]
    fn webhook_entries_parse() {
        let file: ConfigFile = toml::from_str(
            r#"
            [[webhooks]]
            portal = 1
            target_url = "http://127.0.0.1:9000/hook"
            app_id = 42
            client_secret = "s3cret"

            [[webhooks.subscriptions]]
            subscription_type = "object.propertyChange"
            property_name = "hs_call_title"

            [webhook_delivery]
            retry_base_ms = 10
            "#,
        )
        .unwrap();
        let hook = &file.webhooks[0];
        assert_eq!((hook.portal, hook.app_id), (Some(1), 42));
        assert_eq!(hook.max_concurrent_requests, 10);
        assert_eq!(
            hook.subscriptions[0].property_name.as_deref(),
            Some("hs_call_title")
        );
        assert!(hook.subscriptions[0].active);
        assert_eq!(file.webhook_delivery.retry_base_ms, 10);
        assert_eq!(file.webhook_delivery.max_retries, 10);
    }

    #[test]
    fn validation_rule_entries_parse() {
        let file: ConfigFile = toml::from_str(
            r#"
            [[validation_rules]]
            portal = 1
            object_type = "deals"
            required_on_create = ["amount"]
            conditional = [{ property = "closed_lost_reason", when_property = "dealstage", values = ["closedlost"] }]
            "#,
        )
        .unwrap();
        let entry = &file.validation_rules[0];
        assert_eq!((entry.portal, entry.object_type.as_str()), (1, "deals"));
        assert_eq!(entry.rules.required_on_create, ["amount"]);
        assert_eq!(entry.rules.conditional[0].when_property, "dealstage");
        let unknown: Result<ConfigFile, _> = toml::from_str(
            "[[validation_rules]]\nportal = 1\nobject_type = \"deals\"\nrequired = [\"amount\"]\n",
        );
        assert!(unknown.is_err(), "a misspelt key is refused");
    }

    #[test]
    fn owner_entries_parse() {
        let file: ConfigFile = toml::from_str(
            r#"
            [[owners]]
            portal = 1
            id = 41629779
            email = "ada@example.com"
            firstName = "Ada"
            lastName = "Lovelace"
            userId = 9586504
            teams = [{ id = "178588", name = "West Coast Sales", primary = true }]
            "#,
        )
        .unwrap();
        assert_eq!(file.owners[0].id.0, 41_629_779);
        assert_eq!(file.owners[0].teams[0].name, "West Coast Sales");
        assert!(full_scopes().contains(&"crm.objects.owners.read".to_owned()));
    }

    #[cfg(unix)]
    #[test]
    fn loose_token_files_are_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubcalls.toml");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(readable_by_others(&path).unwrap().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(readable_by_others(&path).is_none());
    }

    #[test]
    fn fault_rules_parse_and_are_checked() {
        let file: ConfigFile = toml::from_str(
            r#"
            fault_seed = 7
            search_lag_ms = 1500

            [[faults]]
            route = "/crm/v3/objects/calls/*"
            method = "POST"
            rate = 0.25
            latency_ms = [50, 200]
            error = "429"

            [[faults]]
            route = "/crm/v3/objects/calls"
            error = "drop"
            "#,
        )
        .unwrap();
        assert_eq!(
            file.faults[0].latency_ms,
            Some(FaultLatency::Range([50, 200]))
        );
        assert_eq!(file.faults[0].error, Some(FaultKind::RateLimited));
        assert_eq!(file.faults[1].rate, 1.0);
        assert_eq!(file.faults[1].error, Some(FaultKind::Drop));
        assert_eq!((file.fault_seed, file.search_lag_ms), (Some(7), Some(1500)));
        let mut rule = file.faults[0].clone();
        assert!(rule.validate().is_ok());
        rule.rate = 1.5;
        assert!(rule.validate().unwrap_err().contains("between 0 and 1"));
        rule.rate = 1.0;
        rule.latency_ms = Some(FaultLatency::Range([9, 3]));
        assert!(rule.validate().unwrap_err().contains("reversed"));
        assert!(
            toml::from_str::<ConfigFile>("[[faults]]\nroute = \"/\"\nerror = \"418\"").is_err()
        );
    }

    fn storage_of(toml: &str) -> Result<Storage, String> {
        resolve_storage(
            &ServeArgs::default(),
            &toml::from_str(toml).map_err(|e| e.to_string())?,
        )
    }

    #[test]
    fn shards_parse_into_a_layout() {
        let storage = storage_of(
            r#"
            [postgres]
            pool_size = 4
            default_shard = "b"
            moving_portals = [9]

            [[postgres.shards]]
            name = "a"
            url = "postgres://db-a/hubcalls"
            portals = [1, 2]

            [[postgres.shards]]
            name = "b"
            url = "postgres://db-b/hubcalls"
            schema = "crm"
            id_range = 5
            "#,
        )
        .unwrap();
        let Storage::Sharded(layout) = storage else {
            panic!("not sharded: {storage:?}");
        };
        let [a, b] = layout.shards() else {
            panic!("two shards");
        };
        assert_eq!((a.id_range, b.id_range), (0, 5));
        assert_eq!(
            (a.postgres.pool_size, b.postgres.schema.as_deref()),
            (4, Some("crm"))
        );
        assert_eq!((layout.shard_of(2), layout.shard_of(3)), (0, 1));
        assert!(layout.is_moving(9));
    }

    #[test]
    fn one_database_is_configured_as_before() {
        let storage = storage_of("[postgres]\nurl = \"postgres://db/x\"\nschema = \"s\"").unwrap();
        let Storage::Postgres(settings) = storage else {
            panic!("not one database: {storage:?}");
        };
        assert_eq!(settings.schema.as_deref(), Some("s"));
    }

    #[test]
    fn shards_and_one_database_do_not_mix_and_layouts_are_checked() {
        let shard = "[[postgres.shards]]\nname = \"a\"\nurl = \"postgres://db/a\"\nportals = [1]\n";
        assert!(
            storage_of(&format!("[postgres]\nurl = \"postgres://db/x\"\n{shard}"))
                .unwrap_err()
                .contains("choose one")
        );
        assert!(
            storage_of(&format!("{shard}{}", shard.replace("db/a", "db/b")))
                .unwrap_err()
                .contains("two shards are named")
        );
        assert!(storage_of("[postgres]\nmoving_portals = [1]")
            .unwrap_err()
            .contains("need [[postgres.shards]]"));
        let args = ServeArgs {
            database_url: Some("postgres://db/x".into()),
            ..ServeArgs::default()
        };
        let file: ConfigFile = toml::from_str(shard).unwrap();
        assert!(resolve_storage(&args, &file)
            .unwrap_err()
            .contains("choose one"));
    }

    #[test]
    fn generated_token_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::Directory(dir.path().to_owned());
        let first = generated_token(&storage).unwrap();
        assert!(first.starts_with("pat-local-"));
        assert_eq!(generated_token(&storage).unwrap(), first);
    }
}
