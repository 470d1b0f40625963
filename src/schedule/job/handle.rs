//! [`JobHandle`]: what the owner of a scheduled job keeps; it forwards to
//! the job's [`JobCore`].

use super::core::{Cadence, JobCore};
use super::status::{JobStats, JobStatus, RunOutcome};
use crate::context::Context;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// A handle to a scheduled job: pause, resume, cancel, and what it did.
///
/// Dropping the handle does not stop the job: it runs until cancelled
/// (here or through its context), until its cadence ends, or until the
/// pool shuts down.
///
/// # Examples
///
/// ```
/// use gosling::schedule::{JobStatus, Scheduler};
/// use gosling::time::ManualClock;
/// use gosling::Pool;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let pool = Pool::builder().workers(1).clock(manual.clock()).build()?;
/// let job = Scheduler::new(&pool)
///     .every(Duration::from_secs(10))
///     .start(|_ctx| Ok::<(), String>(()))?;
/// manual.advance(Duration::from_secs(10));
/// assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
/// assert!(job.pause());
/// assert_eq!(job.next_run(), None);
/// assert!(job.cancel());
/// assert_eq!(job.status(), JobStatus::Cancelled);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping the handle leaves the job running with no way to stop it but its context"]
pub struct JobHandle {
    pub(super) core: Arc<JobCore>,
}

impl JobHandle {
    pub(crate) fn new(core: Arc<JobCore>) -> JobHandle {
        JobHandle { core }
    }

