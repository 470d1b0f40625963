//! The composed policy: the documented order (fallback ∘ total timeout ∘
//! retry ∘ breaker ∘ bulkhead ∘ timeout), each layer's semantics, and the
//! same stack applied to pool tasks, whose backoffs wait on the pool's timer
//! (driven here by a manual clock).

mod common;

use common::{Rng, seed, wait_until};
use gosling::breaker::{CircuitBreaker, Rejected};
use gosling::context::{CancelReason, Context};
use gosling::limit::ConcurrencyLimiter;
use gosling::policy::{Policy, PolicyError};
use gosling::retry::RetryPolicy;
use gosling::time::ManualClock;
use gosling::{Pool, TaskError, TaskStatus};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// A breaker that never opens within these tests (window and minimum far
/// above any call count), to count what reaches it.
fn counting_breaker<E>() -> CircuitBreaker<E> {
    CircuitBreaker::builder()
        .count_window(1_000)
        .minimum_calls(1_000)
        .build()
        .unwrap()
}

/// A breaker that opens once `n` calls in a row have failed.
fn opens_after<E>(n: u64) -> CircuitBreaker<E> {
    CircuitBreaker::builder()
        .count_window(n)
        .minimum_calls(n)
        .failure_rate_threshold(100.0)
        .wait_in_open(HOUR)
        .build()
        .unwrap()
}

fn now_retry(retries: u32) -> RetryPolicy {
    RetryPolicy::fixed(retries, Duration::ZERO)
}

#[test]
fn a_policy_with_no_layers_just_calls() {
    let policy = Policy::new();
    let ctx = Context::new();
    let mut calls = 0;
    let value = policy.call(&ctx, |got| {
        calls += 1;
        // The caller's own context, not a child.
        assert!(got.deadline().is_none());
        Ok::<_, &str>(calls)
    });
    assert_eq!(value, Ok(1));
    let err = policy.call(&ctx, |_| Err::<(), _>("no")).unwrap_err();
    assert_eq!(
        err,
        PolicyError::Failed {
            error: "no",
            attempts: 1
        }
    );
}

#[test]
fn retry_is_inside_the_breaker_every_attempt_counts() {
    let breaker = counting_breaker::<&str>();
    let policy = Policy::new()
        .retry(now_retry(2))
        .circuit_breaker(breaker.clone());
    let err = policy
        .call(&Context::new(), |_| Err::<(), _>("down"))
        .unwrap_err();
    assert_eq!(
        err,
        PolicyError::Failed {
            error: "down",
            attempts: 3
        }
    );
    let m = breaker.metrics();
    assert_eq!((m.window_calls, m.window_failures), (3, 3));
}

#[test]
fn the_order_does_not_depend_on_the_builder_calls() {
    // Breaker first, retry last: still every attempt through the breaker.
    let breaker = counting_breaker::<&str>();
    let policy = Policy::new()
        .circuit_breaker(breaker.clone())
        .bulkhead(ConcurrencyLimiter::new(1).unwrap(), Duration::ZERO)
        .timeout(HOUR)
        .retry(now_retry(3));
    let err = policy
        .call(&Context::new(), |_| Err::<(), _>("down"))
        .unwrap_err();
    assert_eq!(err.attempts(), 4);
    assert_eq!(breaker.metrics().window_failures, 4);
}

#[test]
fn an_opening_breaker_stops_the_retries() {
    let breaker = opens_after::<&str>(2);
    let policy = Policy::new()
        .retry(now_retry(5))
        .circuit_breaker(breaker.clone());
    let mut ran = 0;
    let err = policy
        .call(&Context::new(), |_| {
            ran += 1;
            Err::<(), _>("down")
        })
        .unwrap_err();
    assert_eq!(ran, 2, "the third attempt is rejected without running");
    match err {
        PolicyError::Rejected {
            rejected: Rejected::Open { .. },
            attempts: 3,
        } => {}
        other => panic!("unexpected {other:?}"),
    }
    assert!(err_is_rejected(&policy));
}

