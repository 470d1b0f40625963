//! Context: cooperative cancellation, deadlines and request-scoped values,
//! in the manner of Go's `context` package.
//!
//! A [`Context`] is a node in a tree. Cancelling a node cancels every node
//! below it, never one above it. A node's deadline is the earliest of its own
//! and its ancestors'. Values set on a node are visible from every descendant.
//!
//! Rust cannot stop a thread from outside, so cancellation is cooperative: a
//! task polls [`Context::is_cancelled`] or [`Context::check`], or waits with
//! [`Context::sleep`] / [`Context::wait_cancelled_timeout`] (and their
//! `_until` / `_deadline` forms), which return early.
//!
//! Protocol (maintainers): a node's `state` moves once, from `ACTIVE` to one
//! of the reason codes, by compare-and-swap under the node's lock; the
//! winner stores the cause (if any) under that same lock hold, detaches its
//! children list and notifies its waiters, then cancels the children with
//! the same reason and cause (iteratively, so a deep chain cannot overflow
//! the stack). A reader that has seen the state cancelled and then takes the
//! lock therefore finds the cause in place. A child is attached under the parent's lock after checking the
//! parent's state under that same lock, so a child is either in the list the
//! canceller detaches or sees the parent already cancelled — never neither.
//! Deadlines are checked lazily against the node's clock by every read.
//!
//! Files: this one holds [`Context`] and its cancellation tree;
//! `signal.rs` turns OS signals (Ctrl-C, `SIGTERM`) into the cancellation
//! of a context, through a [`SignalListener`].
//!
//! Imports (maintainers): `time` (the clock) and `sync` (locks, wakers)
//! only; `context` is the base that limits, groups, retries and the pool
//! build on, so it imports none of them.

pub mod signal;
pub use signal::{ListenError, Signal, SignalListener};

use crate::sync::{Condvar, Mutex, Wake};
use crate::time::Clock;
use std::any::{Any, TypeId};
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

const ACTIVE: u8 = 0;
const CANCELLED: u8 = 1;
const DEADLINE_EXCEEDED: u8 = 2;
const SHUTDOWN: u8 = 3;

/// Why a [`Context`] was cancelled.
///
/// # Examples
///
/// ```
/// use gosling::context::{CancelReason, Context};
///
/// let ctx = Context::new();
/// ctx.cancel();
/// assert_eq!(ctx.reason(), Some(CancelReason::Cancelled));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelReason {
    /// [`Context::cancel`] was called on this context or an ancestor.
    Cancelled,
    /// The deadline of this context or an ancestor passed.
    DeadlineExceeded,
    /// The pool (or other owner) running the work is shutting down.
    Shutdown,
}

impl CancelReason {
    fn code(self) -> u8 {
        match self {
            CancelReason::Cancelled => CANCELLED,
            CancelReason::DeadlineExceeded => DEADLINE_EXCEEDED,
            CancelReason::Shutdown => SHUTDOWN,
        }
    }

    fn from_code(code: u8) -> Option<CancelReason> {
        match code {
            CANCELLED => Some(CancelReason::Cancelled),
            DEADLINE_EXCEEDED => Some(CancelReason::DeadlineExceeded),
            SHUTDOWN => Some(CancelReason::Shutdown),
            _ => None,
        }
    }
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CancelReason::Cancelled => "cancelled",
            CancelReason::DeadlineExceeded => "deadline exceeded",
            CancelReason::Shutdown => "shutting down",
        })
    }
}

/// The error [`Context::check`] and [`Context::sleep`] return once the
/// context is cancelled; it carries the [`CancelReason`].
///
/// # Examples
///
/// ```
/// use gosling::context::{CancelReason, Context};
///
/// let ctx = Context::new();
/// ctx.cancel();
/// let err = ctx.check().unwrap_err();
/// assert_eq!(err.reason(), CancelReason::Cancelled);
/// assert_eq!(err.to_string(), "context cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cancelled {
    reason: CancelReason,
}

impl Cancelled {
    /// Builds the error for `reason`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Cancelled};
    /// let err = Cancelled::new(CancelReason::Shutdown);
    /// assert_eq!(err.reason(), CancelReason::Shutdown);
    /// ```
    #[must_use]
    pub const fn new(reason: CancelReason) -> Cancelled {
        Cancelled { reason }
    }

