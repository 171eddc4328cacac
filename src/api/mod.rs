//! The HTTP face of hubcalls: HubSpot's paths, parameters, JSON and errors.

mod admin;
mod association_labels;
mod associations;
mod associations_v3;
pub mod auth;
mod batch;
mod calls;
mod console;
pub mod endpoints;
pub mod error;
pub mod faults;
mod front_door;
mod gate;
mod gdpr;
pub mod json;
mod legacy_properties;
mod merge;
pub mod metrics;
mod openapi;
mod owners;
mod pipelines;
mod properties;
pub mod query;
mod rate_limit;
mod render;
mod schemas;
pub mod search;
pub mod settings;
mod validation_rules_admin;
pub mod version;
mod webhooks_admin;
pub mod wire;

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, on, post, put, MethodFilter, MethodRouter};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::crm::error::CrmError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::services::Services;

use self::auth::TokenRegistry;
use self::endpoints::Endpoint;
use self::error::{json_response, ApiError};
use self::settings::{FaultSettings, HttpLimits, RateLimits};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    /// Turns for reads on the blocking pool (see [`AppState::run_read`]).
    pub read_turns: Arc<Semaphore>,
    pub tokens: Arc<TokenRegistry>,
    pub metrics: metrics::Metrics,
    pub webhooks: crate::webhooks::Webhooks,
}

impl AppState {
    /// Runs store work on the blocking pool (SQLite calls block), turning rule failures into
    /// HubSpot errors for `partition`.
    pub async fn run<T, F>(&self, partition: Partition, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Services) -> Result<T, CrmError> + Send + 'static,
        T: Send + 'static,
    {
        self.run_on_pool(partition, None, work).await
    }

    /// Like [`AppState::run`], for a read (a list, a search, a batch read): it waits for one
    /// of the store's [`Services::parallel_reads`] turns first. Each read on the pool is a
    /// thread; on a local store hundreds of them only take turns on the same cores, and
    /// every turn costs a switch and cold caches (docs/performance.md, "Reads take turns on
    /// the blocking pool"). A write never waits for one: it may wait for the store's writer,
    /// and reads must not queue behind that.
    pub async fn run_read<T, F>(&self, partition: Partition, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Services) -> Result<T, CrmError> + Send + 'static,
        T: Send + 'static,
    {
        let turn = Arc::clone(&self.read_turns)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the server is shutting down"))?;
        self.run_on_pool(partition, Some(turn), work).await
    }

    /// Runs `work` on the blocking pool, holding `turn` (if any) until the work has ended.
    async fn run_on_pool<T, F>(
        &self,
        partition: Partition,
        turn: Option<OwnedSemaphorePermit>,
        work: F,
    ) -> Result<T, ApiError>
    where
        F: FnOnce(&Services) -> Result<T, CrmError> + Send + 'static,
        T: Send + 'static,
    {
        let services = Arc::clone(&self.services);
        let started = std::time::Instant::now();
        // The turn comes back with the outcome, so the next read starts once this thread is
        // free again and takes it instead of a new one; a request that gave up on its work
        // leaves the turn with the work, which frees it when it ends.
        let (outcome, turn) = tokio::task::spawn_blocking(move || (work(&services), turn))
            .await
            .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?;
        drop(turn);
        self.metrics.observe_store(started.elapsed());
        outcome.map_err(|e| ApiError::from_crm(e, partition))
    }

