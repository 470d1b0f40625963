//! OS signals as cancellation: a [`Context`] cancelled by SIGINT or SIGTERM
//! (Ctrl-C or Ctrl-Break on Windows), and a [`SignalListener`] that reports
//! every signal, so that a second one can force what the first one started
//! gracefully.
//!
//! Maintainers: how it works.
//!
//! - **Handler** (async-signal-safe): bumps a per-signal atomic counter and
//!   writes one byte naming the signal to the write end of a non-blocking
//!   socket pair (the self-pipe trick); it saves and restores `errno` around
//!   the `write`. Nothing else: no locks, no allocation.
//! - **Watcher thread**: blocks reading the other end; for each byte it
//!   cancels the context with [`CancelReason::Shutdown`] (first signal
//!   only), queues the signal for [`SignalListener::recv`] and wakes its
//!   waiters. The counters make the count exact even if the socket buffer
//!   were ever full: missing bytes are made up from them.
//! - **Drop**: restores the previous dispositions (`sigaction` with the
//!   struct saved at install), stops the handler from touching the socket
//!   (`WRITE_FD = -1`, then waits until no handler is inside), wakes the
//!   watcher with a stop byte, joins it, closes the sockets and only then
//!   frees the process-wide claim, so a new listener may be installed.
//!
//! Why `sigaction` and not `signal(2)`: `signal` returns only the previous
//! handler's address, not its flags and mask, so a previous `SA_SIGINFO`
//! handler could not be put back faithfully; its semantics also differ
//! between libcs (System V resets the handler after one delivery). The
//! struct's layout is declared per target below and checked by size at
//! compile time; targets whose layout is not declared here get
//! [`ListenError::Unsupported`] rather than a guess.
//!
//! Windows: `SetConsoleCtrlHandler`. The system runs the handler on a thread
//! of its own, so it may lock; it queues the event for the same watcher.

use super::{CancelReason, Context};
use crate::sync::{Condvar, Mutex};
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A signal the listener reacts to.
///
/// # Examples
///
/// ```
/// use gosling::context::Signal;
///
/// assert_eq!(Signal::Terminate.to_string(), "SIGTERM");
/// assert_eq!(Signal::Interrupt.name(), "SIGINT");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT: Ctrl-C in a terminal (on Windows, the Ctrl-C console event).
    Interrupt,
    /// SIGTERM: the polite "please stop" of `kill`, init systems and
    /// container runtimes (on Windows, the Ctrl-Break console event).
    Terminate,
}

impl Signal {
    /// The conventional name: `"SIGINT"` or `"SIGTERM"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gosling::context::Signal::Terminate.name(), "SIGTERM");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// Index into `RAISED`; the byte on the wire is `index + 1` (0 is "stop").
    const fn index(self) -> usize {
        match self {
            Signal::Interrupt => 0,
            Signal::Terminate => 1,
        }
    }

    const ALL: [Signal; 2] = [Signal::Interrupt, Signal::Terminate];
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why [`listen`] could not install the signal handlers.
///
/// # Examples
///
/// ```
/// use gosling::context::ListenError;
///
/// let err = ListenError::AlreadyListening;
/// assert_eq!(
///     err.to_string(),
///     "a signal listener is already installed in this process"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ListenError {
    /// Another [`SignalListener`] is alive in this process; drop it first.
    /// (Signal dispositions are process-wide, so there can be one at a time.)
    AlreadyListening,
    /// This platform (or this target's `sigaction` layout) is not supported.
    Unsupported,
    /// The operating system refused (creating the socket pair, installing a
    /// handler, or starting the watcher thread).
    Os(io::Error),
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenError::AlreadyListening => {
                f.write_str("a signal listener is already installed in this process")
            }
            ListenError::Unsupported => {
                f.write_str("listening for signals is not supported on this platform")
            }
            ListenError::Os(e) => write!(f, "could not install the signal handlers: {e}"),
        }
    }
}

impl Error for ListenError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ListenError::Os(e) => Some(e),
            _ => None,
        }
    }
}

/// One listener at a time per process: signal dispositions are process-wide.
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// Signals delivered since the process started, per [`Signal::index`].
/// Written by the handler; lock-free atomics are async-signal-safe.
static RAISED: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// Byte the listener sends its watcher to make it exit.
const STOP: u8 = 0;

