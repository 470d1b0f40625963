//! Queue: the order in which accepted tasks wait for a worker, and what a
//! full queue does to a submitter.
//!
//! - [`QueueKind`] picks the order: FIFO (default), LIFO, or priority
//!   (higher first, FIFO among equal priorities; `priority.rs`, a binary
//!   heap).
//! - [`FullPolicy`] picks what a submitter meets when a bounded queue is full.
//! - `TaskQueue` (crate-private) is the storage, one variant per kind (FIFO
//!   and LIFO in fixed-size blocks, `segmented.rs`); the pool
//!   keeps it under its state lock, so the variants need no synchronisation of
//!   their own.
//! - `Injector` (crate-private, `injector.rs`, this module's only `unsafe`)
//!   is the lock-free intake of a FIFO pool: producers append without the
//!   state lock; the one consumer, a worker holding it, takes batches.

#![deny(unsafe_code)]

pub(crate) mod injector;
mod priority;
mod segmented;

use priority::PriorityQueue;
use segmented::Segmented;
use std::time::Duration;

/// The order in which queued tasks are started.
///
/// # Examples
///
/// ```
/// use gosling::{Pool, QueueKind};
///
/// let pool = Pool::builder().workers(1).queue(QueueKind::Priority).build()?;
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum QueueKind {
    /// First in, first out (the default). Without a rate limit or resource
    /// limits, submissions to such a pool take no lock: they go through a
    /// lock-free intake. With several submitters, "first" is the order in
    /// which their submissions were accepted; each submitter's own tasks
    /// start in the order it submitted them.
    #[default]
    Fifo,
    /// Last in, first out: the newest task starts first (cache-warm work).
    /// The order holds at the moment a worker takes its next task: a task
    /// queued while others run starts before everything queued earlier.
    /// Workers take one task at a time from such a queue.
    Lifo,
    /// Highest priority first; first in, first out among equal priorities.
    Priority,
}

/// What a submitter meets when the bounded queue is full.
///
/// The per-call forms (`try_submit`, `submit_timeout`, `submit_deadline`)
/// override the pool's policy for that call.
///
/// # Examples
///
/// ```
/// use gosling::{FullPolicy, Pool};
/// use std::time::Duration;
///
/// let pool = Pool::builder()
///     .workers(2)
///     .capacity(100)
///     .when_full(FullPolicy::Timeout(Duration::from_millis(50)))
///     .build()?;
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FullPolicy {
    /// Wait until there is room or the pool closes (the default).
    #[default]
    Block,
    /// Refuse at once with [`SubmitErrorKind::Full`](crate::SubmitErrorKind::Full).
    Reject,
    /// Wait at most this long, then refuse with
    /// [`SubmitErrorKind::Timeout`](crate::SubmitErrorKind::Timeout).
    Timeout(Duration),
}

/// Storage for queued items of one [`QueueKind`].
pub(crate) enum TaskQueue<T> {
    Fifo(Segmented<T>),
    Lifo(Segmented<T>),
    Priority(PriorityQueue<T>),
}

impl<T> TaskQueue<T> {
    pub(crate) fn new(kind: QueueKind) -> Self {
        match kind {
            QueueKind::Fifo => TaskQueue::Fifo(Segmented::new()),
            QueueKind::Lifo => TaskQueue::Lifo(Segmented::new()),
            QueueKind::Priority => TaskQueue::Priority(PriorityQueue::new()),
        }
    }

    /// Adds an item; `priority` matters only to the priority kind.
    #[inline]
    pub(crate) fn push(&mut self, item: T, priority: i32) {
        match self {
            TaskQueue::Fifo(q) => q.push_fifo(item),
            TaskQueue::Lifo(q) => q.push_lifo(item),
            TaskQueue::Priority(q) => q.push(item, priority),
        }
    }

    /// Removes the item that should start next.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        match self {
            TaskQueue::Fifo(q) => q.pop_fifo(),
            TaskQueue::Lifo(q) => q.pop_lifo(),
            TaskQueue::Priority(q) => q.pop(),
        }
    }

    /// As [`pop`](TaskQueue::pop), with the item's priority (0 for the
    /// kinds without priorities), so that it can be queued again as it was.
    pub(crate) fn pop_with_priority(&mut self) -> Option<(T, i32)> {
        match self {
            TaskQueue::Fifo(q) => q.pop_fifo().map(|item| (item, 0)),
            TaskQueue::Lifo(q) => q.pop_lifo().map(|item| (item, 0)),
            TaskQueue::Priority(q) => q.pop_entry(),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            TaskQueue::Fifo(q) | TaskQueue::Lifo(q) => q.len(),
            TaskQueue::Priority(q) => q.len(),
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reserves room for `additional` more items (batch submission).
    pub(crate) fn reserve(&mut self, additional: usize) {
        match self {
            // Blocks are added as they fill; nothing moves.
            TaskQueue::Fifo(_) | TaskQueue::Lifo(_) => {}
            TaskQueue::Priority(q) => q.reserve(additional),
        }
    }

    /// Removes every item, in start order.
    pub(crate) fn drain_all(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(item) = self.pop() {
            out.push(item);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(kind: QueueKind, items: &[(u32, i32)]) -> Vec<u32> {
        let mut q = TaskQueue::new(kind);
        for &(item, priority) in items {
            q.push(item, priority);
        }
        q.drain_all()
    }

    #[test]
    fn fifo_lifo_priority_orders() {
        let items = [(1, 0), (2, 5), (3, 0), (4, 5), (5, -1)];
        assert_eq!(order(QueueKind::Fifo, &items), [1, 2, 3, 4, 5]);
        assert_eq!(order(QueueKind::Lifo, &items), [5, 4, 3, 2, 1]);
        assert_eq!(order(QueueKind::Priority, &items), [2, 4, 1, 3, 5]);
    }
}
