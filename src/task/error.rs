//! Why a task produced no value, and what a panic handler is told.

use super::TaskId;
use std::any::Any;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;

/// Why a task produced no value.
///
/// `E` is the task's own error type: [`Infallible`] for tasks that return a
/// plain value ([`Pool::submit`](crate::Pool::submit)), the error of the
/// `Result` for fallible ones ([`Pool::submit_fallible`](crate::Pool::submit_fallible)).
///
/// # Examples
///
/// ```
/// use gosling::{Pool, TaskError};
///
/// let pool = Pool::new(1)?;
/// let failed = pool.submit_fallible(|_| Err::<u32, _>("disk full")).unwrap();
/// assert_eq!(failed.wait(), Err(TaskError::Failed("disk full")));
///
/// let panicked = pool.submit(|_| -> u32 { panic!("boom") }).unwrap();
/// assert_eq!(panicked.wait(), Err(TaskError::Panicked("boom".to_string())));
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError<E = Infallible> {
    /// The body returned this error.
    Failed(E),
    /// The body panicked with this message (the worker survived).
    Panicked(String),
    /// Cancelled through its handle before it ran, or it returned an error
    /// after its context was cancelled.
    Cancelled,
    /// The pool shut down before the task could finish: it was still queued
    /// when the pool cancelled what was left, or it returned an error after
    /// the pool cancelled its context.
    ShutDown,
    /// Its deadline passed before it finished.
    TimedOut,
}

impl<E> TaskError<E> {
    /// The task's own error, if that is why it failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::TaskError;
    /// assert_eq!(TaskError::Failed(3).into_failed(), Some(3));
    /// assert_eq!(TaskError::<u8>::Cancelled.into_failed(), None);
    /// ```
    pub fn into_failed(self) -> Option<E> {
        match self {
            TaskError::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// True when the task was cancelled (through its handle or by shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::TaskError;
    /// assert!(TaskError::<()>::ShutDown.is_cancelled());
    /// assert!(!TaskError::<()>::TimedOut.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled | TaskError::ShutDown)
    }
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(e) => write!(f, "task failed: {e}"),
            TaskError::Panicked(message) => write!(f, "task panicked: {message}"),
            TaskError::Cancelled => f.write_str("task cancelled"),
            TaskError::ShutDown => f.write_str("task cancelled: the pool shut down"),
            TaskError::TimedOut => f.write_str("task timed out"),
        }
    }
}

impl<E: Error + 'static> Error for TaskError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TaskError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// What a pool's panic handler receives when a task panics.
///
/// # Examples
///
/// ```
/// use gosling::Pool;
/// use std::sync::mpsc;
///
/// let (tx, rx) = mpsc::channel();
/// let tx = std::sync::Mutex::new(tx);
/// let pool = Pool::builder()
///     .workers(1)
///     .panic_handler(move |panic| {
///         let _ = tx.lock().unwrap().send(panic.message().to_string());
///     })
///     .build()?;
/// pool.spawn(|_| panic!("no handle to tell")).unwrap();
/// assert_eq!(rx.recv().unwrap(), "no handle to tell");
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPanic {
    pub(crate) task: Option<TaskId>,
    pub(crate) message: String,
}

impl TaskPanic {
    /// The panicking task's id; `None` for fire-and-forget tasks, which have none.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::Pool;
    /// # let (tx, rx) = std::sync::mpsc::channel();
    /// # let tx = std::sync::Mutex::new(tx);
    /// let pool = Pool::builder()
    ///     .workers(1)
    ///     .panic_handler(move |p| { let _ = tx.lock().unwrap().send(p.task()); })
    ///     .build()?;
    /// let handle = pool.submit(|_| panic!("x")).unwrap();
    /// let id = handle.id();
    /// let _ = handle.wait();
    /// assert_eq!(rx.recv().unwrap(), Some(id));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn task(&self) -> Option<TaskId> {
        self.task
    }

    /// The panic message (`"Box<dyn Any>"` when the payload was not a string).
    ///
    /// # Examples
    ///
    /// See [`TaskPanic`].
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TaskPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.task {
            Some(id) => write!(f, "{id} panicked: {}", self.message),
            None => write!(f, "task panicked: {}", self.message),
        }
    }
}

/// The message of a caught panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}
