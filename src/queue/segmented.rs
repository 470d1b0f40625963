//! FIFO and LIFO storage in fixed-size blocks.
//!
//! A `VecDeque` doubles when it fills: a queue of a million tasks copies
//! itself twenty times while the pool's lock is held (the largest copy moves
//! the whole queue at once), and every buffer it outgrew stays in the
//! process's heap. Blocks of `BLOCK` entries never move: growing adds a
//! block, draining frees them (one is kept as a spare so a queue that
//! hovers around a block boundary does not allocate on every crossing).
//! Memory per queued task is the entry itself, plus at most one partly
//! filled block at each end.

use std::collections::VecDeque;

/// Entries per block (16 KiB of 32-byte entries).
const BLOCK: usize = 512;

pub(crate) struct Segmented<T> {
    /// Blocks in order; each holds at most `BLOCK` entries and never grows
    /// past its first allocation. Only the first and the last may be partly
    /// filled.
    blocks: VecDeque<VecDeque<T>>,
    len: usize,
    spare: Option<VecDeque<T>>,
}

impl<T> Segmented<T> {
    pub(crate) fn new() -> Self {
        Segmented {
            blocks: VecDeque::new(),
            len: 0,
            spare: None,
        }
    }

    /// Adds an item at the back.
    #[inline]
    pub(crate) fn push_back(&mut self, item: T) {
        match self.blocks.back_mut() {
            Some(block) if block.len() < BLOCK => block.push_back(item),
            _ => self.push_new_block(item),
        }
        self.len += 1;
    }

    #[cold]
    fn push_new_block(&mut self, item: T) {
        let mut block = self
            .spare
            .take()
            .unwrap_or_else(|| VecDeque::with_capacity(BLOCK));
        block.push_back(item);
        self.blocks.push_back(block);
    }

    /// Removes the item at the front (FIFO order).
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let block = self.blocks.front_mut()?;
        let item = block.pop_front();
        if block.is_empty() {
            let block = self.blocks.pop_front();
            self.retire(block);
        }
        self.len -= usize::from(item.is_some());
        item
    }

    /// Removes the item at the back (LIFO order).
    #[inline]
    pub(crate) fn pop_back(&mut self) -> Option<T> {
        let block = self.blocks.back_mut()?;
        let item = block.pop_back();
        if block.is_empty() {
            let block = self.blocks.pop_back();
            self.retire(block);
        }
        self.len -= usize::from(item.is_some());
        item
    }

    /// Keeps an emptied block as the spare (once), else frees it.
    #[inline]
    fn retire(&mut self, block: Option<VecDeque<T>>) {
        if self.spare.is_none() {
            self.spare = block;
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

    #[test]
    fn fifo_and_lifo_orders_hold_across_blocks() {
        let n = BLOCK * 3 + 7;
        let mut q = Segmented::new();
        (0..n).for_each(|i| q.push_back(i));
        assert_eq!(q.len(), n);
        assert_eq!(q.blocks.len(), 4);
        let fifo: Vec<_> = std::iter::from_fn(|| q.pop_front()).collect();
        assert_eq!(fifo, (0..n).collect::<Vec<_>>());
        assert_eq!((q.len(), q.blocks.len()), (0, 0));
        (0..n).for_each(|i| q.push_back(i));
        let lifo: Vec<_> = std::iter::from_fn(|| q.pop_back()).collect();
        assert_eq!(lifo, (0..n).rev().collect::<Vec<_>>());
        assert_eq!(q.pop_front(), None);
        assert_eq!(q.pop_back(), None);
    }

    #[test]
    fn blocks_never_grow_and_one_spare_is_reused() {
        let mut q = Segmented::new();
        for round in 0..3 {
            (0..BLOCK + 1).for_each(|i| q.push_back(i));
            assert_eq!(q.blocks.len(), 2, "round {round}");
            assert!(q.blocks.iter().all(|b| b.len() <= BLOCK));
            let capacities: Vec<_> = q.blocks.iter().map(VecDeque::capacity).collect();
            (0..BLOCK - 1).for_each(|i| q.push_back(i)); // fills the second block
            assert_eq!(q.blocks.len(), 2);
            let after: Vec<_> = q.blocks.iter().map(VecDeque::capacity).collect();
            assert_eq!(capacities, after, "a block never reallocates");
            while q.pop_front().is_some() {}
            assert!(q.spare.is_some());
        }
    }

    #[test]
    fn interleaved_pushes_and_pops_keep_fifo_order() {
        let mut q = Segmented::new();
        let (mut next_in, mut next_out) = (0usize, 0usize);
        // A queue hovering around block boundaries.
        for step in 0..10_000 {
            let pushes = (step * 7) % 13;
            let pops = (step * 5) % 11;
            for _ in 0..pushes {
                q.push_back(next_in);
                next_in += 1;
            }
            for _ in 0..pops {
                if let Some(v) = q.pop_front() {
                    assert_eq!(v, next_out);
                    next_out += 1;
                }
            }
            assert_eq!(q.len(), next_in - next_out);
        }
    }
}
