//! Submission: how a task gets into the queue — waiting for room as the
//! form called allows, handing a refused task back whole, and arming a
//! task's deadline once it is accepted.
//!
//! Every public submit form of [`Pool`](super::Pool) is one line over the
//! cores here: one core per kind of submission (a fire-and-forget closure,
//! a body with a handle, a built [`Task`], a batch), each taking a [`Wait`]
//! that says how long it may wait for room — the pool's
//! [`FullPolicy`], never (`try_`), or until a deadline (`_timeout`,
//! `_deadline`). All of them admit work through [`Inner::make_room`].
//!
//! Imports: the pool's state and sleep protocol, the queue, the task layer.

use super::error::{SubmitError, SubmitErrorKind};
use super::inner::Inner;
use super::state::State;
use crate::context::Context;
use crate::queue::FullPolicy;
use crate::retry::{JitterRng, RetryPolicy};
use crate::sync::MutexGuard;
use crate::task::builder::{BoxedBody, Deadline, TaskBody};
use crate::task::handle::Shared;
use crate::task::job::{Body, HandleJob, Job, Plain, PoolHooks, ResourceJob, RetryJob};
use crate::task::record::Callback;
use crate::task::small::{Queued, TimedSpawn};
use crate::task::{Task, TaskHandle, TaskId};
use crate::time::Clock;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Per-task settings for a task with a handle.
pub(crate) struct JobOptions<T, E> {
    pub(crate) id: Option<TaskId>,
    pub(crate) on_complete: Option<Callback<T, E>>,
    pub(crate) deadline: Option<Deadline>,
    pub(crate) parent: Option<Context>,
}

impl<T, E> Default for JobOptions<T, E> {
    fn default() -> Self {
        JobOptions {
            id: None,
            on_complete: None,
            deadline: None,
            parent: None,
        }
    }
}

/// How long a submission may wait for room.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    /// The pool's [`FullPolicy`].
    Policy,
    /// Not at all (the `try_` forms).
    Never,
    /// No limit (a timeout too long for an `Instant`).
    Forever,
    /// Until this instant on the pool's clock.
    Until(Instant),
}

impl Wait {
    /// Waits at most `timeout` from now on `clock`.
    pub(crate) fn timeout(clock: &Clock, timeout: Duration) -> Wait {
        match clock.now().checked_add(timeout) {
            Some(deadline) => Wait::Until(deadline),
            None => Wait::Forever,
        }
    }

    /// True for the timed forms, whose refusal for want of room is a timeout.
    fn is_timed(self) -> bool {
        matches!(self, Wait::Forever | Wait::Until(_))
    }
}

