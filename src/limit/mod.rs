//! Limits: how fast work may start ([`RateLimiter`]) and how much of it may run
//! at once ([`ConcurrencyLimiter`]).
//!
//! Every rate limiter implements the object-safe [`RateLimiter`] trait, so a
//! pool or user code can hold any of them as `Arc<dyn RateLimiter>`. All of
//! them read time through a [`Clock`], so tests drive them with a
//! [`ManualClock`](crate::time::ManualClock) instead of sleeping.
//!
//! Files (one limiter kind each):
//!
//! - `gcra.rs`: [`TokenBucket`], a token bucket with bursts implemented as
//!   GCRA on one atomic (lock-free). Its core is shared with the others.
//! - `leaky.rs`: [`LeakyBucket`], evenly spaced permits without bursts.
//! - `window.rs`: [`FixedWindow`], [`SlidingLog`] and [`SlidingCounter`]:
//!   hard caps per window.
//! - `concurrency.rs`: [`ConcurrencyLimiter`] (a bulkhead) with RAII permits.
//! - `keyed.rs`: [`KeyedLimiter`], one GCRA per key with bounded memory.
//! - `adaptive.rs`: [`AimdLimit`] and [`GradientLimit`] (adaptive concurrency
//!   limits fed by latency and outcome) and [`AdaptiveRate`] (a rate that
//!   lowers itself under load).
//! - `metered.rs`: [`Metered`], any rate limiter counting its decisions for
//!   a [`Metrics`](crate::observe::Metrics) collection, and the
//!   concurrency limiter's metrics.
//!
//! The operations of the trait: [`allow`](RateLimiter::allow) /
//! [`allow_n`](RateLimiter::allow_n) (non-blocking, all or nothing),
//! [`check`](RateLimiter::check) (non-blocking; on refusal says how long until
//! a permit would pass, without changing any state), [`wait`](RateLimiter::wait)
//! / [`wait_timeout`](RateLimiter::wait_timeout) (blocking, cancellable),
//! [`rate`](RateLimiter::rate) / [`set_rate`](RateLimiter::set_rate),
//! [`burst`](RateLimiter::burst) / [`set_burst`](RateLimiter::set_burst).
//!
//! For a worker pool: before starting a task a worker calls
//! [`check`](RateLimiter::check); `Ok` means the slot is reserved (the permit
//! is spent), `Err` carries [`retry_after`](RateLimited::retry_after), the
//! time until a permit would pass, so the worker can park on a timer instead
//! of spinning, and nothing was taken.
//!
//! Time (maintainers): limiters store `u64` nanoseconds from their own
//! origin (`Epoch`), read through the crate-private `Clock::now_ns` — on the
//! system clock a calibrated TSC read (`time/tsc.rs`), which costs a fraction
//! of `Instant::now()` on virtual machines; on a manual clock its elapsed
//! time. Instants appear only on the cold paths (refusals, waits), built from
//! short differences.
//!
//! Imports (maintainers): `time` (the clock), `sync` (locks, padding,
//! back-off) and `context` (cancellable waits). `limit` knows nothing of
//! pools; the pool and the policies import it.

#![forbid(unsafe_code)]

mod adaptive;
mod concurrency;
mod gcra;
mod keyed;
mod leaky;
mod metered;
mod window;

pub use adaptive::{AdaptiveRate, AimdLimit, GradientLimit, Outcome};
pub use concurrency::{AcquireError, ConcurrencyLimiter, OwnedPermit, Permit, TryAcquireError};
pub use gcra::TokenBucket;
pub use keyed::KeyedLimiter;
pub use leaky::LeakyBucket;
pub use metered::Metered;
pub use window::{FixedWindow, SlidingCounter, SlidingLog};

use crate::context::{CancelReason, Cancelled, Context};
use crate::time::Clock;
use std::error::Error;
use std::fmt;
use std::time::{Duration, Instant};

