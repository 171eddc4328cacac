//! Concurrent creates share statements: a create that finds every insert slot busy joins a
//! queue, and the next request to get a slot inserts everything queued with one statement.
//!
//! Why: each statement costs PostgreSQL a round trip, an executor start and a commit
//! (a WAL flush) whatever it holds; under load, a create's own rows were the smaller part
//! of its cost (docs/performance.md, issue 16). A lone create still runs at once, alone: a
//! request never waits for others to arrive, only for a slot.
//!
//! Each request is acknowledged only after the statement holding its rows committed. When
//! a shared statement fails for a reason of the data (not an outage), each request's rows
//! are inserted again on their own, so one request's bad row never fails another's.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::crm::error::StoreError;
use crate::crm::objects::Partition;

use super::inserts::NewRows;

/// Most records one shared statement takes (about a megabyte of parameters); more wait for
/// the next.
const MAX_RECORDS_PER_STATEMENT: usize = 1_000;

/// Inserts the rows of one partition with one statement.
pub(super) type InsertRows<'a> = &'a dyn Fn(Partition, &NewRows) -> Result<(), StoreError>;

pub(super) struct InsertGroups {
    state: Mutex<State>,
    /// Signalled when a statement ends: its requests' outcomes are in, and a slot is free.
    ended: Condvar,
    /// How many insert statements may run at once.
    slots: usize,
}

#[derive(Default)]
struct State {
    next_ticket: u64,
    queue: Vec<Queued>,
    busy_slots: usize,
    outcomes: HashMap<u64, Result<(), StoreError>>,
}

struct Queued {
    ticket: u64,
    partition: Partition,
    rows: NewRows,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state is consistent after every step under the lock; a panic elsewhere cannot
    // leave it half-changed.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl InsertGroups {
    pub(super) fn new(slots: usize) -> Self {
        Self {
            state: Mutex::default(),
            ended: Condvar::new(),
            slots: slots.max(1),
        }
    }

    /// Inserts `rows`, alone or with other requests' rows; returns once they are committed
    /// (or failed).
    pub(super) fn insert(
        &self,
        partition: Partition,
        rows: NewRows,
        insert: InsertRows<'_>,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push(Queued {
            ticket,
            partition,
            rows,
        });
        loop {
            if let Some(outcome) = state.outcomes.remove(&ticket) {
                return outcome;
            }
            if state.busy_slots < self.slots && !state.queue.is_empty() {
                state.busy_slots += 1;
                let group = take_group(&mut state.queue);
                drop(state);
                let slot = Slot {
                    groups: self,
                    tickets: group.iter().map(|q| q.ticket).collect(),
                };
                let outcomes = insert_group(group, insert);
                slot.end(outcomes);
                state = lock(&self.state);
                continue;
            }
            state = self
                .ended
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// The queued requests one statement takes, oldest first, up to
/// [`MAX_RECORDS_PER_STATEMENT`] (always at least one).
fn take_group(queue: &mut Vec<Queued>) -> Vec<Queued> {
    let mut records = 0;
    let mut taken = 0;
    for queued in queue.iter() {
        records += queued.rows.records();
        if taken > 0 && records > MAX_RECORDS_PER_STATEMENT {
            break;
        }
        taken += 1;
    }
    queue.drain(..taken).collect()
}

/// A busy slot: given back when its statement ends, also by a panic, so waiting requests
/// are never stranded.
struct Slot<'a> {
    groups: &'a InsertGroups,
    tickets: Vec<u64>,
}

impl Slot<'_> {
    fn end(mut self, outcomes: Vec<(u64, Result<(), StoreError>)>) {
        let mut state = lock(&self.groups.state);
        state.outcomes.extend(outcomes);
        self.tickets.clear();
        drop(state);
        // `drop` frees the slot and wakes the waiters.
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.groups.state);
        for ticket in self.tickets.drain(..) {
            state.outcomes.insert(
                ticket,
                Err(StoreError::Backend(
                    "the shared insert ended without an outcome".into(),
                )),
            );
        }
        state.busy_slots -= 1;
        drop(state);
        self.groups.ended.notify_all();
    }
}

