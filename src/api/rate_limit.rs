//! HubSpot's rate limits, for integrations that want to rehearse their retry logic (off by
//! default): a rolling ten-second burst window per app, a daily quota per account, search at
//! a few requests per second per account (and exempt from the burst window), the
//! `X-HubSpot-RateLimit-*` headers (none on search) and HubSpot's 429 bodies.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::settings::RateLimits;
use crate::crm::record::PortalId;
use crate::crm::time::now_millis;

use super::auth::Principal;
use super::error::ApiError;

const BURST_WINDOW: Duration = Duration::from_secs(10);
const SEARCH_WINDOW: Duration = Duration::from_secs(1);
const MILLIS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Default)]
struct Usage {
    /// Request instants in the rolling window, per (portal, app).
    burst: HashMap<(PortalId, u64), VecDeque<Instant>>,
    /// Search request instants in the last second, per portal.
    search: HashMap<PortalId, VecDeque<Instant>>,
    /// (UTC day, requests that day) per portal.
    daily: HashMap<PortalId, (i64, u64)>,
}

/// The limiter shared by all requests.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limits: RateLimits,
    usage: Arc<Mutex<Usage>>,
}

/// Keeps only the instants within `window` of `now`.
fn trim(window: &mut VecDeque<Instant>, now: Instant, length: Duration) {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= length)
    {
        window.pop_front();
    }
}

enum Verdict {
    /// Allowed; the headers to add (none for search).
    Allowed(Vec<(&'static str, String)>),
    Refused(ApiError),
}

fn rate_limit_error(message: &str, fields: Vec<(&'static str, String)>) -> ApiError {
    let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITS", message);
    // HubSpot's burst and daily 429s carry `errorType`/`policyName` instead of `category`.
    if !fields.is_empty() {
        error.category = None;
    }
    error.extra_fields = fields;
    error
}

/// HubSpot's 429 for the daily quota.
pub(super) fn daily_limit_error() -> ApiError {
    rate_limit_error(
        "You have reached your daily limit.",
        vec![
            ("errorType", "RATE_LIMIT".to_owned()),
            ("policyName", "DAILY".to_owned()),
        ],
    )
}

/// HubSpot's 429 for search's per-second limit.
pub(super) fn secondly_limit_error() -> ApiError {
    rate_limit_error("You have reached your secondly limit.", Vec::new())
}

/// HubSpot's 429 for the ten-second burst window of the principal's app.
pub(super) fn burst_limit_error(principal: &Principal) -> ApiError {
    rate_limit_error(
        "You have reached your ten_secondly_rolling limit.",
        vec![
            ("errorType", "RATE_LIMIT".to_owned()),
            ("policyName", "TEN_SECONDLY_ROLLING".to_owned()),
            (
                "groupName",
                format!(
                    "publicapi:private_app-api-calls-ten-secondly:{}:{}",
                    principal.app_id, principal.portal
                ),
            ),
        ],
    )
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            usage: Arc::new(Mutex::new(Usage::default())),
        }
    }

    fn check(&self, principal: &Principal, search: bool) -> Verdict {
        let now = Instant::now();
        let today = now_millis().div_euclid(MILLIS_PER_DAY);
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let (day, used_today) = usage
            .daily
            .get(&principal.portal)
            .copied()
            .filter(|(day, _)| *day == today)
            .unwrap_or((today, 0));
        let daily = self.limits.daily();
        if used_today >= daily {
            return Verdict::Refused(daily_limit_error());
        }
        if search {
            let window = usage.search.entry(principal.portal).or_default();
            trim(window, now, SEARCH_WINDOW);
            if window.len() as u64 >= self.limits.search_per_second() {
                return Verdict::Refused(secondly_limit_error());
            }
            window.push_back(now);
            usage.daily.insert(principal.portal, (day, used_today + 1));
            return Verdict::Allowed(Vec::new());
        }
        let burst = self.limits.burst_per_ten_seconds();
        let window = usage
            .burst
            .entry((principal.portal, principal.app_id))
            .or_default();
        trim(window, now, BURST_WINDOW);
        if window.len() as u64 >= burst {
            return Verdict::Refused(burst_limit_error(principal));
        }
        window.push_back(now);
        let remaining = burst - window.len() as u64;
        usage.daily.insert(principal.portal, (day, used_today + 1));
        Verdict::Allowed(vec![
            ("x-hubspot-ratelimit-daily", daily.to_string()),
            (
                "x-hubspot-ratelimit-daily-remaining",
                (daily - used_today - 1).to_string(),
            ),
            (
                "x-hubspot-ratelimit-interval-milliseconds",
                "10000".to_owned(),
            ),
            ("x-hubspot-ratelimit-max", burst.to_string()),
            ("x-hubspot-ratelimit-remaining", remaining.to_string()),
        ])
    }
}

/// The `X-HubSpot-RateLimit-*` headers an allowed request's answer carries.
pub struct LimitHeaders(Vec<(&'static str, String)>);

impl LimitHeaders {
    /// Adds the headers to the answer.
    pub fn stamp(self, response: &mut Response) {
        for (name, value) in self.0 {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
    }
}

impl RateLimiter {
    /// Counts an authenticated request against the limits: the headers for its answer, or
    /// HubSpot's 429 when a limit is reached.
    pub fn admit(&self, principal: &Principal, path: &str) -> Result<LimitHeaders, ApiError> {
        let search = path.ends_with("/search");
        match self.check(principal, search) {
            Verdict::Refused(error) => Err(error),
            Verdict::Allowed(headers) => Ok(LimitHeaders(headers)),
        }
    }
}
