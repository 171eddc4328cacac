//! Staged writes: the API runs a write's rules and its SQL right on the thread serving the
//! request, leaves the transaction open for other requests to join, and acknowledges once
//! a committer has committed the group.
//!
//! Why: on a single core, handing each write to a blocking thread and back (and parking
//! threads on a condition variable until the group commits) cost more than the write
//! itself. Staging keeps group commit (one transaction and one WAL commit for many
//! requests, each acknowledged only after its commit) without those hand-offs.
//!
//! How, as values passed along rather than state of the thread: the API asks the services
//! to run a write staged ([`crate::crm::services::Services::run_staged`]). They make a
//! [`Staging`] for that work and run it over a view of their store whose writes are staged
//! into it ([`crate::crm::ports::Scheduling::staged`]). Such a store writes into its open
//! group without committing and [`Staging::record`]s the group's number; wrappers queue
//! effects that must follow the commit (webhook reports) with [`Staging::after_commit`].
//! The work's result comes back with its [`CommitTicket`]; the API has the ticket's groups
//! committed and waits for them before it answers (see `AppState::run_write`).

use std::sync::{Arc, Mutex, MutexGuard};

/// What a piece of staged work left to be done once its writes commit: the groups to
/// commit and await, and what to run then.
#[derive(Default)]
pub struct CommitTicket {
    /// The store's numbers of the groups this work wrote into, in the order written.
    pub groups: Vec<u64>,
    /// Whether one of those groups has nobody yet scheduled to commit it.
    pub needs_committer: bool,
    /// Effects of the writes to run once they are committed (dropped if they are not).
    pub after_commit: Vec<Box<dyn FnOnce() + Send>>,
    /// The store's writer was held by a long write elsewhere when this work's first write
    /// came: nothing was written, and the work should run again where waiting is harmless
    /// (the blocking pool), not hold up the thread serving requests.
    pub writer_busy: bool,
}

impl CommitTicket {
    /// The last group written into: committing it commits every earlier one.
    pub fn last_group(&self) -> Option<u64> {
        self.groups.iter().copied().max()
    }
}

/// The record one piece of staged work writes into, shared by the store views it writes
/// through (the engine notes its groups, wrappers their effects) and read back as a
/// [`CommitTicket`] once the work is done.
#[derive(Default)]
pub struct Staging {
    ticket: Mutex<CommitTicket>,
}

impl Staging {
    /// A fresh record, to hand to [`crate::crm::ports::Scheduling::staged`].
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn ticket(&self) -> MutexGuard<'_, CommitTicket> {
        // Every update below is a push or an assignment: a poisoned ticket is still whole.
        self.ticket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A store wrote into its open group `group`; `unscheduled` says nobody is yet
    /// committing that group.
    pub fn record(&self, group: u64, unscheduled: bool) {
        let mut ticket = self.ticket();
        ticket.groups.push(group);
        ticket.needs_committer |= unscheduled;
    }

    /// Whether a store may still answer "busy" instead of waiting for its writer: only
    /// before this work's first write, so that running the work again elsewhere repeats
    /// nothing.
    pub fn may_report_busy(&self) -> bool {
        let ticket = self.ticket();
        ticket.groups.is_empty() && !ticket.writer_busy
    }

    /// The store's writer is busy and nothing was written (see
    /// [`CommitTicket::writer_busy`]).
    pub fn report_busy(&self) {
        self.ticket().writer_busy = true;
    }

    /// Runs `effect` once the staged writes are committed.
    pub fn after_commit(&self, effect: Box<dyn FnOnce() + Send>) {
        self.ticket().after_commit.push(effect);
    }

    /// What the work left to do, taken out (a second call finds an empty ticket).
    pub fn take_ticket(&self) -> CommitTicket {
        std::mem::take(&mut *self.ticket())
    }
}

/// Runs `effect` once the writes of `staging` commit, or now when the write was not staged
/// (it committed before returning).
pub fn after_commit(staging: Option<&Staging>, effect: Box<dyn FnOnce() + Send>) {
    match staging {
        Some(staging) => staging.after_commit(effect),
        None => effect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_ticket_holds_the_groups_in_the_order_written() {
        let staging = Staging::new();
        assert!(staging.may_report_busy(), "nothing written yet");
        staging.record(3, false);
        staging.record(4, true);
        assert!(!staging.may_report_busy(), "a write went into a group");
        let ticket = staging.take_ticket();
        assert_eq!(ticket.groups, vec![3, 4]);
        assert!(ticket.needs_committer);
        assert_eq!(ticket.last_group(), Some(4));
        assert!(
            staging.take_ticket().groups.is_empty(),
            "the ticket was taken"
        );
    }

    #[test]
    fn a_busy_writer_is_reported_once() {
        let staging = Staging::new();
        staging.report_busy();
        assert!(!staging.may_report_busy());
        let ticket = staging.take_ticket();
        assert!(ticket.writer_busy);
        assert!(ticket.groups.is_empty());
    }

    #[test]
    fn effects_wait_for_the_commit_only_when_staged() {
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        after_commit(
            None,
            Box::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        );
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "runs at once outside staging"
        );
        let staging = Staging::new();
        let counter = Arc::clone(&ran);
        after_commit(
            Some(&staging),
            Box::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        );
        assert_eq!(ran.load(Ordering::SeqCst), 1, "held while staged");
        for effect in staging.take_ticket().after_commit {
            effect();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }
}
