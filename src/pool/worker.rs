//! The worker thread: take a task, run it, repeat; when there is nothing to
//! take, spin briefly, then sleep.
//!
//! [`WorkerSlot`] is what the pool keeps of each worker (its batch, its
//! counters); `Worker` is the loop, one method per step (gate, take, run,
//! idle, retire). The spin/sleep/wake side of the loop is in `sleep.rs`,
//! with the protocol in `README.md` beside this file.

use super::help::PoolHelper;
use super::sleep::{EarlySearch, left_over, sleep, spin_for_work, stop_searching};
use super::{Inner, State};
use crate::context::Context;
use crate::sync::{CachePadded, Mutex, MutexGuard};
use crate::task::help;
use crate::task::job::{PoolHooks, RunEnv, Tally};
use crate::task::small::Queued;
use crate::time::tsc::now_ns;
use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::Instant;

/// The most tasks a worker takes from the queue at once (FIFO queues; LIFO
/// and priority queues hand out one at a time, so their order holds at
/// dispatch).
const MAX_BATCH: usize = 32;

/// How many times a worker looks again, holding the lock, at an injector
/// slot whose submitter is still writing it, before it yields instead.
const PENDING_SPINS: u32 = 32;

thread_local! {
    /// The pool this thread works for (its `Inner` address), or 0.
    static CURRENT_POOL: Cell<usize> = const { Cell::new(0) };
}

/// True when the calling thread is a worker of the pool at `inner`.
pub(crate) fn is_worker_of(inner: &Inner) -> bool {
    CURRENT_POOL.with(|c| c.get()) == inner as *const Inner as usize
}

/// What the pool keeps of each live worker.
pub(crate) struct WorkerSlot {
    pub(crate) index: usize,
    /// Outcome counters, written by this worker only.
    pub(crate) tally: CachePadded<Tally>,
    /// The context of the handle task now running here, if any; a shutdown
    /// that runs out of time cancels it.
    pub(crate) current: Mutex<Option<Context>>,
    /// The contexts of the tasks waiting on this worker while it runs
    /// queued work for them (`help.rs`), outermost first: a shutdown that
    /// runs out of time cancels them with `current`.
    pub(crate) waiting: Mutex<Vec<Context>>,
    /// True while this worker runs a task body (`Stats::busy`).
    pub(crate) running_now: AtomicBool,
    /// Tasks this worker has taken from the queue and not started, in
    /// queue order; counted in `State::running` from the moment they were
    /// taken. The worker pops one at a time; a worker that runs dry takes
    /// the older half (`steal`, under the state lock), so a task never
    /// waits behind a long one in a batch while a worker is idle; a
    /// shutdown empties it (`take_unstarted`). Lock order: the state lock,
    /// then a batch lock.
    pub(crate) batch: Mutex<VecDeque<Queued>>,
    /// Nanoseconds spent busy in completed busy periods.
    pub(crate) busy_nanos: AtomicU64,
    /// Start of the current busy period (`tsc::now_ns`, the cheap clock,
    /// plus one), or 0 while idle.
    pub(crate) busy_since: AtomicU64,
}

impl WorkerSlot {
    fn new(index: usize, pool_tally: &Tally) -> Self {
        WorkerSlot {
            index,
            tally: CachePadded(pool_tally.for_worker()),
            current: Mutex::new(None),
            waiting: Mutex::new(Vec::new()),
            running_now: AtomicBool::new(false),
            batch: Mutex::new(VecDeque::with_capacity(MAX_BATCH)),
            busy_nanos: AtomicU64::new(0),
            busy_since: AtomicU64::new(0),
        }
    }

    /// Takes this worker's unstarted tasks, for a shutdown to end. Called
    /// under the state lock; the caller takes them out of `State::running`.
    pub(crate) fn take_unstarted(&self) -> VecDeque<Queued> {
        std::mem::take(&mut *self.batch.lock())
    }

