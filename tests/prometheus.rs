//! A real scrape: a Prometheus server (the `prometheus` package, which
//! `.ci/run` installs) scrapes a `MetricsServer` on 127.0.0.1 every second;
//! its HTTP API then says the target is up and holds the pool's own count.
//! Ignored in a plain `cargo test` (it starts a server and takes seconds);
//! `.ci/run` runs it with `--ignored`.

use gosling::Pool;
use gosling::observe::{Metrics, MetricsServer};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills and reaps the server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on the Prometheus API; the body, or `None` while it is not
/// answering yet.
fn api(addr: SocketAddr, path: &str) -> Option<String> {
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// The value of the first sample in an instant-query answer
/// (`"value":[<time>,"<value>"]`), if there is one.
fn first_value(answer: &str) -> Option<String> {
    let at = answer.find("\"value\":[")?;
    let rest = &answer[at..];
    let open = rest.find(",\"")? + 2;
    let close = rest[open..].find('"')?;
    Some(rest[open..open + close].to_string())
}

#[test]
#[ignore = "starts a Prometheus server; .ci/run runs it"]
fn prometheus_scrapes_the_endpoint_and_sees_the_pools_count() {
    let binary = std::env::var("GOSLING_PROMETHEUS").unwrap_or_else(|_| "prometheus".into());
    if Command::new(&binary).arg("--version").output().is_err() {
        assert!(
            std::env::var_os("GOSLING_REQUIRE_PROMETHEUS").is_none(),
            "GOSLING_REQUIRE_PROMETHEUS is set but {binary} was not found"
        );
        println!("checked nothing: {binary} is not installed (apt-get install prometheus)");
        return;
    }
    let metrics = Metrics::new().prefix("gosling_test").unwrap();
    let pool = Pool::builder()
        .workers(2)
        .metrics(metrics.label("pool", "scraped").unwrap())
        .build()
        .unwrap();
    const TASKS: u64 = 137;
    for i in 0..TASKS {
        let _ = pool.submit(move |_| i * 2).unwrap();
    }
    pool.wait_idle().unwrap();
    let endpoint = MetricsServer::builder(&metrics)
        .address("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();

    let dir: PathBuf = std::env::temp_dir().join(format!(
        "gosling-prometheus-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: gosling\n    static_configs:\n      \
             - targets: ['{}']\n",
            endpoint.local_addr()
        ),
    )
    .unwrap();
    let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let _server = Server(
        Command::new(&binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    // Wait (bounded) for a scrape: `up` is 1 once one succeeded.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut up = None;
    while Instant::now() < deadline {
        up = api(web, "/api/v1/query?query=up").and_then(|a| first_value(&a));
        if up.as_deref() == Some("1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    assert_eq!(
        up.as_deref(),
        Some("1"),
        "no successful scrape in 90 s; log:\n{}",
        log()
    );
    let answer = api(
        web,
        "/api/v1/query?query=gosling_test_tasks_completed_total%7Bpool%3D%22scraped%22%7D",
    )
    .expect("the query API answers");
    assert_eq!(
        first_value(&answer).as_deref(),
        Some(TASKS.to_string().as_str()),
        "{answer}"
    );
    assert_eq!(pool.stats().succeeded, TASKS);
    assert!(endpoint.served() >= 1);
    drop(_server);
    let _ = std::fs::remove_dir_all(&dir);
}
