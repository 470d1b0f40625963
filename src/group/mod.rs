//! Error groups: run a set of fallible members together; the first error
//! cancels the rest, and waiting returns that first error — Go's `errgroup`
//! for threads.
//!
//! A group owns a [`Context`](crate::context::Context) (a child of an
//! optional parent) that every member receives. The first member to fail —
//! by returning `Err` or by panicking — cancels it, so the others can stop
//! early; waiting for the group returns a [`GroupError`] whose
//! [`first`](GroupError::first) is that error and which keeps every other
//! error too. An optional limit caps how many members run at once: a member
//! beyond it waits for a slot (`go`), or is handed back (`try_go`).
//!
//! Files:
//! - `core.rs`: what every form shares, whatever runs the members — the
//!   context, first-error recording, panic capture and the slot counting of
//!   the limit. It knows nothing about threads.
//! - `scoped.rs`: [`scope`] / [`scope_with_context`] and [`ScopedGroup`]: members on
//!   scoped threads that may borrow from the caller's stack, like
//!   [`std::thread::scope`].
//! - `thread.rs`: [`Group`]: an owned group whose `'static` members run on
//!   threads of their own and which is waited for with [`Group::wait`].
//! - `error.rs`: [`MemberError`], [`GroupError`], [`MemberFailure`] (the
//!   context's cancellation cause), [`LimitError`], [`TryGoError`].
//! - `pool.rs`: [`PoolGroup`]: an owned group whose `'static` members run as
//!   tasks on a [`Pool`](crate::Pool); members beyond the limit wait in the
//!   group (no worker held), and waiting from a task of the same pool runs
//!   queued members instead of blocking the worker they are queued behind.
//!
//! `scoped.rs` and `thread.rs` differ only in the thread a member runs on:
//! both hand `go` / `try_go` to `Core`, passing a closure that spawns the
//! core's `Member` on a scoped or an owned thread.
//!
//! Imports (maintainers): `context` (the group's context), `sync` (locks),
//! and, in `pool.rs` only, `pool` (the pool the members run on). Nothing in
//! the crate imports `group` but the root's re-exports.
//!
//! # Go's `errgroup`, mapped
//!
//! | Go                               | gosling                                              |
//! |----------------------------------|------------------------------------------------------|
//! | `var g errgroup.Group`           | [`Group::new`], [`PoolGroup::new`] (on a pool), or [`scope`] for borrowing members |
//! | `errgroup.WithContext(ctx)`      | [`Group::with_context`] / [`scope_with_context`]      |
//! | `g.Go(f)`                        | [`Group::go`] / [`ScopedGroup::go`]; `f` gets `&Context`    |
//! | `g.TryGo(f)`                     | [`Group::try_go`] / [`ScopedGroup::try_go`]                 |
//! | `g.SetLimit(n)`                  | [`Group::set_limit`] / [`ScopedGroup::set_limit`]           |
//! | `g.Wait()`                       | [`Group::wait`] / the end of [`scope`]                |
//! | `context.Cause(ctx)` after a failure | [`Context::cause`](crate::context::Context::cause), a [`MemberFailure`] |
//!
//! Differences from Go: a panicking member does not bring the process down —
//! it is caught and reported as [`MemberError::Panicked`] with its message;
//! every error is kept, not only the first; the members' context is passed to
//! each member rather than returned beside the group; `set_limit(0)` is an
//! error rather than a group that can never run anything, and changing the
//! limit while members run is an error rather than a panic. As in Go, the
//! first error is the one kept first: a member that merely saw the
//! cancellation and returned an error because of it never displaces the
//! error that caused it.
//!
//! # The cancellation's cause
//!
//! The failure that cancels the group's context is also its cause (as Go's
//! `errgroup` does since Go 1.20): [`Context::cause`](crate::context::Context::cause)
//! on the context a member receives — or on any child of it — returns a
//! [`MemberFailure`] that says how the member failed and carries its error's
//! `Debug` text. The group's error type must therefore implement `Debug`
//! (every error type does). The error itself stays with the group, which
//! returns it from waiting. A context cancelled before any member failed
//! (by its parent, or by a call to `cancel`) keeps the cause it had, and
//! when a group ends without a failure its context is cancelled with no
//! cause of its own ([`Context::cause`](crate::context::Context::cause)
//! then returns the plain [`Cancelled`](crate::context::Cancelled) error).
//!
//! ```
//! use gosling::group::{self, MemberFailure};
//! use std::time::Duration;
//!
//! let err = group::scope(|g| {
//!     g.go(|ctx| {
//!         // Waits for a sibling's failure and reports why it stopped.
//!         ctx.wait_cancelled_timeout(Duration::from_secs(60));
//!         let cause = ctx.cause().unwrap();
//!         assert!(matches!(cause.downcast_ref(), Some(MemberFailure::Panicked(m)) if m == "bad input"));
//!         Err(format!("stopped: {cause}"))
//!     });
//!     g.go(|_| -> Result<(), String> { panic!("bad input") });
//! })
//! .unwrap_err();
//! assert_eq!(err.first().to_string(), "member panicked: bad input");
//! assert_eq!(err.errors()[1].to_string(), "stopped: a group member panicked: bad input");
//! ```
//!
//! # Examples
//!
//! ```
//! use gosling::group::{self, MemberError};
//!
//! let words = ["alpha", "beta", "", "delta"];
//! let result = group::scope(|g| {
//!     for word in &words {
//!         g.go(move |ctx| {
//!             ctx.check().map_err(|e| e.to_string())?;
//!             if word.is_empty() { Err("empty word".to_string()) } else { Ok(()) }
//!         });
//!     }
//! });
//! let err = result.unwrap_err();
//! assert!(matches!(err.first(), MemberError::Failed(msg) if msg == "empty word"));
//! ```

#![forbid(unsafe_code)]

mod core;
mod error;
mod pool;
mod scoped;
mod thread;

pub use error::{GroupError, LimitError, MemberError, MemberFailure, TryGoError};
pub use pool::PoolGroup;
pub use scoped::{ScopedGroup, scope, scope_with_context};
pub use thread::Group;
