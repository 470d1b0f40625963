//! Pool: worker threads that take tasks from one queue and run them.
//!
//! - `mod.rs`: [`Pool`] and submission (`spawn`, `submit`, batches, the
//!   non-blocking and timed forms), and the state every worker shares.
//! - `builder.rs`: [`Builder`], the settings.
//! - `worker.rs`: the worker loop and its spin-then-sleep protocol.
//! - `control.rs`: resizing, statistics, waiting for idle, and shutdown.
//! - `scope.rs`: [`Scope`], tasks that borrow from the caller's stack.
//! - `error.rs`: the errors of each operation.
//!
//! One mutex (`Inner::state`) guards the queue and every count that must
//! agree with it; task bodies never run under it. See `README.md` beside
//! this file for the sleep/wake and shutdown protocols.

mod builder;
mod control;
mod error;
mod resource;
mod scope;
mod worker;

pub use builder::{Builder, DEFAULT_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT};
pub use control::Stats;
pub use error::{
    BuildError, ResizeError, ShutdownError, ShutdownReport, SubmitError, SubmitErrorKind,
    SubmitWaitError,
};
pub use scope::Scope;

use crate::context::Context;
use crate::limit::RateLimiter;
use crate::queue::injector::{Consumer, Injector};
use crate::queue::{FullPolicy, QueueKind, TaskQueue};
use crate::retry::{JitterRng, RetryPolicy};
use crate::sync::{CachePadded, Condvar, Mutex, MutexGuard, Wake};
use crate::task::builder::TaskBody;
use crate::task::builder::{BoxedBody, Deadline};
use crate::task::callbacks::Callbacks;
use crate::task::job::{
    Body, Fallible, HandleJob, Job, PanicHandler, Plain, PoolHooks, ResourceJob, RetryJob, Tally,
};
use crate::task::small::Queued;
use crate::task::{Task, TaskHandle, TaskId};
use crate::task::{handle::Shared, record::Callback};
use crate::time::Clock;
use crate::time::timer::Timer;
use builder::ThreadHook;
use error::BuildErrorKind;
use resource::{Gates, ResourceLimits};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};
use worker::WorkerEntry;

/// A pool of worker threads running tasks from one queue.
///
/// Submit fire-and-forget work with [`spawn`](Pool::spawn), work whose
/// result you want with [`submit`](Pool::submit) (a [`TaskHandle`]), and
/// work with options with [`submit_task`](Pool::submit_task). Every task
/// receives a [`Context`] it can poll for cancellation.
///
/// Every accepted task ends in exactly one terminal state; a refused one is
/// handed back inside the [`SubmitError`]. Dropping the pool shuts it down
/// gracefully: it stops taking work, lets queued and running tasks finish
/// for up to [`Builder::shutdown_timeout`], then cancels what is left.
///
/// # Examples
///
/// ```
/// use gosling::Pool;
///
/// let pool = Pool::new(4)?;
/// let handles: Vec<_> = (1..=4u64)
///     .map(|n| pool.submit(move |_ctx| n * n).unwrap())
///     .collect();
/// let squares: Vec<u64> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// # Ok::<(), gosling::BuildError>(())
/// ```
///
/// A task body must be `Send`:
///
/// ```compile_fail
/// let pool = gosling::Pool::new(1).unwrap();
/// let not_send = std::rc::Rc::new(5);
/// pool.spawn(move |_| println!("{not_send}")).unwrap();
/// ```
pub struct Pool {
    inner: Arc<Inner>,
}

/// Settings fixed at build time.
pub(crate) struct Config {
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
}

/// What the pool handle and its workers share.
pub(crate) struct Inner {
    pub(crate) state: Mutex<State>,
    /// Workers sleep here; notified under `state` rules (see `State::waking`).
    pub(crate) work_cv: Condvar,
    /// Submitters blocked on a full queue sleep here.
    pub(crate) room_cv: Condvar,
    /// `wait_idle` callers and shutdowns waiting for workers to exit.
    pub(crate) idle_cv: Condvar,
    /// Mirror of the queue length, for spinning workers (written under
    /// `state`; pools with an injector look at the injector instead).
    len_hint: CachePadded<AtomicUsize>,
    /// The lock-free intake of a FIFO pool (no rate limit, no resource
    /// limits): submitters append without the state lock; its consumer is
    /// `State::intake`. `None` for the other pools, whose queue is
    /// `State::queue`.
    pub(crate) injector: Option<Arc<Injector<Queued>>>,
    /// Sleeping workers not yet notified (`sleeping - waking`), mirrored
    /// for submitters to the injector, which take the state lock to wake
    /// one only when this is non-zero. SeqCst: see `worker::sleep`.
    sleepers: CachePadded<AtomicUsize>,
    /// Mirror of `State::closed`, for spinning workers.
    closed_hint: AtomicBool,
    /// Workers spinning for work right now.
    spinning: CachePadded<AtomicUsize>,
    max_spinning: usize,
    /// Passed to fire-and-forget tasks; cancelled when the pool stops.
    pub(crate) root: Context,
    pub(crate) clock: Clock,
    /// Cancellations made from outside a worker (handles, shutdown).
    pub(crate) tally: Arc<Tally>,
    pub(crate) config: Config,
    /// Started on first use (the first task with a deadline).
    pub(crate) timer: OnceLock<Arc<Timer>>,
    timer_start: Mutex<()>,
    /// The callback thread (started on first use): completion callbacks of
    /// tasks ended off the workers — by their deadline on the timer thread,
    /// by a shutdown — run there, never on the timer thread or the thread
    /// that shuts down (`task/callbacks.rs`).
    pub(crate) callbacks: Arc<Callbacks>,
    /// Watches the pool's context (`Builder::context`), if it has one.
    pub(crate) context_watch: Mutex<Option<Arc<control::ContextWatch>>>,
}

