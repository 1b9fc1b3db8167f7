//! Backend addresses: parsing the TARGET argument, resolving it, and opening
//! non-blocking connections to it.

use std::ffi::{CStr, CString};
use std::fmt;
use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::sys::{self, cvt};
use crate::{info, warning};

/// How long a host name's addresses are used before they are looked up
/// again. Short, so a name that moves (a container re-created with a new
/// address) is followed within a second, as socket-proxyd, which resolves
/// per connection, follows it at once.
const RESOLVE_TTL: Duration = Duration::from_secs(1);

/// The port systemd-socket-proxyd uses when TARGET has none.
const DEFAULT_SERVICE: &str = "80";

/// Where accepted connections are forwarded to.
///
/// Grammar: systemd-socket-proxyd(8)'s — TARGET is split at its *last*
/// `:` into host and port, the port may be a number or a service name
/// (`localhost:http`), and a TARGET without `:` means port 80 — plus
/// bracketed IPv6 (`[::1]:80`, `[::1]` for port 80) and abstract sockets:
/// - `host:port` — IPv4 or IPv6 literal (`127.0.0.1:80`, `::1:80`) or host
///   name; names are looked up again when the last look-up is older than
///   [`RESOLVE_TTL`], in a helper thread so the loop never waits on DNS;
/// - `[v6addr]:port` — IPv6 literal;
/// - `/path` — UNIX stream socket in the file system;
/// - `@name` — UNIX stream socket in the abstract namespace.
#[derive(Debug)]
pub struct Target {
    /// The argument as given, for log lines.
    pub spec: String,
    kind: Kind,
    addrs: Rc<[RawAddr]>,
    /// Index into `addrs` of the address that last accepted a connection:
    /// the next connection tries it first.
    preferred: usize,
}

#[derive(Debug)]
enum Kind {
    /// Fixed addresses (literals, UNIX sockets): never looked up again.
    Fixed,
    /// A host name (or a service name): looked up again after the TTL.
    Name {
        host: String,
        service: String,
        resolved_at: Option<Instant>,
        refresh: Option<JoinHandle<Result<Vec<RawAddr>, String>>>,
    },
}

/// A `sockaddr` ready for connect(2).
#[derive(Clone, Copy)]
pub struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
    family: libc::c_int,
}

impl fmt::Debug for RawAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.socket_addr() {
            Some(a) => write!(f, "{a}"),
            None => write!(f, "unix({} bytes)", self.len),
        }
    }
}

impl PartialEq for RawAddr {
    fn eq(&self, o: &Self) -> bool {
        self.family == o.family && self.len == o.len && self.bytes() == o.bytes()
    }
}

impl Eq for RawAddr {}

impl RawAddr {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of the storage are initialised.
        unsafe {
            std::slice::from_raw_parts(
                (&self.storage as *const libc::sockaddr_storage).cast::<u8>(),
                self.len as usize,
            )
        }
    }

    /// The address as a `SocketAddr` (IPv4 and IPv6 only).
    pub fn socket_addr(self) -> Option<SocketAddr> {
        sys::sockaddr_to_std(&self.storage)
    }

    /// True for 127.0.0.0/8, `::1` and `::ffff:127.0.0.0/104`.
    pub fn is_loopback(&self) -> bool {
        self.socket_addr().is_some_and(|a| is_loopback(a.ip()))
    }

    /// Opens a non-blocking, close-on-exec stream socket and starts
    /// connecting it. `congestion` names a TCP congestion control to set
    /// first (ignored when refused).
    ///
    /// Returns the socket and how far the connect got (UNIX sockets and
    /// loopback usually complete at once; otherwise wait for `EPOLLOUT` and
    /// ask with [`probe`]).
    ///
    /// # Errors
    /// socket(2)'s errors (e.g. `EMFILE`) and connect(2)'s immediate ones
    /// (`ECONNREFUSED`, also when a loopback refusal arrives at once;
    /// `ENOENT` for a missing UNIX path, `EAGAIN` for a full UNIX backlog).
    pub fn connect(&self, congestion: Option<&CStr>) -> io::Result<(OwnedFd, Connect)> {
        // SAFETY: plain syscall; the result is checked.
        let fd = cvt(unsafe {
            libc::socket(
                self.family,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: a new fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        if let Some(cc) = congestion {
            sys::set_congestion(fd.as_raw_fd(), cc);
        }
        // SAFETY: storage holds a valid sockaddr of length len.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&self.storage as *const libc::sockaddr_storage).cast(),
                self.len,
            )
        };
        if r == 0 {
            return Ok((fd, Connect::Done));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
        // On loopback the handshake has usually completed by the time
        // connect(2) returns EINPROGRESS (the SYN-ACK is processed when the
        // socket lock is released): asking at once says so, and saves
        // waiting for EPOLLOUT and arming a timer.
        let state = probe(&fd)?;
        Ok((fd, state))
    }
}

/// A round's addresses in the order to try them: the target's list
/// (shared, not copied: no allocation per connection) read from `first`
/// on, wrapping around.
#[derive(Clone, Debug, Default)]
pub struct Addrs {
    list: Rc<[RawAddr]>,
    first: usize,
}

impl Addrs {
    /// How many addresses the round has.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there is none (a name that never resolved).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The `i`-th address to try (`i < len()`).
    pub fn get(&self, i: usize) -> RawAddr {
        self.list[(self.first + i) % self.list.len()]
    }
}

/// How far a connect got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connect {
    /// Connected (the backend may already have sent bytes, or a FIN).
    Done,
    /// The handshake is still in flight.
    InProgress,
    /// Connected, and then the backend reset the connection before we
    /// looked: what it sent first is queued on the socket and must be
    /// relayed before the reset is.
    Reset,
}

