//! SIGINT and SIGTERM as a flag: a following or attached job (`logs -f`,
//! an attached `run` or `build`) checks [`requested`] between records and
//! ends cleanly (a `run` stops its unit first) instead of dying half-way.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Catches SIGINT and SIGTERM from now on (the CLI calls it for jobs that
/// stream); a second signal still only sets the flag.
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores into an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Whether SIGINT or SIGTERM arrived since [`install`].
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Sets the flag as a signal would (tests).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}
