//! The calendar: wall-clock dates and times, time zones, and the cron
//! expressions whose fire times are found in them — pure functions of Unix
//! seconds, with no clock, no threads and no jobs.
//!
//! - `civil.rs`: proleptic Gregorian arithmetic (days since the epoch to a
//!   date and back, weekdays, month lengths) and [`DateTime`], a wall-clock
//!   date and time without a zone. Everything else here builds on it.
//! - `zone/`: [`TimeZone`] (UTC, fixed offsets, IANA zones read from the
//!   system's TZif files with their POSIX TZ footers, the local zone):
//!   instants to wall-clock offsets and back. Uses `civil.rs`.
//! - `cron/`: [`Cron`] expressions (seconds, names, `L`, `W`, `#`, macros),
//!   parsed with [`Cron::parse`] or [`CronParser`] and searched forwards
//!   and backwards through a zone's offsets. Uses `civil.rs` and `zone/`.
//!
//! A leaf: this folder imports only `std` (and, in its unit tests, the
//! crate's `rng`), never the scheduler around it; the scheduler turns its
//! Unix seconds into instants on a [`Clock`](crate::time::Clock). Its
//! public types are re-exported from [`schedule`](crate::schedule).

#![forbid(unsafe_code)]

mod civil;
mod cron;
mod zone;

pub use civil::{DateTime, DateTimeError};
pub use cron::{
    Cron, CronError, CronErrorKind, CronField, CronIter, CronParser, CronRevIter, DayMatch,
};
pub use zone::{LocalResult, TimeZone, ZoneError};
