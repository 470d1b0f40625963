//! Cancellation causes: `Context::cancel_with_cause` and `Context::cause`.
//! Children see their ancestor's cause, the first cancellation's cause
//! wins, and a cancellation without one reads as its reason.

use gosling::context::{CancelCause, CancelReason, Cancelled, Context};
use gosling::time::ManualClock;
use std::error::Error;
use std::fmt;
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Duration;

/// Bounds every wait on another thread: a lost wake-up fails the test
/// within seconds instead of hanging it.
const WATCHDOG: Duration = Duration::from_secs(10);

#[derive(Debug, PartialEq)]
struct Quota(u32);

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "quota {} exhausted", self.0)
    }
}

impl Error for Quota {}

fn text(ctx: &Context) -> Option<String> {
    ctx.cause().map(|c| c.to_string())
}

fn plain(ctx: &Context) -> Option<CancelReason> {
    ctx.cause()
        .and_then(|c| c.downcast_ref::<Cancelled>().map(Cancelled::reason))
}

#[test]
fn no_cause_while_active() {
    let ctx = Context::new();
    assert!(ctx.cause().is_none());
    assert!(ctx.child().cause().is_none());
}

#[test]
fn a_cancellation_without_a_cause_reads_as_its_reason() {
    let ctx = Context::new();
    ctx.cancel();
    assert_eq!(plain(&ctx), Some(CancelReason::Cancelled));
    assert_eq!(text(&ctx).as_deref(), Some("context cancelled"));

    let ctx = Context::new();
    ctx.cancel_with(CancelReason::Shutdown);
    assert_eq!(plain(&ctx.child()), Some(CancelReason::Shutdown));
}

#[test]
fn a_typed_cause_comes_back_typed() {
    let ctx = Context::new();
    assert!(ctx.cancel_with_cause(Quota(7)));
    assert_eq!(ctx.reason(), Some(CancelReason::Cancelled));
    assert_eq!(
        ctx.check().unwrap_err(),
        Cancelled::new(CancelReason::Cancelled)
    );
    let cause = ctx.cause().unwrap();
    assert_eq!(cause.downcast_ref::<Quota>(), Some(&Quota(7)));
    assert_eq!(cause.to_string(), "quota 7 exhausted");
    // Strings are causes too.
    let ctx = Context::new();
    ctx.cancel_with_cause(format!("{} retries", 3));
    assert_eq!(text(&ctx).as_deref(), Some("3 retries"));
}

#[test]
fn every_descendant_sees_the_same_cause() {
    let root = Context::new();
    let child = root.child();
    let grandchild = child.with_value(5u8).child();
    let cause: CancelCause = Arc::new(Quota(1));
    assert!(root.cancel_with_shared_cause(Arc::clone(&cause)));
    for ctx in [
        &root,
        &child,
        &grandchild,
        &root.child(),
        &grandchild.child(),
    ] {
        assert!(Arc::ptr_eq(&ctx.cause().unwrap(), &cause));
        assert_eq!(ctx.reason(), Some(CancelReason::Cancelled));
    }
}

#[test]
fn a_cause_never_reaches_up() {
    let root = Context::new();
    let child = root.child();
    child.cancel_with_cause("child only");
    assert!(root.cause().is_none());
    assert_eq!(text(&child).as_deref(), Some("child only"));
}

#[test]
fn the_first_cause_wins() {
    let root = Context::new();
    let child = root.child();
    // The child's own cancellation came first: the parent's does not
    // replace it.
    assert!(child.cancel_with_cause("child first"));
    assert!(root.cancel_with_cause("root second"));
    assert_eq!(text(&child).as_deref(), Some("child first"));
    assert_eq!(text(&root).as_deref(), Some("root second"));
    // A second cause on the same context is dropped...
    assert!(!root.cancel_with_cause("root third"));
    assert_eq!(text(&root).as_deref(), Some("root second"));
    // ...and so is a cause after a plain cancel.
    let ctx = Context::new();
    ctx.cancel();
    assert!(!ctx.cancel_with_cause("too late"));
    assert_eq!(plain(&ctx), Some(CancelReason::Cancelled));
    // A plain cancel after a cause keeps the cause.
    let ctx = Context::new();
    ctx.cancel_with_cause("kept");
    assert!(!ctx.cancel());
    assert_eq!(text(&ctx).as_deref(), Some("kept"));
}

#[test]
fn a_passed_deadline_is_its_own_cause() {
    let manual = ManualClock::new();
    let root = Context::with_clock(manual.clock());
    let ctx = root.with_timeout(Duration::from_secs(5));
    let child = ctx.child();
    manual.advance(Duration::from_secs(5));
    // The deadline passed before the cause was given: it stands.
    assert!(!child.cancel_with_cause("after the deadline"));
    assert_eq!(plain(&child), Some(CancelReason::DeadlineExceeded));
    assert_eq!(plain(&ctx), Some(CancelReason::DeadlineExceeded));
    assert!(root.cause().is_none(), "the root has no deadline");
    // A cause given before the deadline stands after it.
    let ctx = root.with_timeout(Duration::from_secs(5));
    ctx.cancel_with_cause("before the deadline");
    manual.advance(Duration::from_secs(10));
    assert_eq!(text(&ctx).as_deref(), Some("before the deadline"));
}

#[test]
fn racing_causes_agree_on_one_winner() {
    const THREADS: usize = 8;
    for round in 0..50 {
        let root = Context::new();
        let leaf = root.child().child();
        let barrier = Barrier::new(THREADS);
        let winners: Vec<usize> = thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|i| {
                    let (root, barrier) = (&root, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        root.cancel_with_cause(format!("thread {i}")).then_some(i)
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(winners.len(), 1, "round {round}: one cancellation wins");
        let expected = format!("thread {}", winners[0]);
        assert_eq!(text(&root).as_deref(), Some(expected.as_str()));
        assert_eq!(text(&leaf).as_deref(), Some(expected.as_str()));
    }
}

#[test]
fn a_woken_waiter_finds_the_cause_in_place() {
    for round in 0..50 {
        let ctx = Context::new();
        let (ready_tx, ready) = mpsc::channel();
        let waiter = {
            let ctx = ctx.child();
            thread::spawn(move || {
                ready_tx.send(()).unwrap();
                let woken = ctx.wait_cancelled_timeout(WATCHDOG);
                (woken, text(&ctx))
            })
        };
        ready.recv().unwrap();
        ctx.cancel_with_cause(format!("round {round}"));
        let (woken, seen) = waiter.join().unwrap();
        assert!(woken, "round {round}: the waiter was not woken");
        assert_eq!(seen, Some(format!("round {round}")));
    }
}