    /// Why the context was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Cancelled};
    /// assert_eq!(Cancelled::new(CancelReason::DeadlineExceeded).reason(), CancelReason::DeadlineExceeded);
    /// ```
    #[must_use]
    pub const fn reason(&self) -> CancelReason {
        self.reason
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            CancelReason::Cancelled => f.write_str("context cancelled"),
            CancelReason::DeadlineExceeded => f.write_str("context deadline exceeded"),
            CancelReason::Shutdown => f.write_str("context cancelled: shutting down"),
        }
    }
}

impl Error for Cancelled {}

/// The cause of a cancellation, as [`Context::cause`] returns it: any error,
/// shared by the context and its descendants.
///
/// # Examples
///
/// ```
/// use gosling::context::{CancelCause, Context};
///
/// let ctx = Context::new();
/// ctx.cancel_with_cause("quota exhausted");
/// let cause: CancelCause = ctx.cause().unwrap();
/// assert_eq!(cause.to_string(), "quota exhausted");
/// ```
pub type CancelCause = Arc<dyn Error + Send + Sync + 'static>;

/// A cancellation scope with an optional deadline and typed values.
///
/// Cheap to clone (one `Arc`); clones are the same context. Children are
/// made with [`child`](Context::child), [`with_deadline`](Context::with_deadline),
/// [`with_timeout`](Context::with_timeout) and [`with_value`](Context::with_value).
///
/// Differences from Go's `context.Context`: cancelling is a method on the
/// context itself rather than a separate function, and it reaches the context
/// and its descendants only — a task can cancel its own scope, never its
/// caller's. Deadlines are read from the context's [`Clock`], so tests can
/// drive them with a [`ManualClock`](crate::time::ManualClock). The cause of
/// a cancellation (Go's `context.Cause`) is given to
/// [`cancel_with_cause`](Context::cancel_with_cause) rather than to a
/// separate `WithCancelCause` function, and read with
/// [`cause`](Context::cause).
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
///
/// let request = Context::new();
/// let step = request.child();
/// request.cancel();
/// assert!(step.is_cancelled()); // cancelling a parent cancels its children
///
/// let other = Context::new();
/// let child = other.child();
/// child.cancel();
/// assert!(!other.is_cancelled()); // ...and never the other way round
/// ```
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

struct Node {
    /// `ACTIVE` or a reason code; moves once, by compare-and-swap.
    state: AtomicU8,
    /// Effective deadline: the earliest of this node's and its ancestors'.
    deadline: Option<Instant>,
    clock: Clock,
    /// Keeps ancestors (and their values) alive for as long as this node is.
    parent: Option<Arc<Node>>,
    value: Option<(TypeId, Box<dyn Any + Send + Sync>)>,
    /// Protected: the children to cancel with this node, and whether this node
    /// is registered with its (manual) clock.
    inner: Mutex<Inner>,
    /// Waiters in `sleep` / `wait_cancelled_timeout`; notified under `inner`.
    cv: Condvar,
}

#[derive(Default)]
struct Inner {
    children: Vec<Weak<Node>>,
    /// Dead entries are pruned when the list reaches this length.
    prune_at: usize,
    clock_subscribed: bool,
    /// Foreign waiters (e.g. a concurrency limiter's) to wake on
    /// cancellation; see `Context::subscribe`.
    wakers: Vec<Weak<dyn Wake>>,
    /// The cause given by the cancellation that won (this node's or an
    /// ancestor's), if it gave one; set once, with the state.
    cause: Option<CancelCause>,
}

impl Wake for Node {
    fn wake(&self) {
        let _guard = self.inner.lock();
        self.cv.notify_all();
    }
}

