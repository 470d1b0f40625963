//! [`Scope`]: tasks that borrow from the caller's stack, joined before
//! [`Pool::scope`] returns.
//!
//! The one use of `unsafe` in the pool: a scope task's closure borrows data
//! living for `'scope`, yet the queue holds `'static` jobs. The lifetime is
//! erased when the job enters the queue; soundness rests on `Pool::scope`
//! not returning (nor unwinding) before every job it queued has been run or
//! dropped, which the pending count below guarantees on every path.

use super::submit::Wait;
use super::{Pool, SubmitError};
use crate::context::Context;
use crate::sync::{Condvar, Mutex, Wake};
use crate::task::TaskPanic;
use crate::task::callbacks::Callbacks;
use crate::task::error::panic_message;
use crate::task::help;
use crate::task::job::{Job, RunEnv, Tally};
use crate::task::small::Queued;
use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A scope for tasks that borrow from the stack; see [`Pool::scope`].
///
/// # Examples
///
/// ```
/// let pool = gosling::Pool::new(2)?;
/// let words = vec!["alpha", "beta", "gamma"];
/// let mut lengths = vec![0; words.len()];
/// pool.scope(|s| {
///     for (word, slot) in words.iter().zip(lengths.iter_mut()) {
///         s.spawn(move |_| *slot = word.len()).unwrap();
///     }
/// });
/// assert_eq!(lengths, [5, 4, 5]);
/// # Ok::<(), gosling::BuildError>(())
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    pool: &'scope Pool,
    state: Arc<ScopeState>,
    /// Invariant in both lifetimes, as `std::thread::Scope` is.
    _marker: PhantomData<(&'scope mut &'scope (), &'env mut &'env ())>,
}

struct ScopeState {
    /// Jobs queued and not yet run or dropped.
    pending: Mutex<usize>,
    /// Notified under `pending` when it reaches zero.
    done: Condvar,
    /// The first panic of a scope task, re-raised after the join.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl ScopeState {
    fn finish_one(&self) {
        let mut pending = self.pending.lock();
        *pending -= 1;
        if *pending == 0 {
            self.done.notify_all();
        }
    }

    /// Waits until every job of the scope has been run or dropped. On a
    /// worker of the scope's own pool (`pool`, its address) the wait runs
    /// the pool's queued work meanwhile (`task/help.rs`), the scope's own
    /// jobs among it.
    fn wait_all(self: &Arc<Self>, pool: usize) {
        if let Some(helper) = help::helper_for(pool) {
            help::wait_helping(
                &*helper,
                Arc::clone(self) as Arc<dyn Wake>,
                None,
                Instant::now,
                || *self.pending.lock() == 0,
                |_, work| {
                    let mut pending = self.pending.lock();
                    // ORDERING: Acquire pairs with `Watch::notify`, which
                    // sets it before taking `pending` to wake us.
                    while *pending > 0 && !work.load(Ordering::Acquire) {
                        pending = self.done.wait(pending);
                    }
                },
            );
            return;
        }
        let mut pending = self.pending.lock();
        while *pending > 0 {
            pending = self.done.wait(pending);
        }
    }
}

impl Wake for ScopeState {
    fn wake(&self) {
        let _pending = self.pending.lock();
        self.done.notify_all();
    }
}

/// A scope task in the queue. Its drop signals the scope, after the closure
/// (and everything it borrows) is gone — whether the job ran, was abandoned
/// by a shutdown, or was dropped with the queue.
struct ScopeJob<F> {
    body: Option<F>,
    scope: Arc<ScopeState>,
    /// When it was submitted, for a pool with metrics (`Tally::run_started`).
    submitted: u64,
}

impl<F> Drop for ScopeJob<F> {
    fn drop(&mut self) {
        let body = self.body.take();
        let _ = catch_unwind(AssertUnwindSafe(move || drop(body)));
        self.scope.finish_one();
    }
}

impl<F> Job for ScopeJob<F>
where
    F: FnOnce(&Context) + Send,
{
    fn run(mut self: Box<Self>, env: &RunEnv<'_>) {
        let Some(body) = self.body.take() else {
            return;
        };
        let started = env.tally.run_started();
        let outcome = catch_unwind(AssertUnwindSafe(|| body(env.root)));
        env.tally.run_ended(started);
        env.tally.task_ended(self.submitted);
        match outcome {
            Ok(()) => env.tally.count_succeeded(),
            Err(payload) => {
                if let Some(handler) = env.panic_handler {
                    let report = TaskPanic {
                        task: None,
                        message: panic_message(&*payload),
                    };
                    let _ = catch_unwind(AssertUnwindSafe(|| handler(&report)));
                }
                env.tally.count_panicked();
                let mut first = self.scope.panic.lock();
                if first.is_none() {
                    *first = Some(payload);
                } else {
                    drop(first);
                    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
                }
            }
        }
    }

    fn abandon(self: Box<Self>, tally: &Tally, _: Option<&Callbacks>) -> bool {
        // Counted before the drop, which may let the scope return: whoever
        // reads the stats after the scope sees the cancellation.
        tally.count_cancelled();
        tally.task_ended(self.submitted);
        drop(self);
        true
    }
}

