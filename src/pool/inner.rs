//! [`Inner`]: what the pool handle, its workers, its timer entries and its
//! task handles share — the state lock and its condition variables, the
//! injector, the sleep atomics, the settings, the timer and the callback
//! thread — and how it is put together from a [`Builder`].
//!
//! The state behind the lock is in `state.rs`, the sleep protocol in
//! `sleep.rs`, submission in `submit.rs`; this file holds what every one of
//! them reaches through `Inner`, and the hooks tasks call back into the pool
//! through (`PoolHooks`).
//!
//! Imports: the pool's own files, the queue, the task layer, time, sync and
//! the limiters; nothing above the pool.

use super::Builder;
use super::builder::ThreadHook;
use super::control;
use super::error::{BuildError, BuildErrorKind};
use super::resource::{Gates, ResourceLimits};
use super::sleep::Sleep;
use super::state::State;
use super::worker;
use crate::context::Context;
use crate::limit::RateLimiter;
use crate::observe::{Buckets, Collect, Metrics};
use crate::queue::injector::Injector;
use crate::queue::{FullPolicy, QueueKind, TaskQueue};
use crate::retry::RetryPolicy;
use crate::sync::{CachePadded, Condvar, Mutex, Wake};
use crate::task::callbacks::Callbacks;
use crate::task::env::TaskTimes;
use crate::task::job::{Job, PanicHandler, PoolHooks, Tally};
use crate::task::small::Queued;
use crate::time::Clock;
use crate::time::timer::Timer;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

impl Settings {
    /// Whether workers take a fair share of the queue at once: only from a
    /// FIFO queue, whose order a batch keeps. A LIFO or priority queue's
    /// order must hold at the moment of dispatch (a task queued while a
    /// batch runs may have to start before the rest of it), and a gated
    /// pool takes a permit per start.
    pub(crate) fn batching(&self) -> bool {
        self.queue == QueueKind::Fifo && self.rate_limit.is_none() && self.resources.is_none()
    }
}

/// Settings fixed at build time: what the [`Builder`]
/// collects for the pool (the builder holds one and hands it over whole).
pub(crate) struct Settings {
    pub(crate) queue: QueueKind,
    pub(crate) when_full: FullPolicy,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
    pub(crate) panic_handler: Option<PanicHandler>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) task_timeout: Option<Duration>,
    pub(crate) retry_policy: Option<RetryPolicy>,
    pub(crate) rate_limit: Option<Arc<dyn RateLimiter>>,
    /// Limits per resource; `None` when there are none.
    pub(crate) resources: Option<ResourceLimits>,
    /// Where the pool reports its metrics (`Builder::metrics`), if anywhere.
    pub(crate) metrics: Option<Metrics>,
    /// The buckets of its time histograms (`Builder::time_buckets`).
    pub(crate) time_buckets: Option<Buckets>,
}

/// What the pool handle and its workers share.
pub(crate) struct Inner {
    /// On cache lines of its own: workers write the lock word and the state
    /// behind it all the time, and submitters read the fields around it
    /// (`injector`, `config`) on every submission.
    pub(crate) state: CachePadded<Mutex<State>>,
    /// Workers sleep here; notified under `state` rules (see `State::waking`).
    pub(crate) work_cv: Condvar,
    /// Submitters blocked on a full queue sleep here.
    pub(crate) room_cv: Condvar,
    /// `wait_idle` callers and shutdowns waiting for workers to exit.
    pub(crate) idle_cv: Condvar,
    /// The lock-free intake of a FIFO pool (no rate limit, no resource
    /// limits): submitters append without the state lock; its consumer is
    /// `State::intake`. `None` for the other pools, whose queue is
    /// `State::queue`.
    pub(crate) injector: Option<Arc<Injector<Queued>>>,
    /// The atomics of the sleep/wake protocol (`sleep.rs`).
    pub(crate) sleep: Sleep,
    /// Passed to fire-and-forget tasks; cancelled when the pool stops.
    pub(crate) root: Context,
    pub(crate) clock: Clock,
    /// Cancellations made from outside a worker (handles, shutdown).
    pub(crate) tally: Arc<Tally>,
    pub(crate) config: Settings,
    /// Started on first use (the first task with a deadline).
    pub(crate) timer: OnceLock<Arc<Timer>>,
    /// Held while the timer starts, so that only one does.
    timer_start: Mutex<()>,
    /// The callback thread (started on first use): completion callbacks of
    /// tasks ended off the workers — by their deadline on the timer thread,
    /// by a shutdown — run there, never on the timer thread or the thread
    /// that shuts down (`task/callbacks.rs`).
    pub(crate) callbacks: Arc<Callbacks>,
    /// Watches the pool's context (`Builder::context`), if it has one.
    pub(crate) context_watch: Mutex<Option<Arc<control::ContextWatch>>>,
}

impl PoolHooks for Inner {
    fn timer(&self) -> Option<Arc<Timer>> {
        Inner::timer(self)
    }

    fn retry_started(&self) {
        self.state.lock().retrying += 1;
    }

    fn requeue(&self, job: Box<dyn Job>, priority: i32) -> Result<(), Box<dyn Job>> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(job);
        }
        if let Some(injector) = &self.injector {
            // Back in the queue past its capacity if need be: the task was
            // accepted already. The close is ruled out by the lock.
            injector.force_reserve(1);
            injector
                .push_reserved(job, Queued::Boxed)
                .map_err(|(job, _)| job)?;
            state.requeued += 1;
        } else {
            state.queue.push(Queued::Boxed(job), priority);
        }
        state.retrying -= 1;
        self.wake_for(state);
        Ok(())
    }

    fn callbacks(&self) -> &Callbacks {
        &self.callbacks
    }

    fn retry_settled(&self) {
        let mut state = self.state.lock();
        state.retrying -= 1;
        if state.idle_waiters > 0 {
            self.idle_cv.notify_all();
        }
    }
}

