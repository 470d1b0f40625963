//! Priority order: a binary heap keyed by (priority, arrival), so that higher
//! priorities start first and equal priorities start in arrival order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

pub(crate) struct PriorityQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    /// Arrival counter; wraps after 2^64 pushes, which no pool reaches.
    next_seq: u64,
}

struct Entry<T> {
    priority: i32,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.priority == other.priority && self.seq == other.seq
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Max-heap: the greatest entry pops first. Higher priority is greater;
        // among equal priorities the earlier arrival (smaller seq) is greater.
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl<T> PriorityQueue<T> {
    pub(crate) fn new() -> Self {
        PriorityQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    pub(crate) fn push(&mut self, item: T, priority: i32) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.heap.push(Entry {
            priority,
            seq,
            item,
        });
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|entry| entry.item)
    }

    pub(crate) fn pop_entry(&mut self) -> Option<(T, i32)> {
        self.heap.pop().map(|entry| (entry.item, entry.priority))
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.heap.reserve(additional);
    }
}
