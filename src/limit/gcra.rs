//! [`TokenBucket`]: a token bucket with bursts, as GCRA (the generic cell rate
//! algorithm) on a single atomic.
//!
//! Maintainers: the only state is the theoretical arrival time `tat`, in
//! nanoseconds since the bucket's origin: the instant at which the bucket
//! would be full again. With period `T` and burst `b`, a request for `n`
//! permits at `now` computes `new = max(tat, now) + n·T` and passes iff
//! `new − now ≤ b·T` (that is, `tat − now ≤ T·(b − 1) + (b − n)·T`, the
//! tolerance τ = T·(b − 1) of the classic formulation for `n = 1`). A pass
//! stores `new` by compare-and-swap; a refusal stores nothing. The `max`
//! keeps an idle bucket from saving up more than a burst.
//!
//! Guarantee: over any interval `[a, b]`, the permits admitted are at most
//! `burst + (b − a) / T` — after the `k` admissions in the interval,
//! `tat ≥ a + k·T` and `tat ≤ b + burst·T`.

use super::{AllowError, Epoch, LimitConfigError, Rate, RateLimited, RateLimiter};
use crate::sync::{Backoff, CachePadded};
use crate::time::Clock;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// Period and burst, changeable at runtime. Readers load both with Relaxed:
/// a check racing with a change sees either the old or the new value of each,
/// and both are valid settings on their own.
#[derive(Debug)]
pub(crate) struct Settings {
    period_ns: AtomicU64,
    burst: AtomicU32,
}

impl Settings {
    pub(crate) fn new(rate: Rate, burst: u32) -> Result<Settings, LimitConfigError> {
        validate(rate.period_ns(), burst)?;
        Ok(Settings {
            period_ns: AtomicU64::new(rate.period_ns()),
            burst: AtomicU32::new(burst),
        })
    }

    /// (period, burst).
    #[inline]
    pub(crate) fn load(&self) -> (u64, u32) {
        // ORDERING: Relaxed: each value is valid on its own; no other data
        // is published through them.
        (self.period_ns.load(Relaxed), self.burst.load(Relaxed))
    }

    /// The GCRA `(cost, limit)` of a request for `n` permits: `n` periods,
    /// against a limit of `burst` periods.
    ///
    /// # Errors
    ///
    /// [`AllowError::ExceedsBurst`] when `n` is above the burst: such a
    /// request could never pass.
    #[inline]
    pub(crate) fn cost_of(&self, n: u32) -> Result<(u64, u64), AllowError> {
        let (period, burst) = self.load();
        if n > burst {
            return Err(AllowError::ExceedsBurst {
                requested: n,
                burst,
            });
        }
        // Saturating: a racing set_rate and set_burst may pair values that
        // were each validated only against the other's old value.
        let cost = period.saturating_mul(u64::from(n));
        let limit = period.saturating_mul(u64::from(burst));
        Ok((cost, limit))
    }

    pub(crate) fn rate(&self) -> Rate {
        Rate::from_period_ns(self.period_ns.load(Relaxed))
    }

    pub(crate) fn set_rate(&self, rate: Rate) -> Result<(), LimitConfigError> {
        validate(rate.period_ns(), self.burst.load(Relaxed))?;
        self.period_ns.store(rate.period_ns(), Relaxed);
        Ok(())
    }

    pub(crate) fn set_burst(&self, burst: u32) -> Result<(), LimitConfigError> {
        validate(self.period_ns.load(Relaxed), burst)?;
        self.burst.store(burst, Relaxed);
        Ok(())
    }
}

/// Checks that `period × burst` fits with room for the clock's own range.
pub(crate) fn validate(period_ns: u64, burst: u32) -> Result<(), LimitConfigError> {
    if burst == 0 {
        return Err(LimitConfigError::ZeroBurst);
    }
    match period_ns.checked_mul(u64::from(burst)) {
        Some(limit) if limit <= u64::MAX / 4 => Ok(()),
        _ => Err(LimitConfigError::Overflow),
    }
}

/// One GCRA decision: the new arrival time on a pass, or the earliest time
/// (ns) at which the request would pass.
#[inline]
pub(crate) fn step(tat: u64, now: u64, cost: u64, limit: u64) -> Result<u64, u64> {
    let new = tat.max(now).saturating_add(cost);
    if new - now <= limit {
        Ok(new)
    } else {
        Err(new - limit)
    }
}

/// A token bucket with bursts (GCRA), lock-free on one `AtomicU64`.
///
/// Holds up to `burst` permits and refills one every `rate.period()`; starts
/// full. `allow_n` is all-or-nothing; a refusal changes nothing and says how
/// long until the request would pass. Rates below one per second and a burst
/// of 1 work. Rate and burst can change at runtime.
///
/// Differences from governor: std only (its own calibrated TSC read instead
/// of the `quanta` crate), the clock is a [`Clock`] so tests use a manual
/// clock, a request larger than the burst has its own error, a refusal names
/// the instant it would pass, and the trait adds blocking, cancellable
/// [`wait`](RateLimiter::wait) / [`wait_timeout`](RateLimiter::wait_timeout).
///
/// # Examples
///
/// ```
/// use gosling::limit::{Rate, RateLimiter, TokenBucket};
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let bucket = TokenBucket::with_clock(Rate::per_second(10).unwrap(), 3, manual.clock()).unwrap();
/// assert!(bucket.allow() && bucket.allow() && bucket.allow()); // the burst
/// assert!(!bucket.allow());
/// manual.advance(Duration::from_millis(100)); // one period refills one permit
/// assert!(bucket.allow());
/// ```
pub struct TokenBucket {
    /// Theoretical arrival time, ns since `epoch`'s origin. Written by CAS.
    tat: CachePadded<AtomicU64>,
    settings: Settings,
    epoch: Epoch,
}

