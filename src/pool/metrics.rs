//! The pool as a source of metrics (`Builder::metrics`): the counters and
//! gauges from one [`Inner::stats`] reading, the time histograms from the
//! pool's `TaskTimes` (which the tasks feed; see `task/env.rs`).

use super::Inner;
use crate::observe::{Collect, Collector};

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
        if let Some(times) = &self.tally.times {
            out.histogram(
                "task_latency_seconds",
                "Time from a task's submission until its outcome.",
                &times.latency.snapshot(),
            );
            out.histogram(
                "task_run_seconds",
                "Time one attempt's body ran.",
                &times.run.snapshot(),
            );
        }
    }
}