/// Starts listening for SIGINT and SIGTERM (Ctrl-C and Ctrl-Break on
/// Windows): the returned listener's [`context`](SignalListener::context) is
/// cancelled with [`CancelReason::Shutdown`] by the first signal, and every
/// signal, the first included, can be received from it.
///
/// While the listener lives, these signals no longer end the process; once
/// it is dropped, the previous dispositions are restored (usually the
/// default: terminate).
///
/// # Errors
///
/// [`ListenError::AlreadyListening`] while another listener is alive,
/// [`ListenError::Unsupported`] on platforms this module does not cover,
/// [`ListenError::Os`] when the system refuses.
///
/// # Examples
///
/// ```
/// use gosling::context::signal;
/// # #[cfg(any(target_os = "linux", target_os = "macos"))] {
///
/// let signals = signal::listen().expect("no other listener");
/// let ctx = signals.context().clone();
/// assert!(!ctx.is_cancelled()); // until SIGINT or SIGTERM arrives
/// assert!(matches!(signal::listen(), Err(signal::ListenError::AlreadyListening)));
/// drop(signals); // previous handlers are back
/// # }
/// ```
pub fn listen() -> Result<SignalListener, ListenError> {
    SignalListener::install(Context::new())
}

/// As [`listen`], with the context a child of `parent`: cancelling `parent`
/// cancels it too, and it reads `parent`'s clock.
///
/// # Errors
///
/// As [`listen`].
///
/// # Examples
///
/// ```
/// use gosling::context::{signal, Context};
/// # #[cfg(any(target_os = "linux", target_os = "macos"))] {
///
/// let app = Context::new();
/// let signals = signal::listen_with_parent(&app).unwrap();
/// app.cancel();
/// assert!(signals.context().is_cancelled());
/// # }
/// ```
pub fn listen_with_parent(parent: &Context) -> Result<SignalListener, ListenError> {
    SignalListener::install(parent.child())
}

/// The guard that listens for shutdown signals; made by [`listen`].
///
/// - [`context`](SignalListener::context): cancelled with
///   [`CancelReason::Shutdown`] by the first signal — hand it (or children of
///   it) to the work that should drain.
/// - [`recv`](SignalListener::recv) / [`recv_timeout`](SignalListener::recv_timeout)
///   / [`try_recv`](SignalListener::try_recv): each signal, in arrival order,
///   once — the first starts a graceful shutdown, a second can force it.
/// - [`count`](SignalListener::count): how many have arrived.
/// - [`close`](SignalListener::close): releases threads waiting in `recv`
///   (the graceful path won; no force needed).
///
/// Dropping it stops its watcher thread and restores the previous signal
/// dispositions; the context keeps whatever state it had.
///
/// # Examples
///
/// A graceful shutdown with a forced second stage:
///
/// ```no_run
/// use gosling::context::signal;
/// use std::time::Duration;
///
/// let signals = signal::listen()?;
/// let ctx = signals.context().clone();
/// let worker = std::thread::spawn(move || {
///     while ctx.sleep(Duration::from_millis(100)).is_ok() { /* work */ }
///     // drain...
/// });
/// let first = signals.recv().expect("not closed");
/// println!("{first}: draining; send it again to force");
/// if let Some(second) = signals.recv_timeout(Duration::from_secs(10)) {
///     println!("{second}: forcing the stop");
///     std::process::exit(1);
/// }
/// worker.join().unwrap();
/// # Ok::<(), gosling::context::ListenError>(())
/// ```
#[must_use = "dropping the listener uninstalls it at once"]
pub struct SignalListener {
    shared: Arc<Shared>,
    watcher: Option<JoinHandle<()>>,
    installed: sys::Installed,
    /// Dropped last: frees the process-wide claim once all else is undone.
    _claim: Claim,
}

/// What the listener and its watcher share.
struct Shared {
    ctx: Context,
    /// Protected: the signal queue and counters, and the stop flag.
    state: Mutex<State>,
    /// `recv` waiters; notified under `state`.
    arrived: Condvar,
}

#[derive(Default)]
struct State {
    /// Delivered and not yet received.
    queue: VecDeque<Signal>,
    /// Delivered in all.
    count: usize,
    first: Option<Signal>,
    /// Set by the listener's drop before it wakes the watcher for the last
    /// time.
    stopping: bool,
    /// Set by `close`: receivers return `None` once the queue is empty.
    closed: bool,
}

struct Claim;

impl Drop for Claim {
    fn drop(&mut self) {
        CLAIMED.store(false, Ordering::SeqCst);
    }
}

