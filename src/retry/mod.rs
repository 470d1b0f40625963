//! Retry: policies that decide whether and when a failed call runs again,
//! and the guards around calls to an unreliable dependency.
//!
//! - `breaker.rs`: [`CircuitBreaker`], which stops calling a failing
//!   dependency for a while and probes it before trusting it again.
//! - `fallback.rs`: [`Fallback`], which turns a failure or a rejection into a
//!   replacement value; it wraps a plain call or a breaker.

#![forbid(unsafe_code)]

mod breaker;
mod fallback;

pub use breaker::{
    BreakerBuildError, BreakerBuilder, BreakerMetrics, BreakerState, CallError, CircuitBreaker,
    MAX_BUCKETS, Permit, Rejected, StateChange,
};
pub use fallback::Fallback;
