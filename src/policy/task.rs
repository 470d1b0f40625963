//! [`Policy::task`]: a policy's stack as a pool [`Task`]. The retry layer
//! becomes the pool's own retry (backoff on its timer); every run is one
//! attempt through the same step as [`Policy::call`].

use super::{Policy, PolicyError, Recover};
use crate::context::Context;
use crate::retry::Failure;
#[cfg(doc)]
use crate::retry::RetryPolicy;
use crate::task::Task;
use std::time::{Duration, Instant};

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
    ///   [`max_elapsed`](RetryPolicy::max_elapsed) is checked when an
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
    /// let policy = Policy::new().retry(RetryPolicy::fixed(2, Duration::from_millis(1)));
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
                if replaces && retry.get_max_elapsed().is_some() {
                    // The attempt decided already (see above); the pool must
                    // not stop on a backoff the attempt could not foresee.
                    for_pool = for_pool.max_elapsed(Duration::MAX);
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
