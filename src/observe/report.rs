//! Push reporting: the [`Reporter`] trait, [`Reporting`] (one thread that
//! hands a snapshot to every reporter on an interval), and two reporters —
//! [`JsonLines`] to any writer and [`Statsd`] over UDP (plain StatsD or
//! DogStatsD tags). The pull side is [`MetricsServer`](super::MetricsServer).

use super::{Metrics, MetricsSnapshot, Value, json};
use crate::sync::{Condvar, Mutex};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Something that takes a snapshot somewhere: a file, a socket, a log.
///
/// # Examples
///
/// ```
/// use gosling::observe::{Metrics, MetricsSnapshot, Reporter};
///
/// struct Count(usize);
/// impl Reporter for Count {
///     fn report(&mut self, snapshot: &MetricsSnapshot) -> std::io::Result<()> {
///         self.0 += snapshot.families().len();
///         Ok(())
///     }
/// }
/// let metrics = Metrics::new();
/// metrics.counter("a_total", "A.")?;
/// let mut count = Count(0);
/// count.report(&metrics.snapshot())?;
/// assert_eq!(count.0, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Reporter: Send {
    /// Takes one snapshot.
    ///
    /// # Errors
    ///
    /// What writing it failed with; [`Reporting`] counts it and carries on.
    fn report(&mut self, snapshot: &MetricsSnapshot) -> io::Result<()>;
}

/// Reports a [`Metrics`] collection to its reporters every `interval`, on
/// one thread (`gosling-metrics-report`) for all of them. A reporter that
/// fails or panics is counted ([`failures`](Reporting::failures)) and asked
/// again next time. Dropping it (or [`stop`](Reporting::stop)) reports
/// once more, so the last counts are not lost, and joins the thread.
///
/// # Examples
///
/// ```
/// use gosling::observe::{JsonLines, Metrics, Reporting};
/// use std::time::Duration;
///
/// let metrics = Metrics::new();
/// metrics.counter("jobs_total", "Jobs.")?.add(2);
/// let reporting = Reporting::start(&metrics, Duration::from_secs(10), vec![
///     Box::new(JsonLines::new(std::io::sink())),
/// ])?;
/// let (reports, failures) = reporting.stop(); // reports a last time, then joins
/// assert_eq!((reports, failures), (1, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Reporting {
    shared: Arc<ReportShared>,
    thread: Option<JoinHandle<()>>,
}

struct ReportShared {
    stop: Mutex<bool>,
    cv: Condvar,
    reports: AtomicU64,
    failures: AtomicU64,
}

impl fmt::Debug for Reporting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporting")
            .field("reports", &self.reports())
            .field("failures", &self.failures())
            .finish()
    }
}

impl Reporting {
    /// Starts reporting `metrics` to `reporters` every `interval` (the
    /// first report one interval from now).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] for a zero interval; the error of a
    /// thread the operating system refused.
    ///
    /// # Examples
    ///
    /// See [`Reporting`].
    pub fn start(
        metrics: &Metrics,
        interval: Duration,
        mut reporters: Vec<Box<dyn Reporter>>,
    ) -> io::Result<Reporting> {
        if interval.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a reporting interval must not be zero",
            ));
        }
        let shared = Arc::new(ReportShared {
            stop: Mutex::new(false),
            cv: Condvar::new(),
            reports: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        });
        let (metrics, for_thread) = (metrics.clone(), Arc::clone(&shared));
        let thread = thread::Builder::new()
            .name("gosling-metrics-report".to_string())
            .spawn(move || {
                let shared = &*for_thread;
                let mut next = Instant::now() + interval;
                loop {
                    let mut stop = shared.stop.lock();
                    while !*stop {
                        let now = Instant::now();
                        if now >= next {
                            break;
                        }
                        stop = shared.cv.wait_timeout(stop, next - now).0;
                    }
                    let stopping = *stop;
                    drop(stop);
                    report_all(shared, &metrics, &mut reporters);
                    if stopping {
                        return;
                    }
                    // Fixed rate; a late report does not pile up others.
                    next += interval;
                    let now = Instant::now();
                    if next < now {
                        next = now + interval;
                    }
                }
            })?;
        Ok(Reporting {
            shared,
            thread: Some(thread),
        })
    }

    /// Reports made so far (one per interval, each to every reporter).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Metrics, Reporting};
    /// use std::time::Duration;
    /// let r = Reporting::start(&Metrics::new(), Duration::from_secs(60), Vec::new())?;
    /// assert_eq!(r.reports(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn reports(&self) -> u64 {
        // ORDERING: a statistic.
        self.shared.reports.load(Ordering::Relaxed)
    }

    /// Reporter calls that returned an error or panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Metrics, Reporting};
    /// use std::time::Duration;
    /// let r = Reporting::start(&Metrics::new(), Duration::from_secs(60), Vec::new())?;
    /// assert_eq!(r.failures(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn failures(&self) -> u64 {
        // ORDERING: a statistic.
        self.shared.failures.load(Ordering::Relaxed)
    }

    /// Reports a last time, joins the thread, and returns the final
    /// `(reports, failures)`. Dropping does the same, silently.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Metrics, Reporting};
    /// use std::time::Duration;
    /// let r = Reporting::start(&Metrics::new(), Duration::from_secs(60), Vec::new())?;
    /// assert_eq!(r.stop(), (1, 0)); // the last report, at the stop
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(mut self) -> (u64, u64) {
        self.finish();
        (self.reports(), self.failures())
    }

    fn finish(&mut self) {
        if let Some(thread) = self.thread.take() {
            *self.shared.stop.lock() = true;
            self.shared.cv.notify_all();
            let _ = thread.join();
        }
    }
}

