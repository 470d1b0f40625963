//! [`CircuitBreaker`]: stops calling a failing dependency for a while, then
//! probes it with a fixed number of trial calls before trusting it again.
//!
//! Maintainer notes. The state lives in one atomic word: the state code in
//! the low three bits, a generation above them that grows on every
//! transition (and on every re-armed half-open trial). A [`Permit`] carries
//! the word it was admitted under; a result whose word is no longer current
//! is late and decides nothing. Transitions happen under one mutex
//! (`Inner::shared`) and are published with a `Release` store of the word.
//!
//! The closed-state hot path is: one relaxed load of the word to admit, then
//! at the result one relaxed load to check the generation, one relaxed
//! `fetch_add` on the current bucket of the sliding window and one relaxed
//! load of the count at which to leave the fast path (on the cursor's cache
//! line; three more atomics on a failure or a slow call). Clock
//! reads happen only when a slow-call duration is configured or the window
//! is time-based.
//!
//! Every recorded result is judged, but summing the window on every success
//! would cost more than the rest of the path, so a success skips the sums
//! when it provably cannot have opened the breaker. Adding a success lowers
//! both rates; it can open the breaker only by (a) bringing the window up to
//! the minimum number of calls, or (b) coming with calls leaving the window.
//! Count windows: (a) is ruled out once the window has held the minimum
//! since it was last cleared (`CountHead::trigger`; from then on a count
//! window never drops below it until it is cleared); (b) happens only at a
//! rotation, and raises a rate only if calls left, buckets hold more than
//! one call (with one, the call that leaves is replaced by the new one) and
//! a failure or slow call remains (`CountHead::bad`). Time windows: (b)
//! happens only at the first result of a new tick, and (a) only while the
//! current bucket holds no more than the minimum. A failure or slow call is
//! always judged.
//!
//! The window is a ring of buckets of plain `u64` counters. A count window
//! of `size` calls in `b` buckets holds `b + 1` buckets of `size / b` calls:
//! the thread whose increment fills the current bucket clears the next one
//! (moving its counts into the lifetime totals) and advances the cursor, so
//! the window always holds the last `size` calls plus those of the bucket
//! being filled. A time window's buckets are tagged with the tick (time slot)
//! they count; the first call of a new tick clears the bucket it lands in.
//! Under concurrency the window is a close approximation (a result racing a
//! rotation can land in a neighbouring bucket); every result still reaches
//! the lifetime totals exactly once.

use super::{Backoff, JitterRng};
use crate::sync::{CachePadded, Mutex};
use crate::time::Clock;
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;
const FORCED_OPEN: u64 = 3;
const DISABLED: u64 = 4;
const STATE_BITS: u32 = 3;
const STATE_MASK: u64 = (1 << STATE_BITS) - 1;

/// Rates are compared in parts per million, in `u128`, so no count can
/// overflow the comparison.
const PPM: u64 = 1_000_000;

/// The most buckets a window may have.
///
/// # Examples
///
/// ```
/// use gosling::retry::{BreakerBuildError, CircuitBreaker, MAX_BUCKETS};
/// use std::time::Duration;
///
/// let too_many = CircuitBreaker::<()>::builder()
///     .time_window(Duration::from_secs(60), MAX_BUCKETS + 1)
///     .build();
/// assert_eq!(too_many.unwrap_err(), BreakerBuildError::InvalidBuckets(MAX_BUCKETS + 1));
/// ```
pub const MAX_BUCKETS: u32 = 1024;

/// The state of a [`CircuitBreaker`].
///
/// # Examples
///
/// ```
/// use gosling::retry::{CircuitBreaker, BreakerState};
///
/// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// breaker.force_open();
/// assert_eq!(breaker.state(), BreakerState::ForcedOpen);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass and their results are recorded in the sliding window.
    Closed,
    /// Calls are rejected until the wait in open has passed.
    Open,
    /// A fixed number of trial calls pass; their results decide what follows.
    HalfOpen,
    /// Calls are rejected until the breaker is reset or disabled.
    ForcedOpen,
    /// Calls pass and nothing is recorded.
    Disabled,
}

impl BreakerState {
    fn from_word(word: u64) -> BreakerState {
        match word & STATE_MASK {
            CLOSED => BreakerState::Closed,
            OPEN => BreakerState::Open,
            HALF_OPEN => BreakerState::HalfOpen,
            FORCED_OPEN => BreakerState::ForcedOpen,
            _ => BreakerState::Disabled,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
            BreakerState::ForcedOpen => "forced open",
            BreakerState::Disabled => "disabled",
        })
    }
}

/// One transition, as handed to the listeners registered with
/// [`BreakerBuilder::on_state_change`].
///
/// A half-open trial that ran past [`BreakerBuilder::max_wait_in_half_open`] and is
/// re-armed is reported as a change from `HalfOpen` to `HalfOpen`.
///
/// # Examples
///
/// ```
/// use gosling::retry::{CircuitBreaker, BreakerState};
/// use std::sync::{Arc, Mutex};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let breaker = CircuitBreaker::<()>::builder()
///     .on_state_change(move |change| log.lock().unwrap().push((change.from, change.to)))
///     .build()
///     .unwrap();
/// breaker.force_open();
/// assert_eq!(*seen.lock().unwrap(), [(BreakerState::Closed, BreakerState::ForcedOpen)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateChange {
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
    /// When it happened, on the breaker's clock.
    pub at: Instant,
}

/// How long the breaker stays open before it lets trial calls through.
#[derive(Debug, Clone, Copy, PartialEq)]
enum OpenWait {
    Fixed(Duration),
    Growing {
        initial: Duration,
        factor: f64,
        max: Duration,
    },
}

impl OpenWait {
    /// The wait for the `n`-th open in a row (1-based): the shared
    /// [`Backoff`] without jitter, capped at `max`.
    fn wait(&self, n: u32) -> Duration {
        match *self {
            OpenWait::Fixed(d) => d,
            OpenWait::Growing {
                initial,
                factor,
                max,
            } => match Backoff::exponential(initial, factor) {
                // No jitter: the generator is never consulted.
                Ok(backoff) => {
                    backoff
                        .with_cap(max)
                        .delay(n.max(1), Duration::ZERO, &mut JitterRng::seeded(0))
                }
                Err(_) => max,
            },
        }
    }
}

/// The sliding window's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowSpec {
    Count { size: u64, buckets: u32 },
    Time { length: Duration, buckets: u32 },
}

type Predicate<E> = Box<dyn Fn(&E) -> bool + Send + Sync>;
type Listener = Box<dyn Fn(&StateChange) + Send + Sync>;

/// Configures and builds a [`CircuitBreaker`]; from [`CircuitBreaker::builder`].
///
/// Defaults: failure-rate threshold 50 %, a count window of 100 calls in 10
/// buckets, minimum 100 calls (or the count window's size if smaller), no
/// slow-call threshold, 60 s in open, 10 trial calls in half-open for at
/// most 60 s, every error a failure, the system clock.
///
/// # Examples
///
/// ```
/// use gosling::retry::CircuitBreaker;
/// use std::time::Duration;
///
/// let breaker = CircuitBreaker::<std::io::Error>::builder()
///     .failure_rate_threshold(25.0)
///     .count_window(20)
///     .minimum_calls(10)
///     .wait_in_open(Duration::from_secs(5))
///     .half_open_permits(3)
///     .build()
///     .unwrap();
/// assert!(breaker.try_acquire().is_ok());
/// ```
#[must_use]
pub struct BreakerBuilder<E> {
    failure_rate: f64,
    slow_rate: f64,
    slow_duration: Option<Duration>,
    window: WindowSpec,
    minimum_calls: Option<u64>,
    open_wait: OpenWait,
    half_open_permits: u32,
    max_half_open: Option<Duration>,
    clock: Clock,
    record_if: Option<Predicate<E>>,
    ignore_if: Option<Predicate<E>>,
    listeners: Vec<Listener>,
}