fn err_is_rejected(policy: &Policy<&'static str>) -> bool {
    policy
        .call(&Context::new(), |_| Ok::<_, &str>(()))
        .unwrap_err()
        .is_rejected()
}

#[test]
fn retry_rejections_retries_them_within_the_count() {
    let breaker = counting_breaker::<()>();
    breaker.force_open();
    let policy = Policy::new()
        .retry(now_retry(2))
        .retry_rejections(true)
        .circuit_breaker(breaker);
    let err = policy.call(&Context::new(), |_| Ok(())).unwrap_err();
    assert_eq!(
        err,
        PolicyError::Rejected {
            rejected: Rejected::ForcedOpen,
            attempts: 3
        }
    );
}

#[test]
fn the_fallback_sees_the_final_error() {
    let seen = Mutex::new(None);
    let policy = Policy::new()
        .retry(now_retry(2))
        .fallback(|err: PolicyError<String>| {
            let text = err.to_string();
            *seen.lock().unwrap() = Some(err);
            text
        });
    let mut attempt = 0;
    let value = policy.call(&Context::new(), |_| {
        attempt += 1;
        Err::<String, _>(format!("error #{attempt}"))
    });
    assert_eq!(value.unwrap(), "gave up after 3 attempts: error #3");
    assert_eq!(
        seen.lock().unwrap().take(),
        Some(PolicyError::Failed {
            error: "error #3".to_string(),
            attempts: 3
        })
    );
    // A success never reaches it.
    assert_eq!(
        policy.call(&Context::new(), |_| Ok("fresh".to_string())),
        Ok("fresh".to_string())
    );
    assert!(seen.lock().unwrap().is_none());
}

#[test]
fn a_bulkhead_rejection_goes_to_the_fallback_and_the_breaker_ignores_it() {
    let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    let breaker = counting_breaker::<&str>();
    let policy = Policy::new()
        .circuit_breaker(breaker.clone())
        .bulkhead(bulkhead.clone(), Duration::ZERO)
        .fallback(|err: PolicyError<&str>| match err {
            PolicyError::BulkheadFull { .. } => "busy",
            _ => "other",
        });
    let held = bulkhead.try_acquire().unwrap();
    let mut ran = false;
    let value = policy.call(&Context::new(), |_| {
        ran = true;
        Ok("fresh")
    });
    assert_eq!(value, Ok("busy"));
    assert!(!ran);
    let m = breaker.metrics();
    assert_eq!((m.window_calls, m.ignored_calls), (0, 1));
    drop(held);
    assert_eq!(policy.call(&Context::new(), |_| Ok("fresh")), Ok("fresh"));
    assert_eq!(bulkhead.in_use(), 0, "the slot is given back");
}

#[test]
fn an_open_breaker_rejects_before_the_bulkhead_wait() {
    // Full bulkhead with an hour's wait: were the bulkhead outside the
    // breaker, this call would wait an hour before being rejected.
    let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    let breaker = counting_breaker::<()>();
    let policy = Policy::new()
        .bulkhead(bulkhead.clone(), HOUR)
        .circuit_breaker(breaker.clone());
    let _held = bulkhead.try_acquire().unwrap();
    breaker.force_open();
    let err = policy.call(&Context::new(), |_| Ok(())).unwrap_err();
    assert_eq!(
        err,
        PolicyError::Rejected {
            rejected: Rejected::ForcedOpen,
            attempts: 1
        }
    );
}

