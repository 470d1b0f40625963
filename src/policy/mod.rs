//! [`Policy`]: one stack of resilience layers — timeout, retry, circuit
//! breaker, bulkhead, fallback — around a call, in one fixed order, on the
//! caller's thread ([`Policy::call`]) or as a pool task ([`Policy::task`]).
//!
//! The files, by role:
//!
//! - `mod.rs`: the [`Policy`] type, its order of layers (documented on the
//!   type) and the builder methods that set each layer.
//! - `call.rs`: [`Policy::call`] — the layers applied on the caller's
//!   thread: the retry loop, and one attempt through breaker, bulkhead and
//!   per-attempt timeout. Its attempt step is shared with `task.rs`.
//! - `task.rs`: [`Policy::task`] — the same stack as a pool [`Task`]: the
//!   retry layer handed to the pool's timer, one attempt per run.
//! - `recover.rs`: the fallback layer's trait, [`Recover`], and
//!   [`NoFallback`].
//! - `error.rs`: [`PolicyError`], which layer stopped a call.
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
//! `retry/`. It may import everything below `pool/`, and `task/`.

#![forbid(unsafe_code)]

mod call;
mod error;
mod recover;
mod task;

pub use error::PolicyError;
pub use recover::{NoFallback, Recover};

use crate::breaker::CircuitBreaker;
use crate::limit::ConcurrencyLimiter;
use crate::retry::{Fallback, RetryPolicy};
#[cfg(doc)]
use crate::{
    context::{CancelReason, Context},
    retry::Failure,
    task::Task,
};
use std::fmt;
use std::time::Duration;

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
/// # Coming from a Go `ErrorHandler`
///
/// | Go (`ErrorHandler`)                     | gosling                                                                 |
/// |-----------------------------------------|-------------------------------------------------------------------------|
/// | `h := NewErrorHandler()`                | `Policy::new()`                                                         |
/// | `h.WithRetry(attempts, delay)`          | `.retry(RetryPolicy::fixed(attempts, delay))` ([`RetryPolicy::fixed`]) |
/// | `h.WithFallback(fn)`                    | `.fallback(\|err\| value)` ([`Policy::fallback`]; `fn` gets a [`PolicyError`]) |
/// | `h.WithCircuitBreaker(threshold, timeout)` | `.circuit_breaker(breaker)`, the breaker built with `count_window(threshold)`, `minimum_calls(threshold)`, `failure_rate_threshold(100.0)`, `wait_in_open(timeout)`: it opens after `threshold` failures in a row, for `timeout` |
/// | `h.Handle(err)`                         | [`policy.call(&ctx, \|ctx\| op(ctx))`](Policy::call): the policy wraps the *operation* (a retry has to run it again), not an error after the fact |
/// | a handled task in the pool              | [`pool.submit_task(policy.task(body))`](Policy::task)                   |
///
/// Differences from that Go API: the order is fixed and documented (the Go
/// handler applied its layers in registration order); the error says which layer
/// stopped the call; the breaker is shared by every clone of the policy.
///
/// # Examples
///
/// The Go handler above, composed:
///
/// ```
/// use gosling::breaker::CircuitBreaker;
/// use gosling::context::Context;
/// use gosling::policy::{Policy, PolicyError};
/// use gosling::retry::RetryPolicy;
/// use std::time::Duration;
///
/// // WithCircuitBreaker(5, 30s): open after 5 failures in a row, for 30 s.
/// let breaker = CircuitBreaker::<String>::builder()
///     .count_window(5)
///     .minimum_calls(5)
///     .failure_rate_threshold(100.0)
///     .wait_in_open(Duration::from_secs(30))
///     .build()?;
/// let policy = Policy::new()
///     .retry(RetryPolicy::fixed(2, Duration::ZERO)) // WithRetry(2, 0)
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
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
///     .bulkhead(ConcurrencyLimiter::new(4)?, Duration::from_millis(100));
/// let result: Result<(), _> = policy.call(&Context::new(), |ctx| {
///     ctx.sleep(Duration::from_secs(60)).map_err(|_| "gave up") // wakes at the deadline
/// });
/// assert!(matches!(result, Err(PolicyError::TimedOut { attempts: 1, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
    ///     .retry(RetryPolicy::fixed(1_000, Duration::from_secs(1)))
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
    /// let policy = Policy::new().retry(RetryPolicy::fixed(3, Duration::ZERO));
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
    /// let bulkhead = ConcurrencyLimiter::new(1)?;
    /// let policy = Policy::<()>::new()
    ///     .retry(RetryPolicy::fixed(2, Duration::ZERO))
    ///     .bulkhead(bulkhead.clone(), Duration::ZERO)
    ///     .retry_rejections(true);
    /// let _held = bulkhead.try_acquire()?;
    /// let err = policy.call(&Context::new(), |_| Ok(())).unwrap_err();
    /// assert_eq!(err, PolicyError::BulkheadFull { attempts: 3 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// use gosling::breaker::{CircuitBreaker, Rejected};
    /// use gosling::context::Context;
    /// use gosling::policy::{Policy, PolicyError};
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build()?;
    /// let policy = Policy::new().circuit_breaker(breaker.clone());
    /// breaker.force_open();
    /// let err = policy.call(&Context::new(), |_| Ok(1)).unwrap_err();
    /// assert_eq!(err, PolicyError::Rejected { rejected: Rejected::ForcedOpen, attempts: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// let bulkhead = ConcurrencyLimiter::new(1)?;
    /// let policy = Policy::<()>::new().bulkhead(bulkhead.clone(), Duration::from_millis(1));
    /// assert_eq!(policy.call(&Context::new(), |_| Ok(5)), Ok(5));
    /// let _held = bulkhead.try_acquire()?;
    /// assert_eq!(policy.call(&Context::new(), |_| Ok(5)), Err(PolicyError::BulkheadFull { attempts: 1 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
