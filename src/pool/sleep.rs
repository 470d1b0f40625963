//! The sleep/wake protocol: how idle workers spin, sleep and are woken
//! without a lost wake-up, and how submitters decide whom to wake.
//!
//! Everything both sides of the handshake touch lives here: [`Sleep`], the
//! atomics spinners and lock-free submitters read (`len_hint`, `sleepers`,
//! `spinning`, `closed_hint`), and the functions that move a worker between
//! searching, spinning and sleeping, or wake one. The worker loop
//! (`worker.rs`) calls them; submission (`submit.rs`) calls
//! [`Inner::wake_for`] and [`Inner::wake_after_injection`]. The protocol,
//! with the two SeqCst handshakes that replace the lock for the injector,
//! is written up in `README.md` beside this file ("Sleep and wake").
//!
//! A worker is in one of four places:
//!
//! | place     | counted in                    | left by                           |
//! |-----------|-------------------------------|-----------------------------------|
//! | running   | `State::running`              | finishing its batch               |
//! | searching | `spinning` (from `EarlySearch` or the end of a batch) | taking work, spinning, sleeping, exiting |
//! | spinning  | `spinning`                    | `work_hint` turning true, or the spin ending |
//! | sleeping  | `State::sleeping`, `sleepers` | a notify (counted in `waking`)     |
//! | helping   | `State::helpers`, `sleepers`  | a watch's notify from `wake_for`   |
//!
//! Imports: the pool's state and the injector; nothing above the pool.

use super::{Inner, State};
use crate::sync::{CachePadded, HandoffSpin, MutexGuard};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The atomics of the sleep protocol, shared by workers and submitters.
/// Each is a hint or a handshake flag: the truth is in [`State`], under the
/// state lock.
pub(crate) struct Sleep {
    /// Mirror of the queue length, for spinning workers (written under the
    /// state lock; pools with an injector look at the injector instead).
    len_hint: CachePadded<AtomicUsize>,
    /// Sleeping workers not yet notified (`sleeping - waking`), mirrored
    /// for submitters to the injector, which take the state lock to wake
    /// one only when this is non-zero. SeqCst: see [`sleep`].
    sleepers: CachePadded<AtomicUsize>,
    /// Mirror of `State::closed`, for spinning workers.
    closed_hint: AtomicBool,
    /// Workers spinning (or about to look at the queue) right now.
    spinning: CachePadded<AtomicUsize>,
    /// At most this many spin at once: half the workers, rounded up.
    max_spinning: usize,
}

impl Sleep {
    pub(crate) fn new(workers: usize) -> Sleep {
        Sleep {
            len_hint: CachePadded::default(),
            sleepers: CachePadded::default(),
            closed_hint: AtomicBool::new(false),
            spinning: CachePadded::default(),
            max_spinning: workers.div_ceil(2),
        }
    }

    #[inline]
    pub(crate) fn publish_len(&self, len: usize) {
        // ORDERING: a hint for spinners; the queue itself is read under the lock.
        self.len_hint.store(len, Ordering::Relaxed);
    }

    #[inline]
    fn len_hint(&self) -> usize {
        // ORDERING: see `publish_len`.
        self.len_hint.load(Ordering::Relaxed)
    }

    /// Tells spinners the pool closed (they stop spinning and look).
    pub(crate) fn publish_closed(&self) {
        // ORDERING: a hint; `State::closed` is the truth.
        self.closed_hint.store(true, Ordering::Relaxed);
    }

    fn closed_hint(&self) -> bool {
        // ORDERING: a hint; `State::closed` is the truth.
        self.closed_hint.load(Ordering::Relaxed)
    }

    /// Counts the caller as spinning, unless enough workers spin already.
    pub(crate) fn try_start_spinning(&self) -> bool {
        // ORDERING: bounds how many spin; no data is published through it.
        self.spinning
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.max_spinning).then_some(n + 1)
            })
            .is_ok()
    }

    fn stop_spinning(&self) {
        // ORDERING: SeqCst: a spinner that stops looks at the queue again,
        // and a submitter to the injector that saw it spinning relies on
        // that (see `wake_after_injection`).
        self.spinning.fetch_sub(1, Ordering::SeqCst);
    }

    fn spinning(&self) -> usize {
        // ORDERING: SeqCst, ordered after a worker's own `stop_spinning`
        // and its look at the injector (see `left_over`).
        self.spinning.load(Ordering::SeqCst)
    }
}

impl Inner {
    /// After a push to the injector, without the lock: wakes a sleeping
    /// worker if there is one to wake and no spinning worker will look.
    /// Both loads are SeqCst and pair with the workers' side: a worker
    /// registers as a sleeper, or stops spinning, and then looks at the
    /// injector (see [`sleep`]); this submitter reserved its slot and
    /// then looks at them. Either the worker sees the task or the submitter
    /// sees the worker. With a spinner about, the lock is left alone: a
    /// round trip to an idle pool would otherwise contend for it with the
    /// very worker that is taking the task.
    #[inline]
    pub(crate) fn wake_after_injection(&self) {
        if self.sleep.sleepers.load(Ordering::SeqCst) > 0 && self.sleep.spinning() == 0 {
            let state = self.state.lock();
            self.wake_for(state);
        }
    }

    /// Mirrors `sleeping - waking` for submitters to the injector; called
    /// under the state lock whenever either changes.
    #[inline]
    pub(crate) fn publish_sleepers(&self, state: &State) {
        if self.injector.is_some() {
            // ORDERING: SeqCst, see `wake_after_injection`.
            self.sleep.sleepers.store(
                state.sleeping.saturating_sub(state.waking) + state.helpers.len(),
                Ordering::SeqCst,
            );
        }
    }

