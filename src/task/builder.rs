//! [`Task`]: a task with options — an id, a priority, a completion callback.

use super::record::{Callback, TaskResult};
use super::{TaskError, TaskId};
use crate::context::Context;
use crate::retry::RetryPolicy;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) type BoxedBody<T, E> = Box<dyn FnOnce(&Context) -> Result<T, E> + Send>;
pub(crate) type RepeatBody<T, E> = Box<dyn FnMut(&Context) -> Result<T, E> + Send>;

/// A task's body: one that runs at most once, or one that may run again.
pub(crate) enum TaskBody<T, E> {
    Once(BoxedBody<T, E>),
    /// With its retry policy; `None` means the pool's default
    /// ([`Builder::retry_policy`](crate::Builder::retry_policy); no retries
    /// when it has none). A count-only policy (`with_retries`) takes the
    /// rest from the pool's default (`RetryPolicy::for_pool`).
    Repeat(RepeatBody<T, E>, Option<RetryPolicy>),
}

/// A task with options, for [`Pool::submit_task`](crate::Pool::submit_task).
///
/// Plain closures go straight to [`Pool::submit`](crate::Pool::submit); build
/// a `Task` when the work needs an id of its own, a priority (with a
/// [priority queue](crate::QueueKind::Priority)), or a callback that runs when
/// it ends, whatever way it ends.
///
/// # Which tasks are retried
///
/// Only a task whose body can run again: one made with
/// [`repeatable`](Task::repeatable) (under the pool's default
/// [`retry_policy`](crate::Builder::retry_policy)),
/// [`with_retries`](Task::with_retries) (that policy with a retry count of
/// its own) or [`retrying`](Task::retrying) (a policy of its own). Their
/// bodies are `FnMut`; the one-shot bodies of [`new`](Task::new) and
/// [`fallible`](Task::fallible) (`FnOnce`) run at most once, whatever the
/// pool's policy — the body's type decides, so there is no silent "no retry".
///
/// The setters take the bare name ([`id`](Task::id),
/// [`resource`](Task::resource)); the getters carry a `get_` prefix
/// ([`get_id`](Task::get_id), [`get_resource`](Task::get_resource)), as
/// [`std::process::Command`]'s do.
///
/// # Examples
///
/// ```
/// use gosling::{Pool, QueueKind, Task, TaskId};
///
/// let pool = Pool::builder().workers(1).queue(QueueKind::Priority).build()?;
/// let handle = pool
///     .submit_task(
///         Task::new(|_| "report ready")
///             .id(TaskId::from(1001))
///             .priority(10)
///             .on_complete(|outcome| println!("finished: {outcome:?}")),
///     )
///     .unwrap();
/// assert_eq!(handle.wait(), Ok("report ready"));
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[must_use = "a task does nothing until it is submitted"]
pub struct Task<T, E = Infallible> {
    pub(crate) body: TaskBody<T, E>,
    pub(crate) id: Option<TaskId>,
    pub(crate) priority: i32,
    pub(crate) on_complete: Option<Callback<T, E>>,
    pub(crate) deadline: Option<Deadline>,
    pub(crate) parent: Option<Context>,
    pub(crate) resource: Option<Arc<str>>,
}

/// When a task times out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Deadline {
    /// This long after submission.
    After(Duration),
    /// At this instant (on the pool's clock).
    At(Instant),
}

impl<T: Send + 'static> Task<T, Infallible> {
    /// A task whose body returns a plain value.
    ///
    /// # Examples
    ///
    /// ```
    /// let task = gosling::Task::new(|_ctx| 40 + 2);
    /// ```
    pub fn new<F>(body: F) -> Self
    where
        F: FnOnce(&Context) -> T + Send + 'static,
    {
        Task::from_body(TaskBody::Once(Box::new(move |ctx| Ok(body(ctx)))))
    }
}

