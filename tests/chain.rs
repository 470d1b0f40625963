//! Chains: steps in sequence with on-success and on-error actions, on the
//! caller's thread and on a pool (backoffs on the timer, manual clock).

mod common;

use gosling::Pool;
use gosling::context::Context;
use gosling::retry::{Backoff, RetryPolicy};
use gosling::schedule::{Chain, ChainHandle, ChainOutcome, OnError, OnSuccess, Step};
use gosling::time::ManualClock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

type Log = Arc<Mutex<Vec<&'static str>>>;

/// A step body that logs its name and fails when `fails` says so.
fn logged(
    log: &Log,
    name: &'static str,
    fails: bool,
) -> impl Fn(&Context) -> Result<(), String> + Send + Sync + 'static {
    let log = Arc::clone(log);
    move |_| {
        log.lock().unwrap().push(name);
        if fails {
            Err(format!("{name} failed"))
        } else {
            Ok(())
        }
    }
}

fn deploy_chain(log: &Log, verify_fails: bool) -> Chain<String> {
    Chain::new()
        .step(Step::new("backup", logged(log, "backup", false)))
        .step(Step::new("deploy", logged(log, "deploy", false)))
        .step(
            Step::new("verify", logged(log, "verify", verify_fails))
                .compensate_with(Step::new("rollback", logged(log, "rollback", false))),
        )
}

/// A one-step chain whose step `name` fails every attempt with `error`,
/// retried by `policy`; the receiver gets one message per attempt.
fn always_failing(
    name: &'static str,
    error: &'static str,
    policy: RetryPolicy,
) -> (Chain<&'static str>, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let chain = Chain::new().step(
        Step::new(name, move |_| {
            tx.lock().unwrap().send(()).unwrap();
            Err::<(), _>(error)
        })
        .retry(policy),
    );
    (chain, rx)
}

/// A step `poll` that fails every attempt, retried ten times a minute apart.
fn polling_every_minute() -> (Chain<&'static str>, mpsc::Receiver<()>) {
    always_failing(
        "poll",
        "not yet",
        RetryPolicy::fixed(10, Duration::from_secs(60)),
    )
}

/// Starts `chain` on `pool` and returns once its first attempt has failed and
/// its task has returned: the chain is waiting out its first backoff.
fn in_first_backoff(
    chain: Chain<&'static str>,
    pool: &Pool,
    ctx: &Context,
    attempts: &mpsc::Receiver<()>,
) -> ChainHandle<&'static str> {
    let handle = chain.start(pool, ctx).unwrap();
    attempts.recv_timeout(WAIT).unwrap();
    pool.wait_idle().unwrap();
    handle
}

/// Waits for the chain and checks that step `step` gave up after three
/// attempts, aborting the chain.
fn aborted_after_three_attempts(handle: ChainHandle<&'static str>, step: &str) {
    let report = handle.wait_timeout(WAIT).unwrap();
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Aborted { step: step.into() }
    );
    assert_eq!(report.steps()[0].attempts(), 3);
}

#[test]
fn backup_deploy_verify_rolls_back_when_verify_fails() {
    let log = Log::default();
    let report = deploy_chain(&log, true).run(&Context::new());
    assert_eq!(
        *log.lock().unwrap(),
        ["backup", "deploy", "verify", "rollback"]
    );
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Compensated {
            step: "verify".into(),
            rolled_back: true
        }
    );
    let names: Vec<_> = report.steps().iter().map(|s| s.name()).collect();
    assert_eq!(names, ["backup", "deploy", "verify", "rollback"]);
    assert_eq!(
        report.steps()[2].result(),
        &Err("verify failed".to_string())
    );
    assert!(report.steps()[3].is_compensation());
    assert_eq!(
        report.summary(),
        "step `verify` failed: verify failed; compensated"
    );

    let log = Log::default();
    let report = deploy_chain(&log, false).run(&Context::new());
    assert_eq!(report.outcome(), &ChainOutcome::Completed);
    assert_eq!(*log.lock().unwrap(), ["backup", "deploy", "verify"]);
}

#[test]
fn the_same_chain_on_a_pool() {
    let pool = Pool::new(2).unwrap();
    let log = Log::default();
    let report = deploy_chain(&log, true)
        .start(&pool, &Context::new())
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert!(matches!(
        report.outcome(),
        ChainOutcome::Compensated {
            rolled_back: true,
            ..
        }
    ));
    assert_eq!(
        *log.lock().unwrap(),
        ["backup", "deploy", "verify", "rollback"]
    );
}

