//! Adaptive limits: limits that move with what the system observes.
//!
//! - [`AimdLimit`]: a concurrency limit with additive increase (on success)
//!   and multiplicative decrease (on a drop, or a latency above a timeout).
//! - [`GradientLimit`]: a concurrency limit in the manner of Netflix's
//!   Gradient2: it compares a short-term latency (the last sample) with a
//!   long-term exponential average and shrinks the limit as latency grows
//!   above its usual level, grows it while latency stays flat.
//! - [`AdaptiveRate`]: a [`TokenBucket`] whose rate lowers itself while a
//!   caller-supplied load signal is above a target, and recovers below it.
//!
//! The two concurrency limits each own a [`ConcurrencyLimiter`] that they
//! resize; callers take permits from [`limiter`](AimdLimit::limiter) and
//! report each finished request with [`record`](AimdLimit::record).
//! Outcomes are told apart: a success and its latency feed the algorithm, a
//! drop (overload: rejected, timed out) lowers the limit, a cancellation
//! (the caller gave up for its own reasons) is ignored.

use super::{AllowError, ConcurrencyLimiter, LimitConfigError, Rate, RateLimiter, TokenBucket};
use crate::sync::Mutex;
use crate::time::Clock;
use std::fmt;
use std::time::Duration;

/// What [`AimdLimit`] and [`GradientLimit`] share: a [`ConcurrencyLimiter`]
/// resized within `[min, max]`, read through `limit` / `limiter`, shown by
/// `Debug` as limit and bounds. The type needs fields `limiter`, `min` and
/// `max`.
macro_rules! adaptive_limit_common {
    ($ty:ident) => {
        impl $ty {
            /// The current limit.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let adaptive = gosling::limit::", stringify!($ty), "::new(4, 1, 8)?;")]
            /// assert_eq!(adaptive.limit(), 4);
            /// # Ok::<(), gosling::limit::LimitConfigError>(())
            /// ```
            #[must_use]
            pub fn limit(&self) -> usize {
                self.limiter.limit()
            }

            /// The concurrency limiter this limit drives.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let adaptive = gosling::limit::", stringify!($ty), "::new(1, 1, 8)?;")]
            /// let _p = adaptive.limiter().try_acquire()?;
            /// assert!(adaptive.limiter().try_acquire().is_err());
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            #[must_use]
            pub fn limiter(&self) -> &ConcurrencyLimiter {
                &self.limiter
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("limit", &self.limit())
                    .field("min", &self.min)
                    .field("max", &self.max)
                    .finish()
            }
        }
    };
}

/// How a request ended, as fed to an adaptive limit.
///
/// # Examples
///
/// ```
/// use gosling::limit::Outcome;
/// assert_ne!(Outcome::Success, Outcome::Dropped);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Completed; its latency is a valid sample.
    Success,
    /// Dropped for overload (rejected downstream, timed out): lowers the limit.
    Dropped,
    /// Cancelled by the caller: says nothing about load; ignored.
    Cancelled,
}

/// A concurrency limit by additive increase, multiplicative decrease.
///
/// On [`Outcome::Success`] with latency at most the timeout, the limit grows
/// by one per `limit` successes (one per "window" of requests); on
/// [`Outcome::Dropped`] or a latency above the timeout it is multiplied by
/// the backoff ratio (0.9 by default); [`Outcome::Cancelled`] changes nothing.
/// The limit stays within `[min, max]`.
///
/// # Examples
///
/// ```
/// use gosling::limit::{AimdLimit, Outcome};
/// use std::time::Duration;
///
/// let aimd = AimdLimit::new(10, 1, 100)?;
/// aimd.record(Duration::from_millis(5), Outcome::Dropped);
/// assert_eq!(aimd.limit(), 9);
/// for _ in 0..10 {
///     aimd.record(Duration::from_millis(5), Outcome::Success); // +1/limit each
/// }
/// assert_eq!(aimd.limit(), 10);
/// let _permit = aimd.limiter().try_acquire()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AimdLimit {
    limiter: ConcurrencyLimiter,
    /// Protected: the real-valued limit.
    state: Mutex<f64>,
    min: usize,
    max: usize,
    backoff: f64,
    timeout: Duration,
}

