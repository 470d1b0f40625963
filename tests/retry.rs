//! Retries: backoff sequences on a seeded generator, and `RetryPolicy::call`
//! without a pool (counts, cancellation, time limits, classification).

use gosling::context::{CancelReason, Context};
use gosling::retry::{
    Backoff, BackoffError, Decision, Failure, Jitter, JitterRng, RetryError, RetryPolicy,
};
use gosling::time::ManualClock;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// SplitMix64, written here independently of the crate's, so the jitter
/// definitions can be checked against a reference and randomised tests
/// have their own seeded generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high` by multiply-shift.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        let span = u128::from(high - low) + 1;
        low + ((u128::from(self.next()) * span) >> 64) as u64
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap()
}

fn sequence(backoff: &Backoff, seed: u64, retries: u32) -> Vec<Duration> {
    let mut rng = JitterRng::seeded(seed);
    let mut previous = Duration::ZERO;
    (1..=retries)
        .map(|retry| {
            let delay = backoff.delay(retry, previous, &mut rng);
            previous = delay;
            delay
        })
        .collect()
}

// ---------------------------------------------------------------- backoff

#[test]
fn constant_sequence() {
    let backoff = Backoff::constant(ms(250));
    assert_eq!(sequence(&backoff, 1, 4), [ms(250); 4]);
}

#[test]
fn linear_sequence() {
    let backoff = Backoff::linear(ms(100), ms(50));
    assert_eq!(
        sequence(&backoff, 1, 5),
        [ms(100), ms(150), ms(200), ms(250), ms(300)]
    );
}

#[test]
fn exponential_sequence() {
    let backoff = Backoff::exponential(ms(100), 2.0).unwrap();
    assert_eq!(
        sequence(&backoff, 1, 6),
        [ms(100), ms(200), ms(400), ms(800), ms(1600), ms(3200)]
    );
    let backoff = Backoff::exponential(ms(100), 1.5).unwrap();
    assert_eq!(
        sequence(&backoff, 1, 4),
        [ms(100), ms(150), ms(225), Duration::from_micros(337_500)]
    );
}

#[test]
fn exponential_with_cap() {
    let backoff = Backoff::exponential(ms(100), 2.0).unwrap().cap(ms(500));
    assert_eq!(
        sequence(&backoff, 1, 6),
        [ms(100), ms(200), ms(400), ms(500), ms(500), ms(500)]
    );
}

#[test]
fn retry_zero_reads_as_first_retry() {
    let backoff = Backoff::linear(ms(10), ms(10));
    let mut rng = JitterRng::seeded(0);
    assert_eq!(backoff.delay(0, Duration::ZERO, &mut rng), ms(10));
}

#[test]
fn full_jitter_matches_definition() {
    // sleep = random_between(0, min(cap, base * 2^n))
    let cap = ms(1_000);
    let backoff = Backoff::exponential(ms(100), 2.0)
        .unwrap()
        .cap(cap)
        .jitter(Jitter::Full);
    let mut reference = SplitMix(42);
    let expected: Vec<Duration> = (0..8u32)
        .map(|n| {
            let raw = (100u64 << n).min(1_000) * 1_000_000;
            Duration::from_nanos(reference.between(0, raw))
        })
        .collect();
    assert_eq!(sequence(&backoff, 42, 8), expected);
}

#[test]
fn equal_jitter_matches_definition() {
    // temp = min(cap, base * 2^n); sleep = temp/2 + random_between(0, temp/2)
    let backoff = Backoff::exponential(ms(100), 2.0)
        .unwrap()
        .cap(ms(1_000))
        .jitter(Jitter::Equal);
    let mut reference = SplitMix(7);
    let expected: Vec<Duration> = (0..8u32)
        .map(|n| {
            let temp = (100u64 << n).min(1_000) * 1_000_000;
            Duration::from_nanos(temp / 2 + reference.between(0, temp - temp / 2))
        })
        .collect();
    let actual = sequence(&backoff, 7, 8);
    assert_eq!(actual, expected);
    for (n, delay) in actual.iter().enumerate() {
        let temp = ms((100u64 << n).min(1_000));
        assert!(*delay >= temp / 2 && *delay <= temp, "retry {n}: {delay:?}");
    }
}

