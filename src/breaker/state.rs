//! The breaker's state machine: [`BreakerState`], [`StateChange`], and the
//! engine on `Inner` — admission off the fast path, recording a result,
//! judging the window, every transition and the delivery of changes to the
//! listeners.
//!
//! The state lives in one atomic word: the state code in the low three bits,
//! a generation above them that grows on every transition (and on every
//! re-armed half-open trial). A [`BreakerPermit`] carries the word it was
//! admitted under; a result whose word is no longer current is late and
//! decides nothing. Transitions happen under one mutex (`Inner::shared`)
//! and are published with a `Release` store of the word.
//!
//! The closed-state hot path is: one relaxed load of the word to admit, then
//! at the result one relaxed load to check the generation, one relaxed
//! `fetch_add` on the current bucket of the sliding window and one relaxed
//! load of the count at which to leave the fast path (on the cursor's cache
//! line; three more atomics on a failure or a slow call). Clock reads happen
//! only when a slow-call duration is configured or the window is time-based.
//! When a success must be judged is `window.rs`'s business.

use super::window::{Sums, Window, reaches};
#[cfg(doc)]
use super::{BreakerBuilder, CircuitBreaker};
use super::{BreakerPermit, Inner, Rejected};
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// State codes, in the low [`STATE_BITS`] bits of the state word.
pub(super) const CLOSED: u64 = 0;
pub(super) const OPEN: u64 = 1;
pub(super) const HALF_OPEN: u64 = 2;
pub(super) const FORCED_OPEN: u64 = 3;
pub(super) const DISABLED: u64 = 4;
pub(super) const STATE_BITS: u32 = 3;
pub(super) const STATE_MASK: u64 = (1 << STATE_BITS) - 1;

/// The state of a [`CircuitBreaker`].
///
/// # Examples
///
/// ```
/// use gosling::breaker::{CircuitBreaker, BreakerState};
///
/// let breaker = CircuitBreaker::<()>::builder().build()?;
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// breaker.force_open();
/// assert_eq!(breaker.state(), BreakerState::ForcedOpen);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls pass and their results are recorded in the sliding window.
    Closed,
    /// Calls are rejected until the wait in open has passed.
    Open,
    /// A fixed number of trial calls pass; their results decide what follows.
    HalfOpen,
    /// Calls are rejected until the breaker is reset or disabled.
    ForcedOpen,
    /// Calls pass and nothing is recorded.
    Disabled,
}

impl BreakerState {
    pub(super) fn from_word(word: u64) -> BreakerState {
        match word & STATE_MASK {
            CLOSED => BreakerState::Closed,
            OPEN => BreakerState::Open,
            HALF_OPEN => BreakerState::HalfOpen,
            FORCED_OPEN => BreakerState::ForcedOpen,
            _ => BreakerState::Disabled,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
            BreakerState::ForcedOpen => "forced open",
            BreakerState::Disabled => "disabled",
        })
    }
}

/// One transition, as handed to the listeners registered with
/// [`BreakerBuilder::on_state_change`].
///
/// A half-open trial that ran past [`BreakerBuilder::max_wait_in_half_open`] and is
/// re-armed is reported as a change from `HalfOpen` to `HalfOpen`.
///
/// # Examples
///
/// ```
/// use gosling::breaker::{CircuitBreaker, BreakerState};
/// use std::sync::{Arc, Mutex};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let breaker = CircuitBreaker::<()>::builder()
///     .on_state_change(move |change| log.lock().unwrap().push((change.from, change.to)))
///     .build()?;
/// breaker.force_open();
/// assert_eq!(*seen.lock().unwrap(), [(BreakerState::Closed, BreakerState::ForcedOpen)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateChange {
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
    /// When it happened, on the breaker's clock.
    pub at: Instant,
}

/// Cold state, protected by `Inner::shared`.
pub(super) struct Shared {
    /// Opens since the breaker was last closed by a successful trial (drives
    /// a growing wait in open).
    opens_in_row: u32,
    half_open: Trial,
    /// Changes not yet handed to the listeners, oldest first.
    events: VecDeque<StateChange>,
}

impl Shared {
    /// A closed breaker's: no open yet, no trial, no event.
    pub(super) fn new() -> Shared {
        Shared {
            opens_in_row: 0,
            half_open: Trial::default(),
            events: VecDeque::new(),
        }
    }
}

/// How a result counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Success,
    Failure,
    Ignored,
}

