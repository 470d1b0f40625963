// What a queue holds: `Queued`, either a small job stored inline (`SmallJob`,
// no heap allocation: a fire-and-forget closure, or a task with a handle
// whose body is small) or a boxed `Job`.
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
// The `unsafe` here is a hand-rolled `Box<dyn InlineJob>` without the box:
// the job's bytes live in `SmallJob::data` and one monomorphised function
// pointer (`consume::<J>`) knows their type. Invariants: `data` holds a live
// `J` from `SmallJob::new` until `consume` runs, and `consume` runs exactly
// once — from `take` (which forgets `self` first) or from `Drop`. Miri runs
// the tests at the bottom, and the integration tests that run tasks
// through a pool (`.ci/run` names them).

#![allow(unsafe_code)]

use super::env::{Job, RunEnv, Tally};
use super::job::{Body, HandleJob, run_spawn, run_spawn_stamped};
use crate::context::Context;
use std::cell::Cell;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::callbacks::Callbacks;

/// Room for a closure's captures, in words.
const WORDS: usize = 3;
type Storage = [MaybeUninit<usize>; WORDS];

/// A job that can travel inline in a queue entry: consumed by value.
pub(crate) trait InlineJob: Send {
    /// See [`Job::run`].
    fn run_inline(self, env: &RunEnv<'_>);
    /// See [`Job::abandon`].
    fn abandon_inline(self, tally: &Tally, callbacks: Option<&Callbacks>) -> bool;
}

/// A fire-and-forget body, as an inline job.
pub(crate) struct SpawnBody<F>(pub(crate) F);

impl<F: FnOnce(&Context) + Send> InlineJob for SpawnBody<F> {
    #[inline]
    fn run_inline(self, env: &RunEnv<'_>) {
        run_spawn(self.0, env);
    }

    fn abandon_inline(self, tally: &Tally, _: Option<&Callbacks>) -> bool {
        // Counted first: whoever sees the closure dropped sees the count.
        tally.count_cancelled();
        let _ = catch_unwind(AssertUnwindSafe(move || drop(self)));
        true
    }
}

/// Boxed, for a closure too large to travel inline.
impl<F: FnOnce(&Context) + Send> Job for SpawnBody<F> {
    #[inline]
    fn run(self: Box<Self>, env: &RunEnv<'_>) {
        (*self).run_inline(env);
    }

    fn abandon(self: Box<Self>, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        (*self).abandon_inline(tally, callbacks)
    }
}

/// A fire-and-forget body of a pool with metrics, and when it was
/// submitted (`Tally::run_started`), for the latency histogram. A closure
/// of up to two words still travels inline.
pub(crate) struct TimedSpawn<F> {
    pub(crate) body: F,
    pub(crate) submitted: u64,
}

impl<F: FnOnce(&Context) + Send> InlineJob for TimedSpawn<F> {
    #[inline]
    fn run_inline(self, env: &RunEnv<'_>) {
        run_spawn_stamped(self.body, env, self.submitted);
    }

    fn abandon_inline(self, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        let submitted = self.submitted;
        SpawnBody(self.body).abandon_inline(tally, callbacks);
        tally.task_ended(submitted);
        true
    }
}

impl<F: FnOnce(&Context) + Send> Job for TimedSpawn<F> {
    fn run(self: Box<Self>, env: &RunEnv<'_>) {
        (*self).run_inline(env);
    }

    fn abandon(self: Box<Self>, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        (*self).abandon_inline(tally, callbacks)
    }
}

impl<B, T, E> InlineJob for HandleJob<B, T, E>
where
    B: Body<T, E>,
    T: Send + 'static,
    E: Send + 'static,
{
    #[inline]
    fn run_inline(self, env: &RunEnv<'_>) {
        self.run_owned(env);
    }

    fn abandon_inline(self, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        self.abandon_owned(tally, callbacks)
    }
}

/// What [`consume`] does with the job it moves out.
enum Action<'a, 'b> {
    Run(&'a RunEnv<'b>),
    Abandon(&'a Tally, Option<&'a Callbacks>),
    Drop,
}

/// A small job (a fire-and-forget closure, or a task with a handle and a
/// small body) stored inline.
pub(crate) struct SmallJob {
    /// Consumes the job in `data` as the action says; its type parameter is
    /// the job's type. Returns what `abandon` returns (true otherwise).
    consume: unsafe fn(*mut Storage, Action<'_, '_>) -> bool,
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

    /// Stores `job` inline, or hands it back when it does not fit.
    #[inline]
    pub(crate) fn new<J: InlineJob>(job: J) -> Result<SmallJob, J> {
        if !Self::fits::<J>() {
            return Err(job);
        }
        let mut data: Storage = [MaybeUninit::uninit(); WORDS];
        // SAFETY: `J` fits `data` in size and alignment (checked above), the
        // pointer covers the whole array, and `data` is uninitialised, so
        // nothing is overwritten that needed a drop.
        unsafe { data.as_mut_ptr().cast::<J>().write(job) };
        Ok(SmallJob {
            consume: consume::<J>,
            data,
            _not_sync: PhantomData,
        })
    }

    /// Consumes the job once, as `action` says.
    #[inline]
    fn take(self, action: Action<'_, '_>) -> bool {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `data` holds the job `new` stored, of the type `consume` was
        // instantiated with, not consumed yet: `this` is never dropped, so
        // this is the one and only consumption.
        unsafe { (this.consume)(&raw mut this.data, action) }
    }

    /// Runs the job (see [`Job::run`]).
    #[inline]
    pub(crate) fn run(self, env: &RunEnv<'_>) {
        self.take(Action::Run(env));
    }