#[test]
fn decorrelated_jitter_matches_definition() {
    // sleep = random_between(base, min(cap, sleep * 3)), sleep starting at
    // base: the AWS formula, drawn within the cap instead of clamped to it.
    let base = nanos(ms(100));
    let cap = nanos(ms(2_000));
    let backoff = Backoff::exponential(ms(100), 2.0)
        .unwrap()
        .cap(ms(2_000))
        .jitter(Jitter::Decorrelated);
    let mut reference = SplitMix(99);
    let mut sleep = base;
    let expected: Vec<Duration> = (0..12)
        .map(|_| {
            sleep = reference.between(base, (sleep * 3).min(cap));
            Duration::from_nanos(sleep)
        })
        .collect();
    assert_eq!(sequence(&backoff, 99, 12), expected);
}

#[test]
fn golden_values_for_seed_42() {
    // Pinned so a change of generator or reduction is noticed.
    let full = Backoff::constant(ms(1_000)).jitter(Jitter::Full);
    let first: Vec<u64> = sequence(&full, 42, 3).iter().map(|d| nanos(*d)).collect();
    assert_eq!(first, GOLDEN_FULL_42);
}

const GOLDEN_FULL_42: [u64; 3] = [741_564_879, 159_910_393, 278_601_130];

#[test]
fn decorrelated_jitter_does_not_pile_up_on_the_cap() {
    // Regression guard: clamping a draw from base..=3*previous to the cap
    // puts ~2/3 of the delays exactly on the cap once it is reached.
    let cap = ms(1_000);
    let backoff = Backoff::constant(ms(10))
        .jitter(Jitter::Decorrelated)
        .cap(cap);
    let delays = sequence(&backoff, 0xCA9, 2_000);
    let at_cap = delays.iter().filter(|d| **d == cap).count();
    assert!(at_cap < 10, "{at_cap} of 2000 delays exactly at the cap");
    assert!(delays.iter().all(|d| *d >= ms(10) && *d <= cap));
}

#[test]
fn cap_below_base_wins() {
    let cap = ms(5);
    for jitter in all_jitters() {
        let backoff = Backoff::constant(ms(50)).jitter(jitter).cap(cap);
        for delay in sequence(&backoff, 4, 10) {
            assert!(delay <= cap, "{jitter:?}: {delay:?}");
        }
    }
    let backoff = Backoff::constant(ms(50))
        .jitter(Jitter::Decorrelated)
        .cap(cap);
    assert_eq!(sequence(&backoff, 4, 3), [cap; 3]);
}

#[test]
fn same_seed_same_sequence_other_seed_differs() {
    let backoff = Backoff::exponential(ms(10), 2.0)
        .unwrap()
        .jitter(Jitter::Full);
    assert_eq!(sequence(&backoff, 5, 10), sequence(&backoff, 5, 10));
    assert_ne!(sequence(&backoff, 5, 10), sequence(&backoff, 6, 10));
}

#[test]
fn jitter_none_ignores_the_generator() {
    let backoff = Backoff::exponential(ms(3), 3.0).unwrap();
    assert_eq!(sequence(&backoff, 1, 5), sequence(&backoff, 2, 5));
}

fn all_jitters() -> [Jitter; 4] {
    [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ]
}

fn strategies() -> Vec<Backoff> {
    vec![
        Backoff::constant(ms(700)),
        Backoff::linear(ms(100), ms(300)),
        Backoff::exponential(ms(50), 2.0).unwrap(),
        Backoff::exponential(ms(1), 10.0).unwrap(),
        Backoff::exponential(Duration::from_nanos(1), 1.0001).unwrap(),
    ]
}

