//! Waiting inside the pool: a wait made on one of a pool's own workers —
//! a task waiting on the handle of a task of its own pool, a scope opened
//! inside a task — runs the pool's queued work meanwhile, in the queue's
//! order and with the usual accounting, instead of deadlocking the pool.
//! `wait_idle` from inside the pool is refused with a typed error.

mod common;

use common::Watchdog;
use gosling::context::Context;
use gosling::limit::{KeyedLimiter, Rate, TokenBucket};
use gosling::{Pool, QueueKind, Task, TaskError, WaitIdleError};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

fn watchdog(what: &str) -> Watchdog {
    Watchdog::start(format!("help: {what}"), Duration::from_secs(20))
}

fn one_worker(queue: QueueKind) -> Arc<Pool> {
    Arc::new(Pool::builder().workers(1).queue(queue).build().unwrap())
}

const QUEUES: [QueueKind; 3] = [QueueKind::Fifo, QueueKind::Lifo, QueueKind::Priority];

#[test]
fn a_task_waiting_on_a_task_it_submitted_to_its_one_worker_pool_runs_it() {
    let _watchdog = watchdog("handle wait");
    for queue in QUEUES {
        let pool = one_worker(queue);
        let inner = Arc::clone(&pool);
        let outer = pool
            .submit(move |_| {
                let child = inner.submit(|_| 21).unwrap();
                child.wait().map(|v| v * 2)
            })
            .unwrap();
        assert_eq!(outer.wait(), Ok(Ok(42)), "{queue:?}");
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.succeeded), (2, 2), "{queue:?}");
    }
}

#[test]
fn the_timed_and_context_waits_help_too() {
    let _watchdog = watchdog("timed waits");
    let pool = one_worker(QueueKind::Fifo);
    let inner = Arc::clone(&pool);
    let outer = pool
        .submit(move |_| {
            let a = inner.submit(|_| 1).unwrap();
            let b = inner.submit(|_| 2).unwrap();
            let c = inner.submit(|_| 3).unwrap();
            let a = a.wait_timeout(Duration::from_secs(3_600)).ok().unwrap();
            let b = b
                .wait_deadline(std::time::Instant::now() + Duration::from_secs(3_600))
                .ok()
                .unwrap();
            let c = c.wait_ctx(&Context::new()).ok().unwrap();
            (a, b, c)
        })
        .unwrap();
    assert_eq!(outer.wait(), Ok((Ok(1), Ok(2), Ok(3))));
}

#[test]
fn a_timed_wait_inside_the_pool_still_times_out() {
    let _watchdog = watchdog("timeout inside");
    let pool = Arc::new(Pool::new(2).unwrap());
    let (release, gate) = mpsc::channel::<()>();
    let blocker = pool
        .submit(move |_| {
            let _ = gate.recv();
        })
        .unwrap();
    // The blocker holds the other worker; nothing is queued to help with.
    let blocker = Arc::new(Mutex::new(Some(blocker)));
    let held = Arc::clone(&blocker);
    let waiter = pool
        .submit(move |_| {
            let handle = held.lock().unwrap().take().unwrap();
            match handle.wait_timeout(Duration::from_millis(5)) {
                Ok(_) => "finished",
                Err(handle) => {
                    *held.lock().unwrap() = Some(handle);
                    "timed out"
                }
            }
        })
        .unwrap();
    assert_eq!(waiter.wait(), Ok("timed out"));
    release.send(()).unwrap();
    let handle = blocker.lock().unwrap().take().unwrap();
    assert_eq!(handle.wait(), Ok(()));
}

#[test]
fn a_scope_inside_a_task_of_a_one_worker_pool_completes() {
    let _watchdog = watchdog("scope");
    for queue in QUEUES {
        let pool = one_worker(queue);
        let inner = Arc::clone(&pool);
        let outer = pool
            .submit(move |_| {
                let mut parts = [0u32; 8];
                inner.scope(|s| {
                    for (i, part) in parts.iter_mut().enumerate() {
                        s.spawn(move |_| *part = i as u32 * 10).unwrap();
                    }
                });
                parts.iter().sum::<u32>()
            })
            .unwrap();
        assert_eq!(outer.wait(), Ok(280), "{queue:?}");
        assert_eq!(pool.stats().succeeded, 9, "{queue:?}");
    }
}

/// A task at `depth` splits in two and waits for both halves: nested
/// helping on one worker, `depth` levels deep.
fn split(pool: &Arc<Pool>, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (p1, p2) = (Arc::clone(pool), Arc::clone(pool));
    let left = pool.submit(move |_| split(&p1, depth - 1)).unwrap();
    let right = pool.submit(move |_| split(&p2, depth - 1)).unwrap();
    left.wait().unwrap() + right.wait().unwrap()
}

