//! A pool under a steady synthetic load, gated by a metered rate limiter
//! and calling a flaky dependency through a circuit breaker, serving its
//! metrics on 127.0.0.1 for Prometheus (`/metrics`), and liveness and
//! readiness for probes (`/health`, `/ready`). Runs until Ctrl-C.
//!
//! ```sh
//! cargo run --release --example metrics_server                  # port 9464
//! cargo run --release --example metrics_server -- --port 0 --for 5s
//! ```

use gosling::Pool;
use gosling::breaker::CircuitBreaker;
use gosling::config::parse_duration;
use gosling::context::signal;
use gosling::limit::{Metered, Rate, RateLimiter, TokenBucket};
use gosling::observe::{Health, Metrics, MetricsServer};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const USAGE: &str = "usage: metrics_server [--port N] [--for DURATION]";

/// `--port N` (default 9464; 0 picks a free one) and `--for DURATION`
/// (default: until Ctrl-C).
fn args() -> Result<(u16, Option<Duration>), String> {
    let mut port = 9464;
    let mut run_for = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value\n{USAGE}"))?;
        match arg.as_str() {
            "--port" => {
                port = value
                    .parse()
                    .map_err(|_| format!("bad port {value:?}\n{USAGE}"))?
            }
            "--for" => {
                run_for = Some(
                    parse_duration(&value)
                        .map_err(|e| format!("bad duration {value:?}: {e}\n{USAGE}"))?,
                )
            }
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    Ok((port, run_for))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (port, run_for) = args()?;
    let metrics = Metrics::new().prefix("demo")?;
    let pool = Arc::new(
        Pool::builder()
            .workers(2)
            .metrics(metrics.label("pool", "demo")?)
            .build()?,
    );
    let limiter = Arc::new(Metered::new(TokenBucket::new(Rate::per_second(500)?, 50)?));
    metrics
        .label("limiter", "intake")?
        .register(limiter.clone())?;
    let breaker = CircuitBreaker::<&'static str>::builder()
        .count_window(50)
        .build()?;
    metrics
        .label("breaker", "dependency")?
        .register(Arc::new(breaker.clone()))?;

    let health = Health::new();
    health.check("pool", Duration::from_secs(1), pool.health_check(0.9))?;
    health.check("dependency", Duration::from_secs(1), breaker.health_check())?;
    let server = MetricsServer::builder(&metrics)
        .address(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .health(health)
        .start()?;
    let addr = server.local_addr();
    println!("serving metrics on http://{addr}/metrics");
    println!("try: curl -s http://{addr}/metrics | grep demo_tasks");
    println!("     curl -s http://{addr}/ready");
    match run_for {
        Some(d) => println!("running for {d:?} (or until Ctrl-C)"),
        None => println!("running until Ctrl-C"),
    }

    let signals = signal::listen()?;
    let ctx = match run_for {
        Some(d) => signals.context().with_timeout(d),
        None => signals.context().child(),
    };
    let calls = Arc::new(AtomicU64::new(0));
    while !ctx.is_cancelled() {
        if !limiter.allow() {
            let _ = ctx.sleep(Duration::from_millis(1));
            continue;
        }
        let (breaker, calls) = (breaker.clone(), Arc::clone(&calls));
        let submitted = pool.submit_fallible(move |_| {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            // About one call in twelve fails, in bursts the breaker sees.
            breaker
                .call(|| {
                    if n % 200 < 16 {
                        Err("unavailable")
                    } else {
                        Ok(n)
                    }
                })
                .map_err(|e| e.to_string())
        });
        if submitted.is_err() {
            break; // the pool closed
        }
    }
    pool.wait_idle()?;
    let stats = pool.stats();
    println!(
        "done: {} tasks, {} succeeded, {} failed; {} requests served",
        stats.submitted,
        stats.succeeded,
        stats.failed,
        server.served()
    );
    Ok(())
}
