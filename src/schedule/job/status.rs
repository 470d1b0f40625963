//! What a job reports: [`JobStatus`], [`RunOutcome`] and [`JobStats`].

/// Where a job is in its life.
///
/// # Examples
///
/// ```
/// use gosling::schedule::JobStatus;
///
/// assert!(JobStatus::Cancelled.is_finished());
/// assert!(!JobStatus::Paused.is_finished());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobStatus {
    /// Waiting for its next fire (or running, or retrying).
    Active,
    /// Paused: no fires until resumed.
    Paused,
    /// A one-shot job whose one run is over, or a cron expression with no
    /// further fire time. A one-shot run the pool refused (its queue was
    /// full) is not tried again: the job completes with no run, and the
    /// refusal is counted in [`JobStats::rejected`] (`runs == 0`,
    /// `rejected == 1`).
    Completed,
    /// Cancelled through its handle or its context.
    Cancelled,
    /// The pool closed or shut down: the timer stopped and no run can be
    /// submitted any more.
    ShutDown,
}

impl JobStatus {
    /// True for the states a job never leaves: completed, cancelled, shut
    /// down.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::schedule::JobStatus::ShutDown.is_finished());
    /// ```
    #[must_use]
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Cancelled | JobStatus::ShutDown
        )
    }
}

/// How one run of a job ended.
///
/// # Examples
///
/// ```
/// use gosling::schedule::RunOutcome;
///
/// assert!(RunOutcome::Succeeded.is_success());
/// assert!(!RunOutcome::Failed("disk full".into()).is_success());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunOutcome {
    /// The body returned `Ok`.
    Succeeded,
    /// The body returned an error (its `Display` text).
    Failed(String),
    /// The body panicked (the message).
    Panicked(String),
    /// The pool's task timeout passed.
    TimedOut,
    /// The run was cancelled (the job or its context was cancelled).
    Cancelled,
    /// The pool shut down before the run finished.
    ShutDown,
}

impl RunOutcome {
    /// True for [`RunOutcome::Succeeded`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gosling::schedule::RunOutcome::TimedOut.is_success());
    /// ```
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, RunOutcome::Succeeded)
    }
}

/// Counts of what a job did, read with [`JobHandle::stats`](crate::schedule::JobHandle::stats).
///
/// # Examples
///
/// ```
/// let stats = gosling::schedule::JobStats::default();
/// assert_eq!(stats.runs, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobStats {
    /// Runs that finished, whatever their outcome (condition skips are not
    /// runs).
    pub runs: u64,
    /// Runs that succeeded.
    pub succeeded: u64,
    /// Runs that failed, panicked or timed out.
    pub failed: u64,
    /// Runs cancelled or cut short by a shutdown.
    pub cancelled: u64,
    /// Retries of failed runs started (see [`JobBuilder::retry`](crate::schedule::JobBuilder::retry)).
    pub retries: u64,
    /// Fires whose condition was false (see [`JobBuilder::when`](crate::schedule::JobBuilder::when)).
    pub skipped_condition: u64,
    /// Fires dropped because a run was in flight (see [`Overlap`](crate::schedule::Overlap)).
    pub skipped_overlap: u64,
    /// Missed fires that did not get a run of their own (see [`MissedRun`](crate::schedule::MissedRun)).
    pub skipped_missed: u64,
    /// Runs the pool refused (queue full, or closed). A refused run is not
    /// tried again: the job waits for its next fire time (a one-shot job
    /// completes; a refused retry ends the retries and the job returns to
    /// its cadence). With nothing else in flight, the next owed run
    /// (`waiting`) is tried at once, so owed runs a full queue refuses are
    /// each counted here rather than left waiting.
    pub rejected: u64,
    /// Runs in flight now.
    pub in_flight: u64,
    /// Runs waiting for the run in flight to end (queued by
    /// [`Overlap::QueueOne`](crate::schedule::Overlap::QueueOne) or owed by [`MissedRun::CatchUp`](crate::schedule::MissedRun::CatchUp)).
    pub waiting: u64,
}