    /// True when a spinning worker should stop spinning and look: work
    /// queued, or the pool closed.
    #[inline]
    fn work_hint(&self) -> bool {
        match &self.injector {
            Some(injector) => injector.has_items() || self.sleep.closed_hint(),
            None => self.sleep.len_hint() > 0 || self.sleep.closed_hint(),
        }
    }

    /// After a push: publish the length and wake as many sleeping workers as
    /// there is work that awake ones will not take. Releases the lock.
    #[inline]
    pub(crate) fn wake_for(&self, mut state: MutexGuard<'_, State>) {
        let len = state.queue_len();
        // Spinners only ask "is there work?": the hint is written when the
        // answer changes, not on every push (it is a shared cache line).
        if !state.hint_nonzero && self.injector.is_none() {
            state.hint_nonzero = true;
            self.sleep.publish_len(len);
        }
        let mut to_wake = 0;
        let mut watches = Vec::new();
        if state.sleeping > state.waking || !state.helpers.is_empty() {
            let available = state.waking + self.sleep.spinning();
            while state.sleeping > state.waking && len > available + to_wake {
                state.waking += 1;
                to_wake += 1;
            }
            // More work than the awake workers will take: tell the waits
            // that help (`help.rs`) too.
            if len > available + to_wake {
                watches = std::mem::take(&mut state.helpers);
            }
            self.publish_sleepers(&state);
        }
        drop(state);
        for _ in 0..to_wake {
            self.work_cv.notify_one();
        }
        for watch in watches {
            watch.notify();
        }
    }

    /// Wakes one sleeping worker (counted in `waking`) for work that the
    /// caller leaves behind; true when the caller must `notify_one` after
    /// unlocking.
    pub(crate) fn wake_one_for_later(&self, state: &mut State) -> bool {
        if state.sleeping > state.waking {
            state.waking += 1;
            self.publish_sleepers(state);
            return true;
        }
        false
    }
}

/// A worker counts in `Sleep::spinning` from just before its batch's last
/// handle task publishes its result: the submitter, woken by the result,
/// may submit again at once and must then find this worker looking rather
/// than wake a sleeping one (see `searching` in `worker.rs`).
#[derive(Default)]
pub(crate) struct EarlySearch {
    /// Set while the task running is its batch's last.
    pub(crate) last: Cell<bool>,
    /// Counted in `spinning` by `before_publish`; `finish_batch` takes
    /// the count over.
    counted: Cell<bool>,
}

impl EarlySearch {
    /// `RunEnv::before_publish` of this worker's tasks.
    pub(crate) fn before_publish(&self, inner: &Inner) {
        if self.last.get() && !self.counted.get() {
            self.counted.set(inner.sleep.try_start_spinning());
        }
    }

    /// At the end of a batch: whether the worker now counts as searching
    /// (counted already if the last task published a result).
    pub(crate) fn finish_batch(&self, inner: &Inner) -> bool {
        self.counted.replace(false) || inner.sleep.try_start_spinning()
    }
}

/// Ends this worker's count in `Sleep::spinning`. The caller looks at the
/// queue afterwards (the decrement is SeqCst; see `wake_after_injection`).
pub(crate) fn stop_searching(inner: &Inner, searching: &mut bool) {
    if std::mem::take(searching) {
        inner.sleep.stop_spinning();
    }
}

/// After this worker took work (with its count in `spinning` ended): if it
/// left tasks behind — in the injector, or (`more`) in a batch another
/// worker can take from — and nobody spins to take them, wakes a sleeper
/// (counted in `waking`; the caller notifies after unlocking). Submitters
/// to the injector leave the waking to a spinning worker, which may take
/// only part of what came, so the wake-up is passed on here: a task never
/// waits behind a long one while a worker sleeps.
pub(crate) fn left_over(inner: &Inner, state: &mut State, more: bool) -> bool {
    let left = more
        || state
            .intake
            .as_ref()
            .is_some_and(|intake| !intake.is_empty());
    left && inner.sleep.spinning() == 0 && inner.wake_one_for_later(state)
}

/// Spins for up to 40 µs (`sync::HandoffSpin`), watching the queue length,
/// so that work arriving right after the queue ran dry is taken without a
/// sleep/wake round trip through the kernel.
pub(crate) fn spin_for_work(inner: &Inner) {
    let mut backoff = HandoffSpin::new();
    while !backoff.is_completed() {
        if inner.work_hint() {
            return;
        }
        backoff.snooze();
    }
}

/// Sleeps until a submitter (or a shutdown, resize or clock jump) wakes us.
///
/// With an injector, submitters do not take the lock to push, so the lock
/// alone no longer rules out a lost wake-up. The handshake: this worker
/// registers (`sleepers`, SeqCst) and then looks at the injector (SeqCst); a
/// submitter reserves its slot (SeqCst) and then looks at `sleepers`. In
/// the single order of SeqCst operations one of the two comes first, so
/// either the worker sees the task and does not sleep, or the submitter
/// sees the sleeper and wakes it, taking the lock to do so, which it can
/// only get once the worker is waiting.
pub(crate) fn sleep<'a>(
    inner: &'a Inner,
    mut state: MutexGuard<'a, State>,
) -> MutexGuard<'a, State> {
    state.sleeping += 1;
    inner.publish_sleepers(&state);
    if inner
        .injector
        .as_ref()
        .is_none_or(|injector| !injector.has_items())
    {
        state = inner.work_cv.wait(state);
        if state.waking > 0 {
            state.waking -= 1;
        }
    }
    state.sleeping -= 1;
    inner.publish_sleepers(&state);
    state
}