    /// Runs this worker's batch to the end, one task at a time; returns how
    /// many it ran (tasks others took meanwhile are theirs to count).
    /// `early.last` is set while the task running is the batch's last
    /// (others only ever take from a batch, so it stays the last).
    fn run_batch(&self, env: &RunEnv<'_>, early: &EarlySearch) -> usize {
        let mut ran = 0;
        loop {
            // Popped alone: the lock is never held while a task runs.
            let job = {
                let mut batch = self.batch.lock();
                let job = batch.pop_front();
                early.last.set(batch.is_empty());
                job
            };
            let Some(job) = job else {
                break;
            };
            // ORDERING: statistics only (`Stats::busy`).
            self.running_now.store(true, Ordering::Relaxed);
            job.run(env);
            self.running_now.store(false, Ordering::Relaxed);
            ran += 1;
        }
        ran
    }

    /// Claims up to `take` queued tasks, in the queue's order, into this
    /// worker's batch (empty: run to the end before the worker, or a wait
    /// that helps, comes back for more). Called under the state lock. A
    /// resource-limited pool claims one task its resource admits, setting
    /// aside those it refuses (`resource.rs`).
    pub(crate) fn claim(&self, inner: &Arc<Inner>, state: &mut State, take: usize) -> Claim {
        let mut promoted = false;
        let mut pending = false;
        let mut batch = self.batch.lock();
        if let Some(limits) = &inner.config.resources {
            let (job, woke) = inner.pop_admitted(state, limits);
            promoted = woke;
            batch.extend(job);
        } else if let Some(intake) = &mut state.intake {
            pending = intake.take(take, |job| batch.push_back(job));
            // A submitter reserved the next slot and is writing it: that
            // takes nanoseconds unless it was preempted, so wait a little
            // here before giving the lock up.
            let mut spins = 0;
            while pending && batch.is_empty() && spins < PENDING_SPINS {
                std::hint::spin_loop();
                spins += 1;
                pending = intake.take(take, |job| batch.push_back(job));
            }
        } else {
            batch.extend(std::iter::from_fn(|| state.queue.pop()).take(take));
        }
        let claimed = batch.len();
        drop(batch);
        if state.queue.is_empty() && state.hint_nonzero {
            state.hint_nonzero = false;
            inner.sleep.publish_len(0);
        }
        Claim {
            claimed,
            promoted,
            pending,
        }
    }

    /// Moves the older half of another worker's unstarted batch into this
    /// one's; true if it found any. Called under the state lock, so one
    /// worker steals at a time (and holding both batch locks cannot
    /// deadlock: owners and shutdowns hold one at a time).
    pub(crate) fn steal(&self, state: &State) -> bool {
        for entry in &state.workers {
            if std::ptr::eq(&*entry.slot, self) {
                continue;
            }
            // A batch being popped right now is not worth waiting for.
            let Some(mut victim) = entry.slot.batch.try_lock() else {
                continue;
            };
            if victim.is_empty() {
                continue;
            }
            let half = victim.len().div_ceil(2);
            self.batch.lock().extend(victim.drain(..half));
            return true;
        }
        false
    }

    /// Busy time so far, including the current busy period.
    pub(crate) fn busy_nanos(&self) -> u64 {
        // ORDERING: statistics only.
        let done = self.busy_nanos.load(Ordering::Relaxed);
        let since = self.busy_since.load(Ordering::Relaxed);
        if since == 0 {
            return done;
        }
        done.saturating_add(now_ns().saturating_sub(since - 1))
    }
}

/// A live worker as the pool's state lists it.
pub(crate) struct WorkerEntry {
    pub(crate) slot: Arc<WorkerSlot>,
    pub(crate) thread: Option<JoinHandle<()>>,
}

/// Which submitters blocked on a full queue the places freed by a claim
/// wake.
pub(crate) enum RoomWake {
    None,
    One,
    All,
}

