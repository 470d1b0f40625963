//! Task handles: waiting (plain, timed, by deadline, non-blocking), status,
//! cancellation, dropping, completion callbacks, and how panics are reported.

mod common;

use common::{EXPECTED, hold_worker, quiet_expected_panics};
use gosling::context::Context;
use gosling::{Pool, Task, TaskError, TaskId, TaskPanic, TaskStatus};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

/// A generous bound that turns a deadlock into a failure instead of a hang.
const HANG: Duration = Duration::from_secs(60);

/// Counts its drops in a shared counter.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn status_moves_from_queued_to_running_to_succeeded() {
    let _watchdog = common::watchdog("status_moves_from_queued_to_running_to_succeeded");
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let handle = pool
        .submit(move |_| {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            "done"
        })
        .unwrap();
    assert_eq!(handle.status(), TaskStatus::Queued);
    assert!(!handle.is_finished());
    drop(gate);
    started_rx.recv().unwrap();
    assert_eq!(handle.status(), TaskStatus::Running);
    assert!(!handle.is_finished());
    let handle = handle.try_result().unwrap_err(); // not finished: handed back
    release_tx.send(()).unwrap();
    pool.wait_idle().unwrap();
    assert_eq!(handle.status(), TaskStatus::Succeeded);
    assert!(handle.status().is_terminal());
    assert!(handle.is_finished());
    assert_eq!(handle.try_result().unwrap(), Ok("done"));
}

#[test]
fn terminal_statuses_match_outcomes() {
    let _watchdog = common::watchdog("terminal_statuses_match_outcomes");
    quiet_expected_panics();
    let pool = Pool::new(1).unwrap();
    let ok = pool.submit_fallible(|_| Ok::<u8, &str>(1)).unwrap();
    let failed = pool.submit_fallible(|_| Err::<u8, _>("bad")).unwrap();
    let panicked = pool
        .submit_fallible(|_| -> Result<u8, &str> { panic!("{EXPECTED}: status") })
        .unwrap();
    pool.wait_idle().unwrap();
    assert_eq!(ok.status(), TaskStatus::Succeeded);
    assert_eq!(failed.status(), TaskStatus::Failed);
    assert_eq!(panicked.status(), TaskStatus::Panicked);
    assert_eq!(ok.wait(), Ok(1));
    assert_eq!(failed.wait(), Err(TaskError::Failed("bad")));
    assert_eq!(
        panicked.wait(),
        Err(TaskError::Panicked(format!("{EXPECTED}: status")))
    );
}

#[test]
fn wait_timeout_and_deadline_follow_a_manual_clock() {
    let _watchdog = common::watchdog("wait_timeout_and_deadline_follow_a_manual_clock");
    let (manual, pool) = common::manual_pool();
    let gate = hold_worker(&pool);
    let handle = pool.submit(|_| 9).unwrap();
    // A deadline that has passed: the handle comes straight back.
    let handle = handle.wait_deadline(manual.clock().now()).unwrap_err();
    let handle = handle.wait_timeout(Duration::ZERO).unwrap_err();
    // A long timeout, ended by advancing manual time (the task is gated, so
    // it cannot have finished).
    let handle = thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let waiter = s.spawn(move || {
            let r = handle.wait_timeout(Duration::from_secs(3600));
            tx.send(()).unwrap();
            r
        });
        let mut returned = false;
        for _ in 0..100_000 {
            manual.advance(Duration::from_secs(600));
            if rx.recv_timeout(Duration::from_millis(1)).is_ok() {
                returned = true;
                break;
            }
        }
        assert!(returned, "wait_timeout ignored the manual clock");
        waiter.join().unwrap().unwrap_err()
    });
    assert_eq!(handle.status(), TaskStatus::Queued);
    drop(gate);
    // Time never moves again: a waiter with a deadline still gets the result.
    let far = manual.clock().now() + Duration::from_secs(1);
    assert_eq!(handle.wait_deadline(far).unwrap(), Ok(9));
}

