//! FIFO and LIFO storage in fixed-size blocks.
//!
//! A `VecDeque` doubles when it fills: a queue of a million tasks copies
//! itself twenty times while the pool's lock is held (the largest copy moves
//! the whole queue at once), and every buffer it outgrew stays in the
//! process's heap. Here a queue grows as a `VecDeque` only up to `HOT_MAX`
//! entries; past that, it adds blocks of `BLOCK` entries, which never move,
//! and draining frees them (one is kept as a spare so a queue that
//! hovers around a block boundary does not allocate on every crossing).
//! Memory per queued task is the entry itself, plus at most one partly
//! filled block at each end.

use std::collections::VecDeque;
use std::mem;

/// Entries per block behind the hot one (16 KiB of 32-byte entries).
const BLOCK: usize = 512;

/// The most entries the hot block grows to (128 KiB of 32-byte entries): a
/// queue this short behaves exactly as a `VecDeque`.
const HOT_MAX: usize = 4096;

/// A queue (FIFO: `push_fifo` / `pop_fifo`) or a stack (LIFO: `push_lifo` /
/// `pop_lifo`) of blocks; one instance is used one way only.
///
/// Only the block entries are taken from (`hot`: a queue's oldest, a
/// stack's top) is held inline, beside the pool's lock; the rest is boxed,
/// so the pool's state stays as small as with a plain `VecDeque`. While a
/// queue fits one block — workers keeping up — `hot` serves both ends as a
/// ring and nothing else is touched. Past one block, pushes go to the
/// boxed `tail`, which only producers touch.
pub(crate) struct Segmented<T> {
    /// The block entries are taken from.
    hot: VecDeque<T>,
    len: usize,
    /// A queue spans more than one block: pushes go to `cold.tail`.
    spread: bool,
    cold: Box<Cold<T>>,
}

struct Cold<T> {
    /// A queue's newest block, while `spread`.
    tail: VecDeque<T>,
    /// The blocks between `hot` and `tail` (a queue's), or below the top (a
    /// stack's), oldest first. Each holds at most `BLOCK` entries.
    rest: VecDeque<VecDeque<T>>,
    /// One emptied block kept for reuse.
    spare: Option<VecDeque<T>>,
}

impl<T> Segmented<T> {
    pub(crate) fn new() -> Self {
        Segmented {
            hot: VecDeque::new(),
            len: 0,
            spread: false,
            cold: Box::new(Cold {
                tail: VecDeque::new(),
                rest: VecDeque::new(),
                spare: None,
            }),
        }
    }

    fn block(cold: &mut Cold<T>) -> VecDeque<T> {
        cold.spare
            .take()
            .unwrap_or_else(|| VecDeque::with_capacity(BLOCK))
    }

    /// Adds an item at the back of a queue.
    #[inline]
    pub(crate) fn push_fifo(&mut self, item: T) {
        self.len += 1;
        if !self.spread && self.hot.len() < HOT_MAX {
            self.hot.push_back(item);
        } else {
            self.push_fifo_spread(item);
        }
    }

    fn push_fifo_spread(&mut self, item: T) {
        let cold = &mut *self.cold;
        if !self.spread {
            // The hot block is full: a tail starts.
            cold.tail = Self::block(cold);
            self.spread = true;
        } else if cold.tail.len() >= BLOCK {
            let fresh = Self::block(cold);
            let full = mem::replace(&mut cold.tail, fresh);
            cold.rest.push_back(full);
        }
        cold.tail.push_back(item);
    }

    /// Removes the item at the front of a queue.
    #[inline]
    pub(crate) fn pop_fifo(&mut self) -> Option<T> {
        if self.hot.is_empty() {
            let cold = &mut *self.cold;
            let next = match cold.rest.pop_front() {
                Some(next) => next,
                None if self.spread => {
                    // The tail becomes the only block.
                    self.spread = false;
                    mem::take(&mut cold.tail)
                }
                None => return None,
            };
            self.retire(next);
        }
        let item = self.hot.pop_front();
        self.len -= usize::from(item.is_some());
        item
    }

    /// Adds an item on top of a stack.
    #[inline]
    pub(crate) fn push_lifo(&mut self, item: T) {
        self.len += 1;
        if self.hot.len() >= HOT_MAX {
            let fresh = Self::block(&mut self.cold);
            let full = mem::replace(&mut self.hot, fresh);
            if !full.is_empty() {
                self.cold.rest.push_back(full);
            }
        }
        self.hot.push_back(item);
    }

