//! [`LeakyBucket`]: evenly spaced permits, no bursts (smooth pacing).
//!
//! Maintainers: the leaky bucket "as a meter" is GCRA with a tolerance of
//! zero, so it shares `gcra::step` with a burst of 1. What it adds is
//! [`LeakyBucket::reserve`], the "as a queue" form: a caller always gets the
//! next free slot, possibly in the future, and sleeps until it.

use super::gcra::{Settings, step};
use super::{AllowError, Epoch, LimitConfigError, Rate, RateLimiter};
use crate::sync::CachePadded;
use crate::time::Clock;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// A leaky bucket: one permit every period, never two closer together.
///
/// [`burst`](RateLimiter::burst) is always 1; [`set_burst`](RateLimiter::set_burst)
/// accepts only 1. [`allow_n`](RateLimiter::allow_n) with `n > 1` is
/// [`AllowError::ExceedsBurst`].
///
/// # Examples
///
/// ```
/// use gosling::limit::{LeakyBucket, Rate, RateLimiter};
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let pacer = LeakyBucket::with_clock(Rate::per_second(10).unwrap(), manual.clock()).unwrap();
/// assert!(pacer.allow());
/// assert!(!pacer.allow()); // no burst
/// manual.advance(Duration::from_millis(100));
/// assert!(pacer.allow());
/// ```
pub struct LeakyBucket {
    /// Next free slot, ns since `epoch`'s origin. Written by CAS.
    next: CachePadded<AtomicU64>,
    settings: Settings,
    epoch: Epoch,
}

impl LeakyBucket {
    /// A pacer at `rate` on the system clock.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::Overflow`] for a period above about 146 years.
    ///
    /// # Examples
    ///
    /// ```
    /// let pacer = gosling::limit::LeakyBucket::new(gosling::limit::Rate::per_second(50)?)?;
    /// # let _ = pacer;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(rate: Rate) -> Result<LeakyBucket, LimitConfigError> {
        LeakyBucket::with_clock(rate, Clock::system())
    }

    /// A pacer at `rate` reading `clock`.
    ///
    /// # Errors
    ///
    /// As [`LeakyBucket::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{LeakyBucket, Rate, RateLimiter};
    /// let manual = gosling::time::ManualClock::new();
    /// let pacer = LeakyBucket::with_clock(Rate::per_second(1).unwrap(), manual.clock()).unwrap();
    /// assert!(pacer.allow());
    /// ```
    pub fn with_clock(rate: Rate, clock: Clock) -> Result<LeakyBucket, LimitConfigError> {
        Ok(LeakyBucket {
            next: CachePadded(AtomicU64::new(0)),
            settings: Settings::new(rate, 1)?,
            epoch: Epoch::new(clock),
        })
    }

    /// Takes the next free slot, now or in the future, and returns when it
    /// is: the caller proceeds at that instant (e.g. with
    /// [`Context::sleep_until`](crate::context::Context::sleep_until)).
    /// Never refuses; a slot once reserved is spent.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{LeakyBucket, Rate};
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let clock = manual.clock();
    /// let pacer = LeakyBucket::with_clock(Rate::per_second(10)?, clock.clone())?;
    /// let t0 = clock.now();
    /// assert_eq!(pacer.reserve(), t0);
    /// assert_eq!(pacer.reserve(), t0 + Duration::from_millis(100));
    /// assert_eq!(pacer.reserve(), t0 + Duration::from_millis(200));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reserve(&self) -> Instant {
        let (period, _) = self.settings.load();
        let now = self.epoch.now_ns();
        // ORDERING: Relaxed: `next` publishes no other data.
        let mut next = self.next.load(Relaxed);
        loop {
            let slot = next.max(now);
            match self.next.compare_exchange_weak(
                next,
                slot.saturating_add(period),
                Relaxed,
                Relaxed,
            ) {
                Ok(_) => return self.epoch.instant(slot),
                Err(current) => next = current,
            }
        }
    }
}

impl RateLimiter for LeakyBucket {
    #[inline]
    fn allow_n(&self, n: u32) -> Result<(), AllowError> {
        if n > 1 {
            return Err(AllowError::ExceedsBurst {
                requested: n,
                burst: 1,
            });
        }
        if n == 0 {
            return Ok(());
        }
        let (period, _) = self.settings.load();
        let now = self.epoch.now_ns();
        // ORDERING: Relaxed: see `reserve`.
        let mut next = self.next.load(Relaxed);
        loop {
            // `next` is the earliest free slot; GCRA's tat with burst 1.
            match step(next, now, period, period) {
                Ok(new) => match self.next.compare_exchange_weak(next, new, Relaxed, Relaxed) {
                    Ok(_) => return Ok(()),
                    Err(current) => next = current,
                },
                Err(earliest) => {
                    return Err(AllowError::RateLimited(self.epoch.limited(earliest, now)));
                }
            }
        }
    }

    fn rate(&self) -> Rate {
        self.settings.rate()
    }

    fn set_rate(&self, rate: Rate) -> Result<(), LimitConfigError> {
        self.settings.set_rate(rate)
    }

    fn burst(&self) -> u32 {
        1
    }

    fn set_burst(&self, burst: u32) -> Result<(), LimitConfigError> {
        match burst {
            0 => Err(LimitConfigError::ZeroBurst),
            1 => Ok(()),
            other => Err(LimitConfigError::Unsupported {
                setting: "burst",
                value: u64::from(other),
            }),
        }
    }

    fn clock(&self) -> &Clock {
        self.epoch.clock()
    }
}

impl fmt::Debug for LeakyBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeakyBucket")
            .field("rate", &self.rate())
            .finish()
    }
}
