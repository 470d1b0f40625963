//! The pool-backed group: `'static` members run as tasks on a [`Pool`],
//! waited for with [`PoolGroup::wait`].
//!
//! Maintainer notes. Members wait in the group's own queue; the pool gets
//! *runners*: a runner takes members from the queue while the limit allows
//! and exits when the queue is empty or the limit is reached. A member that
//! finishes frees its slot and its runner takes the next member at once, so
//! members beyond the limit wait in the group — holding no worker — and the
//! slot passes from hand to hand without another submit. The queue, the
//! slot count and the limit sit under one mutex (`Shared::state`), so taking
//! a member and its slot is one step, and a waiter checks "queue empty and
//! nothing active" under the lock that finishing members notify under.
//!
//! Deadlock: a `wait` on a worker of the same pool would block that worker
//! while runners may be queued behind it (with one worker, for ever). So a
//! waiter on one of the pool's workers *helps*: it runs queued members
//! itself, within the limit, before blocking for the ones running
//! elsewhere. A waiter elsewhere helps only when a runner was refused by the
//! pool (closed, full) or dropped unrun (a shutdown discarded it): then no
//! runner may ever come, and the members still run exactly once.

use super::core::Core;
use super::error::{GroupError, LimitError, TryGoError};
use crate::context::Context;
use crate::pool::Pool;
use crate::sync::{Condvar, Mutex};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

type Member<E> = Box<dyn FnOnce(&Context) -> Result<(), E> + Send>;

/// An error group whose `'static` members run as tasks on a [`Pool`]; see
/// [the module docs](super) for the semantics every group shares.
///
/// Differences from [`Group`](super::Group):
///
/// - [`go`](PoolGroup::go) never blocks: a member beyond the limit waits in
///   the group's queue, holding no thread and no worker, and starts on the
///   worker of a member that finishes.
/// - [`wait`](PoolGroup::wait) may be called from a task of the same pool,
///   even on a one-worker pool: there it runs the members that have not
///   started yet itself (within the limit) instead of blocking the worker
///   they are queued behind.
/// - Should the pool refuse a member's task (closed, or full with a
///   rejecting policy) or discard it unrun (a shutdown), the member still
///   runs: `wait` runs it on the waiting thread.
/// - Members receive the group's context, not the pool's (the first
///   failure cancels it, with that failure as its
///   [cause](Context::cause)): to have a pool
///   shutdown reach them, make the group's context a child of one you cancel
///   then ([`with_context`](PoolGroup::with_context)).
///
/// Dropping a group without waiting cancels its context and waits for its
/// members (their errors are then discarded).
///
/// # Examples
///
/// ```
/// use gosling::group::{MemberError, PoolGroup};
/// use gosling::Pool;
///
/// let pool = Pool::new(2)?;
/// let mut group = PoolGroup::new(&pool);
/// group.set_limit(2).unwrap();
/// for port in [80u16, 0, 443] {
///     group.go(move |_ctx| if port == 0 { Err(format!("bad port {port}")) } else { Ok(()) });
/// }
/// let err = group.wait().unwrap_err();
/// assert_eq!(err.to_string(), "bad port 0");
/// assert!(matches!(err.first(), MemberError::Failed(_)));
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[must_use = "a group's members are only waited for, and their errors only seen, through `wait`"]
pub struct PoolGroup<'p, E: Send + 'static> {
    pool: &'p Pool,
    shared: Arc<Shared<E>>,
}

struct Shared<E> {
    core: Core<E>,
    /// Queued members, running members and the limit.
    state: Mutex<State<E>>,
    /// Notified under `state` when a member finishes or a runner is lost.
    changed: Condvar,
}

struct State<E> {
    /// Members not yet started, in `go` order.
    queue: VecDeque<Member<E>>,
    /// Members started and not finished (each holds a slot).
    active: usize,
    limit: Option<usize>,
    /// A runner was refused by the pool or dropped unrun: waiters help.
    orphaned: bool,
}

impl<E> State<E> {
    fn has_slot(&self) -> bool {
        self.limit.is_none_or(|limit| self.active < limit)
    }
}

