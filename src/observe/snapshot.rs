//! [`MetricsSnapshot`]: the values of a [`Metrics`](super::Metrics)
//! collection at one moment, grouped in families, and their Prometheus text
//! form (version 0.0.4).

use super::metric::HistogramSnapshot;
use std::fmt;
use std::io::{self, Write};

/// What kind of metric a [`Family`] is.
///
/// # Examples
///
/// ```
/// use gosling::observe::MetricKind;
/// assert_eq!(MetricKind::Histogram.to_string(), "histogram");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricKind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Counts in buckets, with a sum and a count.
    Histogram,
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        })
    }
}

/// A sample's value.
///
/// # Examples
///
/// ```
/// use gosling::observe::Value;
/// assert_eq!(Value::Number(2.0).as_number(), Some(2.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A counter's or a gauge's value.
    Number(f64),
    /// A histogram's counts.
    Histogram(HistogramSnapshot),
}

impl Value {
    /// The number, for a counter or a gauge.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Histogram, Value};
    /// let h = Histogram::new(Default::default()).snapshot();
    /// assert_eq!(Value::Histogram(h).as_number(), None);
    /// ```
    #[must_use]
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Histogram(_) => None,
        }
    }

    /// The counts, for a histogram.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Value;
    /// assert!(Value::Number(1.0).as_histogram().is_none());
    /// ```
    #[must_use]
    pub fn as_histogram(&self) -> Option<&HistogramSnapshot> {
        match self {
            Value::Histogram(h) => Some(h),
            Value::Number(_) => None,
        }
    }
}

/// One series: its labels (sorted by name) and its value.
///
/// # Examples
///
/// ```
/// use gosling::observe::Metrics;
///
/// let metrics = Metrics::new().label("pool", "a")?;
/// metrics.counter("n_total", "N.")?.add(2);
/// let snap = metrics.snapshot();
/// let sample = &snap.families()[0].samples()[0];
/// assert_eq!(sample.label("pool"), Some("a"));
/// assert_eq!(sample.value().as_number(), Some(2.0));
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: Value,
}

impl Sample {
    /// The labels, sorted by name.
    ///
    /// # Examples
    ///
    /// See [`Sample`].
    #[must_use]
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// One label's value.
    ///
    /// # Examples
    ///
    /// See [`Sample`].
    #[must_use]
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(l, _)| l == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value.
    ///
    /// # Examples
    ///
    /// See [`Sample`].
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    fn has_labels(&self, labels: &[(&str, &str)]) -> bool {
        self.labels.len() == labels.len() && labels.iter().all(|(l, v)| self.label(l) == Some(*v))
    }
}

/// Every series of one metric name: its help, its kind and its samples
/// (sorted by their labels).
///
/// # Examples
///
/// ```
/// use gosling::observe::{MetricKind, Metrics};
///
/// let metrics = Metrics::new();
/// metrics.gauge("depth", "Queue depth.")?;
/// let snap = metrics.snapshot();
/// let family = snap.family("depth").unwrap();
/// assert_eq!((family.name(), family.help(), family.kind()), ("depth", "Queue depth.", MetricKind::Gauge));
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) kind: MetricKind,
    pub(crate) samples: Vec<Sample>,
}

impl Family {
    /// The full name (with its prefix).
    ///
    /// # Examples
    ///
    /// See [`Family`].
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The help text.
    ///
    /// # Examples
    ///
    /// See [`Family`].
    #[must_use]
    pub fn help(&self) -> &str {
        &self.help
    }

    /// The kind.
    ///
    /// # Examples
    ///
    /// See [`Family`].
    #[must_use]
    pub fn kind(&self) -> MetricKind {
        self.kind
    }

    /// The series, sorted by their labels.
    ///
    /// # Examples
    ///
    /// See [`Sample`].
    #[must_use]
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
}

/// The values of a [`Metrics`](super::Metrics) collection at one moment:
/// one [`Family`] per name, sorted by name — the order of the Prometheus
/// text form, which is stable from one scrape to the next.
///
/// Each registered source is asked once, so the samples of one component
/// (a pool) come from one reading of it and reconcile with each other.
///
/// # Examples
///
/// ```
/// use gosling::observe::Metrics;
///
/// let metrics = Metrics::new();
/// metrics.counter("b_total", "B.")?.inc();
/// metrics.counter("a_total", "A.")?;
/// let snap = metrics.snapshot();
/// let names: Vec<_> = snap.families().iter().map(|f| f.name()).collect();
/// assert_eq!(names, ["a_total", "b_total"]);
/// assert!(snap.to_prometheus().starts_with("# HELP a_total A.\n"));
/// # Ok::<(), gosling::observe::MetricsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsSnapshot {
    families: Vec<Family>,
}

