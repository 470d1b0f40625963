//! The pool's errors: one per operation, each naming its cause.

use crate::task::TaskId;
use std::error::Error;
use std::fmt;
use std::io;

/// Why a submission was refused. The refused task is inside: take it back
/// with [`into_inner`](SubmitError::into_inner) — nothing is dropped.
///
/// # Examples
///
/// ```
/// use gosling::{Pool, SubmitErrorKind};
///
/// let pool = Pool::new(1)?;
/// pool.close();
/// let err = pool.submit(|_| 1).unwrap_err();
/// assert_eq!(err.kind(), SubmitErrorKind::Closed);
/// let task = err.into_inner(); // the very closure we submitted
/// assert_eq!(task(&gosling::context::Context::new()), 1);
/// # Ok::<(), gosling::BuildError>(())
/// ```
pub struct SubmitError<T> {
    kind: SubmitErrorKind,
    task: T,
}

/// The cause of a [`SubmitError`].
///
/// # Examples
///
/// ```
/// use gosling::SubmitErrorKind;
/// assert_eq!(SubmitErrorKind::Full.to_string(), "the queue is full");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubmitErrorKind {
    /// The pool is closed (or shutting down) and accepts nothing more.
    Closed,
    /// The queue is full and the submission was not allowed to wait (or the
    /// batch is larger than the queue's capacity).
    Full,
    /// The queue stayed full until the submission's timeout or deadline.
    Timeout,
}

impl fmt::Display for SubmitErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubmitErrorKind::Closed => "the pool is closed",
            SubmitErrorKind::Full => "the queue is full",
            SubmitErrorKind::Timeout => "timed out waiting for room in the queue",
        })
    }
}

impl<T> SubmitError<T> {
    pub(crate) fn new(kind: SubmitErrorKind, task: T) -> Self {
        SubmitError { kind, task }
    }

    /// Why the submission was refused.
    ///
    /// # Examples
    ///
    /// See [`SubmitError`].
    #[must_use]
    pub fn kind(&self) -> SubmitErrorKind {
        self.kind
    }

    /// The refused task, handed back.
    ///
    /// # Examples
    ///
    /// See [`SubmitError`].
    pub fn into_inner(self) -> T {
        self.task
    }

    /// True when the pool was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// pool.close();
    /// assert!(pool.spawn(|_| ()).unwrap_err().is_closed());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.kind == SubmitErrorKind::Closed
    }

    /// True when the queue was full and the submission was not allowed to
    /// wait (the pool's [`FullPolicy::Reject`](crate::FullPolicy::Reject)),
    /// or a batch was larger than the queue's capacity. A wait that ran out
    /// is [`is_timeout`](SubmitError::is_timeout), not this.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{FullPolicy, Pool};
    /// let pool = Pool::builder().workers(1).capacity(1).when_full(FullPolicy::Reject).build()?;
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// pool.spawn(move |_| { let _ = gate.recv(); })?; // runs, holding the worker
    /// # while pool.stats().busy == 0 { std::thread::yield_now(); }
    /// pool.spawn(|_| ())?; // fills the queue
    /// assert!(pool.spawn(|_| ()).unwrap_err().is_full());
    /// release.send(())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.kind == SubmitErrorKind::Full
    }

    /// True when the queue stayed full until the wait for room ran out (the
    /// pool's [`FullPolicy::Timeout`](crate::FullPolicy::Timeout)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{FullPolicy, Pool};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder()
    ///     .workers(1)
    ///     .capacity(1)
    ///     .when_full(FullPolicy::Timeout(Duration::from_millis(1)))
    ///     .build()?;
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// pool.spawn(move |_| { let _ = gate.recv(); })?;
    /// # while pool.stats().busy == 0 { std::thread::yield_now(); }
    /// pool.spawn(|_| ())?; // fills the queue
    /// let refused = pool.spawn(|_| ()).unwrap_err();
    /// assert!(refused.is_timeout() && !refused.is_full());
    /// release.send(())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.kind == SubmitErrorKind::Timeout
    }

    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> SubmitError<U> {
        SubmitError {
            kind: self.kind,
            task: f(self.task),
        }
    }
}

impl<T> fmt::Debug for SubmitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitError")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SubmitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task refused: {}", self.kind)
    }
}

