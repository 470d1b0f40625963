//! The metric primitives: [`Counter`], [`Gauge`], [`Histogram`] and the
//! [`Buckets`] a histogram counts into. Each is a cheap handle to shared
//! atomics (clones count into the same metric); updating one takes no lock
//! and allocates nothing.

use super::MetricsError;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A count that only goes up: events, tasks, bytes.
///
/// Clones share the count. Increments are exact under any number of
/// threads (one atomic add each).
///
/// # Examples
///
/// ```
/// use gosling::observe::Counter;
///
/// let requests = Counter::new();
/// let other = requests.clone();
/// requests.inc();
/// other.add(41);
/// assert_eq!(requests.get(), 42);
/// ```
#[derive(Clone, Default)]
pub struct Counter {
    value: Arc<AtomicU64>,
}

impl Counter {
    /// A counter at zero, registered nowhere
    /// (see [`Metrics::counter`](super::Metrics::counter)).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::observe::Counter::new().get(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Counter {
        Counter::default()
    }

    /// Adds one.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gosling::observe::Counter::new();
    /// c.inc();
    /// assert_eq!(c.get(), 1);
    /// ```
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` (wrapping at `u64::MAX`, which no real count reaches).
    ///
    /// # Examples
    ///
    /// ```
    /// let bytes = gosling::observe::Counter::new();
    /// bytes.add(512);
    /// assert_eq!(bytes.get(), 512);
    /// ```
    #[inline]
    pub fn add(&self, n: u64) {
        // ORDERING: a statistic; nothing is published through it.
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    /// The count now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::observe::Counter::new().get(), 0);
    /// ```
    #[must_use]
    pub fn get(&self) -> u64 {
        // ORDERING: see `add`.
        self.value.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Counter").field(&self.get()).finish()
    }
}

/// A value that goes up and down: a depth, a temperature, a size in use.
///
/// Holds an `f64`. Clones share the value. `set` is one atomic store;
/// `add` and `sub` are a compare-and-swap loop, exact under contention.
///
/// # Examples
///
/// ```
/// use gosling::observe::Gauge;
///
/// let in_use = Gauge::new();
/// in_use.inc();
/// in_use.add(2.5);
/// in_use.dec();
/// assert_eq!(in_use.get(), 2.5);
/// in_use.set(-1.0);
/// assert_eq!(in_use.get(), -1.0);
/// ```
#[derive(Clone, Default)]
pub struct Gauge {
    /// The value's bits (`f64::to_bits`); 0 is 0.0.
    bits: Arc<AtomicU64>,
}

impl Gauge {
    /// A gauge at zero, registered nowhere
    /// (see [`Metrics::gauge`](super::Metrics::gauge)).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::observe::Gauge::new().get(), 0.0);
    /// ```
    #[must_use]
    pub fn new() -> Gauge {
        Gauge::default()
    }

    /// Sets the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gosling::observe::Gauge::new();
    /// g.set(7.0);
    /// assert_eq!(g.get(), 7.0);
    /// ```
    pub fn set(&self, value: f64) {
        // ORDERING: a statistic; nothing is published through it.
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Adds `delta` (negative to subtract).
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gosling::observe::Gauge::new();
    /// g.add(3.0);
    /// g.add(-1.0);
    /// assert_eq!(g.get(), 2.0);
    /// ```
    pub fn add(&self, delta: f64) {
        add_f64(&self.bits, delta);
    }

    /// Subtracts `delta`.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gosling::observe::Gauge::new();
    /// g.sub(1.5);
    /// assert_eq!(g.get(), -1.5);
    /// ```
    pub fn sub(&self, delta: f64) {
        add_f64(&self.bits, -delta);
    }

    /// Adds one.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gosling::observe::Gauge::new();
    /// g.inc();
    /// assert_eq!(g.get(), 1.0);
    /// ```
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gosling::observe::Gauge::new();
    /// g.dec();
    /// assert_eq!(g.get(), -1.0);
    /// ```
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// The value now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::observe::Gauge::new().get(), 0.0);
    /// ```
    #[must_use]
    pub fn get(&self) -> f64 {
        // ORDERING: see `set`.
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for Gauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Gauge").field(&self.get()).finish()
    }
}

/// Adds `delta` to the `f64` whose bits `cell` holds.
fn add_f64(cell: &AtomicU64, delta: f64) {
    // ORDERING: a statistic; the CAS only has to make the addition exact.
    let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
        Some((f64::from_bits(bits) + delta).to_bits())
    });
}

