//! [`Metered`]: any rate limiter, counting what it allowed and refused for
//! a [`Metrics`](crate::observe::Metrics) collection; and the concurrency
//! limiter as a source of metrics.

use super::{AllowError, ConcurrencyLimiter, LimitConfigError, Rate, RateLimiter};
use crate::observe::{Collect, Collector, Counter};
use crate::time::Clock;
use std::fmt;

/// A rate limiter that counts its decisions: permits allowed, requests
/// refused (for want of permits, or asking for more than the burst).
/// Register it in a [`Metrics`](crate::observe::Metrics) collection (label
/// it: `limiter="api"`), and use it wherever the limiter was used — it is a
/// [`RateLimiter`] itself, so a pool can be gated by it
/// ([`Builder::rate_limit`](crate::Builder::rate_limit)).
///
/// | metric | kind | what |
/// |---|---|---|
/// | `limiter_allowed_total` | counter | permits taken |
/// | `limiter_denied_total` | counter | requests refused (each retry of a wait counts) |
/// | `limiter_rate_per_second` | gauge | the current rate |
/// | `limiter_burst` | gauge | the current burst |
///
/// Every decision goes through the wrapped limiter's
/// [`allow_n`](RateLimiter::allow_n) (two relaxed counter adds on top);
/// limiters that are not wrapped count nothing and cost nothing more.
///
/// # Examples
///
/// ```
/// use gosling::limit::{Metered, Rate, RateLimiter, TokenBucket};
/// use gosling::observe::Metrics;
/// use gosling::time::ManualClock;
/// use std::sync::Arc;
///
/// let manual = ManualClock::new();
/// let bucket = TokenBucket::with_clock(Rate::per_second(1)?, 2, manual.clock())?;
/// let limiter = Arc::new(Metered::new(bucket));
/// let metrics = Metrics::new();
/// metrics.label("limiter", "api")?.register(limiter.clone())?;
/// assert!(limiter.allow());
/// assert!(limiter.allow());
/// assert!(!limiter.allow());
/// let snap = metrics.snapshot();
/// assert_eq!(snap.value("limiter_allowed_total", &[("limiter", "api")]), Some(2.0));
/// assert_eq!(snap.value("limiter_denied_total", &[("limiter", "api")]), Some(1.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Metered<L> {
    inner: L,
    allowed: Counter,
    denied: Counter,
}

impl<L: RateLimiter> Metered<L> {
    /// Wraps `limiter`, with both counts at zero.
    ///
    /// # Examples
    ///
    /// See [`Metered`].
    pub fn new(limiter: L) -> Metered<L> {
        Metered {
            inner: limiter,
            allowed: Counter::new(),
            denied: Counter::new(),
        }
    }

    /// The wrapped limiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{LeakyBucket, Metered, Rate, RateLimiter};
    /// let m = Metered::new(LeakyBucket::new(Rate::per_second(5)?)?);
    /// assert_eq!(m.get_ref().rate(), Rate::per_second(5)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_ref(&self) -> &L {
        &self.inner
    }

    /// Permits taken so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{LeakyBucket, Metered, Rate, RateLimiter};
    /// let m = Metered::new(LeakyBucket::new(Rate::per_second(5)?)?);
    /// assert!(m.allow_n(0).is_ok()); // nothing taken, nothing counted
    /// assert!(m.allow());
    /// assert_eq!((m.allowed(), m.denied()), (1, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allowed(&self) -> u64 {
        self.allowed.get()
    }

    /// Requests refused so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Metered, Rate, RateLimiter, TokenBucket};
    /// let m = Metered::new(TokenBucket::new(Rate::per_second(5)?, 1)?);
    /// assert!(m.allow_n(2).is_err()); // more than the burst
    /// assert_eq!(m.denied(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn denied(&self) -> u64 {
        self.denied.get()
    }
}

impl<L: RateLimiter> RateLimiter for Metered<L> {
    fn allow_n(&self, n: u32) -> Result<(), AllowError> {
        let decided = self.inner.allow_n(n);
        match decided {
            Ok(()) => self.allowed.add(u64::from(n)),
            Err(_) => self.denied.inc(),
        }
        decided
    }

    fn rate(&self) -> Rate {
        self.inner.rate()
    }

    fn set_rate(&self, rate: Rate) -> Result<(), LimitConfigError> {
        self.inner.set_rate(rate)
    }

    fn burst(&self) -> u32 {
        self.inner.burst()
    }

    fn set_burst(&self, burst: u32) -> Result<(), LimitConfigError> {
        self.inner.set_burst(burst)
    }

    fn clock(&self) -> &Clock {
        self.inner.clock()
    }
}

impl<L: fmt::Debug> fmt::Debug for Metered<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metered")
            .field("inner", &self.inner)
            .field("allowed", &self.allowed.get())
            .field("denied", &self.denied.get())
            .finish()
    }
}

impl<L: RateLimiter> Collect for Metered<L> {
    fn collect(&self, out: &mut Collector<'_>) {
        out.counter(
            "limiter_allowed_total",
            "Permits the rate limiter allowed.",
            self.allowed.get() as f64,
        );
        out.counter(
            "limiter_denied_total",
            "Requests the rate limiter refused.",
            self.denied.get() as f64,
        );
        out.gauge(
            "limiter_rate_per_second",
            "The rate limiter's rate.",
            self.inner.rate().as_per_second(),
        );
        out.gauge(
            "limiter_burst",
            "The rate limiter's burst.",
            f64::from(self.inner.burst()),
        );
    }
}

/// A concurrency limiter reports its permits to a
/// [`Metrics`](crate::observe::Metrics) collection it is registered in
/// (label it: `limiter="db"`):
///
/// | metric | kind | what |
/// |---|---|---|
/// | `limiter_in_use` | gauge | permits out |
/// | `limiter_waiting` | gauge | callers waiting for a permit |
/// | `limiter_limit` | gauge | the limit |
///
/// # Examples
///
/// ```
/// use gosling::limit::ConcurrencyLimiter;
/// use gosling::observe::Metrics;
/// use std::sync::Arc;
///
/// let bulkhead = ConcurrencyLimiter::new(4)?;
/// let metrics = Metrics::new();
/// metrics.label("limiter", "db")?.register(Arc::new(bulkhead.clone()))?;
/// let _permit = bulkhead.try_acquire()?;
/// let snap = metrics.snapshot();
/// assert_eq!(snap.value("limiter_in_use", &[("limiter", "db")]), Some(1.0));
/// assert_eq!(snap.value("limiter_limit", &[("limiter", "db")]), Some(4.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Collect for ConcurrencyLimiter {
    fn collect(&self, out: &mut Collector<'_>) {
        let (in_use, waiting, limit) = self.counts();
        out.gauge("limiter_in_use", "Permits out.", in_use as f64);
        out.gauge(
            "limiter_waiting",
            "Callers waiting for a permit.",
            waiting as f64,
        );
        out.gauge("limiter_limit", "The concurrency limit.", limit as f64);
    }
}
