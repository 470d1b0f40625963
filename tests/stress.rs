//! Lifecycle stress: concurrent submitters, random outcomes (succeed, fail,
//! panic, cancel before or while running, fire-and-forget, callbacks) and
//! random resizes; then every count must reconcile exactly.
//!
//! The seed is printed when a run fails; set `GOSLING_STRESS_SEED` to
//! replay it. The default runs submit 100,000 tasks, once to a pool whose
//! queue is behind its lock (a random kind, with resource limits) and once
//! to a FIFO pool's lock-free injector; the `#[ignore]`d `_long` versions
//! submit 1,000,000.
//!
//! The refusal stress (`stress_refusals_*`) uses small bounded queues under
//! a random full policy and every submission form — `spawn`, `try_spawn`,
//! `submit`, `submit_fallible`, `try_submit`, `submit_timeout`,
//! `submit_deadline`, `submit_task` (callbacks, priorities, resources,
//! deadlines, parent contexts, retries) and `submit_batch` — so that
//! refusals (full, timed out, and closed: the last of its four rounds
//! closes the pool midway) are common; refused tasks are offered again as
//! they came back. `wait_idle` callers and resizes run all along, and a
//! monitor checks every stats snapshot. Between rounds the pool is at rest
//! and every task is reconciled: an accepted one ended exactly once (its
//! callback once, its outcome in the counters), a refused one never ran
//! and its callback never did. `GOSLING_STRESS_TASKS` sets how many tasks
//! each run offers (20,000 by default); a watchdog turns a hang into an
//! abort naming the seed.

mod common;

use common::{EXPECTED, Rng, SeedReport, Watchdog, quiet_expected_panics, seed};
use gosling::context::Context;
use gosling::limit::{KeyedLimiter, Rate, TokenBucket};
use gosling::retry::RetryPolicy;
use gosling::time::ManualClock;
use gosling::{
    Builder, FullPolicy, Pool, QueueKind, ResizeError, Stats, SubmitError, SubmitErrorKind, Task,
    TaskError, TaskHandle, TaskId,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
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
    /// Attempts a retrying body made.
    attempts: Vec<AtomicU8>,
}