impl<E> fmt::Debug for BreakerBuilder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerBuilder")
            .field("failure_rate", &self.failure_rate)
            .field("slow_rate", &self.slow_rate)
            .field("slow_duration", &self.slow_duration)
            .field("window", &self.window)
            .field("minimum_calls", &self.minimum_calls)
            .field("open_wait", &self.open_wait)
            .field("half_open_permits", &self.half_open_permits)
            .field("max_half_open", &self.max_half_open)
            .field("clock", &self.clock)
            .field("listeners", &self.listeners.len())
            .finish_non_exhaustive()
    }
}

impl<E> BreakerBuilder<E> {
    fn new() -> BreakerBuilder<E> {
        BreakerBuilder {
            failure_rate: 50.0,
            slow_rate: 100.0,
            slow_duration: None,
            window: WindowSpec::Count {
                size: 100,
                buckets: 10,
            },
            minimum_calls: None,
            open_wait: OpenWait::Fixed(Duration::from_secs(60)),
            half_open_permits: 10,
            max_half_open: Some(Duration::from_secs(60)),
            clock: Clock::system(),
            record_if: None,
            ignore_if: None,
            listeners: Vec::new(),
        }
    }

    /// The failure rate, in percent (0 excluded, up to 100), at or above
    /// which the breaker opens (in closed state) or re-opens (after a
    /// half-open trial).
    ///
    /// In closed state the rates are checked after every recorded result,
    /// successes included: a success can open the breaker when it brings the
    /// window up to the [minimum number of calls](BreakerBuilder::minimum_calls),
    /// or when older successes leave the window with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{BreakerBuildError, BreakerState, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .count_window(4) // the minimum follows: 4 calls
    ///     .failure_rate_threshold(50.0)
    ///     .build()
    ///     .unwrap();
    /// for _ in 0..3 {
    ///     let _ = breaker.call(|| Err::<(), _>(()));
    /// }
    /// assert_eq!(breaker.state(), BreakerState::Closed); // 3 calls: below the minimum
    /// let _ = breaker.call(|| Ok::<(), ()>(()));
    /// assert_eq!(breaker.state(), BreakerState::Open); // 3 of 4 failed
    ///
    /// assert!(CircuitBreaker::<()>::builder().failure_rate_threshold(20.0).build().is_ok());
    /// assert_eq!(
    ///     CircuitBreaker::<()>::builder().failure_rate_threshold(150.0).build().unwrap_err(),
    ///     BreakerBuildError::FailureRateOutOfRange(150.0)
    /// );
    /// ```
    pub fn failure_rate_threshold(mut self, percent: f64) -> Self {
        self.failure_rate = percent;
        self
    }

    /// Counts a call that took at least `duration` as slow, and opens the
    /// breaker when the share of slow calls reaches `percent` (0 excluded, up
    /// to 100). Without it no call is timed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .slow_call_threshold(80.0, Duration::from_millis(500))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(breaker.metrics().slow_calls, 0);
    /// ```
    pub fn slow_call_threshold(mut self, percent: f64, duration: Duration) -> Self {
        self.slow_rate = percent;
        self.slow_duration = Some(duration);
        self
    }

    /// A count-based window over the last `size` calls, kept in
    /// `min(size, 10)` buckets. See [`BreakerBuilder::count_window_buckets`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::<()>::builder().count_window(50).build().unwrap();
    /// assert_eq!(breaker.metrics().window_calls, 0);
    /// ```
    pub fn count_window(self, size: u64) -> Self {
        let buckets = u32::try_from(size.min(10)).unwrap_or(10);
        self.count_window_buckets(size, buckets)
    }

    /// A count-based window over the last `size` calls in `buckets` buckets of
    /// `size / buckets` calls (rounded up). The window holds the last `size`
    /// calls (rounded up to whole buckets) plus those of the bucket being
    /// filled; with `buckets == size` it is exact. Fewer buckets make the
    /// closed-state path cheaper: the bucket ring rotates once per bucket.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{BreakerBuildError, CircuitBreaker};
    ///
    /// assert!(CircuitBreaker::<()>::builder().count_window_buckets(8, 8).build().is_ok());
    /// assert_eq!(
    ///     CircuitBreaker::<()>::builder().count_window_buckets(8, 0).build().unwrap_err(),
    ///     BreakerBuildError::InvalidBuckets(0)
    /// );
    /// ```
    pub fn count_window_buckets(mut self, size: u64, buckets: u32) -> Self {
        self.window = WindowSpec::Count { size, buckets };
        self
    }

    /// A time-based window over the last `length`, kept in `buckets` buckets
    /// of `length / buckets`: the window holds the bucket being filled and the
    /// `buckets - 1` before it. Every recorded result reads the clock once.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .time_window(Duration::from_secs(10), 10)
    ///     .minimum_calls(20)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(breaker.metrics().window_calls, 0);
    /// ```
    pub fn time_window(mut self, length: Duration, buckets: u32) -> Self {
        self.window = WindowSpec::Time { length, buckets };
        self
    }

    /// How many calls the window must hold before its rates are judged
    /// (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{BreakerBuildError, CircuitBreaker};
    ///
    /// assert_eq!(
    ///     CircuitBreaker::<()>::builder().count_window(10).minimum_calls(11).build().unwrap_err(),
    ///     BreakerBuildError::MinimumCallsExceedWindow { minimum: 11, window: 10 }
    /// );
    /// ```
    pub fn minimum_calls(mut self, calls: u64) -> Self {
        self.minimum_calls = Some(calls);
        self
    }

    /// A fixed wait in open. The first call made at or after its end is
    /// admitted as a trial call (half-open).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .wait_in_open(Duration::from_secs(30))
    ///     .build()
    ///     .unwrap();
    /// # let _ = breaker;
    /// ```
    pub fn wait_in_open(mut self, wait: Duration) -> Self {
        self.open_wait = OpenWait::Fixed(wait);
        self
    }

    /// A wait in open that grows for successive opens: `initial` for the
    /// first, times `factor` (at least 1) for each further open without a
    /// successful half-open trial in between, capped at `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .wait_in_open_growing(Duration::from_secs(1), 2.0, Duration::from_secs(60))
    ///     .build()
    ///     .unwrap();
    /// # let _ = breaker;
    /// ```
    pub fn wait_in_open_growing(mut self, initial: Duration, factor: f64, max: Duration) -> Self {
        self.open_wait = OpenWait::Growing {
            initial,
            factor,
            max,
        };
        self
    }

    /// How many trial calls half-open admits (at least 1); the next state is
    /// decided once all of their results are in.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{BreakerBuildError, CircuitBreaker};
    ///
    /// assert_eq!(
    ///     CircuitBreaker::<()>::builder().half_open_permits(0).build().unwrap_err(),
    ///     BreakerBuildError::ZeroHalfOpenPermits
    /// );
    /// ```
    pub fn half_open_permits(mut self, permits: u32) -> Self {
        self.half_open_permits = permits;
        self
    }

    /// The longest a half-open trial may wait for its results. Once the
    /// trial has lasted this long (counted from its start), the next call
    /// made while all of its permits are taken re-arms half-open: the
    /// results already in are forgotten, the outstanding trial calls become
    /// late, and a fresh set of permits is handed out, the first to that
    /// call. A call made while a permit is still free (fewer handed out than
    /// [`BreakerBuilder::half_open_permits`], or one given back by an
    /// ignored result) takes that permit instead, and the trial goes on.
    /// Nothing happens without a call. `None` waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .max_wait_in_half_open(Some(Duration::from_secs(10)))
    ///     .build()
    ///     .unwrap();
    /// # let _ = breaker;
    /// ```
    pub fn max_wait_in_half_open(mut self, max: Option<Duration>) -> Self {
        self.max_half_open = max;
        self
    }