impl<T: Send + 'static, E: Send + 'static> Task<T, E> {
    /// A task whose body returns a `Result`; an `Err` ends it
    /// [`Failed`](crate::TaskStatus::Failed) with
    /// [`TaskError::Failed`].
    ///
    /// # Examples
    ///
    /// ```
    /// let task = gosling::Task::fallible(|_ctx| "42".parse::<u32>());
    /// ```
    pub fn fallible<F>(body: F) -> Self
    where
        F: FnOnce(&Context) -> Result<T, E> + Send + 'static,
    {
        Task::from_body(TaskBody::Once(Box::new(body)))
    }

    /// A fallible task whose body may run more than once, so a failed
    /// attempt can be retried: under the pool's default policy
    /// ([`Builder::retry_policy`](crate::Builder::retry_policy); none unless
    /// set). Only such tasks are ever retried — the type of the body says so.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// use gosling::{Pool, Task};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder()
    ///     .workers(1)
    ///     .retry_policy(RetryPolicy::fixed(3, Duration::from_millis(1)))
    ///     .build()?;
    /// let mut calls = 0;
    /// let flaky = Task::repeatable(move |_| {
    ///     calls += 1;
    ///     if calls < 3 { Err("busy") } else { Ok(calls) }
    /// });
    /// let handle = pool.submit_task(flaky).unwrap();
    /// assert_eq!(handle.wait(), Ok(3));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn repeatable<F>(body: F) -> Self
    where
        F: FnMut(&Context) -> Result<T, E> + Send + 'static,
    {
        Task::from_body(TaskBody::Repeat(Box::new(body), None))
    }

    /// A repeatable task (see [`repeatable`](Task::repeatable)) retried at
    /// most `retries` times: the pool's default policy
    /// ([`Builder::retry_policy`](crate::Builder::retry_policy)) with only
    /// its count overridden — its backoff, jitter, classification and time
    /// limit kept — or, on a pool without one, [`RetryPolicy::new`]`(retries)`.
    ///
    /// Only a body that can run again can be retried, so the count comes
    /// with the body: a one-shot body (an `FnOnce`, as [`Task::new`] and
    /// [`Task::fallible`] take) has no way to be given one.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// use gosling::{Pool, Task, TaskError};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder()
    ///     .workers(1)
    ///     .retry_policy(RetryPolicy::fixed(1, Duration::ZERO))
    ///     .build()?;
    /// // This task may try five more times; the pool's other tasks once more.
    /// let important = Task::with_retries(5, |_| Err::<(), _>("still down"));
    /// let handle = pool.submit_task(important).unwrap();
    /// assert_eq!(handle.wait(), Err(TaskError::Failed("still down")));
    /// assert_eq!(pool.stats().retries, 5);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    ///
    /// A body that can run only once is refused at compile time:
    ///
    /// ```compile_fail
    /// let once = String::from("moved into the first attempt");
    /// let task = gosling::Task::with_retries(3, move |_| Ok::<_, ()>(drop(once)));
    /// ```
    pub fn with_retries<F>(retries: u32, body: F) -> Self
    where
        F: FnMut(&Context) -> Result<T, E> + Send + 'static,
    {
        Task::from_body(TaskBody::Repeat(
            Box::new(body),
            Some(RetryPolicy::count_only(retries)),
        ))
    }

    /// A repeatable task (see [`repeatable`](Task::repeatable)) retried under
    /// `policy` rather than the pool's default (to change only the number of
    /// retries, see [`with_retries`](Task::with_retries)).
    /// A retry waits on the pool's timer — never on a worker — then re-enters
    /// the queue with its priority; each attempt gets a fresh child context;
    /// a task cancelled during its backoff never runs again.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// use gosling::{Pool, Task, TaskError};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(1)?;
    /// let always_down = Task::retrying(RetryPolicy::fixed(2, Duration::ZERO), |_| Err::<(), _>("down"));
    /// let handle = pool.submit_task(always_down).unwrap();
    /// let id = handle.id();
    /// # let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    /// assert_eq!(handle.wait(), Err(TaskError::Failed("down"))); // after 1 + 2 attempts
    /// assert_eq!(pool.stats().retries, 2);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn retrying<F>(policy: RetryPolicy, body: F) -> Self
    where
        F: FnMut(&Context) -> Result<T, E> + Send + 'static,
    {
        Task::from_body(TaskBody::Repeat(Box::new(body), Some(policy)))
    }

