//! Task timeouts and parent contexts, driven by a manual clock: no test here
//! sleeps or depends on how fast anything runs.

mod common;

use common::advance_until;
use gosling::context::{CancelReason, Context};
use gosling::time::ManualClock;
use gosling::{Pool, Task, TaskError, TaskStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A one-worker pool on a manual clock, with its worker held until the
/// returned sender is used (or dropped).
fn held_pool(manual: &ManualClock) -> (Pool, mpsc::Sender<()>) {
    let pool = Pool::builder()
        .workers(1)
        .clock(manual.clock())
        .build()
        .unwrap();
    let release = common::hold_worker(&pool);
    (pool, release)
}

#[test]
fn queued_task_past_its_deadline_never_runs() {
    let _watchdog = common::watchdog("queued_task_past_its_deadline_never_runs");
    let manual = ManualClock::new();
    let (pool, release) = held_pool(&manual);
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let handle = pool
        .submit_task(
            Task::new(move |_| flag.store(true, Ordering::SeqCst)).timeout(Duration::from_secs(10)),
        )
        .unwrap();
    manual.advance(Duration::from_secs(9));
    assert_eq!(handle.status(), TaskStatus::Queued);
    manual.advance(Duration::from_secs(1));
    // The timer resolves it at the deadline, while the worker is still held.
    let handle = match handle.wait_timeout(Duration::from_secs(3600)) {
        Ok(outcome) => {
            assert_eq!(outcome, Err(TaskError::TimedOut));
            None
        }
        Err(handle) => Some(handle),
    };
    assert!(handle.is_none(), "the handle must resolve at the deadline");
    release.send(()).unwrap();
    pool.wait_idle().unwrap();
    assert!(
        !ran.load(Ordering::SeqCst),
        "a timed-out queued task must never run"
    );
    let stats = pool.stats();
    assert_eq!(
        (stats.timed_out, stats.succeeded, stats.late_results),
        (1, 1, 0)
    );
    assert_eq!(stats.submitted, stats.finished());
}

#[test]
fn running_task_resolves_at_its_deadline_and_sees_its_context_cancelled() {
    let _watchdog =
        common::watchdog("running_task_resolves_at_its_deadline_and_sees_its_context_cancelled");
    let (manual, pool) = common::manual_pool();
    let (started_tx, started) = mpsc::channel();
    let (seen_tx, seen) = mpsc::channel();
    let handle = pool
        .submit_task(
            Task::new(move |ctx: &Context| {
                started_tx.send(()).unwrap();
                // Cooperative: wait for the context, however long.
                while !ctx.wait_cancelled_timeout(Duration::from_secs(3600)) {}
                seen_tx.send(ctx.reason()).unwrap();
                "finished anyway"
            })
            .timeout(Duration::from_secs(5)),
        )
        .unwrap();
    started.recv().unwrap();
    manual.advance(Duration::from_secs(5));
    assert_eq!(handle.wait(), Err(TaskError::TimedOut));
    assert_eq!(seen.recv().unwrap(), Some(CancelReason::DeadlineExceeded));
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!(stats.timed_out, 1);
    assert_eq!(
        stats.late_results, 1,
        "the body's value is dropped and counted"
    );
    assert_eq!(stats.succeeded, 0);
}

#[test]
fn late_result_of_a_body_that_ignores_its_context_is_counted_not_delivered() {
    let _watchdog =
        common::watchdog("late_result_of_a_body_that_ignores_its_context_is_counted_not_delivered");
    let (manual, pool) = common::manual_pool();
    let (started_tx, started) = mpsc::channel();
    let (release, gate) = mpsc::channel::<()>();
    let handle = pool
        .submit_task(
            Task::new(move |_| {
                started_tx.send(()).unwrap();
                gate.recv().unwrap(); // ignores its context
                42
            })
            .timeout(Duration::from_millis(10)),
        )
        .unwrap();
    started.recv().unwrap();
    manual.advance(Duration::from_millis(10));
    assert_eq!(handle.wait(), Err(TaskError::TimedOut));
    release.send(()).unwrap();
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.timed_out, stats.late_results, stats.succeeded),
        (1, 1, 0)
    );
}

