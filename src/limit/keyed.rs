//! [`KeyedLimiter`]: one GCRA token bucket per key, in bounded memory.
//!
//! Maintainers: keys are spread over `SHARDS` shards, each a `HashMap` from
//! key to theoretical arrival time (`tat`) under its own mutex, hashed with
//! a seeded multiplicative hash (SipHash costs more than the whole check).
//! The hot path — a key already remembered — is one lock, one lookup and
//! one GCRA step, as before; everything below happens only for a new key.
//!
//! The bound is global, not per shard: `keys` counts the keys remembered
//! (plus, for a moment, a slot passing from one shard to another) and never
//! exceeds `max_keys`. A new key takes a slot by compare-and-swap while the
//! count is under the bound, into whatever shard it hashes to; only at the
//! bound does it take the slot of a key it forgets. A shard's size is thus
//! whatever its keys need (a per-shard cap of `max_keys / SHARDS` would
//! forget active keys of a full shard while other shards have room).
//!
//! Which key to forget: an idle one (`tat ≤ now`: its bucket is full again,
//! exactly like a new one, so forgetting it changes no decision) if any
//! shard has one; otherwise the one with the smallest `tat` (the active key
//! nearest to full: forgetting it lets through the fewest permits early).
//! To find either without a sweep, each shard keeps every key once more in
//! a lazy min-heap on `tat`: an entry's `tat` is a lower bound of the key's
//! (a remembered key's `tat` only grows; the hot path does not touch the
//! heap), and `Shard::top_tat` re-sifts stale tops until the top is exact
//! or idle — each re-sift is paid for by a hot-path update since the last
//! one. `min_tat[i]` mirrors shard `i`'s heap top (a lower bound of its
//! smallest `tat`, `u64::MAX` when empty), written under the shard's lock
//! and read without it, so the search for a victim locks only the shard
//! with the lowest bound: if its exact top is idle or no higher than every
//! other shard's bound, it is the key to forget; if not, its bound is now
//! exact and the next lowest shard is tried (at most `2 · SHARDS` rounds).
//! The new key's own shard is tried first, under the lock already held;
//! the search elsewhere runs with it released (two shard locks are never
//! held together), so the new key is looked up again afterwards.
//!
//! Racing callers: a bound read a moment before another thread lowers it
//! (pushing a brand-new key) can hide that key from a victim search; the
//! choice is then against a state a moment old, as with any racing clock
//! readings. The count is exact under every interleaving.

use super::gcra::{Settings, step};
use super::{AllowError, Epoch, LimitConfigError, Rate, RateLimited};
use crate::sync::{CachePadded, Mutex, MutexGuard};
use crate::time::Clock;
use std::cmp::Ordering;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

const SHARDS: usize = 32;

/// A GCRA token bucket per key, with at most `max_keys` keys remembered.
///
/// Each key gets its own bucket of `burst` permits refilled at `rate`,
/// starting full. Memory is bounded: at no moment are more than `max_keys`
/// keys remembered ([`len`](KeyedLimiter::len) `≤ max_keys`), however many
/// distinct keys arrive (unbounded per-key memory is a denial-of-service
/// vector). To make room for a new key at the bound, one key is forgotten.
///
/// What is guaranteed: call a key *active* while its bucket is not full
/// (some permits it took have not refilled yet), *idle* once it is full
/// again. As long as at most `max_keys` keys are active at once, every
/// decision — admit or refuse, and the wait a refusal names — is exactly
/// the one a separate bucket per key would give: only idle keys are
/// forgotten, and an idle key's bucket is full, the same as a new one.
///
/// Beyond that — a new key arriving while `max_keys` keys are active — the
/// active key nearest to full is forgotten. Should it return, it starts
/// with a full bucket again, so up to the permits it had not yet refilled
/// may be admitted earlier than its own bucket would allow (and its later
/// decisions follow from that). [`evicted_active`](KeyedLimiter::evicted_active)
/// counts such keys: while it stays 0, no decision has differed. Size
/// `max_keys` for the most keys busy at once: a key stays active for up to
/// `burst` × the rate's period after its last permit.
///
/// Several threads may call at once; the bound on remembered keys holds
/// exactly throughout. A new key racing with other new keys may have its
/// victim chosen on a state a moment old (an idle key that another thread
/// is just then creating can be missed).
///
/// Memory is about `max_keys` × (2 × the size of `K` + 24 bytes) plus the
/// hash tables' slack.
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
    /// Per shard, a lower bound of its smallest `tat` (`u64::MAX`: empty);
    /// written under the shard's lock, read without. Off the shards' cache
    /// lines, so that victim searches leave the hot path's lines alone.
    min_tat: Box<[AtomicU64]>,
    /// Keys remembered, plus slots passing between shards: ≤ `max_keys`.
    keys: CachePadded<AtomicUsize>,
    settings: Settings,
    epoch: Epoch,
    hasher: SeededHasher,
    max_keys: usize,
    /// `max_keys / SHARDS` rounded up: a shard's table is not shrunk below it.
    fair_share: usize,
    evicted: AtomicU64,
    evicted_active: AtomicU64,
}

