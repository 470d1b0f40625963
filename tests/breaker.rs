//! Circuit breaker behaviour, driven by a manual clock: no test sleeps.

mod common;

use common::{Rng, seed};
use gosling::breaker::{
    BreakerBuildError, BreakerState, CallError, CircuitBreaker, Rejected, StateChange,
};
use gosling::time::ManualClock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

type Breaker = CircuitBreaker<&'static str>;

fn fail(b: &Breaker) -> Result<(), CallError<&'static str>> {
    b.call(|| Err("boom"))
}

fn succeed(b: &Breaker) -> Result<(), CallError<&'static str>> {
    b.call(|| Ok(()))
}

/// A breaker on a manual clock that opens after 4 calls at 50 % failures,
/// waits 10 s in open and admits `permits` trial calls.
fn small(manual: &ManualClock, permits: u32) -> Breaker {
    CircuitBreaker::builder()
        .count_window_buckets(4, 4)
        .minimum_calls(4)
        .failure_rate_threshold(50.0)
        .wait_in_open(Duration::from_secs(10))
        .half_open_permits(permits)
        .max_wait_in_half_open(Some(Duration::from_secs(30)))
        .clock(manual.clock())
        .build()
        .unwrap()
}

fn trip(b: &Breaker) {
    for _ in 0..4 {
        let _ = fail(b);
    }
    assert_eq!(b.state(), BreakerState::Open);
}

type Log = Arc<Mutex<Vec<(BreakerState, BreakerState)>>>;

fn recorder() -> (Log, impl Fn(&StateChange)) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    (log, move |c: &StateChange| {
        sink.lock().unwrap().push((c.from, c.to))
    })
}

