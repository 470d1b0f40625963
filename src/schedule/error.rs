//! [`ScheduleError`]: why a job or a chain could not be started. Shared by
//! `scheduler.rs` and `chain.rs`, so neither imports the other for it.

use std::error::Error;
use std::fmt;

/// Why a job (or a chain on a pool) could not be scheduled.
///
/// # Examples
///
/// ```
/// use gosling::schedule::ScheduleError;
/// assert_eq!(ScheduleError::ZeroInterval.to_string(), "the interval is zero");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScheduleError {
    /// An every or adaptive job with a zero interval.
    ZeroInterval,
    /// An adaptive job whose `max` is below its `base`, or whose threshold
    /// is not a number.
    InvalidAdaptive,
    /// A cron expression with no fire time after now.
    NeverFires,
    /// The first fire is too far away to be an `Instant`.
    TooFar,
    /// The pool is closed (or gone).
    PoolClosed,
    /// The pool's timer thread could not be started.
    TimerUnavailable,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScheduleError::ZeroInterval => "the interval is zero",
            ScheduleError::InvalidAdaptive => {
                "the adaptive interval's max is below its base, or its threshold is not a number"
            }
            ScheduleError::NeverFires => "the cron expression has no fire time to come",
            ScheduleError::TooFar => "the first fire time is too far away",
            ScheduleError::PoolClosed => "the pool is closed",
            ScheduleError::TimerUnavailable => "the pool's timer thread could not be started",
        })
    }
}

impl Error for ScheduleError {}
