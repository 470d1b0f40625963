//! [`MetricsServer`]: a small, strict HTTP/1.1 responder that serves a
//! [`Metrics`] collection to a Prometheus scrape, and liveness and
//! readiness to a prober.
//!
//! One acceptor thread; one thread per connection, at most
//! [`ServerBuilder::max_connections`] at once (a connection past the limit
//! gets `503` and is closed). Every connection answers one request and
//! closes (`Connection: close`). The request head is read into a fixed
//! buffer of [`MAX_HEAD`] bytes within one deadline for the whole head, so a
//! client that sends slowly, too much or garbage costs a bounded buffer for
//! a bounded time. Parsing (`parse_head`) is a pure function over the bytes.

use super::{Health, HealthStatus, Metrics};
use crate::sync::{Condvar, Mutex};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The most bytes of a request head (request line and headers) read.
pub const MAX_HEAD: usize = 8 * 1024;
/// The longest request target accepted.
const MAX_TARGET: usize = 2048;
/// The most header fields accepted.
const MAX_HEADERS: usize = 64;

/// Why a [`MetricsServer`] did not start.
///
/// # Examples
///
/// ```
/// use gosling::observe::{Metrics, MetricsServer, ServeError};
///
/// let err = MetricsServer::builder(&Metrics::new())
///     .address("0.0.0.0:0".parse()?)
///     .start()
///     .unwrap_err();
/// assert!(matches!(err, ServeError::NotLoopback(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The address is not a loopback address and
    /// [`allow_non_loopback`](ServerBuilder::allow_non_loopback) was not set.
    NotLoopback(SocketAddr),
    /// A setting is out of range (named).
    InvalidSetting(&'static str),
    /// Binding the address failed.
    Bind(io::Error),
    /// The operating system refused a thread.
    Spawn(io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::NotLoopback(addr) => write!(
                f,
                "{addr} is not a loopback address; call allow_non_loopback() to serve on it"
            ),
            ServeError::InvalidSetting(what) => write!(f, "invalid setting: {what}"),
            ServeError::Bind(e) => write!(f, "could not bind: {e}"),
            ServeError::Spawn(e) => write!(f, "could not start a server thread: {e}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Bind(e) | ServeError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// Settings for a [`MetricsServer`]; made by [`MetricsServer::builder`].
///
/// | setting | default |
/// |---|---|
/// | [`address`](ServerBuilder::address) | `127.0.0.1:9464` |
/// | [`allow_non_loopback`](ServerBuilder::allow_non_loopback) | off: loopback only |
/// | [`bearer_token`](ServerBuilder::bearer_token) | none |
/// | [`max_connections`](ServerBuilder::max_connections) | 16 |
/// | [`read_timeout`](ServerBuilder::read_timeout) | 5 s for the whole request head |
/// | [`write_timeout`](ServerBuilder::write_timeout) | 5 s per write |
/// | [`health`](ServerBuilder::health) | no checks: always ready |
///
/// # Examples
///
/// ```
/// use gosling::observe::{Metrics, MetricsServer};
/// use std::time::Duration;
///
/// let server = MetricsServer::builder(&Metrics::new())
///     .address("127.0.0.1:0".parse()?)
///     .max_connections(4)
///     .read_timeout(Duration::from_secs(2))
///     .start()?;
/// assert!(server.local_addr().ip().is_loopback());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `start` is called"]
pub struct ServerBuilder {
    metrics: Metrics,
    address: SocketAddr,
    allow_non_loopback: bool,
    token: Option<String>,
    max_connections: usize,
    read_timeout: Duration,
    write_timeout: Duration,
    health: Option<Health>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("address", &self.address)
            .field("allow_non_loopback", &self.allow_non_loopback)
            .field("bearer_token", &self.token.is_some())
            .field("max_connections", &self.max_connections)
            .field("read_timeout", &self.read_timeout)
            .field("write_timeout", &self.write_timeout)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Where to listen; port 0 picks a free port (see
    /// [`MetricsServer::local_addr`]).
    ///
    /// # Examples
    ///
    /// See [`ServerBuilder`].
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Allows an address other than loopback (`0.0.0.0`, a public
    /// interface). Then anyone who can reach the port can read the metrics:
    /// consider a [`bearer_token`](ServerBuilder::bearer_token).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Metrics, MetricsServer};
    /// let server = MetricsServer::builder(&Metrics::new())
    ///     .address("0.0.0.0:0".parse()?)
    ///     .allow_non_loopback()
    ///     .bearer_token("s3cret")
    ///     .start()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_non_loopback(mut self) -> Self {
        self.allow_non_loopback = true;
        self
    }

    /// Requires `Authorization: Bearer <token>` on `/metrics` (answered
    /// `401` otherwise; compared in constant time). `/health` and `/ready`
    /// stay open, for probes.
    ///
    /// # Examples
    ///
    /// See [`allow_non_loopback`](ServerBuilder::allow_non_loopback).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The most connections served at once (1 to 1024); one more is
    /// answered `503` and closed.
    ///
    /// # Examples
    ///
    /// See [`ServerBuilder`].
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// How long a client has to send its whole request head (a slow client
    /// gets `408` and is closed).
    ///
    /// # Examples
    ///
    /// See [`ServerBuilder`].
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How long one write of the response may block (a client that does
    /// not read is closed).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Metrics, MetricsServer};
    /// use std::time::Duration;
    /// let server = MetricsServer::builder(&Metrics::new())
    ///     .address("127.0.0.1:0".parse()?)
    ///     .write_timeout(Duration::from_secs(1))
    ///     .start()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// What `/ready` reports: the [`Health`] checks, run for each request —
    /// `200` unless one is unhealthy (degraded is still ready), `503` then;
    /// the body is the report's JSON. Without checks, `/ready` is always
    /// `200`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Health, Metrics, MetricsServer};
    /// use gosling::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(1)?;
    /// let health = Health::new();
    /// health.check("pool", Duration::from_secs(1), pool.health_check(0.9))?;
    /// let server = MetricsServer::builder(&Metrics::new())
    ///     .address("127.0.0.1:0".parse()?)
    ///     .health(health)
    ///     .start()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn health(mut self, health: Health) -> Self {
        self.health = Some(health);
        self
    }

    /// Binds the address and starts serving.
    ///
    /// # Errors
    ///
    /// [`ServeError`]: a non-loopback address without
    /// [`allow_non_loopback`](ServerBuilder::allow_non_loopback), a setting
    /// out of range, a failed bind, or a refused thread.
    ///
    /// # Examples
    ///
    /// See [`MetricsServer`].
    pub fn start(self) -> Result<MetricsServer, ServeError> {
        if !self.address.ip().is_loopback() && !self.allow_non_loopback {
            return Err(ServeError::NotLoopback(self.address));
        }
        if !(1..=1024).contains(&self.max_connections) {
            return Err(ServeError::InvalidSetting(
                "max_connections must be 1 to 1024",
            ));
        }
        if self.read_timeout.is_zero() || self.write_timeout.is_zero() {
            return Err(ServeError::InvalidSetting("timeouts must not be zero"));
        }
        let listener = TcpListener::bind(self.address).map_err(ServeError::Bind)?;
        let local = listener.local_addr().map_err(ServeError::Bind)?;
        let shared = Arc::new(Shared {
            metrics: self.metrics,
            token: self.token,
            max_connections: self.max_connections,
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            health: self.health,
            stop: AtomicBool::new(false),
            active: Mutex::new(0),
            idle: Condvar::new(),
            served: AtomicU64::new(0),
        });
        let for_thread = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("gosling-metrics-http".to_string())
            .spawn(move || accept_loop(&listener, &for_thread))
            .map_err(ServeError::Spawn)?;
        Ok(MetricsServer {
            local,
            shared,
            acceptor: Some(acceptor),
        })
    }
}

/// Serves a [`Metrics`] collection over HTTP: `GET /metrics` (the
/// Prometheus text format, `Content-Type: text/plain; version=0.0.4`),
/// `GET /health` (`200` while the server runs) and `GET /ready` (`200` or
/// `503`, with the JSON of the [`Health`] checks, see
/// [`ServerBuilder::health`]); `HEAD` for each. Anything else
/// is `404` (or `405` for another method on those paths); a malformed
/// request `400`, an oversized head `431`, a long target `414`, a slow one
/// `408`. Each connection answers one request.
///
/// It binds to loopback unless told otherwise, reads at most
/// [`MAX_HEAD`] bytes per request, bounds how long it waits for a client
/// and how many it serves at once, and stops — the acceptor joined, the
/// connections ended within their timeouts — when dropped or
/// [`shut down`](MetricsServer::shutdown).
///
/// Threads: `gosling-metrics-http` (the acceptor) and one
/// `gosling-metrics-conn` per connection being served.
///
/// # Examples
///
/// ```
/// use gosling::observe::{Metrics, MetricsServer};
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
///
/// let metrics = Metrics::new();
/// metrics.counter("jobs_total", "Jobs.")?.add(7);
/// let server = MetricsServer::builder(&metrics).address("127.0.0.1:0".parse()?).start()?;
///
/// let mut conn = TcpStream::connect(server.local_addr())?;
/// conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
/// let mut reply = String::new();
/// conn.read_to_string(&mut reply)?;
/// assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(reply.ends_with("jobs_total 7\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MetricsServer {
    local: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    metrics: Metrics,
    token: Option<String>,
    max_connections: usize,
    read_timeout: Duration,
    write_timeout: Duration,
    health: Option<Health>,
    stop: AtomicBool,
    /// Connections being served; `idle` is notified when one ends.
    active: Mutex<usize>,
    idle: Condvar,
    /// Requests answered (any status).
    served: AtomicU64,
}

impl fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsServer")
            .field("local_addr", &self.local)
            .field("served", &self.served())
            .finish_non_exhaustive()
    }
}

impl MetricsServer {
    /// Settings for a server of `metrics` (see [`ServerBuilder`]).
    ///
    /// # Examples
    ///
    /// See [`MetricsServer`].
    pub fn builder(metrics: &Metrics) -> ServerBuilder {
        ServerBuilder {
            metrics: metrics.clone(),
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464),
            allow_non_loopback: false,
            token: None,
            max_connections: 16,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            health: None,
        }
    }

    /// The address it listens on (with the port picked, for port 0).
    ///
    /// # Examples
    ///
    /// See [`MetricsServer`].
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Requests answered so far, whatever their status.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Metrics, MetricsServer};
    /// let server = MetricsServer::builder(&Metrics::new()).address("127.0.0.1:0".parse()?).start()?;
    /// assert_eq!(server.served(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn served(&self) -> u64 {
        // ORDERING: a statistic.
        self.shared.served.load(Ordering::Relaxed)
    }

    /// Stops accepting, joins the acceptor, and waits for the connections
    /// being served to end (each within its timeouts). Dropping the server
    /// does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::observe::{Metrics, MetricsServer};
    /// use std::net::TcpStream;
    ///
    /// let server = MetricsServer::builder(&Metrics::new()).address("127.0.0.1:0".parse()?).start()?;
    /// let addr = server.local_addr();
    /// server.shutdown();
    /// assert!(TcpStream::connect(addr).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        // ORDERING: the acceptor reads it after every accept.
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocked accept with a connection of our own.
        let wake = match self.local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.local.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.local.port())
            }
            _ => self.local,
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = acceptor.join();
        // Connections end within their read and write timeouts.
        let bound = Instant::now() + self.shared.read_timeout + self.shared.write_timeout * 2;
        let mut active = self.shared.active.lock();
        while *active > 0 {
            let now = Instant::now();
            if now >= bound {
                break;
            }
            active = self.shared.idle.wait_timeout(active, bound - now).0;
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        // ORDERING: see `MetricsServer::stop`.
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of descriptors, or a connection reset before it was
            // accepted: back off a little rather than spin.
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let admitted = {
            let mut active = shared.active.lock();
            if *active < shared.max_connections {
                *active += 1;
                true
            } else {
                false
            }
        };
        if !admitted {
            let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
            respond(shared, &stream, &busy(), true, false);
            continue;
        }
        let for_thread = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("gosling-metrics-conn".to_string())
            .spawn(move || {
                serve(&for_thread, &stream);
                let mut active = for_thread.active.lock();
                *active -= 1;
                for_thread.idle.notify_all();
            });
        if spawned.is_err() {
            // The stream went with the closure and is closed; give the
            // place back.
            *shared.active.lock() -= 1;
        }
    }
}

