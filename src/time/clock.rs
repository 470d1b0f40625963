//! [`Clock`]: the one source of time for everything in gosling that waits or
//! measures, and [`ManualClock`], which moves only when a test says so.

use crate::sync::{Condvar, Mutex, MutexGuard, Wake};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

/// A source of time: the system clock, or a [`ManualClock`] for tests.
///
/// `Clock` is a cheap handle (one word plus a tag); clone it freely. Every
/// time-dependent part of gosling — contexts and their deadlines, timers,
/// limiters, schedules — reads time through a `Clock`, so a test can swap in
/// a manual clock and advance time without sleeping.
///
/// It is a concrete type rather than a trait so that the hot paths that read
/// it (rate-limit checks, deadline checks) stay a predictable branch instead
/// of a virtual call.
///
/// # Examples
///
/// ```
/// use gosling::time::Clock;
///
/// let clock = Clock::system();
/// let start = clock.now();
/// assert!(clock.now() >= start);
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    kind: Kind,
}

#[derive(Clone, Default)]
enum Kind {
    #[default]
    System,
    Manual(Arc<ManualState>),
}

impl Clock {
    /// The system clock: [`Instant::now`] and [`SystemTime::now`].
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = gosling::time::Clock::system();
    /// assert!(!clock.is_manual());
    /// ```
    #[must_use]
    pub const fn system() -> Clock {
        Clock { kind: Kind::System }
    }

    /// The current monotonic instant.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let clock = manual.clock();
    /// let t0 = clock.now();
    /// manual.advance(Duration::from_secs(5));
    /// assert_eq!(clock.now() - t0, Duration::from_secs(5));
    /// ```
    #[inline]
    #[must_use]
    pub fn now(&self) -> Instant {
        match &self.kind {
            Kind::System => Instant::now(),
            Kind::Manual(state) => state.base_instant + state.elapsed(),
        }
    }

    /// The current wall-clock time (what calendars and cron expressions use).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::time::ManualClock;
    /// use std::time::{Duration, SystemTime};
    ///
    /// let manual = ManualClock::starting_at(SystemTime::UNIX_EPOCH);
    /// manual.advance(Duration::from_secs(60));
    /// assert_eq!(manual.clock().wall(), SystemTime::UNIX_EPOCH + Duration::from_secs(60));
    /// ```
    #[inline]
    #[must_use]
    pub fn wall(&self) -> SystemTime {
        match &self.kind {
            Kind::System => SystemTime::now(),
            Kind::Manual(state) => state.base_wall + state.elapsed(),
        }
    }

