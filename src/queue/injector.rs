// The intake of a FIFO pool: many producers append without a lock, one
// consumer at a time (a worker holding the pool's state lock) takes.
//
// Why: with one mutex around the queue, every `spawn` takes the lock. Four
// producers and two workers on two cores (peer-bench W4) then spend their
// time waiting for a lock holder that the scheduler preempted. Here a
// producer reserves a slot with one compare-and-swap on the tail index and
// writes its entry into it; nobody waits for a lock holder. The consumer
// side stays behind the pool's lock: workers take batches there anyway,
// and a single consumer needs no synchronisation with other consumers, so
// freeing a drained block is simple and safe.
//
// Layout: a linked list of blocks of `BLOCK` slots. Positions are counted
// by `index` in laps of `LAP = BLOCK + 1`: offsets `0..BLOCK` name slots,
// and offset `BLOCK` means "the producer that took the block's last slot is
// installing the next block" (other producers wait the few instructions
// that takes). The tail index's top bit (`CLOSED`) refuses every later
// reservation, atomically with them: a push either reserved its slot before
// the close (and the consumer will see it) or is refused.
//
// Invariants the `unsafe` relies on:
// - A slot is written only by the producer whose compare-and-swap moved the
//   tail past it, exactly once, then published with a `Release` store of its
//   state (`WRITTEN`, or `SKIPPED` if producing the value panicked). That
//   store is the producer's last access to the block.
// - The producer of a block's last slot stores the block's `next` pointer
//   before it publishes that slot, so a consumer that has read the last
//   slot finds `next` set.
// - Only the consumer (`Consumer`, unique, `&mut self`) reads values and
//   frees blocks, and it frees a block only once it has taken every slot in
//   it; a producer dereferences a block only after its compare-and-swap
//   succeeded, i.e. while one of the block's slots is reserved and untaken.
// Miri runs the tests at the bottom, and the integration tests that push
// through a pool's intake (`.ci/run` names them).

#![allow(unsafe_code)]

use crate::sync::{Backoff, CachePadded};
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

/// Slots per block.
const BLOCK: usize = 127;
/// Index positions per block: its slots and the "installing" marker.
const LAP: usize = BLOCK + 1;
/// Set in the tail index once the injector is closed.
const CLOSED: usize = 1 << (usize::BITS - 1);

const EMPTY: u8 = 0;
const WRITTEN: u8 = 1;
/// Reserved, but producing the value panicked: the consumer steps over it.
const SKIPPED: u8 = 2;

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    /// Kept apart from the values so that a slot costs one byte beyond its
    /// value (the queue's memory per task is a benchmark, peer-bench W5).
    states: [AtomicU8; BLOCK],
    values: [UnsafeCell<MaybeUninit<T>>; BLOCK],
}

impl<T> Block<T> {
    fn new() -> Box<Block<T>> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            states: std::array::from_fn(|_| AtomicU8::new(EMPTY)),
            values: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        })
    }
}

/// Producers' side.
struct Tail<T> {
    /// Next position to reserve, plus `CLOSED`.
    index: AtomicUsize,
    /// The block `index` points into (or, at the marker, the one before the
    /// block being installed).
    block: AtomicPtr<Block<T>>,
    /// Entries queued or reserved (bounded injectors only): kept on this
    /// line, which a producer owns anyway once it has reserved a slot.
    occupied: AtomicUsize,
}

/// The consumer's side; written only by the consumer (atomics so that
/// others may read the index, and so that no `UnsafeCell` is needed).
struct Head<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
    /// Reserved slots stepped over because their producer panicked.
    skipped: AtomicUsize,
}

/// A lock-free multi-producer FIFO queue whose one consumer is a
/// [`Consumer`]. Optionally bounded: `capacity` entries queued at most.
pub(crate) struct Injector<T> {
    tail: CachePadded<Tail<T>>,
    head: CachePadded<Head<T>>,
    /// `usize::MAX` when unbounded.
    capacity: usize,
}

// SAFETY: the injector moves `T` values between threads (hence `T: Send`)
// and hands each to exactly one thread, the consumer, never sharing a `&T`
// (so `T: Sync` is not needed); the slots' `UnsafeCell`s are written by one
// reserving producer and read by the consumer, ordered by the slot's state.
unsafe impl<T: Send> Send for Injector<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for Injector<T> {}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    Full,
    Closed,
}

