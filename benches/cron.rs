//! W8 `cron-next` (../shared/peer-bench/README.md): 1,000,000 successive
//! fire times of `0 */5 * * * *` in UTC from 2024-01-01T00:00:00Z, each
//! from the previous one. Also the same walk through a DST zone, and
//! parsing.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gosling::schedule::{Cron, TimeZone};
use std::hint::black_box;

const START_UNIX: i64 = 1_704_067_200;
const N: u64 = 1_000_000;

fn walk(cron: &Cron, tz: &TimeZone, n: u64) -> (i64, u64) {
    let mut t = START_UNIX;
    let mut sum = 0u64;
    for _ in 0..n {
        t = cron.next_after_unix(t, tz).expect("fires every 5 minutes");
        sum = sum.wrapping_add(t as u64);
    }
    (t, sum)
}

fn w8_cron_next(c: &mut Criterion) {
    let cron = Cron::parse("0 */5 * * * *").unwrap();
    let utc = TimeZone::utc();
    assert_eq!(walk(&cron, &utc, N).0, START_UNIX + 300 * N as i64);
    let mut g = c.benchmark_group("w8-cron-next");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("utc", |b| b.iter(|| walk(black_box(&cron), &utc, N)));
    if let Ok(paris) = TimeZone::named("Europe/Paris") {
        g.bench_function("europe-paris", |b| {
            b.iter(|| walk(black_box(&cron), &paris, N))
        });
    }
    g.finish();
}

fn parse(c: &mut Criterion) {
    c.bench_function("cron-parse", |b| {
        b.iter(|| Cron::parse(black_box("0 15,45 9-17 ? JAN-NOV MON-FRI")).unwrap())
    });
}

criterion_group!(benches, w8_cron_next, parse);
criterion_main!(benches);
