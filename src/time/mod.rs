//! Time: the [`Clock`] every time-dependent part of gosling reads, and the
//! [`ManualClock`] tests use to move time without sleeping.
//!
//! - `clock.rs`: [`Clock`] (system or manual) and [`ManualClock`].

mod clock;

pub use clock::{Clock, ManualClock};