impl Drop for Reporting {
    fn drop(&mut self) {
        self.finish();
    }
}

fn report_all(shared: &ReportShared, metrics: &Metrics, reporters: &mut [Box<dyn Reporter>]) {
    let snapshot = metrics.snapshot();
    for reporter in reporters.iter_mut() {
        let ok = matches!(
            catch_unwind(AssertUnwindSafe(|| reporter.report(&snapshot))),
            Ok(Ok(()))
        );
        if !ok {
            // ORDERING: a statistic.
            shared.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
    // ORDERING: a statistic.
    shared.reports.fetch_add(1, Ordering::Relaxed);
}

/// Writes each snapshot as JSON lines, one object per series:
/// `{"ts_ms":…,"name":…,"type":"counter","labels":{…},"value":…}`, and
/// for a histogram `"count"`, `"sum"` and `"buckets":[[le,count],…]`
/// (cumulative; the last `le` is `"+Inf"`). Non-finite values are written
/// as the strings `"NaN"`, `"+Inf"`, `"-Inf"` (JSON has no such numbers).
///
/// # Examples
///
/// ```
/// use gosling::observe::{JsonLines, Metrics, Reporter};
///
/// let metrics = Metrics::new();
/// metrics.label("pool", "a")?.counter("done_total", "Done.")?.add(3);
/// let mut out = JsonLines::new(Vec::new());
/// out.report(&metrics.snapshot())?;
/// let text = String::from_utf8(out.into_inner())?;
/// assert!(text.ends_with(r#","name":"done_total","type":"counter","labels":{"pool":"a"},"value":3}
/// "#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JsonLines<W> {
    out: W,
}

impl<W: Write + Send> JsonLines<W> {
    /// Writes to `out` (a file, stdout, a socket).
    ///
    /// # Examples
    ///
    /// See [`JsonLines`].
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines { out }
    }

    /// The writer back.
    ///
    /// # Examples
    ///
    /// See [`JsonLines`].
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Send> Reporter for JsonLines<W> {
    fn report(&mut self, snapshot: &MetricsSnapshot) -> io::Result<()> {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut line = String::new();
        for family in snapshot.families() {
            for sample in family.samples() {
                line.clear();
                line.push_str(&format!("{{\"ts_ms\":{ts},\"name\":"));
                json::string(&mut line, family.name());
                line.push_str(&format!(",\"type\":\"{}\",\"labels\":{{", family.kind()));
                for (i, (l, v)) in sample.labels().iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    json::string(&mut line, l);
                    line.push(':');
                    json::string(&mut line, v);
                }
                line.push('}');
                match sample.value() {
                    Value::Number(v) => {
                        line.push_str(",\"value\":");
                        json::number(&mut line, *v);
                    }
                    Value::Histogram(h) => {
                        line.push_str(&format!(",\"count\":{},\"sum\":", h.count()));
                        json::number(&mut line, h.sum());
                        line.push_str(",\"buckets\":[");
                        for (i, (le, n)) in h.buckets().iter().enumerate() {
                            if i > 0 {
                                line.push(',');
                            }
                            line.push('[');
                            json::number(&mut line, *le);
                            line.push_str(&format!(",{n}]"));
                        }
                        line.push(']');
                    }
                }
                line.push_str("}\n");
                self.out.write_all(line.as_bytes())?;
            }
        }
        self.out.flush()
    }
}

/// The most bytes of one StatsD datagram (fits an Ethernet frame).
const DATAGRAM: usize = 1432;

/// Sends each snapshot to a StatsD (or DogStatsD) server over UDP.
///
/// Counters go as the increase since the last report (`name:5|c`; StatsD
/// counts deltas), gauges as their value (`name:3|g`), histograms as the
/// increase of their count and sum (`name_count:…|c`, `name_sum:…|c`).
/// Labels become DogStatsD tags (`|#pool:ingest`) or, in plain StatsD,
/// name segments (`tasks_completed_total.ingest`). Lines are packed into
/// datagrams of at most 1,432 bytes. UDP does not say whether a datagram
/// arrived: a lost one is lost.
///
/// # Examples
///
/// ```
/// use gosling::observe::{Metrics, Reporter, Statsd};
/// use std::net::UdpSocket;
///
/// let server = UdpSocket::bind("127.0.0.1:0")?;
/// let metrics = Metrics::new();
/// let sent = metrics.label("queue", "mail")?.counter("sent_total", "Sent.")?;
/// let mut statsd = Statsd::dogstatsd(server.local_addr()?)?;
/// sent.add(4);
/// statsd.report(&metrics.snapshot())?;
/// let mut buf = [0u8; 1500];
/// let n = server.recv(&mut buf)?;
/// assert_eq!(&buf[..n], b"sent_total:4|c|#queue:mail\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Statsd {
    socket: UdpSocket,
    tags: bool,
    /// The last value sent per counter series, for the deltas.
    last: HashMap<String, f64>,
}

