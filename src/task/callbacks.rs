// The pool's callback thread: where the completion callbacks of tasks that
// end off the workers run.
//
// A task's outcome is usually decided by the worker that ran it, and its
// callback runs there: a worker may be slow. Three outcomes are decided
// elsewhere — a deadline passing (on the timer thread), a shutdown
// cancelling queued tasks (on the thread that shuts down), a pending retry
// ended by a stopped timer or a closed pool — and user code must run on
// neither of those threads: a slow callback on the timer thread holds up
// every other deadline, and one on the shutting-down thread makes the
// shutdown's bound meaningless. Those deliveries (callback, then the result
// for the waiters, in that order, as everywhere) are handed to this thread
// instead. Tasks without a callback are still delivered where their outcome
// is decided: storing a result and waking a waiter runs no user code.
//
// The thread is started on first use (most pools never need it), runs the
// deliveries one at a time in the order they were handed over, and exits
// once it is stopped and has run everything it was given. A delivery handed
// over after the stop, or when the thread cannot be started, runs on the
// caller's thread: late, perhaps, but never lost. `wait_until` lets a
// shutdown wait for the deliveries within its bound and name the tasks
// whose callbacks were still pending when the bound ran out.

use super::TaskId;
use crate::sync::{Condvar, Mutex};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

/// A delivery: the task it is for (none for the pool's own work), and the
/// work (callback, then publish).
type Delivery = (Option<TaskId>, Box<dyn FnOnce() + Send>);

pub(crate) struct Callbacks {
    shared: Arc<Shared>,
    name: String,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    /// Protected: the deliveries waiting, the one running, and the flags.
    state: Mutex<State>,
    /// The thread waits here for deliveries; notified under `state`.
    work: Condvar,
    /// `wait_until` callers wait here for the thread to run dry.
    idle: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Delivery>,
    /// Whether a delivery runs now, and for which task.
    running: Option<Option<TaskId>>,
    started: bool,
    /// The thread could not be started: deliveries run on the caller.
    failed: bool,
    stopped: bool,
}

impl Callbacks {
    /// A callback thread named `name`, not started yet.
    pub(crate) fn new(name: String) -> Callbacks {
        Callbacks {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                idle: Condvar::new(),
            }),
            name,
            thread: Mutex::new(None),
        }
    }

    /// Runs `delivery` (the delivery of task `id`) on the callback thread,
    /// after those handed over before it; on the caller's thread when the
    /// callback thread is stopped or cannot be started.
    pub(crate) fn run(&self, id: TaskId, delivery: Box<dyn FnOnce() + Send>) {
        self.run_for(Some(id), delivery);
    }

    /// Runs work of the pool's own there (no task's callback: not named in
    /// `wait_until`'s list).
    pub(crate) fn run_internal(&self, work: Box<dyn FnOnce() + Send>) {
        self.run_for(None, work);
    }

    fn run_for(&self, id: Option<TaskId>, delivery: Box<dyn FnOnce() + Send>) {
        let mut state = self.shared.state.lock();
        if state.stopped || state.failed {
            drop(state);
            run_one(delivery);
            return;
        }
        if !state.started {
            let shared = Arc::clone(&self.shared);
            match thread::Builder::new()
                .name(self.name.clone())
                .spawn(move || shared.serve())
            {
                Ok(thread) => {
                    state.started = true;
                    *self.thread.lock() = Some(thread);
                }
                Err(_) => {
                    state.failed = true;
                    drop(state);
                    run_one(delivery);
                    return;
                }
            }
        }
        state.queue.push_back((id, delivery));
        drop(state);
        self.shared.work.notify_one();
    }

    /// Waits until every delivery handed over so far has run, or until
    /// `deadline` (real time; `None`: no limit). Returns the tasks whose
    /// deliveries had not finished then — the one running first — or an
    /// empty list.
    ///
    /// Called from a delivery on the callback thread itself (a callback that
    /// shuts its pool down), it cannot wait for itself: it returns at once.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> Vec<TaskId> {
        let on_this_thread = self.is_current();
        let mut state = self.shared.state.lock();
        loop {
            if state.running.is_none() && state.queue.is_empty() {
                return Vec::new();
            }
            let now = Instant::now();
            match deadline {
                _ if on_this_thread => {
                    return state.queue.iter().filter_map(|(id, _)| *id).collect();
                }
                Some(deadline) if now >= deadline => {
                    return state
                        .running
                        .into_iter()
                        .flatten()
                        .chain(state.queue.iter().filter_map(|(id, _)| *id))
                        .collect();
                }
                Some(deadline) => {
                    (state, _) = self.shared.idle.wait_timeout(state, deadline - now);
                }
                None => state = self.shared.idle.wait(state),
            }
        }
    }

    /// True when called on the callback thread.
    fn is_current(&self) -> bool {
        self.thread
            .lock()
            .as_ref()
            .is_some_and(|thread| thread.thread().id() == thread::current().id())
    }

    /// Deliveries handed over and not finished yet.
    pub(crate) fn pending(&self) -> usize {
        let state = self.shared.state.lock();
        state.queue.len() + usize::from(state.running.is_some())
    }

    /// Stops the thread once it has run what it holds; later deliveries run
    /// on their callers. Joins the thread if it has nothing left to run
    /// (else it is left to finish on its own: a callback that never returns
    /// keeps its thread, as a task that never returns keeps its worker).
    /// Idempotent.
    pub(crate) fn stop(&self) {
        let mut state = self.shared.state.lock();
        state.stopped = true;
        let drained = state.running.is_none() && state.queue.is_empty();
        drop(state);
        self.shared.work.notify_all();
        if drained {
            let thread = self.thread.lock().take();
            if let Some(thread) = thread {
                if thread.thread().id() != thread::current().id() {
                    let _ = thread.join();
                }
            }
        }
    }
}