/// The current half-open trial.
#[derive(Debug, Default, Clone, Copy)]
struct Trial {
    since: Option<Instant>,
    issued: u32,
    done: u32,
    failures: u32,
    slow: u32,
}

impl Trial {
    /// The results in so far.
    fn sums(&self) -> Sums {
        Sums {
            calls: u64::from(self.done),
            failures: u64::from(self.failures),
            slow: u64::from(self.slow),
        }
    }
}

impl<E> Inner<E> {
    /// The current half-open trial's results so far.
    pub(super) fn trial_sums(&self) -> Sums {
        self.shared.lock().half_open.sums()
    }

    pub(super) fn since_epoch(&self, now: Instant) -> u64 {
        crate::time::duration_ns(now.saturating_duration_since(self.epoch))
    }

    pub(super) fn classify(&self, error: &E) -> Kind {
        if self.ignore_if.as_ref().is_some_and(|p| p(error)) {
            return Kind::Ignored;
        }
        match &self.record_if {
            Some(p) if !p(error) => Kind::Success,
            _ => Kind::Failure,
        }
    }

    /// The closed-state success path (no clock, count window holding the
    /// minimum number of calls) is kept small enough to inline into the
    /// caller; everything else goes out of line.
    #[inline]
    pub(super) fn on_result(&self, word: u64, start: Option<Instant>, kind: Kind) {
        if kind == Kind::Success
            && start.is_none()
            && word & STATE_MASK == CLOSED
            // ORDERING: see `on_result_slow`.
            && self.word.load(Ordering::Relaxed) == word
        {
            if let Window::Count { buckets, head, .. } = &self.window {
                // ORDERING: see `Window::record`.
                let i = head.cursor.load(Ordering::Relaxed);
                let calls = buckets[i].calls.fetch_add(1, Ordering::Relaxed) + 1;
                let trigger = head.trigger.load(Ordering::Relaxed);
                if calls >= trigger {
                    self.after_success(word, i, calls, trigger);
                }
                return;
            }
        }
        self.on_result_slow(word, start, kind);
    }

    /// The fast success path, recorded in bucket `i` (which now holds
    /// `calls`), reached `trigger` (see `CountHead::trigger`): rotates if the
    /// bucket is full, judges if that or the minimum calls for it.
    #[cold]
    #[inline(never)]
    fn after_success(&self, word: u64, i: usize, calls: u64, trigger: u64) {
        let Window::Count {
            buckets,
            per_bucket,
            head,
        } = &self.window
        else {
            return;
        };
        // Exactly one increment sees the bucket become full: that thread
        // rotates.
        let rotated =
            calls == *per_bucket && Window::rotate(buckets, *per_bucket, head, i, &self.totals);
        if rotated || trigger == 0 {
            self.judge(word, 0);
        }
    }

    #[inline(never)]
    fn on_result_slow(&self, word: u64, start: Option<Instant>, kind: Kind) {
        if word & STATE_MASK == DISABLED {
            return;
        }
        // ORDERING: the generation check needs no ordering of its own; a
        // result racing a transition may count in either window.
        if self.word.load(Ordering::Relaxed) != word {
            return self.on_late();
        }
        if kind == Kind::Ignored {
            return self.on_ignored(word);
        }
        let mut now = None;
        let slow = match (start, self.config.slow_duration) {
            (Some(start), Some(limit)) => {
                let t = self.clock.now();
                now = Some(t);
                t.saturating_duration_since(start) >= limit
            }
            _ => false,
        };
        let failed = kind == Kind::Failure;
        if word & STATE_MASK == HALF_OPEN {
            return self.on_trial_result(word, failed, slow);
        }
        let since_epoch = if self.window.needs_time() {
            self.since_epoch(now.unwrap_or_else(|| self.clock.now()))
        } else {
            0
        };
        let minimum = self.config.minimum_calls;
        if self
            .window
            .record(failed, slow, since_epoch, &self.totals, minimum)
        {
            self.judge(word, since_epoch);
        }
    }

    #[cold]
    fn on_late(&self) {
        // ORDERING: statistics only.
        self.totals.late.fetch_add(1, Ordering::Relaxed);
    }

    #[cold]
    fn on_ignored(&self, word: u64) {
        // ORDERING: statistics only.
        self.totals.ignored.fetch_add(1, Ordering::Relaxed);
        if word & STATE_MASK == HALF_OPEN {
            let mut shared = self.shared.lock();
            // ORDERING: under the lock every transition is visible.
            if self.word.load(Ordering::Relaxed) == word {
                shared.half_open.issued -= 1;
            }
        }
    }