    /// Nanoseconds on a monotonic scale private to this clock: for the
    /// system clock a fast counter (see `time/tsc.rs`) since a process-wide
    /// origin, for a manual clock the time advanced since its creation. Only
    /// differences between two readings of the same clock are meaningful.
    /// For hot paths that need no `Instant` (rate-limit checks).
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        match &self.kind {
            Kind::System => super::tsc::now_ns(),
            // ORDERING: Acquire, as in `ManualState::elapsed`.
            Kind::Manual(state) => state.elapsed_nanos.load(Ordering::Acquire),
        }
    }

    /// [`now`](Clock::now) and [`now_ns`](Clock::now_ns) read together, for
    /// turning a point on the `now_ns` scale into an `Instant`. On a manual
    /// clock both come from one reading, so the pair is exact even while
    /// another thread advances the clock; on the system clock they are read
    /// back to back.
    #[inline]
    pub(crate) fn now_and_ns(&self) -> (Instant, u64) {
        match &self.kind {
            Kind::System => (Instant::now(), super::tsc::now_ns()),
            Kind::Manual(state) => {
                // ORDERING: Acquire, as in `ManualState::elapsed`.
                let ns = state.elapsed_nanos.load(Ordering::Acquire);
                (state.base_instant + Duration::from_nanos(ns), ns)
            }
        }
    }

    /// True for a clock made by [`ManualClock`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::time::ManualClock::new().clock().is_manual());
    /// ```
    #[must_use]
    pub fn is_manual(&self) -> bool {
        matches!(self.kind, Kind::Manual(_))
    }

    /// Registers `waker` to be woken whenever this clock jumps. A no-op for the
    /// system clock, whose waiters use timed waits instead. Dead registrations
    /// are pruned as the clock advances.
    pub(crate) fn subscribe(&self, waker: Weak<dyn Wake>) {
        if let Kind::Manual(state) = &self.kind {
            state.subscribers.lock().push(waker);
        }
    }

    /// Waits on `cv` (whose mutex `guard` holds) until notified or until
    /// `deadline` on this clock, whichever comes first; returns the guard and
    /// whether the deadline has been reached. Spurious returns are possible:
    /// callers re-check their condition in a loop.
    ///
    /// With a manual clock the wait is woken by [`ManualClock::advance`]
    /// through the waiter's [`Wake`] registration ([`Clock::subscribe`]); a
    /// short real-time backstop bounds the wait in case a waiter was not
    /// registered.
    pub(crate) fn wait_until<'a, T>(
        &self,
        cv: &Condvar,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, T>, bool) {
        let Some(deadline) = deadline else {
            return match &self.kind {
                Kind::System => (cv.wait(guard), false),
                Kind::Manual(_) => (cv.wait_timeout(guard, MANUAL_BACKSTOP).0, false),
            };
        };
        let now = self.now();
        if now >= deadline {
            return (guard, true);
        }
        let guard = match &self.kind {
            Kind::System => cv.wait_timeout(guard, deadline - now).0,
            Kind::Manual(_) => cv.wait_timeout(guard, MANUAL_BACKSTOP).0,
        };
        let reached = self.now() >= deadline;
        (guard, reached)
    }
}

/// How long a waiter on a manual clock waits in real time before re-reading
/// the clock, should a wake-up have no registration to travel through.
const MANUAL_BACKSTOP: Duration = Duration::from_millis(5);

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::System => f.write_str("Clock::System"),
            Kind::Manual(state) => f
                .debug_struct("Clock::Manual")
                .field("elapsed", &state.elapsed())
                .finish(),
        }
    }
}

/// A clock that moves only when told to: for deterministic tests.
///
/// Create one, hand [`ManualClock::clock`] to whatever is under test, and
/// call [`ManualClock::advance`]. Everything waiting on the clock — context
/// sleeps and deadlines, timers, limiter waits — is woken when it advances.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let ctx = Context::with_clock(manual.clock()).with_timeout(Duration::from_secs(30));
/// assert!(!ctx.is_cancelled());
/// manual.advance(Duration::from_secs(30));
/// assert!(ctx.is_cancelled()); // the deadline passed without anyone sleeping
/// ```
#[derive(Clone)]
pub struct ManualClock {
    state: Arc<ManualState>,
}

struct ManualState {
    base_instant: Instant,
    base_wall: SystemTime,
    /// Nanoseconds advanced since creation. Only ever increases.
    elapsed_nanos: AtomicU64,
    /// Sleepers to wake when time moves.
    subscribers: Mutex<Vec<Weak<dyn Wake>>>,
}

impl ManualState {
    #[inline]
    fn elapsed(&self) -> Duration {
        // ORDERING: Acquire pairs with the Release in `advance`, so whatever a
        // test wrote before advancing is visible to a reader of the new time.
        Duration::from_nanos(self.elapsed_nanos.load(Ordering::Acquire))
    }
}

impl ManualClock {
    /// A manual clock whose wall time starts at the real current time.
    ///
    /// # Examples
    ///
    /// ```
    /// let manual = gosling::time::ManualClock::new();
    /// assert_eq!(manual.elapsed(), std::time::Duration::ZERO);
    /// ```
    #[must_use]
    pub fn new() -> ManualClock {
        ManualClock::starting_at(SystemTime::now())
    }

