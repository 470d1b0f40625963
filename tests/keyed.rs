//! Tests for `gosling::limit::KeyedLimiter` against its promise: as long as
//! at most `max_keys` keys are active (their bucket not full), every
//! decision is the one a separate bucket per key would give; the number of
//! keys remembered never exceeds `max_keys`, from one thread or many.
//!
//! The model is a `HashMap` of the crate's own `TokenBucket`, one per key,
//! on the same `ManualClock`.

mod common;

use common::{Rng, seeded};
use gosling::limit::{AllowError, KeyedLimiter, Rate, RateLimiter, TokenBucket};
use gosling::time::{Clock, ManualClock};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Duration;

const SEED_VAR: &str = "GOSLING_KEYED_SEED";

/// Small bounds (around the 32 shards) and a large one.
const MAX_KEYS: [usize; 7] = [1, 2, 31, 32, 33, 64, 1024];

/// A decision, comparable across the two limiters.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Decision {
    Pass,
    Refused(Duration),
    ExceedsBurst,
}

fn decision(result: Result<(), AllowError>) -> Decision {
    match result {
        Ok(()) => Decision::Pass,
        Err(AllowError::RateLimited(r)) => Decision::Refused(r.retry_after()),
        Err(AllowError::ExceedsBurst { .. }) => Decision::ExceedsBurst,
        Err(other) => panic!("an AllowError this model does not know: {other:?}"),
    }
}

/// One bucket per key, plus the set of active keys (a key is active until
/// the instant its bucket is full again).
struct Model {
    clock: Clock,
    rate: Rate,
    burst: u32,
    period: Duration,
    buckets: HashMap<u64, TokenBucket>,
    /// Key → when its bucket is full again (clock time), for active keys.
    full_at: HashMap<u64, Duration>,
    by_time: BTreeSet<(Duration, u64)>,
    /// The active keys, for picking one at random.
    active: Vec<u64>,
    position: HashMap<u64, usize>,
}

impl Model {
    fn new(clock: Clock, rate: Rate, burst: u32) -> Model {
        Model {
            clock,
            rate,
            burst,
            period: rate.period(),
            buckets: HashMap::new(),
            full_at: HashMap::new(),
            by_time: BTreeSet::new(),
            active: Vec::new(),
            position: HashMap::new(),
        }
    }

    /// Forgets, as active, the keys whose bucket is full at `now`.
    fn expire(&mut self, now: Duration) {
        while let Some(&(at, key)) = self.by_time.first() {
            if at > now {
                break;
            }
            self.by_time.pop_first();
            self.full_at.remove(&key);
            let i = self.position.remove(&key).unwrap();
            self.active.swap_remove(i);
            if let Some(&moved) = self.active.get(i) {
                self.position.insert(moved, i);
            }
        }
    }

    fn is_active(&self, key: u64) -> bool {
        self.full_at.contains_key(&key)
    }

    fn allow_n(&mut self, key: u64, n: u32, now: Duration) -> Decision {
        let bucket = self.buckets.entry(key).or_insert_with(|| {
            TokenBucket::with_clock(self.rate, self.burst, self.clock.clone()).unwrap()
        });
        let d = decision(bucket.allow_n(n));
        let available = bucket.available();
        if d == Decision::Pass && n > 0 {
            let old = self.full_at.get(&key).copied();
            let full_at = old.unwrap_or(now).max(now) + self.period * n;
            if let Some(old) = old {
                self.by_time.remove(&(old, key));
            } else {
                self.position.insert(key, self.active.len());
                self.active.push(key);
            }
            self.full_at.insert(key, full_at);
            self.by_time.insert((full_at, key));
        }
        // The bookkeeping agrees with the bucket itself.
        assert_eq!(
            self.is_active(key),
            available < self.burst,
            "model: key {key} at {now:?}"
        );
        d
    }
}

