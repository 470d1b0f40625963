//! Chains: steps run in sequence, each with what to do on success and on
//! error — retry with a backoff, skip, abort, or run a compensating step.
//!
//! One state machine (`Driver`) decides what comes next; two drivers run it:
//! [`Chain::run`] on the caller's thread (backoffs are sleeps on the
//! context), and the pool driver ([`Chain::start`], and chains scheduled
//! with [`JobBuilder::start_chain`](super::JobBuilder::start_chain)), which
//! runs steps on workers and puts every backoff on the pool's timer, so no
//! worker sleeps through a retry wait.

use super::error::ScheduleError;
use crate::Pool;
use crate::context::Context;
use crate::pool::PoolLink;
use crate::retry::{Decision, Failure, JitterRng, RetryPolicy};
use crate::sync::{Condvar, Mutex, Wake};
use crate::task::error::panic_message;
use crate::task::{Task, TaskError};
use crate::time::timer::TimerKey;
use crate::time::{Clock, deadline_after};
use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

type StepBody<E> = Arc<dyn Fn(&Context) -> Result<(), E> + Send + Sync>;

/// What a chain does when a step fails (after its retries, if it has a
/// [`retry`](Step::retry) policy).
///
/// # Examples
///
/// ```
/// use gosling::schedule::{OnError, Step};
///
/// let step = Step::new("warm cache", |_| Err::<(), _>("cold")).on_error(OnError::Skip);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum OnError<E> {
    /// Stop the chain: [`ChainOutcome::Aborted`]. The default.
    Abort,
    /// Go on with the next step as if this one had succeeded.
    Skip,
    /// Run this compensating step (a rollback), then stop the chain:
    /// [`ChainOutcome::Compensated`].
    Compensate(Box<Step<E>>),
}

/// What a chain does when a step succeeds.
///
/// # Examples
///
/// ```
/// use gosling::schedule::{OnSuccess, Step};
///
/// let step = Step::new("already done?", |_| Ok::<(), String>(())).on_success(OnSuccess::Stop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnSuccess {
    /// Go on with the next step. The default.
    #[default]
    Continue,
    /// End the chain here, successfully: [`ChainOutcome::Stopped`].
    Stop,
}

/// One step of a [`Chain`]: a name, a body, and its actions.
///
/// # Examples
///
/// ```
/// use gosling::retry::RetryPolicy;
/// use gosling::schedule::{OnError, Step};
/// use std::time::Duration;
///
/// let deploy = Step::new("deploy", |_ctx| Ok::<(), String>(()))
///     .retry(RetryPolicy::fixed(2, Duration::from_secs(1)))
///     .on_error(OnError::Abort);
/// assert_eq!(deploy.name(), "deploy");
/// ```
pub struct Step<E> {
    name: String,
    body: StepBody<E>,
    retry: Option<RetryPolicy>,
    on_error: OnError<E>,
    on_success: OnSuccess,
}

impl<E> Step<E> {
    /// A step named `name` running `body` with the chain's context.
    ///
    /// # Examples
    ///
    /// ```
    /// let step = gosling::schedule::Step::new("backup", |_ctx| Ok::<(), std::io::Error>(()));
    /// ```
    pub fn new<F>(name: impl Into<String>, body: F) -> Step<E>
    where
        F: Fn(&Context) -> Result<(), E> + Send + Sync + 'static,
    {
        Step {
            name: name.into(),
            body: Arc::new(body),
            retry: None,
            on_error: OnError::Abort,
            on_success: OnSuccess::Continue,
        }
    }

    /// The step's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let step = gosling::schedule::Step::new("verify", |_| Ok::<(), String>(()));
    /// assert_eq!(step.name(), "verify");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Retries the step as `policy` says before its
    /// [`on_error`](Step::on_error) action applies.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// use std::time::Duration;
    /// let step = gosling::schedule::Step::new("upload", |_| Err::<(), _>("timeout"))
    ///     .retry(RetryPolicy::fixed(3, Duration::from_millis(100)));
    /// ```
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Step<E> {
        self.retry = Some(policy);
        self
    }

