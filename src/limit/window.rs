//! Window limiters: at most `limit` permits per `window`.
//!
//! - [`FixedWindow`]: counts per aligned window (`[k·W, (k+1)·W)` from the
//!   limiter's creation). Cheapest; at a boundary up to `2 × limit` can pass
//!   within a short span (the end of one window and the start of the next).
//! - [`SlidingLog`]: remembers when each admitted request passed; exact — in
//!   every interval of length `W` at most `limit` pass — at a memory cost of
//!   one entry per admitted request in the last window.
//! - [`SlidingCounter`]: two fixed-window counters, the previous one weighted
//!   by how much of it still overlaps the sliding window. Constant memory; an
//!   estimate that assumes the previous window's requests were evenly spread,
//!   so it smooths the fixed window's boundary spike but can still admit up
//!   to `2 × limit` in an unlucky interval of length `W` (never more than
//!   `limit` within one aligned window).
//!
//! All three hold their state under one short mutex; a refusal changes
//! nothing and says when the request would pass.

use super::gcra::validate;
use super::{AllowError, Epoch, LimitConfigError, Rate, RateLimiter, duration_ns};
use crate::sync::Mutex;
use crate::time::Clock;
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// Limit and window length, protected by the owner's mutex.
#[derive(Debug, Clone, Copy)]
struct Shape {
    limit: u32,
    window_ns: u64,
}

impl Shape {
    fn new(limit: u32, window: Duration) -> Result<Shape, LimitConfigError> {
        let window_ns = duration_ns(window);
        if window_ns == 0 {
            return Err(LimitConfigError::Unsupported {
                setting: "window (ns)",
                value: 0,
            });
        }
        if limit == 0 {
            return Err(LimitConfigError::ZeroBurst);
        }
        if window_ns > u64::MAX / 4 {
            return Err(LimitConfigError::Overflow);
        }
        Ok(Shape { limit, window_ns })
    }

    fn rate(&self) -> Rate {
        Rate::from_period_ns(self.window_ns / u64::from(self.limit))
    }

    /// Keeps the window, sets the limit to the permits that fit in it.
    fn with_rate(self, rate: Rate) -> Result<Shape, LimitConfigError> {
        let limit = (self.window_ns / rate.period_ns()).max(1);
        let limit = u32::try_from(limit).map_err(|_| LimitConfigError::Overflow)?;
        validate(rate.period_ns(), limit)?;
        Ok(Shape { limit, ..self })
    }

    fn check_n(&self, n: u32) -> Result<(), AllowError> {
        if n > self.limit {
            Err(AllowError::ExceedsBurst {
                requested: n,
                burst: self.limit,
            })
        } else {
            Ok(())
        }
    }
}

macro_rules! window_common {
    ($ty:ident) => {
        fn rate(&self) -> Rate {
            self.state.lock().shape.rate()
        }

        fn set_rate(&self, rate: Rate) -> Result<(), LimitConfigError> {
            let mut state = self.state.lock();
            state.shape = state.shape.with_rate(rate)?;
            Ok(())
        }

        fn burst(&self) -> u32 {
            self.state.lock().shape.limit
        }

        fn set_burst(&self, burst: u32) -> Result<(), LimitConfigError> {
            if burst == 0 {
                return Err(LimitConfigError::ZeroBurst);
            }
            self.state.lock().shape.limit = burst;
            Ok(())
        }

        fn clock(&self) -> &Clock {
            self.epoch.clock()
        }
    };
}

/// At most `limit` permits per aligned window.
///
/// Boundary behaviour: windows are aligned to the limiter's creation; the
/// count resets at each boundary, so `limit` permits at the end of one window
/// and `limit` more at the start of the next can pass close together.
/// [`burst`](RateLimiter::burst) is the limit; [`set_rate`](RateLimiter::set_rate)
/// keeps the window and sets the limit to what fits in it.
///
/// # Examples
///
/// ```
/// use gosling::limit::{FixedWindow, RateLimiter};
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let window = FixedWindow::with_clock(2, Duration::from_secs(1), manual.clock()).unwrap();
/// assert!(window.allow() && window.allow());
/// assert!(!window.allow());
/// manual.advance(Duration::from_secs(1)); // a new window
/// assert!(window.allow());
/// ```
pub struct FixedWindow {
    state: Mutex<FixedState>,
    epoch: Epoch,
}

#[derive(Debug)]
struct FixedState {
    shape: Shape,
    index: u64,
    count: u32,
}

