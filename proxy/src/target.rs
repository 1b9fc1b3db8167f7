//! Backend addresses: parsing the TARGET argument and opening non-blocking
//! connections to it.

use std::fmt;
use std::io;
use std::mem;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::sys::cvt;

/// Where accepted connections are forwarded to.
///
/// Grammar (systemd-socket-proxyd(8), plus the bracketed IPv6 form it
/// rejects and abstract sockets):
/// - `host:port` — IPv4 literal or host name, resolved once at start-up;
///   every resolved address is tried in turn on retries;
/// - `[v6addr]:port` — IPv6 literal;
/// - `/path` — UNIX stream socket in the file system;
/// - `@name` — UNIX stream socket in the abstract namespace.
#[derive(Clone, Debug)]
pub struct Target {
    /// The argument as given, for log lines.
    pub spec: String,
    addrs: Vec<RawAddr>,
}

/// A `sockaddr` ready for connect(2).
#[derive(Clone)]
struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
    family: libc::c_int,
}

impl fmt::Debug for RawAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawAddr(family {}, {} bytes)", self.family, self.len)
    }
}

/// Why a TARGET argument was rejected; the message names the input.
#[derive(Debug)]
pub struct TargetError(pub String);

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TargetError {}

impl Target {
    /// Parses and, for host names, resolves `spec`.
    ///
    /// # Errors
    /// A message naming `spec` when it is empty, has no port, names a path
    /// longer than `sun_path` (107 bytes), or does not resolve.
    pub fn parse(spec: &str) -> Result<Self, TargetError> {
        let err = |why: &str| TargetError(format!("invalid target '{spec}': {why}"));
        let max = mem::size_of::<libc::sockaddr_un>() - mem::size_of::<libc::sa_family_t>();
        let addrs = if let Some(name) = spec.strip_prefix('@') {
            if name.is_empty() || name.len() + 1 > max {
                return Err(err("abstract socket name must be 1 to 107 bytes"));
            }
            vec![unix_addr(name.as_bytes(), true)]
        } else if spec.starts_with('/') {
            if spec.len() + 1 > max {
                return Err(err("UNIX socket path must be at most 107 bytes"));
            }
            vec![unix_addr(spec.as_bytes(), false)]
        } else {
            if spec.is_empty() {
                return Err(err("empty"));
            }
            let (host, port) = spec
                .rsplit_once(':')
                .ok_or_else(|| err("expected host:port, [v6addr]:port, /path or @abstract"))?;
            let port: u16 = port
                .parse()
                .map_err(|_| err("port must be a number from 1 to 65535"))?;
            if port == 0 {
                return Err(err("port must be a number from 1 to 65535"));
            }
            let host = if let Some(h) = host.strip_prefix('[') {
                h.strip_suffix(']').ok_or_else(|| err("unbalanced '['"))?
            } else if host.contains(':') {
                return Err(err("write an IPv6 address in brackets: [v6addr]:port"));
            } else {
                host
            };
            if host.is_empty() {
                return Err(err("empty host"));
            }
            let resolved: Vec<SocketAddr> = (host, port)
                .to_socket_addrs()
                .map_err(|e| err(&format!("cannot resolve host: {e}")))?
                .collect();
            if resolved.is_empty() {
                return Err(err("host resolves to no address"));
            }
            resolved.iter().map(inet_addr).collect()
        };
        Ok(Self {
            spec: spec.to_string(),
            addrs,
        })
    }

    /// True when the target is a TCP address (TCP socket options apply).
    pub fn is_inet(&self) -> bool {
        self.addrs[0].family != libc::AF_UNIX
    }

