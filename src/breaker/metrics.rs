//! [`BreakerMetrics`]: a snapshot of a breaker's counters, and how
//! `Inner` takes it; the breaker as a source of metrics
//! ([`Collect`](crate::observe::Collect)).

#[cfg(doc)]
use super::BreakerBuilder;
use super::state::{BreakerState, HALF_OPEN, STATE_MASK};
use super::window::{Sums, Window};
use super::{CircuitBreaker, Inner};
use crate::observe::{CheckResult, Collect, Collector};
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a breaker's counters, from [`CircuitBreaker::metrics`].
///
/// Lifetime counts cover every result recorded since the breaker was built;
/// the `window_*` counts and rates cover the current sliding window (in
/// half-open: the current trial).
///
/// # Examples
///
/// ```
/// use gosling::breaker::{CircuitBreaker, BreakerState};
///
/// let breaker = CircuitBreaker::<()>::builder().count_window(4).build()?;
/// let _ = breaker.call(|| Ok::<_, ()>(1));
/// let _ = breaker.call(|| Err::<u8, _>(()));
/// let m = breaker.metrics();
/// assert_eq!((m.successful_calls, m.failed_calls, m.window_calls), (1, 1, 2));
/// assert_eq!(m.failure_rate, None); // fewer than the minimum of 4 calls
/// assert_eq!(m.state, BreakerState::Closed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BreakerMetrics {
    /// The current state.
    pub state: BreakerState,
    /// Calls recorded as successes (lifetime).
    pub successful_calls: u64,
    /// Calls recorded as failures (lifetime).
    pub failed_calls: u64,
    /// Recorded calls that were slow, successful or not (lifetime).
    pub slow_calls: u64,
    /// Calls rejected without running (lifetime).
    pub rejected_calls: u64,
    /// Errors the [`BreakerBuilder::ignore_if`] predicate left out (lifetime).
    pub ignored_calls: u64,
    /// Results that arrived after the state they started in had ended, and
    /// so decided nothing (lifetime).
    pub late_results: u64,
    /// State changes (lifetime): each one a [`StateChange`](super::StateChange)
    /// delivered to the listeners.
    pub transitions: u64,
    /// Calls in the current window (or half-open trial).
    pub window_calls: u64,
    /// Failures in the current window (or half-open trial).
    pub window_failures: u64,
    /// Slow calls in the current window (or half-open trial).
    pub window_slow_calls: u64,
    /// The window's failure rate in percent, once it holds the minimum
    /// number of calls.
    pub failure_rate: Option<f64>,
    /// The window's slow-call rate in percent, once it holds the minimum
    /// number of calls.
    pub slow_call_rate: Option<f64>,
}

impl<E> Inner<E> {
    pub(super) fn metrics(&self) -> BreakerMetrics {
        // ORDERING: Acquire pairs with the Release of a transition.
        let word = self.word.load(Ordering::Acquire);
        let now = self.clock.now();
        let state = word & STATE_MASK;
        let (window, judged) = if state == HALF_OPEN {
            let sums = self.trial_sums();
            (sums, sums.calls > 0)
        } else {
            let sums = self.window.sums(self.since_epoch(now));
            (sums, sums.calls >= self.config.minimum_calls)
        };
        // Lifetime: what left the window plus what is in every bucket.
        let mut live = Sums::default();
        match &self.window {
            Window::Count { buckets, .. } | Window::Time { buckets, .. } => {
                buckets.iter().for_each(|b| b.load(&mut live));
            }
        }
        // ORDERING: statistics only.
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let calls = load(&self.totals.calls).saturating_add(live.calls);
        let failures = load(&self.totals.failures).saturating_add(live.failures);
        let slow = load(&self.totals.slow).saturating_add(live.slow);
        BreakerMetrics {
            state: BreakerState::from_word(word),
            successful_calls: calls.saturating_sub(failures),
            failed_calls: failures,
            slow_calls: slow,
            rejected_calls: load(&self.totals.rejected),
            ignored_calls: load(&self.totals.ignored),
            late_results: load(&self.totals.late),
            transitions: load(&self.totals.transitions),
            window_calls: window.calls,
            window_failures: window.failures,
            window_slow_calls: window.slow,
            failure_rate: judged.then(|| Sums::rate(window.failures, window.calls)),
            slow_call_rate: judged.then(|| Sums::rate(window.slow, window.calls)),
        }
    }
}

