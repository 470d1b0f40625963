//! Time: the [`Clock`] every time-dependent part of gosling reads, and the
//! [`ManualClock`] tests use to move time without sleeping.
//!
//! - `clock.rs`: [`Clock`] (system or manual), [`ManualClock`], and the
//!   crate-private `deadline_after` (a deadline capped at a century).
//! - here (crate-private): `duration_ns`, the saturating nanosecond count
//!   of a `Duration`, and `grow_nanos`, the exponential growth shared by
//!   retry backoffs and the breaker's growing open wait.
//! - `timer.rs` (crate-private): the timer thread that runs short callbacks at
//!   their deadlines: task timeouts, retry backoffs, scheduled jobs' fires
//!   and chains' backoffs. It reads time through a `Clock`.
//! - `tsc.rs` (crate-private): the fast monotonic counter behind
//!   `Clock::now_ns`.
//!
//! A bottom layer: imports only `std` and the crate's `sync`; every other
//! module may import it.

mod clock;
pub(crate) mod timer;

pub(crate) use clock::deadline_after;
pub use clock::{Clock, ManualClock};

// `tsc.rs` (crate-private): the fast monotonic nanosecond counter behind
// `Clock::now_ns` (a calibrated x86-64 TSC, with `Instant` as the fallback).
pub(crate) mod tsc;

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years): the
/// one conversion every nanosecond-counting part of the crate uses.
#[inline]
pub(crate) fn duration_ns(d: std::time::Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// `base × factor^steps` nanoseconds, capped at `cap` (and at `cap` when
/// `factor` is not a finite number ≥ 1): the one exponential growth behind
/// `retry::Backoff::exponential` and the breaker's growing open wait, so
/// that the two cannot drift apart.
///
/// The power is taken by square-and-multiply in plain `f64` products, not
/// `f64::powi`: `powi`'s precision is unspecified (Miri perturbs it on
/// purpose, so two calls with the same arguments can differ), while each
/// product is correctly rounded, so the result is the same on every
/// platform and every call. It stops as soon as the product reaches the
/// cap, so a huge `steps` costs at most 32 squarings.
pub(crate) fn grow_nanos(base: u64, factor: f64, steps: u32, cap: u64) -> u64 {
    if !factor.is_finite() || factor < 1.0 {
        return cap;
    }
    if base == 0 {
        // Zero stays zero (and `0 × ∞` below would be NaN).
        return 0;
    }
    let limit = cap as f64;
    let mut product = base as f64;
    let mut square = factor;
    let mut rest = steps;
    loop {
        if rest & 1 == 1 {
            product *= square;
            if product >= limit {
                return cap;
            }
        }
        rest >>= 1;
        if rest == 0 {
            // Below the cap and finite; `as` saturates should rounding
            // reach 2^64.
            return (product as u64).min(cap);
        }
        square *= square;
        // The factors only grow (`factor >= 1`): once the square alone
        // times the product passes the cap, any remaining set bit does too.
        // Infinity compares greater, so this also ends an overflow.
        if product * square >= limit {
            return cap;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::grow_nanos;

    #[test]
    fn growth_is_exact_for_small_integer_factors_and_stops_at_the_cap() {
        assert_eq!(grow_nanos(1, 2.0, 0, u64::MAX), 1);
        assert_eq!(grow_nanos(1, 2.0, 1, u64::MAX), 2);
        assert_eq!(grow_nanos(3, 2.0, 10, u64::MAX), 3 << 10);
        assert_eq!(grow_nanos(1, 3.0, 5, u64::MAX), 243);
        assert_eq!(grow_nanos(1, 1.0, u32::MAX, u64::MAX), 1);
        assert_eq!(grow_nanos(7, 1.0, 1_000, 5), 5);
        assert_eq!(grow_nanos(1, 2.0, 63, u64::MAX), 1 << 63);
        assert_eq!(grow_nanos(1, 2.0, 64, u64::MAX), u64::MAX);
        assert_eq!(grow_nanos(1, 2.0, u32::MAX, 60), 60);
        assert_eq!(grow_nanos(0, 10.0, u32::MAX, 60), 0);
        assert_eq!(grow_nanos(u64::MAX, 2.0, 0, 9), 9);
        assert_eq!(grow_nanos(1, f64::NAN, 3, 9), 9);
        assert_eq!(grow_nanos(1, 0.5, 3, 9), 9);
        assert_eq!(grow_nanos(1, f64::INFINITY, 3, 9), 9);
    }

    #[test]
    fn growth_matches_repeated_multiplication() {
        for factor in [1.0, 1.25, 1.5, 2.0, 2.5, 10.0] {
            let mut expected = 1_000.0_f64;
            for steps in 0..40u32 {
                let got = grow_nanos(1_000, factor, steps, u64::MAX);
                // Square-and-multiply and step-by-step products round
                // differently; they agree to within a few parts in 10^15.
                let want = expected as u64;
                let tolerance = (want as f64 * 1e-13).max(1.0) as u64;
                assert!(
                    got.abs_diff(want) <= tolerance,
                    "1000 × {factor}^{steps}: {got} vs {want}"
                );
                expected *= factor;
            }
        }
    }
}