/// What a [`Consumer::pop`] found.
#[cfg(test)]
#[derive(Debug)]
pub(crate) enum Pop<T> {
    Item(T),
    Empty,
    /// A producer has reserved the next slot and is writing it: an entry
    /// will be there in a moment.
    Pending,
}

/// Entries counted up to position `index` (the marker positions hold none).
#[inline]
fn count(index: usize) -> usize {
    let index = index & !CLOSED;
    (index / LAP) * BLOCK + (index % LAP).min(BLOCK)
}

impl<T> Injector<T> {
    /// An empty injector and its one consumer. `capacity` bounds the
    /// entries queued at once; `usize::MAX` for none.
    pub(crate) fn new(capacity: usize) -> (Arc<Injector<T>>, Consumer<T>) {
        let first = Box::into_raw(Block::<T>::new());
        let injector = Arc::new(Injector {
            tail: CachePadded(Tail {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
                occupied: AtomicUsize::new(0),
            }),
            head: CachePadded(Head {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
                skipped: AtomicUsize::new(0),
            }),
            capacity,
        });
        let consumer = Consumer {
            injector: Arc::clone(&injector),
        };
        (injector, consumer)
    }

    #[inline]
    fn bounded(&self) -> bool {
        self.capacity != usize::MAX
    }

    /// Appends `job`, converted by `into` once its place is reserved (so a
    /// refused job comes back as itself). Refused when closed, or when a
    /// bounded injector is full (closed wins).
    #[inline]
    pub(crate) fn push<J>(&self, job: J, into: impl FnOnce(J) -> T) -> Result<(), (J, Refused)> {
        if let Err(refused) = self.reserve(1) {
            return Err((job, refused));
        }
        self.push_reserved(job, into)
    }

