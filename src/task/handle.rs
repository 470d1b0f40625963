//! [`TaskHandle`] and the state it shares with whoever runs the task.
//!
//! The state machine — its states, every transition and who makes it — is
//! in `state.rs`; `Shared` holds one [`State`] and moves it only through
//! [`State::transition`]. The winner of a transition into a terminal state —
//! and only it — counts the outcome, runs the completion callback, stores the
//! result and wakes the waiters, in that order. So counters, callbacks and
//! waiters all see the one terminal state, and a waiter that returns sees the
//! callback's effects.

use super::callbacks::Callbacks;
use super::env::{PoolHooks, Tally};
use super::help;
use super::record::{Callback, TaskResult};
use super::state::{CANCELLED, QUEUED, RETRYING, RUNNING, State, TIMED_OUT, status_of};
use super::{TaskError, TaskId, TaskStatus};
use crate::context::{CancelReason, Context};
use crate::sync::{Condvar, HandoffSpin, Mutex, Wake};
use crate::time::timer::{Timer, TimerKey};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// What a task's handle and its runner share.
pub(crate) struct Shared<T, E> {
    pub(crate) id: TaskId,
    /// The pool the task was submitted to (its address), for waits on that
    /// pool's workers to help (`help.rs`); 0 for none.
    pub(crate) pool: usize,
    /// The lifecycle state; see the table in `state.rs`.
    state: State,
    /// The context the body receives; cancelled by `cancel()` while running.
    pub(crate) ctx: Context,
    /// Set (under `slot`) once the result is stored: lets waiters spin
    /// without taking the lock.
    ready: AtomicBool,
    /// Protected by its own lock: the result, and who waits for it.
    slot: Mutex<Slot<T, E>>,
    /// Waiters for the result; notified under `slot`.
    cv: Condvar,
    /// Taken by the winner of the terminal transition.
    on_complete: Mutex<Option<Callback<T, E>>>,
    /// Whether `on_complete` was given: most tasks have none, and then the
    /// delivery skips its lock.
    has_callback: bool,
    /// The pool's counter for outcomes decided off the workers (cancel
    /// through the handle, timeout on the timer thread).
    pub(crate) tally: Arc<Tally>,
    /// The timer entry that times this task out at its deadline, if it has
    /// one; removed when the task ends first.
    pub(crate) deadline_entry: OnceLock<(Arc<Timer>, TimerKey)>,
    /// Attempts started so far.
    pub(crate) attempts: AtomicU32,
    /// When the first attempt started, recorded only for a task with a
    /// completion callback (which is told).
    pub(crate) started: OnceLock<Instant>,
    /// For a task that may be retried: the pool to tell when a cancellation
    /// ends its backoff.
    pub(crate) retry_hooks: OnceLock<Weak<dyn PoolHooks>>,
    /// When it was submitted, on the pool's clock, for a pool with metrics
    /// (`Tally::run_started`; 0 otherwise).
    submitted: u64,
}

struct Slot<T, E> {
    result: Option<Result<T, TaskError<E>>>,
    waiters: u32,
    clock_subscribed: bool,
}

impl<T, E> Drop for Shared<T, E> {
    fn drop(&mut self) {
        // A task refused at submission, or finished: its timeout entry must
        // not linger in the timer until the deadline.
        if let Some((timer, key)) = self.deadline_entry.get() {
            timer.cancel(*key);
        }
    }
}

impl<T, E> Wake for Shared<T, E>
where
    T: Send,
    E: Send,
{
    fn wake(&self) {
        let _slot = self.slot.lock();
        self.cv.notify_all();
    }
}

impl<T: Send + 'static, E: Send + 'static> Shared<T, E> {
    pub(crate) fn new(
        id: TaskId,
        pool: usize,
        ctx: Context,
        tally: Arc<Tally>,
        on_complete: Option<Callback<T, E>>,
    ) -> Arc<Self> {
        Arc::new(Shared {
            id,
            pool,
            state: State::new(),
            ctx,
            ready: AtomicBool::new(false),
            slot: Mutex::new(Slot {
                result: None,
                waiters: 0,
                clock_subscribed: false,
            }),
            cv: Condvar::new(),
            has_callback: on_complete.is_some(),
            on_complete: Mutex::new(on_complete),
            deadline_entry: OnceLock::new(),
            attempts: AtomicU32::new(0),
            started: OnceLock::new(),
            retry_hooks: OnceLock::new(),
            submitted: tally.run_started(),
            tally,
        })
    }