    /// What to do when the step fails (default [`OnError::Abort`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{OnError, Step};
    /// let step = Step::new("notify", |_| Err::<(), _>("smtp down")).on_error(OnError::Skip);
    /// ```
    #[must_use]
    pub fn on_error(mut self, action: OnError<E>) -> Step<E> {
        self.on_error = action;
        self
    }

    /// Shorthand for `on_error(OnError::Compensate(Box::new(step)))`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::Step;
    /// let verify = Step::new("verify", |_| Err::<(), _>("health check failed"))
    ///     .compensate_with(Step::new("rollback", |_| Ok(())));
    /// ```
    #[must_use]
    pub fn compensate_with(self, step: Step<E>) -> Step<E> {
        self.on_error(OnError::Compensate(Box::new(step)))
    }

    /// What to do when the step succeeds (default [`OnSuccess::Continue`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{OnSuccess, Step};
    /// let step = Step::new("nothing to do?", |_| Ok::<(), String>(())).on_success(OnSuccess::Stop);
    /// ```
    #[must_use]
    pub fn on_success(mut self, action: OnSuccess) -> Step<E> {
        self.on_success = action;
        self
    }
}

impl<E> fmt::Debug for Step<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step")
            .field("name", &self.name)
            .field("retry", &self.retry.is_some())
            .field("on_success", &self.on_success)
            .finish_non_exhaustive()
    }
}

/// Steps run in sequence, each with on-success and on-error actions.
///
/// Run it on the caller's thread with [`run`](Chain::run), on a pool with
/// [`start`](Chain::start), or on a schedule with
/// [`JobBuilder::start_chain`](super::JobBuilder::start_chain). Every step
/// receives the chain's context (a child of the one given), so its values
/// are visible and cancelling it stops the chain before the next step or
/// retry. A panicking step ends the chain [`ChainOutcome::Panicked`].
///
/// # Examples
///
/// The backup → deploy → verify chain, rolling back when verify fails:
///
/// ```
/// use gosling::context::Context;
/// use gosling::schedule::{Chain, ChainOutcome, Step};
/// use std::sync::{Arc, Mutex};
///
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let say = |what: &'static str| {
///     let log = Arc::clone(&log);
///     move |_: &Context| {
///         log.lock().unwrap().push(what);
///         if what == "verify" { Err("health check failed") } else { Ok(()) }
///     }
/// };
/// let chain = Chain::new()
///     .step(Step::new("backup", say("backup")))
///     .step(Step::new("deploy", say("deploy")))
///     .step(Step::new("verify", say("verify")).compensate_with(Step::new("rollback", say("rollback"))));
///
/// let report = chain.run(&Context::new());
/// assert_eq!(*log.lock().unwrap(), ["backup", "deploy", "verify", "rollback"]);
/// assert_eq!(
///     report.outcome(),
///     &ChainOutcome::Compensated { step: "verify".into(), rolled_back: true }
/// );
/// ```
pub struct Chain<E> {
    steps: Vec<Step<E>>,
}

impl<E> Chain<E> {
    /// An empty chain (which completes at once).
    ///
    /// # Examples
    ///
    /// ```
    /// let chain = gosling::schedule::Chain::<String>::new();
    /// assert_eq!(chain.len(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Chain<E> {
        Chain { steps: Vec::new() }
    }

    /// Appends a step.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Chain, Step};
    /// let chain = Chain::new().step(Step::new("a", |_| Ok::<(), String>(())));
    /// assert_eq!(chain.len(), 1);
    /// ```
    #[must_use]
    pub fn step(mut self, step: Step<E>) -> Chain<E> {
        self.steps.push(step);
        self
    }

    /// The number of steps (compensating steps not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::schedule::Chain::<String>::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True for a chain with no steps.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::schedule::Chain::<String>::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The steps, frozen to be shared by every run.
    pub(crate) fn into_steps(self) -> Arc<[Step<E>]> {
        Arc::from(self.steps)
    }
}

