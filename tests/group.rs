//! Error groups: first error cancels the rest, the limit holds, panics are
//! reported, scoped members borrow from the stack, every error is kept.

mod common;

use common::{Rng, seed};
use gosling::context::{CancelReason, Context};
use gosling::group::{self, Group, LimitError, MemberError, TryGoError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

/// Long enough never to end a test by itself; every wait below ends by
/// cancellation first (a hang here is the failure).
const FOREVER: Duration = Duration::from_secs(3600);

#[test]
fn smoke() {
    let out = group::scope(|g| {
        g.go(|_| Ok::<(), String>(()));
        g.go(|_| Ok(()));
        7
    });
    assert_eq!(out.unwrap(), 7);
}

#[test]
fn empty_group_waits_fine() {
    assert_eq!(
        group::scope(|_g| "done").unwrap_or_else(|_: group::GroupError<()>| unreachable!()),
        "done"
    );
    assert!(Group::<String>::new().wait().is_ok());
}

#[test]
fn first_error_cancels_the_others() {
    const OTHERS: usize = 4;
    let started = Barrier::new(OTHERS + 1);
    let observed = AtomicUsize::new(0);
    let err = group::scope(|g| {
        for _ in 0..OTHERS {
            g.go(|ctx| {
                started.wait();
                if ctx.wait_cancelled_timeout(FOREVER) {
                    assert_eq!(ctx.reason(), Some(CancelReason::Cancelled));
                    observed.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            });
        }
        g.go(|_| {
            started.wait(); // every other member is running
            Err("boom")
        });
    })
    .unwrap_err();
    assert_eq!(observed.load(Ordering::SeqCst), OTHERS);
    assert_eq!(err.len(), 1);
    assert!(matches!(err.first(), MemberError::Failed("boom")));
}

#[test]
fn first_error_is_the_first_recorded_and_all_are_kept() {
    let (tx, rx) = mpsc::channel::<()>();
    let err = group::scope(|g| {
        g.go(|_| Err::<(), _>(0)); // fails first
        g.wait_idle();
        g.go(move |ctx| {
            // Sees the cancellation the first error caused, fails anyway.
            assert!(ctx.is_cancelled());
            drop(tx);
            Err(1)
        });
        rx.recv().unwrap_err(); // member 1 ran
        for i in 2..10 {
            g.go(move |_| Err(i));
        }
    })
    .unwrap_err();
    assert_eq!(err.len(), 10);
    assert!(matches!(err.first(), MemberError::Failed(0)));
    let mut all: Vec<i32> = err
        .into_errors()
        .into_iter()
        .filter_map(MemberError::into_failed)
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
}

#[test]
fn panics_become_errors_with_their_message() {
    let err = group::scope(|g| {
        g.go(|_| -> Result<(), String> { panic!("static message") });
        g.wait_idle();
        g.go(|_| -> Result<(), String> { panic!("formatted {}", 42) });
        g.wait_idle();
        g.go(|_| -> Result<(), String> { std::panic::panic_any(5u8) });
    })
    .unwrap_err();
    let messages: Vec<String> = err
        .errors()
        .iter()
        .map(|e| match e {
            MemberError::Panicked(msg) => msg.clone(),
            other => panic!("expected a panic, got {other:?}"),
        })
        .collect();
    assert_eq!(
        messages,
        [
            "static message",
            "formatted 42",
            "panic payload of an unknown type"
        ]
    );
    assert_eq!(err.first().to_string(), "member panicked: static message");
    assert_eq!(
        err.to_string(),
        "member panicked: static message (and 2 more errors)"
    );
}

#[test]
fn scoped_members_borrow_from_the_stack() {
    let input = vec![1u64, 2, 3, 4, 5];
    let mut squares = vec![0u64; input.len()];
    group::scope(|g| {
        for (out, x) in squares.iter_mut().zip(&input) {
            g.go(move |_| {
                *out = x * x;
                Ok::<(), ()>(())
            });
        }
    })
    .unwrap();
    assert_eq!(squares, [1, 4, 9, 16, 25]);
}

#[test]
fn limit_blocks_and_try_go_refuses() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let running = Barrier::new(3);
    group::scope(|g| {
        g.set_limit(2).unwrap();
        for _ in 0..2 {
            g.go(|_| {
                running.wait();
                release_rx.lock().unwrap().recv().unwrap();
                Ok::<(), ()>(())
            });
        }
        running.wait(); // both slots are held
        assert_eq!(g.active(), 2);
        assert_eq!(g.set_limit(5), Err(LimitError::MembersActive { active: 2 }));
        let refused = g.try_go(|_| Ok(())).unwrap_err();
        assert!(matches!(refused, TryGoError::Full(_)));
        assert!(refused.to_string().contains("limit"));
        let member = refused.into_inner();
        assert!(member(&Context::new()).is_ok()); // handed back intact
        release_tx.send(()).unwrap();
        release_tx.send(()).unwrap();
        g.go(|_| Ok(())); // waits for a slot, then runs
        g.wait_idle();
        assert_eq!(g.active(), 0);
        assert!(g.try_go(|_| Ok(())).is_ok());
    })
    .unwrap();
}

#[test]
fn limit_is_never_exceeded() {
    const LIMIT: usize = 3;
    let current = AtomicUsize::new(0);
    let max = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    group::scope(|g| {
        g.set_limit(LIMIT).unwrap();
        for _ in 0..60 {
            g.go(|_| {
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                for _ in 0..50 {
                    std::thread::yield_now();
                }
                current.fetch_sub(1, Ordering::SeqCst);
                ran.fetch_add(1, Ordering::SeqCst);
                Ok::<(), ()>(())
            });
        }
    })
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 60);
    let max = max.load(Ordering::SeqCst);
    assert!(
        (1..=LIMIT).contains(&max),
        "max concurrency {max} > {LIMIT}"
    );
}

