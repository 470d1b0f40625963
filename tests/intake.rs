//! The lock-free intake of FIFO pools (no rate limit, no resource limits):
//! submitters append without the pool's lock, so the guarantees the lock
//! used to give — order, capacity, nothing lost to a close, no lost
//! wake-up, batches whole — are checked here under concurrency.
//!
//! Randomised tests print their seed when they fail; set
//! `GOSLING_INTAKE_SEED` to replay one.

mod common;

use common::{hold_worker, scaled, seeded};
use gosling::{FullPolicy, Pool, QueueKind, SubmitErrorKind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;

/// The variable that replays a randomised test's seed.
const SEED_VAR: &str = "GOSLING_INTAKE_SEED";

/// Counts how many times each task was dropped (ran or not).
struct Probe(Arc<AtomicUsize>);
impl Drop for Probe {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn each_submitters_tasks_start_in_its_order() {
    let pool = Pool::builder().workers(1).unbounded().build().unwrap();
    let gate = hold_worker(&pool);
    let order = Arc::new(Mutex::new(Vec::new()));
    let per = scaled(2_000) as u64;
    thread::scope(|s| {
        for p in 0..3u64 {
            let (pool, order) = (&pool, &order);
            s.spawn(move || {
                for i in 0..per {
                    let order = Arc::clone(order);
                    pool.spawn(move |_| order.lock().unwrap().push((p, i)))
                        .unwrap();
                }
            });
        }
    });
    drop(gate);
    pool.wait_idle().unwrap();
    let order = order.lock().unwrap();
    assert_eq!(order.len() as u64, 3 * per);
    let mut next = [0u64; 3];
    for &(p, i) in order.iter() {
        assert_eq!(next[p as usize], i, "submitter {p}'s tasks out of order");
        next[p as usize] += 1;
    }
}

#[test]
fn a_full_bounded_queue_admits_exactly_its_capacity() {
    let capacity = 8;
    let pool = Pool::builder()
        .workers(1)
        .capacity(capacity)
        .when_full(FullPolicy::Reject)
        .build()
        .unwrap();
    let gate = hold_worker(&pool);
    let ran = Arc::new(AtomicUsize::new(0));
    let (accepted, full) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let per = scaled(500).max(capacity);
    thread::scope(|s| {
        for _ in 0..4 {
            let (pool, ran, accepted, full) = (&pool, &ran, &accepted, &full);
            s.spawn(move || {
                for _ in 0..per {
                    let ran = Arc::clone(ran);
                    match pool.spawn(move |_| {
                        ran.fetch_add(1, Ordering::SeqCst);
                    }) {
                        Ok(()) => accepted.fetch_add(1, Ordering::SeqCst),
                        Err(e) => {
                            assert_eq!(e.kind(), SubmitErrorKind::Full);
                            full.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                }
            });
        }
    });
    assert_eq!(accepted.load(Ordering::SeqCst), capacity);
    assert_eq!(full.load(Ordering::SeqCst), 4 * per - capacity);
    let stats = pool.stats();
    assert_eq!(stats.queued, capacity, "{stats:?}");
    assert_eq!(stats.rejected, (4 * per - capacity) as u64, "{stats:?}");
    drop(gate);
    pool.wait_idle().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), capacity);
}

#[test]
fn blocked_submitters_all_get_in_and_every_task_runs_once() {
    let pool = Pool::builder()
        .workers(2)
        .capacity(4)
        .when_full(FullPolicy::Block)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let per = scaled(5_000);
    thread::scope(|s| {
        for _ in 0..4 {
            let (pool, ran) = (&pool, &ran);
            s.spawn(move || {
                for i in 0..per {
                    let ran = Arc::clone(ran);
                    if i % 7 == 0 {
                        let handle = pool.submit(move |_| ran.fetch_add(1, Ordering::SeqCst));
                        drop(handle.unwrap());
                    } else {
                        pool.spawn(move |_| {
                            ran.fetch_add(1, Ordering::SeqCst);
                        })
                        .unwrap();
                    }
                }
            });
        }
    });
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!(ran.load(Ordering::SeqCst), 4 * per);
    assert_eq!(stats.submitted, 4 * per as u64, "{stats:?}");
    assert_eq!(stats.succeeded, 4 * per as u64, "{stats:?}");
    assert_eq!((stats.queued, stats.rejected), (0, 0), "{stats:?}");
}

/// Workers that ran dry spin, then sleep; a task submitted at any moment of
/// that must still be run (a lost wake-up would leave it queued forever).
#[test]
fn a_task_submitted_while_workers_go_to_sleep_is_never_stranded() {
    let (mut rng, _report) = seeded(SEED_VAR);
    for workers in [1, 2, 3] {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let (tx, rx) = mpsc::channel();
        for round in 0..scaled(1_500) as u32 {
            // Vary the moment: right after the last task, mid-spin, or
            // (now and then) well after the workers fell asleep.
            match rng.below(10) {
                0..=5 => (0..rng.below(20_000)).for_each(|_| std::hint::spin_loop()),
                6..=8 => (0..rng.below(50)).for_each(|_| thread::yield_now()),
                _ => thread::sleep(Duration::from_micros(rng.below(300))),
            }
            let tx = tx.clone();
            pool.spawn(move |_| tx.send(round).unwrap()).unwrap();
            assert_eq!(
                rx.recv_timeout(Duration::from_secs(20)),
                Ok(round),
                "round {round} with {workers} workers: the task was never run"
            );
        }
    }
}

/// Round trips: a worker that publishes the result of its batch's last
/// task already counts as looking for work, so the submitter's next task
/// (often submitted before that worker is back at the queue) wakes no
/// one. That worker must then take it — and when the next task blocks on
/// one submitted after it, the other worker must still be woken for that.
#[test]
fn a_task_submitted_as_the_last_result_is_published_is_never_stranded() {
    let (mut rng, _report) = seeded(SEED_VAR);
    for workers in [1, 2, 3] {
        let pool = Pool::builder().workers(workers).build().unwrap();
        for round in 0..scaled(3_000) as u64 {
            match rng.below(10) {
                // Mostly at once: the window this test is about.
                0..=6 => {}
                7 | 8 => (0..rng.below(5_000)).for_each(|_| std::hint::spin_loop()),
                _ => thread::sleep(Duration::from_micros(rng.below(200))),
            }
            if workers > 1 && rng.below(8) == 0 {
                // A task that can end only once the next one ran.
                let (tx, rx) = mpsc::channel::<()>();
                let waiting = pool
                    .submit(move |_| rx.recv_timeout(Duration::from_secs(20)).is_ok())
                    .unwrap();
                let freeing = pool.submit(move |_| tx.send(()).is_ok()).unwrap();
                for (what, handle) in [("waiting", waiting), ("freeing", freeing)] {
                    assert_eq!(
                        handle.wait_timeout(Duration::from_secs(20)).ok(),
                        Some(Ok(true)),
                        "round {round} with {workers} workers: the {what} task failed or never ran"
                    );
                }
                continue;
            }
            let handle = pool.submit(move |_| round ^ 0x5A5A).unwrap();
            assert_eq!(
                handle.wait_timeout(Duration::from_secs(20)).ok(),
                Some(Ok(round ^ 0x5A5A)),
                "round {round} with {workers} workers: the task was never run"
            );
        }
        let stats = pool.stats();
        assert_eq!(stats.submitted, stats.succeeded, "{stats:?}");
    }
}

/// Tasks that block until released, submitted one right after another to a
/// pool whose workers are idle (spinning or asleep): each must get a worker
/// of its own. A worker that took only the first must not leave the second
/// queued while the other worker sleeps (peer-bench W5 blocks every worker
/// this way before it measures).
#[test]
fn tasks_submitted_together_to_an_idle_pool_wake_enough_workers() {
    let (mut rng, _report) = seeded(SEED_VAR);
    for workers in [2, 3] {
        let pool = Pool::builder().workers(workers).build().unwrap();
        for round in 0..scaled(300) {
            match rng.below(4) {
                0 => (0..rng.below(20_000)).for_each(|_| std::hint::spin_loop()),
                1 => (0..rng.below(50)).for_each(|_| thread::yield_now()),
                2 => thread::sleep(Duration::from_micros(rng.below(500))),
                _ => {}
            }
            let (started_tx, started_rx) = mpsc::channel();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let release_rx = Arc::new(Mutex::new(release_rx));
            for _ in 0..workers {
                let (started_tx, release_rx) = (started_tx.clone(), Arc::clone(&release_rx));
                pool.spawn(move |_| {
                    started_tx.send(()).unwrap();
                    // Held until the test has seen every task start.
                    let _ = release_rx.lock().unwrap().recv();
                })
                .unwrap();
            }
            for started in 0..workers {
                assert!(
                    started_rx.recv_timeout(Duration::from_secs(20)).is_ok(),
                    "round {round}: only {started} of {workers} blocking tasks started"
                );
            }
            drop(release_tx);
            pool.wait_idle().unwrap();
        }
    }
}

/// A close racing with submitters: each task is either accepted (and then
/// runs, because the close is graceful) or handed back, never both, never
/// neither; the counters agree.
#[test]
fn a_close_racing_submitters_loses_nothing() {
    let (mut rng, report) = seeded(SEED_VAR);
    let per = scaled(2_000);
    for round in 0..scaled(40) {
        let pool = Pool::builder()
            .workers(2)
            .capacity(if round % 2 == 0 { 64 } else { usize::MAX })
            .when_full(FullPolicy::Block)
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (accepted, refused) = (AtomicU64::new(0), AtomicU64::new(0));
        let start = Barrier::new(4);
        let close_after = rng.below(3 * per as u64 / 2) as usize;
        thread::scope(|s| {
            for _ in 0..3 {
                let (pool, ran, dropped, accepted, refused, start) =
                    (&pool, &ran, &dropped, &accepted, &refused, &start);
                s.spawn(move || {
                    start.wait();
                    for _ in 0..per {
                        let (ran, probe) = (Arc::clone(ran), Probe(Arc::clone(dropped)));
                        match pool.spawn(move |_| {
                            let _probe = probe;
                            ran.fetch_add(1, Ordering::SeqCst);
                        }) {
                            Ok(()) => accepted.fetch_add(1, Ordering::SeqCst),
                            Err(e) => {
                                assert_eq!(e.kind(), SubmitErrorKind::Closed);
                                drop(e.into_inner());
                                refused.fetch_add(1, Ordering::SeqCst)
                            }
                        };
                    }
                });
            }
            start.wait();
            while ran.load(Ordering::SeqCst) < close_after {
                thread::yield_now();
            }
            pool.close();
        });
        pool.shutdown(Duration::from_secs(30)).unwrap();
        let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
        let ctx = format!("round {round}, seed {}: {:?}", report.seed, pool.stats());
        assert_eq!(accepted + refused, 3 * per as u64, "{ctx}");
        assert_eq!(ran.load(Ordering::SeqCst) as u64, accepted, "{ctx}");
        assert_eq!(dropped.load(Ordering::SeqCst), 3 * per, "{ctx}");
        let stats = pool.stats();
        assert_eq!(stats.submitted, accepted, "{ctx}");
        assert_eq!(stats.succeeded, accepted, "{ctx}");
        assert_eq!(stats.rejected, refused, "{ctx}");
        assert_eq!(stats.queued, 0, "{ctx}");
    }
}

/// A batch racing with a close goes in whole or comes back whole.
#[test]
fn a_batch_is_all_or_nothing_against_a_racing_close() {
    let batches = scaled(200) as u64;
    for _ in 0..scaled(30) {
        let pool = Pool::builder().workers(2).unbounded().build().unwrap();
        let (whole, refused) = (AtomicU64::new(0), AtomicU64::new(0));
        thread::scope(|s| {
            for _ in 0..3 {
                let (pool, whole, refused) = (&pool, &whole, &refused);
                s.spawn(move || {
                    for b in 0..batches {
                        match pool.submit_batch((0..10u64).map(|i| move |_: &_| b * 10 + i)) {
                            Ok(handles) => {
                                assert_eq!(handles.len(), 10);
                                for (i, h) in handles.into_iter().enumerate() {
                                    assert_eq!(h.wait(), Ok(b * 10 + i as u64));
                                }
                                whole.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => {
                                assert_eq!(e.kind(), SubmitErrorKind::Closed);
                                assert_eq!(e.into_inner().len(), 10);
                                refused.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                });
            }
            thread::yield_now();
            pool.close();
        });
        pool.shutdown(Duration::from_secs(30)).unwrap();
        let stats = pool.stats();
        let whole = whole.into_inner();
        assert_eq!(whole + refused.into_inner(), 3 * batches);
        assert_eq!(stats.submitted, whole * 10, "{stats:?}");
        assert_eq!(stats.succeeded, whole * 10, "{stats:?}");
    }
}

/// `shutdown_now` racing with submitters: every accepted task either ran or
/// ended `ShutDown`; the report counts the ones that did not run.
#[test]
fn shutdown_now_racing_submitters_ends_every_accepted_task_once() {
    let per = scaled(3_000);
    for round in 0..scaled(30) {
        let pool = Pool::builder().workers(2).unbounded().build().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let accepted = AtomicU64::new(0);
        let cancelled = thread::scope(|s| {
            for _ in 0..3 {
                let (pool, ran, dropped, accepted) = (&pool, &ran, &dropped, &accepted);
                s.spawn(move || {
                    for _ in 0..per {
                        let (ran, probe) = (Arc::clone(ran), Probe(Arc::clone(dropped)));
                        let task = move |_: &_| {
                            let _probe = probe;
                            ran.fetch_add(1, Ordering::SeqCst);
                        };
                        if pool.spawn(task).is_ok() {
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
            while ran.load(Ordering::SeqCst) < per / 6 {
                thread::yield_now();
            }
            pool.shutdown_now().cancelled()
        });
        pool.shutdown(Duration::from_secs(30)).unwrap();
        let accepted = accepted.into_inner();
        let stats = pool.stats();
        let ctx = format!("round {round}: {stats:?}");
        assert_eq!(dropped.load(Ordering::SeqCst), 3 * per, "{ctx}");
        assert_eq!(
            ran.load(Ordering::SeqCst) as u64 + cancelled as u64,
            accepted,
            "{ctx}"
        );
        assert_eq!(stats.submitted, accepted, "{ctx}");
        assert_eq!(stats.cancelled, cancelled as u64, "{ctx}");
        assert_eq!(stats.succeeded + stats.cancelled, accepted, "{ctx}");
    }
}

/// The other queue kinds keep their lock-protected queue; the same
/// submissions give the same counts there.
#[test]
fn lifo_and_priority_pools_count_the_same() {
    for kind in [QueueKind::Lifo, QueueKind::Priority, QueueKind::Fifo] {
        let pool = Pool::builder().workers(2).queue(kind).build().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let n = scaled(1_000);
        for _ in 0..n {
            let ran = Arc::clone(&ran);
            pool.spawn(move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        let batch = pool.submit_batch((0..10).map(|i| move |_: &_| i)).unwrap();
        assert_eq!(
            batch.into_iter().map(|h| h.wait().unwrap()).sum::<i32>(),
            45
        );
        pool.wait_idle().unwrap();
        let stats = pool.stats();
        assert_eq!(ran.load(Ordering::SeqCst), n);
        assert_eq!(
            (stats.submitted, stats.succeeded),
            (n as u64 + 10, n as u64 + 10),
            "{kind:?}"
        );
    }
}

/// Workers take queued tasks in batches. A task that waits for one queued
/// right behind it (in the same batch) must not wait for its own worker:
/// an idle worker takes the rest of a busy worker's batch.
#[test]
fn a_task_waiting_for_the_next_one_is_not_stuck_in_its_workers_batch() {
    let pool = Pool::builder().workers(2).unbounded().build().unwrap();
    let gate_x = hold_worker(&pool);
    let gate_y = hold_worker(&pool);
    let (signal_tx, signal_rx) = mpsc::channel::<()>();
    let (a_started_tx, a_started_rx) = mpsc::channel::<()>();
    let waited = pool
        .submit(move |_| {
            a_started_tx.send(()).unwrap();
            signal_rx.recv_timeout(Duration::from_secs(20)).is_ok()
        })
        .unwrap();
    pool.spawn(move |_| signal_tx.send(()).unwrap()).unwrap();
    let fillers = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let fillers = Arc::clone(&fillers);
        pool.spawn(move |_| {
            fillers.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    // One worker takes its share of the four (the first two: A, then B
    // behind it) and starts A, which waits for B.
    drop(gate_y);
    a_started_rx.recv().unwrap();
    // The other worker frees up: it runs the fillers, then B.
    drop(gate_x);
    assert_eq!(waited.wait(), Ok(true), "B never ran while A waited for it");
    pool.wait_idle().unwrap();
    assert_eq!(fillers.load(Ordering::SeqCst), 2);
    let stats = pool.stats();
    assert_eq!((stats.submitted, stats.succeeded, stats.queued), (6, 6, 0));
}
