//! Time: the [`Clock`] every time-dependent part of gosling reads, and the
//! [`ManualClock`] tests use to move time without sleeping.
//!
//! - `clock.rs`: [`Clock`] (system or manual) and [`ManualClock`].
//! - `tsc.rs`: the fast monotonic nanosecond counter behind the crate-private
//!   `Clock::now_ns` (calibrated x86-64 TSC, `Instant` fallback).

mod clock;
mod tsc;

pub use clock::{Clock, ManualClock};