#[test]
fn the_bulkhead_never_lets_more_than_its_limit_in() {
    const LIMIT: usize = 2;
    const THREADS: usize = 6;
    const CALLS: usize = 50;
    let policy = Policy::<()>::new().bulkhead(ConcurrencyLimiter::new(LIMIT).unwrap(), HOUR);
    let inside = AtomicUsize::new(0);
    let max = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                start.wait();
                for _ in 0..CALLS {
                    let r = policy.call(&Context::new(), |_| {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    });
                    assert_eq!(r, Ok(()), "the wait is long enough for every call");
                    done.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(done.load(Ordering::SeqCst), THREADS * CALLS);
    let max = max.load(Ordering::SeqCst);
    assert!(max <= LIMIT, "measured {max} at once, limit {LIMIT}");
}

#[test]
fn the_bulkhead_wait_is_bounded_on_the_limiters_clock() {
    let manual = ManualClock::new();
    let bulkhead = ConcurrencyLimiter::with_clock(1, manual.clock()).unwrap();
    let policy = Policy::<()>::new().bulkhead(bulkhead.clone(), Duration::from_secs(10));
    let held = bulkhead.try_acquire().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let policy = &policy;
        let ctx = Context::with_clock(manual.clock());
        s.spawn(move || tx.send(policy.call(&ctx, |_| Ok(1))).unwrap());
        // The caller is waiting for a slot (its bound read from the clock).
        wait_until("the call waits for a slot", || {
            format!("{bulkhead:?}").contains("waiters: 1")
        });
        // Not before the bound...
        manual.advance(Duration::from_secs(9));
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        // ...then refused.
        manual.advance(Duration::from_secs(1));
        assert_eq!(
            rx.recv().unwrap(),
            Err(PolicyError::BulkheadFull { attempts: 1 })
        );
    });
    drop(held);
}

#[test]
fn a_slot_freed_during_the_bulkhead_wait_admits_the_call() {
    let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    let policy = Policy::<()>::new().bulkhead(bulkhead.clone(), HOUR);
    let held = bulkhead.try_acquire().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let policy = &policy;
        s.spawn(move || tx.send(policy.call(&Context::new(), |_| Ok(7))).unwrap());
        drop(held);
        assert_eq!(rx.recv().unwrap(), Ok(7));
    });
}

#[test]
fn cancelling_the_caller_ends_a_bulkhead_wait() {
    let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    let policy = Policy::<()>::new().bulkhead(bulkhead.clone(), HOUR);
    let _held = bulkhead.try_acquire().unwrap();
    let ctx = Context::new();
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let (policy, ctx2) = (&policy, ctx.clone());
        s.spawn(move || tx.send(policy.call(&ctx2, |_| Ok(7))).unwrap());
        ctx.cancel();
        assert_eq!(
            rx.recv().unwrap(),
            Err(PolicyError::Cancelled {
                reason: CancelReason::Cancelled,
                last: None,
                attempts: 1
            })
        );
    });
}

#[test]
fn the_timeout_is_per_attempt_and_cancels_only_the_attempts_context() {
    let manual = ManualClock::new();
    let caller = Context::with_clock(manual.clock());
    let policy = Policy::new()
        .timeout(Duration::from_secs(5))
        .retry(now_retry(2));
    let mut deadlines = Vec::new();
    let err = policy
        .call(&caller, |ctx| {
            assert!(
                ctx.check().is_ok(),
                "each attempt starts with a fresh deadline"
            );
            deadlines.push(ctx.remaining().unwrap());
            manual.advance(Duration::from_secs(5)); // the attempt overruns
            ctx.check().map_err(|c| c.reason())
        })
        .unwrap_err();
    assert_eq!(
        err,
        PolicyError::TimedOut {
            last: Some(CancelReason::DeadlineExceeded),
            attempts: 3
        }
    );
    assert!(err.is_timeout());
    assert_eq!(deadlines, vec![Duration::from_secs(5); 3]);
    assert!(!caller.is_cancelled(), "the caller's context is untouched");
}