impl<T> Error for SubmitError<T> {}

impl<T> SubmitError<T> {
    /// As a `try_` form's error: a form that never waits is refused only
    /// because the pool is closed or the queue is full.
    pub(crate) fn into_try(self) -> TrySubmitError<T> {
        match self.kind {
            SubmitErrorKind::Closed => TrySubmitError::Closed(self.task),
            SubmitErrorKind::Full | SubmitErrorKind::Timeout => TrySubmitError::Full(self.task),
        }
    }

    /// As a timed form's error: a form that waits for room is refused only
    /// because the pool is closed or the wait ran out.
    pub(crate) fn into_timeout(self) -> SubmitTimeoutError<T> {
        match self.kind {
            SubmitErrorKind::Closed => SubmitTimeoutError::Closed(self.task),
            SubmitErrorKind::Full | SubmitErrorKind::Timeout => {
                SubmitTimeoutError::Timeout(self.task)
            }
        }
    }
}

/// Why [`Pool::wait_idle`](crate::Pool::wait_idle) could not wait.
///
/// # Examples
///
/// ```
/// use gosling::{Pool, WaitIdleError};
/// let pool = std::sync::Arc::new(Pool::new(1)?);
/// let inside = pool.clone();
/// let handle = pool.submit(move |_| inside.wait_idle())?;
/// assert_eq!(handle.wait()?, Err(WaitIdleError::OwnWorker));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitIdleError {
    /// Called on one of the pool's own worker threads (from one of its
    /// tasks, or a completion callback run there): the pool cannot be idle
    /// while the caller runs, so the wait could never end.
    OwnWorker,
}

impl fmt::Display for WaitIdleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitIdleError::OwnWorker => f.write_str(
                "wait_idle called on one of the pool's own workers: the pool cannot become idle while the caller runs",
            ),
        }
    }
}

impl Error for WaitIdleError {}

/// The trait impls both per-form refusal types share: `From` into
/// [`SubmitError`] (for `?`), a `Debug` that names the cause without the
/// task (which need not be `Debug`), `Display` and `Error`.
macro_rules! refusal_impls {
    ($name:ident: $($cause:ident),+) => {
        impl<T> From<$name<T>> for SubmitError<T> {
            fn from(e: $name<T>) -> Self {
                SubmitError::new(e.kind(), e.into_inner())
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $($name::$cause(_) => concat!(stringify!($cause), "(..)"),)+
                })
            }
        }

        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "task refused: {}", self.kind())
            }
        }

        impl<T> Error for $name<T> {}
    };
}

/// Why a `try_` submission ([`Pool::try_spawn`](crate::Pool::try_spawn),
/// [`try_submit`](crate::Pool::try_submit),
/// [`try_submit_task`](crate::Pool::try_submit_task),
/// [`try_submit_batch`](crate::Pool::try_submit_batch)) was refused. Those
/// forms never wait, so there are two causes; the refused task is inside
/// either, to take back with [`into_inner`](TrySubmitError::into_inner).
/// Converts into [`SubmitError`] (for `?`).
///
/// # Examples
///
/// ```
/// use gosling::{Pool, TrySubmitError};
///
/// let pool = Pool::builder().workers(1).capacity(1).build()?;
/// let (release, gate) = std::sync::mpsc::channel::<()>();
/// pool.spawn(move |_| { let _ = gate.recv(); })?; // holds the only worker
/// # while pool.stats().busy == 0 { std::thread::yield_now(); }
/// pool.try_spawn(|_| ())?; // fills the one place
/// match pool.try_spawn(|_| ()) {
///     Err(TrySubmitError::Full(task)) => drop(task), // keep it, or run it elsewhere
///     other => panic!("{other:?}"),
/// }
/// release.send(())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySubmitError<T> {
    /// The queue was full.
    Full(T),
    /// The pool is closed (or shutting down) and accepts nothing more.
    Closed(T),
}

