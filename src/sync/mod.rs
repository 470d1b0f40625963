//! Private synchronisation primitives: every lock in gosling goes through here.
//!
//! - [`Mutex`] / [`Condvar`]: poison-free wrappers over the std types. A task
//!   that panics never runs while one of gosling's locks is held (task bodies
//!   run outside every lock), so poisoning carries no information for us; the
//!   wrappers recover the guard instead of propagating a second panic.
//! - [`CachePadded`]: keeps hot atomics written by different threads on
//!   different cache lines.
//! - [`Backoff`]: bounded spinning under contention (a compare-and-swap
//!   retried), then yielding.
//! - [`HandoffSpin`] (`spin.rs`): bounded spinning for a hand-off (work
//!   for a worker, a result for its submitter) for a time budget before
//!   the waiter parks, never yielding. It reads the cheap clock (`time/tsc.rs`, a leaf that imports nothing of the crate).
//! - [`Wake`]: something a manual clock (or another event source) can wake
//!   without knowing what it is; see `time::clock`.

#![forbid(unsafe_code)]

use std::ops::{Deref, DerefMut};
use std::time::Duration;

mod spin;

pub(crate) use spin::HandoffSpin;
pub(crate) use std::sync::MutexGuard;

/// A poison-free mutex.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

impl<T> Mutex<T> {
    pub(crate) const fn new(value: T) -> Self {
        Mutex(std::sync::Mutex::new(value))
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The guard if the lock is free right now.
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    #[allow(dead_code)] // kept for the modules that own their data outright
    pub(crate) fn into_inner(self) -> T {
        self.0
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A poison-free condition variable.
#[derive(Debug, Default)]
pub(crate) struct Condvar(std::sync::Condvar);

impl Condvar {
    pub(crate) const fn new() -> Self {
        Condvar(std::sync::Condvar::new())
    }

    #[inline]
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits at most `timeout`; the flag is true when the wait timed out.
    #[inline]
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        match self.0.wait_timeout(guard, timeout) {
            Ok((guard, result)) => (guard, result.timed_out()),
            Err(poisoned) => {
                let (guard, result) = poisoned.into_inner();
                (guard, result.timed_out())
            }
        }
    }

    #[inline]
    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    #[inline]
    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// Pads and aligns a value to 128 bytes (two cache lines: the adjacent-line
/// prefetcher of x86 pulls pairs), so that values written by different threads
/// do not share a line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> Deref for CachePadded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for CachePadded<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// Exponential spinning for a bounded number of steps, then yielding; the
/// caller parks once [`Backoff::is_completed`] says spinning no longer pays.
#[derive(Debug)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    const SPIN_LIMIT: u32 = 6;
    const YIELD_LIMIT: u32 = 10;

    /// The standard backoff: spinning, then a few yields.
    pub(crate) const fn new() -> Self {
        Backoff { step: 0 }
    }

    /// One round of waiting: spin 2^step times, or yield once spinning is done.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.step <= Self::SPIN_LIMIT {
            for _ in 0..1u32 << self.step {
                std::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
        if self.step <= Self::YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// True once the caller should block instead of snoozing again.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        self.step > Self::YIELD_LIMIT
    }
}

/// Something that can be woken by an event source that does not know its type
/// (a manual clock jumping forward wakes every sleeper registered with it).
///
/// An implementation must take the lock its waiters check their condition
/// under before notifying, so that a wake-up between a waiter's check and its
/// wait is never lost.
pub(crate) trait Wake: Send + Sync {
    fn wake(&self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backoff_ends_after_its_spins_and_yields() {
        let mut backoff = Backoff::new();
        let mut rounds = 0;
        while !backoff.is_completed() {
            backoff.snooze();
            rounds += 1;
        }
        assert_eq!(rounds, Backoff::YIELD_LIMIT + 1);
    }
}