/// How a run picks keys.
#[derive(Debug, Clone, Copy)]
enum Load {
    /// Keys from a universe of this many, never more than `max_keys`
    /// active at once.
    Fits { universe: u64 },
    /// Keys from a universe of this many, with no limit on active keys.
    Exceeds { universe: u64 },
}

#[derive(Debug, Default)]
struct Outcome {
    differing: usize,
    refusals: usize,
    most_active: usize,
    steps_near_bound: usize,
    evicted: u64,
    evicted_active: u64,
}

/// One differential run: the keyed limiter and the model see the same
/// requests at the same instants. Checks the bound after every request;
/// returns the counts.
fn run(rng: &mut Rng, max_keys: usize, load: Load, steps: usize) -> Outcome {
    let manual = ManualClock::new();
    let burst = 1 + rng.below(4) as u32;
    let rate = Rate::per_second(10).unwrap();
    let period = rate.period();
    let tick = period / (4 * max_keys as u32);
    let keyed = KeyedLimiter::with_clock(rate, burst, max_keys, manual.clock()).unwrap();
    let mut model = Model::new(manual.clock(), rate, burst);
    let mut outcome = Outcome::default();
    let (universe, fits) = match load {
        Load::Fits { universe } => (universe, true),
        Load::Exceeds { universe } => (universe, false),
    };
    for step in 0..steps {
        // Time: often frozen (bursts of requests), else steps of a small
        // fraction of a period over `max_keys` (so that `max_keys` keys can
        // be busy at once and keys keep turning idle); rarely, long enough
        // for every bucket to refill.
        let gap = match rng.below(10) {
            0..=4 => Duration::ZERO,
            5..=8 => tick.mul_f64(rng.below(2000) as f64 / 1000.0),
            _ if rng.below(20 * max_keys as u64 + 100) == 0 => period * (burst + 1),
            _ => tick.mul_f64(rng.below(8000) as f64 / 1000.0),
        };
        manual.advance(gap);
        let now = manual.elapsed();
        model.expire(now);
        // The key: half the time one already active (hot keys get
        // refused), else any from the universe.
        let mut key = if !model.active.is_empty() && rng.below(2) == 0 {
            model.active[rng.below(model.active.len() as u64) as usize]
        } else {
            rng.below(universe)
        };
        if fits && !model.is_active(key) && model.active.len() >= max_keys {
            // One more active key would exceed the bound.
            key = model.active[rng.below(model.active.len() as u64) as usize];
        }
        let n = match rng.below(20) {
            0 => 0,
            1 => burst + 1,
            _ => 1 + rng.below(u64::from(burst)) as u32,
        };
        let got = decision(keyed.allow_n(&key, n));
        let want = model.allow_n(key, n, now);
        let active = model.active.len();
        outcome.most_active = outcome.most_active.max(active);
        if active * 10 >= max_keys * 9 {
            outcome.steps_near_bound += 1;
        }
        if matches!(want, Decision::Refused(_)) {
            outcome.refusals += 1;
        }
        assert!(
            keyed.len() <= max_keys,
            "{} keys remembered, bound {max_keys}, step {step}",
            keyed.len()
        );
        if got != want {
            outcome.differing += 1;
            // A decision can differ only for a key forgotten while active.
            assert!(
                keyed.evicted_active() > 0,
                "key {key}, step {step}: {got:?}, its own bucket {want:?}, no active key forgotten"
            );
        }
    }
    outcome.evicted = keyed.evicted();
    outcome.evicted_active = keyed.evicted_active();
    outcome
}

fn steps_for(universe: u64) -> usize {
    (universe as usize * 12).clamp(3_000, 30_000)
}

