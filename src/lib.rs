//! hubcalls: HubSpot's CRM v3 Calls API as a self-hosted server.
//!
//! Layers point one way, toward the rules: [`api`] (HTTP) → [`crm`] (rules, the store trait)
//! ← [`store`] (engines). This file wires an engine into the app.

pub mod api;
pub mod config;
pub mod crm;
pub mod json_text;
pub mod migrate_store;
pub mod move_portal;
pub mod store;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::auth::TokenRegistry;
use crate::api::AppState;
use crate::config::{Config, Storage};
use crate::crm::error::StoreError;
use crate::crm::ports::Store;
use crate::crm::services::Services;
use crate::store::{PostgresStore, ShardedStore, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("invalid webhook settings: {0}")]
    Webhooks(String),
    #[error("invalid owners: {0}")]
    Owners(String),
    #[error("invalid validation rules: {0}")]
    WriteRules(String),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// A server bound to its address, ready to run.
pub struct App {
    listener: TcpListener,
    address: SocketAddr,
    service: api::HttpService,
    header_read_timeout: std::time::Duration,
}

/// Opens the store a configuration asks for.
pub fn open_store(
    storage: &Storage,
    max_database_bytes: Option<u64>,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match storage {
        Storage::Memory => Arc::new(SqliteStore::in_memory()?),
        Storage::Directory(dir) => {
            Arc::new(SqliteStore::open(dir)?.with_size_cap(max_database_bytes)?)
        }
        Storage::Postgres(settings) => Arc::new(PostgresStore::open(settings)?),
        Storage::Sharded(layout) => Arc::new(ShardedStore::open(layout.clone())?),
    })
}

impl App {
    /// Opens the store and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartError> {
        // Opening blocks (file I/O, or a database's synchronous client): keep it off the
        // async workers.
        let (storage, cap) = (config.storage.clone(), config.max_database_bytes);
        let store = tokio::task::spawn_blocking(move || open_store(&storage, cap))
            .await
            .map_err(|e| StoreError::Backend(format!("opening the store failed: {e}")))??;
        Self::build_with_store(config, store).await
    }

    /// Like [`App::build`], on a store the caller opened (`config.storage` is not used): an
    /// engine of its own, or a wrapper that makes the store fail, to test how the server
    /// copes with a full disk or a lost database.
    pub async fn build_with_store(
        config: Config,
        store: Arc<dyn Store>,
    ) -> Result<Self, StartError> {
        // Webhooks hear of every committed write through a wrapper around the store.
        let webhooks = webhooks::Webhooks::start(config.webhook_delivery, config.webhooks.clone())
            .map_err(StartError::Webhooks)?;
        let store: Arc<dyn Store> = Arc::new(crm::webhooks::ReportingStore::new(
            store,
            Arc::new(webhooks.clone()),
        ));
        let owners = crm::owners::Owners::from_settings(config.owners.clone())
            .map_err(StartError::Owners)?;
        let write_rules =
            crm::write_rules::WriteRules::from_settings(config.validation_rules.clone())
                .map_err(StartError::WriteRules)?;
        let services = Services::new(store, config.search_limits)
            .with_owners(owners)
            .with_write_rules(write_rules);
        let read_turns = Arc::new(tokio::sync::Semaphore::new(
            services.parallel_reads().max(1),
        ));
        let state = AppState {
            services: Arc::new(services),
            read_turns,
            webhooks,
            tokens: Arc::new(TokenRegistry::new(config.tokens.clone())),
            metrics: api::metrics::Metrics::default(),
        };
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    address: config.listen,
                    source,
                })?;
        let address = listener.local_addr().map_err(|source| StartError::Listen {
            address: config.listen,
            source,
        })?;
        Ok(Self {
            listener,
            address,
            header_read_timeout: std::time::Duration::from_secs(
                config.http.header_read_timeout_secs.max(1),
            ),
            service: api::router(
                state,
                &config.http,
                &config.rate_limits,
                config.admin_token.as_deref(),
                &config.faults,
            ),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    ///
    /// The accept loop is hyper's own (rather than `axum::serve`) for one reason: it can
    /// bound how long a client takes to send its headers, so a slow or stalled client cannot
    /// hold a connection (and its task) forever.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
        use hyper_util::server::conn::auto::Builder;
        use hyper_util::service::TowerToHyperService;
        use tower::ServiceExt;

        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            // Out of file descriptors and the like: wait, then go on.
                            tracing::warn!(%error, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(
                        self.service
                            .clone()
                            .map_request(|request: hyper::Request<hyper::body::Incoming>| {
                                request.map(axum::body::Body::new)
                            })
                            .map_result(drop_marked),
                    );
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
                _ = &mut shutdown => break,
            }
        }
        drop(self.listener);
        // Requests in flight finish; idle connections close.
        graceful.shutdown().await;
        Ok(())
    }
}

/// Passes the router's answer on, except one marked [`api::faults::DropConnection`]: that
/// becomes a service error, on which hyper closes the connection without answering (a fault
/// rehearsal).
fn drop_marked(
    result: Result<axum::response::Response, std::convert::Infallible>,
) -> Result<axum::response::Response, Box<dyn std::error::Error + Send + Sync>> {
    match result {
        Ok(response)
            if response
                .extensions()
                .get::<api::faults::DropConnection>()
                .is_some() =>
        {
            Err("connection dropped by a fault rule".into())
        }
        Ok(response) => Ok(response),
        Err(never) => match never {},
    }
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called (not when
/// the future is first polled), so a signal that arrives right after start-up is not lost.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {},
                        _ = terminate.recv() => {},
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
