//! [`Task`]: a task with options — an id, a priority, a completion callback.

use super::handle::Callback;
use super::{TaskError, TaskId};
use crate::context::Context;
use std::convert::Infallible;
use std::fmt;

pub(crate) type BoxedBody<T, E> = Box<dyn FnOnce(&Context) -> Result<T, E> + Send>;

/// A task with options, for [`Pool::submit_task`](crate::Pool::submit_task).
///
/// Plain closures go straight to [`Pool::submit`](crate::Pool::submit); build
/// a `Task` when the work needs an id of its own, a priority (with a
/// [priority queue](crate::QueueKind::Priority)), or a callback that runs when
/// it ends, whatever way it ends.
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
    pub(crate) body: BoxedBody<T, E>,
    pub(crate) id: Option<TaskId>,
    pub(crate) priority: i32,
    pub(crate) on_complete: Option<Callback<T, E>>,
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
        Task::from_boxed(Box::new(move |ctx| Ok(body(ctx))))
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
        Task::from_boxed(Box::new(body))
    }

    fn from_boxed(body: BoxedBody<T, E>) -> Self {
        Task {
            body,
            id: None,
            priority: 0,
            on_complete: None,
        }
    }

    /// Sets the task's id (otherwise one is generated).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Task, TaskId};
    /// let task = Task::new(|_| ()).id(TaskId::from(7));
    /// assert_eq!(task.task_id(), Some(TaskId::from(7)));
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
    /// assert_eq!(gosling::Task::new(|_| ()).task_id(), None);
    /// ```
    #[must_use]
    pub fn task_id(&self) -> Option<TaskId> {
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

    /// Runs `callback` with the outcome when the task ends, however it ends
    /// (including cancellation before it ran). It runs on the thread that
    /// ended the task, before waiters on the handle are woken; a panic in it
    /// is caught and ignored.
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
            .finish_non_exhaustive()
    }
}
