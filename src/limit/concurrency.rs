//! [`ConcurrencyLimiter`]: at most `limit` holders at once (a bulkhead), with
//! RAII permits.
//!
//! Maintainers: the count of permits in use and the limit live under one
//! mutex; waiters sleep on a condvar and are notified when a permit is
//! released or the limit grows. A permit releases in `Drop`, exactly once —
//! also when its holder panics, and a waiter that gives up (timeout,
//! cancellation) never held one. A waiter registers with its [`Context`]
//! (crate-private `Context::subscribe`), which wakes it on cancellation; a
//! manual clock wakes waiters when it advances.

use super::LimitConfigError;
use crate::context::{CancelReason, Cancelled, Context};
use crate::sync::{Condvar, Mutex, Wake};
use crate::time::Clock;
use std::error::Error;
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A concurrency limiter (bulkhead): at most `limit` permits out at once.
///
/// A cheap handle: clones share the same permits, so it can be put in an
/// `Arc` or cloned into threads. Permits come borrowed ([`Permit`], tied to
/// the limiter's lifetime) or owned ([`OwnedPermit`], `'static`, can move to
/// another thread). The limit can change at runtime with
/// [`resize`](ConcurrencyLimiter::resize); shrinking below the permits out
/// lets no one new in until enough are released.
///
/// # Examples
///
/// ```
/// use gosling::limit::ConcurrencyLimiter;
///
/// let bulkhead = ConcurrencyLimiter::new(2)?;
/// let a = bulkhead.try_acquire()?;
/// let b = bulkhead.try_acquire_owned()?;
/// assert!(bulkhead.try_acquire().is_err());
/// drop(a);
/// assert!(bulkhead.try_acquire().is_ok());
/// drop(b);
/// assert_eq!(bulkhead.in_use(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ConcurrencyLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    /// Protected: permits out, limit, waiters.
    state: Mutex<State>,
    /// Waiters for a permit; notified under `state`.
    cv: Condvar,
    clock: Clock,
}

#[derive(Debug)]
struct State {
    in_use: usize,
    limit: usize,
    waiters: usize,
    clock_subscribed: bool,
    /// Bumped by every `wake` (cancellation, clock jump).
    wakes: u64,
}

impl Wake for Inner {
    fn wake(&self) {
        let mut state = self.state.lock();
        state.wakes = state.wakes.wrapping_add(1);
        self.cv.notify_all();
    }
}

impl Inner {
    fn try_take(&self) -> Result<(), TryAcquireError> {
        let mut state = self.state.lock();
        if state.in_use < state.limit {
            state.in_use += 1;
            Ok(())
        } else {
            Err(TryAcquireError::Full { limit: state.limit })
        }
    }

    fn take(self: &Arc<Self>, ctx: &Context, timeout: Option<Instant>) -> Result<(), AcquireError> {
        let weak: Weak<Inner> = Arc::downgrade(self);
        ctx.subscribe(weak);
        let mut state = self.state.lock();
        if self.clock.is_manual() && !state.clock_subscribed {
            state.clock_subscribed = true;
            let weak: Weak<Inner> = Arc::downgrade(self);
            self.clock.subscribe(weak);
        }
        // The context's deadline ends the wait as a cancellation; it is
        // noticed by a timed wait, not a wake-up.
        let until = match (timeout, ctx.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        state.waiters += 1;
        let result = loop {
            // The context is checked without our lock: a deadline that has
            // just passed cancels the context inside `check`, which runs its
            // wakers — ours included — on this thread. A wake-up that comes
            // while the lock is released bumps `wakes`, so it is not lost.
            let seen = state.wakes;
            drop(state);
            let checked = ctx.check();
            state = self.state.lock();
            if let Err(c) = checked {
                break Err(AcquireError::Cancelled(c));
            }
            if state.in_use < state.limit {
                state.in_use += 1;
                break Ok(());
            }
            if timeout.is_some_and(|t| self.clock.now() >= t) {
                break Err(AcquireError::Timeout);
            }
            if state.wakes != seen {
                continue;
            }
            (state, _) = self.clock.wait_until(&self.cv, state, until);
        };
        state.waiters -= 1;
        result
    }

    fn release(&self) {
        let mut state = self.state.lock();
        state.in_use -= 1;
        if state.waiters > 0 && state.in_use < state.limit {
            self.cv.notify_one();
        }
    }
}

impl ConcurrencyLimiter {
    /// At most `limit` permits at once, on the system clock.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroCapacity`] for a zero limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::new(8)?;
    /// assert_eq!(bulkhead.limit(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(limit: usize) -> Result<ConcurrencyLimiter, LimitConfigError> {
        ConcurrencyLimiter::with_clock(limit, Clock::system())
    }