impl RoomWake {
    /// For `claimed` places just freed, with the state lock held: one
    /// waiter for one place, unless a batch waits — one freed place may not
    /// be enough for it, so every waiter is woken lest a batch absorb the
    /// wake-up a single submitter needed.
    pub(crate) fn for_claim(state: &State, claimed: usize) -> RoomWake {
        match (state.room_waiters, state.batch_waiters) {
            (0, _) => RoomWake::None,
            (_, 0) if claimed == 1 => RoomWake::One,
            _ => RoomWake::All,
        }
    }

    /// Wakes them; after the state lock is released.
    pub(crate) fn notify(self, inner: &Inner) {
        match self {
            RoomWake::None => {}
            RoomWake::One => inner.room_cv.notify_one(),
            RoomWake::All => inner.room_cv.notify_all(),
        }
    }
}

/// What [`WorkerSlot::claim`] took.
pub(crate) struct Claim {
    /// Tasks now in the batch (counted in nothing yet: the caller adds them
    /// to `State::running`).
    pub(crate) claimed: usize,
    /// A task waiting for its resource was put back in the queue meanwhile
    /// (another worker may take it).
    pub(crate) promoted: bool,
    /// A submitter to the injector is still writing the next entry.
    pub(crate) pending: bool,
}

/// Starts one worker thread; the caller holds the state lock and has already
/// counted the worker in `live`.
pub(crate) fn spawn_worker(inner: &Arc<Inner>, state: &mut State) -> io::Result<()> {
    let index = state.next_worker_index;
    let slot = Arc::new(WorkerSlot::new(index, &inner.tally));
    let mut builder = thread::Builder::new().name(format!("{}-{index}", inner.config.thread_name));
    if let Some(size) = inner.config.stack_size {
        builder = builder.stack_size(size);
    }
    let for_thread = (Arc::clone(inner), Arc::clone(&slot));
    let thread = builder.spawn(move || worker_main(for_thread.0, for_thread.1))?;
    state.next_worker_index += 1;
    state.threads += 1;
    state.workers.push(WorkerEntry {
        slot,
        thread: Some(thread),
    });
    Ok(())
}

fn worker_main(inner: Arc<Inner>, slot: Arc<WorkerSlot>) {
    CURRENT_POOL.with(|c| c.set(Arc::as_ptr(&inner) as usize));
    let hooks: Weak<dyn PoolHooks> = Arc::downgrade(&inner) as Weak<dyn PoolHooks>;
    // Waits made by this worker's tasks run the pool's queued work.
    help::install(Some(Rc::new(PoolHelper {
        inner: Arc::clone(&inner),
        slot: Arc::clone(&slot),
        hooks: hooks.clone(),
    })));
    if let Some(hook) = &inner.config.on_thread_start {
        let _ = catch_unwind(AssertUnwindSafe(|| hook(slot.index)));
    }
    let early = EarlySearch::default();
    let before_publish = || early.before_publish(&inner);
    let env = RunEnv {
        root: &inner.root,
        panic_handler: inner.config.panic_handler.as_ref(),
        current: &slot.current,
        tally: &slot.tally,
        hooks: &hooks,
        before_publish: &before_publish,
    };
    let mut worker = Worker {
        inner: &inner,
        slot: &slot,
        env,
        early: &early,
        batching: inner.config.batching(),
        delayed_since: None,
        ran: 0,
        busy: false,
        spun: false,
        searching: false,
    };
    let mut state = inner.state.lock();
    loop {
        if worker.ran > 0 {
            state.running -= worker.ran;
            worker.ran = 0;
        }
        if state.live > state.target {
            worker.retire(&mut state);
            drop(state);
            break;
        }
        let len = state.queue_len();
        if len > 0 {
            state = match worker.gate(state) {
                Ok(state) => worker.take(state, len),
                // It waited for a permit: look again.
                Err(state) => state,
            };
            continue;
        }
        // Nothing to take (any wait for a permit ends without a start).
        worker.delayed_since = None;
        if worker.batching && slot.steal(&state) {
            state = worker.run_stolen(state);
            continue;
        }
        state = match worker.idle(state) {
            ControlFlow::Continue(state) => state,
            ControlFlow::Break(state) => {
                drop(state);
                break;
            }
        };
    }
    if worker.busy {
        end_busy_period(&slot);
    }
    if let Some(hook) = &inner.config.on_thread_stop {
        let _ = catch_unwind(AssertUnwindSafe(|| hook(slot.index)));
    }
    // It holds the pool: gone before the pool learns this worker exited.
    help::install(None);
    inner.worker_exited(&slot);
}