/// A rate: one permit every [`period`](Rate::period).
///
/// Rates below one per second are fine (`Rate::new(1, 2 s)` is 0.5/s). The
/// period is kept in whole nanoseconds, so the finest rate is one per
/// nanosecond.
///
/// # Examples
///
/// ```
/// use gosling::limit::Rate;
/// use std::time::Duration;
///
/// let rate = Rate::per_second(100)?;
/// assert_eq!(rate.period(), Duration::from_millis(10));
/// let slow = Rate::new(1, Duration::from_secs(2))?;
/// assert_eq!(slow.as_per_second(), 0.5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    period_ns: u64,
}

impl Rate {
    /// `permits` permits per `per`.
    ///
    /// # Errors
    ///
    /// [`RateError::ZeroPermits`] for `permits == 0`, [`RateError::ZeroPeriod`]
    /// for a zero `per`, [`RateError::TooFine`] when the period per permit is
    /// below one nanosecond, [`RateError::TooCoarse`] when it exceeds `u64`
    /// nanoseconds (about 584 years).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateError};
    /// use std::time::Duration;
    ///
    /// assert_eq!(Rate::new(3, Duration::from_secs(3))?.period(), Duration::from_secs(1));
    /// assert_eq!(Rate::new(0, Duration::from_secs(1)), Err(RateError::ZeroPermits));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(permits: u32, per: Duration) -> Result<Rate, RateError> {
        if permits == 0 {
            return Err(RateError::ZeroPermits);
        }
        if per.is_zero() {
            return Err(RateError::ZeroPeriod);
        }
        let period = per.as_nanos() / u128::from(permits);
        if period == 0 {
            return Err(RateError::TooFine);
        }
        let period_ns = u64::try_from(period).map_err(|_| RateError::TooCoarse)?;
        Ok(Rate { period_ns })
    }

    /// `permits` per second.
    ///
    /// # Errors
    ///
    /// As [`Rate::new`]: zero permits, or more than 10^9 per second.
    ///
    /// # Examples
    ///
    /// ```
    /// let rate = gosling::limit::Rate::per_second(4)?;
    /// assert_eq!(rate.period().as_millis(), 250);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn per_second(permits: u32) -> Result<Rate, RateError> {
        Rate::new(permits, Duration::from_secs(1))
    }

    /// One permit every `period`.
    ///
    /// # Errors
    ///
    /// As [`Rate::new`] with one permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rate = gosling::limit::Rate::every(Duration::from_secs(10))?;
    /// assert_eq!(rate.as_per_second(), 0.1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn every(period: Duration) -> Result<Rate, RateError> {
        Rate::new(1, period)
    }

    /// The time between two permits.
    ///
    /// # Examples
    ///
    /// ```
    /// let rate = gosling::limit::Rate::per_second(1000)?;
    /// assert_eq!(rate.period(), std::time::Duration::from_millis(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub const fn period(&self) -> Duration {
        Duration::from_nanos(self.period_ns)
    }

    /// Permits per second, as a float (for display).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::limit::Rate::per_second(8)?.as_per_second(), 8.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn as_per_second(&self) -> f64 {
        1e9 / self.period_ns as f64
    }

    pub(crate) const fn period_ns(&self) -> u64 {
        self.period_ns
    }

    pub(crate) const fn from_period_ns(period_ns: u64) -> Rate {
        Rate {
            period_ns: if period_ns == 0 { 1 } else { period_ns },
        }
    }
}

/// Why a [`Rate`] could not be built.
///
/// # Examples
///
/// ```
/// use gosling::limit::{Rate, RateError};
/// let err = Rate::per_second(2_000_000_000).unwrap_err();
/// assert_eq!(err, RateError::TooFine);
/// assert_eq!(err.to_string(), "rate too fine: the period per permit is below one nanosecond");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateError {
    /// Zero permits: a rate must let something through.
    ZeroPermits,
    /// A zero time span.
    ZeroPeriod,
    /// The period per permit is below one nanosecond.
    TooFine,
    /// The period per permit does not fit in `u64` nanoseconds.
    TooCoarse,
}

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RateError::ZeroPermits => "rate has zero permits",
            RateError::ZeroPeriod => "rate has a zero time span",
            RateError::TooFine => "rate too fine: the period per permit is below one nanosecond",
            RateError::TooCoarse => "rate too coarse: the period per permit exceeds 584 years",
        })
    }
}

