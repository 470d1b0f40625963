//! The metric primitives' hot paths (`gosling::observe`): a counter
//! increment and a histogram observation, on one thread and on two threads
//! sharing the metric; and taking and rendering a snapshot of a pool's
//! metrics. The pool-level cost (W1 with metrics off and on) is in
//! `benches/pool.rs` (`w1-metrics`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gosling::Pool;
use gosling::observe::{Buckets, Counter, Histogram, Metrics};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Times `ops` calls of `op` on each of `threads` threads started together;
/// the figure per call is the wall time over `ops` (so two threads that
/// slow each other down show it).
fn on_threads(threads: usize, ops: u64, op: &(dyn Fn(u64) + Sync)) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..ops {
                        op(i);
                    }
                    start.elapsed()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).max().unwrap()
    })
}

fn primitives(c: &mut Criterion) {
    let counter = Counter::new();
    let histogram = Histogram::new(Buckets::latency());
    let mut group = c.benchmark_group("observe");
    group.throughput(Throughput::Elements(1));
    for threads in [1, 2] {
        group.bench_function(format!("counter-inc/{threads}-threads"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, &|_| counter.inc()))
        });
        group.bench_function(format!("histogram-observe/{threads}-threads"), |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|i| {
                    // Spread over the buckets: 0 to about 1 s.
                    histogram.observe(black_box((i % 1024) as f64 * 0.001));
                })
            })
        });
        // What a pool's task times use: the sum in whole nanoseconds.
        group.bench_function(
            format!("histogram-observe-duration/{threads}-threads"),
            |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|i| {
                        histogram
                            .observe_duration(black_box(Duration::from_micros((i % 1024) * 1000)));
                    })
                })
            },
        );
    }
    group.finish();
}

fn snapshot(c: &mut Criterion) {
    let metrics = Metrics::new().prefix("bench").unwrap();
    let pool = Pool::builder()
        .workers(1)
        .metrics(metrics.label("pool", "a").unwrap())
        .build()
        .unwrap();
    for _ in 0..1000 {
        pool.submit(|_| ()).unwrap().wait().unwrap();
    }
    let mut group = c.benchmark_group("observe");
    group.bench_function("pool-snapshot", |b| {
        b.iter(|| black_box(metrics.snapshot()))
    });
    let snap = metrics.snapshot();
    let mut out = Vec::with_capacity(64 * 1024);
    group.bench_function("pool-render", |b| {
        b.iter(|| {
            out.clear();
            snap.write_prometheus(&mut out).unwrap();
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(2));
    targets = primitives, snapshot
}
criterion_main!(benches);