    /// Stops fires until [`resume`](JobHandle::resume); a run in flight
    /// finishes, runs waiting for it wait. Pausing during the retries of a
    /// failed run ends them. Returns false unless the job was active.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::{JobStatus, Scheduler};
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).every(Duration::from_secs(60)).start(|_| Ok::<(), String>(()))?;
    /// assert!(job.pause());
    /// assert!(!job.pause());
    /// assert_eq!(job.status(), JobStatus::Paused);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pause(&self) -> bool {
        self.core.pause()
    }

    /// Resumes a paused job. Fire times that came while it was paused are
    /// missed, handled by its [`MissedRun`](crate::schedule::MissedRun) policy: skipped, one run now, or
    /// caught up. Returns false unless the job was paused.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::{JobStatus, Scheduler};
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).every(Duration::from_secs(60)).start(|_| Ok::<(), String>(()))?;
    /// job.pause();
    /// assert!(job.resume());
    /// assert_eq!(job.status(), JobStatus::Active);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume(&self) -> bool {
        self.core.resume()
    }

    /// Cancels the job: no more fires, waiting runs are dropped, and the
    /// job's context is cancelled, so runs in flight see it. Returns false
    /// when the job had already finished.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::{JobStatus, Scheduler};
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).after(Duration::from_secs(60)).start(|_| Ok::<(), String>(()))?;
    /// assert!(job.cancel());
    /// assert!(!job.cancel());
    /// assert!(job.context().is_cancelled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.core.cancel()
    }

    /// Where the job is in its life. A job whose pool closed is
    /// [`JobStatus::ShutDown`] from then on.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::{JobStatus, Scheduler};
    /// # use std::time::Duration;
    /// let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).every(Duration::from_secs(60)).start(|_| Ok::<(), String>(()))?;
    /// assert_eq!(job.status(), JobStatus::Active);
    /// pool.shutdown(Duration::from_secs(5))?;
    /// assert_eq!(job.status(), JobStatus::ShutDown);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn status(&self) -> JobStatus {
        self.core.status()
    }

    /// When the job fires next (the next retry while a failed run is being
    /// retried), on the pool's clock; `None` when paused or finished.
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
    /// let start = manual.clock().now();
    /// let job = Scheduler::new(&pool).after(Duration::from_secs(30)).start(|_| Ok::<(), String>(()))?;
    /// assert_eq!(job.next_run(), Some(start + Duration::from_secs(30)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn next_run(&self) -> Option<Instant> {
        self.core.next_run()
    }

    /// [`next_run`](JobHandle::next_run) on the wall clock. For a cron job
    /// this is the expression's fire time itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, Scheduler, TimeZone};
    /// use gosling::time::ManualClock;
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    ///
    /// let manual = ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_704_067_200));
    /// let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
    /// let job = Scheduler::new(&pool)
    ///     .cron(Cron::parse("0 30 9 * * *")?, TimeZone::utc())
    ///     .start(|_| Ok::<(), String>(()))?;
    /// let expected = UNIX_EPOCH + Duration::from_secs(1_704_067_200 + 9 * 3600 + 30 * 60);
    /// assert_eq!(job.next_run_wall(), Some(expected));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn next_run_wall(&self) -> Option<SystemTime> {
        self.core.next_run_wall()
    }

    /// How the latest finished run ended; `None` before the first.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).after(Duration::ZERO).start(|_| Err::<(), _>("no disk"))?;
    /// assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
    /// assert_eq!(job.last_outcome(), Some(gosling::schedule::RunOutcome::Failed("no disk".into())));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn last_outcome(&self) -> Option<RunOutcome> {
        self.core.state.lock().last.clone()
    }

    /// Runs finished so far ([`JobStats::runs`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).after(Duration::ZERO).start(|_| Ok::<(), String>(()))?;
    /// assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
    /// assert_eq!(job.run_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn run_count(&self) -> u64 {
        self.core.state.lock().stats.runs
    }

    /// A snapshot of the job's counts.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool)
    ///     .after(Duration::ZERO)
    ///     .when(|_ctx| false)
    ///     .start(|_| Ok::<(), String>(()))?;
    /// assert!(job.wait_stats_timeout(|s| s.skipped_condition == 1, Duration::from_secs(5)));
    /// assert_eq!(job.stats().runs, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn stats(&self) -> JobStats {
        self.core.state.lock().stats
    }

    /// The current interval of an every or adaptive job; `None` for the
    /// others.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).every(Duration::from_secs(5)).start(|_| Ok::<(), String>(()))?;
    /// assert_eq!(job.interval(), Some(Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn interval(&self) -> Option<Duration> {
        match self.core.cadence {
            Cadence::Every | Cadence::Adaptive { .. } => Some(self.core.state.lock().interval),
            _ => None,
        }
    }

    /// The job's context: a child of the context given at schedule time
    /// (its values are visible), parent of every run's context.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).every(Duration::from_secs(5)).start(|_| Ok::<(), String>(()))?;
    /// assert!(!job.context().is_cancelled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn context(&self) -> &Context {
        &self.core.ctx
    }

    /// Blocks until `condition` holds for the job's counts, or `timeout`
    /// (real time) passes; returns whether it held. For tests and for
    /// waiting on a one-shot job. A timeout too long for an `Instant`
    /// (`Duration::MAX`) waits with no deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).after(Duration::ZERO).start(|_| Ok::<(), String>(()))?;
    /// assert!(job.wait_stats_timeout(|s| s.succeeded == 1 && s.in_flight == 0, Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_stats_timeout<P>(&self, condition: P, timeout: Duration) -> bool
    where
        P: FnMut(&JobStats) -> bool,
    {
        // A timeout too long for an `Instant` (`Duration::MAX`) waits
        // without a deadline.
        let deadline = Instant::now().checked_add(timeout);
        self.core.wait_stats(condition, deadline)
    }

    /// Blocks until `condition` holds for the job's counts, or the real-time
    /// instant `deadline` passes; returns whether it held.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::{Duration, Instant};
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).after(Duration::ZERO).start(|_| Ok::<(), String>(()))?;
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// assert!(job.wait_stats_deadline(|s| s.succeeded == 1, deadline));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_stats_deadline<P>(&self, condition: P, deadline: Instant) -> bool
    where
        P: FnMut(&JobStats) -> bool,
    {
        self.core.wait_stats(condition, Some(deadline))
    }

    /// Blocks until at least `runs` runs finished, or `timeout` (real time)
    /// passes; returns whether they did.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).after(Duration::ZERO).start(|_| Ok::<(), String>(()))?;
    /// assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_runs_timeout(&self, runs: u64, timeout: Duration) -> bool {
        self.wait_stats_timeout(|s| s.runs >= runs, timeout)
    }

    /// Blocks until at least `runs` runs finished, or the real-time instant
    /// `deadline` passes; returns whether they did.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::Scheduler;
    /// # use std::time::{Duration, Instant};
    /// # let pool = gosling::Pool::new(1)?;
    /// let job = Scheduler::new(&pool).after(Duration::ZERO).start(|_| Ok::<(), String>(()))?;
    /// assert!(job.wait_runs_deadline(1, Instant::now() + Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_runs_deadline(&self, runs: u64, deadline: Instant) -> bool {
        self.wait_stats_deadline(|s| s.runs >= runs, deadline)
    }
}

impl fmt::Debug for JobHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.core.state.lock();
        f.debug_struct("JobHandle")
            .field("status", &st.status)
            .field("stats", &st.stats)
            .finish_non_exhaustive()
    }
}
