//! The listening socket systemd passes (sd_listen_fds(3)): exactly one
//! listening `AF_UNIX` stream socket, checked before it is used, since a
//! TCP or datagram socket handed here by a wrong unit must not be served.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

/// Takes the one fd passed with `LISTEN_FDS`/`LISTEN_PID` and unsets the
/// variables (so a job's child never sees them).
///
/// # Safety
/// Calls `std::env::remove_var`: only call before any thread starts.
///
/// # Errors
/// No fd or more than one was passed, or it is not a listening `AF_UNIX`
/// stream socket; the message names the fd and what it is instead.
pub unsafe fn take_listener() -> Result<UnixListener, String> {
    let pid_var = std::env::var("LISTEN_PID").ok();
    let fds: Vec<RawFd> = sd_notify::listen_fds_with_names_and_unset_env()
        .map_err(|e| format!("bad socket activation environment: {e}"))?
        .map(|(fd, _)| fd)
        .collect();
    // SAFETY: sd_listen_fds(3) hands these fds to this process; owning
    // them all at once means none leaks on error.
    let mut owned: Vec<OwnedFd> = fds.into_iter().map(|fd| OwnedFd::from_raw_fd(fd)).collect();
    match owned.len() {
        0 => Err(match pid_var {
            Some(pid) if pid.parse::<u32>().ok() != Some(std::process::id()) => format!(
                "LISTEN_PID={pid} names another process (this is {}); the socket is not for us",
                std::process::id()
            ),
            _ => "no socket passed (LISTEN_FDS unset or 0): start berth-api from \
                  berth-api.socket or with systemd-socket-activate"
                .to_string(),
        }),
        1 => check(owned.remove(0)),
        n => Err(format!(
            "{n} sockets passed; berth-api serves exactly one (ListenStream=/run/berth/api.sock)"
        )),
    }
}

fn sockopt(fd: RawFd, opt: libc::c_int) -> std::io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for writes and sized for an int option.
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, opt, (&raw mut v).cast(), &mut len) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(v)
}

fn check(fd: OwnedFd) -> Result<UnixListener, String> {
    let raw = fd.as_raw_fd();
    let what = format!("passed fd {raw}");
    let domain =
        sockopt(raw, libc::SO_DOMAIN).map_err(|e| format!("{what} is not a socket: {e}"))?;
    if domain != libc::AF_UNIX {
        return Err(format!(
            "{what} is not an AF_UNIX socket (domain {domain}); berth-api never listens on TCP \
             (ListenStream= must be a path)"
        ));
    }
    let ty = sockopt(raw, libc::SO_TYPE).map_err(|e| format!("{what}: SO_TYPE: {e}"))?;
    if ty != libc::SOCK_STREAM {
        return Err(format!(
            "{what} has socket type {ty}; berth-api needs a stream socket (ListenStream=)"
        ));
    }
    if sockopt(raw, libc::SO_ACCEPTCONN).map_err(|e| format!("{what}: SO_ACCEPTCONN: {e}"))? == 0 {
        return Err(format!(
            "{what} is a connected socket, not a listening one (Accept=yes is not supported)"
        ));
    }
    let l = UnixListener::from(fd);
    l.set_nonblocking(true)
        .map_err(|e| format!("{what}: cannot make it non-blocking: {e}"))?;
    Ok(l)
}