#[test]
fn smoke() {
    let manual = ManualClock::new();
    let b = small(&manual, 1);
    assert_eq!(succeed(&b), Ok(()));
    assert_eq!(fail(&b), Err(CallError::Failed("boom")));
    let _ = succeed(&b);
    assert_eq!(b.state(), BreakerState::Closed);
    let _ = fail(&b); // 2 of 4 failed: 50 %
    assert_eq!(b.state(), BreakerState::Open);

    let ran = AtomicUsize::new(0);
    let r = b.call(|| {
        ran.fetch_add(1, Ordering::SeqCst);
        Ok::<_, &str>(())
    });
    assert_eq!(
        r,
        Err(CallError::Rejected(Rejected::Open {
            retry_after: Duration::from_secs(10)
        }))
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a rejected call never runs");

    manual.advance(Duration::from_secs(4));
    assert_eq!(
        b.try_acquire().unwrap_err(),
        Rejected::Open {
            retry_after: Duration::from_secs(6)
        }
    );
    manual.advance(Duration::from_secs(6));
    assert_eq!(succeed(&b), Ok(()));
    assert_eq!(b.state(), BreakerState::Closed);

    let m = b.metrics();
    assert_eq!(m.successful_calls, 3);
    assert_eq!(m.failed_calls, 2);
    assert_eq!(m.rejected_calls, 2);
    assert_eq!(m.window_calls, 0, "closing starts an empty window");
}

#[test]
fn count_window_slides() {
    let manual = ManualClock::new();
    let b = small(&manual, 1);
    // F S S S S F: the last four are S S S F, 25 %.
    let _ = fail(&b);
    for _ in 0..4 {
        let _ = succeed(&b);
    }
    let _ = fail(&b);
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.metrics().window_failures, 1);
    assert_eq!(b.metrics().failure_rate, Some(25.0));
    // S S F F: 50 %.
    let _ = fail(&b);
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn minimum_calls_rule() {
    let manual = ManualClock::new();
    let b = CircuitBreaker::<&str>::builder()
        .count_window(20)
        .minimum_calls(5)
        .clock(manual.clock())
        .build()
        .unwrap();
    for _ in 0..4 {
        let _ = fail(&b);
    }
    assert_eq!(b.state(), BreakerState::Closed, "4 failures < 5 calls");
    assert_eq!(b.metrics().failure_rate, None);
    let _ = fail(&b);
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn half_open_admits_exactly_k_with_8_threads_racing() {
    const K: u32 = 3;
    for round in 0..50 {
        let manual = ManualClock::new();
        let b = small(&manual, K);
        trip(&b);
        manual.advance(Duration::from_secs(10));
        let barrier = Barrier::new(8);
        let admitted = AtomicUsize::new(0);
        let rejected = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    barrier.wait();
                    match b.try_acquire() {
                        Ok(permit) => {
                            admitted.fetch_add(1, Ordering::SeqCst);
                            // Hold every permit until all threads have asked.
                            barrier.wait();
                            permit.success();
                        }
                        Err(why) => {
                            assert_eq!(why, Rejected::HalfOpenFull);
                            rejected.fetch_add(1, Ordering::SeqCst);
                            barrier.wait();
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::SeqCst), K as usize, "round {round}");
        assert_eq!(rejected.load(Ordering::SeqCst), 8 - K as usize);
        assert_eq!(b.state(), BreakerState::Closed, "all K trials succeeded");
    }
}

#[test]
fn half_open_failure_reopens() {
    let manual = ManualClock::new();
    let b = small(&manual, 2);
    trip(&b);
    manual.advance(Duration::from_secs(10));
    assert_eq!(succeed(&b), Ok(()));
    assert_eq!(b.state(), BreakerState::HalfOpen, "waits for both trials");
    let _ = fail(&b); // 1 of 2 = 50 %
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn hung_probe_is_rearmed_after_max_wait() {
    let manual = ManualClock::new();
    let (log, listener) = recorder();
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .wait_in_open(Duration::from_secs(10))
        .half_open_permits(1)
        .max_wait_in_half_open(Some(Duration::from_secs(30)))
        .on_state_change(listener)
        .clock(manual.clock())
        .build()
        .unwrap();
    trip(&b);
    manual.advance(Duration::from_secs(10));
    let hung = b.try_acquire().unwrap();
    assert_eq!(b.try_acquire().unwrap_err(), Rejected::HalfOpenFull);
    manual.advance(Duration::from_secs(29));
    assert_eq!(b.try_acquire().unwrap_err(), Rejected::HalfOpenFull);
    manual.advance(Duration::from_secs(1));
    let fresh = b.try_acquire().expect("re-armed after the maximum time");
    assert_eq!(b.state(), BreakerState::HalfOpen);

    // The hung probe finally fails: it is late and decides nothing.
    hung.failure();
    assert_eq!(b.state(), BreakerState::HalfOpen);
    assert_eq!(b.metrics().late_results, 1);
    fresh.success();
    assert_eq!(b.state(), BreakerState::Closed);
    use BreakerState::*;
    assert_eq!(
        *log.lock().unwrap(),
        [
            (Closed, Open),
            (Open, HalfOpen),
            (HalfOpen, HalfOpen),
            (HalfOpen, Closed)
        ]
    );
}

#[test]
fn late_results_from_closed_do_not_decide_half_open() {
    let manual = ManualClock::new();
    let b = small(&manual, 1);
    let early_failure = b.try_acquire().unwrap(); // admitted while closed
    let early_success = b.try_acquire().unwrap();
    trip(&b);
    manual.advance(Duration::from_secs(10));
    let probe = b.try_acquire().unwrap();
    assert_eq!(b.state(), BreakerState::HalfOpen);
    early_failure.failure();
    early_success.success();
    assert_eq!(b.state(), BreakerState::HalfOpen, "late results ignored");
    assert_eq!(b.metrics().late_results, 2);
    probe.success();
    assert_eq!(b.state(), BreakerState::Closed);
    // A permit from before the close is late in the new closed window too.
    let m = b.metrics();
    assert_eq!(m.window_calls, 0);
}

#[test]
fn time_window_buckets_roll_on_manual_clock() {
    let manual = ManualClock::new();
    let b = CircuitBreaker::<&str>::builder()
        .time_window(Duration::from_secs(10), 10)
        .minimum_calls(4)
        .failure_rate_threshold(50.0)
        .clock(manual.clock())
        .build()
        .unwrap();
    // t = 0 s: a failure and two successes.
    let _ = fail(&b);
    let _ = succeed(&b);
    let _ = succeed(&b);
    assert_eq!(b.metrics().window_calls, 3);
    // t = 5 s: two successes; 1 of 5 failed.
    manual.advance(Duration::from_secs(5));
    let _ = succeed(&b);
    let _ = succeed(&b);
    assert_eq!(b.metrics().window_calls, 5);
    // t = 9.999 s: everything still inside the window.
    manual.advance(Duration::from_millis(4_999));
    assert_eq!(b.metrics().window_calls, 5);
    // t = 10 s: the t = 0 bucket has rolled out.
    manual.advance(Duration::from_millis(1));
    let m = b.metrics();
    assert_eq!((m.window_calls, m.window_failures), (2, 0));
    // One failure: 1 of 3 calls, below the minimum anyway; stays closed.
    let _ = fail(&b);
    assert_eq!(b.state(), BreakerState::Closed);
    // t = 15 s: the t = 5 s successes roll out, the t = 10 s failure stays.
    manual.advance(Duration::from_secs(5));
    let m = b.metrics();
    assert_eq!((m.window_calls, m.window_failures), (1, 1));
    for _ in 0..3 {
        let _ = succeed(&b);
    }
    assert_eq!(b.state(), BreakerState::Closed);
    let _ = fail(&b); // 2 of 5 = 40 %
    assert_eq!(b.state(), BreakerState::Closed);
    let _ = fail(&b); // 3 of 6 = 50 %
    assert_eq!(b.state(), BreakerState::Open);
    // Lifetime counts keep what rolled out.
    let m = b.metrics();
    assert_eq!((m.successful_calls, m.failed_calls), (7, 4));
}

#[test]
fn time_window_skipping_many_buckets() {
    let manual = ManualClock::new();
    let b = CircuitBreaker::<&str>::builder()
        .time_window(Duration::from_secs(4), 4)
        .minimum_calls(1)
        .clock(manual.clock())
        .build()
        .unwrap();
    let _ = succeed(&b);
    manual.advance(Duration::from_secs(3));
    let _ = succeed(&b);
    assert_eq!(b.metrics().window_calls, 2);
    // Jump whole windows: the bucket reused for t = 103 s must not keep t = 3 s.
    manual.advance(Duration::from_secs(100));
    assert_eq!(b.metrics().window_calls, 0);
    let _ = succeed(&b);
    assert_eq!(b.metrics().window_calls, 1);
    assert_eq!(b.metrics().successful_calls, 3);
}

#[test]
fn slow_call_threshold() {
    let manual = ManualClock::new();
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .minimum_calls(4)
        .slow_call_threshold(50.0, Duration::from_secs(1))
        .clock(manual.clock())
        .build()
        .unwrap();
    let slow_success = |b: &Breaker, took: Duration| {
        let permit = b.try_acquire().unwrap();
        manual.advance(took);
        permit.success();
    };
    slow_success(&b, Duration::from_millis(999)); // not slow
    slow_success(&b, Duration::from_secs(1)); // slow (at the threshold)
    slow_success(&b, Duration::ZERO);
    assert_eq!(b.metrics().window_slow_calls, 1);
    assert_eq!(b.state(), BreakerState::Closed);
    slow_success(&b, Duration::from_secs(5)); // 2 of 4 slow: 50 %
    assert_eq!(b.state(), BreakerState::Open);
    let m = b.metrics();
    assert_eq!(
        (m.successful_calls, m.failed_calls, m.slow_calls),
        (4, 0, 2)
    );
}

#[test]
fn growing_wait_in_open() {
    let manual = ManualClock::new();
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .wait_in_open_growing(Duration::from_secs(1), 2.0, Duration::from_secs(5))
        .half_open_permits(1)
        .clock(manual.clock())
        .build()
        .unwrap();
    trip(&b);
    let mut waits = Vec::new();
    for _ in 0..5 {
        let Err(Rejected::Open { retry_after }) = b.try_acquire() else {
            panic!("expected open");
        };
        waits.push(retry_after.as_secs());
        manual.advance(retry_after);
        let _ = fail(&b); // the trial fails: open again, longer
    }
    assert_eq!(waits, [1, 2, 4, 5, 5]);
    let Err(Rejected::Open { retry_after }) = b.try_acquire() else {
        panic!("expected open");
    };
    manual.advance(retry_after);
    let _ = succeed(&b);
    assert_eq!(b.state(), BreakerState::Closed);
    trip(&b);
    assert_eq!(
        b.try_acquire().unwrap_err(),
        Rejected::Open {
            retry_after: Duration::from_secs(1)
        },
        "a successful trial resets the growth"
    );
}

#[test]
fn listeners_see_every_transition_once() {
    let manual = ManualClock::new();
    let (log, listener) = recorder();
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .wait_in_open(Duration::from_secs(10))
        .half_open_permits(1)
        .on_state_change(listener)
        .clock(manual.clock())
        .build()
        .unwrap();
    trip(&b);
    manual.advance(Duration::from_secs(10));
    let _ = fail(&b);
    manual.advance(Duration::from_secs(10));
    let _ = succeed(&b);
    b.force_open();
    b.force_open(); // no change, no event
    b.disable();
    let _ = fail(&b);
    b.reset();
    b.reset(); // already closed: no event
    use BreakerState::*;
    assert_eq!(
        *log.lock().unwrap(),
        [
            (Closed, Open),
            (Open, HalfOpen),
            (HalfOpen, Open),
            (Open, HalfOpen),
            (HalfOpen, Closed),
            (Closed, ForcedOpen),
            (ForcedOpen, Disabled),
            (Disabled, Closed),
        ]
    );
}

#[test]
fn concurrent_failures_open_once() {
    for round in 0..20 {
        let manual = ManualClock::new();
        let (log, listener) = recorder();
        let b = CircuitBreaker::<&str>::builder()
            .count_window(100)
            .minimum_calls(8)
            .on_state_change(listener)
            .clock(manual.clock())
            .build()
            .unwrap();
        let barrier = Barrier::new(8);
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..50 {
                        let _ = fail(&b);
                    }
                });
            }
        });
        assert_eq!(
            *log.lock().unwrap(),
            [(BreakerState::Closed, BreakerState::Open)],
            "round {round}"
        );
        let m = b.metrics();
        // A failure admitted while closed and recorded after the open is late.
        assert_eq!(
            m.failed_calls + m.late_results + m.rejected_calls,
            400,
            "round {round}"
        );
    }
}

