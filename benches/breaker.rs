//! W10 `circuit-breaker` of `../shared/peer-bench/README.md`: a trivial call
//! `|| Ok::<u64, ()>(black_box(i) + 1)` on one thread through a closed
//! breaker, beside the direct call. The side-by-side with failsafe is
//! `../shared/peer-bench/run.sh --project . w10`; these figures show the
//! cost of each window kind and of slow-call timing.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use gosling::breaker::CircuitBreaker;
use std::hint::black_box;
use std::time::Duration;

fn through(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, breaker: CircuitBreaker<()>) {
    let mut i = 0u64;
    group.bench_function(name, |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            breaker.call(|| Ok::<u64, ()>(black_box(i) + 1)).ok()
        })
    });
}

fn w10(c: &mut Criterion) {
    let mut group = c.benchmark_group("w10-circuit-breaker");
    let mut i = 0u64;
    group.bench_function("direct-call", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let r: Result<u64, ()> = Ok(black_box(i) + 1);
            r.ok()
        })
    });
    let builder = || CircuitBreaker::<()>::builder();
    through(
        &mut group,
        "gosling count-window (default: 100 calls, 10 buckets)",
        builder().build().unwrap(),
    );
    through(
        &mut group,
        "gosling count-window exact (100 calls, 100 buckets)",
        builder().count_window_buckets(100, 100).build().unwrap(),
    );
    through(
        &mut group,
        "gosling time-window (10 s, 10 buckets)",
        builder()
            .time_window(Duration::from_secs(10), 10)
            .build()
            .unwrap(),
    );
    through(
        &mut group,
        "gosling count-window + slow-call threshold",
        builder()
            .slow_call_threshold(50.0, Duration::from_secs(1))
            .build()
            .unwrap(),
    );
    group.finish();
}

criterion_group!(benches, w10);
criterion_main!(benches);