    /// At most `limit` permits at once; timeouts read `clock`.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroCapacity`] for a zero limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let manual = gosling::time::ManualClock::new();
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::with_clock(1, manual.clock()).unwrap();
    /// # let _ = bulkhead;
    /// ```
    pub fn with_clock(limit: usize, clock: Clock) -> Result<ConcurrencyLimiter, LimitConfigError> {
        if limit == 0 {
            return Err(LimitConfigError::ZeroCapacity);
        }
        Ok(ConcurrencyLimiter {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    in_use: 0,
                    limit,
                    waiters: 0,
                    clock_subscribed: false,
                    wakes: 0,
                }),
                cv: Condvar::new(),
                clock,
            }),
        })
    }

    /// A permit if one is free now.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Full`] when all permits are out.
    ///
    /// # Examples
    ///
    /// ```
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::new(1)?;
    /// let _held = bulkhead.try_acquire()?;
    /// assert!(bulkhead.try_acquire().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
        self.inner.try_take()?;
        Ok(Permit { inner: &self.inner })
    }

    /// An owned (`'static`) permit if one is free now.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Full`] when all permits are out.
    ///
    /// # Examples
    ///
    /// ```
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::new(1)?;
    /// let permit = bulkhead.try_acquire_owned()?;
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(bulkhead.in_use(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, TryAcquireError> {
        self.inner.try_take()?;
        Ok(OwnedPermit {
            inner: Arc::clone(&self.inner),
        })
    }

    /// Blocks until a permit is free or `ctx` is cancelled (or reaches its
    /// deadline).
    ///
    /// # Errors
    ///
    /// [`AcquireError::Cancelled`] when `ctx` is cancelled first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::limit::ConcurrencyLimiter;
    ///
    /// let bulkhead = ConcurrencyLimiter::new(1)?;
    /// let permit = bulkhead.acquire(&Context::new())?;
    /// drop(permit);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire(&self, ctx: &Context) -> Result<Permit<'_>, AcquireError> {
        self.inner.take(ctx, None)?;
        Ok(Permit { inner: &self.inner })
    }

    /// Blocks until an owned permit is free or `ctx` is cancelled.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Cancelled`] when `ctx` is cancelled first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::new(1)?;
    /// let permit = bulkhead.acquire_owned(&Context::new())?;
    /// # drop(permit);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire_owned(&self, ctx: &Context) -> Result<OwnedPermit, AcquireError> {
        self.inner.take(ctx, None)?;
        Ok(OwnedPermit {
            inner: Arc::clone(&self.inner),
        })
    }

    /// Blocks until a permit is free, `timeout` passes on the limiter's
    /// clock, or `ctx` is cancelled (or reaches its deadline): the bounded
    /// wait of a bulkhead inside a cancellable call. `Duration::ZERO` waits
    /// not at all (a [`try_acquire`](ConcurrencyLimiter::try_acquire) that
    /// also reports a cancelled context).
    ///
    /// # Errors
    ///
    /// [`AcquireError::Timeout`] when the timeout passes first;
    /// [`AcquireError::Cancelled`] when `ctx` is cancelled first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::limit::{AcquireError, ConcurrencyLimiter};
    /// use std::time::Duration;
    ///
    /// let bulkhead = ConcurrencyLimiter::new(1)?;
    /// let ctx = Context::new();
    /// let held = bulkhead.acquire_timeout(&ctx, Duration::from_millis(1))?;
    /// let err = bulkhead.acquire_timeout(&ctx, Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err, AcquireError::Timeout);
    /// drop(held);
    /// ctx.cancel();
    /// assert!(matches!(
    ///     bulkhead.acquire_timeout(&ctx, Duration::from_secs(1)),
    ///     Err(AcquireError::Cancelled(_))
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire_timeout(
        &self,
        ctx: &Context,
        timeout: Duration,
    ) -> Result<Permit<'_>, AcquireError> {
        let deadline = self.inner.clock.now().checked_add(timeout);
        self.inner.take(ctx, deadline)?;
        Ok(Permit { inner: &self.inner })
    }

    /// Blocks until a permit is free, `deadline` passes on the limiter's
    /// clock, or `ctx` is cancelled (or reaches its own deadline): the
    /// [`acquire_timeout`](ConcurrencyLimiter::acquire_timeout) of a caller
    /// that holds an instant rather than a duration. A deadline already past
    /// waits not at all.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Timeout`] when the deadline passes first;
    /// [`AcquireError::Cancelled`] when `ctx` is cancelled first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::limit::{AcquireError, ConcurrencyLimiter};
    /// use std::time::{Duration, Instant};
    ///
    /// let bulkhead = ConcurrencyLimiter::new(1)?;
    /// let _held = bulkhead.try_acquire()?;
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// let err = bulkhead.acquire_deadline(&Context::new(), deadline).unwrap_err();
    /// assert_eq!(err, AcquireError::Timeout);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire_deadline(
        &self,
        ctx: &Context,
        deadline: Instant,
    ) -> Result<Permit<'_>, AcquireError> {
        self.inner.take(ctx, Some(deadline))?;
        Ok(Permit { inner: &self.inner })
    }

    /// Changes the limit. Growing wakes waiters; shrinking takes effect as
    /// permits are released.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroCapacity`] for a zero limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::new(1)?;
    /// bulkhead.resize(3)?;
    /// assert_eq!(bulkhead.available(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resize(&self, limit: usize) -> Result<(), LimitConfigError> {
        if limit == 0 {
            return Err(LimitConfigError::ZeroCapacity);
        }
        let mut state = self.inner.state.lock();
        let grew = limit > state.limit;
        state.limit = limit;
        if grew && state.waiters > 0 {
            self.inner.cv.notify_all();
        }
        Ok(())
    }

    /// The current limit.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::limit::ConcurrencyLimiter::new(4)?.limit(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn limit(&self) -> usize {
        self.inner.state.lock().limit
    }

    /// Permits out now.
    ///
    /// # Examples
    ///
    /// ```
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::new(4)?;
    /// let _p = bulkhead.try_acquire()?;
    /// assert_eq!(bulkhead.in_use(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn in_use(&self) -> usize {
        self.inner.state.lock().in_use
    }

    /// Callers blocked in an `acquire` waiting for a permit now.
    ///
    /// # Examples
    ///
    /// ```
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::new(1)?;
    /// assert_eq!(bulkhead.waiting(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.inner.state.lock().waiters
    }

    /// Permits out, callers waiting, and the limit, read together.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let state = self.inner.state.lock();
        (state.in_use, state.waiters, state.limit)
    }

    /// Permits free now (0 while shrunk below the permits out).
    ///
    /// # Examples
    ///
    /// ```
    /// let bulkhead = gosling::limit::ConcurrencyLimiter::new(4)?;
    /// let _p = bulkhead.try_acquire()?;
    /// assert_eq!(bulkhead.available(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn available(&self) -> usize {
        let state = self.inner.state.lock();
        state.limit.saturating_sub(state.in_use)
    }
}

