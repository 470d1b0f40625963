// Per-resource rate limits inside the pool.
//
// A task may name a resource (`Task::resource`); the pool's limit for that
// resource gates its starts. A worker that pops such a task asks the
// resource's limiter under the state lock. Refused, the task steps aside into
// the resource's *gate* instead of holding the worker, which goes on to the
// next task in the queue: tasks for other resources are never stalled.
//
// Each gate keeps the resource's waiting tasks in order and at most one of
// them "out": either
// - armed: the gate's first waiting task is due at the limiter's next
//   permit, and one timer entry (holding only the resource's name) will put
//   it back in the queue then; or
// - head: that task is back in the queue. A worker popping it asks the
//   limiter again (anyone else sharing the limiter may have taken the
//   permit); admitted, it promotes the next waiting task at once, so a burst
//   drains at the limiter's pace rather than one timer round per task.
// A task of the resource arriving while the gate is busy queues behind the
// waiting ones without asking the limiter, so the resource's tasks start in
// the order they reached the front of the queue, and each permit costs O(1)
// work however many tasks wait: no herd re-checks a refused limiter.
//
// Accounting: waiting tasks count against the queue's capacity (memory stays
// bounded) and as queued in `Stats`; workers do not exit on close while any
// wait (they drain them); `shutdown_now` ends them with the queue's tasks.
// The timer entry owns no task, so dropping it (a stopped timer) loses
// nothing.

use super::{Inner, State};
use crate::limit::{KeyedLimiter, RateLimited, RateLimiter};
use crate::task::small::Queued;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The limits a pool applies per resource (set on the builder).
#[derive(Default)]
pub(crate) struct ResourceLimits {
    /// A limiter of its own for each named resource.
    pub(crate) named: HashMap<Arc<str>, Arc<dyn RateLimiter>>,
    /// A per-key limiter for every other resource.
    pub(crate) keyed: Option<Arc<KeyedLimiter<Arc<str>>>>,
}

impl ResourceLimits {
    /// Takes a permit for `resource`; `None` when it has no limit.
    fn check(&self, resource: &Arc<str>) -> Option<Result<(), RateLimited>> {
        if let Some(limiter) = self.named.get(resource) {
            return Some(limiter.check());
        }
        self.keyed.as_ref().map(|keyed| keyed.check(resource))
    }
}

impl fmt::Debug for ResourceLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceLimits")
            .field("named", &self.named.keys().collect::<Vec<_>>())
            .field("keyed", &self.keyed.is_some())
            .finish()
    }
}

/// The gates of the resources that have tasks waiting (under the state lock).
#[derive(Default)]
pub(crate) struct Gates {
    map: HashMap<Arc<str>, Gate>,
    /// Tasks waiting in gates (not in the queue).
    pub(crate) parked: usize,
    /// Starts that waited for their resource, and for how long in all.
    pub(crate) delayed: u64,
    pub(crate) delay: Duration,
}

#[derive(Default)]
struct Gate {
    /// Refused tasks and those that arrived behind them, in order.
    waiting: VecDeque<Waiting>,
    /// This resource's task that is back in the queue: its address, and
    /// since when it waits.
    head: Option<(usize, Instant)>,
    /// A timer entry will put the first waiting task back in the queue.
    armed: bool,
}

/// A task waiting for its resource.
struct Waiting {
    job: Queued,
    priority: i32,
    /// When it was first refused or set aside (for `Stats::resource_delay`).
    since: Instant,
}

impl Gate {
    fn busy(&self) -> bool {
        self.armed || self.head.is_some() || !self.waiting.is_empty()
    }
}

impl Gates {
    /// Every waiting task, for a shutdown to end.
    pub(crate) fn drain_all(&mut self) -> Vec<Queued> {
        self.parked = 0;
        self.map
            .drain()
            .flat_map(|(_, gate)| gate.waiting.into_iter().map(|waiting| waiting.job))
            .collect()
    }
}

