//! gosling: task orchestration for synchronous Rust — worker pools, queues,
//! cancellation, retries, limits, schedules, error groups and metrics — on
//! `std` alone.
//!
//! No dependencies and no async runtime: worker threads, a lock-free intake
//! (or a lock-guarded priority or LIFO queue) per pool, condition variables,
//! and a careful lifecycle. Every accepted task ends in exactly one terminal
//! state; a refused one is handed back; shutdown is idempotent and bounded. `ARCHITECTURE.md` in the
//! repository describes the design.
//!
//! ## Pools and tasks
//!
//! A [`Pool`] runs tasks on its worker threads. [`Pool::spawn`] is
//! fire-and-forget; [`Pool::submit`] returns a [`TaskHandle`] to wait for the
//! value; a [`Task`] carries an id, a priority and a completion callback.
//! Every task receives a [`Context`](context::Context) to poll for
//! cancellation.
//!
//! ```
//! use gosling::{FullPolicy, Pool, QueueKind, Task};
//!
//! let pool = Pool::builder()
//!     .workers(2)
//!     .queue(QueueKind::Priority)
//!     .capacity(1_000)
//!     .when_full(FullPolicy::Block)
//!     .build()?;
//! let handle = pool.submit_task(Task::new(|_ctx| 6 * 7).priority(5)).unwrap();
//! assert_eq!(handle.wait(), Ok(42));
//! pool.spawn(|_ctx| println!("fire and forget")).unwrap();
//! pool.wait_idle()?;
//! let stats = pool.stats();
//! assert_eq!(stats.submitted, stats.succeeded);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Handles, cancellation and errors
//!
//! A handle waits (with or without a timeout), polls, or cancels: a task
//! cancelled while queued never runs; a running task sees its context
//! cancelled. [`TaskError`] says why there is no value.
//!
//! ```
//! use gosling::{Pool, TaskError};
//! use std::sync::mpsc;
//!
//! let pool = Pool::new(1)?;
//! let (release, gate) = mpsc::channel::<()>();
//! pool.spawn(move |_| { let _ = gate.recv(); }).unwrap(); // holds the only worker
//! let queued = pool.submit(|_| "never runs").unwrap();
//! assert!(queued.cancel());
//! release.send(()).unwrap();
//! assert_eq!(queued.wait(), Err(TaskError::Cancelled));
//! # Ok::<(), gosling::BuildError>(())
//! ```
//!
//! ## Borrowing from the stack
//!
//! [`Pool::scope`] runs tasks that borrow local data and joins them before
//! returning, on every path.
//!
//! ```
//! let pool = gosling::Pool::new(2)?;
//! let mut pixels = vec![1u8; 1024];
//! pool.scope(|s| {
//!     for row in pixels.chunks_mut(256) {
//!         s.spawn(move |_| row.iter_mut().for_each(|p| *p *= 2)).unwrap();
//!     }
//! });
//! assert!(pixels.iter().all(|&p| p == 2));
//! # Ok::<(), gosling::BuildError>(())
//! ```
//!
//! ## Contexts and time
//!
//! A [`Context`](context::Context) is a cancellation tree with deadlines and
//! typed values; its waits return early when it is cancelled. Time comes from
//! a [`Clock`](time::Clock); tests use a [`ManualClock`](time::ManualClock).
//!
//! ```
//! use gosling::context::{CancelReason, Context};
//! use gosling::time::ManualClock;
//! use std::time::Duration;
//!
//! let manual = ManualClock::new();
//! let request = Context::with_clock(manual.clock()).with_timeout(Duration::from_secs(5));
//! let step = request.child();
//! manual.advance(Duration::from_secs(5));
//! assert_eq!(step.reason(), Some(CancelReason::DeadlineExceeded));
//! ```
//!
//! ## Error groups
//!
//! [`group`] runs fallible members together, Go's `errgroup` for threads: the
//! first error cancels the group's context, waiting returns that error (and
//! keeps the others), panics become errors, an optional limit caps how many
//! run at once, and scoped members borrow from the stack. A
//! [`group::PoolGroup`] runs its members as tasks on a [`Pool`] instead.
//!
//! ```
//! use gosling::group;
//!
//! let inputs = ["1", "2", "x", "4"];
//! let mut parsed = [0u32; 4];
//! let result = group::scope(|g| {
//!     g.set_limit(2).unwrap();
//!     for (input, out) in inputs.iter().zip(parsed.iter_mut()) {
//!         g.go(move |ctx| -> Result<(), String> {
//!             ctx.check().map_err(|e| e.to_string())?; // stop early once one failed
//!             *out = input.parse().map_err(|_| format!("not a number: {input}"))?;
//!             Ok(())
//!         });
//!     }
//! });
//! let err = result.unwrap_err();
//! assert_eq!(err.first().to_string(), "not a number: x"); // later ones may see the cancel
//! ```
//!
//! ## Shutdown on signals
//!
//! [`context::signal::listen`] returns a listener whose
//! [`Context`](context::Context) the first SIGINT or SIGTERM (Ctrl-C on
//! Windows) cancels with [`CancelReason::Shutdown`](context::CancelReason);
//! a second signal can be received from it to force the stop. Dropping the
//! listener restores the previous handlers. See `examples/signals.rs`.
//!
//! ```no_run
//! use gosling::context::signal;
//! use std::time::Duration;
//!
//! let signals = signal::listen()?;
//! let ctx = signals.context().clone();
//! let worker = std::thread::spawn(move || {
//!     while ctx.sleep(Duration::from_millis(100)).is_ok() { /* work */ }
//!     println!("draining: {:?}", ctx.reason()); // Some(Shutdown)
//! });
//! let first = signals.recv();
//! println!("{first:?}: shutting down");
//! worker.join().unwrap();
//! # Ok::<(), gosling::context::ListenError>(())
//! ```
//!
//! ## Retries
//!
//! A [`retry::RetryPolicy`] says how many times to retry (0 = one attempt
//! only), how long to wait between attempts — a [`retry::Backoff`]: constant,
//! linear or exponential, with none, full, equal or decorrelated
//! [`retry::Jitter`] and a cap — for how long in total, and which failures
//! deserve a retry. [`RetryPolicy::call`](retry::RetryPolicy::call) retries
//! on the caller's thread, sleeping through a [`context::Context`] so that
//! cancelling it ends the wait.
//!
//! ```
//! use gosling::context::Context;
//! use gosling::retry::{Backoff, Jitter, RetryError, RetryPolicy};
//! use std::time::Duration;
//!
//! let backoff = Backoff::exponential(Duration::from_millis(1), 2.0)?
//!     .jitter(Jitter::Equal)
//!     .cap(Duration::from_millis(20));
//! let policy = RetryPolicy::new(2).backoff(backoff);
//!
//! let result: Result<u32, _> = policy.call(&Context::new(), |_attempt| Err("unavailable"));
//! assert!(matches!(result, Err(RetryError::Exhausted { attempts: 3, .. })));
//! # Ok::<(), gosling::retry::BackoffError>(())
//! ```
//!
//! ## Configuration from the environment
//!
//! [`config::Config::from_env`] reads `WORKER_POOL_SIZE`, `WORKER_QUEUE_SIZE`,
//! `WORKER_PRIORITY`, `WORKER_TASK_TIMEOUT` and `WORKER_SHUTDOWN_TIMEOUT`
//! (optionally behind a prefix); unset variables stay `None`, and a bad value
//! is an error naming the variable and the value.
//!
//! ```
//! use gosling::config::{parse_duration, Config};
//! use std::time::Duration;
//!
//! let config = Config::from_vars([("WORKER_POOL_SIZE", "4"), ("WORKER_PRIORITY", "on")])?;
//! assert_eq!(config.pool_size.map(|n| n.get()), Some(4));
//! assert_eq!(config.priority, Some(true));
//! assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(90 * 60));
//!
//! let err = Config::from_vars([("WORKER_POOL_SIZE", "four")]).unwrap_err();
//! assert_eq!(err.to_string(), "invalid WORKER_POOL_SIZE=\"four\": expected a whole number");
//! # Ok::<(), gosling::config::ConfigError>(())
//! ```
//!
//! ## Circuit breakers and fallbacks
//!
//! A [`breaker::CircuitBreaker`] stops calling a dependency whose failure
//! rate over a sliding window reaches a threshold, rejects calls while open,
//! then admits a fixed number of trial calls; a [`retry::Fallback`] turns a
//! failure or a rejection into a replacement value.
//!
//! ```
//! use gosling::breaker::{CallError, CircuitBreaker};
//! use gosling::retry::Fallback;
//!
//! let breaker = CircuitBreaker::<&str>::builder().count_window(10).build()?;
//! let fallback = Fallback::new(|_: CallError<&str>| "cached");
//! assert_eq!(fallback.call_through(&breaker, || Ok("fresh")), "fresh");
//! assert_eq!(fallback.call_through(&breaker, || Err("down")), "cached");
//! # Ok::<(), gosling::breaker::BreakerBuildError>(())
//! ```
//!
//! ## Composed policies
//!
//! A [`policy::Policy`] stacks a per-attempt timeout, retries, a circuit
//! breaker, a bulkhead and a fallback in one documented order —
//! `fallback(total_timeout(retry(breaker(bulkhead(timeout(op))))))` —
//! whatever the order of the builder calls.
//! [`call`](policy::Policy::call) runs it on the caller's thread;
//! [`task`](policy::Policy::task) makes a pool task whose retries wait on the
//! pool's timer. [`policy::PolicyError`] says which layer stopped a call.
//!
//! ```
//! use gosling::breaker::CircuitBreaker;
//! use gosling::context::Context;
//! use gosling::limit::ConcurrencyLimiter;
//! use gosling::policy::{Policy, PolicyError};
//! use gosling::retry::RetryPolicy;
//! use std::time::Duration;
//!
//! let breaker = CircuitBreaker::<&str>::builder().build()?;
//! let policy = Policy::new()
//!     .timeout(Duration::from_secs(1))
//!     .retry(RetryPolicy::fixed(2, Duration::from_millis(1)))
//!     .circuit_breaker(breaker.clone())
//!     .bulkhead(ConcurrencyLimiter::new(8)?, Duration::from_millis(50))
//!     .fallback(|err: PolicyError<&str>| if err.is_rejected() { "busy" } else { "cached" });
//! let mut attempts = 0;
//! let value = policy.call(&Context::new(), |_ctx| {
//!     attempts += 1;
//!     Err("unavailable")
//! });
//! assert_eq!((value, attempts), (Ok("cached"), 3));
//! assert_eq!(breaker.metrics().window_failures, 3); // every attempt went through the breaker
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Schedules: cron expressions and time zones
//!
//! [`schedule::Cron`] parses 5-, 6- and 7-field cron expressions (seconds,
//! names, `L`, `W`, `#`, `@daily`…) and finds when they fire in a
//! [`schedule::TimeZone`] read from the system's zoneinfo database, with
//! documented behaviour across daylight-saving gaps and overlaps.
//!
//! ```
//! use gosling::schedule::{Cron, TimeZone};
//!
//! let cron = Cron::parse("0 */5 * * * *")?;
//! let next = cron.next_after_unix(1_704_067_200, &TimeZone::utc());
//! assert_eq!(next, Some(1_704_067_500));
//! # Ok::<(), gosling::schedule::CronError>(())
//! ```
//!
//! ## The scheduler and chains
//!
//! A [`schedule::Scheduler`] runs jobs on a pool — after a delay, at an
//! instant, every interval, on a cron expression in a zone, or at an
//! adaptive interval — on the pool's one timer thread and its clock, with
//! missed-run and overlap policies, conditions, retries and a parent
//! context. A [`schedule::Chain`] runs steps in sequence with retry, skip,
//! abort and compensate actions.
//!
//! ```
//! use gosling::schedule::{MissedRun, Scheduler};
//! use gosling::time::ManualClock;
//! use std::time::Duration;
//!
//! let manual = ManualClock::new();
//! let pool = gosling::Pool::builder().workers(1).clock(manual.clock()).build()?;
//! let job = Scheduler::new(&pool)
//!     .every(Duration::from_secs(60))
//!     .missed(MissedRun::Skip)
//!     .start(|_ctx| Ok::<(), String>(()))?;
//! manual.advance(Duration::from_secs(60));
//! assert!(job.wait_runs_timeout(1, Duration::from_secs(5)));
//! job.cancel();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Rate and concurrency limits
//!
//! [`limit`] holds rate limiters behind one object-safe trait,
//! [`RateLimiter`](limit::RateLimiter) (a GCRA token bucket, a leaky bucket,
//! fixed and sliding windows, an adaptive rate), a keyed limiter with bounded
//! memory, and concurrency limits (a bulkhead with RAII permits, AIMD and
//! gradient adaptive limits). All of them read a [`Clock`](time::Clock), so
//! tests drive them with a manual clock. A pool applies them too: one
//! limiter gates all task starts ([`Builder::rate_limit`]), and limits per
//! resource gate the tasks that name it ([`Task::resource`],
//! [`Builder::resource_limit`]) — a refused task waits aside, without
//! holding a worker or stalling other resources.
//!
//! ```
//! use gosling::limit::{ConcurrencyLimiter, Rate, RateLimiter, TokenBucket};
//! use gosling::time::ManualClock;
//! use std::time::Duration;
//!
//! let manual = ManualClock::new();
//! let bucket = TokenBucket::with_clock(Rate::per_second(10).unwrap(), 2, manual.clock()).unwrap();
//! assert!(bucket.allow() && bucket.allow());
//! let refused = bucket.check().unwrap_err(); // nothing taken; says when to retry
//! manual.advance(refused.retry_after());
//! assert!(bucket.allow());
//!
//! let bulkhead = ConcurrencyLimiter::new(1).unwrap();
//! let permit = bulkhead.try_acquire().unwrap();
//! assert!(bulkhead.try_acquire().is_err());
//! drop(permit);
//! assert!(bulkhead.try_acquire().is_ok());
//! # let _ = Duration::ZERO;
//! ```
//!
//! ## Metrics
//!
//! [`observe`] holds counters, gauges, histograms and moving rates, and
//! [`Metrics`](observe::Metrics), the collection a scrape renders in the
//! Prometheus text format. A pool reports its counts and task times
//! ([`Builder::metrics`]); a circuit breaker, a concurrency limiter and a
//! [`Metered`](limit::Metered) rate limiter register as sources; names
//! take a prefix and constant labels, and are checked when registered.
//!
//! ```
//! use gosling::observe::{Buckets, Metrics};
//! use gosling::Pool;
//!
//! let metrics = Metrics::new().prefix("myapp")?;
//! let pool = Pool::builder().workers(2).metrics(metrics.label("pool", "ingest")?).build()?;
//! pool.submit(|_| ())?.wait()?;
//! let replies = metrics.histogram("reply_seconds", "Reply time.", Buckets::latency())?;
//! replies.observe(0.004);
//! let text = metrics.render();
//! assert!(text.contains("myapp_tasks_completed_total{pool=\"ingest\"} 1\n"));
//! assert!(text.contains("myapp_reply_seconds_bucket{le=\"0.005\"} 1\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
pub mod breaker;
pub mod config;
pub mod context;
pub mod group;
pub mod limit;
pub mod observe;
pub mod policy;
mod pool;
mod queue;
pub mod retry;
mod rng;
pub mod schedule;
mod sync;
mod task;
pub mod time;

pub use pool::{
    BuildError, Builder, DEFAULT_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT, Pool, ResizeError, Scope,
    ShutdownError, ShutdownReport, Stats, SubmitError, SubmitErrorKind, SubmitTimeoutError,
    SubmitWaitError, TrySubmitError, WaitIdleError,
};
pub use queue::{FullPolicy, QueueKind};
pub use task::{Task, TaskError, TaskHandle, TaskId, TaskPanic, TaskResult, TaskStatus};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