    /// The clock every wait and measurement reads ([`ManualClock`] in tests).
    ///
    /// [`ManualClock`]: crate::time::ManualClock
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    /// use gosling::time::ManualClock;
    ///
    /// let manual = ManualClock::new();
    /// let breaker = CircuitBreaker::<()>::builder().clock(manual.clock()).build().unwrap();
    /// # let _ = breaker;
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Only errors for which `predicate` is true count as failures; the
    /// others count as successes. By default every error is a failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    ///
    /// // A 404 says nothing about the health of the server.
    /// let breaker = CircuitBreaker::<u16>::builder()
    ///     .record_failure_if(|status| *status >= 500)
    ///     .build()
    ///     .unwrap();
    /// let _ = breaker.call(|| Err::<(), u16>(404));
    /// assert_eq!(breaker.metrics().failed_calls, 0);
    /// ```
    pub fn record_failure_if(
        mut self,
        predicate: impl Fn(&E) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.record_if = Some(Box::new(predicate));
        self
    }

    /// Errors for which `predicate` is true are neither failures nor
    /// successes: they are left out of the window, and in half-open they
    /// give their permit back. Checked before [`BreakerBuilder::record_failure_if`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::<&str>::builder()
    ///     .ignore_if(|e| *e == "cancelled")
    ///     .build()
    ///     .unwrap();
    /// let _ = breaker.call(|| Err::<(), _>("cancelled"));
    /// assert_eq!(breaker.metrics().ignored_calls, 1);
    /// ```
    pub fn ignore_if(mut self, predicate: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.ignore_if = Some(Box::new(predicate));
        self
    }

    /// Adds a listener called once for every state change, in order.
    /// Listeners run outside the breaker's lock, so they may call the
    /// breaker; a change they cause is delivered after theirs. A listener's
    /// panic reaches the call that caused the change; the change stands and
    /// later changes are still delivered.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{CircuitBreaker, BreakerState};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let opens = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&opens);
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .on_state_change(move |c| {
    ///         if c.to == BreakerState::ForcedOpen {
    ///             counter.fetch_add(1, Ordering::SeqCst);
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// breaker.force_open();
    /// assert_eq!(opens.load(Ordering::SeqCst), 1);
    /// ```
    pub fn on_state_change(
        mut self,
        listener: impl Fn(&StateChange) + Send + Sync + 'static,
    ) -> Self {
        self.listeners.push(Box::new(listener));
        self
    }

    /// Checks the configuration and builds the breaker, closed.
    ///
    /// # Errors
    ///
    /// A [`BreakerBuildError`] naming the first setting out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{BreakerBuildError, CircuitBreaker};
    ///
    /// let err = CircuitBreaker::<()>::builder().count_window(0).build().unwrap_err();
    /// assert_eq!(err, BreakerBuildError::ZeroWindow);
    /// ```
    pub fn build(self) -> Result<CircuitBreaker<E>, BreakerBuildError> {
        let rate_ok = |p: f64| p > 0.0 && p <= 100.0;
        if !rate_ok(self.failure_rate) {
            return Err(BreakerBuildError::FailureRateOutOfRange(self.failure_rate));
        }
        if !rate_ok(self.slow_rate) {
            return Err(BreakerBuildError::SlowCallRateOutOfRange(self.slow_rate));
        }
        if self.half_open_permits == 0 {
            return Err(BreakerBuildError::ZeroHalfOpenPermits);
        }
        if let OpenWait::Growing {
            initial,
            factor,
            max,
        } = self.open_wait
        {
            if !(factor >= 1.0 && factor.is_finite()) {
                return Err(BreakerBuildError::GrowthFactorOutOfRange(factor));
            }
            if max < initial {
                return Err(BreakerBuildError::MaxWaitBelowInitial { initial, max });
            }
        }
        let now = self.clock.now();
        let (window, minimum) = match self.window {
            WindowSpec::Count { size, buckets } => {
                if size == 0 {
                    return Err(BreakerBuildError::ZeroWindow);
                }
                if buckets == 0 || buckets > MAX_BUCKETS || u64::from(buckets) > size {
                    return Err(BreakerBuildError::InvalidBuckets(buckets));
                }
                let per_bucket = size.div_ceil(u64::from(buckets));
                let full = size.div_ceil(per_bucket);
                let minimum = self.minimum_calls.unwrap_or(size.min(100));
                if minimum > size {
                    return Err(BreakerBuildError::MinimumCallsExceedWindow {
                        minimum,
                        window: size,
                    });
                }
                // `full` buckets of history plus the one being filled.
                let ring = usize::try_from(full + 1).unwrap_or(usize::MAX);
                (Window::count(ring, per_bucket), minimum)
            }
            WindowSpec::Time { length, buckets } => {
                if length.is_zero() {
                    return Err(BreakerBuildError::ZeroWindow);
                }
                if buckets == 0 || buckets > MAX_BUCKETS {
                    return Err(BreakerBuildError::InvalidBuckets(buckets));
                }
                let bucket_nanos = (length.as_nanos() / u128::from(buckets)).max(1);
                let bucket_nanos = u64::try_from(bucket_nanos).unwrap_or(u64::MAX);
                (
                    Window::time(buckets as usize, bucket_nanos),
                    self.minimum_calls.unwrap_or(100),
                )
            }
        };
        if minimum == 0 {
            return Err(BreakerBuildError::ZeroMinimumCalls);
        }
        let to_ppm = |p: f64| ((p * 10_000.0).round() as u64).clamp(1, PPM);
        Ok(CircuitBreaker {
            inner: Arc::new(Inner {
                word: CachePadded(AtomicU64::new(CLOSED)),
                window,
                config: Config {
                    failure_ppm: to_ppm(self.failure_rate),
                    slow_ppm: to_ppm(self.slow_rate),
                    slow_duration: self.slow_duration,
                    minimum_calls: minimum,
                    open_wait: self.open_wait,
                    half_open_permits: self.half_open_permits,
                    max_half_open: self.max_half_open,
                },
                clock: self.clock,
                epoch: now,
                open_until_nanos: AtomicU64::new(0),
                totals: Totals::default(),
                shared: Mutex::new(Shared {
                    opens_in_row: 0,
                    half_open: Trial::default(),
                    events: VecDeque::new(),
                }),
                delivering: AtomicBool::new(false),
                record_if: self.record_if,
                ignore_if: self.ignore_if,
                listeners: self.listeners,
                _error: PhantomData,
            }),
        })
    }
}

/// Why [`BreakerBuilder::build`] refused a configuration.
///
/// # Examples
///
/// ```
/// use gosling::retry::{BreakerBuildError, CircuitBreaker};
///
/// let err = CircuitBreaker::<()>::builder().failure_rate_threshold(0.0).build().unwrap_err();
/// assert_eq!(err, BreakerBuildError::FailureRateOutOfRange(0.0));
/// assert_eq!(err.to_string(), "failure-rate threshold 0% is outside (0, 100]");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BreakerBuildError {
    /// The failure-rate threshold (percent) is not in (0, 100].
    FailureRateOutOfRange(f64),
    /// The slow-call-rate threshold (percent) is not in (0, 100].
    SlowCallRateOutOfRange(f64),
    /// The window has zero size or zero length.
    ZeroWindow,
    /// The bucket count is zero, above [`MAX_BUCKETS`], or above a count
    /// window's size.
    InvalidBuckets(u32),
    /// The minimum number of calls is zero.
    ZeroMinimumCalls,
    /// The minimum number of calls exceeds the count window, so the rate
    /// would never be judged.
    MinimumCallsExceedWindow {
        /// The minimum asked for.
        minimum: u64,
        /// The count window's size.
        window: u64,
    },
    /// Half-open would admit no trial call.
    ZeroHalfOpenPermits,
    /// The growth factor of the wait in open is below 1 or not finite.
    GrowthFactorOutOfRange(f64),
    /// The cap of a growing wait in open is below its initial wait.
    MaxWaitBelowInitial {
        /// The initial wait.
        initial: Duration,
        /// The cap.
        max: Duration,
    },
}

impl fmt::Display for BreakerBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakerBuildError::FailureRateOutOfRange(p) => {
                write!(f, "failure-rate threshold {p}% is outside (0, 100]")
            }
            BreakerBuildError::SlowCallRateOutOfRange(p) => {
                write!(f, "slow-call-rate threshold {p}% is outside (0, 100]")
            }
            BreakerBuildError::ZeroWindow => f.write_str("the sliding window is empty"),
            BreakerBuildError::InvalidBuckets(b) => write!(
                f,
                "{b} buckets: need 1 to {MAX_BUCKETS}, and no more than a count window's size"
            ),
            BreakerBuildError::ZeroMinimumCalls => {
                f.write_str("the minimum number of calls is zero")
            }
            BreakerBuildError::MinimumCallsExceedWindow { minimum, window } => write!(
                f,
                "minimum of {minimum} calls exceeds the count window of {window}: the rate would never be judged"
            ),
            BreakerBuildError::ZeroHalfOpenPermits => {
                f.write_str("half-open would admit no trial call")
            }
            BreakerBuildError::GrowthFactorOutOfRange(x) => {
                write!(
                    f,
                    "growth factor {x} of the wait in open is below 1 or not finite"
                )
            }
            BreakerBuildError::MaxWaitBelowInitial { initial, max } => write!(
                f,
                "the cap {max:?} of the wait in open is below its initial wait {initial:?}"
            ),
        }
    }
}

