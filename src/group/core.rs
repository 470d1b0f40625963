//! What every form of group shares, whatever runs its members: the context,
//! first-error recording, panic capture and the limit's slot counting.
//!
//! Protocol: a spawner takes a slot (`acquire` / `try_acquire`) before it
//! starts a member, and the member gives it back (`finish`) after recording
//! its result, so at most `limit` member bodies run at once. The slot count
//! is a plain counter under one mutex with a condvar for spawners waiting for
//! a slot; a shared concurrency limiter (`limit/`) could replace `Slots`
//! without touching the rest.

use super::error::{LimitError, MemberError, MemberFailure, TryGoError};
use crate::context::Context;
use crate::sync::{Condvar, Mutex};
use std::any::Any;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;

pub(crate) struct Core<E> {
    ctx: Context,
    slots: Mutex<Slots>,
    /// Spawners waiting for a slot, and waiters for "no member active";
    /// notified under `slots`.
    slot_freed: Condvar,
    /// Every failure so far, first one first. The first push cancels `ctx`,
    /// with that failure as the cause.
    errors: Mutex<Vec<MemberError<E>>>,
    /// Writes a member's error for the cause: `E`'s `Debug`, captured where
    /// the group is built so that nothing else needs the bound.
    describe: fn(&E) -> String,
}

struct Slots {
    /// Members started (slot taken) and not yet finished.
    active: usize,
    limit: Option<usize>,
}

impl<E: fmt::Debug> Core<E> {
    pub(crate) fn new(parent: Option<&Context>) -> Core<E> {
        fn debug<E: fmt::Debug>(error: &E) -> String {
            format!("{error:?}")
        }
        Core {
            describe: debug::<E>,
            ctx: parent.map_or_else(Context::new, Context::child),
            slots: Mutex::new(Slots {
                active: 0,
                limit: None,
            }),
            slot_freed: Condvar::new(),
            errors: Mutex::new(Vec::new()),
        }
    }
}

impl<E> Core<E> {
    pub(crate) fn context(&self) -> &Context {
        &self.ctx
    }

    pub(crate) fn set_limit(&self, limit: usize) -> Result<(), LimitError> {
        if limit == 0 {
            return Err(LimitError::Zero);
        }
        let mut slots = self.slots.lock();
        if slots.active > 0 {
            return Err(LimitError::MembersActive {
                active: slots.active,
            });
        }
        slots.limit = Some(limit);
        Ok(())
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        self.slots.lock().limit
    }

    pub(crate) fn active(&self) -> usize {
        self.slots.lock().active
    }

    /// Takes a slot, waiting for one while the group is at its limit.
    pub(crate) fn acquire(&self) {
        let mut slots = self.slots.lock();
        while slots.limit.is_some_and(|limit| slots.active >= limit) {
            slots = self.slot_freed.wait(slots);
        }
        slots.active += 1;
    }