impl<E: Any + Send + 'static> Chain<E> {
    /// Runs the chain on the caller's thread and returns its report.
    /// Backoffs between retries are sleeps on the chain's context (a child
    /// of `ctx`): cancelling `ctx` ends a wait at once, and the chain ends
    /// [`ChainOutcome::Cancelled`] before its next step or retry.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::retry::RetryPolicy;
    /// use gosling::schedule::{Chain, Step};
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    ///
    /// let tries = AtomicU32::new(0);
    /// let chain = Chain::new().step(
    ///     Step::new("flaky", move |_| {
    ///         if tries.fetch_add(1, Ordering::Relaxed) < 2 { Err("busy") } else { Ok(()) }
    ///     })
    ///     .retry(RetryPolicy::fixed(5, Duration::ZERO)),
    /// );
    /// let report = chain.run(&Context::new());
    /// assert!(report.outcome().is_success());
    /// assert_eq!(report.steps()[0].attempts(), 3);
    /// ```
    pub fn run(self, ctx: &Context) -> ChainReport<E> {
        let ctx = ctx.child();
        let clock = ctx.clock().clone();
        let mut driver = Driver::new(self.into_steps());
        loop {
            match driver.advance(&ctx, &clock) {
                Next::Continue => {}
                Next::Wait(delay) => {
                    // A cancellation is seen by the next `advance`.
                    let _ = ctx.sleep(delay);
                }
                Next::Done(report) => return report,
            }
        }
    }

    /// Runs the chain on `pool`: each step on a worker, each retry backoff
    /// on the pool's timer (no worker sleeps through it). Backoffs and a
    /// step policy's [`max_elapsed`](RetryPolicy::max_elapsed) are
    /// measured on the pool's clock. The chain's context is a child of
    /// `ctx`; [`ChainHandle::cancel`] (or cancelling `ctx`) cancels it,
    /// which also ends a backoff wait at once.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::PoolClosed`] when the pool is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::schedule::{Chain, Step};
    ///
    /// let pool = gosling::Pool::new(2)?;
    /// let chain = Chain::new()
    ///     .step(Step::new("fetch", |_| Ok::<(), String>(())))
    ///     .step(Step::new("store", |_| Ok(())));
    /// let report = chain.start(&pool, &Context::new())?.wait();
    /// assert!(report.outcome().is_success());
    /// assert_eq!(report.steps().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start(self, pool: &Pool, ctx: &Context) -> Result<ChainHandle<E>, ScheduleError> {
        let link = pool.link();
        if link.is_closed() {
            return Err(ScheduleError::PoolClosed);
        }
        let ctx = ctx.child();
        let slot = Arc::new(ReportSlot {
            report: Mutex::new(None),
            cv: Condvar::new(),
        });
        let done_slot = Arc::clone(&slot);
        let run = PoolRun {
            link,
            clock: pool.clock().clone(),
            ctx: ctx.clone(),
            driver: Driver::new(self.into_steps()),
            done: Box::new(move |report| {
                *done_slot.report.lock() = Some(report);
                done_slot.cv.notify_all();
            }),
        };
        run.submit();
        Ok(ChainHandle { slot, ctx })
    }
}

impl<E> Default for Chain<E> {
    fn default() -> Self {
        Chain::new()
    }
}

impl<E> fmt::Debug for Chain<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.steps.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("Chain").field("steps", &names).finish()
    }
}

/// How a chain ended.
///
/// # Examples
///
/// ```
/// use gosling::schedule::ChainOutcome;
/// assert!(ChainOutcome::Completed.is_success());
/// assert!(!ChainOutcome::Aborted { step: "deploy".into() }.is_success());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainOutcome {
    /// Every step ran (failed steps with [`OnError::Skip`] included).
    Completed,
    /// A step with [`OnSuccess::Stop`] ended the chain early.
    Stopped {
        /// The step that stopped it.
        step: String,
    },
    /// A step failed with [`OnError::Abort`].
    Aborted {
        /// The failed step.
        step: String,
    },
    /// A step failed and its compensating step ran.
    Compensated {
        /// The failed step.
        step: String,
        /// Whether the compensating step succeeded.
        rolled_back: bool,
    },
    /// The chain's context was cancelled (or its pool shut down) before
    /// this step or its retry.
    Cancelled {
        /// The step that did not run.
        step: String,
    },
    /// A step panicked.
    Panicked {
        /// The step.
        step: String,
        /// The panic's message.
        message: String,
    },
}

