//! Reads by id over asynchronous connections, awaited on the thread serving the request.
//!
//! Why: a get on the synchronous client costs a hop to a blocking-pool thread and back,
//! and that thread sleeps in the socket for the round trip. On a 2-core machine the
//! switches, wake-ups and per-query socket writes were most of hubcalls' CPU for a get
//! (docs/performance.md, "Issue 16, third round"). Here the queries of concurrent requests
//! share a few connections: tokio-postgres pipelines them, so one socket write carries the
//! queries of several requests and one read their answers, and no thread waits.
//!
//! The connections are shared, not checked out, so this is no pool in the r2d2 sense: a
//! request takes the next connection in turn. A connection found closed is replaced by the
//! next request that turns to it; the request that found it so fails with "unavailable",
//! as a request on a dropped pooled connection does. So does one whose answer does not come
//! within the statement timeout (and a bit): the database or the network is gone without
//! closing the connection, which is then replaced too.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use crate::crm::error::StoreError;
use crate::crm::objects::Partition;
use crate::crm::ports::{AsyncReads, StoreFuture};
use crate::crm::record::{Projection, Record, RecordId};
use crate::crm::search::{SearchHits, SearchPlan, SortKey};

use super::records::{calls_from_rows, projected_calls_from_rows, GET_RECORDS};
use super::{ids_param, search, store_error, PostgresStore};
use crate::store::rows::RECORD_COLUMN_COUNT;

/// How many connections the awaited reads share. Each is one PostgreSQL backend, which
/// answers its queries one after the other: a few let PostgreSQL use more than one core,
/// while each still gathers enough queries to write them together.
const CONNECTIONS: usize = 4;

/// A connection with the statement it runs prepared on it.
struct Connected {
    client: Client,
    get_records: Statement,
    /// Its slot in [`SharedConnections::slots`].
    slot: usize,
}

/// The shared connections, each opened on first use.
pub(super) struct SharedConnections {
    config: tokio_postgres::Config,
    slots: Vec<Mutex<Option<Arc<Connected>>>>,
    next: AtomicUsize,
    /// How long a read waits for its answer before it gives up on the connection.
    answer_within: Duration,
    /// How long opening a connection may take, handshake and preparing included.
    connect_within: Duration,
}

impl SharedConnections {
    /// `statement_timeout`: the one the connections' sessions run with; a read's answer may
    /// take that long, and a little more for the network. `connect_timeout`: as the pool's.
    pub(super) fn new(
        config: tokio_postgres::Config,
        statement_timeout: Duration,
        connect_timeout: Duration,
    ) -> Self {
        Self {
            config,
            slots: (0..CONNECTIONS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            answer_within: statement_timeout + Duration::from_secs(1),
            connect_within: connect_timeout,
        }
    }

    /// The next connection in turn, opened (and its statement prepared) if it is not open,
    /// within the connect timeout all told. The client's own connect timeout covers the
    /// TCP connect only, not the handshake; and while the database is away, requests that
    /// turn to one slot queue for it, so each must stop waiting on its own clock, as a
    /// request waiting for a pooled connection does.
    async fn connection(&self) -> Result<Arc<Connected>, StoreError> {
        tokio::time::timeout(self.connect_within, self.take_turn())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "no database connection within {} ms",
                    self.connect_within.as_millis()
                ))
            })?
    }

    async fn take_turn(&self) -> Result<Arc<Connected>, StoreError> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        // Held only to look at the slot, or while opening its connection: requests that
        // turn to a slot being opened wait for it rather than open one each.
        let mut slot = self.slots[turn].lock().await;
        if let Some(connected) = slot.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(Arc::clone(connected));
        }
        *slot = None;
        let opened = self.open(turn).await?;
        *slot = Some(Arc::clone(&opened));
        Ok(opened)
    }

    /// Opens the connection of slot `turn` and prepares its statement.
    async fn open(&self, turn: usize) -> Result<Arc<Connected>, StoreError> {
        let (client, connection) = self.config.connect(NoTls).await.map_err(store_error)?;
        // The connection's I/O runs as a task of its own; it ends when the client is
        // dropped or the server closes it (then the client reports itself closed).
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "an awaited-reads connection ended");
            }
        });
        let get_records = client.prepare(&GET_RECORDS).await.map_err(store_error)?;
        Ok(Arc::new(Connected {
            client,
            get_records,
            slot: turn,
        }))
    }

    /// Drops `connected` from its slot (if it is still there), so the next request to turn
    /// to the slot opens a fresh connection.
    async fn replace(&self, connected: &Arc<Connected>) {
        let mut slot = self.slots[connected.slot].lock().await;
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, connected)) {
            *slot = None;
        }
    }
}

impl SharedConnections {
    /// Sends `ask`'s query on the next connection in turn and waits for its rows within
    /// the answer timeout; past it, the connection is given up and replaced.
    async fn answer<'q, F, Q>(&self, ask: F) -> Result<Vec<Row>, StoreError>
    where
        F: FnOnce(Arc<Connected>) -> Q,
        Q: Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + 'q,
    {
        let connected = self.connection().await?;
        match tokio::time::timeout(self.answer_within, ask(Arc::clone(&connected))).await {
            Ok(rows) => rows.map_err(store_error),
            Err(_) => {
                self.replace(&connected).await;
                Err(StoreError::Unavailable(format!(
                    "the database did not answer within {} ms",
                    self.answer_within.as_millis()
                )))
            }
        }
    }
}

impl AsyncReads for PostgresStore {
    fn get_records<'a>(
        &'a self,
        partition: Partition,
        ids: &'a [RecordId],
    ) -> StoreFuture<'a, Vec<Record>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let (portal, ids) = (partition.key(), ids_param(ids));
            let rows = self
                .shared_connections
                .answer(|connected| async move {
                    let params: [&(dyn ToSql + Sync); 2] = [&portal, &ids];
                    connected
                        .client
                        .query(&connected.get_records, &params)
                        .await
                })
                .await?;
            calls_from_rows(rows)
        })
    }

    fn search<'a>(
        &'a self,
        partition: Partition,
        plan: &'a SearchPlan,
        projection: &'a Projection<'a>,
    ) -> StoreFuture<'a, Option<SearchHits>> {
        Box::pin(async move {
            let query = search::page_with_total_query(partition, plan, projection);
            let rows = self
                .search_connections
                .answer(|connected| async move {
                    connected
                        .client
                        .query_typed(&query.text, &query.typed_params())
                        .await
                })
                .await?;
            let total_at = RECORD_COLUMN_COUNT + 2;
            let total = match rows.first() {
                Some(row) => row.try_get::<_, i64>(total_at)?.max(0) as usize,
                None => return Err(StoreError::Backend("a search returned no row".into())),
            };
            // An empty page is one row of NULL record columns.
            let page: Vec<Row> = rows
                .into_iter()
                .filter(|row| matches!(row.try_get::<_, Option<i64>>(0), Ok(Some(_))))
                .collect();
            let calls = projected_calls_from_rows(&page, projection)?;
            // Matches without the sort value come after the page's: reading them takes more
            // statements, which must see the same snapshot, so the pool's search does it.
            let needs_unvalued = matches!(plan.sort, SortKey::Property { .. })
                && calls.len() < plan.limit
                && plan.offset.saturating_add(calls.len()) < total;
            Ok((!needs_unvalued).then_some(SearchHits { total, calls }))
        })
    }

    fn known_schema_version(&self, partition: Partition) -> Option<u64> {
        self.schema_versions.known(partition.key())
    }
}
