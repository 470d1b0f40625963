//! Helpers shared by the integration tests (`mod common;` in each file that
//! uses them). Not every test file uses every helper.

#![allow(dead_code)]

use gosling::{FullPolicy, Pool, Stats};
use std::sync::{Once, mpsc};

/// A one-worker pool with a queue of `capacity` and the given full policy.
pub(crate) fn bounded(capacity: usize, policy: FullPolicy) -> Pool {
    Pool::builder()
        .workers(1)
        .capacity(capacity)
        .when_full(policy)
        .build()
        .unwrap()
}

/// A one-worker pool on a fresh manual clock, and the clock.
pub(crate) fn manual_pool() -> (gosling::time::ManualClock, Pool) {
    let manual = gosling::time::ManualClock::new();
    let pool = Pool::builder()
        .workers(1)
        .clock(manual.clock())
        .build()
        .unwrap();
    (manual, pool)
}

/// Occupies one worker with a task that waits on a gate; returns once that
/// task runs. Sending on (or dropping) the returned sender releases it.
pub(crate) fn hold_worker(pool: &Pool) -> mpsc::Sender<()> {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    pool.spawn(move |_| {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv();
    })
    .unwrap();
    started_rx.recv().unwrap();
    release_tx
}

/// A loop count for a test that Miri also runs: `n`, or about a two
/// hundredth of it (at least 1) under Miri, which interprets the code some
/// hundred times slower and explores interleavings by its own scheduler
/// rather than by repetition.
pub(crate) const fn scaled(n: usize) -> usize {
    if cfg!(miri) { n.div_ceil(200) } else { n }
}

/// Polls `done` until it holds: a condition that must become true, bounded
/// so that a bug fails (naming `what`) instead of hanging.
pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..20_000_000 {
        if done() {
            return;
        }
        std::thread::yield_now();
    }
    panic!("never reached: {what}");
}

/// [`wait_until`] on the pool's stats; the failure shows them.
pub(crate) fn await_stats(pool: &Pool, what: &str, cond: impl Fn(&Stats) -> bool) {
    for _ in 0..20_000_000 {
        if cond(&pool.stats()) {
            return;
        }
        std::thread::yield_now();
    }
    panic!("never reached: {what}; {:?}", pool.stats());
}

/// The seed of a randomised test: the variable `var` when set, else the
/// clock. Tests print it when they fail.
pub(crate) fn seed(var: &str) -> u64 {
    match std::env::var(var) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{var} must be a u64, not {s:?}")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    }
}

/// A loop count from the variable `var` when set (a long trial), else
/// `default` (what CI runs).
pub(crate) fn count(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{var} must be a count, not {s:?}")),
        Err(_) => default,
    }
}

/// Prints how to replay a randomised test (`var=seed`) if it fails, i.e.
/// if the thread panics while this is alive.
pub(crate) struct SeedReport {
    pub(crate) var: &'static str,
    pub(crate) seed: u64,
}

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "failed with seed {0}; replay with {1}={0}",
                self.seed, self.var
            );
        }
    }
}

/// A randomised test's generator, seeded from `var` (see [`seed`]), and
/// the report that prints the seed should the test fail; keep the report
/// alive for the whole test.
pub(crate) fn seeded(var: &'static str) -> (Rng, SeedReport) {
    let seed = seed(var);
    (Rng::new(seed), SeedReport { var, seed })
}

/// A small seeded PRNG (xorshift64*; any seed, 0 included, works).
#[derive(Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // SplitMix64 of the seed, so that nearby seeds diverge.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough below `n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Panics the tests cause on purpose start with this (or carry a `u64`
/// payload); [`quiet_expected_panics`] keeps them quiet.
pub(crate) const EXPECTED: &str = "expected panic";

/// Installs (once) a panic hook that keeps expected panics quiet — the
/// default hook prints every caught panic — and lets every other panic (a
/// failing assertion) through.
pub(crate) fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            let expected = match message {
                Some(m) => m.starts_with(EXPECTED),
                None => payload.is::<u64>(),
            };
            if !expected {
                default(info);
            }
        }));
    });
}

/// Turns a hang into a failure: aborts the test process, with a message on
/// standard error (written past the test harness's capture, which an abort
/// would lose), when nothing [`tick`](Watchdog::tick)s for `stall` while
/// this is alive. For tests where a blocking call (a submission waiting for
/// room, a `wait_idle`) has no bounded form. The message names `what` (the
/// seed to replay, say) and the last [`status`](Watchdog::status).
pub(crate) struct Watchdog {
    progress: std::sync::Arc<std::sync::atomic::AtomicU64>,
    status: std::sync::Arc<std::sync::Mutex<String>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub(crate) fn start(what: String, stall: std::time::Duration) -> Watchdog {
        use std::sync::atomic::Ordering;
        use std::time::{Duration, Instant};
        let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let status = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = {
            let (progress, status) = (progress.clone(), status.clone());
            std::thread::spawn(move || {
                let mut seen = progress.load(Ordering::SeqCst);
                let mut since = Instant::now();
                loop {
                    match stopped.recv_timeout(Duration::from_millis(50)) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let now = progress.load(Ordering::SeqCst);
                    if now != seen {
                        (seen, since) = (now, Instant::now());
                    } else if since.elapsed() >= stall {
                        let status = status.lock().map(|s| s.clone()).unwrap_or_default();
                        let _ = std::io::Write::write_all(
                            &mut std::io::stderr(),
                            format!(
                                "\nwatchdog: no progress for {stall:?}, aborting: {what}\n\
                                 last status: {status}\n"
                            )
                            .as_bytes(),
                        );
                        std::process::abort();
                    }
                }
            })
        };
        Watchdog {
            progress,
            status,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Records progress: the stall clock starts again.
    pub(crate) fn tick(&self) {
        self.progress
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// What the abort message shows as the last thing seen.
    pub(crate) fn status(&self, status: String) {
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A [`Watchdog`] for a whole test that waits: a wait that would block
/// forever (a lost delivery, a cancel that never ends the task) aborts the
/// test binary after [`STALL`] (ten seconds), naming `test`, instead of
/// hanging it.
/// Hold it for the test's length: `let _watchdog = common::watchdog("name");`.
pub(crate) fn watchdog(test: &str) -> Watchdog {
    Watchdog::start(format!("test `{test}` is still waiting"), STALL)
}

/// How long a waiting test may make no progress before its watchdog calls
/// it hung: ten seconds, thirty times that under Miri (which interprets
/// the code some hundred times slower).
pub(crate) const STALL: std::time::Duration = if cfg!(miri) {
    std::time::Duration::from_secs(300)
} else {
    std::time::Duration::from_secs(10)
};

/// Advances the manual clock in `step`s until `rx` yields (a bounded loop on
/// a condition that must become true): for a thread blocked on the clock.
pub(crate) fn advance_until<T>(
    manual: &gosling::time::ManualClock,
    step: std::time::Duration,
    rx: &mpsc::Receiver<T>,
) -> T {
    for _ in 0..100_000 {
        manual.advance(step);
        match rx.recv_timeout(std::time::Duration::from_millis(1)) {
            Ok(value) => return value,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the waiting thread vanished"),
        }
    }
    panic!("the waiting thread never returned");
}