impl ChainOutcome {
    /// True for [`Completed`](ChainOutcome::Completed) and
    /// [`Stopped`](ChainOutcome::Stopped).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::ChainOutcome;
    /// assert!(ChainOutcome::Stopped { step: "check".into() }.is_success());
    /// ```
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, ChainOutcome::Completed | ChainOutcome::Stopped { .. })
    }
}

/// What one step did in a chain's run.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::schedule::{Chain, Step};
///
/// let report = Chain::new().step(Step::new("only", |_| Ok::<(), String>(()))).run(&Context::new());
/// let step = &report.steps()[0];
/// assert_eq!((step.name(), step.attempts(), step.is_compensation()), ("only", 1, false));
/// assert!(step.result().is_ok());
/// ```
#[derive(Debug)]
pub struct StepRun<E> {
    name: String,
    attempts: u32,
    result: Result<(), E>,
    compensation: bool,
}

impl<E> StepRun<E> {
    /// The step's name.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, Step}};
    /// let report = Chain::new().step(Step::new("a", |_| Ok::<(), String>(()))).run(&Context::new());
    /// assert_eq!(report.steps()[0].name(), "a");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Attempts made (1 + retries).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, Step}};
    /// let report = Chain::new().step(Step::new("a", |_| Ok::<(), String>(()))).run(&Context::new());
    /// assert_eq!(report.steps()[0].attempts(), 1);
    /// ```
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The last attempt's result.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, OnError, Step}};
    /// let report = Chain::new()
    ///     .step(Step::new("a", |_| Err("no")).on_error(OnError::Skip))
    ///     .run(&Context::new());
    /// assert_eq!(report.steps()[0].result(), &Err("no"));
    /// assert!(report.outcome().is_success());
    /// ```
    pub fn result(&self) -> &Result<(), E> {
        &self.result
    }

    /// True for a compensating step.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, Step}};
    /// let report = Chain::new()
    ///     .step(Step::new("a", |_| Err("no")).compensate_with(Step::new("undo", |_| Ok(()))))
    ///     .run(&Context::new());
    /// assert!(report.steps()[1].is_compensation());
    /// ```
    #[must_use]
    pub fn is_compensation(&self) -> bool {
        self.compensation
    }
}

/// What a chain's run did: its outcome and each step that ran, in order.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::schedule::{Chain, ChainOutcome, Step};
///
/// let report = Chain::new()
///     .step(Step::new("a", |_| Ok::<(), &str>(())))
///     .step(Step::new("b", |_| Err("broken")))
///     .step(Step::new("c", |_| Ok(())))
///     .run(&Context::new());
/// assert_eq!(report.outcome(), &ChainOutcome::Aborted { step: "b".into() });
/// assert_eq!(report.steps().len(), 2); // c never ran
/// ```
#[derive(Debug)]
pub struct ChainReport<E> {
    outcome: ChainOutcome,
    steps: Vec<StepRun<E>>,
}

impl<E> ChainReport<E> {
    /// How the chain ended.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::Chain};
    /// assert!(Chain::<String>::new().run(&Context::new()).outcome().is_success());
    /// ```
    #[must_use]
    pub fn outcome(&self) -> &ChainOutcome {
        &self.outcome
    }

    /// The steps that ran, in order, compensating steps included.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::Chain};
    /// assert!(Chain::<String>::new().run(&Context::new()).steps().is_empty());
    /// ```
    #[must_use]
    pub fn steps(&self) -> &[StepRun<E>] {
        &self.steps
    }

    /// Consumes the report into its parts.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::Chain};
    /// let (outcome, steps) = Chain::<String>::new().run(&Context::new()).into_parts();
    /// assert!(outcome.is_success() && steps.is_empty());
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (ChainOutcome, Vec<StepRun<E>>) {
        (self.outcome, self.steps)
    }

