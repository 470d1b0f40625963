//! [`Scheduler`]: makes jobs that fire on a pool's timer and run on its
//! workers; [`JobBuilder`], their settings. A chain as a job's body
//! ([`JobBuilder::start_chain`]) is in `scheduled_chain.rs`.

use super::calendar::{Cron, TimeZone};
use super::error::ScheduleError;
use super::job::{
    Cadence, Exec, JobConfig, JobCore, JobHandle, MissedRun, Overlap, Predicate, RunFailure, Work,
};
use crate::Pool;
use crate::context::{CancelReason, Context};
use crate::pool::PoolLink;
use crate::retry::{Failure, RetryPolicy};
use crate::time::Clock;
use std::any::Any;
use std::fmt;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// The default [`JobBuilder::catch_up_limit`].
pub const DEFAULT_CATCH_UP_LIMIT: u64 = 100;

/// Makes jobs that fire on a pool's timer thread and run on its workers:
/// [`after`](Scheduler::after) a delay, [`at`](Scheduler::at) an instant,
/// [`every`](Scheduler::every) interval, on a [`cron`](Scheduler::cron)
/// expression in a time zone, or at an [`adaptive`](Scheduler::adaptive)
/// interval that stretches under load.
///
/// The scheduler holds a weak link to the pool: it does not keep the pool
/// alive, and it uses the pool's [`Clock`] (so a pool built on a
/// [`ManualClock`](crate::time::ManualClock) gives schedules tests can drive)
/// and the pool's one timer thread. Each job has at most one entry on that
/// timer, for its next fire; a fire submits the run as a pool task, so user
/// code never runs on the timer thread. Once the pool is closed, jobs report
/// [`JobStatus::ShutDown`](super::JobStatus); a shutdown also stops the
/// timer, dropping their pending fires.
///
/// Cheap to clone.
///
/// # Examples
///
/// ```
/// use gosling::schedule::Scheduler;
/// use gosling::time::ManualClock;
/// use gosling::Pool;
/// use std::sync::mpsc;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let pool = Pool::builder().workers(2).clock(manual.clock()).build()?;
/// let scheduler = Scheduler::new(&pool);
/// let (tx, rx) = mpsc::channel();
/// let job = scheduler.every(Duration::from_secs(60)).start(move |_ctx| {
///     tx.send("tick").map_err(|e| e.to_string())
/// })?;
/// manual.advance(Duration::from_secs(60));
/// assert_eq!(rx.recv()?, "tick");
/// assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Scheduler {
    link: PoolLink,
    clock: Clock,
}

