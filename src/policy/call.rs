//! [`Policy::call`]: the layers applied on the caller's thread — the retry
//! loop around one attempt through breaker, bulkhead and per-attempt timeout.
//! The attempt step ([`Policy::attempt`]) and the "is this error final"
//! test are shared with the pool form in `task.rs`.

use super::{Policy, PolicyError, Recover};
use crate::context::Context;
use crate::limit::AcquireError;
use crate::retry::{Decision, Failure, JitterRng, RetryPolicy};
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

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
    /// let policy = Policy::new().retry(RetryPolicy::fixed(1, Duration::ZERO));
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
        let total = self.total_timeout.map(|limit| ctx.with_timeout(limit));
        let ctx = total.as_ref().unwrap_or(ctx);
        let Some(retry) = &self.retry else {
            return self.attempt(ctx, op, 1, true);
        };
        let catch = retry.retries_panics();
        // Read the clock only when a limit needs it.
        let start: Option<Instant> = retry.get_max_elapsed().map(|_| ctx.clock().now());
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
    pub(super) fn attempt<T, F>(
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
        let child = self.timeout.map(|limit| ctx.with_timeout(limit));
        let run_ctx = child.as_ref().unwrap_or(ctx);
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
    pub(super) fn is_final(&self, error: &PolicyError<E>, attempt: u32, elapsed: Duration) -> bool {
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
            || retry
                .get_max_elapsed()
                .is_some_and(|limit| elapsed >= limit)
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