    fn from_body(body: TaskBody<T, E>) -> Self {
        Task {
            body,
            id: None,
            priority: 0,
            on_complete: None,
            deadline: None,
            parent: None,
            resource: None,
        }
    }

    /// Sets the task's id (otherwise one is generated).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Task, TaskId};
    /// let task = Task::new(|_| ()).id(TaskId::from(7));
    /// assert_eq!(task.get_id(), Some(TaskId::from(7)));
    /// ```
    pub fn id(mut self, id: TaskId) -> Self {
        self.id = Some(id);
        self
    }

    /// The id set with [`id`](Task::id), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::Task::new(|_| ()).get_id(), None);
    /// ```
    #[must_use]
    pub fn get_id(&self) -> Option<TaskId> {
        self.id
    }

    /// Sets the priority: higher starts first in a priority queue; ignored by
    /// FIFO and LIFO queues. Default 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let urgent = gosling::Task::new(|_| ()).priority(100);
    /// ```
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Times the task out `timeout` after submission (overriding the pool's
    /// [`task_timeout`](crate::Builder::task_timeout)). Still queued then, it
    /// never runs; running, its handle resolves [`TaskError::TimedOut`] at
    /// the deadline and its context is cancelled. A thread cannot be killed:
    /// a body that ignores its context runs on, and whatever it returns is
    /// dropped and counted in [`Stats::late_results`](crate::Stats::late_results).
    ///
    /// The time counts from the submit call, a wait for room in a full queue
    /// included, but nothing ends the task before the pool accepts it: a
    /// submission refused after the deadline hands the task back untouched
    /// (its callback not run), and one accepted after it ends the task timed
    /// out without running it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task, TaskError};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(1)?;
    /// let slow = Task::new(|ctx| {
    ///     // A cooperative body: stops when its context is cancelled.
    ///     let _ = ctx.wait_cancelled_timeout(Duration::from_secs(60));
    /// })
    /// .timeout(Duration::from_millis(20));
    /// assert_eq!(pool.submit_task(slow).unwrap().wait(), Err(TaskError::TimedOut));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Some(Deadline::After(timeout));
        self
    }

