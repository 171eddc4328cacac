//! Sending events: a bounded queue, a batching window, batches of at most 100 events per
//! request, signatures, and retries with capped exponential back-off and jitter.
//!
//! HubSpot (developer docs, "Webhooks API"): each request carries up to 100 events; a
//! delivery fails on a connection failure, a response slower than 5 s or any 4xx/5xx, and
//! is retried up to 10 times spread over the next 24 hours, with randomised delays. The
//! defaults here follow that: 10 retries, 90 s doubling each time up to 8 h (about 21 h in
//! all), ±20 % jitter. Every number is configurable (`[webhook_delivery]`), so tests can
//! retry within milliseconds.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::{Notify, Semaphore};

use crate::crm::record::PortalId;
use crate::crm::time::{format_datetime, now_millis};

use super::{signature, PortalHook};

/// How events are delivered (the `[webhook_delivery]` table of the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// How long events gather before they are sent, in milliseconds.
    pub batch_window_ms: u64,
    /// Events per request (HubSpot: up to 100).
    pub max_events_per_request: usize,
    /// Retries after the first attempt (HubSpot: 10).
    pub max_retries: u32,
    /// Delay before the first retry, in milliseconds; it doubles for each further retry.
    pub retry_base_ms: u64,
    /// Longest delay between two attempts, in milliseconds.
    pub retry_cap_ms: u64,
    /// A receiver slower than this fails the attempt, in milliseconds (HubSpot: 5 s).
    pub timeout_ms: u64,
    /// Events waiting to be batched; when full, the oldest are dropped (and counted).
    pub queue_capacity: usize,
    /// Batches being sent or waiting for a retry; past it, events wait in the queue.
    pub max_pending_batches: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            batch_window_ms: 1_000,
            max_events_per_request: 100,
            max_retries: 10,
            retry_base_ms: 90_000,
            retry_cap_ms: 8 * 3_600_000,
            timeout_ms: 5_000,
            queue_capacity: 10_000,
            max_pending_batches: 1_000,
        }
    }
}

impl DeliverySettings {
    /// The delay before retry `retry` (1 for the first): capped doubling with ±20 % jitter,
    /// so receivers that failed together are not retried together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let doubling = 1u64
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u64::MAX);
        let plain = self
            .retry_base_ms
            .saturating_mul(doubling)
            .min(self.retry_cap_ms);
        let jitter = rand::random_range(0.8..=1.2);
        Duration::from_millis(((plain as f64 * jitter) as u64).min(self.retry_cap_ms))
    }
}

/// One event object, as sent.
type Event = Map<String, Value>;

/// An event waiting in the queue, with the settings it was matched against.
struct Queued {
    hook: Arc<PortalHook>,
    event: Event,
}

/// How many attempts are kept per portal for the admin API.
const ATTEMPTS_KEPT: usize = 200;

struct Shared {
    settings: DeliverySettings,
    queue: Mutex<VecDeque<Queued>>,
    arrived: Notify,
    dropped: AtomicU64,
    pending: Arc<Semaphore>,
    attempts: Mutex<HashMap<PortalId, VecDeque<Value>>>,
    client: Client<HttpConnector, Body>,
}

