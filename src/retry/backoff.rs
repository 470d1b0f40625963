//! [`Backoff`]: how long to wait before each retry — a growth strategy
//! (constant, linear, exponential), a [`Jitter`] kind and a cap — as a pure
//! function of the retry number, the previous delay and a [`JitterRng`].

use crate::rng::Rng;
use crate::time::duration_ns;
use std::error::Error;
use std::fmt;
use std::time::Duration;

/// How a delay is randomised, after the AWS Architecture Blog's
/// "Exponential Backoff And Jitter" (Marc Brooker, 2015).
///
/// With `d` the strategy's delay for this retry, already capped:
///
/// | kind | delay |
/// |------|-------|
/// | `None` | `d` |
/// | `Full` | uniform in `0..=d` |
/// | `Equal` | `d/2 + ` uniform in `0..=d/2` (rounded up, so it never exceeds `d`) |
/// | `Decorrelated` | uniform in `base..=min(cap, 3 × previous)`; the first retry uses `previous = base` |
///
/// `base` is the strategy's first delay ([`Backoff::base`]). Decorrelated
/// jitter grows on its own (by up to three times per retry), so it uses only
/// `base` and the previous delay, never the strategy's growth, as the blog
/// defines it — with one change: the blog draws from `base..=3 × previous`
/// and then clamps to the cap, which, once the cap is reached, puts about
/// two thirds of all delays exactly on the cap, so clients retry in step
/// again. Drawing within the cap keeps them spread; the cap still bounds
/// every delay. (Should the cap be below `base`, the delay is the cap.)
///
/// # Examples
///
/// ```
/// use gosling::retry::{Backoff, Jitter, JitterRng};
/// use std::time::Duration;
///
/// let backoff = Backoff::constant(Duration::from_millis(100)).jitter(Jitter::Full);
/// let mut rng = JitterRng::seeded(42);
/// let delay = backoff.delay(1, Duration::ZERO, &mut rng);
/// assert!(delay <= Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// The strategy's delay, unchanged.
    #[default]
    None,
    /// Uniform between zero and the delay: the best spread, sometimes no wait.
    Full,
    /// Half the delay plus a uniform share of the other half: always waits
    /// at least half.
    Equal,
    /// Uniform between the base and three times the previous delay.
    Decorrelated,
}

/// The growth strategy of a [`Backoff`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Strategy {
    Constant { delay: u64 },
    Linear { initial: u64, step: u64 },
    Exponential { base: u64, factor: f64 },
}

/// The delays a retry waits: a strategy, a [`Jitter`] and a cap.
///
/// - [`Backoff::constant`]: the same delay before every retry.
/// - [`Backoff::linear`]: `initial + step × (retry − 1)`.
/// - [`Backoff::exponential`]: `base × factor^(retry − 1)`.
///
/// Retries are numbered from 1 (the wait before the second attempt is the
/// wait for retry 1). [`Backoff::delay`] is a pure function of the retry
/// number, the previous delay and the random generator, so a pool's timer
/// can compute a delay without holding any state of the policy.
///
/// The cap bounds every delay *after* jitter: no delay ever exceeds it. For
/// `Full` and `Equal` jitter it is also applied before jitter, as in the AWS
/// definitions, so delays keep spreading once the strategy passes the cap.
/// Arithmetic saturates: retry 1,000 of an exponential backoff neither
/// overflows nor exceeds the cap. Without a cap, delays saturate at
/// `u64::MAX` nanoseconds (about 584 years).
///
/// # Examples
///
/// ```
/// use gosling::retry::{Backoff, Jitter, JitterRng};
/// use std::time::Duration;
///
/// let backoff = Backoff::exponential(Duration::from_millis(100), 2.0)?
///     .cap(Duration::from_secs(1));
/// let mut rng = JitterRng::seeded(1);
/// let delays: Vec<_> = (1..=5)
///     .map(|retry| backoff.delay(retry, Duration::ZERO, &mut rng).as_millis())
///     .collect();
/// assert_eq!(delays, [100, 200, 400, 800, 1000]);
/// assert_eq!(backoff.delay(1_000, Duration::ZERO, &mut rng), Duration::from_secs(1));
/// # Ok::<(), gosling::retry::BackoffError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    strategy: Strategy,
    jitter: Jitter,
    /// In nanoseconds; `u64::MAX` when uncapped.
    cap: u64,
}

impl Backoff {
    /// The same `delay` before every retry; no jitter, no cap.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, JitterRng};
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff::constant(Duration::from_millis(250));
    /// let mut rng = JitterRng::seeded(0);
    /// assert_eq!(backoff.delay(7, Duration::ZERO, &mut rng), Duration::from_millis(250));
    /// ```
    #[must_use]
    pub fn constant(delay: Duration) -> Backoff {
        Backoff::from_strategy(Strategy::Constant {
            delay: duration_ns(delay),
        })
    }

