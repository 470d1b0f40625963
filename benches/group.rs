//! Error-group overhead: a scoped group of no-op members against the same
//! members on bare `std::thread::scope`, with and without a limit.
//! (No peer-bench workload covers error groups; this is gosling's own.)

use criterion::{Criterion, criterion_group, criterion_main};
use gosling::group;
use std::hint::black_box;

const MEMBERS: usize = 8;

fn bench_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("group-8-noop");
    g.bench_function("std-thread-scope", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for i in 0..MEMBERS {
                    s.spawn(move || black_box(i));
                }
            });
        });
    });
    g.bench_function("gosling-scope", |b| {
        b.iter(|| {
            group::scope(|s| {
                for i in 0..MEMBERS {
                    s.go(move |_| {
                        black_box(i);
                        Ok::<(), ()>(())
                    });
                }
            })
            .unwrap();
        });
    });
    g.bench_function("gosling-scope-limit-2", |b| {
        b.iter(|| {
            group::scope(|s| {
                s.set_limit(2).unwrap();
                for i in 0..MEMBERS {
                    s.go(move |_| {
                        black_box(i);
                        Ok::<(), ()>(())
                    });
                }
            })
            .unwrap();
        });
    });
    g.bench_function("gosling-scope-first-error", |b| {
        b.iter(|| {
            let err = group::scope(|s| {
                for i in 0..MEMBERS {
                    s.go(move |ctx| {
                        if i == 0 {
                            Err(i)
                        } else {
                            ctx.check().map_err(|_| i)
                        }
                    });
                }
            });
            black_box(err.is_err())
        });
    });
    g.finish();
}

criterion_group!(benches, bench_group);
criterion_main!(benches);
