//! Graceful shutdown on SIGINT / SIGTERM (Ctrl-C / Ctrl-Break on Windows).
//!
//! Three workers process "jobs" until the first signal cancels their context;
//! each then drains the job in hand. A second signal forces the stop: the
//! drain is abandoned. Run it and press Ctrl-C (twice to force), or:
//!
//! ```text
//! cargo run --example signals &
//! kill -TERM %1          # drains, exits 0
//! ```

use gosling::context::{Context, signal};
use gosling::group;
use std::process::ExitCode;
use std::time::Duration;

const JOB: Duration = Duration::from_millis(300);
const DRAIN_STEPS: u32 = 5;

fn main() -> ExitCode {
    let signals = match signal::listen() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("cannot listen for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Cancelled by a second signal: the drain gives up.
    let force = Context::new();
    let pid = std::process::id();
    println!(
        "ready: pid {pid}; press Ctrl-C or run `kill -TERM {pid}` (a second signal forces the stop)"
    );

    let outcome = std::thread::scope(|s| {
        // Reports the signals and turns the second one into `force`.
        let forcer = s.spawn(|| {
            let Some(first) = signals.recv() else { return };
            println!("{first} received: draining (send another signal to force)");
            if let Some(second) = signals.recv() {
                println!("{second} received: forcing the stop");
                force.cancel();
            }
        });
        let outcome = group::scope_with_context(signals.context(), |g| {
            for id in 0..3 {
                let force = &force;
                g.go(move |ctx| worker(id, ctx, force));
            }
        });
        signals.close(); // releases the forcer if no second signal came
        forcer.join().expect("the forcer does not panic");
        outcome
    });
    match outcome {
        Ok(()) => {
            println!("drained cleanly after {} signal(s)", signals.count());
            ExitCode::SUCCESS
        }
        Err(err) => {
            println!("stopped: {err}");
            ExitCode::from(1)
        }
    }
}

/// Processes jobs until `ctx` is cancelled, then drains the job in hand;
/// `force` cuts the drain short.
fn worker(id: u32, ctx: &Context, force: &Context) -> Result<(), String> {
    let mut done = 0u32;
    while !ctx.is_cancelled() {
        if force.sleep(JOB).is_err() {
            break;
        }
        done += 1;
    }
    println!("worker {id}: {done} job(s) done; draining");
    for step in 1..=DRAIN_STEPS {
        if force.sleep(JOB).is_err() {
            return Err(format!(
                "worker {id} forced at drain step {step}/{DRAIN_STEPS}"
            ));
        }
    }
    println!("worker {id}: drained");
    Ok(())
}