#[test]
fn decisions_match_one_bucket_per_key_while_active_keys_fit() {
    let (mut rng, report) = seeded(SEED_VAR);
    eprintln!("seed {} ({SEED_VAR})", report.seed);
    for max_keys in MAX_KEYS {
        let max = max_keys as u64;
        let universes = [(max / 2).max(1), max, 4 * max + 7];
        for universe in universes {
            let outcome = run(
                &mut rng,
                max_keys,
                Load::Fits { universe },
                steps_for(universe),
            );
            let context = format!("max_keys {max_keys}, {universe} distinct keys: {outcome:?}");
            assert_eq!(outcome.differing, 0, "{context}");
            assert_eq!(outcome.evicted_active, 0, "{context}");
            // Fewer keys than fit: none is ever forgotten. (With more,
            // whether one is depends on the run: one whose active keys fill
            // the bound early keeps to them; the flood tests below check
            // forgetting itself.)
            if universe <= max {
                assert_eq!(outcome.evicted, 0, "{context}");
            }
            // The runs do press on the bound and do get refused, or the
            // comparison would prove little.
            assert!(outcome.refusals > 0, "{context}");
            if universe > max {
                assert_eq!(outcome.most_active, max_keys, "{context}");
                assert!(outcome.steps_near_bound > 100, "{context}");
            } else if universe == max {
                assert!(outcome.most_active * 4 >= max_keys * 3, "{context}");
            }
        }
    }
}

#[test]
fn beyond_the_bound_decisions_differ_only_once_active_keys_are_forgotten() {
    let (mut rng, report) = seeded(SEED_VAR);
    eprintln!("seed {} ({SEED_VAR})", report.seed);
    for max_keys in MAX_KEYS {
        let universe = 4 * max_keys as u64 + 7;
        let outcome = run(
            &mut rng,
            max_keys,
            Load::Exceeds { universe },
            steps_for(universe),
        );
        // `run` checks the bound and each differing decision; here, that
        // the load did exceed the bound.
        assert!(
            outcome.most_active > max_keys && outcome.evicted_active > 0,
            "max_keys {max_keys}: {outcome:?}"
        );
    }
}

/// Runs `body` on its own thread; a hang becomes a failure after `secs`.
fn within(secs: u64, body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => worker.join().unwrap(),
        // The body panicked: report its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(e) = worker.join() {
                std::panic::resume_unwind(e);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung for {secs} s"),
    }
}

#[test]
fn memory_stays_bounded_under_a_flood_of_distinct_keys() {
    let (mut rng, report) = seeded(SEED_VAR);
    eprintln!("seed {} ({SEED_VAR})", report.seed);
    for max_keys in MAX_KEYS {
        let manual = ManualClock::new();
        let rate = Rate::per_second(10).unwrap();
        let keyed = KeyedLimiter::with_clock(rate, 2, max_keys, manual.clock()).unwrap();
        let flood = 20 * max_keys as u64 + 1000;
        for key in 0..flood {
            // Now and then time passes, so that the flood meets idle keys
            // as well as active ones.
            // (A key stays active for one period; about `max_keys` keys
            // later, it may or may not be idle.)
            if rng.below(8) == 0 {
                let steps = rng.below(16_000) as f64 / 1000.0;
                manual.advance(rate.period().mul_f64(steps / max_keys as f64));
            }
            assert!(keyed.allow(&key), "a new key always passes");
            assert!(
                keyed.len() <= max_keys,
                "max_keys {max_keys}: {} keys after key {key}",
                keyed.len()
            );
        }
        assert_eq!(keyed.len(), max_keys, "the flood fills the limiter");
        // Every key is remembered or was forgotten to make room.
        assert_eq!(keyed.len() as u64 + keyed.evicted(), flood);
        assert!(
            keyed.evicted_active() > 0 && keyed.evicted_active() < keyed.evicted(),
            "max_keys {max_keys}: both idle and active keys forgotten: {} of {}",
            keyed.evicted_active(),
            keyed.evicted()
        );
        // The count matches what the shards hold: once all are idle, a
        // sweep forgets exactly that many.
        manual.advance(Duration::from_secs(60));
        assert_eq!(keyed.retain_recent(), max_keys);
        assert!(keyed.is_empty());
    }
}

