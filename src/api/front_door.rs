//! What every request passes through before routing, in one pass: its dated path mapped to
//! the legacy twin, a correlation id, the server's bound on requests in flight, the URI
//! length limit, the time limit and the request's trace span.
//!
//! These were six layers of their own. Each cost a boxed future per request and, applied to
//! the router, a clone of every route's whole layer stack per request (a fifth of a GET's
//! instructions); as one function wrapped once around the router they cost what their
//! checks cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::error::{self, ApiError};
use super::settings::HttpLimits;
use super::version;

/// The limits every request is held to, shared by all of them.
pub struct FrontDoor {
    /// Requests past this many wait for one in flight to finish (not refused: a burst is
    /// queued, as the concurrency limit layer it replaces did).
    in_flight: Semaphore,
    max_uri_bytes: usize,
    timeout: Duration,
}

impl FrontDoor {
    pub fn new(limits: &HttpLimits) -> Arc<Self> {
        Arc::new(Self {
            in_flight: Semaphore::new(limits.max_concurrent_requests.max(1)),
            max_uri_bytes: limits.max_uri_bytes,
            timeout: Duration::from_secs(limits.request_timeout_secs),
        })
    }

    async fn serve(&self, request: Request, next: Next) -> Response {
        // The semaphore is never closed, so waiting for a permit cannot fail.
        let Ok(_permit) = self.in_flight.acquire().await else {
            return ApiError::internal("the server is shutting down").into_response();
        };
        if let Some(refusal) = self
            .uri_too_long(&request)
            .or_else(|| uri_with_nul(&request))
        {
            return refusal;
        }
        let span = tracing::debug_span!(
            "request",
            method = %request.method(),
            uri = %request.uri(),
            version = ?request.version(),
        );
        let started = Instant::now();
        match tokio::time::timeout(self.timeout, next.run(request).instrument(span.clone())).await {
            Ok(response) => {
                span.in_scope(|| {
                    tracing::info!(
                        latency = ?started.elapsed(),
                        status = response.status().as_u16(),
                        "finished processing request"
                    );
                });
                response
            }
            Err(_) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "TIMEOUT",
                format!("The request took longer than {} s", self.timeout.as_secs()),
            )
            .into_response(),
        }
    }

    /// HubSpot's 414, in the usual envelope, for an over-long request target.
    fn uri_too_long(&self, request: &Request) -> Option<Response> {
        let length = request
            .uri()
            .path_and_query()
            .map_or(0, |pq| pq.as_str().len());
        (length > self.max_uri_bytes).then(|| {
            ApiError::new(
                StatusCode::URI_TOO_LONG,
                "VALIDATION_ERROR",
                format!(
                    "The request URI is {length} bytes long; at most {} are accepted",
                    self.max_uri_bytes
                ),
            )
            .into_response()
        })
    }
}

/// A 400 for a request target holding an encoded NUL character (`%00`): no id, name or
/// value may contain one (PostgreSQL cannot store it, and JSON bodies refuse it too), so
/// it is refused before anything looks it up.
fn uri_with_nul(request: &Request) -> Option<Response> {
    let target = request.uri().path_and_query()?.as_str();
    target.contains("%00").then(|| {
        ApiError::validation("The request URI must not contain the NUL character (%00)")
            .into_response()
    })
}

/// Middleware, wrapped once around the whole router. Dated paths are mapped here because
/// middleware inside a router runs after it has routed.
pub async fn enter(State(door): State<Arc<FrontDoor>>, request: Request, next: Next) -> Response {
    let request = version::route_dated_path(request);
    error::with_correlation_id(error::new_correlation_id(), door.serve(request, next)).await
}