#[test]
fn listener_may_call_the_breaker() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let slot: Arc<Mutex<Option<Breaker>>> = Arc::new(Mutex::new(None));
    let (seen2, slot2) = (Arc::clone(&seen), Arc::clone(&slot));
    let b = CircuitBreaker::<&str>::builder()
        .on_state_change(move |c| {
            seen2.lock().unwrap().push(c.to);
            if c.to == BreakerState::ForcedOpen {
                // Re-entrant: the change it causes is delivered after this one.
                let b = slot2.lock().unwrap().clone().unwrap();
                b.disable();
                seen2.lock().unwrap().push(b.state());
            }
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(b.clone());
    b.force_open();
    use BreakerState::*;
    assert_eq!(*seen.lock().unwrap(), [ForcedOpen, Disabled, Disabled]);
    *slot.lock().unwrap() = None; // break the cycle
}

#[test]
fn forced_open_and_disabled() {
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .build()
        .unwrap();
    b.force_open();
    assert_eq!(succeed(&b), Err(CallError::Rejected(Rejected::ForcedOpen)));
    b.disable();
    for _ in 0..10 {
        assert_eq!(fail(&b), Err(CallError::Failed("boom")));
    }
    assert_eq!(b.state(), BreakerState::Disabled);
    let m = b.metrics();
    assert_eq!((m.failed_calls, m.rejected_calls), (0, 1));
    b.reset();
    assert_eq!(succeed(&b), Ok(()));
}

#[test]
fn predicates_classify_errors() {
    let b = CircuitBreaker::<u16>::builder()
        .count_window_buckets(4, 4)
        .ignore_if(|code| *code == 499)
        .record_failure_if(|code| *code >= 500)
        .build()
        .unwrap();
    for code in [404, 499, 499, 503] {
        assert_eq!(
            b.call(|| Err::<(), u16>(code)),
            Err(CallError::Failed(code))
        );
    }
    let m = b.metrics();
    assert_eq!(m.successful_calls, 1, "a 404 counts as a success");
    assert_eq!(m.ignored_calls, 2);
    assert_eq!(m.failed_calls, 1);
    assert_eq!(m.window_calls, 2);
}

#[test]
fn ignored_trial_gives_its_permit_back() {
    let manual = ManualClock::new();
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .wait_in_open(Duration::from_secs(1))
        .half_open_permits(1)
        .ignore_if(|e| *e == "cancelled")
        .clock(manual.clock())
        .build()
        .unwrap();
    trip(&b);
    manual.advance(Duration::from_secs(1));
    let _ = b.call(|| Err::<(), _>("cancelled"));
    assert_eq!(b.state(), BreakerState::HalfOpen);
    assert_eq!(succeed(&b), Ok(()), "the permit was given back");
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn panicking_call_counts_as_failure() {
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .build()
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = b.call(|| -> Result<(), &str> { panic!("inside the call") });
    }));
    assert!(r.is_err());
    assert_eq!(b.metrics().failed_calls, 1);
    drop(b.try_acquire().unwrap()); // dropped without a result
    assert_eq!(b.metrics().failed_calls, 2);
}