/// The sending side: owns the queue and the tasks that deliver.
#[derive(Clone)]
pub struct Deliverer {
    shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section is a push, a pop or a drain: never half-done.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Deliverer {
    pub fn start(settings: DeliverySettings) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(settings.timeout_ms.max(1))));
        let shared = Arc::new(Shared {
            settings,
            queue: Mutex::new(VecDeque::new()),
            arrived: Notify::new(),
            dropped: AtomicU64::new(0),
            pending: Arc::new(Semaphore::new(settings.max_pending_batches.max(1))),
            attempts: Mutex::default(),
            client: Client::builder(TokioExecutor::new()).build(connector),
        });
        tokio::spawn(dispatch(Arc::clone(&shared)));
        Self { shared }
    }

    /// Queues events without waiting. A full queue drops its oldest events: a receiver
    /// that is down must not slow the API down or grow memory without bound.
    pub fn enqueue(&self, hook: &Arc<PortalHook>, events: Vec<Event>) {
        let capacity = self.shared.settings.queue_capacity.max(1);
        let mut dropped = 0;
        {
            let mut queue = lock(&self.shared.queue);
            for event in events {
                if queue.len() >= capacity {
                    queue.pop_front();
                    dropped += 1;
                }
                queue.push_back(Queued {
                    hook: Arc::clone(hook),
                    event,
                });
            }
        }
        if dropped > 0 {
            let total = self.shared.dropped.fetch_add(dropped, Ordering::Relaxed) + dropped;
            tracing::warn!(dropped, total, "webhook queue full: oldest events dropped");
        }
        self.shared.arrived.notify_one();
    }

    /// Events dropped because the queue was full, since start.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Events waiting to be batched.
    pub fn queued(&self) -> usize {
        lock(&self.shared.queue).len()
    }

    /// The portal's most recent delivery attempts, newest first.
    pub fn attempts(&self, portal: PortalId) -> Vec<Value> {
        lock(&self.shared.attempts)
            .get(&portal)
            .map(|kept| kept.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets a portal's attempts (when its settings are removed).
    pub fn forget(&self, portal: PortalId) {
        lock(&self.shared.attempts).remove(&portal);
    }
}

/// Waits for events, lets a window's worth gather, then sends them in batches.
async fn dispatch(shared: Arc<Shared>) {
    let window = Duration::from_millis(shared.settings.batch_window_ms);
    let per_request = shared.settings.max_events_per_request.max(1);
    loop {
        shared.arrived.notified().await;
        tokio::time::sleep(window).await;
        let drained: Vec<Queued> = lock(&shared.queue).drain(..).collect();
        // Batches never mix settings (a portal's, or settings that replaced each other).
        let mut batches: Vec<(Arc<PortalHook>, Vec<Event>)> = Vec::new();
        for Queued { hook, event } in drained {
            match batches
                .iter_mut()
                .rev()
                .find(|(h, events)| h.generation == hook.generation && events.len() < per_request)
            {
                Some((_, events)) => events.push(event),
                None => batches.push((hook, vec![event])),
            }
        }
        for (hook, events) in batches {
            // Bounds the batches in flight; the queue (with its drop-oldest rule) absorbs
            // the rest meanwhile.
            let Ok(permit) = Arc::clone(&shared.pending).acquire_owned().await else {
                return;
            };
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                deliver(&shared, &hook, events).await;
                drop(permit);
            });
        }
    }
}

/// What one attempt got back.
enum Outcome {
    Status(u16),
    Failed(String),
}

/// Sends one batch until the receiver accepts it or the retries run out.
async fn deliver(shared: &Shared, hook: &PortalHook, mut events: Vec<Event>) {
    let settings = &shared.settings;
    let event_ids: Vec<Value> = events
        .iter()
        .filter_map(|e| e.get("eventId").cloned())
        .collect();
    for attempt in 0..=settings.max_retries {
        for event in &mut events {
            event.insert("attemptNumber".to_owned(), json!(attempt));
        }
        let body = match serde_json::to_vec(&events) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, "webhook batch cannot be encoded");
                return;
            }
        };
        let outcome = {
            // HubSpot's maxConcurrentRequests: held only while a request is in flight.
            let _slot = hook.concurrency.acquire().await;
            send(shared, hook, body).await
        };
        let delivered = matches!(outcome, Outcome::Status(code) if (200..300).contains(&code));
        let last = attempt == settings.max_retries;
        let delay = (!delivered && !last).then(|| settings.backoff(attempt + 1));
        record(
            shared, hook, attempt, &event_ids, &outcome, delivered, delay,
        );
        match delay {
            None if delivered => return,
            None => {
                tracing::warn!(
                    portal = hook.portal,
                    target = %hook.target_text,
                    events = event_ids.len(),
                    "webhook batch given up after {} attempts",
                    attempt + 1
                );
                return;
            }
            Some(delay) => tokio::time::sleep(delay).await,
        }
    }
}