impl Scheduler {
    /// A scheduler for jobs that run on `pool`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// let scheduler = gosling::schedule::Scheduler::new(&pool);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn new(pool: &Pool) -> Scheduler {
        Scheduler {
            link: pool.link(),
            clock: pool.clock().clone(),
        }
    }

    /// The clock the scheduler reads (the pool's).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(1)?;
    /// assert!(!gosling::schedule::Scheduler::new(&pool).clock().is_manual());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn builder(&self, kind: Kind) -> JobBuilder {
        JobBuilder {
            link: self.link.clone(),
            clock: self.clock.clone(),
            kind,
            missed: MissedRun::default(),
            overlap: Overlap::default(),
            catch_up_limit: DEFAULT_CATCH_UP_LIMIT,
            when: None,
            parent: None,
            retry: None,
        }
    }

    /// A job that runs once, `delay` from when it is started. If the pool
    /// refuses that run (its queue is full), the job completes without
    /// running: [`JobStatus::Completed`](super::JobStatus::Completed) with
    /// [`JobStats::rejected`](super::JobStats::rejected) at 1 and no run.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{JobStatus, Scheduler};
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
    /// let job = Scheduler::new(&pool).after(Duration::from_secs(5)).start(|_| Ok::<(), String>(()))?;
    /// manual.advance(Duration::from_secs(5));
    /// assert!(job.wait_stats_timeout(|s| s.runs == 1 && s.in_flight == 0, Duration::from_secs(5)));
    /// assert_eq!(job.status(), JobStatus::Completed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn after(&self, delay: Duration) -> JobBuilder {
        self.builder(Kind::After(delay))
    }

    /// A job that runs once at `at` on the pool's clock (at once if `at`
    /// has passed). A run the pool refuses is not tried again, as for
    /// [`after`](Scheduler::after).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::Scheduler;
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
    /// let at = manual.clock().now() + Duration::from_secs(90);
    /// let job = Scheduler::new(&pool).at(at).start(|_| Ok::<(), String>(()))?;
    /// assert_eq!(job.next_run(), Some(at));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn at(&self, at: Instant) -> JobBuilder {
        self.builder(Kind::At(at))
    }

    /// A job that runs every `interval`, the first time one interval after
    /// it is started. Fire times stay on the cadence (start + n ×
    /// interval) however long runs take.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::Scheduler;
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
    /// let job = Scheduler::new(&pool).every(Duration::from_secs(10)).start(|_| Ok::<(), String>(()))?;
    /// for n in 1..=3 {
    ///     manual.advance(Duration::from_secs(10));
    ///     assert!(job.wait_runs_timeout(n, Duration::from_secs(5)));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn every(&self, interval: Duration) -> JobBuilder {
        self.builder(Kind::Every(interval))
    }

    /// A job that runs at the fire times of `cron` in `zone`.
    ///
    /// Fire times are found on the wall clock ([`Clock::wall`]) and turned
    /// into a distance on the monotonic clock when the job's next fire is
    /// armed. A wall-clock jump (NTP, a manual change) is therefore seen at
    /// the next arming, not while a fire is already armed; a fire that comes
    /// before the wall clock reached its time is re-armed for the rest.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, Scheduler, TimeZone};
    /// use gosling::time::ManualClock;
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let manual = ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_704_067_200));
    /// let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
    /// let job = Scheduler::new(&pool)
    ///     .cron(Cron::parse("@hourly")?, TimeZone::fixed(1800)?)
    ///     .start(|_| Ok::<(), String>(()))?;
    /// manual.advance(Duration::from_secs(1800)); // 00:30 UTC is 01:00 at +00:30
    /// assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cron(&self, cron: Cron, zone: TimeZone) -> JobBuilder {
        self.builder(Kind::Cron(cron, zone))
    }

    /// A job that runs every `base` while the load signal is at or below
    /// `threshold`. Each run first samples `load()` (on the worker, before
    /// the body): above the threshold, the interval to the next fire
    /// doubles, up to `max`; at or below it, the interval returns to `base`
    /// at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::Scheduler;
    /// use gosling::time::ManualClock;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
    /// let load = Arc::new(AtomicU64::new(95));
    /// let signal = Arc::clone(&load);
    /// let job = Scheduler::new(&pool)
    ///     .adaptive(Duration::from_secs(10), Duration::from_secs(60), 80.0, move || {
    ///         signal.load(Ordering::Relaxed) as f64
    ///     })
    ///     .start(|_| Ok::<(), String>(()))?;
    /// manual.advance(Duration::from_secs(10));
    /// assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
    /// assert_eq!(job.interval(), Some(Duration::from_secs(20))); // busy: stretched
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn adaptive<L>(&self, base: Duration, max: Duration, threshold: f64, load: L) -> JobBuilder
    where
        L: Fn() -> f64 + Send + Sync + 'static,
    {
        self.builder(Kind::Adaptive {
            base,
            max,
            threshold,
            load: Box::new(load),
        })
    }
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

enum Kind {
    After(Duration),
    At(Instant),
    Every(Duration),
    Cron(Cron, TimeZone),
    Adaptive {
        base: Duration,
        max: Duration,
        threshold: f64,
        load: Box<dyn Fn() -> f64 + Send + Sync>,
    },
}

/// The settings of a job about to be scheduled; [`start`](JobBuilder::start)
/// (or [`start_chain`](JobBuilder::start_chain)) schedules it.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::schedule::{MissedRun, Overlap, Scheduler};
/// use gosling::retry::RetryPolicy;
/// use std::time::Duration;
///
/// let pool = gosling::Pool::new(2)?;
/// let ctx = Context::new().with_value("tenant-7");
/// let job = Scheduler::new(&pool)
///     .every(Duration::from_secs(30))
///     .missed(MissedRun::Skip)
///     .overlap(Overlap::QueueOne)
///     .when(|_ctx| true)
///     .retry(RetryPolicy::fixed(3, Duration::from_secs(1)))
///     .context(&ctx)
///     .start(|ctx| {
///         let tenant = ctx.value::<&str>().copied();
///         tenant.map(drop).ok_or("no tenant")
///     })?;
/// job.cancel();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a job builder does nothing until started"]
pub struct JobBuilder {
    pub(super) link: PoolLink,
    pub(super) clock: Clock,
    kind: Kind,
    missed: MissedRun,
    overlap: Overlap,
    catch_up_limit: u64,
    when: Option<Predicate>,
    parent: Option<Context>,
    pub(super) retry: Option<RetryPolicy>,
}

