// The type-erased unit of work a queue holds and a worker runs.
//
// A fire-and-forget task is a `SpawnBody<F>` (`small.rs`): the closure and
// nothing else. A task with a handle is a `HandleJob<B, T, E>`: the body plus
// the `Arc` it shares with its handle. Either travels inline in its 32-byte
// queue entry when small enough (`small::Queued`), else boxed as a `Job`.

use super::builder::{BoxedBody, RepeatBody};
use super::callbacks::Callbacks;
pub(crate) use super::env::{Job, PanicHandler, PoolHooks, RunEnv, Tally};
use super::error::panic_message;
use super::handle::{Shared, deliver_cancelled, deliver_cancelled_off};
use super::state::{CANCELLED, FAILED, PANICKED, QUEUED, RETRYING, RUNNING, SUCCEEDED, TIMED_OUT};
use super::{TaskError, TaskId, TaskPanic};
use crate::context::{CancelReason, Context};
use crate::retry::{Decision, Failure, JitterRng, RetryPolicy};
use std::any::Any;
use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

impl RunEnv<'_> {
    fn report_panic(&self, task: Option<TaskId>, payload: Box<dyn Any + Send>) -> String {
        let message = panic_message(&*payload);
        // Dropping a payload runs foreign code that may panic again.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        if let Some(handler) = self.panic_handler {
            let report = TaskPanic {
                task,
                message: message.clone(),
            };
            let _ = catch_unwind(AssertUnwindSafe(|| handler(&report)));
        }
        message
    }
}

/// Runs a fire-and-forget body with the pool's root context: a panic is
/// caught, reported and counted.
#[inline]
pub(crate) fn run_spawn<F: FnOnce(&Context)>(body: F, env: &RunEnv<'_>) {
    if env.tally.times.is_some() {
        run_spawn_timed(body, env);
        return;
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env.root)));
    spawn_ended(outcome, env);
}

/// [`run_spawn`] in a pool with metrics, out of line so that the plain
/// path stays as it was: the body's run time is measured.
#[inline(never)]
fn run_spawn_timed<F: FnOnce(&Context)>(body: F, env: &RunEnv<'_>) {
    let started = env.tally.run_started();
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env.root)));
    env.tally.run_ended(started);
    spawn_ended(outcome, env);
}

/// [`run_spawn`] for a fire-and-forget task of a pool with metrics
/// (`TimedSpawn`): its run time and latency, from one clock reading at the
/// end.
pub(crate) fn run_spawn_stamped<F: FnOnce(&Context)>(body: F, env: &RunEnv<'_>, submitted: u64) {
    let started = env.tally.run_started();
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env.root)));
    env.tally.spawn_ended(started, submitted);
    spawn_ended(outcome, env);
}

#[inline]
fn spawn_ended(outcome: std::thread::Result<()>, env: &RunEnv<'_>) {
    match outcome {
        Ok(()) => Tally::bump(&env.tally.succeeded),
        Err(payload) => {
            env.report_panic(None, payload);
            Tally::bump(&env.tally.panicked);
        }
    }
}

/// How a handle task's body is called; lets `submit` keep the caller's
/// closure type so a refused submission hands that very closure back.
pub(crate) trait Body<T, E>: Send {
    fn call(self, ctx: &Context) -> Result<T, E>;
}

/// A body returning a plain value.
pub(crate) struct Plain<F>(pub(crate) F);

impl<F, T> Body<T, Infallible> for Plain<F>
where
    F: FnOnce(&Context) -> T + Send,
{
    #[inline]
    fn call(self, ctx: &Context) -> Result<T, Infallible> {
        Ok((self.0)(ctx))
    }
}

/// A body returning a `Result`.
pub(crate) struct Fallible<F>(pub(crate) F);

impl<F, T, E> Body<T, E> for Fallible<F>
where
    F: FnOnce(&Context) -> Result<T, E> + Send,
{
    #[inline]
    fn call(self, ctx: &Context) -> Result<T, E> {
        (self.0)(ctx)
    }
}

impl<T, E> Body<T, E> for BoxedBody<T, E> {
    fn call(self, ctx: &Context) -> Result<T, E> {
        self(ctx)
    }
}

/// A task with a handle.
pub(crate) struct HandleJob<B, T, E> {
    pub(crate) body: B,
    pub(crate) shared: Arc<Shared<T, E>>,
}

impl<B, T, E> Job for HandleJob<B, T, E>
where
    B: Body<T, E>,
    T: Send + 'static,
    E: Send + 'static,
{
    fn run(self: Box<Self>, env: &RunEnv<'_>) {
        (*self).run_owned(env);
    }

    fn abandon(self: Box<Self>, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        (*self).abandon_owned(tally, callbacks)
    }

    fn will_not_run(&self) -> bool {
        queued_task_ended(&self.shared)
    }
}