/// Everything the state lock protects.
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
    /// Workers waiting on `work_cv`.
    pub(crate) sleeping: usize,
    /// Sleeping workers already notified but not yet awake: a submitter
    /// wakes another only when the queue holds more than they will take.
    pub(crate) waking: usize,
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
    /// Whether `Inner::len_hint` was last set non-zero (it is rewritten only
    /// when this changes).
    pub(crate) hint_nonzero: bool,
    /// Workers waiting for the rate limiter's next permit (on `work_cv`).
    pub(crate) limit_waiters: usize,
    /// Starts that had to wait for the rate limiter, and for how long in all.
    pub(crate) delayed_starts: u64,
    pub(crate) start_delay: Duration,
    pub(crate) idle_waiters: usize,
    pub(crate) submitted: u64,
    pub(crate) rejected: u64,
    pub(crate) next_worker_index: usize,
    pub(crate) workers: Vec<WorkerEntry>,
    /// Outcome counts and busy time of workers that have exited.
    pub(crate) retired: [u64; 7],
    pub(crate) retired_busy_nanos: u64,
    /// Threads of exited workers, for shutdown to join.
    pub(crate) exited: Vec<std::thread::JoinHandle<()>>,
    /// The report of the stop made when the pool's context
    /// ([`Builder::context`]) ended.
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

/// Per-task settings for a task with a handle.
struct JobOptions<T, E> {
    id: Option<TaskId>,
    on_complete: Option<Callback<T, E>>,
    deadline: Option<Deadline>,
    parent: Option<Context>,
}

impl<T, E> Default for JobOptions<T, E> {
    fn default() -> Self {
        JobOptions {
            id: None,
            on_complete: None,
            deadline: None,
            parent: None,
        }
    }
}