impl FixedWindow {
    /// `limit` per `window` on the system clock.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroBurst`] for a zero limit; [`LimitConfigError::Unsupported`]
    /// for a zero window; [`LimitConfigError::Overflow`] for a window over ~146 years.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = gosling::limit::FixedWindow::new(100, std::time::Duration::from_secs(60))?;
    /// # let _ = w;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(limit: u32, window: Duration) -> Result<FixedWindow, LimitConfigError> {
        FixedWindow::with_clock(limit, window, Clock::system())
    }

    /// `limit` per `window` reading `clock`.
    ///
    /// # Errors
    ///
    /// As [`FixedWindow::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::FixedWindow;
    /// let manual = gosling::time::ManualClock::new();
    /// let w = FixedWindow::with_clock(1, std::time::Duration::from_secs(1), manual.clock()).unwrap();
    /// # let _ = w;
    /// ```
    pub fn with_clock(
        limit: u32,
        window: Duration,
        clock: Clock,
    ) -> Result<FixedWindow, LimitConfigError> {
        Ok(FixedWindow {
            state: Mutex::new(FixedState {
                shape: Shape::new(limit, window)?,
                index: 0,
                count: 0,
            }),
            epoch: Epoch::new(clock),
        })
    }
}

impl RateLimiter for FixedWindow {
    fn allow_n(&self, n: u32) -> Result<(), AllowError> {
        let now = self.epoch.now_ns();
        let mut state = self.state.lock();
        state.shape.check_n(n)?;
        let index = now / state.shape.window_ns;
        if index != state.index {
            state.index = index;
            state.count = 0;
        }
        if u64::from(state.count) + u64::from(n) <= u64::from(state.shape.limit) {
            state.count += n;
            Ok(())
        } else {
            let next = (index + 1).saturating_mul(state.shape.window_ns);
            Err(AllowError::RateLimited(self.epoch.limited(next, now)))
        }
    }

    window_common!(FixedWindow);
}

impl fmt::Debug for FixedWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("FixedWindow")
            .field("limit", &state.shape.limit)
            .field("window", &Duration::from_nanos(state.shape.window_ns))
            .field("count", &state.count)
            .finish()
    }
}

/// At most `limit` permits in every interval of length `window` (exact).
///
/// Boundary behaviour: none — the window slides with each request. A request
/// at `t` counts until `t + window` (excluded). Memory: one entry per
/// admission in the last window (at most `limit` entries).
///
/// # Examples
///
/// ```
/// use gosling::limit::{RateLimiter, SlidingLog};
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let log = SlidingLog::with_clock(2, Duration::from_secs(10), manual.clock()).unwrap();
/// assert!(log.allow());
/// manual.advance(Duration::from_secs(6));
/// assert!(log.allow());
/// assert!(!log.allow());
/// manual.advance(Duration::from_secs(4)); // the first entry expires
/// assert!(log.allow());
/// assert!(!log.allow());
/// ```
pub struct SlidingLog {
    state: Mutex<LogState>,
    epoch: Epoch,
}

#[derive(Debug)]
struct LogState {
    shape: Shape,
    /// (admitted at, permits), oldest first.
    entries: VecDeque<(u64, u32)>,
    total: u32,
}

impl SlidingLog {
    /// `limit` per sliding `window` on the system clock.
    ///
    /// # Errors
    ///
    /// As [`FixedWindow::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let log = gosling::limit::SlidingLog::new(10, std::time::Duration::from_secs(1))?;
    /// # let _ = log;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(limit: u32, window: Duration) -> Result<SlidingLog, LimitConfigError> {
        SlidingLog::with_clock(limit, window, Clock::system())
    }

    /// `limit` per sliding `window` reading `clock`.
    ///
    /// # Errors
    ///
    /// As [`FixedWindow::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let manual = gosling::time::ManualClock::new();
    /// let log = gosling::limit::SlidingLog::with_clock(1, std::time::Duration::from_secs(1), manual.clock()).unwrap();
    /// # let _ = log;
    /// ```
    pub fn with_clock(
        limit: u32,
        window: Duration,
        clock: Clock,
    ) -> Result<SlidingLog, LimitConfigError> {
        Ok(SlidingLog {
            state: Mutex::new(LogState {
                shape: Shape::new(limit, window)?,
                entries: VecDeque::new(),
                total: 0,
            }),
            epoch: Epoch::new(clock),
        })
    }
}

impl RateLimiter for SlidingLog {
    fn allow_n(&self, n: u32) -> Result<(), AllowError> {
        let now = self.epoch.now_ns();
        let mut guard = self.state.lock();
        let state = &mut *guard;
        state.shape.check_n(n)?;
        if n == 0 {
            return Ok(());
        }
        let window = state.shape.window_ns;
        while let Some(&(at, permits)) = state.entries.front() {
            if at.saturating_add(window) <= now {
                state.entries.pop_front();
                state.total -= permits;
            } else {
                break;
            }
        }
        if u64::from(state.total) + u64::from(n) <= u64::from(state.shape.limit) {
            state.total += n;
            state.entries.push_back((now, n));
            return Ok(());
        }
        // The earliest time enough old entries have expired.
        let mut must_free = u64::from(state.total) + u64::from(n) - u64::from(state.shape.limit);
        let mut earliest = now;
        for &(at, permits) in &state.entries {
            earliest = at.saturating_add(window);
            if u64::from(permits) >= must_free {
                break;
            }
            must_free -= u64::from(permits);
        }
        Err(AllowError::RateLimited(self.epoch.limited(earliest, now)))
    }

