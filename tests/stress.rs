//! Lifecycle stress: concurrent submitters, random outcomes (succeed, fail,
//! panic, cancel before or while running, fire-and-forget, callbacks) and
//! random resizes; then every count must reconcile exactly.
//!
//! The seed is printed when a run fails; set `GOSLING_STRESS_SEED` to
//! replay it. The default runs submit 100,000 tasks, once to a pool whose
//! queue is behind its lock (a random kind, with resource limits) and once
//! to a FIFO pool's lock-free injector; the `#[ignore]`d `_long` versions
//! submit 1,000,000.

mod common;

use common::{EXPECTED, Rng, SeedReport, quiet_expected_panics, seed};
use gosling::context::Context;
use gosling::limit::{KeyedLimiter, Rate, TokenBucket};
use gosling::retry::RetryPolicy;
use gosling::{FullPolicy, Pool, QueueKind, Task, TaskError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The variable that replays a run's seed.
const SEED_VAR: &str = "GOSLING_STRESS_SEED";

/// A generous bound that turns a deadlock into a failure instead of a hang.
const HANG: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Succeed,
    Fail,
    Panic,
    CancelBeforeRun,
    CancelWhileRunning,
    Spawn,
    SpawnPanic,
    Callback,
    CallbackDropped,
    /// Fails a random number of times under a random retry budget.
    Retry,
    /// Its deadline has passed at submission: never runs, ends TimedOut.
    TimeoutExpired,
    /// A generous timeout that never fires.
    TimeoutGenerous,
    /// Times out while running (or, on a slow machine, while queued); a
    /// body that ran returns late and is counted in `late_results`.
    TimeoutRunning,
}

impl Kind {
    fn pick(rng: &mut Rng) -> Kind {
        match rng.below(100) {
            0..=37 => Kind::Succeed,
            38..=51 => Kind::Fail,
            52..=53 => Kind::Panic,
            54..=65 => Kind::CancelBeforeRun,
            66..=69 => Kind::CancelWhileRunning,
            70..=84 => Kind::Spawn,
            85 => Kind::SpawnPanic,
            86..=89 => Kind::Callback,
            90..=91 => Kind::CallbackDropped,
            92..=95 => Kind::Retry,
            96 => Kind::TimeoutExpired,
            97..=98 => Kind::TimeoutGenerous,
            _ => Kind::TimeoutRunning,
        }
    }
}

/// Per-task records, indexed by task number.
struct Tracker {
    /// Times the body started (must end 0 or 1).
    ran: Vec<AtomicU8>,
    /// Times the closure was dropped (must end exactly 1).
    dropped: Vec<AtomicU8>,
    /// Times the completion callback ran (1 for callback kinds, else 0).
    callbacks: Vec<AtomicU8>,
    /// What the callback saw: 1 + status code below.
    seen: Vec<AtomicU8>,
}

impl Tracker {
    fn new(n: usize) -> Tracker {
        let v = || (0..n).map(|_| AtomicU8::new(0)).collect();
        Tracker {
            ran: v(),
            dropped: v(),
            callbacks: v(),
            seen: v(),
        }
    }
}

/// Captured by every closure: counts the closure's drop.
struct Probe {
    id: usize,
    tracker: Arc<Tracker>,
}

