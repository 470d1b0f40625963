//! The submit grid: every kind of submission (fire-and-forget, with a
//! handle, a built `Task`, a batch) in every waiting form (the pool's
//! policy, `try_`, `_timeout`, `_deadline`), and the causes each form's
//! error can carry: `try_` forms `Full` or `Closed`, timed forms `Timeout`
//! or `Closed`, the policy forms whatever the policy allows. A refused task
//! always comes back whole.

mod common;

use common::{Watchdog, bounded, hold_worker};
use gosling::context::Context;
use gosling::{
    FullPolicy, Pool, SubmitError, SubmitErrorKind, SubmitTimeoutError, Task, TrySubmitError,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Spawn,
    Submit,
    Task,
    Batch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Policy,
    Try,
    Timeout,
    Deadline,
}

const KINDS: [Kind; 4] = [Kind::Spawn, Kind::Submit, Kind::Task, Kind::Batch];
const FORMS: [Form; 4] = [Form::Policy, Form::Try, Form::Timeout, Form::Deadline];

/// What a submission gave: the values of the accepted tasks (waited for),
/// or the refusal's cause and how many tasks came back.
type Outcome = Result<Vec<u32>, (SubmitErrorKind, usize)>;

/// How long the timed forms wait in [`offer`]: not at all (a zero timeout,
/// a deadline already here), so a full queue times out without a race.
struct Timing {
    timeout: Duration,
    deadline: Instant,
}

impl Timing {
    fn now() -> Timing {
        Timing {
            timeout: Duration::ZERO,
            deadline: Instant::now(),
        }
    }

    fn long() -> Timing {
        Timing {
            timeout: Duration::from_secs(3_600),
            deadline: Instant::now() + Duration::from_secs(3_600),
        }
    }
}