    /// Records the start of the first attempt, for the completion record.
    #[inline]
    pub(crate) fn mark_started(&self) {
        if self.has_callback && self.started.get().is_none() {
            let _ = self.started.set(self.ctx.clock().now());
        }
    }

    /// Takes the callback back out of a task that was never queued.
    pub(crate) fn take_callback(&self) -> Option<Callback<T, E>> {
        self.on_complete.lock().take()
    }

    #[inline]
    pub(crate) fn state(&self) -> u8 {
        self.state.load()
    }

    /// True once the task is in a terminal state.
    #[inline]
    pub(crate) fn is_terminal(&self) -> bool {
        super::state::is_terminal(self.state())
    }

    /// Moves `from` → `to` ([`State::transition`]); true for the one
    /// caller that did it.
    #[inline]
    pub(crate) fn transition(&self, from: u8, to: u8) -> bool {
        self.state.transition(from, to)
    }

    /// Runs the completion callback, stores the result and wakes waiters.
    /// Called once, by the winner of the terminal transition.
    pub(crate) fn deliver(&self, result: Result<T, TaskError<E>>) {
        self.deliver_then(result, &self.tally, || {});
    }

    /// As [`deliver`](Self::deliver), observing the task's latency in
    /// `counted_in` (the delivering worker's tally: its own histograms, so
    /// workers do not share a cache line per task), and calling
    /// `before_publish` after the
    /// completion callback and just before the result becomes visible to
    /// the waiters (a worker uses it to count itself as looking for work
    /// before its submitter, woken by the result, submits again).
    pub(crate) fn deliver_then(
        &self,
        result: Result<T, TaskError<E>>,
        counted_in: &Tally,
        before_publish: impl FnOnce(),
    ) {
        if let Some((timer, key)) = self.deadline_entry.get() {
            timer.cancel(*key);
        }
        let callback = if self.has_callback {
            self.on_complete.lock().take()
        } else {
            None
        };
        if let Some(callback) = callback {
            let started_at = self.started.get().copied();
            let record = TaskResult {
                id: self.id,
                outcome: &result,
                started_at,
                run_time: started_at.map(|at| self.ctx.clock().now().saturating_duration_since(at)),
                // ORDERING: written by the worker that ran the attempts,
                // before the terminal transition this delivery follows.
                attempts: self.attempts.load(Ordering::Acquire),
            };
            // A panicking callback must not take the worker down, nor stop
            // the result from reaching the waiters.
            let _ = catch_unwind(AssertUnwindSafe(|| callback(&record)));
        }
        counted_in.task_ended(self.submitted);
        before_publish();
        let mut slot = self.slot.lock();
        slot.result = Some(result);
        // ORDERING: Release pairs with the Acquire spin in `wait_until`.
        self.ready.store(true, Ordering::Release);
        let waiters = slot.waiters;
        drop(slot);
        if waiters > 0 {
            self.cv.notify_all();
        }
    }

    /// The deadline passed: a queued task will never run, a running one is
    /// reported timed out now and its context cancelled; whatever it returns
    /// later is discarded. Called on the timer thread with the pool's
    /// `callbacks`, where the completion callback then runs (the timer
    /// thread runs no user code), or on a worker with `None`.
    pub(crate) fn time_out(self: &Arc<Self>, callbacks: Option<&Callbacks>) {
        let from_backoff = self.transition(RETRYING, TIMED_OUT);
        if from_backoff {
            self.settle_retry();
        }
        if from_backoff || self.transition(QUEUED, TIMED_OUT) || self.transition(RUNNING, TIMED_OUT)
        {
            self.ctx.cancel_with(CancelReason::DeadlineExceeded);
            self.tally.count_timed_out();
            self.deliver_off(Err(TaskError::TimedOut), callbacks);
        }
    }