#[test]
fn concurrent_flood_never_exceeds_the_bound() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 20_000;
    within(60, || {
        for max_keys in [1, 33, 1024] {
            let manual = ManualClock::new();
            let keyed = Arc::new(
                KeyedLimiter::with_clock(
                    Rate::per_second(10).unwrap(),
                    1,
                    max_keys,
                    manual.clock(),
                )
                .unwrap(),
            );
            let barrier = Arc::new(Barrier::new(THREADS as usize + 1));
            let flooding = Arc::new(AtomicBool::new(true));
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (keyed, barrier) = (keyed.clone(), barrier.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        for i in 0..PER_THREAD {
                            // Distinct keys; every 4th call repeats a
                            // recent one (refused or forgotten).
                            let key = if i % 4 == 3 {
                                (t << 32) | (i - 1)
                            } else {
                                (t << 32) | i
                            };
                            let _ = keyed.allow(&key);
                            assert!(keyed.len() <= max_keys, "{} keys", keyed.len());
                        }
                    })
                })
                .collect();
            // The main thread watches the bound and moves time on, so that
            // idle and active keys both get forgotten.
            barrier.wait();
            let watcher = {
                let (keyed, flooding) = (keyed.clone(), flooding.clone());
                thread::spawn(move || {
                    let mut checks = 0u64;
                    while flooding.load(Ordering::Relaxed) {
                        assert!(keyed.len() <= max_keys, "{} keys", keyed.len());
                        checks += 1;
                        if checks % 64 == 0 {
                            manual.advance(Duration::from_millis(30));
                        }
                        thread::yield_now();
                    }
                    manual
                })
            };
            for h in handles {
                h.join().unwrap();
            }
            flooding.store(false, Ordering::Relaxed);
            let manual = watcher.join().unwrap();
            assert!(keyed.len() <= max_keys);
            // The count agrees with what the shards hold.
            let distinct = THREADS * (PER_THREAD - PER_THREAD / 4);
            assert!(keyed.len() as u64 + keyed.evicted() >= distinct);
            manual.advance(Duration::from_secs(60));
            let remembered = keyed.len();
            assert_eq!(keyed.retain_recent(), remembered, "max_keys {max_keys}");
            assert!(keyed.is_empty());
        }
    });
}

#[test]
fn concurrent_keys_within_the_bound_are_never_forgotten() {
    // 64 keys, bound 64, a frozen clock: each key admits exactly its burst,
    // however the threads interleave and wherever the keys hash.
    const THREADS: usize = 4;
    const KEYS: u64 = 64;
    const BURST: u32 = 3;
    within(60, || {
        for round in 0..20u64 {
            let manual = ManualClock::new();
            let keyed = Arc::new(
                KeyedLimiter::with_clock(
                    Rate::per_second(1).unwrap(),
                    BURST,
                    KEYS as usize,
                    manual.clock(),
                )
                .unwrap(),
            );
            let barrier = Arc::new(Barrier::new(THREADS));
            let handles: Vec<_> = (0..THREADS as u64)
                .map(|t| {
                    let (keyed, barrier) = (keyed.clone(), barrier.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        let mut admitted = vec![0u32; KEYS as usize];
                        for pass in 0..2 * u64::from(BURST) {
                            for k in 0..KEYS {
                                // Each thread walks the keys in its own order.
                                let key = (k * (2 * t + 1) + pass + round) % KEYS;
                                if keyed.allow(&(key * 0x9e37_79b9 + round)) {
                                    admitted[key as usize] += 1;
                                }
                            }
                        }
                        admitted
                    })
                })
                .collect();
            let mut total = vec![0u32; KEYS as usize];
            for h in handles {
                for (sum, n) in total.iter_mut().zip(h.join().unwrap()) {
                    *sum += n;
                }
            }
            assert!(
                total.iter().all(|&n| n == BURST),
                "round {round}: {total:?}"
            );
            assert_eq!(keyed.evicted(), 0);
            assert_eq!(keyed.len(), KEYS as usize);
        }
    });
}