impl Inner {
    /// Pops the next task a worker may start, setting aside those their
    /// resource refuses. The flag is true when a waiting task was put back
    /// in the queue meanwhile (another worker may take it).
    pub(crate) fn pop_admitted(
        self: &Arc<Self>,
        state: &mut State,
        limits: &ResourceLimits,
    ) -> (Option<Queued>, bool) {
        let mut promoted = false;
        while let Some((job, priority)) = state.queue.pop_with_priority() {
            let Some(resource) = job.resource().cloned() else {
                return (Some(job), promoted);
            };
            let ended = job.will_not_run();
            let head_since = match state.gates.map.get_mut(&resource) {
                Some(gate) if gate.head.is_some_and(|(at, _)| at == job.address()) => {
                    gate.head.take().map(|(_, since)| since)
                }
                Some(gate) if gate.busy() && !ended => {
                    // Behind the resource's waiting tasks, without asking.
                    let since = self.clock.now();
                    gate.waiting.push_back(Waiting {
                        job,
                        priority,
                        since,
                    });
                    state.gates.parked += 1;
                    continue;
                }
                _ => None,
            };
            // A task that will not run spends no permit: it is "started" only
            // to be ended.
            let refused = if ended {
                None
            } else {
                match limits.check(&resource) {
                    Some(Err(limited)) => Some(limited),
                    _ => None,
                }
            };
            match refused {
                None => {
                    if let Some(since) = head_since {
                        if !ended {
                            let waited = self.clock.now().saturating_duration_since(since);
                            state.gates.delayed += 1;
                            state.gates.delay = state.gates.delay.saturating_add(waited);
                        }
                        promoted |= self.promote_next(state, &resource);
                    }
                    return (Some(job), promoted);
                }
                Some(limited) => {
                    let since = head_since.unwrap_or_else(|| self.clock.now());
                    let gate = state.gates.map.entry(Arc::clone(&resource)).or_default();
                    gate.waiting.push_front(Waiting {
                        job,
                        priority,
                        since,
                    });
                    gate.armed = true;
                    state.gates.parked += 1;
                    self.arm_gate(resource, &limited);
                }
            }
        }
        (None, promoted)
    }

    /// Puts the resource's first waiting task back in the queue as its head
    /// (or forgets the gate when nothing waits); true when it queued one.
    fn promote_next(&self, state: &mut State, resource: &Arc<str>) -> bool {
        let Some(gate) = state.gates.map.get_mut(resource) else {
            return false;
        };
        match gate.waiting.pop_front() {
            Some(Waiting {
                job,
                priority,
                since,
            }) => {
                gate.head = Some((job.address(), since));
                state.gates.parked -= 1;
                state.queue.push(job, priority);
                true
            }
            None => {
                if !gate.busy() {
                    state.gates.map.remove(resource);
                }
                false
            }
        }
    }

    /// Asks the timer to release the resource's first waiting task when the
    /// limiter's next permit is due. The entry holds only the name: dropped
    /// unrun (a stopped timer), it loses nothing.
    fn arm_gate(self: &Arc<Self>, resource: Arc<str>, limited: &RateLimited) {
        // Built at the start when the pool has resource limits.
        let Some(timer) = self.timer.get() else {
            return;
        };
        // The limiter's own instant, not `now + retry_after`: the clock may
        // move between the refusal and this line.
        let at = limited.earliest();
        let inner = Arc::downgrade(self);
        let _ = timer.schedule(
            at,
            Box::new(move || {
                if let Some(inner) = inner.upgrade() {
                    inner.resource_due(&resource);
                }
            }),
        );
    }

    /// The timer entry of a gate fired: its first waiting task goes back in
    /// the queue.
    fn resource_due(&self, resource: &Arc<str>) {
        let mut state = self.state.lock();
        let Some(gate) = state.gates.map.get_mut(resource) else {
            return;
        };
        gate.armed = false;
        if gate.head.is_none() && self.promote_next(&mut state, resource) {
            self.wake_for(state);
        }
    }
}
