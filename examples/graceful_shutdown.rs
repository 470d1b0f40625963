//! Graceful shutdown: a service drains its work within a deadline; tasks
//! that cooperate stop when their context is cancelled, and whatever could
//! not finish is reported, never silently lost.
//!
//! Run with `cargo run --example graceful_shutdown`.

use gosling::context::Context;
use gosling::{Pool, TaskError};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().workers(2).thread_name("svc").build()?;

    // A long-running job that checks its context between steps.
    let crawler = pool.submit_fallible(
        |ctx: &Context| -> Result<u32, gosling::context::Cancelled> {
            let mut pages = 0u32;
            loop {
                ctx.check()?; // returns Err(Cancelled) once the pool shuts down
                pages += 1;
                std::thread::sleep(Duration::from_millis(10));
                if pages == 10_000 {
                    return Ok(pages);
                }
            }
        },
    )?;
    // Short jobs that will finish within the drain deadline.
    let quick: Vec<_> = (0..4)
        .map(|i| pool.submit(move |_| i * 10))
        .collect::<Result<_, _>>()?;
    // A job that will still be queued when the deadline passes: the crawler
    // and this sleeper occupy both workers.
    let (_keep_blocked, never) = std::sync::mpsc::channel::<()>();
    pool.spawn(move |ctx| {
        let _ = ctx.wait_cancelled(Duration::from_secs(60));
        drop(never);
    })?;
    let late = pool.submit(|_| "never started")?;

    std::thread::sleep(Duration::from_millis(50));
    println!("shutting down with a 200 ms deadline...");
    match pool.shutdown(Duration::from_millis(200)) {
        Ok(()) => println!("drained cleanly"),
        Err(e) => println!("deadline passed: {e}"),
    }
    for handle in quick {
        println!("quick job -> {:?}", handle.wait());
    }
    match crawler.wait() {
        Err(TaskError::ShutDown) => println!("crawler saw its context cancelled and stopped"),
        other => println!("crawler -> {other:?}"),
    }
    println!("late job -> {:?}", late.wait());
    Ok(())
}
