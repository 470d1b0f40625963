//! [`RetryPolicy`]: how many retries, how long between them ([`Backoff`]),
//! for how long in total, and which failures deserve one; plus
//! [`RetryPolicy::call`], which retries a closure on the caller's thread.

use super::backoff::{Backoff, Jitter, JitterRng};
use crate::context::{CancelReason, Context};
use std::any::{Any, TypeId};
use std::error::Error;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A failure, as a pool reports it to [`RetryPolicy::is_retryable`].
///
/// # Examples
///
/// ```
/// use gosling::retry::{Failure, RetryPolicy};
///
/// let policy = RetryPolicy::new(3);
/// let err = std::io::Error::other("connection reset");
/// assert!(policy.is_retryable(&Failure::Error(&err)));
/// assert!(policy.is_retryable(&Failure::Timeout));
/// assert!(!policy.is_retryable(&Failure::Panic)); // panics are bugs by default
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// The task returned this error (any `'static` type).
    Error(&'a dyn Any),
    /// The task panicked.
    Panic,
    /// The task ran past its timeout.
    Timeout,
}

/// A type-erased error predicate: downcasts and asks the user's closure.
type Predicate = Arc<dyn Fn(&dyn Any) -> bool + Send + Sync>;

/// When and how to retry a failed operation.
///
/// - **Count**: `max_retries` counts *retries*, not attempts: `0` means no
///   retries (one attempt in total), `3` means up to four attempts.
/// - **Delay**: a [`Backoff`] gives the wait before each retry.
/// - **Total time**: an optional `max_elapsed` bounds the time from the start
///   of the first attempt: no retry starts after it, and a retry whose
///   backoff would end past it is not waited for.
/// - **Classifier**: which failures are worth retrying. Errors are retryable
///   unless a predicate for their type ([`retry_if`](RetryPolicy::retry_if))
///   says otherwise; timeouts are retryable by default and panics are not
///   (a panic is usually a bug that will happen again); both are
///   configurable.
///
/// A policy is an immutable value behind an `Arc`: cloning is cheap and it
/// is `Send + Sync`, so a pool can keep one as its default and hand clones to
/// tasks. The setters ([`max_retries`](RetryPolicy::max_retries),
/// [`backoff`](RetryPolicy::backoff), [`max_elapsed`](RetryPolicy::max_elapsed),
/// `retry_*`) return a modified copy; the getters of the first three are
/// `get_*`.
///
/// It works with or without a pool: [`call`](RetryPolicy::call) retries a
/// closure on the caller's thread; a pool asks
/// [`decide`](RetryPolicy::decide) after each failed attempt and waits on its
/// own timer.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::retry::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::fixed(3, Duration::from_millis(1));
/// let value = policy.call(&Context::new(), |attempt| {
///     if attempt < 3 { Err("not yet") } else { Ok(attempt * 10) }
/// });
/// assert_eq!(value.ok(), Some(30));
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    max_retries: u32,
    backoff: Backoff,
    max_elapsed: Option<Duration>,
    /// At most one predicate per error type; small, so a linear scan.
    predicates: Vec<(TypeId, Predicate)>,
    retry_panics: bool,
    retry_timeouts: bool,
    /// Set only by `Task::with_retries`: the count is this policy's, the
    /// rest the pool's default (see `for_pool`).
    count_only: bool,
}