impl Tracker {
    fn new(n: usize) -> Tracker {
        let v = || (0..n).map(|_| AtomicU8::new(0)).collect();
        Tracker {
            ran: v(),
            dropped: v(),
            callbacks: v(),
            seen: v(),
            attempts: v(),
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
const SHUT_DOWN: u8 = 6;

fn code<T>(r: &Result<T, TaskError<usize>>) -> u8 {
    match r {
        Ok(_) => OK,
        Err(TaskError::Failed(_)) => FAILED,
        Err(TaskError::Panicked(_)) => PANICKED,
        Err(TaskError::Cancelled) => CANCELLED,
        Err(TaskError::TimedOut) => TIMED_OUT,
        Err(TaskError::ShutDown) => SHUT_DOWN,
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
        builder = with_resource_limits(builder);
    }
    // Metrics on: every terminal task is observed exactly once.
    let metrics = gosling::observe::Metrics::new();
    let pool = builder.metrics(metrics.clone()).build().unwrap();
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
    pool.wait_idle().unwrap();
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
    let snapshot = metrics.snapshot();
    let latency = snapshot.histogram("task_latency_seconds", &[]).unwrap();
    assert_eq!(
        latency.count(),
        stats.finished(),
        "one latency per task; {ctx}"
    );
    assert_eq!(
        snapshot.value("tasks_completed_total", &[]),
        Some(stats.succeeded as f64),
        "{ctx}"
    );
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

/// Some tasks name resources: fast limits, so that tasks step aside and
/// come back while cancels, timeouts and retries race with them.
fn with_resource_limits(builder: Builder) -> Builder {
    let per_key = KeyedLimiter::new(Rate::per_second(10_000).unwrap(), 1, 64).unwrap();
    builder
        .resource_limit(
            RESOURCES[0],
            Arc::new(TokenBucket::new(Rate::per_second(20_000).unwrap(), 2).unwrap()),
        )
        .resource_limits(Arc::new(per_key))
}

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
                RetryPolicy::fixed(allowed as u32, Duration::ZERO),
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
                    let _ = ctx.wait_cancelled_timeout(HANG);
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

// Refusals: small bounded queues under every full policy, every submission
// form (batches included), concurrent `wait_idle` callers, and a close in
// the last round; the pool comes to rest between rounds, and every count is
// reconciled there, task by task.

/// The variable that sets how many tasks a refusal run offers (for long
/// runs; the default suits CI).
const TASKS_VAR: &str = "GOSLING_STRESS_TASKS";

/// How long a refusal run may make no progress before its watchdog aborts
/// the test process (with the seed and the last stats on standard error).
const STALL: Duration = Duration::from_secs(20);

/// How long a shutdown of a closed pool at rest may take (real time).
const SHUTDOWN: Duration = Duration::from_secs(5);

/// Submitting threads; rounds (the last one closes the pool midway); and
/// threads calling `wait_idle` all along.
const SUBMITTERS: usize = 3;
const ROUNDS: usize = 4;
const IDLE_WAITERS: usize = 2;

fn task_count(default: usize) -> usize {
    common::count(TASKS_VAR, default)
}

/// How a task is offered to the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Spawn,
    TrySpawn,
    Submit,
    SubmitFallible,
    TrySubmit,
    SubmitTimeout,
    SubmitDeadline,
    SubmitTask,
    Batch,
}

/// Indexed by `Form as u8`.
const FORMS: [Form; 9] = [
    Form::Spawn,
    Form::TrySpawn,
    Form::Submit,
    Form::SubmitFallible,
    Form::TrySubmit,
    Form::SubmitTimeout,
    Form::SubmitDeadline,
    Form::SubmitTask,
    Form::Batch,
];

impl Form {
    fn pick(rng: &mut Rng) -> Form {
        match rng.below(100) {
            0..=9 => Form::Spawn,
            10..=19 => Form::TrySpawn,
            20..=27 => Form::Submit,
            28..=37 => Form::SubmitFallible,
            38..=49 => Form::TrySubmit,
            50..=59 => Form::SubmitTimeout,
            60..=67 => Form::SubmitDeadline,
            68..=91 => Form::SubmitTask,
            _ => Form::Batch,
        }
    }
}

/// How long a submission may wait for room.
#[derive(Clone, Copy, Debug)]
enum Waits {
    /// Not at all (`try_*`).
    Never,
    /// Until a timeout or deadline of its own.
    Until,
    /// Until there is room or the pool closes.
    Forever,
    /// As the pool's `FullPolicy` says.
    Policy,
}

/// What a task's body does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Succeed,
    Fail,
    Panic,
    /// Holds its worker up to this many microseconds (less once its context
    /// is cancelled), so that the small queue fills; then succeeds.
    Work(u16),
    /// As `Work`, but fails once its context is cancelled: a cooperative
    /// body, whose outcome is then `Cancelled`.
    Coop(u16),
    /// Fails `failures` times under a budget of `allowed` retries.
    Retry {
        failures: u8,
        allowed: u8,
    },
}

impl Body {
    /// A body for a task without an error type.
    fn plain(rng: &mut Rng) -> Body {
        match rng.below(100) {
            0..=59 => Body::Succeed,
            60..=61 => Body::Panic,
            _ => Body::Work(rng.below(300) as u16),
        }
    }

    fn fallible(rng: &mut Rng) -> Body {
        match rng.below(100) {
            0..=39 => Body::Succeed,
            40..=54 => Body::Fail,
            55..=56 => Body::Panic,
            57..=79 => Body::Work(rng.below(300) as u16),
            _ => Body::Coop(rng.below(300) as u16),
        }
    }

    /// The outcome it reaches when nothing interferes.
    fn code(self) -> u8 {
        match self {
            Body::Succeed | Body::Work(_) | Body::Coop(_) => OK,
            Body::Fail => FAILED,
            Body::Panic => PANICKED,
            Body::Retry { failures, allowed } if failures <= allowed => OK,
            Body::Retry { .. } => FAILED,
        }
    }
}

fn bit(code: u8) -> u8 {
    1 << code
}

/// Runs a one-shot body.
fn act(probe: &Probe, body: Body, ctx: &Context) -> Result<usize, usize> {
    probe.start();
    match body {
        Body::Succeed => Ok(probe.id),
        Body::Fail => Err(probe.id),
        Body::Panic => panic!("{EXPECTED}: task {}", probe.id),
        Body::Work(us) => {
            let _ = ctx.wait_cancelled_timeout(Duration::from_micros(us.into()));
            Ok(probe.id)
        }
        Body::Coop(us) => {
            if ctx.wait_cancelled_timeout(Duration::from_micros(us.into())) {
                Err(probe.id)
            } else {
                Ok(probe.id)
            }
        }
        Body::Retry { .. } => unreachable!("a retrying body runs as a repeatable task"),
    }
}

/// A task's deadline, from its submission.
#[derive(Clone, Copy, Debug)]
enum Due {
    None,
    /// Never reached.
    Generous,
    /// A short timeout.
    After(Duration),
    /// A deadline this far ahead (none: passed already).
    At(Option<Duration>),
}

// What became of an offered task.
const REFUSED: u8 = 1;
const ACCEPTED: u8 = 2;

// Per-task flags.
const F_CALLBACK: u8 = 1;
/// A short deadline: the task may time out.
const F_DEADLINE: u8 = 2;
/// The handle was dropped: the callback tells the outcome.
const F_DROPPED: u8 = 4;
/// `cancel()` returned true.
const F_CANCEL_WON: u8 = 8;
const F_RETRY: u8 = 16;

fn describe(flags: u8) -> String {
    [
        (F_CALLBACK, ", callback"),
        (F_DEADLINE, ", short deadline"),
        (F_DROPPED, ", handle dropped"),
        (F_CANCEL_WON, ", cancel() won"),
        (F_RETRY, ", retrying"),
    ]
    .iter()
    .filter(|(f, _)| flags & f != 0)
    .map(|(_, s)| *s)
    .collect()
}

/// Per-task records of a refusal run, beside the [`Tracker`].
struct Ledger {
    tracker: Arc<Tracker>,
    /// `REFUSED` or `ACCEPTED` (0: never offered).
    fate: Vec<AtomicU8>,
    /// The outcome code once seen (0 before; for a dropped handle, see the
    /// tracker's `seen`).
    outcome: Vec<AtomicU8>,
    /// The outcomes allowed (`bit` per code), for a dropped handle.
    allowed: Vec<AtomicU8>,
    flags: Vec<AtomicU8>,
    /// `Form as u8`.
    form: Vec<AtomicU8>,
}

impl Ledger {
    fn new(n: usize) -> Ledger {
        let v = || (0..n).map(|_| AtomicU8::new(0)).collect();
        Ledger {
            tracker: Arc::new(Tracker::new(n)),
            fate: v(),
            outcome: v(),
            allowed: v(),
            flags: v(),
            form: v(),
        }
    }
}

/// A task with a handle, either kind.
enum AnyHandle {
    Plain(TaskHandle<usize>),
    Fallible(TaskHandle<usize, usize>),
}

impl AnyHandle {
    fn cancel(&self) -> bool {
        match self {
            AnyHandle::Plain(h) => h.cancel(),
            AnyHandle::Fallible(h) => h.cancel(),
        }
    }

    /// Waits, one of several ways.
    fn wait(self, rng: &mut Rng) -> Result<usize, TaskError<usize>> {
        match self {
            AnyHandle::Plain(h) => wait_some(h, rng).map_err(|e| match e {
                TaskError::Failed(never) => match never {},
                TaskError::Panicked(m) => TaskError::Panicked(m),
                TaskError::Cancelled => TaskError::Cancelled,
                TaskError::ShutDown => TaskError::ShutDown,
                TaskError::TimedOut => TaskError::TimedOut,
                other => panic!("unknown task error {other:?}"),
            }),
            AnyHandle::Fallible(h) => wait_some(h, rng),
        }
    }
}

fn wait_some<E: Send + 'static>(
    handle: TaskHandle<usize, E>,
    rng: &mut Rng,
) -> Result<usize, TaskError<E>> {
    let never = |_| panic!("a task never ended");
    match rng.below(4) {
        0 => handle.wait(),
        1 => handle.wait_timeout(HANG).unwrap_or_else(never),
        2 => handle
            .wait_deadline(Instant::now() + HANG)
            .unwrap_or_else(never),
        _ => {
            let mut handle = handle;
            let deadline = Instant::now() + HANG;
            loop {
                if handle.is_finished() {
                    assert!(handle.status().is_terminal());
                    match handle.try_result() {
                        Ok(outcome) => break outcome,
                        Err(_) => panic!("finished but no result"),
                    }
                }
                assert!(Instant::now() < deadline, "a task never ended");
                match handle.wait_timeout(Duration::from_millis(1)) {
                    Ok(outcome) => break outcome,
                    Err(back) => handle = back,
                }
            }
        }
    }
}

/// A task to wait for at the end of its window.
struct Waiting {
    id: usize,
    handle: AnyHandle,
    body: Body,
    /// A short deadline.
    timed: bool,
    /// A child of its window's parent context.
    in_parent: bool,
    callback: bool,
    /// What `cancel()` returned, if called.
    cancel: Option<bool>,
}

/// Sets the flag when its thread unwinds, so the other threads stop
/// rather than wait for it.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

struct Refusals {
    seed: u64,
    tasks: usize,
    /// A FIFO pool's lock-free injector; otherwise a queue behind the lock
    /// (LIFO, priority, or FIFO with resource limits).
    injector: bool,
    /// Tasks with short timeouts and deadlines (some passed at
    /// submission) among those that may be refused.
    short_deadlines: bool,
}

/// What every thread of a refusal run shares.
struct Cx<'a> {
    pool: &'a Pool,
    seed: u64,
    /// The pool's settings, for messages.
    setting: String,
    capacity: usize,
    policy: FullPolicy,
    resources: bool,
    short_deadlines: bool,
    /// Ids per submitter per round.
    per: usize,
    ledger: Ledger,
    watchdog: &'a Watchdog,
    /// Set once `close()` returned.
    closed: AtomicBool,
    /// Something failed: every thread winds down.
    stop: AtomicBool,
    done: AtomicBool,
    /// Submission calls begun, and the tasks they offered.
    calls: AtomicU64,
    offered: AtomicU64,
    /// Tasks whose submission returned `Ok`, and refusals returned.
    accepted: AtomicU64,
    refusals: AtomicU64,
    /// Refusals by kind: closed, full, timeout.
    refused_as: [AtomicU64; 3],
    /// Outcomes seen through handles, by code.
    observed: [AtomicU64; 7],
    /// What a mid-run snapshot found broken.
    failure: std::sync::Mutex<Option<String>>,
}

