//! A run's life on the pool: submitting it as a task, running the body
//! (after the condition and the load sample), its completion, and the
//! retries of a failed run on the timer.

use super::core::{Cadence, Exec, JobCore, JobState, Mode, RunToken};
use super::status::{JobStatus, RunOutcome};
use crate::context::Context;
use crate::retry::{Decision, Failure, JitterRng, RetryPolicy};
use crate::task::{Task, TaskError};
use crate::time::deadline_after;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl JobCore {
    /// Submits one run (already counted in flight) to the pool.
    pub(super) fn launch(self: &Arc<Self>) {
        // A refused run that leaves owed runs and nothing in flight tries
        // the next one at once (each either starts or is counted refused):
        // nothing else would start them before the next fire's run ends.
        while self.try_launch() {}
    }

    /// Submits one run (counted in `in_flight` by the caller); true when it
    /// was refused and the next owed run should be tried now (counted in
    /// `in_flight` here).
    fn try_launch(self: &Arc<Self>) -> bool {
        let token = RunToken::new();
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
