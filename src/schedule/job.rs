//! A scheduled job: its state machine on the pool's timer ([`JobCore`],
//! crate-private) and the handle its owner keeps ([`JobHandle`]).
//!
//! Maintainers: the protocol is described in `ARCHITECTURE.md`
//! ("Scheduler"). In short, every job has at most one timer entry armed
//! (its next fire, or the next retry of a failed run); `JobState::generation`
//! numbers the entries so a stale one does nothing. A fire does only
//! bookkeeping on the timer thread and submits the run as a pool task; the
//! task's completion callback does the rest (counts, retries, the queued
//! run). User code (bodies, predicates, load signals) runs only on workers.
//!
//! Lock order: the job's `state` before the timer's and the pool's locks;
//! never the other way round. The job's context is never read under
//! `state` (a passed deadline runs the context's wakers, one of which is
//! this job, on the reading thread).

use super::calendar::{Cron, TimeZone};
use crate::context::Context;
use crate::pool::PoolLink;
use crate::retry::{Decision, Failure, JitterRng, RetryPolicy};
use crate::sync::{Condvar, Mutex, Wake};
use crate::task::{Task, TaskError};
use crate::time::{Clock, deadline_after};
use crate::time::timer::TimerKey;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
pub enum MissedRun {
    /// Run none of the missed fires; they are counted in
    /// [`JobStats::skipped_missed`]. After a stall the latest, merely late
    /// fire still runs (it is not missed); after a pause nothing runs
    /// until the next fire time on the cadence.
    Skip,
    /// One run now stands for all the missed fires; then the cadence
    /// resumes. After a stall that run is the latest, merely late fire's
    /// (as with `Skip`); after a pause it is an extra run at the resume.
    #[default]
    RunOnce,
    /// One run per missed fire, one after another, up to the job's
    /// [`catch_up_limit`](super::JobBuilder::catch_up_limit); fires beyond
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
pub enum Overlap {
    /// Drop the fire (counted in [`JobStats::skipped_overlap`]).
    #[default]
    Skip,
    /// Keep one run waiting; it starts when the run in flight ends. A fire
    /// that finds one already waiting is dropped and counted.
    QueueOne,
    /// Start another run at once; runs may overlap.
    Allow,
}

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

/// Counts of what a job did, read with [`JobHandle::stats`].
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
    /// Retries of failed runs started (see [`JobBuilder::retry`](super::JobBuilder::retry)).
    pub retries: u64,
    /// Fires whose condition was false (see [`JobBuilder::when`](super::JobBuilder::when)).
    pub skipped_condition: u64,
    /// Fires dropped because a run was in flight (see [`Overlap`]).
    pub skipped_overlap: u64,
    /// Missed fires that did not get a run of their own (see [`MissedRun`]).
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
    /// [`Overlap::QueueOne`] or owed by [`MissedRun::CatchUp`]).
    pub waiting: u64,
}

/// When a job fires.
pub(crate) enum Cadence {
    /// Once, at the first due instant.
    Once,
    /// Every `interval` (in `JobState::interval`).
    Every,
    /// At the expression's times in the zone.
    Cron { cron: Cron, zone: TimeZone },
    /// Every `JobState::interval`, doubled (up to `max`) after a fire that
    /// sampled a load above `threshold`, back to `base` otherwise.
    Adaptive {
        base: Duration,
        max: Duration,
        threshold: f64,
        load: Box<dyn Fn() -> f64 + Send + Sync>,
    },
}

/// What a run's pool task did.
pub(crate) enum Exec {
    Done(Result<(), RunFailure>),
    /// The condition was false.
    Skipped,
    /// The body failed after the run's context was cancelled: reported as
    /// the cancellation (true: by a shutdown), as the pool does for tasks.
    Cancelled(bool),
    /// The run goes on elsewhere (a chain waiting on the timer); it reports
    /// through its [`RunToken`].
    Detached,
}

/// A failed run's error text, and whether the job's retry policy would
/// retry it (decided where the error's type is known).
pub(crate) struct RunFailure {
    pub(crate) message: String,
    pub(crate) retryable: bool,
}

/// Makes sure a run is finished once, whichever of its completion paths
/// (the pool task's callback, a detached chain) gets there first.
#[derive(Clone)]
pub(crate) struct RunToken(Arc<AtomicBool>);

