//! Queue order (FIFO, LIFO, priority) and a bounded queue's back-pressure:
//! block, reject, timeout, the per-call forms, and closing while submitters
//! wait.
//!
//! Every test holds the pool's only worker with a gate (a channel) so the
//! queue fills first; what happens next does not depend on timing.

mod common;

use common::{advance_until, bounded, hold_worker};
use gosling::context::Context;
use gosling::time::ManualClock;
use gosling::{FullPolicy, Pool, QueueKind, SubmitErrorKind, Task};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

type Log = Arc<Mutex<Vec<u32>>>;

fn recorder(log: &Log, n: u32) -> impl FnOnce(&Context) + Send + 'static {
    let log = Arc::clone(log);
    move |_| log.lock().unwrap().push(n)
}

fn one_worker(kind: QueueKind) -> Pool {
    Pool::builder().workers(1).queue(kind).build().unwrap()
}

#[test]
fn fifo_starts_in_submission_order() {
    let pool = one_worker(QueueKind::Fifo);
    let gate = hold_worker(&pool);
    let log = Log::default();
    for n in 0..20 {
        pool.spawn(recorder(&log, n)).unwrap();
    }
    drop(gate);
    pool.wait_idle().unwrap();
    assert_eq!(*log.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn lifo_starts_newest_first() {
    let pool = one_worker(QueueKind::Lifo);
    let gate = hold_worker(&pool);
    let log = Log::default();
    for n in 0..20 {
        pool.spawn(recorder(&log, n)).unwrap();
    }
    drop(gate);
    pool.wait_idle().unwrap();
    assert_eq!(*log.lock().unwrap(), (0..20).rev().collect::<Vec<_>>());
}

#[test]
fn lifo_order_holds_for_a_task_queued_while_another_runs() {
    // A, B, C queued behind a held worker; while C runs, D arrives: D is the
    // newest and starts next (C, D, B, A), not after the rest of a batch.
    let pool = one_worker(QueueKind::Lifo);
    let gate = hold_worker(&pool);
    let log = Log::default();
    let (c_started, started) = mpsc::channel::<()>();
    let (release_c, c_gate) = mpsc::channel::<()>();
    pool.spawn(recorder(&log, 0)).unwrap(); // A
    pool.spawn(recorder(&log, 1)).unwrap(); // B
    {
        let log = Arc::clone(&log);
        pool.spawn(move |_| {
            log.lock().unwrap().push(2); // C
            c_started.send(()).unwrap();
            let _ = c_gate.recv_timeout(Duration::from_secs(10));
        })
        .unwrap();
    }
    drop(gate);
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("C never started");
    pool.spawn(recorder(&log, 3)).unwrap(); // D
    release_c.send(()).unwrap();
    pool.wait_idle().unwrap();
    assert_eq!(*log.lock().unwrap(), [2, 3, 1, 0]);
}

#[test]
fn lifo_starts_newest_first_whatever_the_queue_length() {
    // Long enough that a worker taking batches would take several.
    let pool = one_worker(QueueKind::Lifo);
    let gate = hold_worker(&pool);
    let log = Log::default();
    for n in 0..100 {
        pool.spawn(recorder(&log, n)).unwrap();
    }
    drop(gate);
    pool.wait_idle().unwrap();
    assert_eq!(*log.lock().unwrap(), (0..100).rev().collect::<Vec<_>>());
}

#[test]
fn lifo_scope_runs_nested_spawns_newest_first() {
    // rayon's scope LIFO-order test: with one worker and no stealing, ten
    // tasks each spawning ten more start in exact reverse order.
    let pool = one_worker(QueueKind::Lifo);
    let gate = hold_worker(&pool);
    let log = Log::default();
    pool.scope(|s| {
        for i in 0..10 {
            let log = Arc::clone(&log);
            s.spawn(move |_| {
                for j in 0..10 {
                    let log = Arc::clone(&log);
                    s.spawn(move |_| log.lock().unwrap().push(i * 10 + j))
                        .unwrap();
                }
            })
            .unwrap();
        }
        drop(gate);
    });
    assert_eq!(*log.lock().unwrap(), (0..100).rev().collect::<Vec<_>>());
}

#[test]
fn priority_starts_highest_first_and_fifo_among_equals() {
    let pool = one_worker(QueueKind::Priority);
    let gate = hold_worker(&pool);
    let log = Log::default();
    // (task, priority): several ties at each level, negative priorities too.
    let tasks: [(u32, i32); 12] = [
        (0, 0),
        (1, 5),
        (2, -3),
        (3, 5),
        (4, 0),
        (5, 100),
        (6, -3),
        (7, 5),
        (8, 0),
        (9, i32::MIN),
        (10, i32::MAX),
        (11, 100),
    ];
    let handles: Vec<_> = tasks
        .iter()
        .map(|&(n, p)| {
            let log = Arc::clone(&log);
            pool.submit_task(Task::new(move |_| log.lock().unwrap().push(n)).priority(p))
                .unwrap()
        })
        .collect();
    // Plain spawns carry priority 0: they queue behind the earlier zeros.
    pool.spawn(recorder(&log, 12)).unwrap();
    drop(gate);
    for h in handles {
        h.wait().unwrap();
    }
    pool.wait_idle().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        [10, 5, 11, 1, 3, 7, 0, 4, 8, 12, 2, 6, 9]
    );
}

#[test]
fn priority_is_ignored_by_fifo_and_lifo() {
    for (kind, expected) in [
        (QueueKind::Fifo, vec![0, 1, 2, 3]),
        (QueueKind::Lifo, vec![3, 2, 1, 0]),
    ] {
        let pool = one_worker(kind);
        let gate = hold_worker(&pool);
        let log = Log::default();
        for (n, p) in [(0u32, -5i32), (1, 9), (2, 0), (3, 100)] {
            let log = Arc::clone(&log);
            let _ = pool
                .submit_task(Task::new(move |_| log.lock().unwrap().push(n)).priority(p))
                .unwrap();
        }
        drop(gate);
        pool.wait_idle().unwrap();
        assert_eq!(*log.lock().unwrap(), expected, "{kind:?}");
    }
}

#[test]
fn reject_policy_refuses_at_once_and_hands_the_task_back() {
    let pool = bounded(2, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    let a = pool.submit(|_| 1).unwrap();
    let b = pool.submit(|_| 2).unwrap();
    let err = pool.submit(|_| 3).unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Full);
    assert!(err.is_full() && !err.is_closed());
    assert_eq!(err.to_string(), "task refused: the queue is full");
    assert_eq!(err.into_inner()(&Context::new()), 3);
    let err = pool.spawn(|_| ()).unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Full);
    let s = pool.stats();
    assert_eq!((s.queued, s.rejected, s.submitted), (2, 2, 3));
    drop(gate);
    assert_eq!((a.wait(), b.wait()), (Ok(1), Ok(2)));
}

