//! [`Health`]: named checks — healthy, degraded or unhealthy, with a
//! message — each bounded by a timeout, so a hung check reports unhealthy
//! instead of hanging the probe; the aggregate as JSON. The built-in checks
//! live with what they check ([`Pool::health_check`](crate::Pool::health_check),
//! [`CircuitBreaker::health_check`](crate::breaker::CircuitBreaker::health_check)):
//! this module imports neither.
//!
//! A check runs on a thread of its own (`gosling-health`) for each probe,
//! and the probe waits for it at most its timeout. A check still running
//! from an earlier probe is not started again — it reports unhealthy until
//! it returns — so a check that hangs for good holds one thread, never one
//! per probe.

use crate::sync::Mutex;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

/// How a check found its subject, from best to worst.
///
/// # Examples
///
/// ```
/// use gosling::observe::HealthStatus;
/// assert!(HealthStatus::Healthy < HealthStatus::Degraded);
/// assert_eq!(HealthStatus::Unhealthy.to_string(), "unhealthy");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum HealthStatus {
    /// Working.
    Healthy,
    /// Working, but not well (a breaker open, a queue nearly full): still
    /// ready for traffic.
    Degraded,
    /// Not working: not ready for traffic.
    Unhealthy,
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        })
    }
}

/// What one check found: a status and a message for the operator.
///
/// # Examples
///
/// ```
/// use gosling::observe::{CheckResult, HealthStatus};
/// let r = CheckResult::degraded("replica lag 12 s");
/// assert_eq!((r.status, r.message.as_str()), (HealthStatus::Degraded, "replica lag 12 s"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The finding.
    pub status: HealthStatus,
    /// Why (empty for a plain "healthy").
    pub message: String,
}

impl CheckResult {
    /// Healthy, with no message.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::observe::CheckResult::healthy().message.is_empty());
    /// ```
    #[must_use]
    pub fn healthy() -> CheckResult {
        CheckResult {
            status: HealthStatus::Healthy,
            message: String::new(),
        }
    }

    /// Degraded, saying why.
    ///
    /// # Examples
    ///
    /// See [`CheckResult`].
    pub fn degraded(message: impl Into<String>) -> CheckResult {
        CheckResult {
            status: HealthStatus::Degraded,
            message: message.into(),
        }
    }

    /// Unhealthy, saying why.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{CheckResult, HealthStatus};
    /// assert_eq!(CheckResult::unhealthy("down").status, HealthStatus::Unhealthy);
    /// ```
    pub fn unhealthy(message: impl Into<String>) -> CheckResult {
        CheckResult {
            status: HealthStatus::Unhealthy,
            message: message.into(),
        }
    }
}

type CheckFn = Arc<dyn Fn() -> CheckResult + Send + Sync>;

struct Check {
    name: String,
    timeout: Duration,
    run: CheckFn,
    /// The result of an evaluation that outlived its probe's timeout.
    in_flight: Mutex<Option<Receiver<CheckResult>>>,
}

/// Why a check was not added.
///
/// # Examples
///
/// ```
/// use gosling::observe::{CheckResult, Health, HealthError};
/// use std::time::Duration;
///
/// let health = Health::new();
/// health.check("db", Duration::from_secs(1), CheckResult::healthy)?;
/// let again = health.check("db", Duration::from_secs(1), CheckResult::healthy);
/// assert_eq!(again, Err(HealthError::Duplicate("db".into())));
/// # Ok::<(), HealthError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthError {
    /// A check of that name exists.
    Duplicate(String),
    /// A check's timeout must not be zero.
    ZeroTimeout(String),
}

impl fmt::Display for HealthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthError::Duplicate(name) => write!(f, "a health check named {name:?} exists"),
            HealthError::ZeroTimeout(name) => {
                write!(f, "health check {name:?} needs a timeout above zero")
            }
        }
    }
}

impl std::error::Error for HealthError {}