impl<T> TrySubmitError<T> {
    /// The refused task, handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// pool.close();
    /// let task = pool.try_submit(|_| 7).unwrap_err().into_inner();
    /// assert_eq!(task(&gosling::context::Context::new()), 7);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySubmitError::Full(task) | TrySubmitError::Closed(task) => task,
        }
    }

    /// True when the queue was full.
    ///
    /// # Examples
    ///
    /// See [`TrySubmitError`].
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, TrySubmitError::Full(_))
    }

    /// True when the pool was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// pool.close();
    /// assert!(pool.try_spawn(|_| ()).unwrap_err().is_closed());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySubmitError::Closed(_))
    }

    /// The cause as a [`SubmitErrorKind`] (`Full` or `Closed`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::SubmitErrorKind;
    /// let pool = gosling::Pool::new(1)?;
    /// pool.close();
    /// assert_eq!(pool.try_spawn(|_| ()).unwrap_err().kind(), SubmitErrorKind::Closed);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn kind(&self) -> SubmitErrorKind {
        match self {
            TrySubmitError::Full(_) => SubmitErrorKind::Full,
            TrySubmitError::Closed(_) => SubmitErrorKind::Closed,
        }
    }
}

refusal_impls!(TrySubmitError: Full, Closed);

/// Why a timed submission (the `_timeout` and `_deadline` forms:
/// [`Pool::spawn_timeout`](crate::Pool::spawn_timeout),
/// [`submit_deadline`](crate::Pool::submit_deadline), …) was refused: the
/// pool closed, or the queue stayed full until the wait ran out. A batch
/// larger than the queue's capacity times out at once, since waiting could
/// not help. The refused task is inside either, to take back with
/// [`into_inner`](SubmitTimeoutError::into_inner). Converts into
/// [`SubmitError`] (for `?`).
///
/// # Examples
///
/// ```
/// use gosling::{Pool, SubmitTimeoutError};
/// use std::time::Duration;
///
/// let pool = Pool::builder().workers(1).capacity(1).build()?;
/// let (release, gate) = std::sync::mpsc::channel::<()>();
/// pool.spawn(move |_| { let _ = gate.recv(); })?; // holds the only worker
/// # while pool.stats().busy == 0 { std::thread::yield_now(); }
/// pool.spawn(|_| ())?; // fills the one place
/// let refused = pool.submit_timeout(|_| 1, Duration::from_millis(1)).unwrap_err();
/// assert!(matches!(refused, SubmitTimeoutError::Timeout(_)));
/// release.send(())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SubmitTimeoutError<T> {
    /// The queue stayed full until the timeout or deadline.
    Timeout(T),
    /// The pool is closed (or closed while the submission waited).
    Closed(T),
}

impl<T> SubmitTimeoutError<T> {
    /// The refused task, handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// pool.close();
    /// let task = pool.spawn_timeout(|_| (), Duration::from_secs(1)).unwrap_err().into_inner();
    /// task(&gosling::context::Context::new());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SubmitTimeoutError::Timeout(task) | SubmitTimeoutError::Closed(task) => task,
        }
    }

    /// True when the wait for room ran out.
    ///
    /// # Examples
    ///
    /// See [`SubmitTimeoutError`].
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, SubmitTimeoutError::Timeout(_))
    }

    /// True when the pool was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// pool.close();
    /// assert!(pool.submit_timeout(|_| 1, Duration::from_secs(1)).unwrap_err().is_closed());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self, SubmitTimeoutError::Closed(_))
    }

    /// The cause as a [`SubmitErrorKind`] (`Timeout` or `Closed`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::SubmitErrorKind;
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// pool.close();
    /// let refused = pool.submit_timeout(|_| 1, Duration::from_secs(1)).unwrap_err();
    /// assert_eq!(refused.kind(), SubmitErrorKind::Closed);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn kind(&self) -> SubmitErrorKind {
        match self {
            SubmitTimeoutError::Timeout(_) => SubmitErrorKind::Timeout,
            SubmitTimeoutError::Closed(_) => SubmitErrorKind::Closed,
        }
    }
}

refusal_impls!(SubmitTimeoutError: Timeout, Closed);

/// Why [`Builder::build`](crate::Builder::build) failed.
///
/// # Examples
///
/// ```
/// let err = gosling::Pool::builder().workers(0).build().unwrap_err();
/// assert_eq!(err.to_string(), "a pool needs at least one worker");
/// ```
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug)]
pub(crate) enum BuildErrorKind {
    ZeroWorkers,
    ZeroCapacity,
    ZeroStackSize,
    Spawn(io::Error),
    Metrics(crate::observe::MetricsError),
}

