//! [`Policy`]: one stack of resilience layers — timeout, retry, circuit
//! breaker, bulkhead, fallback — around a call, in one fixed order, on the
//! caller's thread ([`Policy::call`]) or as a pool task ([`Policy::task`]).
//!
//! Maintainer notes. The layers are plain `Option`s checked in order; a
//! policy with no layers is `op(ctx)` plus a branch per layer, and the hot
//! path allocates nothing unless a timeout layer is set (a context node per
//! attempt or call). The retry loop is [`RetryPolicy::decide`] in a loop, as
//! in `RetryPolicy::call`; the pool form hands the same decision to the
//! pool's timer through [`Task::retrying`] with a classifier for
//! [`PolicyError`] derived from the user's policy.
//!
//! Layering: the pieces live below the pool (`retry/`, `limit/`: the pool
//! and tasks use `RetryPolicy` and limiters themselves); this module stacks
//! them and turns a stack into a pool [`Task`], so it sits above `task/` and
//! `pool/` — which is why it is a module of its own and not part of
//! `retry/`.

#![forbid(unsafe_code)]

use crate::context::{CancelReason, Context};
use crate::limit::{AcquireError, ConcurrencyLimiter};
use crate::retry::{CircuitBreaker, Decision, Failure, Fallback, JitterRng, Rejected, RetryPolicy};
use crate::task::Task;
use std::any::Any;
use std::error::Error;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// A stack of resilience layers around a fallible call: an optional
/// per-attempt timeout, retries, a circuit breaker, a bulkhead and a
/// fallback, applied in one fixed order whatever the order of the builder
/// calls.
///
/// # The order
///
/// ```text
/// fallback( total_timeout( retry( breaker( bulkhead( timeout( op ))))))
/// ```
///
/// 1. **Fallback**, outermost: it sees the final [`PolicyError`] — the
///    operation's error after the last attempt, a rejection, a timeout or a
///    cancellation — and computes the replacement value from it.
/// 2. **Total timeout** ([`total_timeout`](Policy::total_timeout)): one
///    deadline over everything below, backoff waits included (a child of
///    the caller's context; the caller's own deadline works the same way).
///    Reaching it stops the call with [`PolicyError::Cancelled`] and reason
///    [`DeadlineExceeded`](CancelReason::DeadlineExceeded).
/// 3. **Retry** ([`retry`](Policy::retry)): outside the breaker, so *every
///    attempt* is one call in the breaker's window, and once the breaker
///    opens the remaining attempts are rejected at once instead of hammering
///    a failing dependency. The backoff waits hold no bulkhead slot and no
///    breaker permit.
/// 4. **Circuit breaker** ([`circuit_breaker`](Policy::circuit_breaker)):
///    outside the bulkhead, so an open breaker rejects at once, without
///    waiting for a bulkhead slot first. A call the bulkhead refuses or the
///    caller cancels is *ignored* by the breaker (the dependency was not
///    judged); a per-attempt timeout counts as a failure.
/// 5. **Bulkhead** ([`bulkhead`](Policy::bulkhead)): at most N attempts
///    inside at once, with a bounded wait for a slot.
/// 6. **Timeout** ([`timeout`](Policy::timeout)), innermost: each attempt
///    gets a child context with its own deadline, started when the attempt
///    starts — the bulkhead wait does not eat into it.
///
/// This is resilience4j's order (Retry ∘ CircuitBreaker ∘ Bulkhead ∘
/// TimeLimiter, fallback around all), with the time limit moved inside the
/// bulkhead because the bulkhead's wait is bounded on its own.
///
/// # Timeouts are cooperative
///
/// Rust cannot stop a running closure. A timeout cancels the context the
/// operation receives; the operation must poll it ([`Context::check`],
/// [`Context::sleep`], a limiter's wait…) and return. `call` then reports
/// an error returned after the deadline as [`PolicyError::TimedOut`] (per
/// attempt; retryable when the retry policy retries timeouts) or
/// [`PolicyError::Cancelled`] (the caller's context or the total timeout).
/// A *value* returned late is still returned: the work is done, and unlike a
/// pool's waiters nobody has been told otherwise.
///
/// # Rejections and cancellation
///
/// A breaker or bulkhead rejection is not retried by default (failing fast
/// is their point); [`retry_rejections(true)`](Policy::retry_rejections)
/// retries them with the backoff and within the count like any failure.
/// Cancelling the caller's context stops everything: the attempt sees its
/// context cancelled, a backoff wait or a bulkhead wait ends at once, and no
/// further attempt starts.
///
/// # The seed's `ErrorHandler`, mapped
///
/// | Go seed (`ErrorHandler`)                | gosling                                                                 |
/// |-----------------------------------------|-------------------------------------------------------------------------|
/// | `h := NewErrorHandler()`                | `Policy::new()`                                                         |
/// | `h.WithRetry(attempts, delay)`          | `.retry(RetryPolicy::with_retry(attempts, delay))` ([`RetryPolicy::with_retry`]) |
/// | `h.WithFallback(fn)`                    | `.fallback(\|err\| value)` ([`Policy::fallback`]; `fn` gets a [`PolicyError`]) |
/// | `h.WithCircuitBreaker(threshold, timeout)` | `.circuit_breaker(breaker)`, the breaker built with `count_window(threshold)`, `minimum_calls(threshold)`, `failure_rate_threshold(100.0)`, `wait_in_open(timeout)`: it opens after `threshold` failures in a row, for `timeout` |
/// | `h.Handle(err)`                         | [`policy.call(&ctx, \|ctx\| op(ctx))`](Policy::call): the policy wraps the *operation* (a retry has to run it again), not an error after the fact |
/// | a handled task in the pool              | [`pool.submit_task(policy.task(body))`](Policy::task)                   |
///
/// Differences from the seed: the order is fixed and documented (the seed
/// applied its handlers in registration order); the error says which layer
/// stopped the call; the breaker is shared by every clone of the policy.
///
/// # Examples
///
/// The seed's handler, composed:
///
/// ```
/// use gosling::context::Context;
/// use gosling::policy::{Policy, PolicyError};
/// use gosling::retry::{CircuitBreaker, RetryPolicy};
/// use std::time::Duration;
///
/// // WithCircuitBreaker(5, 30s): open after 5 failures in a row, for 30 s.
/// let breaker = CircuitBreaker::<String>::builder()
///     .count_window(5)
///     .minimum_calls(5)
///     .failure_rate_threshold(100.0)
///     .wait_in_open(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// let policy = Policy::new()
///     .retry(RetryPolicy::with_retry(2, Duration::ZERO)) // WithRetry(2, 0)
///     .circuit_breaker(breaker.clone())
///     .fallback(|err: PolicyError<String>| format!("cached ({err})")); // WithFallback
///
/// let ctx = Context::new();
/// let mut calls = 0;
/// // Handle: the operation fails three times (1 attempt + 2 retries), then
/// // the fallback answers.
/// let answer = policy.call(&ctx, |_ctx| {
///     calls += 1;
///     Err::<String, _>("down".to_string())
/// });
/// assert_eq!(calls, 3);
/// assert_eq!(answer.unwrap(), "cached (gave up after 3 attempts: down)");
///
/// // Two more failures open the breaker; the next call is rejected at once.
/// let _ = policy.call(&ctx, |_| Err::<String, _>("down".to_string()));
/// let answer = policy.call(&ctx, |_| Ok("fresh".to_string())).unwrap();
/// assert!(answer.starts_with("cached (circuit breaker is open"));
/// ```
///
/// A per-attempt timeout, a bulkhead, and no fallback:
///
/// ```
/// use gosling::context::Context;
/// use gosling::limit::ConcurrencyLimiter;
/// use gosling::policy::{Policy, PolicyError};
/// use std::time::Duration;
///
/// let policy = Policy::<&str>::new()
///     .timeout(Duration::from_millis(5))
///     .bulkhead(ConcurrencyLimiter::new(4).unwrap(), Duration::from_millis(100));
/// let result: Result<(), _> = policy.call(&Context::new(), |ctx| {
///     ctx.sleep(Duration::from_secs(60)).map_err(|_| "gave up") // wakes at the deadline
/// });
/// assert!(matches!(result, Err(PolicyError::TimedOut { attempts: 1, .. })));
/// ```
#[must_use]
pub struct Policy<E, Fb = NoFallback> {
    timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    retry_rejections: bool,
    breaker: Option<CircuitBreaker<E>>,
    bulkhead: Option<Bulkhead>,
    fallback: Fb,
}

