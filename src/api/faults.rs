//! Fault rehearsal (off by default): added latency, HubSpot's 429s, 5xx answers and dropped
//! connections, so integrations can test that they cope.
//!
//! Faults come from rules (config `[[faults]]`, or the admin API at run time), each hitting
//! a matching request with a configured probability, or from a request itself: the
//! `X-Hubcalls-Fault` header, honoured only next to `X-Hubcalls-Admin-Token` carrying the
//! admin token, so an ordinary client can never trigger one.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::settings::{FaultKind, FaultLatency, FaultRule, FaultSettings};

use super::auth::{constant_time_eq, Principal};
use super::error::{json_response, ApiError};
use super::metrics::Metrics;
use super::rate_limit::{burst_limit_error, daily_limit_error, secondly_limit_error};

/// Names the faults a request asks for: `status=429`, `status=503`, `latency=200`,
/// `latency=100-300`, `drop`, comma-separated.
pub const FAULT_HEADER: HeaderName = HeaderName::from_static("x-hubcalls-fault");
/// Must carry the admin token for [`FAULT_HEADER`] to be honoured.
pub const ADMIN_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-hubcalls-admin-token");

/// Marks a response whose connection must be closed without sending it. The server's
/// connection loop (`App::run`) turns it into a service error, on which hyper drops the
/// connection; anything else that serves the router sees a plain 503.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// What one request gets: a delay first, then possibly a failure instead of its answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Injection {
    latency: Option<Duration>,
    error: Option<FaultKind>,
}

/// The rules in force and their dice, shared by every request.
pub struct FaultInjector {
    rules: RwLock<Vec<FaultRule>>,
    rng: Mutex<StdRng>,
    admin_token: Option<Arc<str>>,
    metrics: Metrics,
}

impl FaultInjector {
    pub fn new(settings: &FaultSettings, admin_token: Option<Arc<str>>, metrics: Metrics) -> Self {
        let rng = match settings.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            rules: RwLock::new(settings.rules.clone()),
            rng: Mutex::new(rng),
            admin_token,
            metrics,
        }
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace_rules(&self, rules: Vec<FaultRule>, seed: Option<u64>) {
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = rules;
        if let Some(seed) = seed {
            *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = StdRng::seed_from_u64(seed);
        }
    }

    /// Rolls the dice of every matching rule, in order: latencies add up; the first error
    /// drawn wins and ends the roll.
    fn roll(&self, method: &Method, path: &str) -> Injection {
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner());
        let mut injection = Injection::default();
        if rules.is_empty() {
            return injection;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        for rule in rules.iter().filter(|rule| rule_matches(rule, method, path)) {
            // `random` is in [0, 1): a rate of 1 always hits, a rate of 0 never does.
            if rng.random::<f64>() >= rule.rate {
                continue;
            }
            if let Some(latency) = rule.latency_ms {
                let millis = match latency {
                    FaultLatency::Fixed(ms) => ms,
                    FaultLatency::Range([low, high]) => rng.random_range(low..=high),
                };
                let total = injection.latency.unwrap_or_default() + Duration::from_millis(millis);
                injection.latency = Some(total);
            }
            if rule.error.is_some() {
                injection.error = rule.error;
                break;
            }
        }
        injection
    }

    /// The faults a request asks for, if it carries the admin token; an error if it asks
    /// without it or names no fault hubcalls knows.
    fn requested(&self, headers: &HeaderMap) -> Result<Option<Injection>, ApiError> {
        let Some(asked) = headers.get(&FAULT_HEADER) else {
            return Ok(None);
        };
        let given = headers
            .get(&ADMIN_TOKEN_HEADER)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        let allowed = self
            .admin_token
            .as_deref()
            .is_some_and(|expected| constant_time_eq(given, expected.as_bytes()));
        if !allowed {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "MISSING_SCOPES",
                "X-Hubcalls-Fault is honoured only with the admin token in X-Hubcalls-Admin-Token",
            ));
        }
        let asked = asked.to_str().map_err(|_| {
            ApiError::validation("X-Hubcalls-Fault must be ASCII: status=NNN, latency=MS, drop")
        })?;
        parse_fault_header(asked)
            .map(Some)
            .map_err(ApiError::validation)
    }
}

