//! Schedules: when recurring jobs are due.
//!
//! This module holds the time arithmetic a scheduler needs; the scheduler
//! itself (after, at, every, cron jobs with missed-run and overlap
//! policies) comes later and will run on the timer the worker pool's lead
//! is building, asking [`Cron::next_after`] for each job's next instant.
//!
//! - `cron/`: [`Cron`] expressions (seconds, names, `L`, `W`, `#`,
//!   macros), parsed with [`Cron::parse`] or [`CronParser`], searched
//!   forwards and backwards in a [`TimeZone`].
//! - `zone/`: [`TimeZone`]: UTC, fixed offsets, IANA zones from the
//!   system's TZif files (with their POSIX TZ footers), the local zone.
//! - `civil.rs`: calendar arithmetic and [`DateTime`], a wall-clock date
//!   and time without a zone.
//!
//! # Examples
//!
//! ```
//! use gosling::schedule::{Cron, DateTime, TimeZone};
//!
//! let cron = Cron::parse("0 0 9 ? * MON#1")?; // 09:00 on the first Monday
//! let tz = TimeZone::fixed(3600).unwrap();
//! let from = DateTime::new(2024, 1, 1, 12, 0, 0).unwrap().to_unix();
//! let next = cron.next_after_unix(from, &tz).unwrap();
//! assert_eq!(DateTime::from_unix(next + 3600).unwrap().to_string(), "2024-02-05T09:00:00");
//! # Ok::<(), gosling::schedule::CronError>(())
//! ```

#![forbid(unsafe_code)]

mod civil;
mod cron;
mod zone;

pub use civil::{DateTime, DateTimeError};
pub use cron::{
    Cron, CronError, CronErrorKind, CronField, CronIter, CronParser, CronRevIter, DayMatch,
};
pub use zone::{LocalResult, TimeZone, ZoneError};