    /// Times the task out at `deadline` (on the pool's clock); see
    /// [`timeout`](Task::timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task, TaskError};
    /// use std::time::Instant;
    ///
    /// let pool = Pool::new(1)?;
    /// let too_late = Task::new(|_| "never runs").deadline(Instant::now());
    /// assert_eq!(pool.submit_task(too_late).unwrap().wait(), Err(TaskError::TimedOut));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(Deadline::At(deadline));
        self
    }

    /// Makes the task's context a child of `parent` (e.g. one context per
    /// incoming request): cancelling the parent cancels the task — still
    /// queued, it never runs and ends [`TaskError::Cancelled`] — and the
    /// parent's deadline and values apply to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::{Pool, Task};
    ///
    /// struct RequestId(u32);
    ///
    /// let pool = Pool::new(1)?;
    /// let request = Context::new().with_value(RequestId(17));
    /// let task = Task::new(|ctx| ctx.value::<RequestId>().map(|id| id.0)).context(&request);
    /// assert_eq!(pool.submit_task(task).unwrap().wait(), Ok(Some(17)));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn context(mut self, parent: &Context) -> Self {
        self.parent = Some(parent.clone());
        self
    }

    /// Names the resource the task uses (a host, an API, a database): the
    /// pool's limit for that resource
    /// ([`Builder::resource_limit`](crate::Builder::resource_limit), or the
    /// per-key limiter of
    /// [`Builder::resource_limits`](crate::Builder::resource_limits)) then
    /// gates the task's starts, every attempt of a retried task included.
    /// A task refused a permit steps aside — it waits for its resource
    /// without holding a worker — so tasks for other resources start
    /// meanwhile; tasks of one resource start in the order they reached the
    /// front of the queue. A resource the pool has no limit for is not
    /// limited.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, TokenBucket};
    /// use gosling::{Pool, Task};
    /// use std::sync::Arc;
    ///
    /// let pool = Pool::builder()
    ///     .workers(2)
    ///     .resource_limit("payments-api", Arc::new(TokenBucket::new(Rate::per_second(50).unwrap(), 5).unwrap()))
    ///     .build()?;
    /// let charge = pool.submit_task(Task::new(|_| "charged").resource("payments-api")).unwrap();
    /// assert_eq!(charge.wait(), Ok("charged"));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn resource(mut self, resource: &str) -> Self {
        self.resource = Some(Arc::from(resource));
        self
    }

    /// The resource named with [`resource`](Task::resource), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let task = gosling::Task::new(|_| ()).resource("db");
    /// assert_eq!(task.get_resource(), Some("db"));
    /// ```
    #[must_use]
    pub fn get_resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// Runs `callback` with the outcome when the task ends, however it ends
    /// (including cancellation before it ran), exactly once, before waiters
    /// on the handle are woken; a panic in it is caught and ignored.
    ///
    /// Where it runs: on the worker that ran the task; on the thread that
    /// called [`TaskHandle::cancel`](crate::TaskHandle::cancel) for a task
    /// cancelled before it ran; and on the pool's callback thread
    /// (`<thread_name>-callbacks`, started the first time it is needed) for
    /// a task ended by its deadline or by a shutdown. Those outcomes are
    /// decided on the pool's timer thread and on the thread shutting the
    /// pool down, which run no user code: a slow callback never delays
    /// another task's deadline or stretches a shutdown past its bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task};
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = Pool::new(1)?;
    /// let seen = Arc::new(AtomicBool::new(false));
    /// let flag = seen.clone();
    /// let handle = pool
    ///     .submit_task(Task::new(|_| 1).on_complete(move |r| flag.store(r.is_ok(), Ordering::SeqCst)))
    ///     .unwrap();
    /// handle.wait().unwrap();
    /// assert!(seen.load(Ordering::SeqCst)); // the callback ran before wait returned
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn on_complete<C>(mut self, callback: C) -> Self
    where
        C: FnOnce(&Result<T, TaskError<E>>) + Send + 'static,
    {
        self.on_complete = Some(Box::new(move |record: &TaskResult<'_, T, E>| {
            callback(record.outcome());
        }));
        self
    }

    /// Like [`on_complete`](Task::on_complete), with the whole record of the
    /// task: its id, its outcome, when it started, how long it ran and how
    /// many attempts it made ([`TaskResult`]). Replaces a callback set
    /// before (a task has one).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task, TaskId};
    /// use std::sync::{Arc, Mutex};
    ///
    /// let pool = Pool::new(1)?;
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&log);
    /// let task = Task::new(|_| "indexed").id(TaskId::from(7)).on_result(move |r| {
    ///     let ran = r.run_time().expect("it ran");
    ///     sink.lock().unwrap().push(format!("{} {:?} after {} attempt(s)", r.id(), r.outcome(), r.attempts()));
    ///     assert!(ran.as_secs() < 60);
    /// });
    /// pool.submit_task(task).unwrap().wait().unwrap();
    /// assert_eq!(log.lock().unwrap()[0], "task-7 Ok(\"indexed\") after 1 attempt(s)");
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn on_result<C>(mut self, callback: C) -> Self
    where
        C: FnOnce(&TaskResult<'_, T, E>) + Send + 'static,
    {
        self.on_complete = Some(Box::new(callback));
        self
    }
}

impl<T, E> fmt::Debug for Task<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("priority", &self.priority)
            .field("on_complete", &self.on_complete.is_some())
            .field("deadline", &self.deadline)
            .field("has_parent", &self.parent.is_some())
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}
