//! Task: one unit of work, its identity, its lifecycle and how its submitter
//! learns the outcome.
//!
//! - `mod.rs`: [`TaskId`], [`TaskStatus`].
//! - `state.rs` (crate-private): the state machine — the state codes, the
//!   full transition table (see also `README.md` beside this file) and
//!   `State::transition`, the one compare-and-swap every transition goes
//!   through.
//! - `error.rs`: [`TaskError`] (why a task produced no value) and
//!   [`TaskPanic`] (what a panic handler receives).
//! - `record.rs`: [`TaskResult`] (what a completion callback receives) and
//!   the stored callback's type.
//! - `callbacks.rs` (crate-private): the thread that runs the completion
//!   callbacks of tasks ended off the workers.
//! - `env.rs` (crate-private): what a job may use of its worker and pool —
//!   the outcome counters (`Tally`), `RunEnv`, `PoolHooks` — and the `Job`
//!   trait a queue holds.
//! - `handle.rs`: [`TaskHandle`] and the state it shares with the worker
//!   (`Shared`: state, result slot, waiters, delivery).
//! - `builder.rs`: [`Task`], a task with an id, a priority and a completion
//!   callback.
//! - `job.rs` (crate-private): the type-erased units a worker runs (a
//!   handle task, a repeatable task and its pending retry).
//! - `small.rs` (crate-private): `Queued`, a queue entry that stores a small
//!   fire-and-forget closure inline (the module's only `unsafe`).
//!
//! What depends on what inside `task/` (no cycle; `mod.rs` is imported by
//! all for `TaskId`, `TaskStatus` and the re-exported types):
//!
//! ```text
//! small ──► job, env, callbacks
//! job ────► builder, handle, state, env, callbacks, error
//! handle ─► state, record, env, callbacks
//! builder ► record
//! env ────► callbacks
//! state, record, error, callbacks: no other task file
//! ```
//!
//! Outside `task/`, it may import `context`, `retry` (policies a repeatable
//! task follows), `sync` and `time`; never `pool`, which it knows only
//! through the `PoolHooks` trait.

#![deny(unsafe_code)]

pub(crate) mod builder;
pub(crate) mod callbacks;
pub(crate) mod env;
pub(crate) mod error;
pub(crate) mod handle;
pub(crate) mod help;
pub(crate) mod job;
pub(crate) mod record;
pub(crate) mod small;
pub(crate) mod state;

pub use builder::Task;
pub use error::{TaskError, TaskPanic};
pub use handle::TaskHandle;
pub use record::TaskResult;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's identity: unique among generated ids within a process.
///
/// Ids are generated for every task with a handle; [`Task::id`] sets one
/// explicitly (its uniqueness is then the caller's business).
///
/// # Examples
///
/// ```
/// use gosling::TaskId;
///
/// let a = TaskId::generate();
/// let b = TaskId::generate();
/// assert_ne!(a, b);
/// assert_eq!(TaskId::from(42).as_u64(), 42);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(u64);

/// Generated ids start here, so small hand-picked ids never collide with them.
const FIRST_GENERATED: u64 = 1 << 32;

static NEXT_ID: AtomicU64 = AtomicU64::new(FIRST_GENERATED);

impl TaskId {
    /// A fresh id, distinct from every other generated id in this process.
    ///
    /// Generated ids are at least 2^32, so explicit ids below that never
    /// collide with them.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::TaskId::generate().as_u64() >= 1 << 32);
    /// ```
    #[must_use]
    pub fn generate() -> TaskId {
        // ORDERING: only uniqueness matters; no other memory is published.
        TaskId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::TaskId::from(7).as_u64(), 7);
    /// ```
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl From<u64> for TaskId {
    fn from(id: u64) -> TaskId {
        TaskId(id)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task-{}", self.0)
    }
}

/// Where a task is in its lifecycle.
///
/// ```text
///  Queued ─► Running ─► Succeeded | Failed | Panicked | TimedOut
///    │  ▲       │
///    │  └─ Retrying ◄┘  (a repeatable task's backoff, on the pool's timer)
///    └────────────────► Cancelled (never ran, or failed after its context was cancelled)
/// ```
///
/// The last five are terminal: once a task reaches one, it never changes.
///
/// # Examples
///
/// ```
/// use gosling::{Pool, TaskStatus};
///
/// let pool = Pool::new(1)?;
/// let handle = pool.submit(|_| 2 + 2).unwrap();
/// let status = handle.status(); // Queued, Running or Succeeded
/// assert_eq!(handle.wait(), Ok(4));
/// assert!(TaskStatus::Succeeded.is_terminal());
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskStatus {
    /// Accepted and waiting for a worker.
    Queued,
    /// A worker is running the body.
    Running,
    /// The body returned a value.
    Succeeded,
    /// The body returned an error.
    Failed,
    /// The body panicked; the panic was caught.
    Panicked,
    /// Cancelled before it ran, or it failed after its context was cancelled.
    Cancelled,
    /// Its deadline passed.
    TimedOut,
    /// An attempt failed; the next waits for its backoff on the pool's timer.
    Retrying,
}

impl TaskStatus {
    /// True for the states a task never leaves.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::TaskStatus;
    /// assert!(!TaskStatus::Running.is_terminal());
    /// assert!(TaskStatus::Cancelled.is_terminal());
    /// ```
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        !matches!(
            self,
            TaskStatus::Queued | TaskStatus::Running | TaskStatus::Retrying
        )
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Panicked => "panicked",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::TimedOut => "timed out",
            TaskStatus::Retrying => "retrying",
        })
    }
}