impl fmt::Debug for ConcurrencyLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.lock();
        f.debug_struct("ConcurrencyLimiter")
            .field("limit", &state.limit)
            .field("in_use", &state.in_use)
            .field("waiters", &state.waiters)
            .finish()
    }
}

/// A permit borrowed from a [`ConcurrencyLimiter`]; released when dropped
/// (also during a panic's unwinding).
///
/// # Examples
///
/// ```
/// let bulkhead = gosling::limit::ConcurrencyLimiter::new(1)?;
/// {
///     let _permit = bulkhead.try_acquire().unwrap();
///     assert_eq!(bulkhead.available(), 0);
/// }
/// assert_eq!(bulkhead.available(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct Permit<'a> {
    inner: &'a Arc<Inner>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.inner.release();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permit")
    }
}

/// A permit that owns a handle to its [`ConcurrencyLimiter`] (`'static`, can
/// move between threads); released when dropped.
///
/// # Examples
///
/// ```
/// let bulkhead = gosling::limit::ConcurrencyLimiter::new(1)?;
/// let permit = bulkhead.try_acquire_owned()?;
/// let worker = std::thread::spawn(move || {
///     let _permit = permit; // held for the thread's work
/// });
/// worker.join().unwrap();
/// assert_eq!(bulkhead.available(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct OwnedPermit {
    inner: Arc<Inner>,
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        self.inner.release();
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedPermit")
    }
}

/// Why [`ConcurrencyLimiter::try_acquire`] found no permit.
///
/// # Examples
///
/// ```
/// use gosling::limit::{ConcurrencyLimiter, TryAcquireError};
/// let bulkhead = ConcurrencyLimiter::new(1)?;
/// let _held = bulkhead.try_acquire()?;
/// assert_eq!(bulkhead.try_acquire().unwrap_err(), TryAcquireError::Full { limit: 1 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TryAcquireError {
    /// All permits are out.
    Full {
        /// The limit when asked.
        limit: usize,
    },
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Full { limit } => write!(f, "all {limit} permits are in use"),
        }
    }
}

impl Error for TryAcquireError {}

/// Why a blocking acquire returned without a permit.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::limit::{AcquireError, ConcurrencyLimiter};
/// let bulkhead = ConcurrencyLimiter::new(1)?;
/// let ctx = Context::new();
/// ctx.cancel();
/// assert!(matches!(bulkhead.acquire(&ctx), Err(AcquireError::Cancelled(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AcquireError {
    /// The context was cancelled (or reached its deadline) first.
    Cancelled(Cancelled),
    /// The timeout passed first.
    Timeout,
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Cancelled(c) => write!(f, "wait for a permit ended: {c}"),
            AcquireError::Timeout => f.write_str("timed out waiting for a permit"),
        }
    }
}

impl Error for AcquireError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            AcquireError::Cancelled(c) => Some(c),
            AcquireError::Timeout => None,
        }
    }
}

impl AcquireError {
    /// True when the wait ended because of a deadline or timeout rather
    /// than an explicit cancellation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::limit::AcquireError::Timeout.is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        match self {
            AcquireError::Timeout => true,
            AcquireError::Cancelled(c) => c.reason() == CancelReason::DeadlineExceeded,
        }
    }
}