async fn send(shared: &Shared, hook: &PortalHook, body: Vec<u8>) -> Outcome {
    let timestamp = now_millis();
    let v3 = signature::v3(
        &hook.client_secret,
        "POST",
        &hook.target_text,
        &body,
        timestamp,
    );
    let v1 = signature::v1(&hook.client_secret, &body);
    let request = Request::builder()
        .method(Method::POST)
        .uri(hook.target.clone())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "hubcalls-webhooks")
        .header("X-HubSpot-Signature-v3", v3)
        .header("X-HubSpot-Request-Timestamp", timestamp.to_string())
        .header("X-HubSpot-Signature", v1)
        .header("X-HubSpot-Signature-Version", "v1")
        .body(Body::from(body));
    let request = match request {
        Ok(request) => request,
        Err(error) => return Outcome::Failed(format!("cannot build the request: {error}")),
    };
    let timeout = Duration::from_millis(shared.settings.timeout_ms.max(1));
    match tokio::time::timeout(timeout, shared.client.request(request)).await {
        // The response body is not read: HubSpot ignores it, and dropping it closes it.
        Ok(Ok(response)) => Outcome::Status(response.status().as_u16()),
        Ok(Err(error)) => Outcome::Failed(format!("request failed: {error}")),
        Err(_) => Outcome::Failed(format!(
            "no response within {} ms",
            shared.settings.timeout_ms
        )),
    }
}

fn record(
    shared: &Shared,
    hook: &PortalHook,
    attempt: u32,
    event_ids: &[Value],
    outcome: &Outcome,
    delivered: bool,
    delay: Option<Duration>,
) {
    let now = now_millis();
    let mut entry = json!({
        "at": format_datetime(now),
        "targetUrl": hook.target_text,
        "attemptNumber": attempt,
        "eventIds": event_ids,
        "outcome": if delivered { "DELIVERED" } else if delay.is_some() { "RETRY_SCHEDULED" } else { "GAVE_UP" },
    });
    match outcome {
        Outcome::Status(code) => entry["statusCode"] = json!(code),
        Outcome::Failed(error) => entry["error"] = json!(error),
    }
    if let Some(delay) = delay {
        entry["nextAttemptAt"] = json!(format_datetime(now + delay.as_millis() as i64));
    }
    let mut attempts = lock(&shared.attempts);
    let kept = attempts.entry(hook.portal).or_default();
    if kept.len() >= ATTEMPTS_KEPT {
        kept.pop_front();
    }
    kept.push_back(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let settings = DeliverySettings::default();
        for retry in 1..=10 {
            let plain = (90_000u64 << (retry - 1)).min(8 * 3_600_000) as f64;
            let got = settings.backoff(retry).as_millis() as f64;
            assert!(
                got >= plain * 0.8 - 1.0 && got <= plain * 1.2 + 1.0,
                "{retry}: {got}"
            );
            assert!(got <= settings.retry_cap_ms as f64);
        }
        // Far past the cap, nothing overflows.
        assert!(settings.backoff(200) <= Duration::from_millis(settings.retry_cap_ms));
    }

    #[test]
    fn default_schedule_fits_in_a_day() {
        let settings = DeliverySettings::default();
        let plain: u64 = (1..=settings.max_retries)
            .map(|r| (settings.retry_base_ms << (r - 1)).min(settings.retry_cap_ms))
            .sum();
        let worst = plain as f64 * 1.2;
        assert!(worst < 24.0 * 3_600_000.0 * 1.1, "{worst}");
        assert!(plain > 12 * 3_600_000, "spread over most of a day: {plain}");
    }
}