impl RetryPolicy {
    /// `max_retries` retries (0: a single attempt) with the default backoff:
    /// exponential from 100 ms, factor 2, capped at 30 s, full jitter. No
    /// total time limit; errors and timeouts retryable, panics not.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::new(5);
    /// assert_eq!(policy.get_max_retries(), 5);
    /// assert_eq!(policy.get_backoff().get_jitter(), Jitter::Full);
    /// assert_eq!(policy.get_backoff().get_cap(), Some(Duration::from_secs(30)));
    /// ```
    #[must_use]
    pub fn new(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            inner: Arc::new(Inner {
                max_retries,
                backoff: default_backoff(),
                max_elapsed: None,
                predicates: Vec::new(),
                retry_panics: false,
                retry_timeouts: true,
                count_only: false,
            }),
        }
    }

    /// No retries at all: one attempt. The same as `RetryPolicy::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// assert_eq!(RetryPolicy::never().get_max_retries(), 0);
    /// ```
    #[must_use]
    pub fn never() -> RetryPolicy {
        RetryPolicy::new(0)
    }

    /// Up to `retries` retries (`retries + 1` attempts in total), waiting the
    /// same `delay` before each, without jitter — like Go's
    /// `WithRetry(attempts, delay)` option.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::fixed(2, Duration::from_millis(500));
    /// assert_eq!(policy.get_max_retries(), 2);
    /// assert_eq!(*policy.get_backoff(), Backoff::constant(Duration::from_millis(500)));
    /// ```
    #[must_use]
    pub fn fixed(retries: u32, delay: Duration) -> RetryPolicy {
        RetryPolicy::new(retries).backoff(Backoff::constant(delay))
    }

    /// This policy with `retries` retries after the first attempt (0: a
    /// single attempt) and everything else kept — for instance a task's own
    /// count on top of its pool's default policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let pool_default = RetryPolicy::fixed(3, Duration::from_secs(1));
    /// let for_task = pool_default.clone().max_retries(10);
    /// assert_eq!(for_task.get_max_retries(), 10);
    /// assert_eq!(for_task.get_backoff(), pool_default.get_backoff());
    /// assert_eq!(pool_default.get_max_retries(), 3); // the default is untouched
    /// ```
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> RetryPolicy {
        Arc::make_mut(&mut self.inner).max_retries = retries;
        self
    }

    /// A policy standing for "the pool's default with `retries` retries"
    /// (`Task::with_retries`); resolved by [`for_pool`](Self::for_pool).
    pub(crate) fn count_only(retries: u32) -> RetryPolicy {
        let mut policy = RetryPolicy::new(retries);
        Arc::make_mut(&mut policy.inner).count_only = true;
        policy
    }

    /// The policy a task with this one runs under in a pool whose default
    /// is `pool_default`: itself, unless it is a count only.
    pub(crate) fn for_pool(&self, pool_default: Option<&RetryPolicy>) -> RetryPolicy {
        if !self.inner.count_only {
            return self.clone();
        }
        let retries = self.inner.max_retries;
        match pool_default {
            Some(default) => default.clone().max_retries(retries),
            None => RetryPolicy::new(retries),
        }
    }

    /// This policy waiting according to `backoff` between attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Backoff, Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff::linear(Duration::from_millis(100), Duration::from_millis(100))
    ///     .jitter(Jitter::Equal);
    /// let policy = RetryPolicy::new(4).backoff(backoff);
    /// assert_eq!(*policy.get_backoff(), backoff);
    /// ```
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> RetryPolicy {
        Arc::make_mut(&mut self.inner).backoff = backoff;
        self
    }

    /// This policy giving up once `limit` has passed since the first attempt
    /// began (measured on the context's clock): no retry starts later, and a
    /// retry whose backoff would end later is not waited for.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::new(100).max_elapsed(Duration::from_secs(60));
    /// assert_eq!(policy.get_max_elapsed(), Some(Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn max_elapsed(mut self, limit: Duration) -> RetryPolicy {
        Arc::make_mut(&mut self.inner).max_elapsed = Some(limit);
        self
    }

    /// This policy retrying an error of type `E` only when `predicate`
    /// returns true for it. Errors of other types keep their own predicate,
    /// or are retryable when they have none. A second predicate for the same
    /// type replaces the first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::retry::{RetryError, RetryPolicy};
    /// use std::io::{Error, ErrorKind};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::fixed(5, Duration::ZERO)
    ///     .retry_if(|e: &Error| e.kind() != ErrorKind::PermissionDenied);
    ///
    /// let mut calls = 0;
    /// let result: Result<(), _> = policy.call(&Context::new(), |_| {
    ///     calls += 1;
    ///     Err(Error::from(ErrorKind::PermissionDenied))
    /// });
    /// assert!(matches!(result, Err(RetryError::NotRetryable { attempts: 1, .. })));
    /// assert_eq!(calls, 1);
    /// ```
    #[must_use]
    pub fn retry_if<E, F>(mut self, predicate: F) -> RetryPolicy
    where
        E: Any,
        F: Fn(&E) -> bool + Send + Sync + 'static,
    {
        let erased: Predicate = Arc::new(move |error: &dyn Any| {
            // The lookup is by type id, so the downcast always succeeds.
            error.downcast_ref::<E>().is_none_or(&predicate)
        });
        let inner = Arc::make_mut(&mut self.inner);
        let id = TypeId::of::<E>();
        match inner.predicates.iter_mut().find(|(t, _)| *t == id) {
            Some(slot) => slot.1 = erased,
            None => inner.predicates.push((id, erased)),
        }
        self
    }

    /// This policy retrying panics (`true`) or not (`false`, the default).
    ///
    /// [`call`](RetryPolicy::call) catches panics only when they are
    /// retryable; see there.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// assert!(RetryPolicy::new(1).retry_panics(true).retries_panics());
    /// ```
    #[must_use]
    pub fn retry_panics(mut self, retry: bool) -> RetryPolicy {
        Arc::make_mut(&mut self.inner).retry_panics = retry;
        self
    }

    /// This policy retrying timeouts (`true`, the default) or not.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// assert!(!RetryPolicy::new(1).retry_timeouts(false).retries_timeouts());
    /// ```
    #[must_use]
    pub fn retry_timeouts(mut self, retry: bool) -> RetryPolicy {
        Arc::make_mut(&mut self.inner).retry_timeouts = retry;
        self
    }

    /// The number of retries allowed after the first attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::retry::RetryPolicy::new(2).get_max_retries(), 2);
    /// ```
    #[must_use]
    pub fn get_max_retries(&self) -> u32 {
        self.inner.max_retries
    }

    /// The backoff between attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    /// assert_eq!(RetryPolicy::new(1).get_backoff().base(), Duration::from_millis(100));
    /// ```
    #[must_use]
    pub fn get_backoff(&self) -> &Backoff {
        &self.inner.backoff
    }

    /// The total time limit, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::retry::RetryPolicy::new(1).get_max_elapsed(), None);
    /// ```
    #[must_use]
    pub fn get_max_elapsed(&self) -> Option<Duration> {
        self.inner.max_elapsed
    }

    /// Whether panics are retried.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gosling::retry::RetryPolicy::new(1).retries_panics());
    /// ```
    #[must_use]
    pub fn retries_panics(&self) -> bool {
        self.inner.retry_panics
    }

    /// Whether timeouts are retried.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::retry::RetryPolicy::new(1).retries_timeouts());
    /// ```
    #[must_use]
    pub fn retries_timeouts(&self) -> bool {
        self.inner.retry_timeouts
    }

    /// Whether `failure` deserves a retry by its kind alone (the count and
    /// time limits are [`allows_retry`](RetryPolicy::allows_retry) and the
    /// caller's business).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Failure, RetryPolicy};
    ///
    /// #[derive(Debug)]
    /// enum DbError { Deadlock, BadQuery }
    ///
    /// let policy = RetryPolicy::new(3)
    ///     .retry_if(|e: &DbError| matches!(e, DbError::Deadlock))
    ///     .retry_timeouts(false);
    /// assert!(policy.is_retryable(&Failure::Error(&DbError::Deadlock)));
    /// assert!(!policy.is_retryable(&Failure::Error(&DbError::BadQuery)));
    /// assert!(policy.is_retryable(&Failure::Error(&"other error types: retryable")));
    /// assert!(!policy.is_retryable(&Failure::Timeout));
    /// ```
    #[must_use]
    pub fn is_retryable(&self, failure: &Failure<'_>) -> bool {
        match *failure {
            Failure::Error(error) => self.is_retryable_any(error),
            Failure::Panic => self.inner.retry_panics,
            Failure::Timeout => self.inner.retry_timeouts,
        }
    }

    fn is_retryable_any(&self, error: &dyn Any) -> bool {
        if self.inner.predicates.is_empty() {
            return true;
        }
        // `(*error)` so the id is the error's, not the reference's.
        let id = (*error).type_id();
        self.inner
            .predicates
            .iter()
            .find(|(t, _)| *t == id)
            .is_none_or(|(_, predicate)| predicate(error))
    }

    /// Whether retry number `retry` (1 for the first retry) is within the
    /// count: `retry <= max_retries`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// let policy = RetryPolicy::new(2);
    /// assert!(policy.allows_retry(2));
    /// assert!(!policy.allows_retry(3));
    /// assert!(!RetryPolicy::never().allows_retry(1));
    /// ```
    #[must_use]
    pub fn allows_retry(&self, retry: u32) -> bool {
        retry <= self.inner.max_retries
    }

    /// The wait before retry number `retry`: [`Backoff::delay`] of this
    /// policy's backoff (see there for `previous` and `rng`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{JitterRng, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::fixed(3, Duration::from_millis(20));
    /// let mut rng = JitterRng::seeded(0);
    /// assert_eq!(policy.next_delay(1, Duration::ZERO, &mut rng), Duration::from_millis(20));
    /// ```
    #[must_use]
    pub fn next_delay(&self, retry: u32, previous: Duration, rng: &mut JitterRng) -> Duration {
        self.inner.backoff.delay(retry, previous, rng)
    }

    /// Runs `op` until it succeeds, retrying on the caller's thread as this
    /// policy allows; `op` receives the attempt number (1 for the first).
    ///
    /// - The first attempt always runs; `op` may check `ctx` itself.
    /// - After a failure, retrying stops when the error is not retryable,
    ///   the retries are used up, `ctx` is cancelled, or the next backoff
    ///   would pass [`max_elapsed`](RetryPolicy::max_elapsed).
    /// - Backoff waits are [`Context::sleep`]s on `ctx`: cancelling `ctx`
    ///   (or its deadline passing) ends the wait at once, and `op` does not
    ///   run again. Waits read `ctx`'s clock, so a
    ///   [`ManualClock`](crate::time::ManualClock) drives them in tests.
    /// - **Panics**: when the policy retries panics
    ///   ([`retry_panics(true)`](RetryPolicy::retry_panics)), a panic in `op`
    ///   is caught and retried like an error; if the last attempt panicked
    ///   when retrying stops, that panic is resumed on the caller's thread.
    ///   Otherwise panics are not caught at all and propagate from the
    ///   attempt that raised them.
    ///
    /// # Errors
    ///
    /// A [`RetryError`] saying why retrying stopped, with the last error and
    /// the number of attempts made.
    ///
    /// # Panics
    ///
    /// Only by resuming a panic raised by `op` (see above).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::retry::{RetryError, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::fixed(2, Duration::ZERO);
    /// let result: Result<(), _> = policy.call(&Context::new(), |attempt| Err(attempt));
    /// match result {
    ///     Err(RetryError::Exhausted { last, attempts }) => {
    ///         assert_eq!((last, attempts), (3, 3)); // 1 attempt + 2 retries
    ///     }
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// ```
    pub fn call<T, E, F>(&self, ctx: &Context, mut op: F) -> Result<T, RetryError<E>>
    where
        E: Any,
        F: FnMut(u32) -> Result<T, E>,
    {
        let inner = &*self.inner;
        // Read the clock only when a limit needs it: a first-try success
        // then costs nothing beyond the call.
        let start: Option<Instant> = inner.max_elapsed.map(|_| ctx.clock().now());
        let mut rng: Option<JitterRng> = None;
        let mut previous = Duration::ZERO;
        let mut attempt: u32 = 1;
        loop {
            let last = if inner.retry_panics {
                match panic::catch_unwind(AssertUnwindSafe(|| op(attempt))) {
                    Ok(Ok(value)) => return Ok(value),
                    Ok(Err(error)) => Last::Error(error),
                    Err(payload) => Last::Panic(payload),
                }
            } else {
                match op(attempt) {
                    Ok(value) => return Ok(value),
                    Err(error) => Last::Error(error),
                }
            };
            let attempts = attempt;
            let elapsed = start.map_or(Duration::ZERO, |start| {
                ctx.clock().now().saturating_duration_since(start)
            });
            let failure = match &last {
                Last::Error(error) => Failure::Error(error),
                Last::Panic(_) => Failure::Panic,
            };
            let rng = rng.get_or_insert_with(JitterRng::from_entropy);
            let delay = match self.decide(attempt, &failure, elapsed, previous, rng) {
                Decision::RetryAfter(delay) => delay,
                Decision::NotRetryable => {
                    return Err(last.stop(|error| RetryError::NotRetryable { error, attempts }));
                }
                Decision::Exhausted => {
                    return Err(last.stop(|last| RetryError::Exhausted { last, attempts }));
                }
                Decision::MaxElapsed => {
                    return Err(last.stop(|last| RetryError::MaxElapsed {
                        last,
                        attempts,
                        elapsed,
                    }));
                }
            };
            // `ctx.sleep` reports a cancellation that came before it too.
            if let Err(cancelled) = ctx.sleep(delay) {
                let reason = cancelled.reason();
                return Err(last.stop(|last| RetryError::Cancelled {
                    last,
                    attempts,
                    reason,
                }));
            }
            previous = delay;
            attempt = attempt.saturating_add(1);
        }
    }

    /// What to do after attempt number `attempt` (1 for the first) failed
    /// with `failure`, `elapsed` after the first attempt began — the whole
    /// policy in one pure step, for a pool's timer or a hand-written loop.
    /// [`call`](RetryPolicy::call) is this in a loop, plus sleeping.
    ///
    /// Checks, in order: the classifier ([`Decision::NotRetryable`]), the
    /// count ([`Decision::Exhausted`]), then draws the delay before retry
    /// number `attempt` (`previous` is the delay before the previous retry,
    /// zero at first) and checks the time limit: a retry whose backoff would
    /// end after `max_elapsed` is [`Decision::MaxElapsed`]. Cancellation is
    /// the caller's to check.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::{Decision, Failure, JitterRng, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::fixed(1, Duration::from_secs(2))
    ///     .max_elapsed(Duration::from_secs(10));
    /// let mut rng = JitterRng::from_entropy();
    /// let err = "connection refused";
    /// let failure = Failure::Error(&err);
    /// let zero = Duration::ZERO;
    ///
    /// assert_eq!(
    ///     policy.decide(1, &failure, zero, zero, &mut rng),
    ///     Decision::RetryAfter(Duration::from_secs(2))
    /// );
    /// assert_eq!(policy.decide(2, &failure, zero, zero, &mut rng), Decision::Exhausted);
    /// assert_eq!(
    ///     policy.decide(1, &failure, Duration::from_secs(9), zero, &mut rng),
    ///     Decision::MaxElapsed
    /// );
    /// assert_eq!(policy.decide(1, &Failure::Panic, zero, zero, &mut rng), Decision::NotRetryable);
    /// ```
    #[must_use]
    pub fn decide(
        &self,
        attempt: u32,
        failure: &Failure<'_>,
        elapsed: Duration,
        previous: Duration,
        rng: &mut JitterRng,
    ) -> Decision {
        if !self.is_retryable(failure) {
            return Decision::NotRetryable;
        }
        if !self.allows_retry(attempt) {
            return Decision::Exhausted;
        }
        let delay = self.inner.backoff.delay(attempt, previous, rng);
        match self.inner.max_elapsed {
            Some(limit) if elapsed.saturating_add(delay) > limit => Decision::MaxElapsed,
            _ => Decision::RetryAfter(delay),
        }
    }
}