impl Error for RateError {}

/// Why a limiter could not be built or reconfigured.
///
/// # Examples
///
/// ```
/// use gosling::limit::{LimitConfigError, Rate, TokenBucket};
/// let err = TokenBucket::new(Rate::per_second(1)?, 0).unwrap_err();
/// assert_eq!(err, LimitConfigError::ZeroBurst);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitConfigError {
    /// A burst (or window limit) of zero would refuse everything.
    ZeroBurst,
    /// A capacity (maximum number of keys, concurrency limit) of zero.
    ZeroCapacity,
    /// period × burst does not fit in `u64` nanoseconds.
    Overflow,
    /// This limiter kind does not support the setting (e.g. a burst other
    /// than 1 on a [`LeakyBucket`]); the rejected value is handed back.
    Unsupported {
        /// What was asked for.
        setting: &'static str,
        /// The rejected value.
        value: u64,
    },
}

impl fmt::Display for LimitConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitConfigError::ZeroBurst => f.write_str("burst must be at least 1"),
            LimitConfigError::ZeroCapacity => f.write_str("capacity must be at least 1"),
            LimitConfigError::Overflow => {
                f.write_str("period x burst overflows 584 years of nanoseconds")
            }
            LimitConfigError::Unsupported { setting, value } => {
                write!(f, "this limiter does not support {setting} = {value}")
            }
        }
    }
}

impl Error for LimitConfigError {}

/// A refusal: no permit now, and when one would pass (if nobody else takes
/// it first). A refusal never changes the limiter's state.
///
/// # Examples
///
/// ```
/// use gosling::limit::{Rate, RateLimiter, TokenBucket};
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let bucket = TokenBucket::with_clock(Rate::per_second(10).unwrap(), 1, manual.clock()).unwrap();
/// bucket.check()?;
/// let refused = bucket.check().unwrap_err();
/// assert_eq!(refused.retry_after(), Duration::from_millis(100));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimited {
    earliest: Instant,
    retry_after: Duration,
}

impl RateLimited {
    pub(crate) fn new(earliest: Instant, retry_after: Duration) -> RateLimited {
        RateLimited {
            earliest,
            retry_after,
        }
    }

    /// The instant (on the limiter's clock) from which the request would pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let clock = manual.clock();
    /// let bucket = TokenBucket::with_clock(Rate::per_second(1)?, 1, clock.clone())?;
    /// assert!(bucket.allow());
    /// let refused = bucket.check().unwrap_err();
    /// assert_eq!(refused.earliest(), clock.now() + Duration::from_secs(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn earliest(&self) -> Instant {
        self.earliest
    }

    /// How long from the refusal until the request would pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, LeakyBucket};
    /// use gosling::time::ManualClock;
    ///
    /// let manual = ManualClock::new();
    /// let pacer = LeakyBucket::with_clock(Rate::per_second(2).unwrap(), manual.clock()).unwrap();
    /// assert!(pacer.allow());
    /// assert_eq!(pacer.check().unwrap_err().retry_after().as_millis(), 500);
    /// ```
    #[must_use]
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limited: retry after {:?}", self.retry_after)
    }
}

impl Error for RateLimited {}

/// Why [`RateLimiter::allow_n`] refused.
///
/// # Examples
///
/// ```
/// use gosling::limit::{AllowError, Rate, RateLimiter, TokenBucket};
///
/// let bucket = TokenBucket::new(Rate::per_second(10)?, 5)?;
/// assert_eq!(
///     bucket.allow_n(6),
///     Err(AllowError::ExceedsBurst { requested: 6, burst: 5 })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllowError {
    /// Not now; see [`RateLimited::retry_after`].
    RateLimited(RateLimited),
    /// More permits than the burst: this request can never pass.
    ExceedsBurst {
        /// Permits asked for.
        requested: u32,
        /// The limiter's burst when asked.
        burst: u32,
    },
}