#[test]
fn build_errors() {
    let e = |b: gosling::breaker::BreakerBuilder<()>| b.build().unwrap_err();
    let b = CircuitBreaker::<()>::builder;
    assert_eq!(
        e(b().failure_rate_threshold(f64::NAN)).to_string(),
        "failure-rate threshold NaN% is outside (0, 100]"
    );
    assert_eq!(
        e(b().slow_call_threshold(-1.0, Duration::from_secs(1))),
        BreakerBuildError::SlowCallRateOutOfRange(-1.0)
    );
    assert_eq!(e(b().count_window(0)), BreakerBuildError::ZeroWindow);
    assert_eq!(
        e(b().time_window(Duration::ZERO, 4)),
        BreakerBuildError::ZeroWindow
    );
    assert_eq!(
        e(b().count_window_buckets(4, 5)),
        BreakerBuildError::InvalidBuckets(5)
    );
    assert_eq!(
        e(b().time_window(Duration::from_secs(1), 5000)),
        BreakerBuildError::InvalidBuckets(5000)
    );
    assert_eq!(e(b().minimum_calls(0)), BreakerBuildError::ZeroMinimumCalls);
    assert_eq!(
        e(b().wait_in_open_growing(Duration::from_secs(1), 0.5, Duration::from_secs(9))),
        BreakerBuildError::GrowthFactorOutOfRange(0.5)
    );
    assert_eq!(
        e(b().wait_in_open_growing(Duration::from_secs(2), 2.0, Duration::from_secs(1))),
        BreakerBuildError::MaxWaitBelowInitial {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(1)
        }
    );
    // The default minimum follows a small count window.
    assert!(b().count_window(10).build().is_ok());
}