/// How long a submission may wait for room.
#[derive(Clone, Copy)]
enum Wait {
    /// The pool's [`FullPolicy`].
    Policy,
    Never,
    /// No limit (a timeout too long for an `Instant`).
    Forever,
    Until(Instant),
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
    #[inline]
    pub(crate) fn publish_len(&self, len: usize) {
        // ORDERING: a hint for spinners; the queue itself is read under the lock.
        self.len_hint.store(len, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn len_hint(&self) -> usize {
        // ORDERING: see `publish_len`.
        self.len_hint.load(Ordering::Relaxed)
    }

    pub(crate) fn closed_hint(&self) -> bool {
        // ORDERING: a hint; `State::closed` is the truth.
        self.closed_hint.load(Ordering::Relaxed)
    }

    pub(crate) fn try_start_spinning(&self) -> bool {
        // ORDERING: bounds how many spin; no data is published through it.
        self.spinning
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.max_spinning).then_some(n + 1)
            })
            .is_ok()
    }

    pub(crate) fn stop_spinning(&self) {
        // ORDERING: SeqCst: a spinner that stops looks at the queue again,
        // and a submitter to the injector that saw it spinning relies on
        // that (see `wake_after_injection`).
        self.spinning.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn spinning(&self) -> usize {
        // ORDERING: SeqCst, ordered after a worker's own `stop_spinning`
        // and its look at the injector (see `worker::left_over`).
        self.spinning.load(Ordering::SeqCst)
    }

    /// Called by a worker thread as it exits.
    fn worker_exited(&self, slot: &Arc<worker::WorkerSlot>) {
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

    /// Puts one job in the queue, waiting for room as `wait` allows; on
    /// refusal the job comes back with the reason.
    #[inline]
    fn push<J: Job + 'static>(
        &self,
        job: Box<J>,
        priority: i32,
        wait: Wait,
    ) -> Result<(), (SubmitErrorKind, Box<J>)> {
        self.push_with(job, priority, wait, |job| Queued::Boxed(job))
    }

    /// [`push`](Inner::push), with the conversion to a queue entry supplied
    /// (the scope erases a lifetime there); it runs only once the job is
    /// accepted, so a refused job comes back as its own type (a spawned
    /// closure as itself).
    #[inline]
    fn push_with<J>(
        &self,
        mut job: J,
        priority: i32,
        wait: Wait,
        into_entry: fn(J) -> Queued,
    ) -> Result<(), (SubmitErrorKind, J)> {
        if let Some(injector) = &self.injector {
            // The fast path: no lock unless a worker sleeps.
            match injector.push(job, into_entry) {
                Ok(()) => {
                    self.wake_after_injection();
                    return Ok(());
                }
                // Full or closed: the locked path below tells which, and
                // waits for room as `wait` allows.
                Err((refused, _)) => job = refused,
            }
        }
        let mut state = self.state.lock();
        if !self.reserve(&state, 1) {
            let deadline = match self.resolve(wait) {
                Some(deadline) => deadline,
                None => {
                    return Err((self.refuse(&mut state, SubmitErrorKind::Full), job));
                }
            };
            state = match self.wait_for_room(state, 1, deadline) {
                Ok(state) => state,
                Err(kind) => return Err((kind, job)),
            };
        }
        match &self.injector {
            Some(injector) => {
                if let Err((job, _)) = injector.push_reserved(job, into_entry) {
                    // Unreachable: the close happens under the lock we hold.
                    return Err((self.refuse(&mut state, SubmitErrorKind::Closed), job));
                }
            }
            None => {
                state.queue.push(into_entry(job), priority);
                state.submitted += 1;
            }
        }
        self.wake_for(state);
        Ok(())
    }

    /// Reserves room for `n` tasks, with the state lock held: false when
    /// closed or when they do not fit. A pool with an injector takes the
    /// room from it (lock-free submitters compete for the same room); for
    /// the others the lock is the reservation.
    fn reserve(&self, state: &State, n: usize) -> bool {
        if state.closed {
            return false;
        }
        match &self.injector {
            Some(injector) => injector.reserve(n).is_ok(),
            None => state.room() >= n,
        }
    }

    /// After a push to the injector, without the lock: wakes a sleeping
    /// worker if there is one to wake and no spinning worker will look.
    /// Both loads are SeqCst and pair with the workers' side: a worker
    /// registers as a sleeper, or stops spinning, and then looks at the
    /// injector (see `worker::sleep`); this submitter reserved its slot and
    /// then looks at them. Either the worker sees the task or the submitter
    /// sees the worker. With a spinner about, the lock is left alone: a
    /// round trip to an idle pool (peer-bench W3) would otherwise contend
    /// for it with the very worker that is taking the task.
    #[inline]
    fn wake_after_injection(&self) {
        if self.sleepers.load(Ordering::SeqCst) > 0 && self.spinning() == 0 {
            let state = self.state.lock();
            self.wake_for(state);
        }
    }

    /// Mirrors `sleeping - waking` for submitters to the injector; called
    /// under the state lock whenever either changes.
    #[inline]
    pub(crate) fn publish_sleepers(&self, state: &State) {
        if self.injector.is_some() {
            // ORDERING: SeqCst, see `wake_after_injection`.
            self.sleepers.store(
                state.sleeping.saturating_sub(state.waking),
                Ordering::SeqCst,
            );
        }
    }

    /// True when a spinning worker should stop spinning and look: work
    /// queued, or the pool closed.
    #[inline]
    pub(crate) fn work_hint(&self) -> bool {
        match &self.injector {
            Some(injector) => injector.has_items() || self.closed_hint(),
            None => self.len_hint() > 0 || self.closed_hint(),
        }
    }

    /// The deadline a wait may block until: `None` for never,
    /// `Some(None)` for forever.
    fn resolve(&self, wait: Wait) -> Option<Option<Instant>> {
        match wait {
            Wait::Never => None,
            Wait::Forever => Some(None),
            Wait::Until(deadline) => Some(Some(deadline)),
            Wait::Policy => match self.config.when_full {
                FullPolicy::Block => Some(None),
                FullPolicy::Reject => None,
                FullPolicy::Timeout(timeout) => Some(self.clock.now().checked_add(timeout)),
            },
        }
    }

    /// Counts a refusal; closed wins over full.
    fn refuse(&self, state: &mut State, kind: SubmitErrorKind) -> SubmitErrorKind {
        state.rejected += 1;
        if state.closed {
            SubmitErrorKind::Closed
        } else {
            kind
        }
    }

    /// Waits until `needed` more tasks fit, the pool closes, or `deadline`;
    /// on success the room is reserved (see [`reserve`](Inner::reserve)).
    fn wait_for_room<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        needed: usize,
        deadline: Option<Instant>,
    ) -> Result<MutexGuard<'a, State>, SubmitErrorKind> {
        let mut reached = false;
        loop {
            if state.closed {
                return Err(self.refuse(&mut state, SubmitErrorKind::Closed));
            }
            if self.reserve(&state, needed) {
                return Ok(state);
            }
            if reached {
                return Err(self.refuse(&mut state, SubmitErrorKind::Timeout));
            }
            state.room_waiters += 1;
            state.batch_waiters += usize::from(needed > 1);
            (state, reached) = self.clock.wait_until(&self.room_cv, state, deadline);
            state.room_waiters -= 1;
            state.batch_waiters -= usize::from(needed > 1);
        }
    }

    /// After a push: publish the length and wake as many sleeping workers as
    /// there is work that awake ones will not take. Releases the lock.
    #[inline]
    fn wake_for(&self, mut state: MutexGuard<'_, State>) {
        let len = state.queue_len();
        // Spinners only ask "is there work?": the hint is written when the
        // answer changes, not on every push (it is a shared cache line).
        if !state.hint_nonzero && self.injector.is_none() {
            state.hint_nonzero = true;
            self.publish_len(len);
        }
        let mut to_wake = 0;
        if state.sleeping > state.waking {
            let available = state.waking + self.spinning();
            while state.sleeping > state.waking && len > available + to_wake {
                state.waking += 1;
                to_wake += 1;
            }
            self.publish_sleepers(&state);
        }
        drop(state);
        for _ in 0..to_wake {
            self.work_cv.notify_one();
        }
    }

    fn new_handle_job<B, T, E>(&self, body: B, options: JobOptions<T, E>) -> Box<HandleJob<B, T, E>>
    where
        B: Body<T, E> + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        Box::new(self.handle_job(body, options))
    }

    fn handle_job<B, T, E>(&self, body: B, options: JobOptions<T, E>) -> HandleJob<B, T, E>
    where
        B: Body<T, E> + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let shared = self.new_shared(
            &options.parent,
            options.deadline,
            options.id,
            options.on_complete,
        );
        HandleJob { body, shared }
    }

    /// The state a task shares with its handle: its context (a child of
    /// `parent`, with the task's or the pool's deadline) and its timeout.
    fn new_shared<T, E>(
        &self,
        parent: &Option<Context>,
        deadline: Option<Deadline>,
        id: Option<TaskId>,
        on_complete: Option<Callback<T, E>>,
    ) -> Arc<Shared<T, E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let deadline = match deadline.or(self.config.task_timeout.map(Deadline::After)) {
            Some(Deadline::At(at)) => Some(at),
            Some(Deadline::After(timeout)) => self.clock.now().checked_add(timeout),
            None => None,
        };
        let ctx = match (parent, deadline) {
            (Some(parent), Some(at)) => parent.with_deadline(at),
            (Some(parent), None) => parent.child(),
            (None, Some(at)) => Context::root_with_deadline(self.clock.clone(), at),
            (None, None) => Context::with_clock(self.clock.clone()),
        };
        let id = id.unwrap_or_else(TaskId::generate);
        Shared::new(id, ctx, Arc::clone(&self.tally), on_complete)
    }

    /// Called once a task with a handle is accepted: arms its timeout, if
    /// its context has a deadline. Nothing that can end a task is set up
    /// before it is accepted, so a refused task comes back untouched (its
    /// callback not run, nothing counted).
    #[inline]
    fn accepted<T: Send + 'static, E: Send + 'static>(&self, shared: &Arc<Shared<T, E>>) {
        if let Some(at) = shared.ctx.deadline() {
            self.arm_deadline(shared, at);
        }
    }

    /// Schedules the timeout of a task with a deadline. Should the timer
    /// thread fail to start, the deadline is still enforced lazily: a worker
    /// never starts a task past its deadline, and the context reports it.
    #[cold]
    fn arm_deadline<T: Send + 'static, E: Send + 'static>(
        &self,
        shared: &Arc<Shared<T, E>>,
        at: Instant,
    ) {
        if shared.is_terminal() {
            // Already ended (a worker ran it meanwhile): nothing to time out.
            return;
        }
        let Some(timer) = self.timer() else {
            return;
        };
        let weak = Arc::downgrade(shared);
        let callbacks = Arc::clone(&self.callbacks);
        let fire = Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.time_out(Some(&callbacks));
            }
        });
        if let Some(key) = timer.schedule(at, fire) {
            let _ = shared.deadline_entry.set((Arc::clone(&timer), key));
            if shared.is_terminal() {
                // It ended while the entry was being armed, perhaps before
                // its delivery could see the entry: remove it here.
                timer.cancel(key);
            }
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

    fn submit_body<B, T, E>(&self, body: B, wait: Wait) -> Result<TaskHandle<T, E>, SubmitError<B>>
    where
        B: Body<T, E> + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let job = self.handle_job(body, JobOptions::default());
        let shared = Arc::clone(&job.shared);
        // Inline in the queue entry when the body is small (see `small.rs`).
        match self.push_with(job, 0, wait, Queued::new) {
            Ok(()) => {
                self.accepted(&shared);
                Ok(TaskHandle::new(shared))
            }
            Err((kind, job)) => Err(SubmitError::new(kind, job.body)),
        }
    }
}

