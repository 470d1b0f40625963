//! A [`Chain`] as a job's body: [`JobBuilder::start_chain`], and how a
//! chain's report becomes the job's [`RunOutcome`]. The one file where
//! chains (`chain.rs`) and jobs (`scheduler.rs`, `job/`) meet, so that
//! neither of those imports the other.

use super::chain::{Chain, ChainOutcome, ChainReport, run_detached};
use super::error::ScheduleError;
use super::job::{Exec, JobHandle, RetryKind, RunOutcome, Work};
use super::scheduler::JobBuilder;
use crate::context::{CancelReason, Context};
use crate::pool::PoolLink;
use crate::retry::{Failure, RetryPolicy};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

impl JobBuilder {
    /// Schedules a [`Chain`]: at each fire the chain runs on the pool, one
    /// step after another, with its retry backoffs on the timer (no worker
    /// sleeps through them). The run ends when the chain does, and its
    /// outcome is the chain's:
    ///
    /// - completed or stopped: [`RunOutcome::Succeeded`];
    /// - aborted or compensated: [`RunOutcome::Failed`] with the report's
    ///   [`summary`](super::ChainReport::summary); the job's
    ///   [`retry`](JobBuilder::retry) policy classifies the failed step's
    ///   error (of type `E`) as it would a body's error in
    ///   [`start`](JobBuilder::start);
    /// - panicked: [`RunOutcome::Panicked`], retried only by a policy that
    ///   [retries panics](RetryPolicy::retry_panics);
    /// - cancelled (the job or its context cancelled, the chain's next step
    ///   refused by a full queue): [`RunOutcome::Cancelled`] —
    ///   [`RunOutcome::ShutDown`] when the pool shut down — counted in
    ///   [`JobStats::cancelled`](super::JobStats::cancelled), never retried
    ///   nor counted failed.
    ///
    /// # Errors
    ///
    /// As [`start`](JobBuilder::start).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Chain, Scheduler, Step};
    /// use std::time::Duration;
    ///
    /// let pool = gosling::Pool::new(1)?;
    /// let chain = Chain::new()
    ///     .step(Step::new("extract", |_| Ok::<(), String>(())))
    ///     .step(Step::new("load", |_| Ok(())));
    /// let job = Scheduler::new(&pool).after(Duration::ZERO).start_chain(chain)?;
    /// assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
    /// assert!(job.last_outcome().unwrap().is_success());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_chain<E>(self, chain: Chain<E>) -> Result<JobHandle, ScheduleError>
    where
        E: fmt::Display + Any + Send + 'static,
    {
        let steps = chain.into_steps();
        let link = self.link.clone();
        let clock = self.clock.clone();
        let retry = self.retry.clone();
        let work: Work = Box::new(move |ctx, core, token| {
            let core = Arc::clone(core);
            let token = token.clone();
            let run_ctx = ctx.clone();
            let run_link = link.clone();
            let retry = retry.clone();
            run_detached(
                &steps,
                link.clone(),
                clock.clone(),
                ctx,
                Box::new(move |report| {
                    // Outside the job's lock (the context may be read).
                    let outcome = chain_run_outcome(&report, retry.as_ref(), &run_ctx, &run_link);
                    core.finish_run(&token, Some(outcome));
                }),
            );
            Exec::Detached
        });
        self.start_work(work)
    }
}

/// How a scheduled chain's run ended, and whether the job's retry policy may
/// retry it (see [`JobBuilder::start_chain`]).
fn chain_run_outcome<E>(
    report: &ChainReport<E>,
    retry: Option<&RetryPolicy>,
    ctx: &Context,
    link: &PoolLink,
) -> (RunOutcome, Option<RetryKind>)
where
    E: fmt::Display + Any + Send + 'static,
{
    match report.outcome() {
        outcome if outcome.is_success() => (RunOutcome::Succeeded, None),
        ChainOutcome::Cancelled { .. } => {
            let shut_down = ctx.reason() == Some(CancelReason::Shutdown) || link.is_closed();
            let outcome = if shut_down {
                RunOutcome::ShutDown
            } else {
                RunOutcome::Cancelled
            };
            (outcome, None)
        }
        ChainOutcome::Panicked { message, .. } => (
            RunOutcome::Panicked(message.clone()),
            Some(RetryKind::Panic),
        ),
        _ => {
            let retryable = retry.is_some_and(|policy| match report.failed_error() {
                Some(error) => policy.is_retryable(&Failure::Error(error)),
                None => true,
            });
            (
                RunOutcome::Failed(report.summary()),
                retryable.then_some(RetryKind::Error),
            )
        }
    }
}
