//! Metrics (`gosling::observe`): exact counts under concurrency, a pool's
//! metrics reconciling with its stats, exact task times on a manual clock,
//! the exact text form, and `promtool check metrics` on the exposition of a
//! busy pool, a breaker, limiters and a scheduled job (the real tool: `.ci/run` installs it with the `prometheus`
//! package; the test says so and checks nothing only where it is missing).

mod common;

use common::{count, hold_worker, scaled};
use gosling::breaker::CircuitBreaker;
use gosling::limit::{ConcurrencyLimiter, Metered, Rate, RateLimiter, TokenBucket};
use gosling::observe::{Buckets, Collect, Collector, Histogram, Metrics, MetricsError};
use gosling::retry::RetryPolicy;
use gosling::time::ManualClock;
use gosling::{Pool, Task, TaskError};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn counters_and_histograms_count_exactly_under_contention() {
    let per_thread = scaled(count("GOSLING_METRIC_OPS", 1_000_000));
    let metrics = Metrics::new();
    let counter = metrics.counter("ops_total", "Ops.").unwrap();
    let histogram = metrics
        .histogram("op_size", "Sizes.", Buckets::linear(1.0, 1.0, 4).unwrap())
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (counter, histogram) = (counter.clone(), histogram.clone());
            s.spawn(move || {
                for i in 0..per_thread as u64 {
                    counter.inc();
                    if i % 10 == 0 {
                        // 1, 2, 3, 4 or 5 (past the last bound).
                        histogram.observe(((i / 10 + t) % 5 + 1) as f64);
                    }
                }
            });
        }
    });
    let snap = metrics.snapshot();
    assert_eq!(snap.value("ops_total", &[]), Some(4.0 * per_thread as f64));
    let h = snap.histogram("op_size", &[]).unwrap();
    let observed = 4 * (per_thread as u64).div_ceil(10);
    assert_eq!(h.count(), observed);
    // Every value is a small whole number: the sum is exact too.
    let expected_sum: u64 = (0..4u64)
        .map(|t| {
            (0..per_thread as u64)
                .step_by(10)
                .map(|i| (i / 10 + t) % 5 + 1)
                .sum::<u64>()
        })
        .sum();
    assert_eq!(h.sum(), expected_sum as f64);
    let per_bucket: Vec<u64> = h.cumulative().iter().map(|b| b.1).collect();
    assert_eq!(per_bucket.last(), Some(&observed));
    assert!(per_bucket.windows(2).all(|w| w[0] <= w[1]));
}

/// A pool on a manual clock whose first task's body moves the clock: its
/// run time and latency are exact.
#[test]
fn task_times_are_exact_on_a_manual_clock() {
    let manual = ManualClock::new();
    let metrics = Metrics::new();
    let pool = Pool::builder()
        .workers(1)
        .clock(manual.clock())
        .metrics(metrics.clone())
        .build()
        .unwrap();
    let hold = hold_worker(&pool); // fire-and-forget: finished when released
    let queued = pool.submit(|_| 1).unwrap(); // waits 2 s in the queue
    manual.advance(Duration::from_secs(2));
    drop(hold);
    assert_eq!(queued.wait(), Ok(1));
    let clock = manual.clone();
    let slow = pool
        .submit(move |_| clock.advance(Duration::from_secs(3)))
        .unwrap();
    assert_eq!(slow.wait(), Ok(()));
    pool.wait_idle().unwrap();

    let snap = metrics.snapshot();
    let run = snap.histogram("task_run_seconds", &[]).unwrap();
    let latency = snap.histogram("task_latency_seconds", &[]).unwrap();
    // Runs: the holder (2 s, released after the advance), the queued task
    // (0 s), the slow one (3 s).
    assert_eq!((run.count(), run.sum()), (3, 5.0));
    // Latencies: the holder 2 s, the queued task 2 s, the slow one 3 s.
    assert_eq!((latency.count(), latency.sum()), (3, 7.0));
    let le = |h: &gosling::observe::HistogramSnapshot, bound: f64| {
        h.cumulative().iter().find(|b| b.0 == bound).unwrap().1
    };
    assert_eq!(le(run, 0.00001), 1);
    assert_eq!(le(run, 1.0), 1);
    assert_eq!(le(run, 2.5), 2);
    assert_eq!(le(run, 5.0), 3);
    assert_eq!(le(latency, 1.0), 0);
    assert_eq!(le(latency, 2.5), 2);
}

