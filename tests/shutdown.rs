//! Stopping a pool: `close`, `shutdown`, `shutdown_now` and `Drop` —
//! idempotent, safe from several threads at once and from the pool's own
//! tasks, bounded even when a task never ends, and never losing a task.

mod common;

use common::hold_worker;
use gosling::context::{CancelReason, Context};
use gosling::{Pool, ResizeError, SubmitErrorKind, Task, TaskError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;

/// A generous bound that turns a deadlock into a failure instead of a hang;
/// never reached by a passing test, so nothing depends on it.
const HANG: Duration = Duration::from_secs(60);

#[test]
fn shutdown_drains_queued_work() {
    let _watchdog = common::watchdog("shutdown_drains_queued_work");
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    let handles: Vec<_> = (0..10).map(|i| pool.submit(move |_| i).unwrap()).collect();
    gate.send(()).unwrap();
    pool.shutdown(HANG).unwrap();
    let got: Vec<i32> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    let s = pool.stats();
    assert_eq!((s.workers, s.succeeded, s.queued, s.busy), (0, 11, 0, 0));
}

#[test]
fn shutdown_is_idempotent() {
    let _watchdog = common::watchdog("shutdown_is_idempotent");
    let pool = Pool::new(2).unwrap();
    let h = pool.submit(|_| 1).unwrap();
    pool.shutdown(HANG).unwrap();
    pool.shutdown(HANG).unwrap();
    assert!(pool.shutdown_now().is_clean());
    pool.close();
    pool.shutdown(Duration::ZERO).unwrap();
    assert!(pool.is_closed());
    assert_eq!(h.wait(), Ok(1));
    assert!(matches!(pool.resize(3), Err(ResizeError::Closed)));
}

#[test]
fn submit_after_close_hands_every_kind_of_task_back() {
    let _watchdog = common::watchdog("submit_after_close_hands_every_kind_of_task_back");
    let pool = Pool::new(1).unwrap();
    pool.close();
    let err = pool.submit(|_| 41).unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Closed);
    assert_eq!(err.into_inner()(&Context::new()), 41);

    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    let err = pool
        .spawn(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap_err();
    assert!(err.is_closed());
    err.into_inner()(&Context::new());
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    let err = pool.submit_fallible(|_| Err::<(), _>("no")).unwrap_err();
    assert_eq!(err.into_inner()(&Context::new()), Err("no"));
    let err = pool.try_submit(|_| 1).unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Closed);
    let err = pool.submit_timeout(|_| 1, HANG).unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Closed);
    let err = pool.submit_task(Task::new(|_| 1).priority(2)).unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Closed);
    assert_eq!(pool.stats().rejected, 6);
    assert_eq!(pool.stats().submitted, 0);
}

