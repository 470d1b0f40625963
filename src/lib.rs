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
pub mod context;
mod pool;
mod queue;
pub mod group;
mod sync;
mod task;
pub mod time;

pub use pool::{
    BuildError, Builder, DEFAULT_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT, Pool, ResizeError, Scope,
    ShutdownError, ShutdownReport, Stats, SubmitError, SubmitErrorKind,
};
pub use queue::{FullPolicy, QueueKind};
pub use task::{Task, TaskError, TaskHandle, TaskId, TaskPanic, TaskStatus};
