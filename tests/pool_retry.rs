//! Retries inside the pool: backoffs wait on the pool's timer (driven here by
//! a manual clock), never on a worker.

mod common;

use common::wait_until;
use gosling::retry::RetryPolicy;
use gosling::time::ManualClock;
use gosling::{Pool, QueueKind, Task, TaskError, TaskStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

fn wait_for_status<T: Send + 'static, E: Send + 'static>(
    handle: &gosling::TaskHandle<T, E>,
    status: TaskStatus,
) {
    wait_until(&format!("the task is {status:?}"), || {
        handle.status() == status
    });
}

#[test]
fn a_repeatable_task_without_a_policy_runs_once() {
    let _watchdog = common::watchdog("a_repeatable_task_without_a_policy_runs_once");
    let pool = Pool::new(1).unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let handle = pool
        .submit_task(Task::repeatable(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>("no")
        }))
        .unwrap();
    assert_eq!(handle.wait(), Err(TaskError::Failed("no")));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(pool.stats().retries, 0);
}

#[test]
fn exhausted_retries_fail_with_the_attempt_count() {
    let _watchdog = common::watchdog("exhausted_retries_fail_with_the_attempt_count");
    let manual = ManualClock::new();
    let pool = Pool::builder()
        .workers(1)
        .clock(manual.clock())
        .retry_policy(RetryPolicy::fixed(3, Duration::from_secs(1)))
        .build()
        .unwrap();
    let handle = pool
        .submit_task(Task::repeatable(|_| Err::<(), _>("still down")))
        .unwrap();
    for attempt in 1..=3 {
        // Attempt `attempt` failed and its retry waits on the timer.
        for _ in 0..10_000_000 {
            if handle.attempts() == attempt && handle.status() == TaskStatus::Retrying {
                break;
            }
            std::thread::yield_now();
        }
        assert_eq!(handle.status(), TaskStatus::Retrying);
        manual.advance(Duration::from_secs(3600));
    }
    let attempts = loop {
        if handle.is_finished() {
            break handle.attempts();
        }
        std::thread::yield_now();
    };
    assert_eq!(attempts, 4, "one attempt plus three retries");
    assert_eq!(handle.wait(), Err(TaskError::Failed("still down")));
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!((stats.retries, stats.failed, stats.retrying), (3, 1, 0));
    assert_eq!(stats.submitted, stats.finished());
}

#[test]
fn cancel_during_backoff_ends_cancelled_and_the_body_never_runs_again() {
    let _watchdog =
        common::watchdog("cancel_during_backoff_ends_cancelled_and_the_body_never_runs_again");
    let (manual, pool) = common::manual_pool();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let handle = pool
        .submit_task(Task::retrying(
            RetryPolicy::fixed(5, Duration::from_secs(10)),
            move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>("flaky")
            },
        ))
        .unwrap();
    wait_for_status(&handle, TaskStatus::Retrying);
    assert!(
        handle.cancel(),
        "cancelling during the backoff prevents the next run"
    );
    manual.advance(Duration::from_secs(3600));
    pool.wait_idle().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(handle.wait(), Err(TaskError::Cancelled));
    let stats = pool.stats();
    assert_eq!((stats.cancelled, stats.retries, stats.retrying), (1, 1, 0));
}