#[test]
fn pool_default_timeout_applies_to_submit_and_spawn() {
    let _watchdog = common::watchdog("pool_default_timeout_applies_to_submit_and_spawn");
    let manual = ManualClock::new();
    let pool = Pool::builder()
        .workers(1)
        .clock(manual.clock())
        .task_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (release, gate) = mpsc::channel::<()>();
    let (entered_tx, entered) = mpsc::channel();
    pool.spawn(move |_| {
        entered_tx.send(()).unwrap();
        let _ = gate.recv();
    })
    .unwrap();
    entered.recv().unwrap();
    let queued = pool.submit(|_| 1).unwrap();
    // A task's own timeout overrides the pool's.
    let patient = pool
        .submit_task(Task::new(|_| 2).timeout(Duration::from_secs(100)))
        .unwrap();
    manual.advance(Duration::from_secs(1));
    // The held spawn task and the plain submit time out; the patient task waits.
    assert_eq!(queued.wait(), Err(TaskError::TimedOut));
    release.send(()).unwrap();
    assert_eq!(patient.wait(), Ok(2));
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!(stats.timed_out, 2);
    assert_eq!(stats.late_results, 1); // the held spawn task returned after its timeout
}

#[test]
fn cancelling_the_parent_context_cancels_queued_tasks() {
    let _watchdog = common::watchdog("cancelling_the_parent_context_cancels_queued_tasks");
    let manual = ManualClock::new();
    let (pool, release) = held_pool(&manual);
    let request = Context::with_clock(manual.clock());
    let ran = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let ran = Arc::clone(&ran);
            pool.submit_task(
                Task::new(move |_| ran.store(true, Ordering::SeqCst)).context(&request),
            )
            .unwrap()
        })
        .collect();
    request.cancel();
    release.send(()).unwrap();
    for handle in handles {
        assert_eq!(handle.wait(), Err(TaskError::Cancelled));
    }
    assert!(!ran.load(Ordering::SeqCst));
    pool.wait_idle().unwrap();
    assert_eq!(pool.stats().cancelled, 3);
}

#[test]
fn parent_deadline_times_the_task_out() {
    let _watchdog = common::watchdog("parent_deadline_times_the_task_out");
    let manual = ManualClock::new();
    let (pool, release) = held_pool(&manual);
    let request = Context::with_clock(manual.clock()).with_timeout(Duration::from_secs(2));
    let handle = pool
        .submit_task(Task::new(|_| ()).context(&request))
        .unwrap();
    manual.advance(Duration::from_secs(2));
    assert_eq!(handle.wait(), Err(TaskError::TimedOut));
    release.send(()).unwrap();
}

#[test]
fn a_task_finishing_early_leaves_nothing_to_fire() {
    let _watchdog = common::watchdog("a_task_finishing_early_leaves_nothing_to_fire");
    let manual = ManualClock::new();
    let pool = Pool::builder()
        .workers(2)
        .clock(manual.clock())
        .build()
        .unwrap();
    for i in 0..100u32 {
        let h = pool
            .submit_task(Task::new(move |_| i).timeout(Duration::from_secs(60)))
            .unwrap();
        assert_eq!(h.wait(), Ok(i));
    }
    manual.advance(Duration::from_secs(120));
    pool.wait_idle().unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.succeeded, stats.timed_out, stats.late_results),
        (100, 0, 0)
    );
}

/// A one-worker pool on a manual clock with room for one queued task,
/// already taken, and its worker held: the next submission waits for room.
fn full_pool(manual: &ManualClock, policy: gosling::FullPolicy) -> (Pool, mpsc::Sender<()>) {
    let pool = Pool::builder()
        .workers(1)
        .capacity(1)
        .when_full(policy)
        .clock(manual.clock())
        .build()
        .unwrap();
    let release = common::hold_worker(&pool);
    pool.spawn(|_| ()).unwrap(); // fills the queue
    (pool, release)
}

#[test]
fn a_refused_task_was_never_timed_out_counted_or_called_back() {
    let _watchdog = common::watchdog("a_refused_task_was_never_timed_out_counted_or_called_back");
    // The task's own timeout (1 s) passes while its submitter waits for room
    // (up to 5 s): the task was never accepted, so nothing may end it.
    let manual = ManualClock::new();
    let (pool, release) = full_pool(
        &manual,
        gosling::FullPolicy::Timeout(Duration::from_secs(5)),
    );
    let called = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let outcome = std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let pool = &pool;
        let calls = Arc::clone(&called);
        s.spawn(move || {
            let task = Task::new(|_| 7)
                .timeout(Duration::from_secs(1))
                .on_complete(move |_: &Result<i32, TaskError>| {
                    calls.fetch_add(1, Ordering::SeqCst);
                });
            tx.send(pool.submit_task(task).map(|_| ())).unwrap();
        });
        advance_until(&manual, Duration::from_millis(250), &rx)
    });
    let refused = outcome.expect_err("the queue stayed full");
    assert_eq!(refused.kind(), gosling::SubmitErrorKind::Timeout);
    assert_eq!(
        called.load(Ordering::SeqCst),
        0,
        "a refused task's callback ran"
    );
    let s = pool.stats();
    assert_eq!((s.submitted, s.timed_out, s.rejected), (2, 0, 1), "{s:?}");
    // The task comes back whole: its callback runs when it is run again.
    let task = refused.into_inner();
    release.send(()).unwrap();
    pool.wait_idle().unwrap();
    let handle = pool
        .submit_task(task.timeout(Duration::from_secs(60)))
        .unwrap();
    assert_eq!(handle.wait(), Ok(7));
    assert_eq!(called.load(Ordering::SeqCst), 1);
    let s = pool.stats();
    assert_eq!(s.submitted, s.finished(), "{s:?}");
}

