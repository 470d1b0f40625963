//! Throughput: [`Meter`] (events per second as moving averages over 1, 5
//! and 15 minutes, the way load averages are kept) and [`WindowCounter`]
//! (the exact number of events in a sliding window, at a chosen
//! resolution). Both read time through a [`Clock`], so tests move it by
//! hand, and both keep time lazily: no thread ticks them.

use crate::sync::Mutex;
use crate::time::Clock;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often a meter's averages take in the events since the last tick.
const TICK_NS: u64 = 5_000_000_000;
/// Ticks after which an average is taken as decayed to zero (a day): an
/// idle meter catches up in bounded time.
const MAX_TICKS: u64 = 17_280;
/// The averaging periods, in seconds.
const PERIODS: [f64; 3] = [60.0, 300.0, 900.0];

/// Events per second, as exponentially weighted moving averages over 1, 5
/// and 15 minutes, and as the mean since the meter was made.
///
/// Every 5 seconds (of its clock) the averages take in the events marked
/// since: `rate += α × (events / 5 s − rate)`, with `α = 1 − e^(−5 s/period)`;
/// the first tick starts them at the rate it sees. Ticks happen lazily, in
/// whichever call finds one due, so an idle meter costs nothing. `mark` is
/// two atomic adds and a clock read; a due tick takes a short lock.
/// Clones share the meter.
///
/// # Examples
///
/// ```
/// use gosling::observe::Meter;
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let meter = Meter::with_clock(manual.clock());
/// meter.mark(50);
/// manual.advance(Duration::from_secs(5));
/// assert_eq!(meter.rate_1m(), 10.0); // 50 events in the first 5 s
/// manual.advance(Duration::from_secs(60)); // a quiet minute
/// assert!(meter.rate_1m() < 10.0 * 0.37);
/// assert!(meter.rate_15m() > 9.0);
/// assert_eq!(meter.count(), 50);
/// ```
#[derive(Clone)]
pub struct Meter {
    inner: Arc<MeterInner>,
}

struct MeterInner {
    clock: Clock,
    start_ns: u64,
    count: AtomicU64,
    /// Marked since the last tick.
    uncounted: AtomicU64,
    /// When the next tick is due (on the clock's `now_ns` scale).
    next_tick_ns: AtomicU64,
    /// The 1, 5 and 15 minute rates, and whether the first tick happened.
    rates: Mutex<([f64; 3], bool)>,
}

impl Default for Meter {
    fn default() -> Self {
        Meter::new()
    }
}

impl Meter {
    /// A meter on the system clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let meter = gosling::observe::Meter::new();
    /// meter.mark(1);
    /// assert_eq!(meter.count(), 1);
    /// ```
    #[must_use]
    pub fn new() -> Meter {
        Meter::with_clock(Clock::system())
    }

    /// A meter reading time from `clock`.
    ///
    /// # Examples
    ///
    /// See [`Meter`].
    #[must_use]
    pub fn with_clock(clock: Clock) -> Meter {
        let start_ns = clock.now_ns();
        Meter {
            inner: Arc::new(MeterInner {
                clock,
                start_ns,
                count: AtomicU64::new(0),
                uncounted: AtomicU64::new(0),
                next_tick_ns: AtomicU64::new(start_ns.saturating_add(TICK_NS)),
                rates: Mutex::new(([0.0; 3], false)),
            }),
        }
    }

    /// Counts `n` events now.
    ///
    /// # Examples
    ///
    /// See [`Meter`].
    pub fn mark(&self, n: u64) {
        self.tick_if_due();
        // ORDERING: statistics; a tick that misses these takes them next time.
        self.inner.count.fetch_add(n, Ordering::Relaxed);
        self.inner.uncounted.fetch_add(n, Ordering::Relaxed);
    }

    /// Events marked in all.
    ///
    /// # Examples
    ///
    /// See [`Meter`].
    #[must_use]
    pub fn count(&self) -> u64 {
        // ORDERING: see `mark`.
        self.inner.count.load(Ordering::Relaxed)
    }

    /// Events per second averaged over about the last minute.
    ///
    /// # Examples
    ///
    /// See [`Meter`].
    #[must_use]
    pub fn rate_1m(&self) -> f64 {
        self.rates()[0]
    }

    /// Events per second averaged over about the last 5 minutes.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Meter;
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let meter = Meter::with_clock(manual.clock());
    /// assert_eq!(meter.rate_5m(), 0.0);
    /// meter.mark(5);
    /// manual.advance(Duration::from_secs(5));
    /// assert_eq!(meter.rate_5m(), 1.0);
    /// ```
    #[must_use]
    pub fn rate_5m(&self) -> f64 {
        self.rates()[1]
    }

    /// Events per second averaged over about the last 15 minutes.
    ///
    /// # Examples
    ///
    /// See [`Meter`].
    #[must_use]
    pub fn rate_15m(&self) -> f64 {
        self.rates()[2]
    }