#[test]
fn zero_limit_is_an_error() {
    let mut g = Group::<()>::new();
    assert_eq!(g.set_limit(0), Err(LimitError::Zero));
    assert_eq!(g.limit(), None);
    assert_eq!(
        LimitError::Zero.to_string(),
        "a group limit must be at least 1"
    );
    group::scope(|s| assert_eq!(s.set_limit(0), Err(LimitError::Zero)))
        .unwrap_or_else(|_: group::GroupError<()>| unreachable!());
}

#[test]
fn parent_cancellation_reaches_members() {
    let parent = Context::new();
    let (ready_tx, ready_rx) = mpsc::channel();
    let result = group::scope_with_context(&parent, |g| {
        g.go(move |ctx| {
            ready_tx.send(()).unwrap();
            assert!(ctx.wait_cancelled_timeout(FOREVER));
            ctx.check()
        });
        ready_rx.recv().unwrap();
        parent.cancel_with(CancelReason::Shutdown);
    });
    let err = result.unwrap_err();
    assert!(matches!(err.first(), MemberError::Failed(c) if c.reason() == CancelReason::Shutdown));
    assert!(parent.child().reason().is_some());
}

#[test]
fn context_is_cancelled_once_the_scope_ends() {
    let mut kept = None;
    group::scope(|g| {
        kept = Some(g.context().clone());
        assert!(!g.context().is_cancelled());
    })
    .unwrap_or_else(|_: group::GroupError<()>| unreachable!());
    assert!(kept.unwrap().is_cancelled());
}

#[test]
fn a_panicking_scope_body_cancels_members_and_resumes() {
    let observed = AtomicUsize::new(0);
    let (ready_tx, ready_rx) = mpsc::channel();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = group::scope(|g| {
            g.go(|ctx| {
                ready_tx.send(()).unwrap();
                if ctx.wait_cancelled_timeout(FOREVER) {
                    observed.fetch_add(1, Ordering::SeqCst);
                }
                Ok::<(), ()>(())
            });
            ready_rx.recv().unwrap();
            panic!("body failed");
        });
    }));
    assert!(caught.is_err());
    assert_eq!(observed.load(Ordering::SeqCst), 1);
}

#[test]
fn owned_group_first_error_and_wait() {
    let started = Arc::new(Barrier::new(2));
    let group = Group::new();
    {
        let started = Arc::clone(&started);
        group.go(move |ctx| {
            started.wait();
            assert!(ctx.wait_cancelled_timeout(FOREVER));
            Ok(())
        });
    }
    group.go(move |_| {
        started.wait();
        Err("broken".to_string())
    });
    let err = group.wait().unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err.to_string(), "broken");
    assert_eq!(err.into_first().into_failed().as_deref(), Some("broken"));
}