/// One worker's loop state. The loop (`worker_main`) holds the state lock
/// between steps; each step takes the guard and gives it back:
///
/// - [`gate`](Worker::gate): the rate limiter's permit for the next start;
/// - [`take`](Worker::take): claim tasks into this worker's batch, wake
///   whom that calls for, run the batch (without the lock);
/// - [`run_stolen`](Worker::run_stolen): run what it took from another
///   worker's batch;
/// - [`idle`](Worker::idle): nothing to take — spin, sleep or exit
///   (`sleep.rs` holds the protocol);
/// - [`retire`](Worker::retire): leave the pool after a shrink.
struct Worker<'a> {
    inner: &'a Arc<Inner>,
    slot: &'a WorkerSlot,
    env: RunEnv<'a>,
    early: &'a EarlySearch,
    /// Takes a fair share of a FIFO queue at once (see `worker_main`).
    batching: bool,
    /// When this worker was first refused a permit for the start it waits for.
    delayed_since: Option<Instant>,
    /// Tasks run since the lock was last held, to take out of `running`.
    ran: usize,
    /// In a busy period (for `Stats::busy_time`).
    busy: bool,
    /// Spun once since it last found work: the next idle look sleeps.
    spun: bool,
    /// Counted in `Sleep::spinning` from the end of a batch until this
    /// worker takes work or sleeps: it is about to look at the queue, so a
    /// submitter need not wake anyone for it (see `wake_after_injection`).
    searching: bool,
}

impl<'a> Worker<'a> {
    /// A rate-limited pool's permit for the next start. The permit is taken
    /// just before the task, under the lock: none is spent without a task,
    /// and the queue's order decides which task it starts. `Err` after a
    /// wait for the next permit (the caller looks again).
    #[inline]
    fn gate(
        &mut self,
        mut state: MutexGuard<'a, State>,
    ) -> Result<MutexGuard<'a, State>, MutexGuard<'a, State>> {
        let Some(limiter) = &self.inner.config.rate_limit else {
            return Ok(state);
        };
        if let Err(limited) = limiter.check() {
            stop_searching(self.inner, &mut self.searching);
            let clock = limiter.clock();
            self.delayed_since.get_or_insert_with(|| clock.now());
            state.limit_waiters += 1;
            (state, _) = clock.wait_until(&self.inner.work_cv, state, Some(limited.earliest()));
            state.limit_waiters -= 1;
            return Err(state);
        }
        if let Some(since) = self.delayed_since.take() {
            let waited = limiter.clock().now().saturating_duration_since(since);
            state.delayed_starts += 1;
            state.start_delay = state.start_delay.saturating_add(waited);
        }
        Ok(state)
    }

