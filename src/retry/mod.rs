//! Retries and the guards around calls to an unreliable dependency: trying a
//! failed operation again, later, within limits; stopping calls to a failing
//! dependency for a while; replacing a failure with a fallback value.
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
//! - `breaker.rs`: [`CircuitBreaker`], which stops calling a failing
//!   dependency for a while and probes it before trusting it again.
//! - `fallback.rs`: [`Fallback`], which turns a failure or a rejection into a
//!   replacement value; it wraps a plain call or a breaker.
//!
//! [`policy::Policy`](crate::policy::Policy) stacks these pieces with a
//! per-attempt timeout and a bulkhead into one policy.
//!
//! A pool uses the same pieces without `call`: after a failed attempt it asks
//! [`RetryPolicy::decide`] (or the parts: [`RetryPolicy::is_retryable`],
//! [`RetryPolicy::allows_retry`], [`RetryPolicy::next_delay`]) and puts the
//! task on its timer for the [`Decision`]'s delay instead of sleeping a
//! worker.
//!
//! # Examples
//!
//! ```
//! use gosling::context::Context;
//! use gosling::retry::{Backoff, Jitter, RetryPolicy};
//! use std::time::Duration;
//!
//! let backoff = Backoff::exponential(Duration::from_millis(1), 2.0)?
//!     .with_jitter(Jitter::Full)
//!     .with_cap(Duration::from_millis(10));
//! let policy = RetryPolicy::new(3).with_backoff(backoff);
//! let answer = policy.call(&Context::new(), |attempt| if attempt == 2 { Ok(42) } else { Err("flaky") });
//! assert_eq!(answer.unwrap(), 42);
//! # Ok::<(), gosling::retry::BackoffError>(())
//! ```

#![forbid(unsafe_code)]

mod backoff;
mod breaker;
mod fallback;
mod policy;

pub use backoff::{Backoff, BackoffError, Jitter, JitterRng};
pub use breaker::{
    BreakerBuildError, BreakerBuilder, BreakerMetrics, BreakerState, CallError, CircuitBreaker,
    MAX_BUCKETS, Permit, Rejected, StateChange,
};
pub use fallback::Fallback;
pub use policy::{Decision, Failure, RetryError, RetryPolicy};
