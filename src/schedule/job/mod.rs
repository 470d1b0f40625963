//! A scheduled job: its state machine on the pool's timer ([`JobCore`],
//! crate-private) and the handle its owner keeps ([`JobHandle`]).
//!
//! - `policy.rs`: [`MissedRun`] and [`Overlap`], the policies a
//!   [`JobBuilder`](super::JobBuilder) sets.
//! - `status.rs`: what a job reports — [`JobStatus`], [`RunOutcome`],
//!   [`JobStats`].
//! - `handle.rs`: [`JobHandle`], thin, forwarding to the core.
//! - `metrics.rs`: the job as a source of metrics
//!   ([`JobHandle::metrics_source`]).
//! - `core.rs`: [`JobCore`] and the state its lock protects, the one timer
//!   entry (`Fire`), and the transitions the handle asks for.
//! - `fire.rs`: what a fire does on the timer thread — which fire times came,
//!   the missed-run and overlap policies, arming the next fire.
//! - `run.rs`: a run's life on the pool — submitting it, the body, its
//!   completion, and the retries of a failed run.
//!
//! Imports the calendar (`../calendar/`, for cron cadences), the pool's
//! link and timer, tasks, contexts, retry policies, `observe` and `sync`; never the
//! scheduler (`../scheduler.rs`) or chains (`../chain.rs`), which build on
//! it.
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

mod core;
mod fire;
mod handle;
mod metrics;
mod policy;
mod run;
mod status;

pub(crate) use core::{Cadence, Exec, JobConfig, JobCore, Predicate, RunFailure, Work};
pub use handle::JobHandle;
pub use policy::{MissedRun, Overlap};
pub(crate) use run::RetryKind;
pub use status::{JobStats, JobStatus, RunOutcome};