    window_common!(SlidingLog);
}

impl fmt::Debug for SlidingLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("SlidingLog")
            .field("limit", &state.shape.limit)
            .field("window", &Duration::from_nanos(state.shape.window_ns))
            .field("in_window", &state.total)
            .finish()
    }
}

/// At most about `limit` per sliding `window`, in constant memory.
///
/// Boundary behaviour: the estimate is `current + previous × (unexpired
/// fraction of the previous window)`; it assumes the previous window's
/// requests were evenly spread. Never more than `limit` within one aligned
/// window; in an unlucky unaligned interval up to `2 × limit`.
///
/// # Examples
///
/// ```
/// use gosling::limit::{RateLimiter, SlidingCounter};
/// use gosling::time::ManualClock;
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let counter = SlidingCounter::with_clock(4, Duration::from_secs(1), manual.clock()).unwrap();
/// assert!(counter.allow_n(4).is_ok());
/// manual.advance(Duration::from_millis(1500)); // half of the previous window still counts: 2
/// assert!(counter.allow_n(2).is_ok());
/// assert!(!counter.allow());
/// ```
pub struct SlidingCounter {
    state: Mutex<CounterState>,
    epoch: Epoch,
}

#[derive(Debug)]
struct CounterState {
    shape: Shape,
    index: u64,
    current: u32,
    previous: u32,
}

impl SlidingCounter {
    /// About `limit` per sliding `window` on the system clock.
    ///
    /// # Errors
    ///
    /// As [`FixedWindow::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gosling::limit::SlidingCounter::new(10, std::time::Duration::from_secs(1))?;
    /// # let _ = c;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(limit: u32, window: Duration) -> Result<SlidingCounter, LimitConfigError> {
        SlidingCounter::with_clock(limit, window, Clock::system())
    }

    /// About `limit` per sliding `window` reading `clock`.
    ///
    /// # Errors
    ///
    /// As [`FixedWindow::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let manual = gosling::time::ManualClock::new();
    /// let c = gosling::limit::SlidingCounter::with_clock(1, std::time::Duration::from_secs(1), manual.clock()).unwrap();
    /// # let _ = c;
    /// ```
    pub fn with_clock(
        limit: u32,
        window: Duration,
        clock: Clock,
    ) -> Result<SlidingCounter, LimitConfigError> {
        Ok(SlidingCounter {
            state: Mutex::new(CounterState {
                shape: Shape::new(limit, window)?,
                index: 0,
                current: 0,
                previous: 0,
            }),
            epoch: Epoch::new(clock),
        })
    }
}

/// `count × (window − elapsed) / window`, rounded up (conservative).
fn weighted(count: u32, window: u64, elapsed: u64) -> u64 {
    let remaining = u128::from(window - elapsed.min(window));
    let w = (u128::from(count) * remaining).div_ceil(u128::from(window));
    u64::try_from(w).unwrap_or(u64::MAX)
}

/// The smallest `elapsed` in `[0, window]` at which `weighted(count, ..) ≤ room`.
fn time_until_fits(count: u32, window: u64, room: u64) -> u64 {
    if count == 0 || u64::from(count) <= room {
        return 0;
    }
    // Need count·(W − e) ≤ room·W  ⇔  e ≥ W − room·W / count.
    let allowed = u128::from(room) * u128::from(window) / u128::from(count);
    window - u64::try_from(allowed).unwrap_or(window).min(window)
}

impl RateLimiter for SlidingCounter {
    fn allow_n(&self, n: u32) -> Result<(), AllowError> {
        let now = self.epoch.now_ns();
        let mut state = self.state.lock();
        state.shape.check_n(n)?;
        let window = state.shape.window_ns;
        let index = now / window;
        if index != state.index {
            state.previous = if index == state.index + 1 {
                state.current
            } else {
                0
            };
            state.current = 0;
            state.index = index;
        }
        let elapsed = now - index * window;
        let limit = u64::from(state.shape.limit);
        let estimate = weighted(state.previous, window, elapsed) + u64::from(state.current);
        if estimate + u64::from(n) <= limit {
            state.current += n;
            return Ok(());
        }
        let start = index * window;
        let earliest = if u64::from(state.current) + u64::from(n) <= limit {
            let room = limit - u64::from(state.current) - u64::from(n);
            start + time_until_fits(state.previous, window, room)
        } else {
            let room = limit - u64::from(n);
            start + window + time_until_fits(state.current, window, room)
        };
        Err(AllowError::RateLimited(
            self.epoch.limited(earliest.max(now + 1), now),
        ))
    }

    window_common!(SlidingCounter);
}

impl fmt::Debug for SlidingCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("SlidingCounter")
            .field("limit", &state.shape.limit)
            .field("window", &Duration::from_nanos(state.shape.window_ns))
            .field("current", &state.current)
            .field("previous", &state.previous)
            .finish()
    }
}