impl Wake for Inner {
    fn wake(&self) {
        // A manual clock moved: submitters waiting for a deadline, and
        // workers waiting for a rate-limit permit, re-check.
        let state = self.state.lock();
        self.room_cv.notify_all();
        if state.limit_waiters > 0 {
            self.work_cv.notify_all();
        }
    }
}

impl Inner {
    /// The shared state of a new pool of `workers` threads (none started
    /// yet: `Pool::start` starts them).
    pub(crate) fn new(builder: Builder, workers: usize) -> Result<Arc<Inner>, BuildError> {
        let Builder {
            capacity,
            clock,
            context,
            settings,
            ..
        } = builder;
        let capacity = capacity.unwrap_or(usize::MAX);
        // The lock-free intake serves FIFO pools whose workers take tasks
        // in batches; a priority or LIFO order, a rate limit or resource
        // limits decide task by task under the lock.
        let (injector, intake) = if settings.queue == QueueKind::Fifo
            && settings.rate_limit.is_none()
            && settings.resources.is_none()
        {
            let (injector, intake) = Injector::new(capacity);
            (Some(injector), Some(intake))
        } else {
            (None, None)
        };
        let callbacks = Callbacks::new(format!("{}-callbacks", settings.thread_name));
        let inner = Arc::new(Inner {
            state: CachePadded(Mutex::new(State {
                queue: TaskQueue::new(settings.queue),
                intake,
                requeued: 0,
                capacity,
                closed: false,
                target: workers,
                live: 0,
                threads: 0,
                running: 0,
                sleeping: 0,
                helpers: Vec::new(),
                waking: 0,
                room_waiters: 0,
                batch_waiters: 0,
                retrying: 0,
                gates: Gates::default(),
                hint_nonzero: false,
                limit_waiters: 0,
                delayed_starts: 0,
                start_delay: Duration::ZERO,
                idle_waiters: 0,
                submitted: 0,
                rejected: 0,
                next_worker_index: 0,
                workers: Vec::with_capacity(workers),
                retired: [0; 7],
                retired_busy_nanos: 0,
                exited: Vec::new(),
                context_report: None,
            })),
            work_cv: Condvar::new(),
            room_cv: Condvar::new(),
            idle_cv: Condvar::new(),
            injector,
            sleep: Sleep::new(workers),
            root: match &context {
                Some(parent) => parent.child(),
                None => Context::with_clock(clock.clone()),
            },
            clock: clock.clone(),
            tally: Arc::new(Tally {
                times: settings.metrics.as_ref().map(|_| {
                    let buckets = settings.time_buckets.clone().unwrap_or_default();
                    Arc::new(TaskTimes::new(clock.clone(), buckets))
                }),
                ..Tally::default()
            }),
            config: settings,
            timer: OnceLock::new(),
            timer_start: Mutex::new(()),
            callbacks: Arc::new(callbacks),
            context_watch: Mutex::new(None),
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        clock.subscribe(weak);
        if inner.config.resources.is_some() {
            // Resource gates need the timer: start it now, so that a pool
            // that cannot have one is refused here rather than stalling.
            let name = format!("{}-timer", inner.config.thread_name);
            let timer = Timer::start(clock.clone(), name)
                .map_err(|e| BuildError::new(BuildErrorKind::Spawn(e)))?;
            let _ = inner.timer.set(Arc::new(timer));
        }
        if let Some(metrics) = &inner.config.metrics {
            // Held weakly by the collection: the pool's series end with it.
            let source: Arc<dyn Collect> = Arc::clone(&inner) as Arc<dyn Collect>;
            metrics
                .register_weak(&source)
                .map_err(|e| BuildError::new(BuildErrorKind::Metrics(e)))?;
        }
        if let Some(parent) = &context {
            control::watch_context(&inner, parent);
        }
        Ok(inner)
    }

    /// Called by a worker thread as it exits.
    pub(crate) fn worker_exited(&self, slot: &Arc<worker::WorkerSlot>) {
        let mut state = self.state.lock();
        state.threads -= 1;
        if let Some(at) = state
            .workers
            .iter()
            .position(|w| Arc::ptr_eq(&w.slot, slot))
        {
            let entry = state.workers.swap_remove(at);
            let mut retired = state.retired;
            entry.slot.tally.add_to(&mut retired);
            state.retired = retired;
            if let (Some(pool), Some(worker)) = (&self.tally.times, &entry.slot.tally.times) {
                pool.absorb(worker);
            }
            state.retired_busy_nanos = state
                .retired_busy_nanos
                .saturating_add(entry.slot.busy_nanos());
            if let Some(thread) = entry.thread {
                state.exited.push(thread);
            }
        }
        if state.idle_waiters > 0 {
            self.idle_cv.notify_all();
        }
    }

    /// The pool's timer, started on first use.
    pub(crate) fn timer(&self) -> Option<Arc<Timer>> {
        if let Some(timer) = self.timer.get() {
            return Some(Arc::clone(timer));
        }
        let _guard = self.timer_start.lock();
        if let Some(timer) = self.timer.get() {
            return Some(Arc::clone(timer));
        }
        let name = format!("{}-timer", self.config.thread_name);
        let timer = Arc::new(Timer::start(self.clock.clone(), name).ok()?);
        let _ = self.timer.set(Arc::clone(&timer));
        Some(timer)
    }
}
