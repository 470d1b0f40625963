//! [`BreakerBuilder`]: the breaker's settings, their defaults and checks;
//! [`BreakerBuildError`] when one is out of range; and `Config`, the checked
//! settings the state machine reads.

use super::state::{CLOSED, Shared, StateChange};
use super::window::{MAX_BUCKETS, PPM, Totals, Window};
use super::{CircuitBreaker, Inner};
use crate::sync::{CachePadded, Mutex};
use crate::time::Clock;
use crate::time::duration_ns;
use std::error::Error;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

/// How long the breaker stays open before it lets trial calls through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum OpenWait {
    Fixed(Duration),
    Growing {
        initial: Duration,
        factor: f64,
        max: Duration,
    },
}

impl OpenWait {
    /// The wait for the `n`-th open in a row (1-based; 0 reads as 1):
    /// `initial × factor^(n − 1)`, capped at `max`: the same function as an
    /// exponential `retry::Backoff` without jitter (the tests compare them).
    pub(super) fn wait(&self, n: u32) -> Duration {
        match *self {
            OpenWait::Fixed(d) => d,
            OpenWait::Growing {
                initial,
                factor,
                max,
            } => {
                // `build` refuses a factor below 1 or not finite; should one
                // get here, the wait is the cap.
                let steps = n.max(1) - 1;
                Duration::from_nanos(crate::time::grow_nanos(
                    duration_ns(initial),
                    factor,
                    steps,
                    duration_ns(max),
                ))
            }
        }
    }
}

/// The sliding window's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowSpec {
    Count { size: u64, buckets: u32 },
    Time { length: Duration, buckets: u32 },
}

/// A classifier of errors, [`BreakerBuilder::record_failure_if`] or
/// [`BreakerBuilder::ignore_if`].
pub(super) type Predicate<E> = Box<dyn Fn(&E) -> bool + Send + Sync>;
/// A listener, [`BreakerBuilder::on_state_change`].
pub(super) type Listener = Box<dyn Fn(&StateChange) + Send + Sync>;

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
/// use gosling::breaker::CircuitBreaker;
/// use std::time::Duration;
///
/// let breaker = CircuitBreaker::<std::io::Error>::builder()
///     .failure_rate_threshold(25.0)
///     .count_window(20)
///     .minimum_calls(10)
///     .wait_in_open(Duration::from_secs(5))
///     .half_open_permits(3)
///     .build()?;
/// assert!(breaker.try_acquire().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
    pub(super) fn new() -> BreakerBuilder<E> {
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
    /// use gosling::breaker::{BreakerBuildError, BreakerState, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .count_window(4) // the minimum follows: 4 calls
    ///     .failure_rate_threshold(50.0)
    ///     .build()?;
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
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .slow_call_threshold(80.0, Duration::from_millis(500))
    ///     .build()?;
    /// assert_eq!(breaker.metrics().slow_calls, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::<()>::builder().count_window(50).build()?;
    /// assert_eq!(breaker.metrics().window_calls, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::{BreakerBuildError, CircuitBreaker};
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
    /// use gosling::breaker::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .time_window(Duration::from_secs(10), 10)
    ///     .minimum_calls(20)
    ///     .build()?;
    /// assert_eq!(breaker.metrics().window_calls, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::{BreakerBuildError, CircuitBreaker};
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
    /// use gosling::breaker::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .wait_in_open(Duration::from_secs(30))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .wait_in_open_growing(Duration::from_secs(1), 2.0, Duration::from_secs(60))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::{BreakerBuildError, CircuitBreaker};
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
    /// use gosling::breaker::CircuitBreaker;
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder()
    ///     .max_wait_in_half_open(Some(Duration::from_secs(10)))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::CircuitBreaker;
    /// use gosling::time::ManualClock;
    ///
    /// let manual = ManualClock::new();
    /// let breaker = CircuitBreaker::<()>::builder().clock(manual.clock()).build()?;
    /// # let _ = breaker;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::CircuitBreaker;
    ///
    /// // A 404 says nothing about the health of the server.
    /// let breaker = CircuitBreaker::<u16>::builder()
    ///     .record_failure_if(|status| *status >= 500)
    ///     .build()?;
    /// let _ = breaker.call(|| Err::<(), u16>(404));
    /// assert_eq!(breaker.metrics().failed_calls, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::<&str>::builder()
    ///     .ignore_if(|e| *e == "cancelled")
    ///     .build()?;
    /// let _ = breaker.call(|| Err::<(), _>("cancelled"));
    /// assert_eq!(breaker.metrics().ignored_calls, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::{CircuitBreaker, BreakerState};
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
    ///     .build()?;
    /// breaker.force_open();
    /// assert_eq!(opens.load(Ordering::SeqCst), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::{BreakerBuildError, CircuitBreaker};
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
                shared: Mutex::new(Shared::new()),
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
/// use gosling::breaker::{BreakerBuildError, CircuitBreaker};
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

/// The checked settings, as the state machine reads them.
#[derive(Debug)]
pub(super) struct Config {
    /// The failure-rate threshold, in parts per million.
    pub(super) failure_ppm: u64,
    /// The slow-call-rate threshold, in parts per million.
    pub(super) slow_ppm: u64,
    /// `None`: no call is timed.
    pub(super) slow_duration: Option<Duration>,
    pub(super) minimum_calls: u64,
    pub(super) open_wait: OpenWait,
    pub(super) half_open_permits: u32,
    pub(super) max_half_open: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::OpenWait;
    use crate::retry::{Backoff, JitterRng};
    use std::time::Duration;

    #[test]
    fn a_growing_wait_multiplies_up_to_its_cap() {
        let secs = Duration::from_secs;
        let wait = OpenWait::Growing {
            initial: secs(1),
            factor: 2.0,
            max: secs(60),
        };
        let waits: Vec<u64> = [0, 1, 2, 3, 6, 7, 1_000, u32::MAX]
            .iter()
            .map(|&n| wait.wait(n).as_secs())
            .collect();
        assert_eq!(waits, [1, 1, 2, 4, 32, 60, 60, 60]);
        assert_eq!(OpenWait::Fixed(secs(9)).wait(5), secs(9));
    }

    /// The growing wait is an exponential backoff without jitter, capped:
    /// written out in the breaker, it must not drift from `Backoff`.
    #[test]
    fn a_growing_wait_is_an_exponential_backoff_without_jitter() {
        let nanos = Duration::from_nanos;
        for (initial, factor, max) in [
            (nanos(1), 1.0, nanos(1)),
            (nanos(0), 3.0, Duration::from_secs(1)),
            (Duration::from_millis(7), 1.5, Duration::from_secs(3)),
            (Duration::from_secs(1), 2.0, Duration::from_secs(60)),
            (Duration::from_nanos(999), 10.0, Duration::MAX),
            (Duration::MAX, 2.0, Duration::MAX),
        ] {
            let wait = OpenWait::Growing {
                initial,
                factor,
                max,
            };
            let backoff = Backoff::exponential(initial, factor)
                .expect("a valid factor")
                .cap(max);
            for n in (0..70).chain([1_000, u32::MAX]) {
                let expected = backoff.delay(n.max(1), Duration::ZERO, &mut JitterRng::seeded(0));
                assert_eq!(
                    wait.wait(n),
                    expected,
                    "{initial:?} × {factor}^({n} − 1), cap {max:?}"
                );
            }
        }
    }
}