    /// Takes work from a queue holding `len` tasks into this worker's
    /// batch — a fair share of a FIFO queue, so one lock acquisition serves
    /// many tasks; one task of a LIFO or priority queue, whose order must
    /// hold at the moment of dispatch, or of a gated pool, where each start
    /// takes a permit — then wakes whom that calls for and runs the batch
    /// without the lock.
    #[inline]
    fn take(&mut self, mut state: MutexGuard<'a, State>, len: usize) -> MutexGuard<'a, State> {
        let inner = self.inner;
        let take = if self.batching {
            (len / state.live.max(1)).clamp(1, MAX_BATCH)
        } else {
            1
        };
        let Claim {
            claimed,
            promoted,
            pending,
        } = self.slot.claim(inner, &mut state, take);
        if claimed == 0 {
            if pending {
                // The submitter writing the next entry was preempted: let it
                // run, without holding the lock.
                drop(state);
                thread::yield_now();
                return inner.state.lock();
            }
            // Otherwise every queued task stepped aside for its resource.
            return state;
        }
        state.running += claimed;
        self.spun = false;
        // Before looking for what it leaves behind (see `left_over`).
        stop_searching(inner, &mut self.searching);
        let wake_submitters = RoomWake::for_claim(&state, claimed);
        // A waiting task put back in the queue: a sleeping worker may take
        // it while this one runs its task.
        let wake_worker = if promoted {
            inner.wake_one_for_later(&mut state)
        } else {
            left_over(inner, &mut state, claimed > 1)
        };
        drop(state);
        if wake_worker {
            inner.work_cv.notify_one();
        }
        wake_submitters.notify(inner);
        self.run_batch();
        inner.state.lock()
    }

    /// Runs the tasks `steal` moved into this worker's batch (already
    /// counted in `running` by the worker that took them).
    fn run_stolen(&mut self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.spun = false;
        stop_searching(self.inner, &mut self.searching);
        let wake_worker = left_over(self.inner, &mut state, false);
        drop(state);
        if wake_worker {
            self.inner.work_cv.notify_one();
        }
        self.run_batch();
        self.inner.state.lock()
    }

    /// Runs this worker's batch (without the state lock), starting a busy
    /// period if none is open; the worker then counts as searching if it
    /// may (see `searching`).
    fn run_batch(&mut self) {
        if !self.busy {
            self.busy = true;
            // ORDERING: statistics only.
            self.slot.busy_since.store(now_ns() + 1, Ordering::Relaxed);
        }
        self.ran = self.slot.run_batch(&self.env, self.early);
        self.searching = self.early.finish_batch(self.inner);
    }

    /// Nothing to take: tells idle waiters to look, then exits a closed and
    /// drained pool (`Break`), or spins once, or sleeps (`Continue`, to
    /// look again).
    fn idle(
        &mut self,
        mut state: MutexGuard<'a, State>,
    ) -> ControlFlow<MutexGuard<'a, State>, MutexGuard<'a, State>> {
        let inner = self.inner;
        // Waiters re-check their own condition: one called from a task of
        // this pool is idle while that task still runs.
        if state.idle_waiters > 0 {
            inner.idle_cv.notify_all();
        }
        if state.closed && state.gates.parked == 0 {
            // Tasks waiting for their resource are drained like the queue.
            stop_searching(inner, &mut self.searching);
            state.live -= 1;
            // Workers that went to sleep in the closed pool while tasks
            // waited for their resource are woken by nothing else: a
            // permit's return wakes one worker, which runs the task and
            // would leave the others asleep (shutdown then never ends).
            if state.sleeping > 0 {
                inner.work_cv.notify_all();
            }
            return ControlFlow::Break(state);
        }
        if self.busy {
            self.busy = false;
            end_busy_period(self.slot);
        }
        if !self.spun && (self.searching || inner.sleep.try_start_spinning()) {
            self.spun = true;
            self.searching = true;
            drop(state);
            spin_for_work(inner);
            // Then looks again (the loop's first check) before sleeping.
            stop_searching(inner, &mut self.searching);
            return ControlFlow::Continue(inner.state.lock());
        }
        // Looks once more after this, in `sleep`.
        stop_searching(inner, &mut self.searching);
        self.spun = false;
        ControlFlow::Continue(sleep(inner, state))
    }

    /// Leaves the pool, which has more live workers than it wants.
    fn retire(&mut self, state: &mut State) {
        stop_searching(self.inner, &mut self.searching);
        // A submitter may have counted on this worker to look.
        if left_over(self.inner, state, false) {
            self.inner.work_cv.notify_one();
        }
        state.live -= 1;
    }
}

fn end_busy_period(slot: &WorkerSlot) {
    // ORDERING: statistics only.
    let since = slot.busy_since.swap(0, Ordering::Relaxed);
    if since != 0 {
        let spent = now_ns().saturating_sub(since - 1);
        slot.busy_nanos.fetch_add(spent, Ordering::Relaxed);
    }
}