#[test]
fn wait_timeout_returns_the_result_when_it_comes() {
    let _watchdog = common::watchdog("wait_timeout_returns_the_result_when_it_comes");
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    let handle = pool.submit(|_| "late").unwrap();
    let handle = handle.wait_timeout(Duration::from_millis(1)).unwrap_err();
    drop(gate);
    assert_eq!(handle.wait_timeout(HANG).unwrap(), Ok("late"));
}

#[test]
fn cancel_before_run_prevents_the_body() {
    let _watchdog = common::watchdog("cancel_before_run_prevents_the_body");
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    let ran = Arc::new(AtomicBool::new(false));
    let drops = Arc::new(AtomicUsize::new(0));
    let (r, guard) = (Arc::clone(&ran), DropCounter(Arc::clone(&drops)));
    let handle = pool
        .submit(move |_| {
            let _guard = guard;
            r.store(true, Ordering::SeqCst);
        })
        .unwrap();
    assert!(handle.cancel());
    assert!(!handle.cancel()); // only once
    assert_eq!(handle.status(), TaskStatus::Cancelled);
    assert!(handle.is_finished());
    assert!(handle.context().is_cancelled());
    assert_eq!(pool.stats().cancelled, 1);
    drop(gate);
    pool.wait_idle().unwrap();
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(handle.wait(), Err(TaskError::Cancelled));
    let s = pool.stats();
    assert_eq!((s.submitted, s.succeeded, s.cancelled), (2, 1, 1));
}

#[test]
fn cancel_while_running_reaches_a_cooperative_body() {
    let _watchdog = common::watchdog("cancel_while_running_reaches_a_cooperative_body");
    let pool = Pool::new(1).unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let handle = pool
        .submit_fallible(move |ctx: &Context| {
            started_tx.send(()).unwrap();
            if ctx.wait_cancelled_timeout(HANG) {
                return Err("saw the cancel");
            }
            Ok(())
        })
        .unwrap();
    started_rx.recv().unwrap();
    assert!(!handle.cancel()); // it already started
    // An error after the cancel is the cancellation showing through.
    assert_eq!(handle.wait(), Err(TaskError::Cancelled));
    let s = pool.stats();
    assert_eq!((s.cancelled, s.failed), (1, 0));
}

#[test]
fn cancel_while_running_a_body_that_finishes_anyway_succeeds() {
    let _watchdog = common::watchdog("cancel_while_running_a_body_that_finishes_anyway_succeeds");
    let pool = Pool::new(1).unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let handle = pool
        .submit(move |ctx: &Context| {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            ctx.is_cancelled()
        })
        .unwrap();
    started_rx.recv().unwrap();
    assert!(!handle.cancel());
    release_tx.send(()).unwrap();
    // A value is a value, cancelled context or not.
    assert_eq!(handle.wait(), Ok(true));
}

#[test]
fn cancel_after_finish_changes_nothing() {
    let _watchdog = common::watchdog("cancel_after_finish_changes_nothing");
    let pool = Pool::new(1).unwrap();
    let handle = pool.submit(|_| 3).unwrap();
    pool.wait_idle().unwrap();
    assert!(!handle.cancel());
    assert_eq!(handle.status(), TaskStatus::Succeeded);
    assert_eq!(handle.wait(), Ok(3));
    assert_eq!(pool.stats().cancelled, 0);
}

#[test]
fn dropping_a_handle_neither_cancels_nor_leaks() {
    let _watchdog = common::watchdog("dropping_a_handle_neither_cancels_nor_leaks");
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    let ran = Arc::new(AtomicUsize::new(0));
    let closure_drops = Arc::new(AtomicUsize::new(0));
    let result_drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let ran = Arc::clone(&ran);
        let guard = DropCounter(Arc::clone(&closure_drops));
        let result = Arc::clone(&result_drops);
        let handle = pool
            .submit(move |_| {
                let _guard = guard;
                ran.fetch_add(1, Ordering::SeqCst);
                DropCounter(result)
            })
            .unwrap();
        drop(handle); // while queued
    }
    drop(gate);
    pool.wait_idle().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 10);
    assert_eq!(closure_drops.load(Ordering::SeqCst), 10);
    // The unclaimed results are dropped, not leaked.
    assert_eq!(result_drops.load(Ordering::SeqCst), 10);
    assert_eq!(pool.stats().succeeded, 11);
}

