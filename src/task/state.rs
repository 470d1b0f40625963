//! The task state machine: the states a task with a handle passes through,
//! and the one function that moves it from one to the next.
//!
//! The state is one `AtomicU8` ([`State`]). Every transition is one
//! compare-and-swap, made by [`State::transition`] and nothing else; whoever
//! wins it owns what follows.
//!
//! ```text
//!            ┌──────────────────────────────► CANCELLED | TIMED_OUT   (never ran)
//!            │
//!  ──► QUEUED ──► RUNNING ──► SUCCEEDED | FAILED | PANICKED | CANCELLED | TIMED_OUT
//!        ▲  │        │
//!        │  ▼        ▼
//!       RETRYING ◄───┘  ──► CANCELLED | TIMED_OUT   (during the backoff)
//! ```
//!
//! | from       | to                                             | made by |
//! |------------|------------------------------------------------|---------|
//! | `QUEUED`   | `RUNNING`                                      | the worker that popped it; the winner runs the body once |
//! | `QUEUED`   | `CANCELLED`                                    | `TaskHandle::cancel`, a shutdown's `abandon`, or the worker finding its context cancelled |
//! | `QUEUED`   | `TIMED_OUT`                                    | the timer thread at the deadline, or the worker finding the deadline passed |
//! | `QUEUED`   | `RETRYING`                                     | a backoff timer that re-queued it but found the pool gone: rolls `RETRYING → QUEUED` back so that dropping the retry ends it |
//! | `RUNNING`  | `SUCCEEDED` `FAILED` `PANICKED` `CANCELLED` `TIMED_OUT` | the worker, when the body returns or panics |
//! | `RUNNING`  | `TIMED_OUT`                                    | the timer thread at the deadline, while the body still runs (its later result is discarded) |
//! | `RUNNING`  | `RETRYING`                                     | the worker, when a repeatable task's attempt failed and its policy retries |
//! | `RETRYING` | `QUEUED`                                       | the backoff timer, re-queueing the next attempt |
//! | `RETRYING` | `CANCELLED`                                    | `TaskHandle::cancel`, or dropping a pending retry (pool gone) |
//! | `RETRYING` | `TIMED_OUT`                                    | the timer thread at the deadline, during the backoff |
//!
//! `SUCCEEDED`, `FAILED`, `PANICKED`, `CANCELLED` and `TIMED_OUT` are
//! terminal: no transition leaves them. The winner of a transition into a
//! terminal state — and only it — counts the outcome, runs the completion
//! callback, stores the result and wakes the waiters, in that order.

use super::TaskStatus;
use std::sync::atomic::{AtomicU8, Ordering};

/// Accepted and waiting for a worker (or re-queued for its next attempt).
pub(crate) const QUEUED: u8 = 0;
/// A worker is running the body.
pub(crate) const RUNNING: u8 = 1;
/// Terminal: the body returned a value.
pub(crate) const SUCCEEDED: u8 = 2;
/// Terminal: the body returned an error.
pub(crate) const FAILED: u8 = 3;
/// Terminal: the body panicked.
pub(crate) const PANICKED: u8 = 4;
/// Terminal: cancelled, or shut down, before or while it ran.
pub(crate) const CANCELLED: u8 = 5;
/// Terminal: its deadline passed.
pub(crate) const TIMED_OUT: u8 = 6;
/// An attempt failed; the next waits for its backoff on the pool's timer.
pub(crate) const RETRYING: u8 = 7;

/// The public status of a state code.
pub(crate) fn status_of(code: u8) -> TaskStatus {
    match code {
        QUEUED => TaskStatus::Queued,
        RUNNING => TaskStatus::Running,
        SUCCEEDED => TaskStatus::Succeeded,
        FAILED => TaskStatus::Failed,
        PANICKED => TaskStatus::Panicked,
        CANCELLED => TaskStatus::Cancelled,
        RETRYING => TaskStatus::Retrying,
        _ => TaskStatus::TimedOut,
    }
}

/// True for the codes no transition leaves.
#[inline]
pub(crate) fn is_terminal(code: u8) -> bool {
    !matches!(code, QUEUED | RUNNING | RETRYING)
}

/// A task's lifecycle state; see the table in the module docs.
pub(crate) struct State(AtomicU8);

impl State {
    /// A task's state when it is created: `QUEUED`.
    pub(crate) const fn new() -> State {
        State(AtomicU8::new(QUEUED))
    }

    /// The current state.
    #[inline]
    pub(crate) fn load(&self) -> u8 {
        // ORDERING: Acquire pairs with the AcqRel of `transition`.
        self.0.load(Ordering::Acquire)
    }

    /// Moves `from` → `to`; true for the one caller that did it.
    #[inline]
    pub(crate) fn transition(&self, from: u8, to: u8) -> bool {
        debug_assert!(!is_terminal(from), "no transition leaves a terminal state");
        // ORDERING: AcqRel: Release publishes what the winner did before the
        // transition (e.g. counting); Acquire orders what it does after.
        self.0
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_caller_wins_a_transition() {
        let state = State::new();
        assert_eq!(state.load(), QUEUED);
        assert!(state.transition(QUEUED, RUNNING));
        assert!(
            !state.transition(QUEUED, CANCELLED),
            "lost: not QUEUED any more"
        );
        assert_eq!(state.load(), RUNNING);
        assert!(state.transition(RUNNING, RETRYING));
        assert!(state.transition(RETRYING, QUEUED));
        assert!(state.transition(QUEUED, RETRYING), "the rollback");
        assert!(state.transition(RETRYING, TIMED_OUT));
        assert_eq!(state.load(), TIMED_OUT);
        assert!(!state.transition(RUNNING, SUCCEEDED));
        assert_eq!(state.load(), TIMED_OUT);
    }

    #[test]
    fn every_code_maps_to_its_status() {
        let all = [
            (QUEUED, TaskStatus::Queued, false),
            (RUNNING, TaskStatus::Running, false),
            (SUCCEEDED, TaskStatus::Succeeded, true),
            (FAILED, TaskStatus::Failed, true),
            (PANICKED, TaskStatus::Panicked, true),
            (CANCELLED, TaskStatus::Cancelled, true),
            (TIMED_OUT, TaskStatus::TimedOut, true),
            (RETRYING, TaskStatus::Retrying, false),
        ];
        for (code, status, terminal) in all {
            assert_eq!(status_of(code), status, "code {code}");
            assert_eq!(is_terminal(code), terminal, "code {code}");
            assert_eq!(status.is_terminal(), terminal, "{status}");
        }
    }
}