    /// Events per second since the meter was made (0 before any time has
    /// passed).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Meter;
    /// use gosling::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let manual = ManualClock::new();
    /// let meter = Meter::with_clock(manual.clock());
    /// meter.mark(30);
    /// assert_eq!(meter.mean_rate(), 0.0);
    /// manual.advance(Duration::from_secs(10));
    /// assert_eq!(meter.mean_rate(), 3.0);
    /// ```
    #[must_use]
    pub fn mean_rate(&self) -> f64 {
        let elapsed = self
            .inner
            .clock
            .now_ns()
            .saturating_sub(self.inner.start_ns);
        if elapsed == 0 {
            return 0.0;
        }
        self.count() as f64 / (elapsed as f64 / 1e9)
    }

    fn rates(&self) -> [f64; 3] {
        self.tick_if_due();
        self.inner.rates.lock().0
    }

    fn tick_if_due(&self) {
        let inner = &*self.inner;
        let now = inner.clock.now_ns();
        // ORDERING: the tick's bookkeeping is under `rates`; this is only
        // the cheap test for whether to take it.
        if now < inner.next_tick_ns.load(Ordering::Relaxed) {
            return;
        }
        let mut rates = inner.rates.lock();
        let due = inner.next_tick_ns.load(Ordering::Relaxed);
        if now < due {
            return; // another caller ticked meanwhile
        }
        let ticks = (now - due) / TICK_NS + 1;
        inner.next_tick_ns.store(
            due.saturating_add(ticks.saturating_mul(TICK_NS)),
            Ordering::Relaxed,
        );
        // ORDERING: see `mark`.
        let events = inner.uncounted.swap(0, Ordering::Relaxed);
        let instant = events as f64 / (TICK_NS as f64 / 1e9);
        let (values, started) = &mut *rates;
        for (rate, period) in values.iter_mut().zip(PERIODS) {
            let alpha = 1.0 - (-(TICK_NS as f64 / 1e9) / period).exp();
            // The events all land in the first of the ticks due; the rest
            // were quiet.
            if *started {
                *rate += alpha * (instant - *rate);
            } else {
                *rate = instant;
            }
            if ticks > MAX_TICKS {
                *rate = 0.0;
                continue;
            }
            for _ in 1..ticks {
                *rate -= alpha * *rate;
            }
        }
        *started = true;
    }
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [m1, m5, m15] = self.rates();
        f.debug_struct("Meter")
            .field("count", &self.count())
            .field("rate_1m", &m1)
            .field("rate_5m", &m5)
            .field("rate_15m", &m15)
            .finish()
    }
}

/// The number of events in a sliding window of time: the last `window`, in
/// `slots` slices of `window / slots` each.
///
/// [`count`](WindowCounter::count) is exact for whole slices: it adds the
/// events of the current slice and of the `slots − 1` before it, so an
/// event leaves the count between `window − window/slots` and `window`
/// after it was recorded. More slots, finer edges; memory is two words per
/// slot. Recording and counting take a short lock.
///
/// # Examples
///
/// ```
/// use gosling::observe::WindowCounter;
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let window = WindowCounter::with_clock(Duration::from_secs(60), 6, manual.clock())?;
/// window.record(3);
/// manual.advance(Duration::from_secs(30));
/// window.record(4);
/// assert_eq!(window.count(), 7);
/// manual.advance(Duration::from_secs(30)); // the first slice has left
/// assert_eq!(window.count(), 4);
/// manual.advance(Duration::from_secs(60));
/// assert_eq!(window.count(), 0);
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
pub struct WindowCounter {
    clock: Clock,
    slot_ns: u64,
    /// `(slice number, events)` per slot; a slot holds the slice whose
    /// number is its index modulo the slot count.
    slots: Mutex<Vec<(u64, u64)>>,
}

impl WindowCounter {
    /// The most slots a window may have.
    pub const MAX_SLOTS: usize = 4096;

    /// A window of `window` in `slots` slices, on the system clock.
    ///
    /// # Errors
    ///
    /// [`MetricsError::Buckets`](super::MetricsError::Buckets) when `slots`
    /// is 0 or above [`MAX_SLOTS`](WindowCounter::MAX_SLOTS), or a slice
    /// would be shorter than a nanosecond.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::WindowCounter;
    /// use std::time::Duration;
    ///
    /// let w = WindowCounter::new(Duration::from_secs(10), 10)?;
    /// w.record(1);
    /// assert_eq!(w.count(), 1);
    /// assert!(WindowCounter::new(Duration::from_secs(10), 0).is_err());
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn new(window: Duration, slots: usize) -> Result<WindowCounter, super::MetricsError> {
        WindowCounter::with_clock(window, slots, Clock::system())
    }

