// What a job may use of the worker that runs it and of the pool it belongs
// to: the outcome counters (`Tally`), the worker's `RunEnv`, the pool's
// `PoolHooks`, and the `Job` trait a queue holds. Split from `job.rs` so that
// `handle.rs` (which counts and settles retries) need not import `job.rs`,
// which imports `handle.rs`: this file imports no other task file but
// `callbacks.rs` (and `TaskPanic` from `mod.rs`).

use super::TaskPanic;
use super::callbacks::Callbacks;
use crate::context::Context;
use crate::observe::{Buckets, Histogram};
use crate::sync::Mutex;
use crate::time::Clock;
use crate::time::timer::Timer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

pub(crate) type PanicHandler = Arc<dyn Fn(&TaskPanic) + Send + Sync>;

/// Outcome counters. Each worker has its own (written by that worker only);
/// the pool has one more for cancellations made from other threads.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) succeeded: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) timed_out: AtomicU64,
    /// Results a body returned after its task had already timed out.
    pub(crate) late_results: AtomicU64,
    /// Failed attempts that were scheduled for another try.
    pub(crate) retries: AtomicU64,
    /// The time histograms, when the pool has metrics (`Builder::metrics`):
    /// each worker's own (no cache line shared between workers on the hot
    /// path), and the pool's for what is decided off the workers; the
    /// pool sums them when its metrics are collected, and takes in a
    /// worker's when it exits.
    pub(crate) times: Option<Arc<TaskTimes>>,
}

/// How long tasks took, for a pool with metrics: the histograms every job
/// reports to, on the pool's clock (so a manual clock makes them exact).
#[derive(Debug)]
pub(crate) struct TaskTimes {
    clock: Clock,
    buckets: Buckets,
    /// From submission until the outcome is delivered (a handle task) or
    /// the body returns (a fire-and-forget one): one per finished task.
    pub(crate) latency: Histogram,
    /// How long one attempt's body ran: one per attempt that ran.
    pub(crate) run: Histogram,
}

impl TaskTimes {
    pub(crate) fn new(clock: Clock, buckets: Buckets) -> TaskTimes {
        TaskTimes {
            clock,
            latency: Histogram::new(buckets.clone()),
            run: Histogram::new(buckets.clone()),
            buckets,
        }
    }

    /// Adds what `other` (a retiring worker's) counted.
    pub(crate) fn absorb(&self, other: &TaskTimes) {
        self.latency.absorb(&other.latency);
        self.run.absorb(&other.run);
    }

    /// Now, on the pool's clock (`Clock::now_ns`).
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.clock.now_ns()
    }

    #[inline]
    fn since(&self, start: u64) -> u64 {
        self.now().saturating_sub(start)
    }
}

