//! Where a slow round trip spends its time: peer-bench's W3 (one thread
//! submits a task to a 2-worker pool and waits for its result, in
//! sequence) beside `GOSLING_LOAD` busy threads (default 2, as
//! `run.sh --load 2`), each round trip split into its two legs:
//!
//! - **to the worker**: from the submit call until the task body starts
//!   (the worker's wait for work: spinning, waking from sleep, or waiting
//!   for a core);
//! - **back**: from the end of the task body until `wait` returns (the
//!   submitter's wait for its result).
//!
//! It prints p50 / p99 / p99.9 / max of the trip, and for the trips over
//! 100 µs a histogram of which leg took the time and how long. Not a
//! criterion benchmark: a diagnostic for the hand-off protocol
//! (`src/pool/README.md`, "Sleep and wake").
//!
//! `cargo bench --bench handoff` (`GOSLING_LOAD=0` for a quiet machine;
//! `GOSLING_TRIPS` round trips per run, default 100 000).

use gosling::Pool;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One round trip's instants, in nanoseconds from the run's start.
#[derive(Clone, Copy)]
struct Trip {
    submit: u64,
    start: u64,
    end: u64,
    back: u64,
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let load = env("GOSLING_LOAD", 2);
    let trips = env("GOSLING_TRIPS", 100_000);
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..load)
        .map(|i| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ i as u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..1000 {
                        x = x.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ (x >> 29);
                    }
                    black_box(x);
                }
            })
        })
        .collect();
    let pool = Pool::builder()
        .workers(2)
        .unbounded()
        .build()
        .expect("a pool");
    for i in 0..10_000u64 {
        let _ = pool.submit(move |_| i).expect("open").wait();
    }
    let origin = Instant::now();
    let ns = move || origin.elapsed().as_nanos() as u64;
    let mut out = Vec::with_capacity(trips);
    for i in 0..trips as u64 {
        let submit = ns();
        let handle = pool
            .submit(move |_| {
                let start = ns();
                black_box(i ^ 0x5A5A);
                (start, ns())
            })
            .expect("open");
        let (start, end) = handle.wait().expect("ran");
        out.push(Trip {
            submit,
            start,
            end,
            back: ns(),
        });
    }
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        b.join().expect("busy thread");
    }
    drop(pool);

    let mut total: Vec<u64> = out.iter().map(|t| t.back - t.submit).collect();
    total.sort_unstable();
    println!(
        "load {load}, {trips} round trips: p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.1} µs, max {:.1} µs",
        percentile(&total, 0.5) as f64 / 1e3,
        percentile(&total, 0.99) as f64 / 1e3,
        percentile(&total, 0.999) as f64 / 1e3,
        *total.last().unwrap_or(&0) as f64 / 1e3,
    );
    // Slow trips by the leg that took longest, in buckets of its length.
    let bounds = [
        100_000u64,
        300_000,
        1_000_000,
        3_000_000,
        10_000_000,
        u64::MAX,
    ];
    let labels = ["<300µs", "<1ms", "<3ms", "<10ms", ">=10ms"];
    let mut legs = [[0usize; 5]; 3];
    let mut slow = 0;
    for t in &out {
        if t.back - t.submit < bounds[0] {
            continue;
        }
        slow += 1;
        let parts = [t.start - t.submit, t.end - t.start, t.back - t.end];
        let (leg, &len) = parts
            .iter()
            .enumerate()
            .max_by_key(|&(_, len)| *len)
            .unwrap_or((0, &0));
        let bucket = bounds[1..]
            .iter()
            .position(|&b| len < b)
            .unwrap_or(labels.len() - 1);
        legs[leg][bucket] += 1;
    }
    println!("{slow} trips over 100 µs; the longest leg of each:");
    println!("{:>14} {}", "", labels.map(|l| format!("{l:>8}")).join(""));
    for (name, row) in ["to the worker", "task body", "back"].iter().zip(legs) {
        println!("{name:>14} {}", row.map(|n| format!("{n:>8}")).join(""));
    }
}