    /// [`deliver`](Self::deliver) for an outcome decided off the workers:
    /// with `callbacks` given and a completion callback to run, the whole
    /// delivery (callback, then result) moves to the callback thread;
    /// otherwise it happens here, running no user code.
    pub(crate) fn deliver_off(
        self: &Arc<Self>,
        result: Result<T, TaskError<E>>,
        callbacks: Option<&Callbacks>,
    ) {
        match callbacks {
            Some(callbacks) if self.has_callback => {
                let shared = Arc::clone(self);
                callbacks.run(self.id, Box::new(move || shared.deliver(result)));
            }
            _ => self.deliver(result),
        }
    }

    /// Tells the pool a backoff ended other than by re-queueing.
    pub(crate) fn settle_retry(&self) {
        if let Some(hooks) = self.retry_hooks.get().and_then(Weak::upgrade) {
            hooks.retry_settled();
        }
    }

    /// Waits until the result is stored or `deadline` passes (on the task
    /// context's clock), then takes the result if it is there.
    fn wait_until(self: &Arc<Self>, deadline: Option<Instant>) -> Option<Result<T, TaskError<E>>> {
        self.wait_until_or(deadline, None)
    }

    /// [`wait_until`](Self::wait_until), also ending (with `None`) once
    /// `stop` is set; whoever sets it wakes this waiter through `wake`.
    ///
    /// On a worker of the task's own pool the wait helps: it runs that
    /// pool's queued work while the result is not there (`help.rs`).
    fn wait_until_or(
        self: &Arc<Self>,
        deadline: Option<Instant>,
        stop: Option<&AtomicBool>,
    ) -> Option<Result<T, TaskError<E>>> {
        if let Some(helper) = help::helper_for(self.pool) {
            return self.wait_helping(&*helper, deadline, stop);
        }
        // Spin briefly first: a short task's result often arrives within a
        // microsecond, far sooner than a sleep-and-wake round trip.
        let mut backoff = HandoffSpin::new();
        // ORDERING: Acquire pairs with the Release in `deliver`.
        while !self.ready.load(Ordering::Acquire) && !backoff.is_completed() {
            backoff.snooze();
        }
        self.block_until(deadline, [stop, None])
    }

    /// [`wait_until_or`](Self::wait_until_or) on a worker of the task's own
    /// pool: runs the pool's queued work until the result is there.
    #[cold]
    fn wait_helping(
        self: &Arc<Self>,
        helper: &dyn help::Helper,
        deadline: Option<Instant>,
        stop: Option<&AtomicBool>,
    ) -> Option<Result<T, TaskError<E>>> {
        let clock = self.ctx.clock();
        // ORDERING: Acquire pairs with the Release in `deliver` and with
        // the stop's setter.
        let stopped = || stop.is_some_and(|stop| stop.load(Ordering::Acquire));
        let mut taken = None;
        help::wait_helping(
            helper,
            Arc::clone(self) as Arc<dyn Wake>,
            deadline,
            || clock.now(),
            || self.ready.load(Ordering::Acquire) || stopped(),
            |until, work| {
                if taken.is_none() {
                    taken = self.block_until(until, [stop, Some(work)]);
                }
            },
        );
        taken.or_else(|| self.slot.lock().result.take())
    }

    /// Blocks until the result is stored (and takes it), `deadline` passes,
    /// or one of `stops` is set; whoever sets one wakes this waiter through
    /// `wake`, under the slot lock.
    fn block_until(
        self: &Arc<Self>,
        deadline: Option<Instant>,
        stops: [Option<&AtomicBool>; 2],
    ) -> Option<Result<T, TaskError<E>>> {
        let clock = self.ctx.clock();
        let mut slot = self.slot.lock();
        loop {
            if let Some(result) = slot.result.take() {
                return Some(result);
            }
            // ORDERING: set before the setter takes `slot` to wake us.
            if stops
                .iter()
                .flatten()
                .any(|stop| stop.load(Ordering::Acquire))
            {
                return None;
            }
            if clock.is_manual() && !slot.clock_subscribed {
                slot.clock_subscribed = true;
                let weak: Weak<Shared<T, E>> = Arc::downgrade(self);
                clock.subscribe(weak);
            }
            slot.waiters += 1;
            let reached;
            (slot, reached) = clock.wait_until(&self.cv, slot, deadline);
            slot.waiters -= 1;
            if reached {
                return slot.result.take();
            }
        }
    }
}

