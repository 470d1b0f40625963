//! The sleeper/spinner handshake of pools with the lock-free intake, on
//! purpose: many short seeded runs that put a submission at every point of
//! a worker's way from its last task to sleep — still running, spinning,
//! registering as a sleeper, asleep — and a close at every point of a
//! burst of submissions; and the same hand-offs beside threads that keep
//! every core busy, where spinners are descheduled mid-spin. A wake-up the protocol loses leaves a task queued
//! behind sleeping workers forever; here that is a failure after a bounded
//! wait, naming the seed and the round. (`intake.rs` holds the
//! single-submitter forms: a task after a pause, a round trip through a
//! handle, tasks that must each wake a worker.)
//!
//! Set `GOSLING_HANDSHAKE_SEED` to replay a seed and
//! `GOSLING_HANDSHAKE_ROUNDS` for more (or fewer) rounds per test.

mod common;

use common::{Rng, seeded};
use gosling::Pool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The variable that replays a seed.
const SEED_VAR: &str = "GOSLING_HANDSHAKE_SEED";

/// Rounds per test: `GOSLING_HANDSHAKE_ROUNDS`, else a number that runs in
/// a few seconds here (and a handful under Miri, which is ~100× slower).
fn rounds() -> u64 {
    let default = if cfg!(miri) { 3 } else { 200 };
    common::count("GOSLING_HANDSHAKE_ROUNDS", default) as u64
}

/// How long a task may take to run once submitted before the test calls
/// its wake-up lost: far beyond any scheduling delay, short enough to fail
/// fast.
const LOST: Duration = if cfg!(miri) {
    Duration::from_secs(300)
} else {
    Duration::from_secs(10)
};

/// An unbounded pool (the lock-free intake) of `workers` workers.
fn pool(workers: usize) -> Pool {
    Pool::builder()
        .workers(workers)
        .unbounded()
        .build()
        .unwrap()
}

/// A pause drawn from the seed: none, a few yields, a busy spin (from none
/// to several times a worker's spin before it sleeps, 40 µs) or a sleep
/// (up to long enough for the workers to be asleep). These land a submission before, during and
/// after the worker's move to sleep.
fn pause(rng: &mut Rng) {
    match rng.below(4) {
        0 => {}
        1 => (0..rng.below(40)).for_each(|_| thread::yield_now()),
        2 => (0..rng.below(20_000)).for_each(|_| std::hint::spin_loop()),
        _ => thread::sleep(Duration::from_micros(rng.below(300))),
    }
}

/// Fire-and-forget tasks, from one to three submitters at once, each after
/// its own pause, into pools of one to three workers that have just gone
/// idle: every task runs.
#[test]
fn a_task_submitted_while_workers_go_to_sleep_always_runs() {
    let (mut rng, report) = seeded(SEED_VAR);
    for workers in 1..=3 {
        let pool = pool(workers);
        let (done_tx, done_rx) = mpsc::channel::<(u64, usize)>();
        for round in 0..rounds() {
            pause(&mut rng);
            let submitters = 1 + rng.below(3) as usize;
            let mut expected = 0;
            thread::scope(|s| {
                for submitter in 0..submitters {
                    let tasks = 1 + rng.below(3) as usize;
                    expected += tasks;
                    let mut own = Rng::new(rng.next());
                    let (pool, done_tx) = (&pool, done_tx.clone());
                    s.spawn(move || {
                        for _ in 0..tasks {
                            pause(&mut own);
                            let done_tx = done_tx.clone();
                            pool.spawn(move |_| done_tx.send((round, submitter)).unwrap())
                                .unwrap();
                        }
                    });
                }
            });
            for got in 0..expected {
                match done_rx.recv_timeout(LOST) {
                    Ok((r, _)) => assert_eq!(r, round, "a task from an earlier round ran late"),
                    Err(_) => panic!(
                        "lost wake-up: {got} of {expected} tasks ran in round {round} \
                         ({workers} workers, {submitters} submitters, seed {}); {:?}",
                        report.seed,
                        pool.stats()
                    ),
                }
            }
        }
        pool.shutdown(LOST).unwrap();
    }
}