#[test]
fn skip_abort_stop_and_a_failed_compensation() {
    let log = Log::default();
    let report = Chain::new()
        .step(Step::new("a", logged(&log, "a", true)).on_error(OnError::Skip))
        .step(Step::new("b", logged(&log, "b", false)).on_success(OnSuccess::Stop))
        .step(Step::new("c", logged(&log, "c", false)))
        .run(&Context::new());
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Stopped { step: "b".into() }
    );
    assert_eq!(*log.lock().unwrap(), ["a", "b"]);

    let log = Log::default();
    let report = Chain::new()
        .step(Step::new("a", logged(&log, "a", true)))
        .step(Step::new("b", logged(&log, "b", false)))
        .run(&Context::new());
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Aborted { step: "a".into() }
    );
    assert_eq!(report.summary(), "step `a` failed: a failed; chain aborted");
    assert_eq!(*log.lock().unwrap(), ["a"]);

    let log = Log::default();
    let report = Chain::new()
        .step(
            Step::new("a", logged(&log, "a", true))
                .compensate_with(Step::new("undo", logged(&log, "undo", true))),
        )
        .run(&Context::new());
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Compensated {
            step: "a".into(),
            rolled_back: false
        }
    );
}

#[test]
fn retries_on_the_callers_thread_sleep_on_the_context() {
    let manual = ManualClock::new();
    let ctx = Context::with_clock(manual.clock());
    let attempts = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&attempts);
    let chain = Chain::new().step(
        Step::new("flaky", move |_| {
            if seen.fetch_add(1, Ordering::SeqCst) < 2 {
                Err("busy")
            } else {
                Ok(())
            }
        })
        .retry(RetryPolicy::fixed(3, Duration::from_secs(5))),
    );
    let runner = std::thread::spawn(move || chain.run(&ctx));
    // Each backoff is a sleep on the manual clock: advance until done.
    while !runner.is_finished() {
        manual.advance(Duration::from_secs(5));
        std::thread::yield_now();
    }
    let report = runner.join().unwrap();
    assert!(report.outcome().is_success());
    assert_eq!(report.steps()[0].attempts(), 3);
}

#[test]
fn retries_on_a_pool_wait_on_the_timer_not_on_a_worker() {
    let (manual, pool) = common::manual_pool();
    let backoff = Backoff::exponential(Duration::from_secs(2), 2.0).unwrap();
    let (chain, rx) = always_failing("upload", "503", RetryPolicy::new(2).backoff(backoff));
    let handle = chain.start(&pool, &Context::new()).unwrap();
    for delay in [2, 4] {
        rx.recv_timeout(WAIT).unwrap();
        // The attempt's task has returned: the retry waits on the timer and
        // the only worker is free.
        pool.wait_idle().unwrap();
        let probe = pool.submit(|_| "worker free").unwrap();
        assert_eq!(probe.wait(), Ok("worker free"));
        assert!(rx.try_recv().is_err());
        manual.advance(Duration::from_secs(delay));
    }
    rx.recv_timeout(WAIT).unwrap();
    aborted_after_three_attempts(handle, "upload");
}

#[test]
fn cancelling_a_chain_on_a_pool_during_a_backoff() {
    let (manual, pool) = common::manual_pool();
    let (chain, rx) = polling_every_minute();
    let handle = in_first_backoff(chain, &pool, &Context::new(), &rx);
    // The chain waits out its 60 s backoff on the timer; the clock does not
    // move: the cancel alone ends the wait.
    handle.cancel();
    let report = handle.wait_timeout(WAIT).unwrap();
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Cancelled {
            step: "poll".into()
        }
    );
    assert_eq!(report.steps().len(), 0);
    // The timer entry is gone: the retry never runs.
    manual.advance(Duration::from_secs(60));
    pool.wait_idle().unwrap();
    assert!(rx.try_recv().is_err());
}

#[test]
fn cancelling_the_parent_context_ends_a_backoff_wait() {
    let (_manual, pool) = common::manual_pool();
    let (chain, rx) = polling_every_minute();
    let parent = Context::new();
    let handle = in_first_backoff(chain, &pool, &parent, &rx);
    parent.cancel();
    let report = handle.wait_timeout(WAIT).unwrap();
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Cancelled {
            step: "poll".into()
        }
    );

    // A chain started under a context already cancelled never runs a step.
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let chain = Chain::new().step(Step::new("never", move |_| {
        tx.lock().unwrap().send(()).unwrap();
        Ok::<(), String>(())
    }));
    let report = chain
        .start(&pool, &parent)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert!(matches!(report.outcome(), ChainOutcome::Cancelled { .. }));
    assert!(rx.try_recv().is_err());
}