impl Node {
    fn new(
        parent: Option<&Arc<Node>>,
        clock: Clock,
        deadline: Option<Instant>,
        value: Option<(TypeId, Box<dyn Any + Send + Sync>)>,
    ) -> Arc<Node> {
        let deadline = match (parent.and_then(|p| p.deadline), deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let node = Arc::new(Node {
            state: AtomicU8::new(ACTIVE),
            deadline,
            clock,
            parent: parent.cloned(),
            value,
            inner: Mutex::new(Inner::default()),
            cv: Condvar::new(),
        });
        if let Some(parent) = parent {
            let mut inner = parent.inner.lock();
            // ORDERING: Acquire pairs with the AcqRel CAS in `cancel`; reading
            // under the parent's lock closes the race described in the module
            // notes.
            let parent_state = parent.state.load(Ordering::Acquire);
            if parent_state == ACTIVE {
                if inner.children.len() >= inner.prune_at {
                    inner.children.retain(|c| c.strong_count() > 0);
                    inner.prune_at = (inner.children.len() * 2).max(8);
                }
                inner.children.push(Arc::downgrade(&node));
            } else {
                // The node is not shared yet: nobody can observe the order.
                node.inner.lock().cause = inner.cause.clone();
                node.state.store(parent_state, Ordering::Release);
            }
        }
        node
    }

    #[inline]
    fn state(&self) -> u8 {
        // ORDERING: Acquire so that whatever the canceller wrote before
        // cancelling is visible to whoever observes the cancellation.
        let state = self.state.load(Ordering::Acquire);
        if state != ACTIVE {
            return state;
        }
        match self.deadline {
            Some(deadline) if self.clock.now() >= deadline => {
                cancel_tree(self, DEADLINE_EXCEEDED, None);
                self.state.load(Ordering::Acquire)
            }
            _ => ACTIVE,
        }
    }

    /// Moves this node out of `ACTIVE` with `cause`; returns the children
    /// to cancel when this call did it.
    fn try_cancel(&self, code: u8, cause: Option<&CancelCause>) -> Option<Vec<Weak<Node>>> {
        // ORDERING: cheap refusal of a node already cancelled; the
        // compare-and-swap below decides.
        if self.state.load(Ordering::Relaxed) != ACTIVE {
            return None;
        }
        let (children, wakers) = {
            let mut inner = self.inner.lock();
            // ORDERING: AcqRel: Release publishes the caller's prior writes
            // to whoever observes the cancellation; Acquire orders our
            // detaching of the children after the state change. Under the
            // lock, so that the cause is in place for any reader who saw the
            // state and then takes the lock.
            if self
                .state
                .compare_exchange(ACTIVE, code, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return None;
            }
            inner.cause = cause.cloned();
            let children = std::mem::take(&mut inner.children);
            let wakers = std::mem::take(&mut inner.wakers);
            self.cv.notify_all();
            (children, wakers)
        };
        // Outside our lock: a waker takes its owner's lock.
        for waker in wakers.iter().filter_map(Weak::upgrade) {
            waker.wake();
        }
        Some(children)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Unlink the ancestor chain iteratively: the default drop would
        // recurse once per generation and overflow on a long chain.
        let mut parent = self.parent.take();
        while let Some(node) = parent {
            parent = match Arc::try_unwrap(node) {
                Ok(mut owned) => owned.parent.take(),
                Err(_) => None,
            };
        }
    }
}

/// Cancels `root` and every descendant still active, iteratively, with
/// `cause`.
fn cancel_tree(root: &Node, code: u8, cause: Option<CancelCause>) -> bool {
    let Some(children) = root.try_cancel(code, cause.as_ref()) else {
        return false;
    };
    let mut pending: Vec<Weak<Node>> = children;
    while let Some(weak) = pending.pop() {
        if let Some(child) = weak.upgrade() {
            if let Some(grandchildren) = child.try_cancel(code, cause.as_ref()) {
                pending.extend(grandchildren);
            }
        }
    }
    true
}

impl Context {
    /// A new root context on the system clock: no deadline, no values, not
    /// cancelled until [`cancel`](Context::cancel) is called on it.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = gosling::context::Context::new();
    /// assert!(!ctx.is_cancelled());
    /// assert_eq!(ctx.deadline(), None);
    /// ```
    #[must_use]
    pub fn new() -> Context {
        Context::with_clock(Clock::system())
    }

    /// A new root context whose deadlines and sleeps use `clock`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::time::ManualClock;
    ///
    /// let manual = ManualClock::new();
    /// let ctx = Context::with_clock(manual.clock());
    /// assert!(ctx.clock().is_manual());
    /// ```
    #[must_use]
    pub fn with_clock(clock: Clock) -> Context {
        Context {
            node: Node::new(None, clock, None, None),
        }
    }