impl Shared {
    fn serve(&self) {
        let mut state = self.state.lock();
        loop {
            if let Some((id, delivery)) = state.queue.pop_front() {
                state.running = Some(id);
                drop(state);
                run_one(delivery);
                state = self.state.lock();
                state.running = None;
                if state.queue.is_empty() {
                    self.idle.notify_all();
                }
                continue;
            }
            if state.stopped {
                return;
            }
            state = self.work.wait(state);
        }
    }
}

/// Runs one delivery; a panic in it (a callback's is caught inside already)
/// must not end the thread.
fn run_one(delivery: Box<dyn FnOnce() + Send>) {
    let _ = catch_unwind(AssertUnwindSafe(delivery));
}

impl Drop for Callbacks {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn runs_deliveries_in_order_off_the_caller() {
        let callbacks = Callbacks::new("callbacks-test".into());
        let (tx, rx) = mpsc::channel();
        let caller = thread::current().id();
        for n in 0..5u64 {
            let tx = tx.clone();
            callbacks.run(
                TaskId::from(n),
                Box::new(move || tx.send((n, thread::current().id())).unwrap()),
            );
        }
        assert!(callbacks.wait_until(None).is_empty());
        let got: Vec<_> = rx.try_iter().collect();
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert!(got.iter().all(|g| g.1 != caller));
        callbacks.stop();
        // After the stop: on the caller, at once.
        callbacks.run(
            TaskId::from(9),
            Box::new(move || tx.send((9, thread::current().id())).unwrap()),
        );
        assert_eq!(rx.try_recv().unwrap(), (9, caller));
    }

    #[test]
    fn a_wait_bounded_by_a_deadline_names_what_is_pending() {
        let callbacks = Callbacks::new("callbacks-test".into());
        let (release, gate) = mpsc::channel::<()>();
        let (entered_tx, entered) = mpsc::channel();
        callbacks.run(
            TaskId::from(1),
            Box::new(move || {
                entered_tx.send(()).unwrap();
                let _ = gate.recv();
            }),
        );
        callbacks.run(TaskId::from(2), Box::new(|| ()));
        entered.recv().unwrap();
        let pending = callbacks.wait_until(Some(Instant::now()));
        assert_eq!(pending, [TaskId::from(1), TaskId::from(2)]);
        assert_eq!(callbacks.pending(), 2);
        release.send(()).unwrap();
        let far = Instant::now() + Duration::from_secs(30);
        assert!(callbacks.wait_until(Some(far)).is_empty());
        assert_eq!(callbacks.pending(), 0);
    }

    #[test]
    fn a_panicking_delivery_does_not_end_the_thread() {
        let callbacks = Callbacks::new("callbacks-test".into());
        let (tx, rx) = mpsc::channel();
        callbacks.run(TaskId::from(1), Box::new(|| panic!("in a callback")));
        callbacks.run(TaskId::from(2), Box::new(move || tx.send(2).unwrap()));
        assert!(callbacks.wait_until(None).is_empty());
        assert_eq!(rx.try_recv(), Ok(2));
    }
}
