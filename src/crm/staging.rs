//! Staged writes: the API runs a write's rules and its SQL right on the thread serving the
//! request, leaves the transaction open for other requests to join, and acknowledges once
//! a committer has committed the group.
//!
//! Why: on a single core, handing each write to a blocking thread and back (and parking
//! threads on a condition variable until the group commits) cost more than the write
//! itself. Staging keeps group commit (one transaction and one WAL commit for many
//! requests, each acknowledged only after its commit) without those hand-offs.
//!
//! How: [`stage`] runs work with a staging context on this thread. A store that stages
//! ([`crate::crm::ports::Scheduling::stages_writes`]) sees [`is_staging`], writes into its
//! open group without committing, and [`record`]s the group's number; the caller then has
//! the group committed and waits for it (see `AppState::run_write`). Effects that must
//! follow the commit (webhook reports) are queued with [`after_commit`].

use std::cell::RefCell;

/// What a piece of staged work left to be done once its writes commit.
#[derive(Default)]
pub struct Staged {
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

impl Staged {
    /// The last group written into: committing it commits every earlier one.
    pub fn last_group(&self) -> Option<u64> {
        self.groups.iter().copied().max()
    }
}

thread_local! {
    static CONTEXT: RefCell<Option<Staged>> = const { RefCell::new(None) };
}

/// Clears the context when the work ends, even by a panic, so the thread's next work is
/// not mistaken for staged work.
struct ContextGuard;

impl Drop for ContextGuard {
    fn drop(&mut self) {
        CONTEXT.with(|context| context.borrow_mut().take());
    }
}

/// Runs `work` with writes staged, and returns its result and what is left to do.
pub fn stage<T>(work: impl FnOnce() -> T) -> (T, Staged) {
    CONTEXT.with(|context| *context.borrow_mut() = Some(Staged::default()));
    let guard = ContextGuard;
    let result = work();
    let staged = CONTEXT
        .with(|context| context.borrow_mut().take())
        .unwrap_or_default();
    drop(guard);
    (result, staged)
}

/// Whether this thread runs staged work: a store that stages writes then leaves its group
/// open instead of committing.
pub fn is_staging() -> bool {
    CONTEXT.with(|context| context.borrow().is_some())
}

/// A store wrote into its open group `group`; `unscheduled` says nobody is yet committing
/// that group.
pub fn record(group: u64, unscheduled: bool) {
    CONTEXT.with(|context| {
        if let Some(staged) = context.borrow_mut().as_mut() {
            staged.groups.push(group);
            staged.needs_committer |= unscheduled;
        }
    });
}

/// Whether a store may still answer "busy" instead of waiting for its writer: only before
/// this work's first write, so that running the work again elsewhere repeats nothing.
pub fn may_report_busy() -> bool {
    CONTEXT.with(|context| {
        context
            .borrow()
            .as_ref()
            .is_some_and(|staged| staged.groups.is_empty() && !staged.writer_busy)
    })
}

/// The store's writer is busy and nothing was written (see [`Staged::writer_busy`]).
pub fn report_busy() {
    CONTEXT.with(|context| {
        if let Some(staged) = context.borrow_mut().as_mut() {
            staged.writer_busy = true;
        }
    });
}

/// Runs `effect` once the staged writes are committed, or now when nothing is staged.
pub fn after_commit(effect: Box<dyn FnOnce() + Send>) {
    let effect = CONTEXT.with(|context| match context.borrow_mut().as_mut() {
        Some(staged) => {
            staged.after_commit.push(effect);
            None
        }
        None => Some(effect),
    });
    if let Some(effect) = effect {
        effect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn records_groups_only_while_staging() {
        record(7, true);
        assert!(!is_staging());
        let ((), staged) = stage(|| {
            assert!(is_staging());
            record(3, false);
            record(4, true);
        });
        assert_eq!(staged.groups, vec![3, 4]);
        assert!(staged.needs_committer);
        assert_eq!(staged.last_group(), Some(4));
        assert!(!is_staging());
    }

    #[test]
    fn effects_wait_for_the_commit_only_when_staged() {
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        after_commit(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "runs at once outside staging"
        );
        let counter = Arc::clone(&ran);
        let ((), staged) = stage(|| {
            after_commit(Box::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }))
        });
        assert_eq!(ran.load(Ordering::SeqCst), 1, "held while staged");
        for effect in staged.after_commit {
            effect();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_panic_ends_the_staging_context() {
        let outcome = std::panic::catch_unwind(|| stage(|| panic!("boom")));
        assert!(outcome.is_err());
        assert!(!is_staging());
    }
}
