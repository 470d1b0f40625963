// What a queue holds: `Queued`, either a small fire-and-forget closure stored
// inline (`SmallJob`, no heap allocation) or a boxed `Job`.
//
// Why: a `spawn` used to cost one allocation on the submitting thread and one
// free on a worker. With one producer and two workers that cross-thread
// malloc/free pair was the largest single cost of a task (glibc's per-thread
// caches never get the chunks back, so the producer takes the slow path every
// time). A closure of up to three words (24 bytes: what most fire-and-forget
// closures capture — an `Arc`, a counter reference, an index) now travels in
// the queue slot itself, which stays 32 bytes. Larger or over-aligned
// closures are boxed as before.
//
// The `unsafe` here is a hand-rolled `Box<dyn FnOnce>` without the box: the
// closure's bytes live in `SmallJob::data` and one monomorphised function
// pointer (`consume::<F>`) knows their type. Invariants: `data` holds a live
// `F` from `SmallJob::new` until `consume` runs, and `consume` runs exactly
// once — from `run` (which forgets `self` first) or from `Drop`. Miri runs
// the tests at the bottom.

#![allow(unsafe_code)]

use super::job::{Job, RunEnv, Tally, run_spawn};
use crate::context::Context;
use std::cell::Cell;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// Room for a closure's captures, in words.
const WORDS: usize = 3;
type Storage = [MaybeUninit<usize>; WORDS];

/// A fire-and-forget closure stored inline.
pub(crate) struct SmallJob {
    /// Consumes the closure in `data`: runs it with `Some(env)`, drops it
    /// with `None`. Its type parameter is the closure's type.
    consume: unsafe fn(*mut Storage, Option<&RunEnv<'_>>),
    data: Storage,
    /// `Send` — `new` takes only `Send` closures — but not `Sync`: a shared
    /// `SmallJob` exposes nothing, and nothing needs one.
    _not_sync: PhantomData<Cell<()>>,
}

impl SmallJob {
    /// True when a closure of type `F` is stored inline.
    pub(crate) const fn fits<F>() -> bool {
        mem::size_of::<F>() <= mem::size_of::<Storage>()
            && mem::align_of::<F>() <= mem::align_of::<Storage>()
    }

    /// Stores `f` inline, or hands it back when it does not fit.
    #[inline]
    pub(crate) fn new<F>(f: F) -> Result<SmallJob, F>
    where
        F: FnOnce(&Context) + Send,
    {
        if !Self::fits::<F>() {
            return Err(f);
        }
        let mut data: Storage = [MaybeUninit::uninit(); WORDS];
        // SAFETY: `F` fits `data` in size and alignment (checked above), the
        // pointer covers the whole array, and `data` is uninitialised, so
        // nothing is overwritten that needed a drop.
        unsafe { data.as_mut_ptr().cast::<F>().write(f) };
        Ok(SmallJob {
            consume: consume::<F>,
            data,
            _not_sync: PhantomData,
        })
    }

    /// Runs the closure (as a fire-and-forget task: panics are caught,
    /// reported and counted).
    #[inline]
    pub(crate) fn run(self, env: &RunEnv<'_>) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `data` holds the closure `new` stored, of the type `consume`
        // was instantiated with, not consumed yet: `this` is never dropped, so
        // this is the one and only consumption.
        unsafe { (this.consume)(&raw mut this.data, Some(env)) }
    }

    /// Drops the closure without running it, as a shutdown does; counts the
    /// cancellation first, so whoever sees the closure dropped sees it.
    pub(crate) fn abandon(self, tally: &Tally) -> bool {
        tally.count_cancelled();
        let _ = catch_unwind(AssertUnwindSafe(move || drop(self)));
        true
    }
}

impl Drop for SmallJob {
    fn drop(&mut self) {
        // SAFETY: the closure is still in `data` (`run` consumes `self`
        // without dropping it), and after this `self` is gone.
        unsafe { (self.consume)(&raw mut self.data, None) }
    }
}

/// Moves the closure out of `data`, then runs or drops it.
///
/// # Safety
///
/// `data` holds a live `F` written by [`SmallJob::new`], which nothing reads
/// or drops after this call.
unsafe fn consume<F: FnOnce(&Context)>(data: *mut Storage, env: Option<&RunEnv<'_>>) {
    // SAFETY: per the contract, an initialised and aligned `F` is there, and
    // reading it moves it out for good.
    let f = unsafe { data.cast::<F>().read() };
    match env {
        Some(env) => run_spawn(f, env),
        None => drop(f),
    }
}

/// An entry of a pool's queue.
pub(crate) enum Queued {
    /// A small fire-and-forget closure, inline.
    Small(SmallJob),
    /// Anything else.
    Boxed(Box<dyn Job>),
}

impl Queued {
    /// A fire-and-forget closure, inline when it fits, else boxed.
    #[inline]
    pub(crate) fn spawn<F>(f: F) -> Queued
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        match SmallJob::new(f) {
            Ok(small) => Queued::Small(small),
            Err(f) => Queued::Boxed(Box::new(super::job::SpawnJob(f))),
        }
    }

    /// See [`Job::run`].
    #[inline]
    pub(crate) fn run(self, env: &RunEnv<'_>) {
        match self {
            Queued::Small(job) => job.run(env),
            Queued::Boxed(job) => job.run(env),
        }
    }

    /// See [`Job::abandon`].
    pub(crate) fn abandon(self, tally: &Tally) -> bool {
        match self {
            Queued::Small(job) => job.abandon(tally),
            Queued::Boxed(job) => job.abandon(tally),
        }
    }

    /// See [`Job::resource`].
    pub(crate) fn resource(&self) -> Option<&Arc<str>> {
        match self {
            Queued::Small(_) => None,
            Queued::Boxed(job) => job.resource(),
        }
    }