    /// `initial` before the first retry, `step` more before each later one;
    /// no jitter, no cap.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, JitterRng};
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff::linear(Duration::from_millis(100), Duration::from_millis(50));
    /// let mut rng = JitterRng::seeded(0);
    /// assert_eq!(backoff.delay(3, Duration::ZERO, &mut rng), Duration::from_millis(200));
    /// ```
    #[must_use]
    pub fn linear(initial: Duration, step: Duration) -> Backoff {
        Backoff::from_strategy(Strategy::Linear {
            initial: duration_ns(initial),
            step: duration_ns(step),
        })
    }

    /// `base` before the first retry, multiplied by `factor` before each
    /// later one; no jitter, no cap (add one with [`cap`](Backoff::cap)).
    ///
    /// # Errors
    ///
    /// [`BackoffError::InvalidFactor`] when `factor` is below 1 or not a
    /// finite number (a shrinking or undefined backoff is a bug, not a
    /// strategy).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, BackoffError, JitterRng};
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff::exponential(Duration::from_millis(10), 3.0)?;
    /// let mut rng = JitterRng::seeded(0);
    /// assert_eq!(backoff.delay(3, Duration::ZERO, &mut rng), Duration::from_millis(90));
    ///
    /// let err = Backoff::exponential(Duration::from_millis(10), 0.5).unwrap_err();
    /// assert_eq!(err, BackoffError::InvalidFactor(0.5));
    /// # Ok::<(), BackoffError>(())
    /// ```
    pub fn exponential(base: Duration, factor: f64) -> Result<Backoff, BackoffError> {
        if !factor.is_finite() || factor < 1.0 {
            return Err(BackoffError::InvalidFactor(factor));
        }
        Ok(Backoff::from_strategy(Strategy::Exponential {
            base: duration_ns(base),
            factor,
        }))
    }

    /// Exponential from `base` with factor 2: always valid.
    pub(crate) fn doubling(base: Duration) -> Backoff {
        Backoff::from_strategy(Strategy::Exponential {
            base: duration_ns(base),
            factor: 2.0,
        })
    }

    const fn from_strategy(strategy: Strategy) -> Backoff {
        Backoff {
            strategy,
            jitter: Jitter::None,
            cap: u64::MAX,
        }
    }

    /// This backoff with `jitter`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, Jitter};
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff::constant(Duration::from_secs(1)).jitter(Jitter::Equal);
    /// assert_eq!(backoff.get_jitter(), Jitter::Equal);
    /// ```
    #[must_use]
    pub const fn jitter(mut self, jitter: Jitter) -> Backoff {
        self.jitter = jitter;
        self
    }

    /// This backoff with no delay longer than `cap`, jitter included.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, JitterRng};
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff::linear(Duration::from_secs(1), Duration::from_secs(1))
    ///     .cap(Duration::from_secs(3));
    /// let mut rng = JitterRng::seeded(0);
    /// assert_eq!(backoff.delay(10, Duration::ZERO, &mut rng), Duration::from_secs(3));
    /// assert_eq!(backoff.get_cap(), Some(Duration::from_secs(3)));
    /// ```
    #[must_use]
    pub fn cap(mut self, cap: Duration) -> Backoff {
        self.cap = duration_ns(cap);
        self
    }

    /// The jitter kind.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, Jitter};
    /// assert_eq!(Backoff::constant(std::time::Duration::ZERO).get_jitter(), Jitter::None);
    /// ```
    #[must_use]
    pub const fn get_jitter(&self) -> Jitter {
        self.jitter
    }

    /// The cap, or `None` when uncapped.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::Backoff;
    /// assert_eq!(Backoff::constant(std::time::Duration::ZERO).get_cap(), None);
    /// ```
    #[must_use]
    pub const fn get_cap(&self) -> Option<Duration> {
        if self.cap == u64::MAX {
            None
        } else {
            Some(Duration::from_nanos(self.cap))
        }
    }

    /// The strategy's first delay (before jitter and cap): the constant
    /// delay, the linear initial delay or the exponential base. Decorrelated
    /// jitter never goes below it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::Backoff;
    /// use std::time::Duration;
    /// let backoff = Backoff::exponential(Duration::from_millis(50), 2.0)?;
    /// assert_eq!(backoff.base(), Duration::from_millis(50));
    /// # Ok::<(), gosling::retry::BackoffError>(())
    /// ```
    #[must_use]
    pub const fn base(&self) -> Duration {
        Duration::from_nanos(self.base_nanos())
    }

    const fn base_nanos(&self) -> u64 {
        match self.strategy {
            Strategy::Constant { delay } => delay,
            Strategy::Linear { initial, .. } => initial,
            Strategy::Exponential { base, .. } => base,
        }
    }