/// The upper bounds of a [`Histogram`]'s buckets, in increasing order.
///
/// A value `v` is counted in the first bucket whose bound `le` satisfies
/// `v <= le` (Prometheus' `le` semantics); a value above every bound goes to
/// the implicit `+Inf` bucket. Bounds are finite and strictly increasing;
/// at most [`Buckets::MAX`] of them.
///
/// # Examples
///
/// ```
/// use gosling::observe::Buckets;
///
/// let b = Buckets::exponential(0.001, 10.0, 4)?;
/// assert_eq!(b.bounds(), &[0.001, 0.01, 0.1, 1.0]);
/// assert_eq!(Buckets::linear(1.0, 1.0, 3)?.bounds(), &[1.0, 2.0, 3.0]);
/// assert!(Buckets::new(vec![1.0, 1.0]).is_err()); // not increasing
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    bounds: Vec<f64>,
}

impl Buckets {
    /// The most bounds a histogram may have.
    pub const MAX: usize = 256;

    /// Buckets with these upper bounds: finite, strictly increasing, at
    /// most [`MAX`](Buckets::MAX). An empty list is allowed (only `+Inf`:
    /// a count and a sum).
    ///
    /// # Errors
    ///
    /// [`MetricsError::Buckets`] naming what is wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Buckets;
    ///
    /// assert_eq!(Buckets::new(vec![0.5, 1.0])?.bounds(), &[0.5, 1.0]);
    /// let err = Buckets::new(vec![1.0, f64::INFINITY]).unwrap_err();
    /// assert_eq!(err.to_string(), "invalid buckets: bound 1 is not finite (inf)");
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn new(bounds: Vec<f64>) -> Result<Buckets, MetricsError> {
        if bounds.len() > Buckets::MAX {
            return Err(MetricsError::Buckets(format!(
                "{} bounds, more than the {} allowed",
                bounds.len(),
                Buckets::MAX
            )));
        }
        for (i, &b) in bounds.iter().enumerate() {
            if !b.is_finite() {
                return Err(MetricsError::Buckets(format!(
                    "bound {i} is not finite ({b})"
                )));
            }
            if i > 0 && b <= bounds[i - 1] {
                return Err(MetricsError::Buckets(format!(
                    "bound {i} ({b}) is not greater than bound {} ({})",
                    i - 1,
                    bounds[i - 1]
                )));
            }
        }
        Ok(Buckets { bounds })
    }

    /// `count` bounds starting at `start`, each `factor` times the one
    /// before (logarithmic buckets).
    ///
    /// # Errors
    ///
    /// [`MetricsError::Buckets`] when `start` is not positive, `factor` is
    /// not greater than 1, `count` is 0 or above [`MAX`](Buckets::MAX), or
    /// a bound overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Buckets;
    ///
    /// assert_eq!(Buckets::exponential(1.0, 2.0, 4)?.bounds(), &[1.0, 2.0, 4.0, 8.0]);
    /// assert!(Buckets::exponential(0.0, 2.0, 4).is_err());
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Buckets, MetricsError> {
        if !(start > 0.0 && start.is_finite()) {
            return Err(MetricsError::Buckets(format!(
                "exponential start must be positive and finite, not {start}"
            )));
        }
        if !(factor > 1.0 && factor.is_finite()) {
            return Err(MetricsError::Buckets(format!(
                "exponential factor must be greater than 1, not {factor}"
            )));
        }
        Buckets::series(count, start, |b| b * factor)
    }

    /// `count` bounds starting at `start`, `width` apart.
    ///
    /// # Errors
    ///
    /// [`MetricsError::Buckets`] when `width` is not positive, `count` is 0
    /// or above [`MAX`](Buckets::MAX), or a bound is not finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Buckets;
    ///
    /// assert_eq!(Buckets::linear(0.0, 0.5, 3)?.bounds(), &[0.0, 0.5, 1.0]);
    /// assert!(Buckets::linear(0.0, 0.0, 3).is_err());
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn linear(start: f64, width: f64, count: usize) -> Result<Buckets, MetricsError> {
        if !(width > 0.0 && width.is_finite()) {
            return Err(MetricsError::Buckets(format!(
                "linear width must be positive and finite, not {width}"
            )));
        }
        // From the start each time, so that rounding does not accumulate.
        let mut i = 0.0;
        Buckets::series(count, start, |_| {
            i += 1.0;
            start + i * width
        })
    }

