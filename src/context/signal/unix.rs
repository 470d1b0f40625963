//! Unix: `sigaction` + a non-blocking socket pair as the self-pipe.

use super::{ListenError, STOP, Signal, note};
use std::ffi::{c_int, c_void};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;

/// glibc and musl share this layout on the architectures allowed above:
/// handler, a 1024-bit mask, flags, restorer (152 bytes on 64-bit, 140 on
/// 32-bit).
#[cfg(target_os = "linux")]
#[repr(C)]
struct SigAction {
    sa_handler: usize,
    sa_mask: [usize; 128 / size_of::<usize>()],
    sa_flags: c_int,
    sa_restorer: usize,
}

#[cfg(target_os = "linux")]
const _: () = assert!(
    size_of::<SigAction>()
        == if cfg!(target_pointer_width = "64") {
            152
        } else {
            140
        }
);

#[cfg(target_os = "linux")]
const SA_RESTART: c_int = 0x1000_0000;

/// Darwin's user-space `struct sigaction`: handler, 32-bit mask, flags.
#[cfg(target_os = "macos")]
#[repr(C)]
struct SigAction {
    sa_handler: usize,
    sa_mask: u32,
    sa_flags: c_int,
}

#[cfg(target_os = "macos")]
const _: () = assert!(size_of::<SigAction>() == 16);

#[cfg(target_os = "macos")]
const SA_RESTART: c_int = 0x0002;

impl SigAction {
    /// All fields zero: `SIG_DFL`, empty mask, no flags.
    const fn zeroed() -> SigAction {
        #[cfg(target_os = "linux")]
        {
            SigAction {
                sa_handler: 0,
                sa_mask: [0; 128 / size_of::<usize>()],
                sa_flags: 0,
                sa_restorer: 0,
            }
        }
        #[cfg(target_os = "macos")]
        {
            SigAction {
                sa_handler: 0,
                sa_mask: 0,
                sa_flags: 0,
            }
        }
    }
}

unsafe extern "C" {
    fn sigaction(signum: c_int, act: *const SigAction, oldact: *mut SigAction) -> c_int;
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    #[cfg(target_os = "linux")]
    #[link_name = "__errno_location"]
    fn errno_location() -> *mut c_int;
    #[cfg(target_os = "macos")]
    #[link_name = "__error"]
    fn errno_location() -> *mut c_int;
}

/// The socket the handler writes to; -1 when none.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
/// Handlers currently running (uninstalling waits for zero).
static IN_HANDLER: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(signum: c_int) {
    let sig = match signum {
        SIGINT => Signal::Interrupt,
        SIGTERM => Signal::Terminate,
        _ => return,
    };
    // Every atomic here is SeqCst: the handshake with `uninstall` (enter,
    // then read the fd; versus clear the fd, then read the count) needs a
    // single total order.
    IN_HANDLER.fetch_add(1, Ordering::SeqCst);
    let byte = note(sig);
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: `errno_location` returns the calling thread's errno
        // slot, valid for the thread's lifetime; reading and writing an
        // int through it is what libc itself does. Saving and restoring
        // errno keeps the interrupted code's view intact.
        unsafe {
            let errno = errno_location();
            let saved = *errno;
            // `write` is async-signal-safe; `fd` stays open until
            // `uninstall` has seen IN_HANDLER drop to zero, and the
            // buffer is a live local byte. A full buffer makes it fail
            // with EAGAIN (non-blocking), which the counter makes up for.
            let _ = write(fd, (&raw const byte).cast::<c_void>(), 1);
            *errno = saved;
        }
    }
    IN_HANDLER.fetch_sub(1, Ordering::SeqCst);
}

/// Installs `act` for `signum`, returning the previous disposition.
fn replace(signum: c_int, act: &SigAction) -> io::Result<SigAction> {
    let mut old = SigAction::zeroed();
    // SAFETY: both pointers are to live, properly laid-out structs (the
    // layout is checked above per target); `old` is written by the call.
    if unsafe { sigaction(signum, act, &raw mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(old)
}

pub(super) struct Installed {
    /// Previous dispositions of SIGINT and SIGTERM; `None` once restored.
    old: Option<(SigAction, SigAction)>,
    write: UnixStream,
}

pub(super) struct Receiver {
    read: UnixStream,
}

pub(super) fn install() -> Result<(Installed, Receiver), ListenError> {
    let (read, write) = UnixStream::pair().map_err(ListenError::Os)?;
    write.set_nonblocking(true).map_err(ListenError::Os)?;
    WRITE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
    let mut act = SigAction::zeroed();
    act.sa_handler = on_signal as extern "C" fn(c_int) as usize;
    act.sa_flags = SA_RESTART;
    let mut installed = Installed { old: None, write };
    let old_int = replace(SIGINT, &act).map_err(|e| {
        installed.uninstall();
        ListenError::Os(e)
    })?;
    let old_term = match replace(SIGTERM, &act) {
        Ok(old) => old,
        Err(e) => {
            // Put SIGINT back before reporting.
            let _ = replace(SIGINT, &old_int);
            installed.uninstall();
            return Err(ListenError::Os(e));
        }
    };
    installed.old = Some((old_int, old_term));
    Ok((installed, Receiver { read }))
}

impl Installed {
    /// Restores the previous dispositions and waits until no handler
    /// can touch the socket any more. Idempotent.
    pub(super) fn uninstall(&mut self) {
        if let Some((old_int, old_term)) = self.old.take() {
            // Failure is not expected for a struct the kernel gave us;
            // there is nothing better to do than carry on uninstalling.
            let _ = replace(SIGINT, &old_int);
            let _ = replace(SIGTERM, &old_term);
        }
        WRITE_FD.store(-1, Ordering::SeqCst);
        while IN_HANDLER.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
    }

    pub(super) fn wake_watcher(&self) {
        // Non-blocking: if the buffer is full the watcher is awake anyway
        // and sees the stop flag after draining it.
        let _ = (&self.write).write(&[STOP]);
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        self.uninstall();
    }
}

impl Receiver {
    /// Blocks until at least one byte arrives; appends what arrived.
    pub(super) fn recv(&mut self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 64];
        loop {
            match self.read.read(&mut buf) {
                Ok(n) if n > 0 => {
                    out.extend_from_slice(&buf[..n]);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // EOF or an error cannot happen while the write end is
                // open; report a stop so the watcher checks its flag
                // rather than spinning.
                _ => {
                    out.push(STOP);
                    return;
                }
            }
        }
    }
}
