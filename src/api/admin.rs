//! The admin API, outside HubSpot's paths: lets a test suite reset a portal, load a fixture
//! and export a portal, so every test starts from known data. Off unless an admin token is
//! configured; guarded by that token alone (portal tokens are not accepted).

use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::crm::objects::{ObjectType, Partition};
use crate::crm::record::PortalId;
use crate::crm::transfer::{TransferError, TransferSummary};

use super::error::{json_response, ApiError, ErrorDetail};
use super::query::QueryParams;
use super::{AppState, PathParams};

/// The admin token, when the admin API is on.
#[derive(Clone)]
pub struct AdminToken(pub Option<Arc<str>>);

/// Middleware: only the admin token passes (compared in constant time).
pub async fn require_admin(
    State(AdminToken(expected)): State<AdminToken>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = expected else {
        return ApiError::not_found("The admin API is off: start hubcalls with --admin-token")
            .into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .unwrap_or_default();
    if !super::auth::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "The admin API needs the admin token as a bearer token.",
        )
        .into_response();
    }
    next.run(request).await
}

/// `DELETE /_hubcalls/portals/{portal}`: removes every record of every type, history entry,
/// association, custom property, group and pipeline of the portal.
pub async fn reset_portal(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
) -> Result<Response, ApiError> {
    state
        .run(Partition::new(portal, ObjectType::CALLS), move |crm| {
            crm.records.reset_portal(portal)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /_hubcalls/portals/{portal}/fixtures[?reset=true]`: loads an NDJSON fixture of any
/// object types (the format `hubcalls export` writes, or its calls-only version 1). The
/// whole body is checked before anything is written; a refused fixture answers 400 with
/// every problem and its line.
pub async fn load_fixture(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let reset = QueryParams::parse(raw.as_deref()).flag("reset", false)?;
    let body = super::json::body_bytes(request, &()).await?;
    let crm = Arc::clone(&state.services);
    let outcome =
        tokio::task::spawn_blocking(move || crm.transfer.load_fixture(portal, &body, reset))
            .await
            .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?;
    match outcome {
        Ok(summary) => Ok(json_response(
            StatusCode::OK,
            &FixtureLoaded { summary, reset },
        )),
        Err(error) => Err(transfer_error(error, portal)),
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FixtureLoaded {
    #[serde(flatten)]
    summary: TransferSummary,
    reset: bool,
}

/// A refused fixture: the problems as `errors`, each with its line in `context`.
fn transfer_error(error: TransferError, portal: PortalId) -> ApiError {
    match error {
        TransferError::Invalid { problems, total } => {
            let mut api = ApiError::validation(format!(
                "The fixture was refused with {total} problem(s); nothing was written. First: {}",
                problems
                    .first()
                    .map_or_else(String::new, ToString::to_string)
            ));
            api.errors = problems
                .iter()
                .map(|problem| ErrorDetail {
                    message: problem.message.clone(),
                    code: Some("INVALID_FIXTURE_LINE".to_owned()),
                    context: serde_json::Map::from_iter([(
                        "line".to_owned(),
                        serde_json::Value::from(vec![problem.line.to_string()]),
                    )]),
                })
                .collect();
            api
        }
        TransferError::Store { source, .. } => ApiError::from_crm(
            crate::crm::error::CrmError::Store(source),
            Partition::new(portal, ObjectType::CALLS),
        ),
        TransferError::Io(error) => ApiError::internal(format!("fixture read failed: {error}")),
    }
}

/// `GET /_hubcalls/portals/{portal}/export`: the portal as NDJSON, streamed as it is read,
/// so a large portal never sits in memory whole.
pub async fn export_portal(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let crm = Arc::clone(&state.services);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter {
            buffer: Vec::with_capacity(STREAM_CHUNK_BYTES),
            sender: sender.clone(),
        };
        if let Err(error) = crm.transfer.export_portal(portal, &mut writer) {
            // The status is already sent: breaking the body is how the client learns.
            tracing::warn!(%error, portal, "export failed midway");
            let _ = sender.blocking_send(Err(std::io::Error::other(error.to_string())));
        }
    });
    let mut response = Response::new(Body::new(ChannelBody(receiver)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// Hands what the export writes to the response body in chunks; fails once the client is
/// gone, which stops the export.
struct ChannelWriter {
    buffer: Vec<u8>,
    sender: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(STREAM_CHUNK_BYTES),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= STREAM_CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// A response body fed by [`ChannelWriter`].
struct ChannelBody(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|next| next.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}
