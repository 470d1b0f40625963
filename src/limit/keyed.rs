//! [`KeyedLimiter`]: one GCRA token bucket per key, in bounded memory.
//!
//! Maintainers: keys are spread over `SHARDS` shards, each a `HashMap` from
//! key to theoretical arrival time under its own mutex, hashed with a seeded
//! multiplicative hash (SipHash costs more than the whole check). Memory is
//! bounded: each shard holds at most `ceil(max_keys / SHARDS)` keys. When a
//! full shard meets a new key it first forgets every idle key (one whose
//! bucket is full again: `tat ≤ now` — forgetting it loses nothing, a new
//! entry behaves the same); if the shard is still full it forgets the
//! fullest buckets (smallest `tat`) down to 7/8 of its capacity, which is
//! permissive for those keys by at most their unrefilled permits. Both
//! sweeps are amortised over the inserts that filled the shard.

use super::gcra::{Settings, step};
use super::{AllowError, ConfigError, Epoch, Rate, RateLimited};
use crate::sync::{CachePadded, Mutex};
use crate::time::Clock;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const SHARDS: usize = 32;

/// A GCRA token bucket per key, with at most `max_keys` keys remembered.
///
/// Each key gets its own bucket of `burst` permits refilled at `rate`. Idle
/// keys are forgotten when room is needed (without effect: an idle bucket is
/// full, like a new one); under a flood of distinct active keys the least
/// loaded are forgotten, so memory never exceeds the bound (unbounded
/// per-key memory is a denial-of-service vector).
///
/// # Examples
///
/// ```
/// use gosling::limit::{KeyedLimiter, Rate};
/// use gosling::time::ManualClock;
///
/// let manual = ManualClock::new();
/// let per_user = KeyedLimiter::with_clock(Rate::per_second(1).unwrap(), 2, 10_000, manual.clock()).unwrap();
/// assert!(per_user.allow(&"alice") && per_user.allow(&"alice"));
/// assert!(!per_user.allow(&"alice"));
/// assert!(per_user.allow(&"bob")); // keys are independent
/// ```
pub struct KeyedLimiter<K> {
    shards: Box<[CachePadded<Mutex<Shard<K>>>]>,
    settings: Settings,
    epoch: Epoch,
    hasher: SeededHasher,
    shard_capacity: usize,
    max_keys: usize,
    evicted: AtomicU64,
}

struct Shard<K> {
    /// Key → theoretical arrival time (ns since the epoch's origin).
    map: HashMap<K, u64, SeededHasher>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// Per-key buckets of `burst` at `rate`, at most `max_keys` keys, system
    /// clock.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroBurst`], [`ConfigError::Overflow`] as for
    /// [`TokenBucket`](super::TokenBucket); [`ConfigError::ZeroCapacity`]
    /// for `max_keys == 0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = gosling::limit::KeyedLimiter::<u64>::new(gosling::limit::Rate::per_second(10).unwrap(), 5, 1000).unwrap();
    /// assert!(limiter.allow(&7));
    /// ```
    pub fn new(rate: Rate, burst: u32, max_keys: usize) -> Result<KeyedLimiter<K>, ConfigError> {
        KeyedLimiter::with_clock(rate, burst, max_keys, Clock::system())
    }

    /// As [`KeyedLimiter::new`], reading `clock`.
    ///
    /// # Errors
    ///
    /// As [`KeyedLimiter::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let manual = gosling::time::ManualClock::new();
    /// let limiter = KeyedLimiter::<u32>::with_clock(Rate::per_second(1).unwrap(), 1, 10, manual.clock()).unwrap();
    /// assert!(limiter.allow(&1) && !limiter.allow(&1));
    /// ```
    pub fn with_clock(
        rate: Rate,
        burst: u32,
        max_keys: usize,
        clock: Clock,
    ) -> Result<KeyedLimiter<K>, ConfigError> {
        if max_keys == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        let settings = Settings::new(rate, burst)?;
        let shard_capacity = max_keys.div_ceil(SHARDS);
        let hasher = SeededHasher::new();
        let shards = (0..SHARDS)
            .map(|_| {
                CachePadded(Mutex::new(Shard {
                    map: HashMap::with_hasher(hasher.clone()),
                }))
            })
            .collect();
        Ok(KeyedLimiter {
            shards,
            settings,
            epoch: Epoch::new(clock),
            hasher,
            shard_capacity,
            max_keys,
            evicted: AtomicU64::new(0),
        })
    }

