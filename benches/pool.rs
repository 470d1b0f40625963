//! Pool workloads W1, W3, W4 and W5 of `../shared/peer-bench/README.md`,
//! re-implemented for criterion (2 workers, the harness's task bodies), and
//! the cost of a submission carrying a timeout and a retry policy.
//! Criterion times many short iterations, so its figures are only roughly
//! comparable with the harness's; for a side-by-side with the peers run
//! `../shared/peer-bench/run.sh --project . --reps 9 w1 w3 w4 w5`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gosling::retry::RetryPolicy;
use gosling::{Pool, Task};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

const WORKERS: usize = 2;

/// Counts finished tasks and wakes the waiter when `target` is reached.
struct Counter {
    hits: AtomicU64,
    target: AtomicU64,
    done: Mutex<bool>,
    cv: Condvar,
}

impl Counter {
    fn new() -> Arc<Counter> {
        Arc::new(Counter {
            hits: AtomicU64::new(0),
            target: AtomicU64::new(u64::MAX),
            done: Mutex::new(false),
            cv: Condvar::new(),
        })
    }

    fn arm(&self, target: u64) {
        self.hits.store(0, Ordering::SeqCst);
        *self.done.lock().unwrap() = false;
        self.target.store(target, Ordering::SeqCst);
    }

    #[inline]
    fn hit(&self) {
        if self.hits.fetch_add(1, Ordering::Relaxed) + 1 == self.target.load(Ordering::Relaxed) {
            *self.done.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }

    fn wait(&self) {
        let mut done = self.done.lock().unwrap();
        while !*done {
            done = self.cv.wait(done).unwrap();
        }
    }
}

fn pool() -> Pool {
    Pool::builder()
        .workers(WORKERS)
        .unbounded()
        .build()
        .unwrap()
}

/// W1 spawn-noop: one producer spawns N counter tasks.
fn w1_spawn_noop(c: &mut Criterion) {
    const N: u64 = 100_000;
    let pool = pool();
    let counter = Counter::new();
    let mut group = c.benchmark_group("w1-spawn-noop");
    group.throughput(Throughput::Elements(N));
    group.bench_function("gosling", |b| b.iter(|| spawn_noops(&pool, &counter, N)));
    group.finish();
}

/// One W1 iteration: `n` counter tasks spawned, then waited for.
fn spawn_noops(pool: &Pool, counter: &Arc<Counter>, n: u64) {
    counter.arm(n);
    for _ in 0..n {
        let counter = Arc::clone(counter);
        pool.spawn(move |_| counter.hit()).unwrap();
    }
    counter.wait();
}

/// W1 on the same pool with metrics off and on (`Builder::metrics`): what
/// the task-time histograms cost a fire-and-forget task.
fn w1_metrics(c: &mut Criterion) {
    const N: u64 = 100_000;
    let off = pool();
    let metrics = gosling::observe::Metrics::new();
    let on = Pool::builder()
        .workers(WORKERS)
        .unbounded()
        .metrics(metrics.clone())
        .build()
        .unwrap();
    let counter = Counter::new();
    let mut group = c.benchmark_group("w1-metrics");
    group.throughput(Throughput::Elements(N));
    for (name, pool) in [("off", &off), ("on", &on)] {
        group.bench_function(name, |b| b.iter(|| spawn_noops(pool, &counter, N)));
    }
    group.finish();
    black_box(metrics.render());
}

/// W3 roundtrip: submit a task returning a value and wait for it.
fn w3_roundtrip(c: &mut Criterion) {
    let pool = pool();
    let mut group = c.benchmark_group("w3-roundtrip");
    group.bench_function("gosling", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let r = pool
                .submit(move |_| black_box(i) ^ 0x5A5A)
                .unwrap()
                .wait()
                .unwrap();
            assert_eq!(r, i ^ 0x5A5A);
        })
    });
    group.finish();
}

