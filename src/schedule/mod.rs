//! Schedules: when recurring jobs are due, and the scheduler that runs
//! them on a pool.
//!
//! - `scheduler.rs`: [`Scheduler`] (bound to a [`Pool`](crate::Pool)) makes
//!   jobs — [`after`](Scheduler::after), [`at`](Scheduler::at),
//!   [`every`](Scheduler::every), [`cron`](Scheduler::cron),
//!   [`adaptive`](Scheduler::adaptive) — configured with a [`JobBuilder`].
//! - `job/`: the job's state machine on the pool's timer, and [`JobHandle`]
//!   (pause, resume, cancel, next run, last outcome, counts).
//! - `chain.rs`: [`Chain`]s of [`Step`]s run in sequence, with on-success
//!   and on-error actions; on the caller's thread or on a pool.
//! - `scheduled_chain.rs`: a chain as a job's body
//!   ([`JobBuilder::start_chain`]) — the one file where chains and jobs meet.
//! - `error.rs`: [`ScheduleError`], shared by the scheduler and chains.
//! - `calendar/`: a leaf — [`DateTime`], [`TimeZone`] and [`Cron`], pure
//!   calendar arithmetic that imports nothing else of this folder.
//!
//! Imports: the pool (its link and timer), tasks, contexts, retry policies,
//! `time` and `sync`. Nothing below `schedule` imports it.
//!
//! The scheduler sits above the pool: it uses the pool's clock and its one
//! timer thread (each job keeps at most one entry there, for its next
//! fire) and submits every run as a pool task. `ARCHITECTURE.md` describes
//! the job state machine and the policies.
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
//!
//! A job every minute on a manual clock:
//!
//! ```
//! use gosling::schedule::Scheduler;
//! use gosling::time::ManualClock;
//! use std::time::Duration;
//!
//! let manual = ManualClock::new();
//! let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
//! let job = Scheduler::new(&pool).every(Duration::from_secs(60)).start(|_ctx| Ok::<(), String>(()))?;
//! manual.advance(Duration::from_secs(60));
//! assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod calendar;
mod chain;
mod error;
mod job;
mod scheduled_chain;
mod scheduler;

pub use chain::{Chain, ChainHandle, ChainOutcome, ChainReport, OnError, OnSuccess, Step, StepRun};
pub use error::ScheduleError;
pub use job::{JobHandle, JobStats, JobStatus, MissedRun, Overlap, RunOutcome};
pub use scheduler::{DEFAULT_CATCH_UP_LIMIT, JobBuilder, Scheduler};

pub use calendar::{
    Cron, CronError, CronErrorKind, CronField, CronIter, CronParser, CronRevIter, DateTime,
    DateTimeError, DayMatch, LocalResult, TimeZone, ZoneError,
};