struct Shard<K> {
    /// Key → theoretical arrival time (ns since the epoch's origin).
    map: HashMap<K, u64, SeededHasher>,
    /// Every key of `map` exactly once, with a lower bound of its `tat`.
    heap: BinaryHeap<Entry<K>>,
}

/// A heap entry, ordered so that the smallest `tat` is on top of std's
/// max-heap.
struct Entry<K> {
    tat: u64,
    key: K,
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        self.tat == other.tat
    }
}

impl<K> Eq for Entry<K> {}

impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Entry<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.tat.cmp(&self.tat)
    }
}

impl<K: Hash + Eq + Clone> Shard<K> {
    fn insert(&mut self, key: K, tat: u64) {
        self.map.insert(key.clone(), tat);
        self.heap.push(Entry { tat, key });
    }

    /// The heap top's actual `tat`, once it is exact (then the smallest in
    /// the shard: every other entry's bound is at least the top's) or idle
    /// at `now`; `None` when the shard is empty.
    fn top_tat(&mut self, now: u64) -> Option<u64> {
        loop {
            let mut top = self.heap.peek_mut()?;
            match self.map.get(&top.key) {
                Some(&tat) if tat == top.tat || tat <= now => return Some(tat),
                // Stale: sifts down with its actual `tat` when `top` drops.
                Some(&tat) => top.tat = tat,
                // Not reached (each key of the map is in the heap once and
                // leaves both together); dropped rather than trusted.
                None => {
                    std::collections::binary_heap::PeekMut::pop(top);
                }
            }
        }
    }

    /// Forgets the heap top's key; its actual `tat`.
    fn pop_top(&mut self) -> Option<u64> {
        let entry = self.heap.pop()?;
        Some(self.map.remove(&entry.key).unwrap_or(entry.tat))
    }

    /// The heap top's bound: a lower bound of every `tat` in the shard.
    fn bound(&self) -> u64 {
        self.heap.peek().map_or(u64::MAX, |e| e.tat)
    }

    /// Forgets every idle key; how many.
    fn retain_active(&mut self, now: u64) -> usize {
        let before = self.map.len();
        let mut entries = std::mem::take(&mut self.heap).into_vec();
        let map = &self.map;
        entries.retain_mut(|e| match map.get(&e.key) {
            Some(&tat) if tat > now => {
                e.tat = tat;
                true
            }
            _ => false,
        });
        self.map.retain(|_, tat| *tat > now);
        self.heap = BinaryHeap::from(entries);
        before - self.map.len()
    }

