//! Past one database: portals spread over several PostgreSQL databases (or schemas), the
//! shards. Every server opens every shard and serves every portal, routing each call to the
//! shard of the portal it concerns (`layout`); a portal's data never spans shards, so every
//! transaction stays within one database.
//!
//! Each shard is a [`PostgresStore`], migrated when it opens like a lone database, and
//! confined to an id range of its own (`id_ranges`), so ids stay unique across shards and a
//! portal can move between them (`hubcalls move-portal`) with its ids.
//!
//! This file opens the shards and routes; the ports are forwarded in `ports`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::crm::error::StoreError;
use crate::crm::ports::{AsyncReads, ShardHealth, Store};
use crate::crm::record::PortalId;
use crate::store::PostgresStore;

mod id_ranges;
mod layout;
mod ports;

pub use id_ranges::{IdRange, IDS_PER_SHARD, MAX_ID_RANGE};
pub use layout::{ShardLayout, ShardSettings};

/// Several shards served as one store.
pub struct ShardedStore {
    layout: ShardLayout,
    shards: Vec<Shard>,
}

/// One open shard and how it fared.
struct Shard {
    name: String,
    store: Arc<dyn Store>,
    /// Whether its last answer was one (not "unavailable").
    up: AtomicBool,
    unavailable_total: AtomicU64,
}

impl Shard {
    /// Notes how a call fared, and names the shard in an "unavailable" error, so the log
    /// line and the readiness answer say which database is missing.
    fn observe<T>(&self, outcome: Result<T, StoreError>) -> Result<T, StoreError> {
        match outcome {
            Err(StoreError::Unavailable(reason)) => {
                self.up.store(false, Ordering::Relaxed);
                self.unavailable_total.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Unavailable(format!(
                    "shard {}: {reason}",
                    self.name
                )))
            }
            other => {
                self.up.store(true, Ordering::Relaxed);
                other
            }
        }
    }
}

/// Opens one shard's database: connects, migrates, confines its ids to the shard's range.
/// Blocks.
pub fn open_shard(settings: &ShardSettings) -> Result<PostgresStore, StoreError> {
    let in_shard = |error: StoreError| match error {
        StoreError::Unavailable(reason) => {
            StoreError::Unavailable(format!("shard {}: {reason}", settings.name))
        }
        StoreError::Backend(reason) => {
            StoreError::Backend(format!("shard {}: {reason}", settings.name))
        }
        other => other,
    };
    let store = PostgresStore::open(&settings.postgres).map_err(in_shard)?;
    store.confine_ids(settings.ids()).map_err(in_shard)?;
    Ok(store)
}

impl ShardedStore {
    /// Opens every shard of the layout (see [`open_shard`]). Blocks: call it from a thread
    /// that is not running async tasks.
    pub fn open(layout: ShardLayout) -> Result<Self, StoreError> {
        let stores = layout
            .shards()
            .iter()
            .map(|settings| open_shard(settings).map(|store| Arc::new(store) as Arc<dyn Store>))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_stores(layout, stores))
    }

    /// Serves stores already open as the layout's shards, in its order (tests wrap a shard
    /// to make it fail).
    pub fn from_stores(layout: ShardLayout, stores: Vec<Arc<dyn Store>>) -> Self {
        let shards = layout
            .shards()
            .iter()
            .zip(stores)
            .map(|(settings, store)| Shard {
                name: settings.name.clone(),
                store,
                up: AtomicBool::new(true),
                unavailable_total: AtomicU64::new(0),
            })
            .collect();
        Self { layout, shards }
    }

    pub fn layout(&self) -> &ShardLayout {
        &self.layout
    }

    /// Runs `work` on the shard of `portal`. A portal being moved is refused, retryably.
    fn on<T>(
        &self,
        portal: PortalId,
        work: impl FnOnce(&dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let shard = self.shard_of(portal)?;
        shard.observe(work(shard.store.as_ref()))
    }

    /// The shard of `portal`, unless the portal is being moved (refused, retryably).
    fn shard_of(&self, portal: PortalId) -> Result<&Shard, StoreError> {
        if self.layout.is_moving(portal) {
            return Err(StoreError::Unavailable(format!(
                "portal {portal} is being moved between shards"
            )));
        }
        Ok(&self.shards[self.layout.shard_of(portal)])
    }

    /// The portal's shard and its awaited reads.
    fn awaited_reads_of(&self, portal: PortalId) -> Result<(&Shard, &dyn AsyncReads), StoreError> {
        let shard = self.shard_of(portal)?;
        let reads = shard.store.async_reads().ok_or_else(|| {
            StoreError::Unavailable(format!("shard {} has no awaited reads", shard.name))
        })?;
        Ok((shard, reads))
    }

    /// Runs `work` on every shard, in order; the first failure ends it.
    fn on_each(
        &self,
        mut work: impl FnMut(&dyn Store) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for shard in &self.shards {
            shard.observe(work(shard.store.as_ref()))?;
        }
        Ok(())
    }

    fn health(&self) -> Vec<ShardHealth> {
        self.shards
            .iter()
            .map(|shard| ShardHealth {
                name: shard.name.clone(),
                up: shard.up.load(Ordering::Relaxed),
                unavailable_total: shard.unavailable_total.load(Ordering::Relaxed),
            })
            .collect()
    }
}
