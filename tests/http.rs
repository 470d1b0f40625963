//! The metrics endpoint (`observe::MetricsServer`) on a live socket: every
//! route and status, the token, slow and oversized clients, the connection
//! bound, `curl` against it (the real client; `.ci/run` has it), and a
//! seeded storm of random and mutated requests after which it still
//! answers `/metrics` correctly.

mod common;

use common::{count, seeded};
use gosling::observe::{CheckResult, Health, MAX_HEAD, Metrics, MetricsServer};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn server(metrics: &Metrics) -> MetricsServer {
    MetricsServer::builder(metrics)
        .address("127.0.0.1:0".parse().unwrap())
        .read_timeout(Duration::from_millis(500))
        .start()
        .unwrap()
}

/// Sends `request` raw and reads until the server closes (bounded: a
/// server that never closes fails the test).
fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A server that answered early may have closed: the rest of the write
    // can fail, and that is fine.
    let _ = conn.write_all(request);
    // Nothing more is coming: an incomplete head is closed at once, not
    // after the server's read timeout.
    let _ = conn.shutdown(Shutdown::Write);
    let mut reply = Vec::new();
    match conn.read_to_end(&mut reply) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("no answer within 10 s: {e}"),
    }
    String::from_utf8_lossy(&reply).into_owned()
}

fn get(addr: SocketAddr, path: &str) -> String {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
    )
}

fn status(reply: &str) -> u16 {
    reply
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {reply:?}"))
}

fn body(reply: &str) -> &str {
    reply.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[test]
fn routes_answer_with_their_status_and_headers() {
    let metrics = Metrics::new();
    metrics.counter("hits_total", "Hits.").unwrap().add(5);
    let ready = Arc::new(AtomicBool::new(true));
    let seen = Arc::clone(&ready);
    let health = Health::new();
    health
        .check("flag", Duration::from_secs(5), move || {
            if seen.load(Ordering::SeqCst) {
                CheckResult::healthy()
            } else {
                CheckResult::unhealthy("flag \"down\"")
            }
        })
        .unwrap();
    let server = MetricsServer::builder(&metrics)
        .address("127.0.0.1:0".parse().unwrap())
        .health(health)
        .start()
        .unwrap();
    let addr = server.local_addr();

    let reply = get(addr, "/metrics");
    assert_eq!(status(&reply), 200, "{reply}");
    assert!(reply.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    assert!(reply.contains("\r\nConnection: close\r\n"));
    assert_eq!(body(&reply), metrics.render());
    let length = format!("\r\nContent-Length: {}\r\n", metrics.render().len());
    assert!(reply.contains(&length), "{reply}");

    let head = exchange(addr, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status(&head), body(&head)), (200, ""));
    assert!(head.contains(&length));

    assert_eq!(status(&get(addr, "/metrics?name=x")), 200);
    assert_eq!(body(&get(addr, "/health")), "ok\n");
    let reply = get(addr, "/ready");
    assert_eq!(status(&reply), 200);
    assert!(
        reply.contains("\r\nContent-Type: application/json\r\n"),
        "{reply}"
    );
    assert_eq!(
        body(&reply),
        r#"{"status":"healthy","checks":[{"name":"flag","status":"healthy","message":""}]}"#
    );
    ready.store(false, Ordering::SeqCst);
    let reply = get(addr, "/ready");
    assert_eq!(status(&reply), 503);
    assert_eq!(
        body(&reply),
        r#"{"status":"unhealthy","checks":[{"name":"flag","status":"unhealthy","message":"flag \"down\""}]}"#
    );
    assert_eq!(status(&get(addr, "/nope")), 404);
    let post = exchange(addr, b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status(&post), 405);
    assert!(post.contains("\r\nAllow: GET, HEAD\r\n"));
    assert_eq!(
        status(&exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n")),
        400
    );
    assert_eq!(
        status(&exchange(addr, b"GET /metrics HTTP/3.0\r\nHost: x\r\n\r\n")),
        505
    );
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(3000));
    assert_eq!(status(&exchange(addr, long.as_bytes())), 414);
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(MAX_HEAD)
    );
    assert_eq!(status(&exchange(addr, huge.as_bytes())), 431);
    assert_eq!(server.served(), 12);
    assert!(format!("{server:?}").starts_with("MetricsServer { local_addr: 127.0.0.1:"));
}