impl<B, T, E> HandleJob<B, T, E>
where
    B: Body<T, E>,
    T: Send + 'static,
    E: Send + 'static,
{
    pub(crate) fn run_owned(self, env: &RunEnv<'_>) {
        let HandleJob { body, shared } = self;
        if ended_while_queued(&shared, env.tally) {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(body)));
            return;
        }
        if !shared.transition(QUEUED, RUNNING) {
            // Cancelled while queued: counted and delivered by the canceller.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(body)));
            return;
        }
        shared.attempts.store(1, Ordering::Release);
        shared.mark_started();
        *env.current.lock() = Some(shared.ctx.clone());
        let started = env.tally.run_started();
        let outcome = catch_unwind(AssertUnwindSafe(|| body.call(&shared.ctx)));
        env.tally.run_ended(started);
        *env.current.lock() = None;
        let (to, counter, result) = match outcome {
            Ok(Ok(value)) => (SUCCEEDED, &env.tally.succeeded, Ok(value)),
            Ok(Err(error)) => match shared.ctx.reason() {
                // An error after the context was cancelled is the cancellation
                // showing through (a cooperative body returning early).
                Some(CancelReason::Cancelled) => {
                    (CANCELLED, &env.tally.cancelled, Err(TaskError::Cancelled))
                }
                Some(CancelReason::Shutdown) => {
                    (CANCELLED, &env.tally.cancelled, Err(TaskError::ShutDown))
                }
                Some(CancelReason::DeadlineExceeded) => {
                    (TIMED_OUT, &env.tally.timed_out, Err(TaskError::TimedOut))
                }
                _ => (FAILED, &env.tally.failed, Err(TaskError::Failed(error))),
            },
            Err(payload) => {
                let message = env.report_panic(Some(shared.id), payload);
                (
                    PANICKED,
                    &env.tally.panicked,
                    Err(TaskError::Panicked(message)),
                )
            }
        };
        finish(&shared, env, to, counter, result);
    }

    pub(crate) fn abandon_owned(self, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        let HandleJob { body, shared } = self;
        let _ = catch_unwind(AssertUnwindSafe(move || drop(body)));
        abandon_shared(&shared, tally, callbacks)
    }
}

/// A task with a handle that names a resource: one allocation, like a plain
/// [`HandleJob`], with the resource's name beside it.
pub(crate) struct ResourceJob<B, T, E> {
    pub(crate) job: HandleJob<B, T, E>,
    pub(crate) resource: Arc<str>,
}

impl<B, T, E> Job for ResourceJob<B, T, E>
where
    B: Body<T, E>,
    T: Send + 'static,
    E: Send + 'static,
{
    fn run(self: Box<Self>, env: &RunEnv<'_>) {
        self.job.run_owned(env);
    }

    fn abandon(self: Box<Self>, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        self.job.abandon_owned(tally, callbacks)
    }

    fn resource(&self) -> Option<&Arc<str>> {
        Some(&self.resource)
    }

    fn will_not_run(&self) -> bool {
        queued_task_ended(&self.job.shared)
    }
}

/// Ends a queued task as a shutdown does: `QUEUED → CANCELLED`, counted,
/// its context cancelled, `ShutDown` delivered (its callback on the pool's
/// callback thread when `callbacks` is given). True when it was this call
/// that ended it.
fn abandon_shared<T: Send + 'static, E: Send + 'static>(
    shared: &Arc<Shared<T, E>>,
    tally: &Tally,
    callbacks: Option<&Callbacks>,
) -> bool {
    if shared.transition(QUEUED, CANCELLED) {
        shared.ctx.cancel_with(CancelReason::Shutdown);
        tally.count_cancelled();
        deliver_cancelled_off(shared, callbacks);
        return true;
    }
    false
}

/// True when a queued task has ended (cancelled, timed out) or its context
/// has, so that starting it would not run its body.
fn queued_task_ended<T: Send + 'static, E: Send + 'static>(shared: &Shared<T, E>) -> bool {
    shared.state() != QUEUED || shared.ctx.is_cancelled()
}

/// Before starting a queued task: if its context already ended (a cancelled
/// parent, a passed deadline, a shutdown), ends it without running; true
/// when it must not run.
fn ended_while_queued<T: Send + 'static, E: Send + 'static>(
    shared: &Shared<T, E>,
    tally: &Tally,
) -> bool {
    let Some(reason) = shared.ctx.reason() else {
        return false;
    };
    let (to, counter, error) = match reason {
        CancelReason::DeadlineExceeded => (TIMED_OUT, &tally.timed_out, TaskError::TimedOut),
        CancelReason::Shutdown => (CANCELLED, &tally.cancelled, TaskError::ShutDown),
        _ => (CANCELLED, &tally.cancelled, TaskError::Cancelled),
    };
    if shared.transition(QUEUED, to) {
        Tally::bump(counter);
        shared.deliver(Err(error));
    }
    true
}

