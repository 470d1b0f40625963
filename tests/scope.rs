//! Scoped tasks: borrowing from the caller's stack, joining before the scope
//! returns, and re-raising a task's panic only after every other task ended.

mod common;

use common::{EXPECTED, quiet_expected_panics};
use gosling::{Pool, SubmitErrorKind, TaskPanic};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn tasks_mutate_disjoint_chunks_of_a_local_vec() {
    let pool = Pool::new(2).unwrap();
    let n: u64 = if cfg!(miri) { 1_000 } else { 10_000 };
    let mut data: Vec<u64> = (0..n).collect();
    let total = AtomicUsize::new(0);
    pool.scope(|s| {
        for chunk in data.chunks_mut(97) {
            let total = &total;
            s.spawn(move |_| {
                for x in chunk.iter_mut() {
                    *x = *x * 2 + 1;
                }
                total.fetch_add(chunk.len(), Ordering::Relaxed);
            })
            .unwrap();
        }
    });
    assert_eq!(total.into_inner() as u64, n);
    assert!(data.iter().enumerate().all(|(i, &x)| x == i as u64 * 2 + 1));
    let s = pool.stats();
    assert_eq!(s.succeeded, n.div_ceil(97));
}

#[test]
fn scope_returns_the_closure_value_after_joining() {
    let pool = Pool::new(2).unwrap();
    let counter = AtomicUsize::new(0);
    let value = pool.scope(|s| {
        for _ in 0..50 {
            s.spawn(|_| {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        "value"
    });
    assert_eq!(value, "value");
    // Joined: every task finished before scope returned.
    assert_eq!(counter.load(Ordering::SeqCst), 50);
}

#[test]
fn empty_scope_returns_at_once() {
    let pool = Pool::new(1).unwrap();
    assert_eq!(pool.scope(|_| 5), 5);
}

#[test]
fn a_task_panic_is_reraised_after_all_others_finished() {
    quiet_expected_panics();
    let handled: Arc<Mutex<Vec<TaskPanic>>> = Arc::default();
    let h = Arc::clone(&handled);
    let pool = Pool::builder()
        .workers(2)
        .panic_handler(move |p| h.lock().unwrap().push(p.clone()))
        .build()
        .unwrap();
    for _ in 0..20 {
        let panicked = AtomicBool::new(false);
        let finished = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.scope(|s| {
                // FIFO: the panicking task starts first; the others wait
                // until it has panicked, so the panic is certainly caught
                // while they are still to finish.
                s.spawn(|_| {
                    panicked.store(true, Ordering::SeqCst);
                    panic!("{EXPECTED}: scope task");
                })
                .unwrap();
                for _ in 0..6 {
                    s.spawn(|_| {
                        while !panicked.load(Ordering::SeqCst) {
                            thread::yield_now();
                        }
                        finished.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap();
                }
            });
        }));
        let payload = result.unwrap_err();
        assert_eq!(message(&*payload), format!("{EXPECTED}: scope task"));
        // When the panic reached the caller, every other task had finished.
        assert_eq!(finished.load(Ordering::SeqCst), 6);
    }
    let handled = handled.lock().unwrap();
    assert_eq!(handled.len(), 20);
    assert!(handled.iter().all(|p| p.task().is_none()));
    let s = pool.stats();
    assert_eq!((s.panicked, s.succeeded), (20, 120));
    // The pool is fine afterwards.
    assert_eq!(pool.submit(|_| 1).unwrap().wait(), Ok(1));
}

#[test]
fn only_the_first_of_several_panics_is_reraised() {
    quiet_expected_panics();
    let pool = Pool::new(1).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            for i in 0..3 {
                s.spawn(move |_| panic!("{EXPECTED}: number {i}")).unwrap();
            }
        });
    }));
    // One worker, FIFO: number 0 panicked first.
    assert_eq!(
        message(&*result.unwrap_err()),
        format!("{EXPECTED}: number 0")
    );
    assert_eq!(pool.stats().panicked, 3);
}

#[test]
fn the_closure_panic_wins_and_still_joins() {
    quiet_expected_panics();
    let pool = Pool::new(1).unwrap();
    let finished = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<()>();
    let result = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            s.spawn(|_| panic!("{EXPECTED}: from a task")).unwrap();
            let finished = &finished;
            s.spawn(move |_| {
                // Still queued or running when the closure panics.
                let _ = rx.recv();
                finished.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
            drop(tx); // lets the second task end, whenever it starts
            panic!("{EXPECTED}: from the closure");
        })
    }));
    assert_eq!(
        message(&*result.unwrap_err()),
        format!("{EXPECTED}: from the closure")
    );
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

#[test]
fn scope_on_a_closed_pool_hands_tasks_back() {
    let pool = Pool::new(1).unwrap();
    pool.close();
    let mut hits = 0;
    pool.scope(|s| {
        let err = s.spawn(|_| hits += 1).unwrap_err();
        assert_eq!(err.kind(), SubmitErrorKind::Closed);
        // The borrowing closure comes back; run it here.
        err.into_inner()(&gosling::context::Context::new());
    });
    assert_eq!(hits, 1);
}

#[test]
fn scope_tasks_outlive_nothing_they_borrow_under_shutdown_now() {
    // A shutdown while scope tasks are queued: the scope still returns only
    // once every task has run or been dropped, and nothing runs after.
    let pool = Pool::new(1).unwrap();
    let ran = AtomicUsize::new(0);
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (queued_tx, queued_rx) = mpsc::channel();
    thread::scope(|outer| {
        let pool = &pool;
        outer.spawn(move || {
            started_rx.recv().unwrap();
            queued_rx.recv().unwrap();
            let report = pool.shutdown_now();
            assert_eq!(report.cancelled(), 10);
            release_tx.send(()).unwrap();
        });
        pool.scope(|s| {
            s.spawn(move |_| {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            })
            .unwrap();
            for _ in 0..10 {
                s.spawn(|_| {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            }
            queued_tx.send(()).unwrap();
        });
    });
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let s = pool.stats();
    assert_eq!((s.succeeded, s.cancelled), (1, 10));
}