impl fmt::Display for AllowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowError::RateLimited(r) => r.fmt(f),
            AllowError::ExceedsBurst { requested, burst } => write!(
                f,
                "{requested} permits requested but the burst is {burst}: it can never pass"
            ),
        }
    }
}

impl Error for AllowError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            AllowError::RateLimited(r) => Some(r),
            AllowError::ExceedsBurst { .. } => None,
        }
    }
}

/// Why a blocking [`RateLimiter::wait`] returned without permits.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::limit::{Rate, RateLimiter, TokenBucket, WaitError};
///
/// let bucket = TokenBucket::new(Rate::per_second(1)?, 1)?;
/// let ctx = Context::new();
/// ctx.cancel();
/// assert!(matches!(bucket.wait(&ctx), Err(WaitError::Cancelled(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitError {
    /// The context was cancelled (or reached its deadline) first.
    Cancelled(Cancelled),
    /// The timeout of [`RateLimiter::wait_timeout`] passed first.
    Timeout,
    /// More permits than the burst: waiting would never end.
    ExceedsBurst {
        /// Permits asked for.
        requested: u32,
        /// The limiter's burst when asked.
        burst: u32,
    },
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Cancelled(c) => write!(f, "wait for permits ended: {c}"),
            WaitError::Timeout => f.write_str("timed out waiting for permits"),
            WaitError::ExceedsBurst { requested, burst } => write!(
                f,
                "{requested} permits requested but the burst is {burst}: waiting would never end"
            ),
        }
    }
}

impl Error for WaitError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            WaitError::Cancelled(c) => Some(c),
            _ => None,
        }
    }
}