/// Named health checks, run together for a probe (see
/// [`ServerBuilder::health`](super::ServerBuilder::health), which serves
/// them at `/ready`). A cheap handle: clones share the checks.
///
/// # Examples
///
/// ```
/// use gosling::observe::{CheckResult, Health, HealthStatus};
/// use gosling::Pool;
/// use std::time::Duration;
///
/// let pool = Pool::new(2)?;
/// let health = Health::new();
/// health.check("workers", Duration::from_secs(1), pool.health_check(0.9))?;
/// health.check("disk", Duration::from_millis(500), || CheckResult::degraded("83% full"))?;
/// let report = health.run();
/// assert_eq!(report.status, HealthStatus::Degraded);
/// assert_eq!(
///     report.to_json(),
///     r#"{"status":"degraded","checks":[{"name":"workers","status":"healthy","message":""},{"name":"disk","status":"degraded","message":"83% full"}]}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Health {
    checks: Arc<Mutex<Vec<Arc<Check>>>>,
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.checks.lock().iter().map(|c| c.name.clone()).collect();
        f.debug_struct("Health").field("checks", &names).finish()
    }
}

impl Health {
    /// No checks (a report of none is healthy).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Health, HealthStatus};
    /// assert_eq!(Health::new().run().status, HealthStatus::Healthy);
    /// ```
    #[must_use]
    pub fn new() -> Health {
        Health::default()
    }

    /// Adds a check: `run` says how its subject is, within `timeout` — a
    /// check that takes longer (or panics) reports unhealthy.
    ///
    /// # Errors
    ///
    /// [`HealthError`]: a name already used, or a zero timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{CheckResult, Health, HealthStatus};
    /// use std::time::Duration;
    ///
    /// let health = Health::new();
    /// health.check("hung", Duration::from_millis(20), || {
    ///     std::thread::sleep(Duration::from_secs(1));
    ///     CheckResult::healthy()
    /// })?;
    /// let report = health.run();
    /// assert_eq!(report.status, HealthStatus::Unhealthy);
    /// assert_eq!(report.checks[0].1.message, "no answer within 20ms");
    /// # Ok::<(), gosling::observe::HealthError>(())
    /// ```
    pub fn check<F>(&self, name: &str, timeout: Duration, run: F) -> Result<(), HealthError>
    where
        F: Fn() -> CheckResult + Send + Sync + 'static,
    {
        if timeout.is_zero() {
            return Err(HealthError::ZeroTimeout(name.to_string()));
        }
        let mut checks = self.checks.lock();
        if checks.iter().any(|c| c.name == name) {
            return Err(HealthError::Duplicate(name.to_string()));
        }
        checks.push(Arc::new(Check {
            name: name.to_string(),
            timeout,
            run: Arc::new(run),
            in_flight: Mutex::new(None),
        }));
        Ok(())
    }

    /// Runs every check (at once, each on its own thread), waiting for
    /// each at most its timeout; the report's status is the worst found.
    ///
    /// # Examples
    ///
    /// See [`Health`].
    #[must_use]
    pub fn run(&self) -> HealthReport {
        let checks: Vec<Arc<Check>> = self.checks.lock().clone();
        let started = Instant::now();
        let pending: Vec<_> = checks.iter().map(|c| (c, start(c))).collect();
        let mut results = Vec::with_capacity(pending.len());
        for (check, pending) in pending {
            let result = match pending {
                Pending::Done(result) => result,
                Pending::Running(rx) => {
                    let deadline = started + check.timeout;
                    let left = deadline.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(left) {
                        Ok(result) => result,
                        Err(RecvTimeoutError::Timeout) => {
                            *check.in_flight.lock() = Some(rx);
                            CheckResult::unhealthy(format!("no answer within {:?}", check.timeout))
                        }
                        Err(RecvTimeoutError::Disconnected) => {
                            CheckResult::unhealthy("the check's thread ended without an answer")
                        }
                    }
                }
            };
            results.push((check.name.clone(), result));
        }
        let status = results
            .iter()
            .map(|(_, r)| r.status)
            .max()
            .unwrap_or(HealthStatus::Healthy);
        HealthReport {
            status,
            checks: results,
        }
    }
}