#[test]
fn shutdown_now_cancels_queued_tasks_with_shut_down() {
    let _watchdog = common::watchdog("shutdown_now_cancels_queued_tasks_with_shut_down");
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    let ran = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..5)
        .map(|_| {
            let ran = Arc::clone(&ran);
            pool.submit(move |_| ran.fetch_add(1, Ordering::SeqCst))
                .unwrap()
        })
        .collect();
    let (tx, rx) = mpsc::channel();
    let with_callback = pool
        .submit_task(Task::new(|_| 0).on_complete(move |r| tx.send(r.clone()).unwrap()))
        .unwrap();
    for _ in 0..3 {
        let ran = Arc::clone(&ran);
        pool.spawn(move |_| {
            ran.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    let report = pool.shutdown_now();
    assert_eq!(report.cancelled(), 9);
    assert_eq!(report.still_running(), 1); // the gate task
    for h in handles {
        assert_eq!(h.wait(), Err(TaskError::ShutDown));
    }
    assert_eq!(with_callback.wait(), Err(TaskError::ShutDown));
    assert_eq!(rx.recv().unwrap(), Err(TaskError::ShutDown));
    gate.send(()).unwrap();
    pool.shutdown(HANG).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let s = pool.stats();
    assert_eq!((s.submitted, s.succeeded, s.cancelled), (10, 1, 9));
}

#[test]
fn shutdown_now_cancels_the_context_of_running_tasks() {
    let _watchdog = common::watchdog("shutdown_now_cancels_the_context_of_running_tasks");
    let pool = Pool::new(1).unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let handle = pool
        .submit(move |ctx: &Context| {
            started_tx.send(()).unwrap();
            assert!(ctx.wait_cancelled_timeout(HANG));
            ctx.reason()
        })
        .unwrap();
    started_rx.recv().unwrap();
    let report = pool.shutdown_now();
    assert_eq!(report.still_running(), 1);
    assert_eq!(handle.wait(), Ok(Some(CancelReason::Shutdown)));
}

#[test]
fn shutdown_cancels_spawned_tasks_through_the_root_context() {
    let _watchdog = common::watchdog("shutdown_cancels_spawned_tasks_through_the_root_context");
    let pool = Pool::new(1).unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    pool.spawn(move |ctx| {
        started_tx.send(()).unwrap();
        let cancelled = ctx.wait_cancelled_timeout(HANG);
        done_tx.send((cancelled, ctx.reason())).unwrap();
    })
    .unwrap();
    started_rx.recv().unwrap();
    pool.shutdown_now();
    assert_eq!(
        done_rx.recv().unwrap(),
        (true, Some(CancelReason::Shutdown))
    );
}

#[test]
fn bounded_shutdown_returns_with_a_task_that_never_ends() {
    let _watchdog = common::watchdog("bounded_shutdown_returns_with_a_task_that_never_ends");
    let pool = Pool::new(2).unwrap();
    // Ignores its context: only the gate ends it.
    let gate = hold_worker(&pool);
    let err = pool.shutdown(Duration::from_millis(20)).unwrap_err();
    assert_eq!(err.report().still_running(), 1);
    assert_eq!(err.report().cancelled(), 0);
    assert!(!err.report().is_clean());
    assert!(err.to_string().starts_with("shutdown timed out"));
    // Asked again while the task still runs: the same answer, nothing new.
    let again = pool.shutdown(Duration::from_millis(1)).unwrap_err();
    assert_eq!(
        (again.report().still_running(), again.report().cancelled()),
        (1, 0)
    );
    assert_eq!(pool.shutdown_now().still_running(), 1);
    // The detached worker finishes once released; then a shutdown is clean.
    drop(gate);
    pool.shutdown(HANG).unwrap();
    assert_eq!(pool.stats().workers, 0);
}

#[test]
fn bounded_shutdown_cancels_what_is_left() {
    let _watchdog = common::watchdog("bounded_shutdown_cancels_what_is_left");
    let pool = Pool::new(1).unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    // A cooperative task: it ends when its context is cancelled.
    let running = pool
        .submit_fallible(move |ctx: &Context| {
            started_tx.send(()).unwrap();
            let _ = ctx.wait_cancelled_timeout(HANG);
            Err::<(), _>("stopped early")
        })
        .unwrap();
    started_rx.recv().unwrap();
    let queued = pool.submit(|_| "never").unwrap();
    let err = pool.shutdown(Duration::from_millis(10)).unwrap_err();
    assert_eq!(err.report().cancelled(), 1);
    assert!(err.report().still_running() <= 1);
    assert_eq!(queued.wait(), Err(TaskError::ShutDown));
    // An error after the pool cancelled the context reads as a shutdown.
    assert_eq!(running.wait(), Err(TaskError::ShutDown));
    pool.shutdown(HANG).unwrap();
    let s = pool.stats();
    assert_eq!((s.submitted, s.cancelled, s.failed), (2, 2, 0));
}

#[test]
fn concurrent_stops_agree_and_lose_nothing() {
    let _watchdog = common::watchdog("concurrent_stops_agree_and_lose_nothing");
    for round in 0..20 {
        let pool = Pool::new(2).unwrap();
        let handles: Vec<_> = (0..200u32)
            .map(|i| pool.submit(move |_| i).unwrap())
            .collect();
        let barrier = Barrier::new(6);
        thread::scope(|s| {
            for who in 0..6 {
                let (pool, barrier) = (&pool, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    match who % 3 {
                        0 => {
                            let _ = pool.shutdown(HANG);
                        }
                        1 => {
                            let _ = pool.shutdown_now();
                        }
                        _ => pool.close(),
                    }
                });
            }
        });
        pool.shutdown(HANG).unwrap();
        let (mut ok, mut shut_down) = (0u64, 0u64);
        for (i, h) in handles.into_iter().enumerate() {
            match h.wait() {
                Ok(v) => {
                    assert_eq!(v as usize, i);
                    ok += 1;
                }
                Err(TaskError::ShutDown) => shut_down += 1,
                Err(e) => panic!("round {round}: task {i} ended {e:?}"),
            }
        }
        let s = pool.stats();
        assert_eq!(s.workers, 0, "round {round}");
        assert_eq!((s.succeeded, s.cancelled), (ok, shut_down), "round {round}");
        assert_eq!(s.submitted, s.finished(), "round {round}");
    }
}

#[test]
fn drop_joins_every_worker() {
    let _watchdog = common::watchdog("drop_joins_every_worker");
    let stopped = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::new(AtomicUsize::new(0));
    let (st, sp) = (Arc::clone(&started), Arc::clone(&stopped));
    let pool = Pool::builder()
        .workers(3)
        .on_thread_start(move |_| {
            st.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move |i| sp.lock().unwrap().push(i))
        .build()
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let done = Arc::clone(&done);
        pool.spawn(move |_| {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    drop(pool);
    // Drop drained the queue and joined: every stop hook has run.
    assert_eq!(done.load(Ordering::SeqCst), 100);
    assert_eq!(started.load(Ordering::SeqCst), 3);
    let mut stopped = stopped.lock().unwrap().clone();
    stopped.sort_unstable();
    assert_eq!(stopped, [0, 1, 2]);
}

#[test]
fn drop_with_a_stuck_task_returns_after_the_shutdown_timeout() {
    let _watchdog = common::watchdog("drop_with_a_stuck_task_returns_after_the_shutdown_timeout");
    let pool = Pool::builder()
        .workers(1)
        .shutdown_timeout(Duration::from_millis(10))
        .build()
        .unwrap();
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| ()).unwrap();
    drop(pool); // returns: the stuck task keeps its detached thread
    assert_eq!(queued.wait(), Err(TaskError::ShutDown));
    drop(gate);
}

#[test]
fn a_task_may_shut_down_its_own_pool() {
    let _watchdog = common::watchdog("a_task_may_shut_down_its_own_pool");
    for which in 0..3 {
        let pool = Arc::new(Pool::new(2).unwrap());
        let gate = hold_worker(&pool);
        let queued_before = pool.submit(|_| "drained").unwrap();
        let me = Arc::clone(&pool);
        let handle = pool
            .submit(move |_| match which {
                0 => me
                    .shutdown(HANG)
                    .map(|()| 0)
                    .map_err(gosling::ShutdownError::into_report),
                1 => Ok(me.shutdown_now().still_running()),
                _ => {
                    me.close();
                    Ok(0)
                }
            })
            .unwrap();
        drop(gate);
        let outcome = handle.wait_timeout(HANG).expect("the task deadlocked");
        match which {
            // Its own task is not counted, nor waited for.
            0 => assert_eq!(outcome, Ok(Ok(0))),
            1 => assert!(matches!(outcome, Ok(Ok(n)) if n <= 1)),
            _ => assert_eq!(outcome, Ok(Ok(0))),
        }
        let before = queued_before.wait();
        if which == 1 {
            assert!(matches!(before, Ok("drained") | Err(TaskError::ShutDown)));
        } else {
            assert_eq!(before, Ok("drained"));
        }
        pool.shutdown(HANG).unwrap();
        assert_eq!(pool.stats().workers, 0);
    }
}

#[test]
fn a_task_may_drop_the_last_reference_to_its_pool() {
    let _watchdog = common::watchdog("a_task_may_drop_the_last_reference_to_its_pool");
    let pool = Arc::new(Pool::new(2).unwrap());
    let (tx, rx) = mpsc::channel();
    let me = Arc::clone(&pool);
    pool.spawn(move |_| {
        // Wait until the test has let go, so this drop is the last one.
        while Arc::strong_count(&me) > 1 {
            thread::yield_now();
        }
        drop(me); // Pool::drop runs on one of its own workers
        tx.send(()).unwrap();
    })
    .unwrap();
    drop(pool);
    rx.recv_timeout(HANG)
        .expect("dropping the pool from its task deadlocked");
}

#[test]
fn wait_idle_returns_once_closed_and_drained() {
    let _watchdog = common::watchdog("wait_idle_returns_once_closed_and_drained");
    let pool = Pool::new(2).unwrap();
    let gate = hold_worker(&pool);
    pool.close();
    assert!(!pool.wait_idle_timeout(Duration::from_millis(1)).unwrap());
    drop(gate);
    pool.wait_idle().unwrap();
    assert!(pool.wait_idle_timeout(Duration::ZERO).unwrap());
    pool.shutdown(HANG).unwrap();
    // A stopped pool with no workers is idle.
    pool.wait_idle().unwrap();
}

/// Submits a task that runs until its context is cancelled and returns the
/// reason; returns once it runs.
fn run_until_cancelled(pool: &Pool) -> gosling::TaskHandle<Option<CancelReason>> {
    let (started_tx, started) = mpsc::channel();
    let running = pool
        .submit(move |ctx: &Context| {
            started_tx.send(()).unwrap();
            let _ = ctx.wait_cancelled_timeout(HANG);
            ctx.reason()
        })
        .unwrap();
    started.recv().unwrap();
    running
}

#[test]
fn a_pool_dropped_while_panicking_cancels_instead_of_draining() {
    let _watchdog = common::watchdog("a_pool_dropped_while_panicking_cancels_instead_of_draining");
    // The shutdown timeout is an hour: a drop that drained would hang here
    // (the watchdog below turns that into a failure).
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            let pool = Pool::builder()
                .workers(1)
                .shutdown_timeout(Duration::from_secs(3600))
                .build()
                .unwrap();
            let running = run_until_cancelled(&pool);
            let queued: Vec<_> = (0..5).map(|i| pool.submit(move |_| i).unwrap()).collect();
            let handles = (running, queued);
            let _keep = &pool;
            std::panic::resume_unwind(Box::new(handles));
        });
        let payload = outcome.expect_err("the closure panics");
        done_tx.send(payload).unwrap();
    });
    let payload = done
        .recv_timeout(HANG)
        .expect("dropping the pool during a panic waited for its work");
    type Handles = (
        gosling::TaskHandle<Option<CancelReason>>,
        Vec<gosling::TaskHandle<i32>>,
    );
    let (running, queued) = *payload.downcast::<Handles>().unwrap();
    assert_eq!(running.wait(), Ok(Some(CancelReason::Shutdown)));
    for handle in queued {
        assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    }
}

