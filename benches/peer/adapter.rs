//! gosling's adapter for `../shared/peer-bench` (contract: that harness's
//! `src/project.rs`). `run.sh --project .` copies this file over the
//! harness's placeholder and builds it with a path dependency on this crate.
//! Every type keeps the placeholder's name and contract and goes through
//! gosling's public API only, as a user would. A type whose capability is
//! not built yet says "not available".

use crate::pools::Pool;
use crate::workloads::w06_ratelimit::{DirectLimiter, KeyedLimiter, Quota};
use crate::workloads::w07_pipeline::Pipeline;
use crate::workloads::w08_cron_next::{CronSchedule, FireTimes};
use crate::workloads::w09_durable_queue::DurableQueue;
use crate::workloads::w10_circuit_breaker::Breaker;
use std::io;
use std::path::Path;

/// Name of the project's implementation in every result row.
pub const NAME: &str = "gosling";

const NOT_AVAILABLE: &str = "not available: gosling does not have this capability yet";

fn not_available<T>() -> Result<T, String> {
    Err(NOT_AVAILABLE.to_string())
}

/// W1-W5: a gosling pool with exactly `workers` threads and an unbounded
/// queue (the harness requires that `spawn` never blocks).
pub struct ProjectPool(gosling::Pool);

impl Pool for ProjectPool {
    const NAME: &'static str = NAME;
    fn create(workers: usize) -> Result<Self, String> {
        gosling::Pool::builder()
            .workers(workers)
            .unbounded()
            .build()
            .map(ProjectPool)
            .map_err(|e| e.to_string())
    }
    #[inline]
    fn spawn<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        if self.0.spawn(move |_| job()).is_err() {
            panic!("gosling refused a task: the pool is closed");
        }
    }
    fn call<R, F>(&self, job: F) -> R
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        match self.0.submit(move |_| job()) {
            Ok(handle) => match handle.wait() {
                Ok(value) => value,
                Err(e) => panic!("gosling task failed: {e}"),
            },
            Err(e) => panic!("gosling refused a task: {e}"),
        }
    }
}

/// W6 direct limiter: gosling's GCRA token bucket.
pub struct ProjectLimiter(gosling::limit::TokenBucket);

fn gosling_rate(quota: &Quota) -> Result<gosling::limit::Rate, String> {
    let per_second = u32::try_from(quota.per_second).map_err(|e| e.to_string())?;
    gosling::limit::Rate::per_second(per_second).map_err(|e| e.to_string())
}

impl DirectLimiter for ProjectLimiter {
    const NAME: &'static str = NAME;
    fn create(quota: Quota) -> Result<Self, String> {
        let bucket = gosling::limit::TokenBucket::new(gosling_rate(&quota)?, quota.burst)
            .map_err(|e| e.to_string())?;
        Ok(ProjectLimiter(bucket))
    }
    #[inline]
    fn check(&self) -> bool {
        use gosling::limit::RateLimiter;
        self.0.allow()
    }
}

/// W6 keyed limiter (u64 keys): gosling's sharded keyed GCRA, bounded to
/// 100,000 keys.
pub struct ProjectKeyedLimiter(gosling::limit::KeyedLimiter<u64>);

impl KeyedLimiter for ProjectKeyedLimiter {
    fn create(quota: Quota) -> Result<Self, String> {
        let keyed = gosling::limit::KeyedLimiter::new(gosling_rate(&quota)?, quota.burst, 100_000)
            .map_err(|e| e.to_string())?;
        Ok(ProjectKeyedLimiter(keyed))
    }
    #[inline]
    fn check_key(&self, key: u64) -> bool {
        self.0.allow(&key)
    }
}

/// W7: the 3-stage pipeline built from gosling's channels and/or pool.
pub struct ProjectPipeline;

impl Pipeline for ProjectPipeline {
    const NAME: &'static str = NAME;
    fn create(_capacity: usize) -> Result<Self, String> {
        not_available()
    }
    fn run(&self, _n: u64) -> u64 {
        unreachable!("placeholder pipeline is never created")
    }
}

/// W8: gosling's cron schedule ("0 */5 * * * *", UTC).
pub struct ProjectCron {
    cron: gosling::schedule::Cron,
    tz: gosling::schedule::TimeZone,
}

impl CronSchedule for ProjectCron {
    const NAME: &'static str = NAME;
    fn parse(expression: &str) -> Result<Self, String> {
        Ok(ProjectCron {
            cron: gosling::schedule::Cron::parse(expression).map_err(|e| e.to_string())?,
            tz: gosling::schedule::TimeZone::utc(),
        })
    }
    fn next_times(&self, start_unix: i64, count: u64) -> FireTimes {
        let mut out = FireTimes::empty();
        let mut t = start_unix;
        for _ in 0..count {
            match self.cron.next_after_unix(t, &self.tz) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }
}

/// W9: gosling's durable queue.
pub struct ProjectQueue;

impl DurableQueue for ProjectQueue {
    const NAME: &'static str = NAME;
    const FSYNC_POLICY: &'static str = "unknown (placeholder)";
    fn open(_dir: &Path) -> Result<Self, String> {
        not_available()
    }
    fn enqueue(&mut self, _payload: &[u8]) -> io::Result<()> {
        unreachable!("placeholder queue is never created")
    }
    fn flush(&mut self) -> io::Result<()> {
        unreachable!("placeholder queue is never created")
    }
    fn dequeue_ack(&mut self, _out: &mut Vec<u8>) -> io::Result<bool> {
        unreachable!("placeholder queue is never created")
    }
}

/// W10: gosling's circuit breaker, default configuration (count-based
/// sliding window of 100 calls in 10 buckets, 50 % failure-rate threshold).
pub struct ProjectBreaker(gosling::breaker::CircuitBreaker<()>);

impl Breaker for ProjectBreaker {
    const NAME: &'static str = NAME;
    fn create() -> Result<Self, String> {
        gosling::breaker::CircuitBreaker::<()>::builder()
            .build()
            .map(ProjectBreaker)
            .map_err(|e| e.to_string())
    }
    #[inline]
    fn call<F: FnOnce() -> Result<u64, ()>>(&self, f: F) -> Option<u64> {
        self.0.call(f).ok()
    }
}