impl<E: Send + 'static> Shared<E> {
    /// Takes the next queued member and its slot, if both are there.
    fn next(&self) -> Option<Member<E>> {
        let mut state = self.state.lock();
        if !state.has_slot() {
            return None;
        }
        let member = state.queue.pop_front()?;
        state.active += 1;
        Some(member)
    }

    /// Runs queued members while the limit allows.
    fn drain(&self) {
        while let Some(member) = self.next() {
            // The slot is given back even if recording the error panics.
            struct Done<'a, E>(&'a Shared<E>);
            impl<E> Drop for Done<'_, E> {
                fn drop(&mut self) {
                    let mut state = self.0.state.lock();
                    state.active -= 1;
                    self.0.changed.notify_all();
                }
            }
            let _done = Done(self);
            self.core.run_member(member);
        }
    }

    fn orphan(&self) {
        let mut state = self.state.lock();
        state.orphaned = true;
        self.changed.notify_all();
    }

    /// Until every member has run: helping (running queued members on this
    /// thread) when `help` says so or a runner was lost.
    fn wait_all(&self, help: bool) {
        loop {
            let mut state = self.state.lock();
            loop {
                if state.queue.is_empty() && state.active == 0 {
                    return;
                }
                if (help || state.orphaned) && !state.queue.is_empty() && state.has_slot() {
                    break;
                }
                state = self.changed.wait(state);
            }
            drop(state);
            self.drain();
        }
    }
}

/// A runner on the pool. Dropped without running (a shutdown discarded
/// it), it tells the waiters that they must run the members themselves.
struct Runner<E: Send + 'static> {
    shared: Arc<Shared<E>>,
    ran: bool,
}

impl<E: Send + 'static> Runner<E> {
    fn run(mut self) {
        self.ran = true;
        self.shared.drain();
    }
}

impl<E: Send + 'static> Drop for Runner<E> {
    fn drop(&mut self) {
        if !self.ran {
            self.shared.orphan();
        }
    }
}

impl<'p, E: Send + fmt::Debug + 'static> PoolGroup<'p, E> {
    /// An empty group on `pool`, with a new root context and no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let group = gosling::group::PoolGroup::<String>::new(&pool);
    /// assert!(group.wait().is_ok()); // an empty group waits fine
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn new(pool: &'p Pool) -> PoolGroup<'p, E> {
        PoolGroup::build(pool, None)
    }

    /// An empty group on `pool` whose context is a child of `parent` (Go's
    /// `errgroup.WithContext`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::group::PoolGroup;
    ///
    /// let pool = gosling::Pool::new(1)?;
    /// let parent = Context::new();
    /// let group = PoolGroup::<()>::with_context(&pool, &parent);
    /// parent.cancel();
    /// assert!(group.context().is_cancelled());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn with_context(pool: &'p Pool, parent: &Context) -> PoolGroup<'p, E> {
        PoolGroup::build(pool, Some(parent))
    }

    fn build(pool: &'p Pool, parent: Option<&Context>) -> PoolGroup<'p, E> {
        PoolGroup {
            pool,
            shared: Arc::new(Shared {
                core: Core::new(parent),
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    active: 0,
                    limit: None,
                    orphaned: false,
                }),
                changed: Condvar::new(),
            }),
        }
    }
}