#[test]
fn a_pool_reports_what_its_stats_say() {
    let manual = ManualClock::new();
    let metrics = Metrics::new().prefix("app").unwrap();
    let pool = Pool::builder()
        .workers(2)
        .clock(manual.clock())
        .metrics(metrics.label("pool", "mixed").unwrap())
        .build()
        .unwrap();
    // Every kind of submission and every outcome.
    let ok = pool.submit(|_| 1).unwrap();
    let failed = pool.submit_fallible(|_| Err::<(), _>("no")).unwrap();
    let panicked = pool.submit(|_| -> u8 { panic!("boom") }).unwrap();
    let retried = pool
        .submit_task(Task::retrying(
            RetryPolicy::fixed(2, Duration::ZERO),
            |_| Err::<(), _>("down"),
        ))
        .unwrap();
    pool.spawn(|_| ()).unwrap();
    let batch = pool
        .submit_batch((0..3).map(|i| move |_: &gosling::context::Context| i))
        .unwrap();
    pool.scope(|s| {
        s.spawn(|_| ()).unwrap();
    });
    assert_eq!(ok.wait(), Ok(1));
    assert_eq!(failed.wait(), Err(TaskError::Failed("no")));
    assert!(matches!(panicked.wait(), Err(TaskError::Panicked(_))));
    assert_eq!(retried.wait(), Err(TaskError::Failed("down")));
    for h in batch {
        h.wait().unwrap();
    }
    // Cancelled while queued, and timed out while queued.
    let hold = [hold_worker(&pool), hold_worker(&pool)];
    let cancelled = pool.submit(|_| ()).unwrap();
    assert!(cancelled.cancel());
    let timed = pool
        .submit_task(Task::new(|_| ()).timeout(Duration::from_secs(1)))
        .unwrap();
    manual.advance(Duration::from_secs(1));
    assert_eq!(timed.wait(), Err(TaskError::TimedOut));
    drop(hold);
    pool.wait_idle().unwrap();

    let stats = pool.stats();
    let snap = metrics.snapshot();
    let labels = [("pool", "mixed")];
    let value = |name: &str| {
        snap.value(&format!("app_{name}"), &labels)
            .unwrap_or_else(|| panic!("no app_{name}"))
    };
    assert_eq!(value("tasks_scheduled_total"), stats.submitted as f64);
    assert_eq!(value("tasks_completed_total"), stats.succeeded as f64);
    assert_eq!(value("tasks_failed_total"), 2.0);
    assert_eq!(value("tasks_panicked_total"), 1.0);
    assert_eq!(value("tasks_cancelled_total"), 1.0);
    assert_eq!(value("tasks_timed_out_total"), 1.0);
    assert_eq!(value("tasks_rejected_total"), 0.0);
    assert_eq!(value("retry_count_total"), 2.0);
    assert_eq!(value("tasks_running"), 0.0);
    assert_eq!(value("queue_depth"), 0.0);
    assert_eq!(value("workers"), 2.0);
    assert_eq!(value("workers_busy"), 0.0);
    assert_eq!(value("tasks_retrying"), 0.0);
    assert_eq!(
        value("worker_busy_seconds_total"),
        stats.busy_time.as_secs_f64()
    );
    // 1 + 1 + 1 + 1 + 1 + 3 + 1, 2 holders, cancelled, timed out.
    assert_eq!(stats.submitted, 13);
    assert_eq!(stats.finished(), 13);
    let latency = snap.histogram("app_task_latency_seconds", &labels).unwrap();
    assert_eq!(
        latency.count(),
        stats.finished(),
        "one latency per finished task"
    );
    // Attempts that ran a body: all but the cancelled and timed-out ones,
    // the retried task three times.
    let run = snap.histogram("app_task_run_seconds", &labels).unwrap();
    assert_eq!(run.count(), 13 - 2 + 2);
    // A worker that exits hands its counts to the pool: nothing is lost.
    pool.resize(1).unwrap();
    common::await_stats(&pool, "one worker left", |s| s.workers == 1);
    let after = metrics.snapshot();
    let latency = after
        .histogram("app_task_latency_seconds", &labels)
        .unwrap();
    let run = after.histogram("app_task_run_seconds", &labels).unwrap();
    assert_eq!((latency.count(), run.count()), (13, 13));
    // A refusal counts, and the series end with the pool.
    pool.close();
    assert!(pool.spawn(|_| ()).is_err());
    assert_eq!(
        metrics
            .snapshot()
            .value("app_tasks_rejected_total", &labels),
        Some(1.0)
    );
    drop(pool);
    common::wait_until("the pool's series to end", || {
        metrics.snapshot().families().is_empty()
    });
}