impl SignalListener {
    fn install(ctx: Context) -> Result<SignalListener, ListenError> {
        if CLAIMED
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(ListenError::AlreadyListening);
        }
        let claim = Claim;
        // What was raised before now belongs to no listener.
        let seen = RAISED.each_ref().map(|r| r.load(Ordering::SeqCst));
        let (installed, receiver) = sys::install()?;
        let shared = Arc::new(Shared {
            ctx,
            state: Mutex::new(State::default()),
            arrived: Condvar::new(),
        });
        let watcher = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("gosling-signals".into())
                .spawn(move || watch(&shared, receiver, seen))
                .map_err(ListenError::Os)?
            // On error `installed` drops here, restoring the dispositions,
            // and then `claim`.
        };
        Ok(SignalListener {
            shared,
            watcher: Some(watcher),
            installed,
            _claim: claim,
        })
    }

    /// The context the first signal cancels, with [`CancelReason::Shutdown`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(any(target_os = "linux", target_os = "macos"))] {
    /// let signals = gosling::context::signal::listen().unwrap();
    /// let for_worker = signals.context().child();
    /// assert!(!for_worker.is_cancelled());
    /// # }
    /// ```
    #[must_use]
    pub fn context(&self) -> &Context {
        &self.shared.ctx
    }

    /// How many signals have arrived since the listener was installed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(any(target_os = "linux", target_os = "macos"))] {
    /// let signals = gosling::context::signal::listen().unwrap();
    /// assert_eq!(signals.count(), 0);
    /// # }
    /// ```
    #[must_use]
    pub fn count(&self) -> usize {
        self.shared.state.lock().count
    }

    /// The signal that cancelled the context, once one has arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(any(target_os = "linux", target_os = "macos"))] {
    /// let signals = gosling::context::signal::listen().unwrap();
    /// assert_eq!(signals.first(), None);
    /// # }
    /// ```
    #[must_use]
    pub fn first(&self) -> Option<Signal> {
        self.shared.state.lock().first
    }

    /// The next signal not yet received, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(any(target_os = "linux", target_os = "macos"))] {
    /// let signals = gosling::context::signal::listen().unwrap();
    /// assert_eq!(signals.try_recv(), None);
    /// # }
    /// ```
    #[must_use]
    pub fn try_recv(&self) -> Option<Signal> {
        self.shared.state.lock().queue.pop_front()
    }

    /// Waits for the next signal not yet received. Each signal is received
    /// once; the first is also the one that cancelled the context.
    ///
    /// Returns `None` once [`close`](SignalListener::close) has been called
    /// and every signal delivered before it has been received, so that a
    /// thread waiting for a "force" signal can be released when the graceful
    /// path finished first.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let signals = gosling::context::signal::listen()?;
    /// if let Some(sig) = signals.recv() { // blocks until Ctrl-C or `kill`
    ///     println!("got {sig}");
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn recv(&self) -> Option<Signal> {
        self.recv_deadline(None)
    }

    /// As [`recv`](SignalListener::recv), giving up after `timeout` (real
    /// time: signals come from outside the program, so a manual clock has no
    /// say here).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # #[cfg(any(target_os = "linux", target_os = "macos"))] {
    /// let signals = gosling::context::signal::listen().unwrap();
    /// assert_eq!(signals.recv_timeout(Duration::from_millis(1)), None);
    /// # }
    /// ```
    #[must_use]
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Signal> {
        self.recv_deadline(Instant::now().checked_add(timeout))
    }

    fn recv_deadline(&self, until: Option<Instant>) -> Option<Signal> {
        let mut state = self.shared.state.lock();
        loop {
            if let Some(sig) = state.queue.pop_front() {
                return Some(sig);
            }
            if state.closed {
                return None;
            }
            match until {
                None => state = self.shared.arrived.wait(state),
                Some(until) => {
                    let now = Instant::now();
                    if now >= until {
                        return None;
                    }
                    state = self.shared.arrived.wait_timeout(state, until - now).0;
                }
            }
        }
    }

    /// Releases every thread waiting in [`recv`](SignalListener::recv) or
    /// [`recv_timeout`](SignalListener::recv_timeout) and makes later calls
    /// return `None` once the signals already delivered are received.
    /// Signals keep being counted and the handlers stay installed until the
    /// listener is dropped. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(any(target_os = "linux", target_os = "macos"))] {
    /// let signals = gosling::context::signal::listen().unwrap();
    /// std::thread::scope(|s| {
    ///     let forcer = s.spawn(|| signals.recv()); // waits for a "force" signal
    ///     // ... the graceful shutdown finished on its own ...
    ///     signals.close();
    ///     assert_eq!(forcer.join().unwrap(), None);
    /// });
    /// # }
    /// ```
    pub fn close(&self) {
        self.shared.state.lock().closed = true;
        self.shared.arrived.notify_all();
    }
}