/// The bulkhead layer: a shared limiter and how long an attempt may wait.
#[derive(Clone, Debug)]
struct Bulkhead {
    limiter: ConcurrencyLimiter,
    max_wait: Duration,
}

impl<E> Policy<E, NoFallback> {
    /// A policy with no layers: [`call`](Policy::call) just calls.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::policy::{Policy, PolicyError};
    ///
    /// let policy = Policy::new();
    /// assert_eq!(policy.call(&Context::new(), |_| Ok::<_, &str>(7)), Ok(7));
    /// let err = policy.call(&Context::new(), |_| Err::<u8, _>("no")).unwrap_err();
    /// assert_eq!(err, PolicyError::Failed { error: "no", attempts: 1 });
    /// ```
    pub fn new() -> Policy<E, NoFallback> {
        Policy {
            timeout: None,
            total_timeout: None,
            retry: None,
            retry_rejections: false,
            breaker: None,
            bulkhead: None,
            fallback: NoFallback,
        }
    }
}

impl<E> Default for Policy<E, NoFallback> {
    fn default() -> Self {
        Policy::new()
    }
}

impl<E, Fb: Clone> Clone for Policy<E, Fb> {
    fn clone(&self) -> Self {
        Policy {
            timeout: self.timeout,
            total_timeout: self.total_timeout,
            retry: self.retry.clone(),
            retry_rejections: self.retry_rejections,
            breaker: self.breaker.clone(),
            bulkhead: self.bulkhead.clone(),
            fallback: self.fallback.clone(),
        }
    }
}