#[test]
fn the_cap_always_holds() {
    let seed = 0x5EED_CAFE_u64;
    let mut meta = SplitMix(seed);
    for backoff in strategies() {
        for jitter in all_jitters() {
            let cap = Duration::from_nanos(meta.between(1, nanos(ms(2_000))));
            let backoff = backoff.jitter(jitter).cap(cap);
            let rng_seed = meta.next();
            for (i, delay) in sequence(&backoff, rng_seed, 200).into_iter().enumerate() {
                assert!(
                    delay <= cap,
                    "seed {seed:#x}: {backoff:?} retry {} gave {delay:?} over {cap:?}",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn retry_1000_saturates_at_the_cap() {
    let cap = Duration::from_secs(60);
    for backoff in strategies() {
        for jitter in all_jitters() {
            let backoff = backoff.jitter(jitter).cap(cap);
            let mut rng = JitterRng::seeded(3);
            for retry in [1_000, 100_000, u32::MAX] {
                let delay = backoff.delay(retry, cap, &mut rng);
                assert!(delay <= cap, "{backoff:?} retry {retry}: {delay:?}");
            }
        }
    }
    let growing = Backoff::exponential(ms(100), 2.0).unwrap().cap(cap);
    let mut rng = JitterRng::seeded(3);
    assert_eq!(growing.delay(1_000, Duration::ZERO, &mut rng), cap);
    let linear = Backoff::linear(ms(100), ms(100)).cap(cap);
    assert_eq!(linear.delay(u32::MAX, Duration::ZERO, &mut rng), cap);
}

#[test]
fn uncapped_arithmetic_saturates_without_overflow() {
    let max = Duration::from_nanos(u64::MAX);
    let mut rng = JitterRng::seeded(11);
    let exponential = Backoff::exponential(Duration::from_secs(1), 2.0).unwrap();
    assert_eq!(exponential.delay(1_000, Duration::ZERO, &mut rng), max);
    let linear = Backoff::linear(Duration::from_secs(1), Duration::MAX);
    assert_eq!(linear.delay(3, Duration::ZERO, &mut rng), max);
    let huge = Backoff::constant(Duration::MAX);
    assert_eq!(huge.delay(1, Duration::ZERO, &mut rng), max);
    let decorrelated = Backoff::constant(Duration::from_secs(1)).jitter(Jitter::Decorrelated);
    let delay = decorrelated.delay(1_000, Duration::MAX, &mut rng);
    assert!(delay >= Duration::from_secs(1));
    let zero_base = Backoff::exponential(Duration::ZERO, 2.0).unwrap();
    assert_eq!(
        zero_base.delay(5_000, Duration::ZERO, &mut rng),
        Duration::ZERO
    );
}

#[test]
fn invalid_factors_are_rejected() {
    for factor in [0.0, 0.5, -2.0, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(
            Backoff::exponential(ms(1), factor),
            Err(BackoffError::InvalidFactor(factor))
        );
    }
    assert!(matches!(
        Backoff::exponential(ms(1), f64::NAN),
        Err(BackoffError::InvalidFactor(f)) if f.is_nan()
    ));
    assert!(Backoff::exponential(ms(1), 1.0).is_ok());
    let message = Backoff::exponential(ms(1), 0.5).unwrap_err().to_string();
    assert!(message.contains("0.5"), "{message}");
}

#[test]
fn decorrelated_stays_between_base_and_three_times_previous() {
    let seed = 0xDEC0_u64;
    let backoff = Backoff::constant(ms(10)).jitter(Jitter::Decorrelated);
    let mut rng = JitterRng::seeded(seed);
    let mut previous = Duration::ZERO;
    for retry in 1..=30 {
        let delay = backoff.delay(retry, previous, &mut rng);
        let high = if previous.is_zero() { ms(10) } else { previous } * 3;
        assert!(
            delay >= ms(10) && delay <= high,
            "seed {seed:#x} retry {retry}: {delay:?}"
        );
        previous = delay;
    }
}

// ------------------------------------------------------- policy: values

#[test]
fn policy_is_cheap_to_clone_and_shareable() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<RetryPolicy>();
    let policy = RetryPolicy::fixed(2, MS);
    let clone = policy.clone();
    thread::spawn(move || assert_eq!(clone.get_max_retries(), 2))
        .join()
        .unwrap();
}

#[test]
fn seed_constructors() {
    let policy = RetryPolicy::fixed(3, ms(200));
    assert_eq!(policy.get_max_retries(), 3);
    assert_eq!(*policy.get_backoff(), Backoff::constant(ms(200)));
    let per_task = policy.clone().max_retries(0);
    assert_eq!(per_task.get_max_retries(), 0);
    assert_eq!(policy.get_max_retries(), 3);
    assert_eq!(per_task.get_backoff(), policy.get_backoff());
    assert_eq!(RetryPolicy::default().get_max_retries(), 0);
}

#[test]
fn allows_retry_counts_retries_not_attempts() {
    let policy = RetryPolicy::new(2);
    assert!(policy.allows_retry(1));
    assert!(policy.allows_retry(2));
    assert!(!policy.allows_retry(3));
    assert!(!RetryPolicy::never().allows_retry(1));
}

#[test]
fn next_delay_is_the_backoff() {
    let backoff = Backoff::linear(ms(5), ms(5)).jitter(Jitter::Equal);
    let policy = RetryPolicy::new(9).backoff(backoff);
    let mut a = JitterRng::seeded(8);
    let mut b = JitterRng::seeded(8);
    for retry in 1..10 {
        assert_eq!(
            policy.next_delay(retry, Duration::ZERO, &mut a),
            backoff.delay(retry, Duration::ZERO, &mut b)
        );
    }
}

#[derive(Debug, PartialEq)]
enum DbError {
    Deadlock,
    Syntax,
}

#[test]
fn classifier_defaults_and_overrides() {
    let policy = RetryPolicy::new(1);
    assert!(policy.is_retryable(&Failure::Error(&DbError::Syntax)));
    assert!(policy.is_retryable(&Failure::Timeout));
    assert!(!policy.is_retryable(&Failure::Panic));

    let policy = policy
        .retry_if(|e: &DbError| *e == DbError::Deadlock)
        .retry_panics(true)
        .retry_timeouts(false);
    assert!(policy.is_retryable(&Failure::Error(&DbError::Deadlock)));
    assert!(!policy.is_retryable(&Failure::Error(&DbError::Syntax)));
    assert!(policy.is_retryable(&Failure::Error(&"another type")));
    assert!(policy.is_retryable(&Failure::Panic));
    assert!(!policy.is_retryable(&Failure::Timeout));

    // A second predicate for the same type replaces the first.
    let policy = policy.retry_if(|_: &DbError| false);
    assert!(!policy.is_retryable(&Failure::Error(&DbError::Deadlock)));
}

#[test]
fn decide_checks_classifier_then_count_then_time() {
    let policy = RetryPolicy::fixed(2, ms(300))
        .max_elapsed(Duration::from_secs(1))
        .retry_if(|e: &DbError| *e == DbError::Deadlock);
    let mut rng = JitterRng::seeded(0);
    let zero = Duration::ZERO;
    let deadlock = Failure::Error(&DbError::Deadlock);
    let syntax = Failure::Error(&DbError::Syntax);
    assert_eq!(
        policy.decide(1, &deadlock, zero, zero, &mut rng),
        Decision::RetryAfter(ms(300))
    );
    assert_eq!(
        policy.decide(2, &deadlock, ms(600), ms(300), &mut rng),
        Decision::RetryAfter(ms(300))
    );
    // Not retryable wins over an exhausted count and an exceeded limit.
    assert_eq!(
        policy.decide(9, &syntax, Duration::from_secs(9), zero, &mut rng),
        Decision::NotRetryable
    );
    // Exhausted wins over the time limit.
    assert_eq!(
        policy.decide(3, &deadlock, Duration::from_secs(9), zero, &mut rng),
        Decision::Exhausted
    );
    // Ending exactly at the limit is allowed; a nanosecond past is not.
    assert!(
        policy
            .decide(1, &deadlock, ms(700), zero, &mut rng)
            .is_retry()
    );
    assert_eq!(
        policy.decide(
            1,
            &deadlock,
            ms(700) + Duration::from_nanos(1),
            zero,
            &mut rng
        ),
        Decision::MaxElapsed
    );
    assert_eq!(
        policy.decide(1, &Failure::Panic, zero, zero, &mut rng),
        Decision::NotRetryable
    );
    assert_eq!(
        policy
            .decide(1, &Failure::Timeout, zero, zero, &mut rng)
            .delay(),
        Some(ms(300))
    );
}

#[test]
fn decide_draws_the_same_delays_as_the_backoff() {
    let backoff = Backoff::exponential(ms(10), 2.0)
        .unwrap()
        .jitter(Jitter::Decorrelated)
        .cap(ms(500));
    let policy = RetryPolicy::new(50).backoff(backoff);
    let mut from_policy = JitterRng::seeded(21);
    let mut previous = Duration::ZERO;
    let expected = sequence(&backoff, 21, 50);
    for (i, want) in expected.into_iter().enumerate() {
        let attempt = u32::try_from(i).unwrap() + 1;
        let got = policy.decide(
            attempt,
            &Failure::Timeout,
            Duration::ZERO,
            previous,
            &mut from_policy,
        );
        assert_eq!(got, Decision::RetryAfter(want), "attempt {attempt}");
        previous = want;
    }
}

// -------------------------------------------------------- policy: call

#[test]
fn zero_retries_means_one_attempt() {
    let mut calls = Vec::new();
    let result: Result<(), _> = RetryPolicy::never().call(&Context::new(), |attempt| {
        calls.push(attempt);
        Err("no")
    });
    assert_eq!(
        result,
        Err(RetryError::Exhausted {
            last: "no",
            attempts: 1
        })
    );
    assert_eq!(calls, [1]);
}

#[test]
fn exhausted_retries_report_the_attempt_count_and_last_error() {
    let mut calls = Vec::new();
    let result: Result<(), _> =
        RetryPolicy::fixed(3, Duration::ZERO).call(&Context::new(), |attempt| {
            calls.push(attempt);
            Err(format!("failure {attempt}"))
        });
    let err = result.unwrap_err();
    assert_eq!(
        err,
        RetryError::Exhausted {
            last: "failure 4".to_string(),
            attempts: 4
        }
    );
    assert_eq!(err.attempts(), 4);
    assert_eq!(err.to_string(), "gave up after 4 attempts: failure 4");
    assert_eq!(calls, [1, 2, 3, 4]);
}

#[test]
fn success_after_failures_returns_the_value() {
    let result = RetryPolicy::fixed(5, Duration::ZERO).call(&Context::new(), |attempt| {
        if attempt < 3 {
            Err(attempt)
        } else {
            Ok("done")
        }
    });
    assert_eq!(result, Ok("done"));
}

#[test]
fn first_try_success_runs_once() {
    let mut calls = 0;
    let result: Result<u8, RetryError<()>> = RetryPolicy::new(10).call(&Context::new(), |_| {
        calls += 1;
        Ok(7)
    });
    assert_eq!(result, Ok(7));
    assert_eq!(calls, 1);
}

#[test]
fn non_retryable_error_stops_at_once() {
    let policy =
        RetryPolicy::fixed(10, Duration::ZERO).retry_if(|e: &DbError| *e == DbError::Deadlock);
    let mut calls = 0;
    let result: Result<(), _> = policy.call(&Context::new(), |_| {
        calls += 1;
        Err(if calls < 3 {
            DbError::Deadlock
        } else {
            DbError::Syntax
        })
    });
    assert_eq!(
        result,
        Err(RetryError::NotRetryable {
            error: DbError::Syntax,
            attempts: 3
        })
    );
    assert_eq!(calls, 3);
}

/// Runs `policy.call` on a thread; each attempt reports its number on a
/// channel before failing. Returns the attempt receiver and the join handle.
fn spawn_failing_call(
    policy: RetryPolicy,
    ctx: Context,
) -> (
    mpsc::Receiver<u32>,
    thread::JoinHandle<Result<(), RetryError<u32>>>,
) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        policy.call(&ctx, |attempt| {
            tx.send(attempt).unwrap();
            Err(attempt)
        })
    });
    (rx, handle)
}

#[test]
fn cancel_during_backoff_ends_promptly_and_never_runs_again() {
    let manual = ManualClock::new();
    let ctx = Context::with_clock(manual.clock());
    // An hour of backoff that the manual clock never lets pass: only the
    // cancellation can end the wait.
    let policy = RetryPolicy::fixed(5, Duration::from_secs(3_600));
    let (attempts, handle) = spawn_failing_call(policy, ctx.clone());
    assert_eq!(attempts.recv().unwrap(), 1);
    ctx.cancel();
    let result = handle.join().unwrap();
    assert_eq!(
        result,
        Err(RetryError::Cancelled {
            last: 1,
            attempts: 1,
            reason: CancelReason::Cancelled
        })
    );
    // The sender is gone with the thread: no attempt after the first.
    assert_eq!(attempts.iter().collect::<Vec<_>>(), Vec::<u32>::new());
}

#[test]
fn deadline_during_backoff_reports_deadline_exceeded() {
    let manual = ManualClock::new();
    let ctx = Context::with_clock(manual.clock()).with_timeout(Duration::from_secs(10));
    let policy = RetryPolicy::fixed(5, Duration::from_secs(3_600));
    let (attempts, handle) = spawn_failing_call(policy, ctx);
    assert_eq!(attempts.recv().unwrap(), 1);
    manual.advance(Duration::from_secs(10));
    let err = handle.join().unwrap().unwrap_err();
    assert!(matches!(
        err,
        RetryError::Cancelled {
            last: 1,
            attempts: 1,
            reason: CancelReason::DeadlineExceeded
        }
    ));
    assert_eq!(attempts.try_iter().count(), 0);
}

#[test]
fn already_cancelled_context_runs_the_first_attempt_only() {
    let ctx = Context::new();
    ctx.cancel_with(CancelReason::Shutdown);
    let mut calls = 0;
    let result: Result<(), _> = RetryPolicy::fixed(3, Duration::ZERO).call(&ctx, |_| {
        calls += 1;
        Err("down")
    });
    assert!(matches!(
        result,
        Err(RetryError::Cancelled {
            attempts: 1,
            reason: CancelReason::Shutdown,
            ..
        })
    ));
    assert_eq!(calls, 1);
}

#[test]
fn backoff_waits_on_the_context_clock() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let ctx = Context::with_clock(clock.clone());
    let start = clock.now();
    let policy = RetryPolicy::fixed(2, Duration::from_secs(1));
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        policy.call(&ctx, |attempt| {
            tx.send(clock.now() - start).unwrap();
            if attempt == 3 {
                Ok(attempt)
            } else {
                Err(attempt)
            }
        })
    });
    // Drive the clock until the call finishes. The step size does not
    // matter to the assertions below; the clock only ever moves forward
    // here, so each wait ends once a full second has been added after it
    // began.
    // The first attempt runs before the clock is touched at all.
    let mut seen = vec![rx.recv().unwrap()];
    while seen.len() < 3 {
        match rx.recv_timeout(MS) {
            Ok(at) => seen.push(at),
            Err(mpsc::RecvTimeoutError::Timeout) => manual.advance(ms(100)),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    assert_eq!(handle.join().unwrap(), Ok(3));
    assert_eq!(seen[0], Duration::ZERO);
    assert!(seen[1] >= Duration::from_secs(1), "{seen:?}");
    assert!(seen[2] >= seen[1] + Duration::from_secs(1), "{seen:?}");
}

#[test]
fn max_elapsed_stops_retrying() {
    let manual = ManualClock::new();
    let ctx = Context::with_clock(manual.clock());
    // Each attempt takes 4 s of manual time; no backoff.
    let policy = RetryPolicy::fixed(100, Duration::ZERO).max_elapsed(Duration::from_secs(10));
    let result: Result<(), _> = policy.call(&ctx, |attempt| {
        manual.advance(Duration::from_secs(4));
        Err(attempt)
    });
    assert_eq!(
        result,
        Err(RetryError::MaxElapsed {
            last: 3,
            attempts: 3,
            elapsed: Duration::from_secs(12)
        })
    );
}

#[test]
fn max_elapsed_skips_a_backoff_that_would_pass_it() {
    let manual = ManualClock::new();
    let ctx = Context::with_clock(manual.clock());
    let policy =
        RetryPolicy::fixed(100, Duration::from_secs(3)).max_elapsed(Duration::from_secs(10));
    // 8 s spent + 3 s of backoff > 10 s: give up now rather than wait.
    let result: Result<(), _> = policy.call(&ctx, |attempt| {
        manual.advance(Duration::from_secs(8));
        Err(attempt)
    });
    let err = result.unwrap_err();
    assert!(matches!(
        err,
        RetryError::MaxElapsed {
            last: 1,
            attempts: 1,
            ..
        }
    ));
    assert!(err.to_string().contains("time limit"), "{err}");
}

#[test]
fn panics_are_not_caught_unless_retryable() {
    let mut calls = 0;
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        RetryPolicy::fixed(3, Duration::ZERO).call(&Context::new(), |_| -> Result<(), ()> {
            calls += 1;
            panic!("bug");
        })
    }));
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"bug"));
    assert_eq!(calls, 1);
}