    /// Gives back memory once the shard holds far fewer keys than it did.
    fn trim(&mut self, fair_share: usize) {
        let keep = self.map.len().max(fair_share);
        if self.map.capacity() > 4 * keep {
            self.map.shrink_to(2 * keep);
            self.heap.shrink_to(2 * keep);
        }
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// Per-key buckets of `burst` at `rate`, at most `max_keys` keys, system
    /// clock.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroBurst`], [`LimitConfigError::Overflow`] as for
    /// [`TokenBucket`](super::TokenBucket); [`LimitConfigError::ZeroCapacity`]
    /// for `max_keys == 0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = gosling::limit::KeyedLimiter::<u64>::new(gosling::limit::Rate::per_second(10)?, 5, 1000)?;
    /// assert!(limiter.allow(&7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        rate: Rate,
        burst: u32,
        max_keys: usize,
    ) -> Result<KeyedLimiter<K>, LimitConfigError> {
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
    ) -> Result<KeyedLimiter<K>, LimitConfigError> {
        if max_keys == 0 {
            return Err(LimitConfigError::ZeroCapacity);
        }
        let settings = Settings::new(rate, burst)?;
        let hasher = SeededHasher::new();
        let shards = (0..SHARDS)
            .map(|_| {
                CachePadded(Mutex::new(Shard {
                    map: HashMap::with_hasher(hasher.clone()),
                    heap: BinaryHeap::new(),
                }))
            })
            .collect();
        Ok(KeyedLimiter {
            shards,
            min_tat: (0..SHARDS).map(|_| AtomicU64::new(u64::MAX)).collect(),
            keys: CachePadded(AtomicUsize::new(0)),
            settings,
            epoch: Epoch::new(clock),
            hasher,
            max_keys,
            fair_share: max_keys.div_ceil(SHARDS),
            evicted: AtomicU64::new(0),
            evicted_active: AtomicU64::new(0),
        })
    }