/// What [`RetryPolicy::decide`] says to do after a failed attempt.
///
/// # Examples
///
/// ```
/// use gosling::retry::{Decision, Failure, JitterRng, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::never();
/// let d = policy.decide(1, &Failure::Timeout, Duration::ZERO, Duration::ZERO, &mut JitterRng::seeded(0));
/// assert_eq!(d, Decision::Exhausted);
/// assert!(!d.is_retry());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// Retry after waiting this long.
    RetryAfter(Duration),
    /// Stop: the classifier says this failure is not worth retrying.
    NotRetryable,
    /// Stop: every allowed retry has been made.
    Exhausted,
    /// Stop: the next retry would start after the policy's `max_elapsed`.
    MaxElapsed,
}

impl Decision {
    /// True for [`Decision::RetryAfter`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::Decision;
    /// assert!(Decision::RetryAfter(std::time::Duration::ZERO).is_retry());
    /// ```
    #[must_use]
    pub const fn is_retry(&self) -> bool {
        matches!(self, Decision::RetryAfter(_))
    }

    /// The delay when retrying, `None` when stopping.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::Decision;
    /// assert_eq!(Decision::MaxElapsed.delay(), None);
    /// ```
    #[must_use]
    pub const fn delay(&self) -> Option<Duration> {
        match self {
            Decision::RetryAfter(delay) => Some(*delay),
            _ => None,
        }
    }
}