#[test]
fn retryable_panics_are_retried() {
    let policy = RetryPolicy::fixed(3, Duration::ZERO).retry_panics(true);
    let result: Result<u32, RetryError<()>> = policy.call(&Context::new(), |attempt| {
        if attempt < 3 {
            panic!("flaky {attempt}");
        }
        Ok(attempt)
    });
    assert_eq!(result, Ok(3));
}

#[test]
fn last_panic_is_resumed_when_retries_run_out() {
    let policy = RetryPolicy::fixed(2, Duration::ZERO).retry_panics(true);
    let mut calls = 0;
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        policy.call(&Context::new(), |attempt| -> Result<(), &str> {
            calls += 1;
            if attempt == 1 {
                return Err("error first");
            }
            panic!("panic {attempt}");
        })
    }));
    let payload = caught.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("panic 3")
    );
    assert_eq!(calls, 3);
}

#[test]
fn error_after_panics_is_returned_normally() {
    let policy = RetryPolicy::fixed(1, Duration::ZERO).retry_panics(true);
    let result: Result<(), _> = policy.call(&Context::new(), |attempt| {
        if attempt == 1 {
            panic!("first");
        }
        Err("second")
    });
    assert_eq!(
        result,
        Err(RetryError::Exhausted {
            last: "second",
            attempts: 2
        })
    );
}