impl Error for BreakerBuildError {}

/// Why a call was not admitted: returned by [`CircuitBreaker::try_acquire`],
/// inside [`CallError::Rejected`] from [`CircuitBreaker::call`].
///
/// # Examples
///
/// ```
/// use gosling::retry::{CircuitBreaker, Rejected};
///
/// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
/// breaker.force_open();
/// assert_eq!(breaker.try_acquire().unwrap_err(), Rejected::ForcedOpen);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejected {
    /// The breaker is open; trial calls start after `retry_after`.
    Open {
        /// The rest of the wait in open.
        retry_after: Duration,
    },
    /// The breaker was forced open.
    ForcedOpen,
    /// Half-open, and every trial permit is taken.
    HalfOpenFull,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Open { retry_after } => {
                write!(f, "circuit breaker is open; retry after {retry_after:?}")
            }
            Rejected::ForcedOpen => f.write_str("circuit breaker is forced open"),
            Rejected::HalfOpenFull => {
                f.write_str("circuit breaker is half-open and every trial permit is taken")
            }
        }
    }
}

impl Error for Rejected {}

/// The error of [`CircuitBreaker::call`]: the call was rejected, or it ran
/// and failed.
///
/// # Examples
///
/// ```
/// use gosling::retry::{CallError, CircuitBreaker};
///
/// let breaker = CircuitBreaker::<&str>::builder().build().unwrap();
/// let err = breaker.call(|| Err::<(), _>("down")).unwrap_err();
/// assert_eq!(err, CallError::Failed("down"));
/// assert_eq!(err.into_inner(), Some("down"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError<E> {
    /// The breaker did not admit the call; the operation never ran.
    Rejected(Rejected),
    /// The operation ran and returned this error.
    Failed(E),
}

impl<E> CallError<E> {
    /// The operation's own error, if it ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{CallError, Rejected};
    ///
    /// assert_eq!(CallError::<u8>::Rejected(Rejected::ForcedOpen).into_inner(), None);
    /// assert_eq!(CallError::Failed(7u8).into_inner(), Some(7));
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Failed(e) => Some(e),
            CallError::Rejected(_) => None,
        }
    }

    /// True when the breaker rejected the call.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{CallError, Rejected};
    ///
    /// assert!(CallError::<()>::Rejected(Rejected::HalfOpenFull).is_rejected());
    /// ```
    pub fn is_rejected(&self) -> bool {
        matches!(self, CallError::Rejected(_))
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => r.fmt(f),
            CallError::Failed(e) => write!(f, "call failed: {e}"),
        }
    }
}

impl<E: Error + 'static> Error for CallError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CallError::Rejected(r) => Some(r),
            CallError::Failed(e) => Some(e),
        }
    }
}

/// A snapshot of a breaker's counters, from [`CircuitBreaker::metrics`].
///
/// Lifetime counts cover every result recorded since the breaker was built;
/// the `window_*` counts and rates cover the current sliding window (in
/// half-open: the current trial).
///
/// # Examples
///
/// ```
/// use gosling::retry::{CircuitBreaker, BreakerState};
///
/// let breaker = CircuitBreaker::<()>::builder().count_window(4).build().unwrap();
/// let _ = breaker.call(|| Ok::<_, ()>(1));
/// let _ = breaker.call(|| Err::<u8, _>(()));
/// let m = breaker.metrics();
/// assert_eq!((m.successful_calls, m.failed_calls, m.window_calls), (1, 1, 2));
/// assert_eq!(m.failure_rate, None); // fewer than the minimum of 4 calls
/// assert_eq!(m.state, BreakerState::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BreakerMetrics {
    /// The current state.
    pub state: BreakerState,
    /// Calls recorded as successes (lifetime).
    pub successful_calls: u64,
    /// Calls recorded as failures (lifetime).
    pub failed_calls: u64,
    /// Recorded calls that were slow, successful or not (lifetime).
    pub slow_calls: u64,
    /// Calls rejected without running (lifetime).
    pub rejected_calls: u64,
    /// Errors the [`BreakerBuilder::ignore_if`] predicate left out (lifetime).
    pub ignored_calls: u64,
    /// Results that arrived after the state they started in had ended, and
    /// so decided nothing (lifetime).
    pub late_results: u64,
    /// Calls in the current window (or half-open trial).
    pub window_calls: u64,
    /// Failures in the current window (or half-open trial).
    pub window_failures: u64,
    /// Slow calls in the current window (or half-open trial).
    pub window_slow_calls: u64,
    /// The window's failure rate in percent, once it holds the minimum
    /// number of calls.
    pub failure_rate: Option<f64>,
    /// The window's slow-call rate in percent, once it holds the minimum
    /// number of calls.
    pub slow_call_rate: Option<f64>,
}

/// A circuit breaker: closed, open, half-open, forced open or disabled,
/// judging a sliding window of results.
///
/// `E` is the error type of the guarded operation, seen by the predicates of
/// [`BreakerBuilder::record_failure_if`] and [`BreakerBuilder::ignore_if`]. Cloning is
/// cheap and shares the breaker.
///
/// Two ways to use it: [`CircuitBreaker::call`] runs a closure, or
/// [`CircuitBreaker::try_acquire`] hands out a [`Permit`] whose result is
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
/// - A [`Permit`] dropped without a result (a panicking call) is a failure.
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
/// use gosling::retry::{CallError, CircuitBreaker, Rejected, BreakerState};
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let breaker = CircuitBreaker::<&str>::builder()
///     .count_window(4)
///     .wait_in_open(Duration::from_secs(10))
///     .half_open_permits(1)
///     .clock(manual.clock())
///     .build()
///     .unwrap();
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

