//! Group commit: writers that arrive while others hold the writer connection share one
//! transaction, each in its own savepoint, and one WAL commit carries them all. Staged writes
//! (see `crate::crm::staging`) leave the group open for the API to commit and await.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::crm::error::StoreError;
use crate::crm::ports::{GroupOutcome, Scheduling, Store};
use crate::crm::staging::Staging;

use super::ddl::count_write;
use super::index::{IndexOp, SearchIndex};
use super::{index_journal, lock, write_index, IndexState, SqliteStore};

/// The writer connection and the batch of requests its open transaction holds.
pub(super) struct Writer {
    pub(super) conn: Connection,
    /// Number of the batch being filled (or the next one when none is open).
    batch: u64,
    open: bool,
    jobs: usize,
    opened_at: Instant,
    /// Whether a committer is scheduled for the open batch (staged writes leave it open).
    committer_scheduled: bool,
    /// Index changes of the open batch, applied once it commits.
    pending: Vec<IndexOp>,
}

impl Writer {
    pub(super) fn new(conn: Connection) -> Self {
        Self {
            conn,
            batch: 0,
            open: false,
            jobs: 0,
            opened_at: Instant::now(),
            committer_scheduled: false,
            pending: Vec::new(),
        }
    }

    /// Rolls back the open batch, if any, when the store closes: nobody waits for it any
    /// more, so its writes were never acknowledged.
    pub(super) fn abandon_open_batch(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.pending.clear();
            self.open = false;
        }
    }
}

/// What a write runs with: the writer connection inside the batch's transaction, and the
/// queue of index changes its writes make.
pub(super) struct Tx<'a> {
    pub(super) conn: &'a Connection,
    pub(super) pending: &'a mut Vec<IndexOp>,
    pub(super) index: &'a RwLock<SearchIndex>,
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

/// How batches ended, for the writers waiting on them.
#[derive(Default)]
pub(super) struct Commits {
    /// Every batch below this number has ended.
    next_uncommitted: u64,
    /// Batches whose commit failed, with the reason.
    failed: HashMap<u64, String>,
}

/// A batch is committed once it holds this many requests...
const GROUP_COMMIT_MAX_REQUESTS: usize = 256;

/// ...or has been open this long, even while more writers keep arriving.
const GROUP_COMMIT_MAX_DELAY: Duration = Duration::from_millis(5);

/// How long a staged write waits for a writer held elsewhere before its work moves to the
/// blocking pool (staged writes themselves hold it for microseconds to a few milliseconds).
const STAGED_WRITE_MAX_WAIT: Duration = Duration::from_millis(2);

/// A waiting writer commits the batch itself if nobody did within this time.
const GROUP_COMMIT_RESCUE_AFTER: Duration = Duration::from_millis(250);