impl Drop for SignalListener {
    fn drop(&mut self) {
        // 1. No new deliveries reach us, and none is still inside the handler.
        self.installed.uninstall();
        // 2. Stop the watcher and join it.
        self.shared.state.lock().stopping = true;
        self.installed.wake_watcher();
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
        // 3. Fields drop: sockets close, then the claim is freed.
    }
}

impl fmt::Debug for SignalListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.lock();
        f.debug_struct("SignalListener")
            .field("count", &state.count)
            .field("first", &state.first)
            .field("pending", &state.queue.len())
            .finish_non_exhaustive()
    }
}

/// The watcher thread: turns bytes from the handler into queued signals.
fn watch(shared: &Shared, mut receiver: sys::Receiver, mut seen: [usize; 2]) {
    let mut bytes = Vec::with_capacity(64);
    loop {
        bytes.clear();
        receiver.recv(&mut bytes);
        let mut fresh = Vec::new();
        for &byte in &bytes {
            let Some(&sig) = Signal::ALL.get(usize::from(byte).wrapping_sub(1)) else {
                continue; // STOP, checked below
            };
            // A byte already made up from the counter is skipped.
            if seen[sig.index()] < RAISED[sig.index()].load(Ordering::SeqCst) {
                seen[sig.index()] += 1;
                fresh.push(sig);
            }
        }
        // Deliveries whose byte could not be written (buffer full).
        for sig in Signal::ALL {
            let raised = RAISED[sig.index()].load(Ordering::SeqCst);
            while seen[sig.index()] < raised {
                seen[sig.index()] += 1;
                fresh.push(sig);
            }
        }
        if let Some(&first) = fresh.first() {
            // Cancel before anyone can receive, so that whoever receives a
            // signal finds the context already cancelled.
            shared.ctx.cancel_with(CancelReason::Shutdown);
            let mut state = shared.state.lock();
            state.first.get_or_insert(first);
            state.count += fresh.len();
            state.queue.extend(fresh);
            shared.arrived.notify_all();
        }
        if shared.state.lock().stopping {
            return;
        }
    }
}

/// The handler's common part: counts the delivery; returns the byte to send.
#[inline]
fn note(sig: Signal) -> u8 {
    RAISED[sig.index()].fetch_add(1, Ordering::SeqCst);
    sig.index() as u8 + 1
}

/// Declares `sys`, the platform layer: `signal/unix.rs` on the Unix targets
/// whose signal layout is declared (the one list of them, below),
/// `signal/windows.rs` on Windows, and `signal/unsupported.rs`, which refuses
/// to listen, everywhere else.
macro_rules! platform_sys {
    (unix: ($($unix:tt)*), $unix_mod:item, $windows_mod:item, $other_mod:item) => {
        #[cfg($($unix)*)]
        $unix_mod
        #[cfg(windows)]
        $windows_mod
        #[cfg(not(any(windows, $($unix)*)))]
        $other_mod
    };
}

platform_sys! {
    unix: (
        any(
            all(
                target_os = "linux",
                any(
                    target_arch = "x86_64",
                    target_arch = "x86",
                    target_arch = "aarch64",
                    target_arch = "arm",
                    target_arch = "riscv64"
                )
            ),
            target_os = "macos"
        )
    ),
    #[path = "signal/unix.rs"]
    mod sys;,
    #[path = "signal/windows.rs"]
    mod sys;,
    #[path = "signal/unsupported.rs"]
    mod sys;
}

#[cfg(all(test, any(target_os = "linux", target_os = "macos"), not(miri)))]
mod tests {
    use super::*;

    /// A delivery whose byte never reached the watcher (socket buffer full)
    /// is made up from the counter at the next wake-up.
    #[test]
    fn lost_bytes_are_made_up_from_the_counters() {
        let signals = listen().unwrap();
        let _ = note(Signal::Terminate); // counted, no byte written
        signals.installed.wake_watcher(); // a bare wake-up (the stop byte)
        assert_eq!(
            signals.recv_timeout(Duration::from_secs(120)),
            Some(Signal::Terminate)
        );
        assert_eq!(signals.count(), 1);
        assert_eq!(signals.context().reason(), Some(CancelReason::Shutdown));
        assert_eq!(signals.try_recv(), None);
    }
}