#[test]
fn on_complete_sees_what_the_waiter_sees_exactly_once() {
    let _watchdog = common::watchdog("on_complete_sees_what_the_waiter_sees_exactly_once");
    quiet_expected_panics();
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    type Outcome = Result<u32, TaskError<&'static str>>;
    let mut cases = Vec::new();
    let bodies: Vec<(&str, Task<u32, &'static str>)> = vec![
        ("ok", Task::fallible(|_| Ok(5))),
        ("failed", Task::fallible(|_| Err("nope"))),
        (
            "panicked",
            Task::fallible(|_| panic!("{EXPECTED}: callback")),
        ),
        ("cancelled", Task::fallible(|_| Ok(6))),
    ];
    for (name, task) in bodies {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen: Arc<Mutex<Vec<Outcome>>> = Arc::default();
        let (c, s) = (Arc::clone(&calls), Arc::clone(&seen));
        let handle = pool
            .submit_task(task.on_complete(move |r: &Outcome| {
                c.fetch_add(1, Ordering::SeqCst);
                s.lock().unwrap().push(r.clone());
            }))
            .unwrap();
        if name == "cancelled" {
            assert!(handle.cancel());
            // Cancelled before it ran: the callback already ran, on this thread.
            assert_eq!(calls.load(Ordering::SeqCst), 1);
        }
        cases.push((name, handle, calls, seen));
    }
    drop(gate);
    for (name, handle, calls, seen) in cases {
        let outcome = handle.wait();
        // The callback ran before the waiter woke...
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{name}");
        assert_eq!(
            *seen.lock().unwrap(),
            std::slice::from_ref(&outcome),
            "{name}"
        );
        let expected: Outcome = match name {
            "ok" => Ok(5),
            "failed" => Err(TaskError::Failed("nope")),
            "panicked" => Err(TaskError::Panicked(format!("{EXPECTED}: callback"))),
            _ => Err(TaskError::Cancelled),
        };
        assert_eq!(outcome, expected, "{name}");
    }
    pool.wait_idle().unwrap();
    // ...and never again.
    let s = pool.stats();
    assert_eq!(
        (s.succeeded, s.failed, s.panicked, s.cancelled),
        (2, 1, 1, 1)
    );
}

#[test]
fn a_panicking_callback_does_not_hide_the_result() {
    let _watchdog = common::watchdog("a_panicking_callback_does_not_hide_the_result");
    quiet_expected_panics();
    let pool = Pool::new(1).unwrap();
    let handle = pool
        .submit_task(Task::new(|_| 1).on_complete(|_| panic!("{EXPECTED}: in callback")))
        .unwrap();
    assert_eq!(handle.wait(), Ok(1));
    // The worker survived.
    assert_eq!(pool.submit(|_| 2).unwrap().wait(), Ok(2));
}

