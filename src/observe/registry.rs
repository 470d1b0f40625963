//! [`Metrics`]: the collection a program's metrics are registered in and
//! scraped from, with its name prefix and constant labels; the [`Collect`]
//! trait a component implements to contribute samples, the [`Collector`] it
//! writes them to, and the name rules ([`MetricsError`]).

use super::metric::{Buckets, Counter, Gauge, Histogram, HistogramSnapshot};
use super::snapshot::{Family, MetricKind, MetricsSnapshot, Sample, Value};
use crate::sync::Mutex;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// Why a metric, a label or a histogram's buckets were refused.
///
/// # Examples
///
/// ```
/// use gosling::observe::{Metrics, MetricsError};
///
/// let metrics = Metrics::new();
/// let err = metrics.counter("2fast", "help").unwrap_err();
/// assert!(matches!(err, MetricsError::InvalidName(_)));
/// assert_eq!(err.to_string(), "invalid metric name \"2fast\": must match [a-zA-Z_:][a-zA-Z0-9_:]*");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricsError {
    /// A metric name (with its prefix) that Prometheus would not accept.
    InvalidName(String),
    /// A prefix segment that is not a valid start of a metric name.
    InvalidPrefix(String),
    /// A label name that Prometheus would not accept, or one it reserves
    /// (`__…`, and `le` on a histogram).
    InvalidLabel(String),
    /// Help text longer than [`Metrics::MAX_HELP`] bytes.
    HelpTooLong(String),
    /// Histogram buckets that are not finite and strictly increasing.
    Buckets(String),
    /// A second series with the same name and labels.
    Duplicate(String),
    /// One name registered as two kinds (a counter and a gauge), or with
    /// two help texts.
    Conflict(String),
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricsError::InvalidName(n) => write!(
                f,
                "invalid metric name {n:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
            ),
            MetricsError::InvalidPrefix(p) => {
                write!(
                    f,
                    "invalid metric prefix {p:?}: must match [a-zA-Z_][a-zA-Z0-9_]*"
                )
            }
            MetricsError::InvalidLabel(l) => write!(
                f,
                "invalid label name {l:?}: must match [a-zA-Z_][a-zA-Z0-9_]*, \
                 not start with __, and not be le on a histogram"
            ),
            MetricsError::HelpTooLong(n) => write!(
                f,
                "help text of {n:?} is longer than {} bytes",
                Metrics::MAX_HELP
            ),
            MetricsError::Buckets(why) => write!(f, "invalid buckets: {why}"),
            MetricsError::Duplicate(series) => write!(f, "series {series} is already registered"),
            MetricsError::Conflict(why) => write!(f, "conflicting registration: {why}"),
        }
    }
}

impl std::error::Error for MetricsError {}

/// A source of samples: a component (a pool, a breaker) or a user's own
/// type, registered with [`Metrics::register`] and asked for its samples at
/// every snapshot.
///
/// `collect` writes the current values to the [`Collector`], which adds the
/// registration's prefix and constant labels. It should be quick and must
/// not take a snapshot of the same [`Metrics`].
///
/// # Examples
///
/// ```
/// use gosling::observe::{Collect, Collector, Metrics};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// struct Cache { hits: AtomicU64, entries: AtomicU64 }
///
/// impl Collect for Cache {
///     fn collect(&self, out: &mut Collector<'_>) {
///         out.counter("cache_hits_total", "Lookups answered from the cache.",
///                     self.hits.load(Ordering::Relaxed) as f64);
///         out.gauge("cache_entries", "Entries held.", self.entries.load(Ordering::Relaxed) as f64);
///     }
/// }
///
/// let metrics = Metrics::new().prefix("app")?;
/// let cache = Arc::new(Cache { hits: AtomicU64::new(3), entries: AtomicU64::new(1) });
/// metrics.register(cache)?;
/// assert_eq!(metrics.snapshot().value("app_cache_hits_total", &[]), Some(3.0));
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
pub trait Collect: Send + Sync {
    /// Writes this source's samples.
    fn collect(&self, out: &mut Collector<'_>);
}

/// Where a [`Collect`] writes its samples: each name gets the
/// registration's prefix, each sample its constant labels.
///
/// A sample with an invalid name or label, or one that repeats a series,
/// is left out of the snapshot and counted in
/// [`Metrics::collect_errors`]; registration checks one collection first,
/// so for a source whose names do not change this never happens.
///
/// # Examples
///
/// See [`Collect`].
pub struct Collector<'a> {
    prefix: &'a str,
    labels: &'a [(String, String)],
    families: &'a mut BTreeMap<String, Family>,
    errors: &'a mut Vec<MetricsError>,
}