    /// Takes a slot if one is free.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut slots = self.slots.lock();
        if slots.limit.is_some_and(|limit| slots.active >= limit) {
            return false;
        }
        slots.active += 1;
        true
    }

    /// Gives a slot back.
    fn release(&self) {
        let mut slots = self.slots.lock();
        slots.active -= 1;
        // Every waiter: spawners (one of which gets the slot) and `wait_idle`.
        self.slot_freed.notify_all();
    }

    /// Waits until no member holds a slot.
    pub(crate) fn wait_idle(&self) {
        let mut slots = self.slots.lock();
        while slots.active > 0 {
            slots = self.slot_freed.wait(slots);
        }
    }

    /// Records a failure; the first one cancels the group's context with
    /// that failure as the cause.
    pub(crate) fn record(&self, error: MemberError<E>) {
        // Written before taking the lock (it runs the error's `Debug`), and
        // only while the context may still take it: a context already
        // cancelled keeps its first cause.
        let cause = (!self.ctx.is_cancelled()).then(|| self.failure(&error));
        let mut errors = self.errors.lock();
        errors.push(error);
        let first = errors.len() == 1;
        drop(errors);
        if first {
            match cause {
                Some(cause) => self.ctx.cancel_with_shared_cause(Arc::new(cause)),
                None => self.ctx.cancel(),
            };
        }
    }

    /// The cause for `error`. A panicking `Debug` of the member's error must
    /// not take the member's thread down with it.
    fn failure(&self, error: &MemberError<E>) -> MemberFailure {
        match error {
            MemberError::Failed(e) => MemberFailure::Failed(
                panic::catch_unwind(AssertUnwindSafe(|| (self.describe)(e)))
                    .unwrap_or_else(|_| "(its Debug implementation panicked)".to_string()),
            ),
            MemberError::Panicked(msg) => MemberFailure::Panicked(msg.clone()),
            MemberError::SpawnFailed(e) => MemberFailure::SpawnFailed(e.to_string()),
        }
    }

    /// Runs a member that holds a slot: catches its panic, records its
    /// failure, then gives the slot back.
    pub(crate) fn run<F>(&self, member: F)
    where
        F: FnOnce(&Context) -> Result<(), E>,
    {
        // A slot given back even if recording itself panics (it does not
        // allocate on the success path, but `record` may on failure).
        struct Release<'a, E>(&'a Core<E>);
        impl<E> Drop for Release<'_, E> {
            fn drop(&mut self) {
                self.0.release();
            }
        }
        let _release = Release(self);
        self.run_member(member);
    }

    /// Runs a member with the group's context, catches its panic and
    /// records its failure; slots are the caller's business (the pool form
    /// counts its own, beside its queue of members not yet started).
    pub(crate) fn run_member<F>(&self, member: F)
    where
        F: FnOnce(&Context) -> Result<(), E>,
    {
        match panic::catch_unwind(AssertUnwindSafe(|| member(&self.ctx))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.record(MemberError::Failed(e)),
            Err(payload) => self.record(MemberError::Panicked(panic_message(payload.as_ref()))),
        }
    }

    /// Records that a member took a slot but could not be started.
    pub(crate) fn spawn_failed(&self, error: std::io::Error) {
        self.record(MemberError::SpawnFailed(error));
        self.release();
    }

    /// Takes every failure recorded so far.
    pub(crate) fn take_errors(&self) -> Vec<MemberError<E>> {
        std::mem::take(&mut *self.errors.lock())
    }
}

impl<E> Core<E> {
    /// Go's `Go`: waits for a slot, then starts `member` through `spawn`,
    /// which puts the [`Member`] on a thread of the caller's kind.
    pub(crate) fn go<F, S>(self: &Arc<Self>, member: F, spawn: S)
    where
        F: FnOnce(&Context) -> Result<(), E>,
        S: FnOnce(Member<E, F>) -> io::Result<()>,
    {
        self.acquire();
        self.start(member, spawn);
    }

    /// Go's `TryGo`: starts `member` through `spawn` only if a slot is free
    /// now; otherwise hands it back, not run.
    pub(crate) fn try_go<F, S>(self: &Arc<Self>, member: F, spawn: S) -> Result<(), TryGoError<F>>
    where
        F: FnOnce(&Context) -> Result<(), E>,
        S: FnOnce(Member<E, F>) -> io::Result<()>,
    {
        if !self.try_acquire() {
            return Err(TryGoError::Full(member));
        }
        self.start(member, spawn);
        Ok(())
    }

    /// Starts a member that holds a slot; a thread the OS refuses is
    /// recorded as the member's failure and gives the slot back.
    fn start<F, S>(self: &Arc<Self>, member: F, spawn: S)
    where
        F: FnOnce(&Context) -> Result<(), E>,
        S: FnOnce(Member<E, F>) -> io::Result<()>,
    {
        let job = Member {
            core: Arc::clone(self),
            member,
        };
        if let Err(e) = spawn(job) {
            self.spawn_failed(e);
        }
    }
}

/// A member that holds a slot, ready for its thread: [`run`](Member::run)
/// is the whole body of that thread.
pub(crate) struct Member<E, F> {
    core: Arc<Core<E>>,
    member: F,
}

impl<E, F: FnOnce(&Context) -> Result<(), E>> Member<E, F> {
    pub(crate) fn run(self) {
        self.core.run(self.member);
    }
}

/// The builder of every member thread (one name for all group forms).
pub(crate) fn member_thread() -> thread::Builder {
    thread::Builder::new().name("gosling-group".into())
}

/// The message of a panic payload (`panic!` makes a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic payload of an unknown type".to_string()
    }
}