/// Inserts a group, partition by partition (in practice one), and says how each request
/// fared.
fn insert_group(group: Vec<Queued>, insert: InsertRows<'_>) -> Vec<(u64, Result<(), StoreError>)> {
    let mut by_partition: Vec<(Partition, Vec<Queued>)> = Vec::new();
    for queued in group {
        match by_partition
            .iter_mut()
            .find(|(partition, _)| *partition == queued.partition)
        {
            Some((_, members)) => members.push(queued),
            None => by_partition.push((queued.partition, vec![queued])),
        }
    }
    let mut outcomes = Vec::new();
    for (partition, members) in by_partition {
        if let [only] = members.as_slice() {
            outcomes.push((only.ticket, insert(partition, &only.rows)));
            continue;
        }
        let mut joined = NewRows::default();
        for member in &members {
            joined.append(member.rows.clone());
        }
        match insert(partition, &joined) {
            Ok(()) => outcomes.extend(members.iter().map(|m| (m.ticket, Ok(())))),
            Err(StoreError::Unavailable(reason)) => {
                // The database, not a row: each would fail the same way, after as long a wait.
                outcomes.extend(
                    members
                        .iter()
                        .map(|m| (m.ticket, Err(StoreError::Unavailable(reason.clone())))),
                );
            }
            Err(_) => {
                for member in &members {
                    outcomes.push((member.ticket, insert(partition, &member.rows)));
                }
            }
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::objects::ObjectType;
    use std::sync::Arc;

    /// Each request's id and outcome.
    type Outcomes = Vec<(i64, Result<(), StoreError>)>;

    fn partition() -> Partition {
        Partition::new(1, ObjectType::CALLS)
    }

    /// Runs one request per id on its own thread, the first alone and the rest while its
    /// statement is held open until they all queued; returns each id's outcome and the
    /// ids of every statement run.
    fn run_requests(
        ids: &[i64],
        fails: impl Fn(&NewRows) -> bool + Send + Sync + 'static,
    ) -> (Outcomes, Vec<Vec<i64>>) {
        let groups = Arc::new(InsertGroups::new(1));
        let statements = Arc::new(Mutex::new(Vec::<Vec<i64>>::new()));
        let others = ids.len() - 1;
        let insert = {
            let groups = Arc::clone(&groups);
            let statements = Arc::clone(&statements);
            move |_: Partition, rows: &NewRows| {
                let first = statements.lock().unwrap().is_empty();
                statements.lock().unwrap().push(rows.ids().to_vec());
                while first && lock(&groups.state).queue.len() < others {
                    std::thread::yield_now();
                }
                if fails(rows) {
                    Err(StoreError::Backend("a bad row".into()))
                } else {
                    Ok(())
                }
            }
        };
        let insert = Arc::new(insert);
        let mut threads = Vec::new();
        for (n, &id) in ids.iter().enumerate() {
            let groups = Arc::clone(&groups);
            let insert = Arc::clone(&insert);
            threads.push(std::thread::spawn(move || {
                (
                    id,
                    groups.insert(partition(), NewRows::of_ids(&[id]), &*insert),
                )
            }));
            if n == 0 {
                // The first request holds the only slot before the others arrive.
                while statements.lock().unwrap().is_empty() {
                    std::thread::yield_now();
                }
            }
        }
        let outcomes = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let statements = statements.lock().unwrap().clone();
        (outcomes, statements)
    }

    #[test]
    fn requests_that_queue_share_one_statement() {
        let ids: Vec<i64> = (1..=8).collect();
        let (outcomes, statements) = run_requests(&ids, |_| false);
        assert!(outcomes.iter().all(|(_, outcome)| outcome.is_ok()));
        assert_eq!(
            statements.len(),
            2,
            "one alone, then the seven queued: {statements:?}"
        );
        let mut inserted: Vec<i64> = statements.concat();
        inserted.sort_unstable();
        assert_eq!(inserted, ids, "every row once");
    }

    #[test]
    fn a_bad_row_fails_only_its_own_request() {
        let ids: Vec<i64> = (1..=8).collect();
        let (outcomes, statements) = run_requests(&ids, |rows| rows.ids().contains(&5));
        for (id, outcome) in &outcomes {
            assert_eq!(outcome.is_err(), *id == 5, "request {id}: {outcome:?}");
        }
        assert!(
            statements.iter().any(|s| s.len() == 7),
            "the shared statement was tried: {statements:?}"
        );
        assert!(
            statements.iter().filter(|s| s.len() == 1).count() >= 8,
            "then each of its requests alone: {statements:?}"
        );
    }
}