impl<E, Fb> fmt::Debug for Policy<E, Fb> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("timeout", &self.timeout)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("retry_rejections", &self.retry_rejections)
            .field("breaker", &self.breaker.as_ref().map(CircuitBreaker::state))
            .field("bulkhead", &self.bulkhead)
            .field("fallback", &std::any::type_name::<Fb>())
            .finish()
    }
}

impl<E, Fb> Policy<E, Fb> {
    /// Gives every attempt a context whose deadline is `per_attempt` after
    /// the attempt starts (cooperative: see [the type's docs](Policy)). A
    /// second call replaces the first. `Duration::ZERO` gives attempts an
    /// already expired context.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::policy::Policy;
    /// use std::time::Duration;
    ///
    /// let policy = Policy::<()>::new().timeout(Duration::from_secs(2));
    /// let remaining = policy.call(&Context::new(), |ctx| Ok(ctx.remaining())).unwrap();
    /// assert!(remaining.unwrap() <= Duration::from_secs(2));
    /// ```
    pub fn timeout(mut self, per_attempt: Duration) -> Self {
        self.timeout = Some(per_attempt);
        self
    }

    /// One deadline over the whole call — every attempt, backoff wait and
    /// bulkhead wait — `total` after the call starts. Reaching it ends the
    /// call with [`PolicyError::Cancelled`] (reason
    /// [`DeadlineExceeded`](CancelReason::DeadlineExceeded)), as the
    /// caller's own deadline would.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::{CancelReason, Context};
    /// use gosling::policy::{Policy, PolicyError};
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = Policy::new()
    ///     .retry(RetryPolicy::with_retry(1_000, Duration::from_secs(1)))
    ///     .total_timeout(Duration::from_millis(5));
    /// let err = policy.call(&Context::new(), |_| Err::<(), _>("busy")).unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     PolicyError::Cancelled { reason: CancelReason::DeadlineExceeded, last: Some("busy"), .. }
    /// ));
    /// ```
    pub fn total_timeout(mut self, total: Duration) -> Self {
        self.total_timeout = Some(total);
        self
    }

    /// Retries failed attempts as `retry` says: how many, the backoff
    /// between them, the total time, and which errors (its classifier sees
    /// the operation's own error `E`; a per-attempt timeout is a
    /// [`Failure::Timeout`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::policy::Policy;
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = Policy::new().retry(RetryPolicy::with_retry(3, Duration::ZERO));
    /// let mut calls = 0;
    /// let value = policy.call(&Context::new(), |_| {
    ///     calls += 1;
    ///     if calls < 3 { Err("flaky") } else { Ok(calls) }
    /// });
    /// assert_eq!(value, Ok(3));
    /// ```
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Whether a breaker or bulkhead rejection is retried like a failure
    /// (`true`) or ends the call at once (`false`, the default).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::limit::ConcurrencyLimiter;
    /// use gosling::policy::{Policy, PolicyError};
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    /// let policy = Policy::<()>::new()
    ///     .retry(RetryPolicy::with_retry(2, Duration::ZERO))
    ///     .bulkhead(bulkhead.clone(), Duration::ZERO)
    ///     .retry_rejections(true);
    /// let _held = bulkhead.try_acquire().unwrap();
    /// let err = policy.call(&Context::new(), |_| Ok(())).unwrap_err();
    /// assert_eq!(err, PolicyError::BulkheadFull { attempts: 3 });
    /// ```
    pub fn retry_rejections(mut self, retry: bool) -> Self {
        self.retry_rejections = retry;
        self
    }

