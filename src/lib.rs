//! gosling: task orchestration for synchronous Rust.
//!
//! ## Rate and concurrency limits
//!
//! [`limit`] holds rate limiters behind one object-safe trait,
//! [`RateLimiter`](limit::RateLimiter) (a GCRA token bucket, a leaky bucket,
//! fixed and sliding windows, an adaptive rate), a keyed limiter with bounded
//! memory, and concurrency limits (a bulkhead with RAII permits, AIMD and
//! gradient adaptive limits). All of them read a [`Clock`](time::Clock), so
//! tests drive them with a manual clock.
//!
//! ```
//! use gosling::limit::{ConcurrencyLimiter, Rate, RateLimiter, TokenBucket};
//! use gosling::time::ManualClock;
//! use std::time::Duration;
//!
//! let manual = ManualClock::new();
//! let bucket = TokenBucket::with_clock(Rate::per_second(10).unwrap(), 2, manual.clock()).unwrap();
//! assert!(bucket.allow() && bucket.allow());
//! let refused = bucket.check().unwrap_err(); // nothing taken; says when to retry
//! manual.advance(refused.retry_after());
//! assert!(bucket.allow());
//!
//! let bulkhead = ConcurrencyLimiter::new(1).unwrap();
//! let permit = bulkhead.try_acquire().unwrap();
//! assert!(bulkhead.try_acquire().is_err());
//! drop(permit);
//! assert!(bulkhead.try_acquire().is_ok());
//! # let _ = Duration::ZERO;
//! ```
pub mod context;
pub mod limit;
mod sync;
pub mod time;
