//! [`BreakerPermit`]: admission to one call, whose result is reported
//! later (by the call itself, or by whoever ran it elsewhere).

#[cfg(doc)]
use super::CircuitBreaker;
use super::Inner;
use super::state::{BreakerState, Kind, STATE_BITS};
use std::fmt;
use std::time::Instant;

/// Admission to one call, from [`CircuitBreaker::try_acquire`]: report the
/// call's result with [`BreakerPermit::success`], [`BreakerPermit::failure`],
/// [`BreakerPermit::ignore`] or [`BreakerPermit::record`].
///
/// The permit remembers the state (and its generation) it was admitted in:
/// a result that arrives after that state has ended is late and decides
/// nothing. A permit dropped without a result counts as a failure (a call
/// that panicked did not succeed).
///
/// # Examples
///
/// ```
/// use gosling::breaker::CircuitBreaker;
///
/// let breaker = CircuitBreaker::<()>::builder().build()?;
/// let permit = breaker.try_acquire()?;
/// // ... run the call, perhaps on another thread ...
/// permit.success();
/// assert_eq!(breaker.metrics().successful_calls, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a permit dropped without a result counts as a failure"]
pub struct BreakerPermit<'a, E> {
    inner: &'a Inner<E>,
    word: u64,
    /// When the call started, if slow calls are measured.
    start: Option<Instant>,
    done: bool,
}

impl<E> fmt::Debug for BreakerPermit<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerPermit")
            .field("state", &BreakerState::from_word(self.word))
            .field("generation", &(self.word >> STATE_BITS))
            .finish_non_exhaustive()
    }
}

impl<'a, E> BreakerPermit<'a, E> {
    /// A permit for a call admitted under `word`, started at `start` when
    /// slow calls are measured.
    #[inline]
    pub(super) fn new(inner: &'a Inner<E>, word: u64, start: Option<Instant>) -> Self {
        BreakerPermit {
            inner,
            word,
            start,
            done: false,
        }
    }

    /// Records a success.
    ///
    /// # Examples
    ///
    /// ```
    /// let breaker = gosling::breaker::CircuitBreaker::<()>::builder().build()?;
    /// breaker.try_acquire()?.success();
    /// assert_eq!(breaker.metrics().window_calls, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// let breaker = gosling::breaker::CircuitBreaker::<()>::builder().build()?;
    /// breaker.try_acquire()?.failure();
    /// assert_eq!(breaker.metrics().failed_calls, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// let breaker = gosling::breaker::CircuitBreaker::<()>::builder().build()?;
    /// breaker.try_acquire()?.ignore();
    /// assert_eq!(breaker.metrics().ignored_calls, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// let breaker = gosling::breaker::CircuitBreaker::<&str>::builder().build()?;
    /// let permit = breaker.try_acquire()?;
    /// let result: Result<u8, &str> = Err("refused");
    /// permit.record(&result);
    /// assert_eq!(breaker.metrics().failed_calls, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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

impl<E> Drop for BreakerPermit<'_, E> {
    fn drop(&mut self) {
        if !self.done {
            self.finish(Kind::Failure);
        }
    }
}