#[test]
fn panics_reach_the_waiter_and_the_handler() {
    let _watchdog = common::watchdog("panics_reach_the_waiter_and_the_handler");
    quiet_expected_panics();
    let reports: Arc<Mutex<Vec<TaskPanic>>> = Arc::default();
    let r = Arc::clone(&reports);
    let pool = Pool::builder()
        .workers(2)
        .panic_handler(move |p| r.lock().unwrap().push(p.clone()))
        .build()
        .unwrap();
    let with_id = pool
        .submit_task(Task::new(|_| -> u8 { panic!("{EXPECTED}: with id") }).id(TaskId::from(77)))
        .unwrap();
    assert_eq!(with_id.id(), TaskId::from(77));
    assert_eq!(
        with_id.wait(),
        Err(TaskError::Panicked(format!("{EXPECTED}: with id")))
    );
    let generated = pool
        .submit(|_| -> u8 { panic!("{EXPECTED}: generated id") })
        .unwrap();
    let generated_id = generated.id();
    let err = generated.wait().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("task panicked: {EXPECTED}: generated id")
    );
    // A payload that is not a string still gets a message.
    let odd = pool
        .submit(|_| -> u8 { std::panic::panic_any(42u64) })
        .unwrap();
    assert_eq!(
        odd.wait(),
        Err(TaskError::Panicked("Box<dyn Any>".to_string()))
    );
    // Handle-less panics have only the handler (and the stats) to tell.
    for i in 0..5 {
        pool.spawn(move |_| panic!("{EXPECTED}: spawn {i}"))
            .unwrap();
    }
    pool.wait_idle().unwrap();
    let reports = reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 8);
    let find = |m: &str| reports.iter().find(|p| p.message() == m).cloned();
    let p = find(&format!("{EXPECTED}: with id")).unwrap();
    assert_eq!(p.task(), Some(TaskId::from(77)));
    assert_eq!(
        p.to_string(),
        format!("task-77 panicked: {EXPECTED}: with id")
    );
    assert_eq!(
        find(&format!("{EXPECTED}: generated id")).unwrap().task(),
        Some(generated_id)
    );
    assert!(find("Box<dyn Any>").is_some());
    for i in 0..5 {
        let p = find(&format!("{EXPECTED}: spawn {i}")).unwrap();
        assert_eq!(p.task(), None);
    }
    let s = pool.stats();
    assert_eq!((s.panicked, s.succeeded, s.submitted), (8, 0, 8));
    // Workers survive panics.
    assert_eq!(s.workers, 2);
    assert_eq!(pool.submit(|_| 1).unwrap().wait(), Ok(1));
}

#[test]
fn a_panicking_handler_is_contained() {
    let _watchdog = common::watchdog("a_panicking_handler_is_contained");
    quiet_expected_panics();
    let pool = Pool::builder()
        .workers(1)
        .panic_handler(|p| panic!("{EXPECTED}: handler saw {}", p.message()))
        .build()
        .unwrap();
    let h = pool
        .submit(|_| -> u8 { panic!("{EXPECTED}: task") })
        .unwrap();
    assert_eq!(
        h.wait(),
        Err(TaskError::Panicked(format!("{EXPECTED}: task")))
    );
    pool.spawn(|_| panic!("{EXPECTED}: spawned")).unwrap();
    pool.wait_idle().unwrap();
    assert_eq!(pool.stats().panicked, 2);
    assert_eq!(pool.submit(|_| 1).unwrap().wait(), Ok(1));
}

#[test]
fn handle_context_is_the_body_context() {
    let _watchdog = common::watchdog("handle_context_is_the_body_context");
    let pool = Pool::new(1).unwrap();
    let gate = hold_worker(&pool);
    let handle = pool.submit(|ctx: &Context| ctx.is_cancelled()).unwrap();
    assert!(!handle.context().is_cancelled());
    // Cancelling the context directly (not through the handle) before the
    // task starts: it never runs.
    handle.context().cancel();
    drop(gate);
    assert_eq!(handle.wait(), Err(TaskError::Cancelled));
}

#[test]
fn many_waiters_across_threads_get_their_own_results() {
    let _watchdog = common::watchdog("many_waiters_across_threads_get_their_own_results");
    let pool = Pool::new(2).unwrap();
    let handles: Vec<_> = (0..64u64)
        .map(|i| pool.submit(move |_| i * i).unwrap())
        .collect();
    thread::scope(|s| {
        for (i, h) in handles.into_iter().enumerate() {
            s.spawn(move || assert_eq!(h.wait(), Ok((i * i) as u64)));
        }
    });
}