    /// Closed state, after a result that may have raised a rate (see
    /// `Window::record`): opens if a rate is reached.
    #[cold]
    fn judge(&self, word: u64, since_epoch: u64) {
        let sums = self.window.sums(since_epoch);
        if sums.calls >= self.config.minimum_calls && self.window.unsettled() {
            let _shared = self.shared.lock();
            // ORDERING: under the lock every transition is visible.
            if self.word.load(Ordering::Relaxed) == word {
                self.window.settle();
            }
        }
        if !self.rates_reached(sums) {
            return;
        }
        let mut shared = self.shared.lock();
        // ORDERING: under the lock every transition is visible.
        if self.word.load(Ordering::Relaxed) != word {
            return; // someone else moved it first
        }
        shared.opens_in_row = shared.opens_in_row.saturating_add(1);
        self.enter_open(&mut shared, word);
        drop(shared);
        self.deliver();
    }

    fn rates_reached(&self, sums: Sums) -> bool {
        sums.calls >= self.config.minimum_calls
            && sums.calls > 0
            && (reaches(sums.failures, sums.calls, self.config.failure_ppm)
                || (self.config.slow_duration.is_some()
                    && reaches(sums.slow, sums.calls, self.config.slow_ppm)))
    }

    /// Moves to open (under the lock) and queues the event.
    fn enter_open(&self, shared: &mut Shared, word: u64) {
        let now = self.clock.now();
        let wait = self.config.open_wait.wait(shared.opens_in_row);
        let until = self
            .since_epoch(now)
            .saturating_add(crate::time::duration_ns(wait));
        // ORDERING: published by the Release store of the word below.
        self.open_until_nanos.store(until, Ordering::Relaxed);
        self.window.clear(&self.totals);
        self.set_word(shared, word, OPEN, now);
    }

    /// Publishes the next generation in `state` and queues the event.
    fn set_word(&self, shared: &mut Shared, old: u64, state: u64, at: Instant) -> u64 {
        let generation = (old >> STATE_BITS).wrapping_add(1);
        let new = (generation << STATE_BITS) | state;
        // ORDERING: Release publishes what the transition wrote before it
        // (open deadline, cleared window) to Acquire readers of the state.
        self.word.store(new, Ordering::Release);
        // Resetting a closed breaker only empties its window: no event.
        if (old & STATE_MASK, state) != (CLOSED, CLOSED) {
            // ORDERING: a statistic.
            self.totals.transitions.fetch_add(1, Ordering::Relaxed);
            shared.events.push_back(StateChange {
                from: BreakerState::from_word(old),
                to: BreakerState::from_word(new),
                at,
            });
        }
        new
    }

    fn start_trial(&self, shared: &mut Shared, old: u64, now: Instant) -> u64 {
        shared.half_open = Trial {
            since: Some(now),
            ..Trial::default()
        };
        self.set_word(shared, old, HALF_OPEN, now)
    }

