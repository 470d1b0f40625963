//! Per-resource limits in the pool (`Task::resource`, `Builder::resource_limit`,
//! `Builder::resource_limits`), on a manual clock: a task refused by its
//! resource steps aside without stalling other resources.

mod common;

use common::{await_stats, watchdog};
use gosling::limit::{KeyedLimiter, Rate, RateLimiter, TokenBucket};
use gosling::retry::RetryPolicy;
use gosling::time::{Clock, ManualClock};
use gosling::{FullPolicy, Pool, QueueKind, SubmitErrorKind, Task, TaskError};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One permit per `period`, burst 1, on `clock`.
fn every(period: Duration, clock: Clock) -> Arc<dyn RateLimiter> {
    Arc::new(TokenBucket::with_clock(Rate::every(period).unwrap(), 1, clock).unwrap())
}

fn one_worker_pool(clock: &Clock, resource: &str, period: Duration) -> Pool {
    Pool::builder()
        .workers(1)
        .clock(clock.clone())
        .resource_limit(resource, every(period, clock.clone()))
        .build()
        .unwrap()
}

#[test]
fn a_refused_task_does_not_stall_other_resources() {
    let _watchdog = watchdog("a_refused_task_does_not_stall_other_resources");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = one_worker_pool(&clock, "slow", Duration::from_secs(10));
    let (tx, rx) = mpsc::channel();
    let send = |name: &'static str| {
        let tx = tx.clone();
        move |_: &gosling::context::Context| tx.send(name).unwrap()
    };
    let slow_1 = pool
        .submit_task(Task::new(send("slow-1")).resource("slow"))
        .unwrap();
    let slow_2 = pool
        .submit_task(Task::new(send("slow-2")).resource("slow"))
        .unwrap();
    let fast = pool
        .submit_task(Task::new(send("fast")).resource("fast"))
        .unwrap();
    let plain = pool.submit(send("plain")).unwrap();
    for handle in [slow_1, fast, plain] {
        handle.wait().unwrap();
    }
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        ["slow-1", "fast", "plain"],
        "the single worker went past the refused task"
    );
    let stats = pool.stats();
    assert_eq!((stats.waiting_for_resource, stats.queued), (1, 1));
    assert_eq!(stats.workers, 1);
    assert!(!slow_2.is_finished());
    manual.advance(Duration::from_secs(10));
    assert_eq!(slow_2.wait(), Ok(()));
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["slow-2"]);
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!((stats.succeeded, stats.waiting_for_resource), (4, 0));
    assert_eq!(stats.submitted, stats.finished());
    assert_eq!(stats.resource_delayed_starts, 1);
    assert_eq!(stats.resource_delay, Duration::from_secs(10));
}

#[test]
fn tasks_of_one_resource_start_in_order_one_per_permit() {
    let watchdog = watchdog("tasks_of_one_resource_start_in_order_one_per_permit");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let t0 = clock.now();
    let pool = Pool::builder()
        .workers(3)
        .clock(clock.clone())
        .resource_limit("api", every(Duration::from_secs(1), clock.clone()))
        .build()
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..5)
        .map(|i| {
            let (clock, order) = (clock.clone(), order.clone());
            let task = Task::new(move |_| {
                order.lock().unwrap().push(i);
                clock.now() - t0
            });
            pool.submit_task(task.resource("api")).unwrap()
        })
        .collect();
    // All but the first wait from time 0 (the clock has not moved yet).
    await_stats(&pool, "four wait", |s| s.waiting_for_resource == 4);
    let mut starts = Vec::new();
    for handle in handles {
        // The clock moves only after the previous start was seen, so each
        // start time is exact.
        watchdog.status(format!(
            "started at {starts:?}, clock at {:?}",
            clock.now() - t0
        ));
        let r = handle.wait();
        starts.push(r.unwrap());
        manual.advance(Duration::from_secs(1));
    }
    assert_eq!(starts, [0, 1, 2, 3, 4].map(Duration::from_secs));
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!(stats.resource_delayed_starts, 4);
    assert_eq!(stats.resource_delay, Duration::from_secs(1 + 2 + 3 + 4));
}

#[test]
fn priorities_hold_at_dispatch_and_a_waiting_task_keeps_its_priority() {
    let _watchdog = watchdog("priorities_hold_at_dispatch_and_a_waiting_task_keeps_its_priority");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = Pool::builder()
        .workers(1)
        .queue(QueueKind::Priority)
        .clock(clock.clone())
        .resource_limit("r", every(Duration::from_secs(1), clock.clone()))
        .build()
        .unwrap();
    let (release, gate) = mpsc::channel::<()>();
    let blocker = pool.submit(move |_| gate.recv().unwrap()).unwrap();
    await_stats(&pool, "the worker is held", |s| s.busy == 1);
    let (tx, rx) = mpsc::channel();
    let task = |name: &'static str, priority: i32| {
        let tx = tx.clone();
        Task::new(move |_| tx.send(name).unwrap()).priority(priority)
    };
    let low = pool.submit_task(task("r-low", 1).resource("r")).unwrap();
    let high = pool.submit_task(task("r-high", 5).resource("r")).unwrap();
    let mid = pool.submit_task(task("mid", 3)).unwrap();
    let later = pool.submit_task(task("later", 0)).unwrap();
    release.send(()).unwrap();
    blocker.wait().unwrap();
    for handle in [high, mid, later] {
        handle.wait().unwrap();
    }
    // r-high took the resource's permit; r-low waited without holding the
    // worker, so the lower-priority "later" ran before it.
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        ["r-high", "mid", "later"]
    );
    manual.advance(Duration::from_secs(1));
    low.wait().unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["r-low"]);
}

