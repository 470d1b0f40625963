//! Time: the [`Clock`] every time-dependent part of gosling reads, and the
//! [`ManualClock`] tests use to move time without sleeping.
//!
//! - `clock.rs`: [`Clock`] (system or manual) and [`ManualClock`].
//! - `timer.rs` (crate-private): the timer thread that runs short callbacks at
//!   their deadlines (task timeouts today; retry backoffs and schedules next).

mod clock;
pub(crate) mod timer;

pub(crate) use clock::deadline_after;
pub use clock::{Clock, ManualClock};

// `tsc.rs` (crate-private): the fast monotonic nanosecond counter behind
// `Clock::now_ns` (a calibrated x86-64 TSC, with `Instant` as the fallback).
pub(crate) mod tsc;
