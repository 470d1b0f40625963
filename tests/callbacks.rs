//! Completion callbacks that are slow or never return: a shutdown stays
//! within its bound and says which callbacks had not finished, the timer
//! thread never runs one (other tasks' deadlines are not held up), and every
//! callback still runs exactly once.
//!
//! The slow callbacks block on gates, so nothing here depends on timing; a
//! shutdown that waited for them would hang, and the watchdog turns that into
//! a failure.

mod common;

use common::hold_worker;
use gosling::context::Context;
use gosling::retry::{Backoff, RetryPolicy};
use gosling::time::ManualClock;
use gosling::{Pool, Task, TaskError, TaskId};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

/// Never reached by a passing test; turns a hang into a failure.
const HANG: Duration = Duration::from_secs(30);

/// Runs `f` on a thread and fails if it does not return within `HANG`.
fn within_bound<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what} did not return: it waited for a callback"))
}

/// Callbacks that block on one shared gate until it is opened, counting
/// their runs and recording the thread each ran on.
#[derive(Clone, Default)]
struct SlowCallbacks {
    gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
    runs: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<String>>>,
}

impl SlowCallbacks {
    /// The callbacks and the sender that opens their gate (dropping it
    /// opens it for good).
    fn new() -> (SlowCallbacks, mpsc::Sender<()>) {
        let (open, gate) = mpsc::channel();
        let callbacks = SlowCallbacks {
            gate: Arc::new(Mutex::new(Some(gate))),
            ..SlowCallbacks::default()
        };
        (callbacks, open)
    }

    fn callback<T, E>(&self) -> impl FnOnce(&Result<T, TaskError<E>>) + Send + 'static {
        let this = self.clone();
        move |_| {
            let name = thread::current().name().unwrap_or("?").to_string();
            this.threads.lock().unwrap().push(name);
            if let Some(gate) = this.gate.lock().unwrap().as_ref() {
                let _ = gate.recv_timeout(HANG);
            }
            this.runs.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

#[test]
fn a_timed_out_shutdown_returns_with_slow_callbacks_pending_then_each_runs_once() {
    let _watchdog = common::watchdog(
        "a_timed_out_shutdown_returns_with_slow_callbacks_pending_then_each_runs_once",
    );
    let pool = Arc::new(
        Pool::builder()
            .workers(1)
            .thread_name("slowcb")
            .build()
            .unwrap(),
    );
    let gate = hold_worker(&pool);
    let (callbacks, open) = SlowCallbacks::new();
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let task = Task::new(move |_| i).on_complete(callbacks.callback());
            pool.submit_task(task).unwrap()
        })
        .collect();
    let ids: Vec<TaskId> = handles.iter().map(|h| h.id()).collect();
    let report = within_bound("shutdown(50 ms)", {
        let pool = Arc::clone(&pool);
        move || {
            pool.shutdown(Duration::from_millis(50))
                .unwrap_err()
                .into_report()
        }
    });
    assert_eq!(report.cancelled(), 10);
    assert_eq!(report.still_running(), 1);
    // Every cancelled task's callback was handed over; none had finished.
    let mut pending = report.callbacks_pending().to_vec();
    pending.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(pending, expected, "{report}");
    assert_eq!(callbacks.runs(), 0);
    // Opened, every callback runs once and each waiter then sees ShutDown.
    drop(open);
    for handle in handles {
        assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    }
    assert_eq!(callbacks.runs(), 10);
    let threads = callbacks.threads.lock().unwrap().clone();
    assert!(
        threads.iter().all(|t| t == "slowcb-callbacks"),
        "callbacks ran on {threads:?}"
    );
    drop(gate);
}

#[test]
fn a_callback_that_never_returns_does_not_hang_drop() {
    let _watchdog = common::watchdog("a_callback_that_never_returns_does_not_hang_drop");
    let (callbacks, open) = SlowCallbacks::new();
    let handle = within_bound("drop", {
        let callbacks = callbacks.clone();
        move || {
            let pool = Pool::builder()
                .workers(1)
                .shutdown_timeout(Duration::from_millis(20))
                .build()
                .unwrap();
            let gate = hold_worker(&pool);
            let handle = pool
                .submit_task(Task::new(|_| ()).on_complete(callbacks.callback()))
                .unwrap();
            drop(pool); // times out on the held worker, cancels the task
            drop(gate);
            handle
        }
    });
    assert_eq!(callbacks.runs(), 0, "the callback cannot have finished");
    assert!(
        !handle.is_finished(),
        "the waiter is woken only after the callback"
    );
    drop(open);
    assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    assert_eq!(callbacks.runs(), 1);
}

