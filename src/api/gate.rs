//! What every request to HubSpot's API passes after routing, in one pass: it is counted
//! under its route, authenticated and checked for its scopes, faults are injected when
//! rehearsing them, and the rate limits are applied when they are on.
//!
//! One middleware instead of four: axum applies a router's layers to each route, so every
//! layer there was cloned, boxed and polled once more per request.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::{self, TokenRegistry};
use super::faults::FaultInjector;
use super::metrics::{Metrics, UNMATCHED};
use super::rate_limit::RateLimiter;

/// What the gate checks requests against, shared by all of them.
pub struct ApiGate {
    pub tokens: Arc<TokenRegistry>,
    pub faults: Arc<FaultInjector>,
    /// None while the rate limits are off.
    pub limiter: Option<RateLimiter>,
    pub metrics: Metrics,
}

impl ApiGate {
    async fn admit(&self, mut request: Request, next: Next) -> Response {
        let principal = match auth::admit(&self.tokens, &request) {
            Ok(principal) => principal,
            Err(error) => return error.into_response(),
        };
        request.extensions_mut().insert(principal.clone());
        let faults = self.faults.plan(&request);
        if let Some(latency) = faults.latency {
            tokio::time::sleep(latency).await;
        }
        if let Some(answer) = faults.answer {
            return answer;
        }
        let Some(limiter) = &self.limiter else {
            return next.run(request).await;
        };
        match limiter.admit(&principal, request.uri().path()) {
            Ok(headers) => {
                let mut response = next.run(request).await;
                headers.stamp(&mut response);
                response
            }
            Err(refusal) => refusal.into_response(),
        }
    }
}

/// Middleware on the API's routes (and its fallback, so an unknown path still needs a
/// token).
pub async fn pass(State(gate): State<Arc<ApiGate>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let response = gate.admit(request, next).await;
    gate.metrics.observe_request(
        route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