    /// Takes one permit for `key` if available: true when taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::new(Rate::per_second(1)?, 1, 100)?;
    /// assert!(limiter.allow(&"k"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// limiter.check(&1u8)?;
    /// assert_eq!(limiter.check(&1u8).unwrap_err().retry_after().as_millis(), 500);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// let limiter = KeyedLimiter::new(Rate::per_second(1)?, 3, 100)?;
    /// assert!(limiter.allow_n(&"k", 3).is_ok());
    /// assert!(matches!(limiter.allow_n(&"k", 4), Err(AllowError::ExceedsBurst { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_n(&self, key: &K, n: u32) -> Result<(), AllowError> {
        let (cost, limit) = self.settings.cost_of(n)?;
        let now = self.epoch.now_ns();
        let hash = self.hasher.hash_one(key);
        // High bits: the map uses the low ones.
        let index = (hash >> 59) as usize % SHARDS;
        let mut shard = self.shards[index].lock();
        if let Some(tat) = shard.map.get_mut(key) {
            return self.take(tat, now, cost, limit);
        }
        self.remember(shard, index, key, now, cost, limit)
    }

    /// The GCRA step on a remembered key's `tat`.
    #[inline]
    fn take(&self, tat: &mut u64, now: u64, cost: u64, limit: u64) -> Result<(), AllowError> {
        match step(*tat, now, cost, limit) {
            Ok(new) => {
                *tat = new;
                Ok(())
            }
            Err(earliest) => Err(AllowError::RateLimited(self.epoch.limited(earliest, now))),
        }
    }

    /// A key not remembered in `shard` (locked, number `index`): its bucket
    /// is full, so its request (`cost ≤ limit`) passes; remembers it,
    /// making room at the bound.
    #[cold]
    fn remember(
        &self,
        mut shard: MutexGuard<'_, Shard<K>>,
        index: usize,
        key: &K,
        now: u64,
        cost: u64,
        limit: u64,
    ) -> Result<(), AllowError> {
        let tat = now.saturating_add(cost);
        if self.reserve() {
            self.insert(&mut shard, index, key.clone(), tat);
            return Ok(());
        }
        // At the bound: an idle key of this shard, if it has one, under the
        // lock already held.
        if matches!(shard.top_tat(now), Some(top) if top <= now) {
            self.forget_top(&mut shard, index, now);
            self.insert(&mut shard, index, key.clone(), tat);
            return Ok(());
        }
        // ORDERING: Relaxed: see `insert`.
        self.min_tat[index].store(shard.bound(), Relaxed);
        drop(shard);
        let room = self.make_room(now);
        let mut shard = self.shards[index].lock();
        if let Some(existing) = shard.map.get_mut(key) {
            // Another caller remembered the key meanwhile: this request
            // comes second on the key's bucket, and the slot taken for it
            // goes back.
            if room {
                self.keys.fetch_sub(1, Relaxed);
            }
            return self.take(existing, now, cost, limit);
        }
        if room || self.reserve() {
            self.insert(&mut shard, index, key.clone(), tat);
        } else {
            // Nothing to forget: every slot is passing between shards for
            // a new key, each active once admitted. This one is admitted
            // and forgotten at once.
            self.evicted.fetch_add(1, Relaxed);
            if tat > now {
                self.evicted_active.fetch_add(1, Relaxed);
            }
        }
        Ok(())
    }

    /// Takes a slot under the bound: true when taken.
    fn reserve(&self) -> bool {
        // ORDERING: Relaxed: the count publishes no data; the keys
        // themselves are published by the shard locks.
        self.keys
            .fetch_update(Relaxed, Relaxed, |n| (n < self.max_keys).then_some(n + 1))
            .is_ok()
    }

    /// Remembers `key` in `shard` (number `index`), in a slot already held.
    fn insert(&self, shard: &mut Shard<K>, index: usize, key: K, tat: u64) {
        shard.insert(key, tat);
        // ORDERING: Relaxed: a hint for victim searches (see the module
        // notes); the shard's data is read under its lock.
        self.min_tat[index].store(shard.bound(), Relaxed);
    }

    /// Forgets the key on top of `shard`'s heap (made exact or idle by
    /// `top_tat` just before), keeping its slot for the caller.
    fn forget_top(&self, shard: &mut Shard<K>, index: usize, now: u64) {
        if let Some(tat) = shard.pop_top() {
            // ORDERING: Relaxed: statistics.
            self.evicted.fetch_add(1, Relaxed);
            if tat > now {
                self.evicted_active.fetch_add(1, Relaxed);
            }
        }
        shard.trim(self.fair_share);
        self.min_tat[index].store(shard.bound(), Relaxed);
    }

    /// Forgets one key of some shard, to hand its slot to the caller: an
    /// idle key if one is found, else the one with the smallest `tat`.
    /// False when every shard is empty (all slots are passing between
    /// shards at this moment). Called holding no shard lock.
    #[cold]
    fn make_room(&self, now: u64) -> bool {
        const ROUNDS: usize = 2 * SHARDS;
        for round in 0..ROUNDS {
            let (index, lowest, next) = self.lowest_bounds();
            if lowest == u64::MAX {
                return false;
            }
            let mut shard = self.shards[index].lock();
            match shard.top_tat(now) {
                // Idle, or the smallest `tat` of all (every other shard's
                // bound is at least `next`); after many rounds lost to
                // racing callers, whatever this shard's smallest is.
                Some(top) if top <= now || top <= next || round + 1 == ROUNDS => {
                    self.forget_top(&mut shard, index, now);
                    return true;
                }
                // Its bound is exact now: try the next lowest shard.
                _ => self.min_tat[index].store(shard.bound(), Relaxed),
            }
        }
        false
    }

    /// The shard with the lowest bound, that bound, and the lowest bound of
    /// every other shard.
    fn lowest_bounds(&self) -> (usize, u64, u64) {
        let (mut index, mut lowest, mut next) = (0, u64::MAX, u64::MAX);
        for (i, bound) in self.min_tat.iter().enumerate() {
            // ORDERING: Relaxed: hints, see `insert`.
            let bound = bound.load(Relaxed);
            if bound < lowest {
                (index, lowest, next) = (i, bound, lowest);
            } else if bound < next {
                next = bound;
            }
        }
        (index, lowest, next)
    }

    /// Keys remembered now: never more than
    /// [`max_keys`](KeyedLimiter::max_keys), at any moment, however many
    /// threads call. (While another thread is replacing one key by another,
    /// the key on its way counts.)
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::new(Rate::per_second(1)?, 1, 2)?;
    /// limiter.allow(&1);
    /// limiter.allow(&2);
    /// assert_eq!(limiter.len(), 2);
    /// limiter.allow(&3); // one key is forgotten to make room
    /// assert_eq!(limiter.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        // ORDERING: Relaxed: a count, publishing no data.
        self.keys.load(Relaxed)
    }

    /// True when no key is remembered.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = gosling::limit::KeyedLimiter::<u8>::new(gosling::limit::Rate::per_second(1)?, 1, 100)?;
    /// assert!(limiter.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound on remembered keys, exactly as configured:
    /// [`len`](KeyedLimiter::len) never exceeds it.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = gosling::limit::KeyedLimiter::<u8>::new(gosling::limit::Rate::per_second(1)?, 1, 100)?;
    /// assert_eq!(limiter.max_keys(), 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// Keys forgotten so far to make room for new ones, idle or active.
    /// Forgetting an idle key changes nothing; see
    /// [`evicted_active`](KeyedLimiter::evicted_active) for the others.
    /// Keys dropped by [`retain_recent`](KeyedLimiter::retain_recent) do
    /// not count.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// use std::time::Duration;
    /// let manual = gosling::time::ManualClock::new();
    /// let limiter = KeyedLimiter::with_clock(Rate::per_second(1).unwrap(), 1, 1, manual.clock()).unwrap();
    /// limiter.allow(&1);
    /// manual.advance(Duration::from_secs(1)); // key 1 is idle again
    /// limiter.allow(&2);
    /// assert_eq!((limiter.evicted(), limiter.evicted_active()), (1, 0));
    /// ```
    #[must_use]
    pub fn evicted(&self) -> u64 {
        // ORDERING: Relaxed: a statistic.
        self.evicted.load(Relaxed)
    }

    /// Keys forgotten so far while still active (their bucket not yet full
    /// again), which happens only when a new key arrives while `max_keys`
    /// keys are active. Each such key, should it return, may be admitted up
    /// to the permits it had not refilled earlier than its own bucket would
    /// allow. While this stays 0, every decision has been exactly that of
    /// a separate bucket per key; if it grows, `max_keys` is smaller than
    /// the number of keys active at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let manual = gosling::time::ManualClock::new();
    /// let limiter = KeyedLimiter::with_clock(Rate::per_second(1).unwrap(), 1, 1, manual.clock()).unwrap();
    /// assert!(limiter.allow(&1) && !limiter.allow(&1));
    /// assert!(limiter.allow(&2)); // two keys active, room for one: key 1 is forgotten
    /// assert_eq!(limiter.evicted_active(), 1);
    /// assert!(limiter.allow(&1)); // its own bucket would still be empty
    /// ```
    #[must_use]
    pub fn evicted_active(&self) -> u64 {
        // ORDERING: Relaxed: a statistic.
        self.evicted_active.load(Relaxed)
    }

    /// Forgets every idle key (whose bucket is full again); returns how many.
    /// This changes no decision; it only gives memory back early (keys are
    /// also forgotten as room is needed).
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
        for (index, shard) in self.shards.iter().enumerate() {
            let mut shard = shard.lock();
            let here = shard.retain_active(now);
            shard.trim(self.fair_share);
            // ORDERING: Relaxed: see `insert` and `reserve`.
            self.min_tat[index].store(shard.bound(), Relaxed);
            self.keys.fetch_sub(here, Relaxed);
            removed += here;
        }
        removed
    }

    /// The per-key rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let rate = Rate::per_second(3)?;
    /// assert_eq!(KeyedLimiter::<u8>::new(rate, 1, 10)?.rate(), rate);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn rate(&self) -> Rate {
        self.settings.rate()
    }

    /// Changes the per-key rate.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::Overflow`] when period × burst does not fit.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::<u8>::new(Rate::per_second(3)?, 1, 10)?;
    /// limiter.set_rate(Rate::per_second(6)?)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_rate(&self, rate: Rate) -> Result<(), LimitConfigError> {
        self.settings.set_rate(rate)
    }

    /// The per-key burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// assert_eq!(KeyedLimiter::<u8>::new(Rate::per_second(3)?, 4, 10)?.burst(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn burst(&self) -> u32 {
        self.settings.load().1
    }

    /// Changes the per-key burst.
    ///
    /// # Errors
    ///
    /// [`LimitConfigError::ZeroBurst`], [`LimitConfigError::Overflow`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// let limiter = KeyedLimiter::<u8>::new(Rate::per_second(3)?, 1, 10)?;
    /// limiter.set_burst(5)?;
    /// assert_eq!(limiter.burst(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_burst(&self, burst: u32) -> Result<(), LimitConfigError> {
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