    /// Appends `job` without a capacity check, for an entry whose place the
    /// caller reserved with [`reserve`](Injector::reserve) or
    /// [`force_reserve`](Injector::force_reserve). Refused only when closed,
    /// and then the reservation is given back.
    #[inline]
    pub(crate) fn push_reserved<J>(
        &self,
        job: J,
        into: impl FnOnce(J) -> T,
    ) -> Result<(), (J, Refused)> {
        let Some((block, offset)) = self.claim() else {
            self.release(1);
            return Err((job, Refused::Closed));
        };
        // SAFETY: `claim` reserved slot `offset` of `block` for this call
        // alone, and the block stays allocated until the consumer has taken
        // that slot, which it does only after the state store below.
        let block = unsafe { &*block };
        let state = &block.states[offset];
        // Publishes the slot as stepped over if `into` panics, so that the
        // consumer is never left waiting for it.
        struct Skip<'a>(&'a AtomicU8);
        impl Drop for Skip<'_> {
            fn drop(&mut self) {
                // ORDERING: see `WRITTEN` below.
                self.0.store(SKIPPED, Ordering::Release);
            }
        }
        let skip = Skip(state);
        let value = into(job);
        std::mem::forget(skip);
        // SAFETY: the slot is ours (see above) and not yet published, so
        // nobody else reads or writes it.
        unsafe { (*block.values[offset].get()).write(value) };
        // ORDERING: Release publishes the value to the consumer's Acquire
        // load of the state; this is this producer's last access to `block`.
        state.store(WRITTEN, Ordering::Release);
        Ok(())
    }

    /// Reserves room for `n` entries in a bounded injector (always succeeds
    /// when unbounded, unless closed).
    /// A closed injector is reported only when the room is lacking: the
    /// push itself refuses a closed injector.
    pub(crate) fn reserve(&self, n: usize) -> Result<(), Refused> {
        if !self.bounded() {
            return Ok(());
        }
        // ORDERING: the count orders nothing; a submitter that finds the
        // injector full re-checks under the pool's lock, under which the
        // consumer releases room.
        let mut occupied = self.tail.occupied.load(Ordering::Relaxed);
        loop {
            if occupied
                .checked_add(n)
                .is_none_or(|after| after > self.capacity)
            {
                return Err(if self.is_closed() {
                    Refused::Closed
                } else {
                    Refused::Full
                });
            }
            match self.tail.occupied.compare_exchange_weak(
                occupied,
                occupied + n,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => occupied = now,
            }
        }
    }

    /// Counts `n` entries as queued whatever the capacity (a retry going
    /// back into the queue may exceed it).
    pub(crate) fn force_reserve(&self, n: usize) {
        if self.bounded() {
            // ORDERING: see `reserve`.
            self.tail.occupied.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Gives back room for `n` entries.
    fn release(&self, n: usize) {
        if self.bounded() && n > 0 {
            // ORDERING: see `reserve`.
            self.tail.occupied.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Free room: the capacity less what is queued or reserved (`usize::MAX`
    /// when unbounded).
    pub(crate) fn room(&self) -> usize {
        if !self.bounded() {
            return usize::MAX;
        }
        // ORDERING: see `reserve`.
        self.capacity
            .saturating_sub(self.tail.occupied.load(Ordering::Relaxed))
    }

    /// Reserves the next slot: its block and offset, or `None` once closed.
    #[inline]
    fn claim(&self) -> Option<(*const Block<T>, usize)> {
        let mut backoff = Backoff::new();
        let mut spare: Option<Box<Block<T>>> = None;
        loop {
            // ORDERING: Acquire pairs with the installer's `fetch_add`, so
            // the block loaded next is the one this index points into.
            let index = self.tail.index.load(Ordering::Acquire);
            if index & CLOSED != 0 {
                return None;
            }
            let offset = index % LAP;
            if offset == BLOCK {
                // Another producer is installing the next block.
                backoff.snooze();
                continue;
            }
            // ORDERING: see above (the installer stores the block first).
            let block = self.tail.block.load(Ordering::Acquire);
            let last = offset + 1 == BLOCK;
            if last && spare.is_none() {
                // Allocated before the reservation, so that the others wait
                // at the marker only for a few stores.
                spare = Some(Block::new());
            }
            // ORDERING: SeqCst: a pool's sleeping worker registers itself
            // and then looks at this index (both SeqCst), the submitter
            // reserves here and then looks for sleepers; one of the two
            // sees the other. Success also means `block` is current: the
            // index did not move since it was loaded.
            match self.tail.index.compare_exchange_weak(
                index,
                index + 1,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if let (true, Some(spare)) = (last, spare.take()) {
                        let next = Box::into_raw(spare);
                        // ORDERING: Release, read by the Acquire loads above.
                        self.tail.block.store(next, Ordering::Release);
                        // Past the marker: offset 0 of the next block (a
                        // close meanwhile keeps its bit).
                        self.tail.index.fetch_add(1, Ordering::Release);
                        // SAFETY: `block` holds our untaken slot, so it is
                        // allocated (see the invariants at the top).
                        let block = unsafe { &*block };
                        // ORDERING: Release; the consumer reads it after the
                        // last slot, which we publish after this store.
                        block.next.store(next, Ordering::Release);
                    }
                    return Some((block, offset));
                }
                Err(_) => backoff.snooze(),
            }
        }
    }

    /// Refuses every later push; true if this call closed it.
    pub(crate) fn close(&self) -> bool {
        // ORDERING: SeqCst, like the reservations it is ordered against.
        self.tail.index.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0
    }

    /// Opens a closed injector again (a pool that is closed does not reopen;
    /// tests only).
    #[cfg(test)]
    fn reopen(&self) {
        self.tail.index.fetch_and(!CLOSED, Ordering::SeqCst);
    }

    pub(crate) fn is_closed(&self) -> bool {
        // ORDERING: a closed injector never opens; a stale "open" is caught
        // by the reservation itself.
        self.tail.index.load(Ordering::Relaxed) & CLOSED != 0
    }

    /// True when an entry is queued or being written. SeqCst: the sleeping
    /// handshake (see `claim`).
    #[inline]
    pub(crate) fn has_items(&self) -> bool {
        // The head first: a head seen past a block's marker implies a tail
        // seen there too (the consumer passes the marker only after the
        // installer moved the tail past it), so `tail >= head`.
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst) & !CLOSED;
        tail > head
    }

    /// Entries queued or being written (exact when called by the consumer's
    /// owner with no push in progress).
    pub(crate) fn len(&self) -> usize {
        // ORDERING: SeqCst, so that a worker that stopped spinning (SeqCst)
        // and then looks here sees a submitter that saw it spinning; the
        // head first, as in `has_items`.
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        count(tail).saturating_sub(count(head))
    }

    /// Entries ever pushed (reserved slots whose producer panicked are not
    /// counted once the consumer has stepped over them).
    pub(crate) fn pushed(&self) -> u64 {
        // ORDERING: statistics.
        let tail = count(self.tail.index.load(Ordering::Acquire));
        let skipped = self.head.skipped.load(Ordering::Relaxed);
        tail.saturating_sub(skipped) as u64
    }
}

impl<T> Drop for Injector<T> {
    fn drop(&mut self) {
        // `&mut self`: no producer or consumer is left; every reserved slot
        // was published (see `Skip`).
        let tail = *self.tail.index.get_mut() & !CLOSED;
        let mut index = *self.head.index.get_mut();
        let mut block = *self.head.block.get_mut();
        while index != tail {
            let offset = index % LAP;
            if offset == BLOCK {
                // SAFETY: blocks from the head on are allocated and owned by
                // the injector; `next` was set before the marker was passed.
                let next = unsafe { *(*block).next.get_mut() };
                // SAFETY: every slot of `block` was taken or dropped above.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            } else {
                // SAFETY: see above; exclusive access through `&mut self`.
                let slot = unsafe { &mut *block };
                if *slot.states[offset].get_mut() == WRITTEN {
                    // SAFETY: a `WRITTEN` slot at or past the head holds a
                    // value nobody took.
                    unsafe { slot.values[offset].get_mut().assume_init_drop() };
                }
            }
            index += 1;
        }
        // The tail's block, whose `next` is null: a producer finishes the
        // install of a next block before it returns, so the tail never
        // stops at a marker.
        // SAFETY: the block the walk stopped in is allocated and unfreed.
        drop(unsafe { Box::from_raw(block) });
    }
}

/// The injector's one consumer: whoever holds it (a pool keeps it under its
/// state lock) takes entries in push order.
pub(crate) struct Consumer<T> {
    injector: Arc<Injector<T>>,
}

impl<T> Consumer<T> {
    /// The shared injector.
    pub(crate) fn injector(&self) -> &Injector<T> {
        &self.injector
    }

    /// Takes the oldest entry.
    #[cfg(test)]
    fn pop(&mut self) -> Pop<T> {
        let mut taken = None;
        let pending = self.take(1, |value| taken = Some(value));
        match (taken, pending) {
            (Some(value), _) => Pop::Item(value),
            (None, true) => Pop::Pending,
            (None, false) => Pop::Empty,
        }
    }

    /// Takes up to `max` of the oldest entries, in order, handing each to
    /// `sink`, and gives their room back at once. Returns true when it
    /// stopped at a slot whose producer is still writing.
    pub(crate) fn take(&mut self, max: usize, mut sink: impl FnMut(T)) -> bool {
        let injector = &*self.injector;
        // ORDERING: the head is written by this consumer only.
        let mut index = injector.head.index.load(Ordering::Relaxed);
        let mut block = injector.head.block.load(Ordering::Relaxed);
        // ORDERING: Acquire: reservations made before this point are seen
        // (their slots' contents are synchronised by the slot states).
        let tail = injector.tail.index.load(Ordering::Acquire) & !CLOSED;
        let mut taken = 0;
        let mut skipped = 0;
        let mut pending = false;
        // `<`, not `!=`: passing a block's last slot moves the head over the
        // marker, possibly past a tail loaded while it stood there.
        while taken < max && index < tail {
            let offset = index % LAP;
            // SAFETY: the head block is allocated: only this consumer frees
            // blocks, and only the ones it has left.
            let current = unsafe { &*block };
            // ORDERING: Acquire pairs with the producer's Release store.
            match current.states[offset].load(Ordering::Acquire) {
                EMPTY => {
                    pending = true;
                    break;
                }
                WRITTEN => {
                    // SAFETY: `WRITTEN`: the producer initialised the value
                    // and will not touch it again; the head moves past it
                    // below, so it is read exactly once.
                    let value = unsafe { (*current.values[offset].get()).assume_init_read() };
                    sink(value);
                    taken += 1;
                }
                _ => skipped += 1,
            }
            index += 1;
            if offset + 1 == BLOCK {
                // ORDERING: Acquire; stored before the last slot was
                // published (see `claim`), so it is set.
                let next = current.next.load(Ordering::Acquire);
                debug_assert!(!next.is_null());
                // SAFETY: every slot of this block has been taken; no
                // producer touches it again (see the invariants at the top).
                drop(unsafe { Box::from_raw(block) });
                block = next;
                index += 1;
            }
        }
        injector.head.block.store(block, Ordering::Relaxed);
        // ORDERING: Release, for readers of `len` and `has_items`.
        injector.head.index.store(index, Ordering::Release);
        if skipped > 0 {
            injector.head.skipped.fetch_add(skipped, Ordering::Relaxed);
        }
        injector.release(taken + skipped);
        pending
    }

    /// Takes every entry, waiting out producers still writing theirs; with
    /// the injector closed first, it is empty on return.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        let mut backoff = Backoff::new();
        while self.take(usize::MAX, |value| out.push(value)) {
            backoff.snooze();
        }
        out
    }

    /// Entries queued or being written; exact while no push is in progress.
    pub(crate) fn len(&self) -> usize {
        self.injector.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.injector.has_items()
    }
}

impl<T> std::fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("len", &self.len())
            .finish()
    }
}