    /// The error of the step that failed the chain (its last attempt's):
    /// for [`Aborted`](ChainOutcome::Aborted) and
    /// [`Compensated`](ChainOutcome::Compensated); `None` otherwise.
    pub(crate) fn failed_error(&self) -> Option<&E> {
        let step = match &self.outcome {
            ChainOutcome::Aborted { step } | ChainOutcome::Compensated { step, .. } => step,
            _ => return None,
        };
        self.steps
            .iter()
            .rev()
            .find(|s| s.name == *step && !s.compensation)
            .and_then(|s| s.result.as_ref().err())
    }
}

impl<E: fmt::Display> ChainReport<E> {
    /// One line: the outcome and the failed step's error, for logs and for
    /// a scheduled chain's [`RunOutcome::Failed`](super::RunOutcome::Failed).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, Step}};
    /// let report = Chain::new().step(Step::new("b", |_| Err::<(), _>("broken"))).run(&Context::new());
    /// assert_eq!(report.summary(), "step `b` failed: broken; chain aborted");
    /// ```
    #[must_use]
    pub fn summary(&self) -> String {
        let failed = || {
            self.failed_error()
                .map_or_else(String::new, |e| format!(": {e}"))
        };
        match &self.outcome {
            ChainOutcome::Completed => "chain completed".to_string(),
            ChainOutcome::Stopped { step } => format!("chain stopped after step `{step}`"),
            ChainOutcome::Aborted { step } => {
                format!("step `{step}` failed{}; chain aborted", failed())
            }
            ChainOutcome::Compensated { step, rolled_back } => format!(
                "step `{step}` failed{}; {}",
                failed(),
                if *rolled_back {
                    "compensated"
                } else {
                    "compensation failed too"
                }
            ),
            ChainOutcome::Cancelled { step } => format!("chain cancelled before step `{step}`"),
            ChainOutcome::Panicked { step, message } => {
                format!("step `{step}` panicked: {message}")
            }
        }
    }
}

/// A chain running on a pool ([`Chain::start`]).
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::schedule::{Chain, Step};
/// use std::time::Duration;
///
/// let pool = gosling::Pool::new(1)?;
/// let handle = Chain::new().step(Step::new("a", |_| Ok::<(), String>(()))).start(&pool, &Context::new())?;
/// let report = handle.wait_timeout(Duration::from_secs(5)).unwrap();
/// assert!(report.outcome().is_success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping the handle loses the chain's report"]
pub struct ChainHandle<E> {
    slot: Arc<ReportSlot<E>>,
    ctx: Context,
}

struct ReportSlot<E> {
    report: Mutex<Option<ChainReport<E>>>,
    cv: Condvar,
}