impl<'p, E: Send + 'static> PoolGroup<'p, E> {
    /// Caps how many members run at once (Go's `SetLimit`); the others wait
    /// in the group, holding no worker.
    ///
    /// # Errors
    ///
    /// [`LimitError::Zero`] for 0; [`LimitError::MembersActive`] while any
    /// member is running or waiting to.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let mut group = gosling::group::PoolGroup::<()>::new(&pool);
    /// group.set_limit(2).unwrap();
    /// assert_eq!(group.limit(), Some(2));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn set_limit(&mut self, limit: usize) -> Result<(), LimitError> {
        if limit == 0 {
            return Err(LimitError::Zero);
        }
        let mut state = self.shared.state.lock();
        let members = state.active + state.queue.len();
        if members > 0 {
            return Err(LimitError::MembersActive { active: members });
        }
        state.limit = Some(limit);
        Ok(())
    }

    /// The limit, if one is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// assert_eq!(gosling::group::PoolGroup::<()>::new(&pool).limit(), None);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn limit(&self) -> Option<usize> {
        self.shared.state.lock().limit
    }

    /// How many members are running now.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// assert_eq!(gosling::group::PoolGroup::<()>::new(&pool).active(), 0);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn active(&self) -> usize {
        self.shared.state.lock().active
    }

    /// How many members wait for a slot (or for a worker to start them).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// assert_eq!(gosling::group::PoolGroup::<()>::new(&pool).queued(), 0);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn queued(&self) -> usize {
        self.shared.state.lock().queue.len()
    }

    /// The group's context: the one every member receives. The first
    /// failure cancels it, with that failure as its [cause](Context::cause).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::group::{MemberFailure, PoolGroup};
    ///
    /// let pool = gosling::Pool::new(1)?;
    /// let group = PoolGroup::new(&pool);
    /// assert!(!group.context().is_cancelled());
    /// group.go(|_| Err::<(), _>("refused"));
    /// let ctx = group.context().clone();
    /// let _ = group.wait();
    /// let cause = ctx.cause().unwrap();
    /// assert_eq!(cause.downcast_ref(), Some(&MemberFailure::Failed("\"refused\"".to_string())));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn context(&self) -> &Context {
        self.shared.core.context()
    }

    /// Adds `member`; it starts on the pool as soon as the limit allows
    /// (Go's `Go`, without blocking the caller).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(2)?;
    /// let group = gosling::group::PoolGroup::new(&pool);
    /// group.go(|ctx| ctx.check());
    /// assert!(group.wait().is_ok());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn go<F>(&self, member: F)
    where
        F: FnOnce(&Context) -> Result<(), E> + Send + 'static,
    {
        let start = {
            let mut state = self.shared.state.lock();
            state.queue.push_back(Box::new(member));
            state.has_slot()
        };
        if start {
            self.start_runner();
        }
    }

    /// Adds `member` only if a slot is free now (Go's `TryGo`).
    ///
    /// # Errors
    ///
    /// [`TryGoError::Full`] with the member, not run, when the group is at
    /// its limit (members running or queued).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let mut group = gosling::group::PoolGroup::<()>::new(&pool);
    /// group.set_limit(1).unwrap();
    /// assert!(group.try_go(|_| Ok(())).is_ok());
    /// group.wait().unwrap();
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn try_go<F>(&self, member: F) -> Result<(), TryGoError<F>>
    where
        F: FnOnce(&Context) -> Result<(), E> + Send + 'static,
    {
        {
            let mut state = self.shared.state.lock();
            let taken = state.active + state.queue.len();
            if state.limit.is_some_and(|limit| taken >= limit) {
                return Err(TryGoError::Full(member));
            }
            state.queue.push_back(Box::new(member));
        }
        self.start_runner();
        Ok(())
    }

    fn start_runner(&self) {
        let runner = Runner {
            shared: Arc::clone(&self.shared),
            ran: false,
        };
        // Never waits for room (`go` never blocks, and a member calling `go`
        // on a full pool must not wait for its own worker). Refused, the
        // runner comes back inside the error and is dropped unrun, which
        // tells the waiters to run the member themselves.
        let _ = self.pool.try_spawn(move |_pool_ctx| runner.run());
    }

    /// Waits for every member, then returns `Ok` or every error, the first
    /// one first (Go's `Wait`). The group's context is cancelled on return.
    ///
    /// Called on a worker of the group's pool, it runs queued members
    /// itself rather than block the worker they wait behind.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] when at least one member failed.
    ///
    /// # Examples
    ///
    /// A group waited for inside a task of a one-worker pool:
    ///
    /// ```
    /// use gosling::group::PoolGroup;
    /// use gosling::Pool;
    /// use std::sync::Arc;
    ///
    /// let pool = Arc::new(Pool::new(1)?);
    /// let inner = Arc::clone(&pool);
    /// let handle = pool.submit(move |_| {
    ///     let group = PoolGroup::new(&inner);
    ///     group.go(|_| Ok(()));
    ///     group.go(|_| Err("no"));
    ///     group.wait().map_err(|e| e.to_string())
    /// }).unwrap();
    /// assert_eq!(handle.wait().unwrap(), Err("no".to_string()));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn wait(self) -> Result<(), GroupError<E>> {
        self.shared.wait_all(self.pool.is_current_worker());
        self.shared.core.context().cancel();
        match GroupError::from_errors(self.shared.core.take_errors()) {
            None => Ok(()),
            Some(err) => Err(err),
        }
    }
}

impl<E: Send + 'static> Drop for PoolGroup<'_, E> {
    fn drop(&mut self) {
        let pending = {
            let state = self.shared.state.lock();
            state.active + state.queue.len()
        };
        if pending > 0 {
            self.shared.core.context().cancel();
            self.shared.wait_all(self.pool.is_current_worker());
        }
    }
}

impl<E: Send + 'static> fmt::Debug for PoolGroup<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.lock();
        f.debug_struct("PoolGroup")
            .field("context", self.shared.core.context())
            .field("active", &state.active)
            .field("queued", &state.queue.len())
            .field("limit", &state.limit)
            .finish_non_exhaustive()
    }
}
