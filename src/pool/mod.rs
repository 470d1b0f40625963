//! Pool: worker threads that take tasks from one queue and run them.
//!
//! `mod.rs` is the facade: [`Pool`] and its public methods, each a few
//! lines over the machinery in the files beside it.
//!
//! - `inner.rs`: `Inner`, what the handle, workers, timer entries and task
//!   handles share, and how a pool is put together; `Settings`, the
//!   settings fixed at build time.
//! - `state.rs`: `State`, everything the one lock guards.
//! - `submit.rs`: submission — one core per kind (spawn, handle, task,
//!   batch), each taking how long it may wait for room.
//! - `worker.rs`: the worker loop (gate, take, run, idle, retire).
//! - `sleep.rs`: the spin/sleep/wake protocol both workers and submitters
//!   follow.
//! - `resource.rs`: per-resource limits (tasks waiting for their
//!   resource's permit step aside).
//! - `control.rs`: resizing, statistics, waiting for idle, and shutdown.
//! - `scope.rs`: [`Scope`], tasks that borrow from the caller's stack.
//! - `builder.rs`: [`Builder`], the settings.
//! - `link.rs`: the scheduler's weak link to a pool.
//! - `metrics.rs`: the pool as a source of metrics (`Builder::metrics`).
//! - `error.rs`: the errors of each operation.
//!
//! One mutex (`Inner::state`) guards the queue and every count that must
//! agree with it; task bodies never run under it. See `README.md` beside
//! this file for the sleep/wake and shutdown protocols.
//!
//! Imports: the queue, the task layer, contexts, time, sync, limiters,
//! retry policies and `observe` (metrics); nothing above the pool (the scheduler and groups import
//! it, not the other way round).

mod builder;
mod control;
mod error;
mod help;
mod inner;
mod link;
mod metrics;
mod resource;
mod scope;
mod sleep;
mod state;
mod submit;
mod worker;

pub use builder::{Builder, DEFAULT_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT};
pub use control::Stats;
pub use error::{
    BuildError, ResizeError, ShutdownError, ShutdownReport, SubmitError, SubmitErrorKind,
    SubmitTimeoutError, SubmitWaitError, TrySubmitError, WaitIdleError,
};
pub(crate) use inner::Inner;
pub(crate) use link::PoolLink;
pub use scope::Scope;
pub(crate) use state::State;