#[test]
fn try_submit_never_waits_even_under_block_policy() {
    let pool = bounded(1, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let queued = pool.try_submit(|_| "first").unwrap();
    let err = pool.try_submit(|_| "second").unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Full);
    assert_eq!(err.into_inner()(&Context::new()), "second");
    drop(gate);
    assert_eq!(queued.wait(), Ok("first"));
    // Room again: accepted.
    assert_eq!(pool.try_submit(|_| "third").unwrap().wait(), Ok("third"));
}

#[test]
fn block_policy_waits_for_room() {
    let pool = bounded(1, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let first = pool.submit(|_| 1).unwrap();
    thread::scope(|s| {
        let blocked = s.spawn(|| pool.submit(|_| 2).map_err(|e| e.kind()));
        // Whenever the submitter got there, the queue is full until the gate
        // opens, and then there is room: it must be accepted.
        gate.send(()).unwrap();
        let second = blocked.join().unwrap().unwrap();
        assert_eq!(second.wait(), Ok(2));
    });
    assert_eq!(first.wait(), Ok(1));
    assert_eq!(pool.stats().rejected, 0);
}

#[test]
fn block_policy_submitters_are_released_by_close_with_their_tasks() {
    let pool = bounded(1, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 0u32).unwrap();
    thread::scope(|s| {
        let waiters: Vec<_> = (1..=3u32)
            .map(|n| {
                let pool = &pool;
                s.spawn(move || pool.submit(move |_| n))
            })
            .collect();
        // Each submitter is blocked on the full queue, or arrives after the
        // close: either way it is refused as `Closed` with its task.
        pool.close();
        for (n, w) in (1..=3u32).zip(waiters) {
            let err = w.join().unwrap().unwrap_err();
            assert_eq!(err.kind(), SubmitErrorKind::Closed);
            assert!(err.is_closed());
            assert_eq!(err.into_inner()(&Context::new()), n);
        }
    });
    drop(gate);
    // The task accepted before the close still runs.
    assert_eq!(queued.wait(), Ok(0));
    assert_eq!(pool.stats().rejected, 3);
}

#[test]
fn submit_task_refused_hands_back_the_callback_too() {
    let pool = bounded(1, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    let _queued = pool.submit(|_| ()).unwrap();
    let (tx, rx) = mpsc::channel();
    let err = pool
        .submit_task(
            Task::new(|_| 7)
                .priority(3)
                .on_complete(move |r| tx.send(r.clone()).unwrap()),
        )
        .unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Full);
    // The callback did not run on refusal...
    assert!(rx.try_recv().is_err());
    drop(gate);
    pool.wait_idle().unwrap();
    // ...and travels with the task handed back.
    let handle = pool.submit_task(err.into_inner()).unwrap();
    assert_eq!(handle.wait(), Ok(7));
    assert_eq!(rx.recv().unwrap(), Ok(7));
}

#[test]
fn try_submit_on_closed_pool_says_closed_not_full() {
    let pool = bounded(1, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    let _queued = pool.submit(|_| ()).unwrap();
    pool.close();
    // Full and closed: closed wins.
    assert_eq!(
        pool.try_submit(|_| ()).unwrap_err().kind(),
        SubmitErrorKind::Closed
    );
    drop(gate);
}

#[test]
fn submit_timeout_times_out_on_a_queue_full_for_the_whole_wait() {
    let pool = bounded(1, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 1).unwrap();
    // The gate stays shut for the whole wait: the outcome cannot depend on timing.
    let err = pool
        .submit_timeout(|_| 2, Duration::from_millis(2))
        .unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Timeout);
    assert!(err.is_timeout() && !err.is_closed());
    assert_eq!(err.into_inner()(&Context::new()), 2);
    assert_eq!(pool.stats().rejected, 1);
    drop(gate);
    assert_eq!(queued.wait(), Ok(1));
}

fn manual_pool(manual: &ManualClock, policy: FullPolicy) -> Pool {
    Pool::builder()
        .workers(1)
        .capacity(1)
        .when_full(policy)
        .clock(manual.clock())
        .build()
        .unwrap()
}

#[test]
fn submit_timeout_follows_a_manual_clock() {
    let manual = ManualClock::new();
    let pool = manual_pool(&manual, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 1).unwrap();
    thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let pool = &pool;
        s.spawn(move || {
            let r = pool.submit_timeout(|_| 2, Duration::from_secs(3600));
            tx.send(r.map(|_| ()).map_err(|e| e.kind())).unwrap();
        });
        // An hour of manual time passes in steps; no real hour does.
        let outcome = advance_until(&manual, Duration::from_secs(600), &rx);
        assert_eq!(outcome, Err(SubmitErrorKind::Timeout));
    });
    drop(gate);
    assert_eq!(queued.wait(), Ok(1));
}