#[test]
fn owned_group_limit_and_try_go() {
    let mut group = Group::<()>::new();
    group.set_limit(1).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel();
    group.go(move |_| {
        ready_tx.send(()).unwrap();
        rx.recv().unwrap();
        Ok(())
    });
    ready_rx.recv().unwrap();
    assert!(matches!(group.try_go(|_| Ok(())), Err(TryGoError::Full(_))));
    tx.send(()).unwrap();
    group.go(|_| Ok(()));
    assert!(group.wait().is_ok());
}

#[test]
fn dropping_an_owned_group_cancels_and_joins() {
    let (ready_tx, ready_rx) = mpsc::channel();
    let observed = Arc::new(AtomicUsize::new(0));
    let group = Group::<()>::new();
    {
        let observed = Arc::clone(&observed);
        group.go(move |ctx| {
            ready_tx.send(()).unwrap();
            if ctx.wait_cancelled_timeout(FOREVER) {
                observed.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        });
    }
    ready_rx.recv().unwrap();
    drop(group); // returns only once the member has finished
    assert_eq!(observed.load(Ordering::SeqCst), 1);
}

fn stress_run(rounds: usize, members: usize) {
    let seed = seed("GOSLING_SEED");
    let mut rng = Rng::new(seed);
    let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for _ in 0..rounds {
            let limit = 1 + rng.below(4) as usize;
            // 0 = ok, 1 = error, 2 = panic
            let plan: Vec<u64> = (0..members).map(|_| rng.below(10).min(2)).collect();
            let current = AtomicUsize::new(0);
            let max = AtomicUsize::new(0);
            let ran = AtomicUsize::new(0);
            let result = group::scope(|g| {
                g.set_limit(limit).unwrap();
                for &kind in &plan {
                    let (current, max, ran) = (&current, &max, &ran);
                    g.go(move |_| {
                        let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        current.fetch_sub(1, Ordering::SeqCst);
                        ran.fetch_add(1, Ordering::SeqCst);
                        match kind {
                            0 => Ok(()),
                            1 => Err(()),
                            _ => panic!("planned"),
                        }
                    });
                }
            });
            let failed = plan.iter().filter(|&&k| k == 1).count();
            let panicked = plan.iter().filter(|&&k| k == 2).count();
            assert_eq!(ran.load(Ordering::SeqCst), members);
            assert!(max.load(Ordering::SeqCst) <= limit);
            match result {
                Ok(()) => assert_eq!(failed + panicked, 0),
                Err(err) => {
                    let errors = err.into_errors();
                    let got_failed = errors
                        .iter()
                        .filter(|e| matches!(e, MemberError::Failed(())))
                        .count();
                    let got_panicked = errors
                        .iter()
                        .filter(|e| matches!(e, MemberError::Panicked(_)))
                        .count();
                    assert_eq!((got_failed, got_panicked), (failed, panicked));
                }
            }
        }
    }));
    if let Err(payload) = check {
        eprintln!("stress failed with GOSLING_SEED={seed}");
        std::panic::resume_unwind(payload);
    }
}

/// Members that panic on plan print through the panic hook; keep those quiet.
fn quiet_planned_panics() {
    std::panic::set_hook(Box::new(|info| {
        if info.payload().downcast_ref::<&str>() != Some(&"planned") {
            eprintln!("{info}");
        }
    }));
}

#[test]
fn stress_random_outcomes_reconcile() {
    quiet_planned_panics();
    stress_run(20, 16);
}

#[test]
#[ignore = "long: run with --ignored"]
fn stress_random_outcomes_reconcile_long() {
    quiet_planned_panics();
    stress_run(2_000, 64);
}

// ---- pool-backed groups ----