/// The default backoff of [`RetryPolicy::new`].
fn default_backoff() -> Backoff {
    Backoff::doubling(Duration::from_millis(100))
        .jitter(Jitter::Full)
        .cap(Duration::from_secs(30))
}

/// The outcome of a failed attempt inside [`RetryPolicy::call`].
enum Last<E> {
    Error(E),
    Panic(Box<dyn Any + Send>),
}

impl<E> Last<E> {
    /// The error to return, or — when the last attempt panicked — the panic,
    /// resumed.
    fn stop(self, make: impl FnOnce(E) -> RetryError<E>) -> RetryError<E> {
        match self {
            Last::Error(error) => make(error),
            Last::Panic(payload) => panic::resume_unwind(payload),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::never()
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("RetryPolicy")
            .field("max_retries", &inner.max_retries)
            .field("backoff", &inner.backoff)
            .field("max_elapsed", &inner.max_elapsed)
            .field("error_predicates", &inner.predicates.len())
            .field("retry_panics", &inner.retry_panics)
            .field("retry_timeouts", &inner.retry_timeouts)
            .finish()
    }
}

/// Why [`RetryPolicy::call`] stopped without a success; every variant hands
/// back the last error and counts the attempts made.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::retry::{RetryError, RetryPolicy};
///
/// let err = RetryPolicy::never()
///     .call(&Context::new(), |_| Err::<(), _>("refused"))
///     .unwrap_err();
/// assert!(matches!(err, RetryError::Exhausted { attempts: 1, .. }));
/// assert_eq!(err.to_string(), "gave up after 1 attempt: refused");
/// assert_eq!(err.into_inner(), "refused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryError<E> {
    /// Every allowed retry failed.
    Exhausted {
        /// The error of the last attempt.
        last: E,
        /// Attempts made: `max_retries + 1`.
        attempts: u32,
    },
    /// The classifier said this error is not worth retrying.
    NotRetryable {
        /// The error that stopped the retries.
        error: E,
        /// Attempts made, the failing one included.
        attempts: u32,
    },
    /// The context was cancelled (or reached its deadline) after a failure
    /// or during a backoff wait.
    Cancelled {
        /// The error of the last attempt.
        last: E,
        /// Attempts made.
        attempts: u32,
        /// Why the context was cancelled.
        reason: CancelReason,
    },
    /// The next retry would start after the policy's `max_elapsed`.
    MaxElapsed {
        /// The error of the last attempt.
        last: E,
        /// Attempts made.
        attempts: u32,
        /// Time since the first attempt began when retrying stopped.
        elapsed: Duration,
    },
}