    /// A manual clock whose wall time starts at `wall`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::time::ManualClock;
    /// use std::time::{Duration, SystemTime};
    ///
    /// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200); // 2024-01-01
    /// let manual = ManualClock::starting_at(start);
    /// assert_eq!(manual.clock().wall(), start);
    /// ```
    #[must_use]
    pub fn starting_at(wall: SystemTime) -> ManualClock {
        ManualClock {
            state: Arc::new(ManualState {
                base_instant: Instant::now(),
                base_wall: wall,
                elapsed_nanos: AtomicU64::new(0),
                subscribers: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A [`Clock`] that reads this manual clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let manual = gosling::time::ManualClock::new();
    /// let clock = manual.clock();
    /// assert!(clock.is_manual());
    /// ```
    #[must_use]
    pub fn clock(&self) -> Clock {
        Clock {
            kind: Kind::Manual(Arc::clone(&self.state)),
        }
    }

    /// Moves time forward by `by` and wakes everything waiting on this clock.
    ///
    /// The elapsed time saturates at about 584 years.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// manual.advance(Duration::from_millis(1500));
    /// assert_eq!(manual.elapsed(), Duration::from_millis(1500));
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = super::duration_ns(by);
        // ORDERING: Release pairs with the Acquire in `elapsed`.
        let _ = self
            .state
            .elapsed_nanos
            .fetch_update(Ordering::Release, Ordering::Relaxed, |n| {
                Some(n.saturating_add(by))
            });
        self.wake_all();
    }

    /// How far this clock has been advanced since it was created.
    ///
    /// # Examples
    ///
    /// ```
    /// let manual = gosling::time::ManualClock::new();
    /// manual.advance(std::time::Duration::from_secs(1));
    /// assert_eq!(manual.elapsed().as_secs(), 1);
    /// ```
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.state.elapsed()
    }

    fn wake_all(&self) {
        // Collect strong references first so no waker runs under our lock.
        let live: Vec<Arc<dyn Wake>> = {
            let mut subscribers = self.state.subscribers.lock();
            subscribers.retain(|w| w.strong_count() > 0);
            subscribers.iter().filter_map(Weak::upgrade).collect()
        };
        for waker in live {
            waker.wake();
        }
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

/// The instant `delay` after `now`, for a wait that has no other end than
/// its deadline (a retry backoff). A delay past what an `Instant` can hold
/// waits "for ever" — a hundred years: until a cancel or the shutdown —
/// rather than not at all.
pub(crate) fn deadline_after(now: Instant, delay: Duration) -> Instant {
    now.checked_add(delay)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_too_far_for_an_instant_waits_a_century_not_zero() {
        let now = Instant::now();
        let delay = Duration::from_secs(3);
        assert_eq!(deadline_after(now, delay), now + delay);
        // `Duration::MAX` is past any `Instant`: the fallback is far, never
        // `now` (a retry at once).
        let at = deadline_after(now, Duration::MAX);
        if now.checked_add(Duration::MAX).is_none() {
            assert_eq!(at, now + Duration::from_secs(100 * 365 * 86_400));
        }
        assert!(at > now + Duration::from_secs(99 * 365 * 86_400));
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let manual = ManualClock::starting_at(SystemTime::UNIX_EPOCH);
        let clock = manual.clock();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        manual.advance(Duration::from_millis(250));
        assert_eq!(clock.now() - t0, Duration::from_millis(250));
        assert_eq!(
            clock.wall(),
            SystemTime::UNIX_EPOCH + Duration::from_millis(250)
        );
    }

    #[test]
    fn advance_saturates() {
        let manual = ManualClock::new();
        manual.advance(Duration::MAX);
        manual.advance(Duration::MAX);
        assert_eq!(manual.elapsed(), Duration::from_nanos(u64::MAX));
    }
}
