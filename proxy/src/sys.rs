//! Thin, checked wrappers over the Linux system calls the proxy uses
//! (epoll(7), splice(2), pipe2(2), socket options). Every function returns
//! `io::Error` carrying errno, so callers can tell `EAGAIN` from a reset.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Turns a `-1`-on-error libc return value into `io::Result`.
pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// True when the error is `EAGAIN`/`EWOULDBLOCK`: try again after the next
/// readiness event.
pub fn would_block(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EAGAIN)
}

/// True when the error means "out of file descriptors or kernel memory"
/// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): a reason to back off, not to
/// give up.
pub fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// A non-blocking, close-on-exec pipe, as `(read end, write end)`.
///
/// When `size` is given the pipe is grown with `F_SETPIPE_SZ`; a refusal
/// (over `/proc/sys/fs/pipe-max-size` or the per-user soft limit) is ignored
/// and the default 64 KiB pipe is kept.
pub fn pipe(size: Option<usize>) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: both fds were just created and are owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    if let Some(size) = size {
        grow_pipe(w.as_raw_fd(), size);
    }
    Ok((r, w))
}

/// Asks for a pipe capacity of `size` bytes (`F_SETPIPE_SZ`); a refusal is
/// ignored and the pipe keeps its size.
pub fn grow_pipe(fd: RawFd, size: usize) {
    // SAFETY: plain fcntl on a caller-owned fd.
    unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, size as libc::c_int) };
}

/// splice(2) up to `len` bytes from `from` to `to` without blocking
/// (`SPLICE_F_MOVE | SPLICE_F_NONBLOCK`). `Ok(0)` means end of file on `from`.
pub fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: null offsets are valid for sockets and pipes.
    cvt_size(unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    })
}

/// read(2) into `buf`.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`.
    cvt_size(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// write(2) from `buf`.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`.
    cvt_size(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// send(2) with `MSG_NOSIGNAL` (a closed peer gives `EPIPE`, not `SIGPIPE`).
pub fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`.
    cvt_size(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) })
}

/// `shutdown(fd, SHUT_WR)`: sends FIN on TCP, EOF on UNIX stream sockets.
/// `ENOTCONN` (the peer is already gone) is not an error here.
pub fn shutdown_write(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain syscall on a caller-owned fd.
    match cvt(unsafe { libc::shutdown(fd, libc::SHUT_WR) }) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(()),
        r => r.map(drop),
    }
}

/// Reads an integer socket option.
pub fn getsockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for writes of the declared size.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(v)
}

/// Sets an integer socket option.
pub fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: v is valid for reads of the declared size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// The pending socket error (`SO_ERROR`), consuming it; `None` when there is
/// none.
pub fn take_socket_error(fd: RawFd) -> Option<io::Error> {
    match getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR) {
        Ok(0) => None,
        Ok(errno) => Some(io::Error::from_raw_os_error(errno)),
        Err(e) => Some(e),
    }
}

/// Makes the next `close` send a TCP reset (`SO_LINGER` on, 0 s). On UNIX
/// sockets this has no effect; the peer sees `ECONNRESET` when it still had
/// unread data, plain EOF otherwise.
pub fn set_linger_zero(fd: RawFd) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: l is valid for reads of the declared size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
}

/// Sets `O_NONBLOCK` on `fd`.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fcntl on a caller-owned fd.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    }
    Ok(())
}

/// accept4(2) with `SOCK_NONBLOCK | SOCK_CLOEXEC`.
pub fn accept(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: null address pointers are allowed.
    let c = cvt(unsafe {
        libc::accept4(
            fd,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: accept4 returned a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(c) })
}

/// One epoll(7) instance; tokens are opaque `u64`s chosen by the caller.
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain syscall.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: a new fd we own.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: ev is valid for the duration of the call.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) }).map(drop)
    }

    /// Registers `fd` for `events` (`EPOLLIN`, … as `u32`).
    pub fn add(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, events, token)
    }

    /// Removes `fd`; an fd that was not registered is not an error.
    pub fn delete(&self, fd: RawFd) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
    }

    /// Waits up to `timeout` (`None`: forever) and fills `events`; returns
    /// how many are valid. `EINTR` returns 0.
    pub fn wait(
        &self,
        events: &mut [libc::epoll_event],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let ms = match timeout {
            None => -1,
            // Round up so a timer never fires a little early and spins.
            Some(d) => d.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int,
        };
        // SAFETY: events is a valid, writable slice of epoll_event.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as libc::c_int,
                ms,
            )
        };
        match cvt(n) {
            Ok(n) => Ok(n as usize),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (what systemd's own
/// services do since v240); returns the new soft limit.
pub fn raise_nofile_limit() -> io::Result<u64> {
    // SAFETY: rl is valid for reads and writes.
    unsafe {
        let mut rl: libc::rlimit = mem::zeroed();
        cvt(libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl))?;
        if rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            cvt(libc::setrlimit(libc::RLIMIT_NOFILE, &rl))?;
        }
        Ok(rl.rlim_cur)
    }
}

/// Blocks `signals` for the process and returns a non-blocking signalfd(2)
/// that reports them. Must run before any thread starts so every thread
/// inherits the mask.
pub fn signalfd(signals: &[libc::c_int]) -> io::Result<OwnedFd> {
    // SAFETY: set is initialised by sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        cvt(libc::sigprocmask(
            libc::SIG_BLOCK,
            &set,
            std::ptr::null_mut(),
        ))?;
        let fd = cvt(libc::signalfd(
            -1,
            &set,
            libc::SFD_NONBLOCK | libc::SFD_CLOEXEC,
        ))?;
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Reads one pending signal number from a signalfd, if any.
pub fn read_signal(fd: RawFd) -> Option<u32> {
    // SAFETY: info is plain old data, valid for writes of its size.
    unsafe {
        let mut info: libc::signalfd_siginfo = mem::zeroed();
        let n = libc::read(
            fd,
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            mem::size_of::<libc::signalfd_siginfo>(),
        );
        (n == mem::size_of::<libc::signalfd_siginfo>() as isize).then_some(info.ssi_signo)
    }
}
