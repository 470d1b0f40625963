//! A pool's life: building (and refusing bad settings), worker threads and
//! their hooks and names, resizing while tasks run, waiting for idle, and
//! the statistics.

mod common;

use common::{EXPECTED, await_stats, hold_worker, quiet_expected_panics};
use gosling::context::Context;
use gosling::{FullPolicy, Pool, ResizeError, TaskError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;

/// A generous bound that turns a deadlock into a failure instead of a hang.
const HANG: Duration = Duration::from_secs(60);

#[test]
fn bad_settings_are_build_errors() {
    let _watchdog = common::watchdog("bad_settings_are_build_errors");
    let err = Pool::new(0).unwrap_err();
    assert!(err.is_invalid_setting());
    assert_eq!(err.to_string(), "a pool needs at least one worker");
    let err = Pool::builder().workers(0).build().unwrap_err();
    assert!(err.is_invalid_setting());
    let err = Pool::builder().capacity(0).build().unwrap_err();
    assert!(err.is_invalid_setting());
    assert_eq!(
        err.to_string(),
        "a bounded queue needs a capacity of at least one"
    );
    let err = Pool::builder().stack_size(0).build().unwrap_err();
    assert!(err.is_invalid_setting());
    assert!(std::error::Error::source(&err).is_none());
}

#[test]
fn resize_to_zero_or_after_close_is_refused() {
    let _watchdog = common::watchdog("resize_to_zero_or_after_close_is_refused");
    let pool = Pool::new(2).unwrap();
    let err = pool.resize(0).unwrap_err();
    assert!(matches!(err, ResizeError::ZeroWorkers));
    assert_eq!(err.to_string(), "a pool needs at least one worker");
    assert_eq!(pool.stats().workers, 2);
    pool.close();
    assert!(matches!(pool.resize(4), Err(ResizeError::Closed)));
}

#[test]
fn one_worker_runs_everything_in_order() {
    let _watchdog = common::watchdog("one_worker_runs_everything_in_order");
    let pool = Pool::new(1).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let n = common::scaled(500) as u32;
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let log = Arc::clone(&log);
            pool.submit(move |_| {
                log.lock().unwrap().push(i);
                i
            })
            .unwrap()
        })
        .collect();
    for (i, h) in (0..n).zip(handles) {
        assert_eq!(h.wait(), Ok(i));
    }
    assert_eq!(*log.lock().unwrap(), (0..n).collect::<Vec<_>>());
    assert_eq!(pool.stats().workers, 1);
}

#[test]
fn small_stack_workers_run_tasks() {
    let _watchdog = common::watchdog("small_stack_workers_run_tasks");
    let pool = Pool::builder()
        .workers(1)
        .stack_size(256 << 10)
        .build()
        .unwrap();
    assert_eq!(pool.submit(|_| 6 * 7).unwrap().wait(), Ok(42));
}

#[test]
fn threads_are_named_and_hooks_run_once_per_worker() {
    let _watchdog = common::watchdog("threads_are_named_and_hooks_run_once_per_worker");
    quiet_expected_panics();
    let started: Arc<Mutex<BTreeMap<usize, String>>> = Arc::default();
    let stopped: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let (st, sp) = (Arc::clone(&started), Arc::clone(&stopped));
    let name = || thread::current().name().unwrap_or("").to_string();
    let pool = Pool::builder()
        .workers(3)
        .thread_name("pt")
        .on_thread_start(move |i| {
            assert!(st.lock().unwrap().insert(i, name()).is_none());
            // A panicking hook is contained.
            panic!("{EXPECTED}: start hook {i}");
        })
        .on_thread_stop(move |i| {
            sp.lock().unwrap().push((i, name()));
            panic!("{EXPECTED}: stop hook {i}");
        })
        .build()
        .unwrap();
    // Every worker has started by the time build returns? Not promised: the
    // hooks may still be running. Tasks run after their worker's hook.
    pool.resize(5).unwrap();
    let (tx, rx) = mpsc::channel();
    let barrier = Arc::new(Barrier::new(5));
    for _ in 0..5 {
        let (tx, barrier) = (tx.clone(), Arc::clone(&barrier));
        // All five at once: one per worker.
        pool.spawn(move |_| {
            barrier.wait();
            tx.send(name()).unwrap();
        })
        .unwrap();
    }
    let mut names: Vec<String> = rx.iter().take(5).collect();
    names.sort();
    assert_eq!(names, ["pt-0", "pt-1", "pt-2", "pt-3", "pt-4"]);
    pool.shutdown(HANG).unwrap();
    let started = started.lock().unwrap().clone();
    let expected: BTreeMap<usize, String> = (0..5).map(|i| (i, format!("pt-{i}"))).collect();
    assert_eq!(started, expected);
    let mut stopped = stopped.lock().unwrap().clone();
    stopped.sort();
    let expected: Vec<(usize, String)> = (0..5).map(|i| (i, format!("pt-{i}"))).collect();
    assert_eq!(stopped, expected);
}