/// The submitter's view of one task: its id, its status, its result, and a
/// way to cancel it.
///
/// `T` is the task's value, `E` its error type ([`Infallible`](std::convert::Infallible)
/// for plain tasks). Dropping a handle neither cancels the task nor leaks
/// anything: the task runs, its result is dropped.
///
/// The waiting methods that can time out take the handle by value and give it
/// back on timeout, so a result can only ever be taken once.
///
/// # Examples
///
/// ```
/// use gosling::Pool;
///
/// let pool = Pool::new(2)?;
/// let handle = pool.submit(|_| (1..=10).sum::<u32>()).unwrap();
/// assert_eq!(handle.wait(), Ok(55));
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[must_use = "dropping a handle does not cancel the task; use `spawn` for fire-and-forget"]
pub struct TaskHandle<T, E = std::convert::Infallible> {
    pub(crate) shared: Arc<Shared<T, E>>,
}

impl<T: Send + 'static, E: Send + 'static> TaskHandle<T, E> {
    pub(crate) fn new(shared: Arc<Shared<T, E>>) -> Self {
        TaskHandle { shared }
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task, TaskId};
    /// let pool = Pool::new(1)?;
    /// let handle = pool.submit_task(Task::new(|_| ()).id(TaskId::from(9))).unwrap();
    /// assert_eq!(handle.id(), TaskId::from(9));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn id(&self) -> TaskId {
        self.shared.id
    }

    /// The task's current status.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, TaskStatus};
    /// let pool = Pool::new(1)?;
    /// let handle = pool.submit(|_| 1).unwrap();
    /// pool.wait_idle()?;
    /// assert_eq!(handle.status(), TaskStatus::Succeeded);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn status(&self) -> TaskStatus {
        status_of(self.shared.state())
    }

    /// True once the result (or error) is available to take without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let handle = pool.submit(|_| 1).unwrap();
    /// pool.wait_idle()?;
    /// assert!(handle.is_finished());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_finished(&self) -> bool {
        // ORDERING: Acquire pairs with the Release in `deliver`.
        self.shared.ready.load(Ordering::Acquire)
    }

    /// How many times the body has started (retries included).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let handle = pool.submit(|_| ()).unwrap();
    /// pool.wait_idle()?;
    /// assert_eq!(handle.attempts(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn attempts(&self) -> u32 {
        // ORDERING: a count read for information; the outcome itself is
        // published through the result slot.
        self.shared.attempts.load(Ordering::Acquire)
    }

    /// The context the task's body receives.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let handle = pool.submit(|ctx| ctx.is_cancelled()).unwrap();
    /// assert!(!handle.context().is_cancelled());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn context(&self) -> &Context {
        &self.shared.ctx
    }

    /// Cancels the task. Returns true when this call prevented it from
    /// running (again): it was queued or waiting to retry, it will never run, and its outcome is
    /// [`TaskError::Cancelled`]. Returns false when it already started or
    /// finished; a running task's context is cancelled all the same, which a
    /// cooperative body observes.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, TaskError};
    /// use std::sync::mpsc;
    ///
    /// let pool = Pool::new(1)?;
    /// let (release, gate) = mpsc::channel::<()>();
    /// pool.spawn(move |_| { let _ = gate.recv(); }).unwrap(); // occupies the only worker
    /// let queued = pool.submit(|_| "never runs").unwrap();
    /// assert!(queued.cancel());
    /// release.send(()).unwrap();
    /// assert_eq!(queued.wait(), Err(TaskError::Cancelled));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn cancel(&self) -> bool {
        let shared = &self.shared;
        let from_backoff = shared.transition(RETRYING, CANCELLED);
        if from_backoff || shared.transition(QUEUED, CANCELLED) {
            shared.ctx.cancel();
            shared.tally.count_cancelled();
            if from_backoff {
                shared.settle_retry();
            }
            deliver_cancelled(shared);
            return true;
        }
        if shared.state() == RUNNING {
            shared.ctx.cancel();
        }
        false
    }

    /// Blocks until the task finishes and returns its value or why there is none.
    ///
    /// # Waiting inside the pool
    ///
    /// Called on one of the task's own pool's workers — by a task waiting
    /// for a task it submitted to its own pool — the wait does not idle the
    /// worker: while the result is not there it runs that pool's queued
    /// work itself, one task at a time, in the queue's order (priority,
    /// LIFO or FIFO), counted in the pool's statistics as usual. So a task
    /// of a one-worker pool can wait on a child task, and a
    /// [`Pool::scope`](crate::Pool::scope) opened inside a task joins the
    /// same way. The same holds for [`wait_timeout`](Self::wait_timeout),
    /// [`wait_deadline`](Self::wait_deadline) and [`wait_ctx`](Self::wait_ctx)
    /// (which still return at their deadline once the task they run ends).
    ///
    /// Those runs nest on the waiting worker's stack, at most 16 deep;
    /// deeper waits block as any thread's would. A LIFO queue nests about
    /// as deep as a recursive split recurses; a FIFO queue, which runs the
    /// oldest task first, about as wide as the split's tree — prefer
    /// [`QueueKind::Lifo`](crate::QueueKind::Lifo) for deep recursive
    /// fork-join. A wait on a worker of *another* pool blocks, and
    /// [`Pool::wait_idle`](crate::Pool::wait_idle), which could never end
    /// inside the pool, is refused there with an error.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let pool = Arc::new(gosling::Pool::new(1)?); // one worker
    /// let inner = Arc::clone(&pool);
    /// let parent = pool.submit(move |_| {
    ///     let child = inner.submit(|_| 21).unwrap();
    ///     child.wait().map(|n| n * 2) // runs `child` on this very worker
    /// })?;
    /// assert_eq!(parent.wait()?, Ok(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TaskError`]: failed (with the task's error), panicked (with the
    /// message), cancelled, shut down or timed out.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// assert_eq!(pool.submit(|_| "done").unwrap().wait(), Ok("done"));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn wait(self) -> Result<T, TaskError<E>> {
        loop {
            if let Some(result) = self.shared.wait_until(None) {
                return result;
            }
        }
    }

    /// Waits at most `timeout`; gives the handle back if the task has not
    /// finished by then.
    ///
    /// # Errors
    ///
    /// `Err(handle)` when the timeout passed first. The inner `Result` is the
    /// task's outcome, as from [`wait`](TaskHandle::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// let mut handle = pool.submit(|_| 5).unwrap();
    /// let value = loop {
    ///     match handle.wait_timeout(Duration::from_millis(10)) {
    ///         Ok(outcome) => break outcome,
    ///         Err(back) => handle = back, // not yet: do something else, then retry
    ///     }
    /// };
    /// assert_eq!(value, Ok(5));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<T, TaskError<E>>, Self> {
        match self.shared.ctx.clock().now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => Ok(self.wait()),
        }
    }

    /// Waits until `deadline` (on the pool's clock); gives the handle back if
    /// the task has not finished by then.
    ///
    /// # Errors
    ///
    /// `Err(handle)` when the deadline passed first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let pool = gosling::Pool::new(1)?;
    /// let handle = pool.submit(|_| 5).unwrap();
    /// let outcome = handle.wait_deadline(Instant::now() + Duration::from_secs(10));
    /// assert_eq!(outcome.ok(), Some(Ok(5)));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn wait_deadline(self, deadline: Instant) -> Result<Result<T, TaskError<E>>, Self> {
        match self.shared.wait_until(Some(deadline)) {
            Some(result) => Ok(result),
            None => Err(self),
        }
    }

    /// Waits for the outcome until `ctx` — the caller's context, not the
    /// task's — is cancelled or passes its deadline; gives the handle back
    /// then. Abandoning the wait does not cancel the task: call
    /// [`cancel`](TaskHandle::cancel) on the handle given back for that, or
    /// make the task's context a child of `ctx`
    /// ([`Task::context`](crate::Task::context)) so that cancelling `ctx`
    /// cancels both.
    ///
    /// # Errors
    ///
    /// `Err(handle)` when `ctx` ended first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::Pool;
    /// use std::sync::mpsc;
    ///
    /// let pool = Pool::new(1)?;
    /// let (release, gate) = mpsc::channel::<()>();
    /// let handle = pool.submit(move |_| { let _ = gate.recv(); 5 }).unwrap();
    /// let request = Context::new();
    /// request.cancel(); // the caller gave up
    /// let handle = handle.wait_ctx(&request).unwrap_err(); // the task runs on
    /// release.send(()).unwrap();
    /// assert_eq!(handle.wait_ctx(&Context::new()).ok(), Some(Ok(5)));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn wait_ctx(self, ctx: &Context) -> Result<Result<T, TaskError<E>>, Self> {
        let waiter = Arc::new(CtxWaiter {
            cancelled: AtomicBool::new(false),
            shared: Arc::clone(&self.shared),
        });
        let weak: Weak<CtxWaiter<T, E>> = Arc::downgrade(&waiter);
        ctx.subscribe(weak);
        loop {
            // Read outside the slot lock: a passed deadline cancels `ctx`
            // inside the read, and its wakers take that lock.
            if ctx.is_cancelled() {
                let taken = self.shared.slot.lock().result.take();
                return match taken {
                    Some(result) => Ok(result),
                    None => Err(self),
                };
            }
            if let Some(result) = self
                .shared
                .wait_until_or(ctx.deadline(), Some(&waiter.cancelled))
            {
                return Ok(result);
            }
        }
    }

    /// Takes the outcome if the task has finished; gives the handle back
    /// otherwise. Never blocks.
    ///
    /// # Errors
    ///
    /// `Err(handle)` while the task has not finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let handle = pool.submit(|_| 5).unwrap();
    /// pool.wait_idle()?;
    /// assert_eq!(handle.try_result().ok(), Some(Ok(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_result(self) -> Result<Result<T, TaskError<E>>, Self> {
        let taken = self.shared.slot.lock().result.take();
        match taken {
            Some(result) => Ok(result),
            None => Err(self),
        }
    }
}