impl JobBuilder {
    /// What to do with fire times missed in a stall or a pause (default
    /// [`MissedRun::RunOnce`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = gosling::Pool::new(1)?;
    /// use gosling::schedule::{MissedRun, Scheduler};
    /// let builder = Scheduler::new(&pool).every(std::time::Duration::from_secs(1)).missed(MissedRun::CatchUp);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn missed(mut self, policy: MissedRun) -> JobBuilder {
        self.missed = policy;
        self
    }

    /// What to do when a fire comes while a run is in flight (default
    /// [`Overlap::Skip`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = gosling::Pool::new(1)?;
    /// use gosling::schedule::{Overlap, Scheduler};
    /// let builder = Scheduler::new(&pool).every(std::time::Duration::from_secs(1)).overlap(Overlap::Allow);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn overlap(mut self, policy: Overlap) -> JobBuilder {
        self.overlap = policy;
        self
    }

    /// The most runs one stall is caught up with under
    /// [`MissedRun::CatchUp`] (default [`DEFAULT_CATCH_UP_LIMIT`]; at least
    /// 1). A job stalled for a day at one fire a second would otherwise owe
    /// 86,400 runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = gosling::Pool::new(1)?;
    /// use gosling::schedule::{MissedRun, Scheduler};
    /// let builder = Scheduler::new(&pool)
    ///     .every(std::time::Duration::from_secs(1))
    ///     .missed(MissedRun::CatchUp)
    ///     .catch_up_limit(10);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn catch_up_limit(mut self, limit: u64) -> JobBuilder {
        self.catch_up_limit = limit.max(1);
        self
    }

    /// Runs the body only when `condition` holds at fire time; a fire whose
    /// condition is false is counted in
    /// [`JobStats::skipped_condition`](super::JobStats::skipped_condition).
    /// The condition is evaluated on a worker, with the run's context.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = gosling::Pool::new(1)?;
    /// use gosling::schedule::Scheduler;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let maintenance = Arc::new(AtomicBool::new(false));
    /// let flag = Arc::clone(&maintenance);
    /// let builder = Scheduler::new(&pool)
    ///     .every(std::time::Duration::from_secs(1))
    ///     .when(move |_ctx| !flag.load(Ordering::Relaxed));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn when<P>(mut self, condition: P) -> JobBuilder
    where
        P: Fn(&Context) -> bool + Send + Sync + 'static,
    {
        self.when = Some(Box::new(condition));
        self
    }

    /// Makes the job's context a child of `parent`: its values are visible
    /// to every run, and cancelling it cancels the job (no more fires; the
    /// handle says [`Cancelled`](super::JobStatus::Cancelled)).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = gosling::Pool::new(1)?;
    /// use gosling::context::Context;
    /// use gosling::schedule::{JobStatus, Scheduler};
    ///
    /// let service = Context::new();
    /// let job = Scheduler::new(&pool)
    ///     .every(std::time::Duration::from_secs(1))
    ///     .context(&service)
    ///     .start(|_| Ok::<(), String>(()))?;
    /// service.cancel();
    /// assert_eq!(job.status(), JobStatus::Cancelled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context(mut self, parent: &Context) -> JobBuilder {
        self.parent = Some(parent.clone());
        self
    }

    /// Retries a failed run (an error the policy's classifier accepts, a
    /// panic or a timeout as the policy says) after the policy's backoff,
    /// on the timer, until it succeeds or the policy gives up; then the job
    /// returns to its normal cadence. Fire times that pass during the
    /// retries are counted as missed. A retry the pool refuses (its queue
    /// is full) ends the retries the same way: it is counted in
    /// [`JobStats::rejected`](super::JobStats::rejected) and the job waits
    /// for its next fire time on the cadence (a one-shot job completes).
    /// A backoff too long for an `Instant` waits a hundred years — until
    /// the job is cancelled or its pool shuts down — rather than not at
    /// all.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = gosling::Pool::new(1)?;
    /// use gosling::retry::{Backoff, RetryPolicy};
    /// use gosling::schedule::Scheduler;
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff::exponential(Duration::from_secs(1), 2.0)?;
    /// let builder = Scheduler::new(&pool)
    ///     .every(Duration::from_secs(60))
    ///     .retry(RetryPolicy::new(4).backoff(backoff));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry(mut self, policy: RetryPolicy) -> JobBuilder {
        self.retry = Some(policy);
        self
    }

    /// Schedules the job: `body` runs on the pool at each fire, with a
    /// child of the job's context; an `Err` is a failed run (its `Display`
    /// text is kept in [`RunOutcome::Failed`](crate::schedule::RunOutcome::Failed)).
    ///
    /// # Errors
    ///
    /// [`ScheduleError`]: a zero interval, an adaptive range whose `max` is
    /// below `base` or whose threshold is not a number, a cron expression
    /// with no fire time to come, or a pool that is closed (or whose timer
    /// thread could not start).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{ScheduleError, Scheduler};
    /// use std::time::Duration;
    ///
    /// let pool = gosling::Pool::new(1)?;
    /// let scheduler = Scheduler::new(&pool);
    /// let err = scheduler.every(Duration::ZERO).start(|_| Ok::<(), String>(())).unwrap_err();
    /// assert_eq!(err, ScheduleError::ZeroInterval);
    /// pool.close();
    /// let err = scheduler.after(Duration::ZERO).start(|_| Ok::<(), String>(())).unwrap_err();
    /// assert_eq!(err, ScheduleError::PoolClosed);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn start<F, E>(self, body: F) -> Result<JobHandle, ScheduleError>
    where
        F: Fn(&Context) -> Result<(), E> + Send + Sync + 'static,
        E: fmt::Display + Any + Send + 'static,
    {
        let retry = self.retry.clone();
        let work: Work = Box::new(move |ctx, _core, _token| match body(ctx) {
            Ok(()) => Exec::Done(Ok(())),
            Err(_) if ctx.is_cancelled() => {
                Exec::Cancelled(ctx.reason() == Some(CancelReason::Shutdown))
            }
            Err(error) => {
                let retryable = retry
                    .as_ref()
                    .is_some_and(|p| p.is_retryable(&Failure::Error(&error)));
                Exec::Done(Err(RunFailure {
                    message: error.to_string(),
                    retryable,
                }))
            }
        });
        self.start_work(work)
    }

    /// Schedules the job with `work` as what each fire runs.
    pub(super) fn start_work(self, work: Work) -> Result<JobHandle, ScheduleError> {
        if self.link.is_closed() {
            return Err(ScheduleError::PoolClosed);
        }
        if self.link.timer().is_none() {
            return Err(ScheduleError::TimerUnavailable);
        }
        let now = self.clock.now();
        let far = |d: Duration| now.checked_add(d).ok_or(ScheduleError::TooFar);
        let (cadence, interval, first, first_unix) = match self.kind {
            Kind::After(delay) => (Cadence::Once, Duration::ZERO, far(delay)?, 0),
            Kind::At(at) => (Cadence::Once, Duration::ZERO, at, 0),
            Kind::Every(interval) => {
                if interval.is_zero() {
                    return Err(ScheduleError::ZeroInterval);
                }
                (Cadence::Every, interval, far(interval)?, 0)
            }
            Kind::Cron(cron, zone) => {
                let wall = self.clock.wall();
                let (secs, nanos) = match wall.duration_since(UNIX_EPOCH) {
                    Ok(d) => (
                        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                        d.subsec_nanos(),
                    ),
                    Err(e) => {
                        let d = e.duration();
                        let secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                        if d.subsec_nanos() == 0 {
                            (secs, 0)
                        } else {
                            (secs - 1, 1_000_000_000 - d.subsec_nanos())
                        }
                    }
                };
                let next = cron
                    .next_after_unix(secs, &zone)
                    .ok_or(ScheduleError::NeverFires)?;
                let ahead = u64::try_from(next - secs).unwrap_or(0);
                let distance = Duration::from_secs(ahead) - Duration::from_nanos(u64::from(nanos));
                let first = far(distance)?;
                (Cadence::Cron { cron, zone }, Duration::ZERO, first, next)
            }
            Kind::Adaptive {
                base,
                max,
                threshold,
                load,
            } => {
                if base.is_zero() {
                    return Err(ScheduleError::ZeroInterval);
                }
                if max < base || threshold.is_nan() {
                    return Err(ScheduleError::InvalidAdaptive);
                }
                let cadence = Cadence::Adaptive {
                    base,
                    max,
                    threshold,
                    load,
                };
                (cadence, base, far(base)?, 0)
            }
        };
        let config = JobConfig {
            missed: self.missed,
            overlap: self.overlap,
            catch_up_limit: self.catch_up_limit,
            when: self.when,
            retry: self.retry,
        };
        let core = JobCore::start(
            self.link,
            self.clock,
            self.parent.as_ref(),
            cadence,
            interval,
            config,
            work,
            first,
            first_unix,
        );
        Ok(JobHandle::new(core))
    }
}

impl fmt::Debug for JobBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobBuilder")
            .field("missed", &self.missed)
            .field("overlap", &self.overlap)
            .field("catch_up_limit", &self.catch_up_limit)
            .finish_non_exhaustive()
    }
}