#[test]
fn a_timed_out_attempt_counts_as_a_breaker_failure() {
    let manual = ManualClock::new();
    let breaker = counting_breaker::<()>();
    let policy = Policy::new()
        .timeout(Duration::from_secs(1))
        .circuit_breaker(breaker.clone());
    let ctx = Context::with_clock(manual.clock());
    // The operation's own `Ok(())`-shaped error type says nothing; the
    // timeout is what the breaker records.
    let err = policy
        .call(&ctx, |ctx| {
            manual.advance(Duration::from_secs(2));
            ctx.check().map_err(|_| ())
        })
        .unwrap_err();
    assert_eq!(
        err,
        PolicyError::TimedOut {
            last: Some(()),
            attempts: 1
        }
    );
    assert_eq!(breaker.metrics().window_failures, 1);
}

#[test]
fn timeouts_are_not_retried_when_the_policy_says_so() {
    let manual = ManualClock::new();
    let policy = Policy::new()
        .timeout(Duration::from_secs(1))
        .retry(now_retry(5).retry_timeouts(false));
    let ctx = Context::with_clock(manual.clock());
    let err = policy
        .call(&ctx, |ctx| {
            manual.advance(Duration::from_secs(1));
            ctx.check()
        })
        .unwrap_err();
    assert_eq!(err.attempts(), 1);
}

#[test]
fn a_late_value_is_still_returned() {
    let manual = ManualClock::new();
    let policy = Policy::<()>::new().timeout(Duration::from_secs(1));
    let ctx = Context::with_clock(manual.clock());
    let value = policy.call(&ctx, |_| {
        manual.advance(Duration::from_secs(10));
        Ok("done anyway")
    });
    assert_eq!(value, Ok("done anyway"));
}

#[test]
fn cancelling_the_caller_stops_the_retries_during_a_backoff() {
    let manual = ManualClock::new();
    let ctx = Context::with_clock(manual.clock());
    let policy = Policy::new().retry(RetryPolicy::fixed(10, HOUR));
    let calls = AtomicU32::new(0);
    let (ran_tx, ran) = mpsc::channel();
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            policy.call(&ctx, |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                ran_tx.send(()).unwrap();
                Err::<(), _>("flaky")
            })
        });
        ran.recv().unwrap();
        // The first attempt failed; the call now sleeps an hour on the
        // manual clock, which never moves. Only the cancel can end it.
        ctx.cancel();
        assert_eq!(
            worker.join().unwrap(),
            Err(PolicyError::Cancelled {
                reason: CancelReason::Cancelled,
                last: Some("flaky"),
                attempts: 1
            })
        );
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn an_error_after_the_caller_cancelled_is_the_cancellation() {
    let breaker = counting_breaker::<&str>();
    let policy = Policy::new()
        .retry(now_retry(5))
        .circuit_breaker(breaker.clone());
    let ctx = Context::new();
    ctx.cancel();
    let err = policy
        .call(&ctx, |ctx| ctx.check().map_err(|_| "saw it"))
        .unwrap_err();
    assert_eq!(
        err,
        PolicyError::Cancelled {
            reason: CancelReason::Cancelled,
            last: Some("saw it"),
            attempts: 1
        }
    );
    let m = breaker.metrics();
    assert_eq!(
        (m.window_calls, m.ignored_calls),
        (0, 1),
        "not the dependency's fault"
    );
}

#[test]
fn the_total_timeout_covers_every_attempt() {
    let manual = ManualClock::new();
    let ctx = Context::with_clock(manual.clock());
    let policy = Policy::new()
        .retry(now_retry(10))
        .total_timeout(Duration::from_secs(10));
    let mut calls = 0;
    // Each attempt takes 4 s: the third ends at 12 s, past the total 10 s.
    let err = policy
        .call(&ctx, |_| {
            calls += 1;
            manual.advance(Duration::from_secs(4));
            Err::<(), _>("busy")
        })
        .unwrap_err();
    assert_eq!(
        err,
        PolicyError::Cancelled {
            reason: CancelReason::DeadlineExceeded,
            last: Some("busy"),
            attempts: 3
        }
    );
    assert!(err.is_timeout());
    assert_eq!(calls, 3);
    assert!(!ctx.is_cancelled(), "the caller's context is untouched");
}