impl Tally {
    #[inline]
    pub(crate) fn bump(counter: &AtomicU64) {
        // ORDERING: counters are statistics; the result delivery that follows
        // (a mutex release) publishes them to whoever observes the outcome.
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_cancelled(&self) {
        Tally::bump(&self.cancelled);
    }

    pub(crate) fn count_timed_out(&self) {
        Tally::bump(&self.timed_out);
    }

    pub(crate) fn count_succeeded(&self) {
        Tally::bump(&self.succeeded);
    }

    pub(crate) fn count_panicked(&self) {
        Tally::bump(&self.panicked);
    }

    /// A tally for a new worker of the pool whose tally this is: fresh
    /// counts, and histograms of its own when the pool has metrics.
    pub(crate) fn for_worker(&self) -> Tally {
        Tally {
            times: self
                .times
                .as_ref()
                .map(|t| Arc::new(TaskTimes::new(t.clock.clone(), t.buckets.clone()))),
            ..Tally::default()
        }
    }

    /// When the pool has metrics, now (for [`run_ended`](Tally::run_ended));
    /// else 0, read from no clock.
    #[inline]
    pub(crate) fn run_started(&self) -> u64 {
        match &self.times {
            Some(times) => times.now(),
            None => 0,
        }
    }

    /// An attempt's body that began at `started` returned.
    #[inline]
    pub(crate) fn run_ended(&self, started: u64) {
        if let Some(times) = &self.times {
            times.run.observe_ns(times.since(started));
        }
    }

    /// A task submitted at `submitted` (its [`run_started`](Tally::run_started)
    /// reading at submission) reached its outcome.
    #[inline]
    pub(crate) fn task_ended(&self, submitted: u64) {
        if let Some(times) = &self.times {
            times.latency.observe_ns(times.since(submitted));
        }
    }

    /// A fire-and-forget body that began at `started` returned, ending the
    /// task submitted at `submitted`: both histograms from one clock
    /// reading.
    #[inline]
    pub(crate) fn spawn_ended(&self, started: u64, submitted: u64) {
        if let Some(times) = &self.times {
            let now = times.now();
            times.run.observe_ns(now.saturating_sub(started));
            times.latency.observe_ns(now.saturating_sub(submitted));
        }
    }

    pub(crate) fn add_to(&self, totals: &mut [u64; 7]) {
        // ORDERING: see `bump`.
        totals[0] += self.succeeded.load(Ordering::Relaxed);
        totals[1] += self.failed.load(Ordering::Relaxed);
        totals[2] += self.panicked.load(Ordering::Relaxed);
        totals[3] += self.cancelled.load(Ordering::Relaxed);
        totals[4] += self.timed_out.load(Ordering::Relaxed);
        totals[5] += self.late_results.load(Ordering::Relaxed);
        totals[6] += self.retries.load(Ordering::Relaxed);
    }
}

/// What a running job may use of its worker.
pub(crate) struct RunEnv<'a> {
    /// Passed to fire-and-forget bodies; the pool cancels it when it stops.
    pub(crate) root: &'a Context,
    pub(crate) panic_handler: Option<&'a PanicHandler>,
    /// The context of the handle task running on this worker, so that a
    /// shutdown can cancel it.
    pub(crate) current: &'a Mutex<Option<Context>>,
    pub(crate) tally: &'a Tally,
    /// The pool, for tasks that retry (timer, re-queueing).
    pub(crate) hooks: &'a Weak<dyn PoolHooks>,
    /// Called by a handle task that ran its body, just before its result
    /// becomes visible to its waiters (see `Shared::deliver_then`).
    pub(crate) before_publish: &'a dyn Fn(),
}

/// What a retrying task needs from its pool, without knowing the pool.
pub(crate) trait PoolHooks: Send + Sync {
    /// The pool's timer (started on first use), if it could be started.
    fn timer(&self) -> Option<Arc<Timer>>;
    /// Counts a task entering its backoff (for `wait_idle` and `stats`).
    fn retry_started(&self);
    /// Puts a retried task back in the queue — ignoring the capacity: it was
    /// accepted once and is never refused for room — and counts its backoff
    /// as over. Gives it back if the pool is closed (the caller then
    /// abandons it and calls `retry_settled` itself).
    fn requeue(&self, job: Box<dyn Job>, priority: i32) -> Result<(), Box<dyn Job>>;
    /// A backoff ended other than by re-queueing (cancelled, timed out,
    /// pool closed).
    fn retry_settled(&self);
    /// Where the callbacks of tasks ended off the workers run.
    fn callbacks(&self) -> &Callbacks;
}

/// A unit of work in a queue.
pub(crate) trait Job: Send {
    /// Runs the task on a worker and records its outcome in `env.tally`
    /// (or records nothing if it was cancelled earlier and already counted).
    fn run(self: Box<Self>, env: &RunEnv<'_>);

    /// Ends the task without running it, as the pool shuts down; records
    /// the cancellation in `tally` and returns true, unless it was already
    /// cancelled and counted. Called off the workers, it is given the
    /// pool's `callbacks`: a completion callback then runs there, not on
    /// the calling thread (see `callbacks.rs`).
    fn abandon(self: Box<Self>, tally: &Tally, callbacks: Option<&Callbacks>) -> bool;

    /// The resource the task named ([`Task::resource`](crate::Task::resource)),
    /// whose limit gates its starts.
    fn resource(&self) -> Option<&Arc<str>> {
        None
    }

    /// True when the task will not run if started now (ended while queued:
    /// cancelled, timed out, or its context cancelled), so that a resource
    /// gate spends no permit on it.
    fn will_not_run(&self) -> bool {
        false
    }
}
