//! One line per event on stderr. Under systemd (`JOURNAL_STREAM` set) each
//! line starts with an sd-daemon(3) priority prefix such as `<4>`, which
//! journald turns into the entry's priority; elsewhere it reads
//! `berth-proxy: warning: …`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);
static JOURNAL: AtomicBool = AtomicBool::new(false);

/// Syslog priorities used by the proxy (sd-daemon(3) `SD_ERR` …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `<3>`: the proxy cannot go on.
    Error = 3,
    /// `<4>`: a connection or resource problem that the proxy survives.
    Warning = 4,
    /// `<6>`: life-cycle events.
    Info = 6,
    /// `<7>`: per-connection events, shown only with `--debug`.
    Debug = 7,
}

/// Reads the environment once: `JOURNAL_STREAM` selects the prefix style;
/// `debug` enables per-connection lines.
pub fn init(debug: bool) {
    DEBUG.store(debug, Ordering::Relaxed);
    JOURNAL.store(
        std::env::var_os("JOURNAL_STREAM").is_some(),
        Ordering::Relaxed,
    );
}

/// True when `--debug` lines are printed.
pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// Writes one line at `level` with a single write(2), so lines from
/// concurrent writers never interleave.
pub fn log(level: Level, args: std::fmt::Arguments<'_>) {
    if level == Level::Debug && !debug_enabled() {
        return;
    }
    let line = if JOURNAL.load(Ordering::Relaxed) {
        format!("<{}>{}\n", level as u8, args)
    } else {
        let tag = match level {
            Level::Error => "error: ",
            Level::Warning => "warning: ",
            Level::Info | Level::Debug => "",
        };
        format!("berth-proxy: {tag}{args}\n")
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `error!("…", args)`: log at [`Level::Error`].
#[macro_export]
macro_rules! error { ($($a:tt)*) => { $crate::log::log($crate::log::Level::Error, format_args!($($a)*)) } }
/// `warning!("…", args)`: log at [`Level::Warning`].
#[macro_export]
macro_rules! warning { ($($a:tt)*) => { $crate::log::log($crate::log::Level::Warning, format_args!($($a)*)) } }
/// `info!("…", args)`: log at [`Level::Info`].
#[macro_export]
macro_rules! info { ($($a:tt)*) => { $crate::log::log($crate::log::Level::Info, format_args!($($a)*)) } }
/// `debug!("…", args)`: log at [`Level::Debug`] when `--debug` is on.
#[macro_export]
macro_rules! debug { ($($a:tt)*) => { if $crate::log::debug_enabled() { $crate::log::log($crate::log::Level::Debug, format_args!($($a)*)) } } }