    fn series(
        count: usize,
        start: f64,
        mut next: impl FnMut(f64) -> f64,
    ) -> Result<Buckets, MetricsError> {
        if count == 0 || count > Buckets::MAX {
            return Err(MetricsError::Buckets(format!(
                "count must be 1 to {}, not {count}",
                Buckets::MAX
            )));
        }
        let mut bounds = Vec::with_capacity(count);
        let mut b = start;
        for _ in 0..count {
            bounds.push(b);
            b = next(b);
        }
        Buckets::new(bounds)
    }

    /// The default latency buckets, in seconds: 1, 2.5 and 5 steps per
    /// decade from 10 µs to 10 s — wide enough for a task that takes
    /// microseconds and one that takes seconds.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = gosling::observe::Buckets::latency();
    /// assert_eq!(b.bounds().first(), Some(&0.00001));
    /// assert_eq!(b.bounds().last(), Some(&10.0));
    /// ```
    #[must_use]
    pub fn latency() -> Buckets {
        Buckets {
            bounds: LATENCY.to_vec(),
        }
    }

    /// The upper bounds (without `+Inf`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::observe::Buckets::latency().bounds().len(), 19);
    /// ```
    #[must_use]
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets::latency()
    }
}

const LATENCY: [f64; 19] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A distribution of observed values, counted into fixed [`Buckets`], with
/// their sum and count: latencies, sizes.
///
/// Clones share the counts. An observation is a search over the bounds and
/// two atomic updates (the bucket's count, and the sum: a compare-and-swap
/// loop for [`observe`](Histogram::observe), one add of whole nanoseconds
/// for [`observe_duration`](Histogram::observe_duration)); no lock and no
/// allocation. A snapshot's count is the sum of its
/// buckets, so the two always agree. `NaN` is counted in the `+Inf` bucket
/// and left out of the sum.
///
/// # Examples
///
/// ```
/// use gosling::observe::{Buckets, Histogram};
/// use std::time::Duration;
///
/// let h = Histogram::new(Buckets::new(vec![0.1, 1.0])?);
/// h.observe(0.1);   // le="0.1": v <= le
/// h.observe(0.5);
/// h.observe_duration(Duration::from_secs(3));
/// let s = h.snapshot();
/// assert_eq!(s.count(), 3);
/// assert_eq!(s.sum(), 3.6);
/// assert_eq!(s.cumulative(), vec![(0.1, 1), (1.0, 2), (f64::INFINITY, 3)]);
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
#[derive(Clone)]
pub struct Histogram {
    core: Arc<HistogramCore>,
}

struct HistogramCore {
    bounds: Box<[f64]>,
    /// One count per bound, then `+Inf`; not cumulative.
    counts: Box<[AtomicU64]>,
    /// The sum of `observe`d values' bits (`f64::to_bits`).
    sum: AtomicU64,
    /// The sum of `observe_duration`s, in nanoseconds: one atomic add
    /// instead of a compare-and-swap loop.
    sum_ns: AtomicU64,
}

impl Histogram {
    /// A histogram with these buckets, registered nowhere
    /// (see [`Metrics::histogram`](super::Metrics::histogram)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Buckets, Histogram};
    /// let h = Histogram::new(Buckets::latency());
    /// assert_eq!(h.snapshot().count(), 0);
    /// ```
    #[must_use]
    pub fn new(buckets: Buckets) -> Histogram {
        let counts = (0..=buckets.bounds.len())
            .map(|_| AtomicU64::new(0))
            .collect();
        Histogram {
            core: Arc::new(HistogramCore {
                bounds: buckets.bounds.into_boxed_slice(),
                counts,
                sum: AtomicU64::new(0),
                sum_ns: AtomicU64::new(0),
            }),
        }
    }

    /// Counts one value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Buckets, Histogram};
    /// let h = Histogram::new(Buckets::new(vec![10.0])?);
    /// h.observe(11.0);
    /// assert_eq!(h.snapshot().cumulative(), vec![(10.0, 0), (f64::INFINITY, 1)]);
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    #[inline]
    pub fn observe(&self, value: f64) {
        if value.is_nan() {
            // Past every bound, in +Inf; left out of the sum.
            self.count_in(self.core.bounds.len());
            return;
        }
        self.count(value);
        add_f64(&self.core.sum, value);
    }

    /// Counts `value` in its bucket (the first bound not below it).
    #[inline]
    fn count(&self, value: f64) {
        self.count_in(self.core.bounds.partition_point(|&b| b < value));
    }

