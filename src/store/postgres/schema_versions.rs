//! Portals' schema versions without a query per request.
//!
//! The rules ask for a partition's schema version on every request, to know whether their
//! cached schema is still current (another server may have changed it). Asking PostgreSQL
//! each time cost a round trip per request. Instead, every change of a schema notifies the
//! channel [`CHANNEL`] in its transaction, and a thread of each server listens on a
//! connection of its own: the versions it has read stay known until a notification (or a
//! lost listening connection) says they may have moved.
//!
//! What another server changed reaches this one when PostgreSQL delivers the notification,
//! right after the change commits; this server's own changes are forgotten here as soon as
//! they commit. Until the listener is connected, and whenever it has lost its connection,
//! every version is read from the database as before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::NoTls;

use crate::crm::error::StoreError;

/// The channel schema changes are announced on. The payload is `schema:key`: the schema
/// (namespace) of the tables changed and the partition key whose schema changed, or
/// `schema:` alone when every partition of the schema may have changed.
pub(super) const CHANNEL: &str = "hubcalls_schema_versions";

/// The SQL that announces a change of one partition's schema (`$1`: the key as text), in
/// the transaction that makes it.
pub(super) const NOTIFY_ONE: &str =
    "SELECT pg_notify('hubcalls_schema_versions', current_schema() || ':' || $1::TEXT)";

/// The SQL that announces that any partition's schema may have changed.
pub(super) const NOTIFY_ALL: &str =
    "SELECT pg_notify('hubcalls_schema_versions', current_schema() || ':')";

/// How long the listener waits for a notification before it checks whether the store is
/// still open.
const POLL: Duration = Duration::from_secs(1);

/// How long the listener waits before connecting again after losing its connection.
const RECONNECT_AFTER: Duration = Duration::from_millis(500);

/// The versions this server knows to be current.
pub(super) struct SchemaVersions {
    shared: Arc<Shared>,
}

struct Shared {
    /// Partition key → its schema version, read while the listener was connected and not
    /// announced as changed since.
    known: Mutex<HashMap<i64, u64>>,
    /// Moves on every forgetting: a version read from the database while it moved may
    /// already be stale, so it is not kept.
    epoch: AtomicU64,
    /// Whether the listener is connected: only then are versions kept.
    listening: AtomicBool,
}

impl Shared {
    fn known(&self) -> MutexGuard<'_, HashMap<i64, u64>> {
        // Every update is a single insert, remove or clear: a poisoned map is still whole.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self, key: Option<i64>) {
        let mut known = self.known();
        match key {
            Some(key) => {
                known.remove(&key);
            }
            None => known.clear(),
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

impl SchemaVersions {
    /// Starts the listener on a connection of its own (made from `config`); it stops
    /// shortly after the returned value is dropped.
    pub(super) fn start(config: postgres::Config) -> Self {
        let shared = Arc::new(Shared {
            known: Mutex::default(),
            epoch: AtomicU64::new(0),
            listening: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&shared);
        let started = std::thread::Builder::new()
            .name("hubcalls-pg-schema".into())
            .spawn(move || listen(config, weak));
        if let Err(error) = started {
            // Without the listener every version is read from the database: slower, not wrong.
            tracing::warn!(%error, "cannot start the schema-version listener");
        }
        Self { shared }
    }

    /// The partition's schema version: the known one, or `read`'s (kept if nothing was
    /// announced while reading it).
    pub(super) fn version(
        &self,
        key: i64,
        read: impl FnOnce() -> Result<u64, StoreError>,
    ) -> Result<u64, StoreError> {
        if !self.shared.listening.load(Ordering::Acquire) {
            return read();
        }
        if let Some(version) = self.shared.known().get(&key) {
            return Ok(*version);
        }
        let epoch = self.shared.epoch.load(Ordering::Acquire);
        let version = read()?;
        let mut known = self.shared.known();
        if self.shared.epoch.load(Ordering::Acquire) == epoch
            && self.shared.listening.load(Ordering::Acquire)
        {
            known.insert(key, version);
        }
        Ok(version)
    }

    /// The partition's schema version if it is known without asking the database.
    pub(super) fn known(&self, key: i64) -> Option<u64> {
        if !self.shared.listening.load(Ordering::Acquire) {
            return None;
        }
        self.shared.known().get(&key).copied()
    }

    /// Forgets a partition's version (`None`: every partition's) after this server changed
    /// it, without waiting for its own notification.
    pub(super) fn forget(&self, key: Option<i64>) {
        self.shared.forget(key);
    }
}

/// The listener's loop: connect, listen, forget what notifications name; on any failure,
/// forget everything, stop keeping versions and connect again.
fn listen(config: postgres::Config, shared: Weak<Shared>) {
    loop {
        let outcome = listen_once(&config, &shared);
        let Some(live) = shared.upgrade() else { return };
        live.listening.store(false, Ordering::Release);
        live.forget(None);
        drop(live);
        match outcome {
            Ok(()) => return,
            Err(error) => {
                tracing::debug!(%error, "schema-version listener lost its connection");
                std::thread::sleep(RECONNECT_AFTER);
            }
        }
    }
}

/// Listens on one connection until the store is gone (`Ok`) or the connection fails.
fn listen_once(config: &postgres::Config, shared: &Weak<Shared>) -> Result<(), postgres::Error> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    let schema: String = client
        .query_one("SELECT current_schema()", &[])?
        .try_get(0)?;
    let prefix = format!("{schema}:");
    {
        let Some(live) = shared.upgrade() else {
            return Ok(());
        };
        // Anything read before the LISTEN took effect may have missed a notification.
        live.forget(None);
        live.listening.store(true, Ordering::Release);
    }
    loop {
        {
            let mut notifications = client.notifications();
            let mut iter = notifications.timeout_iter(POLL);
            while let Some(notification) = iter.next()? {
                let Some(key) = notification.payload().strip_prefix(&prefix) else {
                    continue; // another schema's tables
                };
                let Some(live) = shared.upgrade() else {
                    return Ok(());
                };
                live.forget(key.parse().ok());
            }
        }
        if shared.strong_count() == 0 {
            return Ok(());
        }
        if client.is_closed() {
            // Reported as an error by the next use; make one to leave the loop.
            client.simple_query("")?;
        }
    }
}