#[test]
fn the_token_guards_metrics_only() {
    let metrics = Metrics::new();
    let server = MetricsServer::builder(&metrics)
        .address("127.0.0.1:0".parse().unwrap())
        .bearer_token("s3cret")
        .start()
        .unwrap();
    let addr = server.local_addr();
    let ask = |auth: &str| {
        status(&exchange(
            addr,
            format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}\r\n").as_bytes(),
        ))
    };
    assert_eq!(ask(""), 401);
    assert_eq!(ask("Authorization: Bearer wrong\r\n"), 401);
    assert_eq!(ask("Authorization: Bearer s3cre\r\n"), 401);
    assert_eq!(ask("Authorization: Basic s3cret\r\n"), 401);
    assert_eq!(ask("Authorization: Bearer s3cret\r\n"), 200);
    assert!(get(addr, "/metrics").contains("\r\nWWW-Authenticate: Bearer\r\n"));
    assert_eq!(status(&get(addr, "/health")), 200);
}

#[test]
fn slow_and_silent_clients_are_cut_off_and_others_are_served() {
    let metrics = Metrics::new();
    let server = MetricsServer::builder(&metrics)
        .address("127.0.0.1:0".parse().unwrap())
        .read_timeout(Duration::from_millis(300))
        .max_connections(2)
        .start()
        .unwrap();
    let addr = server.local_addr();
    // Two silent clients take both places.
    let silent: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // Wait until the server counts both (it answers a third with 503).
    let started = Instant::now();
    loop {
        let reply = get(addr, "/health");
        if status(&reply) == 503 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never saturated"
        );
    }
    // Each silent one gets 408 within the read timeout, then the places
    // are free again.
    for mut conn in silent {
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        assert_eq!(status(&reply), 408);
    }
    common::wait_until("a place to be free again", || {
        status(&get(addr, "/health")) == 200
    });
    // A client trickling one byte at a time is cut off at the deadline for
    // the whole head, not per read.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let began = Instant::now();
    for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\n" {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(30));
        if began.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    let mut reply = String::new();
    let _ = slow.read_to_string(&mut reply);
    assert_eq!(status(&reply), 408, "{reply}");
    assert!(began.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_stopped_server_frees_its_port_and_stops_within_its_timeouts() {
    let metrics = Metrics::new();
    let server = server(&metrics);
    let addr = server.local_addr();
    let _silent = TcpStream::connect(addr).unwrap();
    let began = Instant::now();
    server.shutdown();
    assert!(began.elapsed() < Duration::from_secs(5));
    assert!(TcpStream::connect(addr).is_err());
    // Non-loopback needs the opt-in; bad settings are refused.
    let public = MetricsServer::builder(&metrics).address("0.0.0.0:0".parse().unwrap());
    assert_eq!(
        public.start().unwrap_err().to_string(),
        "0.0.0.0:0 is not a loopback address; call allow_non_loopback() to serve on it"
    );
    let zero = MetricsServer::builder(&metrics)
        .address("127.0.0.1:0".parse().unwrap())
        .max_connections(0);
    assert!(zero.start().is_err());
    let opened = MetricsServer::builder(&metrics)
        .address("0.0.0.0:0".parse().unwrap())
        .allow_non_loopback()
        .start()
        .unwrap();
    let port = opened.local_addr().port();
    assert_eq!(
        status(&get(SocketAddr::from(([127, 0, 0, 1], port)), "/health")),
        200
    );
    drop(opened); // stops as `shutdown` does
    assert!(TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_err());
}

#[test]
fn curl_reads_the_endpoint() {
    let metrics = Metrics::new().prefix("app").unwrap();
    metrics.gauge("up", "Up.").unwrap().set(1.0);
    let server = server(&metrics);
    let url = |path: &str| format!("http://{}{path}", server.local_addr());
    let curl = |args: &[&str]| {
        Command::new("curl")
            .args(["-sS", "--max-time", "10"])
            .args(args)
            .output()
    };
    let out = match curl(&["-i", &url("/metrics")]) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("checked nothing: curl is not installed");
            return;
        }
        Err(e) => panic!("could not run curl: {e}"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains("Content-Type: text/plain; version=0.0.4"),
        "{text}"
    );
    assert!(
        text.ends_with("# HELP app_up Up.\n# TYPE app_up gauge\napp_up 1\n"),
        "{text}"
    );
    let code = |args: &[&str]| {
        let out = curl(args).unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for (path, want) in [("/health", "200"), ("/ready", "200"), ("/missing", "404")] {
        assert_eq!(
            code(&["-o", "/dev/null", "-w", "%{http_code}", &url(path)]),
            want
        );
    }
    assert_eq!(
        code(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
            &url("/metrics")
        ]),
        "405"
    );
    assert_eq!(
        code(&[
            "-I",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url("/metrics")
        ]),
        "200"
    );
}