impl MetricsSnapshot {
    pub(crate) fn new(mut families: Vec<Family>) -> MetricsSnapshot {
        for family in &mut families {
            family.samples.sort_by(|a, b| a.labels.cmp(&b.labels));
        }
        MetricsSnapshot { families }
    }

    /// The families, sorted by name.
    ///
    /// # Examples
    ///
    /// See [`MetricsSnapshot`].
    #[must_use]
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// The family called `name` (its full name, with the prefix).
    ///
    /// # Examples
    ///
    /// See [`Family`].
    #[must_use]
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families
            .binary_search_by(|f| f.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.families[i])
    }

    /// The value of the counter or gauge series with exactly these labels.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// metrics.label("pool", "a")?.gauge("busy", "Busy.")?.set(2.0);
    /// let snap = metrics.snapshot();
    /// assert_eq!(snap.value("busy", &[("pool", "a")]), Some(2.0));
    /// assert_eq!(snap.value("busy", &[]), None); // no series without labels
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    #[must_use]
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.sample(name, labels)?.value.as_number()
    }

    /// The counts of the histogram series with exactly these labels.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Buckets, Metrics};
    ///
    /// let metrics = Metrics::new();
    /// metrics.histogram("t_seconds", "T.", Buckets::latency())?.observe(0.5);
    /// assert_eq!(metrics.snapshot().histogram("t_seconds", &[]).map(|h| h.count()), Some(1));
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    #[must_use]
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<&HistogramSnapshot> {
        self.sample(name, labels)?.value.as_histogram()
    }

    fn sample(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Sample> {
        self.family(name)?
            .samples
            .iter()
            .find(|s| s.has_labels(labels))
    }

    /// The Prometheus text form (version 0.0.4): per family a `# HELP` and
    /// a `# TYPE` line, then its samples; label values and help escaped.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::Metrics;
    ///
    /// let metrics = Metrics::new();
    /// metrics.label("path", "C:\\tmp \"x\"")?.counter("hits_total", "Hits.\nTwo lines.")?.inc();
    /// assert_eq!(
    ///     metrics.snapshot().to_prometheus(),
    ///     "# HELP hits_total Hits.\\nTwo lines.\n# TYPE hits_total counter\n\
    ///      hits_total{path=\"C:\\\\tmp \\\"x\\\"\"} 1\n"
    /// );
    /// # Ok::<(), gosling::observe::MetricsError>(())
    /// ```
    #[must_use]
    pub fn to_prometheus(&self) -> String {
        let mut out = Vec::with_capacity(128 * self.families.len());
        self.write_prometheus(&mut out)
            .expect("writing to a Vec does not fail");
        String::from_utf8(out).expect("the text form is built from str")
    }

    /// Writes the Prometheus text form (see
    /// [`to_prometheus`](MetricsSnapshot::to_prometheus)) to `out`,
    /// allocating nothing.
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
    /// metrics.gauge("g", "G.")?.set(0.5);
    /// let mut out = Vec::new();
    /// metrics.snapshot().write_prometheus(&mut out)?;
    /// assert_eq!(out, b"# HELP g G.\n# TYPE g gauge\ng 0.5\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_prometheus(&self, out: &mut dyn Write) -> io::Result<()> {
        for family in &self.families {
            out.write_all(b"# HELP ")?;
            out.write_all(family.name.as_bytes())?;
            out.write_all(b" ")?;
            write_escaped(out, &family.help, false)?;
            writeln!(out, "\n# TYPE {} {}", family.name, family.kind)?;
            for sample in &family.samples {
                match &sample.value {
                    Value::Number(v) => {
                        write_series(out, &family.name, "", &sample.labels, None)?;
                        write_value(out, *v)?;
                    }
                    Value::Histogram(h) => {
                        for &(le, count) in h.buckets() {
                            write_series(out, &family.name, "_bucket", &sample.labels, Some(le))?;
                            writeln!(out, "{count}")?;
                        }
                        write_series(out, &family.name, "_sum", &sample.labels, None)?;
                        write_value(out, h.sum())?;
                        write_series(out, &family.name, "_count", &sample.labels, None)?;
                        writeln!(out, "{}", h.count())?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// `name{labels} ` (the braces only when there are labels).
fn write_series(
    out: &mut dyn Write,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    le: Option<f64>,
) -> io::Result<()> {
    out.write_all(name.as_bytes())?;
    out.write_all(suffix.as_bytes())?;
    if !labels.is_empty() || le.is_some() {
        out.write_all(b"{")?;
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(label.as_bytes())?;
            out.write_all(b"=\"")?;
            write_escaped(out, value, true)?;
            out.write_all(b"\"")?;
        }
        if let Some(le) = le {
            if !labels.is_empty() {
                out.write_all(b",")?;
            }
            out.write_all(b"le=\"")?;
            write_float(out, le)?;
            out.write_all(b"\"")?;
        }
        out.write_all(b"}")?;
    }
    out.write_all(b" ")
}

fn write_value(out: &mut dyn Write, v: f64) -> io::Result<()> {
    write_float(out, v)?;
    out.write_all(b"\n")
}

/// A float as the text format spells it: `+Inf`, `-Inf`, `NaN`, or Rust's
/// shortest round-trip decimal (which Go's `ParseFloat` reads back exactly).
fn write_float(out: &mut dyn Write, v: f64) -> io::Result<()> {
    if v.is_nan() {
        out.write_all(b"NaN")
    } else if v == f64::INFINITY {
        out.write_all(b"+Inf")
    } else if v == f64::NEG_INFINITY {
        out.write_all(b"-Inf")
    } else {
        write!(out, "{v}")
    }
}

/// Help text escapes `\` and newline; a label value also `"`.
fn write_escaped(out: &mut dyn Write, s: &str, quote: bool) -> io::Result<()> {
    let mut rest = s.as_bytes();
    while let Some(i) = rest
        .iter()
        .position(|&b| b == b'\\' || b == b'\n' || (quote && b == b'"'))
    {
        out.write_all(&rest[..i])?;
        out.write_all(match rest[i] {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            _ => b"\\\"",
        })?;
        rest = &rest[i + 1..];
    }
    out.write_all(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: impl Fn(&mut dyn Write) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_are_spelled_as_the_format_wants() {
        for (v, text) in [
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (0.0, "0"),
            (-0.5, "-0.5"),
            (1e-5, "0.00001"),
            (1.5e300, &format!("{}", 1.5e300)),
        ] {
            assert_eq!(render(|o| write_float(o, v)), text);
        }
    }

    #[test]
    fn escaping_covers_backslash_newline_and_quote() {
        assert_eq!(
            render(|o| write_escaped(o, "a\\b\nc\"d", true)),
            "a\\\\b\\nc\\\"d"
        );
        assert_eq!(
            render(|o| write_escaped(o, "a\\b\nc\"d", false)),
            "a\\\\b\\nc\"d"
        );
        assert_eq!(render(|o| write_escaped(o, "plain é", true)), "plain é");
    }

    #[test]
    fn histograms_render_buckets_sum_and_count() {
        let h = HistogramSnapshot::new(vec![(0.5, 1), (f64::INFINITY, 3)], 4.25).unwrap();
        let snap = MetricsSnapshot::new(vec![Family {
            name: "t".into(),
            help: "T.".into(),
            kind: MetricKind::Histogram,
            samples: vec![
                Sample {
                    labels: vec![("p".into(), "b".into())],
                    value: Value::Histogram(h.clone()),
                },
                Sample {
                    labels: vec![("p".into(), "a".into())],
                    value: Value::Histogram(h),
                },
            ],
        }]);
        assert_eq!(
            snap.to_prometheus(),
            "# HELP t T.\n# TYPE t histogram\n\
             t_bucket{p=\"a\",le=\"0.5\"} 1\nt_bucket{p=\"a\",le=\"+Inf\"} 3\n\
             t_sum{p=\"a\"} 4.25\nt_count{p=\"a\"} 3\n\
             t_bucket{p=\"b\",le=\"0.5\"} 1\nt_bucket{p=\"b\",le=\"+Inf\"} 3\n\
             t_sum{p=\"b\"} 4.25\nt_count{p=\"b\"} 3\n"
        );
    }
}