#[test]
fn every_attempt_of_a_retried_task_takes_a_permit() {
    let _watchdog = watchdog("every_attempt_of_a_retried_task_takes_a_permit");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let t0 = clock.now();
    let pool = one_worker_pool(&clock, "flaky", Duration::from_secs(10));
    let starts = Arc::new(Mutex::new(Vec::new()));
    let seen = starts.clone();
    let attempt_clock = clock.clone();
    let task = Task::retrying(RetryPolicy::fixed(2, Duration::ZERO), move |_| {
        let mut starts = seen.lock().unwrap();
        starts.push(attempt_clock.now() - t0);
        if starts.len() < 3 {
            Err("not yet")
        } else {
            Ok(starts.len())
        }
    });
    let handle = pool.submit_task(task.resource("flaky")).unwrap();
    for attempts in 1..=2 {
        // The backoff is zero: the retry is refused by the resource and
        // waits for the next permit.
        await_stats(&pool, "the retry waits for its resource", |s| {
            s.retries == attempts && s.waiting_for_resource == 1
        });
        manual.advance(Duration::from_secs(10));
    }
    while !handle.is_finished() {
        std::thread::yield_now();
    }
    assert_eq!(handle.attempts(), 3);
    assert_eq!(handle.wait(), Ok(3));
    assert_eq!(
        *starts.lock().unwrap(),
        [0, 10, 20].map(Duration::from_secs)
    );
}

#[test]
fn a_task_cancelled_while_waiting_never_runs_and_spends_no_permit() {
    let _watchdog = watchdog("a_task_cancelled_while_waiting_never_runs_and_spends_no_permit");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let t0 = clock.now();
    let pool = one_worker_pool(&clock, "r", Duration::from_secs(1));
    let at = |clock: &Clock| {
        let clock = clock.clone();
        Task::new(move |_| clock.now() - t0).resource("r")
    };
    let first = pool.submit_task(at(&clock)).unwrap();
    let cancelled = pool
        .submit_task(Task::new(|_| -> Duration { unreachable!("cancelled") }).resource("r"))
        .unwrap();
    let third = pool.submit_task(at(&clock)).unwrap();
    assert_eq!(first.wait(), Ok(Duration::ZERO));
    await_stats(&pool, "both wait", |s| s.waiting_for_resource == 2);
    assert!(cancelled.cancel());
    assert_eq!(cancelled.wait(), Err(TaskError::Cancelled));
    manual.advance(Duration::from_secs(1));
    assert_eq!(
        third.wait(),
        Ok(Duration::from_secs(1)),
        "the permit went to the third"
    );
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.succeeded, stats.cancelled, stats.waiting_for_resource),
        (2, 1, 0)
    );
    // The cancelled task's turn ended it without a start.
    assert_eq!(stats.resource_delayed_starts, 1);
}

