//! Controlling a running pool: resizing, statistics, waiting for idle, and
//! the three ways to stop (close, shutdown, shutdown_now).

use super::error::{ResizeError, ShutdownError, ShutdownReport, WaitIdleError};
use super::worker::{self, is_worker_of};
use super::{Inner, Pool, State};
use crate::context::{CancelReason, Context};
use crate::sync::MutexGuard;
use crate::sync::Wake;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A snapshot of a pool's workers and counters, from [`Pool::stats`].
///
/// At rest (nothing queued or running, e.g. after [`Pool::wait_idle`]) the
/// counters reconcile exactly:
/// `submitted = succeeded + failed + panicked + cancelled + timed_out + queued + busy + retrying`.
/// A snapshot taken while tasks finish may briefly count a finishing task
/// both as busy and as finished; a task that timed out while running counts
/// as timed out at once and keeps its worker busy until its body returns.
///
/// # Examples
///
/// ```
/// let pool = gosling::Pool::new(2)?;
/// for i in 0..10 {
///     pool.spawn(move |_| if i == 3 { panic!("three") }).unwrap();
/// }
/// pool.wait_idle();
/// let s = pool.stats();
/// assert_eq!((s.submitted, s.succeeded, s.panicked), (10, 9, 1));
/// assert_eq!(s.submitted, s.succeeded + s.failed + s.panicked + s.cancelled + s.timed_out + s.queued as u64 + s.busy as u64);
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Live worker threads.
    pub workers: usize,
    /// Workers running a task.
    pub busy: usize,
    /// Workers not running a task.
    pub idle: usize,
    /// Accepted tasks waiting to start (cancelled ones excluded), including
    /// those a worker has taken from the queue in a batch and not started.
    pub queued: usize,
    /// Tasks accepted since the pool started.
    pub submitted: u64,
    /// Tasks that returned a value.
    pub succeeded: u64,
    /// Tasks that returned an error.
    pub failed: u64,
    /// Tasks that panicked.
    pub panicked: u64,
    /// Tasks cancelled (through handles or by shutdown).
    pub cancelled: u64,
    /// Tasks that passed their deadline.
    pub timed_out: u64,
    /// Submissions refused (closed pool, full queue, timeout).
    pub rejected: u64,
    /// Values returned by bodies after their task had timed out: dropped,
    /// never delivered.
    pub late_results: u64,
    /// Failed attempts that were scheduled for another try.
    pub retries: u64,
    /// Tasks waiting for a retry on the pool's timer (neither queued nor
    /// busy; counted in [`in_flight`](Stats::in_flight)).
    pub retrying: usize,
    /// Time workers spent busy, summed over workers.
    pub busy_time: Duration,
    /// Workers waiting right now for a permit from the pool's rate limiter.
    pub waiting_for_permit: usize,
    /// Queued tasks waiting for their resource's permit
    /// ([`Builder::resource_limit`](crate::Builder::resource_limit)); part
    /// of [`queued`](Stats::queued). A task cancelled while it waits is
    /// counted here until its turn comes.
    pub waiting_for_resource: usize,
    /// Task starts that waited for their resource's permit
    /// ([`Builder::resource_limit`](crate::Builder::resource_limit)).
    pub resource_delayed_starts: u64,
    /// How long those starts waited, summed over tasks (on the pool's
    /// clock): from the task's first refusal, or from when it queued behind
    /// its resource's waiting tasks, to its start. No worker waits with it.
    pub resource_delay: Duration,
    /// Task starts that waited for the pool's rate limiter
    /// ([`Builder::rate_limit`](crate::Builder::rate_limit)).
    pub delayed_starts: u64,
    /// Worker time spent waiting for permits before those starts, summed
    /// over workers (on the limiter's clock): several workers waiting for
    /// the same permit each count their wait.
    pub start_delay: Duration,
}

impl Stats {
    /// Tasks accepted and not yet finished (queued or running).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// pool.wait_idle();
    /// assert_eq!(pool.stats().in_flight(), 0);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn in_flight(&self) -> u64 {
        self.submitted.saturating_sub(self.finished())
    }

    /// Tasks in a terminal state.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// pool.submit(|_| ()).unwrap().wait().unwrap();
    /// assert_eq!(pool.stats().finished(), 1);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn finished(&self) -> u64 {
        self.succeeded + self.failed + self.panicked + self.cancelled + self.timed_out
    }
}