#[test]
fn default_thread_name() {
    let _watchdog = common::watchdog("default_thread_name");
    let pool = Pool::new(1).unwrap();
    let name = pool
        .submit(|_| thread::current().name().map(String::from))
        .unwrap()
        .wait();
    assert_eq!(name, Ok(Some("gosling-worker-0".to_string())));
}

#[test]
fn growing_starts_workers_that_take_queued_work() {
    let _watchdog = common::watchdog("growing_starts_workers_that_take_queued_work");
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    // Three tasks that can only finish together: they need three more workers.
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            pool.submit(move |_| {
                barrier.wait();
                i
            })
            .unwrap()
        })
        .collect();
    pool.resize(4).unwrap();
    assert_eq!(pool.stats().workers, 4);
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.wait_timeout(HANG).expect("new workers idle"), Ok(i));
    }
    drop(gate);
    pool.wait_idle().unwrap();
    assert_eq!(pool.stats().succeeded, 4);
}

#[test]
fn shrinking_never_interrupts_a_running_task() {
    let _watchdog = common::watchdog("shrinking_never_interrupts_a_running_task");
    let pool = Pool::new(3).unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = mpsc::channel();
    let mut gates = Vec::new();
    let mut handles = Vec::new();
    for i in 0..3 {
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (started_tx, finished) = (started_tx.clone(), Arc::clone(&finished));
        handles.push(
            pool.submit(move |ctx: &Context| {
                started_tx.send(()).unwrap();
                gate_rx.recv().unwrap();
                finished.fetch_add(1, Ordering::SeqCst);
                (i, ctx.is_cancelled())
            })
            .unwrap(),
        );
        gates.push(gate_tx);
    }
    for _ in 0..3 {
        started_rx.recv().unwrap();
    }
    pool.resize(1).unwrap();
    // Every worker is inside a task: none can have left.
    let s = pool.stats();
    assert_eq!((s.workers, s.busy), (3, 3));
    for gate in gates {
        gate.send(()).unwrap();
    }
    for (i, h) in handles.into_iter().enumerate() {
        // Ran to the end, its context untouched.
        assert_eq!(h.wait(), Ok((i, false)));
    }
    assert_eq!(finished.load(Ordering::SeqCst), 3);
    await_stats(&pool, "the worker count", |s| s.workers == 1);
    // The one left still works.
    assert_eq!(
        pool.submit(|_| "still here").unwrap().wait(),
        Ok("still here")
    );
    assert_eq!(pool.stats().workers, 1);
}

#[test]
fn shrinking_idle_workers_converges() {
    let _watchdog = common::watchdog("shrinking_idle_workers_converges");
    let pool = Pool::new(4).unwrap();
    pool.resize(2).unwrap();
    await_stats(&pool, "the worker count", |s| s.workers == 2);
    pool.resize(1).unwrap();
    await_stats(&pool, "the worker count", |s| s.workers == 1);
    pool.resize(3).unwrap();
    assert_eq!(pool.stats().workers, 3);
    let handles: Vec<_> = (0..100).map(|i| pool.submit(move |_| i).unwrap()).collect();
    pool.resize(1).unwrap();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.wait(), Ok(i));
    }
    await_stats(&pool, "the worker count", |s| s.workers == 1);
}

#[test]
fn resizing_repeatedly_under_load_loses_nothing() {
    let _watchdog = common::watchdog("resizing_repeatedly_under_load_loses_nothing");
    let pool = Pool::new(2).unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let per = common::scaled(2_000);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..common::scaled(200) {
                pool.resize(1 + i % 4).unwrap();
                thread::yield_now();
            }
        });
        for _ in 0..2 {
            let (pool, done) = (&pool, &done);
            s.spawn(move || {
                for _ in 0..per {
                    let done = Arc::clone(done);
                    pool.spawn(move |_| {
                        done.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
                }
            });
        }
    });
    pool.resize(2).unwrap();
    pool.wait_idle().unwrap();
    assert_eq!(done.load(Ordering::Relaxed), 2 * per);
    let s = pool.stats();
    let total = 2 * per as u64;
    assert_eq!(
        (s.submitted, s.succeeded, s.queued, s.busy),
        (total, total, 0, 0)
    );
    await_stats(&pool, "the worker count", |s| s.workers == 2);
}

#[test]
fn wait_idle_and_its_timeout() {
    let _watchdog = common::watchdog("wait_idle_and_its_timeout");
    let pool = Pool::new(2).unwrap();
    assert!(pool.wait_idle_timeout(Duration::ZERO).unwrap()); // nothing to do
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 1).unwrap();
    // Provably busy for the whole wait: the gate is shut.
    assert!(!pool.wait_idle_timeout(Duration::from_millis(1)).unwrap());
    drop(gate);
    pool.wait_idle().unwrap();
    assert!(queued.is_finished());
    assert!(pool.wait_idle_timeout(HANG).unwrap());
    let s = pool.stats();
    assert_eq!((s.queued, s.busy, s.in_flight()), (0, 0, 0));
}