    /// A window reading time from `clock`.
    ///
    /// # Errors
    ///
    /// As for [`new`](WindowCounter::new).
    ///
    /// # Examples
    ///
    /// See [`WindowCounter`].
    pub fn with_clock(
        window: Duration,
        slots: usize,
        clock: Clock,
    ) -> Result<WindowCounter, super::MetricsError> {
        let window_ns = crate::time::duration_ns(window);
        if slots == 0 || slots > WindowCounter::MAX_SLOTS || window_ns < slots as u64 {
            return Err(super::MetricsError::Buckets(format!(
                "a window of {window:?} cannot have {slots} slots (1 to {}, each at least 1 ns)",
                WindowCounter::MAX_SLOTS
            )));
        }
        Ok(WindowCounter {
            clock,
            slot_ns: window_ns / slots as u64,
            // Slice numbers start at 1 (see `slice`), so 0 marks "empty".
            slots: Mutex::new(vec![(0, 0); slots]),
        })
    }

    /// The current slice's number, from 1.
    fn slice(&self) -> u64 {
        self.clock.now_ns() / self.slot_ns + 1
    }

    /// Records `n` events now.
    ///
    /// # Examples
    ///
    /// See [`WindowCounter`].
    pub fn record(&self, n: u64) {
        let slice = self.slice();
        let mut slots = self.slots.lock();
        let len = slots.len() as u64;
        let slot = &mut slots[(slice % len) as usize];
        if slot.0 != slice {
            *slot = (slice, 0);
        }
        slot.1 = slot.1.saturating_add(n);
    }

    /// Events recorded in the window ending now.
    ///
    /// # Examples
    ///
    /// See [`WindowCounter`].
    #[must_use]
    pub fn count(&self) -> u64 {
        let slice = self.slice();
        let slots = self.slots.lock();
        let oldest = slice.saturating_sub(slots.len() as u64 - 1);
        slots
            .iter()
            .filter(|(s, _)| *s >= oldest && *s <= slice)
            .fold(0u64, |sum, (_, n)| sum.saturating_add(*n))
    }
}

impl fmt::Debug for WindowCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowCounter")
            .field("count", &self.count())
            .field("slot", &Duration::from_nanos(self.slot_ns))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    #[test]
    fn averages_decay_at_their_periods() {
        let manual = ManualClock::new();
        let meter = Meter::with_clock(manual.clock());
        meter.mark(100);
        manual.advance(Duration::from_secs(5));
        assert_eq!(
            [meter.rate_1m(), meter.rate_5m(), meter.rate_15m()],
            [20.0; 3]
        );
        // One period of quiet leaves about 1/e of the rate.
        for (period, read) in [
            (60, Meter::rate_1m as fn(&Meter) -> f64),
            (300, Meter::rate_5m),
            (900, Meter::rate_15m),
        ] {
            let manual = ManualClock::new();
            let meter = Meter::with_clock(manual.clock());
            meter.mark(100);
            manual.advance(Duration::from_secs(5));
            let _ = read(&meter);
            manual.advance(Duration::from_secs(period));
            let left = read(&meter) / 20.0;
            assert!((left - (-1.0f64).exp()).abs() < 1e-9, "{period}: {left}");
        }
    }

    #[test]
    fn a_steady_rate_is_held_and_a_long_idle_clears_it() {
        let manual = ManualClock::new();
        let meter = Meter::with_clock(manual.clock());
        for _ in 0..200 {
            meter.mark(35); // 7 per second
            manual.advance(Duration::from_secs(5));
        }
        assert!((meter.rate_1m() - 7.0).abs() < 1e-9);
        assert!((meter.rate_15m() - 7.0).abs() < 1e-9);
        assert!((meter.mean_rate() - 7.0).abs() < 1e-9);
        manual.advance(Duration::from_secs(2 * 86_400));
        assert_eq!(meter.rate_15m(), 0.0);
        assert_eq!(meter.count(), 7_000);
        assert!(format!("{meter:?}").starts_with("Meter { count: 7000,"));
    }

    #[test]
    fn a_window_counts_whole_slices() {
        let manual = ManualClock::new();
        let w = WindowCounter::with_clock(Duration::from_secs(4), 4, manual.clock()).unwrap();
        for s in 0..4 {
            w.record(1 << s);
            manual.advance(Duration::from_secs(1));
        }
        // Slices 0-3 recorded 1, 2, 4, 8; now in slice 4: 1 has left.
        assert_eq!(w.count(), 14);
        w.record(16);
        assert_eq!(w.count(), 30);
        manual.advance(Duration::from_secs(3));
        assert_eq!(w.count(), 16);
        manual.advance(Duration::from_secs(1));
        assert_eq!(w.count(), 0);
        assert!(WindowCounter::new(Duration::from_nanos(3), 4).is_err());
        assert!(WindowCounter::new(Duration::from_secs(1), WindowCounter::MAX_SLOTS + 1).is_err());
    }
}
