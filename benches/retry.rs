//! Retry benchmarks: the cost of computing one backoff delay per strategy and
//! jitter kind, and what `RetryPolicy::call` adds to an operation that
//! succeeds at once (the overhead every caller pays).
//!
//! `cargo bench --bench retry`

use criterion::{Criterion, criterion_group, criterion_main};
use gosling::context::Context;
use gosling::retry::{Backoff, Failure, Jitter, JitterRng, RetryPolicy};
use std::hint::black_box;
use std::time::Duration;

fn backoff_delay(c: &mut Criterion) {
    let cap = Duration::from_secs(30);
    let strategies = [
        ("constant", Backoff::constant(Duration::from_millis(100))),
        (
            "linear",
            Backoff::linear(Duration::from_millis(100), Duration::from_millis(100)),
        ),
        (
            "exponential",
            Backoff::exponential(Duration::from_millis(100), 2.0).expect("valid factor"),
        ),
    ];
    let jitters = [
        ("none", Jitter::None),
        ("full", Jitter::Full),
        ("equal", Jitter::Equal),
        ("decorrelated", Jitter::Decorrelated),
    ];
    let mut group = c.benchmark_group("backoff_delay");
    for (strategy_name, strategy) in strategies {
        for (jitter_name, jitter) in jitters {
            let backoff = strategy.jitter(jitter).cap(cap);
            let mut rng = JitterRng::seeded(42);
            let mut retry = 0u32;
            let mut previous = Duration::ZERO;
            group.bench_function(format!("{strategy_name}/{jitter_name}"), |b| {
                b.iter(|| {
                    // Retries 1..=16 in turn, so growth and the cap are both
                    // exercised.
                    retry = retry % 16 + 1;
                    previous = black_box(&backoff).delay(black_box(retry), previous, &mut rng);
                    previous
                })
            });
        }
    }
    group.finish();
}

fn policy_call(c: &mut Criterion) {
    let ctx = Context::new();
    let mut group = c.benchmark_group("retry_call_first_try");
    group.bench_function("direct_closure", |b| {
        let op = |attempt: u32| Ok::<u32, ()>(black_box(attempt));
        b.iter(|| op(black_box(1)))
    });
    let plain = RetryPolicy::new(3);
    group.bench_function("default_policy", |b| {
        b.iter(|| black_box(&plain).call(&ctx, |attempt| Ok::<u32, ()>(black_box(attempt))))
    });
    let catching = RetryPolicy::new(3).retry_panics(true);
    group.bench_function("catch_panics", |b| {
        b.iter(|| black_box(&catching).call(&ctx, |attempt| Ok::<u32, ()>(black_box(attempt))))
    });
    let limited = RetryPolicy::new(3).max_elapsed(Duration::from_secs(10));
    group.bench_function("max_elapsed", |b| {
        b.iter(|| black_box(&limited).call(&ctx, |attempt| Ok::<u32, ()>(black_box(attempt))))
    });
    group.finish();

    // One failure then success, no backoff wait: the cost of a retry itself
    // (classification, entropy seeding, delay, a zero-length context sleep).
    let mut group = c.benchmark_group("retry_call_one_retry");
    let zero = RetryPolicy::fixed(3, Duration::ZERO);
    group.bench_function("zero_delay", |b| {
        b.iter(|| {
            black_box(&zero).call(
                &ctx,
                |attempt| {
                    if attempt == 1 { Err(()) } else { Ok(attempt) }
                },
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("retry_decide");
    let policy = RetryPolicy::new(5);
    let mut rng = JitterRng::seeded(1);
    let error = "timeout";
    group.bench_function("default_policy", |b| {
        b.iter(|| {
            black_box(&policy).decide(
                black_box(2),
                &Failure::Error(&error),
                Duration::ZERO,
                Duration::from_millis(100),
                &mut rng,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, backoff_delay, policy_call);
criterion_main!(benches);
