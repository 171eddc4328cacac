//! `/metrics` in Prometheus' text format: requests by route, method and status, request
//! latency by route, time spent in the store, and on a sharded store each shard's health.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::crm::ports::ShardHealth;

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Observations at or below each bucket's bound (cumulative when rendered).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(at) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.counts[at] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(self.counts) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(
            out,
            "{name}_sum{{{}}} {}",
            labels.trim_end_matches(','),
            self.sum
        );
        let _ = writeln!(
            out,
            "{name}_count{{{}}} {}",
            labels.trim_end_matches(','),
            self.count
        );
    }
}

/// One route's requests.
#[derive(Debug, Default)]
struct RouteCounters {
    /// (method, status) -> requests
    requests: BTreeMap<(String, u16), u64>,
    latency: Histogram,
}

#[derive(Debug, Default)]
struct Counters {
    /// By route template. Nested maps, so a request already seen is counted without
    /// allocating its labels.
    routes: BTreeMap<String, RouteCounters>,
    store: Histogram,
    /// fault kind -> injections (fault rehearsal)
    faults: BTreeMap<&'static str, u64>,
}

/// The server's metrics, shared by the recording middleware and the `/metrics` handler.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    counters: Arc<Mutex<Counters>>,
}

impl Metrics {
    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records time spent in the store for one request's work.
    pub fn observe_store(&self, elapsed: Duration) {
        self.counters().store.observe(elapsed);
    }

    /// Counts one injected fault (`latency`, `429`, `503`, `drop`, ...).
    pub fn observe_fault(&self, kind: &'static str) {
        *self.counters().faults.entry(kind).or_default() += 1;
    }

    /// Counts one answered request under its route template (`unmatched` for none).
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let mut counters = self.counters();
        if !counters.routes.contains_key(route) {
            counters
                .routes
                .insert(route.to_owned(), RouteCounters::default());
        }
        let Some(counters) = counters.routes.get_mut(route) else {
            return;
        };
        counters.latency.observe(elapsed);
        let key = (method, status);
        match counters
            .requests
            .iter_mut()
            .find(|((m, s), _)| (m.as_str(), *s) == key)
        {
            Some((_, count)) => *count += 1,
            None => {
                counters.requests.insert((method.to_owned(), status), 1);
            }
        }
    }

    fn render(&self) -> String {
        let counters = self.counters();
        let mut out = String::new();
        out.push_str(
            "# HELP hubcalls_http_requests_total Requests answered, by route, method and status.\n",
        );
        out.push_str("# TYPE hubcalls_http_requests_total counter\n");
        for (route, route_counters) in &counters.routes {
            for ((method, status), count) in &route_counters.requests {
                let _ = writeln!(
                    out,
                    "hubcalls_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str(
            "# HELP hubcalls_http_request_duration_seconds Time to answer a request, by route.\n",
        );
        out.push_str("# TYPE hubcalls_http_request_duration_seconds histogram\n");
        for (route, route_counters) in &counters.routes {
            route_counters.latency.render(
                &mut out,
                "hubcalls_http_request_duration_seconds",
                &format!("route=\"{route}\","),
            );
        }
        out.push_str(
            "# HELP hubcalls_store_duration_seconds Time spent in the store per request.\n",
        );
        out.push_str("# TYPE hubcalls_store_duration_seconds histogram\n");
        counters
            .store
            .render(&mut out, "hubcalls_store_duration_seconds", "");
        if !counters.faults.is_empty() {
            out.push_str("# HELP hubcalls_faults_injected_total Faults injected, by kind.\n");
            out.push_str("# TYPE hubcalls_faults_injected_total counter\n");
            for (kind, count) in &counters.faults {
                let _ = writeln!(
                    out,
                    "hubcalls_faults_injected_total{{kind=\"{kind}\"}} {count}"
                );
            }
        }
        out
    }
}

/// Middleware: counts every request under its route template (not its raw path, so ids do
/// not explode the label set).
pub async fn record(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.observe_request(
        route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Each shard's health as it was last seen (no query to the databases on a scrape): up or
/// not, and how often it was unavailable.
fn render_shards(out: &mut String, shards: &[ShardHealth]) {
    if shards.is_empty() {
        return;
    }
    out.push_str(
        "# HELP hubcalls_store_shard_up Whether the shard's last answer was one (1) or it was unavailable (0).\n",
    );
    out.push_str("# TYPE hubcalls_store_shard_up gauge\n");
    for shard in shards {
        let _ = writeln!(
            out,
            "hubcalls_store_shard_up{{shard=\"{}\"}} {}",
            shard.name,
            u8::from(shard.up)
        );
    }
    out.push_str(
        "# HELP hubcalls_store_shard_unavailable_total Store calls the shard could not serve.\n",
    );
    out.push_str("# TYPE hubcalls_store_shard_unavailable_total counter\n");
    for shard in shards {
        let _ = writeln!(
            out,
            "hubcalls_store_shard_unavailable_total{{shard=\"{}\"}} {}",
            shard.name, shard.unavailable_total
        );
    }
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    render_shards(&mut text, &state.services.records.shard_health());
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.observe_request("/a", "GET", 200, Duration::from_micros(700));
        metrics.observe_request("/a", "GET", 200, Duration::from_millis(30));
        let text = metrics.render();
        assert!(text.contains(
            "hubcalls_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "hubcalls_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.001\"} 1"
        ));
        assert!(text
            .contains("hubcalls_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.05\"} 2"));
        assert!(text.contains("hubcalls_http_request_duration_seconds_count{route=\"/a\"} 2"));
    }

    #[test]
    fn renders_each_shards_health() {
        let mut text = String::new();
        render_shards(
            &mut text,
            &[
                ShardHealth {
                    name: "a".into(),
                    up: true,
                    unavailable_total: 0,
                },
                ShardHealth {
                    name: "b".into(),
                    up: false,
                    unavailable_total: 3,
                },
            ],
        );
        assert!(text.contains("hubcalls_store_shard_up{shard=\"a\"} 1"));
        assert!(text.contains("hubcalls_store_shard_up{shard=\"b\"} 0"));
        assert!(text.contains("hubcalls_store_shard_unavailable_total{shard=\"b\"} 3"));
    }
}