impl<E> ChainHandle<E> {
    /// Waits for the chain to end and returns its report.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, Step}};
    /// # let pool = gosling::Pool::new(1)?;
    /// let report = Chain::new().step(Step::new("a", |_| Ok::<(), String>(()))).start(&pool, &Context::new())?.wait();
    /// assert_eq!(report.steps().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait(self) -> ChainReport<E> {
        let mut report = self.slot.report.lock();
        loop {
            if let Some(report) = report.take() {
                return report;
            }
            report = self.slot.cv.wait(report);
        }
    }

    /// Waits at most `timeout` (real time); gives the handle back if the
    /// chain has not ended. A timeout too long for an `Instant`
    /// (`Duration::MAX`) waits with no deadline, as [`wait`](ChainHandle::wait).
    ///
    /// # Errors
    ///
    /// The handle itself, when the chain is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, Step}};
    /// # use std::time::Duration;
    /// # let pool = gosling::Pool::new(1)?;
    /// let handle = Chain::new().step(Step::new("a", |_| Ok::<(), String>(()))).start(&pool, &Context::new())?;
    /// assert!(handle.wait_timeout(Duration::from_secs(5)).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_timeout(self, timeout: Duration) -> Result<ChainReport<E>, ChainHandle<E>> {
        // A timeout too long for an `Instant` (`Duration::MAX`) waits
        // without a deadline.
        self.wait_for_report(Instant::now().checked_add(timeout))
    }

    /// Waits until the real-time instant `deadline` at the latest; gives the
    /// handle back if the chain has not ended by then.
    ///
    /// # Errors
    ///
    /// The handle itself, when the chain is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, Step}};
    /// # use std::time::{Duration, Instant};
    /// # let pool = gosling::Pool::new(1)?;
    /// let handle = Chain::new().step(Step::new("a", |_| Ok::<(), String>(()))).start(&pool, &Context::new())?;
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// assert!(handle.wait_deadline(deadline).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_deadline(self, deadline: Instant) -> Result<ChainReport<E>, ChainHandle<E>> {
        self.wait_for_report(Some(deadline))
    }

    /// [`wait_deadline`](ChainHandle::wait_deadline), where `None` waits
    /// with no deadline.
    fn wait_for_report(self, deadline: Option<Instant>) -> Result<ChainReport<E>, ChainHandle<E>> {
        {
            let mut report = self.slot.report.lock();
            loop {
                if let Some(report) = report.take() {
                    return Ok(report);
                }
                let Some(deadline) = deadline else {
                    report = self.slot.cv.wait(report);
                    continue;
                };
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                report = self.slot.cv.wait_timeout(report, deadline - now).0;
            }
        }
        Err(self)
    }

    /// Cancels the chain's context: the running step sees it, and the chain
    /// ends [`ChainOutcome::Cancelled`] before its next step or retry. A
    /// chain waiting out a retry backoff on the timer ends at once (its
    /// timer entry is removed).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::{context::Context, schedule::{Chain, Step}};
    /// # let pool = gosling::Pool::new(1)?;
    /// let handle = Chain::new().step(Step::new("a", |_| Ok::<(), String>(()))).start(&pool, &Context::new())?;
    /// handle.cancel();
    /// let _ = handle.wait(); // completed or cancelled, depending on the race
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) {
        self.ctx.cancel();
    }
}

impl<E> fmt::Debug for ChainHandle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainHandle")
            .field("finished", &self.slot.report.lock().is_some())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// The state machine.

enum Next<E> {
    /// Run `advance` again now.
    Continue,
    /// Run `advance` again after this backoff.
    Wait(Duration),
    Done(ChainReport<E>),
}

/// Where a chain's run is.
struct Driver<E> {
    steps: Arc<[Step<E>]>,
    index: usize,
    /// `Some(i)`: running the compensating step of step `i`.
    compensating: Option<usize>,
    /// Attempts made on the current step.
    attempt: u32,
    started: Option<Instant>,
    previous: Duration,
    rng: Option<JitterRng>,
    records: Vec<StepRun<E>>,
}