impl RunToken {
    fn take(&self) -> bool {
        // ORDERING: AcqRel: one winner; the job's state is under its lock.
        !self.0.swap(true, Ordering::AcqRel)
    }
}

/// What a job runs at each fire.
pub(crate) type Work = Box<dyn Fn(&Context, &Arc<JobCore>, &RunToken) -> Exec + Send + Sync>;
/// A job's condition.
pub(crate) type Predicate = Box<dyn Fn(&Context) -> bool + Send + Sync>;

/// Settings fixed when the job starts.
pub(crate) struct JobConfig {
    pub(crate) missed: MissedRun,
    pub(crate) overlap: Overlap,
    pub(crate) catch_up_limit: u64,
    pub(crate) when: Option<Predicate>,
    pub(crate) retry: Option<RetryPolicy>,
}

/// `armed_gen` when the armed entry was dropped unfired: the timer stopped.
const LOST: u64 = u64::MAX;
/// How many cron fire times one fire scans when counting missed ones.
const CRON_SCAN_LIMIT: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The armed entry is the next fire on the cadence.
    Cadence,
    /// The armed entry is the retry of a failed run.
    Retry,
}

/// Everything `JobCore::state` protects.
struct JobState {
    status: JobStatus,
    mode: Mode,
    /// The next fire time on the cadence; `None` once there is none.
    due: Option<Instant>,
    /// Cron only: `due` as Unix seconds.
    due_unix: i64,
    /// The fire time the latest fire stood for (adaptive re-arming).
    last_due: Option<Instant>,
    /// The armed entry: when it fires and its key.
    armed: Option<(Instant, TimerKey)>,
    /// Numbers armed entries; a fire with another number is stale.
    generation: u64,
    /// Every / adaptive: the current interval.
    interval: Duration,
    retry_attempt: u32,
    retry_started: Option<Instant>,
    retry_previous: Duration,
    rng: Option<JitterRng>,
    stats: JobStats,
    last: Option<RunOutcome>,
}

/// The shared state of one job.
pub(crate) struct JobCore {
    link: PoolLink,
    clock: Clock,
    /// The job's context: a child of the one given at schedule time; each
    /// run gets a child of it. Cancelled when the job is.
    ctx: Context,
    cadence: Cadence,
    config: JobConfig,
    work: Work,
    state: Mutex<JobState>,
    /// Waiters in `JobHandle::wait_until`; notified under `state`.
    cv: Condvar,
    /// The generation of the armed entry (0: none; `LOST`: dropped unfired).
    armed_gen: AtomicU64,
}

/// A wall-clock time as nanoseconds since the Unix epoch (negative before).
fn wall_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// The instant on the clock that is `unix` seconds on the wall, seen from
/// (`now`, `wall_ns`); never before `now`.
fn instant_of(now: Instant, wall_ns: i128, unix: i64) -> Instant {
    let ahead = i128::from(unix) * 1_000_000_000 - wall_ns;
    if ahead <= 0 {
        return now;
    }
    let ahead = u64::try_from(ahead).unwrap_or(u64::MAX);
    now.checked_add(Duration::from_nanos(ahead))
        .unwrap_or(now + Duration::from_secs(86_400 * 365 * 100))
}

/// The fire times that have come, seen at one moment.
struct Due {
    /// How many (0: a cron time not yet reached on the wall clock).
    count: u64,
    /// The latest of them.
    last: Instant,
    /// The next one still to come, with its Unix second (cron).
    next: Option<(Instant, i64)>,
}

/// The timer entry of a job: fires the job, or, dropped unfired because the
/// timer stopped, marks it lost (atomics only: it may be dropped while the
/// job's lock is held).
struct Fire {
    core: Arc<JobCore>,
    generation: u64,
    fired: bool,
}

impl Fire {
    fn fire(mut self) {
        self.fired = true;
        self.core.on_timer(self.generation);
    }
}