impl Inner {
    /// Puts one job in the queue, waiting for room as `wait` allows; on
    /// refusal the job comes back with the reason.
    #[inline]
    pub(crate) fn push<J: Job + 'static>(
        &self,
        job: Box<J>,
        priority: i32,
        wait: Wait,
    ) -> Result<(), (SubmitErrorKind, Box<J>)> {
        self.push_with(job, priority, wait, |job| Queued::Boxed(job))
    }

    /// [`push`](Inner::push), with the conversion to a queue entry supplied
    /// (the scope erases a lifetime there); it runs only once the job is
    /// accepted, so a refused job comes back as its own type (a spawned
    /// closure as itself).
    #[inline]
    pub(crate) fn push_with<J>(
        &self,
        mut job: J,
        priority: i32,
        wait: Wait,
        into_entry: fn(J) -> Queued,
    ) -> Result<(), (SubmitErrorKind, J)> {
        if let Some(injector) = &self.injector {
            // The fast path: no lock unless a worker sleeps.
            match injector.push(job, into_entry) {
                Ok(()) => {
                    self.wake_after_injection();
                    return Ok(());
                }
                // Full or closed: the locked path below tells which, and
                // waits for room as `wait` allows.
                Err((refused, _)) => job = refused,
            }
        }
        let mut state = match self.make_room(self.state.lock(), 1, wait) {
            Ok(state) => state,
            Err(kind) => return Err((kind, job)),
        };
        match &self.injector {
            Some(injector) => {
                if let Err((job, _)) = injector.push_reserved(job, into_entry) {
                    // Unreachable: the close happens under the lock we hold.
                    return Err((self.refuse(&mut state, SubmitErrorKind::Closed), job));
                }
            }
            None => {
                state.queue.push(into_entry(job), priority);
                state.submitted += 1;
            }
        }
        self.wake_for(state);
        Ok(())
    }

    /// Reserves room for `n` tasks, waiting for it as `wait` allows: the
    /// one admission every submit form goes through. On success the room is
    /// reserved (see [`reserve`](Inner::reserve)) and the lock is still
    /// held; on refusal the refusal is counted and its cause returned —
    /// `Closed`, `Full` for a form that may not wait (or a batch larger than
    /// the capacity under the pool's policy), `Timeout` for one whose wait
    /// ran out (a batch that can never fit times out at once: waiting
    /// could not help).
    pub(crate) fn make_room<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        n: usize,
        wait: Wait,
    ) -> Result<MutexGuard<'a, State>, SubmitErrorKind> {
        if self.reserve(&state, n) {
            return Ok(state);
        }
        let never_fits = n > state.capacity;
        let deadline = match self.resolve(wait) {
            Some(deadline) if !never_fits => deadline,
            _ => {
                let kind = if wait.is_timed() {
                    SubmitErrorKind::Timeout
                } else {
                    SubmitErrorKind::Full
                };
                return Err(self.refuse(&mut state, kind));
            }
        };
        self.wait_for_room(state, n, deadline)
    }

    /// Reserves room for `n` tasks, with the state lock held: false when
    /// closed or when they do not fit. A pool with an injector takes the
    /// room from it (lock-free submitters compete for the same room); for
    /// the others the lock is the reservation.
    fn reserve(&self, state: &State, n: usize) -> bool {
        if state.closed {
            return false;
        }
        match &self.injector {
            Some(injector) => injector.reserve(n).is_ok(),
            None => state.room() >= n,
        }
    }

    /// The deadline a wait may block until: `None` for never,
    /// `Some(None)` for forever.
    fn resolve(&self, wait: Wait) -> Option<Option<Instant>> {
        match wait {
            Wait::Never => None,
            Wait::Forever => Some(None),
            Wait::Until(deadline) => Some(Some(deadline)),
            Wait::Policy => match self.config.when_full {
                FullPolicy::Block => Some(None),
                FullPolicy::Reject => None,
                FullPolicy::Timeout(timeout) => Some(self.clock.now().checked_add(timeout)),
            },
        }
    }

    /// Counts a refusal; closed wins over full.
    fn refuse(&self, state: &mut State, kind: SubmitErrorKind) -> SubmitErrorKind {
        state.rejected += 1;
        if state.closed {
            SubmitErrorKind::Closed
        } else {
            kind
        }
    }

    /// Waits until `needed` more tasks fit, the pool closes, or `deadline`;
    /// on success the room is reserved (see [`reserve`](Inner::reserve)).
    fn wait_for_room<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        needed: usize,
        deadline: Option<Instant>,
    ) -> Result<MutexGuard<'a, State>, SubmitErrorKind> {
        let mut reached = false;
        loop {
            if state.closed {
                return Err(self.refuse(&mut state, SubmitErrorKind::Closed));
            }
            if self.reserve(&state, needed) {
                return Ok(state);
            }
            if reached {
                return Err(self.refuse(&mut state, SubmitErrorKind::Timeout));
            }
            state.room_waiters += 1;
            state.batch_waiters += usize::from(needed > 1);
            (state, reached) = self.clock.wait_until(&self.room_cv, state, deadline);
            state.room_waiters -= 1;
            state.batch_waiters -= usize::from(needed > 1);
        }
    }

    /// The core of the fire-and-forget forms (`spawn`, `try_spawn`,
    /// `spawn_timeout`, `spawn_deadline`).
    #[inline]
    pub(crate) fn spawn<F>(&self, task: F, wait: Wait) -> Result<(), SubmitError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        if self.config.task_timeout.is_some() {
            // A pool-wide timeout needs per-task state: take the handle path.
            return self
                .submit_body(Plain(task), wait)
                .map(drop)
                .map_err(|e| e.map(|b| b.0));
        }
        if self.config.metrics.is_some() {
            return self.spawn_timed(task, wait);
        }
        // A small closure travels inline in the queue slot (no allocation);
        // the conversion runs only once the task is accepted, so a refused
        // one comes back as it was.
        self.push_with(task, 0, wait, Queued::spawn)
            .map_err(|(kind, task)| SubmitError::new(kind, task))
    }

    /// [`spawn`](Inner::spawn) in a pool with metrics: the latency
    /// histogram needs the submission time. Out of line, so that the plain
    /// path stays as small as it was.
    #[inline(never)]
    fn spawn_timed<F>(&self, task: F, wait: Wait) -> Result<(), SubmitError<F>>
    where
        F: FnOnce(&Context) + Send + 'static,
    {
        let job = TimedSpawn {
            body: task,
            submitted: self.tally.run_started(),
        };
        self.push_with(job, 0, wait, Queued::timed_spawn)
            .map_err(|(kind, job)| SubmitError::new(kind, job.body))
    }

    /// The core of the batch forms (`submit_batch` and its `try_`,
    /// `_timeout` and `_deadline` companions): all or none, under one
    /// acquisition of the lock; the handles in input order.
    pub(crate) fn submit_batch<I, F, T>(
        &self,
        tasks: I,
        wait: Wait,
    ) -> Result<Vec<TaskHandle<T>>, SubmitError<Vec<F>>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce(&Context) -> T + Send + 'static,
        T: Send + 'static,
    {
        let jobs: Vec<Box<HandleJob<Plain<F>, T, _>>> = tasks
            .into_iter()
            .map(|f| self.new_handle_job(Plain(f), JobOptions::default()))
            .collect();
        let mut state = match self.make_room(self.state.lock(), jobs.len(), wait) {
            Ok(state) => state,
            Err(kind) => {
                let tasks = jobs.into_iter().map(|job| job.body.0).collect();
                return Err(SubmitError::new(kind, tasks));
            }
        };
        let mut handles = Vec::with_capacity(jobs.len());
        if let Some(injector) = &self.injector {
            // Room is reserved and the close is held off by the lock: every
            // push succeeds, so the batch goes in whole.
            for job in jobs {
                handles.push(TaskHandle::new(Arc::clone(&job.shared)));
                if let Err((job, _)) = injector.push_reserved(job, |job| Queued::Boxed(job)) {
                    // Unreachable (see above); never lose a task regardless.
                    (*job).abandon_owned(&self.tally, None);
                }
            }
        } else {
            state.queue.reserve(jobs.len());
            for job in jobs {
                handles.push(TaskHandle::new(Arc::clone(&job.shared)));
                state.queue.push(Queued::Boxed(job), 0);
            }
            state.submitted += handles.len() as u64;
        }
        self.wake_for(state);
        for handle in &handles {
            self.accepted(&handle.shared);
        }
        Ok(handles)
    }

    pub(crate) fn new_handle_job<B, T, E>(
        &self,
        body: B,
        options: JobOptions<T, E>,
    ) -> Box<HandleJob<B, T, E>>
    where
        B: Body<T, E> + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        Box::new(self.handle_job(body, options))
    }

    fn handle_job<B, T, E>(&self, body: B, options: JobOptions<T, E>) -> HandleJob<B, T, E>
    where
        B: Body<T, E> + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let shared = self.new_shared(
            &options.parent,
            options.deadline,
            options.id,
            options.on_complete,
        );
        HandleJob { body, shared }
    }

    /// The state a task shares with its handle: its context (a child of
    /// `parent`, with the task's or the pool's deadline) and its timeout.
    fn new_shared<T, E>(
        &self,
        parent: &Option<Context>,
        deadline: Option<Deadline>,
        id: Option<TaskId>,
        on_complete: Option<Callback<T, E>>,
    ) -> Arc<Shared<T, E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let deadline = match deadline.or(self.config.task_timeout.map(Deadline::After)) {
            Some(Deadline::At(at)) => Some(at),
            Some(Deadline::After(timeout)) => self.clock.now().checked_add(timeout),
            None => None,
        };
        let ctx = match (parent, deadline) {
            (Some(parent), Some(at)) => parent.with_deadline(at),
            (Some(parent), None) => parent.child(),
            (None, Some(at)) => Context::root_with_deadline(self.clock.clone(), at),
            (None, None) => Context::with_clock(self.clock.clone()),
        };
        let id = id.unwrap_or_else(TaskId::generate);
        let pool = self as *const Inner as usize;
        Shared::new(id, pool, ctx, Arc::clone(&self.tally), on_complete)
    }

    /// Called once a task with a handle is accepted: arms its timeout, if
    /// its context has a deadline. Nothing that can end a task is set up
    /// before it is accepted, so a refused task comes back untouched (its
    /// callback not run, nothing counted).
    #[inline]
    pub(crate) fn accepted<T: Send + 'static, E: Send + 'static>(
        &self,
        shared: &Arc<Shared<T, E>>,
    ) {
        if let Some(at) = shared.ctx.deadline() {
            self.arm_deadline(shared, at);
        }
    }

    /// Schedules the timeout of a task with a deadline. Should the timer
    /// thread fail to start, the deadline is still enforced lazily: a worker
    /// never starts a task past its deadline, and the context reports it.
    #[cold]
    fn arm_deadline<T: Send + 'static, E: Send + 'static>(
        &self,
        shared: &Arc<Shared<T, E>>,
        at: Instant,
    ) {
        if shared.is_terminal() {
            // Already ended (a worker ran it meanwhile): nothing to time out.
            return;
        }
        let Some(timer) = self.timer() else {
            return;
        };
        let weak = Arc::downgrade(shared);
        let callbacks = Arc::clone(&self.callbacks);
        let fire = Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.time_out(Some(&callbacks));
            }
        });
        if let Some(key) = timer.schedule(at, fire) {
            let _ = shared.deadline_entry.set((Arc::clone(&timer), key));
            if shared.is_terminal() {
                // It ended while the entry was being armed, perhaps before
                // its delivery could see the entry: remove it here.
                timer.cancel(key);
            }
        }
    }

    pub(crate) fn submit_body<B, T, E>(
        &self,
        body: B,
        wait: Wait,
    ) -> Result<TaskHandle<T, E>, SubmitError<B>>
    where
        B: Body<T, E> + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let job = self.handle_job(body, JobOptions::default());
        let shared = Arc::clone(&job.shared);
        // Inline in the queue entry when the body is small (see `small.rs`).
        match self.push_with(job, 0, wait, Queued::new) {
            Ok(()) => {
                self.accepted(&shared);
                Ok(TaskHandle::new(shared))
            }
            Err((kind, job)) => Err(SubmitError::new(kind, job.body)),
        }
    }
}

