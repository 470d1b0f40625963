//! Observability: metrics a program's monitoring can scrape, in the
//! Prometheus text format, without a metrics crate.
//!
//! - [`Counter`], [`Gauge`], [`Histogram`] (with [`Buckets`]): atomic,
//!   lock-free and allocation-free to update; clones share their values.
//! - [`Meter`] (1, 5 and 15 minute moving rates) and [`WindowCounter`] (the
//!   events in a sliding window), for throughput.
//! - [`Metrics`]: the collection they are registered in, with a name prefix
//!   (`myapp_scheduler_…`) and constant labels (`pool="ingest"`); whole
//!   components register too — a pool with
//!   [`Builder::metrics`](crate::Builder::metrics), a breaker or a user's
//!   own type through [`Collect`].
//! - [`MetricsSnapshot`]: the values at one moment, and their text form.
//! - [`Reporting`]: one thread pushing snapshots to [`Reporter`]s on an
//!   interval — [`JsonLines`] to any writer, [`Statsd`] over UDP.
//! - [`Health`]: named checks with timeouts, aggregated as JSON.
//! - [`MetricsServer`]: a small loopback HTTP endpoint serving `/metrics`,
//!   `/health` and `/ready`.
//!
//! ```
//! use gosling::observe::{Buckets, Metrics};
//! use gosling::Pool;
//!
//! let metrics = Metrics::new().prefix("myapp")?;
//! let pool = Pool::builder()
//!     .workers(2)
//!     .metrics(metrics.label("pool", "ingest")?)
//!     .build()?;
//! let handle = pool.submit(|_| 6 * 7)?;
//! assert_eq!(handle.wait(), Ok(42));
//! pool.wait_idle()?;
//!
//! let snapshot = metrics.snapshot();
//! assert_eq!(snapshot.value("myapp_tasks_completed_total", &[("pool", "ingest")]), Some(1.0));
//! let text = metrics.render(); // what a Prometheus scrape reads
//! assert!(text.contains("# TYPE myapp_task_latency_seconds histogram\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Files: `metric.rs` the primitives; `rate.rs` the meters; `registry.rs`
//! [`Metrics`], [`Collect`] and the name rules; `snapshot.rs` the snapshot
//! and the text format; `report.rs` the push reporters; `health.rs` the checks; `http.rs` the endpoint and
//! its strict HTTP/1.1 request parser. Imports: `sync` and `time` only — the components
//! that report metrics (the pool, the breaker) import this module, never
//! the other way round.

mod health;
mod http;
mod json;
mod metric;
mod rate;
mod registry;
mod report;
mod snapshot;

pub use health::{CheckResult, Health, HealthError, HealthReport, HealthStatus};
pub use http::{MAX_HEAD, MetricsServer, ServeError, ServerBuilder};
pub use metric::{Buckets, Counter, Gauge, Histogram, HistogramSnapshot};
pub use rate::{Meter, WindowCounter};
pub use registry::{Collect, Collector, Metrics, MetricsError};
pub use report::{JsonLines, Reporter, Reporting, Statsd};
pub use snapshot::{Family, MetricKind, MetricsSnapshot, Sample, Value};