impl fmt::Debug for Collector<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("prefix", &self.prefix)
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl Collector<'_> {
    /// A counter's value.
    ///
    /// # Examples
    ///
    /// See [`Collect`].
    pub fn counter(&mut self, name: &str, help: &str, value: f64) {
        self.push(name, help, MetricKind::Counter, &[], Value::Number(value));
    }

    /// A counter's value, with labels of its own beside the registration's
    /// (`outcome="success"`). Label values should come from a small set:
    /// never one per task.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Collect, Collector, Metrics};
    /// use std::sync::Arc;
    ///
    /// struct Calls;
    /// impl Collect for Calls {
    ///     fn collect(&self, out: &mut Collector<'_>) {
    ///         out.counter_with("calls_total", "Calls by outcome.", &[("outcome", "ok")], 5.0);
    ///         out.counter_with("calls_total", "Calls by outcome.", &[("outcome", "error")], 1.0);
    ///     }
    /// }
    /// let metrics = Metrics::new();
    /// metrics.register(Arc::new(Calls))?;
    /// assert_eq!(metrics.snapshot().value("calls_total", &[("outcome", "error")]), Some(1.0));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn counter_with(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(
            name,
            help,
            MetricKind::Counter,
            labels,
            Value::Number(value),
        );
    }

    /// A gauge's value.
    ///
    /// # Examples
    ///
    /// See [`Collect`].
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.push(name, help, MetricKind::Gauge, &[], Value::Number(value));
    }

    /// A gauge's value, with labels of its own (see
    /// [`counter_with`](Collector::counter_with)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Collect, Collector, Metrics};
    /// use std::sync::Arc;
    ///
    /// struct Temp;
    /// impl Collect for Temp {
    ///     fn collect(&self, out: &mut Collector<'_>) {
    ///         out.gauge_with("temp_celsius", "Temperature.", &[("room", "a")], 21.5);
    ///     }
    /// }
    /// let metrics = Metrics::new();
    /// metrics.register(Arc::new(Temp))?;
    /// assert_eq!(metrics.snapshot().value("temp_celsius", &[("room", "a")]), Some(21.5));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn gauge_with(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, MetricKind::Gauge, labels, Value::Number(value));
    }

    /// A histogram's counts.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Collect, Collector, Histogram, Metrics};
    /// use std::sync::Arc;
    ///
    /// struct Sizes(Histogram);
    /// impl Collect for Sizes {
    ///     fn collect(&self, out: &mut Collector<'_>) {
    ///         out.histogram("size_bytes", "Sizes.", &self.0.snapshot());
    ///     }
    /// }
    /// let sizes = Arc::new(Sizes(Histogram::new(Default::default())));
    /// sizes.0.observe(3.0);
    /// let metrics = Metrics::new();
    /// metrics.register(sizes)?;
    /// assert!(metrics.render().contains("size_bytes_count 1\n"));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn histogram(&mut self, name: &str, help: &str, value: &HistogramSnapshot) {
        self.histogram_with(name, help, &[], value);
    }

    /// A histogram's counts, with labels of its own (see
    /// [`counter_with`](Collector::counter_with)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Collect, Collector, Histogram, Metrics};
    /// use std::sync::Arc;
    ///
    /// struct Runs(Histogram);
    /// impl Collect for Runs {
    ///     fn collect(&self, out: &mut Collector<'_>) {
    ///         out.histogram_with("run_seconds", "Run time.", &[("job", "backup")], &self.0.snapshot());
    ///     }
    /// }
    /// let metrics = Metrics::new();
    /// metrics.register(Arc::new(Runs(Histogram::new(Default::default()))))?;
    /// assert!(metrics.render().contains("run_seconds_count{job=\"backup\"} 0\n"));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn histogram_with(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        value: &HistogramSnapshot,
    ) {
        self.push(
            name,
            help,
            MetricKind::Histogram,
            labels,
            Value::Histogram(value.clone()),
        );
    }

    fn push(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricKind,
        extra: &[(&str, &str)],
        value: Value,
    ) {
        if let Err(e) = self.try_push(name, help, kind, extra, value) {
            self.errors.push(e);
        }
    }

    fn try_push(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricKind,
        extra: &[(&str, &str)],
        value: Value,
    ) -> Result<(), MetricsError> {
        let full = format!("{}{name}", self.prefix);
        check_name(&full)?;
        if help.len() > Metrics::MAX_HELP {
            return Err(MetricsError::HelpTooLong(full));
        }
        let mut labels = Vec::with_capacity(self.labels.len() + extra.len());
        labels.extend(self.labels.iter().cloned());
        for &(label, value) in extra {
            check_label(label)?;
            labels.push((label.to_string(), value.to_string()));
        }
        if kind == MetricKind::Histogram && labels.iter().any(|(l, _)| l == "le") {
            return Err(MetricsError::InvalidLabel("le".to_string()));
        }
        if let Some(dup) = labels
            .iter()
            .enumerate()
            .find(|(i, (l, _))| labels[..*i].iter().any(|(m, _)| m == l))
        {
            return Err(MetricsError::Duplicate(format!(
                "{full} (label {} given twice)",
                (dup.1).0
            )));
        }
        labels.sort();
        let family = match self.families.get_mut(&full) {
            Some(family) => {
                if family.kind != kind {
                    return Err(MetricsError::Conflict(format!(
                        "{full} is a {} and a {}",
                        family.kind, kind
                    )));
                }
                if family.help != help {
                    return Err(MetricsError::Conflict(format!(
                        "{full} has two help texts: {:?} and {help:?}",
                        family.help
                    )));
                }
                family
            }
            None => self.families.entry(full.clone()).or_insert(Family {
                name: full.clone(),
                help: help.to_string(),
                kind,
                samples: Vec::new(),
            }),
        };
        if family.samples.iter().any(|s| s.labels == labels) {
            return Err(MetricsError::Duplicate(series_name(&full, &labels)));
        }
        family.samples.push(Sample { labels, value });
        Ok(())
    }
}