/// Counts how many times each task was dropped, whether it ran or came
/// back refused.
struct Probe(Arc<AtomicUsize>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A close lands at a drawn point of two submitters' bursts, with workers
/// drawn between running, spinning and asleep: each task is either accepted
/// and run, or refused and handed back; none is run twice, dropped unseen
/// or stranded behind a sleeping worker, and the pool then shuts down.
#[test]
fn a_close_racing_submissions_strands_nothing() {
    let (mut rng, report) = seeded(SEED_VAR);
    for round in 0..rounds() {
        let workers = 1 + rng.below(3) as usize;
        let pool = pool(workers);
        let ran = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let per = 1 + rng.below(12) as usize;
        let mut close_rng = Rng::new(rng.next());
        let (accepted, refused) = thread::scope(|s| {
            let bursts: Vec<_> = (0..2)
                .map(|_| {
                    let mut own = Rng::new(rng.next());
                    let (pool, ran, dropped) = (&pool, &ran, &dropped);
                    s.spawn(move || {
                        let (mut accepted, mut refused) = (0, 0);
                        for _ in 0..per {
                            pause(&mut own);
                            let probe = Probe(Arc::clone(dropped));
                            let ran = Arc::clone(ran);
                            match pool.spawn(move |_| {
                                let _probe = probe;
                                ran.fetch_add(1, Ordering::SeqCst);
                            }) {
                                Ok(()) => accepted += 1,
                                Err(refusal) => {
                                    assert!(refusal.is_closed(), "refused for {refusal:?}");
                                    drop(refusal.into_inner());
                                    refused += 1;
                                }
                            }
                        }
                        (accepted, refused)
                    })
                })
                .collect();
            pause(&mut close_rng);
            pool.close();
            bursts
                .into_iter()
                .map(|b| b.join().unwrap())
                .fold((0, 0), |(a, r), (a2, r2)| (a + a2, r + r2))
        });
        let ctx = format!(
            "round {round}, {workers} workers, seed {}: {:?}",
            report.seed,
            pool.stats()
        );
        assert_eq!(accepted + refused, 2 * per, "{ctx}");
        pool.shutdown(LOST)
            .unwrap_or_else(|e| panic!("accepted tasks stranded: {e:?}; {ctx}"));
        assert_eq!(ran.load(Ordering::SeqCst), accepted, "{ctx}");
        assert_eq!(dropped.load(Ordering::SeqCst), 2 * per, "{ctx}");
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.succeeded, stats.rejected),
            (accepted as u64, accepted as u64, refused as u64),
            "{ctx}"
        );
    }
}

/// Threads that keep every core busy until dropped: the machine a pool
/// embedded in a busy program runs on, where a spinning worker or waiter
/// is descheduled mid-spin and its spin budget runs out while it is off
/// its core.
struct BusyCores {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl BusyCores {
    fn start() -> BusyCores {
        let cores = thread::available_parallelism().map_or(2, |n| n.get().min(4));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..cores)
            .map(|i| {
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ i as u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..1_000 {
                            x = x.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ (x >> 29);
                        }
                        std::hint::black_box(x);
                    }
                })
            })
            .collect();
        BusyCores { stop, threads }
    }
}

impl Drop for BusyCores {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// With every core busy: round trips through handles and bursts of
/// fire-and-forget tasks, each after a drawn pause, into pools of one to
/// three workers. Spinners (workers waiting for work, submitters waiting
/// for a result) are descheduled at drawn points and their spins end while
/// they are off their cores; a worker counted as looking may be the one
/// that is not running. Every result comes back and every task runs.
#[test]
#[cfg_attr(
    miri,
    ignore = "Miri runs one thread at a time: there are no cores to keep busy"
)]
fn hand_offs_complete_while_every_core_is_busy() {
    let (mut rng, report) = seeded(SEED_VAR);
    let _busy = BusyCores::start();
    for workers in 1..=3 {
        let pool = pool(workers);
        let (done_tx, done_rx) = mpsc::channel::<u64>();
        for round in 0..rounds() {
            let ctx = || format!("round {round}, {workers} workers, seed {}", report.seed);
            pause(&mut rng);
            let trips = 1 + rng.below(8);
            for trip in 0..trips {
                let handle = pool.submit(move |_| trip * 3).unwrap();
                if rng.below(2) == 0 {
                    pause(&mut rng);
                }
                match handle.wait_timeout(LOST) {
                    Ok(Ok(value)) => assert_eq!(value, trip * 3, "{}", ctx()),
                    Ok(Err(e)) => panic!("round trip {trip} failed: {e:?}; {}", ctx()),
                    Err(_) => panic!("round trip {trip} never came back; {}", ctx()),
                }
            }
            let burst = rng.below(6);
            for _ in 0..burst {
                let done_tx = done_tx.clone();
                pool.spawn(move |_| done_tx.send(round).unwrap()).unwrap();
                if rng.below(3) == 0 {
                    pause(&mut rng);
                }
            }
            for got in 0..burst {
                match done_rx.recv_timeout(LOST) {
                    Ok(r) => assert_eq!(r, round, "a task from an earlier round ran late"),
                    Err(_) => panic!(
                        "lost wake-up: {got} of {burst} tasks ran; {}; {:?}",
                        ctx(),
                        pool.stats()
                    ),
                }
            }
        }
        pool.shutdown(LOST).unwrap();
    }
}