    /// Takes one permit for `key` if available: true when taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::new(Rate::per_second(1).unwrap(), 1, 100).unwrap();
    /// assert!(limiter.allow(&"k"));
    /// ```
    #[inline]
    pub fn allow(&self, key: &K) -> bool {
        self.allow_n(key, 1).is_ok()
    }

    /// Takes one permit for `key`; on refusal (no state change) says how long
    /// until one would pass.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] when `key`'s bucket is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let manual = gosling::time::ManualClock::new();
    /// let limiter = KeyedLimiter::with_clock(Rate::per_second(2).unwrap(), 1, 100, manual.clock()).unwrap();
    /// limiter.check(&1u8).unwrap();
    /// assert_eq!(limiter.check(&1u8).unwrap_err().retry_after().as_millis(), 500);
    /// ```
    pub fn check(&self, key: &K) -> Result<(), RateLimited> {
        match self.allow_n(key, 1) {
            Ok(()) => Ok(()),
            Err(AllowError::RateLimited(r)) => Err(r),
            Err(AllowError::ExceedsBurst { .. }) => {
                unreachable!("one permit always fits a burst of at least 1")
            }
        }
    }

    /// Takes `n` permits for `key`, all or nothing.
    ///
    /// # Errors
    ///
    /// [`AllowError::RateLimited`] when not all are available now;
    /// [`AllowError::ExceedsBurst`] when `n` exceeds the burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{AllowError, KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::new(Rate::per_second(1).unwrap(), 3, 100).unwrap();
    /// assert!(limiter.allow_n(&"k", 3).is_ok());
    /// assert!(matches!(limiter.allow_n(&"k", 4), Err(AllowError::ExceedsBurst { .. })));
    /// ```
    pub fn allow_n(&self, key: &K, n: u32) -> Result<(), AllowError> {
        let (period, burst) = self.settings.load();
        if n > burst {
            return Err(AllowError::ExceedsBurst {
                requested: n,
                burst,
            });
        }
        // Saturating: a racing set_rate and set_burst may pair values that
        // were each validated only against the other's old value.
        let cost = period.saturating_mul(u64::from(n));
        let limit = period.saturating_mul(u64::from(burst));
        let now = self.epoch.now_ns();
        let hash = self.hasher.hash_one(key);
        // High bits: the map uses the low ones.
        let shard = &self.shards[(hash >> 59) as usize % SHARDS];
        let mut shard = shard.lock();
        if let Some(tat) = shard.map.get_mut(key) {
            return match step(*tat, now, cost, limit) {
                Ok(new) => {
                    *tat = new;
                    Ok(())
                }
                Err(earliest) => Err(AllowError::RateLimited(self.epoch.limited(earliest, now))),
            };
        }
        // A new key: its bucket is full, so any n ≤ burst passes.
        let new = step(0, now, cost, limit).unwrap_or(now + cost);
        if shard.map.len() >= self.shard_capacity {
            self.make_room(&mut shard, now);
        }
        shard.map.insert(key.clone(), new);
        Ok(())
    }

    #[cold]
    fn make_room(&self, shard: &mut Shard<K>, now: u64) {
        let before = shard.map.len();
        shard.map.retain(|_, tat| *tat > now);
        let target = self.shard_capacity - self.shard_capacity / 8 - 1;
        if shard.map.len() > target {
            // Forget the fullest buckets (smallest tat) down to the target.
            let mut tats: Vec<u64> = shard.map.values().copied().collect();
            let cut = shard.map.len() - target;
            let (_, &mut threshold, _) = tats.select_nth_unstable(cut - 1);
            let mut to_remove = cut;
            shard.map.retain(|_, tat| {
                if to_remove > 0 && *tat <= threshold {
                    to_remove -= 1;
                    false
                } else {
                    true
                }
            });
        }
        let removed = (before - shard.map.len()) as u64;
        self.evicted.fetch_add(removed, Relaxed);
        shard.map.shrink_to(self.shard_capacity);
    }