    /// A root with a deadline: one node, where `with_clock(..).with_deadline(..)`
    /// makes two (the pool uses it for every task with a timeout).
    pub(crate) fn root_with_deadline(clock: Clock, deadline: Instant) -> Context {
        Context {
            node: Node::new(None, clock, Some(deadline), None),
        }
    }

    /// A child: cancelled with this context, cancellable on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let parent = gosling::context::Context::new();
    /// let child = parent.child();
    /// child.cancel();
    /// assert!(child.is_cancelled() && !parent.is_cancelled());
    /// ```
    #[must_use]
    pub fn child(&self) -> Context {
        self.derive(None, None)
    }

    /// A child whose deadline is the earlier of `deadline` and this context's.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use std::time::{Duration, Instant};
    ///
    /// let soon = Instant::now() + Duration::from_secs(1);
    /// let later = soon + Duration::from_secs(60);
    /// let parent = Context::new().with_deadline(soon);
    /// assert_eq!(parent.with_deadline(later).deadline(), Some(soon));
    /// ```
    #[must_use]
    pub fn with_deadline(&self, deadline: Instant) -> Context {
        self.derive(Some(deadline), None)
    }

    /// A child whose deadline is `timeout` from now on this context's clock
    /// (or this context's deadline, if earlier). A timeout too large to
    /// represent means no deadline of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Context};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new().with_timeout(Duration::ZERO);
    /// assert_eq!(ctx.reason(), Some(CancelReason::DeadlineExceeded));
    /// ```
    #[must_use]
    pub fn with_timeout(&self, timeout: Duration) -> Context {
        let deadline = self.node.clock.now().checked_add(timeout);
        self.derive(deadline, None)
    }

    /// A child carrying `value`, readable with [`value`](Context::value) from
    /// it and every descendant. A value of the same type set lower in the
    /// tree shadows this one.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct RequestId(u64);
    ///
    /// let ctx = Context::new().with_value(RequestId(7));
    /// let grandchild = ctx.child().child();
    /// assert_eq!(grandchild.value::<RequestId>(), Some(&RequestId(7)));
    /// assert_eq!(Context::new().value::<RequestId>(), None);
    /// ```
    #[must_use]
    pub fn with_value<T: Any + Send + Sync>(&self, value: T) -> Context {
        self.derive(None, Some((TypeId::of::<T>(), Box::new(value))))
    }

    fn derive(
        &self,
        deadline: Option<Instant>,
        value: Option<(TypeId, Box<dyn Any + Send + Sync>)>,
    ) -> Context {
        Context {
            node: Node::new(Some(&self.node), self.node.clock.clone(), deadline, value),
        }
    }

    /// The nearest value of type `T` on this context or an ancestor.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// let ctx = Context::new().with_value("tenant-42");
    /// assert_eq!(ctx.child().value::<&str>(), Some(&"tenant-42"));
    /// ```
    #[must_use]
    pub fn value<T: Any + Send + Sync>(&self) -> Option<&T> {
        let wanted = TypeId::of::<T>();
        let mut node: &Arc<Node> = &self.node;
        loop {
            if let Some((id, value)) = &node.value {
                if *id == wanted {
                    return value.downcast_ref::<T>();
                }
            }
            node = node.parent.as_ref()?;
        }
    }

    /// True once this context is cancelled or its deadline has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = gosling::context::Context::new();
    /// assert!(!ctx.is_cancelled());
    /// ctx.cancel();
    /// assert!(ctx.is_cancelled());
    /// ```
    #[inline]
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.node.state() != ACTIVE
    }

    /// Why this context was cancelled, or `None` while it is active.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Context};
    /// let ctx = Context::new();
    /// assert_eq!(ctx.reason(), None);
    /// ctx.cancel();
    /// assert_eq!(ctx.reason(), Some(CancelReason::Cancelled));
    /// ```
    #[must_use]
    pub fn reason(&self) -> Option<CancelReason> {
        CancelReason::from_code(self.node.state())
    }