fn busy() -> Response {
    Response::text(503, "too many connections\n")
}

/// Answers one request on `stream`, then closes it.
fn serve(shared: &Shared, stream: &TcpStream) {
    let _ = stream.set_write_timeout(Some(shared.write_timeout));
    let mut buf = [0u8; MAX_HEAD];
    let response = match read_head(stream, &mut buf, shared.read_timeout) {
        Ok(Some(len)) => match parse_head(&buf[..len]) {
            Ok(request) => route(shared, &request),
            Err(status) => Response::status(status),
        },
        Ok(None) => return, // closed before a whole head: nobody to answer
        Err(status) => Response::status(status),
    };
    let head_only = buf.starts_with(b"HEAD ");
    respond(shared, stream, &response, head_only, true);
}

/// Reads until the blank line that ends the head; `Ok(Some(len))` with
/// the head's length (through the blank line), `Ok(None)` when the client
/// closed first, `Err(status)` for a head too large (431) or too slow (408).
fn read_head(
    mut stream: &TcpStream,
    buf: &mut [u8],
    within: Duration,
) -> Result<Option<usize>, u16> {
    let deadline = Instant::now() + within;
    let mut len = 0;
    loop {
        if let Some(end) = find_blank_line(&buf[..len]) {
            return Ok(Some(end));
        }
        if len == buf.len() {
            return Err(431);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(408);
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf[len..]) {
            Ok(0) => return Ok(None),
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(408);
            }
            Err(_) => return Ok(None),
        }
    }
}

