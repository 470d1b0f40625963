//! A small, fast, non-cryptographic pseudo-random generator for jitter and
//! sampling (crate-private; any module may use it).
//!
//! The generator is SplitMix64 (Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", 2014): one 64-bit word of state, a
//! period of 2^64, and output that passes BigCrush. That is plenty for
//! spreading retry delays and choosing victims; it is not for secrets.
//!
//! [`Rng::from_entropy`] seeds from std's per-process random hash keys mixed
//! with the time and a counter, so two generators made in the same instant
//! still differ. [`Rng::seeded`] gives a reproducible sequence for tests.

#![forbid(unsafe_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64. `Clone` copies the state: the copy repeats the sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rng {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    #[must_use]
    pub(crate) const fn seeded(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// A generator seeded from process randomness, the time and a counter.
    #[must_use]
    pub(crate) fn from_entropy() -> Rng {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        // ORDERING: Relaxed: the counter only needs to hand out distinct
        // values; it orders nothing else.
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(count);
        if let Ok(since) = SystemTime::now().duration_since(UNIX_EPOCH) {
            hasher.write_u128(since.as_nanos());
        }
        Rng::seeded(hasher.finish())
    }

    /// The next 64 random bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `low..=high` (the bounds are swapped if reversed).
    ///
    /// Uses Lemire's multiply-shift reduction; its bias is below 2^-64 per
    /// value for the ranges used here, far under anything jitter can show.
    #[inline]
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        let (low, high) = if low <= high {
            (low, high)
        } else {
            (high, low)
        };
        let span = u128::from(high - low) + 1;
        let offset = (u128::from(self.next_u64()) * span) >> 64;
        // `offset < span <= 2^64`, so it fits in a u64 and `low + offset <= high`.
        low + offset as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // First outputs for seed 1234567, as published with the reference
        // implementation (Vigna's splitmix64.c).
        let mut rng = Rng::seeded(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(rng.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn between_stays_in_range() {
        let mut rng = Rng::seeded(7);
        for _ in 0..10_000 {
            let v = rng.between(10, 20);
            assert!((10..=20).contains(&v));
        }
        assert_eq!(rng.between(5, 5), 5);
        let _ = rng.between(0, u64::MAX);
        assert!((3..=9).contains(&rng.between(9, 3)));
    }

    #[test]
    fn between_reaches_both_ends() {
        let mut rng = Rng::seeded(99);
        let mut seen = [false; 4];
        for _ in 0..1_000 {
            seen[rng.between(0, 3) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
    }

    #[test]
    fn entropy_seeds_differ() {
        assert_ne!(Rng::from_entropy(), Rng::from_entropy());
    }
}