impl Probe {
    fn start(&self) {
        self.tracker.ran[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.tracker.dropped[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// Outcome counts as the test observed them.
#[derive(Default)]
struct Expected {
    succeeded: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    retries: AtomicU64,
    submitted: AtomicU64,
}

impl Expected {
    fn add(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
        self.submitted.fetch_add(1, Ordering::Relaxed);
    }
}

const OK: u8 = 1;
const FAILED: u8 = 2;
const PANICKED: u8 = 3;
const CANCELLED: u8 = 4;
const TIMED_OUT: u8 = 5;

fn code<T>(r: &Result<T, TaskError<usize>>) -> u8 {
    match r {
        Ok(_) => OK,
        Err(TaskError::Failed(_)) => FAILED,
        Err(TaskError::Panicked(_)) => PANICKED,
        Err(TaskError::Cancelled) => CANCELLED,
        Err(TaskError::TimedOut) => TIMED_OUT,
        Err(_) => 0,
    }
}

/// What a submitter must check once the task has ended.
struct Pending {
    id: usize,
    kind: Kind,
    handle: gosling::TaskHandle<usize, usize>,
    /// For the cancel kinds: what `cancel()` returned.
    cancelled: Option<bool>,
    /// For `Retry`: (failures before success, retries allowed).
    retry: (u64, u64),
}

struct Run {
    seed: u64,
    tasks: usize,
    submitters: usize,
    /// A FIFO pool without resource limits: its queue is the lock-free
    /// injector (tasks naming a resource then run unlimited). Otherwise a
    /// random queue kind behind the state lock, with resource limits.
    injector: bool,
}

fn stress(run: &Run) {
    quiet_expected_panics();
    let _report = SeedReport {
        var: SEED_VAR,
        seed: run.seed,
    };
    let seed = run.seed;
    let queue = match (run.injector, Rng::new(seed ^ 0x5EED).below(3)) {
        (true, _) | (false, 0) => QueueKind::Fifo,
        (false, 1) => QueueKind::Lifo,
        (false, _) => QueueKind::Priority,
    };
    let mut builder = Pool::builder()
        .workers(2)
        .queue(queue)
        .capacity(256)
        .when_full(FullPolicy::Block);
    if !run.injector {
        // Some tasks name resources: fast limits, so that tasks step aside
        // and come back while cancels, timeouts and retries race with them.
        let per_key = KeyedLimiter::new(Rate::per_second(10_000).unwrap(), 1, 64).unwrap();
        builder = builder
            .resource_limit(
                RESOURCES[0],
                Arc::new(TokenBucket::new(Rate::per_second(20_000).unwrap(), 2).unwrap()),
            )
            .resource_limits(Arc::new(per_key));
    }
    let pool = builder.build().unwrap();
    let tracker = Arc::new(Tracker::new(run.tasks));
    let expected = Expected::default();
    let kinds: Vec<AtomicU8> = (0..run.tasks).map(|_| AtomicU8::new(u8::MAX)).collect();
    let cancel_won: Vec<AtomicBool> = (0..run.tasks).map(|_| AtomicBool::new(false)).collect();
    let submitting_done = AtomicBool::new(false);
    let resizes = AtomicU64::new(0);

    thread::scope(|s| {
        // Random resizes while everything runs.
        s.spawn(|| {
            let mut rng = Rng::new(seed ^ 0xABCD);
            while !submitting_done.load(Ordering::SeqCst) {
                pool.resize(1 + rng.below(4) as usize).unwrap();
                resizes.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_micros(200 + rng.below(800)));
            }
        });
        let per = run.tasks.div_ceil(run.submitters);
        let submitters: Vec<_> = (0..run.submitters)
            .map(|t| {
                let (pool, tracker, expected, kinds, cancel_won) =
                    (&pool, &tracker, &expected, &kinds, &cancel_won);
                s.spawn(move || {
                    let mut rng = Rng::new(seed.wrapping_add(t as u64 + 1));
                    let ids = (t * per)..((t + 1) * per).min(run.tasks);
                    let mut window: Vec<Pending> = Vec::new();
                    for id in ids {
                        let kind = Kind::pick(&mut rng);
                        kinds[id].store(kind as u8, Ordering::Relaxed);
                        let probe = Probe {
                            id,
                            tracker: Arc::clone(tracker),
                        };
                        if let Some(p) = submit(pool, kind, probe, &mut rng, expected) {
                            window.push(p);
                        }
                        if window.len() > rng.below(128) as usize {
                            settle(&mut window, &mut rng, expected, tracker, cancel_won, seed);
                        }
                    }
                    settle(&mut window, &mut rng, expected, tracker, cancel_won, seed);
                })
            })
            .collect();
        for sub in submitters {
            if let Err(panic) = sub.join() {
                submitting_done.store(true, Ordering::SeqCst);
                std::panic::resume_unwind(panic);
            }
        }
        submitting_done.store(true, Ordering::SeqCst);
    });

    pool.resize(2).unwrap();
    pool.wait_idle();
    let stats = pool.stats();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let intake = if run.injector { "injector" } else { "locked" };
    let ctx = format!("seed {seed}, {queue:?} ({intake}), {stats:?}");
    assert!(resizes.load(Ordering::Relaxed) > 0, "{ctx}");
    assert_eq!((stats.queued, stats.busy), (0, 0), "{ctx}");
    assert_eq!(stats.submitted, run.tasks as u64, "{ctx}");
    assert_eq!(stats.submitted, load(&expected.submitted), "{ctx}");
    assert_eq!(stats.rejected, 0, "{ctx}");
    assert_eq!(
        stats.submitted,
        stats.succeeded + stats.failed + stats.panicked + stats.cancelled + stats.timed_out,
        "{ctx}"
    );
    assert_eq!(stats.succeeded, load(&expected.succeeded), "{ctx}");
    assert_eq!(stats.failed, load(&expected.failed), "{ctx}");
    assert_eq!(stats.panicked, load(&expected.panicked), "{ctx}");
    assert_eq!(stats.cancelled, load(&expected.cancelled), "{ctx}");
    assert_eq!(stats.timed_out, load(&expected.timed_out), "{ctx}");
    assert_eq!(stats.retries, load(&expected.retries), "{ctx}");
    assert_eq!(stats.retrying, 0, "{ctx}");
    // Every running-timeout body that started returned after its deadline.
    let late = (0..run.tasks)
        .filter(|&id| {
            kinds[id].load(Ordering::Relaxed) == Kind::TimeoutRunning as u8
                && tracker.ran[id].load(Ordering::SeqCst) == 1
        })
        .count() as u64;
    assert_eq!(stats.late_results, late, "{ctx}");

    for id in 0..run.tasks {
        let kind = kinds[id].load(Ordering::Relaxed);
        let ran = tracker.ran[id].load(Ordering::SeqCst);
        let dropped = tracker.dropped[id].load(Ordering::SeqCst);
        let callbacks = tracker.callbacks[id].load(Ordering::SeqCst);
        let what = format!("seed {seed}, task {id} (kind {kind})");
        assert_eq!(dropped, 1, "closure dropped {dropped} times: {what}");
        if cancel_won[id].load(Ordering::SeqCst) {
            assert_eq!(ran, 0, "body ran after a successful cancel: {what}");
        } else if kind == Kind::TimeoutExpired as u8 {
            assert_eq!(ran, 0, "a task past its deadline at submission ran: {what}");
        } else if kind == Kind::TimeoutRunning as u8 {
            assert!(ran <= 1, "body ran {ran} times: {what}");
        } else {
            assert_eq!(ran, 1, "body ran {ran} times: {what}");
        }
        let has_callback = kind == Kind::Callback as u8 || kind == Kind::CallbackDropped as u8;
        assert_eq!(callbacks, u8::from(has_callback), "callback count: {what}");
        if has_callback {
            let seen = tracker.seen[id].load(Ordering::SeqCst);
            assert!(seen == OK || seen == FAILED, "callback saw {seen}: {what}");
        }
    }
}

/// Submits one task of `kind`; returns what to check later (nothing for
/// fire-and-forget tasks, whose outcome is known and counted now).
/// Resources tasks may name (the first has a limiter of its own, the others
/// share the per-key one).
const RESOURCES: [&str; 3] = ["db", "api-a", "api-b"];

/// Names a random resource on one task in two.
fn with_resource<T: Send + 'static, E: Send + 'static>(
    task: Task<T, E>,
    rng: &mut Rng,
) -> Task<T, E> {
    match rng.below(6) as usize {
        i if i < RESOURCES.len() => task.resource(RESOURCES[i]),
        _ => task,
    }
}

fn submit(
    pool: &Pool,
    kind: Kind,
    probe: Probe,
    rng: &mut Rng,
    expected: &Expected,
) -> Option<Pending> {
    let id = probe.id;
    let handle = match kind {
        Kind::Spawn | Kind::SpawnPanic => {
            let panics = kind == Kind::SpawnPanic;
            pool.spawn(move |_| {
                probe.start();
                if panics {
                    panic!("{EXPECTED}: spawn {}", probe.id);
                }
            })
            .unwrap_or_else(|_| panic!("spawn {id} refused"));
            expected.add(if panics {
                &expected.panicked
            } else {
                &expected.succeeded
            });
            return None;
        }
        Kind::Succeed | Kind::CancelBeforeRun => pool
            .submit_fallible(move |_| {
                probe.start();
                Ok(probe.id)
            })
            .unwrap_or_else(|_| panic!("submit {id} refused")),
        Kind::Fail => pool
            .submit_fallible(move |_| {
                probe.start();
                Err(probe.id)
            })
            .unwrap_or_else(|_| panic!("submit {id} refused")),
        Kind::Panic => pool
            .submit_fallible(move |_| -> Result<usize, usize> {
                probe.start();
                panic!("{EXPECTED}: task {}", probe.id)
            })
            .unwrap_or_else(|_| panic!("submit {id} refused")),
        Kind::CancelWhileRunning => {
            let spins = rng.below(64);
            pool.submit_fallible(move |ctx: &Context| {
                probe.start();
                for _ in 0..spins {
                    if ctx.is_cancelled() {
                        return Err(probe.id);
                    }
                    thread::yield_now();
                }
                Ok(probe.id)
            })
            .unwrap_or_else(|_| panic!("submit {id} refused"))
        }
        Kind::Retry => {
            let failures = rng.below(4);
            let allowed = rng.below(4);
            let mut attempt = 0u64;
            let task = Task::retrying(
                RetryPolicy::with_retry(allowed as u32, Duration::ZERO),
                move |_| {
                    if attempt == 0 {
                        probe.start(); // counts the task once, however many attempts
                    }
                    attempt += 1;
                    if attempt > failures {
                        Ok(probe.id)
                    } else {
                        Err(probe.id)
                    }
                },
            )
            .priority(rng.below(5) as i32 - 2);
            let task = with_resource(task, rng);
            let handle = pool
                .submit_task(task)
                .unwrap_or_else(|_| panic!("submit_task {id} refused"));
            return Some(Pending {
                id,
                kind,
                handle,
                cancelled: None,
                retry: (failures, allowed),
            });
        }
        Kind::TimeoutExpired | Kind::TimeoutGenerous | Kind::TimeoutRunning => {
            let task = Task::fallible(move |ctx: &Context| {
                probe.start();
                if kind == Kind::TimeoutRunning {
                    // Cooperative: returns once the deadline cancels it.
                    let _ = ctx.wait_cancelled(HANG);
                }
                Ok(probe.id)
            });
            let task = match kind {
                Kind::TimeoutExpired => task.deadline(Instant::now()),
                Kind::TimeoutGenerous => task.timeout(HANG),
                _ => task.timeout(Duration::from_millis(1)),
            };
            let task = with_resource(task, rng);
            pool.submit_task(task)
                .unwrap_or_else(|_| panic!("submit_task {id} refused"))
        }
        Kind::Callback | Kind::CallbackDropped => {
            let tracker = Arc::clone(&probe.tracker);
            let fails = rng.below(4) == 0;
            let task = Task::fallible(move |_| {
                probe.start();
                if fails { Err(probe.id) } else { Ok(probe.id) }
            })
            .on_complete(move |r: &Result<usize, TaskError<usize>>| {
                tracker.callbacks[id].fetch_add(1, Ordering::SeqCst);
                tracker.seen[id].store(code(r), Ordering::SeqCst);
            });
            let task = with_resource(task.priority(rng.below(5) as i32 - 2), rng);
            let handle = pool
                .submit_task(task)
                .unwrap_or_else(|_| panic!("submit_task {id} refused"));
            if kind == Kind::CallbackDropped {
                // Never waited for: the outcome is known now, the callback
                // and the stats must still see it.
                drop(handle);
                expected.add(if fails {
                    &expected.failed
                } else {
                    &expected.succeeded
                });
                return None;
            }
            handle
        }
    };
    let cancelled = (kind == Kind::CancelBeforeRun).then(|| handle.cancel());
    Some(Pending {
        id,
        kind,
        handle,
        cancelled,
        retry: (0, 0),
    })
}

/// Cancels the running-cancel kinds, then waits for every pending task and
/// checks its one outcome.
fn settle(
    window: &mut Vec<Pending>,
    rng: &mut Rng,
    expected: &Expected,
    tracker: &Tracker,
    cancel_won: &[AtomicBool],
    seed: u64,
) {
    for p in window.iter_mut() {
        if p.kind == Kind::CancelWhileRunning {
            p.cancelled = Some(p.handle.cancel());
        }
    }
    for p in window.drain(..) {
        let Pending {
            id,
            kind,
            handle,
            cancelled,
            retry,
        } = p;
        let what = format!("seed {seed}, task {id} ({kind:?}, cancel() = {cancelled:?})");
        let outcome = match rng.below(3) {
            0 => handle.wait(),
            1 => handle.wait_timeout(HANG).expect("task never ended"),
            _ => {
                let mut handle = handle;
                loop {
                    if handle.is_finished() {
                        assert!(handle.status().is_terminal(), "{what}");
                        match handle.try_result() {
                            Ok(outcome) => break outcome,
                            Err(_) => panic!("finished but no result: {what}"),
                        }
                    }
                    match handle.wait_timeout(Duration::from_millis(1)) {
                        Ok(outcome) => break outcome,
                        Err(back) => handle = back,
                    }
                }
            }
        };
        if cancelled == Some(true) {
            cancel_won[id].store(true, Ordering::SeqCst);
            assert_eq!(outcome, Err(TaskError::Cancelled), "{what}");
            expected.add(&expected.cancelled);
            continue;
        }
        match kind {
            Kind::Succeed | Kind::CancelBeforeRun => {
                assert_eq!(outcome, Ok(id), "{what}");
                expected.add(&expected.succeeded);
            }
            Kind::Fail => {
                assert_eq!(outcome, Err(TaskError::Failed(id)), "{what}");
                expected.add(&expected.failed);
            }
            Kind::Panic => {
                assert_eq!(
                    outcome,
                    Err(TaskError::Panicked(format!("{EXPECTED}: task {id}"))),
                    "{what}"
                );
                expected.add(&expected.panicked);
            }
            Kind::CancelWhileRunning => match outcome {
                Ok(v) => {
                    assert_eq!(v, id, "{what}");
                    expected.add(&expected.succeeded);
                }
                // The body saw the cancel and returned early.
                Err(TaskError::Cancelled) => expected.add(&expected.cancelled),
                other => panic!("unexpected {other:?}: {what}"),
            },
            Kind::Callback => {
                let code = code(&outcome);
                assert!(code == OK || code == FAILED, "{what}: {outcome:?}");
                // The callback ran before the waiter woke, and saw the same.
                assert_eq!(tracker.seen[id].load(Ordering::SeqCst), code, "{what}");
                expected.add(if code == OK {
                    &expected.succeeded
                } else {
                    &expected.failed
                });
            }
            Kind::Retry => {
                let (failures, allowed) = retry;
                expected
                    .retries
                    .fetch_add(failures.min(allowed), Ordering::Relaxed);
                if failures <= allowed {
                    assert_eq!(outcome, Ok(id), "{what}");
                    expected.add(&expected.succeeded);
                } else {
                    assert_eq!(outcome, Err(TaskError::Failed(id)), "{what}");
                    expected.add(&expected.failed);
                }
            }
            Kind::TimeoutExpired | Kind::TimeoutRunning => {
                assert_eq!(outcome, Err(TaskError::TimedOut), "{what}");
                expected.add(&expected.timed_out);
            }
            Kind::TimeoutGenerous => {
                assert_eq!(outcome, Ok(id), "{what}");
                expected.add(&expected.succeeded);
            }
            Kind::Spawn | Kind::SpawnPanic | Kind::CallbackDropped => unreachable!(),
        }
    }
}

#[test]
fn stress_lifecycle() {
    stress(&Run {
        seed: seed(SEED_VAR),
        tasks: 100_000,
        submitters: 3,
        injector: false,
    });
}

#[test]
fn stress_lifecycle_injector() {
    stress(&Run {
        seed: seed(SEED_VAR),
        tasks: 100_000,
        submitters: 3,
        injector: true,
    });
}

#[test]
#[ignore = "long: 1,000,000 tasks; run with --ignored (in release for speed)"]
fn stress_lifecycle_long() {
    stress(&Run {
        seed: seed(SEED_VAR),
        tasks: 1_000_000,
        submitters: 4,
        injector: false,
    });
}

#[test]
#[ignore = "long: 1,000,000 tasks; run with --ignored (in release for speed)"]
fn stress_lifecycle_injector_long() {
    stress(&Run {
        seed: seed(SEED_VAR),
        tasks: 1_000_000,
        submitters: 4,
        injector: true,
    });
}

#[test]
fn stress_rng_is_seeded() {
    let a: Vec<u64> = {
        let mut r = Rng::new(7);
        (0..4).map(|_| r.next()).collect()
    };
    let b: Vec<u64> = {
        let mut r = Rng::new(7);
        (0..4).map(|_| r.next()).collect()
    };
    assert_eq!(a, b);
    assert_ne!(a, {
        let mut r = Rng::new(8);
        (0..4).map(|_| r.next()).collect::<Vec<_>>()
    });
}

/// A shutdown in the middle of heavy submission: every accepted task ends
/// exactly once (ran, or ended `ShutDown` without running), every refused
/// one comes back, and the counters reconcile.
#[allow(clippy::needless_range_loop)] // a task id indexes several tables
fn stress_shutdown(seed: u64) {
    let _report = SeedReport {
        var: SEED_VAR,
        seed,
    };
    const PER_SUBMITTER: usize = 10_000;
    const SUBMITTERS: usize = 3;
    let total = PER_SUBMITTER * SUBMITTERS;
    let mut rng = Rng::new(seed);
    let graceful = rng.below(2) == 0;
    let trigger = 1_000 + rng.below(12_000);
    let pool = Pool::builder()
        .workers(2)
        .capacity(64)
        .when_full(FullPolicy::Block)
        .build()
        .unwrap();
    let tracker = Arc::new(Tracker::new(total));
    let accepted: Vec<AtomicU8> = (0..total).map(|_| AtomicU8::new(0)).collect();
    let refused = AtomicU64::new(0);
    let (ok, shut_down, cancelled) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    thread::scope(|s| {
        for t in 0..SUBMITTERS {
            let (pool, tracker, accepted, refused) = (&pool, &tracker, &accepted, &refused);
            let (ok, shut_down, cancelled) = (&ok, &shut_down, &cancelled);
            s.spawn(move || {
                let mut rng = Rng::new(seed.wrapping_add(t as u64 + 1));
                let mut handles = Vec::new();
                for id in t * PER_SUBMITTER..(t + 1) * PER_SUBMITTER {
                    let probe = Probe {
                        id,
                        tracker: Arc::clone(tracker),
                    };
                    let closed = if rng.below(3) == 0 {
                        match pool.spawn(move |_| probe.start()) {
                            Ok(()) => {
                                accepted[id].store(1, Ordering::SeqCst);
                                false
                            }
                            Err(e) => {
                                assert!(e.is_closed(), "seed {seed}: {e}");
                                drop(e.into_inner());
                                true
                            }
                        }
                    } else {
                        match pool.submit(move |_| {
                            probe.start();
                            probe.id
                        }) {
                            Ok(h) => {
                                accepted[id].store(2, Ordering::SeqCst);
                                let cancel = rng.below(10) == 0 && h.cancel();
                                handles.push((id, h, cancel));
                                false
                            }
                            Err(e) => {
                                assert!(e.is_closed(), "seed {seed}: {e}");
                                drop(e.into_inner());
                                true
                            }
                        }
                    };
                    if closed {
                        refused.fetch_add(1, Ordering::Relaxed);
                        // Everything after a close is refused too.
                        assert!(pool.spawn(|_| ()).unwrap_err().is_closed());
                        refused.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                for (id, h, cancel) in handles {
                    let what = format!("seed {seed}, task {id}, cancel() = {cancel}");
                    match h.wait() {
                        Ok(v) => {
                            assert!(!cancel, "{what}");
                            assert_eq!(v, id, "{what}");
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TaskError::ShutDown) => {
                            assert!(!cancel, "{what}");
                            shut_down.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TaskError::Cancelled) => {
                            assert!(cancel, "{what}");
                            cancelled.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("{e:?}: {what}"),
                    }
                }
            });
        }
        // Stop once enough is under way (a condition that must become true
        // unless every submitter already finished).
        while pool.stats().submitted < trigger {
            thread::yield_now();
        }
        if graceful {
            pool.shutdown(HANG).unwrap();
        } else {
            let _ = pool.shutdown_now();
        }
    });
    pool.shutdown(HANG).unwrap();
    let stats = pool.stats();
    let ctx = format!("seed {seed}, graceful {graceful}, {stats:?}");
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut spawned_ran = 0u64;
    let mut spawned_not_run = 0u64;
    for id in 0..total {
        let ran = tracker.ran[id].load(Ordering::SeqCst);
        let dropped = tracker.dropped[id].load(Ordering::SeqCst);
        let what = format!("{ctx}, task {id}");
        let probe_made = dropped > 0 || ran > 0;
        if probe_made {
            assert_eq!(dropped, 1, "closure dropped {dropped} times: {what}");
            assert!(ran <= 1, "ran {ran} times: {what}");
        }
        match accepted[id].load(Ordering::SeqCst) {
            1 if ran == 1 => spawned_ran += 1,
            1 => spawned_not_run += 1,
            0 => assert_eq!(ran, 0, "a refused task ran: {what}"),
            _ => {}
        }
    }
    assert_eq!(
        (stats.queued, stats.busy, stats.workers),
        (0, 0, 0),
        "{ctx}"
    );
    assert_eq!(stats.submitted, stats.finished(), "{ctx}");
    assert_eq!(stats.rejected, load(&refused), "{ctx}");
    assert_eq!(
        stats.submitted,
        spawned_ran + spawned_not_run + load(&ok) + load(&shut_down) + load(&cancelled),
        "{ctx}"
    );
    assert_eq!(stats.succeeded, spawned_ran + load(&ok), "{ctx}");
    assert_eq!(
        stats.cancelled,
        spawned_not_run + load(&shut_down) + load(&cancelled),
        "{ctx}"
    );
    if graceful {
        // A graceful shutdown drains: nothing accepted is cancelled by it.
        assert_eq!((spawned_not_run, load(&shut_down)), (0, 0), "{ctx}");
    }
}

#[test]
fn stress_shutdown_midway() {
    let base = seed(SEED_VAR);
    for round in 0..3 {
        stress_shutdown(base.wrapping_add(round));
    }
}
