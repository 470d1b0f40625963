//! Platforms without a declared signal layout: listening is refused.

use super::ListenError;

pub(super) enum Installed {}
pub(super) enum Receiver {}

pub(super) fn install() -> Result<(Installed, Receiver), ListenError> {
    // Keeps `note` and `STOP` used on every platform.
    let _ = (super::note, super::STOP);
    Err(ListenError::Unsupported)
}

impl Installed {
    pub(super) fn uninstall(&mut self) {
        match *self {}
    }
    pub(super) fn wake_watcher(&self) {
        match *self {}
    }
}

impl Receiver {
    pub(super) fn recv(&mut self, _out: &mut Vec<u8>) {
        match *self {}
    }
}
