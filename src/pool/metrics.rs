//! The pool as a source of metrics (`Builder::metrics`) and its health
//! check (`Pool::health_check`): the counters and
//! gauges from one [`Inner::stats`] reading, the time histograms summed
//! over the pool's and its workers' `TaskTimes` (which the tasks feed; see
//! `task/env.rs`).

use super::{Inner, Pool};
use crate::observe::CheckResult;
use crate::observe::{Collect, Collector, HistogramSnapshot};
use std::sync::Arc;

impl Collect for Inner {
    fn collect(&self, out: &mut Collector<'_>) {
        let s = self.stats();
        let counters = [
            (
                "tasks_scheduled_total",
                "Tasks accepted by the pool.",
                s.submitted,
            ),
            (
                "tasks_completed_total",
                "Tasks that returned a value.",
                s.succeeded,
            ),
            (
                "tasks_failed_total",
                "Tasks that returned an error, after their last retry.",
                s.failed,
            ),
            ("tasks_panicked_total", "Tasks that panicked.", s.panicked),
            (
                "tasks_cancelled_total",
                "Tasks cancelled by a handle, a context or a shutdown.",
                s.cancelled,
            ),
            (
                "tasks_timed_out_total",
                "Tasks that passed their deadline.",
                s.timed_out,
            ),
            (
                "tasks_rejected_total",
                "Submissions refused: pool closed, queue full, or the wait for room ran out.",
                s.rejected,
            ),
            (
                "retry_count_total",
                "Failed attempts scheduled for another try.",
                s.retries,
            ),
        ];
        for (name, help, value) in counters {
            out.counter(name, help, value as f64);
        }
        out.counter(
            "worker_busy_seconds_total",
            "Time workers spent running tasks, summed over workers.",
            s.busy_time.as_secs_f64(),
        );
        let gauges = [
            ("tasks_running", "Tasks running now.", s.busy),
            (
                "tasks_retrying",
                "Tasks waiting for their next attempt.",
                s.retrying,
            ),
            ("queue_depth", "Tasks waiting to start.", s.queued),
            ("workers", "Live worker threads.", s.workers),
            ("workers_busy", "Workers running a task.", s.busy),
        ];
        for (name, help, value) in gauges {
            out.gauge(name, help, value as f64);
        }
        if let Some((latency, run)) = self.task_times() {
            out.histogram(
                "task_latency_seconds",
                "Time from a task's submission until its outcome.",
                &latency,
            );
            out.histogram("task_run_seconds", "Time one attempt's body ran.", &run);
        }
    }
}

impl Inner {
    /// The latency and run-time histograms summed over the pool's own and
    /// every live worker's, under the state lock (a worker that exits
    /// hands its counts to the pool's under it).
    fn task_times(&self) -> Option<(HistogramSnapshot, HistogramSnapshot)> {
        let pool = self.tally.times.as_ref()?;
        let state = self.state.lock();
        let mut latency = pool.latency.snapshot();
        let mut run = pool.run.snapshot();
        for entry in &state.workers {
            if let Some(times) = &entry.slot.tally.times {
                latency.merge(&times.latency.snapshot());
                run.merge(&times.run.snapshot());
            }
        }
        Some((latency, run))
    }
}

impl Pool {
    /// A health check of this pool, for [`Health::check`](crate::observe::Health::check):
    /// unhealthy when the pool is closed, has no live worker or has been
    /// dropped; degraded when its queue holds more than `saturation` (0 to
    /// 1) of its capacity; healthy otherwise. It holds the pool weakly.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Health, HealthStatus};
    /// use gosling::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(1)?;
    /// let health = Health::new();
    /// health.check("ingest", Duration::from_secs(1), pool.health_check(0.8))?;
    /// assert_eq!(health.run().status, HealthStatus::Healthy);
    /// pool.close();
    /// let report = health.run();
    /// assert_eq!(report.status, HealthStatus::Unhealthy);
    /// assert_eq!(report.checks[0].1.message, "the pool is closed");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn health_check(
        &self,
        saturation: f64,
    ) -> impl Fn() -> CheckResult + Send + Sync + 'static {
        let inner = Arc::downgrade(&self.inner);
        move || {
            let Some(inner) = inner.upgrade() else {
                return CheckResult::unhealthy("the pool was dropped");
            };
            let stats = inner.stats();
            let (closed, capacity) = {
                let state = inner.state.lock();
                (state.closed, state.capacity)
            };
            if closed {
                CheckResult::unhealthy("the pool is closed")
            } else if stats.workers == 0 {
                CheckResult::unhealthy("no live worker")
            } else if capacity != usize::MAX && stats.queued as f64 > saturation * capacity as f64 {
                CheckResult::degraded(format!(
                    "{} queued of a capacity of {capacity}",
                    stats.queued
                ))
            } else {
                CheckResult::healthy()
            }
        }
    }
}
