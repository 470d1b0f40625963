//! OS signals: the first cancels the listener's context with `Shutdown`, a
//! second is observable to force the stop, handlers are restored on drop.
//!
//! The end-to-end tests re-execute this test binary as a child process
//! (`GOSLING_SIGNAL_CHILD` names what the child does, `--exact child_process`
//! picks the test it runs), read its "ready" line before signalling it, and
//! check from its output and exit status what it did.

#![cfg(all(any(target_os = "linux", target_os = "macos"), not(miri)))]

use gosling::context::signal::{self, ListenError};
use gosling::context::{CancelReason, Signal};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// Listeners are process-wide: tests that install one take this first.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A bound on waits that only a broken build would reach (a hang guard, not
/// a timing assertion).
const HANG_GUARD: Duration = Duration::from_secs(120);

const CHILD_ENV: &str = "GOSLING_SIGNAL_CHILD";
const MARK: &str = "CHILD: ";

fn send(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

#[test]
fn listening_twice_is_an_error() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let first = signal::listen().unwrap();
    let err = signal::listen().unwrap_err();
    assert!(matches!(err, ListenError::AlreadyListening));
    assert!(err.to_string().contains("already installed"));
    drop(first);
    // Dropping frees the claim.
    drop(signal::listen().unwrap());
}

#[test]
fn in_process_signals_cancel_and_queue() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let signals = signal::listen().unwrap();
    let ctx = signals.context().clone();
    let child = ctx.child();
    assert_eq!(signals.count(), 0);
    assert_eq!(signals.try_recv(), None);

    send(std::process::id(), "TERM");
    assert_eq!(signals.recv_timeout(HANG_GUARD), Some(Signal::Terminate));
    assert_eq!(ctx.reason(), Some(CancelReason::Shutdown));
    assert_eq!(child.reason(), Some(CancelReason::Shutdown));
    assert_eq!(signals.count(), 1);
    assert_eq!(signals.first(), Some(Signal::Terminate));

    send(std::process::id(), "INT");
    assert_eq!(signals.recv_timeout(HANG_GUARD), Some(Signal::Interrupt));
    assert_eq!(signals.count(), 2);
    assert_eq!(signals.first(), Some(Signal::Terminate)); // the first stays first
    assert_eq!(signals.try_recv(), None);
}

#[test]
fn parent_context_cancels_the_listeners() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let parent = gosling::context::Context::new();
    let signals = signal::listen_with_parent(&parent).unwrap();
    parent.cancel();
    assert_eq!(signals.context().reason(), Some(CancelReason::Cancelled));
    assert_eq!(signals.count(), 0);
}

/// What the child does, by `GOSLING_SIGNAL_CHILD`:
/// - `drain`: works until the first signal, drains, exits cleanly.
/// - `force`: as `drain`, but its drain never ends on its own: only a second
///   signal stops it.
/// - `restore`: installs and drops a listener, then waits: the next SIGTERM
///   must kill it (the default disposition is back).
#[test]
fn child_process() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return; // an ordinary run: nothing to do
    };
    let say = |line: &str| println!("{MARK}{line}");
    match mode.as_str() {
        "drain" | "force" => {
            let signals = signal::listen().unwrap();
            let ctx = signals.context().clone();
            say("ready");
            // "Work" until cancelled.
            assert!(ctx.wait_cancelled_timeout(HANG_GUARD));
            let first = signals.recv().unwrap();
            say(&format!("draining after {first} ({:?})", ctx.reason()));
            if mode == "force" {
                let second = signals.recv_timeout(HANG_GUARD).expect("a second signal");
                say(&format!("forced by {second}; count {}", signals.count()));
            } else {
                say("drained");
            }
        }
        "restore" => {
            drop(signal::listen().unwrap());
            say("ready");
            loop {
                std::thread::park();
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// The child, its stdout lines (marker stripped) as a channel.
struct Kid {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Kid {
    fn start(mode: &str) -> Kid {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, mode)
            .stdout(Stdio::piped())
            .spawn()
            .expect("re-execute the test binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(at) = line.find(MARK) {
                    if tx.send(line[at + MARK.len()..].to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        Kid { child, lines }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn line(&mut self) -> String {
        match self.lines.recv_timeout(HANG_GUARD) {
            Ok(line) => line,
            Err(e) => {
                let _ = self.child.kill();
                panic!("child said nothing more ({e})");
            }
        }
    }

    fn wait(mut self) -> std::process::ExitStatus {
        let (tx, rx) = mpsc::channel();
        let pid = self.pid();
        std::thread::spawn(move || tx.send(self.child.wait()));
        match rx.recv_timeout(HANG_GUARD) {
            Ok(status) => status.unwrap(),
            Err(_) => {
                send(pid, "KILL");
                panic!("child did not exit");
            }
        }
    }
}

#[test]
fn child_drains_on_sigterm_and_exits_cleanly() {
    let mut kid = Kid::start("drain");
    assert_eq!(kid.line(), "ready");
    send(kid.pid(), "TERM");
    assert_eq!(kid.line(), "draining after SIGTERM (Some(Shutdown))");
    assert_eq!(kid.line(), "drained");
    assert!(kid.wait().success());
}

#[test]
fn second_signal_forces_the_stop() {
    let mut kid = Kid::start("force");
    assert_eq!(kid.line(), "ready");
    send(kid.pid(), "INT");
    assert_eq!(kid.line(), "draining after SIGINT (Some(Shutdown))");
    send(kid.pid(), "TERM");
    assert_eq!(kid.line(), "forced by SIGTERM; count 2");
    assert!(kid.wait().success());
}

#[test]
fn dropping_the_listener_restores_the_default() {
    use std::os::unix::process::ExitStatusExt;
    let mut kid = Kid::start("restore");
    assert_eq!(kid.line(), "ready");
    send(kid.pid(), "TERM");
    assert_eq!(kid.wait().signal(), Some(15)); // killed by SIGTERM, as by default
}

#[test]
fn close_releases_waiting_receivers() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let signals = signal::listen().unwrap();
    std::thread::scope(|s| {
        // Whether it waits before or after `close`, it must return None.
        let waiter = s.spawn(|| signals.recv());
        signals.close();
        assert_eq!(waiter.join().unwrap(), None);
    });
    assert_eq!(signals.recv_timeout(HANG_GUARD), None); // no waiting once closed
    assert!(!signals.context().is_cancelled());
}