    #[inline]
    fn count_in(&self, bucket: usize) {
        // ORDERING: statistics; nothing is published through them.
        self.core.counts[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a duration of `ns` nanoseconds, in seconds; the sum is kept
    /// in whole nanoseconds (one atomic add).
    #[inline]
    pub(crate) fn observe_ns(&self, ns: u64) {
        self.count(ns as f64 / 1e9);
        // ORDERING: see `count_in`.
        self.core.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Counts a duration, in seconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Histogram;
    /// use std::time::Duration;
    /// let h = Histogram::new(Default::default());
    /// h.observe_duration(Duration::from_millis(250));
    /// assert_eq!(h.snapshot().sum(), 0.25);
    /// ```
    #[inline]
    pub fn observe_duration(&self, d: Duration) {
        self.observe_ns(crate::time::duration_ns(d));
    }

    /// Adds `other`'s counts and sum to this one's (same buckets).
    pub(crate) fn absorb(&self, other: &Histogram) {
        let (mine, theirs) = (&*self.core, &*other.core);
        debug_assert_eq!(mine.bounds, theirs.bounds);
        // ORDERING: see `count_in`.
        for (to, from) in mine.counts.iter().zip(theirs.counts.iter()) {
            to.fetch_add(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        mine.sum_ns
            .fetch_add(theirs.sum_ns.load(Ordering::Relaxed), Ordering::Relaxed);
        add_f64(
            &mine.sum,
            f64::from_bits(theirs.sum.load(Ordering::Relaxed)),
        );
    }

    /// The counts now. Each bucket is read once; under concurrent
    /// observations the sum may lag the counts by the observations in
    /// flight.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Histogram;
    /// let h = Histogram::new(Default::default());
    /// h.observe(1.0);
    /// assert_eq!(h.snapshot().count(), 1);
    /// ```
    #[must_use]
    pub fn snapshot(&self) -> HistogramSnapshot {
        let core = &*self.core;
        let mut total = 0;
        let mut buckets = Vec::with_capacity(core.counts.len());
        for (i, count) in core.counts.iter().enumerate() {
            // ORDERING: see `count_in`.
            total += count.load(Ordering::Relaxed);
            let le = core.bounds.get(i).copied().unwrap_or(f64::INFINITY);
            buckets.push((le, total));
        }
        HistogramSnapshot {
            buckets,
            // ORDERING: see `count_in`.
            sum: f64::from_bits(core.sum.load(Ordering::Relaxed))
                + core.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.snapshot();
        f.debug_struct("Histogram")
            .field("count", &s.count())
            .field("sum", &s.sum())
            .finish_non_exhaustive()
    }
}

/// The state of a [`Histogram`] at one moment: cumulative bucket counts,
/// the sum and the count.
///
/// # Examples
///
/// ```
/// use gosling::observe::{Buckets, HistogramSnapshot};
///
/// let s = HistogramSnapshot::new(vec![(1.0, 2), (f64::INFINITY, 5)], 9.5)?;
/// assert_eq!((s.count(), s.sum()), (5, 9.5));
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(le, cumulative count)`, ending with `(+Inf, count)`.
    buckets: Vec<(f64, u64)>,
    sum: f64,
}

impl HistogramSnapshot {
    /// A snapshot from cumulative `(le, count)` pairs ending with `+Inf`,
    /// for a [`Collect`](super::Collect) that keeps its own counts.
    ///
    /// # Errors
    ///
    /// [`MetricsError::Buckets`] when the bounds are not strictly
    /// increasing, the last is not `+Inf`, or the counts decrease.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::HistogramSnapshot;
    /// assert!(HistogramSnapshot::new(vec![(1.0, 3), (f64::INFINITY, 2)], 0.0).is_err());
    /// assert!(HistogramSnapshot::new(vec![(1.0, 3)], 0.0).is_err()); // no +Inf
    /// ```
    pub fn new(buckets: Vec<(f64, u64)>, sum: f64) -> Result<HistogramSnapshot, MetricsError> {
        match buckets.last() {
            Some(&(le, _)) if le == f64::INFINITY => {}
            _ => {
                return Err(MetricsError::Buckets(
                    "the last bucket must be +Inf".to_string(),
                ));
            }
        }
        let bounds: Vec<f64> = buckets[..buckets.len() - 1].iter().map(|b| b.0).collect();
        Buckets::new(bounds)?;
        if buckets.windows(2).any(|w| w[1].1 < w[0].1) {
            return Err(MetricsError::Buckets(
                "cumulative counts must not decrease".to_string(),
            ));
        }
        Ok(HistogramSnapshot { buckets, sum })
    }

    /// `(le, cumulative count)` per bucket, ending with `(+Inf, count)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Histogram;
    /// let s = Histogram::new(Default::default()).snapshot();
    /// assert_eq!(s.cumulative().last(), Some(&(f64::INFINITY, 0)));
    /// ```
    #[must_use]
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        self.buckets.clone()
    }

    pub(crate) fn buckets(&self) -> &[(f64, u64)] {
        &self.buckets
    }

    /// Adds `other`'s counts (same buckets) to these.
    pub(crate) fn merge(&mut self, other: &HistogramSnapshot) {
        debug_assert_eq!(self.buckets.len(), other.buckets.len());
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.1 += theirs.1;
        }
        self.sum += other.sum;
    }

    /// How many values were observed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Histogram;
    /// assert_eq!(Histogram::new(Default::default()).snapshot().count(), 0);
    /// ```
    #[must_use]
    pub fn count(&self) -> u64 {
        self.buckets.last().map_or(0, |b| b.1)
    }

    /// The sum of the observed values (`NaN`s left out).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Histogram;
    /// let h = Histogram::new(Default::default());
    /// h.observe(2.0);
    /// h.observe(f64::NAN);
    /// assert_eq!((h.snapshot().sum(), h.snapshot().count()), (2.0, 2));
    /// ```
    #[must_use]
    pub fn sum(&self) -> f64 {
        self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_on_a_bound_count_in_that_bucket() {
        let h = Histogram::new(Buckets::new(vec![1.0, 2.0]).unwrap());
        for v in [0.0, 1.0, 1.5, 2.0, 2.0001, -5.0] {
            h.observe(v);
        }
        assert_eq!(
            h.snapshot().cumulative(),
            vec![(1.0, 3), (2.0, 5), (f64::INFINITY, 6)]
        );
    }

    #[test]
    fn empty_buckets_count_only_inf() {
        let h = Histogram::new(Buckets::new(Vec::new()).unwrap());
        h.observe(3.0);
        assert_eq!(h.snapshot().cumulative(), vec![(f64::INFINITY, 1)]);
        assert_eq!(h.snapshot().sum(), 3.0);
    }

    #[test]
    fn bucket_constructors_check_their_arguments() {
        assert!(Buckets::new(vec![f64::NAN]).is_err());
        assert!(Buckets::new(vec![2.0, 1.0]).is_err());
        assert!(Buckets::new(vec![0.0; Buckets::MAX + 1]).is_err());
        assert!(Buckets::exponential(1.0, 1.0, 3).is_err());
        assert!(Buckets::exponential(1.0, 2.0, 0).is_err());
        assert!(Buckets::exponential(1.0, 2.0, Buckets::MAX + 1).is_err());
        assert!(Buckets::exponential(1e300, 1e10, 3).is_err()); // overflows to inf
        assert!(Buckets::linear(0.0, f64::INFINITY, 3).is_err());
        assert!(Buckets::linear(0.0, 1.0, Buckets::MAX).is_ok());
        // Linear bounds do not accumulate rounding.
        let b = Buckets::linear(0.0, 0.1, 10).unwrap();
        assert_eq!(b.bounds()[9], 0.9); // summing 0.1 nine times gives 0.8999…
        assert!(Buckets::new(LATENCY.to_vec()).is_ok());
    }

    #[test]
    fn absorbing_and_merging_add_every_count() {
        let a = Histogram::new(Buckets::new(vec![1.0]).unwrap());
        let b = Histogram::new(Buckets::new(vec![1.0]).unwrap());
        a.observe(0.5);
        b.observe(2.0);
        b.observe_duration(Duration::from_millis(500));
        let mut merged = a.snapshot();
        merged.merge(&b.snapshot());
        assert_eq!(merged.cumulative(), vec![(1.0, 2), (f64::INFINITY, 3)]);
        assert_eq!(merged.sum(), 3.0);
        a.absorb(&b);
        assert_eq!(a.snapshot(), merged);
        assert_eq!(b.snapshot().count(), 2); // the source keeps its counts
    }

    #[test]
    fn gauge_adds_exactly_under_contention() {
        let g = Gauge::new();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        g.inc();
                        g.add(2.0);
                        g.sub(2.0);
                    }
                });
            }
        });
        assert_eq!(g.get(), 4000.0);
    }

    #[test]
    fn debug_shows_values() {
        let c = Counter::new();
        c.add(3);
        assert_eq!(format!("{c:?}"), "Counter(3)");
        let g = Gauge::new();
        g.set(1.5);
        assert_eq!(format!("{g:?}"), "Gauge(1.5)");
        let h = Histogram::new(Buckets::latency());
        h.observe(1.0);
        assert_eq!(format!("{h:?}"), "Histogram { count: 1, sum: 1.0, .. }");
    }
}