use crate::context::Context;
use crate::task::job::{Fallible, Plain};
use crate::task::{Task, TaskHandle};
use crate::time::Clock;
use error::BuildErrorKind;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use submit::{Wait, submit_task_with};

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
        let pool = Pool {
            inner: Inner::new(builder, workers)?,
        };
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
        drop(state);
        Ok(pool)
    }

    /// How long a `_timeout` form may wait for room.
    fn within(&self, timeout: Duration) -> Wait {
        Wait::timeout(&self.inner.clock, timeout)
    }

    /// True when the calling thread is one of this pool's workers: a waiter
    /// above the pool (an error group) must not block it on work queued
    /// behind it.
    pub(crate) fn is_current_worker(&self) -> bool {
        worker::is_worker_of(&self.inner)
    }

    // Fire-and-forget: `spawn`, `try_spawn`, `spawn_timeout`, `spawn_deadline`.

    /// Queues a fire-and-forget task. It receives the pool's context, which
    /// is cancelled when the pool stops. This is the fast path: no handle,
    /// and no allocation for a closure of up to 24 bytes, which travels in
    /// the queue entry itself (unless the pool has a
    /// [`task_timeout`](Builder::task_timeout), which needs per-task
    /// state). In a FIFO pool without a rate limit or resource limits it
    /// takes no lock either, unless a worker must be woken.
    ///
    /// A full queue is met according to the pool's [`FullPolicy`](crate::FullPolicy).
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
    /// pool.wait_idle()?;
    /// assert_eq!(hits.load(Ordering::Relaxed), 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn spawn<F>(&self, task: F) -> Result<(), SubmitError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        self.inner.spawn(task, Wait::Policy)
    }

    /// Like [`spawn`](Pool::spawn), but never waits: a full queue refuses at
    /// once, whatever the pool's [`FullPolicy`](crate::FullPolicy). For code that must not
    /// block — a task of this pool queueing more work, a callback, a
    /// signal handler's thread.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError`] (`Full` or `Closed`) holding `task`.
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
    pub fn try_spawn<F>(&self, task: F) -> Result<(), TrySubmitError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        self.inner
            .spawn(task, Wait::Never)
            .map_err(SubmitError::into_try)
    }

    /// Like [`spawn`](Pool::spawn), waiting at most `timeout` for room
    /// whatever the pool's [`FullPolicy`](crate::FullPolicy).
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError`] (`Timeout` or `Closed`) holding `task`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// pool.spawn_timeout(|_| println!("queued"), Duration::from_millis(100))?;
    /// pool.wait_idle()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn spawn_timeout<F>(&self, task: F, timeout: Duration) -> Result<(), SubmitTimeoutError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        self.inner
            .spawn(task, self.within(timeout))
            .map_err(SubmitError::into_timeout)
    }

    /// Like [`spawn`](Pool::spawn), waiting for room until `deadline` (on
    /// the pool's clock).
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError`] (`Timeout` or `Closed`) holding `task`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let pool = gosling::Pool::new(1)?;
    /// pool.spawn_deadline(|_| (), Instant::now() + Duration::from_millis(100))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn spawn_deadline<F>(&self, task: F, deadline: Instant) -> Result<(), SubmitTimeoutError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        self.inner
            .spawn(task, Wait::Until(deadline))
            .map_err(SubmitError::into_timeout)
    }

    // With a handle: `submit`, `try_submit`, `submit_timeout`,
    // `submit_deadline` (and `submit_fallible`).

    /// Queues a task and returns a handle to its result. A full queue is met
    /// according to the pool's [`FullPolicy`](crate::FullPolicy).
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
    /// For the other waiting forms, submit a
    /// [`Task::fallible`] with [`try_submit_task`](Pool::try_submit_task),
    /// [`submit_task_timeout`](Pool::submit_task_timeout) or
    /// [`submit_task_deadline`](Pool::submit_task_deadline).
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
    /// [`TrySubmitError`] (`Full` or `Closed`) holding `task`.
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
    pub fn try_submit<F, T>(&self, task: F) -> Result<TaskHandle<T>, TrySubmitError<F>>
    where
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_body(Plain(task), Wait::Never)
            .map_err(|e| e.map(|b| b.0).into_try())
    }

    /// Like [`submit`](Pool::submit), waiting at most `timeout` for room
    /// whatever the pool's [`FullPolicy`](crate::FullPolicy).
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError`] (`Timeout` or `Closed`) holding `task`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// let handle = pool.submit_timeout(|_| 1, Duration::from_millis(100))?;
    /// assert_eq!(handle.wait(), Ok(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_timeout<F, T>(
        &self,
        task: F,
        timeout: Duration,
    ) -> Result<TaskHandle<T>, SubmitTimeoutError<F>>
    where
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_body(Plain(task), self.within(timeout))
            .map_err(|e| e.map(|b| b.0).into_timeout())
    }

    /// Like [`submit`](Pool::submit), waiting for room until `deadline` (on
    /// the pool's clock).
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError`] (`Timeout` or `Closed`) holding `task`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let pool = gosling::Pool::new(1)?;
    /// let deadline = Instant::now() + Duration::from_millis(100);
    /// let handle = pool.submit_deadline(|_| 1, deadline)?;
    /// assert_eq!(handle.wait(), Ok(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_deadline<F, T>(
        &self,
        task: F,
        deadline: Instant,
    ) -> Result<TaskHandle<T>, SubmitTimeoutError<F>>
    where
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_body(Plain(task), Wait::Until(deadline))
            .map_err(|e| e.map(|b| b.0).into_timeout())
    }

    // A built `Task`: `submit_task`, `try_submit_task`,
    // `submit_task_timeout`, `submit_task_deadline` (and `submit_wait`).

    /// Queues a [`Task`] with its id, priority and completion callback. A full
    /// queue is met according to the pool's [`FullPolicy`](crate::FullPolicy).
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

    /// Like [`submit_task`](Pool::submit_task), but never waits: a full
    /// queue refuses at once, whatever the pool's policy.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError`] (`Full` or `Closed`) holding the task, callback
    /// included.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task};
    /// let pool = Pool::new(1)?;
    /// let handle = pool.try_submit_task(Task::new(|_| 7).priority(3))?;
    /// assert_eq!(handle.wait(), Ok(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_submit_task<T, E>(
        &self,
        task: Task<T, E>,
    ) -> Result<TaskHandle<T, E>, TrySubmitError<Task<T, E>>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        submit_task_with(&self.inner, task, Wait::Never).map_err(SubmitError::into_try)
    }

    /// Like [`submit_task`](Pool::submit_task), waiting at most `timeout`
    /// for room whatever the pool's [`FullPolicy`](crate::FullPolicy).
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError`] (`Timeout` or `Closed`) holding the task,
    /// callback included.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task};
    /// use std::time::Duration;
    /// let pool = Pool::new(1)?;
    /// let handle = pool.submit_task_timeout(Task::new(|_| 7), Duration::from_millis(100))?;
    /// assert_eq!(handle.wait(), Ok(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_task_timeout<T, E>(
        &self,
        task: Task<T, E>,
        timeout: Duration,
    ) -> Result<TaskHandle<T, E>, SubmitTimeoutError<Task<T, E>>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        submit_task_with(&self.inner, task, self.within(timeout)).map_err(SubmitError::into_timeout)
    }

    /// Like [`submit_task`](Pool::submit_task), waiting for room until
    /// `deadline` (on the pool's clock).
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError`] (`Timeout` or `Closed`) holding the task,
    /// callback included.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task};
    /// use std::time::{Duration, Instant};
    /// let pool = Pool::new(1)?;
    /// let deadline = Instant::now() + Duration::from_millis(100);
    /// let handle = pool.submit_task_deadline(Task::new(|_| 7), deadline)?;
    /// assert_eq!(handle.wait(), Ok(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_task_deadline<T, E>(
        &self,
        task: Task<T, E>,
        deadline: Instant,
    ) -> Result<TaskHandle<T, E>, SubmitTimeoutError<Task<T, E>>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        submit_task_with(&self.inner, task, Wait::Until(deadline))
            .map_err(SubmitError::into_timeout)
    }

    /// Submits `task` and waits for its value: Go's `SubmitWait`. A full
    /// queue is met according to the pool's [`FullPolicy`](crate::FullPolicy); cancelling
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

    // A batch: `submit_batch`, `try_submit_batch`, `submit_batch_timeout`,
    // `submit_batch_deadline`.

    /// Queues many tasks under one acquisition of the queue lock, all or
    /// none: with a bounded queue it waits (per the pool's [`FullPolicy`](crate::FullPolicy))
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
        self.inner.submit_batch(tasks, Wait::Policy)
    }

    /// Like [`submit_batch`](Pool::submit_batch), but never waits: unless
    /// the whole batch fits now, it is refused at once.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError`] (`Full` or `Closed`) holding every task, in input
    /// order.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::builder().workers(1).capacity(4).build()?;
    /// let too_many = (0..5).map(|i| move |_: &gosling::context::Context| i);
    /// let refused = pool.try_submit_batch(too_many).unwrap_err();
    /// assert!(refused.is_full());
    /// assert_eq!(refused.into_inner().len(), 5); // every task handed back
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn try_submit_batch<I, F, T>(
        &self,
        tasks: I,
    ) -> Result<Vec<TaskHandle<T>>, TrySubmitError<Vec<F>>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_batch(tasks, Wait::Never)
            .map_err(SubmitError::into_try)
    }

    /// Like [`submit_batch`](Pool::submit_batch), waiting at most `timeout`
    /// for room for the whole batch, whatever the pool's
    /// [`FullPolicy`](crate::FullPolicy). A batch larger than the queue's
    /// capacity times out at once.
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError`] (`Timeout` or `Closed`) holding every task,
    /// in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(2)?;
    /// let tasks = (0..10u32).map(|i| move |_: &gosling::context::Context| i);
    /// let handles = pool.submit_batch_timeout(tasks, Duration::from_millis(100))?;
    /// assert_eq!(handles.into_iter().map(|h| h.wait().unwrap()).sum::<u32>(), 45);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_batch_timeout<I, F, T>(
        &self,
        tasks: I,
        timeout: Duration,
    ) -> Result<Vec<TaskHandle<T>>, SubmitTimeoutError<Vec<F>>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_batch(tasks, self.within(timeout))
            .map_err(SubmitError::into_timeout)
    }

    /// Like [`submit_batch`](Pool::submit_batch), waiting for room for the
    /// whole batch until `deadline` (on the pool's clock). A batch larger
    /// than the queue's capacity times out at once.
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError`] (`Timeout` or `Closed`) holding every task,
    /// in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let pool = gosling::Pool::new(2)?;
    /// let tasks = (0..3u32).map(|i| move |_: &gosling::context::Context| i);
    /// let handles = pool.submit_batch_deadline(tasks, Instant::now() + Duration::from_millis(100))?;
    /// assert_eq!(handles.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_batch_deadline<I, F, T>(
        &self,
        tasks: I,
        deadline: Instant,
    ) -> Result<Vec<TaskHandle<T>>, SubmitTimeoutError<Vec<F>>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .submit_batch(tasks, Wait::Until(deadline))
            .map_err(SubmitError::into_timeout)
    }

    /// The pool's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
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