/// Valid requests, then mutated and random ones, at a live server; every
/// answer is a well-formed status line with an expected code (or the
/// connection closed), and afterwards `/metrics` is still right.
#[test]
fn a_storm_of_random_and_mutated_requests_leaves_it_serving() {
    let rounds = count("GOSLING_HTTP_FUZZ", 100_000);
    let (mut rng, _report) = seeded("GOSLING_HTTP_SEED");
    let metrics = Metrics::new();
    metrics.counter("hits_total", "Hits.").unwrap().add(9);
    let server = MetricsServer::builder(&metrics)
        .address("127.0.0.1:0".parse().unwrap())
        .read_timeout(Duration::from_millis(200))
        .max_connections(64)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let bases: [&[u8]; 4] = [
        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"HEAD /health HTTP/1.0\r\n\r\n",
        b"GET /ready?x=%20 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t\r\nContent-Length: 0\r\n\r\n",
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ];
    let mut answered = 0u64;
    for _ in 0..rounds {
        let mut request = bases[rng.below(bases.len() as u64) as usize].to_vec();
        match rng.below(8) {
            0 => {
                // Random bytes, ended like a head so the server parses them.
                let n = rng.below(200) as usize;
                request = (0..n).map(|_| rng.next() as u8).collect();
                request.extend_from_slice(b"\r\n\r\n");
            }
            1 => {} // as it is
            _ => {
                for _ in 0..=rng.below(4) {
                    let at = rng.below(request.len() as u64) as usize;
                    match rng.below(5) {
                        0 => request[at] = rng.next() as u8,
                        1 => request.insert(at, rng.next() as u8),
                        2 => {
                            request.remove(at);
                        }
                        3 => request.truncate(at),
                        _ => {
                            let copy = request[at..].to_vec();
                            request.extend_from_slice(&copy);
                        }
                    }
                    if request.is_empty() {
                        request.push(b'G');
                    }
                }
            }
        }
        let reply = exchange(addr, &request);
        if reply.is_empty() {
            continue; // an incomplete head, closed when we stopped sending
        }
        let code = status(&reply);
        assert!(
            [200, 400, 404, 405, 408, 414, 431, 503, 505].contains(&code),
            "{code} for {:?}",
            String::from_utf8_lossy(&request)
        );
        answered += 1;
    }
    let reply = get(addr, "/metrics");
    assert_eq!(status(&reply), 200);
    assert_eq!(
        body(&reply),
        "# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 9\n"
    );
    assert!(
        answered > rounds as u64 / 2,
        "only {answered} of {rounds} answered"
    );
}