    /// Guards every attempt with `breaker`. A [`CircuitBreaker`] is a shared
    /// handle: pass a clone and every policy, thread and task holding one
    /// uses the same state.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::policy::{Policy, PolicyError};
    /// use gosling::retry::{CircuitBreaker, Rejected};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build().unwrap();
    /// let policy = Policy::new().circuit_breaker(breaker.clone());
    /// breaker.force_open();
    /// let err = policy.call(&Context::new(), |_| Ok(1)).unwrap_err();
    /// assert_eq!(err, PolicyError::Rejected { rejected: Rejected::ForcedOpen, attempts: 1 });
    /// ```
    pub fn circuit_breaker(mut self, breaker: CircuitBreaker<E>) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// Lets at most `limiter.limit()` attempts in at once (a bulkhead,
    /// shared by every clone of `limiter`); an attempt waits at most
    /// `max_wait` for a slot (`Duration::ZERO`: not at all), then fails
    /// with [`PolicyError::BulkheadFull`]. In a pool task the attempt never
    /// waits (see [`task`](Policy::task)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::limit::ConcurrencyLimiter;
    /// use gosling::policy::{Policy, PolicyError};
    /// use std::time::Duration;
    ///
    /// let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    /// let policy = Policy::<()>::new().bulkhead(bulkhead.clone(), Duration::from_millis(1));
    /// assert_eq!(policy.call(&Context::new(), |_| Ok(5)), Ok(5));
    /// let _held = bulkhead.try_acquire().unwrap();
    /// assert_eq!(policy.call(&Context::new(), |_| Ok(5)), Err(PolicyError::BulkheadFull { attempts: 1 }));
    /// ```
    pub fn bulkhead(mut self, limiter: ConcurrencyLimiter, max_wait: Duration) -> Self {
        self.bulkhead = Some(Bulkhead { limiter, max_wait });
        self
    }

    /// Replaces every final error — the operation's, a rejection, a timeout
    /// or a cancellation — with `replace(error)`; `call` then always returns
    /// `Ok`. Replaces an earlier fallback.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::policy::{Policy, PolicyError};
    ///
    /// let policy = Policy::new().fallback(|err: PolicyError<std::num::ParseIntError>| {
    ///     if err.is_rejected() { -1 } else { 0 }
    /// });
    /// assert_eq!(policy.call(&Context::new(), |_| "12".parse::<i32>()), Ok(12));
    /// assert_eq!(policy.call(&Context::new(), |_| "x".parse::<i32>()), Ok(0));
    /// ```
    pub fn fallback<F>(self, replace: F) -> Policy<E, Fallback<F>> {
        Policy {
            timeout: self.timeout,
            total_timeout: self.total_timeout,
            retry: self.retry,
            retry_rejections: self.retry_rejections,
            breaker: self.breaker,
            bulkhead: self.bulkhead,
            fallback: Fallback::new(replace),
        }
    }
}

