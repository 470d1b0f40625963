// The type-erased unit of work a queue holds and a worker runs.
//
// A fire-and-forget task is a `SpawnJob<F>`: the closure and nothing else, so
// a queued `spawn` costs one allocation of the closure's size plus a 16-byte
// queue slot. A task with a handle is a `HandleJob<B, T, E>`: the body plus
// the `Arc` it shares with its handle.

use super::builder::BoxedBody;
use super::error::panic_message;
use super::handle::{
    CANCELLED, FAILED, PANICKED, QUEUED, RUNNING, SUCCEEDED, Shared, TIMED_OUT, deliver_cancelled,
};
use super::{TaskError, TaskId, TaskPanic};
use crate::context::{CancelReason, Context};
use crate::sync::Mutex;
use std::any::Any;
use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
}

impl Tally {
    #[inline]
    fn bump(counter: &AtomicU64) {
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

    pub(crate) fn add_to(&self, totals: &mut [u64; 6]) {
        // ORDERING: see `bump`.
        totals[0] += self.succeeded.load(Ordering::Relaxed);
        totals[1] += self.failed.load(Ordering::Relaxed);
        totals[2] += self.panicked.load(Ordering::Relaxed);
        totals[3] += self.cancelled.load(Ordering::Relaxed);
        totals[4] += self.timed_out.load(Ordering::Relaxed);
        totals[5] += self.late_results.load(Ordering::Relaxed);
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
}

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

/// A unit of work in a queue.
pub(crate) trait Job: Send {
    /// Runs the task on a worker and records its outcome in `env.tally`
    /// (or records nothing if it was cancelled earlier and already counted).
    fn run(self: Box<Self>, env: &RunEnv<'_>);

    /// Ends the task without running it, as the pool shuts down; records
    /// the cancellation in `tally` and returns true, unless it was already
    /// cancelled and counted.
    fn abandon(self: Box<Self>, tally: &Tally) -> bool;
}

/// A fire-and-forget task.
pub(crate) struct SpawnJob<F>(pub(crate) F);

impl<F> Job for SpawnJob<F>
where
    F: FnOnce(&Context) + Send,
{
    #[inline]
    fn run(self: Box<Self>, env: &RunEnv<'_>) {
        let body = self.0;
        match catch_unwind(AssertUnwindSafe(|| body(env.root))) {
            Ok(()) => Tally::bump(&env.tally.succeeded),
            Err(payload) => {
                env.report_panic(None, payload);
                Tally::bump(&env.tally.panicked);
            }
        }
    }

    fn abandon(self: Box<Self>, tally: &Tally) -> bool {
        let _ = catch_unwind(AssertUnwindSafe(move || drop(self)));
        tally.count_cancelled();
        true
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
        let HandleJob { body, shared } = *self;
        if let Some(reason) = shared.ctx.reason() {
            // Its context ended while it waited (a cancelled parent, a passed
            // deadline): it never runs.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(body)));
            let (to, counter, error) = match reason {
                CancelReason::DeadlineExceeded => {
                    (TIMED_OUT, &env.tally.timed_out, TaskError::TimedOut)
                }
                CancelReason::Shutdown => (CANCELLED, &env.tally.cancelled, TaskError::ShutDown),
                _ => (CANCELLED, &env.tally.cancelled, TaskError::Cancelled),
            };
            if shared.transition(QUEUED, to) {
                Tally::bump(counter);
                shared.deliver(Err(error));
            }
            return;
        }
        if !shared.transition(QUEUED, RUNNING) {
            // Cancelled while queued: counted and delivered by the canceller.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(body)));
            return;
        }
        *env.current.lock() = Some(shared.ctx.clone());
        let outcome = catch_unwind(AssertUnwindSafe(|| body.call(&shared.ctx)));
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
        if shared.transition(RUNNING, to) {
            Tally::bump(counter);
            shared.deliver(result);
        } else {
            // Timed out while running: the outcome is final; this value is
            // dropped here, and counted.
            Tally::bump(&env.tally.late_results);
            let _ = catch_unwind(AssertUnwindSafe(move || drop(result)));
        }
    }

    fn abandon(self: Box<Self>, tally: &Tally) -> bool {
        let HandleJob { body, shared } = *self;
        let _ = catch_unwind(AssertUnwindSafe(move || drop(body)));
        if shared.transition(QUEUED, CANCELLED) {
            shared.ctx.cancel_with(CancelReason::Shutdown);
            tally.count_cancelled();
            deliver_cancelled(&shared);
            return true;
        }
        false
    }
}