#[test]
fn submit_timeout_succeeds_when_room_comes_before_the_manual_deadline() {
    let manual = ManualClock::new();
    let pool = manual_pool(&manual, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 1).unwrap();
    thread::scope(|s| {
        let waiter = s.spawn(|| pool.submit_timeout(|_| 2, Duration::from_secs(10)));
        // Less than the timeout passes (whenever the waiter computed its
        // deadline), then room appears.
        manual.advance(Duration::from_secs(9));
        gate.send(()).unwrap();
        let handle = waiter.join().unwrap().unwrap();
        assert_eq!(handle.wait(), Ok(2));
    });
    assert_eq!(queued.wait(), Ok(1));
    assert_eq!(pool.stats().rejected, 0);
}

#[test]
fn submit_deadline_already_passed_is_refused_without_waiting() {
    let manual = ManualClock::new();
    let pool = manual_pool(&manual, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let _queued = pool.submit(|_| ()).unwrap();
    let now = manual.clock().now();
    let err = pool.submit_deadline(|_| 5, now).unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Timeout);
    assert_eq!(err.into_inner()(&Context::new()), 5);
    // With room, a past deadline does not matter: nothing waits.
    drop(gate);
    pool.wait_idle().unwrap();
    assert_eq!(pool.submit_deadline(|_| 6, now).unwrap().wait(), Ok(6));
}