#[test]
fn a_task_accepted_after_its_deadline_passed_times_out_once() {
    let _watchdog = common::watchdog("a_task_accepted_after_its_deadline_passed_times_out_once");
    // The task's deadline passes while its submitter blocks for room; room
    // comes later: the task is accepted, never runs, and ends timed out
    // exactly once, with its callback.
    let manual = ManualClock::new();
    let (pool, release) = full_pool(&manual, gosling::FullPolicy::Block);
    let deadline = manual.clock().now() + Duration::from_secs(1);
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ran = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        let pool = &pool;
        let (calls, ran) = (Arc::clone(&calls), Arc::clone(&ran));
        let waiter = s.spawn(move || {
            let task = Task::new(move |_| ran.store(true, Ordering::SeqCst))
                .deadline(deadline)
                .on_complete(move |_: &Result<(), TaskError>| {
                    calls.fetch_add(1, Ordering::SeqCst);
                });
            pool.submit_task(task)
        });
        // Past the deadline while the task waits for room (or has not been
        // submitted yet): nothing may end it before it is accepted.
        manual.advance(Duration::from_secs(2));
        assert_eq!(pool.stats().timed_out, 0);
        release.send(()).unwrap();
        let handle = waiter.join().unwrap().expect("room came");
        assert_eq!(handle.wait(), Err(TaskError::TimedOut));
    });
    pool.wait_idle().unwrap();
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let s = pool.stats();
    assert_eq!((s.submitted, s.succeeded, s.timed_out), (3, 2, 1), "{s:?}");
}

#[test]
fn the_completion_record_says_when_the_task_started_how_long_it_ran_and_its_attempts() {
    let _watchdog = common::watchdog(
        "the_completion_record_says_when_the_task_started_how_long_it_ran_and_its_attempts",
    );
    let (manual, pool) = common::manual_pool();
    let (records_tx, records) = mpsc::channel();
    let (entered_tx, entered) = mpsc::channel();
    let (release, gate) = mpsc::channel::<()>();
    let t0 = manual.clock().now();
    let tx = records_tx.clone();
    let handle = pool
        .submit_task(
            Task::new(move |_| {
                entered_tx.send(()).unwrap();
                let _ = gate.recv();
                "done"
            })
            .id(gosling::TaskId::from(5))
            .on_result(move |r| {
                tx.send((
                    r.id(),
                    r.outcome().clone(),
                    r.started_at(),
                    r.run_time(),
                    r.attempts(),
                ))
                .unwrap();
            }),
        )
        .unwrap();
    entered.recv().unwrap();
    manual.advance(Duration::from_secs(5));
    release.send(()).unwrap();
    assert_eq!(handle.wait(), Ok("done"));
    assert_eq!(
        records.recv().unwrap(),
        (
            gosling::TaskId::from(5),
            Ok("done"),
            Some(t0),
            Some(Duration::from_secs(5)),
            1
        )
    );
    // Cancelled before it ran: no start, no run time, no attempt.
    let _hold = common::hold_worker(&pool);
    let queued = pool
        .submit_task(Task::new(|_| "never").on_result(move |r| {
            records_tx
                .send((
                    r.id(),
                    r.outcome().clone(),
                    r.started_at(),
                    r.run_time(),
                    r.attempts(),
                ))
                .unwrap();
        }))
        .unwrap();
    assert!(queued.cancel());
    let (_, outcome, started, ran, attempts) = records.recv().unwrap();
    assert_eq!(
        (outcome, started, ran, attempts),
        (Err(TaskError::Cancelled), None, None, 0)
    );
}