#[test]
fn a_timeout_callback_runs_off_the_timer_thread_and_holds_up_no_other_deadline() {
    // No whole-test watchdog here: its thread's timing makes the race noted
    // at `late_results` below show (its waits are bounded by `within_bound`
    // and the stubborn body's own `HANG`).
    let manual = ManualClock::new();
    let pool = Pool::builder()
        .workers(2)
        .thread_name("tmo")
        .clock(manual.clock())
        .build()
        .unwrap();
    let (callbacks, open) = SlowCallbacks::new();
    // A task that ignores its context: it times out while running, and its
    // slow callback must run on the callback thread.
    let (release, ignored) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel();
    let stubborn = pool
        .submit_task(
            Task::new(move |_| {
                started_tx.send(()).unwrap();
                let _ = ignored.recv_timeout(HANG);
            })
            .timeout(Duration::from_secs(1))
            .on_complete(callbacks.callback()),
        )
        .unwrap();
    started.recv().unwrap();
    // A second task with a later deadline and no callback.
    let (release_quick, quick_gate) = mpsc::channel::<()>();
    let (quick_started_tx, quick_started) = mpsc::channel();
    let quick = pool
        .submit_task(
            Task::new(move |ctx: &Context| {
                quick_started_tx.send(()).unwrap();
                let _ = ctx.wait_cancelled_timeout(HANG);
                drop(quick_gate);
            })
            .timeout(Duration::from_secs(2)),
        )
        .unwrap();
    // Running before its deadline passes, so that its body returns late
    // (one still queued at its deadline would never run).
    quick_started.recv().unwrap();
    manual.advance(Duration::from_secs(1));
    common::wait_until("the first callback started", || {
        !callbacks.threads.lock().unwrap().is_empty()
    });
    // The timer thread is free while that callback blocks: the second
    // deadline is delivered.
    manual.advance(Duration::from_secs(1));
    let outcome = within_bound("the second deadline", move || quick.wait());
    assert_eq!(outcome, Err(TaskError::TimedOut));
    assert!(!stubborn.is_finished());
    drop(open);
    assert_eq!(stubborn.wait(), Err(TaskError::TimedOut));
    assert_eq!(callbacks.runs(), 1);
    assert_eq!(*callbacks.threads.lock().unwrap(), ["tmo-callbacks"]);
    release.send(()).unwrap();
    drop(release_quick);
    pool.wait_idle().unwrap();
    assert_eq!(pool.stats().late_results, 2); // both bodies returned late
}

#[test]
fn a_shutdown_ending_a_pending_retry_is_bounded_by_its_callback() {
    let _watchdog =
        common::watchdog("a_shutdown_ending_a_pending_retry_is_bounded_by_its_callback");
    let (callbacks, open) = SlowCallbacks::new();
    let pool = Arc::new(
        Pool::builder()
            .workers(1)
            .thread_name("rty")
            .build()
            .unwrap(),
    );
    let policy = RetryPolicy::new(3).backoff(Backoff::constant(Duration::from_secs(3600)));
    let (failed_tx, failed) = mpsc::channel();
    let handle = pool
        .submit_task(
            Task::retrying(policy, move |_| {
                let _ = failed_tx.send(());
                Err::<(), _>("not yet")
            })
            .on_complete(callbacks.callback()),
        )
        .unwrap();
    failed.recv().unwrap();
    common::await_stats(&pool, "the task waits for its retry", |s| s.retrying == 1);
    let report = within_bound("shutdown", {
        let pool = Arc::clone(&pool);
        move || pool.shutdown(Duration::from_millis(50))
    });
    // Nothing ran past the bound but the pending retry's callback.
    let report = report.expect_err("a callback is pending").into_report();
    assert_eq!(report.callbacks_pending(), [handle.id()]);
    drop(open);
    assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    assert_eq!(callbacks.runs(), 1);
    assert_eq!(*callbacks.threads.lock().unwrap(), ["rty-callbacks"]);
}

#[test]
fn shutdown_now_waits_for_quick_callbacks_and_reports_clean() {
    let _watchdog = common::watchdog("shutdown_now_waits_for_quick_callbacks_and_reports_clean");
    let pool = Pool::builder().workers(1).build().unwrap();
    let gate = hold_worker(&pool);
    let runs = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..5)
        .map(|_| {
            let runs = Arc::clone(&runs);
            pool.submit_task(
                Task::new(|_| ()).on_complete(move |_: &Result<(), TaskError>| {
                    runs.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .unwrap()
        })
        .collect();
    let report = pool.shutdown_now();
    assert_eq!(report.cancelled(), 5);
    assert!(report.callbacks_pending().is_empty(), "{report}");
    // Waited for: every callback ran before shutdown_now returned.
    assert_eq!(runs.load(Ordering::SeqCst), 5);
    for handle in handles {
        assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    }
    drop(gate);
}