#[test]
fn submit_deadline_follows_a_manual_clock() {
    let manual = ManualClock::new();
    let pool = manual_pool(&manual, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let _queued = pool.submit(|_| ()).unwrap();
    let deadline = manual.clock().now() + Duration::from_secs(30);
    thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let pool = &pool;
        s.spawn(move || {
            let r = pool.submit_deadline(|_| (), deadline);
            tx.send(r.map(|_| ()).map_err(|e| e.kind())).unwrap();
        });
        let outcome = advance_until(&manual, Duration::from_secs(1), &rx);
        assert_eq!(outcome, Err(SubmitErrorKind::Timeout));
        assert!(manual.clock().now() >= deadline);
    });
    drop(gate);
}

#[test]
fn timeout_policy_follows_a_manual_clock() {
    let manual = ManualClock::new();
    let pool = manual_pool(&manual, FullPolicy::Timeout(Duration::from_secs(60)));
    let gate = hold_worker(&pool);
    let _queued = pool.submit(|_| ()).unwrap();
    thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let pool = &pool;
        s.spawn(move || {
            let r = pool.spawn(|_| ());
            tx.send(r.map_err(|e| e.kind())).unwrap();
        });
        let outcome = advance_until(&manual, Duration::from_secs(10), &rx);
        assert_eq!(outcome, Err(SubmitErrorKind::Timeout));
    });
    assert_eq!(pool.stats().rejected, 1);
    drop(gate);
}

#[test]
fn timeout_policy_accepts_when_room_comes_in_time() {
    let manual = ManualClock::new();
    let pool = manual_pool(&manual, FullPolicy::Timeout(Duration::from_secs(60)));
    let gate = hold_worker(&pool);
    let _queued = pool.submit(|_| ()).unwrap();
    thread::scope(|s| {
        let waiter = s.spawn(|| pool.submit(|_| "in time").map_err(|e| e.kind()));
        manual.advance(Duration::from_secs(59));
        gate.send(()).unwrap();
        assert_eq!(waiter.join().unwrap().unwrap().wait(), Ok("in time"));
    });
}

#[test]
fn batch_is_all_or_nothing() {
    let pool = bounded(4, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    // Larger than the capacity: it could never fit.
    let err = pool
        .submit_batch((0..5u32).map(|i| move |_: &Context| i))
        .unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Full);
    let back = err.into_inner();
    assert_eq!(back.len(), 5);
    let values: Vec<u32> = back.into_iter().map(|f| f(&Context::new())).collect();
    assert_eq!(values, [0, 1, 2, 3, 4]);
    // Three fit, then a batch of two does not: none of it is queued.
    let first = pool
        .submit_batch((0..3u32).map(|i| move |_: &Context| i))
        .unwrap();
    let err = pool
        .submit_batch((10..12u32).map(|i| move |_: &Context| i))
        .unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Full);
    assert_eq!(err.into_inner().len(), 2);
    assert_eq!(pool.stats().queued, 3);
    drop(gate);
    let got: Vec<u32> = first.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(got, [0, 1, 2]);
}

#[test]
fn batch_on_closed_pool_hands_everything_back() {
    let pool = Pool::new(1).unwrap();
    pool.close();
    let err = pool
        .submit_batch((0..3u32).map(|i| move |_: &Context| i))
        .unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Closed);
    assert_eq!(err.into_inner().len(), 3);
}