impl Inner {
    /// See [`Pool::stats`]; also what the pool's metrics read.
    pub(crate) fn stats(&self) -> Stats {
        let inner = self;
        let state = inner.state.lock();
        let mut totals = state.retired;
        let mut busy_nanos = state.retired_busy_nanos;
        let busy = running_now(&state);
        for entry in &state.workers {
            entry.slot.tally.add_to(&mut totals);
            busy_nanos = busy_nanos.saturating_add(entry.slot.busy_nanos());
        }
        inner.tally.add_to(&mut totals);
        let [
            succeeded,
            failed,
            panicked,
            cancelled,
            timed_out,
            late_results,
            retries,
        ] = totals;
        let finished = succeeded + failed + panicked + cancelled + timed_out;
        let submitted = state.submitted();
        let queued = submitted
            .saturating_sub(finished)
            .saturating_sub(busy as u64)
            .saturating_sub(state.retrying as u64);
        Stats {
            workers: state.live,
            busy,
            idle: state.live.saturating_sub(busy),
            queued: usize::try_from(queued).unwrap_or(usize::MAX),
            submitted,
            succeeded,
            failed,
            panicked,
            cancelled,
            timed_out,
            rejected: state.rejected,
            late_results,
            retries,
            retrying: state.retrying,
            busy_time: Duration::from_nanos(busy_nanos),
            waiting_for_permit: state.limit_waiters,
            waiting_for_resource: state.gates.parked,
            resource_delayed_starts: state.gates.delayed,
            resource_delay: state.gates.delay,
            delayed_starts: state.delayed_starts,
            start_delay: state.start_delay,
        }
    }
}

impl Pool {
    /// Counters and worker figures, read under the pool's lock.
    ///
    /// # Examples
    ///
    /// See [`Stats`].
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Changes the number of workers while tasks run. Growing starts threads
    /// at once; shrinking lets surplus workers exit as they become free —
    /// a running task is never interrupted.
    ///
    /// # Errors
    ///
    /// [`ResizeError`]: zero workers, a closed pool, or a thread the
    /// operating system refused.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// pool.resize(4).unwrap();
    /// assert_eq!(pool.stats().workers, 4);
    /// pool.resize(2).unwrap(); // the two surplus workers exit when idle
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn resize(&self, workers: usize) -> Result<(), ResizeError> {
        if workers == 0 {
            return Err(ResizeError::ZeroWorkers);
        }
        let inner = &self.inner;
        let mut state = inner.state.lock();
        if state.closed {
            return Err(ResizeError::Closed);
        }
        state.target = workers;
        while state.live < state.target {
            state.live += 1;
            if let Err(e) = worker::spawn_worker(inner, &mut state) {
                state.live -= 1;
                state.target = state.live;
                return Err(ResizeError::Spawn(e));
            }
        }
        if state.live > state.target && (state.sleeping > 0 || state.limit_waiters > 0) {
            inner.work_cv.notify_all();
        }
        Ok(())
    }