/// Submits `n` tasks (one unless `kind` is a batch) returning `value`, in
/// `form`; checks that the error's type allows only the causes its form
/// can have, and that every refused task comes back and still runs.
fn offer(pool: &Pool, kind: Kind, form: Form, n: usize, value: u32, timing: &Timing) -> Outcome {
    let ctx = Context::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let body = {
        let ran = ran.clone();
        move || {
            let ran = ran.clone();
            move |_: &Context| {
                ran.fetch_add(1, Ordering::SeqCst);
                value
            }
        }
    };
    // Each form's error, as (cause, the tasks handed back run here).
    fn try_cause<T>(e: TrySubmitError<T>) -> (SubmitErrorKind, T) {
        assert_eq!(e.is_full(), e.kind() == SubmitErrorKind::Full);
        assert_eq!(e.is_closed(), e.kind() == SubmitErrorKind::Closed);
        (e.kind(), e.into_inner())
    }
    fn timed_cause<T>(e: SubmitTimeoutError<T>) -> (SubmitErrorKind, T) {
        assert_eq!(e.is_timeout(), e.kind() == SubmitErrorKind::Timeout);
        assert_eq!(e.is_closed(), e.kind() == SubmitErrorKind::Closed);
        (e.kind(), e.into_inner())
    }
    fn policy_cause<T>(e: SubmitError<T>) -> (SubmitErrorKind, T) {
        assert_eq!(e.is_full(), e.kind() == SubmitErrorKind::Full);
        assert_eq!(e.is_timeout(), e.kind() == SubmitErrorKind::Timeout);
        assert_eq!(e.is_closed(), e.kind() == SubmitErrorKind::Closed);
        (e.kind(), e.into_inner())
    }
    let (t, d) = (timing.timeout, timing.deadline);
    let outcome: Outcome = match kind {
        Kind::Spawn => {
            let (tx, rx) = mpsc::channel();
            let make = {
                let body = body.clone();
                move || {
                    let (f, tx) = (body(), tx.clone());
                    move |ctx: &Context| {
                        let _ = tx.send(f(ctx));
                    }
                }
            };
            let refused = match form {
                Form::Policy => pool.spawn(make()).err().map(policy_cause),
                Form::Try => pool.try_spawn(make()).err().map(try_cause),
                Form::Timeout => pool.spawn_timeout(make(), t).err().map(timed_cause),
                Form::Deadline => pool.spawn_deadline(make(), d).err().map(timed_cause),
            };
            match refused {
                None => Ok(vec![
                    rx.recv_timeout(Duration::from_secs(10))
                        .expect("spawned task ran"),
                ]),
                Some((cause, task)) => {
                    task(&ctx);
                    Err((cause, 1))
                }
            }
        }
        Kind::Submit => {
            let refused = match form {
                Form::Policy => pool.submit(body()).map_err(policy_cause),
                Form::Try => pool.try_submit(body()).map_err(try_cause),
                Form::Timeout => pool.submit_timeout(body(), t).map_err(timed_cause),
                Form::Deadline => pool.submit_deadline(body(), d).map_err(timed_cause),
            };
            match refused {
                Ok(handle) => Ok(vec![wait(handle)]),
                Err((cause, task)) => {
                    task(&ctx);
                    Err((cause, 1))
                }
            }
        }
        Kind::Task => {
            let called = Arc::new(AtomicUsize::new(0));
            let task = {
                let called = called.clone();
                Task::new(body()).priority(1).on_complete(move |_| {
                    called.fetch_add(1, Ordering::SeqCst);
                })
            };
            let refused = match form {
                Form::Policy => pool.submit_task(task).map_err(policy_cause),
                Form::Try => pool.try_submit_task(task).map_err(try_cause),
                Form::Timeout => pool.submit_task_timeout(task, t).map_err(timed_cause),
                Form::Deadline => pool.submit_task_deadline(task, d).map_err(timed_cause),
            };
            match refused {
                Ok(handle) => {
                    let v = wait(handle);
                    common::wait_until("the callback ran", || called.load(Ordering::SeqCst) == 1);
                    Ok(vec![v])
                }
                Err((cause, task)) => {
                    // Handed back whole: its callback is still in it and not
                    // run; another pool runs it, callback included.
                    assert_eq!(called.load(Ordering::SeqCst), 0);
                    let elsewhere = Pool::new(1).unwrap();
                    assert_eq!(wait(elsewhere.submit_task(task).unwrap()), value);
                    common::wait_until("the callback ran", || called.load(Ordering::SeqCst) == 1);
                    Err((cause, 1))
                }
            }
        }
        Kind::Batch => {
            let tasks = (0..n).map(|_| body());
            let refused = match form {
                Form::Policy => pool.submit_batch(tasks).map_err(policy_cause),
                Form::Try => pool.try_submit_batch(tasks).map_err(try_cause),
                Form::Timeout => pool.submit_batch_timeout(tasks, t).map_err(timed_cause),
                Form::Deadline => pool.submit_batch_deadline(tasks, d).map_err(timed_cause),
            };
            match refused {
                Ok(handles) => Ok(handles.into_iter().map(wait).collect()),
                Err((cause, tasks)) => {
                    let back = tasks.len();
                    for task in tasks {
                        task(&ctx);
                    }
                    Err((cause, back))
                }
            }
        }
    };
    let expected_runs = match &outcome {
        Ok(values) => values.len(),
        Err((_, back)) => *back,
    };
    // Accepted tasks ran on the pool; refused ones were handed back and ran here.
    assert_eq!(
        ran.load(Ordering::SeqCst),
        expected_runs,
        "{kind:?} {form:?}"
    );
    outcome
}

fn wait<T: std::fmt::Debug + Send + 'static, E: std::fmt::Debug + Send + 'static>(
    handle: gosling::TaskHandle<T, E>,
) -> T {
    handle
        .wait_timeout(Duration::from_secs(10))
        .expect("the task finished within 10 s")
        .expect("the task succeeded")
}

#[test]
fn every_form_of_every_kind_accepts_when_there_is_room() {
    let _watchdog = Watchdog::start("submit grid: accept".into(), Duration::from_secs(20));
    let pool = bounded(8, FullPolicy::Block);
    for kind in KINDS {
        for form in FORMS {
            let n = if kind == Kind::Batch { 3 } else { 1 };
            let outcome = offer(&pool, kind, form, n, 7, &Timing::now());
            assert_eq!(outcome, Ok(vec![7; n]), "{kind:?} {form:?}");
        }
    }
    let stats = pool.stats();
    assert_eq!(stats.rejected, 0);
    assert_eq!(stats.submitted, 4 * 3 + 4 * 3); // 12 single tasks, 4 batches of 3
}

#[test]
fn a_closed_pool_refuses_every_form_as_closed_and_hands_the_tasks_back() {
    let pool = bounded(8, FullPolicy::Block);
    pool.close();
    for kind in KINDS {
        for form in FORMS {
            let n = if kind == Kind::Batch { 3 } else { 1 };
            let outcome = offer(&pool, kind, form, n, 1, &Timing::long());
            assert_eq!(
                outcome,
                Err((SubmitErrorKind::Closed, n)),
                "{kind:?} {form:?}"
            );
        }
    }
    assert_eq!(pool.stats().rejected, 16);
}