/// Issue 3's figure: what a submission carrying a timeout and a retry
/// policy costs over a plain one (submit, run on a worker, wait). The timer
/// entry is scheduled and removed on every task; the retry policy is never
/// used (the body succeeds).
fn submit_with_options(c: &mut Criterion) {
    let pool = pool();
    let mut group = c.benchmark_group("submit-options");
    group.bench_function("plain", |b| {
        b.iter(|| pool.submit(|_| black_box(1u64)).unwrap().wait().unwrap())
    });
    group.bench_function("timeout+retry", |b| {
        let policy = RetryPolicy::fixed(3, Duration::from_millis(10));
        b.iter(|| {
            let task = Task::retrying(policy.clone(), |_| Ok::<_, ()>(black_box(1u64)))
                .timeout(Duration::from_secs(30));
            pool.submit_task(task).unwrap().wait().unwrap()
        })
    });
    group.bench_function("timeout", |b| {
        b.iter(|| {
            let task = Task::new(|_| black_box(1u64)).timeout(Duration::from_secs(30));
            pool.submit_task(task).unwrap().wait().unwrap()
        })
    });
    group.finish();
}

/// W4 multi-producer: 4 producers each spawn N/4 tasks into one pool.
fn w4_multi_producer(c: &mut Criterion) {
    const N: u64 = 100_000;
    const PRODUCERS: u64 = 4;
    let pool = Arc::new(pool());
    let counter = Counter::new();
    let mut group = c.benchmark_group("w4-multi-producer");
    group.throughput(Throughput::Elements(N));
    group.bench_function("gosling", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                counter.arm(N);
                let barrier = Arc::new(Barrier::new(PRODUCERS as usize + 1));
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|_| {
                        let (pool, counter, barrier) = (
                            Arc::clone(&pool),
                            Arc::clone(&counter),
                            Arc::clone(&barrier),
                        );
                        std::thread::spawn(move || {
                            barrier.wait();
                            for _ in 0..N / PRODUCERS {
                                let counter = Arc::clone(&counter);
                                pool.spawn(move |_| counter.hit()).unwrap();
                            }
                        })
                    })
                    .collect();
                barrier.wait();
                let start = Instant::now();
                counter.wait();
                total += start.elapsed();
                for p in producers {
                    p.join().unwrap();
                }
            }
            total
        })
    });
    group.finish();
}

/// W5 queued-memory, drain part: N tasks queued behind blocked workers,
/// then released; timed from the release until all ran.
fn w5_queued_drain(c: &mut Criterion) {
    const N: u64 = 100_000;
    let pool = pool();
    let counter = Counter::new();
    let mut group = c.benchmark_group("w5-queued-drain");
    group.throughput(Throughput::Elements(N));
    group.bench_function("gosling", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let gate = Arc::new((Mutex::new(false), Condvar::new()));
                let entered = Arc::new(Barrier::new(WORKERS + 1));
                for _ in 0..WORKERS {
                    let (gate, entered) = (Arc::clone(&gate), Arc::clone(&entered));
                    pool.spawn(move |_| {
                        entered.wait();
                        let mut open = gate.0.lock().unwrap();
                        while !*open {
                            open = gate.1.wait(open).unwrap();
                        }
                    })
                    .unwrap();
                }
                entered.wait();
                counter.arm(N);
                for tag in 0..N {
                    let counter = Arc::clone(&counter);
                    pool.spawn(move |_| {
                        black_box(tag);
                        counter.hit()
                    })
                    .unwrap();
                }
                let start = Instant::now();
                *gate.0.lock().unwrap() = true;
                gate.1.notify_all();
                counter.wait();
                total += start.elapsed();
                pool.wait_idle().unwrap();
            }
            total
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = w1_spawn_noop, w1_metrics, w3_roundtrip, w4_multi_producer, w5_queued_drain, submit_with_options
}
criterion_main!(benches);