    /// Blocks until nothing is queued, running or waiting for a retry.
    ///
    /// # Errors
    ///
    /// [`WaitIdleError::OwnWorker`] at once when called on one of this
    /// pool's own worker threads — from one of its tasks, or a completion
    /// callback run there: the pool cannot be idle while the caller runs,
    /// so the wait could never end. (To wait for tasks a task submitted,
    /// wait on their handles or use [`Pool::scope`]: those waits run queued
    /// work meanwhile.)
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, WaitIdleError};
    ///
    /// let pool = Pool::new(2)?;
    /// for _ in 0..50 { pool.spawn(|_| ())?; }
    /// pool.wait_idle()?;
    /// assert_eq!(pool.stats().succeeded, 50);
    ///
    /// let pool = std::sync::Arc::new(pool);
    /// let inside = pool.clone();
    /// let from_a_task = pool.submit(move |_| inside.wait_idle())?;
    /// assert_eq!(from_a_task.wait()?, Err(WaitIdleError::OwnWorker));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_idle(&self) -> Result<(), WaitIdleError> {
        self.wait_idle_until(None).map(drop)
    }

    /// Like [`wait_idle`](Pool::wait_idle), for at most `timeout` (real
    /// time): `Ok(true)` when the pool became idle, `Ok(false)` when the
    /// time ran out first.
    ///
    /// # Errors
    ///
    /// [`WaitIdleError::OwnWorker`], as for [`wait_idle`](Pool::wait_idle).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// assert!(pool.wait_idle_timeout(Duration::from_secs(1))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_idle_timeout(&self, timeout: Duration) -> Result<bool, WaitIdleError> {
        self.wait_idle_until(Instant::now().checked_add(timeout))
    }

    fn wait_idle_until(&self, deadline: Option<Instant>) -> Result<bool, WaitIdleError> {
        let inner = &self.inner;
        if is_worker_of(inner) {
            return Err(WaitIdleError::OwnWorker);
        }
        let idle = |state: &State| {
            (state.nothing_queued() && state.running == 0 && state.retrying == 0) || state.live == 0
        };
        let mut state = inner.state.lock();
        loop {
            if idle(&state) {
                return Ok(true);
            }
            let timed_out;
            (state, timed_out) = wait_real(inner, state, deadline);
            if timed_out {
                return Ok(idle(&state));
            }
        }
    }

    /// Stops accepting tasks; queued and running tasks go on. Idempotent,
    /// returns at once. Submitters blocked on a full queue are released with
    /// their tasks handed back ([`SubmitErrorKind::Closed`](crate::SubmitErrorKind::Closed)).
    /// Workers exit once the queue is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// pool.close();
    /// pool.close(); // idempotent
    /// assert!(pool.is_closed());
    /// assert!(pool.spawn(|_| ()).is_err());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn close(&self) {
        let inner = &self.inner;
        let state = inner.state.lock();
        close_locked(inner, state);
    }

    /// True once [`close`](Pool::close) (or a shutdown) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// assert!(!pool.is_closed());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.state.lock().closed
    }

    /// Closes the pool, lets queued and running tasks finish, and joins the
    /// workers. If `timeout` (real time) passes first, it cancels what is
    /// left — queued tasks end [`TaskError::ShutDown`](crate::TaskError::ShutDown)
    /// without running, running tasks see their context cancelled with
    /// [`CancelReason::Shutdown`] — and returns at once with a report.
    ///
    /// It always returns within `timeout` plus a few milliseconds, even if a
    /// task never finishes: a thread cannot be killed, so such a task keeps
    /// its worker thread (detached) until it returns; the report counts it.
    /// Idempotent and safe to call from several threads at once; called from
    /// one of the pool's own tasks, it does not wait for that task.
    ///
    /// # Errors
    ///
    /// [`ShutdownError`] with the report when the timeout passed with work
    /// left.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(2)?;
    /// let handle = pool.submit(|_| 1).unwrap();
    /// pool.shutdown(Duration::from_secs(5)).unwrap();
    /// assert_eq!(handle.wait(), Ok(1)); // queued work was drained, not dropped
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn shutdown(&self, timeout: Duration) -> Result<(), ShutdownError> {
        let inner = &self.inner;
        let deadline = Instant::now().checked_add(timeout);
        let own = usize::from(is_worker_of(inner));
        let mut state = inner.state.lock();
        state = close_locked_keep(inner, state);
        loop {
            if state.threads <= own {
                break;
            }
            let timed_out;
            (state, timed_out) = wait_real(inner, state, deadline);
            if timed_out && state.threads > own {
                let mut report = stop_now(inner, state, own);
                // The bound has passed: the callbacks of what it cancelled
                // run on the callback thread, after this returns.
                report.callbacks_pending = finish_callbacks(inner, Some(Instant::now()), true);
                return Err(ShutdownError { report });
            }
        }
        let threads = std::mem::take(&mut state.exited);
        drop(state);
        for thread in threads {
            let _ = thread.join();
        }
        if own == 0 {
            if let Some(timer) = inner.timer.get() {
                timer.stop();
            }
        }
        // Callbacks of tasks that timed out, or of retries the stopped timer
        // ended, may still run on the callback thread: waited for within
        // the same bound.
        let callbacks_pending = finish_callbacks(inner, deadline, own == 0);
        if callbacks_pending.is_empty() {
            Ok(())
        } else {
            Err(ShutdownError {
                report: ShutdownReport {
                    callbacks_pending,
                    ..ShutdownReport::default()
                },
            })
        }
    }

    /// The report of the stop made because the pool's context
    /// ([`Builder::context`](crate::Builder::context)) ended; `None` while
    /// it has not (or the pool has none).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// let app = Context::new();
    /// let pool = gosling::Pool::builder().workers(1).context(&app).build()?;
    /// assert!(pool.context_report().is_none());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn context_report(&self) -> Option<ShutdownReport> {
        self.inner.state.lock().context_report.clone()
    }

    /// Closes the pool, cancels every queued task (they end
    /// [`TaskError::ShutDown`](crate::TaskError::ShutDown) without running),
    /// every task waiting for a retry, and the contexts of running tasks;
    /// stops the pool's timer (scheduled jobs and waits on it end at once);
    /// returns with what it cancelled and what is still running. Idempotent.
    ///
    /// The completion callbacks of the cancelled tasks run on the pool's
    /// callback thread, not on the caller's; this waits for them for at most
    /// the pool's [`shutdown_timeout`](crate::Builder::shutdown_timeout), and
    /// the report names those that had not finished
    /// ([`ShutdownReport::callbacks_pending`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, TaskError};
    /// let pool = Pool::new(1)?;
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// pool.spawn(move |_| { let _ = gate.recv(); }).unwrap();
    /// # while pool.stats().busy == 0 { std::thread::yield_now(); }
    /// let queued = pool.submit(|_| 1).unwrap();
    /// let report = pool.shutdown_now();
    /// assert_eq!(report.cancelled(), 1);
    /// assert_eq!(queued.wait(), Err(TaskError::ShutDown));
    /// release.send(()).unwrap();
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn shutdown_now(&self) -> ShutdownReport {
        let inner = &self.inner;
        let own = usize::from(is_worker_of(inner));
        let state = inner.state.lock();
        let state = close_locked_keep(inner, state);
        let mut report = stop_now(inner, state, own);
        let deadline = Instant::now().checked_add(inner.config.shutdown_timeout);
        report.callbacks_pending = finish_callbacks(inner, deadline, true);
        report
    }
}

