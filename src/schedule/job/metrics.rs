//! A job as a source of metrics ([`JobHandle::metrics_source`]).

use super::JobHandle;
use super::core::JobCore;
use super::status::JobStatus;
use crate::observe::{Collect, Collector};
use std::sync::{Arc, Weak};
use std::time::UNIX_EPOCH;

/// Holds the job weakly: a job whose handle and runs are gone reports
/// nothing.
struct JobSource(Weak<JobCore>);

impl JobHandle {
    /// A source of this job's metrics, to register in a
    /// [`Metrics`](crate::observe::Metrics) collection (label it:
    /// `job="backup"`). It holds the job weakly.
    ///
    /// | metric | kind | what |
    /// |---|---|---|
    /// | `job_runs_total{outcome=…}` | counter | finished runs: `succeeded`, `failed` (failed, panicked or timed out), `cancelled` |
    /// | `job_retries_total` | counter | retries of failed runs started |
    /// | `job_skipped_total{reason=…}` | counter | fires without a run: `condition`, `overlap`, `missed` |
    /// | `job_rejected_total` | counter | runs the pool refused |
    /// | `job_in_flight` | gauge | runs in flight |
    /// | `job_waiting` | gauge | runs waiting for the one in flight |
    /// | `job_active` | gauge | 1 while the job fires (not paused, completed, cancelled or stopped) |
    /// | `job_next_run_timestamp_seconds` | gauge | the next fire, in Unix seconds (absent when there is none) |
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    /// use gosling::schedule::Scheduler;
    /// use gosling::time::ManualClock;
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let manual = ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_000));
    /// let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
    /// let job = Scheduler::new(&pool).every(Duration::from_secs(60)).start(|_| Ok::<(), String>(()))?;
    /// let metrics = Metrics::new();
    /// metrics.label("job", "sync")?.register(job.metrics_source())?;
    /// manual.advance(Duration::from_secs(60));
    /// assert!(job.wait_runs_timeout(1, Duration::from_secs(10)));
    /// let snap = metrics.snapshot();
    /// let runs = snap.value("job_runs_total", &[("job", "sync"), ("outcome", "succeeded")]);
    /// assert_eq!(runs, Some(1.0));
    /// assert_eq!(snap.value("job_next_run_timestamp_seconds", &[("job", "sync")]), Some(1_120.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn metrics_source(&self) -> Arc<dyn Collect> {
        Arc::new(JobSource(Arc::downgrade(&self.core)))
    }
}

impl Collect for JobSource {
    fn collect(&self, out: &mut Collector<'_>) {
        let Some(core) = self.0.upgrade() else {
            return;
        };
        let stats = core.state.lock().stats;
        for (outcome, n) in [
            ("succeeded", stats.succeeded),
            ("failed", stats.failed),
            ("cancelled", stats.cancelled),
        ] {
            out.counter_with(
                "job_runs_total",
                "Finished runs of the job, by outcome.",
                &[("outcome", outcome)],
                n as f64,
            );
        }
        out.counter(
            "job_retries_total",
            "Retries of failed runs started.",
            stats.retries as f64,
        );
        for (reason, n) in [
            ("condition", stats.skipped_condition),
            ("overlap", stats.skipped_overlap),
            ("missed", stats.skipped_missed),
        ] {
            out.counter_with(
                "job_skipped_total",
                "Fires that did not get a run, by reason.",
                &[("reason", reason)],
                n as f64,
            );
        }
        out.counter(
            "job_rejected_total",
            "Runs the pool refused.",
            stats.rejected as f64,
        );
        out.gauge("job_in_flight", "Runs in flight.", stats.in_flight as f64);
        out.gauge(
            "job_waiting",
            "Runs waiting for the one in flight.",
            stats.waiting as f64,
        );
        let active = core.status() == JobStatus::Active;
        out.gauge(
            "job_active",
            "1 while the job fires.",
            f64::from(u8::from(active)),
        );
        if let Some(next) = core.next_run_wall() {
            if let Ok(since) = next.duration_since(UNIX_EPOCH) {
                out.gauge(
                    "job_next_run_timestamp_seconds",
                    "The job's next fire, in Unix seconds.",
                    since.as_secs_f64(),
                );
            }
        }
    }
}