#[test]
fn full_queue_tasks_run_after_release_without_loss() {
    // Block policy, many submitters, a tiny queue: every accepted task runs.
    let pool = bounded(2, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let log = Log::default();
    thread::scope(|s| {
        for t in 0..4u32 {
            let (pool, log) = (&pool, &log);
            s.spawn(move || {
                for i in 0..50 {
                    pool.spawn(recorder(log, t * 100 + i)).unwrap();
                }
            });
        }
        gate.send(()).unwrap();
    });
    pool.wait_idle().unwrap();
    let mut got = log.lock().unwrap().clone();
    // Each submitter's own tasks start in its order (FIFO queue, one worker).
    for t in 0..4u32 {
        let mine: Vec<u32> = got.iter().copied().filter(|n| n / 100 == t).collect();
        assert_eq!(mine, (0..50).map(|i| t * 100 + i).collect::<Vec<_>>());
    }
    got.sort_unstable();
    assert_eq!(got.len(), 200);
    let s = pool.stats();
    assert_eq!((s.submitted, s.succeeded, s.rejected), (201, 201, 0));
}

#[test]
fn submit_timeout_too_long_to_represent_waits_instead_of_following_the_policy() {
    // `Duration::MAX` overflows an `Instant`: it must mean "wait as long as
    // it takes", not fall back to the pool's (here: reject) policy.
    let pool = bounded(1, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    let _queued = pool.submit(|_| ()).unwrap();
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            pool.submit_timeout(|_| "waited", Duration::MAX)
                .map_err(|e| e.kind())
        });
        // Steers towards the submitter meeting the full queue; the outcome
        // must be the same either way.
        thread::sleep(Duration::from_millis(20));
        gate.send(()).unwrap();
        let handle = waiter.join().unwrap().expect("refused instead of waiting");
        assert_eq!(handle.wait(), Ok("waited"));
    });
}

#[test]
fn a_waiting_batch_does_not_keep_room_from_a_single_submitter() {
    // Capacity 2, full; a batch of 2 waits, then a single task waits. One
    // slot frees up and the worker stays busy: the single task fits and must
    // be accepted, even though the batch still does not fit.
    let pool = bounded(2, FullPolicy::Block);
    let gate = hold_worker(&pool);
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let first = pool
        .submit(move |_| {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
        })
        .unwrap();
    let second = pool.submit(|_| ()).unwrap();
    thread::scope(|s| {
        let pool = &pool;
        let batch = s.spawn(move || {
            pool.submit_batch((0..2u32).map(|i| move |_: &Context| i))
                .map_err(|e| e.kind())
        });
        // Steers towards the batch waiting first; the outcome must be the
        // same either way.
        thread::sleep(Duration::from_millis(20));
        let (single_tx, single_rx) = mpsc::channel();
        s.spawn(move || {
            let r = pool.submit(|_| "single").map_err(|e| e.kind());
            single_tx.send(r).unwrap();
        });
        thread::sleep(Duration::from_millis(20));
        gate.send(()).unwrap();
        // The worker now runs `first` (held). It may have taken `second` in
        // the same batch, freeing both slots; then the batch may fit first
        // and the single submitter rightly waits on a full queue again.
        started_rx.recv().unwrap();
        let mut single = None;
        for _ in 0..10_000_000 {
            if let Ok(r) = single_rx.try_recv() {
                single = Some(r);
                break;
            }
            if batch.is_finished() {
                break;
            }
            thread::yield_now();
        }
        if single.is_none() && !batch.is_finished() {
            // Unblock everyone so the failure reports instead of hanging.
            pool.close();
            release_tx.send(()).unwrap();
            panic!("neither submitter was woken although a slot was free");
        }
        release_tx.send(()).unwrap();
        let single = match single {
            Some(r) => r,
            // The batch got in first; the single task fits once `first` ends.
            None => single_rx.recv().unwrap(),
        };
        assert_eq!(single.unwrap().wait(), Ok("single"));
        let batch = batch.join().unwrap().unwrap();
        assert_eq!(batch.into_iter().map(|h| h.wait().unwrap()).sum::<u32>(), 1);
    });
    assert_eq!((first.wait(), second.wait()), (Ok(()), Ok(())));
}
