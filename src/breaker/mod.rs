//! Circuit breakers: a [`CircuitBreaker`] stops calling a failing dependency
//! for a while, then probes it with a fixed number of trial calls before
//! trusting it again.
//!
//! A breaker judges a sliding window of results (the last *n* calls, or the
//! calls of the last *t*): once the share of failures or of slow calls
//! reaches a threshold it opens and rejects every call at once, without
//! running it, for the wait in open; then half-open admits *K* trial calls,
//! whose results close it again or re-open it. [`CircuitBreaker::call`] runs
//! a closure through the breaker; [`CircuitBreaker::try_acquire`] hands out a
//! [`BreakerPermit`] whose result is recorded later, for work that runs
//! elsewhere. [`Fallback`](crate::retry::Fallback) and
//! [`Policy`](crate::policy::Policy) wrap a breaker.
//!
//! The files, by role:
//!
//! - `mod.rs`: [`CircuitBreaker`], the handle every clone shares: its public
//!   methods, the closed-state admission of [`CircuitBreaker::try_acquire`],
//!   and `Inner`, what the clones share.
//! - `builder.rs`: [`BreakerBuilder`] and [`BreakerBuildError`]: the
//!   settings, their checks, and the `Config` they become.
//! - `state.rs`: [`BreakerState`], [`StateChange`] and the state machine:
//!   the state word, admission off the fast path, recording a result,
//!   every transition and the delivery of changes to listeners.
//! - `window.rs`: the sliding window — a ring of counting buckets
//!   ([`MAX_BUCKETS`] at most) by calls or by time — the lifetime totals and
//!   the rate comparison.
//! - `permit.rs`: [`BreakerPermit`], one admitted call whose result is still
//!   to come.
//! - `metrics.rs`: [`BreakerMetrics`], a snapshot of the counters, and the
//!   breaker as a source of metrics for a
//!   [`Metrics`](crate::observe::Metrics) collection.
//! - `error.rs`: [`Rejected`] (why a call was not admitted) and
//!   [`CallError`] (rejected, or ran and failed).
//!
//! Maintainer notes. One call: `try_acquire` (here) reads the state word
//! and, closed or disabled, admits at once; otherwise `state.rs` decides
//! under the lock. The permit's result goes back to `state.rs`, which
//! records it in `window.rs` and judges the rates when the window says they
//! may have changed. `state.rs` and `window.rs` open with the details: the
//! state word and its generations, and why a success usually skips the
//! judging.
//!
//! Imports (maintainers): `sync` (the lock, cache padding), `time` (the
//! clock), `observe` (the metrics it reports), and `std`. The breaker is a leaf beside `limit` and `retry`: it
//! imports neither, nor anything above them; `retry` (the fallback) and
//! `policy` import it.
//!
//! # Examples
//!
//! ```
//! use gosling::breaker::{BreakerState, CallError, CircuitBreaker};
//!
//! let breaker = CircuitBreaker::<&str>::builder().count_window(4).build()?;
//! for _ in 0..4 {
//!     let _ = breaker.call(|| Err::<(), _>("timeout"));
//! }
//! assert_eq!(breaker.state(), BreakerState::Open);
//! assert!(matches!(breaker.call(|| Ok::<_, &str>(1)), Err(CallError::Rejected(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod builder;
mod error;
mod metrics;
mod permit;
mod state;
mod window;

pub use builder::{BreakerBuildError, BreakerBuilder};
pub use error::{CallError, Rejected};
pub use metrics::BreakerMetrics;
pub use permit::BreakerPermit;
pub use state::{BreakerState, StateChange};
pub use window::MAX_BUCKETS;

use crate::sync::{CachePadded, Mutex};
use crate::time::Clock;
use builder::{Config, Listener, Predicate};
use state::{CLOSED, DISABLED, FORCED_OPEN, STATE_MASK, Shared};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use window::{Totals, Window};

