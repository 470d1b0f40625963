//! One rate limiter gating the pool's execution starts, on a manual clock.

mod common;

use common::await_stats;
use gosling::limit::{Rate, RateLimiter, TokenBucket};
use gosling::time::{Clock, ManualClock};
use gosling::{Pool, QueueKind, Task, TaskError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// A token bucket of one start per second, burst 1, on `clock`.
fn one_per_second(clock: Clock) -> Arc<dyn RateLimiter> {
    Arc::new(TokenBucket::with_clock(Rate::per_second(1).unwrap(), 1, clock).unwrap())
}

#[test]
fn starts_are_spaced_by_the_period() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let t0 = clock.now();
    let pool = Pool::builder()
        .workers(2)
        .clock(clock.clone())
        .rate_limit(one_per_second(clock.clone()))
        .build()
        .unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let clock = clock.clone();
            pool.submit(move |_| clock.now() - t0).unwrap()
        })
        .collect();
    let mut starts = Vec::new();
    for handle in handles {
        // A start cannot happen before the clock reaches its permit; the
        // clock moves only here, after the previous start was seen.
        starts.push(handle.wait().unwrap());
        manual.advance(Duration::from_secs(1));
    }
    assert_eq!(
        starts,
        [0, 1, 2, 3].map(Duration::from_secs),
        "one start per second, the first at once"
    );
    pool.wait_idle().unwrap();
    assert_eq!(pool.stats().succeeded, 4);
}

#[test]
fn one_worker_waits_exactly_the_period_per_delayed_start() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = Pool::builder()
        .workers(1)
        .clock(clock.clone())
        .rate_limit(one_per_second(clock.clone()))
        .build()
        .unwrap();
    let handles: Vec<_> = (0..3).map(|i| pool.submit(move |_| i).unwrap()).collect();
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.wait(), Ok(i));
        if i < 2 {
            await_stats(&pool, "a worker waits for a permit", |s| {
                s.waiting_for_permit > 0
            }); // refused before the clock moves
            manual.advance(Duration::from_secs(1));
        }
    }
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.delayed_starts, stats.start_delay),
        (2, Duration::from_secs(2))
    );
}

#[test]
fn priorities_still_decide_which_task_starts() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = Pool::builder()
        .workers(1)
        .queue(QueueKind::Priority)
        .clock(clock.clone())
        .rate_limit(one_per_second(clock.clone()))
        .build()
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    // The first start takes the only permit; the rest queue up meanwhile.
    let (entered_tx, entered) = mpsc::channel();
    let (release, gate) = mpsc::channel::<()>();
    pool.spawn(move |_| {
        entered_tx.send(()).unwrap();
        let _ = gate.recv();
    })
    .unwrap();
    entered.recv().unwrap();
    let handles: Vec<_> = [(1, "low"), (9, "high"), (5, "mid")]
        .into_iter()
        .map(|(priority, name)| {
            let order = Arc::clone(&order);
            pool.submit_task(
                Task::new(move |_| order.lock().unwrap().push(name)).priority(priority),
            )
            .unwrap()
        })
        .collect();
    release.send(()).unwrap();
    for started in 1..=3 {
        await_stats(&pool, "a worker waits for a permit", |s| {
            s.waiting_for_permit > 0
        });
        manual.advance(Duration::from_secs(1));
        // Wait for that start before the next permit can come due.
        for _ in 0..10_000_000 {
            if order.lock().unwrap().len() >= started {
                break;
            }
            std::thread::yield_now();
        }
        assert_eq!(
            order.lock().unwrap().len(),
            started,
            "start {started} never came"
        );
    }
    for handle in handles {
        handle.wait().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), ["high", "mid", "low"]);
}

#[test]
fn shutdown_wakes_workers_waiting_for_a_permit() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let per_hour: Arc<dyn RateLimiter> = Arc::new(
        TokenBucket::with_clock(
            Rate::new(1, Duration::from_secs(3600)).unwrap(),
            1,
            clock.clone(),
        )
        .unwrap(),
    );
    let pool = Pool::builder()
        .workers(2)
        .clock(clock.clone())
        .rate_limit(per_hour)
        .build()
        .unwrap();
    let first = pool.submit(|_| 1).unwrap();
    assert_eq!(first.wait(), Ok(1));
    let ran = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&ran);
    let waiting = pool
        .submit(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    // Both workers now wait for a permit an hour away; the pool must still
    // stop at once when asked.
    let report = pool.shutdown_now();
    assert_eq!(report.cancelled(), 1);
    assert_eq!(waiting.wait(), Err(TaskError::ShutDown));
    pool.shutdown(Duration::from_secs(30)).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(pool.stats().workers, 0);
}

#[test]
fn retries_take_permits_like_any_start() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let pool = Pool::builder()
        .workers(1)
        .clock(clock.clone())
        .rate_limit(one_per_second(clock.clone()))
        .build()
        .unwrap();
    let t0 = clock.now();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&starts);
    let attempt_clock = clock.clone();
    let mut attempts = 0;
    let handle = pool
        .submit_task(Task::retrying(
            gosling::retry::RetryPolicy::fixed(2, Duration::ZERO),
            move |_| {
                log.lock().unwrap().push(attempt_clock.now() - t0);
                attempts += 1;
                if attempts < 3 {
                    Err("again")
                } else {
                    Ok(attempts)
                }
            },
        ))
        .unwrap();
    for n in 1..3 {
        for _ in 0..10_000_000 {
            if starts.lock().unwrap().len() == n {
                break;
            }
            std::thread::yield_now();
        }
        manual.advance(Duration::from_secs(1));
    }
    assert_eq!(handle.wait(), Ok(3));
    assert_eq!(*starts.lock().unwrap(), [0, 1, 2].map(Duration::from_secs));
}