    /// `Ok(())` while active; the [`Cancelled`] error once cancelled, for use
    /// with `?` inside a task.
    ///
    /// # Errors
    ///
    /// [`Cancelled`] with the reason, once this context is cancelled or past
    /// its deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{Cancelled, Context};
    ///
    /// fn work(ctx: &Context, items: &[u32]) -> Result<u32, Cancelled> {
    ///     let mut sum = 0;
    ///     for item in items {
    ///         ctx.check()?;
    ///         sum += item;
    ///     }
    ///     Ok(sum)
    /// }
    ///
    /// let ctx = Context::new();
    /// assert_eq!(work(&ctx, &[1, 2, 3]), Ok(6));
    /// ctx.cancel();
    /// assert!(work(&ctx, &[1, 2, 3]).is_err());
    /// ```
    #[inline]
    pub fn check(&self) -> Result<(), Cancelled> {
        match self.reason() {
            None => Ok(()),
            Some(reason) => Err(Cancelled { reason }),
        }
    }

    /// The effective deadline: the earliest of this context's and its
    /// ancestors'.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use std::time::Duration;
    /// let ctx = Context::new().with_timeout(Duration::from_secs(5));
    /// assert!(ctx.deadline().is_some());
    /// ```
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// Time left until the deadline (zero once passed), or `None` without one.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let ctx = Context::with_clock(manual.clock()).with_timeout(Duration::from_secs(10));
    /// manual.advance(Duration::from_secs(4));
    /// assert_eq!(ctx.remaining(), Some(Duration::from_secs(6)));
    /// ```
    #[must_use]
    pub fn remaining(&self) -> Option<Duration> {
        self.node
            .deadline
            .map(|d| d.saturating_duration_since(self.node.clock.now()))
    }