/// Erases a scope job's lifetime so the queue can hold it.
fn erase<'scope, F>(job: Box<ScopeJob<F>>) -> Queued
where
    F: FnOnce(&Context) + Send + 'scope,
{
    let job: Box<dyn Job + 'scope> = job;
    // SAFETY: only the lifetime changes (same type, same vtable). The job
    // borrows data valid for 'scope; `Pool::scope` does not return or unwind
    // before this job is dropped (its `Drop` decrements the pending count that
    // `Pool::scope` waits on, on every path), so the job is never used after
    // 'scope ends.
    let job = unsafe { std::mem::transmute::<Box<dyn Job + 'scope>, Box<dyn Job + 'static>>(job) };
    Queued::Boxed(job)
}

impl<'scope> Scope<'scope, '_> {
    /// Queues a task that may borrow anything that outlives the scope. It
    /// receives the pool's context. A full queue is met according to the
    /// pool's [`FullPolicy`](crate::FullPolicy).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] holding `task` when the pool is closed or the queue is
    /// full.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// let pool = gosling::Pool::new(2)?;
    /// let total = AtomicU32::new(0);
    /// pool.scope(|s| {
    ///     for n in 1..=4 {
    ///         let total = &total;
    ///         s.spawn(move |_| { total.fetch_add(n, Ordering::Relaxed); }).unwrap();
    ///     }
    /// });
    /// assert_eq!(total.into_inner(), 10);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn spawn<F>(&'scope self, task: F) -> Result<(), SubmitError<F>>
    where
        F: FnOnce(&Context) + Send + 'scope,
    {
        *self.state.pending.lock() += 1;
        let job = Box::new(ScopeJob {
            body: Some(task),
            scope: Arc::clone(&self.state),
            submitted: self.pool.inner.tally.run_started(),
        });
        match self.pool.inner.push_with(job, 0, Wait::Policy, erase) {
            Ok(()) => Ok(()),
            Err((kind, mut job)) => {
                // Dropping the job below decrements the pending count.
                let task = job.body.take();
                drop(job);
                match task {
                    Some(task) => Err(SubmitError::new(kind, task)),
                    None => Ok(()),
                }
            }
        }
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("pending", &*self.state.pending.lock())
            .finish()
    }
}

impl Pool {
    /// Runs `f` with a [`Scope`] whose tasks may borrow from the caller's
    /// stack, and returns after every task spawned in it has finished — on
    /// every path, including a panic in `f`. If a scope task panicked, the
    /// first panic is re-raised here after the join (as
    /// [`std::thread::scope`] does); a panic of `f` itself takes precedence.
    ///
    /// Scope tasks count in [`stats`](Pool::stats) like spawned ones. Called
    /// from a task of the same pool, the join does not block the worker it
    /// runs on: while scope tasks are unfinished it runs the pool's queued
    /// work itself — the scope's tasks among it — so a scope opened inside
    /// a task of a one-worker pool completes (see [`TaskHandle::wait`](crate::TaskHandle::wait)
    /// for the rule).
    ///
    /// # Panics
    ///
    /// Re-raises the panic of `f`, or else of the first scope task that
    /// panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::new(2)?;
    /// let mut data = vec![1, 2, 3, 4];
    /// pool.scope(|s| {
    ///     for chunk in data.chunks_mut(2) {
    ///         s.spawn(move |_| chunk.iter_mut().for_each(|x| *x *= 10)).unwrap();
    ///     }
    /// });
    /// assert_eq!(data, [10, 20, 30, 40]);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        let scope = Scope {
            pool: self,
            state: Arc::new(ScopeState {
                pending: Mutex::new(0),
                done: Condvar::new(),
                panic: Mutex::new(None),
            }),
            _marker: PhantomData,
        };
        let result = catch_unwind(AssertUnwindSafe(|| f(&scope)));
        scope.state.wait_all(Arc::as_ptr(&self.inner) as usize);
        match result {
            Err(payload) => resume_unwind(payload),
            Ok(value) => {
                if let Some(payload) = scope.state.panic.lock().take() {
                    resume_unwind(payload);
                }
                value
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Pool;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // Exercises the lifetime erasure under Miri: borrowed data is written by
    // pool threads and read after the scope returns.
    #[test]
    fn scope_tasks_borrow_and_are_joined() {
        let pool = Pool::new(2).unwrap();
        let mut cells = vec![0u32; 8];
        let counter = AtomicUsize::new(0);
        pool.scope(|s| {
            for (i, cell) in cells.iter_mut().enumerate() {
                let counter = &counter;
                s.spawn(move |_| {
                    *cell = i as u32 * 3;
                    counter.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
            }
        });
        assert_eq!(counter.into_inner(), 8);
        assert_eq!(cells, [0, 3, 6, 9, 12, 15, 18, 21]);
    }

    #[test]
    fn scope_panic_is_reraised_after_join() {
        let pool = Pool::new(1).unwrap();
        let finished = AtomicUsize::new(0);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.scope(|s| {
                s.spawn(|_| panic!("scope task failed")).unwrap();
                for _ in 0..3 {
                    s.spawn(|_| {
                        finished.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
                }
            })
        }));
        assert!(outcome.is_err());
        assert_eq!(finished.into_inner(), 3);
    }

    #[test]
    fn scope_task_refused_by_closed_pool_is_handed_back() {
        let pool = Pool::new(1).unwrap();
        pool.close();
        let mut value = 1;
        pool.scope(|s| {
            let refused = s.spawn(|_| value += 1).unwrap_err();
            assert!(refused.is_closed());
        });
        assert_eq!(value, 1);
    }
}