/// Asks a TCP socket whose connect(2) returned `EINPROGRESS` how it went,
/// from its TCP state rather than with a second connect(2): when that one
/// reports a failure the kernel disconnects the socket and drops whatever
/// the backend sent before resetting.
///
/// # Errors
/// The connect failed (`ECONNREFUSED`, `ETIMEDOUT`, `EHOSTUNREACH`, …).
pub fn probe(fd: &OwnedFd) -> io::Result<Connect> {
    const ESTABLISHED: u8 = 1;
    const SYN_SENT: u8 = 2;
    const CLOSE: u8 = 7;
    match sys::tcp_state(fd.as_raw_fd())? {
        SYN_SENT => Ok(Connect::InProgress),
        CLOSE => match sys::take_socket_error(fd.as_raw_fd()) {
            Some(e) if !matches!(e.raw_os_error(), Some(libc::ECONNRESET | libc::EPIPE)) => Err(e),
            _ => Ok(Connect::Reset),
        },
        ESTABLISHED => Ok(Connect::Done),
        // CLOSE_WAIT (the backend sent a FIN) and the rest: connected.
        _ => Ok(Connect::Done),
    }
}

/// True for loopback addresses, IPv4-mapped ones included.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
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

/// Splits a TCP TARGET into host and service, systemd-socket-proxyd's way
/// (at the last `:`, port 80 when there is none), with brackets around an
/// IPv6 literal taken off.
fn split_host(spec: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = spec.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unbalanced '['")?;
        return match after {
            "" => Ok((host, DEFAULT_SERVICE)),
            _ => match after.strip_prefix(':') {
                Some(port) if !port.is_empty() => Ok((host, port)),
                _ => Err("expected [v6addr]:port".into()),
            },
        };
    }
    match spec.rsplit_once(':') {
        Some((host, port)) => {
            if port.is_empty() {
                return Err("empty port".into());
            }
            Ok((host, port))
        }
        None => Ok((spec, DEFAULT_SERVICE)),
    }
}