impl fmt::Debug for Statsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Statsd")
            .field("peer", &self.socket.peer_addr().ok())
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

impl Statsd {
    /// Plain StatsD at `server` (labels as name segments).
    ///
    /// # Errors
    ///
    /// Binding or connecting the local UDP socket failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Metrics, Reporter, Statsd};
    /// use std::net::UdpSocket;
    ///
    /// let server = UdpSocket::bind("127.0.0.1:0")?;
    /// let metrics = Metrics::new();
    /// metrics.label("pool", "a.b")?.gauge("depth", "Depth.")?.set(2.0);
    /// Statsd::new(server.local_addr()?)?.report(&metrics.snapshot())?;
    /// let mut buf = [0u8; 1500];
    /// let n = server.recv(&mut buf)?;
    /// assert_eq!(&buf[..n], b"depth.a_b:2|g\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(server: SocketAddr) -> io::Result<Statsd> {
        Statsd::open(server, false)
    }

    /// DogStatsD at `server` (labels as `|#name:value` tags).
    ///
    /// # Errors
    ///
    /// As for [`new`](Statsd::new).
    ///
    /// # Examples
    ///
    /// See [`Statsd`].
    pub fn dogstatsd(server: SocketAddr) -> io::Result<Statsd> {
        Statsd::open(server, true)
    }

    fn open(server: SocketAddr, tags: bool) -> io::Result<Statsd> {
        let local: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse().expect("a valid address")
        } else {
            "[::]:0".parse().expect("a valid address")
        };
        let socket = UdpSocket::bind(local)?;
        socket.connect(server)?;
        Ok(Statsd {
            socket,
            tags,
            last: HashMap::new(),
        })
    }

    /// `name` plus the labels as segments or tags, then `:value|kind`.
    fn line(
        &self,
        out: &mut String,
        name: &str,
        labels: &[(String, String)],
        value: f64,
        kind: &str,
    ) {
        out.push_str(name);
        if !self.tags {
            for (_, v) in labels {
                out.push('.');
                out.extend(v.chars().map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                }));
            }
        }
        out.push_str(&format!(":{value}|{kind}"));
        if self.tags && !labels.is_empty() {
            out.push_str("|#");
            for (i, (l, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(l);
                out.push(':');
                out.extend(v.chars().map(|c| {
                    if matches!(c, ',' | '|' | '#' | '\n') {
                        '_'
                    } else {
                        c
                    }
                }));
            }
        }
        out.push('\n');
    }

    /// The increase of a counter series since the last report (all of it
    /// the first time; 0 if it went down, as after a restart).
    fn delta(&mut self, key: String, value: f64) -> f64 {
        let before = self.last.insert(key, value).unwrap_or(0.0);
        (value - before).max(0.0)
    }
}

impl Reporter for Statsd {
    fn report(&mut self, snapshot: &MetricsSnapshot) -> io::Result<()> {
        let mut lines = Vec::new();
        for family in snapshot.families() {
            for sample in family.samples() {
                let key = |suffix: &str| format!("{}{suffix}{:?}", family.name(), sample.labels());
                let mut line = String::new();
                match (family.kind(), sample.value()) {
                    (super::MetricKind::Gauge, Value::Number(v)) if v.is_finite() => {
                        self.line(&mut line, family.name(), sample.labels(), *v, "g");
                    }
                    (_, Value::Number(v)) if v.is_finite() => {
                        let d = self.delta(key(""), *v);
                        self.line(&mut line, family.name(), sample.labels(), d, "c");
                    }
                    (_, Value::Histogram(h)) => {
                        let count = self.delta(key("_count"), h.count() as f64);
                        let sum = self.delta(key("_sum"), h.sum());
                        let name = family.name();
                        self.line(
                            &mut line,
                            &format!("{name}_count"),
                            sample.labels(),
                            count,
                            "c",
                        );
                        self.line(&mut line, &format!("{name}_sum"), sample.labels(), sum, "c");
                    }
                    _ => continue, // NaN and infinities have no StatsD form
                }
                lines.push(line);
            }
        }
        // Pack whole lines into datagrams.
        let mut datagram = String::with_capacity(DATAGRAM);
        for line in lines {
            if !datagram.is_empty() && datagram.len() + line.len() > DATAGRAM {
                self.socket.send(datagram.as_bytes())?;
                datagram.clear();
            }
            datagram.push_str(&line);
        }
        if !datagram.is_empty() {
            self.socket.send(datagram.as_bytes())?;
        }
        Ok(())
    }
}