/// Waits (bounded) for the stop a pool's context triggers.
fn await_context_stop(pool: &Pool) -> gosling::ShutdownReport {
    let mut report = None;
    common::wait_until("the pool stopped for its context", || {
        report = pool.context_report();
        report.is_some()
    });
    report.unwrap()
}

#[test]
fn cancelling_the_pools_context_stops_it() {
    let _watchdog = common::watchdog("cancelling_the_pools_context_stops_it");
    let app = Context::new();
    let pool = Pool::builder().workers(1).context(&app).build().unwrap();
    let running = run_until_cancelled(&pool);
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move |_| i).unwrap()).collect();
    let (seen_tx, seen) = mpsc::channel();
    pool.spawn(move |ctx| {
        let _ = seen_tx.send(ctx.reason());
    })
    .unwrap();
    app.cancel();
    let report = await_context_stop(&pool);
    assert_eq!(report.cancelled(), 4, "{report}");
    assert!(pool.is_closed());
    assert_eq!(running.wait(), Ok(Some(CancelReason::Shutdown)));
    for handle in queued {
        assert_eq!(handle.wait(), Err(TaskError::ShutDown));
    }
    // The spawned task never ran: abandoned with the queue.
    assert!(seen.try_recv().is_err());
    assert_eq!(
        pool.spawn(|_| ()).unwrap_err().kind(),
        SubmitErrorKind::Closed
    );
}