#[test]
fn the_total_timeout_ends_a_backoff_wait() {
    // The system clock: an hour's backoff ends at the 20 ms total deadline
    // (a broken wait would hang here, not pass).
    let policy = Policy::new()
        .retry(RetryPolicy::fixed(3, HOUR))
        .total_timeout(Duration::from_millis(20));
    let err = policy
        .call(&Context::new(), |_| Err::<(), _>("busy"))
        .unwrap_err();
    assert_eq!(
        err,
        PolicyError::Cancelled {
            reason: CancelReason::DeadlineExceeded,
            last: Some("busy"),
            attempts: 1
        }
    );
}

#[test]
fn a_panic_releases_the_bulkhead_and_counts_in_the_breaker() {
    let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    let breaker = counting_breaker::<()>();
    let policy = Policy::new()
        .circuit_breaker(breaker.clone())
        .bulkhead(bulkhead.clone(), Duration::ZERO);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = policy.call(&Context::new(), |_| -> Result<(), ()> { panic!("boom") });
    }));
    assert!(caught.is_err());
    assert_eq!(bulkhead.in_use(), 0);
    assert_eq!(breaker.metrics().window_failures, 1);
}

#[test]
fn panics_are_retried_when_the_retry_policy_says_so() {
    let policy = Policy::<()>::new().retry(now_retry(3).retry_panics(true));
    let mut attempt = 0;
    let value = policy.call(&Context::new(), |_| {
        attempt += 1;
        assert!(attempt >= 3, "attempt {attempt} panics");
        Ok(attempt)
    });
    assert_eq!(value, Ok(3));
}

#[test]
fn policy_errors_display_and_hand_back_the_inner_error() {
    use std::error::Error as _;
    let io = || std::io::Error::other("reset");
    let err = PolicyError::Failed {
        error: io(),
        attempts: 2,
    };
    assert_eq!(err.to_string(), "gave up after 2 attempts: reset");
    assert_eq!(err.source().unwrap().to_string(), "reset");
    let rejected = PolicyError::<std::io::Error>::Rejected {
        rejected: Rejected::ForcedOpen,
        attempts: 1,
    };
    assert_eq!(
        rejected.to_string(),
        "circuit breaker is forced open (attempt 1)"
    );
    assert!(rejected.source().is_some());
    let full = PolicyError::<std::io::Error>::BulkheadFull { attempts: 1 };
    assert_eq!(full.to_string(), "bulkhead full (attempt 1)");
    assert!(full.source().is_none());
    let timed_out = PolicyError::TimedOut {
        last: Some(io()),
        attempts: 1,
    };
    assert_eq!(timed_out.to_string(), "attempt 1 timed out: reset");
    assert_eq!(timed_out.into_inner().unwrap().to_string(), "reset");
}

// ---- randomised ----

/// Random retry counts and failure runs, with and without a fallback: the
/// outcome, the attempt count and the breaker's count follow the model.
#[test]
fn random_failure_runs_follow_the_model() {
    let seed = seed("GOSLING_SEED");
    println!("GOSLING_SEED={seed}");
    let mut rng = Rng::new(seed);
    let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for _ in 0..200 {
            let retries = rng.below(5) as u32;
            let failures = rng.below(7) as u32;
            let with_fallback = rng.below(2) == 0;
            let breaker = counting_breaker::<u32>();
            let base = Policy::new()
                .retry(now_retry(retries))
                .circuit_breaker(breaker.clone());
            let mut calls = 0;
            let op = |_: &Context| {
                calls += 1;
                if calls <= failures {
                    Err(calls)
                } else {
                    Ok(100 + calls)
                }
            };
            let result = if with_fallback {
                base.fallback(|e: PolicyError<u32>| 1000 + e.attempts())
                    .call(&Context::new(), op)
            } else {
                base.call(&Context::new(), op)
            };
            let attempts = (failures + 1).min(retries + 1);
            assert_eq!(calls, attempts);
            assert_eq!(breaker.metrics().window_calls, u64::from(attempts));
            let expected = match (failures <= retries, with_fallback) {
                (true, _) => Ok(100 + attempts),
                (false, true) => Ok(1000 + attempts),
                (false, false) => Err(PolicyError::Failed {
                    error: attempts,
                    attempts,
                }),
            };
            assert_eq!(result, expected, "retries {retries}, failures {failures}");
        }
    }));
    if let Err(payload) = check {
        eprintln!("failed with GOSLING_SEED={seed}");
        std::panic::resume_unwind(payload);
    }
}

