//! Scoped groups: members on scoped threads that may borrow from the
//! caller's stack; the end of the scope waits for all of them.

use super::core::{Core, Member, member_thread};
use super::error::{GroupError, LimitError, TryGoError};
use crate::context::Context;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread;

/// Runs a group whose members may borrow from the caller's stack, and waits
/// for all of them when `f` returns (Go's `Wait`).
///
/// `f` receives the group's [`ScopedGroup`]; members started with [`ScopedGroup::go`]
/// run on scoped threads and receive the group's context, a new root
/// [`Context`]. The first member to fail cancels that context, with its
/// failure as the [cause](Context::cause) (a
/// [`MemberFailure`](super::MemberFailure) carrying the error's `Debug`
/// text); the others see it and can stop early.
///
/// Returns `f`'s value when no member failed.
///
/// # Errors
///
/// A [`GroupError`] with every member error, the first one first, when at
/// least one member failed (returned `Err`, panicked, or could not be given
/// a thread).
///
/// # Panics
///
/// If `f` itself panics, the group's context is cancelled, every member is
/// joined, and the panic is resumed. Member panics never propagate: they
/// become [`MemberError::Panicked`](super::MemberError::Panicked).
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let lengths = [3usize, 5, 8];
/// let total = AtomicUsize::new(0); // borrowed by every member
/// gosling::group::scope(|g| {
///     for n in &lengths {
///         let total = &total;
///         g.go(move |_ctx| {
///             total.fetch_add(*n, Ordering::Relaxed);
///             Ok::<(), String>(())
///         });
///     }
/// })
/// .unwrap();
/// assert_eq!(total.into_inner(), 16);
/// ```
pub fn scope<'env, E, T, F>(f: F) -> Result<T, GroupError<E>>
where
    E: Send + fmt::Debug + 'env,
    F: for<'scope> FnOnce(&ScopedGroup<'scope, 'env, E>) -> T,
{
    run_scope(None, f)
}

/// As [`scope`], with the group's context a child of `parent`: cancelling
/// `parent` (or its deadline passing) cancels the members' context too
/// (Go's `errgroup.WithContext`).
///
/// # Errors
///
/// As [`scope`].
///
/// # Panics
///
/// As [`scope`].
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
///
/// let request = Context::new();
/// request.cancel();
/// let seen = gosling::group::scope_with_context(&request, |g| {
///     g.go(|ctx| ctx.check()); // the member sees its parent's cancellation
/// });
/// assert!(seen.is_err());
/// ```
pub fn scope_with_context<'env, E, T, F>(parent: &Context, f: F) -> Result<T, GroupError<E>>
where
    E: Send + fmt::Debug + 'env,
    F: for<'scope> FnOnce(&ScopedGroup<'scope, 'env, E>) -> T,
{
    run_scope(Some(parent), f)
}

fn run_scope<'env, E, T, F>(parent: Option<&Context>, f: F) -> Result<T, GroupError<E>>
where
    E: Send + fmt::Debug + 'env,
    F: for<'scope> FnOnce(&ScopedGroup<'scope, 'env, E>) -> T,
{
    let core = Arc::new(Core::new(parent));
    let value = thread::scope(|threads| {
        // Should `f` panic, cancel the members before `thread::scope` joins
        // them, so that they can stop instead of running to completion.
        struct CancelOnUnwind<'a>(&'a Context);
        impl Drop for CancelOnUnwind<'_> {
            fn drop(&mut self) {
                if thread::panicking() {
                    self.0.cancel();
                }
            }
        }
        let _guard = CancelOnUnwind(core.context());
        f(&ScopedGroup {
            threads,
            core: Arc::clone(&core),
        })
    });
    // Go cancels the group's context once `Wait` returns; so do we, for any
    // clone of it that outlives the scope.
    core.context().cancel();
    match GroupError::from_errors(core.take_errors()) {
        None => Ok(value),
        Some(err) => Err(err),
    }
}

/// The handle [`scope`] passes to its closure: starts members, sets the limit.
///
/// Members may borrow anything that outlives the scope (`'scope`), and they
/// receive the group's context. See the [module docs](super) for Go's
/// `errgroup` mapped to these methods.
///
/// # Examples
///
/// ```
/// let data = vec![1, 2, 3];
/// gosling::group::scope(|g| {
///     g.go(|_ctx| if data.len() == 3 { Ok(()) } else { Err("short") });
/// })
/// .unwrap();
/// ```
pub struct ScopedGroup<'scope, 'env: 'scope, E> {
    threads: &'scope thread::Scope<'scope, 'env>,
    core: Arc<Core<E>>,
}