/// A [`TaskHandle::wait_ctx`] waiter, woken by the caller's context.
struct CtxWaiter<T, E> {
    cancelled: AtomicBool,
    shared: Arc<Shared<T, E>>,
}

impl<T: Send, E: Send> Wake for CtxWaiter<T, E> {
    fn wake(&self) {
        // ORDERING: Release pairs with the Acquire in `wait_until_or`.
        self.cancelled.store(true, Ordering::Release);
        self.shared.wake();
    }
}

/// Delivers the outcome of a task cancelled before it ran: `Cancelled`, or
/// `ShutDown` when its context was cancelled by a shutdown.
pub(crate) fn deliver_cancelled<T: Send + 'static, E: Send + 'static>(shared: &Shared<T, E>) {
    shared.deliver(Err(cancelled_error(shared)));
}

/// [`deliver_cancelled`] off the workers (see [`Shared::deliver_off`]).
pub(crate) fn deliver_cancelled_off<T: Send + 'static, E: Send + 'static>(
    shared: &Arc<Shared<T, E>>,
    callbacks: Option<&Callbacks>,
) {
    shared.deliver_off(Err(cancelled_error(shared)), callbacks);
}

fn cancelled_error<T, E>(shared: &Shared<T, E>) -> TaskError<E> {
    match shared.ctx.reason() {
        Some(CancelReason::Shutdown) => TaskError::ShutDown,
        _ => TaskError::Cancelled,
    }
}