impl Cx<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn probe(&self, id: usize, form: Form) -> Probe {
        self.ledger.form[id].store(form as u8, Ordering::SeqCst);
        Probe {
            id,
            tracker: Arc::clone(&self.ledger.tracker),
        }
    }

    fn accepted(&self, id: usize, outcome: u8) {
        self.ledger.outcome[id].store(outcome, Ordering::SeqCst);
        self.ledger.fate[id].store(ACCEPTED, Ordering::SeqCst);
    }

    fn refused(&self, id: usize) {
        self.ledger.fate[id].store(REFUSED, Ordering::SeqCst);
    }

    fn flag(&self, id: usize, flags: u8) {
        self.ledger.flags[id].fetch_or(flags, Ordering::SeqCst);
    }

    /// Whether a refusal of this kind is right for a submission that waits
    /// as `waits`, of `n` tasks (closed aside).
    fn may_refuse(&self, kind: SubmitErrorKind, waits: Waits, n: usize) -> bool {
        if n > self.capacity {
            return kind == SubmitErrorKind::Full; // a batch that can never fit
        }
        match waits {
            Waits::Never => kind == SubmitErrorKind::Full,
            Waits::Until => kind == SubmitErrorKind::Timeout,
            Waits::Forever => false,
            Waits::Policy => match self.policy {
                FullPolicy::Reject => kind == SubmitErrorKind::Full,
                FullPolicy::Timeout(_) => kind == SubmitErrorKind::Timeout,
                _ => false,
            },
        }
    }

    /// Offers `item` (`n` tasks) through `submit`, and again up to `again`
    /// times while it is refused; checks each refusal (its kind, and with
    /// `check` what came back) and returns what was refused last.
    #[allow(clippy::too_many_arguments)]
    fn offer<X, H>(
        &self,
        mut item: X,
        n: usize,
        again: u64,
        waits: Waits,
        what: &dyn Fn() -> String,
        mut submit: impl FnMut(X) -> Result<H, SubmitError<X>>,
        mut check: impl FnMut(&X),
    ) -> Result<H, X> {
        let mut left = again;
        loop {
            let closed_before = self.closed.load(Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.offered.fetch_add(n as u64, Ordering::SeqCst);
            let result = submit(item);
            self.watchdog.tick();
            let refused = match result {
                Ok(accepted) => {
                    assert!(
                        !closed_before,
                        "accepted after close() returned: {}",
                        what()
                    );
                    self.accepted.fetch_add(n as u64, Ordering::SeqCst);
                    return Ok(accepted);
                }
                Err(refused) => refused,
            };
            let kind = refused.kind();
            self.refusals.fetch_add(1, Ordering::SeqCst);
            let slot = match kind {
                SubmitErrorKind::Closed => 0,
                SubmitErrorKind::Full => 1,
                SubmitErrorKind::Timeout => 2,
                other => panic!("unknown refusal {other:?}: {}", what()),
            };
            self.refused_as[slot].fetch_add(1, Ordering::SeqCst);
            if closed_before {
                assert_eq!(
                    kind,
                    SubmitErrorKind::Closed,
                    "refused after close() returned, but not as closed: {}",
                    what()
                );
            }
            if kind == SubmitErrorKind::Closed {
                assert!(
                    self.pool.is_closed(),
                    "an open pool refused as closed: {}",
                    what()
                );
            } else {
                assert!(
                    self.may_refuse(kind, waits, n),
                    "refused as {kind:?}, waiting {waits:?} ({n} tasks): {}",
                    what()
                );
            }
            item = refused.into_inner();
            check(&item);
            if left == 0 {
                return Err(item);
            }
            left -= 1;
        }
    }

    /// Offers the task(s) from `id` (not past `end`) in `form`; returns how
    /// many ids it used.
    fn submit_one(
        &self,
        form: Form,
        id: usize,
        end: usize,
        rng: &mut Rng,
        parent: &Context,
        window: &mut Vec<Waiting>,
    ) -> usize {
        let pool = self.pool;
        // A refused task is offered again, as it came back, up to this often.
        let again = match rng.below(4) {
            0 => 1,
            1 => 3,
            _ => 0,
        };
        let what = || format!("{form:?} of task {id}; {}", self.setting);
        let pending = |id, handle, body| Waiting {
            id,
            handle,
            body,
            timed: false,
            in_parent: false,
            callback: false,
            cancel: None,
        };
        match form {
            Form::Spawn | Form::TrySpawn => {
                let body = Body::plain(rng);
                let probe = self.probe(id, form);
                let task = move |ctx: &Context| {
                    let _ = act(&probe, body, ctx);
                };
                let result = if form == Form::Spawn {
                    self.offer(
                        task,
                        1,
                        again,
                        Waits::Policy,
                        &what,
                        |t| pool.spawn(t),
                        |_| {},
                    )
                } else {
                    self.offer(
                        task,
                        1,
                        again,
                        Waits::Never,
                        &what,
                        |t| pool.try_spawn(t).map_err(SubmitError::from),
                        |_| {},
                    )
                };
                match result {
                    Ok(()) => self.accepted(id, body.code()),
                    Err(task) => {
                        drop(task);
                        self.refused(id);
                    }
                }
                1
            }
            Form::Submit | Form::TrySubmit | Form::SubmitTimeout | Form::SubmitDeadline => {
                let body = Body::plain(rng);
                let probe = self.probe(id, form);
                let task = move |ctx: &Context| act(&probe, body, ctx).unwrap_or_else(|id| id);
                let result = match form {
                    Form::Submit => self.offer(
                        task,
                        1,
                        again,
                        Waits::Policy,
                        &what,
                        |t| pool.submit(t),
                        |_| {},
                    ),
                    Form::TrySubmit => {
                        let submit = |t| pool.try_submit(t).map_err(SubmitError::from);
                        self.offer(task, 1, again, Waits::Never, &what, submit, |_| {})
                    }
                    Form::SubmitTimeout => {
                        let timeout = match rng.below(8) {
                            0 => Duration::MAX, // too long for an instant: waits for room
                            1 => Duration::ZERO,
                            _ => Duration::from_micros(rng.below(2_000)),
                        };
                        let waits = if timeout == Duration::MAX {
                            Waits::Forever
                        } else {
                            Waits::Until
                        };
                        let submit = |t| pool.submit_timeout(t, timeout).map_err(SubmitError::from);
                        self.offer(task, 1, again, waits, &what, submit, |_| {})
                    }
                    _ => {
                        let ahead =
                            (rng.below(8) != 0).then(|| Duration::from_micros(rng.below(2_000)));
                        let submit = |t| {
                            let now = Instant::now();
                            let deadline = match ahead {
                                Some(ahead) => now + ahead,
                                None => now.checked_sub(Duration::from_millis(1)).unwrap_or(now),
                            };
                            pool.submit_deadline(t, deadline).map_err(SubmitError::from)
                        };
                        self.offer(task, 1, again, Waits::Until, &what, submit, |_| {})
                    }
                };
                match result {
                    Ok(handle) => {
                        self.accepted(id, 0);
                        self.keep(window, pending(id, AnyHandle::Plain(handle), body), rng);
                    }
                    Err(task) => {
                        drop(task);
                        self.refused(id);
                    }
                }
                1
            }
            Form::SubmitFallible => {
                let body = Body::fallible(rng);
                let probe = self.probe(id, form);
                let task = move |ctx: &Context| act(&probe, body, ctx);
                let submit = |t| pool.submit_fallible(t);
                match self.offer(task, 1, again, Waits::Policy, &what, submit, |_| {}) {
                    Ok(handle) => {
                        self.accepted(id, 0);
                        self.keep(window, pending(id, AnyHandle::Fallible(handle), body), rng);
                    }
                    Err(task) => {
                        drop(task);
                        self.refused(id);
                    }
                }
                1
            }
            Form::SubmitTask => {
                self.submit_task(id, rng, parent, window, again, &what);
                1
            }
            Form::Batch => {
                let n = (rng.below(self.capacity as u64 + 2) as usize).min(end - id);
                let bodies: Vec<Body> = (0..n)
                    .map(|_| match rng.below(2) {
                        0 => Body::Succeed,
                        _ => Body::Work(rng.below(200) as u16),
                    })
                    .collect();
                let tasks: Vec<_> = (0..n)
                    .map(|k| {
                        let probe = self.probe(id + k, form);
                        let body = bodies[k];
                        move |ctx: &Context| act(&probe, body, ctx).unwrap_or_else(|id| id)
                    })
                    .collect();
                let check = |back: &Vec<_>| {
                    assert_eq!(back.len(), n, "a refused batch came back short: {}", what());
                };
                let submit = |t| pool.submit_batch(t);
                match self.offer(tasks, n, again, Waits::Policy, &what, submit, check) {
                    Ok(handles) => {
                        assert_eq!(handles.len(), n, "handles of a batch: {}", what());
                        // In input order: handle k yields task id + k.
                        for (k, handle) in handles.into_iter().enumerate() {
                            self.accepted(id + k, 0);
                            let p = pending(id + k, AnyHandle::Plain(handle), bodies[k]);
                            self.keep(window, p, rng);
                        }
                    }
                    Err(tasks) => {
                        drop(tasks);
                        (id..id + n).for_each(|id| self.refused(id));
                    }
                }
                n
            }
        }
    }

    /// Offers a [`Task`] with random options: a callback (that may panic),
    /// a priority, a resource, a deadline, a parent context, retries.
    fn submit_task(
        &self,
        id: usize,
        rng: &mut Rng,
        parent: &Context,
        window: &mut Vec<Waiting>,
        again: u64,
        what: &dyn Fn() -> String,
    ) {
        let callback = rng.below(2) == 0;
        let callback_panics = callback && rng.below(16) == 0;
        let retry = rng.below(8) == 0;
        let due = match rng.below(12) {
            _ if retry => Due::None,
            0..=3 if self.short_deadlines => match rng.below(3) {
                0 => Due::After(Duration::from_micros(rng.below(1_500))),
                1 => Due::At(None),
                _ => Due::At(Some(Duration::from_micros(rng.below(2_000)))),
            },
            4 => Due::Generous,
            _ => Due::None,
        };
        let timed = matches!(due, Due::After(_) | Due::At(_));
        let body = if retry {
            Body::Retry {
                failures: rng.below(4) as u8,
                allowed: rng.below(4) as u8,
            }
        } else if timed {
            // Returns a value even when its deadline cancelled it, so that a
            // body that ran and timed out is exactly a late result.
            match rng.below(2) {
                0 => Body::Succeed,
                _ => Body::Work(rng.below(1_500) as u16),
            }
        } else {
            Body::fallible(rng)
        };
        let drop_handle = callback && rng.below(4) == 0;
        let in_parent = !retry && !drop_handle && rng.below(4) == 0;
        let probe = self.probe(id, Form::SubmitTask);
        let mut task: Task<usize, usize> = match body {
            Body::Retry { failures, allowed } => {
                let mut attempt = 0u8;
                Task::retrying(
                    RetryPolicy::fixed(allowed.into(), Duration::ZERO),
                    move |_| {
                        if attempt == 0 {
                            probe.start(); // counts the task once, however many attempts
                        }
                        attempt += 1;
                        probe.tracker.attempts[probe.id].fetch_add(1, Ordering::SeqCst);
                        if attempt > failures {
                            Ok(probe.id)
                        } else {
                            Err(probe.id)
                        }
                    },
                )
            }
            body => Task::fallible(move |ctx: &Context| act(&probe, body, ctx)),
        };
        let task_id = TaskId::from(id as u64);
        task = task.id(task_id).priority(rng.below(5) as i32 - 2);
        if self.resources {
            task = with_resource(task, rng);
        }
        task = match due {
            Due::None => task,
            Due::Generous => task.timeout(HANG),
            Due::After(timeout) => task.timeout(timeout),
            Due::At(Some(ahead)) => task.deadline(Instant::now() + ahead),
            Due::At(None) => task.deadline(Instant::now()),
        };
        if in_parent {
            task = task.context(parent);
        }
        if callback {
            let tracker = Arc::clone(&self.ledger.tracker);
            task = task.on_complete(move |r: &Result<usize, TaskError<usize>>| {
                tracker.callbacks[id].fetch_add(1, Ordering::SeqCst);
                tracker.seen[id].store(code(r), Ordering::SeqCst);
                if callback_panics {
                    panic!("{EXPECTED}: callback {id}");
                }
            });
        }
        let flags = [
            (callback, F_CALLBACK),
            (timed, F_DEADLINE),
            (drop_handle, F_DROPPED),
            (retry, F_RETRY),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |flags, (_, f)| flags | f);
        self.flag(id, flags);
        let resource = task.get_resource().map(str::to_owned);
        let check = |back: &Task<usize, usize>| {
            // The very task, its settings intact.
            assert_eq!(
                back.get_id(),
                Some(task_id),
                "another task came back: {}",
                what()
            );
            assert_eq!(
                back.get_resource(),
                resource.as_deref(),
                "the task came back without its resource: {}",
                what()
            );
        };
        let submit = |t| self.pool.submit_task(t);
        let handle = match self.offer(task, 1, again, Waits::Policy, what, submit, check) {
            Ok(handle) => handle,
            Err(task) => {
                drop(task);
                self.refused(id);
                return;
            }
        };
        assert_eq!(handle.id(), task_id, "{}", what());
        if drop_handle {
            // Never waited for: the callback tells the outcome.
            let mut allowed = bit(body.code());
            if timed {
                allowed |= bit(TIMED_OUT);
            }
            if retry {
                allowed |= bit(SHUT_DOWN); // re-queued after the close
            }
            self.ledger.allowed[id].store(allowed, Ordering::SeqCst);
            self.accepted(id, 0);
            drop(handle);
            return;
        }
        self.accepted(id, 0);
        let p = Waiting {
            id,
            handle: AnyHandle::Fallible(handle),
            body,
            timed,
            in_parent,
            callback,
            cancel: None,
        };
        self.keep(window, p, rng);
    }

    /// Keeps an accepted task to wait for, cancelling one in ten at once.
    fn keep(&self, window: &mut Vec<Waiting>, mut p: Waiting, rng: &mut Rng) {
        // Retrying tasks are not cancelled: their retry count stays exact.
        if !matches!(p.body, Body::Retry { .. }) && rng.below(10) == 0 {
            p.cancel = Some(p.handle.cancel());
        }
        window.push(p);
    }

    /// Cancels some of the window (the parent context, some handles), then
    /// waits for every task and checks its one outcome.
    fn settle(&self, window: &mut Vec<Waiting>, parent: &mut Context, rng: &mut Rng) {
        let parent_cancelled = rng.below(6) == 0;
        if parent_cancelled {
            parent.cancel();
        }
        for p in window.iter_mut() {
            if p.cancel.is_none() && !matches!(p.body, Body::Retry { .. }) && rng.below(10) == 0 {
                p.cancel = Some(p.handle.cancel());
            }
        }
        let tracker = &self.ledger.tracker;
        for p in window.drain(..) {
            let Waiting {
                id,
                handle,
                body,
                timed,
                in_parent,
                callback,
                cancel,
            } = p;
            let what = format!(
                "task {id} ({:?}, {body:?}{}, in a parent: {in_parent}, parent cancelled: \
                 {parent_cancelled}, cancel() = {cancel:?}); {}",
                FORMS[self.ledger.form[id].load(Ordering::SeqCst) as usize],
                describe(self.ledger.flags[id].load(Ordering::SeqCst)),
                self.setting
            );
            let outcome = handle.wait(rng);
            self.watchdog.tick();
            let code = code(&outcome);
            let interrupted = cancel == Some(false) || (in_parent && parent_cancelled);
            let allowed = if cancel == Some(true) {
                bit(CANCELLED)
            } else {
                let mut allowed = bit(body.code());
                if interrupted && matches!(body, Body::Fail | Body::Coop(_)) {
                    allowed |= bit(CANCELLED); // an error after the cancel
                }
                if in_parent && parent_cancelled {
                    allowed |= bit(CANCELLED); // ended while queued
                }
                if timed {
                    allowed |= bit(TIMED_OUT);
                }
                if matches!(body, Body::Retry { .. }) && self.pool.is_closed() {
                    allowed |= bit(SHUT_DOWN); // a retry re-queued after the close
                }
                allowed
            };
            assert!(
                code != 0 && allowed & bit(code) != 0,
                "outcome {outcome:?} is not one allowed ({allowed:#09b}): {what}"
            );
            match &outcome {
                Ok(v) => assert_eq!(*v, id, "another task's value: {what}"),
                Err(TaskError::Failed(e)) => assert_eq!(*e, id, "another task's error: {what}"),
                Err(TaskError::Panicked(m)) => {
                    assert_eq!(*m, format!("{EXPECTED}: task {id}"), "{what}");
                }
                Err(_) => {}
            }
            if callback {
                // The callback ran before the waiter woke, and saw the same.
                assert_eq!(
                    tracker.callbacks[id].load(Ordering::SeqCst),
                    1,
                    "callback runs: {what}"
                );
                assert_eq!(
                    tracker.seen[id].load(Ordering::SeqCst),
                    code,
                    "the callback saw another outcome: {what}"
                );
            }
            if let Body::Retry { failures, allowed } = body {
                let attempts = tracker.attempts[id].load(Ordering::SeqCst);
                match code {
                    OK => assert_eq!(attempts, failures + 1, "attempts: {what}"),
                    FAILED => assert_eq!(attempts, allowed + 1, "attempts: {what}"),
                    _ => assert!(
                        (1..=allowed.min(failures)).contains(&attempts),
                        "attempts {attempts}: {what}"
                    ),
                }
            }
            if cancel == Some(true) {
                self.flag(id, F_CANCEL_WON);
            }
            self.ledger.outcome[id].store(code, Ordering::SeqCst);
            self.observed[usize::from(code)].fetch_add(1, Ordering::SeqCst);
        }
        *parent = Context::new();
    }

    fn submitter(&self, t: usize, close_at: Option<usize>, done: &AtomicUsize, go: &AtomicUsize) {
        let _stop = StopOnPanic(&self.stop);
        let mut rng = Rng::new(self.seed.wrapping_add(0x100 + t as u64));
        for round in 0..ROUNDS {
            let start = (round * SUBMITTERS + t) * self.per;
            let end = start + self.per;
            let mut window = Vec::new();
            let mut parent = Context::new();
            let mut id = start;
            while id < end {
                if self.stopped() {
                    return;
                }
                if close_at.is_some_and(|at| id >= at) && !self.closed.load(Ordering::SeqCst) {
                    self.pool.close();
                    self.closed.store(true, Ordering::SeqCst);
                }
                let form = Form::pick(&mut rng);
                id += self.submit_one(form, id, end, &mut rng, &parent, &mut window);
                if window.len() > rng.below(48) as usize {
                    self.settle(&mut window, &mut parent, &mut rng);
                }
            }
            self.settle(&mut window, &mut parent, &mut rng);
            if close_at.is_some() && round == ROUNDS - 1 && !self.closed.load(Ordering::SeqCst) {
                self.pool.close();
                self.closed.store(true, Ordering::SeqCst);
            }
            done.store(round + 1, Ordering::SeqCst);
            while go.load(Ordering::SeqCst) <= round {
                if self.stopped() {
                    return;
                }
                thread::yield_now();
            }
        }
    }

    /// Random resizes all along (refused as closed once the pool is).
    fn resizer(&self) {
        let _stop = StopOnPanic(&self.stop);
        let mut rng = Rng::new(self.seed ^ 0xABCD);
        while !self.done.load(Ordering::SeqCst) && !self.stopped() {
            match self.pool.resize(1 + rng.below(4) as usize) {
                Ok(()) => {}
                Err(ResizeError::Closed) => {
                    assert!(self.pool.is_closed(), "resize: closed? {}", self.setting);
                }
                Err(e) => panic!("resize: {e}; {}", self.setting),
            }
            thread::sleep(Duration::from_micros(200 + rng.below(800)));
        }
    }

    /// Calls `wait_idle` (or its timed form) over and over; counts returns.
    fn idle_waiter(&self, w: usize, returns: &AtomicU64) {
        let _stop = StopOnPanic(&self.stop);
        let mut rng = Rng::new(self.seed ^ (0x1D1E + w as u64));
        while !self.done.load(Ordering::SeqCst) && !self.stopped() {
            if rng.below(2) == 0 {
                self.pool.wait_idle().unwrap();
            } else {
                let _ = self
                    .pool
                    .wait_idle_timeout(Duration::from_micros(rng.below(2_000)))
                    .unwrap();
            }
            returns.fetch_add(1, Ordering::SeqCst);
            thread::yield_now();
        }
    }

    /// Snapshots the stats all along; what must hold in every snapshot.
    fn monitor(&self) {
        let _stop = StopOnPanic(&self.stop);
        let mut last = Stats::default();
        let mut n = 0u64;
        while !self.done.load(Ordering::SeqCst) && !self.stopped() {
            // Read before the snapshot: what the snapshot must include.
            let accepted = self.accepted.load(Ordering::SeqCst);
            let refusals = self.refusals.load(Ordering::SeqCst);
            let observed: Vec<u64> = self
                .observed
                .iter()
                .map(|c| c.load(Ordering::SeqCst))
                .collect();
            let s = self.pool.stats();
            // Read after: what the snapshot cannot exceed.
            let calls = self.calls.load(Ordering::SeqCst);
            let offered = self.offered.load(Ordering::SeqCst);
            let broken = broken_snapshot(&last, &s, accepted, refusals, &observed, calls, offered);
            if let Some(broken) = broken {
                let mut failure = self.failure.lock().unwrap();
                if failure.is_none() {
                    // Reported at the end of the round, unless the round's
                    // own checks fail first (this shows beside them).
                    let message = format!(
                        "a mid-run snapshot is inconsistent: {broken}\n  now:    {s:?}\n  \
                         before: {last:?}\n  {}",
                        self.setting
                    );
                    eprintln!("{message}");
                    *failure = Some(message);
                }
            }
            last = s;
            n += 1;
            if n % 32 == 0 {
                self.watchdog.status(format!("{s:?}"));
            }
            thread::sleep(Duration::from_micros(200));
        }
    }

    /// At rest after `round`: every task offered so far ended as it should,
    /// and the pool's counts are exactly the sum of it.
    fn reconcile(&self, round: usize) {
        let upto = (round + 1) * SUBMITTERS * self.per;
        let closed = self.pool.is_closed();
        let stats = self.pool.stats();
        let ctx = format!(
            "after round {round} of {ROUNDS}: {}\n  {stats:?}",
            self.setting
        );
        let (ledger, tracker) = (&self.ledger, &self.ledger.tracker);
        let mut by_code = [0u64; 7];
        let (mut accepted, mut retries, mut late) = (0u64, 0u64, 0u64);
        for id in 0..upto {
            let load = |v: &[AtomicU8]| v[id].load(Ordering::SeqCst);
            let flags = load(&ledger.flags);
            let what = || {
                let form = FORMS[usize::from(load(&ledger.form))];
                format!("task {id} ({form:?}{}); {ctx}", describe(flags))
            };
            let dropped = load(&tracker.dropped);
            assert_eq!(
                dropped,
                1,
                "the task was dropped {dropped} times, not once: {}",
                what()
            );
            let ran = load(&tracker.ran);
            match load(&ledger.fate) {
                REFUSED => {
                    let callbacks = load(&tracker.callbacks);
                    let seen = load(&tracker.seen);
                    let hint = if seen == TIMED_OUT {
                        " (timed out: its deadline fired before the pool refused it)"
                    } else {
                        ""
                    };
                    assert_eq!(
                        callbacks,
                        0,
                        "the completion callback of a task the pool refused ran ({callbacks} \
                         times, seeing outcome {seen}{hint}): a refused task must come back \
                         untouched: {}",
                        what()
                    );
                    assert_eq!(ran, 0, "a task the pool refused ran: {}", what());
                }
                ACCEPTED => {
                    accepted += 1;
                    let code = if flags & F_DROPPED != 0 {
                        // Its callback may still be running on the timer thread.
                        common::wait_until(&format!("the callback of task {id} runs"), || {
                            load(&tracker.callbacks) > 0
                        });
                        let seen = load(&tracker.seen);
                        let allowed = load(&ledger.allowed);
                        assert!(
                            seen != 0 && allowed & bit(seen) != 0,
                            "the callback saw outcome {seen}, not one allowed ({allowed:#09b}): {}",
                            what()
                        );
                        seen
                    } else {
                        load(&ledger.outcome)
                    };
                    assert!((OK..=SHUT_DOWN).contains(&code), "no outcome: {}", what());
                    if code == SHUT_DOWN {
                        assert!(closed && flags & F_RETRY != 0, "shut down: {}", what());
                    }
                    by_code[usize::from(code)] += 1;
                    if flags & F_CALLBACK != 0 {
                        let callbacks = load(&tracker.callbacks);
                        assert_eq!(
                            callbacks,
                            1,
                            "the callback ran {callbacks} times: {}",
                            what()
                        );
                        assert_eq!(load(&tracker.seen), code, "the callback saw: {}", what());
                    }
                    match code {
                        OK | FAILED | PANICKED | SHUT_DOWN => {
                            assert_eq!(ran, 1, "the body ran {ran} times: {}", what());
                        }
                        _ if flags & F_CANCEL_WON != 0 => {
                            assert_eq!(ran, 0, "ran after cancel() returned true: {}", what());
                        }
                        _ => assert!(ran <= 1, "the body ran {ran} times: {}", what()),
                    }
                    if flags & F_DEADLINE != 0 && code == TIMED_OUT && ran == 1 {
                        late += 1; // its value came after the deadline
                    }
                    if flags & F_RETRY != 0 {
                        let attempts = u64::from(load(&tracker.attempts));
                        // Every failed attempt but the last scheduled a retry;
                        // so did the last, for a retry refused by the close.
                        retries += if code == SHUT_DOWN {
                            attempts
                        } else {
                            attempts.saturating_sub(1)
                        };
                    }
                }
                _ => panic!("never offered: {}", what()),
            }
        }
        let finished = stats.finished();
        assert!(
            finished <= stats.submitted,
            "at rest, {finished} tasks finished but only {} were accepted: the pool counted an \
             outcome for a task it refused (timed out: {} counted, {} seen among accepted \
             tasks): {ctx}",
            stats.submitted,
            stats.timed_out,
            by_code[usize::from(TIMED_OUT)]
        );
        assert_eq!(
            (stats.queued, stats.busy, stats.retrying),
            (0, 0, 0),
            "not at rest after wait_idle: {ctx}"
        );
        assert_eq!(stats.submitted, accepted, "tasks accepted: {ctx}");
        assert_eq!(
            stats.submitted,
            self.accepted.load(Ordering::SeqCst),
            "tasks accepted: {ctx}"
        );
        assert_eq!(
            stats.submitted, finished,
            "at rest every accepted task has ended: {ctx}"
        );
        assert_eq!(
            stats.rejected,
            self.refusals.load(Ordering::SeqCst),
            "refused submissions: {ctx}"
        );
        let count = |code: u8| by_code[usize::from(code)];
        assert_eq!(stats.succeeded, count(OK), "succeeded: {ctx}");
        assert_eq!(stats.failed, count(FAILED), "failed: {ctx}");
        assert_eq!(stats.panicked, count(PANICKED), "panicked: {ctx}");
        assert_eq!(
            stats.cancelled,
            count(CANCELLED) + count(SHUT_DOWN),
            "cancelled: {ctx}"
        );
        assert_eq!(stats.timed_out, count(TIMED_OUT), "timed out: {ctx}");
        assert_eq!(stats.retries, retries, "retries: {ctx}");
        assert_eq!(stats.late_results, late, "late results: {ctx}");
    }
}

