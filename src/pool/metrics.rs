//! The pool as a source of metrics (`Builder::metrics`): the counters and
//! gauges from one [`Inner::stats`] reading, the time histograms summed
//! over the pool's and its workers' `TaskTimes` (which the tasks feed; see
//! `task/env.rs`).

use super::Inner;
use crate::observe::{Collect, Collector, HistogramSnapshot};

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