#[derive(Debug)]
struct Config {
    failure_ppm: u64,
    slow_ppm: u64,
    slow_duration: Option<Duration>,
    minimum_calls: u64,
    open_wait: OpenWait,
    half_open_permits: u32,
    max_half_open: Option<Duration>,
}

struct Inner<E> {
    /// BreakerState code and generation; see the module notes. Written only under
    /// `shared`'s lock.
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

/// Cold state, protected by `Inner::shared`.
struct Shared {
    /// Opens since the breaker was last closed by a successful trial (drives
    /// a growing wait in open).
    opens_in_row: u32,
    half_open: Trial,
    /// Changes not yet handed to the listeners, oldest first.
    events: VecDeque<StateChange>,
}

/// The current half-open trial.
#[derive(Debug, Default, Clone, Copy)]
struct Trial {
    since: Option<Instant>,
    issued: u32,
    done: u32,
    failures: u32,
    slow: u32,
}

/// Lifetime counts of results that have left the window (or never entered
/// it: half-open trials) plus rejections and the like. All relaxed: they are
/// statistics, read as a snapshot that may be a few results apart.
#[derive(Debug, Default)]
struct Totals {
    calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
    rejected: AtomicU64,
    ignored: AtomicU64,
    late: AtomicU64,
}

/// How a result counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Success,
    Failure,
    Ignored,
}

#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    calls: u64,
    failures: u64,
    slow: u64,
}

impl Sums {
    fn rate(part: u64, calls: u64) -> f64 {
        if calls == 0 {
            0.0
        } else {
            part as f64 * 100.0 / calls as f64
        }
    }
}

/// True when `part / calls` reaches `ppm` parts per million.
#[inline]
fn reaches(part: u64, calls: u64, ppm: u64) -> bool {
    u128::from(part) * u128::from(PPM) >= u128::from(ppm) * u128::from(calls)
}

#[derive(Debug, Default)]
struct Bucket {
    calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
    /// Time windows: the tick this bucket counts.
    tick: AtomicU64,
}

impl Bucket {
    /// Empties the bucket into the lifetime totals; returns the calls and
    /// the failures plus slow calls it held.
    #[inline]
    fn evict(&self, totals: &Totals) -> (u64, u64) {
        let calls = Self::take(&self.calls, &totals.calls);
        let failures = Self::take(&self.failures, &totals.failures);
        let slow = Self::take(&self.slow, &totals.slow);
        (calls, failures + slow)
    }

    /// Moves `from` into `to`; returns how much moved. A counter read as
    /// zero is left alone (failures and slow calls usually are): an
    /// increment landing after the read stays in the bucket and is counted
    /// there, so nothing is lost, and the common rotation costs one swap and
    /// one add instead of six.
    #[inline]
    fn take(from: &AtomicU64, to: &AtomicU64) -> u64 {
        // ORDERING: statistics only; the swap moves each increment exactly
        // once.
        if from.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let moved = from.swap(0, Ordering::Relaxed);
        to.fetch_add(moved, Ordering::Relaxed);
        moved
    }

    fn load(&self, sums: &mut Sums) {
        // ORDERING: statistics only.
        sums.calls = sums
            .calls
            .saturating_add(self.calls.load(Ordering::Relaxed));
        sums.failures = sums
            .failures
            .saturating_add(self.failures.load(Ordering::Relaxed));
        sums.slow = sums.slow.saturating_add(self.slow.load(Ordering::Relaxed));
    }
}

/// What a count window's closed-state path reads on every result, on one
/// cache line.
#[derive(Debug)]
struct CountHead {
    /// Index of the bucket being filled.
    cursor: AtomicUsize,
    /// The count of the current bucket at or above which the fast success
    /// path goes out of line: 0 (every success) until the window has held
    /// the minimum number of calls, then `per_bucket` (a rotation). A count
    /// window never drops below the minimum again until it is cleared, so
    /// from then on no success can bring it up to the minimum. Both stores
    /// happen under the state lock: 0 by every clear (always part of a
    /// transition), `per_bucket` by a judge that checks the state word, so a
    /// late judge cannot mark a newer window.
    trigger: AtomicU64,
    /// Failures plus slow calls in the buckets, an upper bound: raised
    /// before the bucket's counter, lowered after an eviction. Zero means
    /// that a rotation cannot have raised a rate. Written only on failures,
    /// slow calls and their evictions.
    bad: AtomicU64,
}

#[derive(Debug)]
enum Window {
    Count {
        buckets: Box<[Bucket]>,
        per_bucket: u64,
        head: CachePadded<CountHead>,
    },
    Time {
        buckets: Box<[Bucket]>,
        bucket_nanos: u64,
    },
}

impl Window {
    fn count(ring: usize, per_bucket: u64) -> Window {
        Window::Count {
            buckets: (0..ring).map(|_| Bucket::default()).collect(),
            per_bucket,
            head: CachePadded(CountHead {
                cursor: AtomicUsize::new(0),
                trigger: AtomicU64::new(0),
                bad: AtomicU64::new(0),
            }),
        }
    }

    fn time(ring: usize, bucket_nanos: u64) -> Window {
        Window::Time {
            buckets: (0..ring).map(|_| Bucket::default()).collect(),
            bucket_nanos,
        }
    }

    fn needs_time(&self) -> bool {
        matches!(self, Window::Time { .. })
    }