/// A breaker reports its counters to a [`Metrics`](crate::observe::Metrics)
/// collection it is registered in (label it: `breaker="payments"`):
///
/// | metric | kind | what |
/// |---|---|---|
/// | `breaker_state{state=…}` | gauge | 1 for the current state (`closed`, `open`, `half_open`, `forced_open`, `disabled`), 0 for the others |
/// | `breaker_calls_total{outcome=…}` | counter | calls by outcome: `success`, `failure`, `rejected`, `ignored` |
/// | `breaker_slow_calls_total` | counter | recorded calls that were slow |
/// | `breaker_late_results_total` | counter | results that decided nothing (their state had ended) |
/// | `breaker_transitions_total` | counter | state changes |
/// | `breaker_window_calls` | gauge | calls in the current window (or trial) |
/// | `breaker_failure_rate_percent` | gauge | the window's failure rate, once it holds the minimum of calls |
///
/// # Examples
///
/// ```
/// use gosling::breaker::CircuitBreaker;
/// use gosling::observe::Metrics;
/// use std::sync::Arc;
///
/// let breaker = CircuitBreaker::<&str>::builder().count_window(2).build()?;
/// let metrics = Metrics::new();
/// metrics.label("breaker", "payments")?.register(Arc::new(breaker.clone()))?;
/// let _ = breaker.call(|| Err::<(), _>("down"));
/// let _ = breaker.call(|| Err::<(), _>("down")); // opens
/// let _ = breaker.call(|| Ok::<_, &str>(())); // rejected
/// let snap = metrics.snapshot();
/// let labels = |extra: (&'static str, &'static str)| [("breaker", "payments"), extra];
/// assert_eq!(snap.value("breaker_state", &labels(("state", "open"))), Some(1.0));
/// assert_eq!(snap.value("breaker_calls_total", &labels(("outcome", "failure"))), Some(2.0));
/// assert_eq!(snap.value("breaker_calls_total", &labels(("outcome", "rejected"))), Some(1.0));
/// assert_eq!(snap.value("breaker_transitions_total", &[("breaker", "payments")]), Some(1.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<E> Collect for CircuitBreaker<E>
where
    CircuitBreaker<E>: Send + Sync,
{
    fn collect(&self, out: &mut Collector<'_>) {
        use BreakerState::{Closed, Disabled, ForcedOpen, HalfOpen, Open};
        let m = self.metrics();
        for (state, name) in [
            (Closed, "closed"),
            (Open, "open"),
            (HalfOpen, "half_open"),
            (ForcedOpen, "forced_open"),
            (Disabled, "disabled"),
        ] {
            out.gauge_with(
                "breaker_state",
                "The breaker's state: 1 for the current one.",
                &[("state", name)],
                f64::from(u8::from(m.state == state)),
            );
        }
        for (outcome, n) in [
            ("success", m.successful_calls),
            ("failure", m.failed_calls),
            ("rejected", m.rejected_calls),
            ("ignored", m.ignored_calls),
        ] {
            out.counter_with(
                "breaker_calls_total",
                "Calls through the breaker, by outcome.",
                &[("outcome", outcome)],
                n as f64,
            );
        }
        out.counter(
            "breaker_slow_calls_total",
            "Recorded calls that were slow.",
            m.slow_calls as f64,
        );
        out.counter(
            "breaker_late_results_total",
            "Results that arrived after their state had ended.",
            m.late_results as f64,
        );
        out.counter(
            "breaker_transitions_total",
            "State changes.",
            m.transitions as f64,
        );
        out.gauge(
            "breaker_window_calls",
            "Calls in the current window or half-open trial.",
            m.window_calls as f64,
        );
        if let Some(rate) = m.failure_rate {
            out.gauge(
                "breaker_failure_rate_percent",
                "The window's failure rate, once it holds the minimum of calls.",
                rate,
            );
        }
    }
}

impl<E: 'static> CircuitBreaker<E>
where
    CircuitBreaker<E>: Send + Sync,
{
    /// A health check of this breaker, for
    /// [`Health::check`](crate::observe::Health::check): degraded while it
    /// is open, half-open or forced open (the dependency it guards is
    /// failing; the program still runs), healthy otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::CircuitBreaker;
    /// use gosling::observe::{Health, HealthStatus};
    /// use std::time::Duration;
    ///
    /// let breaker = CircuitBreaker::<()>::builder().build()?;
    /// let health = Health::new();
    /// health.check("payments", Duration::from_secs(1), breaker.health_check())?;
    /// breaker.force_open();
    /// let report = health.run();
    /// assert_eq!(report.status, HealthStatus::Degraded);
    /// assert_eq!(report.checks[0].1.message, "the circuit breaker is forced open");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn health_check(&self) -> impl Fn() -> CheckResult + Send + Sync + 'static {
        let breaker = self.clone();
        move || {
            let state = match breaker.state() {
                BreakerState::Closed | BreakerState::Disabled => return CheckResult::healthy(),
                BreakerState::Open => "open",
                BreakerState::HalfOpen => "half-open",
                BreakerState::ForcedOpen => "forced open",
            };
            CheckResult::degraded(format!("the circuit breaker is {state}"))
        }
    }
}
