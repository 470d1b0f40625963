//! gosling: task orchestration for synchronous Rust.
//!
//! # Retries
//!
//! A [`retry::RetryPolicy`] says how many times to retry (0 = one attempt
//! only), how long to wait between attempts — a [`retry::Backoff`]: constant,
//! linear or exponential, with none, full, equal or decorrelated
//! [`retry::Jitter`] and a cap — for how long in total, and which failures
//! deserve a retry. [`RetryPolicy::call`](retry::RetryPolicy::call) retries
//! on the caller's thread, sleeping through a [`context::Context`] so that
//! cancelling it ends the wait.
//!
//! ```
//! use gosling::context::Context;
//! use gosling::retry::{Backoff, Jitter, RetryError, RetryPolicy};
//! use std::time::Duration;
//!
//! let backoff = Backoff::exponential(Duration::from_millis(1), 2.0)?
//!     .with_jitter(Jitter::Equal)
//!     .with_cap(Duration::from_millis(20));
//! let policy = RetryPolicy::new(2).with_backoff(backoff);
//!
//! let result: Result<u32, _> = policy.call(&Context::new(), |_attempt| Err("unavailable"));
//! assert!(matches!(result, Err(RetryError::Exhausted { attempts: 3, .. })));
//! # Ok::<(), gosling::retry::BackoffError>(())
//! ```
//!
//! # Configuration from the environment
//!
//! [`config::Config::from_env`] reads `WORKER_POOL_SIZE`, `WORKER_QUEUE_SIZE`,
//! `WORKER_PRIORITY`, `WORKER_TASK_TIMEOUT` and `WORKER_SHUTDOWN_TIMEOUT`
//! (optionally behind a prefix); unset variables stay `None`, and a bad value
//! is an error naming the variable and the value.
//!
//! ```
//! use gosling::config::{parse_duration, Config};
//! use std::time::Duration;
//!
//! let config = Config::from_vars([("WORKER_POOL_SIZE", "4"), ("WORKER_PRIORITY", "on")])?;
//! assert_eq!(config.pool_size.map(|n| n.get()), Some(4));
//! assert_eq!(config.priority, Some(true));
//! assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(90 * 60));
//!
//! let err = Config::from_vars([("WORKER_POOL_SIZE", "four")]).unwrap_err();
//! assert_eq!(err.to_string(), "invalid WORKER_POOL_SIZE=\"four\": expected a whole number");
//! # Ok::<(), gosling::config::ConfigError>(())
//! ```
pub mod config;
pub mod context;
pub mod retry;
mod rng;
// Some primitives await their first user (the pool); without this the
// skeleton alone fails `clippy -D warnings`.
#[allow(dead_code)]
mod sync;
pub mod time;
