//! [`Builder`]: every setting of a pool, checked by `build()`.

use super::Pool;
use super::error::{BuildError, BuildErrorKind};
use super::inner::Settings;
use super::resource::ResourceLimits;
use crate::config::{Config, ConfigError, QueueSize, Timeout};
use crate::context::Context;
use crate::limit::{KeyedLimiter, RateLimiter};
use crate::observe::{Buckets, Metrics};
use crate::queue::{FullPolicy, QueueKind};
use crate::retry::RetryPolicy;
use crate::task::TaskPanic;
use crate::time::Clock;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The queue capacity of a pool built without [`Builder::capacity`] or
/// [`Builder::unbounded`]: 65,536 tasks. A bounded default means a runaway
/// producer meets back-pressure instead of exhausting memory.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// How long dropping a pool waits for its work to finish (see
/// [`Builder::shutdown_timeout`]): 30 seconds.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) type ThreadHook = Arc<dyn Fn(usize) + Send + Sync>;

/// Settings for a [`Pool`]; made by [`Pool::builder`].
///
/// | setting | default |
/// |---|---|
/// | [`workers`](Builder::workers) | available parallelism |
/// | [`queue`](Builder::queue) | [`QueueKind::Fifo`] |
/// | [`capacity`](Builder::capacity) | [`DEFAULT_CAPACITY`] (65,536), bounded |
/// | [`when_full`](Builder::when_full) | [`FullPolicy::Block`] |
/// | [`thread_name`](Builder::thread_name) | `"gosling-worker"` (threads are `gosling-worker-0`, `-1`, …) |
/// | [`stack_size`](Builder::stack_size) | the platform's default |
/// | [`shutdown_timeout`](Builder::shutdown_timeout) | [`DEFAULT_SHUTDOWN_TIMEOUT`] (30 s), used by `Drop` |
/// | [`task_timeout`](Builder::task_timeout) | none |
/// | [`retry_policy`](Builder::retry_policy) | none |
/// | [`rate_limit`](Builder::rate_limit) | none |
/// | [`resource_limit`](Builder::resource_limit), [`resource_limits`](Builder::resource_limits) | none |
/// | [`clock`](Builder::clock) | [`Clock::system`] |
/// | [`metrics`](Builder::metrics) | none |
/// | [`time_buckets`](Builder::time_buckets) | [`Buckets::latency`](crate::observe::Buckets::latency) |
///
/// Threads: a pool runs its workers (`<thread_name>-0`, `-1`, …) and, only
/// once something needs them, a timer thread (`<thread_name>-timer`: task
/// deadlines, retry backoffs, schedules, resource limits) and a callback
/// thread (`<thread_name>-callbacks`: completion callbacks of tasks ended by
/// their deadline or by a shutdown). Nothing else.
///
/// # Examples
///
/// ```
/// use gosling::{FullPolicy, Pool, QueueKind};
///
/// let pool = Pool::builder()
///     .workers(4)
///     .queue(QueueKind::Priority)
///     .capacity(1_000)
///     .when_full(FullPolicy::Reject)
///     .thread_name("ingest")
///     .build()?;
/// assert_eq!(pool.stats().workers, 4);
/// # Ok::<(), gosling::BuildError>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    pub(crate) workers: Option<usize>,
    pub(crate) capacity: Option<usize>,
    pub(crate) clock: Clock,
    pub(crate) context: Option<Context>,
    /// The settings the pool keeps as they are (`Inner::config`).
    pub(crate) settings: Settings,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            workers: None,
            capacity: Some(DEFAULT_CAPACITY),
            clock: Clock::system(),
            context: None,
            settings: Settings {
                queue: QueueKind::Fifo,
                when_full: FullPolicy::Block,
                thread_name: "gosling-worker".to_string(),
                stack_size: None,
                on_thread_start: None,
                on_thread_stop: None,
                panic_handler: None,
                shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
                task_timeout: None,
                retry_policy: None,
                rate_limit: None,
                resources: None,
                metrics: None,
                time_buckets: None,
            },
        }
    }
}