#[test]
fn nested_waits_on_one_worker_complete_within_the_depth_bound() {
    // Helping follows the queue's order. A LIFO queue takes the newest task
    // — the waiting task's own children — so a recursive split nests about
    // as deep as the recursion (10 levels here); a FIFO queue takes the
    // oldest, so it nests about as wide as the tree, which a shallow split
    // keeps within the bound.
    let _watchdog = watchdog("nesting");
    for (queue, depth) in [
        (QueueKind::Lifo, 10),
        (QueueKind::Fifo, 3),
        (QueueKind::Priority, 3),
    ] {
        let pool = one_worker(queue);
        let inner = Arc::clone(&pool);
        let total = pool.submit(move |_| split(&inner, depth)).unwrap();
        assert_eq!(total.wait(), Ok(1 << depth), "{queue:?}");
        let tasks = (1 << (depth + 1)) - 1;
        pool.wait_idle().unwrap();
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.succeeded),
            (tasks, tasks),
            "{queue:?}"
        );
        assert_eq!(stats.busy, 0, "{queue:?}");
    }
}

/// Records `name` into `order` when run.
fn named(
    order: &Arc<Mutex<Vec<&'static str>>>,
    name: &'static str,
) -> impl FnOnce(&Context) + use<> {
    let order = Arc::clone(order);
    move |_| order.lock().unwrap().push(name)
}

#[test]
fn helping_runs_queued_work_in_the_queues_order() {
    let _watchdog = watchdog("order");
    for (queue, expected) in [
        (QueueKind::Priority, ["b5", "c3", "a1", "child0"]),
        (QueueKind::Lifo, ["child0", "c3", "b5", "a1"]),
        (QueueKind::Fifo, ["a1", "b5", "c3", "child0"]),
    ] {
        let pool = one_worker(queue);
        let order = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started) = mpsc::channel();
        let (go, gate) = mpsc::channel::<()>();
        let inner = Arc::clone(&pool);
        let child_order = Arc::clone(&order);
        let outer = pool
            .submit(move |_| {
                started_tx.send(()).unwrap();
                gate.recv().unwrap();
                let child = inner
                    .submit_task(Task::new(move |_| {
                        child_order.lock().unwrap().push("child0")
                    }))
                    .unwrap();
                child.wait()
            })
            .unwrap();
        started.recv().unwrap();
        // Queued behind the running task, before it submits its child.
        for (name, priority) in [("a1", 1), ("b5", 5), ("c3", 3)] {
            let _ = pool
                .submit_task(Task::new(named(&order, name)).priority(priority))
                .unwrap();
        }
        go.send(()).unwrap();
        assert_eq!(outer.wait(), Ok(Ok(())), "{queue:?}");
        pool.wait_idle().unwrap();
        // FIFO and priority: the wait runs what is queued ahead of the
        // child, in the queue's order, until the child is done. LIFO: the
        // child, queued last, runs first; the wait ends there, and the
        // worker takes the rest in LIFO order afterwards.
        assert_eq!(*order.lock().unwrap(), expected, "{queue:?}");
    }
}

#[test]
fn a_wait_for_work_arriving_later_is_woken_to_help() {
    // Two workers: one runs `waiter`, blocked on `middle`; the other runs
    // `middle`, blocked until `last` runs. `last` is submitted from outside
    // only now, so the only free thread is the waiting one: it must be told
    // that work arrived, whichever of the two comes first.
    let _watchdog = watchdog("late work");
    for queue in [QueueKind::Fifo, QueueKind::Priority] {
        for round in 0..20 {
            let pool = Arc::new(Pool::builder().workers(2).queue(queue).build().unwrap());
            let (middle_started_tx, middle_started) = mpsc::channel();
            let (signal, wait_for_last) = mpsc::channel::<()>();
            let middle = pool
                .submit(move |_| {
                    middle_started_tx.send(()).unwrap();
                    wait_for_last.recv().unwrap();
                    "middle"
                })
                .unwrap();
            middle_started.recv().unwrap();
            let (waiter_started_tx, waiter_started) = mpsc::channel();
            let waiter = pool
                .submit(move |_| {
                    waiter_started_tx.send(()).unwrap();
                    middle.wait()
                })
                .unwrap();
            waiter_started.recv().unwrap();
            pool.spawn(move |_| signal.send(()).unwrap()).unwrap();
            assert_eq!(waiter.wait(), Ok(Ok("middle")), "{queue:?} round {round}");
        }
    }
}