impl<E: Any + Send + 'static> Driver<E> {
    fn new(steps: Arc<[Step<E>]>) -> Driver<E> {
        Driver {
            steps,
            index: 0,
            compensating: None,
            attempt: 0,
            started: None,
            previous: Duration::ZERO,
            rng: None,
            records: Vec::new(),
        }
    }

    fn done(&mut self, outcome: ChainOutcome) -> Next<E> {
        Next::Done(ChainReport {
            outcome,
            steps: std::mem::take(&mut self.records),
        })
    }

    /// The step to run now.
    fn current(&self) -> Option<&Step<E>> {
        match self.compensating {
            Some(i) => match &self.steps[i].on_error {
                OnError::Compensate(step) => Some(step),
                _ => None,
            },
            None => self.steps.get(self.index),
        }
    }

    fn name_at(&self) -> String {
        self.current().map_or_else(String::new, |s| s.name.clone())
    }

    /// A cancelled chain's end (also a pool that shut down under it).
    fn cancelled(&mut self) -> ChainReport<E> {
        let step = self.name_at();
        match self.done(ChainOutcome::Cancelled { step }) {
            Next::Done(report) => report,
            _ => unreachable!(),
        }
    }

    /// Runs one attempt of the current step and says what comes next.
    /// `clock` measures the step's time for its policy's `max_elapsed`: the
    /// clock its backoffs are waited on.
    fn advance(&mut self, ctx: &Context, clock: &Clock) -> Next<E> {
        let Some(step) = self.current() else {
            return self.done(ChainOutcome::Completed);
        };
        if ctx.is_cancelled() {
            let step = step.name.clone();
            return self.done(ChainOutcome::Cancelled { step });
        }
        let body = Arc::clone(&step.body);
        let name = step.name.clone();
        let retry = step.retry.clone();
        if self.attempt == 0 {
            self.started = Some(clock.now());
        }
        self.attempt += 1;
        let result = match catch_unwind(AssertUnwindSafe(|| body(ctx))) {
            Ok(result) => result,
            Err(payload) => {
                let message = panic_message(&*payload);
                return self.done(ChainOutcome::Panicked {
                    step: name,
                    message,
                });
            }
        };
        let error = match result {
            Ok(()) => {
                self.record(name.clone(), Ok(()));
                if let Some(failed) = self.compensating {
                    let step = self.steps[failed].name.clone();
                    return self.done(ChainOutcome::Compensated {
                        step,
                        rolled_back: true,
                    });
                }
                let stop = self.steps[self.index].on_success == OnSuccess::Stop;
                if stop {
                    return self.done(ChainOutcome::Stopped { step: name });
                }
                self.index += 1;
                return Next::Continue;
            }
            Err(error) => error,
        };
        if let Some(policy) = retry {
            let elapsed = self
                .started
                .map_or(Duration::ZERO, |s| clock.now().saturating_duration_since(s));
            let rng = self.rng.get_or_insert_with(JitterRng::from_entropy);
            let decision = policy.decide(
                self.attempt,
                &Failure::Error(&error),
                elapsed,
                self.previous,
                rng,
            );
            if let Decision::RetryAfter(delay) = decision {
                self.previous = delay;
                return Next::Wait(delay);
            }
        }
        self.record(name.clone(), Err(error));
        if let Some(failed) = self.compensating {
            let step = self.steps[failed].name.clone();
            return self.done(ChainOutcome::Compensated {
                step,
                rolled_back: false,
            });
        }
        match &self.steps[self.index].on_error {
            OnError::Abort => self.done(ChainOutcome::Aborted { step: name }),
            OnError::Skip => {
                self.index += 1;
                Next::Continue
            }
            OnError::Compensate(_) => {
                self.compensating = Some(self.index);
                Next::Continue
            }
        }
    }

    fn record(&mut self, name: String, result: Result<(), E>) {
        self.records.push(StepRun {
            name,
            attempts: self.attempt,
            result,
            compensation: self.compensating.is_some(),
        });
        self.attempt = 0;
        self.started = None;
        self.previous = Duration::ZERO;
    }
}

// ---------------------------------------------------------------------------
// The pool driver.

type Done<E> = Box<dyn FnOnce(ChainReport<E>) + Send>;

/// A chain run driven on a pool: steps on workers, waits on the timer.
struct PoolRun<E> {
    link: PoolLink,
    clock: Clock,
    ctx: Context,
    driver: Driver<E>,
    done: Done<E>,
}