/// A rate limiter: any of [`TokenBucket`], [`LeakyBucket`], [`FixedWindow`],
/// [`SlidingLog`], [`SlidingCounter`], [`AdaptiveRate`].
///
/// Object-safe: hold one as `Arc<dyn RateLimiter>`. The non-blocking
/// [`check`](RateLimiter::check) is what a worker pool asks before it starts a
/// task: on success the permit is taken (the slot reserved); on refusal
/// nothing changes and the error says how long until a permit would pass.
///
/// # Examples
///
/// ```
/// use gosling::limit::{FixedWindow, LeakyBucket, Rate, RateLimiter, TokenBucket};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let rate = Rate::per_second(100)?;
/// let limiters: Vec<Arc<dyn RateLimiter>> = vec![
///     Arc::new(TokenBucket::new(rate, 10).unwrap()),
///     Arc::new(LeakyBucket::new(rate).unwrap()),
///     Arc::new(FixedWindow::new(10, Duration::from_millis(100)).unwrap()),
/// ];
/// for limiter in &limiters {
///     assert!(limiter.allow());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RateLimiter: Send + Sync + fmt::Debug {
    /// Takes `n` permits now if all of them are available (all or nothing).
    /// `n == 0` always succeeds and changes nothing.
    ///
    /// # Errors
    ///
    /// [`AllowError::RateLimited`] when not all `n` are available now (no
    /// state changes); [`AllowError::ExceedsBurst`] when `n` exceeds the
    /// burst, so the request could never pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// use gosling::time::ManualClock;
    ///
    /// let manual = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Rate::per_second(1).unwrap(), 3, manual.clock()).unwrap();
    /// assert!(bucket.allow_n(2).is_ok());
    /// assert!(bucket.allow_n(2).is_err()); // only one left: nothing is taken
    /// assert!(bucket.allow_n(1).is_ok());
    /// ```
    fn allow_n(&self, n: u32) -> Result<(), AllowError>;

    /// The current rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// let rate = Rate::per_second(5)?;
    /// assert_eq!(TokenBucket::new(rate, 1)?.rate(), rate);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn rate(&self) -> Rate;

    /// Changes the rate at runtime; permits already taken stay taken.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::Overflow`] when the new period times the burst does not
    /// fit; [`LimitConfigError::Unsupported`] where a kind cannot change it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// let bucket = TokenBucket::new(Rate::per_second(5)?, 1)?;
    /// bucket.set_rate(Rate::per_second(50)?)?;
    /// assert_eq!(bucket.rate(), Rate::per_second(50)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn set_rate(&self, rate: Rate) -> Result<(), LimitConfigError>;

    /// The largest number of permits that can pass at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// assert_eq!(TokenBucket::new(Rate::per_second(5)?, 7)?.burst(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn burst(&self) -> u32;

    /// Changes the burst at runtime.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroBurst`] for 0, [`LimitConfigError::Overflow`] when the
    /// period times the burst does not fit, [`LimitConfigError::Unsupported`]
    /// where a kind has no burst (a [`LeakyBucket`] accepts only 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{LimitConfigError, Rate, RateLimiter, TokenBucket};
    /// let bucket = TokenBucket::new(Rate::per_second(5)?, 1)?;
    /// bucket.set_burst(10)?;
    /// assert_eq!(bucket.burst(), 10);
    /// assert_eq!(bucket.set_burst(0), Err(LimitConfigError::ZeroBurst));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn set_burst(&self, burst: u32) -> Result<(), LimitConfigError>;

    /// The clock this limiter reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// use gosling::time::ManualClock;
    /// let manual = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Rate::per_second(5).unwrap(), 1, manual.clock()).unwrap();
    /// assert!(bucket.clock().is_manual());
    /// ```
    fn clock(&self) -> &Clock;

    /// Takes one permit if available: true when taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// use gosling::time::ManualClock;
    /// let manual = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Rate::per_second(1).unwrap(), 1, manual.clock()).unwrap();
    /// assert!(bucket.allow());
    /// assert!(!bucket.allow());
    /// ```
    #[inline]
    fn allow(&self) -> bool {
        self.allow_n(1).is_ok()
    }

    /// Takes one permit if available; on refusal (which changes nothing) says
    /// how long until one would pass. This is the question a worker asks
    /// before starting a task.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] when no permit is available now.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Rate::per_second(4).unwrap(), 1, manual.clock()).unwrap();
    /// bucket.check()?;
    /// let wait = bucket.check().unwrap_err().retry_after();
    /// manual.advance(wait);
    /// bucket.check()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    fn check(&self) -> Result<(), RateLimited> {
        match self.allow_n(1) {
            Ok(()) => Ok(()),
            Err(AllowError::RateLimited(r)) => Err(r),
            // A burst is at least 1, so one permit always fits; should a kind
            // report otherwise, treat it as "retry at once".
            Err(AllowError::ExceedsBurst { .. }) => {
                let now = self.clock().now();
                Err(RateLimited::new(now, Duration::ZERO))
            }
        }
    }

    /// Blocks until one permit is taken, or `ctx` is cancelled. Waiting uses
    /// the context's clock; give it the limiter's clock (tests: the same
    /// manual clock).
    ///
    /// # Errors
    ///
    /// [`WaitError::Cancelled`] when `ctx` is cancelled or reaches its
    /// deadline first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    ///
    /// let bucket = TokenBucket::new(Rate::per_second(1000)?, 1)?;
    /// let ctx = Context::new();
    /// bucket.wait(&ctx)?;
    /// bucket.wait(&ctx)?; // about 1 ms later
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn wait(&self, ctx: &Context) -> Result<(), WaitError> {
        self.wait_n(ctx, 1)
    }

    /// Blocks until `n` permits are taken at once, or `ctx` is cancelled.
    ///
    /// # Errors
    ///
    /// [`WaitError::ExceedsBurst`] at once when `n` exceeds the burst;
    /// [`WaitError::Cancelled`] when `ctx` is cancelled first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket, WaitError};
    ///
    /// let bucket = TokenBucket::new(Rate::per_second(1000)?, 2)?;
    /// let ctx = Context::new();
    /// bucket.wait_n(&ctx, 2)?;
    /// assert!(matches!(bucket.wait_n(&ctx, 3), Err(WaitError::ExceedsBurst { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn wait_n(&self, ctx: &Context, n: u32) -> Result<(), WaitError> {
        loop {
            ctx.check().map_err(WaitError::Cancelled)?;
            match self.allow_n(n) {
                Ok(()) => return Ok(()),
                Err(AllowError::ExceedsBurst { requested, burst }) => {
                    return Err(WaitError::ExceedsBurst { requested, burst });
                }
                Err(AllowError::RateLimited(r)) => {
                    ctx.sleep_until(Some(r.earliest()))
                        .map_err(WaitError::Cancelled)?;
                }
            }
        }
    }

    /// Blocks until one permit is taken, or `timeout` passes on the
    /// limiter's clock.
    ///
    /// # Errors
    ///
    /// [`WaitError::Timeout`] when the timeout passes first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket, WaitError};
    /// use std::time::Duration;
    ///
    /// let bucket = TokenBucket::new(Rate::every(Duration::from_secs(3600))?, 1)?;
    /// bucket.wait_timeout(Duration::from_millis(1))?;
    /// assert_eq!(bucket.wait_timeout(Duration::from_millis(1)), Err(WaitError::Timeout));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn wait_timeout(&self, timeout: Duration) -> Result<(), WaitError> {
        let ctx = Context::with_clock(self.clock().clone()).with_timeout(timeout);
        match self.wait_n(&ctx, 1) {
            Err(WaitError::Cancelled(c)) if c.reason() == CancelReason::DeadlineExceeded => {
                Err(WaitError::Timeout)
            }
            other => other,
        }
    }
}