impl Target {
    /// Parses `spec` and looks host names up once (a name that does not
    /// resolve yet is a warning: it is looked up again per connection).
    ///
    /// # Errors
    /// A message naming `spec` when it is empty, has an empty host or port,
    /// a port number out of range, a literal address with a service name
    /// that does not exist, or names a path longer than `sun_path`.
    pub fn parse(spec: &str) -> Result<Self, TargetError> {
        let err = |why: &str| TargetError(format!("invalid target '{spec}': {why}"));
        let max = mem::size_of::<libc::sockaddr_un>() - mem::size_of::<libc::sa_family_t>();
        let fixed = |addrs: Vec<RawAddr>| Target {
            spec: spec.to_string(),
            kind: Kind::Fixed,
            addrs: addrs.into(),
            preferred: 0,
        };
        if let Some(name) = spec.strip_prefix('@') {
            if name.is_empty() || name.len() + 1 > max {
                return Err(err("abstract socket name must be 1 to 107 bytes"));
            }
            return Ok(fixed(vec![unix_addr(name.as_bytes(), true)]));
        }
        if spec.starts_with('/') {
            if spec.len() + 1 > max {
                return Err(err("UNIX socket path must be at most 107 bytes"));
            }
            return Ok(fixed(vec![unix_addr(spec.as_bytes(), false)]));
        }
        if spec.is_empty() {
            return Err(err("empty"));
        }
        let (host, service) = split_host(spec).map_err(|e| err(&e))?;
        if host.is_empty() {
            return Err(err("empty host"));
        }
        if let Ok(port) = service.parse::<u32>() {
            if !(1..=65535).contains(&port) {
                return Err(err(
                    "port must be a number from 1 to 65535 or a service name",
                ));
            }
            if let Ok(ip) = host.parse::<IpAddr>() {
                return Ok(fixed(vec![inet_addr(&SocketAddr::new(ip, port as u16))]));
            }
        } else if service.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err(
                "port must be a number from 1 to 65535 or a service name",
            ));
        }
        let mut t = Target {
            spec: spec.to_string(),
            kind: Kind::Name {
                host: host.to_string(),
                service: service.to_string(),
                resolved_at: None,
                refresh: None,
            },
            addrs: Rc::from(Vec::new()),
            preferred: 0,
        };
        match resolve(host, service) {
            Ok(a) => t.update(a, Instant::now()),
            Err(e) if host.parse::<IpAddr>().is_ok() => {
                return Err(err(&format!("unknown service: {e}")))
            }
            Err(e) => warning!(
                "target '{spec}': cannot resolve '{host}' yet ({e}); looking it up again per \
                 connection"
            ),
        }
        Ok(t)
    }

    fn update(&mut self, addrs: Vec<RawAddr>, now: Instant) {
        if let Kind::Name { resolved_at, .. } = &mut self.kind {
            *resolved_at = Some(now);
        }
        if addrs.is_empty() || *self.addrs == *addrs {
            return;
        }
        // Keep preferring the address that worked when it is still listed.
        let keep = self.addrs.get(self.preferred).copied();
        self.preferred = keep
            .and_then(|k| addrs.iter().position(|a| *a == k))
            .unwrap_or(0);
        if !self.addrs.is_empty() {
            info!("target '{}' now resolves to {addrs:?}", self.spec);
        }
        self.addrs = addrs.into();
    }

    /// True when the target is a TCP address.
    #[cfg(test)]
    pub fn is_inet(&self) -> bool {
        match &self.kind {
            Kind::Fixed => self
                .addrs
                .first()
                .is_some_and(|a| a.family != libc::AF_UNIX),
            Kind::Name { .. } => true,
        }
    }

    /// The addresses to try for a new connection, the one that last
    /// worked first; may be empty while a name has never resolved. Starts a
    /// background look-up when the addresses are older than the TTL (the
    /// stale ones are used meanwhile).
    pub fn addrs(&mut self, now: Instant) -> Addrs {
        let mut done = None;
        if let Kind::Name {
            host,
            service,
            resolved_at,
            refresh,
        } = &mut self.kind
        {
            if refresh.as_ref().is_some_and(|h| h.is_finished()) {
                if let Some(h) = refresh.take() {
                    done = Some(h.join().unwrap_or_else(|_| Err("look-up panicked".into())));
                }
            } else if refresh.is_none()
                && resolved_at.is_none_or(|t| now.duration_since(t) >= RESOLVE_TTL)
            {
                let (h, s) = (host.clone(), service.clone());
                *resolved_at = Some(now);
                *refresh = std::thread::Builder::new()
                    .name("resolve".into())
                    .stack_size(256 * 1024)
                    .spawn(move || resolve(&h, &s))
                    .ok();
            }
        }
        match done {
            Some(Ok(a)) => self.update(a, now),
            Some(Err(e)) => warning!("target '{}': look-up failed: {e}", self.spec),
            None => {}
        }
        Addrs {
            list: Rc::clone(&self.addrs),
            first: self.preferred,
        }
    }

    /// Records that `addr` accepted a connection: later connections try it
    /// first.
    pub fn worked(&mut self, addr: &RawAddr) {
        if let Some(i) = self.addrs.iter().position(|a| a == addr) {
            self.preferred = i;
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

/// getaddrinfo(3) for stream sockets, as systemd-socket-proxyd calls it
/// (`AF_UNSPEC`, `SOCK_STREAM`, no flags); duplicates removed, order kept.
fn resolve(host: &str, service: &str) -> Result<Vec<RawAddr>, String> {
    let h = CString::new(host).map_err(|_| "NUL in host".to_string())?;
    let s = CString::new(service).map_err(|_| "NUL in port".to_string())?;
    // SAFETY: addrinfo is plain old data; zero is a valid value.
    let mut hints: libc::addrinfo = unsafe { mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C strings and hints; res is freed below.
    let r = unsafe { libc::getaddrinfo(h.as_ptr(), s.as_ptr(), &hints, &mut res) };
    if r != 0 {
        // SAFETY: gai_strerror returns a static string.
        let msg = unsafe { CStr::from_ptr(libc::gai_strerror(r)) };
        return Err(msg.to_string_lossy().into_owned());
    }
    let mut out: Vec<RawAddr> = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p walks the list getaddrinfo returned.
        let ai = unsafe { &*p };
        let len = ai.ai_addrlen as usize;
        if matches!(ai.ai_family, libc::AF_INET | libc::AF_INET6)
            && len <= mem::size_of::<libc::sockaddr_storage>()
        {
            // SAFETY: zeroed storage, then ai_addrlen bytes copied from a
            // valid sockaddr.
            let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
            unsafe {
                std::ptr::copy_nonoverlapping(
                    ai.ai_addr.cast::<u8>(),
                    (&mut storage as *mut libc::sockaddr_storage).cast::<u8>(),
                    len,
                )
            };
            let a = RawAddr {
                storage,
                len: len as libc::socklen_t,
                family: ai.ai_family,
            };
            if !out.contains(&a) {
                out.push(a);
            }
        }
        p = ai.ai_next;
    }
    // SAFETY: res came from getaddrinfo.
    unsafe { libc::freeaddrinfo(res) };
    if out.is_empty() {
        return Err("no IPv4 or IPv6 address".into());
    }
    Ok(out)
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
    let (storage, len) = sys::std_to_sockaddr(a);
    RawAddr {
        storage,
        len,
        family: if a.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> SocketAddr {
        let mut t = Target::parse(spec).unwrap();
        t.addrs(Instant::now()).get(0).socket_addr().unwrap()
    }

    #[test]
    fn accepts_every_socket_proxyd_form() {
        assert_eq!(one("127.0.0.1:80"), "127.0.0.1:80".parse().unwrap());
        assert_eq!(one("[::1]:80"), "[::1]:80".parse().unwrap());
        // socket-proxyd splits at the last colon: an unbracketed IPv6
        // literal with a port works.
        assert_eq!(one("::1:8080"), "[::1]:8080".parse().unwrap());
        // No port: 80, as socket-proxyd.
        assert_eq!(one("127.0.0.1"), "127.0.0.1:80".parse().unwrap());
        assert_eq!(one("[::1]"), "[::1]:80".parse().unwrap());
        // Service names.
        assert_eq!(one("127.0.0.1:http").port(), 80);
        assert_eq!(one("localhost:http").port(), 80);
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
            ("127.0.0.1:0", "port must be"),
            ("127.0.0.1:70000", "port must be"),
            ("127.0.0.1:9x", "port must be"),
            ("127.0.0.1:no-such-service", "unknown service"),
            ("127.0.0.1:", "empty port"),
            ("[::1:80", "unbalanced"),
            ("[::1]x", "expected [v6addr]:port"),
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

    #[test]
    fn remembers_the_address_that_worked() {
        let mut t = Target::parse("localhost:9").unwrap();
        let a = t.addrs(Instant::now());
        if a.len() > 1 {
            t.worked(&a.get(1));
            assert_eq!(t.addrs(Instant::now()).get(0), a.get(1));
        }
    }
}