#[test]
fn a_pool_without_metrics_registers_nothing_and_two_pools_share_families() {
    let metrics = Metrics::new();
    let a = Pool::builder()
        .workers(1)
        .metrics(metrics.label("pool", "a").unwrap())
        .build()
        .unwrap();
    let b = Pool::builder()
        .workers(1)
        .metrics(metrics.label("pool", "b").unwrap())
        .build()
        .unwrap();
    let _plain = Pool::new(1).unwrap();
    a.submit(|_| ()).unwrap().wait().unwrap();
    let snap = metrics.snapshot();
    let family = snap.family("tasks_completed_total").unwrap();
    let pools: Vec<_> = family
        .samples()
        .iter()
        .map(|s| (s.label("pool").unwrap(), s.value().as_number().unwrap()))
        .collect();
    assert_eq!(pools, [("a", 1.0), ("b", 0.0)]);
    let err = Pool::builder()
        .metrics(metrics.label("pool", "a").unwrap())
        .build()
        .unwrap_err();
    assert!(err.is_invalid_setting());
    assert!(
        err.to_string().starts_with(
            "could not register the pool's metrics: series tasks_scheduled_total{pool=\"a\"}"
        ),
        "{err}"
    );
    let source = std::error::Error::source(&err).unwrap();
    assert!(source.downcast_ref::<MetricsError>().is_some());
    drop(b);
}

#[test]
fn the_text_form_is_exact() {
    let metrics = Metrics::new().prefix("app").unwrap();
    let jobs = metrics.label("queue", "mail \"urgent\"\\\n").unwrap();
    jobs.counter("jobs_total", "Jobs done.\nBy queue.")
        .unwrap()
        .add(3);
    metrics
        .label("queue", "batch")
        .unwrap()
        .counter("jobs_total", "Jobs done.\nBy queue.")
        .unwrap()
        .add(1);
    metrics
        .gauge("temperature", "A \\ gauge.")
        .unwrap()
        .set(-2.5);
    metrics.gauge_fn("answer", "Computed.", || 42.0).unwrap();
    let h = metrics
        .histogram(
            "size_bytes",
            "Sizes.",
            Buckets::new(vec![1.0, 10.0]).unwrap(),
        )
        .unwrap();
    for v in [0.5, 10.0, 100.0, f64::NAN] {
        h.observe(v);
    }
    assert_eq!(
        metrics.render(),
        "# HELP app_answer Computed.\n\
         # TYPE app_answer gauge\n\
         app_answer 42\n\
         # HELP app_jobs_total Jobs done.\\nBy queue.\n\
         # TYPE app_jobs_total counter\n\
         app_jobs_total{queue=\"batch\"} 1\n\
         app_jobs_total{queue=\"mail \\\"urgent\\\"\\\\\\n\"} 3\n\
         # HELP app_size_bytes Sizes.\n\
         # TYPE app_size_bytes histogram\n\
         app_size_bytes_bucket{le=\"1\"} 1\n\
         app_size_bytes_bucket{le=\"10\"} 2\n\
         app_size_bytes_bucket{le=\"+Inf\"} 4\n\
         app_size_bytes_sum 110.5\n\
         app_size_bytes_count 4\n\
         # HELP app_temperature A \\\\ gauge.\n\
         # TYPE app_temperature gauge\n\
         app_temperature -2.5\n"
    );
}