    /// Like [`AppState::run`], for a read of calls by id: done right here when the store
    /// says such reads are short and local (the hop to the blocking pool and back cost more
    /// than the read itself), on the blocking pool otherwise.
    pub async fn run_read_by_id<T, F>(&self, partition: Partition, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Services) -> Result<T, CrmError> + Send + 'static,
        T: Send + 'static,
    {
        if !self.services.reads_by_id_are_local() {
            return self.run_read(partition, work).await;
        }
        let started = std::time::Instant::now();
        // A panic becomes a 500, as it does on the blocking pool.
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&self.services)))
                .map_err(|_| ApiError::internal("worker failed: the read panicked"))?;
        self.metrics.observe_store(started.elapsed());
        outcome.map_err(|e| ApiError::from_crm(e, partition))
    }

    /// Awaits store work right here (a networked store's awaited reads, see
    /// [`crate::crm::ports::AsyncReads`]), timed like work on the pool.
    pub async fn run_awaited<T>(
        &self,
        partition: Partition,
        work: impl std::future::Future<Output = Result<T, CrmError>>,
    ) -> Result<T, ApiError> {
        let started = std::time::Instant::now();
        let outcome = work.await;
        self.metrics.observe_store(started.elapsed());
        outcome.map_err(|e| ApiError::from_crm(e, partition))
    }

    /// Like [`AppState::run`], for a write of calls: where the store stages writes, the
    /// work runs right here on staged views of the services; its writes join the store's
    /// open group and it hands back a commit ticket. The answer waits until a committer (a
    /// task queued behind the requests ready now, so they can join the group too) has
    /// committed the ticket's groups. Elsewhere, the blocking pool; there too when the
    /// store's writer is held by a long write (the work then runs again, having written
    /// nothing), so such a write never holds up the thread serving requests.
    pub async fn run_write<T, F>(&self, partition: Partition, work: F) -> Result<T, ApiError>
    where
        F: Fn(&Services) -> Result<T, CrmError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        let started = std::time::Instant::now();
        let staged = self.services.run_staged(|services| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(services)))
        });
        let Some((outcome, ticket)) = staged else {
            return self.run(partition, work).await;
        };
        if ticket.writer_busy {
            return self.run(partition, work).await;
        }
        // Even after a panic: what the work wrote before it sits in an open group.
        if let (true, Some(group)) = (ticket.needs_committer, ticket.last_group()) {
            let services = Arc::clone(&self.services);
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                services.commit_group(group);
            });
        }
        // A panic becomes a 500, as it does on the blocking pool.
        let outcome =
            outcome.map_err(|_| ApiError::internal("worker failed: the write panicked"))?;
        let outcome = match outcome {
            Ok(value) => self.await_groups(&ticket.groups).await.map(|()| value),
            Err(error) => Err(error),
        };
        if outcome.is_ok() {
            for effect in ticket.after_commit {
                effect();
            }
        }
        self.metrics.observe_store(started.elapsed());
        outcome.map_err(|e| ApiError::from_crm(e, partition))
    }

    /// Waits for the groups staged writes went into; the first that failed fails them all.
    async fn await_groups(&self, groups: &[u64]) -> Result<(), CrmError> {
        for group in groups {
            self.services.group_outcome(*group).await?;
        }
        Ok(())
    }
}

/// Path parameters whose rejection is a HubSpot error body.
pub struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathParams(value))
            .map_err(|rejection: PathRejection| {
                ApiError::validation(format!("Invalid path: {}", rejection.body_text()))
            })
    }
}

/// The object type a path or parameter names: plural or singular name in any case, or the
/// type id. HubSpot's 400 for anything else.
pub fn object_type_of(text: &str) -> Result<ObjectType, ApiError> {
    ObjectType::parse(text)
        .ok_or_else(|| ApiError::validation(format!("Unable to infer object type from: {text}")))
}

/// A path under a date version hubcalls does not serve (`/crm/objects/2027-03/calls`): the
/// version it names, for the 404's message. A served version under an API hubcalls does not
/// serve (`/crm/property-validations/2026-03/0-1`) is not one: its version exists.
fn unknown_dated_version(path: &str) -> Option<&str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let candidate = match segments.as_slice() {
        ["crm-object-schemas", version, ..] => version,
        ["crm", _, version, ..] => version,
        _ => return None,
    };
    (version::ApiVersion::looks_dated(candidate) && version::ApiVersion::dated(candidate).is_none())
        .then_some(*candidate)
}

/// The path the client sent. A dated request is routed as its legacy twin
/// (`version::route_dated_path`), but an error about the path names the one the client
/// called, not the twin it never saw.
fn sent_path(request: &Request) -> &str {
    request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or(request.uri().path(), |original| original.0.path())
}

/// The answer to a path no endpoint serves: HubSpot's 404, in its envelope.
fn no_endpoint(request: &Request) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        format!(
            "No endpoint matches {} {}",
            request.method(),
            sent_path(request)
        ),
    )
    .into_response()
}

async fn unknown_route(request: Request) -> Response {
    let path = sent_path(&request);
    if let Some(version) = unknown_dated_version(path) {
        let served: Vec<&str> = version::ApiVersion::DATED
            .iter()
            .map(|v| v.segment())
            .collect();
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            format!(
                "No endpoint matches {} {path}: API version {version} does not exist (served: {})",
                request.method(),
                served.join(", ")
            ),
        )
        .into_response();
    }
    no_endpoint(&request)
}

async fn method_not_allowed(request: Request) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "VALIDATION_ERROR",
        format!(
            "Method {} is not allowed on {}",
            request.method(),
            sent_path(&request)
        ),
    )
    .into_response()
}