fn check_bounds(initial: usize, min: usize, max: usize) -> Result<(), LimitConfigError> {
    if min == 0 || initial == 0 {
        return Err(LimitConfigError::ZeroCapacity);
    }
    if min > max || initial < min || initial > max {
        return Err(LimitConfigError::Unsupported {
            setting: "initial limit outside [min, max]",
            value: initial as u64,
        });
    }
    Ok(())
}

impl AimdLimit {
    /// Starts at `initial`, stays within `[min, max]`; backoff 0.9, latency
    /// timeout 5 s.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroCapacity`] for a zero `min` or `initial`;
    /// [`LimitConfigError::Unsupported`] when `initial` is outside `[min, max]`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::limit::AimdLimit::new(5, 10, 20).is_err());
    /// ```
    pub fn new(initial: usize, min: usize, max: usize) -> Result<AimdLimit, LimitConfigError> {
        check_bounds(initial, min, max)?;
        Ok(AimdLimit {
            limiter: ConcurrencyLimiter::new(initial)?,
            state: Mutex::new(initial as f64),
            min,
            max,
            backoff: 0.9,
            timeout: Duration::from_secs(5),
        })
    }

    /// Sets the decrease factor (clamped to `[0.1, 0.99]`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{AimdLimit, Outcome};
    /// let aimd = AimdLimit::new(10, 1, 10)?.backoff(0.5);
    /// aimd.record(std::time::Duration::ZERO, Outcome::Dropped);
    /// assert_eq!(aimd.limit(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn backoff(mut self, ratio: f64) -> AimdLimit {
        self.backoff = if ratio.is_nan() {
            0.9
        } else {
            ratio.clamp(0.1, 0.99)
        };
        self
    }

    /// Sets the latency above which a success counts as a drop.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{AimdLimit, Outcome};
    /// use std::time::Duration;
    /// let aimd = AimdLimit::new(10, 1, 10)?.timeout(Duration::from_millis(100));
    /// aimd.record(Duration::from_secs(1), Outcome::Success);
    /// assert_eq!(aimd.limit(), 9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> AimdLimit {
        self.timeout = timeout;
        self
    }

    /// Feeds one finished request; returns the new limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{AimdLimit, Outcome};
    /// let aimd = AimdLimit::new(3, 1, 10)?;
    /// assert_eq!(aimd.record(std::time::Duration::ZERO, Outcome::Cancelled), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record(&self, latency: Duration, outcome: Outcome) -> usize {
        let mut limit = self.state.lock();
        match outcome {
            Outcome::Cancelled => {}
            Outcome::Dropped => *limit *= self.backoff,
            Outcome::Success if latency > self.timeout => *limit *= self.backoff,
            Outcome::Success => *limit += 1.0 / limit.max(1.0),
        }
        *limit = limit.clamp(self.min as f64, self.max as f64);
        // A tiny epsilon so that k additions of 1/k land on the next integer.
        let whole = (*limit + 1e-9).floor() as usize;
        let whole = whole.clamp(self.min, self.max);
        let _ = self.limiter.resize(whole);
        whole
    }
}

adaptive_limit_common!(AimdLimit);

/// A latency-gradient concurrency limit (Gradient2-style).
///
/// Keeps a long-term exponential average of latency; on each successful
/// sample computes `gradient = clamp(tolerance × long / short, 0.5, 1.0)` and
/// moves the limit towards `limit × gradient + sqrt(limit)` (the square root
/// is headroom that lets the limit grow while latency is flat). A drop
/// applies the smallest gradient (0.5); cancellations are ignored. When the
/// short latency stays below the long-term average (the system recovered),
/// the average decays towards it.
///
/// # Examples
///
/// ```
/// use gosling::limit::{GradientLimit, Outcome};
/// use std::time::Duration;
///
/// let gradient = GradientLimit::new(20, 1, 200)?;
/// for _ in 0..50 {
///     gradient.record(Duration::from_millis(10), Outcome::Success);
/// }
/// let steady = gradient.limit();
/// assert!(steady > 20); // flat latency: grows
/// for _ in 0..50 {
///     gradient.record(Duration::from_millis(100), Outcome::Success);
/// }
/// assert!(gradient.limit() < steady); // latency rose: shrinks
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct GradientLimit {
    limiter: ConcurrencyLimiter,
    /// Protected: (limit, long-term latency average in seconds, samples).
    state: Mutex<GradientState>,
    min: usize,
    max: usize,
}