    /// See [`Job::will_not_run`].
    pub(crate) fn will_not_run(&self) -> bool {
        match self {
            Queued::Small(_) => false,
            Queued::Boxed(job) => job.will_not_run(),
        }
    }

    /// Identifies a boxed entry while it is queued (the box's address; a
    /// boxed job naming a resource is never zero-sized). Inline entries,
    /// which move with the queue, are 0.
    pub(crate) fn address(&self) -> usize {
        match self {
            Queued::Small(_) => 0,
            Queued::Boxed(job) => (&**job as *const dyn Job).cast::<()>() as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Mutex;
    use std::sync::Weak;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts drops of a value captured by a closure.
    struct DropCount(Arc<AtomicUsize>);

    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn with_env(body: impl FnOnce(&RunEnv<'_>)) -> Tally {
        let root = Context::new();
        let current = Mutex::new(None);
        let tally = Tally::default();
        let hooks: Weak<dyn crate::task::job::PoolHooks> = Weak::<NoHooks>::new();
        let env = RunEnv {
            root: &root,
            panic_handler: None,
            current: &current,
            tally: &tally,
            hooks: &hooks,
        };
        body(&env);
        tally
    }

    struct NoHooks;

    impl crate::task::job::PoolHooks for NoHooks {
        fn timer(&self) -> Option<Arc<crate::time::timer::Timer>> {
            None
        }
        fn retry_started(&self) {}
        fn requeue(&self, job: Box<dyn Job>, _: i32) -> Result<(), Box<dyn Job>> {
            Err(job)
        }
        fn retry_settled(&self) {}
    }

    #[test]
    fn a_pool_runs_and_abandons_inline_closures() {
        let pool = crate::Pool::new(2).unwrap();
        let (hits, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        for i in 0..20 {
            let (hits, captured) = (hits.clone(), DropCount(drops.clone()));
            pool.spawn(move |_| {
                let _keep = &captured;
                hits.fetch_add(i, Ordering::SeqCst);
            })
            .unwrap();
        }
        pool.wait_idle();
        assert_eq!(hits.load(Ordering::SeqCst), (0..20).sum());
        // Queued behind a held worker, then cancelled by a shutdown.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        pool.resize(1).unwrap();
        pool.spawn(move |_| gate.recv().unwrap()).unwrap();
        while pool.stats().busy == 0 {
            std::thread::yield_now();
        }
        for _ in 0..5 {
            let captured = DropCount(drops.clone());
            pool.spawn(move |_| drop(captured)).unwrap();
        }
        let report = pool.shutdown_now();
        release.send(()).unwrap();
        assert_eq!(report.cancelled(), 5);
        assert_eq!(drops.load(Ordering::SeqCst), 25);
    }

    #[test]
    fn the_queue_entry_stays_four_words() {
        assert_eq!(mem::size_of::<Queued>(), 4 * mem::size_of::<usize>());
    }

    #[test]
    fn a_small_closure_runs_once_and_drops_its_captures_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let (seen, captured) = (ran.clone(), DropCount(drops.clone()));
        let job = SmallJob::new(move |_: &Context| {
            let _keep = &captured;
            seen.fetch_add(1, Ordering::SeqCst);
        });
        let job = job.unwrap_or_else(|_| panic!("two words fit"));
        let tally = with_env(|env| Queued::Small(job).run(env));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(tally.succeeded.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_dropped_or_abandoned_closure_never_runs_and_drops_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        for abandon in [false, true] {
            let captured = DropCount(drops.clone());
            let job = SmallJob::new(move |_: &Context| {
                let _keep = &captured;
                unreachable!("never runs");
            });
            let job = job.unwrap_or_else(|_| panic!("one word fits"));
            if abandon {
                let tally = Tally::default();
                assert!(Queued::Small(job).abandon(&tally));
                assert_eq!(tally.cancelled.load(Ordering::SeqCst), 1);
            } else {
                drop(Queued::Small(job));
            }
        }
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_panicking_closure_is_caught_counted_and_its_captures_dropped() {
        let drops = Arc::new(AtomicUsize::new(0));
        let captured = DropCount(drops.clone());
        let job = SmallJob::new(move |_: &Context| {
            let _keep = &captured;
            panic!("boom");
        });
        let job = job.unwrap_or_else(|_| panic!("fits"));
        let tally = with_env(|env| job.run(env));
        assert_eq!(tally.panicked.load(Ordering::SeqCst), 1);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn zero_sized_and_full_size_closures_fit_larger_ones_are_boxed() {
        let hits = Arc::new(AtomicUsize::new(0));
        let zst = |_: &Context| {};
        assert!(matches!(Queued::spawn(zst), Queued::Small(_)));
        let three = (hits.clone(), 7u64, 9u64);
        let full = move |_: &Context| {
            three
                .0
                .fetch_add((three.1 + three.2) as usize, Ordering::SeqCst);
        };
        let full = Queued::spawn(full);
        assert!(matches!(full, Queued::Small(_)));
        with_env(|env| full.run(env));
        assert_eq!(hits.load(Ordering::SeqCst), 16);
        let four = [1u64, 2, 3, 4];
        let big = Queued::spawn(move |_: &Context| assert_eq!(four.iter().sum::<u64>(), 10));
        assert!(matches!(big, Queued::Boxed(_)));
        with_env(|env| big.run(env));
        #[repr(align(16))]
        struct Wide(u8);
        let wide = Wide(1);
        let over_aligned = Queued::spawn(move |_: &Context| {
            let whole = &wide; // captures the whole 16-aligned value
            assert_eq!(whole.0, 1);
        });
        assert!(matches!(over_aligned, Queued::Boxed(_)));
        with_env(|env| over_aligned.run(env));
    }
}