enum Pending {
    Done(CheckResult),
    Running(Receiver<CheckResult>),
}

/// Starts one evaluation of `check`, unless one from an earlier probe is
/// still running.
fn start(check: &Arc<Check>) -> Pending {
    let mut in_flight = check.in_flight.lock();
    if let Some(rx) = in_flight.as_ref() {
        match rx.try_recv() {
            // It finished since: start afresh (its late answer is stale).
            Ok(_) | Err(TryRecvError::Disconnected) => *in_flight = None,
            Err(TryRecvError::Empty) => {
                return Pending::Done(CheckResult::unhealthy(format!(
                    "still running from an earlier probe (over {:?})",
                    check.timeout
                )));
            }
        }
    }
    drop(in_flight);
    let (tx, rx) = mpsc::channel();
    let run = Arc::clone(&check.run);
    let spawned = std::thread::Builder::new()
        .name("gosling-health".to_string())
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(|| run())).unwrap_or_else(|payload| {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string payload".to_string());
                CheckResult::unhealthy(format!("the check panicked: {message}"))
            });
            let _ = tx.send(result);
        });
    match spawned {
        Ok(_) => Pending::Running(rx),
        Err(e) => Pending::Done(CheckResult::unhealthy(format!(
            "could not start the check: {e}"
        ))),
    }
}

/// What a probe found: the worst status, and each check's result in the
/// order the checks were added.
///
/// # Examples
///
/// See [`Health`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// The worst status of any check (healthy when there are none).
    pub status: HealthStatus,
    /// `(name, result)` per check.
    pub checks: Vec<(String, CheckResult)>,
}

impl HealthReport {
    /// The report as one JSON object:
    /// `{"status":…,"checks":[{"name":…,"status":…,"message":…},…]}`.
    ///
    /// # Examples
    ///
    /// See [`Health`].
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\"status\":\"{}\",\"checks\":[", self.status);
        for (i, (name, result)) in self.checks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"name\":");
            super::json::string(&mut out, name);
            out.push_str(&format!(",\"status\":\"{}\",\"message\":", result.status));
            super::json::string(&mut out, &result.message);
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "real-time timeouts of 200 ms; slow under Miri")]
    fn a_hung_check_holds_one_thread_and_recovers() {
        let (release, gate) = mpsc::channel::<()>();
        let gate = std::sync::Mutex::new(gate);
        let health = Health::new();
        health
            .check("slow", Duration::from_millis(200), move || {
                let _ = gate.lock().unwrap().recv_timeout(Duration::from_secs(10));
                CheckResult::healthy()
            })
            .unwrap();
        assert_eq!(health.run().status, HealthStatus::Unhealthy);
        // Still running: not started again.
        let second = health.run();
        assert!(
            second.checks[0].1.message.starts_with("still running"),
            "{second:?}"
        );
        release.send(()).unwrap();
        // Once it returned, the next probe starts it afresh; each new run
        // finds a message waiting. Bounded by a watchdog, not a count.
        let mut recovered = false;
        let watchdog = Instant::now() + Duration::from_secs(10);
        while Instant::now() < watchdog {
            release.send(()).unwrap();
            if health.run().status == HealthStatus::Healthy {
                recovered = true;
                break;
            }
            std::thread::yield_now();
        }
        assert!(recovered, "{:?}", health.run());
        assert!(
            health
                .check("x", Duration::ZERO, CheckResult::healthy)
                .is_err()
        );
        assert_eq!(format!("{health:?}"), "Health { checks: [\"slow\"] }");
    }

    #[test]
    fn a_panicking_check_is_unhealthy() {
        let health = Health::new();
        health
            .check("boom", Duration::from_secs(5), || panic!("no disk"))
            .unwrap();
        let report = health.run();
        assert_eq!(
            report.checks[0].1,
            CheckResult::unhealthy("the check panicked: no disk")
        );
    }
}