fn series_name(name: &str, labels: &[(String, String)]) -> String {
    let mut s = name.to_string();
    if !labels.is_empty() {
        s.push('{');
        for (i, (l, v)) in labels.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!("{l}={v:?}"));
        }
        s.push('}');
    }
    s
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
fn check_name(name: &str) -> Result<(), MetricsError> {
    let ok = !name.is_empty()
        && name.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(MetricsError::InvalidName(name.to_string()))
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
fn check_label(label: &str) -> Result<(), MetricsError> {
    if is_identifier(label) && !label.starts_with("__") {
        Ok(())
    } else {
        Err(MetricsError::InvalidLabel(label.to_string()))
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit()))
}

/// How a registration holds its source.
#[derive(Clone)]
enum Source {
    /// Kept alive by the registration (the user's sources).
    Owned(Arc<dyn Collect>),
    /// Kept alive by its owner (a pool): the registration ends when the
    /// owner is dropped.
    Borrowed(Weak<dyn Collect>),
}

#[derive(Clone)]
struct Entry {
    prefix: Arc<str>,
    labels: Arc<[(String, String)]>,
    source: Source,
}

struct Registry {
    entries: Mutex<Vec<Entry>>,
    /// Samples left out of snapshots (see [`Collector`]).
    errors: AtomicU64,
}

