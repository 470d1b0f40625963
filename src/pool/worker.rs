//! The worker thread: take a task, run it, repeat; spin briefly, then sleep,
//! when there is nothing to take. The sleep/wake protocol is described in
//! `README.md` beside this file.

use super::{Inner, State};
use crate::context::Context;
use crate::sync::{Backoff, CachePadded, Mutex, MutexGuard};
use crate::task::job::{PoolHooks, RunEnv, Tally};
use std::cell::Cell;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::Instant;

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
    /// Nanoseconds spent busy in completed busy periods.
    pub(crate) busy_nanos: AtomicU64,
    /// Start of the current busy period (nanoseconds since the pool's
    /// epoch, plus one), or 0 while idle.
    pub(crate) busy_since: AtomicU64,
}

impl WorkerSlot {
    fn new(index: usize) -> Self {
        WorkerSlot {
            index,
            tally: CachePadded::default(),
            current: Mutex::new(None),
            busy_nanos: AtomicU64::new(0),
            busy_since: AtomicU64::new(0),
        }
    }

    /// Busy time so far, including the current busy period.
    pub(crate) fn busy_nanos(&self, epoch: Instant) -> u64 {
        // ORDERING: statistics only.
        let done = self.busy_nanos.load(Ordering::Relaxed);
        let since = self.busy_since.load(Ordering::Relaxed);
        if since == 0 {
            return done;
        }
        done.saturating_add(nanos_since(epoch).saturating_sub(since - 1))
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A live worker as the pool's state lists it.
pub(crate) struct WorkerEntry {
    pub(crate) slot: Arc<WorkerSlot>,
    pub(crate) thread: Option<JoinHandle<()>>,
}

/// Which submitters blocked on a full queue a freed slot wakes.
enum Wake {
    None,
    One,
    All,
}

/// Starts one worker thread; the caller holds the state lock and has already
/// counted the worker in `live`.
pub(crate) fn spawn_worker(inner: &Arc<Inner>, state: &mut State) -> io::Result<()> {
    let index = state.next_worker_index;
    let slot = Arc::new(WorkerSlot::new(index));
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
    if let Some(hook) = &inner.config.on_thread_start {
        let _ = catch_unwind(AssertUnwindSafe(|| hook(slot.index)));
    }
    let hooks: Weak<dyn PoolHooks> = Arc::downgrade(&inner) as Weak<dyn PoolHooks>;
    let env = RunEnv {
        root: &inner.root,
        panic_handler: inner.config.panic_handler.as_ref(),
        current: &slot.current,
        tally: &slot.tally,
        hooks: &hooks,
    };
    let mut state = inner.state.lock();
    let mut ran = false;
    let mut busy = false;
    let mut spun = false;
    loop {
        if ran {
            state.running -= 1;
            ran = false;
        }
        if state.live > state.target {
            state.live -= 1;
            break;
        }
        if let Some(job) = state.queue.pop() {
            state.running += 1;
            ran = true;
            spun = false;
            let len = state.queue.len();
            inner.publish_len(len);
            let wake_submitters = match (state.room_waiters, state.batch_waiters) {
                (0, _) => Wake::None,
                (_, 0) => Wake::One,
                _ => Wake::All,
            };
            drop(state);
            match wake_submitters {
                Wake::None => {}
                Wake::One => inner.room_cv.notify_one(),
                Wake::All => inner.room_cv.notify_all(),
            }
            if !busy {
                busy = true;
                // ORDERING: statistics only.
                slot.busy_since
                    .store(nanos_since(inner.epoch) + 1, Ordering::Relaxed);
            }
            if inner.root.is_cancelled() {
                // Taken just as the pool stopped: it must not start now.
                job.abandon(&slot.tally);
            } else {
                job.run(&env);
            }
            state = inner.state.lock();
            continue;
        }
        // Nothing to take. Waiters re-check their own condition: one called
        // from a task of this pool is idle while that task still runs.
        if state.idle_waiters > 0 {
            inner.idle_cv.notify_all();
        }
        if state.closed {
            state.live -= 1;
            break;
        }
        if busy {
            busy = false;
            end_busy_period(&inner, &slot);
        }
        if !spun && inner.try_start_spinning() {
            spun = true;
            drop(state);
            spin_for_work(&inner);
            inner.stop_spinning();
            state = inner.state.lock();
            continue;
        }
        spun = false;
        state = sleep(&inner, state);
    }
    if busy {
        end_busy_period(&inner, &slot);
    }
    drop(state);
    if let Some(hook) = &inner.config.on_thread_stop {
        let _ = catch_unwind(AssertUnwindSafe(|| hook(slot.index)));
    }
    inner.worker_exited(&slot);
}

fn end_busy_period(inner: &Inner, slot: &WorkerSlot) {
    // ORDERING: statistics only.
    let since = slot.busy_since.swap(0, Ordering::Relaxed);
    if since != 0 {
        let spent = nanos_since(inner.epoch).saturating_sub(since - 1);
        slot.busy_nanos.fetch_add(spent, Ordering::Relaxed);
    }
}

/// Spins (then yields) for a few microseconds, watching the queue length,
/// so that work arriving right after the queue ran dry is taken without a
/// sleep/wake round trip through the kernel.
fn spin_for_work(inner: &Inner) {
    let mut backoff = Backoff::with_yields(crate::sync::HANDOFF_YIELDS);
    while !backoff.is_completed() {
        if inner.len_hint() > 0 || inner.closed_hint() {
            return;
        }
        backoff.snooze();
    }
}

/// Sleeps until a submitter (or a shutdown, resize or clock jump) wakes us.
fn sleep<'a>(inner: &'a Inner, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
    state.sleeping += 1;
    state = inner.work_cv.wait(state);
    state.sleeping -= 1;
    if state.waking > 0 {
        state.waking -= 1;
    }
    state
}