/// Submits a [`Task`], waiting for room as `wait` allows (the scheduler
/// submits from the timer thread with `Wait::Never`: it must never block
/// there).
pub(crate) fn submit_task_with<T, E>(
    inner: &Arc<Inner>,
    task: Task<T, E>,
    wait: Wait,
) -> Result<TaskHandle<T, E>, SubmitError<Task<T, E>>>
where
    T: Send + 'static,
    E: Send + 'static,
{
    let Task {
        body,
        id,
        priority,
        on_complete,
        deadline,
        parent,
        resource,
    } = task;
    // What a refused task is rebuilt from, besides its body and callback.
    let settings = TaskSettings {
        id,
        priority,
        deadline,
        parent: parent.clone(),
        resource: resource.clone(),
    };
    let options = JobOptions {
        id,
        on_complete,
        deadline,
        parent,
    };
    let body = match body {
        TaskBody::Once(body) => body,
        TaskBody::Repeat(body, own) => {
            let pool_default = inner.config.retry_policy.as_ref();
            let policy = match &own {
                Some(own) => own.for_pool(pool_default),
                None => pool_default.cloned().unwrap_or_else(RetryPolicy::never),
            };
            let shared =
                inner.new_shared(&options.parent, options.deadline, id, options.on_complete);
            let weak: Weak<dyn PoolHooks> = Arc::downgrade(inner) as Weak<dyn PoolHooks>;
            let _ = shared.retry_hooks.set(weak);
            let job = Box::new(RetryJob {
                body,
                shared: Arc::clone(&shared),
                policy,
                priority,
                started: None,
                previous_delay: Duration::ZERO,
                rng: JitterRng::from_entropy(),
                resource,
            });
            return match inner.push(job, priority, wait) {
                Ok(()) => {
                    inner.accepted(&shared);
                    Ok(TaskHandle::new(shared))
                }
                Err((kind, job)) => {
                    let RetryJob { body, shared, .. } = *job;
                    let body = TaskBody::Repeat(body, own);
                    Err(SubmitError::new(
                        kind,
                        settings.task(body, shared.take_callback()),
                    ))
                }
            };
        }
    };
    let job = inner.handle_job(body, options);
    let shared = Arc::clone(&job.shared);
    let refused = |kind, HandleJob { body, shared }: HandleJob<BoxedBody<T, E>, T, E>| {
        let task = settings.task(TaskBody::Once(body), shared.take_callback());
        SubmitError::new(kind, task)
    };
    let pushed = match resource {
        None => inner
            .push_with(job, priority, wait, Queued::new)
            .map_err(|(kind, job)| refused(kind, job)),
        Some(resource) => inner
            .push(Box::new(ResourceJob { job, resource }), priority, wait)
            .map_err(|(kind, job)| refused(kind, job.job)),
    };
    pushed.map(|()| {
        inner.accepted(&shared);
        TaskHandle::new(shared)
    })
}

/// A task's settings besides its body and callback: what a refused task is
/// rebuilt from.
struct TaskSettings {
    id: Option<TaskId>,
    priority: i32,
    deadline: Option<Deadline>,
    parent: Option<Context>,
    resource: Option<Arc<str>>,
}

impl TaskSettings {
    fn task<T, E>(self, body: TaskBody<T, E>, on_complete: Option<Callback<T, E>>) -> Task<T, E> {
        Task {
            body,
            id: self.id,
            priority: self.priority,
            on_complete,
            deadline: self.deadline,
            parent: self.parent,
            resource: self.resource,
        }
    }
}