#[test]
fn max_elapsed_is_measured_on_the_pools_clock() {
    // The pool runs on a manual clock; the caller's context on the system
    // clock. The step's 10 s budget is spent on the pool's clock, where its
    // backoffs are waited: attempts at 0, 4 and 8 s, then 8 + 4 > 10.
    let (manual, pool) = common::manual_pool();
    let (chain, rx) = always_failing(
        "poll",
        "not yet",
        RetryPolicy::fixed(10, Duration::from_secs(4)).max_elapsed(Duration::from_secs(10)),
    );
    let handle = chain.start(&pool, &Context::new()).unwrap();
    for _ in 0..2 {
        rx.recv_timeout(WAIT).unwrap();
        pool.wait_idle().unwrap();
        manual.advance(Duration::from_secs(4));
    }
    rx.recv_timeout(WAIT).unwrap();
    aborted_after_three_attempts(handle, "poll");
}

#[test]
fn a_backoff_too_long_for_an_instant_keeps_the_chain_waiting() {
    let (manual, pool) = common::manual_pool();
    let (chain, rx) = always_failing("poll", "not yet", RetryPolicy::fixed(1, Duration::MAX));
    let handle = chain.start(&pool, &Context::new()).unwrap();
    rx.recv_timeout(WAIT).unwrap();
    pool.wait_idle().unwrap();
    // Neither retried at once nor ended `Cancelled`: still waiting.
    let handle = handle.wait_timeout(Duration::ZERO).unwrap_err();
    manual.advance(Duration::from_secs(365 * 86_400));
    pool.wait_idle().unwrap();
    assert!(rx.try_recv().is_err());
    let handle = handle.wait_timeout(Duration::ZERO).unwrap_err();
    handle.cancel();
    let report = handle.wait_timeout(WAIT).unwrap();
    assert!(matches!(report.outcome(), ChainOutcome::Cancelled { .. }));
}

#[test]
fn wait_timeout_of_duration_max_waits_without_a_deadline() {
    let pool = Pool::new(1).unwrap();
    let (release, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let handle = Chain::new()
        .step(Step::new("gated", move |_| {
            gate.lock().unwrap().recv().map_err(|e| e.to_string())
        }))
        .start(&pool, &Context::new())
        .unwrap();
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let report = handle.wait_timeout(Duration::MAX);
        let _ = done_tx.send(report.map(|r| r.outcome().is_success()).ok());
    });
    release.send(()).unwrap();
    assert_eq!(done.recv_timeout(WAIT).unwrap(), Some(true));
}

#[test]
fn a_shutdown_during_a_backoff_ends_the_chain() {
    let (_manual, pool) = common::manual_pool();
    let (chain, rx) = polling_every_minute();
    let handle = in_first_backoff(chain, &pool, &Context::new(), &rx);
    pool.shutdown(Duration::from_secs(5)).unwrap();
    let report = handle.wait_timeout(WAIT).unwrap();
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Cancelled {
            step: "poll".into()
        }
    );
}

#[test]
fn a_panicking_step_ends_the_chain() {
    let report = Chain::new()
        .step(Step::new("boom", |_| -> Result<(), String> {
            panic!("kaput")
        }))
        .step(Step::new("never", |_| Ok(())))
        .run(&Context::new());
    assert_eq!(
        report.outcome(),
        &ChainOutcome::Panicked {
            step: "boom".into(),
            message: "kaput".into()
        }
    );
    assert!(report.steps().is_empty());
}

#[test]
fn context_values_reach_every_step() {
    #[derive(Debug)]
    struct Release(&'static str);
    let ctx = Context::new().with_value(Release("v2"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (a, b) = (Arc::clone(&seen), Arc::clone(&seen));
    let report = Chain::new()
        .step(Step::new("a", move |ctx| {
            a.lock().unwrap().push(ctx.value::<Release>().map(|r| r.0));
            Ok::<(), String>(())
        }))
        .step(Step::new("b", move |ctx| {
            b.lock().unwrap().push(ctx.value::<Release>().map(|r| r.0));
            Ok(())
        }))
        .run(&ctx);
    assert!(report.outcome().is_success());
    assert_eq!(*seen.lock().unwrap(), [Some("v2"), Some("v2")]);
}
