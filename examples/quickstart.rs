//! The main demonstration: a tour of gosling's pool in one run.
//!
//! Shows priorities, a bounded queue pushing back, a panic caught without
//! losing the worker, statistics that reconcile, and a graceful shutdown.
//!
//! Run with `cargo run --release --example quickstart`.

use gosling::{FullPolicy, Pool, QueueKind, SubmitErrorKind, Task, TaskError};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Caught panics are reported through the pool's handler; keep the default
    // hook from printing a backtrace banner for the one we cause on purpose.
    std::panic::set_hook(Box::new(|_| {}));

    println!("== 1. Priorities: a one-worker pool, higher priority starts first ==");
    let pool = Pool::builder()
        .workers(1)
        .queue(QueueKind::Priority)
        .panic_handler(|panic| println!("   panic handler: {panic}"))
        .build()?;
    let (release, gate) = mpsc::channel::<()>();
    // Hold the only worker so the queue fills before anything starts.
    pool.spawn(move |_| {
        let _ = gate.recv();
    })?;
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for (name, priority) in [("backup", 1), ("alert", 10), ("report", 5), ("cleanup", 1)] {
        let order = Arc::clone(&order);
        let task = Task::new(move |_| order.lock().unwrap().push(name)).priority(priority);
        handles.push(pool.submit_task(task)?);
    }
    release.send(())?;
    for handle in handles {
        handle.wait()?;
    }
    println!("   started in order: {:?}", order.lock().unwrap());
    println!(
        "   (alert=10, report=5, then backup and cleanup: equal priorities keep arrival order)"
    );

    println!("\n== 2. A bounded queue pushes back ==");
    let small = Pool::builder()
        .workers(1)
        .capacity(2)
        .when_full(FullPolicy::Reject)
        .build()?;
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    small.spawn(move |_| {
        started_tx.send(()).unwrap();
        let _ = gate.recv();
    })?;
    started.recv()?; // the worker is busy; the queue is empty
    small.spawn(|_| ())?;
    small.spawn(|_| ())?;
    match small.spawn(|_| println!("   this task was handed back and run by hand")) {
        Ok(()) => println!("   unexpected: accepted"),
        Err(refused) => {
            assert_eq!(refused.kind(), SubmitErrorKind::Full);
            println!("   third task refused: {refused}");
            let task = refused.into_inner(); // nothing is lost: we still own it
            task(&gosling::context::Context::new());
        }
    }
    release.send(())?;
    small.wait_idle().unwrap();

    println!("\n== 3. A panic is caught; the worker survives ==");
    let boom = pool.submit(|_| -> u32 { panic!("sensor offline") })?;
    match boom.wait() {
        Err(TaskError::Panicked(message)) => println!("   wait() says: panicked with {message:?}"),
        other => println!("   unexpected: {other:?}"),
    }
    let after = pool.submit(|_| 6 * 7)?;
    println!("   the same single worker then computed {}", after.wait()?);

    println!("\n== 4. Statistics reconcile ==");
    let failing = pool.submit_fallible(|_| Err::<(), _>("quota exceeded"))?;
    println!("   fallible task: {:?}", failing.wait());
    pool.wait_idle().unwrap();
    let s = pool.stats();
    println!(
        "   submitted {} = succeeded {} + failed {} + panicked {} + cancelled {} (+ queued {} + busy {})",
        s.submitted, s.succeeded, s.failed, s.panicked, s.cancelled, s.queued, s.busy
    );
    assert_eq!(s.submitted, s.finished() + s.queued as u64 + s.busy as u64);

    println!("\n== 5. Graceful shutdown drains queued work ==");
    let results = Arc::new(Mutex::new(Vec::new()));
    for i in 0..5 {
        let results = Arc::clone(&results);
        pool.spawn(move |_| {
            std::thread::sleep(Duration::from_millis(5));
            results.lock().unwrap().push(i);
        })?;
    }
    pool.shutdown(Duration::from_secs(5))?;
    println!(
        "   all queued tasks finished before shutdown returned: {:?}",
        results.lock().unwrap()
    );
    match pool.spawn(|_| ()) {
        Err(refused) => println!("   after shutdown, a new task is handed back: {refused}"),
        Ok(()) => println!("   unexpected: accepted after shutdown"),
    }
    Ok(())
}
