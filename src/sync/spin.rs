//! Spinning for a hand-off before parking.
//!
//! A hand-off waiter (a worker waiting for work, a submitter waiting for
//! its result) watches a flag only the other side writes, so checking it
//! costs nothing until it changes: it checks after every pause. How long
//! it spins is a time budget read from the cheap clock (`time/tsc.rs`),
//! not a count of pauses, whose length differs tenfold between CPUs.
//!
//! It never yields. On a machine with an idle core a yield returns at once
//! and is only a slower pause. On a machine whose cores are all busy
//! (other programs' threads, or the embedding program's own) a yield hands
//! the core to a busy thread, which keeps it for a whole scheduler slice
//! (milliseconds), and the yielded waiter, not being asleep, is not woken
//! when the hand-off comes: one round trip in a hundred took 4 ms that
//! way. A waiter that only pauses keeps its core until its own slice ends.
//!
//! Because the budget is time, a waiter that was descheduled mid-spin
//! (the cores are contended) finds it spent at its next look and parks,
//! rather than spinning on for a count of pauses while holding a core the
//! thread it waits for may need.
//!
//! Measured beside two busy threads on two cores (`benches/handoff.rs`),
//! shorter spins on a contended machine lose: parking sooner trades a
//! sub-microsecond hand-off for a futex wake and a scheduler run queue
//! (p99 55 µs with a 2 µs spin, 2-4 µs with this budget), so the budget
//! does not shrink under load.

use crate::time::tsc::now_ns;

/// Pauses between two looks at the clock: about half a microsecond.
const CHECK_EVERY: u32 = 16;

/// How long a waiter spins before it parks: longer than a submitter takes
/// to come back with the next task after taking a result, so a steady
/// stream of round trips never sleeps; short enough that an idle pool is
/// asleep almost at once.
pub(crate) const BUDGET_NS: u64 = 40_000;

/// One hand-off wait's spin: the caller checks its condition, calls
/// [`is_completed`](HandoffSpin::is_completed), and [`snooze`]s until
/// either is true, then parks if it must.
///
/// [`snooze`]: HandoffSpin::snooze
#[derive(Debug)]
pub(crate) struct HandoffSpin {
    /// When the spin first looked at the clock (`tsc::now_ns`), 16 pauses
    /// in; 0 until then, so a wait whose condition already holds reads no
    /// clock.
    start: u64,
    /// Pauses since it last looked at the clock.
    pauses: u32,
}

impl HandoffSpin {
    /// A spin starting now (its clock starts at its first look).
    #[inline]
    pub(crate) const fn new() -> Self {
        HandoffSpin {
            start: 0,
            pauses: 0,
        }
    }

    /// One pause.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        std::hint::spin_loop();
        self.pauses += 1;
    }

    /// True once the caller should park: the budget is spent.
    #[inline]
    pub(crate) fn is_completed(&mut self) -> bool {
        if self.pauses < CHECK_EVERY {
            return false;
        }
        self.pauses = 0;
        self.look(now_ns())
    }

    /// A look at the clock, `now`: true when the spin is over.
    fn look(&mut self, now: u64) -> bool {
        if self.start == 0 {
            // `now_ns` counts from the process's first reading, so a real
            // reading can be 0 only then; that spin runs one look longer.
            self.start = now;
            return false;
        }
        now.saturating_sub(self.start) >= BUDGET_NS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spin_lasts_its_budget_from_its_first_look_and_no_longer() {
        let mut spin = HandoffSpin::new();
        assert!(!spin.look(1_000), "the first look starts the clock");
        assert!(!spin.look(1_000 + BUDGET_NS - 1));
        assert!(spin.look(1_000 + BUDGET_NS));
        // Descheduled for far longer: over at the first look after.
        assert!(spin.look(1_000 + 100 * BUDGET_NS));
    }

    #[test]
    fn a_clock_that_steps_back_never_ends_a_spin() {
        let mut spin = HandoffSpin::new();
        assert!(!spin.look(5_000));
        assert!(!spin.look(4_000));
        assert!(!spin.look(1));
    }

    #[test]
    fn a_real_spin_looks_at_the_clock_only_every_few_pauses_and_ends() {
        let before = now_ns();
        let mut spin = HandoffSpin::new();
        let mut rounds = 0u64;
        while !spin.is_completed() {
            spin.snooze();
            rounds += 1;
            // A watchdog on the clock, not on a count of rounds: a spin
            // that never ends fails here within a second.
            assert!(
                now_ns() - before < 1_000_000_000,
                "the spin never ended ({rounds} rounds)"
            );
        }
        // The first look starts the clock; a later one finds it spent.
        assert!(rounds >= 2 * u64::from(CHECK_EVERY));
        assert_eq!(rounds % u64::from(CHECK_EVERY), 0);
        assert!(now_ns() - before >= BUDGET_NS, "it ended before its budget");
    }
}