/// A collection of metrics: where counters, gauges, histograms and whole
/// components (pools, breakers, a user's [`Collect`]) are registered, and
/// what a scrape renders in the Prometheus text format.
///
/// A `Metrics` is a handle: clones, and the views that
/// [`prefix`](Metrics::prefix) and [`label`](Metrics::label) return, all
/// register into the same collection, each with its own name prefix and
/// constant labels. Names and labels are checked when registered — an
/// invalid one is an error then, never a broken exposition later.
///
/// # Examples
///
/// ```
/// use gosling::observe::Metrics;
///
/// let metrics = Metrics::new().prefix("myapp")?;
/// let jobs = metrics.label("queue", "mail")?.counter("jobs_done_total", "Jobs done.")?;
/// jobs.add(3);
/// let text = metrics.render();
/// assert!(text.contains("# TYPE myapp_jobs_done_total counter\n"));
/// assert!(text.contains("myapp_jobs_done_total{queue=\"mail\"} 3\n"));
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// `ns_sub_`, or empty.
    prefix: Arc<str>,
    labels: Arc<[(String, String)]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("prefix", &self.prefix)
            .field("labels", &self.labels)
            .field("registrations", &self.registry.entries.lock().len())
            .finish()
    }
}

impl Metrics {
    /// The longest help text accepted, in bytes.
    pub const MAX_HELP: usize = 1024;

    /// An empty collection, with no prefix and no constant labels.
    ///
    /// # Examples
    ///
    /// ```
    /// let metrics = gosling::observe::Metrics::new();
    /// assert_eq!(metrics.render(), "");
    /// ```
    #[must_use]
    pub fn new() -> Metrics {
        Metrics {
            registry: Arc::new(Registry {
                entries: Mutex::new(Vec::new()),
                errors: AtomicU64::new(0),
            }),
            prefix: Arc::from(""),
            labels: Arc::from(Vec::new()),
        }
    }

    /// A view of the same collection whose names get `segment_` in front —
    /// once for a namespace (`myapp_…`), again for a subsystem
    /// (`myapp_scheduler_…`).
    ///
    /// # Errors
    ///
    /// [`MetricsError::InvalidPrefix`] unless `segment` matches
    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// let runs = metrics.prefix("myapp")?.prefix("scheduler")?.counter("runs_total", "Runs.")?;
    /// runs.inc();
    /// assert_eq!(metrics.snapshot().value("myapp_scheduler_runs_total", &[]), Some(1.0));
    /// assert!(metrics.prefix("my-app").is_err());
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn prefix(&self, segment: &str) -> Result<Metrics, MetricsError> {
        if !is_identifier(segment) {
            return Err(MetricsError::InvalidPrefix(segment.to_string()));
        }
        Ok(Metrics {
            registry: Arc::clone(&self.registry),
            prefix: Arc::from(format!("{}{segment}_", self.prefix)),
            labels: Arc::clone(&self.labels),
        })
    }

    /// A view of the same collection whose series all carry the constant
    /// label `name="value"` (`pool="ingest"`), beside any this view has.
    ///
    /// # Errors
    ///
    /// [`MetricsError::InvalidLabel`] for a name Prometheus does not accept
    /// or reserves; [`MetricsError::Duplicate`] when this view already has
    /// the label.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// let ingest = metrics.label("pool", "ingest")?;
    /// ingest.gauge("depth", "Queue depth.")?.set(4.0);
    /// assert_eq!(metrics.snapshot().value("depth", &[("pool", "ingest")]), Some(4.0));
    /// assert!(metrics.label("__name", "x").is_err());
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn label(&self, name: &str, value: &str) -> Result<Metrics, MetricsError> {
        check_label(name)?;
        if self.labels.iter().any(|(l, _)| l == name) {
            return Err(MetricsError::Duplicate(format!("label {name}")));
        }
        let mut labels = self.labels.to_vec();
        labels.push((name.to_string(), value.to_string()));
        Ok(Metrics {
            registry: Arc::clone(&self.registry),
            prefix: Arc::clone(&self.prefix),
            labels: Arc::from(labels),
        })
    }