#[test]
fn a_retried_task_keeps_its_priority() {
    let _watchdog = common::watchdog("a_retried_task_keeps_its_priority");
    let manual = ManualClock::new();
    let pool = Pool::builder()
        .workers(1)
        .queue(QueueKind::Priority)
        .clock(manual.clock())
        .build()
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    // Hold the only worker while the queue fills.
    let (release, gate) = mpsc::channel::<()>();
    let (entered_tx, entered) = mpsc::channel();
    pool.spawn(move |_| {
        entered_tx.send(()).unwrap();
        let _ = gate.recv();
    })
    .unwrap();
    entered.recv().unwrap();

    let log = Arc::clone(&order);
    let mut attempt = 0;
    let urgent = pool
        .submit_task(
            Task::retrying(RetryPolicy::fixed(1, Duration::from_secs(5)), move |_| {
                attempt += 1;
                log.lock().unwrap().push(format!("urgent#{attempt}"));
                if attempt == 1 {
                    Err("first try fails")
                } else {
                    Ok(())
                }
            })
            .priority(10),
        )
        .unwrap();
    // The low-priority task holds the worker while the retry comes due.
    let (low_release, low_gate) = mpsc::channel::<()>();
    let (low_entered_tx, low_entered) = mpsc::channel();
    let log = Arc::clone(&order);
    let _low_a = pool
        .submit_task(Task::new(move |_| {
            log.lock().unwrap().push("low-a".to_string());
            low_entered_tx.send(()).unwrap();
            let _ = low_gate.recv();
        }))
        .unwrap();
    let log = Arc::clone(&order);
    let _low_b = pool
        .submit_task(Task::new(move |_| {
            log.lock().unwrap().push("low-b".to_string())
        }))
        .unwrap();

    release.send(()).unwrap();
    low_entered.recv().unwrap(); // urgent#1 failed and is waiting; low-a runs
    wait_for_status(&urgent, TaskStatus::Retrying);
    manual.advance(Duration::from_secs(5)); // the retry re-enters the queue (priority 10)
    wait_for_status(&urgent, TaskStatus::Queued);
    low_release.send(()).unwrap();
    assert_eq!(urgent.wait(), Ok(()));
    pool.wait_idle().unwrap();
    assert_eq!(
        *order.lock().unwrap(),
        ["urgent#1", "low-a", "urgent#2", "low-b"],
        "the retry must start before the queued low-priority task"
    );
}

#[test]
fn panics_are_retried_only_when_the_policy_says_so() {
    let _watchdog = common::watchdog("panics_are_retried_only_when_the_policy_says_so");
    let pool = Pool::builder().workers(1).build().unwrap();
    let mut first = true;
    let handle = pool
        .submit_task(Task::retrying(
            RetryPolicy::fixed(2, Duration::ZERO).retry_panics(true),
            move |_| {
                if std::mem::take(&mut first) {
                    panic!("transient");
                }
                Ok::<_, ()>("recovered")
            },
        ))
        .unwrap();
    assert_eq!(handle.wait(), Ok("recovered"));

    let handle = pool
        .submit_task(Task::retrying(
            RetryPolicy::fixed(2, Duration::ZERO),
            |_| -> Result<(), ()> { panic!("fatal") },
        ))
        .unwrap();
    assert_eq!(handle.wait(), Err(TaskError::Panicked("fatal".to_string())));
    assert_eq!(pool.stats().panicked, 1);
}

#[test]
fn a_non_retryable_error_stops_at_once() {
    let _watchdog = common::watchdog("a_non_retryable_error_stops_at_once");
    let pool = Pool::new(1).unwrap();
    let policy = RetryPolicy::fixed(5, Duration::ZERO).retry_if(|e: &&str| *e != "fatal");
    let handle = pool
        .submit_task(Task::retrying(policy, |_| Err::<(), _>("fatal")))
        .unwrap();
    assert_eq!(handle.wait(), Err(TaskError::Failed("fatal")));
    assert_eq!(pool.stats().retries, 0);
}

#[test]
fn a_pending_retry_is_cancelled_by_shutdown() {
    let _watchdog = common::watchdog("a_pending_retry_is_cancelled_by_shutdown");
    let (manual, pool) = common::manual_pool();
    let handle = pool
        .submit_task(Task::retrying(
            RetryPolicy::fixed(3, Duration::from_secs(60)),
            |_| Err::<(), _>("down"),
        ))
        .unwrap();
    wait_for_status(&handle, TaskStatus::Retrying);
    pool.shutdown(Duration::from_secs(5)).unwrap();
    manual.advance(Duration::from_secs(60));
    assert!(handle.wait().unwrap_err().is_cancelled());
    let stats = pool.stats();
    assert_eq!(stats.submitted, stats.finished());
}