#[derive(Debug)]
struct GradientState {
    limit: f64,
    long_rtt: f64,
    samples: u64,
}

/// Weight of the newest limit estimate.
const SMOOTHING: f64 = 0.2;
/// Latency may exceed the long-term average by this factor before the limit
/// shrinks.
const TOLERANCE: f64 = 1.5;
/// Samples averaged by the long-term latency (EWMA window).
const LONG_WINDOW: f64 = 600.0;

impl GradientLimit {
    /// Starts at `initial`, stays within `[min, max]`.
    ///
    /// # Errors
    ///
    /// As [`AimdLimit::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::limit::GradientLimit::new(4, 1, 8)?.limit(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(initial: usize, min: usize, max: usize) -> Result<GradientLimit, LimitConfigError> {
        check_bounds(initial, min, max)?;
        Ok(GradientLimit {
            limiter: ConcurrencyLimiter::new(initial)?,
            state: Mutex::new(GradientState {
                limit: initial as f64,
                long_rtt: 0.0,
                samples: 0,
            }),
            min,
            max,
        })
    }

    /// Feeds one finished request; returns the new limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{GradientLimit, Outcome};
    /// let g = GradientLimit::new(10, 1, 100)?;
    /// assert!(g.record(std::time::Duration::ZERO, Outcome::Dropped) < 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record(&self, latency: Duration, outcome: Outcome) -> usize {
        let mut state = self.state.lock();
        let gradient = match outcome {
            Outcome::Cancelled => None,
            Outcome::Dropped => Some(0.5),
            Outcome::Success => {
                let short = latency.as_secs_f64().max(1e-9);
                state.samples += 1;
                let weight = 1.0 / (state.samples as f64).min(LONG_WINDOW);
                state.long_rtt = state.long_rtt * (1.0 - weight) + short * weight;
                // Recovered: short latency well below the average; let the
                // average follow faster so the limit is not held down.
                if state.long_rtt / short > 2.0 {
                    state.long_rtt *= 0.95;
                }
                Some((TOLERANCE * state.long_rtt / short).clamp(0.5, 1.0))
            }
        };
        if let Some(gradient) = gradient {
            let queue = state.limit.sqrt();
            let target = state.limit * gradient + queue;
            state.limit = state.limit * (1.0 - SMOOTHING) + target * SMOOTHING;
            state.limit = state.limit.clamp(self.min as f64, self.max as f64);
        }
        let whole = (state.limit as usize).clamp(self.min, self.max);
        let _ = self.limiter.resize(whole);
        whole
    }
}

adaptive_limit_common!(GradientLimit);

/// A rate limiter whose rate lowers itself under load and recovers.
///
/// Wraps a [`TokenBucket`]. The caller reports a load signal (any scale,
/// e.g. CPU use in `[0, 1]`, queue length, error ratio) with
/// [`observe_load`](AdaptiveRate::observe_load): above the target the rate is
/// halved (not below the floor); at or below it the rate climbs back by a
/// tenth of the ceiling per observation (not above the ceiling).
/// [`set_rate`](RateLimiter::set_rate) sets the ceiling.
///
/// # Examples
///
/// ```
/// use gosling::limit::{AdaptiveRate, Rate, RateLimiter};
///
/// let max = Rate::per_second(100)?;
/// let min = Rate::per_second(10)?;
/// let adaptive = AdaptiveRate::new(max, min, 10, 0.8)?;
/// adaptive.observe_load(0.95); // overloaded
/// assert_eq!(adaptive.rate(), Rate::per_second(50)?);
/// for _ in 0..10 {
///     adaptive.observe_load(0.3);
/// }
/// assert_eq!(adaptive.rate(), max); // recovered
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AdaptiveRate {
    bucket: TokenBucket,
    /// Protected: (ceiling, floor) in permits per second.
    bounds: Mutex<(f64, f64)>,
    target: f64,
}