/// Readiness: the store answers (every shard of it). A 503 in HubSpot's envelope
/// otherwise, naming the shards that did not answer (their names only: readiness needs no
/// token, so the databases' own words stay in the log).
async fn readiness(State(state): State<AppState>) -> Response {
    match state
        .run(Partition::new(0, ObjectType::CALLS), |crm| {
            crm.records.check_store()
        })
        .await
    {
        Ok(()) => json_response(StatusCode::OK, &serde_json::json!({"status": "ready"})),
        Err(error) => {
            let down: Vec<String> = state
                .services
                .records
                .shard_health()
                .into_iter()
                .filter(|shard| !shard.up)
                .map(|shard| shard.name)
                .collect();
            if down.is_empty() || error.status != StatusCode::SERVICE_UNAVAILABLE {
                return error.into_response();
            }
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                format!(
                    "The data store is temporarily unavailable: shard {} does not answer. Please retry.",
                    down.join(", shard ")
                ),
            )
            .into_response()
        }
    }
}

/// The handler of each operation of the endpoint table, at the table's method.
fn serve(endpoint: Endpoint, method: MethodFilter) -> MethodRouter<AppState> {
    use Endpoint as E;
    match endpoint {
        E::OwnerList => on(method, owners::list),
        E::OwnerGet => on(method, owners::get_one),
        E::LegacyPropertyList => on(method, legacy_properties::list),
        E::LegacyPropertyGet => on(method, legacy_properties::get_one),
        E::RecordList => on(method, calls::list),
        E::RecordCreate => on(method, calls::create),
        E::RecordGet => on(method, calls::get_one),
        E::RecordUpdate => on(method, calls::update),
        E::RecordArchive => on(method, calls::archive),
        E::BatchCreate => on(method, batch::create),
        E::BatchRead => on(method, batch::read),
        E::BatchUpdate => on(method, batch::update),
        E::BatchUpsert => on(method, batch::upsert),
        E::BatchArchive => on(method, batch::archive),
        E::GdprDelete => on(method, gdpr::delete),
        E::Merge => on(method, merge::merge),
        E::Search => on(method, search::search),
        E::PropertyList => on(method, properties::list),
        E::PropertyCreate => on(method, properties::create),
        E::PropertyGet => on(method, properties::get_one),
        E::PropertyUpdate => on(method, properties::update),
        E::PropertyArchive => on(method, properties::archive),
        E::PropertyBatchCreate => on(method, properties::batch_create),
        E::PropertyBatchRead => on(method, properties::batch_read),
        E::PropertyBatchArchive => on(method, properties::batch_archive),
        E::PropertyGroupList => on(method, properties::list_groups),
        E::PropertyGroupCreate => on(method, properties::create_group),
        E::PropertyGroupGet => on(method, properties::get_group),
        E::PropertyGroupUpdate => on(method, properties::update_group),
        E::PropertyGroupArchive => on(method, properties::archive_group),
        E::PipelineList => on(method, pipelines::list),
        E::PipelineCreate => on(method, pipelines::create),
        E::PipelineGet => on(method, pipelines::get_one),
        E::PipelineReplace => on(method, pipelines::replace),
        E::PipelineUpdate => on(method, pipelines::update),
        E::PipelineArchive => on(method, pipelines::archive),
        E::PipelineAudit => on(method, pipelines::audit),
        E::StageList => on(method, pipelines::list_stages),
        E::StageCreate => on(method, pipelines::create_stage),
        E::StageGet => on(method, pipelines::get_stage),
        E::StageReplace => on(method, pipelines::replace_stage),
        E::StageUpdate => on(method, pipelines::update_stage),
        E::StageArchive => on(method, pipelines::archive_stage),
        E::StageAudit => on(method, pipelines::stage_audit),
        E::AssociationPutV3 => on(method, associations::put_v3),
        E::AssociationDeleteV3 => on(method, associations::delete_v3),
        E::AssociationListV3 => on(method, associations::list_v3),
        E::AssociationPutDefaultV4 => on(method, associations::put_default_v4),
        E::AssociationPutV4 => on(method, associations::put_labelled_v4),
        E::AssociationDeleteV4 => on(method, associations::delete_v4),
        E::AssociationListV4 => on(method, associations::list_v4),
        E::AssociationBatchDefaultV4 => on(method, associations::batch_default_v4),
        E::AssociationBatchCreateV4 => on(method, associations::batch_create_v4),
        E::AssociationBatchReadV4 => on(method, associations::batch_read_v4),
        E::AssociationBatchArchiveV4 => on(method, associations::batch_archive_v4),
        E::AssociationBatchArchiveLabelsV4 => on(method, associations::batch_archive_labels_v4),
        E::AssociationBatchCreateV3 => on(method, associations_v3::batch_create),
        E::AssociationBatchReadV3 => on(method, associations_v3::batch_read),
        E::AssociationBatchArchiveV3 => on(method, associations_v3::batch_archive),
        E::AssociationLabelList => on(method, association_labels::list),
        E::AssociationLabelCreate | E::AssociationLabelUpdate | E::AssociationLabelDelete => {
            on(method, association_labels::define)
        }
        E::SchemaList => on(method, schemas::list),
        E::SchemaBatchRead => on(method, schemas::batch_read),
        E::SchemaGet => on(method, schemas::get_one),
        E::SchemaCreate
        | E::SchemaUpdate
        | E::SchemaDelete
        | E::SchemaAssociationCreate
        | E::SchemaAssociationDelete => on(method, schemas::write),
    }
}

