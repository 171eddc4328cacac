//! HubSpot's error envelope, and the correlation id that ties a response to its error.
//!
//! Every error leaves as `{"status":"error","message":…,"correlationId":…,…,"category":…}`
//! with `Content-Type: application/json;charset=utf-8`, whatever went wrong and wherever.

use std::future::Future;

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::crm::error::{CrmError, StoreError};
use crate::crm::objects::Partition;
use crate::crm::properties::PropertyProblem;
use crate::crm::record::PortalId;

pub const CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-hubspot-correlation-id");
pub const JSON_CONTENT_TYPE: HeaderValue =
    HeaderValue::from_static("application/json;charset=utf-8");

tokio::task_local! {
    /// The id of the request being served, readable wherever an error body is rendered.
    static CORRELATION_ID: String;
}

/// The current request's correlation id (a fresh one outside a request).
pub fn correlation_id() -> String {
    CORRELATION_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| new_correlation_id())
}

/// A fresh correlation id: a random (version 4) UUID, as HubSpot's are. Drawn from the
/// thread's generator rather than the operating system's, which cost a system call per
/// request.
pub fn new_correlation_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// Runs `serve` with `id` as the correlation id of every error body it renders, and
/// returns that id in the response's header.
pub async fn with_correlation_id(id: String, serve: impl Future<Output = Response>) -> Response {
    let header = HeaderValue::from_str(&id);
    let mut response = CORRELATION_ID.scope(id, serve).await;
    if let Ok(value) = header {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

/// A JSON response with HubSpot's exact content type.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, JSON_CONTENT_TYPE);
            response
        }
        Err(error) => {
            ApiError::internal(format!("response encoding failed: {error}")).into_response()
        }
    }
}

/// `context` of an error body: each key maps to a list of strings.
pub type ErrorContext = Vec<(String, Vec<String>)>;

/// One entry of an error body's `errors` array.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorDetail {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
}

/// An error as HubSpot reports it. Boxed: handlers return it in every `Result`, and the
/// happy path should not pay for its size.
#[derive(Debug, Clone)]
pub struct ApiError(Box<ErrorParts>);

#[derive(Debug, Clone)]
pub struct ErrorParts {
    pub status: StatusCode,
    pub message: String,
    pub category: Option<&'static str>,
    pub context: ErrorContext,
    pub errors: Vec<ErrorDetail>,
    pub links: Vec<(&'static str, &'static str)>,
    pub extra_headers: Vec<(HeaderName, HeaderValue)>,
    /// Fields some HubSpot errors carry after `correlationId` (e.g. `errorType`,
    /// `policyName` on 429s).
    pub extra_fields: Vec<(&'static str, String)>,
}

pub fn context_map(context: &ErrorContext) -> Map<String, Value> {
    context
        .iter()
        .map(|(key, values)| (key.clone(), Value::from(values.clone())))
        .collect()
}

impl std::ops::Deref for ApiError {
    type Target = ErrorParts;
    fn deref(&self) -> &ErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorParts {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(status: StatusCode, category: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorParts {
            status,
            message: message.into(),
            category: Some(category),
            context: Vec::new(),
            errors: Vec::new(),
            links: Vec::new(),
            extra_headers: Vec::new(),
            extra_fields: Vec::new(),
        }))
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(%message, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "An internal error occurred. Please try again; if it persists, report it with this correlation id.",
        )
    }

    pub fn with_context(mut self, context: ErrorContext) -> Self {
        self.context = context;
        self
    }

    /// The 404 HubSpot gives for an id that names no call.
    pub fn object_not_found(id: &str) -> Self {
        let message = if id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() {
            "resource not found"
        } else {
            // Two spaces after the period, as HubSpot writes it.
            "Object not found.  objectId are usually numeric."
        };
        Self::not_found(message).with_context(vec![("id".to_owned(), vec![id.to_owned()])])
    }

    /// HubSpot's 400 for refused property values: the problems as a JSON array inside the
    /// message, and again as `errors[]`.
    pub fn invalid_properties(problems: &[PropertyProblem], portal: PortalId) -> Self {
        let listed: Vec<Value> = problems
            .iter()
            .map(|p| {
                serde_json::json!({
                    "isValid": false,
                    "message": p.message,
                    "error": p.code,
                    "name": p.name,
                    "localizedErrorMessage": p.message,
                    "portalId": portal,
                })
            })
            .collect();
        let mut error = Self::validation(format!(
            "Property values were not valid: {}",
            Value::from(listed)
        ));
        error.errors = problems
            .iter()
            .map(|p| ErrorDetail {
                message: p.message.clone(),
                code: Some(p.code.to_owned()),
                context: context_map(&vec![("propertyName".to_owned(), vec![p.name.clone()])]),
            })
            .collect();
        error
    }