impl<T, E> fmt::Debug for TaskHandle<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("id", &self.shared.id)
            .field("status", &status_of(self.shared.state.load()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    fn shared(ctx: Context) -> Arc<Shared<u32, std::convert::Infallible>> {
        Shared::new(TaskId::from(1), 0, ctx, Arc::new(Tally::default()), None)
    }

    /// The start instant is for the completion record: read once, on the
    /// first attempt, and only when there is a callback to read it (a task
    /// without one costs no clock read).
    #[test]
    fn the_start_is_recorded_once_and_only_for_a_callback() {
        let manual = ManualClock::new();
        let plain = shared(Context::with_clock(manual.clock()));
        plain.mark_started();
        assert!(plain.started.get().is_none(), "no callback, no clock read");

        let callback: super::super::record::Callback<u32, std::convert::Infallible> =
            Box::new(|_| {});
        let with_callback = Shared::new(
            TaskId::from(2),
            0,
            Context::with_clock(manual.clock()),
            Arc::new(Tally::default()),
            Some(callback),
        );
        let first = manual.clock().now();
        with_callback.mark_started();
        manual.advance(Duration::from_secs(1));
        with_callback.mark_started();
        assert_eq!(
            with_callback.started.get(),
            Some(&first),
            "the first attempt's start"
        );
    }

    #[test]
    fn dropping_the_shared_state_removes_its_deadline_entry() {
        let manual = ManualClock::new();
        let timer = Arc::new(Timer::start(manual.clock(), "test-timer".into()).unwrap());
        let shared = shared(Context::new());
        let at = manual.clock().now() + Duration::from_secs(3600);
        let key = timer.schedule(at, Box::new(|| {})).unwrap();
        assert!(shared.deadline_entry.set((Arc::clone(&timer), key)).is_ok());
        assert_eq!(timer.pending(), 1);
        drop(shared);
        assert_eq!(timer.pending(), 0, "the entry outlived its task");
        timer.stop();
    }

    #[test]
    fn a_wait_that_times_out_leaves_no_waiter_counted() {
        let shared = shared(Context::new());
        let handle = TaskHandle::new(Arc::clone(&shared));
        // The timed waits run on a thread of their own, so that a wait that
        // ignores its timeout fails this test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        let waits = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let handle = handle
                    .wait_timeout(Duration::from_millis(1))
                    .expect_err("nothing was delivered");
                assert_eq!(shared.slot.lock().waiters, 0);
                let handle = handle
                    .wait_timeout(Duration::from_millis(1))
                    .expect_err("nothing was delivered");
                tx.send(handle).unwrap();
            })
        };
        let handle = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a 1 ms wait_timeout never returned");
        waits.join().unwrap();
        assert_eq!(shared.slot.lock().waiters, 0);
        assert!(shared.transition(QUEUED, RUNNING));
        assert_eq!(handle.status(), TaskStatus::Running);
        assert!(shared.transition(RUNNING, super::super::state::SUCCEEDED));
        shared.deliver(Ok(7));
        assert!(handle.is_finished());
        assert_eq!(
            handle.wait_timeout(Duration::from_secs(10)).ok(),
            Some(Ok(7))
        );
    }

    #[test]
    fn cancel_wins_only_from_a_state_that_has_not_run() {
        let shared = shared(Context::new());
        let handle = TaskHandle::new(Arc::clone(&shared));
        assert!(handle.cancel());
        assert!(!handle.cancel(), "a second cancel finds it terminal");
        assert_eq!(handle.status(), TaskStatus::Cancelled);
        assert_eq!(shared.tally.cancelled.load(Ordering::Relaxed), 1);
        assert!(handle.context().is_cancelled());
        assert_eq!(
            handle.wait_timeout(Duration::from_secs(10)).ok(),
            Some(Err(TaskError::Cancelled))
        );

        let shared = self::shared(Context::new());
        let handle = TaskHandle::new(Arc::clone(&shared));
        assert!(shared.transition(QUEUED, RUNNING));
        assert!(!handle.cancel(), "running: too late to prevent");
        assert!(
            handle.context().is_cancelled(),
            "but its context is cancelled"
        );
        assert_eq!(handle.status(), TaskStatus::Running);
        assert_eq!(shared.tally.cancelled.load(Ordering::Relaxed), 0);

        let shared = self::shared(Context::new());
        let handle = TaskHandle::new(Arc::clone(&shared));
        assert!(shared.transition(QUEUED, RUNNING));
        assert!(shared.transition(RUNNING, RETRYING));
        assert_eq!(handle.status(), TaskStatus::Retrying);
        assert!(
            handle.cancel(),
            "a backoff is cancelled before the next attempt"
        );
        assert_eq!(shared.tally.cancelled.load(Ordering::Relaxed), 1);
        assert_eq!(handle.try_result().ok(), Some(Err(TaskError::Cancelled)));
    }

    #[test]
    fn time_out_ends_a_task_in_any_live_state_once() {
        for before in [QUEUED, RUNNING, RETRYING] {
            let shared = shared(Context::new());
            if before != QUEUED {
                assert!(shared.transition(QUEUED, RUNNING));
            }
            if before == RETRYING {
                assert!(shared.transition(RUNNING, RETRYING));
            }
            let handle = TaskHandle::new(Arc::clone(&shared));
            shared.time_out(None);
            shared.time_out(None);
            assert_eq!(handle.status(), TaskStatus::TimedOut, "from {before}");
            assert_eq!(
                shared.tally.timed_out.load(Ordering::Relaxed),
                1,
                "from {before}"
            );
            assert_eq!(
                handle.context().reason(),
                Some(CancelReason::DeadlineExceeded)
            );
            assert_eq!(
                handle.try_result().ok(),
                Some(Err(TaskError::TimedOut)),
                "from {before}"
            );
        }
    }

    #[test]
    fn attempts_and_debug_show_the_shared_state() {
        let shared = shared(Context::new());
        let handle = TaskHandle::new(Arc::clone(&shared));
        assert_eq!(handle.attempts(), 0);
        shared.attempts.store(3, Ordering::Release);
        assert_eq!(handle.attempts(), 3);
        assert_eq!(handle.id(), TaskId::from(1));
        let debug = format!("{handle:?}");
        assert!(
            debug.contains("Queued") && debug.contains("TaskHandle"),
            "{debug}"
        );
    }

    /// A `wait_ctx` blocked on the system clock (no deadline, so no
    /// timed re-check) returns as soon as its context is cancelled: only
    /// the context's wake reaches it.
    #[test]
    fn cancelling_the_context_wakes_a_blocked_wait_ctx() {
        let shared = shared(Context::new());
        let handle = TaskHandle::new(Arc::clone(&shared));
        let request = Context::new();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let request = request.clone();
            std::thread::spawn(move || tx.send(handle.wait_ctx(&request).is_err()).unwrap())
        };
        let give_up = Instant::now() + Duration::from_secs(10);
        while shared.slot.lock().waiters == 0 && Instant::now() < give_up {
            std::thread::yield_now();
        }
        assert_eq!(shared.slot.lock().waiters, 1, "the waiter never blocked");
        request.cancel();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)),
            Ok(true),
            "cancelling the context never woke the waiter"
        );
        waiter.join().unwrap();
        assert_eq!(shared.slot.lock().waiters, 0);
    }

    #[test]
    fn advancing_a_manual_clock_wakes_a_waiter_past_its_deadline() {
        let manual = ManualClock::new();
        let shared = shared(Context::with_clock(manual.clock()));
        let handle = TaskHandle::new(Arc::clone(&shared));
        let deadline = manual.clock().now() + Duration::from_secs(5);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            tx.send(handle.wait_deadline(deadline).is_err()).unwrap();
        });
        let mut timed_out = None;
        for _ in 0..2_000 {
            manual.advance(Duration::from_secs(1));
            if let Ok(outcome) = rx.recv_timeout(Duration::from_millis(5)) {
                timed_out = Some(outcome);
                break;
            }
        }
        assert_eq!(timed_out, Some(true), "the clock never woke the waiter");
        waiter.join().unwrap();
    }
}