impl<T> std::fmt::Debug for Injector<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injector")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::thread;

    /// Counts drops, to show every value is dropped exactly once.
    #[derive(Debug)]
    struct Counted(#[allow(dead_code)] u64, Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn drain_values(consumer: &mut Consumer<u64>) -> Vec<u64> {
        consumer.drain()
    }

    #[test]
    fn fifo_across_blocks() {
        let n = (BLOCK * 3 + 5) as u64;
        let (injector, mut consumer) = Injector::new(usize::MAX);
        for i in 0..n {
            injector.push(i, |v| v).unwrap();
        }
        assert_eq!(injector.len(), n as usize);
        assert_eq!(injector.pushed(), n);
        assert!(injector.has_items());
        let mut got = Vec::new();
        // Uneven batches, crossing block boundaries mid-batch.
        while !consumer.take(10, |v| got.push(v)) && !consumer.is_empty() {}
        assert_eq!(got, (0..n).collect::<Vec<_>>());
        assert!(matches!(consumer.pop(), Pop::Empty));
        assert_eq!(injector.len(), 0);
        // Interleaved pushes and pops keep the order too.
        for i in 0..n {
            injector.push(i, |v| v).unwrap();
            if i % 3 == 0 {
                assert!(matches!(consumer.pop(), Pop::Item(_)));
            }
        }
        let rest = drain_values(&mut consumer);
        assert_eq!(rest.len() + n.div_ceil(3) as usize, n as usize);
        assert!(rest.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn bounded_refuses_when_full_and_frees_room_on_take() {
        let (injector, mut consumer) = Injector::new(3);
        for i in 0..3u64 {
            injector.push(i, |v| v).unwrap();
        }
        assert_eq!(injector.room(), 0);
        let (back, why) = injector.push(9, |v| v).unwrap_err();
        assert_eq!((back, why), (9, Refused::Full));
        assert!(matches!(consumer.pop(), Pop::Item(0)));
        assert_eq!(injector.room(), 1);
        injector.push(3, |v| v).unwrap();
        // Reservations: a batch fits or not as a whole.
        assert_eq!(injector.reserve(1), Err(Refused::Full));
        consumer.take(2, drop);
        assert_eq!(injector.reserve(3), Err(Refused::Full));
        assert_eq!(injector.reserve(2), Ok(()));
        injector.push_reserved(4, |v| v).unwrap();
        injector.push_reserved(5, |v| v).unwrap();
        // A forced reservation may exceed the capacity.
        injector.force_reserve(1);
        injector.push_reserved(6, |v| v).unwrap();
        assert_eq!(injector.room(), 0);
        assert_eq!(drain_values(&mut consumer), vec![3, 4, 5, 6]);
        assert_eq!(injector.room(), 3);
    }

    #[test]
    fn close_refuses_and_keeps_what_was_accepted() {
        let (injector, mut consumer) = Injector::new(usize::MAX);
        injector.push(1u64, |v| v).unwrap();
        assert!(injector.close());
        assert!(!injector.close());
        assert!(injector.is_closed());
        assert_eq!(injector.push(2, |v| v).unwrap_err(), (2, Refused::Closed));
        assert_eq!(
            injector.push_reserved(2, |v| v).unwrap_err(),
            (2, Refused::Closed)
        );
        assert_eq!(drain_values(&mut consumer), vec![1]);
        injector.reopen();
        injector.push(3, |v| v).unwrap();
        assert_eq!(drain_values(&mut consumer), vec![3]);
        // Closed wins over full.
        let (bounded, _consumer) = Injector::new(1);
        bounded.push(1u64, |v| v).unwrap();
        bounded.close();
        assert_eq!(bounded.push(2, |v| v).unwrap_err().1, Refused::Closed);
    }

    #[test]
    fn a_producer_that_panics_leaves_no_hole() {
        let (injector, mut consumer) = Injector::new(2);
        injector.push(1u64, |v| v).unwrap();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = injector.push(2u64, |_| panic!("producing the entry failed"));
        }));
        assert!(panicked.is_err());
        injector.push(3, |v| v).unwrap_err(); // full: the panicked slot holds room until taken
        assert_eq!(drain_values(&mut consumer), vec![1]);
        assert_eq!(injector.pushed(), 1);
        assert_eq!(injector.room(), 2);
        injector.push(3, |v| v).unwrap();
        assert_eq!(drain_values(&mut consumer), vec![3]);
    }

    #[test]
    fn dropping_the_injector_drops_what_is_left_exactly_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let n = BLOCK * 2 + 3;
        {
            let (injector, mut consumer) = Injector::new(usize::MAX);
            for i in 0..n {
                injector
                    .push(Counted(i as u64, Arc::clone(&drops)), |v| v)
                    .unwrap();
            }
            // Take some, across the first block boundary.
            consumer.take(BLOCK + 1, drop);
            assert_eq!(drops.load(Ordering::Relaxed), BLOCK + 1);
        }
        assert_eq!(drops.load(Ordering::Relaxed), n);
    }

    #[test]
    fn concurrent_producers_keep_per_producer_order_and_lose_nothing() {
        let producers = 4u64;
        let per = if cfg!(miri) { 150 } else { 50_000 };
        let (injector, mut consumer) = Injector::<u64>::new(usize::MAX);
        let mut seen = vec![0u64; producers as usize];
        let mut total = 0;
        thread::scope(|s| {
            for p in 0..producers {
                let injector = &injector;
                s.spawn(move || {
                    for i in 0..per {
                        injector.push(p << 32 | i, |v| v).unwrap();
                    }
                });
            }
            let mut backoff = Backoff::new();
            while total < producers * per {
                let mut got = false;
                consumer.take(16, |v| {
                    got = true;
                    let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
                    assert_eq!(seen[p], i, "producer {p}'s entries out of order");
                    seen[p] += 1;
                    total += 1;
                });
                if !got {
                    backoff.snooze();
                    if backoff.is_completed() {
                        backoff = Backoff::new();
                    }
                }
            }
        });
        assert!(matches!(consumer.pop(), Pop::Empty));
        assert_eq!(injector.pushed(), producers * per);
    }

    #[test]
    fn a_bounded_injector_never_holds_more_than_its_capacity() {
        let capacity = 8;
        let producers = 3u64;
        let per = if cfg!(miri) { 60 } else { 20_000 };
        let (injector, mut consumer) = Injector::<u64>::new(capacity);
        let mut total = 0;
        thread::scope(|s| {
            for _ in 0..producers {
                let injector = &injector;
                s.spawn(move || {
                    let mut sent = 0;
                    while sent < per {
                        match injector.push(sent, |v| v) {
                            Ok(()) => sent += 1,
                            Err((_, Refused::Full)) => thread::yield_now(),
                            Err((_, Refused::Closed)) => unreachable!(),
                        }
                    }
                });
            }
            while total < producers * per {
                assert!(injector.len() <= capacity);
                consumer.take(3, |_| total += 1);
                thread::yield_now();
            }
        });
        assert_eq!(injector.room(), capacity);
    }

    #[test]
    fn close_racing_pushes_strands_nothing() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let drops = Arc::new(AtomicUsize::new(0));
            let (injector, mut consumer) = Injector::new(usize::MAX);
            let accepted = AtomicUsize::new(0);
            let refused = AtomicUsize::new(0);
            let mut taken = 0;
            thread::scope(|s| {
                for p in 0..3u64 {
                    let (injector, accepted, refused, drops) =
                        (&injector, &accepted, &refused, &drops);
                    s.spawn(move || {
                        for i in 0..200 {
                            match injector.push(Counted(p << 32 | i, Arc::clone(drops)), |v| v) {
                                Ok(()) => accepted.fetch_add(1, Ordering::Relaxed),
                                Err((value, _)) => {
                                    drop(value);
                                    refused.fetch_add(1, Ordering::Relaxed)
                                }
                            };
                        }
                    });
                }
                thread::yield_now();
                injector.close();
                // Everything accepted before the close is there to take.
                taken += consumer.drain().len();
            });
            // Producers are done; after the close nothing more arrived.
            assert_eq!(taken, accepted.load(Ordering::Relaxed));
            assert_eq!(
                taken + refused.load(Ordering::Relaxed),
                3 * 200,
                "every push either accepted or refused"
            );
            assert!(matches!(consumer.pop(), Pop::Empty));
            drop(consumer);
            drop(injector);
            assert_eq!(drops.load(Ordering::Relaxed), 3 * 200);
        }
    }
}