    /// The clock this context reads its deadline from.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gosling::context::Context::new().clock().is_manual());
    /// ```
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.node.clock
    }

    /// Registers `waker` to be woken when this context is cancelled (by a
    /// call or an ancestor; a deadline is noticed lazily, so a waiter also
    /// waits with a timeout at [`deadline`](Context::deadline)). Nothing is
    /// registered on a context already cancelled: a waiter checks
    /// [`is_cancelled`](Context::is_cancelled) after subscribing, under the
    /// lock its `wake` takes, so no wake-up is lost. Registering the same
    /// waker twice keeps one entry; dead entries are pruned.
    ///
    /// Caution: a deadline that has passed cancels the context lazily inside
    /// any read of its state (`check`, `is_cancelled`, …), and the wakers
    /// then run on the reading thread. Never read the context while holding
    /// the lock the waker takes.
    pub(crate) fn subscribe(&self, waker: Weak<dyn Wake>) {
        let node = &self.node;
        let mut inner = node.inner.lock();
        // ORDERING: Acquire, as in `Node::state`; read under the lock that
        // `try_cancel` takes to detach the wakers.
        if node.state.load(Ordering::Acquire) != ACTIVE {
            return;
        }
        inner.wakers.retain(|w| w.strong_count() > 0);
        if !inner.wakers.iter().any(|w| Weak::ptr_eq(w, &waker)) {
            inner.wakers.push(waker);
        }
    }

    /// Cancels this context and all its descendants with
    /// [`CancelReason::Cancelled`]. Idempotent: the first reason sticks.
    /// Returns true when this call did the cancelling.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = gosling::context::Context::new();
    /// assert!(ctx.cancel());
    /// assert!(!ctx.cancel()); // already cancelled
    /// ```
    pub fn cancel(&self) -> bool {
        self.cancel_with(CancelReason::Cancelled)
    }

    /// Cancels with a given reason (e.g. [`CancelReason::Shutdown`] from a
    /// pool). Returns true when this call did the cancelling.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Context};
    /// let ctx = Context::new();
    /// ctx.cancel_with(CancelReason::Shutdown);
    /// assert_eq!(ctx.child().reason(), Some(CancelReason::Shutdown));
    /// ```
    pub fn cancel_with(&self, reason: CancelReason) -> bool {
        cancel_tree(&self.node, reason.code(), None)
    }

    /// Cancels this context and all its descendants with
    /// [`CancelReason::Cancelled`] and `cause`, which [`cause`](Context::cause)
    /// then returns from each of them (Go's `CancelCauseFunc`). Takes any
    /// error, a `&str` or a `String`. The first cancellation sticks, cause
    /// and all: on a context already cancelled (directly, through an
    /// ancestor, or by its deadline) this does nothing and `cause` is
    /// dropped. Returns true when this call did the cancelling.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Context};
    ///
    /// let request = Context::new();
    /// let step = request.child();
    /// assert!(request.cancel_with_cause("client went away"));
    /// assert_eq!(step.reason(), Some(CancelReason::Cancelled));
    /// assert_eq!(step.cause().unwrap().to_string(), "client went away");
    ///
    /// // The first cause wins.
    /// assert!(!request.cancel_with_cause("too late"));
    /// assert_eq!(request.cause().unwrap().to_string(), "client went away");
    /// ```
    pub fn cancel_with_cause(&self, cause: impl Into<Box<dyn Error + Send + Sync>>) -> bool {
        self.cancel_with_shared_cause(Arc::from(cause.into()))
    }

    /// [`cancel_with_cause`](Context::cancel_with_cause) with a cause that is
    /// already shared: the same `Arc` is handed to every descendant and
    /// returned by [`cause`](Context::cause), so the caller can keep a clone
    /// and compare it with [`Arc::ptr_eq`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelCause, Context};
    /// use std::sync::Arc;
    ///
    /// let cause: CancelCause = Arc::new(std::io::Error::other("disk full"));
    /// let ctx = Context::new();
    /// ctx.cancel_with_shared_cause(Arc::clone(&cause));
    /// assert!(Arc::ptr_eq(&ctx.child().cause().unwrap(), &cause));
    /// ```
    pub fn cancel_with_shared_cause(&self, cause: CancelCause) -> bool {
        // A passed deadline cancels first (reading the state applies it), so
        // that an expired context keeps `DeadlineExceeded` as its cause.
        self.node.state() == ACTIVE && cancel_tree(&self.node, CANCELLED, Some(cause))
    }

    /// Why this context was cancelled, as an error; `None` while it is
    /// active (Go's `context.Cause`).
    ///
    /// Once it is cancelled, the cause given to
    /// [`cancel_with_cause`](Context::cancel_with_cause) on this context or
    /// on the ancestor whose cancellation reached it; otherwise (a plain
    /// [`cancel`](Context::cancel), [`cancel_with`](Context::cancel_with), or
    /// a deadline) the [`Cancelled`] error that [`check`](Context::check)
    /// returns, with the [`CancelReason`]: a passed deadline reads
    /// [`CancelReason::DeadlineExceeded`]. Downcast it to get the typed
    /// error back.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Cancelled, Context};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// assert!(ctx.cause().is_none());
    ///
    /// ctx.cancel_with_cause(std::io::Error::other("upstream failed"));
    /// let cause = ctx.cause().unwrap();
    /// assert_eq!(cause.downcast_ref::<std::io::Error>().unwrap().to_string(), "upstream failed");
    ///
    /// // Without a cause of its own, the reason stands in.
    /// let expired = Context::new().with_timeout(Duration::ZERO);
    /// let cause = expired.cause().unwrap();
    /// assert_eq!(
    ///     cause.downcast_ref::<Cancelled>(),
    ///     Some(&Cancelled::new(CancelReason::DeadlineExceeded))
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn cause(&self) -> Option<CancelCause> {
        let reason = self.reason()?;
        let given = self.node.inner.lock().cause.clone();
        Some(given.unwrap_or_else(|| Arc::new(Cancelled { reason })))
    }

    /// Blocks for `duration` on this context's clock, returning early with an
    /// error if the context is cancelled (or reaches its deadline) first.
    ///
    /// # Errors
    ///
    /// [`Cancelled`] when the context was cancelled before the full duration
    /// passed (also when it already was on entry).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Context};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// assert!(ctx.sleep(Duration::from_millis(1)).is_ok());
    ///
    /// let short = Context::new().with_timeout(Duration::from_millis(1));
    /// let err = short.sleep(Duration::from_secs(3600)).unwrap_err(); // returns after ~1 ms
    /// assert_eq!(err.reason(), CancelReason::DeadlineExceeded);
    /// ```
    pub fn sleep(&self, duration: Duration) -> Result<(), Cancelled> {
        let until = self.node.clock.now().checked_add(duration);
        self.sleep_until(until)
    }

    /// Blocks until `deadline` on this context's clock (`None`: until
    /// cancelled), returning early with an error if the context is cancelled
    /// first.
    ///
    /// # Errors
    ///
    /// [`Cancelled`] when the context was cancelled before `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use std::time::{Duration, Instant};
    /// let ctx = Context::new();
    /// assert!(ctx.sleep_until(Some(Instant::now() + Duration::from_millis(1))).is_ok());
    /// ```
    pub fn sleep_until(&self, deadline: Option<Instant>) -> Result<(), Cancelled> {
        match self.wait_inner(deadline) {
            None => Ok(()),
            Some(reason) => Err(Cancelled { reason }),
        }
    }

    /// Blocks until this context is cancelled or `timeout` passes; true when
    /// it was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let for_worker = ctx.clone();
    /// let worker = std::thread::spawn(move || for_worker.wait_cancelled_timeout(Duration::from_secs(60)));
    /// ctx.cancel();
    /// assert!(worker.join().unwrap()); // woke at once, well before 60 s
    /// ```
    #[must_use]
    pub fn wait_cancelled_timeout(&self, timeout: Duration) -> bool {
        let until = self.node.clock.now().checked_add(timeout);
        self.wait_inner(until).is_some()
    }

    /// Blocks until this context is cancelled or `deadline` passes on its
    /// clock; true when it was cancelled. The
    /// [`wait_cancelled_timeout`](Context::wait_cancelled_timeout) of a caller
    /// that holds an instant rather than a duration.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use std::time::{Duration, Instant};
    ///
    /// let ctx = Context::new();
    /// assert!(!ctx.wait_cancelled_deadline(Instant::now() + Duration::from_millis(1)));
    /// ctx.cancel();
    /// assert!(ctx.wait_cancelled_deadline(Instant::now() + Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn wait_cancelled_deadline(&self, deadline: Instant) -> bool {
        self.wait_inner(Some(deadline)).is_some()
    }

    /// Waits until cancelled (returns the reason) or until `until` (returns
    /// `None`). The node's own deadline also ends the wait, as a cancellation.
    fn wait_inner(&self, until: Option<Instant>) -> Option<CancelReason> {
        let node = &self.node;
        let effective = match (until, node.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut inner = node.inner.lock();
        if node.clock.is_manual() && !inner.clock_subscribed {
            inner.clock_subscribed = true;
            let weak: Weak<Node> = Arc::downgrade(node);
            node.clock.subscribe(weak);
        }
        loop {
            // ORDERING: see `Node::state`.
            let state = node.state.load(Ordering::Acquire);
            if let Some(reason) = CancelReason::from_code(state) {
                return Some(reason);
            }
            let reached;
            (inner, reached) = node.clock.wait_until(&node.cv, inner, effective);
            if reached {
                drop(inner);
                // Whichever came first decides: our deadline cancels the node.
                return CancelReason::from_code(node.state());
            }
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("reason", &self.reason())
            .field("deadline", &self.node.deadline)
            .field("has_value", &self.node.value.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    #[test]
    fn deep_chain_cancels_without_recursion() {
        let root = Context::new();
        let mut leaf = root.clone();
        let mut chain = Vec::new();
        for _ in 0..if cfg!(miri) { 100 } else { 100_000 } {
            leaf = leaf.child();
            chain.push(leaf.clone());
        }
        root.cancel();
        assert!(chain.iter().all(Context::is_cancelled));
        // Dropping a long chain must not overflow the stack either.
        drop(chain);
    }

    #[test]
    fn dead_children_are_pruned() {
        let root = Context::new();
        for _ in 0..1000 {
            let _ = root.child();
        }
        assert!(root.node.inner.lock().children.len() <= 16);
    }

    #[test]
    fn manual_clock_wakes_a_sleeper() {
        let manual = ManualClock::new();
        let ctx = Context::with_clock(manual.clock());
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = {
            let ctx = ctx.clone();
            // The deadline is fixed before the test may advance the clock.
            let until = ctx.clock().now() + Duration::from_secs(3600);
            std::thread::spawn(move || {
                tx.send(()).unwrap();
                ctx.sleep_until(Some(until))
            })
        };
        rx.recv().unwrap();
        manual.advance(Duration::from_secs(3600));
        assert_eq!(sleeper.join().unwrap(), Ok(()));
    }

    #[test]
    fn child_created_after_cancel_is_cancelled() {
        let root = Context::new();
        root.cancel_with(CancelReason::Shutdown);
        assert_eq!(root.child().reason(), Some(CancelReason::Shutdown));
    }
}