#[test]
fn wait_idle_from_a_task_is_refused_at_once() {
    let _watchdog = common::watchdog("wait_idle_from_a_task_is_refused_at_once");
    // It could never end while the calling task runs; it says so instead of
    // hanging (tests/help.rs has the rest of the rule).
    let pool = Arc::new(Pool::new(2).unwrap());
    let gate = hold_worker(&pool);
    let me = Arc::clone(&pool);
    let handle = pool.submit(move |_| me.wait_idle()).unwrap();
    let refused = handle
        .wait_timeout(HANG)
        .expect("wait_idle from a task blocked");
    assert_eq!(refused, Ok(Err(gosling::WaitIdleError::OwnWorker)));
    drop(gate);
    assert!(pool.wait_idle_timeout(HANG).unwrap());
}

#[test]
fn stats_count_what_happens() {
    let _watchdog = common::watchdog("stats_count_what_happens");
    quiet_expected_panics();
    let pool = Pool::builder()
        .workers(2)
        .capacity(3)
        .when_full(FullPolicy::Reject)
        .build()
        .unwrap();
    let s = pool.stats();
    assert_eq!((s.workers, s.busy, s.idle, s.queued), (2, 0, 2, 0));
    assert_eq!(s.busy_time, Duration::ZERO);
    let a = hold_worker(&pool);
    let b = hold_worker(&pool);
    let ok = pool.submit(|_| 1).unwrap();
    let failed = pool.submit_fallible(|_| Err::<u8, _>("x")).unwrap();
    let cancelled = pool.submit(|_| 2).unwrap();
    assert!(pool.spawn(|_| ()).is_err()); // full
    assert!(pool.try_submit(|_| ()).is_err());
    assert!(cancelled.cancel());
    let s = pool.stats();
    assert_eq!((s.workers, s.busy, s.idle), (2, 2, 0));
    // The cancelled task no longer counts as queued.
    assert_eq!(
        (s.queued, s.submitted, s.rejected, s.cancelled),
        (2, 5, 2, 1)
    );
    assert_eq!(s.in_flight(), 4);
    drop((a, b));
    pool.wait_idle().unwrap();
    pool.spawn(|_| panic!("{EXPECTED}: stats")).unwrap();
    pool.wait_idle().unwrap();
    assert_eq!(ok.wait(), Ok(1));
    assert_eq!(failed.wait(), Err(TaskError::Failed("x")));
    let s = pool.stats();
    assert_eq!((s.busy, s.idle, s.queued, s.workers), (0, 2, 0, 2));
    assert_eq!(
        (
            s.submitted,
            s.succeeded,
            s.failed,
            s.panicked,
            s.cancelled,
            s.timed_out
        ),
        (6, 3, 1, 1, 1, 0)
    );
    assert_eq!(s.rejected, 2);
    assert_eq!(s.finished(), s.submitted);
    assert!(s.busy_time > Duration::ZERO);
    // Counters survive workers leaving.
    pool.shutdown(HANG).unwrap();
    let after = pool.stats();
    assert_eq!(after.workers, 0);
    assert_eq!(
        (
            after.submitted,
            after.succeeded,
            after.failed,
            after.panicked,
            after.cancelled
        ),
        (6, 3, 1, 1, 1)
    );
    assert!(after.busy_time >= s.busy_time);
}

/// Spawns a binary tree of tasks of the given depth; each task counts itself.
fn fan_out(pool: &Arc<Pool>, depth: u32, count: &Arc<AtomicUsize>) {
    count.fetch_add(1, Ordering::SeqCst);
    if depth == 0 {
        return;
    }
    for _ in 0..2 {
        let (p, c) = (Arc::clone(pool), Arc::clone(count));
        pool.spawn(move |_| fan_out(&p, depth - 1, &c)).unwrap();
    }
}

#[test]
fn wait_idle_waits_for_tasks_spawned_by_tasks() {
    let _watchdog = common::watchdog("wait_idle_waits_for_tasks_spawned_by_tasks");
    let pool = Arc::new(Pool::builder().workers(2).unbounded().build().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let (p, c) = (Arc::clone(&pool), Arc::clone(&count));
    // 2^11 - 1 tasks (2^5 - 1 under Miri).
    let depth = if cfg!(miri) { 4 } else { 10 };
    pool.spawn(move |_| fan_out(&p, depth, &c)).unwrap();
    pool.wait_idle().unwrap();
    // All finished: none was still queued behind its parent.
    let tasks = (1usize << (depth + 1)) - 1;
    assert_eq!(count.load(Ordering::SeqCst), tasks);
    let s = pool.stats();
    assert_eq!(
        (s.submitted, s.succeeded, s.queued, s.busy),
        (tasks as u64, tasks as u64, 0, 0)
    );
}
