//! Push reporting (`observe::Reporting`, `JsonLines`, `Statsd`): reports
//! arrive on the interval and once more at the stop, failing and panicking
//! reporters are counted without stopping the others, and a StatsD
//! reporter's datagrams, received on a local UDP socket and parsed, carry
//! deltas for counters, values for gauges, and whole lines in datagrams of
//! at most 1,432 bytes.

mod common;

use gosling::observe::{JsonLines, Metrics, MetricsSnapshot, Reporter, Reporting, Statsd};
use std::collections::HashMap;
use std::io;
use std::net::UdpSocket;
use std::sync::mpsc;
use std::time::Duration;

struct Sends(mpsc::Sender<f64>);

impl Reporter for Sends {
    fn report(&mut self, snapshot: &MetricsSnapshot) -> io::Result<()> {
        let _ = self
            .0
            .send(snapshot.value("ticks_total", &[]).unwrap_or(-1.0));
        Ok(())
    }
}

struct Fails;

impl Reporter for Fails {
    fn report(&mut self, _: &MetricsSnapshot) -> io::Result<()> {
        Err(io::Error::other("disk full"))
    }
}

struct Panics;

impl Reporter for Panics {
    fn report(&mut self, _: &MetricsSnapshot) -> io::Result<()> {
        panic!("{} reporter", common::EXPECTED)
    }
}

#[test]
fn reports_come_on_the_interval_and_once_more_at_the_stop() {
    common::quiet_expected_panics();
    let metrics = Metrics::new();
    let ticks = metrics.counter("ticks_total", "Ticks.").unwrap();
    let (tx, rx) = mpsc::channel();
    let reporting = Reporting::start(
        &metrics,
        Duration::from_millis(5),
        vec![Box::new(Fails), Box::new(Panics), Box::new(Sends(tx))],
    )
    .unwrap();
    for n in 0..3 {
        ticks.inc();
        // Each report after the increment sees at least it.
        loop {
            let seen = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a report within 10 s");
            if seen >= f64::from(n + 1) {
                break;
            }
        }
    }
    ticks.add(100);
    let (reports, failures) = reporting.stop();
    assert!(reports >= 4, "{reports}"); // three seen, and the last
    assert_eq!(
        failures,
        2 * reports,
        "the failing and the panicking one, every time"
    );
    // The last report, made by the stop, saw the last count.
    let last = rx.try_iter().last();
    assert_eq!(last, Some(103.0));
    assert!(Reporting::start(&metrics, Duration::ZERO, Vec::new()).is_err());
}

#[test]
fn json_lines_write_one_object_per_series() {
    let metrics = Metrics::new().prefix("app").unwrap();
    metrics.gauge("temp", "T.").unwrap().set(f64::NAN);
    let h = metrics
        .label("route", "/x\"")
        .unwrap()
        .histogram(
            "reply_seconds",
            "R.",
            gosling::observe::Buckets::new(vec![0.1]).unwrap(),
        )
        .unwrap();
    h.observe(0.05);
    let mut out = JsonLines::new(Vec::new());
    out.report(&metrics.snapshot()).unwrap();
    let text = String::from_utf8(out.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let strip = |l: &str| l.split_once(',').unwrap().1.to_string(); // drop ts_ms
    assert_eq!(
        strip(lines[0]),
        r#""name":"app_reply_seconds","type":"histogram","labels":{"route":"/x\""},"count":1,"sum":0.05,"buckets":[[0.1,1],["+Inf",1]]}"#
    );
    assert_eq!(
        strip(lines[1]),
        r#""name":"app_temp","type":"gauge","labels":{},"value":"NaN"}"#
    );
    assert!(lines.iter().all(|l| l.starts_with("{\"ts_ms\":")));
}

/// Receives every datagram now waiting (bounded by a read timeout) and
/// parses its lines into `name|kind|tags -> value`.
fn receive(server: &UdpSocket) -> (Vec<usize>, HashMap<String, f64>) {
    let mut sizes = Vec::new();
    let mut values = HashMap::new();
    let mut buf = [0u8; 65_536];
    server
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    while let Ok(n) = server.recv(&mut buf) {
        sizes.push(n);
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.ends_with('\n'), "a datagram of whole lines: {text:?}");
        for line in text.lines() {
            let (name, rest) = line.split_once(':').unwrap();
            let mut parts = rest.split('|');
            let value: f64 = parts.next().unwrap().parse().unwrap();
            let kind = parts.next().unwrap();
            let tags = parts.next().unwrap_or("");
            assert!(parts.next().is_none(), "{line}");
            values.insert(format!("{name}|{kind}|{tags}"), value);
        }
    }
    (sizes, values)
}

#[test]
fn statsd_sends_deltas_values_and_whole_lines() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let metrics = Metrics::new();
    let jobs = metrics
        .label("queue", "mail")
        .unwrap()
        .counter("jobs_total", "Jobs.")
        .unwrap();
    let depth = metrics.gauge("depth", "Depth.").unwrap();
    let h = metrics
        .histogram("t_seconds", "T.", gosling::observe::Buckets::latency())
        .unwrap();
    // Enough series for several datagrams.
    for i in 0..120 {
        metrics
            .label("n", &i.to_string())
            .unwrap()
            .counter("many_total", "Many.")
            .unwrap()
            .add(i);
    }
    let mut statsd = Statsd::dogstatsd(server.local_addr().unwrap()).unwrap();
    jobs.add(5);
    depth.set(3.0);
    h.observe(0.5);
    statsd.report(&metrics.snapshot()).unwrap();
    let (sizes, first) = receive(&server);
    assert!(sizes.len() > 1, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 1432), "{sizes:?}");
    assert_eq!(first["jobs_total|c|#queue:mail"], 5.0);
    assert_eq!(first["depth|g|"], 3.0);
    assert_eq!(first["t_seconds_count|c|"], 1.0);
    assert_eq!(first["t_seconds_sum|c|"], 0.5);
    assert_eq!(first["many_total|c|#n:119"], 119.0);
    assert_eq!(first.len(), 1 + 1 + 2 + 120);
    // The second report: counters as increases, gauges as values.
    jobs.add(2);
    depth.set(1.0);
    statsd.report(&metrics.snapshot()).unwrap();
    let (_, second) = receive(&server);
    assert_eq!(second["jobs_total|c|#queue:mail"], 2.0);
    assert_eq!(second["depth|g|"], 1.0);
    assert_eq!(second["t_seconds_count|c|"], 0.0);
    assert_eq!(second["many_total|c|#n:119"], 0.0);
    assert!(format!("{statsd:?}").starts_with("Statsd { peer: Some(127.0.0.1:"));
}