pub fn router(
    state: AppState,
    limits: &HttpLimits,
    rate_limits: &RateLimits,
    admin_token: Option<&str>,
    fault_settings: &FaultSettings,
) -> HttpService {
    let faults = Arc::new(faults::FaultInjector::new(
        fault_settings,
        admin_token.map(Arc::from),
        state.metrics.clone(),
    ));
    let admin = Router::new()
        .route(
            "/_hubcalls/portals/{portal}",
            axum::routing::delete(admin::reset_portal),
        )
        .route(
            "/_hubcalls/portals/{portal}/webhooks",
            put(webhooks_admin::put)
                .get(webhooks_admin::get)
                .delete(webhooks_admin::delete),
        )
        .route(
            "/_hubcalls/portals/{portal}/webhooks/attempts",
            get(webhooks_admin::attempts),
        )
        .route(
            "/_hubcalls/portals/{portal}/validation-rules",
            get(validation_rules_admin::get)
                .put(validation_rules_admin::put)
                .delete(validation_rules_admin::delete),
        )
        .route(
            "/_hubcalls/portals/{portal}/fixtures",
            post(admin::load_fixture),
        )
        .route(
            "/_hubcalls/portals/{portal}/export",
            get(admin::export_portal),
        )
        .route(
            "/_hubcalls/faults",
            get(faults::show_rules)
                .put(faults::replace_rules)
                .delete(faults::clear_rules)
                .with_state(Arc::clone(&faults)),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            admin::AdminToken(admin_token.map(Arc::from)),
            admin::require_admin,
        ));
    let gate = Arc::new(gate::ApiGate {
        tokens: Arc::clone(&state.tokens),
        faults,
        limiter: rate_limits
            .enabled()
            .then(|| rate_limit::RateLimiter::new(*rate_limits)),
        metrics: state.metrics.clone(),
    });
    let api = endpoints::TABLE
        .iter()
        .fold(Router::new(), |api, route| {
            api.route(route.path, serve(route.endpoint, route.verb.filter()))
        })
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(gate, gate::pass));
    let app = Router::new()
        .route(
            "/healthz",
            get(|| async { json_response(StatusCode::OK, &serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readiness))
        .route("/openapi.yaml", get(openapi::serve))
        .route("/metrics", get(metrics::render))
        .merge(console::routes())
        .merge(admin)
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::record,
        ))
        .merge(api)
        .with_state(state);
    // Wrapped around the router, not applied to it: a router's layers wrap each route,
    // and are cloned with it for every request.
    let app = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            front_door::FrontDoor::new(limits),
            front_door::enter,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
        .service(app);
    HttpService::new(app)
}

/// The server's service: every request in, its answer out. Boxed once, so naming it costs
/// one allocation per request rather than a second router around the first.
pub type HttpService =
    tower::util::BoxCloneSyncService<Request, Response, std::convert::Infallible>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_date_versions_are_named() {
        assert_eq!(
            unknown_dated_version("/crm/objects/2027-03/calls/1"),
            Some("2027-03")
        );
        assert_eq!(
            unknown_dated_version("/crm-object-schemas/2030-09-beta/schemas"),
            Some("2030-09-beta")
        );
        assert_eq!(unknown_dated_version("/crm/v3/objects/calls/1"), None);
        assert_eq!(unknown_dated_version("/nothing"), None);
    }

    #[test]
    fn object_types_are_read_by_name_or_id() {
        for ok in ["calls", "CALLS", "call", "0-48"] {
            assert_eq!(object_type_of(ok).ok(), Some(ObjectType::CALLS), "{ok}");
        }
        assert_eq!(object_type_of("0-3").ok(), Some(ObjectType::DEALS));
        assert_eq!(
            object_type_of("widgets").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