/// The length through the first `\r\n\r\n`, if there is one.
fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// A parsed request head: what routing needs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a [u8],
    /// The target's path (without its query).
    pub(crate) path: &'a [u8],
    pub(crate) authorization: Option<&'a [u8]>,
}

/// Parses a request head (request line, header fields, the blank line),
/// strictly: anything RFC 9112 does not allow, or a request with a body,
/// is refused with its status code.
pub(crate) fn parse_head(head: &[u8]) -> Result<Request<'_>, u16> {
    let head = head.strip_suffix(b"\r\n\r\n").ok_or(400u16)?;
    // Lines end in CRLF; the last one's was taken with the blank line. A
    // bare LF leaves a line without its CR: `None`, refused below.
    let last = head.split(|&b| b == b'\n').count() - 1;
    let mut lines = head.split(|&b| b == b'\n').enumerate().map(move |(i, l)| {
        if i == last {
            Some(l)
        } else {
            l.strip_suffix(b"\r")
        }
    });
    let line = lines.next().flatten().ok_or(400u16)?;
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(400);
    }
    if target.len() > MAX_TARGET {
        return Err(414);
    }
    if target.first() != Some(&b'/') || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Err(400);
    }
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        v if v.starts_with(b"HTTP/") && v.len() == 8 => return Err(505),
        _ => return Err(400),
    };
    let path = target.split(|&b| b == b'?').next().unwrap_or(target);
    let mut host = false;
    let mut authorization = None;
    let mut count = 0;
    for line in lines {
        // Every line must end in CRLF; a bare LF is refused.
        let line = line.ok_or(400u16)?;
        count += 1;
        if count > MAX_HEADERS {
            return Err(431);
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(400u16)?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        // No whitespace before the colon; no obsolete line folding.
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(400);
        }
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(400);
        }
        let value = trim(value);
        if name.eq_ignore_ascii_case(b"host") {
            if host {
                return Err(400);
            }
            host = true;
        } else if name.eq_ignore_ascii_case(b"authorization") {
            if authorization.is_some() {
                return Err(400);
            }
            authorization = Some(value);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            // These requests have no body; one that says otherwise is
            // refused rather than half read.
            if value != b"0" {
                return Err(400);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(400);
        }
    }
    if http11 && !host {
        return Err(400);
    }
    Ok(Request {
        method,
        path,
        authorization,
    })
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    extra: &'static str,
}

