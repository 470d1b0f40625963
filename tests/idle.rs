//! An idle pool uses no CPU: its workers spin only briefly after their last
//! task, then park. Checked on Linux through `/proc`: each worker thread's
//! scheduler state and the CPU time the kernel charged it.
//!
//! A worker that never stopped spinning (or yielding) would be charged
//! about every clock tick of the window below; a parked one is charged
//! none. The bound allows one tick for a spurious wake-up's short spin.

#![cfg(target_os = "linux")]

use gosling::Pool;
use std::fs;
use std::thread;
use std::time::{Duration, Instant};

/// A worker thread as `/proc/self/task/<tid>/stat` shows it.
#[derive(Debug)]
struct ThreadStat {
    /// `R` running or runnable, `S` sleeping, ...
    state: char,
    /// User plus system time, in clock ticks.
    cpu_ticks: u64,
}

/// The threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> Vec<ThreadStat> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        let Ok(comm) = fs::read_to_string(dir.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if !comm.starts_with(prefix) {
            continue;
        }
        let Ok(stat) = fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // The name (field 2) is in parentheses and may hold spaces: the
        // fields that follow start after the last ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state is field 3, utime 14, stime 15.
        let ticks = |field: usize| fields[field - 3].parse::<u64>().unwrap();
        found.push(ThreadStat {
            state: fields[0].chars().next().unwrap(),
            cpu_ticks: ticks(14) + ticks(15),
        });
    }
    found
}

#[test]
fn an_idle_pools_workers_park_and_use_no_cpu() {
    const PREFIX: &str = "idlecheck";
    let workers = 2;
    let pool = Pool::builder()
        .workers(workers)
        .thread_name(PREFIX)
        .build()
        .unwrap();
    // Busy for a while (round trips keep the workers spinning between
    // tasks), then idle.
    for i in 0..10_000u64 {
        assert_eq!(pool.submit(move |_| i + 1).unwrap().wait(), Ok(i + 1));
    }
    pool.wait_idle().unwrap();

    // Every worker parks: its spin lasts microseconds, so within the
    // (generous) deadline each is seen sleeping.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = threads_named(PREFIX);
        assert_eq!(stats.len(), workers, "{stats:?}");
        if stats.iter().all(|t| t.state == 'S') {
            break;
        }
        assert!(Instant::now() < deadline, "workers never parked: {stats:?}");
        thread::sleep(Duration::from_millis(1));
    }

    // And stays parked: no CPU time charged over a window of many ticks.
    let before: u64 = threads_named(PREFIX).iter().map(|t| t.cpu_ticks).sum();
    thread::sleep(Duration::from_millis(300));
    let after = threads_named(PREFIX);
    let spent = after.iter().map(|t| t.cpu_ticks).sum::<u64>() - before;
    assert!(
        spent <= 1,
        "idle workers were charged {spent} ticks in 300 ms: {after:?}"
    );

    // Still serves work after parking.
    assert_eq!(pool.submit(|_| 7).unwrap().wait(), Ok(7));
}