impl TokenBucket {
    /// A full bucket on the system clock.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroBurst`] for a zero burst, [`LimitConfigError::Overflow`]
    /// when period × burst exceeds about 146 years.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, TokenBucket};
    /// let bucket = TokenBucket::new(Rate::per_second(100)?, 10)?;
    /// # let _ = bucket;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(rate: Rate, burst: u32) -> Result<TokenBucket, LimitConfigError> {
        TokenBucket::with_clock(rate, burst, Clock::system())
    }

    /// A full bucket reading `clock`.
    ///
    /// # Errors
    ///
    /// As [`TokenBucket::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// use gosling::time::ManualClock;
    /// let manual = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Rate::per_second(1).unwrap(), 1, manual.clock()).unwrap();
    /// assert!(bucket.allow());
    /// ```
    pub fn with_clock(
        rate: Rate,
        burst: u32,
        clock: Clock,
    ) -> Result<TokenBucket, LimitConfigError> {
        Ok(TokenBucket {
            tat: CachePadded(AtomicU64::new(0)),
            settings: Settings::new(rate, burst)?,
            epoch: Epoch::new(clock),
        })
    }

    /// Permits available now (without taking any).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, RateLimiter, TokenBucket};
    /// use gosling::time::ManualClock;
    /// let manual = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Rate::per_second(1).unwrap(), 5, manual.clock()).unwrap();
    /// bucket.allow_n(2)?;
    /// assert_eq!(bucket.available(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn available(&self) -> u32 {
        let (period, burst) = self.settings.load();
        let now = self.epoch.now_ns();
        // ORDERING: Relaxed: see `allow_n`.
        let used = self.tat.load(Relaxed).saturating_sub(now).div_ceil(period);
        u32::try_from(u64::from(burst).saturating_sub(used)).unwrap_or(0)
    }
}

impl TokenBucket {
    /// The GCRA step for `cost` ns of permits under `limit` ns: one load and
    /// one compare-and-swap when uncontended.
    #[inline]
    fn take(&self, cost: u64, limit: u64) -> Result<(), RateLimited> {
        let now = self.epoch.now_ns();
        // ORDERING: Relaxed throughout: `tat` publishes no other data, and a
        // single location's modification order makes every CAS see the
        // latest value it replaces.
        let tat = self.tat.load(Relaxed);
        match step(tat, now, cost, limit) {
            Ok(new) => match self.tat.compare_exchange_weak(tat, new, Relaxed, Relaxed) {
                Ok(_) => Ok(()),
                Err(current) => self.take_contended(current, now, cost, limit),
            },
            Err(earliest) => Err(self.epoch.limited(earliest, now)),
        }
    }

    /// The retry loop, out of line: another thread moved `tat` (or the weak
    /// CAS failed spuriously).
    #[cold]
    fn take_contended(
        &self,
        mut tat: u64,
        mut now: u64,
        cost: u64,
        limit: u64,
    ) -> Result<(), RateLimited> {
        let mut backoff = Backoff::new();
        loop {
            match step(tat, now, cost, limit) {
                Ok(new) => match self.tat.compare_exchange_weak(tat, new, Relaxed, Relaxed) {
                    Ok(_) => return Ok(()),
                    Err(current) => {
                        // Lost again: back off briefly so two threads do not
                        // keep stealing the line from each other; after a
                        // long fight, the time read earlier is stale.
                        if backoff.is_completed() {
                            now = self.epoch.now_ns();
                        } else {
                            backoff.snooze();
                        }
                        tat = current;
                    }
                },
                Err(earliest) => return Err(self.epoch.limited(earliest, now)),
            }
        }
    }
}

impl RateLimiter for TokenBucket {
    #[inline]
    fn allow_n(&self, n: u32) -> Result<(), AllowError> {
        let (cost, limit) = self.settings.cost_of(n)?;
        self.take(cost, limit).map_err(AllowError::RateLimited)
    }

    #[inline]
    fn allow(&self) -> bool {
        // One permit always fits: a burst is at least 1.
        let (period, burst) = self.settings.load();
        self.take(period, period.saturating_mul(u64::from(burst)))
            .is_ok()
    }

    #[inline]
    fn check(&self) -> Result<(), RateLimited> {
        let (period, burst) = self.settings.load();
        self.take(period, period.saturating_mul(u64::from(burst)))
    }

    fn rate(&self) -> Rate {
        self.settings.rate()
    }

    fn set_rate(&self, rate: Rate) -> Result<(), LimitConfigError> {
        self.settings.set_rate(rate)
    }

    fn burst(&self) -> u32 {
        self.settings.load().1
    }

    fn set_burst(&self, burst: u32) -> Result<(), LimitConfigError> {
        self.settings.set_burst(burst)
    }

    fn clock(&self) -> &Clock {
        self.epoch.clock()
    }
}

impl fmt::Debug for TokenBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBucket")
            .field("rate", &self.rate())
            .field("burst", &self.burst())
            .field("available", &self.available())
            .finish()
    }
}
