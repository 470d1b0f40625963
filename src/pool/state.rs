//! [`State`]: everything the pool's one lock (`Inner::state`) guards.
//!
//! The queue and every count that must agree with it live here, so that one
//! acquisition sees them consistent. Task bodies, callbacks and hooks never
//! run under the lock. Fields mirrored lock-free for spinners and lock-free
//! submitters (`sleep.rs`) say so; their truth is here.
//!
//! Imports: the queue, the injector's consumer, the resource gates and the
//! worker entries; nothing above the pool.

use super::ShutdownReport;
use super::resource::Gates;
use super::worker::WorkerEntry;
use crate::queue::TaskQueue;
use crate::queue::injector::Consumer;
use crate::task::help::Watch;
use crate::task::small::Queued;
use std::sync::Arc;
use std::time::Duration;

/// Everything the state lock protects.
///
/// Every field is guarded by `Inner::state`: the whole struct lives inside
/// that mutex, and nothing reads or writes a field without it. Where a
/// field is also mirrored in an atomic, or where a second lock is taken
/// beneath this one, its note says so.
pub(crate) struct State {
    /// The queue of a pool without an injector (empty otherwise).
    pub(crate) queue: TaskQueue<Queued>,
    /// The injector's consumer, for a pool with one: whoever holds the
    /// state lock takes from it.
    pub(crate) intake: Option<Consumer<Queued>>,
    /// Retries put back into the injector (counted there as pushes, but not
    /// submissions).
    pub(crate) requeued: u64,
    /// Maximum queued tasks; `usize::MAX` when unbounded.
    pub(crate) capacity: usize,
    /// No more submissions. Also set, under this lock, as the injector's
    /// closed bit and mirrored in `Sleep::closed_hint` for spinners.
    pub(crate) closed: bool,
    /// Workers wanted; live workers above it exit.
    pub(crate) target: usize,
    /// Workers that have not decided to exit; a worker leaving decrements it
    /// under the lock at the moment it decides, so a shrink never overshoots.
    pub(crate) live: usize,
    /// Worker threads not yet finished (shutdown waits for these).
    pub(crate) threads: usize,
    /// Tasks being run.
    pub(crate) running: usize,
    /// Waits on this pool's workers with nothing to help with (see
    /// `help.rs`), told by `wake_for` when work is queued; counted among
    /// the sleepers in `Sleep::sleepers`.
    pub(crate) helpers: Vec<Arc<Watch>>,
    /// Workers waiting on `work_cv`. Mirrored, less `waking`, in
    /// `Sleep::sleepers` for submitters to the injector.
    pub(crate) sleeping: usize,
    /// Sleeping workers already notified but not yet awake: a submitter
    /// wakes another only when the queue holds more than they will take.
    pub(crate) waking: usize,
    /// Submitters blocked on `room_cv` for room in a full queue.
    pub(crate) room_waiters: usize,
    /// Those of `room_waiters` waiting for room for more than one task (a
    /// batch): one freed slot may not be enough for them, so a worker that
    /// frees a slot wakes every waiter instead of one, lest a batch absorb
    /// the wake-up a single submitter needed.
    pub(crate) batch_waiters: usize,
    /// Tasks waiting on the timer for a retry.
    pub(crate) retrying: usize,
    /// Tasks waiting for their resource's permit (see `resource.rs`).
    pub(crate) gates: Gates,
    /// Whether `Sleep::len_hint` was last set non-zero (it is rewritten only
    /// when this changes).
    pub(crate) hint_nonzero: bool,
    /// Workers waiting for the rate limiter's next permit (on `work_cv`).
    pub(crate) limit_waiters: usize,
    /// Starts that had to wait for the rate limiter.
    pub(crate) delayed_starts: u64,
    /// The total of those waits.
    pub(crate) start_delay: Duration,
    /// Callers blocked on `idle_cv` (`wait_idle`, shutdowns).
    pub(crate) idle_waiters: usize,
    /// Tasks accepted into `queue` (the injector counts its own pushes).
    pub(crate) submitted: u64,
    /// Submissions refused.
    pub(crate) rejected: u64,
    /// The index (and thread-name suffix) of the next worker started.
    pub(crate) next_worker_index: usize,
    /// The live workers. Their batch locks are taken beneath this lock
    /// (lock order: the state lock, then a batch lock).
    pub(crate) workers: Vec<WorkerEntry>,
    /// Outcome counts and busy time of workers that have exited.
    pub(crate) retired: [u64; 7],
    pub(crate) retired_busy_nanos: u64,
    /// Threads of exited workers, for shutdown to join.
    pub(crate) exited: Vec<std::thread::JoinHandle<()>>,
    /// The report of the stop made when the pool's context
    /// ([`Builder::context`](super::Builder::context)) ended.
    pub(crate) context_report: Option<ShutdownReport>,
}

impl State {
    /// Free places: the capacity less queued tasks, those waiting for their
    /// resource included. Zero, not less, when retries re-queued past it.
    #[inline]
    pub(crate) fn room(&self) -> usize {
        if let Some(intake) = &self.intake {
            return intake.injector().room();
        }
        self.capacity
            .saturating_sub(self.queue.len())
            .saturating_sub(self.gates.parked)
    }

    /// Tasks in the queue (or the injector), not counting those waiting for
    /// their resource.
    #[inline]
    pub(crate) fn queue_len(&self) -> usize {
        self.queue.len() + self.intake.as_ref().map_or(0, Consumer::len)
    }

    /// Nothing queued, nothing waiting for a resource.
    #[inline]
    pub(crate) fn nothing_queued(&self) -> bool {
        self.queue.is_empty()
            && self.gates.parked == 0
            && self.intake.as_ref().is_none_or(Consumer::is_empty)
    }

    /// Tasks accepted so far.
    pub(crate) fn submitted(&self) -> u64 {
        let injected = self
            .intake
            .as_ref()
            .map_or(0, |intake| intake.injector().pushed());
        (self.submitted + injected).saturating_sub(self.requeued)
    }
}