#[test]
fn wait_ctx_gives_the_handle_back_when_the_callers_context_is_cancelled() {
    let _watchdog =
        common::watchdog("wait_ctx_gives_the_handle_back_when_the_callers_context_is_cancelled");
    let pool = Pool::new(1).unwrap();
    let (release, gate) = mpsc::channel::<()>();
    let handle = pool
        .submit(move |_| {
            let _ = gate.recv();
            7
        })
        .unwrap();
    let caller = gosling::context::Context::new();
    let (back_tx, back) = mpsc::channel();
    let waiter_ctx = caller.clone();
    std::thread::spawn(move || {
        let _ = back_tx.send(handle.wait_ctx(&waiter_ctx));
    });
    caller.cancel(); // wakes the waiter, wherever it is
    let handle = back
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the cancelled wait did not return")
        .expect_err("the task cannot have finished");
    // Abandoning the wait left the task alone.
    assert!(!handle.context().is_cancelled());
    release.send(()).unwrap();
    assert_eq!(handle.wait(), Ok(7));
}

#[test]
fn wait_ctx_ends_at_the_callers_deadline_on_a_manual_clock() {
    let _watchdog = common::watchdog("wait_ctx_ends_at_the_callers_deadline_on_a_manual_clock");
    let (manual, pool) = common::manual_pool();
    let (release, gate) = mpsc::channel::<()>();
    let handle = pool
        .submit(move |_| {
            let _ = gate.recv();
        })
        .unwrap();
    let caller = gosling::context::Context::with_clock(manual.clock())
        .with_timeout(std::time::Duration::from_secs(10));
    let (back_tx, back) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = back_tx.send(handle.wait_ctx(&caller).map(|_| ()));
    });
    let mut outcome = None;
    for _ in 0..10_000 {
        manual.advance(std::time::Duration::from_secs(1));
        if let Ok(o) = back.recv_timeout(std::time::Duration::from_millis(1)) {
            outcome = Some(o);
            break;
        }
    }
    let handle = outcome
        .expect("the wait never ended")
        .expect_err("abandoned at the deadline");
    release.send(()).unwrap();
    assert_eq!(handle.wait(), Ok(()));
}

#[test]
fn submit_wait_returns_the_value_the_error_or_the_refused_task() {
    let _watchdog = common::watchdog("submit_wait_returns_the_value_the_error_or_the_refused_task");
    use gosling::SubmitWaitError;
    use gosling::context::Context;
    let pool = Pool::new(1).unwrap();
    let ctx = Context::new();
    assert_eq!(pool.submit_wait(&ctx, Task::new(|_| 40 + 2)).unwrap(), 42);
    match pool.submit_wait(&ctx, Task::fallible(|_| Err::<(), _>("bad"))) {
        Err(SubmitWaitError::Task(TaskError::Failed("bad"))) => {}
        other => panic!("{other:?}"),
    }
    pool.close();
    match pool.submit_wait(&ctx, Task::new(|_| 1)) {
        Err(SubmitWaitError::Refused(refused)) => {
            assert_eq!(refused.kind(), gosling::SubmitErrorKind::Closed);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn submit_wait_with_a_tied_task_cancels_both() {
    let _watchdog = common::watchdog("submit_wait_with_a_tied_task_cancels_both");
    use gosling::SubmitWaitError;
    use gosling::context::{CancelReason, Context};
    let pool = Pool::new(1).unwrap();
    let request = Context::new();
    let (started_tx, started) = mpsc::channel();
    let task = Task::new(move |ctx: &Context| {
        started_tx.send(()).unwrap();
        let _ = ctx.wait_cancelled_timeout(std::time::Duration::from_secs(30));
        ctx.reason()
    })
    .context(&request);
    let canceller = request.clone();
    std::thread::spawn(move || {
        started.recv().unwrap();
        canceller.cancel();
    });
    let outcome = match pool.submit_wait(&request, task) {
        Ok(reason) => Ok(reason),
        Err(SubmitWaitError::Abandoned(handle)) => handle.wait(),
        Err(other) => panic!("{other:?}"),
    };
    assert_eq!(outcome, Ok(Some(CancelReason::Cancelled)));
}