// ---- pool tasks ----

#[test]
fn a_policy_task_retries_on_the_timer_without_holding_a_worker() {
    let (manual, pool) = common::manual_pool();
    let breaker = counting_breaker::<&str>();
    let policy = Policy::new()
        .retry(RetryPolicy::fixed(3, Duration::from_secs(10)))
        .circuit_breaker(breaker.clone());
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let handle = pool
        .submit_task(policy.task(move |_| {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            if n < 3 { Err("flaky") } else { Ok(n) }
        }))
        .unwrap();
    for attempt in 1..=2 {
        wait_until("the task waits for its backoff", || {
            handle.attempts() == attempt && handle.status() == TaskStatus::Retrying
        });
        // The only worker is free during the backoff: another task runs.
        let other = pool.submit(|_| "ran meanwhile").unwrap();
        assert_eq!(other.wait(), Ok("ran meanwhile"));
        manual.advance(Duration::from_secs(10));
    }
    assert_eq!(handle.wait(), Ok(3));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let m = breaker.metrics();
    assert_eq!((m.window_calls, m.window_failures), (3, 2));
    assert_eq!(pool.stats().retries, 2);
}

#[test]
fn a_policy_task_fails_with_the_policy_error() {
    let pool = Pool::new(1).unwrap();
    let policy = Policy::new().retry(now_retry(1));
    let handle = pool
        .submit_task(policy.task(|_| Err::<(), _>("down")))
        .unwrap();
    assert_eq!(
        handle.wait(),
        Err(TaskError::Failed(PolicyError::Failed {
            error: "down",
            attempts: 2
        }))
    );
}