#[test]
fn the_pools_context_deadline_stops_it_on_a_manual_clock() {
    let _watchdog = common::watchdog("the_pools_context_deadline_stops_it_on_a_manual_clock");
    let manual = gosling::time::ManualClock::new();
    let app = Context::with_clock(manual.clock()).with_timeout(Duration::from_secs(60));
    let pool = Pool::builder()
        .workers(1)
        .clock(manual.clock())
        .context(&app)
        .build()
        .unwrap();
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 1).unwrap();
    assert!(pool.context_report().is_none());
    manual.advance(Duration::from_secs(60));
    let report = await_context_stop(&pool);
    assert_eq!(report.cancelled(), 1, "{report}");
    assert_eq!(queued.wait(), Err(TaskError::ShutDown));
    drop(gate);
}

#[test]
fn a_pool_built_on_a_cancelled_context_is_stopped_at_once() {
    let _watchdog = common::watchdog("a_pool_built_on_a_cancelled_context_is_stopped_at_once");
    let app = Context::new();
    app.cancel();
    let pool = Pool::builder().workers(1).context(&app).build().unwrap();
    assert!(pool.is_closed());
    assert!(pool.context_report().is_some_and(|r| r.is_clean()));
    assert!(pool.submit(|_| ()).is_err());
}