impl Drop for Fire {
    fn drop(&mut self) {
        if !self.fired {
            // ORDERING: AcqRel; read by `JobHandle::status`.
            let _ = self.core.armed_gen.compare_exchange(
                self.generation,
                LOST,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }
}

impl Wake for JobCore {
    /// The job's context was cancelled.
    fn wake(&self) {
        let mut st = self.state.lock();
        if !st.status.is_finished() {
            st.status = JobStatus::Cancelled;
            // As `JobHandle::cancel`: the runs waiting will never start.
            st.stats.waiting = 0;
            self.disarm(&mut st);
        }
        self.cv.notify_all();
    }
}

impl JobCore {
    /// Creates the job and arms its first fire at `first` (cron: the Unix
    /// second `first_unix`). The returned job may already be cancelled (its
    /// parent context was).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        link: PoolLink,
        clock: Clock,
        parent: Option<&Context>,
        cadence: Cadence,
        interval: Duration,
        config: JobConfig,
        work: Work,
        first: Instant,
        first_unix: i64,
    ) -> Arc<JobCore> {
        let ctx = match parent {
            Some(parent) => parent.child(),
            None => Context::with_clock(clock.clone()),
        };
        let core = Arc::new(JobCore {
            link,
            clock,
            ctx,
            cadence,
            config,
            work,
            state: Mutex::new(JobState {
                status: JobStatus::Active,
                mode: Mode::Cadence,
                due: Some(first),
                due_unix: first_unix,
                last_due: None,
                armed: None,
                generation: 0,
                interval,
                retry_attempt: 0,
                retry_started: None,
                retry_previous: Duration::ZERO,
                rng: None,
                stats: JobStats::default(),
                last: None,
            }),
            cv: Condvar::new(),
            armed_gen: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&core);
        core.ctx.subscribe(weak);
        if core.ctx.is_cancelled() {
            core.state.lock().status = JobStatus::Cancelled;
            return core;
        }
        {
            let mut st = core.state.lock();
            // A cancellation between the check and here already set the
            // status; arm only an active job.
            if st.status == JobStatus::Active {
                core.arm(&mut st, first);
            }
        }
        core
    }

    /// Arms the job's one timer entry at `at`, replacing any other. A timer
    /// that is gone or stopped ends the job `ShutDown`.
    fn arm(self: &Arc<Self>, st: &mut JobState, at: Instant) {
        self.disarm(st);
        let Some(timer) = self.link.timer() else {
            st.status = JobStatus::ShutDown;
            return;
        };
        st.generation += 1;
        let generation = st.generation;
        // ORDERING: AcqRel pairs with `Fire::drop`'s compare-and-swap.
        self.armed_gen.store(generation, Ordering::Release);
        let fire = Fire {
            core: Arc::clone(self),
            generation,
            fired: false,
        };
        match timer.schedule(at, Box::new(move || fire.fire())) {
            Some(key) => st.armed = Some((at, key)),
            None => {
                self.armed_gen.store(0, Ordering::Release);
                st.status = JobStatus::ShutDown;
            }
        }
    }

    /// Removes the armed entry, if any.
    fn disarm(&self, st: &mut JobState) {
        if let Some((_, key)) = st.armed.take() {
            st.generation += 1;
            self.armed_gen.store(0, Ordering::Release);
            if let Some(timer) = self.link.timer() {
                timer.cancel(key);
            }
        }
    }

    /// The timer thread reached entry `generation`.
    fn on_timer(self: &Arc<Self>, generation: u64) {
        // Read the context outside our lock (see the module notes).
        let cancelled = self.ctx.is_cancelled();
        let launches = {
            let mut st = self.state.lock();
            if st.generation != generation || st.status != JobStatus::Active {
                return;
            }
            st.armed = None;
            self.armed_gen.store(0, Ordering::Release);
            if cancelled {
                st.status = JobStatus::Cancelled;
                self.cv.notify_all();
                return;
            }
            let now = self.clock.now();
            let launches = match st.mode {
                Mode::Retry => {
                    st.stats.in_flight += 1;
                    1
                }
                Mode::Cadence => self.on_due(&mut st, now, false),
            };
            self.settle(&mut st);
            self.cv.notify_all();
            launches
        };
        for _ in 0..launches {
            self.launch();
        }
    }

    /// The fire times that have come by `now`, from `due` on.
    fn due_points(&self, st: &JobState, due: Instant, now: Instant) -> Due {
        match &self.cadence {
            Cadence::Once => Due {
                count: u64::from(due <= now),
                last: due,
                next: None,
            },
            Cadence::Every | Cadence::Adaptive { .. } => {
                if due > now {
                    return Due {
                        count: 0,
                        last: due,
                        next: Some((due, 0)),
                    };
                }
                let step = st.interval.as_nanos().max(1);
                let behind = (now - due).as_nanos();
                let extra = behind / step;
                let count = u64::try_from(extra).unwrap_or(u64::MAX - 1) + 1;
                let last = due + Duration::from_nanos(u64::try_from(extra * step).unwrap_or(0));
                Due {
                    count,
                    last,
                    next: last.checked_add(st.interval).map(|at| (at, 0)),
                }
            }
            Cadence::Cron { cron, zone } => {
                let wall_ns = wall_nanos(self.clock.wall());
                let reached = |unix: i64| i128::from(unix) * 1_000_000_000 <= wall_ns;
                let mut p = st.due_unix;
                if !reached(p) {
                    // The monotonic clock got there before the wall clock.
                    let at = instant_of(now, wall_ns, p);
                    return Due {
                        count: 0,
                        last: at,
                        next: Some((at, p)),
                    };
                }
                let mut count = 1;
                let next = loop {
                    match cron.next_after_unix(p, zone) {
                        Some(q) if reached(q) => {
                            count += 1;
                            p = q;
                            if count >= CRON_SCAN_LIMIT {
                                let floor = i64::try_from(wall_ns.div_euclid(1_000_000_000))
                                    .unwrap_or(i64::MAX);
                                break cron.next_after_unix(floor.max(p), zone);
                            }
                        }
                        other => break other,
                    }
                };
                let behind = wall_ns - i128::from(p) * 1_000_000_000;
                let behind = Duration::from_nanos(u64::try_from(behind).unwrap_or(u64::MAX));
                Due {
                    count,
                    last: now.checked_sub(behind).unwrap_or(now),
                    next: next.map(|q| (instant_of(now, wall_ns, q), q)),
                }
            }
        }
    }

    /// Handles the cadence's fire times that have come by `now`: applies the
    /// missed-run and overlap policies, arms the next fire, and returns how
    /// many runs to launch (already counted in flight). `resumed`: every
    /// fire time before `now` fell in a paused period, so all are missed.
    fn on_due(self: &Arc<Self>, st: &mut JobState, now: Instant, resumed: bool) -> u64 {
        let Some(due) = st.due else {
            return 0;
        };
        let points = self.due_points(st, due, now);
        if points.count == 0 {
            if let Some((at, unix)) = points.next {
                st.due = Some(at);
                st.due_unix = unix;
                self.arm(st, at);
            }
            return 0;
        }
        let count = points.count;
        st.last_due = Some(points.last);
        match points.next {
            Some((at, unix)) => {
                st.due = Some(at);
                st.due_unix = unix;
                self.arm(st, at);
            }
            None => st.due = None,
        }
        // The latest fire time that has come is within one period of now
        // (`due_points` stops before the first one still to come): merely
        // late, it runs, unless it fell in a paused period.
        let on_time = if resumed {
            u64::from(points.last == now)
        } else {
            1
        };
        let missed = count - on_time;
        let runs = if missed == 0 {
            count
        } else {
            match self.config.missed {
                MissedRun::Skip => on_time,
                MissedRun::RunOnce => 1,
                MissedRun::CatchUp => count.min(self.config.catch_up_limit.max(1)),
            }
        };
        st.stats.skipped_missed += count - runs;
        if runs == 0 {
            return 0;
        }
        if st.stats.in_flight == 0 {
            st.stats.in_flight += 1;
            st.stats.waiting += runs - 1;
            return 1;
        }
        match self.config.overlap {
            Overlap::Allow => {
                st.stats.in_flight += 1;
                st.stats.waiting += runs - 1;
                1
            }
            Overlap::QueueOne if st.stats.waiting == 0 => {
                st.stats.waiting += runs;
                0
            }
            Overlap::QueueOne | Overlap::Skip => {
                st.stats.skipped_overlap += 1;
                st.stats.waiting += runs - 1;
                0
            }
        }
    }

    /// Marks a job whose cadence is over, and which has nothing in flight,
    /// waiting or armed, completed.
    fn settle(&self, st: &mut JobState) {
        if st.status == JobStatus::Active
            && st.due.is_none()
            && st.armed.is_none()
            && st.mode == Mode::Cadence
            && st.stats.in_flight == 0
            && st.stats.waiting == 0
        {
            st.status = JobStatus::Completed;
        }
    }

    /// Submits one run (already counted in flight) to the pool.
    fn launch(self: &Arc<Self>) {
        // A refused run that leaves owed runs and nothing in flight tries
        // the next one at once (each either starts or is counted refused):
        // nothing else would start them before the next fire's run ends.
        while self.try_launch() {}
    }

    /// Submits one run (counted in `in_flight` by the caller); true when it
    /// was refused and the next owed run should be tried now (counted in
    /// `in_flight` here).
    fn try_launch(self: &Arc<Self>) -> bool {
        let token = RunToken(Arc::new(AtomicBool::new(false)));
        let core = Arc::clone(self);
        let done = Arc::clone(self);
        let run_token = token.clone();
        let done_token = token.clone();
        let task = Task::new(move |ctx: &Context| core.execute(ctx, &run_token))
            .context(&self.ctx)
            .on_complete(move |result: &Result<Exec, TaskError>| {
                done.on_task_complete(&done_token, result);
            });
        if let Err(refused) = self.link.try_submit_task(task) {
            let closed = refused.kind() == crate::SubmitErrorKind::Closed;
            drop(refused);
            if token.take() {
                let mut st = self.state.lock();
                st.stats.in_flight -= 1;
                st.stats.rejected += 1;
                if closed && !st.status.is_finished() {
                    st.status = JobStatus::ShutDown;
                    st.stats.waiting = 0;
                    self.disarm(&mut st);
                } else if st.status == JobStatus::Active && st.mode == Mode::Retry {
                    // The refused run was a retry (a retry's run is the only
                    // one launched in retry mode, and nothing is armed while
                    // it is in flight): the retries end here, as if the
                    // policy had given up, and the job returns to its
                    // cadence. A one-shot job has no cadence left and
                    // completes.
                    let now = self.clock.now();
                    self.resume_cadence(&mut st, now);
                }
                let next = st.status == JobStatus::Active
                    && st.mode == Mode::Cadence
                    && st.stats.waiting > 0
                    && st.stats.in_flight == 0;
                if next {
                    st.stats.waiting -= 1;
                    st.stats.in_flight += 1;
                }
                // A refused one-shot run leaves nothing to come: the job
                // settles `Completed` with the refusal in `stats.rejected`.
                self.settle(&mut st);
                self.cv.notify_all();
                return next;
            }
        }
        false
    }

    /// The body of a run's pool task.
    fn execute(self: &Arc<Self>, ctx: &Context, token: &RunToken) -> Exec {
        if let Cadence::Adaptive { load, .. } = &self.cadence {
            let load = load();
            self.adapt(load);
        }
        if let Some(when) = &self.config.when {
            if !when(ctx) {
                return Exec::Skipped;
            }
        }
        (self.work)(ctx, self, token)
    }

    /// Adaptive cadence: sets the interval after the fire that sampled
    /// `load`, re-arming the next fire if it changed.
    fn adapt(self: &Arc<Self>, load: f64) {
        let Cadence::Adaptive {
            base,
            max,
            threshold,
            ..
        } = &self.cadence
        else {
            return;
        };
        let mut st = self.state.lock();
        let interval = if load > *threshold {
            st.interval.saturating_mul(2).min(*max)
        } else {
            *base
        };
        if interval == st.interval {
            return;
        }
        st.interval = interval;
        if st.status == JobStatus::Active && st.mode == Mode::Cadence && st.armed.is_some() {
            if let Some(at) = st.last_due.and_then(|last| last.checked_add(interval)) {
                st.due = Some(at);
                self.arm(&mut st, at);
            }
        }
        self.cv.notify_all();
    }

    /// The completion callback of a run's pool task.
    fn on_task_complete(self: &Arc<Self>, token: &RunToken, result: &Result<Exec, TaskError>) {
        let finished = match result {
            Ok(Exec::Detached) => return,
            Ok(Exec::Skipped) => None,
            Ok(Exec::Cancelled(false)) => Some((RunOutcome::Cancelled, None)),
            Ok(Exec::Cancelled(true)) => Some((RunOutcome::ShutDown, None)),
            Ok(Exec::Done(Ok(()))) => Some((RunOutcome::Succeeded, None)),
            Ok(Exec::Done(Err(failure))) => Some((
                RunOutcome::Failed(failure.message.clone()),
                failure.retryable.then_some(RetryKind::Error),
            )),
            Err(TaskError::Panicked(message)) => Some((
                RunOutcome::Panicked(message.clone()),
                Some(RetryKind::Panic),
            )),
            Err(TaskError::TimedOut) => Some((RunOutcome::TimedOut, Some(RetryKind::Timeout))),
            Err(TaskError::Cancelled) => Some((RunOutcome::Cancelled, None)),
            Err(TaskError::ShutDown) => Some((RunOutcome::ShutDown, None)),
            Err(TaskError::Failed(never)) => match *never {},
        };
        self.finish_run(token, finished);
    }

    /// A run ended: `None` when its condition was false, else its outcome
    /// and, for a failure the policy's classifier accepts, its kind.
    pub(crate) fn finish_run(
        self: &Arc<Self>,
        token: &RunToken,
        finished: Option<(RunOutcome, Option<RetryKind>)>,
    ) {
        if !token.take() {
            return;
        }
        let launch = {
            let mut st = self.state.lock();
            st.stats.in_flight -= 1;
            let now = self.clock.now();
            let mut retry = None;
            match finished {
                None => st.stats.skipped_condition += 1,
                Some((outcome, kind)) => {
                    st.stats.runs += 1;
                    match &outcome {
                        RunOutcome::Succeeded => st.stats.succeeded += 1,
                        RunOutcome::Failed(_) | RunOutcome::Panicked(_) | RunOutcome::TimedOut => {
                            st.stats.failed += 1;
                            retry = Some(kind);
                        }
                        RunOutcome::Cancelled | RunOutcome::ShutDown => st.stats.cancelled += 1,
                    }
                    st.last = Some(outcome);
                }
            }
            if st.status == JobStatus::Active {
                if let Some(policy) = &self.config.retry {
                    match retry {
                        Some(Some(kind)) => self.retry_or_resume(&mut st, policy, kind, now),
                        _ if st.mode == Mode::Retry => self.resume_cadence(&mut st, now),
                        _ => {}
                    }
                }
            }
            let launch =
                st.status == JobStatus::Active && st.mode == Mode::Cadence && st.stats.waiting > 0;
            if launch {
                st.stats.waiting -= 1;
                st.stats.in_flight += 1;
            }
            self.settle(&mut st);
            self.cv.notify_all();
            launch
        };
        if launch {
            self.launch();
        }
    }

    /// After a failed run: arm its retry, or give up and resume the cadence.
    fn retry_or_resume(
        self: &Arc<Self>,
        st: &mut JobState,
        policy: &RetryPolicy,
        kind: RetryKind,
        now: Instant,
    ) {
        let attempt = st.retry_attempt.saturating_add(1);
        let started = *st.retry_started.get_or_insert(now);
        let previous = st.retry_previous;
        let rng = st.rng.get_or_insert_with(JitterRng::from_entropy);
        let failure = match kind {
            // The classifier already accepted the error where its type was
            // known; `()` matches no predicate, so only the limits apply.
            RetryKind::Error => Failure::Error(&()),
            RetryKind::Panic => Failure::Panic,
            RetryKind::Timeout => Failure::Timeout,
        };
        let elapsed = now.saturating_duration_since(started);
        match policy.decide(attempt, &failure, elapsed, previous, rng) {
            Decision::RetryAfter(delay) => {
                st.mode = Mode::Retry;
                st.retry_attempt = attempt;
                st.retry_previous = delay;
                st.stats.retries += 1;
                self.arm(st, deadline_after(now, delay));
            }
            _ => self.resume_cadence(st, now),
        }
    }

    /// Ends a retry sequence: the next fire is the first cadence time after
    /// `now`; cadence times that passed during the retries are counted as
    /// missed.
    fn resume_cadence(self: &Arc<Self>, st: &mut JobState, now: Instant) {
        let was_retrying = st.mode == Mode::Retry;
        st.mode = Mode::Cadence;
        st.retry_attempt = 0;
        st.retry_started = None;
        st.retry_previous = Duration::ZERO;
        if !was_retrying {
            return;
        }
        self.disarm(st);
        let Some(due) = st.due else {
            return;
        };
        let points = self.due_points(st, due, now);
        if points.count > 0 {
            st.stats.skipped_missed += points.count;
            st.due = points.next.map(|(at, _)| at);
            if let Some((_, unix)) = points.next {
                st.due_unix = unix;
            }
        } else if let Some((at, unix)) = points.next {
            st.due = Some(at);
            st.due_unix = unix;
        }
        if let Some(at) = st.due {
            self.arm(st, at);
        }
    }
}

/// Which kind of failure a retry is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RetryKind {
    Error,
    Panic,
    Timeout,
}

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
/// assert!(job.wait_runs(1, Duration::from_secs(5)));
/// assert!(job.pause());
/// assert_eq!(job.next_run(), None);
/// assert!(job.cancel());
/// assert_eq!(job.status(), JobStatus::Cancelled);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping the handle leaves the job running with no way to stop it but its context"]
pub struct JobHandle {
    core: Arc<JobCore>,
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
        let core = &self.core;
        let mut st = core.state.lock();
        if st.status != JobStatus::Active {
            return false;
        }
        st.status = JobStatus::Paused;
        st.mode = Mode::Cadence;
        st.retry_attempt = 0;
        st.retry_started = None;
        st.retry_previous = Duration::ZERO;
        core.disarm(&mut st);
        core.cv.notify_all();
        true
    }