impl<E: Any + Send + 'static> PoolRun<E> {
    /// Runs steps on this thread (a worker) until the chain ends or waits.
    fn drive(mut self, ctx: &Context) {
        loop {
            match self.driver.advance(ctx, &self.clock) {
                Next::Continue => {}
                Next::Done(report) => return (self.done)(report),
                Next::Wait(delay) => return self.wait(delay),
            }
        }
    }

    /// Puts the next attempt on the timer, `delay` from now on the pool's
    /// clock (a delay too long for an `Instant` waits a hundred years: until
    /// a cancel or the shutdown). The wait is tied to the chain's context:
    /// cancelling it removes the entry and ends the chain at once.
    fn wait(self, delay: Duration) {
        let at = deadline_after(self.clock.now(), delay);
        let Some(timer) = self.link.timer() else {
            return self.end_cancelled(); // the pool is gone
        };
        let ctx = self.ctx.clone();
        let waiting = Arc::new(Waiting {
            state: Mutex::new(WaitState {
                run: Some(self),
                key: None,
            }),
        });
        let entry = WaitEntry {
            waiting: Arc::clone(&waiting),
            fired: false,
        };
        // `None`: the timer has stopped; the entry, dropped unfired, has
        // ended the chain.
        if let Some(key) = timer.schedule(at, Box::new(move || entry.fire())) {
            waiting.state.lock().key = Some(key);
        }
        drop(timer);
        let weak: Weak<Waiting<E>> = Arc::downgrade(&waiting);
        ctx.subscribe(weak);
        // Nothing is registered on a context already cancelled.
        if ctx.is_cancelled() {
            waiting.wake();
        }
    }

    /// Submits the next stretch of the chain as a pool task (from the timer
    /// thread: never blocks).
    fn submit(self) {
        let slot = Arc::new(Mutex::new(Some(self)));
        let (run_slot, end_slot) = (Arc::clone(&slot), Arc::clone(&slot));
        let parent = match &*slot.lock() {
            Some(run) => (run.ctx.clone(), run.link.clone()),
            None => return,
        };
        let (ctx, link) = parent;
        let task = Task::new(move |task_ctx: &Context| {
            let run = run_slot.lock().take();
            if let Some(run) = run {
                run.drive(task_ctx);
            }
        })
        .context(&ctx)
        .on_complete(move |result: &Result<(), TaskError>| {
            if result.is_err() {
                // Never ran (cancelled, shut down): end the chain here.
                let run = end_slot.lock().take();
                if let Some(run) = run {
                    run.end_cancelled();
                }
            }
        });
        if let Err(refused) = link.try_submit_task(task) {
            drop(refused);
            let run = slot.lock().take();
            if let Some(run) = run {
                run.end_cancelled();
            }
        }
    }

    fn end_cancelled(mut self) {
        let report = self.driver.cancelled();
        (self.done)(report);
    }
}

/// A chain waiting out a backoff on the timer. Whoever takes the run first
/// decides how the wait ends: the timer entry firing (the next attempt is
/// submitted), the chain's context being cancelled (the entry is removed and
/// the chain ends `Cancelled` at once), or the entry dropped unfired because
/// the timer stopped with its pool (the chain ends `Cancelled`). So the run
/// is never lost and ends once.
struct Waiting<E: Any + Send + 'static> {
    state: Mutex<WaitState<E>>,
}

struct WaitState<E: Any + Send + 'static> {
    run: Option<PoolRun<E>>,
    /// The timer entry, once scheduled.
    key: Option<TimerKey>,
}

impl<E: Any + Send + 'static> Waiting<E> {
    fn take_run(&self) -> Option<PoolRun<E>> {
        self.state.lock().run.take()
    }
}

impl<E: Any + Send + 'static> Wake for Waiting<E> {
    /// The chain's context was cancelled.
    fn wake(&self) {
        let (run, key) = {
            let mut st = self.state.lock();
            (st.run.take(), st.key.take())
        };
        let Some(run) = run else {
            return; // fired or ended already
        };
        // Outside our lock: the removed entry is dropped here, and its drop
        // takes the lock (and finds no run).
        if let (Some(key), Some(timer)) = (key, run.link.timer()) {
            timer.cancel(key);
        }
        run.end_cancelled();
    }
}

/// The timer entry of a [`Waiting`] chain.
struct WaitEntry<E: Any + Send + 'static> {
    waiting: Arc<Waiting<E>>,
    fired: bool,
}

impl<E: Any + Send + 'static> WaitEntry<E> {
    fn fire(mut self) {
        self.fired = true;
        if let Some(run) = self.waiting.take_run() {
            run.submit();
        }
    }
}

impl<E: Any + Send + 'static> Drop for WaitEntry<E> {
    fn drop(&mut self) {
        if !self.fired {
            if let Some(run) = self.waiting.take_run() {
                run.end_cancelled();
            }
        }
    }
}

/// Runs `chain` on the pool behind `link` from a worker, starting inline on
/// the calling worker with `ctx`; `done` receives the report.
pub(crate) fn run_detached<E: Any + Send + 'static>(
    steps: &Arc<[Step<E>]>,
    link: PoolLink,
    clock: Clock,
    ctx: &Context,
    done: Done<E>,
) {
    let run = PoolRun {
        link,
        clock,
        ctx: ctx.clone(),
        driver: Driver::new(Arc::clone(steps)),
        done,
    };
    run.drive(ctx);
}