#[test]
fn shutdown_now_ends_a_pending_retry_at_once_and_reports_it() {
    let _watchdog = common::watchdog("shutdown_now_ends_a_pending_retry_at_once_and_reports_it");
    let (_manual, pool) = common::manual_pool();
    let handle = pool
        .submit_task(Task::retrying(
            RetryPolicy::fixed(3, Duration::from_secs(3600)),
            |_| Err::<(), _>("down"),
        ))
        .unwrap();
    wait_for_status(&handle, TaskStatus::Retrying);
    let report = pool.shutdown_now();
    assert_eq!(report.cancelled(), 1);
    // The manual clock never moves: the timer's stop, not the backoff's
    // end, settles the task.
    assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    let stats = pool.stats();
    assert_eq!((stats.retrying, stats.cancelled), (0, 1));
    assert_eq!(stats.submitted, stats.finished());
}

/// Drives a retrying task to its end on a manual clock: each time it waits
/// for a retry, advances by `step`; returns the outcome and the manual time
/// that passed.
fn drive<T: Send + 'static, E: Send + 'static>(
    manual: &ManualClock,
    handle: gosling::TaskHandle<T, E>,
    step: Duration,
) -> (Result<T, TaskError<E>>, Duration) {
    let start = manual.clock().now();
    for attempt in 1..=1_000 {
        wait_until("the task waits for a retry or ends", || {
            (handle.status() == TaskStatus::Retrying && handle.attempts() == attempt)
                || handle.is_finished()
        });
        if handle.is_finished() {
            let elapsed = manual.clock().now() - start;
            return (handle.wait(), elapsed);
        }
        manual.advance(step);
    }
    panic!("the task never ended");
}

#[test]
fn with_retries_overrides_only_the_count_of_the_pool_default() {
    let _watchdog = common::watchdog("with_retries_overrides_only_the_count_of_the_pool_default");
    let manual = ManualClock::new();
    let pool = Pool::builder()
        .workers(1)
        .clock(manual.clock())
        .retry_policy(RetryPolicy::fixed(1, Duration::from_secs(10)))
        .build()
        .unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let handle = pool
        .submit_task(Task::with_retries(4, move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>("down")
        }))
        .unwrap();
    let (outcome, _) = drive(&manual, handle, Duration::from_secs(10));
    assert_eq!(outcome, Err(TaskError::Failed("down")));
    // 1 + 4 attempts, each retry after the pool's 10 s backoff.
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(pool.stats().retries, 4);
    // The pool's other tasks keep its count.
    let other = pool
        .submit_task(Task::repeatable(|_| Err::<(), _>("down")))
        .unwrap();
    let (outcome, elapsed) = drive(&manual, other, Duration::from_secs(10));
    assert_eq!(outcome, Err(TaskError::Failed("down")));
    assert_eq!(elapsed, Duration::from_secs(10));
    assert_eq!(pool.stats().retries, 5);
}

#[test]
fn with_retries_on_a_pool_without_a_policy_uses_the_default_policy() {
    let _watchdog =
        common::watchdog("with_retries_on_a_pool_without_a_policy_uses_the_default_policy");
    let pool = Pool::new(1).unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let handle = pool
        .submit_task(Task::with_retries(2, move |_| {
            if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                Err("not yet")
            } else {
                Ok("done")
            }
        }))
        .unwrap();
    // The default backoff starts at 100 ms (real time here), with jitter.
    assert_eq!(handle.wait(), Ok("done"));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn a_refused_retrying_task_comes_back_with_its_retry_count() {
    let _watchdog = common::watchdog("a_refused_retrying_task_comes_back_with_its_retry_count");
    let manual = ManualClock::new();
    let pool = Pool::builder()
        .workers(1)
        .capacity(1)
        .when_full(gosling::FullPolicy::Reject)
        .clock(manual.clock())
        .build()
        .unwrap();
    let gate = common::hold_worker(&pool);
    pool.spawn(|_| ()).unwrap(); // fills the queue
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let refused = pool
        .submit_task(Task::with_retries(2, move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>("down")
        }))
        .expect_err("the queue is full");
    drop(gate);
    pool.wait_idle().unwrap();
    let handle = pool.submit_task(refused.into_inner()).unwrap();
    let (outcome, _) = drive(&manual, handle, Duration::from_secs(60));
    assert_eq!(outcome, Err(TaskError::Failed("down")));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}