    /// Keys remembered now (at most [`max_keys`](KeyedLimiter::max_keys)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::new(Rate::per_second(1).unwrap(), 1, 100).unwrap();
    /// limiter.allow(&1);
    /// limiter.allow(&2);
    /// assert_eq!(limiter.len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
    }

    /// True when no key is remembered.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = gosling::limit::KeyedLimiter::<u8>::new(gosling::limit::Rate::per_second(1).unwrap(), 1, 100).unwrap();
    /// assert!(limiter.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound on remembered keys (rounded up to a multiple of the shard
    /// count internally; [`len`](KeyedLimiter::len) never exceeds this
    /// value rounded up that way).
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = gosling::limit::KeyedLimiter::<u8>::new(gosling::limit::Rate::per_second(1).unwrap(), 1, 100).unwrap();
    /// assert_eq!(limiter.max_keys(), 100);
    /// ```
    #[must_use]
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// Keys forgotten so far to make room.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = gosling::limit::KeyedLimiter::<u8>::new(gosling::limit::Rate::per_second(1).unwrap(), 1, 100).unwrap();
    /// assert_eq!(limiter.evicted(), 0);
    /// ```
    #[must_use]
    pub fn evicted(&self) -> u64 {
        // ORDERING: Relaxed: a statistic.
        self.evicted.load(Relaxed)
    }

    /// Forgets every idle key (whose bucket is full again); returns how many.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// use std::time::Duration;
    /// let manual = gosling::time::ManualClock::new();
    /// let limiter = KeyedLimiter::with_clock(Rate::per_second(1).unwrap(), 1, 100, manual.clock()).unwrap();
    /// limiter.allow(&1);
    /// manual.advance(Duration::from_secs(1));
    /// assert_eq!(limiter.retain_recent(), 1);
    /// assert!(limiter.is_empty());
    /// ```
    pub fn retain_recent(&self) -> usize {
        let now = self.epoch.now_ns();
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let before = shard.map.len();
            shard.map.retain(|_, tat| *tat > now);
            removed += before - shard.map.len();
        }
        removed
    }

    /// The per-key rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let rate = Rate::per_second(3).unwrap();
    /// assert_eq!(KeyedLimiter::<u8>::new(rate, 1, 10).unwrap().rate(), rate);
    /// ```
    #[must_use]
    pub fn rate(&self) -> Rate {
        self.settings.rate()
    }

    /// Changes the per-key rate.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Overflow`] when period × burst does not fit.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::<u8>::new(Rate::per_second(3).unwrap(), 1, 10).unwrap();
    /// limiter.set_rate(Rate::per_second(6).unwrap()).unwrap();
    /// ```
    pub fn set_rate(&self, rate: Rate) -> Result<(), ConfigError> {
        self.settings.set_rate(rate)
    }

    /// The per-key burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// assert_eq!(KeyedLimiter::<u8>::new(Rate::per_second(3).unwrap(), 4, 10).unwrap().burst(), 4);
    /// ```
    #[must_use]
    pub fn burst(&self) -> u32 {
        self.settings.load().1
    }

    /// Changes the per-key burst.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroBurst`], [`ConfigError::Overflow`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::<u8>::new(Rate::per_second(3).unwrap(), 1, 10).unwrap();
    /// limiter.set_burst(5).unwrap();
    /// assert_eq!(limiter.burst(), 5);
    /// ```
    pub fn set_burst(&self, burst: u32) -> Result<(), ConfigError> {
        self.settings.set_burst(burst)
    }
}

impl<K> fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("rate", &self.settings.rate())
            .field("burst", &self.settings.load().1)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

/// A fast keyed hash: a per-limiter random seed (from std's `RandomState`)
/// mixed multiplicatively, with a final avalanche. Much cheaper than SipHash;
/// the seed keeps the bucket layout unpredictable across processes.
#[derive(Clone, Debug)]
struct SeededHasher {
    seed: u64,
}

impl SeededHasher {
    fn new() -> SeededHasher {
        SeededHasher {
            seed: RandomState::new().hash_one(0x9e37_79b9_7f4a_7c15_u64) | 1,
        }
    }
}

impl BuildHasher for SeededHasher {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher { state: self.seed }
    }
}

#[derive(Debug)]
struct FastHasher {
    state: u64,
}

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.state = (self.state ^ i).wrapping_mul(MUL).rotate_left(29);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Avalanche (the murmur3 finaliser) so both high and low bits mix.
        let mut h = self.state;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}
