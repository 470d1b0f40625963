//! Waiting by helping: a wait made on one of a pool's own workers — a task
//! waiting on the handle of a task of its own pool, a [`Pool::scope`]
//! opened inside a task — runs queued work of that pool while it waits,
//! instead of blocking the worker that work may need.
//!
//! The pool installs a [`Helper`] in each worker thread (`pool/help.rs`);
//! the waits here ask the calling thread's helper, if it works for the pool
//! the awaited work belongs to, to run one task that may start now, or else
//! to register a [`Watch`] that is told when work arrives. The wait then
//! blocks on its own condition (the task's result, the scope's count) until
//! it is done, its deadline passes, or the watch is told. A helping run is
//! nested on the waiter's stack, so nesting is bounded ([`MAX_DEPTH`]):
//! deeper waits block as any other thread's would.
//!
//! Imports: sync only; the pool layer plugs in through the [`Helper`]
//! trait (the task layer never imports the pool).

use crate::sync::Wake;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How many helping runs may nest on one worker's stack. Each level holds
/// the frames of a task body and of a wait inside it; past this, a wait
/// blocks without helping.
pub(crate) const MAX_DEPTH: u32 = 16;

/// What a pool's worker thread offers the waits made on it.
pub(crate) trait Helper {
    /// The pool this thread works for (its address, as `Shared::pool`).
    fn pool(&self) -> usize;

    /// Runs one task of the pool that may start now, in the queue's order,
    /// on this thread ([`Help::Ran`]); or, with none to run, registers
    /// `watch` to be told when work is queued ([`Help::Watching`]).
    fn help_or_watch(&self, watch: &Arc<Watch>) -> Help;

    /// Removes `watch` if it is still registered.
    fn unwatch(&self, watch: &Arc<Watch>);
}

/// What [`Helper::help_or_watch`] did.
pub(crate) enum Help {
    /// Ran one task, or saw work arriving: look again.
    Ran,
    /// Registered the watch: nothing could start.
    Watching,
    /// Work is queued but the pool's rate limit lets none start before this
    /// instant (on the pool's clock); nothing registered.
    Later(Instant),
}

/// A waiter's registration with its pool: set, then the waiter woken, when
/// work is queued. The waiter checks the flag under the same lock under
/// which it sleeps, and the waker takes that lock to wake it, so the wake-up
/// cannot be lost.
pub(crate) struct Watch {
    pub(crate) work: AtomicBool,
    waiter: Arc<dyn Wake>,
}

impl Watch {
    /// Tells the waiter that work arrived.
    pub(crate) fn notify(&self) {
        // ORDERING: Release pairs with the waiter's Acquire load of `work`
        // under its own lock; `wake` takes that lock.
        self.work.store(true, Ordering::Release);
        self.waiter.wake();
    }
}

thread_local! {
    /// The helper of the pool this thread works for, if it is a worker.
    static HELPER: RefCell<Option<Rc<dyn Helper>>> = const { RefCell::new(None) };
    /// Helping runs nested on this thread right now.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Installs (or, with `None`, removes) the calling worker thread's helper.
pub(crate) fn install(helper: Option<Rc<dyn Helper>>) {
    HELPER.with(|h| *h.borrow_mut() = helper);
}

/// The calling thread's helper, if it works for `pool` and may nest one
/// more helping run.
///
/// On every handle wait: a thread that is no pool's worker pays one
/// thread-local read.
#[inline]
pub(crate) fn helper_for(pool: usize) -> Option<Rc<dyn Helper>> {
    HELPER
        .with(|h| h.borrow().as_ref().filter(|h| h.pool() == pool).cloned())
        .filter(|_| DEPTH.with(Cell::get) < MAX_DEPTH)
}

/// Counts one nested helping run while alive.
struct Nested;

impl Nested {
    fn enter() -> Nested {
        DEPTH.with(|d| d.set(d.get() + 1));
        Nested
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// Waits by helping until `done()` or `deadline` (read with `now`): runs
/// the pool's queued work while there is some, and otherwise blocks through
/// `block(until, work)`, which must return once done, at `until`, or once
/// `work` is set (`waiter`, woken by the watch, is what wakes it). True
/// when done.
pub(crate) fn wait_helping(
    helper: &dyn Helper,
    waiter: Arc<dyn Wake>,
    deadline: Option<Instant>,
    now: impl Fn() -> Instant,
    done: impl Fn() -> bool,
    mut block: impl FnMut(Option<Instant>, &AtomicBool),
) -> bool {
    let watch = Arc::new(Watch {
        work: AtomicBool::new(false),
        waiter,
    });
    loop {
        if done() {
            return true;
        }
        if deadline.is_some_and(|deadline| now() >= deadline) {
            return done();
        }
        let help = {
            let _nested = Nested::enter();
            helper.help_or_watch(&watch)
        };
        match help {
            Help::Ran => {}
            Help::Watching => {
                block(deadline, &watch.work);
                helper.unwatch(&watch);
                // ORDERING: the watch is unregistered: nobody sets it now.
                watch.work.store(false, Ordering::Relaxed);
            }
            Help::Later(at) => {
                let until = deadline.map_or(at, |deadline| deadline.min(at));
                block(Some(until), &watch.work);
            }
        }
    }
}