impl<E: Any, Fb> Policy<E, Fb> {
    /// Runs `op` through the layers, in [the documented order](Policy), on
    /// the caller's thread. `op` receives the attempt's context: the
    /// caller's `ctx`, or a child with the per-attempt or total deadline.
    /// Backoff waits sleep on that context, so cancelling `ctx` ends them;
    /// they read `ctx`'s clock, so a
    /// [`ManualClock`](crate::time::ManualClock) drives them in tests.
    ///
    /// Panics in `op` propagate (a breaker counts the attempt as failed and
    /// a bulkhead slot is released on the way), unless the retry policy
    /// [retries panics](RetryPolicy::retry_panics): then they are caught
    /// and retried, and a panic on the last attempt is resumed here.
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] saying which layer stopped the call — replaced by
    /// the fallback's value when the policy has one.
    ///
    /// # Panics
    ///
    /// Only by resuming a panic raised by `op` (see above).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::policy::{Policy, PolicyError};
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = Policy::new().retry(RetryPolicy::with_retry(1, Duration::ZERO));
    /// let err = policy.call(&Context::new(), |_| Err::<(), _>(404)).unwrap_err();
    /// assert_eq!(err.attempts(), 2);
    /// assert_eq!(err.into_inner(), Some(404));
    /// ```
    pub fn call<T, F>(&self, ctx: &Context, mut op: F) -> Result<T, PolicyError<E>>
    where
        Fb: Recover<T, E>,
        F: FnMut(&Context) -> Result<T, E>,
    {
        match self.run(ctx, &mut op) {
            Ok(value) => Ok(value),
            Err(error) => self.fallback.recover(error),
        }
    }

    /// Everything below the fallback.
    fn run<T, F>(&self, ctx: &Context, op: &mut F) -> Result<T, PolicyError<E>>
    where
        F: FnMut(&Context) -> Result<T, E>,
    {
        let total;
        let ctx = match self.total_timeout {
            Some(limit) => {
                total = ctx.with_timeout(limit);
                &total
            }
            None => ctx,
        };
        let Some(retry) = &self.retry else {
            return self.attempt(ctx, op, 1, true);
        };
        let catch = retry.retries_panics();
        // Read the clock only when a limit needs it.
        let start: Option<Instant> = retry.max_elapsed().map(|_| ctx.clock().now());
        let mut rng: Option<JitterRng> = None;
        let mut previous = Duration::ZERO;
        let mut attempt: u32 = 1;
        loop {
            let last = if catch {
                match panic::catch_unwind(AssertUnwindSafe(|| self.attempt(ctx, op, attempt, true)))
                {
                    Ok(Ok(value)) => return Ok(value),
                    Ok(Err(error)) => Last::Error(error),
                    Err(payload) => Last::Panic(payload),
                }
            } else {
                match self.attempt(ctx, op, attempt, true) {
                    Ok(value) => return Ok(value),
                    Err(error) => Last::Error(error),
                }
            };
            let elapsed = start.map_or(Duration::ZERO, |start| {
                ctx.clock().now().saturating_duration_since(start)
            });
            let rng = rng.get_or_insert_with(JitterRng::from_entropy);
            let delay = match self.decide(retry, &last, attempt, elapsed, previous, rng) {
                Decision::RetryAfter(delay) => delay,
                _ => return Err(last.stop()),
            };
            if let Err(cancelled) = ctx.sleep(delay) {
                let error = last.stop();
                return Err(PolicyError::Cancelled {
                    reason: cancelled.reason(),
                    attempts: error.attempts(),
                    last: error.into_inner(),
                });
            }
            previous = delay;
            attempt = attempt.saturating_add(1);
        }
    }

    /// What the retry layer does after attempt `attempt` failed with `last`.
    fn decide(
        &self,
        retry: &RetryPolicy,
        last: &Last<E>,
        attempt: u32,
        elapsed: Duration,
        previous: Duration,
        rng: &mut JitterRng,
    ) -> Decision {
        let failure = match self.failure_of(last) {
            Some(failure) => failure,
            None => return Decision::NotRetryable,
        };
        retry.decide(attempt, &failure, elapsed, previous, rng)
    }

    /// The failure the retry policy judges, or `None` for one never retried.
    fn failure_of<'a>(&self, last: &'a Last<E>) -> Option<Failure<'a>> {
        match last {
            Last::Panic(_) => Some(Failure::Panic),
            Last::Error(PolicyError::Failed { error, .. }) => Some(Failure::Error(error)),
            Last::Error(PolicyError::TimedOut { .. }) => Some(Failure::Timeout),
            Last::Error(PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. })
                if self.retry_rejections =>
            {
                // A type no user predicate can name: retryable, subject to
                // the count and the time limit.
                Some(Failure::Error(&REJECTION))
            }
            Last::Error(_) => None,
        }
    }

    /// One attempt through breaker, bulkhead and per-attempt timeout.
    /// `wait` allows the bulkhead's bounded wait (not on a pool worker).
    fn attempt<T, F>(
        &self,
        ctx: &Context,
        op: &mut F,
        attempts: u32,
        wait: bool,
    ) -> Result<T, PolicyError<E>>
    where
        F: FnMut(&Context) -> Result<T, E>,
    {
        let permit = match &self.breaker {
            None => None,
            Some(breaker) => match breaker.try_acquire() {
                Ok(permit) => Some(permit),
                Err(rejected) => return Err(PolicyError::Rejected { rejected, attempts }),
            },
        };
        let _slot = match &self.bulkhead {
            None => None,
            Some(bulkhead) => match bulkhead.limiter.try_acquire() {
                Ok(slot) => Some(slot),
                Err(_) if wait && !bulkhead.max_wait.is_zero() => {
                    match bulkhead.limiter.acquire_timeout(ctx, bulkhead.max_wait) {
                        Ok(slot) => Some(slot),
                        Err(refused) => {
                            // The dependency was not called: nothing to judge.
                            if let Some(permit) = permit {
                                permit.ignore();
                            }
                            return Err(match refused {
                                AcquireError::Cancelled(c) => PolicyError::Cancelled {
                                    reason: c.reason(),
                                    last: None,
                                    attempts,
                                },
                                _ => PolicyError::BulkheadFull { attempts },
                            });
                        }
                    }
                }
                Err(_) => {
                    if let Some(permit) = permit {
                        permit.ignore();
                    }
                    return Err(PolicyError::BulkheadFull { attempts });
                }
            },
        };
        let child;
        let run_ctx = match self.timeout {
            Some(limit) => {
                child = ctx.with_timeout(limit);
                &child
            }
            None => ctx,
        };
        let result = op(run_ctx);
        // Why did it fail? The caller's context first: its cancellation
        // (or deadline) is also seen by the attempt's child.
        let (cancelled, timed_out) = match &result {
            Ok(_) => (None, false),
            Err(_) => match ctx.reason() {
                Some(reason) => (Some(reason), false),
                None => (None, self.timeout.is_some() && run_ctx.is_cancelled()),
            },
        };
        if let Some(permit) = permit {
            if cancelled.is_some() {
                permit.ignore();
            } else if timed_out {
                permit.failure();
            } else {
                permit.record(&result);
            }
        }
        result.map_err(|error| match (cancelled, timed_out) {
            (Some(reason), _) => PolicyError::Cancelled {
                reason,
                last: Some(error),
                attempts,
            },
            (None, true) => PolicyError::TimedOut {
                last: Some(error),
                attempts,
            },
            (None, false) => PolicyError::Failed { error, attempts },
        })
    }

    /// Whether the retry layer will not retry `error` after attempt
    /// `attempt`, as far as it can tell without drawing the backoff: the
    /// pool form's test for "apply the fallback now".
    fn is_final(&self, error: &PolicyError<E>, attempt: u32, elapsed: Duration) -> bool {
        let Some(retry) = &self.retry else {
            return true;
        };
        let kind = match error {
            PolicyError::Failed { error, .. } => retry.is_retryable(&Failure::Error(error)),
            PolicyError::TimedOut { .. } => retry.retries_timeouts(),
            PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. } => {
                self.retry_rejections
            }
            PolicyError::Cancelled { .. } => false,
        };
        !kind
            || !retry.allows_retry(attempt)
            || retry.max_elapsed().is_some_and(|limit| elapsed >= limit)
    }
}