impl Builder {
    /// Default settings (see the table above).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Builder::new().workers(1).build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn new() -> Self {
        Builder::default()
    }

    /// A builder starting from `config` (e.g. [`Config::from_env`]): each
    /// setting the configuration has replaces the default; setters called
    /// afterwards override it (builder settings win over the environment).
    /// `WORKER_PRIORITY=true` selects [`QueueKind::Priority`]; a zero
    /// (`Unlimited`) shutdown timeout makes `Drop` wait without limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::Config;
    /// use gosling::Builder;
    ///
    /// let config = Config::from_vars([("WORKER_POOL_SIZE", "3"), ("WORKER_QUEUE_SIZE", "0")])?;
    /// let pool = Builder::from_config(&config).workers(2).build().unwrap(); // 2 wins over 3
    /// assert_eq!(pool.stats().workers, 2);
    /// # Ok::<(), gosling::config::ConfigError>(())
    /// ```
    pub fn from_config(config: &Config) -> Self {
        let mut builder = Builder::new();
        if let Some(workers) = config.pool_size {
            builder.workers = Some(workers.get());
        }
        match config.queue_size {
            Some(QueueSize::Unbounded) => builder.capacity = None,
            Some(QueueSize::Bounded(n)) => builder.capacity = Some(n.get()),
            None => {}
        }
        match config.priority {
            Some(true) => builder.settings.queue = QueueKind::Priority,
            Some(false) => builder.settings.queue = QueueKind::Fifo,
            None => {}
        }
        match config.task_timeout {
            Some(Timeout::After(timeout)) => builder.settings.task_timeout = Some(timeout),
            Some(Timeout::Unlimited) => builder.settings.task_timeout = None,
            None => {}
        }
        match config.shutdown_timeout {
            Some(Timeout::After(timeout)) => builder.settings.shutdown_timeout = timeout,
            Some(Timeout::Unlimited) => builder.settings.shutdown_timeout = Duration::MAX,
            None => {}
        }
        builder
    }

    /// [`from_config`](Builder::from_config) with [`Config::from_env`]: the
    /// `WORKER_*` variables of the process environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the variable and the value it could not read.
    ///
    /// # Examples
    ///
    /// ```
    /// // With WORKER_POOL_SIZE=8 in the environment this pool has 8 workers.
    /// let pool = gosling::Builder::from_env()?.build().unwrap();
    /// # Ok::<(), gosling::config::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Builder::from_config(&Config::from_env()?))
    }

    /// Number of worker threads. Zero is refused by [`build`](Builder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::builder().workers(3).build()?;
    /// assert_eq!(pool.stats().workers, 3);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// The order queued tasks start in.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, QueueKind};
    /// let pool = Pool::builder().queue(QueueKind::Lifo).build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn queue(mut self, kind: QueueKind) -> Self {
        self.settings.queue = kind;
        self
    }

    /// Bounds the queue to `capacity` waiting tasks (running tasks do not
    /// count). Zero is refused by [`build`](Builder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::builder().capacity(10).build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Lets the queue grow without bound: submissions never wait for room.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::builder().unbounded().build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn unbounded(mut self) -> Self {
        self.capacity = None;
        self
    }

    /// What a submitter meets when the bounded queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{FullPolicy, Pool};
    /// let pool = Pool::builder().capacity(8).when_full(FullPolicy::Reject).build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn when_full(mut self, policy: FullPolicy) -> Self {
        self.settings.when_full = policy;
        self
    }

    /// Worker threads are named `{prefix}-{index}`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::builder().workers(1).thread_name("indexer").build()?;
    /// let name = pool.submit(|_| std::thread::current().name().map(String::from)).unwrap().wait();
    /// assert_eq!(name, Ok(Some("indexer-0".to_string())));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.settings.thread_name = prefix.into();
        self
    }

    /// Stack size of each worker thread, in bytes. Zero is refused by
    /// [`build`](Builder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gosling::Pool::builder().stack_size(4 << 20).build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.settings.stack_size = Some(bytes);
        self
    }

    /// Runs `hook(worker_index)` on each worker thread when it starts, before
    /// it takes any task. A panic in the hook is caught and ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let count = started.clone();
    /// let pool = gosling::Pool::builder()
    ///     .workers(2)
    ///     .on_thread_start(move |_index| { count.fetch_add(1, Ordering::SeqCst); })
    ///     .build()?;
    /// pool.shutdown(std::time::Duration::from_secs(5)).unwrap();
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn on_thread_start<H>(mut self, hook: H) -> Self
    where
        H: Fn(usize) + Send + Sync + 'static,
    {
        self.settings.on_thread_start = Some(Arc::new(hook));
        self
    }

    /// Runs `hook(worker_index)` on each worker thread just before it exits.
    /// A panic in the hook is caught and ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let count = stopped.clone();
    /// let pool = gosling::Pool::builder()
    ///     .workers(2)
    ///     .on_thread_stop(move |_| { count.fetch_add(1, Ordering::SeqCst); })
    ///     .build()?;
    /// pool.shutdown(std::time::Duration::from_secs(5)).unwrap();
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn on_thread_stop<H>(mut self, hook: H) -> Self
    where
        H: Fn(usize) + Send + Sync + 'static,
    {
        self.settings.on_thread_stop = Some(Arc::new(hook));
        self
    }

    /// Receives every caught task panic (with a handle or without), on the
    /// worker that caught it, before the task's waiters are woken. A panic in
    /// the handler is caught and ignored.
    ///
    /// # Examples
    ///
    /// See [`TaskPanic`].
    pub fn panic_handler<H>(mut self, handler: H) -> Self
    where
        H: Fn(&TaskPanic) + Send + Sync + 'static,
    {
        self.settings.panic_handler = Some(Arc::new(handler));
        self
    }

    /// How long dropping the pool waits for queued and running work before it
    /// cancels what is left (see [`Pool::shutdown`]). A pool dropped while
    /// its thread unwinds from a panic does not wait: it cancels at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gosling::Pool::builder().shutdown_timeout(Duration::from_secs(2)).build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.settings.shutdown_timeout = timeout;
        self
    }

    /// A timeout for every task of the pool that does not set its own
    /// ([`Task::timeout`](crate::Task::timeout)); see there for what a
    /// timeout does. Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::{Pool, TaskError};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder().workers(1).task_timeout(Duration::from_millis(20)).build()?;
    /// let stuck = pool.submit(|ctx| { let _ = ctx.wait_cancelled_timeout(Duration::from_secs(60)); }).unwrap();
    /// assert_eq!(stuck.wait(), Err(TaskError::TimedOut));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.settings.task_timeout = Some(timeout);
        self
    }

    /// The retry policy of every repeatable task ([`Task::repeatable`](crate::Task::repeatable))
    /// that does not bring its own ([`Task::retrying`](crate::Task::retrying)),
    /// like Go's `WithRetry` pool option. One-shot bodies are never retried.
    /// Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::RetryPolicy;
    /// use gosling::{Pool, Task};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder()
    ///     .workers(2)
    ///     .retry_policy(RetryPolicy::fixed(5, Duration::from_millis(1)))
    ///     .build()?;
    /// let mut left = 2;
    /// let handle = pool
    ///     .submit_task(Task::repeatable(move |_| if left == 0 { Ok("up") } else { left -= 1; Err("down") }))
    ///     .unwrap();
    /// assert_eq!(handle.wait(), Ok("up"));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry_policy = Some(policy);
        self
    }

    /// Gates execution starts (not submissions) with `limiter`: a worker
    /// takes a permit just before it takes the next task, so the queue's
    /// order still decides which task starts, and a refused worker waits on
    /// the limiter's clock for the permit — not holding any task — until
    /// then or until the pool closes. Every start takes a permit: retries,
    /// fire-and-forget and scope tasks included. A gated pool starts tasks one
    /// at a time (no batches). `Stats::delayed_starts` and
    /// `Stats::start_delay` tell how often and how long starts waited.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, TokenBucket};
    /// use gosling::Pool;
    /// use std::sync::Arc;
    ///
    /// // At most 100 task starts per second, in bursts of up to 10.
    /// let limiter = Arc::new(TokenBucket::new(Rate::per_second(100).unwrap(), 10).unwrap());
    /// let pool = Pool::builder().workers(4).rate_limit(limiter).build()?;
    /// for _ in 0..5 { pool.spawn(|_| ()).unwrap(); }
    /// pool.wait_idle()?;
    /// assert_eq!(pool.stats().succeeded, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rate_limit(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.settings.rate_limit = Some(limiter);
        self
    }

    /// Limits the starts of tasks naming `resource`
    /// ([`Task::resource`](crate::Task::resource)) with `limiter`, on top of
    /// any [`rate_limit`](Builder::rate_limit) of the whole pool.
    ///
    /// A worker asks the limiter when it takes such a task from the queue.
    /// Refused, the task steps aside to wait for the resource's next permit
    /// on the pool's timer — no worker waits with it — and the worker takes
    /// the next task, so tasks for other resources are not stalled. The
    /// waiting tasks of a resource start in order, one per permit, each
    /// going back into the queue when its permit is due (behind tasks
    /// queued meanwhile; with their priority in a priority queue). Every
    /// attempt of a retried task takes a permit. Tasks waiting for their
    /// resource count as queued — in [`Stats::queued`](crate::Stats::queued),
    /// against the queue's capacity, and for [`Pool::wait_idle`] and a
    /// graceful shutdown, which drains them; a shutdown that cancels queued
    /// tasks cancels them too. [`Stats::waiting_for_resource`](crate::Stats::waiting_for_resource)
    /// counts them.
    ///
    /// The limiter should read the pool's [`clock`](Builder::clock) (the
    /// wait is timed on it). Setting a resource twice keeps the last limiter.
    /// With a pool-wide `rate_limit` too, a worker takes the pool's permit
    /// first and then looks for a task whose resource admits it: should
    /// every queued task wait for its resource, that permit goes unused — a
    /// start the pool could have had, never one too many.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{Rate, TokenBucket};
    /// use gosling::{Pool, Task};
    /// use std::sync::Arc;
    ///
    /// // The geocoding API allows 10 calls a second; the database is not limited.
    /// let pool = Pool::builder()
    ///     .workers(4)
    ///     .resource_limit("geocoder", Arc::new(TokenBucket::new(Rate::per_second(10).unwrap(), 2).unwrap()))
    ///     .build()?;
    /// let lookup = pool.submit_task(Task::new(|_| "52.5N 13.4E").resource("geocoder")).unwrap();
    /// let query = pool.submit_task(Task::new(|_| 3).resource("database")).unwrap();
    /// assert_eq!((lookup.wait(), query.wait()), (Ok("52.5N 13.4E"), Ok(3)));
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn resource_limit(mut self, resource: &str, limiter: Arc<dyn RateLimiter>) -> Self {
        self.settings
            .resources
            .get_or_insert_with(ResourceLimits::default)
            .named
            .insert(Arc::from(resource), limiter);
        self
    }

    /// Limits every resource without a limiter of its own
    /// ([`resource_limit`](Builder::resource_limit)) with its own bucket of
    /// `limiter`: one GCRA per resource name, in bounded memory (see
    /// [`KeyedLimiter`]). For resources named at run time — a bucket per
    /// customer, per host. Tasks wait for their resource as described at
    /// [`resource_limit`](Builder::resource_limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::limit::{KeyedLimiter, Rate};
    /// use gosling::{Pool, Task};
    /// use std::sync::Arc;
    ///
    /// // Each host gets 5 requests a second, whichever hosts show up.
    /// let per_host = Arc::new(KeyedLimiter::new(Rate::per_second(5).unwrap(), 1, 10_000).unwrap());
    /// let pool = Pool::builder().workers(2).resource_limits(per_host).build()?;
    /// let handles: Vec<_> = ["a.example", "b.example", "c.example"]
    ///     .into_iter()
    ///     .map(|host| pool.submit_task(Task::new(move |_| host.len()).resource(host)).unwrap())
    ///     .collect();
    /// for handle in handles {
    ///     assert_eq!(handle.wait(), Ok(9)); // one call per host: none waits
    /// }
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn resource_limits(mut self, limiter: Arc<KeyedLimiter<Arc<str>>>) -> Self {
        self.settings
            .resources
            .get_or_insert_with(ResourceLimits::default)
            .keyed = Some(limiter);
        self
    }

    /// The clock task contexts, deadlines and handle waits read (a
    /// [`ManualClock`](crate::time::ManualClock) in tests). Shutdown timeouts
    /// always use real time: they bound how long threads are waited for.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::time::ManualClock;
    /// let manual = ManualClock::new();
    /// let pool = gosling::Pool::builder().clock(manual.clock()).build()?;
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Reports the pool's metrics to `metrics`, under its prefix and with
    /// its constant labels (give each pool a label of its own, as
    /// `metrics.label("pool", "ingest")?`: two pools with the same labels
    /// would repeat each other's series, and `build` refuses the second).
    ///
    /// | metric | kind | what |
    /// |---|---|---|
    /// | `tasks_scheduled_total` | counter | tasks accepted |
    /// | `tasks_completed_total` | counter | tasks that returned a value |
    /// | `tasks_failed_total` | counter | tasks that returned an error (after their last retry) |
    /// | `tasks_panicked_total` | counter | tasks that panicked |
    /// | `tasks_cancelled_total` | counter | tasks cancelled (by a handle, a context or a shutdown) |
    /// | `tasks_timed_out_total` | counter | tasks that passed their deadline |
    /// | `tasks_rejected_total` | counter | submissions refused (closed, full, wait ran out) |
    /// | `retry_count_total` | counter | failed attempts scheduled for another try |
    /// | `worker_busy_seconds_total` | counter | time workers spent running tasks, summed |
    /// | `tasks_running` | gauge | tasks running now |
    /// | `tasks_retrying` | gauge | tasks waiting for their next attempt |
    /// | `queue_depth` | gauge | tasks waiting to start |
    /// | `workers` | gauge | live worker threads |
    /// | `workers_busy` | gauge | workers running a task |
    /// | `task_latency_seconds` | histogram | submission until the outcome, per task |
    /// | `task_run_seconds` | histogram | one attempt's body, per attempt |
    ///
    /// The counters and gauges are read from [`Pool::stats`] when a
    /// snapshot is taken, so they reconcile as [`Stats`](crate::Stats)
    /// does and cost the tasks nothing. The histograms cost each task two
    /// to three clock readings and two histogram updates; a pool without
    /// metrics reads no clock for them. Durations are on the pool's
    /// [`clock`](Builder::clock), in seconds, counted into
    /// [`time_buckets`](Builder::time_buckets). The
    /// collection holds the pool weakly: its series end when the pool is
    /// dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    /// use gosling::Pool;
    ///
    /// let metrics = Metrics::new();
    /// let pool = Pool::builder().workers(1).metrics(metrics.label("pool", "a")?).build()?;
    /// pool.submit(|_| ())?.wait()?;
    /// let snap = metrics.snapshot();
    /// assert_eq!(snap.value("tasks_completed_total", &[("pool", "a")]), Some(1.0));
    /// assert_eq!(snap.histogram("task_latency_seconds", &[("pool", "a")]).unwrap().count(), 1);
    ///
    /// // A second pool with the same labels is refused.
    /// assert!(Pool::builder().metrics(metrics.label("pool", "a")?).build().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.settings.metrics = Some(metrics);
        self
    }

    /// The buckets of the pool's `task_latency_seconds` and
    /// `task_run_seconds` histograms (see [`metrics`](Builder::metrics)),
    /// in seconds; [`Buckets::latency`](crate::observe::Buckets::latency)
    /// (10 µs to 10 s) by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Buckets, Metrics};
    /// use gosling::Pool;
    ///
    /// let metrics = Metrics::new();
    /// let pool = Pool::builder()
    ///     .metrics(metrics.clone())
    ///     .time_buckets(Buckets::exponential(0.1, 10.0, 4)?) // 0.1 s to 100 s: batch jobs
    ///     .build()?;
    /// pool.submit(|_| ())?.wait()?;
    /// let latency = metrics.snapshot().histogram("task_latency_seconds", &[]).cloned().unwrap();
    /// assert_eq!(latency.cumulative().len(), 5); // four bounds and +Inf
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn time_buckets(mut self, buckets: Buckets) -> Self {
        self.settings.time_buckets = Some(buckets);
        self
    }

    /// Ties the pool's life to `parent` (pond's pool context): when `parent`
    /// is cancelled or passes its deadline, the pool stops as
    /// [`Pool::shutdown_now`] does — it closes, queued tasks end
    /// [`TaskError::ShutDown`](crate::TaskError::ShutDown) without running,
    /// running tasks see their context cancelled — and
    /// [`Pool::context_report`] holds that stop's report. Fire-and-forget
    /// tasks receive a child of `parent` (its values included).
    ///
    /// The stop runs on the pool's callback thread, not on the thread that
    /// cancels `parent`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::context::Context;
    /// use gosling::{Pool, TaskError};
    ///
    /// let app = Context::new();
    /// let pool = Pool::builder().workers(1).context(&app).build()?;
    /// assert_eq!(pool.submit(|_| 1).unwrap().wait(), Ok(1));
    /// app.cancel(); // e.g. on Ctrl-C
    /// # let mut report = None;
    /// # for _ in 0..100_000 { report = pool.context_report(); if report.is_some() { break } std::thread::yield_now(); }
    /// assert!(pool.is_closed());
    /// assert!(pool.submit(|_| 2).is_err());
    /// # Ok::<(), gosling::BuildError>(())
    /// ```
    pub fn context(mut self, parent: &Context) -> Self {
        self.context = Some(parent.clone());
        self
    }

    /// Checks the settings and starts the workers; every worker is running
    /// when this returns.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for zero workers, a zero capacity or stack size, or when
    /// the operating system refuses a thread (the workers already started are
    /// stopped and joined first).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gosling::Pool::builder().workers(0).build().is_err());
    /// ```
    pub fn build(self) -> Result<Pool, BuildError> {
        let workers = match self.workers {
            Some(0) => return Err(BuildError::new(BuildErrorKind::ZeroWorkers)),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if self.capacity == Some(0) {
            return Err(BuildError::new(BuildErrorKind::ZeroCapacity));
        }
        if self.settings.stack_size == Some(0) {
            return Err(BuildError::new(BuildErrorKind::ZeroStackSize));
        }
        Pool::start(self, workers)
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("queue", &self.settings.queue)
            .field("capacity", &self.capacity)
            .field("when_full", &self.settings.when_full)
            .field("thread_name", &self.settings.thread_name)
            .field("stack_size", &self.settings.stack_size)
            .field("shutdown_timeout", &self.settings.shutdown_timeout)
            .field("task_timeout", &self.settings.task_timeout)
            .field("retry_policy", &self.settings.retry_policy.is_some())
            .field("rate_limit", &self.settings.rate_limit.is_some())
            .field("resources", &self.settings.resources)
            .field("clock", &self.clock)
            .field("metrics", &self.settings.metrics.is_some())
            .finish_non_exhaustive()
    }
}
