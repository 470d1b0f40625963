//! The job's shared state ([`JobCore`]), its timer entry, and the
//! transitions its handle asks for (pause, resume, cancel). `fire.rs` adds
//! what a fire does, `run.rs` a run's life on the pool.

use super::policy::{MissedRun, Overlap};
use super::status::{JobStats, JobStatus, RunOutcome};
use crate::context::Context;
use crate::pool::PoolLink;
use crate::retry::{JitterRng, RetryPolicy};
use crate::schedule::calendar::{Cron, TimeZone};
use crate::sync::{Condvar, Mutex, Wake};
use crate::time::Clock;
use crate::time::timer::TimerKey;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// A token no path has taken yet.
    pub(super) fn new() -> RunToken {
        RunToken(Arc::new(AtomicBool::new(false)))
    }

    pub(super) fn take(&self) -> bool {
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
pub(super) const LOST: u64 = u64::MAX;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The armed entry is the next fire on the cadence.
    Cadence,
    /// The armed entry is the retry of a failed run.
    Retry,
}

/// Everything `JobCore::state` protects.
pub(super) struct JobState {
    pub(super) status: JobStatus,
    pub(super) mode: Mode,
    /// The next fire time on the cadence; `None` once there is none.
    pub(super) due: Option<Instant>,
    /// Cron only: `due` as Unix seconds.
    pub(super) due_unix: i64,
    /// The fire time the latest fire stood for (adaptive re-arming).
    pub(super) last_due: Option<Instant>,
    /// The armed entry: when it fires and its key.
    pub(super) armed: Option<(Instant, TimerKey)>,
    /// Numbers armed entries; a fire with another number is stale.
    pub(super) generation: u64,
    /// Every / adaptive: the current interval.
    pub(super) interval: Duration,
    pub(super) retry_attempt: u32,
    pub(super) retry_started: Option<Instant>,
    pub(super) retry_previous: Duration,
    pub(super) rng: Option<JitterRng>,
    pub(super) stats: JobStats,
    pub(super) last: Option<RunOutcome>,
}