#[test]
fn retry_error_accessors_display_and_source() {
    use std::error::Error as _;
    let io = std::io::Error::other("disk on fire");
    let err = RetryError::NotRetryable {
        error: io,
        attempts: 2,
    };
    assert_eq!(err.to_string(), "not retryable (attempt 2): disk on fire");
    assert_eq!(err.source().unwrap().to_string(), "disk on fire");
    assert_eq!(err.last().to_string(), "disk on fire");
    assert_eq!(err.into_inner().to_string(), "disk on fire");

    let cancelled = RetryError::Cancelled {
        last: "x",
        attempts: 1,
        reason: CancelReason::DeadlineExceeded,
    };
    assert_eq!(
        cancelled.to_string(),
        "retrying stopped, context deadline exceeded after 1 attempt: x"
    );
}

/// A long randomised run of `call` with random failure patterns: the number
/// of attempts always matches the policy.
#[test]
fn randomised_attempt_counts_reconcile() {
    let seed = 0xA77E_3975_u64;
    let mut rng = SplitMix(seed);
    for case in 0..200 {
        let retries = rng.between(0, 6) as u32;
        let succeed_at = rng.between(1, 9) as u32;
        let fatal_at = rng.between(1, 12) as u32;
        let policy =
            RetryPolicy::fixed(retries, Duration::ZERO).retry_if(move |e: &u32| *e != fatal_at);
        let mut calls = 0u32;
        let result = policy.call(&Context::new(), |attempt| {
            calls += 1;
            if attempt == succeed_at {
                Ok(attempt)
            } else {
                Err(attempt)
            }
        });
        let context = format!(
            "seed {seed:#x} case {case}: retries {retries}, success at {succeed_at}, fatal at {fatal_at}"
        );
        let limit = retries + 1;
        let expected_calls = succeed_at.min(fatal_at).min(limit);
        assert_eq!(calls, expected_calls, "{context}");
        match result {
            Ok(v) => assert!(
                v == succeed_at && succeed_at <= limit && succeed_at <= fatal_at,
                "{context}"
            ),
            Err(RetryError::NotRetryable { error, attempts }) => {
                assert!(error == fatal_at && attempts == fatal_at, "{context}")
            }
            Err(RetryError::Exhausted { last, attempts }) => {
                assert!(last == limit && attempts == limit, "{context}")
            }
            Err(other) => panic!("{context}: unexpected {other:?}"),
        }
    }
}