/// Waits (real time, until `deadline`) for the callback thread to run what
/// it was given, then, if `stop` (the timer is stopped: nothing will hand it
/// more), stops it; returns the tasks whose callbacks had not finished.
/// Later deliveries (a detached worker's task finishing, say) run where
/// their outcome is decided.
fn finish_callbacks(inner: &Inner, deadline: Option<Instant>, stop: bool) -> Vec<crate::TaskId> {
    let pending = inner.callbacks.wait_until(deadline);
    if stop {
        inner.callbacks.stop();
    }
    pending
}

/// Stops the pool when `parent` (its [`Builder::context`](crate::Builder::context))
/// ends: a waker on `parent` hands the stop to the callback thread (the
/// cancelling thread may hold a lock the stop takes: a passed deadline
/// cancels inside whatever read noticed it), and a timer entry at
/// `parent`'s deadline makes sure that deadline is noticed.
pub(super) fn watch_context(inner: &Arc<Inner>, parent: &Context) {
    let watcher = Arc::new(ContextWatch {
        inner: Arc::downgrade(inner),
    });
    let weak: Weak<ContextWatch> = Arc::downgrade(&watcher);
    parent.subscribe(weak);
    // The subscription holds it weakly; the pool keeps it.
    *inner.context_watch.lock() = Some(watcher);
    if parent.is_cancelled() {
        // Ended before the subscription: nobody will wake us.
        stop_by_context(inner);
        return;
    }
    if let (Some(at), Some(timer)) = (parent.deadline(), Inner::timer(inner)) {
        let parent = parent.clone();
        // Reading the context past its deadline cancels it (and so wakes
        // the watcher); no user code runs here.
        let _ = timer.schedule(
            at,
            Box::new(move || {
                let _ = parent.is_cancelled();
            }),
        );
    }
}

pub(crate) struct ContextWatch {
    inner: Weak<Inner>,
}

impl Wake for ContextWatch {
    fn wake(&self) {
        if let Some(inner) = self.inner.upgrade() {
            let for_stop = Arc::clone(&inner);
            inner
                .callbacks
                .run_internal(Box::new(move || stop_by_context(&for_stop)));
        }
    }
}

