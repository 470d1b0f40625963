//! W6 `ratelimit` (see `../shared/peer-bench/README.md`): the cost of a
//! non-blocking check on a limiter whose quota lets practically every call
//! through (10^9 per second, burst 10^6).
//!
//! - `w6-ratelimit/single`: one thread, `TokenBucket::allow`.
//! - `w6-ratelimit/two-threads`: two threads share one bucket; time per call
//!   as seen by each thread.
//! - `w6-ratelimit/keyed-1000`: one thread, `KeyedLimiter<u64>::allow` over
//!   keys `i % 1000`.
//! - `w6-ratelimit/instant-now`: the cost of `Clock::now` alone, for scale.
//!
//! Beyond W6, the keyed limiter's new-key path once its bound is reached:
//!
//! - `keyed/new-key-idle-at-bound`: `max_keys = 10_000`, every call a key
//!   never seen, the remembered keys all idle (their buckets full again), so
//!   each new key replaces an idle one.
//! - `keyed/new-key-active-at-bound`: the same with one permit a second and
//!   a burst of one, so every remembered key is still active and each new
//!   key replaces the active key nearest to full.

use criterion::{Criterion, criterion_group, criterion_main};
use gosling::limit::{KeyedLimiter, Rate, RateLimiter, TokenBucket};
use gosling::time::Clock;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const BURST: u32 = 1_000_000;

fn rate() -> Rate {
    Rate::per_second(1_000_000_000).expect("valid rate")
}

fn w6(c: &mut Criterion) {
    let mut group = c.benchmark_group("w6-ratelimit");

    group.bench_function("instant-now", |b| {
        let clock = Clock::system();
        b.iter(|| black_box(clock.now()));
    });

    group.bench_function("single", |b| {
        let bucket = TokenBucket::new(rate(), BURST).expect("valid bucket");
        b.iter(|| black_box(bucket.allow()));
    });

    group.bench_function("two-threads", |b| {
        b.iter_custom(|iters| {
            let bucket = TokenBucket::new(rate(), BURST).expect("valid bucket");
            let barrier = Barrier::new(3);
            let per_thread = iters; // each thread: wall / iters = time per call per thread
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        barrier.wait();
                        for _ in 0..per_thread {
                            black_box(bucket.allow());
                        }
                    });
                }
                barrier.wait();
                let start = Instant::now();
                // The scope joins both threads before returning.
                start
            })
            .elapsed()
            .max(Duration::from_nanos(1))
        });
    });

    group.bench_function("keyed-1000", |b| {
        let keyed = KeyedLimiter::<u64>::new(rate(), BURST, 100_000).expect("valid limiter");
        for key in 0..1000 {
            keyed.allow(&key);
        }
        let mut i = 0u64;
        b.iter(|| {
            i = if i == 999 { 0 } else { i + 1 };
            black_box(keyed.allow(&i))
        });
    });

    group.finish();
}

fn keyed_at_bound(c: &mut Criterion) {
    const MAX_KEYS: usize = 10_000;
    let mut group = c.benchmark_group("keyed");

    group.bench_function("new-key-idle-at-bound", |b| {
        // 10^9 per second: a bucket used once is full again a nanosecond later.
        let keyed = KeyedLimiter::<u64>::new(rate(), 1, MAX_KEYS).expect("valid limiter");
        for key in 0..MAX_KEYS as u64 {
            keyed.allow(&key);
        }
        let mut key = MAX_KEYS as u64;
        b.iter(|| {
            key += 1;
            black_box(keyed.allow(&key))
        });
    });

    group.bench_function("new-key-active-at-bound", |b| {
        let slow = Rate::per_second(1).expect("valid rate");
        let keyed = KeyedLimiter::<u64>::new(slow, 1, MAX_KEYS).expect("valid limiter");
        for key in 0..MAX_KEYS as u64 {
            keyed.allow(&key);
        }
        let mut key = MAX_KEYS as u64;
        b.iter(|| {
            key += 1;
            black_box(keyed.allow(&key))
        });
    });

    group.finish();
}

criterion_group!(benches, w6, keyed_at_bound);
criterion_main!(benches);
