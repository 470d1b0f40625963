//! A fast monotonic nanosecond counter for hot paths (rate-limit checks):
//! the x86-64 time-stamp counter, calibrated against [`Instant`], with
//! `Instant` itself as the fallback.
//!
//! Maintainers: [`now_ns`] returns nanoseconds since a process-wide origin.
//! On x86-64 with an invariant TSC (CPUID 0x8000_0007, EDX bit 8: constant
//! rate, runs in every power state, the basis the kernel's `tsc` clocksource
//! also relies on) the first calls read `Instant` while a calibration window
//! of `CALIBRATION` passes; the call that sees the window end measures ticks
//! per nanosecond against `Instant` and publishes a [`Scale`] (once, through
//! a `OnceLock`). From then on a read is `rdtsc`, a 64×64→128 multiply and a
//! shift. The scale starts `SWITCH_MARGIN` after the `Instant` reading it was
//! calibrated at, so a thread that read the `Instant` path just before the
//! switch never sees time go backwards. Elsewhere (other architectures, no
//! invariant TSC) every read is `Instant::now()` minus the origin.
//!
//! Only differences of these values are meaningful; they are never mixed
//! with `Instant` arithmetic except as short durations.

use std::sync::OnceLock;
use std::time::Instant;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the process-wide origin, read from `Instant`.
fn instant_ns() -> u64 {
    let origin = *ORIGIN.get_or_init(Instant::now);
    let d = Instant::now().saturating_duration_since(origin);
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// Nanoseconds since a process-wide origin; monotonic.
#[inline]
pub(crate) fn now_ns() -> u64 {
    imp::now_ns()
}

#[cfg(any(not(target_arch = "x86_64"), miri))]
mod imp {
    #[inline]
    pub(super) fn now_ns() -> u64 {
        super::instant_ns()
    }
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod imp {
    use super::{OnceLock, instant_ns};
    use std::arch::x86_64::{__cpuid, _rdtsc};

    /// How long (ns) the TSC is measured against `Instant` before it is
    /// trusted.
    const CALIBRATION_NS: u64 = 20_000_000;
    /// Added at the switch to the TSC, so that no reading goes backwards.
    const SWITCH_MARGIN: u64 = 1_000;
    /// Two TSC reads around one `Instant` read further apart than this
    /// (preempted in between) make a sample worthless.
    const MAX_SAMPLE_TICKS: u64 = 50_000;

    /// `ns = base_ns + (tsc − base_tsc) × mult >> 32`.
    #[derive(Debug)]
    struct Scale {
        base_tsc: u64,
        base_ns: u64,
        mult: u64,
    }

    /// `Some(start)` while calibrating; `None`: no usable TSC.
    static START: OnceLock<Option<(u64, u64)>> = OnceLock::new();
    static SCALE: OnceLock<Scale> = OnceLock::new();

    #[inline]
    fn rdtsc() -> u64 {
        // SAFETY: RDTSC is part of the x86-64 baseline; it has no
        // preconditions and touches no memory.
        unsafe { _rdtsc() }
    }

    #[inline]
    pub(super) fn now_ns() -> u64 {
        match SCALE.get() {
            Some(scale) => {
                let ticks = rdtsc().wrapping_sub(scale.base_tsc);
                // A TSC read that lags the calibration point by a few ticks
                // (another core, reordering) counts as the calibration point.
                let ticks = if ticks > u64::MAX / 2 { 0 } else { ticks };
                let ns = (u128::from(ticks) * u128::from(scale.mult)) >> 32;
                scale.base_ns.saturating_add(ns as u64)
            }
            None => slow(),
        }
    }

    fn invariant_tsc() -> bool {
        let max_extended = __cpuid(0x8000_0000).eax;
        max_extended >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
    }

    /// (tsc, ns) read together, or `None` if every try was interrupted.
    fn sample() -> Option<(u64, u64)> {
        for _ in 0..8 {
            let before = rdtsc();
            let ns = instant_ns();
            let after = rdtsc();
            if after >= before && after - before <= MAX_SAMPLE_TICKS {
                return Some((before + (after - before) / 2, ns));
            }
        }
        None
    }

    #[cold]
    fn slow() -> u64 {
        let start = *START.get_or_init(|| if invariant_tsc() { sample() } else { None });
        let Some((start_tsc, start_ns)) = start else {
            return instant_ns();
        };
        let now = instant_ns();
        if now.saturating_sub(start_ns) < CALIBRATION_NS {
            return now;
        }
        let Some((tsc, ns)) = sample() else {
            return now;
        };
        let ticks = tsc.saturating_sub(start_tsc);
        let elapsed = ns.saturating_sub(start_ns);
        if ticks == 0 || elapsed == 0 {
            return now;
        }
        let mult = (u128::from(elapsed) << 32) / u128::from(ticks);
        let Ok(mult) = u64::try_from(mult) else {
            return now;
        };
        let _ = SCALE.set(Scale {
            base_tsc: tsc,
            base_ns: ns + SWITCH_MARGIN,
            mult,
        });
        now_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn monotonic_and_close_to_instant() {
        let t0 = Instant::now();
        let n0 = now_ns();
        let mut last = n0;
        // Long enough to pass calibration and read the fast path.
        while t0.elapsed() < Duration::from_millis(40) {
            let n = now_ns();
            assert!(n >= last, "went backwards: {last} -> {n}");
            last = n;
        }
        let ours = now_ns() - n0;
        let theirs = t0.elapsed().as_nanos() as u64;
        // The same span within a wide margin: this catches a calibration
        // that is off by a factor, not scheduling noise between the reads.
        assert!(
            ours.abs_diff(theirs) < 10_000_000 + theirs / 4,
            "{ours} vs {theirs}"
        );
    }
}