impl Pool {
    /// A pool of `workers` threads with default settings (see [`Builder`]).
    ///
    /// # Errors
    ///
    /// [`BuildError`] for zero workers, or when a thread cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(2)?;
    /// assert!(gosling::Pool::new(0).is_err());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn new(workers: usize) -> Result<Pool, BuildError> {
        Builder::new().workers(workers).build()
    }

    /// Settings for a new pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::builder().workers(2).unbounded().build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    fn start(builder: Builder, workers: usize) -> Result<Pool, BuildError> {
        let clock = builder.clock.clone();
        let capacity = builder.capacity.unwrap_or(usize::MAX);
        // The lock-free intake serves FIFO pools whose workers take tasks
        // in batches; a priority or LIFO order, a rate limit or resource
        // limits decide task by task under the lock.
        let (injector, intake) = if builder.queue == QueueKind::Fifo
            && builder.rate_limit.is_none()
            && builder.resources.is_empty()
        {
            let (injector, intake) = Injector::new(capacity);
            (Some(injector), Some(intake))
        } else {
            (None, None)
        };
        let callbacks = Callbacks::new(format!("{}-callbacks", builder.thread_name));
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                queue: TaskQueue::new(builder.queue),
                intake,
                requeued: 0,
                capacity,
                closed: false,
                target: workers,
                live: 0,
                threads: 0,
                running: 0,
                sleeping: 0,
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
            }),
            work_cv: Condvar::new(),
            room_cv: Condvar::new(),
            idle_cv: Condvar::new(),
            len_hint: CachePadded::default(),
            injector,
            sleepers: CachePadded::default(),
            closed_hint: AtomicBool::new(false),
            spinning: CachePadded::default(),
            max_spinning: workers.div_ceil(2),
            root: match &builder.context {
                Some(parent) => parent.child(),
                None => Context::with_clock(clock.clone()),
            },
            clock: clock.clone(),
            tally: Arc::new(Tally::default()),
            config: Config {
                queue: builder.queue,
                when_full: builder.when_full,
                thread_name: builder.thread_name,
                stack_size: builder.stack_size,
                on_thread_start: builder.on_thread_start,
                on_thread_stop: builder.on_thread_stop,
                panic_handler: builder.panic_handler,
                shutdown_timeout: builder.shutdown_timeout,
                task_timeout: builder.task_timeout,
                retry_policy: builder.retry_policy,
                rate_limit: builder.rate_limit,
                resources: Some(builder.resources).filter(|limits| !limits.is_empty()),
            },
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
        let parent = builder.context.clone();
        let pool = Pool { inner };
        if let Some(parent) = parent {
            control::watch_context(&pool.inner, &parent);
        }
        {
            let mut state = pool.inner.state.lock();
            for _ in 0..workers {
                state.live += 1;
                if let Err(e) = worker::spawn_worker(&pool.inner, &mut state) {
                    state.live -= 1;
                    drop(state);
                    // The guard: stop and join the workers already started.
                    let _ = pool.shutdown(Duration::from_secs(5));
                    return Err(BuildError::new(BuildErrorKind::Spawn(e)));
                }
            }
        }
        Ok(pool)
    }

    /// Queues a fire-and-forget task. It receives the pool's context, which
    /// is cancelled when the pool stops. This is the fast path: no handle,
    /// and no allocation for a closure of up to 24 bytes, which travels in
    /// the queue entry itself (unless the pool has a
    /// [`task_timeout`](Builder::task_timeout), which needs per-task
    /// state). In a FIFO pool without a rate limit or resource limits it
    /// takes no lock either, unless a worker must be woken.
    ///
    /// A full queue is met according to the pool's [`FullPolicy`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] holding `task` when the pool is closed or the queue is
    /// full (or stayed full until the policy's timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = gosling::Pool::new(2)?;
    /// let hits = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..100 {
    ///     let hits = hits.clone();
    ///     pool.spawn(move |_ctx| { hits.fetch_add(1, Ordering::Relaxed); }).unwrap();
    /// }
    /// pool.wait_idle();
    /// assert_eq!(hits.load(Ordering::Relaxed), 100);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[inline]
    pub fn spawn<F>(&self, task: F) -> Result<(), SubmitError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        self.spawn_with(task, Wait::Policy)
    }

    /// Like [`spawn`](Pool::spawn), but never waits: a full queue refuses at
    /// once, whatever the pool's [`FullPolicy`]. For code that must not
    /// block — a task of this pool queueing more work, a callback, a
    /// signal handler's thread.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] (`Full` or `Closed`) holding `task`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, SubmitErrorKind};
    /// let pool = Pool::builder().workers(1).capacity(1).build()?;
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// pool.spawn(move |_| { let _ = gate.recv(); }).unwrap();
    /// # while pool.stats().busy == 0 { std::thread::yield_now(); }
    /// pool.try_spawn(|_| ()).unwrap(); // fills the one place
    /// let refused = pool.try_spawn(|_| ()).unwrap_err(); // the default policy would block here
    /// assert_eq!(refused.kind(), SubmitErrorKind::Full);
    /// release.send(()).unwrap();
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[inline]
    pub fn try_spawn<F>(&self, task: F) -> Result<(), SubmitError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        self.spawn_with(task, Wait::Never)
    }

    #[inline]
    fn spawn_with<F>(&self, task: F, wait: Wait) -> Result<(), SubmitError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        if self.inner.config.task_timeout.is_some() {
            // A pool-wide timeout needs per-task state: take the handle path.
            return self
                .inner
                .submit_body(Plain(task), wait)
                .map(drop)
                .map_err(|e| e.map(|b| b.0));
        }
        // A small closure travels inline in the queue slot (no allocation);
        // the conversion runs only once the task is accepted, so a refused
        // one comes back as it was.
        self.inner
            .push_with(task, 0, wait, Queued::spawn)
            .map_err(|(kind, task)| SubmitError::new(kind, task))
    }

    /// True when the calling thread is one of this pool's workers: a waiter
    /// above the pool (an error group) must not block it on work queued
    /// behind it.
    pub(crate) fn is_current_worker(&self) -> bool {
        worker::is_worker_of(&self.inner)
    }

    /// Queues a task and returns a handle to its result. A full queue is met
    /// according to the pool's [`FullPolicy`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] holding `task` when the pool is closed or the queue is
    /// full.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let handle = pool.submit(|_ctx| "hello".len()).unwrap();
    /// assert_eq!(handle.wait(), Ok(5));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn submit<F, T>(&self, task: F) -> Result<TaskHandle<T>, SubmitError<F>>
    where
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_body(Plain(task), Wait::Policy)
            .map_err(|e| e.map(|b| b.0))
    }

    /// Queues a task whose body returns a `Result`; an `Err` ends it
    /// [`Failed`](crate::TaskStatus::Failed), and [`TaskHandle::wait`]
    /// returns [`TaskError::Failed`](crate::TaskError::Failed) with it.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] holding `task` when the pool is closed or the queue is
    /// full.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::TaskError;
    /// let pool = gosling::Pool::new(1)?;
    /// let ok = pool.submit_fallible(|_| "42".parse::<u8>()).unwrap();
    /// let bad = pool.submit_fallible(|_| "x".parse::<u8>()).unwrap();
    /// assert_eq!(ok.wait(), Ok(42));
    /// assert!(matches!(bad.wait(), Err(TaskError::Failed(_))));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn submit_fallible<F, T, E>(&self, task: F) -> Result<TaskHandle<T, E>, SubmitError<F>>
    where
        F: FnOnce(&Context) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.inner
            .submit_body(Fallible(task), Wait::Policy)
            .map_err(|e| e.map(|b| b.0))
    }

    /// Like [`submit`](Pool::submit), but never waits: a full queue refuses
    /// at once, whatever the pool's policy.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] (`Full` or `Closed`) holding `task`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// match pool.try_submit(|_| 1) {
    ///     Ok(handle) => assert_eq!(handle.wait(), Ok(1)),
    ///     Err(refused) => println!("busy: {refused}"),
    /// }
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn try_submit<F, T>(&self, task: F) -> Result<TaskHandle<T>, SubmitError<F>>
    where
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_body(Plain(task), Wait::Never)
            .map_err(|e| e.map(|b| b.0))
    }

    /// Like [`submit`](Pool::submit), waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] (`Timeout` or `Closed`) holding `task`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// let handle = pool.submit_timeout(|_| 1, Duration::from_millis(100)).unwrap();
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn submit_timeout<F, T>(
        &self,
        task: F,
        timeout: Duration,
    ) -> Result<TaskHandle<T>, SubmitError<F>>
    where
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        let wait = match self.inner.clock.now().checked_add(timeout) {
            Some(deadline) => Wait::Until(deadline),
            None => Wait::Forever,
        };
        self.inner
            .submit_body(Plain(task), wait)
            .map_err(|e| e.map(|b| b.0))
    }

    /// Like [`submit`](Pool::submit), waiting for room until `deadline` (on
    /// the pool's clock).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] (`Timeout` or `Closed`) holding `task`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let pool = gosling::Pool::new(1)?;
    /// let deadline = Instant::now() + Duration::from_millis(100);
    /// let handle = pool.submit_deadline(|_| 1, deadline).unwrap();
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn submit_deadline<F, T>(
        &self,
        task: F,
        deadline: Instant,
    ) -> Result<TaskHandle<T>, SubmitError<F>>
    where
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_body(Plain(task), Wait::Until(deadline))
            .map_err(|e| e.map(|b| b.0))
    }

    /// Queues a [`Task`] with its id, priority and completion callback. A full
    /// queue is met according to the pool's [`FullPolicy`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] holding the task (callback included) when the pool is
    /// closed or the queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task};
    /// let pool = Pool::new(1)?;
    /// let handle = pool.submit_task(Task::new(|_| 7).priority(3)).unwrap();
    /// assert_eq!(handle.wait(), Ok(7));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn submit_task<T, E>(
        &self,
        task: Task<T, E>,
    ) -> Result<TaskHandle<T, E>, SubmitError<Task<T, E>>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        submit_task_with(&self.inner, task, Wait::Policy)
    }

    /// Submits `task` and waits for its value: Go's `SubmitWait`. A full
    /// queue is met according to the pool's [`FullPolicy`]; cancelling
    /// `ctx` (the caller's context), or its deadline passing, abandons the
    /// wait and hands the task's handle back. To cancel the task too, make
    /// its context a child of `ctx` ([`Task::context`]).
    ///
    /// # Errors
    ///
    /// [`SubmitWaitError`]: refused (with the task), abandoned (with its
    /// handle) or the task's own error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::{Pool, SubmitWaitError, Task, TaskError};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(2)?;
    /// let request = Context::new().with_timeout(Duration::from_secs(5));
    /// assert_eq!(pool.submit_wait(&request, Task::new(|_| 2 + 2)).unwrap(), 4);
    ///
    /// // Tied to the request: cancelling it cancels the task as well.
    /// let request = Context::new();
    /// request.cancel();
    /// let tied = Task::fallible(|ctx| ctx.check().map(|()| "ran")).context(&request);
    /// let outcome = match pool.submit_wait(&request, tied) {
    ///     Err(SubmitWaitError::Abandoned(handle)) => handle.wait(),
    ///     Err(SubmitWaitError::Task(error)) => Err(error),
    ///     other => panic!("{other:?}"),
    /// };
    /// assert_eq!(outcome, Err(TaskError::Cancelled)); // it never ran
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_wait<T, E>(
        &self,
        ctx: &Context,
        task: Task<T, E>,
    ) -> Result<T, SubmitWaitError<T, E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let handle = self.submit_task(task).map_err(SubmitWaitError::Refused)?;
        match handle.wait_ctx(ctx) {
            Ok(outcome) => outcome.map_err(SubmitWaitError::Task),
            Err(handle) => Err(SubmitWaitError::Abandoned(handle)),
        }
    }

    /// Queues many tasks under one acquisition of the queue lock, all or
    /// none: with a bounded queue it waits (per the pool's [`FullPolicy`])
    /// until the whole batch fits. The handles come back in input order.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] holding every task, in input order, when the pool is
    /// closed, the queue stays full, or the batch is larger than the queue's
    /// capacity (`Full`: it could never fit).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(2)?;
    /// let handles = pool.submit_batch((0..10u32).map(|i| move |_: &gosling::context::Context| i * 2)).unwrap();
    /// let total: u32 = handles.into_iter().map(|h| h.wait().unwrap()).sum();
    /// assert_eq!(total, 90);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn submit_batch<I, F, T>(&self, tasks: I) -> Result<Vec<TaskHandle<T>>, SubmitError<Vec<F>>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        let jobs: Vec<Box<HandleJob<Plain<F>, T, _>>> = tasks
            .into_iter()
            .map(|f| self.inner.new_handle_job(Plain(f), JobOptions::default()))
            .collect();
        let give_back = |kind, jobs: Vec<Box<HandleJob<Plain<F>, T, _>>>| {
            SubmitError::new(kind, jobs.into_iter().map(|job| job.body.0).collect())
        };
        let inner = &self.inner;
        let mut state = inner.state.lock();
        if !inner.reserve(&state, jobs.len()) {
            if jobs.len() > state.capacity {
                let kind = inner.refuse(&mut state, SubmitErrorKind::Full);
                return Err(give_back(kind, jobs));
            }
            let Some(deadline) = inner.resolve(Wait::Policy) else {
                let kind = inner.refuse(&mut state, SubmitErrorKind::Full);
                return Err(give_back(kind, jobs));
            };
            state = match inner.wait_for_room(state, jobs.len(), deadline) {
                Ok(state) => state,
                Err(kind) => return Err(give_back(kind, jobs)),
            };
        }
        let mut handles = Vec::with_capacity(jobs.len());
        if let Some(injector) = &inner.injector {
            // Room is reserved and the close is held off by the lock: every
            // push succeeds, so the batch goes in whole.
            for job in jobs {
                handles.push(TaskHandle::new(Arc::clone(&job.shared)));
                if let Err((job, _)) = injector.push_reserved(job, |job| Queued::Boxed(job)) {
                    // Unreachable (see above); never lose a task regardless.
                    (*job).abandon_owned(&inner.tally, None);
                }
            }
        } else {
            state.queue.reserve(jobs.len());
            for job in jobs {
                handles.push(TaskHandle::new(Arc::clone(&job.shared)));
                state.queue.push(Queued::Boxed(job), 0);
            }
            state.submitted += handles.len() as u64;
        }
        inner.wake_for(state);
        for handle in &handles {
            inner.accepted(&handle.shared);
        }
        Ok(handles)
    }
}