impl<E, Fb> Policy<E, Fb>
where
    E: Send + 'static,
    Fb: Clone + Send + 'static,
{
    /// This policy applied to a pool task: submit the returned [`Task`]
    /// with [`Pool::submit_task`](crate::Pool::submit_task); its error is a
    /// [`PolicyError`].
    ///
    /// How each layer maps onto the pool:
    ///
    /// - **Retry** becomes [`Task::retrying`]: a failed attempt waits for its
    ///   backoff on the pool's timer and re-enters the queue with its
    ///   priority — no worker sleeps. The pool's classifier is the retry
    ///   policy's, applied to the attempt's [`PolicyError`] as in `call`
    ///   (the operation's own error, timeouts, and rejections when
    ///   [`retry_rejections`](Policy::retry_rejections) is set). Panics are
    ///   caught by the pool and retried if the policy retries panics.
    /// - **Breaker** and **timeout** wrap each attempt as in `call`; the
    ///   attempt's context is a child of the task's, so cancelling the task
    ///   (or its own [`Task::timeout`]) reaches the running attempt.
    /// - **Bulkhead**: an attempt never waits for a slot on a worker — it
    ///   tries once and, refused, fails with [`PolicyError::BulkheadFull`]
    ///   (retried on the timer when rejections are retried).
    /// - **Total timeout**: becomes a deadline on the task
    ///   ([`Task::timeout`]), which the pool enforces (outcome
    ///   [`TaskError::TimedOut`](crate::TaskError::TimedOut)).
    /// - **Fallback** runs inside the attempt that the retry layer will not
    ///   retry, and that attempt then succeeds with the replacement. Nearest
    ///   correct behaviour rather than an exact one: outcomes the *pool*
    ///   decides outside an attempt — a cancel while queued or during a
    ///   backoff, the task's own deadline, a shutdown, a panic — stay
    ///   [`TaskError`](crate::TaskError)s and are not replaced; and with a
    ///   fallback, the retry policy's
    ///   [`max_elapsed`](RetryPolicy::with_max_elapsed) is checked when an
    ///   attempt ends (no retry once it has passed) instead of counting the
    ///   next backoff.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::{Policy, PolicyError};
    /// use gosling::retry::RetryPolicy;
    /// use gosling::{Pool, TaskError};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(1)?;
    /// let policy = Policy::new().retry(RetryPolicy::with_retry(2, Duration::from_millis(1)));
    /// let mut calls = 0;
    /// let handle = pool.submit_task(policy.task(move |_ctx| {
    ///     calls += 1;
    ///     if calls < 3 { Err("flaky") } else { Ok(calls) }
    /// })).unwrap();
    /// assert_eq!(handle.wait(), Ok(3)); // two backoffs on the pool's timer
    ///
    /// let handle = pool.submit_task(policy.task(|_| Err::<(), _>("down"))).unwrap();
    /// assert_eq!(
    ///     handle.wait(),
    ///     Err(TaskError::Failed(PolicyError::Failed { error: "down", attempts: 3 }))
    /// );
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn task<T, F>(&self, mut body: F) -> Task<T, PolicyError<E>>
    where
        T: Send + 'static,
        Fb: Recover<T, E>,
        F: FnMut(&Context) -> Result<T, E> + Send + 'static,
    {
        let layers = self.clone();
        let replaces = self.fallback.replaces();
        let mut attempt: u32 = 0;
        let mut started: Option<Instant> = None;
        let mut wrapped = move |ctx: &Context| -> Result<T, PolicyError<E>> {
            attempt = attempt.saturating_add(1);
            if replaces && started.is_none() {
                started = Some(ctx.clock().now());
            }
            match layers.attempt(ctx, &mut body, attempt, false) {
                Ok(value) => Ok(value),
                // Cancellation is the pool's outcome, never replaced.
                Err(error @ PolicyError::Cancelled { .. }) => Err(error),
                Err(error) if replaces => {
                    let elapsed = started.map_or(Duration::ZERO, |s| {
                        ctx.clock().now().saturating_duration_since(s)
                    });
                    if layers.is_final(&error, attempt, elapsed) {
                        layers.fallback.recover(error)
                    } else {
                        Err(error)
                    }
                }
                Err(error) => Err(error),
            }
        };
        let task = match &self.retry {
            None => Task::fallible(move |ctx: &Context| wrapped(ctx)),
            Some(retry) => {
                let user = retry.clone();
                let rejections = self.retry_rejections;
                let mut for_pool =
                    retry
                        .clone()
                        .retry_if(move |error: &PolicyError<E>| match error {
                            PolicyError::Failed { error, .. } => {
                                user.is_retryable(&Failure::Error(error))
                            }
                            PolicyError::TimedOut { .. } => user.retries_timeouts(),
                            PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. } => {
                                rejections
                            }
                            PolicyError::Cancelled { .. } => false,
                        });
                if replaces && retry.max_elapsed().is_some() {
                    // The attempt decided already (see above); the pool must
                    // not stop on a backoff the attempt could not foresee.
                    for_pool = for_pool.with_max_elapsed(Duration::MAX);
                }
                Task::retrying(for_pool, wrapped)
            }
        };
        match self.total_timeout {
            Some(total) => task.timeout(total),
            None => task,
        }
    }
}

