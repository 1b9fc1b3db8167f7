//! Service manager notifications, sd_notify(3).
//!
//! Written here rather than with the `sd-notify` crate because that crate's
//! `notify` treats `NOTIFY_SOCKET=@name` as a path (no abstract namespace) and
//! opens a new socket per message; this one reads the variable once, unsets
//! it, and keeps one datagram socket.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A handle on `NOTIFY_SOCKET`; every method is a no-op when the variable
/// was not set (not started by systemd with `Type=notify`).
pub struct Notifier {
    sock: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// Reads and unsets `NOTIFY_SOCKET` (a path starting with `/`, or `@name`
    /// for the abstract namespace, as sd_notify(3) defines).
    ///
    /// # Safety
    /// Calls `std::env::remove_var`: only call before any thread starts.
    ///
    /// # Errors
    /// A message when the variable holds an address family the proxy does
    /// not speak (e.g. `vsock:`), or the socket cannot be created.
    pub unsafe fn from_env() -> Result<Self, String> {
        let Some(v) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(Self { sock: None });
        };
        std::env::remove_var("NOTIFY_SOCKET");
        let bytes = v.as_encoded_bytes();
        let addr = if let Some(name) = bytes.strip_prefix(b"@") {
            SocketAddr::from_abstract_name(name)
        } else if bytes.starts_with(b"/") {
            SocketAddr::from_pathname(std::path::Path::new(&v))
        } else {
            return Err(format!(
                "NOTIFY_SOCKET={} is neither a path nor @abstract; not supported",
                v.to_string_lossy()
            ));
        }
        .map_err(|e| format!("NOTIFY_SOCKET={}: {e}", v.to_string_lossy()))?;
        let sock = UnixDatagram::unbound().map_err(|e| format!("notify socket: {e}"))?;
        sock.set_nonblocking(true)
            .map_err(|e| format!("notify socket: {e}"))?;
        Ok(Self {
            sock: Some((sock, addr)),
        })
    }

    /// True when a service manager listens.
    pub fn enabled(&self) -> bool {
        self.sock.is_some()
    }

    /// Sends `state` (newline-separated `KEY=VALUE` assignments) in one
    /// datagram.
    ///
    /// # Errors
    /// sendto(2)'s, e.g. `ECONNREFUSED` when the manager went away.
    pub fn send(&self, state: &str) -> io::Result<()> {
        match &self.sock {
            Some((s, a)) => s.send_to_addr(state.as_bytes(), a).map(drop),
            None => Ok(()),
        }
    }
}

/// The watchdog interval from `WATCHDOG_USEC` when `WATCHDOG_PID` is unset or
/// names this process (sd_watchdog_enabled(3)); unsets both.
///
/// # Safety
/// Calls `std::env::remove_var`: only call before any thread starts.
pub unsafe fn watchdog_from_env() -> Option<Duration> {
    sd_notify::watchdog_enabled_and_unset_env().filter(|d| !d.is_zero())
}