/// The shared state of one job.
pub(crate) struct JobCore {
    pub(super) link: PoolLink,
    pub(super) clock: Clock,
    /// The job's context: a child of the one given at schedule time; each
    /// run gets a child of it. Cancelled when the job is.
    pub(super) ctx: Context,
    pub(super) cadence: Cadence,
    pub(super) config: JobConfig,
    pub(super) work: Work,
    pub(super) state: Mutex<JobState>,
    /// Waiters in `JobHandle::wait_stats_timeout` and the like; notified under `state`.
    pub(super) cv: Condvar,
    /// The generation of the armed entry (0: none; `LOST`: dropped unfired).
    pub(super) armed_gen: AtomicU64,
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
    pub(super) fn arm(self: &Arc<Self>, st: &mut JobState, at: Instant) {
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
    pub(super) fn disarm(&self, st: &mut JobState) {
        if let Some((_, key)) = st.armed.take() {
            st.generation += 1;
            self.armed_gen.store(0, Ordering::Release);
            if let Some(timer) = self.link.timer() {
                timer.cancel(key);
            }
        }
    }

    /// Marks a job whose cadence is over, and which has nothing in flight,
    /// waiting or armed, completed.
    pub(super) fn settle(&self, st: &mut JobState) {
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
}

/// What [`JobHandle`](super::JobHandle) forwards to.
impl JobCore {
    /// [`JobHandle::pause`]: stops fires (and ends retries) of an active job.
    pub(super) fn pause(&self) -> bool {
        let mut st = self.state.lock();
        if st.status != JobStatus::Active {
            return false;
        }
        st.status = JobStatus::Paused;
        st.mode = Mode::Cadence;
        st.retry_attempt = 0;
        st.retry_started = None;
        st.retry_previous = Duration::ZERO;
        self.disarm(&mut st);
        self.cv.notify_all();
        true
    }

    /// [`JobHandle::resume`]: reactivates a paused job; fire times that came
    /// meanwhile are handled as missed.
    pub(super) fn resume(self: &Arc<Self>) -> bool {
        if self.ctx.is_cancelled() {
            return false;
        }
        let launches = {
            let mut st = self.state.lock();
            if st.status != JobStatus::Paused {
                return false;
            }
            st.status = JobStatus::Active;
            let now = self.clock.now();
            let mut launches = 0;
            match st.due {
                Some(due) if due <= now => launches = self.on_due(&mut st, now, true),
                Some(due) => self.arm(&mut st, due),
                None => {}
            }
            if st.status == JobStatus::Active && st.stats.waiting > 0 && st.stats.in_flight == 0 {
                st.stats.waiting -= 1;
                st.stats.in_flight += 1;
                launches += 1;
            }
            self.settle(&mut st);
            self.cv.notify_all();
            launches
        };
        for _ in 0..launches {
            self.launch();
        }
        true
    }

    /// [`JobHandle::cancel`]: no more fires, waiting runs dropped, the
    /// context cancelled.
    pub(super) fn cancel(&self) -> bool {
        {
            let mut st = self.state.lock();
            if st.status.is_finished() {
                return false;
            }
            st.status = JobStatus::Cancelled;
            st.stats.waiting = 0;
            self.disarm(&mut st);
            self.cv.notify_all();
        }
        self.ctx.cancel();
        true
    }

    /// [`JobHandle::status`]: the status, `ShutDown` once the timer dropped
    /// the armed entry or the pool closed.
    pub(super) fn status(&self) -> JobStatus {
        let status = self.state.lock().status;
        if status.is_finished() {
            return status;
        }
        // ORDERING: Acquire pairs with `Fire::drop`.
        if self.armed_gen.load(Ordering::Acquire) == LOST || self.link.is_closed() {
            return JobStatus::ShutDown;
        }
        status
    }

    /// [`JobHandle::next_run`]: the armed entry's instant while active.
    pub(super) fn next_run(&self) -> Option<Instant> {
        if self.status() != JobStatus::Active {
            return None;
        }
        self.state.lock().armed.map(|(at, _)| at)
    }

    /// [`JobHandle::next_run_wall`]: the next fire on the wall clock (a cron
    /// job's own fire time).
    pub(super) fn next_run_wall(&self) -> Option<SystemTime> {
        if self.status() != JobStatus::Active {
            return None;
        }
        let st = self.state.lock();
        let (at, _) = st.armed?;
        if matches!(self.cadence, Cadence::Cron { .. }) && st.mode == Mode::Cadence {
            let unix = st.due_unix;
            return Some(if unix >= 0 {
                UNIX_EPOCH + Duration::from_secs(unix.unsigned_abs())
            } else {
                UNIX_EPOCH - Duration::from_secs(unix.unsigned_abs())
            });
        }
        let ahead = at.saturating_duration_since(self.clock.now());
        self.clock.wall().checked_add(ahead)
    }

    /// Blocks until `condition` holds for the job's counts, or `deadline`
    /// (real time; `None`: no deadline) passes; returns whether it held.
    pub(super) fn wait_stats<P>(&self, mut condition: P, deadline: Option<Instant>) -> bool
    where
        P: FnMut(&JobStats) -> bool,
    {
        let mut st = self.state.lock();
        loop {
            if condition(&st.stats) {
                return true;
            }
            let now = Instant::now();
            let left = match deadline {
                Some(deadline) if now >= deadline => return false,
                Some(deadline) => deadline - now,
                None => Duration::MAX,
            };
            // Short slices: a timer entry dropped by a shutdown changes
            // nothing under the lock.
            let slice = left.min(Duration::from_millis(50));
            st = self.cv.wait_timeout(st, slice).0;
        }
    }
}