    #[cold]
    pub(super) fn acquire_slow(&self) -> Result<BreakerPermit<'_, E>, Rejected> {
        let now = self.clock.now();
        // Rejections while open take no lock: an outage hammered by many
        // threads should not serialise them.
        // ORDERING: Acquire pairs with the Release of the transition, so the
        // open deadline read below is at least this open's.
        let seen = self.word.load(Ordering::Acquire);
        match seen & STATE_MASK {
            FORCED_OPEN => return Err(self.reject(Rejected::ForcedOpen)),
            OPEN => {
                // ORDERING: see the Acquire above.
                let until = self.open_until_nanos.load(Ordering::Relaxed);
                let at = self.since_epoch(now);
                if at < until {
                    let retry_after = Duration::from_nanos(until - at);
                    return Err(self.reject(Rejected::Open { retry_after }));
                }
            }
            _ => {}
        }
        let mut shared = self.shared.lock();
        // ORDERING: under the lock every transition is visible.
        let mut word = self.word.load(Ordering::Relaxed);
        match word & STATE_MASK {
            CLOSED | DISABLED => {
                drop(shared);
                let start = match self.config.slow_duration {
                    Some(_) if word & STATE_MASK == CLOSED => Some(now),
                    _ => None,
                };
                return Ok(BreakerPermit::new(self, word, start));
            }
            FORCED_OPEN => {
                drop(shared);
                return Err(self.reject(Rejected::ForcedOpen));
            }
            OPEN => {
                // ORDERING: written under the lock we hold.
                let until = self.open_until_nanos.load(Ordering::Relaxed);
                let at = self.since_epoch(now);
                if at < until {
                    drop(shared);
                    let retry_after = Duration::from_nanos(until - at);
                    return Err(self.reject(Rejected::Open { retry_after }));
                }
                word = self.start_trial(&mut shared, word, now);
            }
            _ => {
                // Half-open: re-arm a trial that has waited too long.
                let expired = match (shared.half_open.since, self.config.max_half_open) {
                    (Some(since), Some(max)) => now.saturating_duration_since(since) >= max,
                    _ => false,
                };
                if expired && shared.half_open.issued >= self.config.half_open_permits {
                    word = self.start_trial(&mut shared, word, now);
                }
            }
        }
        let admitted = shared.half_open.issued < self.config.half_open_permits;
        if admitted {
            shared.half_open.issued += 1;
        }
        drop(shared);
        self.deliver();
        if !admitted {
            return Err(self.reject(Rejected::HalfOpenFull));
        }
        let start = self.config.slow_duration.map(|_| now);
        Ok(BreakerPermit::new(self, word, start))
    }

    fn reject(&self, why: Rejected) -> Rejected {
        // ORDERING: statistics only.
        self.totals.rejected.fetch_add(1, Ordering::Relaxed);
        why
    }

    #[cold]
    fn on_trial_result(&self, word: u64, failed: bool, slow: bool) {
        // ORDERING: statistics only.
        self.totals.calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.totals.failures.fetch_add(1, Ordering::Relaxed);
        }
        if slow {
            self.totals.slow.fetch_add(1, Ordering::Relaxed);
        }
        let mut shared = self.shared.lock();
        // ORDERING: under the lock every transition is visible.
        if self.word.load(Ordering::Relaxed) != word {
            return; // the trial was re-armed or the state forced meanwhile
        }
        let trial = &mut shared.half_open;
        trial.done += 1;
        trial.failures += u32::from(failed);
        trial.slow += u32::from(slow);
        if trial.done < self.config.half_open_permits {
            return;
        }
        let sums = trial.sums();
        let reopen = reaches(sums.failures, sums.calls, self.config.failure_ppm)
            || (self.config.slow_duration.is_some()
                && reaches(sums.slow, sums.calls, self.config.slow_ppm));
        if reopen {
            shared.opens_in_row = shared.opens_in_row.saturating_add(1);
            self.enter_open(&mut shared, word);
        } else {
            shared.opens_in_row = 0;
            self.window.clear(&self.totals);
            let now = self.clock.now();
            self.set_word(&mut shared, word, CLOSED, now);
        }
        drop(shared);
        self.deliver();
    }

    pub(super) fn manual_transition(&self, state: u64) {
        let now = self.clock.now();
        let mut shared = self.shared.lock();
        // ORDERING: under the lock every transition is visible.
        let word = self.word.load(Ordering::Relaxed);
        if word & STATE_MASK == state && state != CLOSED {
            return;
        }
        if state == CLOSED {
            shared.opens_in_row = 0;
            self.window.clear(&self.totals);
        }
        self.set_word(&mut shared, word, state, now);
        drop(shared);
        self.deliver();
    }

    /// Hands queued events to the listeners, in order, outside the state
    /// lock. One thread delivers at a time; events queued meanwhile (also by
    /// a listener itself) are picked up by the delivering thread.
    fn deliver(&self) {
        if self.listeners.is_empty() {
            self.shared.lock().events.clear();
            return;
        }
        loop {
            // ORDERING: Acquire/Release make the flag a lock over delivery.
            if self.delivering.swap(true, Ordering::Acquire) {
                return;
            }
            struct Release<'a>(&'a AtomicBool);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    // ORDERING: see the swap above.
                    self.0.store(false, Ordering::Release);
                }
            }
            let guard = Release(&self.delivering);
            loop {
                let Some(event) = self.shared.lock().events.pop_front() else {
                    break;
                };
                for listener in &self.listeners {
                    listener(&event);
                }
            }
            drop(guard);
            // An event queued after our last pop but before the release
            // found the flag taken: look again.
            if self.shared.lock().events.is_empty() {
                return;
            }
        }
    }
}