    /// The strategy's delay for `retry`, capped, before jitter.
    fn raw_nanos(&self, retry: u32) -> u64 {
        let steps = retry.max(1) - 1;
        let raw = match self.strategy {
            Strategy::Constant { delay } => delay,
            Strategy::Linear { initial, step } => {
                initial.saturating_add(step.saturating_mul(u64::from(steps)))
            }
            Strategy::Exponential { base, factor } => {
                crate::time::grow_nanos(base, factor, steps, self.cap)
            }
        };
        raw.min(self.cap)
    }

    /// The delay before retry number `retry` (1 for the first retry; 0 is
    /// read as 1), given the delay used before the previous retry
    /// (`Duration::ZERO` for the first) — only decorrelated jitter reads it —
    /// and a random generator — only jitter reads it.
    ///
    /// Pure: the same arguments and generator state give the same delay.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, Jitter, JitterRng};
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff::exponential(Duration::from_millis(100), 2.0)?
    ///     .jitter(Jitter::Decorrelated)
    ///     .cap(Duration::from_secs(5));
    /// let mut rng = JitterRng::seeded(7);
    /// let mut previous = Duration::ZERO;
    /// for retry in 1..=20 {
    ///     let delay = backoff.delay(retry, previous, &mut rng);
    ///     assert!(delay >= Duration::from_millis(100) && delay <= Duration::from_secs(5));
    ///     previous = delay;
    /// }
    /// # Ok::<(), gosling::retry::BackoffError>(())
    /// ```
    #[must_use]
    pub fn delay(&self, retry: u32, previous: Duration, rng: &mut JitterRng) -> Duration {
        Duration::from_nanos(self.delay_nanos(retry, duration_ns(previous), &mut rng.0))
    }

    fn delay_nanos(&self, retry: u32, previous: u64, rng: &mut Rng) -> u64 {
        let delay = match self.jitter {
            Jitter::None => self.raw_nanos(retry),
            Jitter::Full => rng.between(0, self.raw_nanos(retry)),
            Jitter::Equal => {
                let raw = self.raw_nanos(retry);
                let half = raw / 2;
                // `raw - half` is the larger half when `raw` is odd, so the
                // sum never exceeds `raw`.
                half + rng.between(0, raw - half)
            }
            Jitter::Decorrelated => {
                let base = self.base_nanos();
                let previous = if previous == 0 { base } else { previous };
                // Drawn within the cap rather than drawn and then clamped:
                // clamping would put about two thirds of all draws exactly
                // on the cap once it is reached, back in step.
                let high = previous.saturating_mul(3).min(self.cap).max(base);
                rng.between(base, high)
            }
        };
        delay.min(self.cap)
    }
}

/// The random generator [`Backoff::delay`] draws jitter from.
///
/// A small non-cryptographic generator (SplitMix64). [`JitterRng::seeded`]
/// repeats the same sequence for the same seed — for tests and replays;
/// [`JitterRng::from_entropy`] differs between generators, so clients that
/// fail together do not retry together.
///
/// # Examples
///
/// ```
/// use gosling::retry::JitterRng;
///
/// let mut a = JitterRng::seeded(5);
/// let mut b = JitterRng::seeded(5);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterRng(pub(crate) Rng);

impl JitterRng {
    /// A generator whose sequence is fixed by `seed`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut rng = gosling::retry::JitterRng::seeded(1);
    /// let first = rng.next_u64();
    /// assert_eq!(gosling::retry::JitterRng::seeded(1).next_u64(), first);
    /// ```
    #[must_use]
    pub const fn seeded(seed: u64) -> JitterRng {
        JitterRng(Rng::seeded(seed))
    }

    /// A generator seeded from process randomness, the time and a counter.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::JitterRng;
    /// assert_ne!(JitterRng::from_entropy(), JitterRng::from_entropy());
    /// ```
    #[must_use]
    pub fn from_entropy() -> JitterRng {
        JitterRng(Rng::from_entropy())
    }

    /// The next 64 random bits.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut rng = gosling::retry::JitterRng::seeded(3);
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

impl Default for JitterRng {
    fn default() -> Self {
        JitterRng::from_entropy()
    }
}

/// Why a [`Backoff`] could not be built.
///
/// # Examples
///
/// ```
/// use gosling::retry::{Backoff, BackoffError};
/// use std::time::Duration;
///
/// let err = Backoff::exponential(Duration::from_secs(1), f64::NAN).unwrap_err();
/// assert!(matches!(err, BackoffError::InvalidFactor(f) if f.is_nan()));
/// assert!(err.to_string().contains("factor"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BackoffError {
    /// The exponential factor was below 1, infinite or NaN; the value given.
    InvalidFactor(f64),
}

impl fmt::Display for BackoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackoffError::InvalidFactor(factor) => write!(
                f,
                "invalid exponential backoff factor {factor}: expected a finite number of at least 1"
            ),
        }
    }
}

impl Error for BackoffError {}
