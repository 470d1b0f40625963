//! Time: the [`Clock`] every time-dependent part of gosling reads, and the
//! [`ManualClock`] tests use to move time without sleeping.
//!
//! - `clock.rs`: [`Clock`] (system or manual), [`ManualClock`], and the
//!   crate-private `deadline_after` (a deadline capped at a century).
//! - `timer.rs` (crate-private): the timer thread that runs short callbacks at
//!   their deadlines: task timeouts, retry backoffs, scheduled jobs' fires
//!   and chains' backoffs. It reads time through a `Clock`.
//! - `tsc.rs` (crate-private): the fast monotonic counter behind
//!   `Clock::now_ns`.
//!
//! A bottom layer: imports only `std` and the crate's `sync`; every other
//! module may import it.

mod clock;
pub(crate) mod timer;

pub(crate) use clock::deadline_after;
pub use clock::{Clock, ManualClock};

// `tsc.rs` (crate-private): the fast monotonic nanosecond counter behind
// `Clock::now_ns` (a calibrated x86-64 TSC, with `Instant` as the fallback).
pub(crate) mod tsc;