/// The marker a retried rejection is judged as.
struct Rejection;
const REJECTION: Rejection = Rejection;

/// The outcome of a failed attempt inside the retry loop.
enum Last<E> {
    Error(PolicyError<E>),
    Panic(Box<dyn Any + Send>),
}

impl<E> Last<E> {
    /// The error to return, or — when the last attempt panicked — the panic,
    /// resumed.
    fn stop(self) -> PolicyError<E> {
        match self {
            Last::Error(error) => error,
            Last::Panic(payload) => panic::resume_unwind(payload),
        }
    }
}

/// The fallback layer of a [`Policy`]: what happens to a final error.
/// Implemented by [`NoFallback`] (the error is returned) and by
/// [`Fallback`] over `Fn(PolicyError<E>) -> T` (it is replaced); see
/// [`Policy::fallback`].
///
/// # Examples
///
/// ```
/// use gosling::policy::{NoFallback, PolicyError, Recover};
/// use gosling::retry::Fallback;
///
/// let err = || PolicyError::Failed { error: "x", attempts: 1 };
/// assert!(Recover::<u8, &str>::recover(&NoFallback, err()).is_err());
/// let zero = Fallback::new(|_: PolicyError<&str>| 0u8);
/// assert_eq!(zero.recover(err()), Ok(0));
/// ```
pub trait Recover<T, E> {
    /// The call's result given its final error.
    ///
    /// # Errors
    ///
    /// The error itself when this layer does not replace it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::{NoFallback, PolicyError, Recover};
    /// let err = PolicyError::Failed { error: (), attempts: 1 };
    /// assert_eq!(Recover::<(), ()>::recover(&NoFallback, err.clone()), Err(err));
    /// ```
    fn recover(&self, error: PolicyError<E>) -> Result<T, PolicyError<E>>;

    /// Whether [`recover`](Recover::recover) ever replaces an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::{NoFallback, Recover};
    /// assert!(!Recover::<(), ()>::replaces(&NoFallback));
    /// ```
    fn replaces(&self) -> bool {
        true
    }
}

/// The fallback layer of a [`Policy`] without a fallback: errors are
/// returned as they are.
///
/// # Examples
///
/// ```
/// use gosling::policy::{NoFallback, Policy};
/// let policy: Policy<(), NoFallback> = Policy::new();
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoFallback;

impl<T, E> Recover<T, E> for NoFallback {
    #[inline]
    fn recover(&self, error: PolicyError<E>) -> Result<T, PolicyError<E>> {
        Err(error)
    }

    fn replaces(&self) -> bool {
        false
    }
}

impl<T, E, F> Recover<T, E> for Fallback<F>
where
    F: Fn(PolicyError<E>) -> T,
{
    #[inline]
    fn recover(&self, error: PolicyError<E>) -> Result<T, PolicyError<E>> {
        Ok((self.replacement())(error))
    }
}