/// Runs `promtool check metrics` on `text`; `None` when promtool is not
/// installed.
fn promtool_check(text: &str) -> Option<(bool, String)> {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // `.ci/run` sets this where it installed promtool.
            assert!(
                std::env::var_os("GOSLING_REQUIRE_PROMTOOL").is_none(),
                "GOSLING_REQUIRE_PROMTOOL is set but promtool was not found"
            );
            return None;
        }
        Err(e) => panic!("could not run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

/// A source whose label values are as hostile as the text format allows.
struct Hostile;

impl Collect for Hostile {
    fn collect(&self, out: &mut Collector<'_>) {
        let values = ["", "\"", "\\", "\n", "é ✓ \u{0}", "a=\"b\",c", "{}"];
        for (i, value) in values.into_iter().enumerate() {
            out.gauge_with(
                "hostile_labels",
                "Label values that need escaping.",
                &[("value", value), ("i", &i.to_string())],
                i as f64,
            );
        }
        out.gauge("special_values", "Infinities.", f64::INFINITY);
    }
}

#[test]
fn promtool_accepts_the_exposition_of_a_busy_pool() {
    let manual = ManualClock::new();
    let metrics = Metrics::new().prefix("gosling_test").unwrap();
    let pool = Pool::builder()
        .workers(2)
        .clock(manual.clock())
        .metrics(metrics.label("pool", "ingest").unwrap())
        .build()
        .unwrap();
    let other = Pool::builder()
        .workers(1)
        .metrics(metrics.label("pool", "other").unwrap())
        .build()
        .unwrap();
    let _hold = hold_worker(&other);
    other.spawn(|_| ()).unwrap(); // queued behind the holder
    for i in 0..50 {
        let _ = pool
            .submit_fallible(move |_| if i % 7 == 0 { Err(i) } else { Ok(i) })
            .unwrap();
    }
    pool.spawn(|_| panic!("boom")).unwrap();
    metrics.register(Arc::new(Hostile)).unwrap();
    // A breaker that opened, a metered rate limiter that refused, a
    // bulkhead with a permit out.
    let breaker = CircuitBreaker::<&str>::builder()
        .count_window(2)
        .build()
        .unwrap();
    metrics
        .label("breaker", "payments")
        .unwrap()
        .register(Arc::new(breaker.clone()))
        .unwrap();
    for _ in 0..3 {
        let _ = breaker.call(|| Err::<(), _>("down"));
    }
    let limiter = Arc::new(Metered::new(
        TokenBucket::with_clock(Rate::per_second(1).unwrap(), 1, manual.clock()).unwrap(),
    ));
    metrics
        .label("limiter", "api")
        .unwrap()
        .register(limiter.clone())
        .unwrap();
    assert!(limiter.allow() && !limiter.allow());
    let bulkhead = ConcurrencyLimiter::new(3).unwrap();
    metrics
        .label("limiter", "db")
        .unwrap()
        .register(Arc::new(bulkhead.clone()))
        .unwrap();
    let _permit = bulkhead.try_acquire().unwrap();
    // A scheduled job that ran once.
    let job = gosling::schedule::Scheduler::new(&pool)
        .every(Duration::from_secs(10))
        .start(|_| Ok::<(), String>(()))
        .unwrap();
    metrics
        .label("job", "sync")
        .unwrap()
        .register(job.metrics_source())
        .unwrap();
    manual.advance(Duration::from_secs(10));
    assert!(job.wait_runs_timeout(1, Duration::from_secs(10)));
    let h: Histogram = metrics
        .histogram("empty_seconds", "Never observed.", Buckets::latency())
        .unwrap();
    drop(h);
    pool.wait_idle().unwrap();
    let text = metrics.render();
    for line in [
        "gosling_test_queue_depth{pool=\"other\"} 1\n",
        "gosling_test_breaker_state{breaker=\"payments\",state=\"open\"} 1\n",
        "gosling_test_breaker_calls_total{breaker=\"payments\",outcome=\"rejected\"} 1\n",
        "gosling_test_limiter_denied_total{limiter=\"api\"} 1\n",
        "gosling_test_limiter_in_use{limiter=\"db\"} 1\n",
        "gosling_test_job_runs_total{job=\"sync\",outcome=\"succeeded\"} 1\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    match promtool_check(&text) {
        None => println!("checked nothing: promtool is not installed (apt-get install prometheus)"),
        Some((ok, said)) => assert!(ok, "promtool check metrics refused:\n{said}\n---\n{text}"),
    }
    // And it refuses a broken exposition: the check can fail.
    if let Some((ok, _)) = promtool_check("# TYPE x counter\nx{a=\"1} 1\n") {
        assert!(!ok, "promtool accepted a broken exposition");
    }
}