/// The terminal transition after a body returned: count and deliver, or, if
/// the task timed out meanwhile, drop the value and count it as late.
fn finish<T: Send + 'static, E: Send + 'static>(
    shared: &Arc<Shared<T, E>>,
    env: &RunEnv<'_>,
    to: u8,
    counter: &AtomicU64,
    result: Result<T, TaskError<E>>,
) {
    if to != TIMED_OUT && shared.ctx.reason() == Some(CancelReason::DeadlineExceeded) {
        // Returned past the deadline, before the timer got to it: as late as
        // if the timer had been first.
        shared.time_out(None);
    }
    if shared.transition(RUNNING, to) {
        Tally::bump(counter);
        shared.deliver_then(result, env.tally, env.before_publish);
    } else {
        // Timed out while running: the outcome is final; this value is
        // dropped here, and counted.
        Tally::bump(&env.tally.late_results);
        let _ = catch_unwind(AssertUnwindSafe(move || drop(result)));
    }
}

/// A task whose body may run again: on a retryable failure it waits on the
/// pool's timer, then re-enters the queue with its priority.
pub(crate) struct RetryJob<T, E> {
    pub(crate) body: RepeatBody<T, E>,
    pub(crate) shared: Arc<Shared<T, E>>,
    pub(crate) policy: RetryPolicy,
    pub(crate) priority: i32,
    /// When the first attempt started (for the policy's elapsed-time limit).
    pub(crate) started: Option<Instant>,
    pub(crate) previous_delay: Duration,
    pub(crate) rng: JitterRng,
    /// The resource whose limit gates each attempt's start.
    pub(crate) resource: Option<Arc<str>>,
}

impl<T, E> Job for RetryJob<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    fn run(mut self: Box<Self>, env: &RunEnv<'_>) {
        let shared = Arc::clone(&self.shared);
        if ended_while_queued(&shared, env.tally) {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(self)));
            return;
        }
        if !shared.transition(QUEUED, RUNNING) {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(self)));
            return;
        }
        let clock = shared.ctx.clock().clone();
        let started = *self.started.get_or_insert_with(|| clock.now());
        shared.mark_started();
        // ORDERING: Release pairs with the Acquire in `TaskHandle::attempts`.
        let attempt = shared.attempts.fetch_add(1, Ordering::AcqRel) + 1;
        // A fresh child context per attempt; cancelling the task's context
        // reaches it.
        let ctx = shared.ctx.child();
        *env.current.lock() = Some(ctx.clone());
        let body = &mut self.body;
        let run_started = env.tally.run_started();
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&ctx)));
        env.tally.run_ended(run_started);
        *env.current.lock() = None;
        drop(ctx);
        let (failure_is_panic, result) = match outcome {
            Ok(Ok(value)) => {
                finish(&shared, env, SUCCEEDED, &env.tally.succeeded, Ok(value));
                return;
            }
            Ok(Err(error)) => (false, Err(error)),
            Err(payload) => (true, Ok(env.report_panic(Some(shared.id), payload))),
        };
        // Failed. Cancelled meanwhile: that is the outcome.
        if let Some(reason) = shared.ctx.reason() {
            let (to, counter, error) = match reason {
                CancelReason::DeadlineExceeded => {
                    (TIMED_OUT, &env.tally.timed_out, TaskError::TimedOut)
                }
                CancelReason::Shutdown => (CANCELLED, &env.tally.cancelled, TaskError::ShutDown),
                _ => (CANCELLED, &env.tally.cancelled, TaskError::Cancelled),
            };
            finish(&shared, env, to, counter, Err(error));
            return;
        }
        let decision = {
            let failure = match (&result, failure_is_panic) {
                (_, true) => Failure::Panic,
                (Err(error), false) => Failure::Error(error as &dyn std::any::Any),
                (Ok(_), false) => Failure::Panic,
            };
            let elapsed = clock.now().saturating_duration_since(started);
            self.policy.decide(
                attempt,
                &failure,
                elapsed,
                self.previous_delay,
                &mut self.rng,
            )
        };
        let delay = match decision {
            Decision::RetryAfter(delay) => delay,
            _ => {
                let (to, counter, error) = match result {
                    Err(error) => (FAILED, &env.tally.failed, TaskError::Failed(error)),
                    Ok(message) => (PANICKED, &env.tally.panicked, TaskError::Panicked(message)),
                };
                finish(&shared, env, to, counter, Err(error));
                return;
            }
        };
        drop(result);
        self.schedule_retry(env, delay, &clock);
    }

    fn abandon(self: Box<Self>, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        let shared = Arc::clone(&self.shared);
        let _ = catch_unwind(AssertUnwindSafe(move || drop(self)));
        abandon_shared(&shared, tally, callbacks)
    }

    fn resource(&self) -> Option<&Arc<str>> {
        self.resource.as_ref()
    }

    fn will_not_run(&self) -> bool {
        queued_task_ended(&self.shared)
    }
}

