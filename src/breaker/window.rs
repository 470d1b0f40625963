//! The sliding window a closed breaker judges: a ring of counting buckets,
//! by calls ([`Window::Count`]) or by time ([`Window::Time`]), at most
//! [`MAX_BUCKETS`]; the lifetime [`Totals`] that evicted buckets empty into;
//! and the rate comparison ([`reaches`]).
//!
//! The window is a ring of buckets of plain `u64` counters. A count window
//! of `size` calls in `b` buckets holds `b + 1` buckets of `size / b` calls:
//! the thread whose increment fills the current bucket clears the next one
//! (moving its counts into the lifetime totals) and advances the cursor, so
//! the window always holds the last `size` calls plus those of the bucket
//! being filled. A time window's buckets are tagged with the tick (time slot)
//! they count; the first call of a new tick clears the bucket it lands in.
//! Under concurrency the window is a close approximation (a result racing a
//! rotation can land in a neighbouring bucket); every result still reaches
//! the lifetime totals exactly once.
//!
//! Every recorded result is judged, but summing the window on every success
//! would cost more than the rest of the path, so a success skips the sums
//! when it provably cannot have opened the breaker. Adding a success lowers
//! both rates; it can open the breaker only by (a) bringing the window up to
//! the minimum number of calls, or (b) coming with calls leaving the window.
//! Count windows: (a) is ruled out once the window has held the minimum
//! since it was last cleared (`CountHead::trigger`; from then on a count
//! window never drops below it until it is cleared); (b) happens only at a
//! rotation, and raises a rate only if calls left, buckets hold more than
//! one call (with one, the call that leaves is replaced by the new one) and
//! a failure or slow call remains (`CountHead::bad`). Time windows: (b)
//! happens only at the first result of a new tick, and (a) only while the
//! current bucket holds no more than the minimum. A failure or slow call is
//! always judged.

use crate::sync::CachePadded;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Rates are compared in parts per million, in `u128`, so no count can
/// overflow the comparison.
pub(super) const PPM: u64 = 1_000_000;

/// The most buckets a window may have.
///
/// # Examples
///
/// ```
/// use gosling::breaker::{BreakerBuildError, CircuitBreaker, MAX_BUCKETS};
/// use std::time::Duration;
///
/// let too_many = CircuitBreaker::<()>::builder()
///     .time_window(Duration::from_secs(60), MAX_BUCKETS + 1)
///     .build();
/// assert_eq!(too_many.unwrap_err(), BreakerBuildError::InvalidBuckets(MAX_BUCKETS + 1));
/// ```
pub const MAX_BUCKETS: u32 = 1024;

/// Lifetime counts of results that have left the window (or never entered
/// it: half-open trials) plus rejections and the like. All relaxed: they are
/// statistics, read as a snapshot that may be a few results apart.
#[derive(Debug, Default)]
pub(super) struct Totals {
    pub(super) calls: AtomicU64,
    pub(super) failures: AtomicU64,
    pub(super) slow: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) ignored: AtomicU64,
    pub(super) late: AtomicU64,
    /// State changes (every one a listener is told of).
    pub(super) transitions: AtomicU64,
}

/// A window's (or a half-open trial's) counts, summed.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Sums {
    pub(super) calls: u64,
    pub(super) failures: u64,
    pub(super) slow: u64,
}

impl Sums {
    /// `part` as a percentage of `calls` (0 for no calls).
    pub(super) fn rate(part: u64, calls: u64) -> f64 {
        if calls == 0 {
            0.0
        } else {
            part as f64 * 100.0 / calls as f64
        }
    }
}

/// True when `part / calls` reaches `ppm` parts per million.
#[inline]
pub(super) fn reaches(part: u64, calls: u64, ppm: u64) -> bool {
    u128::from(part) * u128::from(PPM) >= u128::from(ppm) * u128::from(calls)
}

/// One bucket's counts.
#[derive(Debug, Default)]
pub(super) struct Bucket {
    pub(super) calls: AtomicU64,
    pub(super) failures: AtomicU64,
    pub(super) slow: AtomicU64,
    /// Time windows: the tick this bucket counts.
    tick: AtomicU64,
}

impl Bucket {
    /// Empties the bucket into the lifetime totals; returns the calls and
    /// the failures plus slow calls it held.
    #[inline]
    fn evict(&self, totals: &Totals) -> (u64, u64) {
        let calls = Self::take(&self.calls, &totals.calls);
        let failures = Self::take(&self.failures, &totals.failures);
        let slow = Self::take(&self.slow, &totals.slow);
        (calls, failures + slow)
    }

    /// Moves `from` into `to`; returns how much moved. A counter read as
    /// zero is left alone (failures and slow calls usually are): an
    /// increment landing after the read stays in the bucket and is counted
    /// there, so nothing is lost, and the common rotation costs one swap and
    /// one add instead of six.
    #[inline]
    fn take(from: &AtomicU64, to: &AtomicU64) -> u64 {
        // ORDERING: statistics only; the swap moves each increment exactly
        // once.
        if from.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let moved = from.swap(0, Ordering::Relaxed);
        to.fetch_add(moved, Ordering::Relaxed);
        moved
    }

