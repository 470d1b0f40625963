//! Graceful shutdown on SIGINT / SIGTERM: the first signal drains the pool
//! within a deadline; a second signal forces `shutdown_now()`. Tasks that
//! cooperate stop when their context is cancelled; whatever could not finish
//! is reported, never silently lost.
//!
//! Run with `cargo run --example graceful_shutdown` — it sends itself a
//! SIGTERM after a moment so it runs unattended — or with
//! `cargo run --example graceful_shutdown -- --wait` and press Ctrl-C
//! (twice to force).

use gosling::context::{Cancelled, Context, signal};
use gosling::{Pool, TaskError};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signals = signal::listen()?;
    let pool = Pool::builder().workers(2).thread_name("svc").build()?;

    // A long-running crawler that checks its context between pages.
    let crawler = pool.submit_fallible(|ctx: &Context| -> Result<u32, Cancelled> {
        let mut pages = 0;
        loop {
            ctx.check()?; // Err(Cancelled) once the pool stops it
            pages += 1;
            ctx.sleep(Duration::from_millis(10))?;
            if pages == 100_000 {
                return Ok(pages);
            }
        }
    })?;
    // Short jobs that finish well within the drain deadline.
    let quick: Vec<_> = (0..4)
        .map(|i| pool.submit(move |_| i * 10))
        .collect::<Result<_, _>>()?;
    // A job that will still be queued at the deadline: the crawler and a
    // sleeper hold both workers.
    pool.spawn(|ctx| {
        let _ = ctx.wait_cancelled_timeout(Duration::from_secs(60));
    })?;
    let late = pool.submit(|_| "never started")?;

    let pid = std::process::id();
    if std::env::args().any(|a| a == "--wait") {
        println!(
            "pid {pid}: press Ctrl-C or run `kill -TERM {pid}` (a second signal forces the stop)"
        );
    } else {
        println!("pid {pid}: sending ourselves SIGTERM in 100 ms (use --wait to send it yourself)");
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        });
    }

    let Some(first) = signals.recv() else {
        return Ok(());
    };
    println!("{first} received: draining for up to 300 ms (a second signal forces the stop)");
    // A second signal forces the stop.
    let outcome = std::thread::scope(|s| {
        let forcer = s.spawn(|| {
            if let Some(second) = signals.recv() {
                let report = pool.shutdown_now();
                println!("{second} received: forced stop ({report})");
            }
        });
        let outcome = pool.shutdown(Duration::from_millis(300));
        signals.close(); // releases the forcer if no second signal came
        let _ = forcer.join();
        outcome
    });
    match outcome {
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
    let stats = pool.stats();
    println!(
        "stats: submitted {}, succeeded {}, cancelled {}, still busy {}",
        stats.submitted, stats.succeeded, stats.cancelled, stats.busy
    );
    Ok(())
}
