//! W8 `cron-next` (../shared/peer-bench/README.md): 1,000,000 successive
//! fire times of `0 */5 * * * *` in UTC from 2024-01-01T00:00:00Z, each
//! from the previous one. Also the same walk through a DST zone, parsing,
//! and the worst case for the zoned search: one search across eight
//! thousand years of daylight-saving transitions (`cron-far`).

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

/// 1970-01-01T00:00:00Z and 9999-12-31T00:00:00Z.
const FAR_FROM: i64 = 0;
const FAR_TO: i64 = 253_402_214_400;

/// One search from 1970 to the year 9999 and one back, in a DST zone
/// (every transition in between lies on the way) and in UTC.
fn far(c: &mut Criterion) {
    let next = Cron::parse("0 0 0 1 1 * 9999").unwrap();
    let prev = Cron::parse("0 0 0 1 1 * 1970").unwrap();
    let mut zones = vec![("utc", TimeZone::utc())];
    if let Ok(ny) = TimeZone::named("America/New_York") {
        zones.push(("america-new-york", ny));
    }
    let mut g = c.benchmark_group("cron-far");
    g.sample_size(20);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(2));
    for (name, tz) in &zones {
        let off = i64::from(tz.offset_at_unix(FAR_TO));
        let want_next = 253_370_764_800 - off; // 9999-01-01T00:00:00 local
        assert_eq!(
            next.next_after_unix(FAR_FROM, tz),
            Some(want_next),
            "{name}"
        );
        let want_prev = -i64::from(tz.offset_at_unix(0)); // 1970-01-01T00:00:00 local
        assert_eq!(prev.prev_before_unix(FAR_TO, tz), Some(want_prev), "{name}");
        g.bench_function(format!("next-after/{name}"), |b| {
            b.iter(|| next.next_after_unix(black_box(FAR_FROM), tz))
        });
        g.bench_function(format!("prev-before/{name}"), |b| {
            b.iter(|| prev.prev_before_unix(black_box(FAR_TO), tz))
        });
    }
    g.finish();
}

criterion_group!(benches, w8_cron_next, parse, far);
criterion_main!(benches);