    pub(super) fn load(&self, sums: &mut Sums) {
        // ORDERING: statistics only.
        sums.calls = sums
            .calls
            .saturating_add(self.calls.load(Ordering::Relaxed));
        sums.failures = sums
            .failures
            .saturating_add(self.failures.load(Ordering::Relaxed));
        sums.slow = sums.slow.saturating_add(self.slow.load(Ordering::Relaxed));
    }
}

/// What a count window's closed-state path reads on every result, on one
/// cache line.
#[derive(Debug)]
pub(super) struct CountHead {
    /// Index of the bucket being filled.
    pub(super) cursor: AtomicUsize,
    /// The count of the current bucket at or above which the fast success
    /// path goes out of line: 0 (every success) until the window has held
    /// the minimum number of calls, then `per_bucket` (a rotation). A count
    /// window never drops below the minimum again until it is cleared, so
    /// from then on no success can bring it up to the minimum. Both stores
    /// happen under the state lock: 0 by every clear (always part of a
    /// transition), `per_bucket` by a judge that checks the state word, so a
    /// late judge cannot mark a newer window.
    pub(super) trigger: AtomicU64,
    /// Failures plus slow calls in the buckets, an upper bound: raised
    /// before the bucket's counter, lowered after an eviction. Zero means
    /// that a rotation cannot have raised a rate. Written only on failures,
    /// slow calls and their evictions.
    pub(super) bad: AtomicU64,
}

/// The sliding window: a ring of buckets, by calls or by time.
#[derive(Debug)]
pub(super) enum Window {
    Count {
        buckets: Box<[Bucket]>,
        per_bucket: u64,
        head: CachePadded<CountHead>,
    },
    Time {
        buckets: Box<[Bucket]>,
        bucket_nanos: u64,
    },
}

impl Window {
    pub(super) fn count(ring: usize, per_bucket: u64) -> Window {
        Window::Count {
            buckets: (0..ring).map(|_| Bucket::default()).collect(),
            per_bucket,
            head: CachePadded(CountHead {
                cursor: AtomicUsize::new(0),
                trigger: AtomicU64::new(0),
                bad: AtomicU64::new(0),
            }),
        }
    }

    pub(super) fn time(ring: usize, bucket_nanos: u64) -> Window {
        Window::Time {
            buckets: (0..ring).map(|_| Bucket::default()).collect(),
            bucket_nanos,
        }
    }

    pub(super) fn needs_time(&self) -> bool {
        matches!(self, Window::Time { .. })
    }

