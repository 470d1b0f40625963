//! The policies set on a job: [`MissedRun`] and [`Overlap`].

/// What a job does when fire times were missed — the timer thread was
/// stalled, the pool could not keep up, or the job was paused.
///
/// A fire is *missed* when the next fire time after it had also passed by
/// the time the timer got to it, or when it fell in a paused period. A fire
/// that is merely late (by less than one period) is not missed: it runs,
/// whatever the policy. So after a stall (the timer thread or the pool
/// held up over several fire times), the latest fire time that has come —
/// always within one period of now — runs once and the earlier ones are
/// missed; after a pause, every fire time before the resume is missed
/// (one falling exactly at the resume is not).
///
/// # Examples
///
/// ```
/// use gosling::schedule::MissedRun;
///
/// assert_eq!(MissedRun::default(), MissedRun::RunOnce);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MissedRun {
    /// Run none of the missed fires; they are counted in
    /// [`JobStats::skipped_missed`](crate::schedule::JobStats::skipped_missed). After a stall the latest, merely late
    /// fire still runs (it is not missed); after a pause nothing runs
    /// until the next fire time on the cadence.
    Skip,
    /// One run now stands for all the missed fires; then the cadence
    /// resumes. After a stall that run is the latest, merely late fire's
    /// (as with `Skip`); after a pause it is an extra run at the resume.
    #[default]
    RunOnce,
    /// One run per missed fire, one after another, up to the job's
    /// [`catch_up_limit`](crate::schedule::JobBuilder::catch_up_limit); fires beyond
    /// the limit are counted as skipped.
    CatchUp,
}

/// What a job does when a fire comes while an earlier run is still in
/// flight (queued in the pool or running).
///
/// # Examples
///
/// ```
/// use gosling::schedule::Overlap;
///
/// assert_eq!(Overlap::default(), Overlap::Skip);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Overlap {
    /// Drop the fire (counted in [`JobStats::skipped_overlap`](crate::schedule::JobStats::skipped_overlap)).
    #[default]
    Skip,
    /// Keep one run waiting; it starts when the run in flight ends. A fire
    /// that finds one already waiting is dropped and counted.
    QueueOne,
    /// Start another run at once; runs may overlap.
    Allow,
}