impl BuildError {
    pub(crate) fn new(kind: BuildErrorKind) -> Self {
        BuildError { kind }
    }

    /// True when the settings were invalid (as opposed to the operating system
    /// refusing to start a thread).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::Pool::builder().capacity(0).build().unwrap_err().is_invalid_setting());
    /// ```
    #[must_use]
    pub fn is_invalid_setting(&self) -> bool {
        !matches!(self.kind, BuildErrorKind::Spawn(_))
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::ZeroWorkers => f.write_str("a pool needs at least one worker"),
            BuildErrorKind::ZeroCapacity => {
                f.write_str("a bounded queue needs a capacity of at least one")
            }
            BuildErrorKind::ZeroStackSize => f.write_str("a worker stack size must not be zero"),
            BuildErrorKind::Spawn(e) => write!(f, "could not start a worker thread: {e}"),
            BuildErrorKind::Metrics(e) => write!(f, "could not register the pool's metrics: {e}"),
        }
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Spawn(e) => Some(e),
            BuildErrorKind::Metrics(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Pool::resize`](crate::Pool::resize) failed.
///
/// # Examples
///
/// ```
/// use gosling::{Pool, ResizeError};
/// let pool = Pool::new(2)?;
/// assert!(matches!(pool.resize(0), Err(ResizeError::ZeroWorkers)));
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ResizeError {
    /// A pool needs at least one worker.
    ZeroWorkers,
    /// The pool is closed; its workers are winding down.
    Closed,
    /// The operating system refused a new thread; the pool keeps the workers
    /// it had plus any started before the failure.
    Spawn(io::Error),
}

impl fmt::Display for ResizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResizeError::ZeroWorkers => f.write_str("a pool needs at least one worker"),
            ResizeError::Closed => f.write_str("the pool is closed"),
            ResizeError::Spawn(e) => write!(f, "could not start a worker thread: {e}"),
        }
    }
}

impl Error for ResizeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ResizeError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Pool::submit_wait`](crate::Pool::submit_wait) returned no value.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::{Pool, SubmitWaitError, Task, TaskError};
///
/// let pool = Pool::new(1)?;
/// let err = pool.submit_wait(&Context::new(), Task::fallible(|_| Err::<(), _>("bad"))).unwrap_err();
/// assert!(matches!(err, SubmitWaitError::Task(TaskError::Failed("bad"))));
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[non_exhaustive]
pub enum SubmitWaitError<T, E = std::convert::Infallible> {
    /// The pool refused the task; it is handed back inside.
    Refused(SubmitError<crate::Task<T, E>>),
    /// The caller's context ended first; the task goes on (unless its own
    /// context is a child of the caller's), and its handle is here.
    Abandoned(crate::TaskHandle<T, E>),
    /// The task ended without a value.
    Task(crate::TaskError<E>),
}

impl<T, E: fmt::Debug> fmt::Debug for SubmitWaitError<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitWaitError::Refused(e) => f.debug_tuple("Refused").field(e).finish(),
            SubmitWaitError::Abandoned(h) => f.debug_tuple("Abandoned").field(h).finish(),
            SubmitWaitError::Task(e) => f.debug_tuple("Task").field(e).finish(),
        }
    }
}

impl<T, E: fmt::Display> fmt::Display for SubmitWaitError<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitWaitError::Refused(e) => write!(f, "task refused: {e}"),
            SubmitWaitError::Abandoned(h) => {
                write!(
                    f,
                    "wait for {} abandoned: the caller's context ended",
                    h.shared.id
                )
            }
            SubmitWaitError::Task(e) => write!(f, "task ended without a value: {e}"),
        }
    }
}

impl<T, E: fmt::Debug + fmt::Display> Error for SubmitWaitError<T, E> {}

/// What a shutdown left behind.
///
/// # Examples
///
/// ```
/// let pool = gosling::Pool::new(1)?;
/// let report = pool.shutdown_now();
/// assert_eq!(report.cancelled(), 0);
/// assert_eq!(report.still_running(), 0);
/// assert!(report.callbacks_pending().is_empty());
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShutdownReport {
    pub(crate) cancelled: usize,
    pub(crate) still_running: usize,
    pub(crate) callbacks_pending: Vec<TaskId>,
}