/// [`Pool::submit_task`] with the wait for room given: the scheduler
/// submits from the timer thread and must never block there.
fn submit_task_with<T, E>(
    inner: &Arc<Inner>,
    task: Task<T, E>,
    wait: Wait,
) -> Result<TaskHandle<T, E>, SubmitError<Task<T, E>>>
where
    T: Send + 'static,
    E: Send + 'static,
{
    let Task {
        body,
        id,
        priority,
        on_complete,
        deadline,
        parent,
        resource,
    } = task;
    // What a refused task is rebuilt from, besides its body and callback.
    let settings = Settings {
        id,
        priority,
        deadline,
        parent: parent.clone(),
        resource: resource.clone(),
    };
    let options = JobOptions {
        id,
        on_complete,
        deadline,
        parent,
    };
    let body = match body {
        TaskBody::Once(body) => body,
        TaskBody::Repeat(body, own) => {
            let pool_default = inner.config.retry_policy.as_ref();
            let policy = match &own {
                Some(own) => own.for_pool(pool_default),
                None => pool_default.cloned().unwrap_or_else(RetryPolicy::never),
            };
            let shared =
                inner.new_shared(&options.parent, options.deadline, id, options.on_complete);
            let weak: Weak<dyn PoolHooks> = Arc::downgrade(inner) as Weak<dyn PoolHooks>;
            let _ = shared.retry_hooks.set(weak);
            let job = Box::new(RetryJob {
                body,
                shared: Arc::clone(&shared),
                policy,
                priority,
                started: None,
                previous_delay: Duration::ZERO,
                rng: JitterRng::from_entropy(),
                resource,
            });
            return match inner.push(job, priority, wait) {
                Ok(()) => {
                    inner.accepted(&shared);
                    Ok(TaskHandle::new(shared))
                }
                Err((kind, job)) => {
                    let RetryJob { body, shared, .. } = *job;
                    let body = TaskBody::Repeat(body, own);
                    Err(SubmitError::new(
                        kind,
                        settings.task(body, shared.take_callback()),
                    ))
                }
            };
        }
    };
    let job = inner.handle_job(body, options);
    let shared = Arc::clone(&job.shared);
    let refused = |kind, HandleJob { body, shared }: HandleJob<BoxedBody<T, E>, T, E>| {
        let task = settings.task(TaskBody::Once(body), shared.take_callback());
        SubmitError::new(kind, task)
    };
    let pushed = match resource {
        None => inner
            .push_with(job, priority, wait, Queued::new)
            .map_err(|(kind, job)| refused(kind, job)),
        Some(resource) => inner
            .push(Box::new(ResourceJob { job, resource }), priority, wait)
            .map_err(|(kind, job)| refused(kind, job.job)),
    };
    pushed.map(|()| {
        inner.accepted(&shared);
        TaskHandle::new(shared)
    })
}