    /// Records one result; true when the rates must be
    /// judged: after a failure or a slow call, and after a success that may
    /// have raised a rate or brought the window up to `minimum` calls (see
    /// the module notes). `since_epoch` is read only by time windows.
    #[inline]
    fn record(
        &self,
        failed: bool,
        slow: bool,
        since_epoch: u64,
        totals: &Totals,
        minimum: u64,
    ) -> bool {
        match self {
            Window::Count {
                buckets,
                per_bucket,
                head,
            } => {
                // ORDERING: the cursor only picks a bucket; a stale one puts
                // the result in a neighbouring bucket, never loses it.
                let i = head.cursor.load(Ordering::Relaxed);
                let bucket = &buckets[i];
                // ORDERING: counters are statistics; relaxed RMWs never lose
                // an increment.
                let worse = u64::from(failed) + u64::from(slow);
                if worse != 0 {
                    head.bad.fetch_add(worse, Ordering::Relaxed);
                }
                if failed {
                    bucket.failures.fetch_add(1, Ordering::Relaxed);
                }
                if slow {
                    bucket.slow.fetch_add(1, Ordering::Relaxed);
                }
                // Exactly one increment sees the bucket become full: that
                // thread rotates.
                let rotated = bucket.calls.fetch_add(1, Ordering::Relaxed) + 1 == *per_bucket
                    && Self::rotate(buckets, *per_bucket, head, i, totals);
                // ORDERING: a hint, as the window itself is under concurrency.
                worse != 0 || rotated || head.trigger.load(Ordering::Relaxed) == 0
            }
            Window::Time {
                buckets,
                bucket_nanos,
            } => {
                let tick = since_epoch / bucket_nanos;
                let bucket = &buckets[(tick % buckets.len() as u64) as usize];
                // ORDERING: the tag only decides who clears the bucket; the
                // compare-exchange makes that one thread.
                let seen = bucket.tick.load(Ordering::Relaxed);
                let rolled = seen < tick
                    && bucket
                        .tick
                        .compare_exchange(seen, tick, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok();
                if rolled {
                    bucket.evict(totals);
                }
                if failed {
                    bucket.failures.fetch_add(1, Ordering::Relaxed);
                }
                if slow {
                    bucket.slow.fetch_add(1, Ordering::Relaxed);
                }
                let calls = bucket.calls.fetch_add(1, Ordering::Relaxed) + 1;
                // A new tick may have let older buckets leave the window;
                // within a tick the window only grows, and it can reach the
                // minimum only while the current bucket holds no more.
                failed || slow || rolled || calls <= minimum
            }
        }
    }

    /// Count windows: the bucket at `i` is full; clears the next one into
    /// the totals and moves the cursor there. True when that may have raised
    /// a rate: calls left the window, some failures or slow calls stay, and
    /// buckets hold more than one call (with one call per bucket the call
    /// that leaves is replaced by the one just recorded, so a success
    /// cannot raise a rate).
    #[inline]
    fn rotate(
        buckets: &[Bucket],
        per_bucket: u64,
        head: &CountHead,
        i: usize,
        totals: &Totals,
    ) -> bool {
        let next = if i + 1 == buckets.len() { 0 } else { i + 1 };
        let (calls, worse) = buckets[next].evict(totals);
        // ORDERING: see `record`.
        if worse != 0 {
            head.bad.fetch_sub(worse, Ordering::Relaxed);
        }
        head.cursor.store(next, Ordering::Relaxed);
        per_bucket > 1 && calls != 0 && head.bad.load(Ordering::Relaxed) != 0
    }

    /// Count windows: true until the window has held the minimum number of
    /// calls since it was last cleared (see `CountHead::trigger`).
    fn unsettled(&self) -> bool {
        match self {
            // ORDERING: a hint, see `CountHead::trigger`.
            Window::Count { head, .. } => head.trigger.load(Ordering::Relaxed) == 0,
            Window::Time { .. } => false,
        }
    }

    /// Count windows: marks the window as holding the minimum; under the
    /// state lock.
    fn settle(&self) {
        if let Window::Count {
            head, per_bucket, ..
        } = self
        {
            // ORDERING: see `CountHead::trigger`.
            head.trigger.store(*per_bucket, Ordering::Relaxed);
        }
    }

    /// The window's sums at `since_epoch` (read only by time windows).
    fn sums(&self, since_epoch: u64) -> Sums {
        let mut sums = Sums::default();
        match self {
            Window::Count { buckets, .. } => buckets.iter().for_each(|b| b.load(&mut sums)),
            Window::Time {
                buckets,
                bucket_nanos,
            } => {
                let now = since_epoch / bucket_nanos;
                let len = buckets.len() as u64;
                for b in buckets.iter() {
                    // ORDERING: statistics only.
                    let tick = b.tick.load(Ordering::Relaxed);
                    if tick <= now && now - tick < len {
                        b.load(&mut sums);
                    }
                }
            }
        }
        sums
    }

    /// Empties every bucket into the totals.
    fn clear(&self, totals: &Totals) {
        match self {
            Window::Count { buckets, head, .. } => {
                // ORDERING: see `CountHead::trigger`.
                head.trigger.store(0, Ordering::Relaxed);
                for b in buckets.iter() {
                    let (_, worse) = b.evict(totals);
                    if worse != 0 {
                        // ORDERING: see `record`.
                        head.bad.fetch_sub(worse, Ordering::Relaxed);
                    }
                }
            }
            Window::Time { buckets, .. } => {
                buckets.iter().for_each(|b| {
                    b.evict(totals);
                });
            }
        }
    }
}

/// Admission to one call, from [`CircuitBreaker::try_acquire`]: report the
/// call's result with [`Permit::success`], [`Permit::failure`],
/// [`Permit::ignore`] or [`Permit::record`].
///
/// The permit remembers the state (and its generation) it was admitted in:
/// a result that arrives after that state has ended is late and decides
/// nothing. A permit dropped without a result counts as a failure (a call
/// that panicked did not succeed).
///
/// # Examples
///
/// ```
/// use gosling::retry::CircuitBreaker;
///
/// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
/// let permit = breaker.try_acquire().unwrap();
/// // ... run the call, perhaps on another thread ...
/// permit.success();
/// assert_eq!(breaker.metrics().successful_calls, 1);
/// ```
#[must_use = "a permit dropped without a result counts as a failure"]
pub struct Permit<'a, E> {
    inner: &'a Inner<E>,
    word: u64,
    /// When the call started, if slow calls are measured.
    start: Option<Instant>,
    done: bool,
}

impl<E> fmt::Debug for Permit<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("state", &BreakerState::from_word(self.word))
            .field("generation", &(self.word >> STATE_BITS))
            .finish_non_exhaustive()
    }
}

impl<E> Permit<'_, E> {
    /// Records a success.
    ///
    /// # Examples
    ///
    /// ```
    /// let breaker = gosling::retry::CircuitBreaker::<()>::builder().build().unwrap();
    /// breaker.try_acquire().unwrap().success();
    /// assert_eq!(breaker.metrics().window_calls, 1);
    /// ```
    #[inline]
    pub fn success(mut self) {
        self.finish(Kind::Success);
    }

    /// Records a failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let breaker = gosling::retry::CircuitBreaker::<()>::builder().build().unwrap();
    /// breaker.try_acquire().unwrap().failure();
    /// assert_eq!(breaker.metrics().failed_calls, 1);
    /// ```
    #[inline]
    pub fn failure(mut self) {
        self.finish(Kind::Failure);
    }

    /// Records nothing: the call is left out of the window, and a half-open
    /// trial permit is given back.
    ///
    /// # Examples
    ///
    /// ```
    /// let breaker = gosling::retry::CircuitBreaker::<()>::builder().build().unwrap();
    /// breaker.try_acquire().unwrap().ignore();
    /// assert_eq!(breaker.metrics().ignored_calls, 1);
    /// ```
    #[inline]
    pub fn ignore(mut self) {
        self.finish(Kind::Ignored);
    }

    /// Records `result`: `Ok` is a success, `Err` is classified by the
    /// breaker's predicates.
    ///
    /// # Examples
    ///
    /// ```
    /// let breaker = gosling::retry::CircuitBreaker::<&str>::builder().build().unwrap();
    /// let permit = breaker.try_acquire().unwrap();
    /// let result: Result<u8, &str> = Err("refused");
    /// permit.record(&result);
    /// assert_eq!(breaker.metrics().failed_calls, 1);
    /// ```
    #[inline]
    pub fn record<T>(mut self, result: &Result<T, E>) {
        let kind = match result {
            Ok(_) => Kind::Success,
            Err(e) => self.inner.classify(e),
        };
        self.finish(kind);
    }

    #[inline]
    fn finish(&mut self, kind: Kind) {
        self.done = true;
        self.inner.on_result(self.word, self.start, kind);
    }
}

impl<E> Drop for Permit<'_, E> {
    fn drop(&mut self) {
        if !self.done {
            self.finish(Kind::Failure);
        }
    }
}