impl<T: Send + 'static, E: Send + 'static> RetryJob<T, E> {
    fn schedule_retry(
        mut self: Box<Self>,
        env: &RunEnv<'_>,
        delay: Duration,
        clock: &crate::time::Clock,
    ) {
        let shared = Arc::clone(&self.shared);
        let Some(hooks) = env.hooks.upgrade() else {
            // The pool is gone: nothing can run the retry.
            finish_shutdown(&shared, env.tally);
            return;
        };
        let Some(timer) = hooks.timer() else {
            finish_shutdown(&shared, env.tally);
            return;
        };
        // The backoff runs from the end of the attempt, read before the task
        // is seen `Retrying`: whoever observes that status (a test advancing
        // a manual clock, say) may move time on, and the retry must not be
        // pushed back by it.
        let now = clock.now();
        // A delay past what an `Instant` can hold waits "for ever" (until a
        // cancel or the shutdown) rather than not at all.
        let at = now
            .checked_add(delay)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now);
        if !shared.transition(RUNNING, RETRYING) {
            // Timed out during the attempt: final already.
            Tally::bump(&env.tally.late_results);
            return;
        }
        hooks.retry_started();
        Tally::bump(&env.tally.retries);
        self.previous_delay = delay;
        let mut pending = PendingRetry {
            job: Some(self),
            hooks: env.hooks.clone(),
        };
        let fire = Box::new(move || pending.fire());
        if timer.schedule(at, fire).is_none() {
            // The timer is stopped (the pool shut down): the closure, and the
            // `PendingRetry` in it, were dropped, which ended the task.
            debug_assert!(shared.state() != RETRYING);
        }
    }
}

/// A retry waiting on the timer. Fired, it re-queues the task; dropped
/// unfired (the timer stopped with the pool), it ends the task
/// `Cancelled`/`ShutDown` — so a pending retry is never lost.
struct PendingRetry<T: Send + 'static, E: Send + 'static> {
    job: Option<Box<RetryJob<T, E>>>,
    hooks: Weak<dyn PoolHooks>,
}

impl<T: Send + 'static, E: Send + 'static> PendingRetry<T, E> {
    fn fire(&mut self) {
        let Some(job) = self.job.take() else {
            return;
        };
        let shared = Arc::clone(&job.shared);
        if !shared.transition(RETRYING, QUEUED) {
            // Cancelled or timed out during the backoff; settled there.
            return;
        }
        let priority = job.priority;
        let Some(hooks) = self.hooks.upgrade() else {
            let _ = shared.transition(QUEUED, RETRYING);
            self.job = Some(job);
            return; // dropping `self` ends it
        };
        if let Err(job) = hooks.requeue(job, priority) {
            // On the timer thread: the callback runs on the callback thread.
            job.abandon(&shared.tally, Some(hooks.callbacks()));
            hooks.retry_settled();
        }
    }
}

impl<T: Send + 'static, E: Send + 'static> Drop for PendingRetry<T, E> {
    fn drop(&mut self) {
        let Some(job) = self.job.take() else {
            return;
        };
        let shared = Arc::clone(&job.shared);
        // The body is dropped here, before the delivery, as everywhere.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(job)));
        if shared.transition(RETRYING, CANCELLED) {
            shared.ctx.cancel_with(CancelReason::Shutdown);
            shared.tally.count_cancelled();
            // Dropped by a stopping timer, on the thread that stops it: the
            // callback runs on the pool's callback thread, if the pool is
            // still there.
            match self.hooks.upgrade() {
                Some(hooks) => {
                    hooks.retry_settled();
                    deliver_cancelled_off(&shared, Some(hooks.callbacks()));
                }
                None => deliver_cancelled(&shared),
            }
        }
    }
}

/// Ends a running task that cannot be retried because its pool is gone.
fn finish_shutdown<T: Send + 'static, E: Send + 'static>(shared: &Shared<T, E>, tally: &Tally) {
    if shared.transition(RUNNING, CANCELLED) {
        shared.ctx.cancel_with(CancelReason::Shutdown);
        Tally::bump(&tally.cancelled);
        deliver_cancelled(shared);
    }
}