impl ShutdownReport {
    /// Queued tasks that were cancelled without running (their handles report
    /// [`TaskError::ShutDown`](crate::TaskError::ShutDown)), including those a
    /// worker had taken from the queue in a batch but not started, those
    /// waiting for their resource, and those waiting for a retry. (A task
    /// already cancelled through its handle and taken in such a batch is
    /// counted here too.)
    ///
    /// # Examples
    ///
    /// See [`ShutdownReport`].
    #[must_use]
    pub fn cancelled(&self) -> usize {
        self.cancelled
    }

    /// Tasks still running when the shutdown returned. Their contexts are
    /// cancelled; a thread cannot be killed, so a task that ignores its
    /// context keeps its (detached) worker thread until it returns.
    ///
    /// # Examples
    ///
    /// See [`ShutdownReport`].
    #[must_use]
    pub fn still_running(&self) -> usize {
        self.still_running
    }

    /// The tasks whose completion callbacks had not finished when the
    /// shutdown returned, the one running first.
    ///
    /// The callbacks of tasks that end off the workers — cancelled by the
    /// shutdown, timed out by their deadline — run on the pool's callback
    /// thread, never on the thread that shuts the pool down, so that a slow
    /// callback cannot stretch the shutdown past its bound. Each still runs,
    /// exactly once, after the shutdown returned; a waiter on such a task's
    /// handle is woken only after its callback.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task, TaskError};
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(1)?;
    /// let (release, gate) = mpsc::channel::<()>();
    /// pool.spawn(move |_| { let _ = gate.recv(); }).unwrap(); // holds the worker
    /// # while pool.stats().busy == 0 { std::thread::yield_now(); }
    /// let (unblock, blocked) = mpsc::channel::<()>();
    /// let slow = Task::new(|_| ()).on_complete(move |_: &Result<(), TaskError>| {
    ///     let _ = blocked.recv(); // a callback that takes its time
    /// });
    /// let handle = pool.submit_task(slow).unwrap();
    /// let err = pool.shutdown(Duration::from_millis(20)).unwrap_err();
    /// assert_eq!(err.report().callbacks_pending(), [handle.id()]);
    /// unblock.send(()).unwrap();
    /// assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    /// release.send(()).unwrap();
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn callbacks_pending(&self) -> &[TaskId] {
        &self.callbacks_pending
    }

    /// True when nothing was left behind.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::ShutdownReport::default().is_clean());
    /// ```
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.cancelled == 0 && self.still_running == 0 && self.callbacks_pending.is_empty()
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} queued task(s) cancelled, {} task(s) still running",
            self.cancelled, self.still_running
        )?;
        if !self.callbacks_pending.is_empty() {
            write!(
                f,
                ", {} completion callback(s) not finished",
                self.callbacks_pending.len()
            )?;
        }
        Ok(())
    }
}

/// [`Pool::shutdown`](crate::Pool::shutdown) ran out of time; the report says
/// what it had to cancel or leave running.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = gosling::Pool::new(1)?;
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// pool.spawn(move |ctx| { let _ = rx.recv(); }).unwrap(); // never finishes by itself
/// # while pool.stats().busy == 0 { std::thread::yield_now(); }
/// let err = pool.shutdown(Duration::from_millis(20)).unwrap_err();
/// assert_eq!(err.report().still_running(), 1);
/// drop(tx); // lets the detached worker finish
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownError {
    pub(crate) report: ShutdownReport,
}

impl ShutdownError {
    /// What was left behind.
    ///
    /// # Examples
    ///
    /// See [`ShutdownError`].
    #[must_use]
    pub fn report(&self) -> &ShutdownReport {
        &self.report
    }

    /// The report, by value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// pool.spawn(move |_| { let _ = rx.recv(); }).unwrap();
    /// # while pool.stats().busy == 0 { std::thread::yield_now(); }
    /// let report = pool.shutdown(Duration::from_millis(20)).unwrap_err().into_report();
    /// assert_eq!(report.still_running(), 1);
    /// drop(tx);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn into_report(self) -> ShutdownReport {
        self.report
    }
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shutdown timed out: {}", self.report)
    }
}

impl Error for ShutdownError {}