#[test]
fn a_full_queue_is_full_for_try_forms_and_a_timeout_for_timed_forms() {
    let _watchdog = Watchdog::start("submit grid: full".into(), Duration::from_secs(20));
    let pool = bounded(1, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 0).unwrap(); // fills the one place
    for kind in KINDS {
        for (form, cause) in [
            (Form::Policy, SubmitErrorKind::Full), // the pool's policy: reject
            (Form::Try, SubmitErrorKind::Full),
            (Form::Timeout, SubmitErrorKind::Timeout),
            (Form::Deadline, SubmitErrorKind::Timeout),
        ] {
            let outcome = offer(&pool, kind, form, 1, 1, &Timing::now());
            assert_eq!(outcome, Err((cause, 1)), "{kind:?} {form:?}");
        }
    }
    assert_eq!(pool.stats().rejected, 16);
    drop(gate);
    assert_eq!(wait(queued), 0);
}

#[test]
fn the_policy_forms_time_out_under_a_timeout_policy_and_that_is_not_full() {
    let _watchdog = Watchdog::start(
        "submit grid: policy timeout".into(),
        Duration::from_secs(20),
    );
    let pool = bounded(1, FullPolicy::Timeout(Duration::ZERO));
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 0).unwrap();
    for kind in KINDS {
        let outcome = offer(&pool, kind, Form::Policy, 1, 1, &Timing::now());
        assert_eq!(outcome, Err((SubmitErrorKind::Timeout, 1)), "{kind:?}");
    }
    let refused = pool.submit(|_| 1).unwrap_err();
    assert!(refused.is_timeout() && !refused.is_full());
    drop(gate);
    assert_eq!(wait(queued), 0);
}

#[test]
fn a_batch_larger_than_the_capacity_is_refused_at_once_in_every_form() {
    // Even the blocking policy and an hour's timeout refuse at once: the
    // batch could never fit. The watchdog turns a wait into a failure.
    let _watchdog = Watchdog::start(
        "submit grid: oversize batch".into(),
        Duration::from_secs(20),
    );
    let pool = bounded(2, FullPolicy::Block);
    for (form, cause) in [
        (Form::Policy, SubmitErrorKind::Full),
        (Form::Try, SubmitErrorKind::Full),
        (Form::Timeout, SubmitErrorKind::Timeout),
        (Form::Deadline, SubmitErrorKind::Timeout),
    ] {
        let outcome = offer(&pool, Kind::Batch, form, 3, 1, &Timing::long());
        assert_eq!(outcome, Err((cause, 3)), "{form:?}");
    }
    // A batch that fits still goes in whole.
    assert_eq!(
        offer(&pool, Kind::Batch, Form::Try, 2, 5, &Timing::now()),
        Ok(vec![5, 5])
    );
    assert_eq!(pool.stats().rejected, 4);
}

#[test]
fn a_timed_form_waits_for_room_that_comes_in_time() {
    let _watchdog = Watchdog::start("submit grid: room comes".into(), Duration::from_secs(20));
    let pool = bounded(1, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    let queued = pool.submit(|_| 0).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| pool.submit_timeout(|_| 9, Duration::from_secs(3_600)));
        // The queue stays full until the held worker is released; then the
        // queued task runs and the waiter gets its place.
        drop(gate);
        let handle = waiter.join().unwrap().expect("room came within the hour");
        assert_eq!(wait(handle), 9);
    });
    assert_eq!(wait(queued), 0);
}

#[test]
fn try_and_timed_errors_convert_into_submit_error_for_the_question_mark() {
    fn queue_both(pool: &Pool) -> Result<(), SubmitError<fn(&Context)>> {
        let noop: fn(&Context) = |_| ();
        pool.try_spawn(noop)?;
        pool.spawn_timeout(noop, Duration::from_secs(1))?;
        Ok(())
    }
    let pool = bounded(4, FullPolicy::Block);
    assert!(queue_both(&pool).is_ok());
    pool.close();
    let err = queue_both(&pool).unwrap_err();
    assert_eq!(err.kind(), SubmitErrorKind::Closed);
    // The typed errors print their cause, and debug without the task.
    let e = pool.try_spawn(|_| ()).unwrap_err();
    assert_eq!(format!("{e:?}"), "Closed(..)");
    assert_eq!(e.to_string(), "task refused: the pool is closed");
    let e = pool.submit_timeout(|_| 1, Duration::ZERO).unwrap_err();
    assert_eq!(format!("{e:?}"), "Closed(..)");
    assert_eq!(e.to_string(), "task refused: the pool is closed");
}