    /// Records one result; true when the rates must be
    /// judged: after a failure or a slow call, and after a success that may
    /// have raised a rate or brought the window up to `minimum` calls (see
    /// the module notes). `since_epoch` is read only by time windows.
    #[inline]
    pub(super) fn record(
        &self,
        failed: bool,
        slow: bool,
        since_epoch: u64,
        totals: &Totals,
        minimum: u64,
    ) -> bool {
        match self {
            Window::Count {
                buckets,
                per_bucket,
                head,
            } => {
                // ORDERING: the cursor only picks a bucket; a stale one puts
                // the result in a neighbouring bucket, never loses it.
                let i = head.cursor.load(Ordering::Relaxed);
                let bucket = &buckets[i];
                // ORDERING: counters are statistics; relaxed RMWs never lose
                // an increment.
                let worse = u64::from(failed) + u64::from(slow);
                if worse != 0 {
                    head.bad.fetch_add(worse, Ordering::Relaxed);
                }
                if failed {
                    bucket.failures.fetch_add(1, Ordering::Relaxed);
                }
                if slow {
                    bucket.slow.fetch_add(1, Ordering::Relaxed);
                }
                // Exactly one increment sees the bucket become full: that
                // thread rotates.
                let rotated = bucket.calls.fetch_add(1, Ordering::Relaxed) + 1 == *per_bucket
                    && Self::rotate(buckets, *per_bucket, head, i, totals);
                // ORDERING: a hint, as the window itself is under concurrency.
                worse != 0 || rotated || head.trigger.load(Ordering::Relaxed) == 0
            }
            Window::Time {
                buckets,
                bucket_nanos,
            } => {
                let tick = since_epoch / bucket_nanos;
                let bucket = &buckets[(tick % buckets.len() as u64) as usize];
                // ORDERING: the tag only decides who clears the bucket; the
                // compare-exchange makes that one thread.
                let seen = bucket.tick.load(Ordering::Relaxed);
                let rolled = seen < tick
                    && bucket
                        .tick
                        .compare_exchange(seen, tick, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok();
                if rolled {
                    bucket.evict(totals);
                }
                if failed {
                    bucket.failures.fetch_add(1, Ordering::Relaxed);
                }
                if slow {
                    bucket.slow.fetch_add(1, Ordering::Relaxed);
                }
                let calls = bucket.calls.fetch_add(1, Ordering::Relaxed) + 1;
                // A new tick may have let older buckets leave the window;
                // within a tick the window only grows, and it can reach the
                // minimum only while the current bucket holds no more.
                failed || slow || rolled || calls <= minimum
            }
        }
    }

    /// Count windows: the bucket at `i` is full; clears the next one into
    /// the totals and moves the cursor there. True when that may have raised
    /// a rate: calls left the window, some failures or slow calls stay, and
    /// buckets hold more than one call (with one call per bucket the call
    /// that leaves is replaced by the one just recorded, so a success
    /// cannot raise a rate).
    #[inline]
    pub(super) fn rotate(
        buckets: &[Bucket],
        per_bucket: u64,
        head: &CountHead,
        i: usize,
        totals: &Totals,
    ) -> bool {
        let next = if i + 1 == buckets.len() { 0 } else { i + 1 };
        let (calls, worse) = buckets[next].evict(totals);
        // ORDERING: see `record`.
        if worse != 0 {
            head.bad.fetch_sub(worse, Ordering::Relaxed);
        }
        head.cursor.store(next, Ordering::Relaxed);
        per_bucket > 1 && calls != 0 && head.bad.load(Ordering::Relaxed) != 0
    }

    /// Count windows: true until the window has held the minimum number of
    /// calls since it was last cleared (see `CountHead::trigger`).
    pub(super) fn unsettled(&self) -> bool {
        match self {
            // ORDERING: a hint, see `CountHead::trigger`.
            Window::Count { head, .. } => head.trigger.load(Ordering::Relaxed) == 0,
            Window::Time { .. } => false,
        }
    }

    /// Count windows: marks the window as holding the minimum; under the
    /// state lock.
    pub(super) fn settle(&self) {
        if let Window::Count {
            head, per_bucket, ..
        } = self
        {
            // ORDERING: see `CountHead::trigger`.
            head.trigger.store(*per_bucket, Ordering::Relaxed);
        }
    }

    /// The window's sums at `since_epoch` (read only by time windows).
    pub(super) fn sums(&self, since_epoch: u64) -> Sums {
        let mut sums = Sums::default();
        match self {
            Window::Count { buckets, .. } => buckets.iter().for_each(|b| b.load(&mut sums)),
            Window::Time {
                buckets,
                bucket_nanos,
            } => {
                let now = since_epoch / bucket_nanos;
                let len = buckets.len() as u64;
                for b in buckets.iter() {
                    // ORDERING: statistics only.
                    let tick = b.tick.load(Ordering::Relaxed);
                    if tick <= now && now - tick < len {
                        b.load(&mut sums);
                    }
                }
            }
        }
        sums
    }

    /// Empties every bucket into the totals.
    pub(super) fn clear(&self, totals: &Totals) {
        match self {
            Window::Count { buckets, head, .. } => {
                // ORDERING: see `CountHead::trigger`.
                head.trigger.store(0, Ordering::Relaxed);
                for b in buckets.iter() {
                    let (_, worse) = b.evict(totals);
                    if worse != 0 {
                        // ORDERING: see `record`.
                        head.bad.fetch_sub(worse, Ordering::Relaxed);
                    }
                }
            }
            Window::Time { buckets, .. } => {
                buckets.iter().for_each(|b| {
                    b.evict(totals);
                });
            }
        }
    }

    /// Adds `successes` and `failures` straight to a count window's current
    /// bucket, as if that many calls had been recorded, without judging the
    /// rates: lets tests reach counts (10^9 and beyond) that no test could
    /// loop through.
    #[cfg(test)]
    fn preload(&self, successes: u64, failures: u64) {
        let Window::Count { buckets, head, .. } = self else {
            return;
        };
        let bucket = &buckets[head.cursor.load(Ordering::Relaxed)];
        head.bad.fetch_add(failures, Ordering::Relaxed);
        bucket
            .calls
            .fetch_add(successes + failures, Ordering::Relaxed);
        bucket.failures.fetch_add(failures, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use crate::breaker::{BreakerState, CircuitBreaker};

    /// A count window of 100 calls in one bucket, opening at 50 % failures.
    fn half_threshold() -> CircuitBreaker<&'static str> {
        CircuitBreaker::builder()
            .count_window_buckets(100, 1)
            .failure_rate_threshold(50.0)
            .build()
            .expect("a valid configuration")
    }

    fn fail(b: &CircuitBreaker<&'static str>) {
        let _ = b.call(|| Err::<(), _>("boom"));
    }

    #[test]
    fn no_overflow_after_a_billion_calls() {
        let b = half_threshold();
        // As if 10^9 successes and 10^9 - 1 failures were recorded.
        b.inner.window.preload(1_000_000_000, 999_999_999);
        let m = b.metrics();
        assert_eq!(m.successful_calls, 1_000_000_000);
        assert_eq!(m.failed_calls, 999_999_999);
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b); // exactly 50 %
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn no_overflow_near_two_to_the_62() {
        // Far beyond: counts near 2^62 still compare correctly.
        let b = half_threshold();
        b.inner.window.preload(1 << 62, (1 << 62) - 2);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Closed, "just under 50 %");
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
        let m = b.metrics();
        assert_eq!(m.failed_calls, 1 << 62);
        assert_eq!(m.successful_calls, 1 << 62);
    }
}
