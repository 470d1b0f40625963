//! [`TaskResult`]: what a completion callback learns of the task that ended.

use super::{TaskError, TaskId};
use std::fmt;
use std::time::{Duration, Instant};

/// A completion callback, as [`Task::on_result`](crate::Task::on_result)
/// stores it and the task's winner of the terminal transition runs it.
pub(crate) type Callback<T, E> = Box<dyn FnOnce(&TaskResult<'_, T, E>) + Send>;

/// The record a [`Task::on_result`](crate::Task::on_result) callback
/// receives: the task's id, its outcome, when it started, how long it ran
/// and how many attempts it made.
///
/// Times are on the pool's clock. A task that never started (cancelled or
/// timed out while queued, or ended by a shutdown) has no start and no run
/// time.
///
/// # Examples
///
/// ```
/// use gosling::{Pool, Task, TaskId};
/// use std::sync::mpsc;
///
/// let pool = Pool::new(1)?;
/// let (tx, rx) = mpsc::channel();
/// let task = Task::new(|_| 6 * 7).id(TaskId::from(42)).on_result(move |r| {
///     tx.send((r.id(), r.outcome().clone(), r.attempts(), r.started_at().is_some())).unwrap();
/// });
/// pool.submit_task(task).unwrap().wait().unwrap();
/// assert_eq!(rx.recv().unwrap(), (TaskId::from(42), Ok(42), 1, true));
/// # Ok::<(), gosling::BuildError>(())
/// ```
pub struct TaskResult<'a, T, E = std::convert::Infallible> {
    pub(crate) id: TaskId,
    pub(crate) outcome: &'a Result<T, TaskError<E>>,
    pub(crate) started_at: Option<Instant>,
    pub(crate) run_time: Option<Duration>,
    pub(crate) attempts: u32,
}

impl<'a, T, E> TaskResult<'a, T, E> {
    /// The task's id.
    ///
    /// # Examples
    ///
    /// See [`TaskResult`].
    #[must_use]
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The outcome, as [`TaskHandle::wait`](crate::TaskHandle::wait) will
    /// return it.
    ///
    /// # Examples
    ///
    /// See [`TaskResult`].
    pub fn outcome(&self) -> &'a Result<T, TaskError<E>> {
        self.outcome
    }

    /// When the task's first attempt started; `None` if it never started.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task, TaskError};
    /// use std::sync::mpsc;
    /// use std::time::Instant;
    ///
    /// let pool = Pool::new(1)?;
    /// let (tx, rx) = mpsc::channel();
    /// let too_late = Task::new(|_| ())
    ///     .deadline(Instant::now())
    ///     .on_result(move |r| tx.send((r.started_at(), r.run_time())).unwrap());
    /// assert_eq!(pool.submit_task(too_late).unwrap().wait(), Err(TaskError::TimedOut));
    /// assert_eq!(rx.recv().unwrap(), (None, None)); // it never started
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn started_at(&self) -> Option<Instant> {
        self.started_at
    }

    /// From the start of the first attempt to the outcome (backoffs between
    /// retries included); `None` if it never started. For a task that timed
    /// out while running, the time to the deadline.
    ///
    /// # Examples
    ///
    /// See [`started_at`](TaskResult::started_at).
    #[must_use]
    pub fn run_time(&self) -> Option<Duration> {
        self.run_time
    }

    /// Attempts started (retries included); 0 if it never started.
    ///
    /// # Examples
    ///
    /// See [`TaskResult`].
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// True when the task returned a value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, Task};
    /// let pool = Pool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let task = Task::new(|_| ()).on_result(move |r| tx.send(r.is_ok()).unwrap());
    /// pool.submit_task(task).unwrap().wait().unwrap();
    /// assert!(rx.recv().unwrap());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl<T: fmt::Debug, E: fmt::Debug> fmt::Debug for TaskResult<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskResult")
            .field("id", &self.id)
            .field("outcome", self.outcome)
            .field("started_at", &self.started_at)
            .field("run_time", &self.run_time)
            .field("attempts", &self.attempts)
            .finish()
    }
}