    /// Resumes a paused job. Fire times that came while it was paused are
    /// missed, handled by its [`MissedRun`] policy: skipped, one run now, or
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
        let core = &self.core;
        if core.ctx.is_cancelled() {
            return false;
        }
        let launches = {
            let mut st = core.state.lock();
            if st.status != JobStatus::Paused {
                return false;
            }
            st.status = JobStatus::Active;
            let now = core.clock.now();
            let mut launches = 0;
            match st.due {
                Some(due) if due <= now => launches = core.on_due(&mut st, now, true),
                Some(due) => core.arm(&mut st, due),
                None => {}
            }
            if st.status == JobStatus::Active && st.stats.waiting > 0 && st.stats.in_flight == 0 {
                st.stats.waiting -= 1;
                st.stats.in_flight += 1;
                launches += 1;
            }
            core.settle(&mut st);
            core.cv.notify_all();
            launches
        };
        for _ in 0..launches {
            core.launch();
        }
        true
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
        let core = &self.core;
        {
            let mut st = core.state.lock();
            if st.status.is_finished() {
                return false;
            }
            st.status = JobStatus::Cancelled;
            st.stats.waiting = 0;
            core.disarm(&mut st);
            core.cv.notify_all();
        }
        core.ctx.cancel();
        true
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
        let core = &self.core;
        let status = core.state.lock().status;
        if status.is_finished() {
            return status;
        }
        // ORDERING: Acquire pairs with `Fire::drop`.
        if core.armed_gen.load(Ordering::Acquire) == LOST || core.link.is_closed() {
            return JobStatus::ShutDown;
        }
        status
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
        if self.status() != JobStatus::Active {
            return None;
        }
        self.core.state.lock().armed.map(|(at, _)| at)
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
        let core = &self.core;
        if self.status() != JobStatus::Active {
            return None;
        }
        let st = core.state.lock();
        let (at, _) = st.armed?;
        if matches!(core.cadence, Cadence::Cron { .. }) && st.mode == Mode::Cadence {
            let unix = st.due_unix;
            return Some(if unix >= 0 {
                UNIX_EPOCH + Duration::from_secs(unix.unsigned_abs())
            } else {
                UNIX_EPOCH - Duration::from_secs(unix.unsigned_abs())
            });
        }
        let ahead = at.saturating_duration_since(core.clock.now());
        core.clock.wall().checked_add(ahead)
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
    /// assert!(job.wait_runs(1, Duration::from_secs(5)));
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
    /// assert!(job.wait_runs(1, Duration::from_secs(5)));
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
    /// assert!(job.wait_until(|s| s.skipped_condition == 1, Duration::from_secs(5)));
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
    /// assert!(job.wait_until(|s| s.succeeded == 1 && s.in_flight == 0, Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_until<P>(&self, mut condition: P, timeout: Duration) -> bool
    where
        P: FnMut(&JobStats) -> bool,
    {
        // A timeout too long for an `Instant` (`Duration::MAX`) waits
        // without a deadline.
        let deadline = std::time::Instant::now().checked_add(timeout);
        let core = &self.core;
        let mut st = core.state.lock();
        loop {
            if condition(&st.stats) {
                return true;
            }
            let now = std::time::Instant::now();
            let left = match deadline {
                Some(deadline) if now >= deadline => return false,
                Some(deadline) => deadline - now,
                None => Duration::MAX,
            };
            // Short slices: a timer entry dropped by a shutdown changes
            // nothing under the lock.
            let slice = left.min(Duration::from_millis(50));
            st = core.cv.wait_timeout(st, slice).0;
        }
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
    /// assert!(job.wait_runs(1, Duration::from_secs(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_runs(&self, runs: u64, timeout: Duration) -> bool {
        self.wait_until(|s| s.runs >= runs, timeout)
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