    /// Registers a counter under `name` (after this view's prefix).
    ///
    /// # Errors
    ///
    /// [`MetricsError`] for an invalid name, help text that is too long, a
    /// name already registered as another kind or with another help, or a
    /// series (name and labels) already registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// let sent = metrics.counter("sent_total", "Messages sent.")?;
    /// sent.inc();
    /// assert!(metrics.counter("sent_total", "Messages sent.").is_err()); // the same series
    /// assert_eq!(metrics.snapshot().value("sent_total", &[]), Some(1.0));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn counter(&self, name: &str, help: &str) -> Result<Counter, MetricsError> {
        let counter = Counter::new();
        self.register_one(name, help, Read::Counter(counter.clone()))?;
        Ok(counter)
    }

    /// Registers a gauge under `name` (after this view's prefix).
    ///
    /// # Errors
    ///
    /// As for [`counter`](Metrics::counter).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// let open = metrics.gauge("connections_open", "Open connections.")?;
    /// open.inc();
    /// assert_eq!(metrics.snapshot().value("connections_open", &[]), Some(1.0));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn gauge(&self, name: &str, help: &str) -> Result<Gauge, MetricsError> {
        let gauge = Gauge::new();
        self.register_one(name, help, Read::Gauge(gauge.clone()))?;
        Ok(gauge)
    }

    /// Registers a gauge whose value `read` computes at every snapshot (a
    /// size, a temperature, a rate from a [`Meter`](super::Meter)).
    ///
    /// # Errors
    ///
    /// As for [`counter`](Metrics::counter).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let metrics = Metrics::new();
    /// let cache = Arc::new(AtomicUsize::new(7));
    /// let seen = Arc::clone(&cache);
    /// metrics.gauge_fn("cache_entries", "Entries.", move || seen.load(Ordering::Relaxed) as f64)?;
    /// assert_eq!(metrics.snapshot().value("cache_entries", &[]), Some(7.0));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn gauge_fn<F>(&self, name: &str, help: &str, read: F) -> Result<(), MetricsError>
    where
        F: Fn() -> f64 + Send + Sync + 'static,
    {
        self.register_one(name, help, Read::GaugeFn(Box::new(read)))
    }

    /// Registers a histogram under `name` (after this view's prefix).
    ///
    /// # Errors
    ///
    /// As for [`counter`](Metrics::counter), and
    /// [`MetricsError::InvalidLabel`] when this view has an `le` label.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Buckets, Metrics};
    ///
    /// let metrics = Metrics::new();
    /// let h = metrics.histogram("reply_seconds", "Reply time.", Buckets::latency())?;
    /// h.observe(0.003);
    /// assert!(metrics.render().contains("reply_seconds_bucket{le=\"0.005\"} 1\n"));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: Buckets,
    ) -> Result<Histogram, MetricsError> {
        let histogram = Histogram::new(buckets);
        self.register_one(name, help, Read::Histogram(histogram.clone()))?;
        Ok(histogram)
    }

    fn register_one(&self, name: &str, help: &str, read: Read) -> Result<(), MetricsError> {
        self.register(Arc::new(One {
            name: name.to_string(),
            help: help.to_string(),
            read,
        }))
    }

    /// Registers a source of samples, kept alive by this collection, under
    /// this view's prefix and labels. One collection is taken at once, and
    /// the registration is refused if it has an invalid name or label or
    /// repeats a series already registered.
    ///
    /// # Errors
    ///
    /// The first [`MetricsError`] of that collection.
    ///
    /// # Examples
    ///
    /// See [`Collect`].
    pub fn register(&self, source: Arc<dyn Collect>) -> Result<(), MetricsError> {
        let probe: &dyn Collect = &*source;
        self.check_then_add(probe, Source::Owned(source.clone()))
    }

    /// Registers a source that its owner keeps alive: the registration ends
    /// (its series leave the snapshots) when the owner drops it.
    pub(crate) fn register_weak(&self, source: &Arc<dyn Collect>) -> Result<(), MetricsError> {
        self.check_then_add(&**source, Source::Borrowed(Arc::downgrade(source)))
    }

    fn check_then_add(&self, probe: &dyn Collect, source: Source) -> Result<(), MetricsError> {
        let mut entries = self.registry.entries.lock();
        // Collect everything registered, then the newcomer: its errors are
        // the ones that refuse it. Under the lock, so that two
        // registrations cannot both pass the check.
        let mut families = BTreeMap::new();
        let mut errors = Vec::new();
        entries.retain(|e| live(e).is_some());
        for entry in entries.iter() {
            if let Some(source) = live(entry) {
                collect_into(entry, &*source, &mut families, &mut errors);
            }
        }
        errors.clear();
        let entry = Entry {
            prefix: Arc::clone(&self.prefix),
            labels: Arc::clone(&self.labels),
            source,
        };
        collect_into(&entry, probe, &mut families, &mut errors);
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
        entries.push(entry);
        Ok(())
    }

    /// The current value of every registered metric, collected now.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// metrics.counter("a_total", "A.")?.inc();
    /// let snap = metrics.snapshot();
    /// assert_eq!(snap.families().len(), 1);
    /// assert_eq!(snap.value("a_total", &[]), Some(1.0));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    #[must_use]
    pub fn snapshot(&self) -> MetricsSnapshot {
        // Copied out, so that no source is asked for its samples under the
        // lock (one that registers a metric would deadlock).
        let entries: Vec<Entry> = {
            let mut entries = self.registry.entries.lock();
            entries.retain(|e| live(e).is_some());
            entries.clone()
        };
        let mut families = BTreeMap::new();
        let mut errors = Vec::new();
        for entry in &entries {
            if let Some(source) = live(entry) {
                collect_into(entry, &*source, &mut families, &mut errors);
            }
        }
        // ORDERING: a statistic.
        self.registry
            .errors
            .fetch_add(errors.len() as u64, Ordering::Relaxed);
        MetricsSnapshot::new(families.into_values().collect())
    }

    /// Samples left out of snapshots so far because their source wrote an
    /// invalid name or label or repeated a series after it was registered
    /// (see [`Collector`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::observe::Metrics::new().collect_errors(), 0);
    /// ```
    #[must_use]
    pub fn collect_errors(&self) -> u64 {
        // ORDERING: a statistic.
        self.registry.errors.load(Ordering::Relaxed)
    }

    /// A snapshot in the Prometheus text format (version 0.0.4).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// metrics.gauge("up", "Whether the service is up.")?.set(1.0);
    /// assert_eq!(metrics.render(), "# HELP up Whether the service is up.\n# TYPE up gauge\nup 1\n");
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    #[must_use]
    pub fn render(&self) -> String {
        self.snapshot().to_prometheus()
    }

    /// Writes a snapshot in the Prometheus text format to `out`.
    ///
    /// # Errors
    ///
    /// What writing to `out` returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// metrics.counter("done_total", "Done.")?;
    /// let mut out = Vec::new();
    /// metrics.write_prometheus(&mut out)?;
    /// assert!(out.ends_with(b"done_total 0\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_prometheus(&self, out: &mut dyn io::Write) -> io::Result<()> {
        self.snapshot().write_prometheus(out)
    }
}

