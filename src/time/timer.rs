// The timer: one thread that runs short callbacks at their deadlines.
//
// Entries live in a `BTreeMap` keyed by (deadline, sequence number), so the
// next one due is the first key and an entry is removed in O(log n) when its
// task finishes early: a pool with long timeouts and many short tasks keeps
// only the entries of tasks still in flight. The thread waits on a condition
// variable until the first deadline (on the timer's `Clock`; a manual clock
// wakes it through the `Wake` registration) and runs due callbacks outside
// the lock. Callbacks must be short and must not block: they run one after
// another on the timer thread.

use crate::sync::{Condvar, Mutex, Wake};
use crate::time::Clock;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::Instant;

type Callback = Box<dyn FnOnce() + Send>;

/// Identifies a scheduled entry, for [`Timer::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    at: Instant,
    seq: u64,
}

pub(crate) struct Timer {
    shared: Arc<TimerShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct TimerShared {
    /// Protected: the entries, the sequence counter and the stop flag.
    state: Mutex<TimerState>,
    /// The timer thread waits here; notified under `state`.
    cv: Condvar,
    clock: Clock,
}

struct TimerState {
    entries: BTreeMap<TimerKey, Callback>,
    next_seq: u64,
    stopped: bool,
    /// The deadline the timer thread is asleep until; `None` while it runs
    /// or sleeps without one. It wakes then whatever happened to the
    /// entries meanwhile, so a new entry due no earlier needs no wake-up:
    /// with eager removal, a stream of tasks with equal timeouts costs the
    /// timer thread one wake-up per timeout period, not one per task.
    armed_until: Option<Instant>,
}

impl Wake for TimerShared {
    fn wake(&self) {
        let _state = self.state.lock();
        self.cv.notify_all();
    }
}

impl Timer {
    /// Starts the timer thread.
    pub(crate) fn start(clock: Clock, name: String) -> io::Result<Timer> {
        let shared = Arc::new(TimerShared {
            state: Mutex::new(TimerState {
                entries: BTreeMap::new(),
                next_seq: 0,
                stopped: false,
                armed_until: None,
            }),
            cv: Condvar::new(),
            clock,
        });
        let weak: Weak<TimerShared> = Arc::downgrade(&shared);
        shared.clock.subscribe(weak);
        let for_thread = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name(name)
            .spawn(move || run(&for_thread))?;
        Ok(Timer {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `callback` on the timer thread once `at` has passed; returns
    /// `None` (dropping the callback) once the timer is stopped.
    pub(crate) fn schedule(&self, at: Instant, callback: Callback) -> Option<TimerKey> {
        let mut state = self.shared.state.lock();
        if state.stopped {
            return None;
        }
        let key = TimerKey {
            at,
            seq: state.next_seq,
        };
        state.next_seq += 1;
        let wake = state.armed_until.is_none_or(|armed| at < armed);
        state.entries.insert(key, callback);
        drop(state);
        if wake {
            self.shared.cv.notify_one();
        }
        Some(key)
    }

    /// Removes an entry that has not fired; true when it was still pending.
    pub(crate) fn cancel(&self, key: TimerKey) -> bool {
        let removed = self.shared.state.lock().entries.remove(&key);
        // Drop the callback outside the lock.
        removed.is_some()
    }

    /// Stops the thread; pending entries are dropped unrun. Idempotent.
    pub(crate) fn stop(&self) {
        let pending = {
            let mut state = self.shared.state.lock();
            state.stopped = true;
            std::mem::take(&mut state.entries)
        };
        self.shared.cv.notify_all();
        drop(pending);
        let thread = self.thread.lock().take();
        if let Some(thread) = thread {
            if thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
    }

    /// Entries waiting to fire.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.shared.state.lock().entries.len()
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").finish_non_exhaustive()
    }
}

fn run(shared: &TimerShared) {
    let mut state = shared.state.lock();
    loop {
        if state.stopped {
            return;
        }
        let now = shared.clock.now();
        let due = match state.entries.first_key_value() {
            Some((key, _)) if key.at <= now => Some(*key),
            _ => None,
        };
        if let Some(key) = due {
            let callback = state.entries.remove(&key);
            drop(state);
            if let Some(callback) = callback {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback));
            }
            state = shared.state.lock();
            continue;
        }
        let next = state.entries.first_key_value().map(|(key, _)| key.at);
        state.armed_until = next;
        (state, _) = shared.clock.wait_until(&shared.cv, state, next);
        state.armed_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_order_on_a_manual_clock() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let timer = Timer::start(clock.clone(), "timer-test".into()).unwrap();
        let (tx, rx) = mpsc::channel();
        let t0 = clock.now();
        for (delay, tag) in [(30, "c"), (10, "a"), (20, "b")] {
            let tx = tx.clone();
            timer
                .schedule(
                    t0 + Duration::from_secs(delay),
                    Box::new(move || tx.send(tag).unwrap()),
                )
                .unwrap();
        }
        let cancelled = {
            let tx = tx.clone();
            timer
                .schedule(
                    t0 + Duration::from_secs(15),
                    Box::new(move || tx.send("x").unwrap()),
                )
                .unwrap()
        };
        assert!(timer.cancel(cancelled));
        assert!(rx.try_recv().is_err());
        manual.advance(Duration::from_secs(20));
        assert_eq!(rx.recv().unwrap(), "a");
        assert_eq!(rx.recv().unwrap(), "b");
        assert_eq!(timer.pending(), 1);
        manual.advance(Duration::from_secs(10));
        assert_eq!(rx.recv().unwrap(), "c");
        timer.stop();
        assert!(timer.schedule(t0, Box::new(|| ())).is_none());
    }
}