    /// Ends the job without running it, as a shutdown does (see
    /// [`Job::abandon`]).
    pub(crate) fn abandon(self, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        self.take(Action::Abandon(tally, callbacks))
    }
}

impl Drop for SmallJob {
    fn drop(&mut self) {
        // SAFETY: the job is still in `data` (`take` consumes `self` without
        // dropping it), and after this `self` is gone.
        unsafe { (self.consume)(&raw mut self.data, Action::Drop) };
    }
}

/// Moves the job out of `data`, then runs, abandons or drops it.
///
/// # Safety
///
/// `data` holds a live `J` written by [`SmallJob::new`], which nothing reads
/// or drops after this call.
unsafe fn consume<J: InlineJob>(data: *mut Storage, action: Action<'_, '_>) -> bool {
    // SAFETY: per the contract, an initialised and aligned `J` is there, and
    // reading it moves it out for good.
    let job = unsafe { data.cast::<J>().read() };
    match action {
        Action::Run(env) => {
            job.run_inline(env);
            true
        }
        Action::Abandon(tally, callbacks) => job.abandon_inline(tally, callbacks),
        Action::Drop => {
            drop(job);
            true
        }
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
    /// A job inline when it fits (for a task with a handle: a body of up to
    /// two words beside the shared state's pointer), else boxed.
    #[inline]
    pub(crate) fn new<J: InlineJob + Job + 'static>(job: J) -> Queued {
        match SmallJob::new(job) {
            Ok(small) => Queued::Small(small),
            Err(job) => Queued::Boxed(Box::new(job)),
        }
    }

    /// A fire-and-forget closure, inline when it fits, else boxed.
    #[inline]
    pub(crate) fn spawn<F>(f: F) -> Queued
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        Queued::new(SpawnBody(f))
    }

    /// A fire-and-forget closure of a pool with metrics (see
    /// [`TimedSpawn`]).
    #[inline]
    pub(crate) fn timed_spawn<F>(job: TimedSpawn<F>) -> Queued
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        Queued::new(job)
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
    pub(crate) fn abandon(self, tally: &Tally, callbacks: Option<&Callbacks>) -> bool {
        match self {
            Queued::Small(job) => job.abandon(tally, callbacks),
            Queued::Boxed(job) => job.abandon(tally, callbacks),
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
            before_publish: &|| {},
        };
        body(&env);
        tally
    }

    struct NoHooks(Callbacks);

    impl crate::task::job::PoolHooks for NoHooks {
        fn callbacks(&self) -> &Callbacks {
            &self.0
        }
        fn timer(&self) -> Option<Arc<crate::time::timer::Timer>> {
            None
        }
        fn retry_started(&self) {}
        fn requeue(&self, job: Box<dyn Job>, _: i32) -> Result<(), Box<dyn Job>> {
            Err(job)
        }
        fn retry_settled(&self) {}
    }

    /// How long a test waits for a pool before it calls the wait hung
    /// (a failure with a message, not a hang).
    const BOUND: std::time::Duration =
        std::time::Duration::from_secs(if cfg!(miri) { 300 } else { 10 });

    /// Waits, bounded, until a worker runs a task.
    fn wait_busy(pool: &crate::Pool) {
        for _ in 0..20_000_000 {
            if pool.stats().busy > 0 {
                return;
            }
            std::thread::yield_now();
        }
        panic!("the holding task never started");
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
        assert_eq!(
            pool.wait_idle_timeout(BOUND),
            Ok(true),
            "the tasks never ended"
        );
        assert_eq!(hits.load(Ordering::SeqCst), (0..20).sum());
        // Queued behind a held worker, then cancelled by a shutdown.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        pool.resize(1).unwrap();
        pool.spawn(move |_| gate.recv().unwrap()).unwrap();
        wait_busy(&pool);
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
    fn tasks_with_small_bodies_travel_inline_and_end_once() {
        use crate::task::job::Plain;
        // A body of one word beside the shared state's pointer fits.
        assert!(SmallJob::fits::<
            HandleJob<Plain<fn(&Context) -> u64>, u64, ()>,
        >());
        let pool = crate::Pool::new(1).unwrap();
        let handles: Vec<_> = (0..10u64)
            .map(|i| pool.submit(move |_| i * 2).unwrap())
            .collect();
        let total: u64 = handles
            .into_iter()
            .map(|h| {
                h.wait_timeout(BOUND)
                    .unwrap_or_else(|_| panic!("never ended"))
                    .unwrap()
            })
            .sum();
        assert_eq!(total, 90);
        // Queued behind a held worker, then ended by a shutdown: each handle
        // learns it once.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        pool.spawn(move |_| gate.recv().unwrap()).unwrap();
        wait_busy(&pool);
        let queued: Vec<_> = (0..3u64)
            .map(|i| pool.submit(move |_| i).unwrap())
            .collect();
        let report = pool.shutdown_now();
        release.send(()).unwrap();
        assert_eq!(report.cancelled(), 3);
        for handle in queued {
            assert_eq!(
                handle.wait_timeout(BOUND).ok(),
                Some(Err(crate::TaskError::ShutDown))
            );
        }
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
        let job = SmallJob::new(SpawnBody(move |_: &Context| {
            let _keep = &captured;
            seen.fetch_add(1, Ordering::SeqCst);
        }));
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
            let job = SmallJob::new(SpawnBody(move |_: &Context| {
                let _keep = &captured;
                unreachable!("never runs");
            }));
            let job = job.unwrap_or_else(|_| panic!("one word fits"));
            if abandon {
                let tally = Tally::default();
                assert!(Queued::Small(job).abandon(&tally, None));
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
        let job = SmallJob::new(SpawnBody(move |_: &Context| {
            let _keep = &captured;
            panic!("boom");
        }));
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