    /// Removes the item on top of a stack.
    #[inline]
    pub(crate) fn pop_lifo(&mut self) -> Option<T> {
        if self.hot.is_empty() {
            let next = self.cold.rest.pop_back()?;
            self.retire(next);
        }
        let item = self.hot.pop_back();
        self.len -= usize::from(item.is_some());
        item
    }

    /// Makes `next` the hot block; the emptied one becomes the spare (once).
    fn retire(&mut self, next: VecDeque<T>) {
        let empty = mem::replace(&mut self.hot, next);
        if self.cold.spare.is_none() && empty.capacity() > 0 {
            self.cold.spare = Some(empty);
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every block holds at most `BLOCK` entries and never reallocates.
    fn check_blocks<T>(q: &Segmented<T>) {
        assert!(q.hot.len() <= HOT_MAX && q.hot.capacity() <= 2 * HOT_MAX);
        assert!(
            q.cold
                .rest
                .iter()
                .all(|b| b.len() <= HOT_MAX && b.capacity() <= 2 * HOT_MAX)
        );
        assert!(q.cold.tail.len() <= BLOCK && q.cold.tail.capacity() <= 2 * HOT_MAX);
        let total =
            q.hot.len() + q.cold.tail.len() + q.cold.rest.iter().map(VecDeque::len).sum::<usize>();
        assert_eq!(total, q.len());
    }

    #[test]
    fn fifo_and_lifo_orders_hold_across_blocks() {
        let n = HOT_MAX + BLOCK * 3 + 7;
        let mut q = Segmented::new();
        (0..n).for_each(|i| q.push_fifo(i));
        check_blocks(&q);
        assert_eq!(q.cold.rest.len(), 3, "hot, three full blocks, the tail");
        let fifo: Vec<_> = std::iter::from_fn(|| q.pop_fifo()).collect();
        assert_eq!(fifo, (0..n).collect::<Vec<_>>());
        assert_eq!((q.len(), q.cold.rest.len()), (0, 0));
        let mut s = Segmented::new();
        (0..n).for_each(|i| s.push_lifo(i));
        check_blocks(&s);
        let lifo: Vec<_> = std::iter::from_fn(|| s.pop_lifo()).collect();
        assert_eq!(lifo, (0..n).rev().collect::<Vec<_>>());
        assert_eq!((q.pop_fifo(), s.pop_lifo()), (None, None));
    }

    #[test]
    fn a_block_is_reused_not_reallocated() {
        let mut q = Segmented::new();
        for round in 0..3 {
            (0..HOT_MAX + 1).for_each(|i| q.push_fifo(i));
            check_blocks(&q);
            assert_eq!(
                (q.hot.len(), q.cold.tail.len()),
                (HOT_MAX, 1),
                "round {round}"
            );
            while q.pop_fifo().is_some() {}
            assert!(q.cold.spare.is_some());
        }
    }

    /// Random interleavings (a fixed seed) against `VecDeque` as the model.
    #[test]
    fn interleaved_pushes_and_pops_match_the_model() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for lifo in [false, true] {
            let (mut q, mut model) = (Segmented::new(), VecDeque::new());
            // Miri runs a shorter walk (it interprets every step); a growing
            // phase still takes the queue past the hot block.
            let (steps, phase): (u64, u64) = if cfg!(miri) {
                (24_000, 12_000)
            } else {
                (200_000, 25_000)
            };
            for step in 0..steps {
                // Phases that grow, then shrink, the queue across blocks.
                let grow = (step / phase) % 2 == 0;
                if next() % 100 < if grow { 70 } else { 30 } {
                    if lifo {
                        q.push_lifo(step)
                    } else {
                        q.push_fifo(step)
                    }
                    model.push_back(step);
                } else {
                    let (got, want) = if lifo {
                        (q.pop_lifo(), model.pop_back())
                    } else {
                        (q.pop_fifo(), model.pop_front())
                    };
                    assert_eq!(got, want, "lifo {lifo}, step {step}");
                }
                assert_eq!(q.len(), model.len());
            }
            check_blocks(&q);
        }
    }
}