/// Reads `X-Hubcalls-Fault`.
fn parse_fault_header(text: &str) -> Result<Injection, String> {
    let mut injection = Injection::default();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        match (key.trim().to_ascii_lowercase().as_str(), value.trim()) {
            ("drop", "") => injection.error = Some(FaultKind::Drop),
            ("status", status) => {
                let kind = serde_json::from_value::<FaultKind>(status.into())
                    .ok()
                    .filter(|kind| *kind != FaultKind::Drop)
                    .ok_or_else(|| {
                        format!(
                            "X-Hubcalls-Fault: unknown status \"{status}\"; expected 429, 429-daily, 500, 502, 503 or 504"
                        )
                    })?;
                injection.error = Some(kind);
            }
            ("latency", millis) => {
                let bad = || {
                    format!("X-Hubcalls-Fault: latency \"{millis}\" is not milliseconds (e.g. 200 or 100-300)")
                };
                let ms = match millis.split_once('-') {
                    Some((low, high)) => {
                        let low: u64 = low.trim().parse().map_err(|_| bad())?;
                        let high: u64 = high.trim().parse().map_err(|_| bad())?;
                        if low > high {
                            return Err(bad());
                        }
                        rand::rng().random_range(low..=high)
                    }
                    None => millis.parse().map_err(|_| bad())?,
                };
                injection.latency = Some(Duration::from_millis(ms));
            }
            _ => {
                return Err(format!(
                "X-Hubcalls-Fault: cannot read \"{item}\"; expected status=NNN, latency=MS or drop"
            ))
            }
        }
    }
    if injection == Injection::default() {
        return Err(
            "X-Hubcalls-Fault names no fault; expected status=NNN, latency=MS or drop".into(),
        );
    }
    Ok(injection)
}

fn rule_matches(rule: &FaultRule, method: &Method, path: &str) -> bool {
    rule.method
        .as_deref()
        .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
        && glob_match(&rule.route, path)
}

/// `*` matches any run of characters (slashes included); everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty(); // no `*`: the whole path must be the pattern
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A gateway's HTML page, as HubSpot's load balancers answer 502 and 504 (not JSON).
fn gateway_page(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let page = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    let mut response = (status, page).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

fn fault_response(kind: FaultKind, principal: Option<&Principal>, path: &str) -> Response {
    match kind {
        FaultKind::RateLimited if path.ends_with("/search") => {
            secondly_limit_error().into_response()
        }
        FaultKind::RateLimited => match principal {
            Some(principal) => burst_limit_error(principal),
            None => secondly_limit_error(),
        }
        .into_response(),
        FaultKind::DailyLimit => daily_limit_error().into_response(),
        FaultKind::Internal => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "internal error",
        )
        .into_response(),
        FaultKind::Unavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable. Please retry.",
        )
        .into_response(),
        FaultKind::BadGateway => gateway_page(StatusCode::BAD_GATEWAY),
        FaultKind::GatewayTimeout => gateway_page(StatusCode::GATEWAY_TIMEOUT),
        FaultKind::Drop => {
            let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
            response.extensions_mut().insert(DropConnection);
            response
        }
    }
}

fn kind_label(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::RateLimited => "429",
        FaultKind::DailyLimit => "429-daily",
        FaultKind::Internal => "500",
        FaultKind::BadGateway => "502",
        FaultKind::Unavailable => "503",
        FaultKind::GatewayTimeout => "504",
        FaultKind::Drop => "drop",
    }
}

/// What the rules or the request ask of one request: a delay before it is served, and an
/// answer to send in its place.
#[derive(Default)]
pub struct FaultPlan {
    pub latency: Option<Duration>,
    pub answer: Option<Response>,
}

impl FaultInjector {
    /// The faults for a request (after authentication). Costs one header lookup and a look
    /// at the empty rules while none is set.
    pub fn plan(&self, request: &Request) -> FaultPlan {
        let injection = match self.requested(request.headers()) {
            Ok(Some(asked)) => asked,
            Ok(None) => self.roll(request.method(), request.uri().path()),
            Err(error) => {
                return FaultPlan {
                    latency: None,
                    answer: Some(error.into_response()),
                }
            }
        };
        if injection.latency.is_some() {
            self.metrics.observe_fault("latency");
        }
        let answer = injection.error.map(|kind| {
            self.metrics.observe_fault(kind_label(kind));
            let principal = request.extensions().get::<Principal>();
            fault_response(kind, principal, request.uri().path())
        });
        FaultPlan {
            latency: injection.latency,
            answer,
        }
    }
}

/// The rules as the admin API shows and takes them.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRulesBody {
    pub rules: Vec<FaultRule>,
    /// Reseeds the dice (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// `GET /_hubcalls/faults`: the rules in force.