impl Response {
    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
            extra: "",
        }
    }

    fn status(status: u16) -> Response {
        Response::text(status, &format!("{}\n", reason(status)))
    }
}

fn route(shared: &Shared, request: &Request<'_>) -> Response {
    let known = matches!(request.path, b"/metrics" | b"/health" | b"/ready");
    if !known {
        return Response::status(404);
    }
    if !matches!(request.method, b"GET" | b"HEAD") {
        let mut response = Response::status(405);
        response.extra = "Allow: GET, HEAD\r\n";
        return response;
    }
    match request.path {
        b"/metrics" => {
            if let Some(token) = &shared.token {
                let given = request
                    .authorization
                    .and_then(|a| a.strip_prefix(b"Bearer "))
                    .map(trim);
                if !given.is_some_and(|g| same(g, token.as_bytes())) {
                    let mut response = Response::status(401);
                    response.extra = "WWW-Authenticate: Bearer\r\n";
                    return response;
                }
            }
            let mut body = Vec::with_capacity(16 * 1024);
            if shared.metrics.write_prometheus(&mut body).is_err() {
                return Response::status(500);
            }
            Response {
                status: 200,
                content_type: "text/plain; version=0.0.4; charset=utf-8",
                body,
                extra: "",
            }
        }
        b"/health" => Response::text(200, "ok\n"),
        _ => match &shared.health {
            None => Response::text(200, "ready\n"),
            Some(health) => {
                let report = health.run();
                let status = if report.status == HealthStatus::Unhealthy {
                    503
                } else {
                    200
                };
                Response {
                    status,
                    content_type: "application/json",
                    body: report.to_json().into_bytes(),
                    extra: "",
                }
            }
        },
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

fn respond(
    shared: &Shared,
    mut stream: &TcpStream,
    response: &Response,
    head_only: bool,
    drain: bool,
) {
    // ORDERING: a statistic.
    shared.served.fetch_add(1, Ordering::Relaxed);
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len(),
        response.extra,
    );
    let _ = stream.write_all(head.as_bytes());
    if !head_only {
        let _ = stream.write_all(&response.body);
    }
    let _ = stream.flush();
    if !drain {
        return;
    }
    // Tell the client we are done, then drain what it still sends a
    // little, so that closing with unread input does not reset the
    // connection before the client has read the answer.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut sink = [0u8; 1024];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(head: &str) -> Request<'_> {
        parse_head(head.as_bytes()).unwrap_or_else(|s| panic!("{head:?}: {s}"))
    }

    fn status(head: &[u8]) -> u16 {
        parse_head(head).expect_err("should be refused")
    }

    #[test]
    fn well_formed_requests_parse() {
        let r = ok("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization:  Bearer t \r\n\r\n");
        assert_eq!(r.method, b"GET");
        assert_eq!(r.path, b"/metrics");
        assert_eq!(r.authorization, Some(&b"Bearer t"[..]));
        let r = ok("HEAD /ready HTTP/1.0\r\n\r\n"); // 1.0 needs no Host
        assert_eq!((r.method, r.path), (&b"HEAD"[..], &b"/ready"[..]));
        ok("GET / HTTP/1.1\r\nhost: x\r\nContent-Length: 0\r\nX-Empty:\r\n\r\n");
    }

    #[test]
    fn malformed_requests_get_their_status() {
        for (head, want) in [
            (&b"GET /metrics HTTP/1.1\r\n\r\n"[..], 400), // no Host
            (b"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            (b"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
            (b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400), // bare LF
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
                400,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                400,
            ),
            (b"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nnocolon\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\n", 400), // no blank line
            (b"\r\n\r\n", 400),
        ] {
            assert_eq!(status(head), want, "{:?}", String::from_utf8_lossy(head));
        }
        let long = format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
            "a".repeat(MAX_TARGET)
        );
        assert_eq!(status(long.as_bytes()), 414);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        let head = format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n");
        assert_eq!(status(head.as_bytes()), 431);
    }

    #[test]
    fn seeded_garbage_never_panics_the_parser() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(7, |d| d.as_nanos() as u64);
        println!("seed {seed}");
        let mut x = seed | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let base = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t\r\n\r\n";
        let rounds = if cfg!(miri) { 200 } else { 100_000 };
        for _ in 0..rounds {
            let mut head = base.to_vec();
            for _ in 0..=(next() % 4) {
                if head.is_empty() {
                    head.push(b'G');
                }
                let at = (next() as usize) % head.len();
                match next() % 4 {
                    0 => head[at] = next() as u8,
                    1 => head.insert(at, next() as u8),
                    2 => {
                        head.remove(at);
                    }
                    _ => head.truncate(at),
                }
            }
            head.extend_from_slice(b"\r\n\r\n");
            if let Err(s) = parse_head(&head) {
                assert!([400, 414, 431, 505].contains(&s), "seed {seed}: {s}");
            }
        }
    }

    #[test]
    fn the_token_comparison_checks_every_byte() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(same(b"", b""));
    }
}