impl<'scope, 'env, E: Send + 'env> ScopedGroup<'scope, 'env, E> {
    /// Starts `member` on a scoped thread, first waiting for a free slot when
    /// the group has a [limit](ScopedGroup::set_limit) and is at it (Go's `Go`).
    ///
    /// Should the OS refuse a thread, the failure is recorded as
    /// [`MemberError::SpawnFailed`](super::MemberError::SpawnFailed) and
    /// cancels the group like any other member error.
    ///
    /// As in Go, a member started after the group was cancelled still runs,
    /// with its context already cancelled: check it first (or check
    /// [`ScopedGroup::context`] before calling `go`) to skip the work.
    ///
    /// Members run on other threads, so they must be `Send`:
    ///
    /// ```compile_fail
    /// let shared = std::rc::Rc::new(5);
    /// let _ = gosling::group::scope(|g| {
    ///     g.go(move |_| if *shared == 5 { Ok(()) } else { Err(()) });
    /// });
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// let mut results = [0u64; 4];
    /// gosling::group::scope(|g| {
    ///     for (i, slot) in results.iter_mut().enumerate() {
    ///         g.go(move |_ctx| {
    ///             *slot = (i as u64 + 1) * 10;
    ///             Ok::<(), ()>(())
    ///         });
    ///     }
    /// })
    /// .unwrap();
    /// assert_eq!(results, [10, 20, 30, 40]);
    /// ```
    pub fn go<F>(&self, member: F)
    where
        F: FnOnce(&Context) -> Result<(), E> + Send + 'scope,
    {
        self.core.go(member, |job| self.spawn(job));
    }

    /// Starts `member` only if a slot is free now; never waits (Go's `TryGo`).
    /// Without a limit it always starts the member.
    ///
    /// # Errors
    ///
    /// [`TryGoError::Full`] with the member, not run, when the group is at
    /// its limit.
    ///
    /// # Examples
    ///
    /// ```
    /// gosling::group::scope(|g| {
    ///     g.set_limit(2).unwrap();
    ///     assert!(g.try_go(|_| Ok::<(), ()>(())).is_ok());
    /// })
    /// .unwrap();
    /// ```
    pub fn try_go<F>(&self, member: F) -> Result<(), TryGoError<F>>
    where
        F: FnOnce(&Context) -> Result<(), E> + Send + 'scope,
    {
        self.core.try_go(member, |job| self.spawn(job))
    }

    fn spawn<F>(&self, job: Member<E, F>) -> io::Result<()>
    where
        F: FnOnce(&Context) -> Result<(), E> + Send + 'scope,
    {
        member_thread()
            .spawn_scoped(self.threads, move || job.run())
            .map(drop)
    }

    /// Caps how many members run at once (Go's `SetLimit`).
    ///
    /// # Errors
    ///
    /// [`LimitError::Zero`] for 0; [`LimitError::MembersActive`] while any
    /// member is running (the limit is set before starting members).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::group::LimitError;
    /// gosling::group::scope(|g| {
    ///     assert_eq!(g.set_limit(0), Err(LimitError::Zero));
    ///     g.set_limit(3).unwrap();
    ///     assert_eq!(g.limit(), Some(3));
    ///     g.go(|_| Ok::<(), ()>(()));
    /// })
    /// .unwrap();
    /// ```
    pub fn set_limit(&self, limit: usize) -> Result<(), LimitError> {
        self.core.set_limit(limit)
    }

    /// The limit, if one is set.
    ///
    /// # Examples
    ///
    /// ```
    /// gosling::group::scope(|g| assert_eq!(g.limit(), None)).unwrap_or_else(|_: gosling::group::GroupError<()>| unreachable!());
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
    /// gosling::group::scope(|g| {
    ///     assert_eq!(g.active(), 0);
    ///     g.go(|_| Ok::<(), ()>(()));
    /// })
    /// .unwrap();
    /// ```
    #[must_use]
    pub fn active(&self) -> usize {
        self.core.active()
    }

    /// Waits until every member started so far has finished, without ending
    /// the scope; more members may be started afterwards. Errors are still
    /// returned at the end of the scope.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// let done = AtomicBool::new(false);
    /// gosling::group::scope(|g| {
    ///     g.go(|_| { done.store(true, Ordering::Relaxed); Ok::<(), ()>(()) });
    ///     g.wait_idle();
    ///     assert!(done.load(Ordering::Relaxed));
    /// })
    /// .unwrap();
    /// ```
    pub fn wait_idle(&self) {
        self.core.wait_idle();
    }

    /// The group's context: the one every member receives. Cancelled by the
    /// first failure (with that failure as its [cause](Context::cause)), by
    /// the parent's cancellation, or by calling [`Context::cancel`] on it.
    ///
    /// # Examples
    ///
    /// ```
    /// gosling::group::scope(|g| {
    ///     g.go(|_| Err::<(), _>("fail"));
    ///     g.wait_idle();
    ///     assert!(g.context().is_cancelled());
    /// })
    /// .unwrap_err();
    /// ```
    #[must_use]
    pub fn context(&self) -> &Context {
        self.core.context()
    }
}

impl<E> fmt::Debug for ScopedGroup<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedGroup")
            .field("context", self.core.context())
            .field("active", &self.core.active())
            .field("limit", &self.core.limit())
            .finish_non_exhaustive()
    }
}