/// What a snapshot `s` (after `last`) breaks, if anything: `accepted`,
/// `refusals` and `observed` were counted before it, `calls` and `offered`
/// after.
fn broken_snapshot(
    last: &Stats,
    s: &Stats,
    accepted: u64,
    refusals: u64,
    observed: &[u64],
    calls: u64,
    offered: u64,
) -> Option<String> {
    if s.finished() > s.submitted {
        return Some(format!(
            "{} tasks finished but only {} were accepted: an outcome was counted for a task \
             the pool had not accepted (yet), e.g. one that timed out ({} so far) while its \
             submission was still under way",
            s.finished(),
            s.submitted,
            s.timed_out
        ));
    }
    if s.submitted < accepted || s.submitted > offered {
        return Some(format!(
            "{} tasks accepted, but {accepted} submissions had returned Ok and {offered} \
             tasks were offered",
            s.submitted
        ));
    }
    if s.rejected < refusals || s.rejected > calls {
        return Some(format!(
            "{} refusals, but {refusals} had returned and {calls} submissions begun",
            s.rejected
        ));
    }
    let counters = |s: &Stats| {
        [
            ("submitted", s.submitted),
            ("succeeded", s.succeeded),
            ("failed", s.failed),
            ("panicked", s.panicked),
            ("cancelled", s.cancelled),
            ("timed_out", s.timed_out),
            ("rejected", s.rejected),
            ("late_results", s.late_results),
            ("retries", s.retries),
        ]
    };
    for ((name, before), (_, now)) in counters(last).into_iter().zip(counters(s)) {
        if now < before {
            return Some(format!("{name} went down from {before} to {now}"));
        }
    }
    let seen = |code: u8| observed[usize::from(code)];
    for (name, counted, seen) in [
        ("succeeded", s.succeeded, seen(OK)),
        ("failed", s.failed, seen(FAILED)),
        ("panicked", s.panicked, seen(PANICKED)),
        ("cancelled", s.cancelled, seen(CANCELLED) + seen(SHUT_DOWN)),
        ("timed_out", s.timed_out, seen(TIMED_OUT)),
    ] {
        if counted < seen {
            return Some(format!(
                "{name} is {counted}, but {seen} such outcomes had been delivered"
            ));
        }
    }
    if s.busy > s.workers {
        return Some(format!("{} busy workers of {}", s.busy, s.workers));
    }
    None
}