/// A task's settings besides its body and callback: what a refused task is
/// rebuilt from.
struct Settings {
    id: Option<TaskId>,
    priority: i32,
    deadline: Option<Deadline>,
    parent: Option<Context>,
    resource: Option<Arc<str>>,
}

impl Settings {
    fn task<T, E>(self, body: TaskBody<T, E>, on_complete: Option<Callback<T, E>>) -> Task<T, E> {
        Task {
            body,
            id: self.id,
            priority: self.priority,
            on_complete,
            deadline: self.deadline,
            parent: self.parent,
            resource: self.resource,
        }
    }
}

/// A weak link from the scheduler (a higher layer) to a pool: it does not
/// keep the pool running, and every use fails once the pool is gone.
#[derive(Clone)]
pub(crate) struct PoolLink {
    inner: Weak<Inner>,
}

impl Pool {
    /// A weak link to this pool, for the scheduler.
    pub(crate) fn link(&self) -> PoolLink {
        PoolLink {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The pool's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }
}

impl PoolLink {
    /// The pool's timer (started on first use); `None` once the pool is
    /// gone or the timer thread could not start.
    pub(crate) fn timer(&self) -> Option<Arc<Timer>> {
        self.inner.upgrade()?.timer()
    }

    /// True once the pool is closed or gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner
            .upgrade()
            .is_none_or(|inner| inner.state.lock().closed)
    }

    /// Submits without waiting for room (callable from the timer thread);
    /// a pool that is gone refuses as `Closed`.
    pub(crate) fn try_submit_task<T, E>(
        &self,
        task: Task<T, E>,
    ) -> Result<TaskHandle<T, E>, SubmitError<Task<T, E>>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        match self.inner.upgrade() {
            Some(inner) => submit_task_with(&inner, task, Wait::Never),
            None => Err(SubmitError::new(SubmitErrorKind::Closed, task)),
        }
    }
}

impl fmt::Debug for PoolLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolLink")
            .field("alive", &(self.inner.strong_count() > 0))
            .finish()
    }
}

impl Drop for Pool {
    /// Graceful shutdown: see [`Pool::shutdown`] with the pool's
    /// [`shutdown_timeout`](Builder::shutdown_timeout).
    ///
    /// Dropped while its thread unwinds from a panic, the pool does not
    /// drain: it cancels what is queued and running at once, as
    /// [`shutdown_now`](Pool::shutdown_now) does, and returns without
    /// waiting for the workers — a panic must not be held up for the length
    /// of the shutdown timeout by work nobody will look at.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.shutdown(Duration::ZERO);
            return;
        }
        let _ = self.shutdown(self.inner.config.shutdown_timeout);
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("queue", &self.inner.config.queue)
            .field("stats", &self.stats())
            .finish()
    }
}