#[test]
fn a_policy_task_without_retry_runs_once_whatever_the_pool_default() {
    let pool = Pool::builder()
        .workers(1)
        .retry_policy(now_retry(5))
        .build()
        .unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let handle = pool
        .submit_task(Policy::new().task(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>("no")
        }))
        .unwrap();
    assert!(handle.wait().is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn the_fallback_answers_for_a_pool_task_after_the_last_attempt() {
    let (manual, pool) = common::manual_pool();
    let policy = Policy::new()
        .retry(RetryPolicy::fixed(1, Duration::from_secs(1)))
        .fallback(|err: PolicyError<&str>| format!("fallback: {err}"));
    let handle = pool
        .submit_task(policy.task(|_| Err::<String, _>("down")))
        .unwrap();
    wait_until("the first attempt failed", || {
        handle.status() == TaskStatus::Retrying
    });
    manual.advance(Duration::from_secs(1));
    assert_eq!(
        handle.wait(),
        Ok("fallback: gave up after 2 attempts: down".to_string())
    );
}

#[test]
fn the_fallback_does_not_replace_a_cancel_during_the_backoff() {
    let (_manual, pool) = common::manual_pool();
    let policy = Policy::new()
        .retry(RetryPolicy::fixed(3, HOUR))
        .fallback(|_: PolicyError<&str>| "fallback");
    let handle = pool
        .submit_task(policy.task(|_| Err::<&str, _>("down")))
        .unwrap();
    wait_until("the first attempt failed", || {
        handle.status() == TaskStatus::Retrying
    });
    assert!(handle.cancel());
    assert_eq!(handle.wait(), Err(TaskError::Cancelled));
}

#[test]
fn a_pool_task_never_waits_for_the_bulkhead_on_a_worker() {
    let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    let pool = Pool::new(1).unwrap();
    // An hour's wait would block the only worker if the task waited.
    let policy = Policy::<()>::new().bulkhead(bulkhead.clone(), HOUR);
    let _held = bulkhead.try_acquire().unwrap();
    let handle = pool.submit_task(policy.task(|_| Ok(1))).unwrap();
    assert_eq!(
        handle.wait(),
        Err(TaskError::Failed(PolicyError::BulkheadFull { attempts: 1 }))
    );
}

#[test]
fn a_rejected_pool_task_is_retried_on_the_timer_when_asked() {
    let (manual, pool) = common::manual_pool();
    let bulkhead = ConcurrencyLimiter::new(1).unwrap();
    let policy = Policy::<()>::new()
        .retry(RetryPolicy::fixed(2, Duration::from_secs(5)))
        .retry_rejections(true)
        .bulkhead(bulkhead.clone(), Duration::ZERO);
    let held = bulkhead.try_acquire().unwrap();
    let handle = pool.submit_task(policy.task(|_| Ok("in"))).unwrap();
    wait_until("the rejected attempt waits for its backoff", || {
        handle.status() == TaskStatus::Retrying
    });
    drop(held);
    manual.advance(Duration::from_secs(5));
    assert_eq!(handle.wait(), Ok("in"));
    pool.wait_idle().unwrap();
    assert_eq!(pool.stats().retries, 1);
}

#[test]
fn a_shared_breaker_rejects_pool_tasks_without_running_them() {
    let pool = Pool::new(2).unwrap();
    let breaker = counting_breaker::<&str>();
    let policy = Policy::new().circuit_breaker(breaker.clone());
    breaker.force_open();
    let ran = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let ran = Arc::clone(&ran);
            pool.submit_task(policy.task(move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok::<_, &str>(())
            }))
            .unwrap()
        })
        .collect();
    for handle in handles {
        assert!(matches!(
            handle.wait(),
            Err(TaskError::Failed(PolicyError::Rejected {
                rejected: Rejected::ForcedOpen,
                ..
            }))
        ));
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(breaker.metrics().rejected_calls, 4);
}

#[test]
fn a_pool_task_attempt_times_out_and_is_retried() {
    let (manual, pool) = common::manual_pool();
    let policy = Policy::<&str>::new()
        .timeout(Duration::from_secs(2))
        .retry(RetryPolicy::fixed(1, Duration::ZERO));
    let clock = manual.clone();
    let mut attempt = 0;
    let handle = pool
        .submit_task(policy.task(move |ctx| {
            attempt += 1;
            assert_eq!(ctx.remaining(), Some(Duration::from_secs(2)));
            if attempt == 1 {
                clock.advance(Duration::from_secs(2)); // overrun
                ctx.check().map_err(|_| "too slow")?;
            }
            Ok(attempt)
        }))
        .unwrap();
    assert_eq!(handle.wait(), Ok(2));
}

#[test]
fn a_policy_task_keeps_its_task_options() {
    let pool = Pool::new(1).unwrap();
    let (tx, rx) = mpsc::channel();
    let handle = pool
        .submit_task(
            Policy::<()>::new()
                .retry(now_retry(0))
                .task(|_| Ok(5))
                .priority(3)
                .on_complete(move |r: &Result<i32, TaskError<PolicyError<()>>>| {
                    tx.send(r.clone()).unwrap();
                }),
        )
        .unwrap();
    assert_eq!(handle.wait(), Ok(5));
    assert_eq!(rx.recv().unwrap(), Ok(5));
}