/// Nanoseconds since a limiter's own origin on its clock: the time scale
/// every limiter stores (one `u64` instead of an `Instant`), read through the
/// clock's fast counter (`Clock::now_ns`).
#[derive(Debug, Clone)]
pub(crate) struct Epoch {
    clock: Clock,
    origin_ns: u64,
}

impl Epoch {
    pub(crate) fn new(clock: Clock) -> Epoch {
        let origin_ns = clock.now_ns();
        Epoch { clock, origin_ns }
    }

    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        self.clock.now_ns().saturating_sub(self.origin_ns)
    }

    /// The instant `ns` on this clock. The clock is read afresh, `Instant`
    /// and counter together, so only their (short) difference crosses
    /// between the two scales — and not the time that passed since the
    /// caller's own reading: a manual clock advanced meanwhile (or a thread
    /// preempted) would otherwise push the instant late by that much.
    pub(crate) fn instant(&self, ns: u64) -> Instant {
        let (now, now_ns) = self.clock.now_and_ns();
        let now_ns = now_ns.saturating_sub(self.origin_ns);
        if ns >= now_ns {
            now + Duration::from_nanos(ns - now_ns)
        } else {
            now.checked_sub(Duration::from_nanos(now_ns - ns))
                .unwrap_or(now)
        }
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The refusal for a request that would pass at `earliest_ns`.
    #[cold]
    pub(crate) fn limited(&self, earliest_ns: u64, now_ns: u64) -> RateLimited {
        RateLimited::new(
            self.instant(earliest_ns),
            Duration::from_nanos(earliest_ns.saturating_sub(now_ns)),
        )
    }
}

pub(crate) use crate::time::duration_ns;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    #[test]
    fn an_epoch_instant_does_not_move_with_the_clock_after_the_reading() {
        // A refusal reads the time, decides, then names the instant it would
        // pass. The clock moving in between (another thread advancing a
        // manual clock) must not push that instant later.
        let manual = ManualClock::new();
        manual.advance(Duration::from_secs(7));
        let clock = manual.clock();
        let epoch = Epoch::new(clock.clone());
        let t0 = clock.now();
        let read = epoch.now_ns();
        manual.advance(Duration::from_secs(3));
        let earliest = read + 1_000_000_000;
        assert_eq!(epoch.instant(earliest), t0 + Duration::from_secs(1));
        assert_eq!(epoch.instant(0), t0);
        let refused = epoch.limited(earliest, read);
        assert_eq!(refused.earliest(), t0 + Duration::from_secs(1));
        assert_eq!(refused.retry_after(), Duration::from_secs(1));
        // A point already behind the clock maps behind it too.
        assert_eq!(epoch.instant(read), t0);
    }
}