fn stress(threads: u64, calls: u64) {
    let seed = seed("BREAKER_SEED");
    let manual = ManualClock::new();
    let b = CircuitBreaker::<u64>::builder()
        .count_window(50)
        .minimum_calls(10)
        .failure_rate_threshold(40.0)
        .wait_in_open(Duration::from_millis(1))
        .half_open_permits(3)
        .clock(manual.clock())
        .build()
        .unwrap();
    let (ok, failed, rejected) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    thread::scope(|s| {
        for t in 0..threads {
            let (b, manual, ok, failed, rejected) = (&b, &manual, &ok, &failed, &rejected);
            s.spawn(move || {
                let mut rng =
                    Rng::new(seed.wrapping_add(t.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
                for _ in 0..calls {
                    let r = rng.next();
                    if r % 97 == 0 {
                        manual.advance(Duration::from_millis(1));
                    }
                    match b.call(|| if r % 3 == 0 { Err(r) } else { Ok(r) }) {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(CallError::Failed(_)) => failed.fetch_add(1, Ordering::Relaxed),
                        Err(CallError::Rejected(_)) => rejected.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
    });
    let m = b.metrics();
    let msg = format!("seed {seed} (rerun with BREAKER_SEED={seed}): {m:?}");
    let total = (threads * calls) as usize;
    assert_eq!(
        ok.load(Ordering::Relaxed)
            + failed.load(Ordering::Relaxed)
            + rejected.load(Ordering::Relaxed),
        total,
        "{msg}"
    );
    assert_eq!(
        m.rejected_calls as usize,
        rejected.load(Ordering::Relaxed),
        "{msg}"
    );
    // Every admitted result is recorded once: in the window, in a trial, or late.
    assert_eq!(
        (m.successful_calls + m.failed_calls + m.late_results) as usize,
        ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed),
        "{msg}"
    );
}

#[test]
fn stress_reconciles() {
    stress(4, 5_000);
}

#[test]
#[ignore = "long"]
fn stress_reconciles_long() {
    stress(8, 500_000);
}

#[test]
fn permit_recorded_on_another_thread() {
    let manual = ManualClock::new();
    let b = small(&manual, 1);
    thread::scope(|s| {
        for _ in 0..4 {
            let permit = b.try_acquire().unwrap();
            s.spawn(move || permit.failure());
        }
    });
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.metrics().failed_calls, 4);
}

#[test]
fn a_panicking_listener_does_not_stop_later_events() {
    let (log, record) = recorder();
    let first = std::sync::atomic::AtomicBool::new(true);
    let b = CircuitBreaker::<&str>::builder()
        .on_state_change(move |c| {
            record(c);
            if first.swap(false, Ordering::SeqCst) {
                panic!("listener failed");
            }
        })
        .build()
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.force_open()));
    assert!(r.is_err());
    assert_eq!(
        b.state(),
        BreakerState::ForcedOpen,
        "the change itself stands"
    );
    b.reset();
    use BreakerState::*;
    assert_eq!(
        *log.lock().unwrap(),
        [(Closed, ForcedOpen), (ForcedOpen, Closed)]
    );
}

// A success can raise a rate, or make it count: every recorded result is
// judged. The three ways it happens follow.

#[test]
fn success_that_brings_the_window_to_the_minimum_opens() {
    let manual = ManualClock::new();
    let b = small(&manual, 1); // 4 calls, minimum 4, 50 %
    for _ in 0..3 {
        let _ = fail(&b);
    }
    assert_eq!(b.state(), BreakerState::Closed, "3 calls < minimum 4");
    assert_eq!(b.metrics().failure_rate, None);
    let _ = succeed(&b); // 3 of 4 failed: 75 %
    assert_eq!(b.metrics().failure_rate, None, "an open window is empty");
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn slow_success_path_also_judges_at_the_minimum() {
    // With a slow-call threshold every result takes the timed path.
    let manual = ManualClock::new();
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .minimum_calls(4)
        .slow_call_threshold(50.0, Duration::from_secs(1))
        .clock(manual.clock())
        .build()
        .unwrap();
    for _ in 0..3 {
        let permit = b.try_acquire().unwrap();
        manual.advance(Duration::from_secs(2));
        permit.success(); // slow
    }
    assert_eq!(b.state(), BreakerState::Closed, "3 calls < minimum 4");
    let _ = succeed(&b); // quick; 3 of 4 slow: 75 %
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn success_after_older_successes_left_a_time_window_opens() {
    let manual = ManualClock::new();
    let b = CircuitBreaker::<&str>::builder()
        .time_window(Duration::from_secs(10), 10)
        .minimum_calls(4)
        .failure_rate_threshold(50.0)
        .clock(manual.clock())
        .build()
        .unwrap();
    for _ in 0..5 {
        let _ = succeed(&b); // t = 0 s
    }
    manual.advance(Duration::from_secs(5));
    for _ in 0..4 {
        let _ = fail(&b); // t = 5 s; at most 4 of 9 failed
    }
    assert_eq!(b.state(), BreakerState::Closed);
    // t = 10 s: the successes of t = 0 s have left the window.
    manual.advance(Duration::from_secs(5));
    assert_eq!(b.metrics().failure_rate, Some(100.0));
    let _ = succeed(&b); // 4 of 5 failed: 80 %
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn success_that_rotates_a_bucket_of_successes_out_opens() {
    let manual = ManualClock::new();
    // 4 calls in 2 buckets of 2: the window holds 4 or 5 calls.
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 2)
        .minimum_calls(4)
        .failure_rate_threshold(50.0)
        .clock(manual.clock())
        .build()
        .unwrap();
    let _ = succeed(&b);
    let _ = succeed(&b); // [S S]
    let _ = fail(&b);
    let _ = succeed(&b); // [S S] [F S]
    let _ = fail(&b); // [S S] [F S] [F]: 2 of 5, 40 %
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.metrics().failure_rate, Some(40.0));
    // Fills [F S]: [S S] leaves, [F S] [F S] is 2 of 4, 50 %.
    let _ = succeed(&b);
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn successes_after_the_minimum_do_not_open() {
    // The settled fast path: once the window holds the minimum, successes
    // that only lower the rate leave the breaker closed, also across
    // rotations of single-call and multi-call buckets.
    for buckets in [4, 2, 1] {
        let manual = ManualClock::new();
        let b = CircuitBreaker::<&str>::builder()
            .count_window_buckets(4, buckets)
            .minimum_calls(4)
            .failure_rate_threshold(50.0)
            .clock(manual.clock())
            .build()
            .unwrap();
        let _ = fail(&b);
        for _ in 0..40 {
            let _ = succeed(&b);
            assert_eq!(b.state(), BreakerState::Closed, "{buckets} buckets");
        }
        let m = b.metrics();
        assert_eq!((m.successful_calls, m.failed_calls), (40, 1));
        assert_eq!(m.window_failures, 0, "{buckets} buckets: the failure left");
        // Failures still open it: within three, whatever the buckets.
        for _ in 0..3 {
            let _ = fail(&b);
        }
        assert_eq!(b.state(), BreakerState::Open, "{buckets} buckets");
    }
}

#[test]
fn expired_trial_with_a_free_permit_hands_it_out_before_rearming() {
    let manual = ManualClock::new();
    let (log, listener) = recorder();
    let b = CircuitBreaker::<&str>::builder()
        .count_window_buckets(4, 4)
        .wait_in_open(Duration::from_secs(10))
        .half_open_permits(2)
        .max_wait_in_half_open(Some(Duration::from_secs(30)))
        .on_state_change(listener)
        .clock(manual.clock())
        .build()
        .unwrap();
    trip(&b);
    manual.advance(Duration::from_secs(10));
    let first = b.try_acquire().unwrap(); // starts the trial
    manual.advance(Duration::from_secs(30)); // the trial has expired
    // A permit is still free: it goes to this call, nothing is re-armed.
    let second = b.try_acquire().unwrap();
    use BreakerState::*;
    assert_eq!(log.lock().unwrap().last(), Some(&(Open, HalfOpen)));
    // Every permit is taken and the trial is expired: this call re-arms.
    let fresh = b.try_acquire().expect("re-armed");
    assert_eq!(log.lock().unwrap().last(), Some(&(HalfOpen, HalfOpen)));
    first.success();
    second.success();
    assert_eq!(b.metrics().late_results, 2, "both belong to the old trial");
    assert_eq!(b.state(), HalfOpen);
    fresh.success();
    assert_eq!(
        b.state(),
        HalfOpen,
        "the fresh trial waits for its second result"
    );
    b.try_acquire().unwrap().success();
    assert_eq!(b.state(), Closed);
}