/// A circuit breaker: closed, open, half-open, forced open or disabled,
/// judging a sliding window of results.
///
/// `E` is the error type of the guarded operation, seen by the predicates of
/// [`BreakerBuilder::record_failure_if`] and [`BreakerBuilder::ignore_if`]. Cloning is
/// cheap and shares the breaker.
///
/// Two ways to use it: [`CircuitBreaker::call`] runs a closure, or
/// [`CircuitBreaker::try_acquire`] hands out a [`BreakerPermit`] whose result is
/// recorded later (for work handed to another thread). Both are safe to use
/// from many threads.
///
/// # Differences from resilience4j
///
/// - A count window is kept in buckets of calls, not one slot per call,
///   so that a success costs one atomic increment; ask for `size` buckets for
///   the exact last-`size` window.
/// - Past the maximum time in half-open, the trial is re-armed with fresh
///   permits (the hung trial calls become late) instead of opening again.
///   There is no timer: the call that re-arms is the first one made at or
///   after the maximum time (counted from the trial's start) while every
///   permit of the trial is taken. While a permit is free (fewer than K
///   handed out, or one given back by an ignored result) such a call takes
///   that permit and the trial goes on. See
///   [`BreakerBuilder::max_wait_in_half_open`].
/// - Half-open decides once all K trial results are in, not after the
///   minimum number of calls when that is smaller than K.
/// - A call made exactly at the end of the wait in open is admitted (as a
///   trial call); resilience4j admits only calls strictly after it.
/// - A call that takes exactly the slow-call duration is slow; resilience4j
///   counts only calls strictly longer.
/// - Every result carries the state generation it was admitted in; results
///   of an earlier generation are counted as late and decide nothing.
/// - A [`BreakerPermit`] dropped without a result (a panicking call) is a failure.
///
/// # States
///
/// | state         | admits                         | leaves when                                   |
/// |---------------|--------------------------------|-----------------------------------------------|
/// | `Closed`      | every call                     | the window's failure or slow-call rate reaches its threshold → `Open` |
/// | `Open`        | nothing                        | the wait in open has passed → `HalfOpen` (on the first call at or after its end) |
/// | `HalfOpen`    | exactly K trial calls          | all K results are in → `Closed` or `Open`; a call once the trial has lasted the maximum time there and all K permits are taken re-arms `HalfOpen` |
/// | `ForcedOpen`  | nothing                        | [`CircuitBreaker::reset`] or [`CircuitBreaker::disable`] |
/// | `Disabled`    | every call, nothing recorded   | [`CircuitBreaker::reset`] or [`CircuitBreaker::force_open`] |
///
/// # Examples
///
/// ```
/// use gosling::breaker::{CallError, CircuitBreaker, Rejected, BreakerState};
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let breaker = CircuitBreaker::<&str>::builder()
///     .count_window(4)
///     .wait_in_open(Duration::from_secs(10))
///     .half_open_permits(1)
///     .clock(manual.clock())
///     .build()?;
///
/// for _ in 0..4 {
///     let _ = breaker.call(|| Err::<(), _>("timeout"));
/// }
/// assert_eq!(breaker.state(), BreakerState::Open);
/// assert!(matches!(breaker.call(|| Ok::<_, &str>(1)), Err(CallError::Rejected(Rejected::Open { .. }))));
///
/// manual.advance(Duration::from_secs(10));
/// assert_eq!(breaker.call(|| Ok::<_, &str>(2)), Ok(2)); // the trial call
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CircuitBreaker<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for CircuitBreaker<E> {
    fn clone(&self) -> Self {
        CircuitBreaker {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E> fmt::Debug for CircuitBreaker<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What every clone of a breaker shares. The state machine (`state.rs`)
/// works on it; the builder (`builder.rs`) makes it.
struct Inner<E> {
    /// The state code and its generation; see `state.rs`. Written only
    /// under `shared`'s lock.
    word: CachePadded<AtomicU64>,
    window: Window,
    config: Config,
    clock: Clock,
    /// The clock's instant when the breaker was built: time windows and the
    /// open deadline count nanoseconds from it.
    epoch: Instant,
    /// End of the wait in open, in nanoseconds since `epoch`. Written under
    /// `shared`'s lock before the word that announces `OPEN`.
    open_until_nanos: AtomicU64,
    totals: Totals,
    shared: Mutex<Shared>,
    /// True while one thread is delivering events to the listeners.
    delivering: AtomicBool,
    record_if: Option<Predicate<E>>,
    ignore_if: Option<Predicate<E>>,
    listeners: Vec<Listener>,
    _error: PhantomData<fn(&E)>,
}

impl<E> CircuitBreaker<E> {
    /// A builder with the defaults listed on [`BreakerBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<std::io::Error>::builder().build()?;
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder() -> BreakerBuilder<E> {
        BreakerBuilder::new()
    }

    /// Asks to make one call. Closed and disabled admit at once; open and
    /// forced open reject; half-open admits up to its number of trial
    /// permits.
    ///
    /// # Errors
    ///
    /// [`Rejected`] says why the call may not run now.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CircuitBreaker, Rejected};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build()?;
    /// breaker.try_acquire()?.success();
    /// breaker.force_open();
    /// assert_eq!(breaker.try_acquire().unwrap_err(), Rejected::ForcedOpen);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<BreakerPermit<'_, E>, Rejected> {
        let inner = &*self.inner;
        // ORDERING: a hint; whatever must be consistent is re-checked under
        // the lock, and results carry the word for the generation check.
        let word = inner.word.load(Ordering::Relaxed);
        let state = word & STATE_MASK;
        if state == CLOSED || state == DISABLED {
            let start = match inner.config.slow_duration {
                Some(_) if state == CLOSED => Some(inner.clock.now()),
                _ => None,
            };
            return Ok(BreakerPermit::new(inner, word, start));
        }
        inner.acquire_slow()
    }

    /// Runs `op` if the breaker admits it and records its result.
    ///
    /// # Errors
    ///
    /// [`CallError::Rejected`] when the call was not admitted (`op` did not
    /// run); [`CallError::Failed`] with `op`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::<String>::builder().build()?;
    /// assert_eq!(breaker.call(|| Ok::<_, String>(40 + 2)), Ok(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn call<T>(&self, op: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let result = op();
        permit.record(&result);
        result.map_err(CallError::Failed)
    }

    /// The current state.
    ///
    /// An open breaker whose wait has passed still reads `Open` until a call
    /// moves it to half-open.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build()?;
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state(&self) -> BreakerState {
        // ORDERING: Acquire pairs with the Release of a transition.
        BreakerState::from_word(self.inner.word.load(Ordering::Acquire))
    }

    /// A snapshot of the counters; see [`BreakerMetrics`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build()?;
    /// let _ = breaker.call(|| Ok::<_, ()>(()));
    /// assert_eq!(breaker.metrics().successful_calls, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics(&self) -> BreakerMetrics {
        self.inner.metrics()
    }

    /// Forces the breaker open: every call is rejected until
    /// [`CircuitBreaker::reset`] or [`CircuitBreaker::disable`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build()?;
    /// breaker.force_open();
    /// assert_eq!(breaker.state(), BreakerState::ForcedOpen);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn force_open(&self) {
        self.inner.manual_transition(FORCED_OPEN);
    }

    /// Disables the breaker: every call is admitted and nothing is recorded,
    /// until [`CircuitBreaker::reset`] or [`CircuitBreaker::force_open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build()?;
    /// breaker.disable();
    /// assert_eq!(breaker.state(), BreakerState::Disabled);
    /// assert!(breaker.call(|| Err::<(), _>(())).is_err());
    /// assert_eq!(breaker.metrics().failed_calls, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn disable(&self) {
        self.inner.manual_transition(DISABLED);
    }

    /// Closes the breaker with an empty window, from any state, and forgets
    /// the run of successive opens. Outstanding permits become late.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build()?;
    /// breaker.force_open();
    /// breaker.reset();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset(&self) {
        self.inner.manual_transition(CLOSED);
    }
}
