//! The scheduler: a job every 200 ms on the real clock, a cron job's next
//! fire times in a time zone, and the backup → deploy → verify chain that
//! rolls back when verify fails. Finishes in about a second.
//!
//! Run with `cargo run --example scheduler`.

use gosling::Pool;
use gosling::context::Context;
use gosling::schedule::{Chain, Cron, OnError, Overlap, Scheduler, Step, TimeZone};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::new(2)?;
    let scheduler = Scheduler::new(&pool);

    // 1. Every 200 ms, skipping a fire while the previous run is going.
    let heartbeat = scheduler
        .every(Duration::from_millis(200))
        .overlap(Overlap::Skip)
        .start(|_ctx| {
            println!("heartbeat");
            Ok::<(), String>(())
        })?;
    let ran = heartbeat.wait_runs_timeout(3, Duration::from_secs(5));
    heartbeat.cancel();
    println!("heartbeat: 3 runs: {ran}; stats {:?}\n", heartbeat.stats());

    // 2. A cron job's next fire times: 09:30 on weekdays in Berlin (a fixed
    //    +01:00 zone if the system has no zoneinfo database).
    let zone = TimeZone::named("Europe/Berlin").or_else(|_| TimeZone::fixed(3600))?;
    let cron = Cron::parse("0 30 9 * * MON-FRI")?;
    let report = scheduler
        .cron(cron.clone(), zone.clone())
        .start(|_| Ok::<(), String>(()))?;
    println!("cron `0 30 9 * * MON-FRI` in {}:", zone.name());
    let mut t = report.next_run_wall().expect("armed");
    for _ in 0..3 {
        let unix = t.duration_since(UNIX_EPOCH)?.as_secs() as i64;
        let local = zone.to_local(t);
        println!("  next: {local} local (unix {unix})");
        t = cron.next_after(t, &zone).unwrap_or(SystemTime::UNIX_EPOCH);
    }
    report.cancel();
    println!();

    // 3. backup -> deploy -> verify, rolling back when verify fails; first on
    //    this thread, then as a one-shot job on the pool.
    let chain = || {
        Chain::new()
            .step(Step::new("backup", |_: &Context| {
                println!("  backup: snapshot taken");
                Ok::<(), String>(())
            }))
            .step(Step::new("deploy", |_: &Context| {
                println!("  deploy: v2 rolled out");
                Ok(())
            }))
            .step(
                Step::new("verify", |_: &Context| {
                    println!("  verify: health check failed");
                    Err("503 from /health".to_string())
                })
                .on_error(OnError::Compensate(Box::new(Step::new(
                    "rollback",
                    |_: &Context| {
                        println!("  rollback: v1 restored from the snapshot");
                        Ok(())
                    },
                )))),
            )
    };
    println!("chain on this thread:");
    let result = chain().run(&Context::new());
    println!("  => {}\n", result.summary());

    println!("chain as a job on the pool:");
    let job = scheduler
        .after(Duration::from_millis(10))
        .start_chain(chain())?;
    job.wait_runs_timeout(1, Duration::from_secs(5));
    println!("  => last outcome: {:?}", job.last_outcome());

    pool.shutdown(Duration::from_secs(5))?;
    Ok(())
}