mod on_pool {
    use super::FOREVER;
    use gosling::Pool;
    use gosling::context::{CancelReason, Context};
    use gosling::group::{LimitError, MemberError, PoolGroup, TryGoError};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier, mpsc};

    #[test]
    fn smoke() {
        let pool = Pool::new(2).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let group = PoolGroup::<()>::new(&pool);
        for _ in 0..10 {
            let ran = Arc::clone(&ran);
            group.go(move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert!(group.wait().is_ok());
        assert_eq!(ran.load(Ordering::SeqCst), 10);
    }

    #[test]
    fn first_error_cancels_the_others() {
        const OTHERS: usize = 3;
        // A worker per member: every member runs at once.
        let pool = Pool::new(OTHERS + 1).unwrap();
        let started = Arc::new(Barrier::new(OTHERS + 1));
        let observed = Arc::new(AtomicUsize::new(0));
        let group = PoolGroup::new(&pool);
        for _ in 0..OTHERS {
            let (started, observed) = (Arc::clone(&started), Arc::clone(&observed));
            group.go(move |ctx: &Context| {
                started.wait();
                // Ends only by the group's cancellation (or fails the test
                // by hanging).
                if ctx.wait_cancelled_timeout(FOREVER) {
                    observed.fetch_add(1, Ordering::SeqCst);
                }
                Err("saw the cancel")
            });
        }
        let failing = Arc::clone(&started);
        group.go(move |_| {
            failing.wait();
            Err("first")
        });
        let err = group.wait().unwrap_err();
        assert!(matches!(err.first(), MemberError::Failed("first")));
        assert_eq!(err.len(), OTHERS + 1, "all errors are kept");
        assert_eq!(observed.load(Ordering::SeqCst), OTHERS);
    }

    #[test]
    fn the_limit_is_never_exceeded() {
        const LIMIT: usize = 2;
        const MEMBERS: usize = 40;
        let pool = Pool::new(4).unwrap();
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let mut group = PoolGroup::<()>::new(&pool);
        group.set_limit(LIMIT).unwrap();
        for _ in 0..MEMBERS {
            let (inside, max, ran) = (Arc::clone(&inside), Arc::clone(&max), Arc::clone(&ran));
            group.go(move |_| {
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                std::thread::yield_now();
                inside.fetch_sub(1, Ordering::SeqCst);
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        group.wait().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), MEMBERS);
        let max = max.load(Ordering::SeqCst);
        assert!(max <= LIMIT, "measured {max} at once, limit {LIMIT}");
    }

    #[test]
    fn members_beyond_the_limit_hold_no_worker() {
        let pool = Pool::new(2).unwrap();
        let mut group = PoolGroup::<()>::new(&pool);
        group.set_limit(1).unwrap();
        let (release, gate) = mpsc::channel::<()>();
        let (entered_tx, entered) = mpsc::channel();
        group.go(move |_| {
            entered_tx.send(()).unwrap();
            let _ = gate.recv();
            Ok(())
        });
        for _ in 0..3 {
            group.go(|_| Ok(()));
        }
        entered.recv().unwrap();
        assert_eq!((group.active(), group.queued()), (1, 3));
        // The second worker is free: an unrelated task runs now.
        assert_eq!(pool.submit(|_| 42).unwrap().wait(), Ok(42));
        assert!(matches!(group.try_go(|_| Ok(())), Err(TryGoError::Full(_))));
        assert_eq!(
            group.set_limit(3),
            Err(LimitError::MembersActive { active: 4 })
        );
        release.send(()).unwrap();
        group.wait().unwrap();
    }

    #[test]
    fn panics_become_errors() {
        super::quiet_planned_panics();
        let pool = Pool::new(1).unwrap();
        let group = PoolGroup::<String>::new(&pool);
        group.go(|_| panic!("planned"));
        let err = group.wait().unwrap_err();
        assert!(matches!(err.first(), MemberError::Panicked(m) if m == "planned"));
        // The worker survived.
        assert_eq!(pool.submit(|_| 1).unwrap().wait(), Ok(1));
    }

    #[test]
    fn wait_inside_a_task_of_a_one_worker_pool_does_not_deadlock() {
        let pool = Arc::new(Pool::new(1).unwrap());
        let inner = Arc::clone(&pool);
        let handle = pool
            .submit(move |_| {
                let mut group = PoolGroup::<()>::new(&inner);
                group.set_limit(2).unwrap();
                let ran = Arc::new(AtomicUsize::new(0));
                for _ in 0..5 {
                    let ran = Arc::clone(&ran);
                    group.go(move |_| {
                        ran.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    });
                }
                group.wait().map(|()| ran.load(Ordering::SeqCst))
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap().unwrap(), 5);
    }

    #[test]
    fn members_refused_by_a_closed_pool_still_run() {
        let pool = Pool::new(1).unwrap();
        pool.close();
        let group = PoolGroup::<&str>::new(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ran);
        group.go(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Err("ran on the waiter")
        });
        assert_eq!(group.wait().unwrap_err().to_string(), "ran on the waiter");
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn go_on_a_full_pool_does_not_block_and_the_member_still_runs() {
        // One worker held, one queue place taken: the pool's default policy
        // (block) would hang `go` if the group waited for room.
        let pool = Pool::builder().workers(1).capacity(1).build().unwrap();
        let (release, gate) = mpsc::channel::<()>();
        pool.spawn(move |_| gate.recv().unwrap()).unwrap();
        while pool.stats().busy == 0 {
            std::thread::yield_now();
        }
        pool.spawn(|_| ()).unwrap();
        let group = PoolGroup::<&str>::new(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ran);
        group.go(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        // Refused for room, the member runs on the waiting thread.
        assert!(group.wait().is_ok());
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        release.send(()).unwrap();
    }

    #[test]
    fn parent_cancellation_reaches_members() {
        let pool = Pool::new(1).unwrap();
        let parent = Context::new();
        let group = PoolGroup::<CancelReason>::with_context(&pool, &parent);
        let (entered_tx, entered) = mpsc::channel();
        group.go(move |ctx| {
            entered_tx.send(()).unwrap();
            assert!(ctx.wait_cancelled_timeout(FOREVER));
            Err(ctx.reason().unwrap())
        });
        entered.recv().unwrap();
        parent.cancel();
        let err = group.wait().unwrap_err();
        assert!(matches!(
            err.first(),
            MemberError::Failed(CancelReason::Cancelled)
        ));
    }

    #[test]
    fn dropping_a_group_cancels_and_waits() {
        let pool = Pool::new(1).unwrap();
        let saw_cancel = Arc::new(AtomicUsize::new(0));
        let (entered_tx, entered) = mpsc::channel();
        {
            let group = PoolGroup::<()>::new(&pool);
            let saw = Arc::clone(&saw_cancel);
            group.go(move |ctx| {
                entered_tx.send(()).unwrap();
                if ctx.wait_cancelled_timeout(FOREVER) {
                    saw.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            });
            entered.recv().unwrap();
        }
        assert_eq!(saw_cancel.load(Ordering::SeqCst), 1);
    }
}

// ---- the cancellation's cause ----

mod cause {
    use super::common::{EXPECTED, quiet_expected_panics};
    use gosling::Pool;
    use gosling::context::{CancelReason, Cancelled, Context};
    use gosling::group::{self, Group, MemberError, MemberFailure, PoolGroup};
    use std::fmt;
    use std::sync::Arc;
    use std::time::Duration;

    /// Bounds every wait for a sibling's failure: a lost cancellation fails
    /// the test within seconds instead of hanging it.
    const WATCHDOG: Duration = Duration::from_secs(10);

    fn failure(ctx: &Context) -> Option<MemberFailure> {
        ctx.cause()?.downcast_ref::<MemberFailure>().cloned()
    }

    /// Waits for the group's cancellation, then reports the cause it saw
    /// (on the member's context and on a child of it) as its error.
    fn witness(ctx: &Context) -> Result<(), Option<MemberFailure>> {
        let child = ctx.child();
        // The child is cancelled right after its parent: wait for the child.
        assert!(child.wait_cancelled_timeout(WATCHDOG), "never cancelled");
        assert_eq!(failure(&child), failure(ctx), "the child sees the cause");
        Err(failure(ctx))
    }

    /// Debug and Display differ: the cause holds the Debug text.
    #[derive(Debug)]
    struct Refused {
        port: u16,
    }

    impl fmt::Display for Refused {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "port {} refused", self.port)
        }
    }

    #[test]
    fn scoped_failure_is_the_cause() {
        let mut seen = None;
        let err = group::scope(|g| {
            let seen = &mut seen;
            g.go(move |ctx| {
                *seen = Some(witness(ctx));
                Ok(())
            });
            g.go(|_| Err(Refused { port: 80 }));
        })
        .unwrap_err();
        assert!(matches!(
            err.first(),
            MemberError::Failed(Refused { port: 80 })
        ));
        let expected = MemberFailure::Failed("Refused { port: 80 }".to_string());
        assert_eq!(seen, Some(Err(Some(expected.clone()))));
        assert_eq!(
            expected.to_string(),
            "a group member failed: Refused { port: 80 }"
        );
    }

    #[test]
    fn scoped_panic_is_the_cause() {
        quiet_expected_panics();
        let err = group::scope(|g| {
            g.go(witness);
            g.go(|_| -> Result<(), Option<MemberFailure>> { panic!("{EXPECTED}: boom") });
        })
        .unwrap_err();
        let message = format!("{EXPECTED}: boom");
        assert!(matches!(err.first(), MemberError::Panicked(m) if *m == message));
        assert!(
            matches!(
                &err.errors()[1],
                MemberError::Failed(Some(MemberFailure::Panicked(m))) if *m == message
            ),
            "{:?}",
            err.errors()[1]
        );
    }

    #[test]
    fn owned_group_failure_is_the_cause() {
        let group = Group::new();
        group.go(witness);
        group.go(|_| Err(None));
        let ctx = group.context().clone();
        let err = group.wait().unwrap_err();
        assert!(matches!(err.first(), MemberError::Failed(None)));
        let expected = MemberFailure::Failed("None".to_string());
        assert!(matches!(
            &err.errors()[1],
            MemberError::Failed(Some(f)) if *f == expected
        ));
        // The cause outlives the group.
        assert_eq!(failure(&ctx), Some(expected));
    }

    #[test]
    fn pool_group_failure_is_the_cause() {
        let pool = Pool::new(2).unwrap();
        let group = PoolGroup::new(&pool);
        group.go(witness);
        group.go(|_| Err(None));
        let ctx = group.context().clone();
        let err = group.wait().unwrap_err();
        let expected = MemberFailure::Failed("None".to_string());
        assert!(matches!(
            &err.errors()[1],
            MemberError::Failed(Some(f)) if *f == expected
        ));
        assert_eq!(failure(&ctx), Some(expected));
    }

    #[test]
    fn pool_group_waited_on_its_own_worker_still_sets_the_cause() {
        // One worker: the waiting task runs the members itself.
        let pool = Arc::new(Pool::new(1).unwrap());
        let inner = Arc::clone(&pool);
        let handle = pool
            .submit(move |_| {
                let group = PoolGroup::new(&inner);
                group.go(|_| Err(7));
                group.go(|_| Err(8)); // sees the cancellation; not the cause
                let ctx = group.context().clone();
                let _ = group.wait();
                failure(&ctx)
            })
            .unwrap();
        assert_eq!(
            handle.wait().unwrap(),
            Some(MemberFailure::Failed("7".to_string()))
        );
    }

    #[test]
    fn the_first_failure_stays_the_cause() {
        let mut ctx = None;
        let err = group::scope(|g| {
            g.go(|_| Err(0));
            g.wait_idle();
            g.go(|_| Err(1));
            g.wait_idle();
            ctx = Some(g.context().clone());
        })
        .unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(
            failure(&ctx.unwrap()),
            Some(MemberFailure::Failed("0".to_string()))
        );
    }

    #[test]
    fn a_parent_cause_is_kept() {
        let parent = Context::new();
        parent.cancel_with_cause("shutting the request down");
        let mut seen = None;
        let _ = group::scope_with_context(&parent, |g| {
            g.go(|_| Err("late failure"));
            g.wait_idle();
            seen = g.context().cause().map(|c| c.to_string());
        });
        assert_eq!(seen.as_deref(), Some("shutting the request down"));
    }

    #[test]
    fn a_group_without_failures_ends_with_no_cause_of_its_own() {
        let mut ctx = None;
        group::scope(|g| {
            g.go(|_| Ok::<(), ()>(()));
            ctx = Some(g.context().clone());
        })
        .unwrap();
        let cause = ctx.unwrap().cause().expect("cancelled at the end");
        assert_eq!(
            cause.downcast_ref::<Cancelled>(),
            Some(&Cancelled::new(CancelReason::Cancelled))
        );
    }

    #[test]
    fn a_panicking_debug_still_cancels_with_a_cause() {
        quiet_expected_panics();
        struct Nasty;
        impl fmt::Debug for Nasty {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("{EXPECTED}: in Debug")
            }
        }
        let mut ctx = None;
        let err = group::scope(|g| {
            g.go(|_| Err(Nasty));
            g.wait_idle();
            ctx = Some(g.context().clone());
        })
        .unwrap_err();
        assert!(matches!(err.first(), MemberError::Failed(Nasty)));
        assert_eq!(
            failure(&ctx.unwrap()),
            Some(MemberFailure::Failed(
                "(its Debug implementation panicked)".to_string()
            ))
        );
    }
}