fn stop_by_context(inner: &Inner) {
    let state = inner.state.lock();
    if state.closed && state.context_report.is_some() {
        return;
    }
    let state = close_locked_keep(inner, state);
    let report = stop_now(inner, state, 0);
    inner.state.lock().context_report = Some(report);
}

/// Workers running a task body right now.
fn running_now(state: &State) -> usize {
    state
        .workers
        .iter()
        // ORDERING: statistics only.
        .filter(|w| w.slot.running_now.load(Ordering::Relaxed))
        .count()
}

/// Waits on `idle_cv` until notified or `deadline` (real time); the flag is
/// true once the deadline has passed.
fn wait_real<'a>(
    inner: &'a Inner,
    mut state: MutexGuard<'a, State>,
    deadline: Option<Instant>,
) -> (MutexGuard<'a, State>, bool) {
    state.idle_waiters += 1;
    let timed_out = match deadline {
        None => {
            state = inner.idle_cv.wait(state);
            false
        }
        Some(deadline) => {
            let now = Instant::now();
            if now >= deadline {
                true
            } else {
                (state, _) = inner.idle_cv.wait_timeout(state, deadline - now);
                Instant::now() >= deadline
            }
        }
    };
    state.idle_waiters -= 1;
    (state, timed_out)
}

fn close_locked(inner: &Inner, state: MutexGuard<'_, State>) {
    drop(close_locked_keep(inner, state));
}

fn close_locked_keep<'a>(
    inner: &'a Inner,
    mut state: MutexGuard<'a, State>,
) -> MutexGuard<'a, State> {
    if !state.closed {
        state.closed = true;
        if let Some(injector) = &inner.injector {
            // Under the lock, with `closed`: a batch (which holds the lock)
            // goes in whole or not at all.
            injector.close();
        }
        // ORDERING: a hint for spinners; `State::closed` is the truth.
        inner.sleep.publish_closed();
        if state.room_waiters > 0 {
            inner.room_cv.notify_all();
        }
        if state.sleeping > 0 || state.limit_waiters > 0 {
            inner.work_cv.notify_all();
        }
    }
    state
}

/// Cancels everything queued and the contexts of everything running;
/// returns what it cancelled and what still runs (not counting the caller's
/// own task, `own`).
fn stop_now(inner: &Inner, mut state: MutexGuard<'_, State>, own: usize) -> ShutdownReport {
    let mut queued = state.queue.drain_all();
    // Tasks workers took in a batch and have not started: they will never
    // start, and no longer count as running.
    let mut unstarted = 0;
    for entry in &state.workers {
        let batch = entry.slot.take_unstarted();
        unstarted += batch.len();
        queued.extend(batch);
    }
    state.running -= unstarted;
    if let Some(intake) = &mut state.intake {
        // Closed already: what it holds now is all it will ever hold.
        queued.append(&mut intake.drain());
    }
    queued.append(&mut state.gates.drain_all());

    state.hint_nonzero = false;
    inner.sleep.publish_len(0);
    let running: Vec<_> = state
        .workers
        .iter()
        .flat_map(|w| {
            let mut contexts = w.slot.waiting.lock().clone();
            contexts.extend(w.slot.current.lock().clone());
            contexts
        })
        .collect();
    let still_running = running_now(&state).saturating_sub(own);
    // Tasks waiting on the timer for a retry: stopping the timer ends them
    // (a retry that fires first meets a closed queue and ends the same way).
    let retrying = state.retrying;
    drop(state);
    inner.root.cancel_with(CancelReason::Shutdown);
    for ctx in running {
        ctx.cancel_with(CancelReason::Shutdown);
    }
    let mut cancelled = retrying;
    for job in queued {
        cancelled += usize::from(job.abandon(&inner.tally, Some(&inner.callbacks)));
    }
    // Nothing is left for the timer to do: its entries (retry backoffs,
    // deadlines of cancelled tasks, scheduled jobs, resource gates) are
    // dropped now rather than at their instants, so whatever waits on them
    // learns of the shutdown at once.
    if let Some(timer) = inner.timer.get() {
        timer.stop();
    }
    let state = inner.state.lock();
    if state.idle_waiters > 0 {
        inner.idle_cv.notify_all();
    }
    drop(state);
    ShutdownReport {
        cancelled,
        still_running,
        callbacks_pending: Vec::new(),
    }
}
