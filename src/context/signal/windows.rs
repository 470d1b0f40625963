//! Windows: `SetConsoleCtrlHandler`. The handler runs on a thread the
//! system creates, so it may lock; it queues a byte for the watcher.

use super::{ListenError, STOP, Signal, note};
use crate::sync::{Condvar, Mutex};
use std::collections::VecDeque;
use std::io;

type HandlerRoutine = unsafe extern "system" fn(ctrl_type: u32) -> i32;

#[link(name = "kernel32")]
unsafe extern "system" {
    fn SetConsoleCtrlHandler(handler: Option<HandlerRoutine>, add: i32) -> i32;
}

const CTRL_C_EVENT: u32 = 0;
const CTRL_BREAK_EVENT: u32 = 1;

static QUEUE: Mutex<VecDeque<u8>> = Mutex::new(VecDeque::new());
/// Notified under `QUEUE`.
static READY: Condvar = Condvar::new();

fn send(byte: u8) {
    QUEUE.lock().push_back(byte);
    READY.notify_all();
}

unsafe extern "system" fn on_ctrl(ctrl_type: u32) -> i32 {
    let sig = match ctrl_type {
        CTRL_C_EVENT => Signal::Interrupt,
        CTRL_BREAK_EVENT => Signal::Terminate,
        // Close, logoff, shutdown: not ours; the next handler decides.
        _ => return 0,
    };
    send(note(sig));
    1
}

pub(super) struct Installed {
    installed: bool,
}

pub(super) struct Receiver;

pub(super) fn install() -> Result<(Installed, Receiver), ListenError> {
    QUEUE.lock().clear();
    // SAFETY: `on_ctrl` has the HandlerRoutine signature and is a
    // `'static` function; adding it has no other precondition.
    if unsafe { SetConsoleCtrlHandler(Some(on_ctrl), 1) } == 0 {
        return Err(ListenError::Os(io::Error::last_os_error()));
    }
    Ok((Installed { installed: true }, Receiver))
}

impl Installed {
    pub(super) fn uninstall(&mut self) {
        if std::mem::take(&mut self.installed) {
            // SAFETY: removes the routine added in `install`; a handler
            // already running only touches statics.
            let _ = unsafe { SetConsoleCtrlHandler(Some(on_ctrl), 0) };
        }
    }

    pub(super) fn wake_watcher(&self) {
        send(STOP);
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        self.uninstall();
    }
}

impl Receiver {
    pub(super) fn recv(&mut self, out: &mut Vec<u8>) {
        let mut queue = QUEUE.lock();
        while queue.is_empty() {
            queue = READY.wait(queue);
        }
        out.extend(queue.drain(..));
    }
}