    /// HubSpot's 400 for a write that breaks the portal's write validation rules (2026-09):
    /// one entry in `errors[]` per missing property, its name in `context.propertyName`.
    pub fn rule_violations(problems: &[PropertyProblem]) -> Self {
        let mut error = Self::validation("The property values provided are invalid");
        error.errors = problems
            .iter()
            .map(|p| ErrorDetail {
                message: p.message.clone(),
                code: Some(p.code.to_owned()),
                context: context_map(&vec![("propertyName".to_owned(), vec![p.name.clone()])]),
            })
            .collect();
        error
    }

    pub fn from_crm(error: CrmError, partition: Partition) -> Self {
        match error {
            CrmError::RuleViolations(problems) => Self::rule_violations(&problems),
            CrmError::InvalidProperties(problems) => Self::invalid_properties(&problems, partition.portal),
            CrmError::NotFound { id } => Self::object_not_found(&id),
            CrmError::Invalid { message, context } => {
                Self::validation(message).with_context(context)
            }
            CrmError::InvalidAssociations { context } => {
                Self::validation("One or more associations are invalid").with_context(context)
            }
            CrmError::Conflict { message, context } => {
                Self::new(StatusCode::CONFLICT, "OBJECT_ALREADY_EXISTS", message)
                    .with_context(context)
            }
            CrmError::UnknownResource(message) => Self::not_found(message),
            // HubSpot's words for a unique-value clash, object type and all.
            // A second contact with an existing email: HubSpot's 409, naming the holder.
            CrmError::Store(StoreError::UniqueViolation {
                property, existing, ..
            }) if partition.object_type.conflict_properties.contains(&property.as_str()) => {
                Self::new(
                    StatusCode::CONFLICT,
                    "CONFLICT",
                    format!(
                        "{} already exists. Existing ID: {existing}",
                        capitalized(partition.object_type.singular)
                    ),
                )
            }
            // HubSpot's words for a unique-value clash, object type and all.
            CrmError::Store(StoreError::UniqueViolation {
                property,
                value,
                call_id,
                existing,
            }) => Self::validation(format!(
                "Cannot set PropertyValueCoordinates{{portalId={portal}, objectTypeId=ObjectTypeId{{legacyObjectType={object}}}, propertyName={property}, value={value}}} on {call_id}. {existing} already has that value.",
                portal = partition.portal,
                object = partition.object_type.internal_name,
            )),
            CrmError::Store(StoreError::Unavailable(reason)) => {
                tracing::warn!(%reason, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "The data store is temporarily unavailable; nothing was changed. Please retry.",
                )
            }
            CrmError::Store(StoreError::IdTaken { id }) => Self::new(
                StatusCode::CONFLICT,
                "OBJECT_ALREADY_EXISTS",
                format!("Call {id} already exists in another portal; nothing was restored."),
            ),
            CrmError::Store(StoreError::Backend(reason)) => Self::internal(reason),
        }
    }

    /// The body, in HubSpot's field order.
    pub fn body(&self, correlation_id: &str) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("status".into(), "error".into());
        body.insert("message".into(), self.message.clone().into());
        body.insert("correlationId".into(), correlation_id.into());
        for (name, value) in &self.extra_fields {
            body.insert((*name).to_owned(), value.clone().into());
        }
        if !self.errors.is_empty() {
            body.insert(
                "errors".into(),
                serde_json::to_value(&self.errors).unwrap_or(Value::Null),
            );
        }
        if !self.context.is_empty() {
            body.insert("context".into(), context_map(&self.context).into());
        }
        if !self.links.is_empty() {
            let links: Map<String, Value> = self
                .links
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect();
            body.insert("links".into(), links.into());
        }
        if let Some(category) = self.category {
            body.insert("category".into(), category.into());
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &self.body(&correlation_id()));
        for (name, value) in self.0.extra_headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// `contact` -> `Contact`, for messages that name a type.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
