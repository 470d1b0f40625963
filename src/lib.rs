//! gosling: task orchestration for synchronous Rust.
//!
//! ## Error groups
//!
//! [`group`] runs fallible members together, Go's `errgroup` for threads: the
//! first error cancels the group's context, waiting returns that error (and
//! keeps the others), panics become errors, an optional limit caps how many
//! run at once, and scoped members borrow from the stack.
//!
//! ```
//! use gosling::group;
//!
//! let inputs = ["1", "2", "x", "4"];
//! let mut parsed = [0u32; 4];
//! let result = group::scope(|g| {
//!     g.set_limit(2).unwrap();
//!     for (input, out) in inputs.iter().zip(parsed.iter_mut()) {
//!         g.go(move |ctx| -> Result<(), String> {
//!             ctx.check().map_err(|e| e.to_string())?; // stop early once one failed
//!             *out = input.parse().map_err(|_| format!("not a number: {input}"))?;
//!             Ok(())
//!         });
//!     }
//! });
//! let err = result.unwrap_err();
//! assert_eq!(err.first().to_string(), "not a number: x"); // later ones may see the cancel
//! ```
//!
//! ## Shutdown on signals
//!
//! [`context::signal::listen`] returns a listener whose
//! [`Context`](context::Context) the first SIGINT or SIGTERM (Ctrl-C on
//! Windows) cancels with [`CancelReason::Shutdown`](context::CancelReason);
//! a second signal can be received from it to force the stop. Dropping the
//! listener restores the previous handlers. See `examples/signals.rs`.
//!
//! ```no_run
//! use gosling::context::signal;
//! use std::time::Duration;
//!
//! let signals = signal::listen()?;
//! let ctx = signals.context().clone();
//! let worker = std::thread::spawn(move || {
//!     while ctx.sleep(Duration::from_millis(100)).is_ok() { /* work */ }
//!     println!("draining: {:?}", ctx.reason()); // Some(Shutdown)
//! });
//! let first = signals.recv();
//! println!("{first:?}: shutting down");
//! worker.join().unwrap();
//! # Ok::<(), gosling::context::ListenError>(())
//! ```
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
pub mod group;
mod pool;
mod queue;
pub mod retry;
mod rng;
mod sync;
mod task;
pub mod time;

pub use pool::{
    BuildError, Builder, DEFAULT_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT, Pool, ResizeError, Scope,
    ShutdownError, ShutdownReport, Stats, SubmitError, SubmitErrorKind,
};
pub use queue::{FullPolicy, QueueKind};
pub use task::{Task, TaskError, TaskHandle, TaskId, TaskPanic, TaskStatus};
