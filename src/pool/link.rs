//! [`PoolLink`]: the scheduler's weak link to a pool. The scheduler is a
//! higher layer; it holds a pool weakly and submits through this link
//! without ever waiting for room (it submits from the timer thread).
//!
//! Imports: the pool's inner state and submission core.

use super::Pool;
use super::error::{SubmitError, SubmitErrorKind};
use super::inner::Inner;
use super::submit::{Wait, submit_task_with};
use crate::task::{Task, TaskHandle};
use crate::time::timer::Timer;
use std::fmt;
use std::sync::{Arc, Weak};

/// A weak link from the scheduler (a higher layer) to a pool: it does not
/// keep the pool running, and every use fails once the pool is gone.
#[derive(Clone)]
pub(crate) struct PoolLink {
    inner: Weak<Inner>,
}

impl Pool {
    /// A weak link to this pool, for the scheduler.
    pub(crate) fn link(&self) -> PoolLink {
        PoolLink {
            inner: Arc::downgrade(&self.inner),
        }
    }
}

impl PoolLink {
    /// The pool's timer (started on first use); `None` once the pool is
    /// gone or the timer thread could not start.
    pub(crate) fn timer(&self) -> Option<Arc<Timer>> {
        self.inner.upgrade()?.timer()
    }

    /// True once the pool is closed or gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner
            .upgrade()
            .is_none_or(|inner| inner.state.lock().closed)
    }

    /// Submits without waiting for room (callable from the timer thread);
    /// a pool that is gone refuses as `Closed`.
    pub(crate) fn try_submit_task<T, E>(
        &self,
        task: Task<T, E>,
    ) -> Result<TaskHandle<T, E>, SubmitError<Task<T, E>>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        match self.inner.upgrade() {
            Some(inner) => submit_task_with(&inner, task, Wait::Never),
            None => Err(SubmitError::new(SubmitErrorKind::Closed, task)),
        }
    }
}

impl fmt::Debug for PoolLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolLink")
            .field("alive", &(self.inner.strong_count() > 0))
            .finish()
    }
}
