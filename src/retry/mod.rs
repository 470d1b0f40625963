//! Retries and fallbacks around calls to an unreliable dependency: trying a
//! failed operation again, later, within limits; replacing a failure with a
//! fallback value.
//!
//! - `backoff.rs`: [`Backoff`] — how long to wait before retry *n*:
//!   constant, linear or exponential growth, [`Jitter`] (none, full, equal,
//!   decorrelated), a cap; a pure function of the retry number, the previous
//!   delay and a [`JitterRng`], so a pool's timer thread can use it as is.
//! - `policy.rs`: [`RetryPolicy`] — how many retries, which backoff, a total
//!   time limit and a classifier of [`Failure`]s (errors by predicate, panics,
//!   timeouts); [`RetryPolicy::call`] retries a closure on the caller's thread,
//!   sleeping through a [`Context`](crate::context::Context) so cancellation
//!   interrupts the wait, and stops with a [`RetryError`] that says why.
//! - `fallback.rs`: [`Fallback`], which turns a failure or a rejection into a
//!   replacement value; it wraps a plain call or a
//!   [`CircuitBreaker`](crate::breaker::CircuitBreaker).
//!
//! Stopping calls to a failing dependency for a while is the
//! [`breaker`](crate::breaker) module's job;
//! [`policy::Policy`](crate::policy::Policy) stacks retries, a breaker, a
//! fallback, a per-attempt timeout and a bulkhead into one policy.
//!
//! A pool uses the same pieces without `call`: after a failed attempt it asks
//! [`RetryPolicy::decide`] (or the parts: [`RetryPolicy::is_retryable`],
//! [`RetryPolicy::allows_retry`], [`RetryPolicy::next_delay`]) and puts the
//! task on its timer for the [`Decision`]'s delay instead of sleeping a
//! worker.
//!
//! Imports (maintainers): `context` (cancellable sleeps), `rng` (jitter),
//! `breaker` (the fallback wraps one) and `std`. `retry` knows nothing of
//! pools; the pool, tasks, schedules and policies import it.
//!
//! # Examples
//!
//! ```
//! use gosling::context::Context;
//! use gosling::retry::{Backoff, Jitter, RetryPolicy};
//! use std::time::Duration;
//!
//! let backoff = Backoff::exponential(Duration::from_millis(1), 2.0)?
//!     .jitter(Jitter::Full)
//!     .cap(Duration::from_millis(10));
//! let policy = RetryPolicy::new(3).backoff(backoff);
//! let answer = policy.call(&Context::new(), |attempt| if attempt == 2 { Ok(42) } else { Err("flaky") });
//! assert_eq!(answer.ok(), Some(42));
//! # Ok::<(), gosling::retry::BackoffError>(())
//! ```

#![forbid(unsafe_code)]

mod backoff;
mod fallback;
mod policy;

pub use backoff::{Backoff, BackoffError, Jitter, JitterRng};
pub use fallback::Fallback;
pub use policy::{Decision, Failure, RetryError, RetryPolicy};
