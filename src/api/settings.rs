//! The settings of the API layer: tokens and their scopes, HTTP limits, HubSpot's rate
//! limits and fault rehearsal. `config.rs` reads them from flags, environment and TOML (they
//! derive `Deserialize` for that) and hands them to [`super::router`].

use serde::Deserialize;

use crate::crm::record::PortalId;

/// HubSpot account tiers, which set the rate limits of private apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Starter,
    Professional,
    Enterprise,
}

/// HubSpot's rate limits (off unless a tier is set); each number can be overridden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub tier: Option<Tier>,
    pub burst_per_ten_seconds: Option<u64>,
    pub daily: Option<u64>,
    pub search_per_second: Option<u64>,
}

impl RateLimits {
    pub fn enabled(&self) -> bool {
        self.tier.is_some()
    }

    /// Requests per rolling ten seconds per app (HubSpot: 100 Free/Starter, 190 above).
    pub fn burst_per_ten_seconds(&self) -> u64 {
        self.burst_per_ten_seconds.unwrap_or(match self.tier {
            Some(Tier::Professional | Tier::Enterprise) => 190,
            _ => 100,
        })
    }

    /// Requests per day per account (HubSpot: 250,000 / 625,000 / 1,000,000).
    pub fn daily(&self) -> u64 {
        self.daily.unwrap_or(match self.tier {
            Some(Tier::Professional) => 625_000,
            Some(Tier::Enterprise) => 1_000_000,
            _ => 250_000,
        })
    }

    /// Search requests per second per account (HubSpot: 5).
    pub fn search_per_second(&self) -> u64 {
        self.search_per_second.unwrap_or(5)
    }
}

/// A token and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenGrant {
    pub token: String,
    pub portal: PortalId,
    #[serde(default = "full_scopes")]
    pub scopes: Vec<String>,
    /// The private app the token belongs to (shown as `sourceId` in property history).
    #[serde(default = "default_app_id")]
    pub app_id: u64,
}

/// Scopes of a token that may do everything: every scope of every object type, and those of
/// the APIs around them (owners, object schemas) that a HubSpot portal grants.
pub fn full_scopes() -> Vec<String> {
    let mut scopes: Vec<String> = crate::crm::objects::ObjectType::all()
        .flat_map(|t| t.read_scopes.iter().chain(t.write_scopes))
        .chain(crate::crm::owners::READ_SCOPES)
        .chain(crate::crm::objects::SCHEMA_READ_SCOPES)
        .map(|s| (*s).to_owned())
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

fn default_app_id() -> u64 {
    1
}

impl TokenGrant {
    pub fn full_access(token: impl Into<String>, portal: PortalId) -> Self {
        Self {
            token: token.into(),
            portal,
            scopes: full_scopes(),
            app_id: default_app_id(),
        }
    }
}

/// Limits that keep one client from holding or flooding the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Largest request body accepted, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Longest request target (path and query) accepted, in bytes (414 above).
    pub max_uri_bytes: usize,
    /// Requests served at once; more wait for a slot (back-pressure, not failure).
    pub max_concurrent_requests: usize,
    /// Longest time one request may take, in seconds (408 after).
    pub request_timeout_secs: u64,
    /// Longest time a client may take to send a request's headers, in seconds; the
    /// connection is closed after it, so slow clients cannot hold connections open.
    pub header_read_timeout_secs: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            max_uri_bytes: 16 * 1024,
            max_concurrent_requests: 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
        }
    }
}

/// Fault rehearsal: `[[faults]]` rules of the config file (and of the admin API), and the
/// seed that makes their dice reproducible (`fault_seed`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSettings {
    pub rules: Vec<FaultRule>,
    /// Seeds the random draws, so a run can be repeated exactly; `None` seeds from the OS.
    pub seed: Option<u64>,
}

impl FaultSettings {
    pub fn validate(&self) -> Result<(), String> {
        self.rules.iter().try_for_each(FaultRule::validate)
    }
}

/// One rule: requests matching `route` (and `method`) get `latency_ms` and/or `error`, each
/// time with probability `rate`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The request path; `*` matches any run of characters (e.g. `/crm/v3/objects/calls/*`).
    pub route: String,
    /// Only this HTTP method (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Chance, from 0 to 1, that a matching request is hit.
    #[serde(default = "always")]
    pub rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<FaultLatency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FaultKind>,
}

fn always() -> f64 {
    1.0
}

impl FaultRule {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(format!(
                "fault rule for {}: rate must be between 0 and 1, not {}",
                self.route, self.rate
            ));
        }
        if let Some(FaultLatency::Range([low, high])) = self.latency_ms {
            if low > high {
                return Err(format!(
                    "fault rule for {}: latency range [{low}, {high}] is reversed",
                    self.route
                ));
            }
        }
        if self.latency_ms.is_none() && self.error.is_none() {
            return Err(format!(
                "fault rule for {}: give latency_ms, error or both",
                self.route
            ));
        }
        Ok(())
    }
}

/// Added latency: a fixed number of milliseconds or a `[low, high]` range drawn uniformly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum FaultLatency {
    Fixed(u64),
    Range([u64; 2]),
}

/// What a hit request gets instead of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum FaultKind {
    /// HubSpot's burst-window 429 (its search endpoints' "secondly" 429 on search paths).
    #[serde(rename = "429")]
    RateLimited,
    /// HubSpot's daily-quota 429.
    #[serde(rename = "429-daily")]
    DailyLimit,
    #[serde(rename = "500")]
    Internal,
    #[serde(rename = "502")]
    BadGateway,
    #[serde(rename = "503")]
    Unavailable,
    #[serde(rename = "504")]
    GatewayTimeout,
    /// The connection is closed without an answer.
    #[serde(rename = "drop")]
    Drop,
}