#[test]
fn helping_respects_rate_and_resource_limits() {
    let _watchdog = watchdog("gated");
    let bucket = Arc::new(TokenBucket::new(Rate::per_second(1_000_000).unwrap(), 100).unwrap());
    let per_key =
        Arc::new(KeyedLimiter::new(Rate::per_second(1_000_000).unwrap(), 100, 64).unwrap());
    let rate_limited = Arc::new(
        Pool::builder()
            .workers(1)
            .rate_limit(bucket)
            .build()
            .unwrap(),
    );
    let resource_limited = Arc::new(
        Pool::builder()
            .workers(1)
            .resource_limits(per_key)
            .build()
            .unwrap(),
    );
    for pool in [rate_limited, resource_limited] {
        let inner = Arc::clone(&pool);
        let outer = pool
            .submit_task(
                Task::new(move |_| {
                    let children: Vec<_> = (0..5u32)
                        .map(|i| {
                            inner
                                .submit_task(Task::new(move |_| i).resource("api"))
                                .unwrap()
                        })
                        .collect();
                    children.into_iter().map(|c| c.wait().unwrap()).sum::<u32>()
                })
                .resource("api"),
            )
            .unwrap();
        assert_eq!(outer.wait(), Ok(10));
        pool.wait_idle().unwrap();
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.succeeded), (6, 6));
    }
}

#[test]
fn a_wait_on_another_pools_worker_does_not_run_this_pools_work() {
    // The rule is about a pool's own workers: a task of pool `a` waiting on
    // pool `b` blocks as any thread would, and leaves `a`'s queue alone.
    let _watchdog = watchdog("other pool");
    let a = one_worker(QueueKind::Fifo);
    let b = one_worker(QueueKind::Fifo);
    let (release, gate) = mpsc::channel::<()>();
    let on_b = b.submit(move |_| gate.recv().unwrap()).unwrap();
    let (started_tx, started) = mpsc::channel();
    let waiter = a
        .submit(move |_| {
            started_tx.send(()).unwrap();
            on_b.wait()
        })
        .unwrap();
    started.recv().unwrap();
    let (ran_tx, ran) = mpsc::channel();
    a.spawn(move |_| ran_tx.send(()).unwrap()).unwrap();
    // Still queued on `a`: its only worker waits on `b`.
    assert_eq!(
        ran.recv_timeout(Duration::from_millis(20)),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    assert_eq!(a.stats().queued, 1);
    release.send(()).unwrap();
    assert_eq!(waiter.wait(), Ok(Ok(())));
    ran.recv_timeout(Duration::from_secs(10)).unwrap();
}

#[test]
fn wait_idle_from_inside_the_pool_is_refused_with_a_typed_error() {
    let _watchdog = watchdog("wait_idle inside");
    let pool = Arc::new(Pool::new(2).unwrap());
    let inner = Arc::clone(&pool);
    let from_task = pool
        .submit(move |_| {
            (
                inner.wait_idle(),
                inner.wait_idle_timeout(Duration::from_secs(3_600)),
            )
        })
        .unwrap();
    assert_eq!(
        from_task.wait(),
        Ok((Err(WaitIdleError::OwnWorker), Err(WaitIdleError::OwnWorker)))
    );
    // From a completion callback run on the worker, too.
    let (tx, rx) = mpsc::channel();
    let inner = Arc::clone(&pool);
    let _ = pool
        .submit_task(Task::new(|_| ()).on_complete(move |_| tx.send(inner.wait_idle()).unwrap()))
        .unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok(Err(WaitIdleError::OwnWorker))
    );
    assert!(WaitIdleError::OwnWorker.to_string().contains("own workers"));
    // From outside it waits as before.
    pool.wait_idle().unwrap();
    assert_eq!(pool.wait_idle_timeout(Duration::ZERO), Ok(true));
}

#[test]
fn a_shutdown_cancels_the_waiting_task_and_the_one_it_runs() {
    let _watchdog = watchdog("shutdown");
    let pool = Arc::new(
        Pool::builder()
            .workers(1)
            .shutdown_timeout(Duration::ZERO)
            .build()
            .unwrap(),
    );
    let (started_tx, started) = mpsc::channel();
    let (seen_tx, seen) = mpsc::channel();
    let inner = Arc::clone(&pool);
    let outer = pool
        .submit(move |ctx| {
            let child = inner
                .submit(move |child_ctx: &Context| {
                    started_tx.send(()).unwrap();
                    let _ = child_ctx.wait_cancelled_timeout(Duration::from_secs(3_600));
                    child_ctx.is_cancelled()
                })
                .unwrap();
            let child_saw = child.wait();
            seen_tx.send((child_saw, ctx.is_cancelled())).unwrap();
        })
        .unwrap();
    // The child runs nested on the only worker, inside the outer task's wait.
    started.recv().unwrap();
    let _ = pool.shutdown_now();
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(10)),
        Ok((Ok(true), true))
    );
    let _ = outer.wait();
    assert!(pool.submit(|_| ()).unwrap_err().is_closed());
    let _ = TaskError::<std::convert::Infallible>::ShutDown;
}