/// Why a [`Policy`] call produced no value: which layer stopped it, how many
/// attempts were made, and the operation's last error where it ran.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::policy::{Policy, PolicyError};
///
/// let err = Policy::new().call(&Context::new(), |_| Err::<(), _>("refused")).unwrap_err();
/// assert_eq!(err.to_string(), "failed after 1 attempt: refused");
/// assert_eq!(err.into_inner(), Some("refused"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError<E> {
    /// The operation ran and failed, and the retry layer (if any) stopped:
    /// retries used up, the error not retryable, or the time limit reached.
    Failed {
        /// The operation's error on the last attempt.
        error: E,
        /// Attempts made.
        attempts: u32,
    },
    /// The circuit breaker did not admit the last attempt; it never ran.
    Rejected {
        /// Why the breaker refused.
        rejected: Rejected,
        /// Attempts made, the rejected one included.
        attempts: u32,
    },
    /// The bulkhead was full (and stayed full for its bounded wait); the
    /// last attempt never ran.
    BulkheadFull {
        /// Attempts made, the refused one included.
        attempts: u32,
    },
    /// The last attempt failed after its per-attempt timeout passed.
    TimedOut {
        /// The error the attempt returned after its deadline.
        last: Option<E>,
        /// Attempts made.
        attempts: u32,
    },
    /// The caller's context was cancelled or reached its deadline (or the
    /// policy's total timeout passed): during an attempt, a backoff wait or
    /// a bulkhead wait.
    Cancelled {
        /// Why the context was cancelled.
        reason: CancelReason,
        /// The operation's last error, if an attempt ran and failed.
        last: Option<E>,
        /// Attempts made.
        attempts: u32,
    },
}

impl<E> PolicyError<E> {
    /// The number of attempts made (rejected ones included).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// assert_eq!(PolicyError::<()>::BulkheadFull { attempts: 2 }.attempts(), 2);
    /// ```
    #[must_use]
    pub fn attempts(&self) -> u32 {
        match self {
            PolicyError::Failed { attempts, .. }
            | PolicyError::Rejected { attempts, .. }
            | PolicyError::BulkheadFull { attempts }
            | PolicyError::TimedOut { attempts, .. }
            | PolicyError::Cancelled { attempts, .. } => *attempts,
        }
    }

    /// The operation's last error, if the last attempt ran and failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// assert_eq!(PolicyError::Failed { error: 5, attempts: 1 }.into_inner(), Some(5));
    /// assert_eq!(PolicyError::<i32>::BulkheadFull { attempts: 1 }.into_inner(), None);
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            PolicyError::Failed { error, .. } => Some(error),
            PolicyError::TimedOut { last, .. } | PolicyError::Cancelled { last, .. } => last,
            PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. } => None,
        }
    }

    /// A reference to the operation's last error, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// assert_eq!(PolicyError::Failed { error: "x", attempts: 1 }.inner(), Some(&"x"));
    /// ```
    #[must_use]
    pub fn inner(&self) -> Option<&E> {
        match self {
            PolicyError::Failed { error, .. } => Some(error),
            PolicyError::TimedOut { last, .. } | PolicyError::Cancelled { last, .. } => {
                last.as_ref()
            }
            PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. } => None,
        }
    }

    /// True when the breaker or the bulkhead refused the last attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// use gosling::retry::Rejected;
    /// let err = PolicyError::<()>::Rejected { rejected: Rejected::ForcedOpen, attempts: 1 };
    /// assert!(err.is_rejected());
    /// ```
    #[must_use]
    pub fn is_rejected(&self) -> bool {
        matches!(
            self,
            PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. }
        )
    }

    /// True for a per-attempt timeout, and for a cancellation by a passed
    /// deadline (the caller's or the total timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// assert!(PolicyError::<()>::TimedOut { last: None, attempts: 1 }.is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        match self {
            PolicyError::TimedOut { .. } => true,
            PolicyError::Cancelled { reason, .. } => *reason == CancelReason::DeadlineExceeded,
            _ => false,
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl<E: fmt::Display> fmt::Display for PolicyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Failed { error, attempts } if *attempts > 1 => {
                write!(f, "gave up after {attempts} attempts: {error}")
            }
            PolicyError::Failed { error, attempts } => {
                write!(
                    f,
                    "failed after {attempts} attempt{}: {error}",
                    plural(*attempts)
                )
            }
            PolicyError::Rejected { rejected, attempts } => {
                write!(f, "{rejected} (attempt {attempts})")
            }
            PolicyError::BulkheadFull { attempts } => {
                write!(f, "bulkhead full (attempt {attempts})")
            }
            PolicyError::TimedOut { last, attempts } => {
                write!(f, "attempt {attempts} timed out")?;
                match last {
                    Some(last) => write!(f, ": {last}"),
                    None => Ok(()),
                }
            }
            PolicyError::Cancelled {
                reason,
                last,
                attempts,
            } => {
                write!(
                    f,
                    "context {reason} after {attempts} attempt{}",
                    plural(*attempts)
                )?;
                match last {
                    Some(last) => write!(f, ": {last}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl<E: Error + 'static> Error for PolicyError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PolicyError::Rejected { rejected, .. } => Some(rejected),
            other => other.inner().map(|e| e as &(dyn Error + 'static)),
        }
    }
}