impl<E> CircuitBreaker<E> {
    /// A builder with the defaults listed on [`BreakerBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<std::io::Error>::builder().build().unwrap();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
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
    /// use gosling::retry::{CircuitBreaker, Rejected};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
    /// breaker.try_acquire().unwrap().success();
    /// breaker.force_open();
    /// assert_eq!(breaker.try_acquire().unwrap_err(), Rejected::ForcedOpen);
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_, E>, Rejected> {
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
            return Ok(Permit {
                inner,
                word,
                start,
                done: false,
            });
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
    /// use gosling::retry::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::<String>::builder().build().unwrap();
    /// assert_eq!(breaker.call(|| Ok::<_, String>(40 + 2)), Ok(42));
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
    /// use gosling::retry::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
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
    /// use gosling::retry::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
    /// let _ = breaker.call(|| Ok::<_, ()>(()));
    /// assert_eq!(breaker.metrics().successful_calls, 1);
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
    /// use gosling::retry::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
    /// breaker.force_open();
    /// assert_eq!(breaker.state(), BreakerState::ForcedOpen);
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
    /// use gosling::retry::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
    /// breaker.disable();
    /// assert_eq!(breaker.state(), BreakerState::Disabled);
    /// assert!(breaker.call(|| Err::<(), _>(())).is_err());
    /// assert_eq!(breaker.metrics().failed_calls, 0);
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
    /// use gosling::retry::{CircuitBreaker, BreakerState};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
    /// breaker.force_open();
    /// breaker.reset();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// ```
    pub fn reset(&self) {
        self.inner.manual_transition(CLOSED);
    }

    /// Test hook: adds `successes` and `failures` straight to the current
    /// window bucket, as if that many calls had been recorded, without
    /// judging the rates. Lets tests reach counts (10^9 and beyond) that no
    /// test could loop through.
    #[doc(hidden)]
    pub fn __preload_window(&self, successes: u64, failures: u64) {
        let (bucket, head) = match &self.inner.window {
            Window::Count { buckets, head, .. } => {
                (&buckets[head.cursor.load(Ordering::Relaxed)], head)
            }
            Window::Time { .. } => return,
        };
        head.bad.fetch_add(failures, Ordering::Relaxed);
        bucket
            .calls
            .fetch_add(successes + failures, Ordering::Relaxed);
        bucket.failures.fetch_add(failures, Ordering::Relaxed);
    }
}

impl<E> Inner<E> {
    fn since_epoch(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn classify(&self, error: &E) -> Kind {
        if self.ignore_if.as_ref().is_some_and(|p| p(error)) {
            return Kind::Ignored;
        }
        match &self.record_if {
            Some(p) if !p(error) => Kind::Success,
            _ => Kind::Failure,
        }
    }

    /// The closed-state success path (no clock, count window holding the
    /// minimum number of calls) is kept small enough to inline into the
    /// caller; everything else goes out of line.
    #[inline]
    fn on_result(&self, word: u64, start: Option<Instant>, kind: Kind) {
        if kind == Kind::Success
            && start.is_none()
            && word & STATE_MASK == CLOSED
            // ORDERING: see `on_result_slow`.
            && self.word.load(Ordering::Relaxed) == word
        {
            if let Window::Count { buckets, head, .. } = &self.window {
                // ORDERING: see `Window::record`.
                let i = head.cursor.load(Ordering::Relaxed);
                let calls = buckets[i].calls.fetch_add(1, Ordering::Relaxed) + 1;
                let trigger = head.trigger.load(Ordering::Relaxed);
                if calls >= trigger {
                    self.after_success(word, i, calls, trigger);
                }
                return;
            }
        }
        self.on_result_slow(word, start, kind);
    }

    /// The fast success path, recorded in bucket `i` (which now holds
    /// `calls`), reached `trigger` (see `CountHead::trigger`): rotates if the
    /// bucket is full, judges if that or the minimum calls for it.
    #[cold]
    #[inline(never)]
    fn after_success(&self, word: u64, i: usize, calls: u64, trigger: u64) {
        let Window::Count {
            buckets,
            per_bucket,
            head,
        } = &self.window
        else {
            return;
        };
        // Exactly one increment sees the bucket become full: that thread
        // rotates.
        let rotated =
            calls == *per_bucket && Window::rotate(buckets, *per_bucket, head, i, &self.totals);
        if rotated || trigger == 0 {
            self.judge(word, 0);
        }
    }

    #[inline(never)]
    fn on_result_slow(&self, word: u64, start: Option<Instant>, kind: Kind) {
        if word & STATE_MASK == DISABLED {
            return;
        }
        // ORDERING: the generation check needs no ordering of its own; a
        // result racing a transition may count in either window.
        if self.word.load(Ordering::Relaxed) != word {
            return self.on_late();
        }
        if kind == Kind::Ignored {
            return self.on_ignored(word);
        }
        let mut now = None;
        let slow = match (start, self.config.slow_duration) {
            (Some(start), Some(limit)) => {
                let t = self.clock.now();
                now = Some(t);
                t.saturating_duration_since(start) >= limit
            }
            _ => false,
        };
        let failed = kind == Kind::Failure;
        if word & STATE_MASK == HALF_OPEN {
            return self.on_trial_result(word, failed, slow);
        }
        let since_epoch = if self.window.needs_time() {
            self.since_epoch(now.unwrap_or_else(|| self.clock.now()))
        } else {
            0
        };
        let minimum = self.config.minimum_calls;
        if self
            .window
            .record(failed, slow, since_epoch, &self.totals, minimum)
        {
            self.judge(word, since_epoch);
        }
    }

    #[cold]
    fn on_late(&self) {
        // ORDERING: statistics only.
        self.totals.late.fetch_add(1, Ordering::Relaxed);
    }

    #[cold]
    fn on_ignored(&self, word: u64) {
        // ORDERING: statistics only.
        self.totals.ignored.fetch_add(1, Ordering::Relaxed);
        if word & STATE_MASK == HALF_OPEN {
            let mut shared = self.shared.lock();
            // ORDERING: under the lock every transition is visible.
            if self.word.load(Ordering::Relaxed) == word {
                shared.half_open.issued -= 1;
            }
        }
    }

    /// Closed state, after a result that may have raised a rate (see
    /// `Window::record`): opens if a rate is reached.
    #[cold]
    fn judge(&self, word: u64, since_epoch: u64) {
        let sums = self.window.sums(since_epoch);
        if sums.calls >= self.config.minimum_calls && self.window.unsettled() {
            let _shared = self.shared.lock();
            // ORDERING: under the lock every transition is visible.
            if self.word.load(Ordering::Relaxed) == word {
                self.window.settle();
            }
        }
        if !self.rates_reached(sums) {
            return;
        }
        let mut shared = self.shared.lock();
        // ORDERING: under the lock every transition is visible.
        if self.word.load(Ordering::Relaxed) != word {
            return; // someone else moved it first
        }
        shared.opens_in_row = shared.opens_in_row.saturating_add(1);
        self.enter_open(&mut shared, word);
        drop(shared);
        self.deliver();
    }

    fn rates_reached(&self, sums: Sums) -> bool {
        sums.calls >= self.config.minimum_calls
            && sums.calls > 0
            && (reaches(sums.failures, sums.calls, self.config.failure_ppm)
                || (self.config.slow_duration.is_some()
                    && reaches(sums.slow, sums.calls, self.config.slow_ppm)))
    }

    /// Moves to open (under the lock) and queues the event.
    fn enter_open(&self, shared: &mut Shared, word: u64) {
        let now = self.clock.now();
        let wait = self.config.open_wait.wait(shared.opens_in_row);
        let until = self
            .since_epoch(now)
            .saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX));
        // ORDERING: published by the Release store of the word below.
        self.open_until_nanos.store(until, Ordering::Relaxed);
        self.window.clear(&self.totals);
        self.set_word(shared, word, OPEN, now);
    }

    /// Publishes the next generation in `state` and queues the event.
    fn set_word(&self, shared: &mut Shared, old: u64, state: u64, at: Instant) -> u64 {
        let generation = (old >> STATE_BITS).wrapping_add(1);
        let new = (generation << STATE_BITS) | state;
        // ORDERING: Release publishes what the transition wrote before it
        // (open deadline, cleared window) to Acquire readers of the state.
        self.word.store(new, Ordering::Release);
        // Resetting a closed breaker only empties its window: no event.
        if (old & STATE_MASK, state) != (CLOSED, CLOSED) {
            shared.events.push_back(StateChange {
                from: BreakerState::from_word(old),
                to: BreakerState::from_word(new),
                at,
            });
        }
        new
    }

    fn start_trial(&self, shared: &mut Shared, old: u64, now: Instant) -> u64 {
        shared.half_open = Trial {
            since: Some(now),
            ..Trial::default()
        };
        self.set_word(shared, old, HALF_OPEN, now)
    }