    /// Opens a non-blocking, close-on-exec stream socket and starts
    /// connecting it to address number `attempt % addr_count()`.
    ///
    /// Returns the socket and whether the connect already completed (UNIX
    /// sockets and loopback often complete at once; otherwise wait for
    /// `EPOLLOUT`, with `EPOLLERR` and `SO_ERROR` on failure).
    ///
    /// # Errors
    /// socket(2)'s errors (e.g. `EMFILE`) and connect(2)'s immediate ones
    /// (`ECONNREFUSED`, also when a loopback refusal arrives at once;
    /// `ENOENT` for a missing UNIX path, `EAGAIN` for a full UNIX backlog).
    pub fn connect(&self, attempt: usize) -> io::Result<(OwnedFd, bool)> {
        let a = &self.addrs[attempt % self.addrs.len()];
        // SAFETY: plain syscall; the result is checked.
        let fd = cvt(unsafe {
            libc::socket(
                a.family,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: a new fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: storage holds a valid sockaddr of length len.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&a.storage as *const libc::sockaddr_storage).cast(),
                a.len,
            )
        };
        if r == 0 {
            return Ok((fd, true));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
        // On loopback the handshake has usually completed by the time
        // connect(2) returns EINPROGRESS (the SYN-ACK is processed when the
        // socket lock is released): asking again says so (`EISCONN`, or a
        // refusal), and saves waiting for EPOLLOUT and arming a timer.
        // SAFETY: as above.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&a.storage as *const libc::sockaddr_storage).cast(),
                a.len,
            )
        };
        if r == 0 {
            return Ok((fd, true));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EISCONN) => Ok((fd, true)),
            Some(libc::EALREADY | libc::EINPROGRESS | libc::EINTR) => Ok((fd, false)),
            _ => Err(e),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

fn unix_addr(name: &[u8], abstract_ns: bool) -> RawAddr {
    // SAFETY: sockaddr_storage is plain old data; zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_un.
    let un =
        unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_un>() };
    un.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let off = usize::from(abstract_ns);
    for (i, b) in name.iter().enumerate() {
        un.sun_path[off + i] = *b as libc::c_char;
    }
    let base = mem::size_of::<libc::sa_family_t>();
    // Abstract names are exactly as long as given (no trailing NUL); paths
    // carry their terminating NUL, as systemd does.
    let len = base + off + name.len() + usize::from(!abstract_ns);
    RawAddr {
        storage,
        len: len as libc::socklen_t,
        family: libc::AF_UNIX,
    }
}

fn inet_addr(a: &SocketAddr) -> RawAddr {
    // SAFETY: sockaddr_storage is plain old data; zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    match a {
        SocketAddr::V4(v4) => {
            // SAFETY: storage is large enough and aligned for sockaddr_in.
            let sin = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            RawAddr {
                storage,
                len: mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                family: libc::AF_INET,
            }
        }
        SocketAddr::V6(v6) => {
            // SAFETY: storage is large enough and aligned for sockaddr_in6.
            let sin6 = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_flowinfo = v6.flowinfo();
            sin6.sin6_scope_id = v6.scope_id();
            RawAddr {
                storage,
                len: mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                family: libc::AF_INET6,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_documented_form() {
        assert!(Target::parse("127.0.0.1:80").unwrap().is_inet());
        assert!(Target::parse("[::1]:80").unwrap().is_inet());
        assert!(Target::parse("localhost:8080").unwrap().is_inet());
        assert!(!Target::parse("/run/x.sock").unwrap().is_inet());
        let a = Target::parse("@abc").unwrap();
        assert!(!a.is_inet());
        // family + NUL + "abc", no trailing NUL
        assert_eq!(a.addrs[0].len as usize, 2 + 1 + 3);
        let p = Target::parse("/a").unwrap();
        assert_eq!(p.addrs[0].len as usize, 2 + 2 + 1);
    }

    #[test]
    fn rejects_with_a_reason() {
        for (bad, why) in [
            ("", "empty"),
            ("127.0.0.1", "expected host:port"),
            ("127.0.0.1:0", "port must be"),
            ("127.0.0.1:x", "port must be"),
            ("::1:80", "brackets"),
            ("[::1:80", "unbalanced"),
            (":80", "empty host"),
            ("@", "abstract"),
        ] {
            let e = Target::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
        let long = format!("/{}", "x".repeat(200));
        assert!(Target::parse(&long)
            .unwrap_err()
            .to_string()
            .contains("107"));
    }
}