impl<E> RetryError<E> {
    /// The last error, whatever the reason for stopping.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::retry::RetryPolicy;
    ///
    /// let err = RetryPolicy::never().call(&Context::new(), |_| Err::<(), _>(7)).unwrap_err();
    /// assert_eq!(err.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> E {
        match self {
            RetryError::Exhausted { last, .. }
            | RetryError::NotRetryable { error: last, .. }
            | RetryError::Cancelled { last, .. }
            | RetryError::MaxElapsed { last, .. } => last,
        }
    }

    /// A reference to the last error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::retry::RetryPolicy;
    ///
    /// let err = RetryPolicy::never().call(&Context::new(), |_| Err::<(), _>("x")).unwrap_err();
    /// assert_eq!(*err.last(), "x");
    /// ```
    pub fn last(&self) -> &E {
        match self {
            RetryError::Exhausted { last, .. }
            | RetryError::NotRetryable { error: last, .. }
            | RetryError::Cancelled { last, .. }
            | RetryError::MaxElapsed { last, .. } => last,
        }
    }

    /// The number of attempts made.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::fixed(4, Duration::ZERO);
    /// let err = policy.call(&Context::new(), |_| Err::<(), _>(())).unwrap_err();
    /// assert_eq!(err.attempts(), 5);
    /// ```
    pub fn attempts(&self) -> u32 {
        match self {
            RetryError::Exhausted { attempts, .. }
            | RetryError::NotRetryable { attempts, .. }
            | RetryError::Cancelled { attempts, .. }
            | RetryError::MaxElapsed { attempts, .. } => *attempts,
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::Exhausted { last, attempts } => {
                write!(
                    f,
                    "gave up after {attempts} attempt{}: {last}",
                    plural(*attempts)
                )
            }
            RetryError::NotRetryable { error, attempts } => {
                write!(f, "not retryable (attempt {attempts}): {error}")
            }
            RetryError::Cancelled {
                last,
                attempts,
                reason,
            } => write!(
                f,
                "retrying stopped, context {reason} after {attempts} attempt{}: {last}",
                plural(*attempts)
            ),
            RetryError::MaxElapsed {
                last,
                attempts,
                elapsed,
            } => write!(
                f,
                "retrying stopped, time limit reached after {attempts} attempt{} in {elapsed:?}: {last}",
                plural(*attempts)
            ),
        }
    }
}

impl<E: Error + 'static> Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.last())
    }
}