fn stress_refusals(run: &Refusals) {
    quiet_expected_panics();
    let seed = run.seed;
    let _report = SeedReport {
        var: SEED_VAR,
        seed,
    };
    let mut rng = Rng::new(seed ^ 0x5EED_F011);
    let queue = match (run.injector, rng.below(3)) {
        (true, _) | (false, 0) => QueueKind::Fifo,
        (false, 1) => QueueKind::Lifo,
        (false, _) => QueueKind::Priority,
    };
    // A FIFO queue without resource limits would be the injector.
    let resources = !run.injector && (queue == QueueKind::Fifo || rng.below(2) == 0);
    let capacity = 1 + rng.below(8) as usize;
    let policy = match rng.below(4) {
        0 => FullPolicy::Block,
        1 => FullPolicy::Reject,
        2 => FullPolicy::Timeout(Duration::ZERO),
        _ => FullPolicy::Timeout(Duration::from_micros(50 + rng.below(1_500))),
    };
    let workers = 1 + rng.below(3) as usize;
    let mut builder = Pool::builder()
        .workers(workers)
        .queue(queue)
        .capacity(capacity)
        .when_full(policy)
        // Bounds the drop of a pool whose test failed.
        .shutdown_timeout(Duration::from_secs(1));
    if resources {
        builder = with_resource_limits(builder);
    }
    let pool = builder.build().unwrap();
    let per = run.tasks.div_ceil(ROUNDS * SUBMITTERS).max(1);
    let tasks = per * ROUNDS * SUBMITTERS;
    let setting = format!(
        "seed {seed}: {tasks} tasks, {queue:?} queue ({}{}), capacity {capacity}, {policy:?} \
         when full, {workers} workers at first{}",
        if run.injector { "injector" } else { "locked" },
        if resources { ", resource limits" } else { "" },
        if run.short_deadlines {
            ", short deadlines"
        } else {
            ""
        },
    );
    let watchdog = Watchdog::start(format!("{setting}; replay with {SEED_VAR}={seed}"), STALL);
    let cx = Cx {
        pool: &pool,
        seed,
        setting,
        capacity,
        policy,
        resources,
        short_deadlines: run.short_deadlines,
        per,
        ledger: Ledger::new(tasks),
        watchdog: &watchdog,
        closed: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        done: AtomicBool::new(false),
        calls: AtomicU64::new(0),
        offered: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        refusals: AtomicU64::new(0),
        refused_as: Default::default(),
        observed: Default::default(),
        failure: std::sync::Mutex::new(None),
    };
    // The close comes somewhere in the first submitter's last round.
    let close_at = (ROUNDS - 1) * SUBMITTERS * per + rng.below(per as u64) as usize;
    let done: Vec<AtomicUsize> = (0..SUBMITTERS).map(|_| AtomicUsize::new(0)).collect();
    let go = AtomicUsize::new(0);
    let returns: Vec<AtomicU64> = (0..IDLE_WAITERS).map(|_| AtomicU64::new(0)).collect();
    let cx = &cx;
    thread::scope(|s| {
        s.spawn(|| cx.monitor());
        s.spawn(|| cx.resizer());
        for (w, returns) in returns.iter().enumerate() {
            s.spawn(move || cx.idle_waiter(w, returns));
        }
        for (t, done) in done.iter().enumerate() {
            let (go, close_at) = (&go, (t == 0).then_some(close_at));
            s.spawn(move || cx.submitter(t, close_at, done, go));
        }
        let _stop = StopOnPanic(&cx.stop);
        'rounds: for round in 0..ROUNDS {
            while !done.iter().all(|d| d.load(Ordering::SeqCst) > round) {
                if cx.stopped() {
                    break 'rounds;
                }
                thread::yield_now();
            }
            pool.wait_idle().unwrap();
            watchdog.tick();
            // Whoever waits for idle returns now, too.
            for (w, returns) in returns.iter().enumerate() {
                let before = returns.load(Ordering::SeqCst);
                common::wait_until(&format!("wait_idle caller {w} returns at rest"), || {
                    returns.load(Ordering::SeqCst) > before || cx.stopped()
                });
            }
            if cx.stopped() {
                break;
            }
            cx.reconcile(round);
            if let Some(failure) = cx.failure.lock().unwrap().as_ref() {
                panic!("{failure}");
            }
            watchdog.tick();
            go.store(round + 1, Ordering::SeqCst);
        }
        cx.done.store(true, Ordering::SeqCst);
    });
    if let Some(failure) = cx.failure.lock().unwrap().take() {
        panic!("{failure}");
    }
    assert!(!cx.stopped(), "stopped: {}", cx.setting);
    let at_rest = pool.stats();
    // Closed, and at rest: every worker has exited or is about to. Well
    // within the watchdog's stall.
    if let Err(e) = pool.shutdown(SHUTDOWN) {
        panic!(
            "shutdown of the closed pool at rest did not finish within {SHUTDOWN:?} ({e}): \
             worker threads stayed asleep after the close (were tasks waiting for their \
             resource when it came?)\n  at rest: {at_rest:?}\n  {}",
            cx.setting
        );
    }
    let stats = pool.stats();
    assert_eq!(stats.workers, 0, "{}", cx.setting);
    let counts = |s: &Stats| {
        [
            s.submitted,
            s.succeeded,
            s.failed,
            s.panicked,
            s.cancelled,
            s.timed_out,
            s.rejected,
            s.late_results,
            s.retries,
        ]
    };
    assert_eq!(
        counts(&stats),
        counts(&at_rest),
        "the counts moved at rest: {}",
        cx.setting
    );
    let [closed, full, timeout] = cx.refused_as.each_ref().map(|c| c.load(Ordering::SeqCst));
    eprintln!(
        "{}: {} accepted, refused {closed} closed, {full} full, {timeout} timed out; {stats:?}",
        cx.setting, stats.submitted
    );
    // Every kind of refusal happened (each comes hundreds of times a run).
    assert!(
        closed > 0,
        "no submission met the closed pool: {}",
        cx.setting
    );
    assert!(full > 0, "no submission met a full queue: {}", cx.setting);
    assert!(
        timeout > 0,
        "no submission timed out waiting: {}",
        cx.setting
    );
}