pub async fn show_rules(State(injector): State<Arc<FaultInjector>>) -> Response {
    json_response(
        StatusCode::OK,
        &FaultRulesBody {
            rules: injector.rules(),
            seed: None,
        },
    )
}

/// `PUT /_hubcalls/faults`: replaces the rules (and optionally reseeds).
pub async fn replace_rules(
    State(injector): State<Arc<FaultInjector>>,
    super::json::HubJson(body): super::json::HubJson<FaultRulesBody>,
) -> Result<Response, ApiError> {
    FaultSettings {
        rules: body.rules.clone(),
        seed: body.seed,
    }
    .validate()
    .map_err(ApiError::validation)?;
    injector.replace_rules(body.rules, body.seed);
    Ok(show_rules(State(injector)).await)
}

/// `DELETE /_hubcalls/faults`: no more rules.
pub async fn clear_rules(State(injector): State<Arc<FaultInjector>>) -> Response {
    injector.replace_rules(Vec::new(), None);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(route: &str, rate: f64, error: Option<FaultKind>) -> FaultRule {
        FaultRule {
            route: route.to_owned(),
            method: None,
            rate,
            latency_ms: None,
            error,
        }
    }

    #[test]
    fn globs_match_paths() {
        assert!(glob_match("/crm/v3/objects/calls", "/crm/v3/objects/calls"));
        assert!(!glob_match(
            "/crm/v3/objects/calls",
            "/crm/v3/objects/calls/1"
        ));
        assert!(glob_match(
            "/crm/v3/objects/calls/*",
            "/crm/v3/objects/calls/1"
        ));
        assert!(glob_match("*/search", "/crm/v3/objects/calls/search"));
        assert!(glob_match(
            "/crm/*/calls/*",
            "/crm/v3/objects/calls/batch/read"
        ));
        assert!(!glob_match(
            "/crm/*/deals/*",
            "/crm/v3/objects/calls/batch/read"
        ));
        assert!(glob_match("*", "/anything"));
        assert!(!glob_match("/a*a", "/a"));
    }

    #[test]
    fn seeded_dice_repeat() {
        let settings = FaultSettings {
            rules: vec![rule("*", 0.5, Some(FaultKind::Internal))],
            seed: Some(42),
        };
        let draws = |injector: &FaultInjector| -> Vec<bool> {
            (0..64)
                .map(|_| injector.roll(&Method::GET, "/x").error.is_some())
                .collect()
        };
        let first = draws(&FaultInjector::new(&settings, None, Metrics::default()));
        let second = draws(&FaultInjector::new(&settings, None, Metrics::default()));
        assert_eq!(first, second);
        assert!(first.contains(&true) && first.contains(&false));
    }

    #[test]
    fn rules_apply_in_order_and_by_method() {
        let mut slow = rule("/a", 1.0, None);
        slow.latency_ms = Some(FaultLatency::Fixed(5));
        let mut post_only = rule("/a", 1.0, Some(FaultKind::BadGateway));
        post_only.method = Some("post".to_owned());
        let settings = FaultSettings {
            rules: vec![slow, post_only, rule("/a", 1.0, Some(FaultKind::Drop))],
            seed: Some(1),
        };
        let injector = FaultInjector::new(&settings, None, Metrics::default());
        let get = injector.roll(&Method::GET, "/a");
        assert_eq!(get.latency, Some(Duration::from_millis(5)));
        assert_eq!(get.error, Some(FaultKind::Drop));
        assert_eq!(
            injector.roll(&Method::POST, "/a").error,
            Some(FaultKind::BadGateway)
        );
        assert_eq!(injector.roll(&Method::GET, "/b"), Injection::default());
    }

    #[test]
    fn fault_header_is_read() {
        let both = parse_fault_header("status=503, latency=20").unwrap();
        assert_eq!(both.error, Some(FaultKind::Unavailable));
        assert_eq!(both.latency, Some(Duration::from_millis(20)));
        assert_eq!(
            parse_fault_header("drop").unwrap().error,
            Some(FaultKind::Drop)
        );
        let ranged = parse_fault_header("latency=10-12")
            .unwrap()
            .latency
            .unwrap();
        assert!((10..=12).contains(&(ranged.as_millis() as u64)));
        assert!(parse_fault_header("status=418")
            .unwrap_err()
            .contains("418"));
        assert!(parse_fault_header("status=drop").is_err());
        assert!(parse_fault_header("latency=soon").is_err());
        assert!(parse_fault_header("latency=9-3").is_err());
        assert!(parse_fault_header("explode").is_err());
        assert!(parse_fault_header(" , ").is_err());
    }
}
