//! The owned group: `'static` members, each on a thread of its own, waited
//! for with [`Group::wait`].

use super::core::{Core, Member, member_thread};
use super::error::{GroupError, LimitError, TryGoError};
use crate::context::Context;
use crate::sync::Mutex;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

/// An error group that owns its members: each runs on a thread of its own,
/// and [`wait`](Group::wait) joins them and returns the first error.
///
/// Use [`scope`](super::scope) instead when members borrow from the stack.
///
/// The first failure cancels the group's context with that failure as its
/// [cause](Context::cause), a [`MemberFailure`](super::MemberFailure).
///
/// Dropping a group without waiting cancels its context and joins its
/// members (their errors are then discarded): no member thread outlives it.
///
/// # Examples
///
/// ```
/// use gosling::group::{Group, MemberError};
///
/// let group = Group::new();
/// for port in [80u16, 0, 443] {
///     group.go(move |_ctx| if port == 0 { Err(format!("bad port {port}")) } else { Ok(()) });
/// }
/// let err = group.wait().unwrap_err();
/// assert_eq!(err.to_string(), "bad port 0");
/// assert!(matches!(err.first(), MemberError::Failed(_)));
/// ```
#[must_use = "a group's members are only waited for, and their errors only seen, through `wait`"]
pub struct Group<E> {
    core: Arc<Core<E>>,
    /// Join handles of started members; finished ones are reaped as new
    /// members start.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl<E: Send + fmt::Debug + 'static> Group<E> {
    /// An empty group with a new root context and no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gosling::group::Group::<String>::new();
    /// assert!(group.wait().is_ok()); // an empty group waits fine
    /// ```
    pub fn new() -> Group<E> {
        Group {
            core: Arc::new(Core::new(None)),
            threads: Mutex::new(Vec::new()),
        }
    }

    /// An empty group whose context is a child of `parent` (Go's
    /// `errgroup.WithContext`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::group::Group;
    ///
    /// let parent = Context::new();
    /// let group = Group::<()>::with_context(&parent);
    /// parent.cancel();
    /// assert!(group.context().is_cancelled());
    /// ```
    pub fn with_context(parent: &Context) -> Group<E> {
        Group {
            core: Arc::new(Core::new(Some(parent))),
            threads: Mutex::new(Vec::new()),
        }
    }
}

impl<E: Send + 'static> Group<E> {
    /// Caps how many members run at once (Go's `SetLimit`).
    ///
    /// # Errors
    ///
    /// [`LimitError::Zero`] for 0; [`LimitError::MembersActive`] while any
    /// member is running.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut group = gosling::group::Group::<()>::new();
    /// group.set_limit(2)?;
    /// assert_eq!(group.limit(), Some(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_limit(&mut self, limit: usize) -> Result<(), LimitError> {
        self.core.set_limit(limit)
    }

    /// The limit, if one is set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::group::Group::<()>::new().limit(), None);
    /// ```
    #[must_use]
    pub fn limit(&self) -> Option<usize> {
        self.core.limit()
    }

    /// How many members are running now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::group::Group::<()>::new().active(), 0);
    /// ```
    #[must_use]
    pub fn active(&self) -> usize {
        self.core.active()
    }

    /// The group's context: the one every member receives. The first
    /// failure cancels it, with that failure as its [cause](Context::cause).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::group::{Group, MemberFailure};
    ///
    /// let group = Group::new();
    /// assert!(!group.context().is_cancelled());
    /// group.go(|_| Err::<(), _>(404));
    /// let ctx = group.context().clone();
    /// let _ = group.wait();
    /// let cause = ctx.cause().unwrap();
    /// assert_eq!(cause.downcast_ref(), Some(&MemberFailure::Failed("404".to_string())));
    /// ```
    #[must_use]
    pub fn context(&self) -> &Context {
        self.core.context()
    }

    /// Starts `member` on a new thread, first waiting for a free slot when
    /// the group is at its limit (Go's `Go`).
    ///
    /// Should the OS refuse a thread, the failure is recorded as
    /// [`MemberError::SpawnFailed`](super::MemberError::SpawnFailed).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gosling::group::Group::new();
    /// group.go(|ctx| ctx.check());
    /// assert!(group.wait().is_ok());
    /// ```
    pub fn go<F>(&self, member: F)
    where
        F: FnOnce(&Context) -> Result<(), E> + Send + 'static,
    {
        self.core.go(member, |job| self.spawn(job));
    }

    /// Starts `member` only if a slot is free now (Go's `TryGo`).
    ///
    /// # Errors
    ///
    /// [`TryGoError::Full`] with the member, not run, when the group is at
    /// its limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut group = gosling::group::Group::<std::io::Error>::new();
    /// group.set_limit(1)?;
    /// assert!(group.try_go(|_| Ok(())).is_ok());
    /// group.wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_go<F>(&self, member: F) -> Result<(), TryGoError<F>>
    where
        F: FnOnce(&Context) -> Result<(), E> + Send + 'static,
    {
        self.core.try_go(member, |job| self.spawn(job))
    }

    fn spawn<F>(&self, job: Member<E, F>) -> io::Result<()>
    where
        F: FnOnce(&Context) -> Result<(), E> + Send + 'static,
    {
        let handle = member_thread().spawn(move || job.run())?;
        let mut threads = self.threads.lock();
        threads.retain(|t| !t.is_finished());
        threads.push(handle);
        Ok(())
    }

    /// Waits for every member, then returns `Ok` or every error, the first
    /// one first (Go's `Wait`). The group's context is cancelled on return.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] when at least one member failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gosling::group::Group::new();
    /// group.go(|_| Err::<(), _>("no"));
    /// assert_eq!(group.wait().unwrap_err().to_string(), "no");
    /// ```
    pub fn wait(self) -> Result<(), GroupError<E>> {
        self.join_all();
        self.core.context().cancel();
        match GroupError::from_errors(self.core.take_errors()) {
            None => Ok(()),
            Some(err) => Err(err),
        }
    }
}

impl<E> Group<E> {
    fn join_all(&self) {
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            // Members catch their own panics; a join error is impossible.
            let _ = t.join();
        }
    }
}

impl<E: Send + fmt::Debug + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E> Drop for Group<E> {
    fn drop(&mut self) {
        if !self.threads.lock().is_empty() {
            self.core.context().cancel();
            self.join_all();
        }
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("context", self.core.context())
            .field("active", &self.core.active())
            .field("limit", &self.core.limit())
            .finish_non_exhaustive()
    }
}
