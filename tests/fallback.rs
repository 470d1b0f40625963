//! Fallback semantics, standalone and in front of a circuit breaker.

use gosling::breaker::{BreakerState, CallError, CircuitBreaker, Rejected};
use gosling::retry::Fallback;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

#[test]
fn success_passes_through_without_calling_replace() {
    let replaced = AtomicUsize::new(0);
    let fallback = Fallback::new(|_: &str| {
        replaced.fetch_add(1, Ordering::SeqCst);
        0
    });
    assert_eq!(fallback.call(|| Ok(5)), 5);
    assert_eq!(replaced.load(Ordering::SeqCst), 0);
}

#[test]
fn failure_is_replaced_from_the_error() {
    let fallback = Fallback::new(|err: String| err.len());
    assert_eq!(fallback.call(|| Err("four".to_string())), 4);
    // Reusable: the replacement is `Fn`.
    assert_eq!(fallback.call(|| Err("seven!!".to_string())), 7);
}

#[test]
fn operation_runs_once() {
    let runs = AtomicUsize::new(0);
    let fallback = Fallback::new(|_: ()| 0);
    let v = fallback.call(|| {
        runs.fetch_add(1, Ordering::SeqCst);
        Err(())
    });
    assert_eq!((v, runs.load(Ordering::SeqCst)), (0, 1));
}

#[test]
fn through_breaker_tells_rejection_from_failure() {
    let breaker = CircuitBreaker::<&str>::builder()
        .count_window_buckets(3, 3)
        .build()
        .unwrap();
    let fallback = Fallback::new(|err: CallError<&str>| match err {
        CallError::Rejected(Rejected::Open { .. }) => "open".to_string(),
        CallError::Rejected(other) => format!("rejected: {other}"),
        CallError::Failed(e) => format!("failed: {e}"),
    });
    assert_eq!(
        fallback.call_through(&breaker, || Ok("live".into())),
        "live"
    );
    assert_eq!(fallback.call_through(&breaker, || Err("x")), "failed: x");
    assert_eq!(fallback.call_through(&breaker, || Err("y")), "failed: y");
    assert_eq!(breaker.state(), BreakerState::Open);

    let runs = AtomicUsize::new(0);
    let v = fallback.call_through(&breaker, || {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok("live".into())
    });
    assert_eq!(v, "open");
    assert_eq!(runs.load(Ordering::SeqCst), 0, "rejected: never ran");

    breaker.force_open();
    assert_eq!(
        fallback.call_through(&breaker, || Ok("live".into())),
        "rejected: circuit breaker is forced open"
    );
}

#[test]
fn failures_behind_a_fallback_still_reach_the_breaker() {
    let breaker = CircuitBreaker::<()>::builder()
        .count_window_buckets(4, 4)
        .build()
        .unwrap();
    let fallback = Fallback::new(|_: CallError<()>| 0u32);
    for _ in 0..3 {
        assert_eq!(fallback.call_through(&breaker, || Err(())), 0);
    }
    assert_eq!(breaker.metrics().failed_calls, 3);
}

#[test]
fn shared_across_threads() {
    let breaker = CircuitBreaker::<u32>::builder().build().unwrap();
    let fallback = Fallback::new(|err: CallError<u32>| err.into_inner().unwrap_or(u32::MAX));
    let sum = AtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..4u32 {
            let (breaker, fallback, sum) = (&breaker, &fallback, &sum);
            s.spawn(move || {
                for i in 0..100u32 {
                    let v =
                        fallback.call_through(breaker, || if i % 10 == 0 { Err(t) } else { Ok(1) });
                    sum.fetch_add(v as usize, Ordering::Relaxed);
                }
            });
        }
    });
    // 90 successes of 1 per thread, 10 failures replaced by the thread's id.
    assert_eq!(sum.load(Ordering::Relaxed), 4 * 90 + 10 * (1 + 2 + 3));
}