fn live(entry: &Entry) -> Option<Arc<dyn Collect>> {
    match &entry.source {
        Source::Owned(source) => Some(Arc::clone(source)),
        Source::Borrowed(source) => source.upgrade(),
    }
}

fn collect_into(
    entry: &Entry,
    source: &dyn Collect,
    families: &mut BTreeMap<String, Family>,
    errors: &mut Vec<MetricsError>,
) {
    let mut out = Collector {
        prefix: &entry.prefix,
        labels: &entry.labels,
        families,
        errors,
    };
    source.collect(&mut out);
}

/// One metric registered by itself.
struct One {
    name: String,
    help: String,
    read: Read,
}

enum Read {
    Counter(Counter),
    Gauge(Gauge),
    GaugeFn(Box<dyn Fn() -> f64 + Send + Sync>),
    Histogram(Histogram),
}

impl Collect for One {
    fn collect(&self, out: &mut Collector<'_>) {
        match &self.read {
            Read::Counter(c) => out.counter(&self.name, &self.help, c.get() as f64),
            Read::Gauge(g) => out.gauge(&self.name, &self.help, g.get()),
            Read::GaugeFn(f) => out.gauge(&self.name, &self.help, f()),
            Read::Histogram(h) => out.histogram(&self.name, &self.help, &h.snapshot()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_rules() {
        for ok in ["a", "_a", "a:b", "a_1", "A9:_"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "é", "a.b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for ok in ["a", "_a", "le", "a1"] {
            assert!(check_label(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "a:b", "__x", "a-b"] {
            assert!(check_label(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn registrations_that_conflict_are_refused() {
        let m = Metrics::new();
        m.counter("x_total", "X.").unwrap();
        assert!(matches!(
            m.gauge("x_total", "X."),
            Err(MetricsError::Conflict(_))
        ));
        assert!(matches!(
            m.label("a", "1").unwrap().counter("x_total", "other help"),
            Err(MetricsError::Conflict(_))
        ));
        // Same name, other labels: one family, two series.
        m.label("a", "1").unwrap().counter("x_total", "X.").unwrap();
        assert!(matches!(
            m.label("a", "1").unwrap().counter("x_total", "X."),
            Err(MetricsError::Duplicate(_))
        ));
        assert!(matches!(
            m.label("le", "1")
                .unwrap()
                .histogram("h", "H.", Buckets::latency()),
            Err(MetricsError::InvalidLabel(_))
        ));
        assert!(matches!(
            m.counter("y", &"h".repeat(Metrics::MAX_HELP + 1)),
            Err(MetricsError::HelpTooLong(_))
        ));
        assert!(matches!(
            m.label("a", "1").unwrap().label("a", "2"),
            Err(MetricsError::Duplicate(_))
        ));
        let snap = m.snapshot();
        assert_eq!(snap.families().len(), 1);
        assert_eq!(snap.families()[0].samples().len(), 2);
        assert_eq!(m.collect_errors(), 0);
    }

    #[test]
    fn a_source_that_changes_its_names_later_loses_only_those_samples() {
        use std::sync::atomic::AtomicBool;
        struct Flaky(AtomicBool);
        impl Collect for Flaky {
            fn collect(&self, out: &mut Collector<'_>) {
                out.gauge("fine", "F.", 1.0);
                if self.0.load(Ordering::Relaxed) {
                    out.gauge("bad name", "B.", 2.0);
                    out.gauge("fine", "F.", 3.0); // a repeated series
                }
            }
        }
        let m = Metrics::new();
        let src = Arc::new(Flaky(AtomicBool::new(false)));
        m.register(src.clone()).unwrap();
        src.0.store(true, Ordering::Relaxed);
        let snap = m.snapshot();
        assert_eq!(snap.value("fine", &[]), Some(1.0));
        assert_eq!(snap.families().len(), 1);
        assert_eq!(m.collect_errors(), 2);
    }

    #[test]
    fn a_weak_registration_ends_with_its_owner() {
        struct G;
        impl Collect for G {
            fn collect(&self, out: &mut Collector<'_>) {
                out.gauge("g", "G.", 1.0);
            }
        }
        let m = Metrics::new();
        let owner: Arc<dyn Collect> = Arc::new(G);
        m.register_weak(&owner).unwrap();
        assert!(m.register_weak(&owner).is_err()); // the same series
        assert_eq!(m.snapshot().value("g", &[]), Some(1.0));
        drop(owner);
        assert_eq!(m.snapshot().families().len(), 0);
        // Its series are free again.
        let again: Arc<dyn Collect> = Arc::new(G);
        m.register_weak(&again).unwrap();
        assert_eq!(
            format!("{m:?}"),
            "Metrics { prefix: \"\", labels: [], registrations: 1 }"
        );
    }
}