#[test]
fn stress_refusals_locked() {
    stress_refusals(&Refusals {
        seed: seed(SEED_VAR),
        tasks: task_count(20_000),
        injector: false,
        short_deadlines: false,
    });
}

#[test]
fn stress_refusals_injector() {
    stress_refusals(&Refusals {
        seed: seed(SEED_VAR),
        tasks: task_count(20_000),
        injector: true,
        short_deadlines: false,
    });
}

/// Tasks with short timeouts and deadlines among those refused: a refused
/// task must not time out (nor run its callback, nor count) on the way back.
#[test]
fn stress_refusals_short_deadlines() {
    let base = seed(SEED_VAR);
    for (round, injector) in [false, true].into_iter().enumerate() {
        stress_refusals(&Refusals {
            seed: base.wrapping_add(round as u64),
            tasks: task_count(20_000),
            injector,
            short_deadlines: true,
        });
    }
}

/// A pool closed while tasks wait for their resource's permit drains them,
/// and then every worker exits: none sleeps on in the closed pool, and a
/// shutdown finishes at once. (The refusal stress meets this when its close
/// comes while tasks wait; here it is made to happen, on a manual clock.)
#[test]
fn close_while_tasks_wait_for_their_resource() {
    for (workers, waiting) in [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (4, 3)] {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let every_10s = Rate::every(Duration::from_secs(10)).unwrap();
        let bucket = TokenBucket::with_clock(every_10s, 1, clock.clone()).unwrap();
        let pool = Pool::builder()
            .workers(workers)
            .clock(clock.clone())
            .resource_limit("db", Arc::new(bucket))
            .shutdown_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let what = format!("{workers} workers, {waiting} tasks waiting");
        let first = pool.submit_task(Task::new(|_| 0).resource("db")).unwrap();
        let rest: Vec<_> = (1..=waiting)
            .map(|i| {
                let task = Task::new(move |_| i).resource("db");
                pool.submit_task(task).unwrap()
            })
            .collect();
        assert_eq!(first.wait(), Ok(0), "{what}");
        common::await_stats(&pool, "the others wait for permits", |s| {
            s.waiting_for_resource == waiting
        });
        // Whether the idle workers are asleep or still spinning when the
        // close comes, they must all leave once the waiting tasks ran.
        pool.close();
        for (i, handle) in rest.into_iter().enumerate() {
            // Advanced until the task ran (the gate may arm its permit's
            // timer entry after a first advance); bounded in real time, as
            // a wait on the manual clock would not be.
            let started = std::time::Instant::now();
            while !handle.is_finished() && started.elapsed() < SHUTDOWN {
                manual.advance(Duration::from_secs(10));
                thread::sleep(Duration::from_millis(1));
            }
            let outcome = handle.try_result();
            assert!(
                matches!(outcome, Ok(Ok(n)) if n == i + 1),
                "the waiting task {} did not run after the close: {what}",
                i + 1
            );
        }
        let stats = pool.stats();
        assert_eq!(stats.waiting_for_resource, 0, "{what}: {stats:?}");
        assert!(
            pool.shutdown(SHUTDOWN).is_ok(),
            "shutdown did not finish: workers stayed asleep in the closed pool once its \
             tasks waiting for a resource had run ({what}); before it: {stats:?}"
        );
        assert_eq!(pool.stats().workers, 0, "{what}");
    }
}
