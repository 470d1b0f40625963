//! [`PoolHelper`]: what a worker thread offers the waits made on it (see
//! `task/help.rs`): a wait on the handle of a task of this pool, or a scope
//! join, runs this pool's queued work while it waits, one task at a time,
//! in the queue's order, through the same admission as the worker loop
//! (the rate limit's permit, the resource gates) and with the same
//! accounting (`State::running` counts the task from when it is taken).
//!
//! Where the next task comes from: this worker's own batch first (tasks it
//! took before the one now waiting, in queue order), then the queue, then
//! — in a batching pool — half of another worker's batch. With nothing to
//! take, the wait registers a watch in `State::helpers`, counted among the
//! sleepers, and a submitter's `wake_for` tells it when work arrives.
//!
//! Imports: the pool's state, sleep protocol and worker slots; the task
//! layer's `help` and `job`.

use super::inner::Inner;
use super::worker::{RoomWake, WorkerSlot};
use crate::task::help::{Help, Helper, Watch};
use crate::task::job::{PoolHooks, RunEnv};
use crate::task::small::Queued;
use std::sync::{Arc, Weak};

/// A worker thread's [`Helper`].
pub(crate) struct PoolHelper {
    pub(crate) inner: Arc<Inner>,
    pub(crate) slot: Arc<WorkerSlot>,
    pub(crate) hooks: Weak<dyn PoolHooks>,
}

impl PoolHelper {
    /// Runs `job` here, nested inside the task that waits. A shutdown that
    /// runs out of time meanwhile cancels both (`WorkerSlot::waiting`).
    fn run(&self, job: Queued) {
        let env = RunEnv {
            root: &self.inner.root,
            panic_handler: self.inner.config.panic_handler.as_ref(),
            current: &self.slot.current,
            tally: &self.slot.tally,
            hooks: &self.hooks,
            before_publish: &|| {},
        };
        let outer = self.slot.current.lock().clone();
        if let Some(outer) = &outer {
            self.slot.waiting.lock().push(outer.clone());
        }
        job.run(&env);
        if outer.is_some() {
            *self.slot.current.lock() = outer;
            self.slot.waiting.lock().pop();
        }
    }

    /// Runs a task of this worker's own batch (counted in `running` since
    /// it was taken); false when the batch is empty.
    fn run_own(&self) -> bool {
        let job = self.slot.batch.lock().pop_front();
        let Some(job) = job else {
            return false;
        };
        self.run(job);
        self.inner.state.lock().running -= 1;
        true
    }
}

impl Helper for PoolHelper {
    fn pool(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    fn help_or_watch(&self, watch: &Arc<Watch>) -> Help {
        if self.run_own() {
            return Help::Ran;
        }
        let inner = &self.inner;
        let mut state = inner.state.lock();
        if state.queue_len() > 0 {
            if let Some(limiter) = &inner.config.rate_limit {
                if let Err(limited) = limiter.check() {
                    return Help::Later(limited.earliest());
                }
            }
            let claim = self.slot.claim(inner, &mut state, 1);
            if claim.claimed > 0 {
                state.running += claim.claimed;
                let room = RoomWake::for_claim(&state, claim.claimed);
                // A waiting task put back in the queue: a sleeping worker
                // may take it while this one runs.
                let wake_worker = claim.promoted && inner.wake_one_for_later(&mut state);
                drop(state);
                room.notify(inner);
                if wake_worker {
                    inner.work_cv.notify_one();
                }
                self.run_own();
                return Help::Ran;
            }
        } else if inner.config.batching() && self.slot.steal(&state) {
            drop(state);
            return if self.run_own() {
                Help::Ran
            } else {
                // Taken back by another worker meanwhile: look again.
                self.help_or_watch(watch)
            };
        }
        state.helpers.push(Arc::clone(watch));
        inner.publish_sleepers(&state);
        // The sleeper's handshake (`sleep.rs`): a submitter to the injector
        // pushes without the lock and then looks at `sleepers`; registered
        // (SeqCst), this waiter looks at the injector again, so one of the
        // two sees the other.
        if inner
            .injector
            .as_ref()
            .is_some_and(|injector| injector.has_items())
        {
            state.helpers.pop();
            inner.publish_sleepers(&state);
            drop(state);
            // A submitter may still be writing its entry: let it.
            std::thread::yield_now();
            return Help::Ran;
        }
        Help::Watching
    }

    fn unwatch(&self, watch: &Arc<Watch>) {
        let mut state = self.inner.state.lock();
        let before = state.helpers.len();
        state.helpers.retain(|w| !Arc::ptr_eq(w, watch));
        if state.helpers.len() != before {
            self.inner.publish_sleepers(&state);
        }
    }
}