impl SqliteStore {
    /// Runs `write` inside a write transaction and returns once that transaction is
    /// committed (so a 2xx after it means the write is durable). A failed `write` is rolled
    /// back to its savepoint: nothing of it remains.
    ///
    /// Group commit: writers that arrive while others hold the connection share one
    /// transaction. Each runs in its own savepoint; the last of a burst (or the one that
    /// finds the batch full or old) commits for all, and the others wait for that commit.
    /// One WAL commit then carries many requests' pages.
    ///
    /// A staged write (through a handle from [`Scheduling::staged`], see
    /// `crate::crm::staging`) leaves the batch open, records it in the handle's staging and
    /// returns at once; its caller has the batch committed (`commit_group`) and waits for
    /// that (`group_outcome`) before acknowledging.
    pub(super) fn write<T>(
        &self,
        write: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let staging = self.staging.as_deref().filter(|_| self.engine.group_commit);
        self.wait_for_index()?;
        if staging.is_none() {
            self.engine.waiting.fetch_add(1, Ordering::SeqCst);
        }
        let mut writer = if let Some(staging) = staging {
            match self.writer_for_staged_write(staging) {
                Some(writer) => writer,
                None => {
                    staging.report_busy();
                    return Err(StoreError::Unavailable("the writer is busy".to_owned()));
                }
            }
        } else {
            let writer = lock(&self.engine.writer);
            self.engine.waiting.fetch_sub(1, Ordering::SeqCst);
            writer
        };
        if !writer.open {
            writer.conn.execute_batch("BEGIN IMMEDIATE")?;
            writer.open = true;
            writer.opened_at = Instant::now();
        }
        writer.conn.execute_batch("SAVEPOINT request")?;
        let queued_before = writer.pending.len();
        let result = {
            let Writer { conn, pending, .. } = &mut *writer;
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                write(&mut Tx {
                    conn,
                    pending,
                    index: self.engine.index.as_ref(),
                })
            }))
        };
        let result = match result {
            Ok(result) => result,
            Err(panic) => {
                // Undo what the panicking write did before the batch's next write or
                // commit could keep half of it.
                writer.pending.truncate(queued_before);
                let undone = !writer.conn.is_autocommit()
                    && writer
                        .conn
                        .execute_batch("ROLLBACK TO request; RELEASE request")
                        .is_ok();
                if !undone {
                    let _ = writer.conn.execute_batch("ROLLBACK");
                    writer.pending.clear();
                    self.finish_batch(&mut writer, Err("a write panicked".to_owned()));
                }
                drop(writer);
                std::panic::resume_unwind(panic);
            }
        };
        if writer.conn.is_autocommit() {
            // SQLite rolled the whole transaction back itself (it does on a full disk or an
            // I/O error): every request of this batch is lost, so all of them fail.
            let reason = match &result {
                Err(error) => error.to_string(),
                Ok(_) => "the transaction was rolled back".to_owned(),
            };
            writer.pending.clear();
            self.finish_batch(&mut writer, Err(reason.clone()));
            return match result {
                Err(StoreError::Backend(reason)) => Err(StoreError::Unavailable(reason)),
                Err(error) => Err(error),
                Ok(_) => Err(StoreError::Unavailable(reason)),
            };
        }
        let undo = if result.is_ok() {
            writer.jobs += 1;
            "RELEASE request"
        } else {
            writer.pending.truncate(queued_before);
            "ROLLBACK TO request; RELEASE request"
        };
        if let Err(error) = writer.conn.execute_batch(undo) {
            // The transaction is in an unknown state: abandon the whole batch.
            let _ = writer.conn.execute_batch("ROLLBACK");
            writer.pending.clear();
            self.finish_batch(&mut writer, Err(error.to_string()));
            return Err(StoreError::Unavailable(error.to_string()));
        }
        let batch = writer.batch;
        if let Some(staging) = staging {
            let unscheduled = !writer.committer_scheduled;
            writer.committer_scheduled = true;
            drop(writer);
            staging.record(batch, unscheduled);
            return result;
        }
        let others_waiting = self.engine.waiting.load(Ordering::SeqCst) > 0;
        let batch_full = writer.jobs >= GROUP_COMMIT_MAX_REQUESTS
            || writer.opened_at.elapsed() >= GROUP_COMMIT_MAX_DELAY;
        if !self.engine.group_commit || !others_waiting || batch_full {
            let committed = self.commit(&mut writer);
            self.finish_batch(&mut writer, committed.clone());
            drop(writer);
            return match committed {
                Ok(()) => result,
                Err(reason) if result.is_ok() => Err(StoreError::Unavailable(reason)),
                Err(_) => result,
            };
        }
        drop(writer);
        let value = result?;
        self.await_commit(batch)?;
        Ok(value)
    }

    /// Commits the open batch and applies its index changes under the index's write lock,
    /// so no search sees the rows without the index or the reverse.
    fn commit(&self, writer: &mut Writer) -> Result<(), String> {
        let mut index = write_index(&self.engine.index);
        let committed = count_write(&writer.conn).and_then(|writes| {
            let journaled = self.journal(&writer.conn, writes, &writer.pending)?;
            writer.conn.execute_batch("COMMIT")?;
            Ok((writes, journaled))
        });
        match committed {
            Ok((writes, journaled)) => {
                self.engine.seen_writes.store(writes, Ordering::SeqCst);
                self.engine
                    .index_changes
                    .fetch_add(journaled, Ordering::Relaxed);
                for op in writer.pending.drain(..) {
                    index.apply(op);
                }
                Ok(())
            }
            Err(error) => {
                let _ = writer.conn.execute_batch("ROLLBACK");
                writer.pending.clear();
                Err(error.to_string())
            }
        }
    }

    /// Journals the batch's index changes in its transaction (committing as write `seq`),
    /// and trims what a saved index holds since the last commit; answers how many changes it
    /// journaled. A store in memory is never saved, so it keeps no journal.
    fn journal(&self, conn: &Connection, seq: i64, ops: &[IndexOp]) -> rusqlite::Result<usize> {
        if self.engine.readers.is_none() {
            return Ok(0);
        }
        let saved_at = self.engine.journal_trim.swap(0, Ordering::SeqCst);
        if saved_at > 0 {
            if let Err(error) = index_journal::trim(conn, saved_at) {
                // The rows stay (start-up skips them); the next save asks again.
                tracing::warn!(%error, "trimming the index journal failed");
            }
        }
        index_journal::record(conn, seq, ops)
    }

    /// Closes the open batch and tells its waiting writers how it ended.
    fn finish_batch(&self, writer: &mut Writer, outcome: Result<(), String>) {
        let batch = writer.batch;
        writer.open = false;
        writer.jobs = 0;
        writer.committer_scheduled = false;
        writer.batch += 1;
        let mut commits = lock(&self.engine.commits);
        commits.next_uncommitted = batch + 1;
        if let Err(reason) = outcome {
            commits.failed.insert(batch, reason);
        }
        // Keep the failure log small: only recent batches can still have waiters.
        commits.failed.retain(|b, _| b + 1024 > batch);
        drop(commits);
        self.engine.committed.notify_all();
        self.engine.committed_below.send_replace(batch + 1);
    }

    /// The writer connection for a staged write, or `None` when another write has held it
    /// for a while (a fixture load, a large import) and the staged write's work may still
    /// move to the blocking pool rather than hold up the thread serving requests.
    fn writer_for_staged_write(&self, staging: &Staging) -> Option<MutexGuard<'_, Writer>> {
        let deadline = Instant::now() + STAGED_WRITE_MAX_WAIT;
        loop {
            match self.engine.writer.try_lock() {
                Ok(writer) => return Some(writer),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                    return Some(poisoned.into_inner())
                }
                Err(std::sync::TryLockError::WouldBlock) => {
                    if !staging.may_report_busy() {
                        return Some(lock(&self.engine.writer));
                    }
                    if Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Commits `batch` if it is still the open one.
    fn commit_if_open(&self, batch: u64) {
        let mut writer = lock(&self.engine.writer);
        if writer.open && writer.batch == batch {
            let committed = self.commit(&mut writer);
            self.finish_batch(&mut writer, committed);
        }
    }

    /// How `batch` ended, once it has: an error when it was not committed.
    fn batch_outcome(&self, batch: u64) -> Result<(), StoreError> {
        match lock(&self.engine.commits).failed.get(&batch) {
            Some(reason) => Err(StoreError::Unavailable(reason.clone())),
            None => Ok(()),
        }
    }

    /// Waits until `batch` is committed (or failed). If the writer expected to commit it
    /// has vanished (a panic), commits it here.
    fn await_commit(&self, batch: u64) -> Result<(), StoreError> {
        let mut commits = lock(&self.engine.commits);
        loop {
            if commits.next_uncommitted > batch {
                drop(commits);
                return self.batch_outcome(batch);
            }
            let (guard, timeout) = self
                .engine
                .committed
                .wait_timeout(commits, GROUP_COMMIT_RESCUE_AFTER)
                .unwrap_or_else(|e| e.into_inner());
            commits = guard;
            if timeout.timed_out() && commits.next_uncommitted <= batch {
                drop(commits);
                self.commit_if_open(batch);
                commits = lock(&self.engine.commits);
            }
        }
    }
}

impl Scheduling for SqliteStore {
    fn stages_writes(&self) -> bool {
        // Until the index is built a write would wait for it: not on a serving thread.
        self.engine.group_commit && *lock(&self.engine.index_state.0) == IndexState::Ready
    }

    fn staged(&self, staging: &Arc<Staging>) -> Option<Arc<dyn Store>> {
        self.stages_writes()
            .then(|| Arc::new(self.staged_handle(staging)) as Arc<dyn Store>)
    }

    fn commit_group(&self, group: u64) {
        self.commit_if_open(group);
    }

    fn group_outcome(&self, group: u64) -> GroupOutcome<'_> {
        Box::pin(async move {
            let mut ended = self.engine.committed_below.subscribe();
            loop {
                let wait = ended.wait_for(|below| *below > group);
                match tokio::time::timeout(GROUP_COMMIT_RESCUE_AFTER, wait).await {
                    Ok(Ok(_)) => return self.batch_outcome(group),
                    // The sender lives as long as the store, which outlives this borrow.
                    Ok(Err(_)) => return Err(StoreError::Unavailable("the store closed".into())),
                    // Its committer vanished (a runtime shutting down): commit it here.
                    Err(_) => self.commit_if_open(group),
                }
            }
        })
    }

    fn reads_by_id_are_local(&self) -> bool {
        // On a file store a read by id is a primary-key lookup on a pooled reader connection
        // in this process: it never waits for the writer (WAL) or for the search index. An
        // in-memory store reads through the writer's connection, which a large write may hold.
        self.engine.readers.is_some()
    }
}
