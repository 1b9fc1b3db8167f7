//! Taking over the listening sockets passed by socket activation,
//! sd_listen_fds(3).
//!
//! The environment is read with the `sd-notify` crate's
//! `listen_fds_with_names_and_unset_env`, which checks `LISTEN_PID` strictly,
//! counts fds from 3, pairs them with `LISTEN_FDNAMES` and sets `FD_CLOEXEC`.
//! Its limits, covered here: it neither type-checks the fds nor makes them
//! non-blocking, and a `LISTEN_PID` naming another process silently yields no
//! fds, so this module reports that case itself.

use std::fmt;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::sys;

/// One listening stream socket received from the service manager.
#[derive(Debug)]
pub struct Listener {
    /// The fd, non-blocking and close-on-exec.
    pub fd: OwnedFd,
    /// Its `LISTEN_FDNAMES` entry (`FileDescriptorName=`; systemd's default
    /// is the socket unit's name; "unknown" when the variable is unset).
    pub name: String,
    /// `AF_INET`, `AF_INET6` or `AF_UNIX`.
    pub family: libc::c_int,
}

/// Why the passed fds cannot be used; the message says what was wrong.
#[derive(Debug)]
pub struct ActivationError(pub String);

impl fmt::Display for ActivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ActivationError {}

/// Takes the fds passed with `LISTEN_FDS`/`LISTEN_PID`/`LISTEN_FDNAMES` and
/// unsets those variables.
///
/// # Safety
/// Calls `std::env::remove_var`: only call before any thread starts.
///
/// # Errors
/// No fds were passed to this process, or one of them is not a listening
/// stream socket (a datagram socket, a connected socket from `Accept=yes`,
/// a FIFO or file), with the fd number and name in the message.
pub unsafe fn take_listeners() -> Result<Vec<Listener>, ActivationError> {
    let pid_var = std::env::var("LISTEN_PID").ok();
    let fds = sd_notify::listen_fds_with_names_and_unset_env()
        .map_err(|e| ActivationError(format!("bad socket activation environment: {e}")))?;
    let fds: Vec<(RawFd, String)> = fds.collect();
    if fds.is_empty() {
        return Err(ActivationError(match pid_var {
            Some(pid) if pid.parse::<u32>().ok() != Some(std::process::id()) => format!(
                "LISTEN_PID={pid} names another process (this is {}); the sockets are not for us",
                std::process::id()
            ),
            _ => "no sockets passed (LISTEN_FDS unset or 0): start berth-proxy from a .socket \
                  unit or with systemd-socket-activate"
                .to_string(),
        }));
    }
    // Take ownership of every passed fd first, so none leaks on error.
    let owned: Vec<(OwnedFd, String)> = fds
        .into_iter()
        // SAFETY: sd_listen_fds(3) hands these fds to this process.
        .map(|(fd, name)| (OwnedFd::from_raw_fd(fd), name))
        .collect();
    owned
        .into_iter()
        .map(|(fd, name)| check(fd, name))
        .collect()
}

fn check(fd: OwnedFd, name: String) -> Result<Listener, ActivationError> {
    use std::os::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    let what = format!("passed fd {raw} (name '{name}')");
    let fail = |why: String| Err(ActivationError(format!("{what} {why}")));
    // SAFETY: st is valid for writes.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: raw is an fd we own.
    if let Err(e) = sys::cvt(unsafe { libc::fstat(raw, &mut st) }) {
        return fail(format!("cannot be inspected: {e}"));
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFIFO => "a FIFO (ListenFIFO=)",
            libc::S_IFREG => "a regular file",
            libc::S_IFCHR => "a character device (ListenSpecial=)",
            _ => "not a socket",
        };
        return fail(format!(
            "is {kind}; berth-proxy needs a listening stream socket (ListenStream=)"
        ));
    }
    let ty = sys::getsockopt_int(raw, libc::SOL_SOCKET, libc::SO_TYPE)
        .or_else(|e| fail(format!("SO_TYPE: {e}")).map(|_: Listener| 0))?;
    match ty {
        libc::SOCK_STREAM => {}
        libc::SOCK_DGRAM => {
            return fail(
                "is a datagram socket (ListenDatagram=); berth-proxy forwards stream \
                 connections only (ListenStream=)"
                    .into(),
            )
        }
        libc::SOCK_SEQPACKET => return fail(
            "is a SOCK_SEQPACKET socket (ListenSequentialPacket=); berth-proxy needs ListenStream="
                .into(),
        ),
        other => {
            return fail(format!(
                "has socket type {other}; berth-proxy needs a stream socket"
            ))
        }
    }
    let listening = sys::getsockopt_int(raw, libc::SOL_SOCKET, libc::SO_ACCEPTCONN)
        .or_else(|e| fail(format!("SO_ACCEPTCONN: {e}")).map(|_: Listener| 0))?;
    if listening == 0 {
        return fail(
            "is a connected socket, not a listening one: the .socket unit has Accept=yes; \
             berth-proxy needs Accept=no (it accepts connections itself)"
                .into(),
        );
    }
    let family = sys::getsockopt_int(raw, libc::SOL_SOCKET, libc::SO_DOMAIN)
        .or_else(|e| fail(format!("SO_DOMAIN: {e}")).map(|_: Listener| 0))?;
    if !matches!(family, libc::AF_INET | libc::AF_INET6 | libc::AF_UNIX) {
        return fail(format!(
            "has address family {family}; berth-proxy accepts IPv4, IPv6 and UNIX sockets"
        ));
    }
    if let Err(e) = sys::set_nonblocking(raw) {
        return fail(format!("cannot be made non-blocking: {e}"));
    }
    Ok(Listener { fd, name, family })
}