#[test]
fn shutdown_now_cancels_waiting_tasks_and_reports_them() {
    let _watchdog = watchdog("shutdown_now_cancels_waiting_tasks_and_reports_them");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = one_worker_pool(&clock, "r", Duration::from_secs(60));
    let first = pool.submit_task(Task::new(|_| 1).resource("r")).unwrap();
    let waiting: Vec<_> = (0..2)
        .map(|_| pool.submit_task(Task::new(|_| 2).resource("r")).unwrap())
        .collect();
    assert_eq!(first.wait(), Ok(1));
    await_stats(&pool, "two wait", |s| s.waiting_for_resource == 2);
    let report = pool.shutdown_now();
    assert_eq!(report.cancelled(), 2);
    for handle in waiting {
        assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    }
    let stats = pool.stats();
    assert_eq!((stats.cancelled, stats.waiting_for_resource), (2, 0));
    assert_eq!(stats.submitted, stats.finished());
    // Time moving on fires the gate's timer entry, which finds nothing.
    manual.advance(Duration::from_secs(60));
    pool.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_graceful_shutdown_drains_waiting_tasks() {
    let _watchdog = watchdog("a_graceful_shutdown_drains_waiting_tasks");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = one_worker_pool(&clock, "r", Duration::from_secs(1));
    let first = pool.submit_task(Task::new(|_| 1).resource("r")).unwrap();
    let second = pool.submit_task(Task::new(|_| 2).resource("r")).unwrap();
    assert_eq!(first.wait(), Ok(1));
    await_stats(&pool, "the second waits", |s| s.waiting_for_resource == 1);
    std::thread::scope(|s| {
        let shutdown = s.spawn(|| pool.shutdown(Duration::from_secs(30)));
        while !pool.is_closed() {
            std::thread::yield_now();
        }
        // Closed, the worker stays for the waiting task.
        assert_eq!(pool.stats().workers, 1);
        manual.advance(Duration::from_secs(1));
        assert_eq!(second.wait(), Ok(2));
        shutdown.join().unwrap().unwrap();
    });
    assert_eq!(pool.stats().succeeded, 2);
}

#[test]
fn waiting_tasks_count_against_the_capacity() {
    let _watchdog = watchdog("waiting_tasks_count_against_the_capacity");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = Pool::builder()
        .workers(1)
        .capacity(2)
        .when_full(FullPolicy::Reject)
        .clock(clock.clone())
        .resource_limit("r", every(Duration::from_secs(1), clock.clone()))
        .build()
        .unwrap();
    pool.submit_task(Task::new(|_| ()).resource("r"))
        .unwrap()
        .wait()
        .unwrap();
    let waiting: Vec<_> = (0..2)
        .map(|_| pool.submit_task(Task::new(|_| ()).resource("r")).unwrap())
        .collect();
    await_stats(&pool, "two wait", |s| s.waiting_for_resource == 2);
    let refused = pool.submit(|_| ()).unwrap_err();
    assert_eq!(refused.kind(), SubmitErrorKind::Full);
    for handle in waiting {
        manual.advance(Duration::from_secs(1));
        handle.wait().unwrap();
    }
    assert!(pool.submit(|_| ()).is_ok(), "room again");
}

#[test]
fn keyed_limits_give_every_resource_its_own_bucket() {
    let _watchdog = watchdog("keyed_limits_give_every_resource_its_own_bucket");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let per_key = KeyedLimiter::with_clock(Rate::per_second(1).unwrap(), 1, 100, clock.clone());
    let pool = Pool::builder()
        .workers(1)
        .clock(clock.clone())
        .resource_limit("pinned", every(Duration::from_secs(100), clock.clone()))
        .resource_limits(Arc::new(per_key.unwrap()))
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let task = |name: &'static str, resource: &str| {
        let tx = tx.clone();
        Task::new(move |_| tx.send(name).unwrap()).resource(resource)
    };
    let a1 = pool.submit_task(task("a1", "host-a")).unwrap();
    let a2 = pool.submit_task(task("a2", "host-a")).unwrap();
    let b1 = pool.submit_task(task("b1", "host-b")).unwrap();
    let p1 = pool.submit_task(task("p1", "pinned")).unwrap();
    let p2 = pool.submit_task(task("p2", "pinned")).unwrap();
    for handle in [a1, b1, p1] {
        handle.wait().unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["a1", "b1", "p1"]);
    await_stats(&pool, "a2 and p2 wait", |s| s.waiting_for_resource == 2);
    // One second: host-a's bucket has a permit again; "pinned" has its own
    // limiter (100 s), not the per-key one.
    manual.advance(Duration::from_secs(1));
    a2.wait().unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["a2"]);
    assert!(!p2.is_finished());
    manual.advance(Duration::from_secs(99));
    p2.wait().unwrap();
}

#[test]
fn wait_idle_counts_waiting_tasks_and_unknown_resources_are_not_limited() {
    let _watchdog =
        watchdog("wait_idle_counts_waiting_tasks_and_unknown_resources_are_not_limited");
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = one_worker_pool(&clock, "r", Duration::from_secs(1));
    // A resource without a limit: both run at once.
    let free: Vec<_> = (0..2)
        .map(|_| {
            pool.submit_task(Task::new(|_| ()).resource("other"))
                .unwrap()
        })
        .collect();
    for handle in free {
        handle.wait().unwrap();
    }
    pool.submit_task(Task::new(|_| ()).resource("r"))
        .unwrap()
        .wait()
        .unwrap();
    let waiting = pool.submit_task(Task::new(|_| ()).resource("r")).unwrap();
    await_stats(&pool, "one waits", |s| s.waiting_for_resource == 1);
    // Nothing moves the manual clock: the pool cannot become idle.
    assert!(!pool.wait_idle_timeout(Duration::from_millis(20)).unwrap());
    manual.advance(Duration::from_secs(1));
    waiting.wait().unwrap();
    assert!(pool.wait_idle_timeout(Duration::from_secs(10)).unwrap());
}

#[test]
fn the_task_keeps_its_resource_when_handed_back() {
    let _watchdog = watchdog("the_task_keeps_its_resource_when_handed_back");
    let pool = Pool::builder()
        .workers(1)
        .resource_limit("r", every(Duration::from_secs(1), Clock::system()))
        .build()
        .unwrap();
    pool.close();
    let refused = pool
        .submit_task(Task::new(|_| 1).resource("r"))
        .unwrap_err();
    assert_eq!(refused.kind(), SubmitErrorKind::Closed);
    assert_eq!(refused.into_inner().get_resource(), Some("r"));
}