    #[cold]
    fn acquire_slow(&self) -> Result<Permit<'_, E>, Rejected> {
        let now = self.clock.now();
        // Rejections while open take no lock: an outage hammered by many
        // threads should not serialise them.
        // ORDERING: Acquire pairs with the Release of the transition, so the
        // open deadline read below is at least this open's.
        let seen = self.word.load(Ordering::Acquire);
        match seen & STATE_MASK {
            FORCED_OPEN => return Err(self.reject(Rejected::ForcedOpen)),
            OPEN => {
                // ORDERING: see the Acquire above.
                let until = self.open_until_nanos.load(Ordering::Relaxed);
                let at = self.since_epoch(now);
                if at < until {
                    let retry_after = Duration::from_nanos(until - at);
                    return Err(self.reject(Rejected::Open { retry_after }));
                }
            }
            _ => {}
        }
        let mut shared = self.shared.lock();
        // ORDERING: under the lock every transition is visible.
        let mut word = self.word.load(Ordering::Relaxed);
        match word & STATE_MASK {
            CLOSED | DISABLED => {
                drop(shared);
                let start = match self.config.slow_duration {
                    Some(_) if word & STATE_MASK == CLOSED => Some(now),
                    _ => None,
                };
                return Ok(Permit {
                    inner: self,
                    word,
                    start,
                    done: false,
                });
            }
            FORCED_OPEN => {
                drop(shared);
                return Err(self.reject(Rejected::ForcedOpen));
            }
            OPEN => {
                // ORDERING: written under the lock we hold.
                let until = self.open_until_nanos.load(Ordering::Relaxed);
                let at = self.since_epoch(now);
                if at < until {
                    drop(shared);
                    let retry_after = Duration::from_nanos(until - at);
                    return Err(self.reject(Rejected::Open { retry_after }));
                }
                word = self.start_trial(&mut shared, word, now);
            }
            _ => {
                // Half-open: re-arm a trial that has waited too long.
                let expired = match (shared.half_open.since, self.config.max_half_open) {
                    (Some(since), Some(max)) => now.saturating_duration_since(since) >= max,
                    _ => false,
                };
                if expired && shared.half_open.issued >= self.config.half_open_permits {
                    word = self.start_trial(&mut shared, word, now);
                }
            }
        }
        let admitted = shared.half_open.issued < self.config.half_open_permits;
        if admitted {
            shared.half_open.issued += 1;
        }
        drop(shared);
        self.deliver();
        if !admitted {
            return Err(self.reject(Rejected::HalfOpenFull));
        }
        let start = self.config.slow_duration.map(|_| now);
        Ok(Permit {
            inner: self,
            word,
            start,
            done: false,
        })
    }

    fn reject(&self, why: Rejected) -> Rejected {
        // ORDERING: statistics only.
        self.totals.rejected.fetch_add(1, Ordering::Relaxed);
        why
    }

    #[cold]
    fn on_trial_result(&self, word: u64, failed: bool, slow: bool) {
        // ORDERING: statistics only.
        self.totals.calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.totals.failures.fetch_add(1, Ordering::Relaxed);
        }
        if slow {
            self.totals.slow.fetch_add(1, Ordering::Relaxed);
        }
        let mut shared = self.shared.lock();
        // ORDERING: under the lock every transition is visible.
        if self.word.load(Ordering::Relaxed) != word {
            return; // the trial was re-armed or the state forced meanwhile
        }
        let trial = &mut shared.half_open;
        trial.done += 1;
        trial.failures += u32::from(failed);
        trial.slow += u32::from(slow);
        if trial.done < self.config.half_open_permits {
            return;
        }
        let sums = Sums {
            calls: u64::from(trial.done),
            failures: u64::from(trial.failures),
            slow: u64::from(trial.slow),
        };
        let reopen = reaches(sums.failures, sums.calls, self.config.failure_ppm)
            || (self.config.slow_duration.is_some()
                && reaches(sums.slow, sums.calls, self.config.slow_ppm));
        if reopen {
            shared.opens_in_row = shared.opens_in_row.saturating_add(1);
            self.enter_open(&mut shared, word);
        } else {
            shared.opens_in_row = 0;
            self.window.clear(&self.totals);
            let now = self.clock.now();
            self.set_word(&mut shared, word, CLOSED, now);
        }
        drop(shared);
        self.deliver();
    }

    fn manual_transition(&self, state: u64) {
        let now = self.clock.now();
        let mut shared = self.shared.lock();
        // ORDERING: under the lock every transition is visible.
        let word = self.word.load(Ordering::Relaxed);
        if word & STATE_MASK == state && state != CLOSED {
            return;
        }
        if state == CLOSED {
            shared.opens_in_row = 0;
            self.window.clear(&self.totals);
        }
        self.set_word(&mut shared, word, state, now);
        drop(shared);
        self.deliver();
    }

    /// Hands queued events to the listeners, in order, outside the state
    /// lock. One thread delivers at a time; events queued meanwhile (also by
    /// a listener itself) are picked up by the delivering thread.
    fn deliver(&self) {
        if self.listeners.is_empty() {
            self.shared.lock().events.clear();
            return;
        }
        loop {
            // ORDERING: Acquire/Release make the flag a lock over delivery.
            if self.delivering.swap(true, Ordering::Acquire) {
                return;
            }
            struct Release<'a>(&'a AtomicBool);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    // ORDERING: see the swap above.
                    self.0.store(false, Ordering::Release);
                }
            }
            let guard = Release(&self.delivering);
            loop {
                let Some(event) = self.shared.lock().events.pop_front() else {
                    break;
                };
                for listener in &self.listeners {
                    listener(&event);
                }
            }
            drop(guard);
            // An event queued after our last pop but before the release
            // found the flag taken: look again.
            if self.shared.lock().events.is_empty() {
                return;
            }
        }
    }

    fn metrics(&self) -> BreakerMetrics {
        // ORDERING: Acquire pairs with the Release of a transition.
        let word = self.word.load(Ordering::Acquire);
        let now = self.clock.now();
        let state = word & STATE_MASK;
        let (window, judged) = if state == HALF_OPEN {
            let shared = self.shared.lock();
            let t = shared.half_open;
            let sums = Sums {
                calls: u64::from(t.done),
                failures: u64::from(t.failures),
                slow: u64::from(t.slow),
            };
            (sums, sums.calls > 0)
        } else {
            let sums = self.window.sums(self.since_epoch(now));
            (sums, sums.calls >= self.config.minimum_calls)
        };
        // Lifetime: what left the window plus what is in every bucket.
        let mut live = Sums::default();
        match &self.window {
            Window::Count { buckets, .. } | Window::Time { buckets, .. } => {
                buckets.iter().for_each(|b| b.load(&mut live));
            }
        }
        // ORDERING: statistics only.
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let calls = load(&self.totals.calls).saturating_add(live.calls);
        let failures = load(&self.totals.failures).saturating_add(live.failures);
        let slow = load(&self.totals.slow).saturating_add(live.slow);
        BreakerMetrics {
            state: BreakerState::from_word(word),
            successful_calls: calls.saturating_sub(failures),
            failed_calls: failures,
            slow_calls: slow,
            rejected_calls: load(&self.totals.rejected),
            ignored_calls: load(&self.totals.ignored),
            late_results: load(&self.totals.late),
            window_calls: window.calls,
            window_failures: window.failures,
            window_slow_calls: window.slow,
            failure_rate: judged.then(|| Sums::rate(window.failures, window.calls)),
            slow_call_rate: judged.then(|| Sums::rate(window.slow, window.calls)),
        }
    }
}