impl AdaptiveRate {
    /// Starts at `max`; never below `min`; `target` is the load level above
    /// which the rate backs off. System clock.
    ///
    /// # Errors
    ///
    /// As [`TokenBucket::new`]; [`LimitConfigError::Unsupported`] when `min` is
    /// faster than `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{AdaptiveRate, Rate};
    /// let r = AdaptiveRate::new(Rate::per_second(10)?, Rate::per_second(1)?, 5, 0.7)?;
    /// # let _ = r;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        max: Rate,
        min: Rate,
        burst: u32,
        target: f64,
    ) -> Result<AdaptiveRate, LimitConfigError> {
        AdaptiveRate::with_clock(max, min, burst, target, Clock::system())
    }

    /// As [`AdaptiveRate::new`], reading `clock`.
    ///
    /// # Errors
    ///
    /// As [`AdaptiveRate::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{AdaptiveRate, Rate, RateLimiter};
    /// let manual = gosling::time::ManualClock::new();
    /// let r = AdaptiveRate::with_clock(Rate::per_second(10).unwrap(), Rate::per_second(1).unwrap(), 1, 0.7, manual.clock()).unwrap();
    /// assert!(r.allow());
    /// ```
    pub fn with_clock(
        max: Rate,
        min: Rate,
        burst: u32,
        target: f64,
        clock: Clock,
    ) -> Result<AdaptiveRate, LimitConfigError> {
        if min.period_ns() < max.period_ns() {
            return Err(LimitConfigError::Unsupported {
                setting: "min rate faster than max rate (period ns)",
                value: min.period_ns(),
            });
        }
        crate::limit::gcra::validate(min.period_ns(), burst)?;
        Ok(AdaptiveRate {
            bucket: TokenBucket::with_clock(max, burst, clock)?,
            bounds: Mutex::new((max.as_per_second(), min.as_per_second())),
            target,
        })
    }

    /// Reports the current load; lowers or recovers the rate. Returns the
    /// new rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{AdaptiveRate, Rate};
    /// let r = AdaptiveRate::new(Rate::per_second(8)?, Rate::per_second(1)?, 1, 0.5)?;
    /// assert_eq!(r.observe_load(1.0), Rate::per_second(4)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe_load(&self, load: f64) -> Rate {
        let bounds = self.bounds.lock();
        let (ceiling, floor) = *bounds;
        let current = self.bucket.rate().as_per_second();
        let next = if load > self.target {
            current / 2.0
        } else {
            current + ceiling / 10.0
        };
        let next = next.clamp(floor, ceiling);
        let period_ns = (1e9 / next).round().max(1.0) as u64;
        let rate = Rate::from_period_ns(period_ns);
        // The period is within [max, min]'s, both validated with this burst.
        let _ = self.bucket.set_rate(rate);
        rate
    }
}

impl RateLimiter for AdaptiveRate {
    #[inline]
    fn allow_n(&self, n: u32) -> Result<(), AllowError> {
        self.bucket.allow_n(n)
    }

    fn rate(&self) -> Rate {
        self.bucket.rate()
    }

    fn set_rate(&self, rate: Rate) -> Result<(), LimitConfigError> {
        let mut bounds = self.bounds.lock();
        let ceiling = rate.as_per_second();
        if ceiling < bounds.1 {
            return Err(LimitConfigError::Unsupported {
                setting: "ceiling below the floor (period ns)",
                value: rate.period_ns(),
            });
        }
        self.bucket.set_rate(rate)?;
        bounds.0 = ceiling;
        Ok(())
    }

    fn burst(&self) -> u32 {
        self.bucket.burst()
    }

    fn set_burst(&self, burst: u32) -> Result<(), LimitConfigError> {
        self.bucket.set_burst(burst)
    }

    fn clock(&self) -> &Clock {
        self.bucket.clock()
    }
}

impl fmt::Debug for AdaptiveRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveRate")
            .field("rate", &self.rate())
            .field("target", &self.target)
            .finish()
    }
}
