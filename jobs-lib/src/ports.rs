//! Host port reservations (`PortReservation`, geard's `port` package).
//!
//! Every host port a container uses (its `External` ports and, for proxied
//! socket activation, its loopback `Backend` ports) is reserved in one table
//! ([`crate::reservation`]), owned by the container id. Automatic ports come
//! from the configured range ([`crate::config::PortRange`]); a cursor file
//! remembers where the last allocation stopped, so an allocation tries the
//! next ports instead of scanning from the start (cost independent of the
//! number of reservations until the range wraps).
//!
//! TCP and UDP ports are separate spaces: a reservation is of a
//! [`HostPort`], (protocol, number), so TCP 53 and UDP 53 may belong to two
//! containers. On disk a TCP port is its bare number (`ports/8080`,
//! `owners/<id>/port-8080`, the layout from before UDP, so old tables read
//! unchanged) and a UDP port is `udp-<n>` (`ports/udp-53`,
//! `owners/<id>/port-udp-53`).

use crate::config::PortRange;
use crate::definition::{PortPair, Protocol};
use crate::reservation::{ReservationTable, Reserved};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, UdpSocket};
use std::path::PathBuf;

/// A host port as reserved: a protocol and a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPort {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The port number.
    pub port: u16,
}

impl HostPort {
    /// `port` of `protocol`.
    pub const fn new(protocol: Protocol, port: u16) -> HostPort {
        HostPort { protocol, port }
    }

    /// TCP `port`.
    pub const fn tcp(port: u16) -> HostPort {
        HostPort::new(Protocol::Tcp, port)
    }

    /// UDP `port`.
    pub const fn udp(port: u16) -> HostPort {
        HostPort::new(Protocol::Udp, port)
    }

    /// The name in the table: TCP bare (as before UDP existed), UDP `udp-<n>`.
    fn key(self) -> String {
        match self.protocol {
            Protocol::Tcp => self.port.to_string(),
            Protocol::Udp => format!("udp-{}", self.port),
        }
    }

    /// The reverse of [`HostPort::key`]; any other name is not a port.
    fn parse_key(k: &str) -> Option<HostPort> {
        let hp = match k.strip_prefix("udp-") {
            Some(n) => HostPort::udp(n.parse().ok()?),
            None => HostPort::tcp(k.parse().ok()?),
        };
        // Only names berth writes (no `+80`, `080`).
        (hp.key() == k).then_some(hp)
    }
}

/// `8080`, `53/udp`: as podman writes ports, TCP without a suffix.
impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.port, self.protocol.port_suffix())
    }
}

/// The host ports `p` names: `External` (unless 0, "allocate") in the
/// port's protocol, and `Backend`, always TCP (berth-proxy connects to it).
pub fn host_ports(p: &PortPair) -> impl Iterator<Item = HostPort> {
    let external = Some(p.external)
        .filter(|e| *e != 0)
        .map(|e| HostPort::new(p.protocol(), e));
    external.into_iter().chain(p.backend.map(HostPort::tcp))
}

/// Whether to bind-probe ports before handing them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Bind `0.0.0.0:<port>` and `[::]:<port>` (in the port's protocol,
    /// the latter `IPV6_V6ONLY`, so each family is asked on its own) and
    /// close them again; a port some host process listens on in either
    /// family is refused.
    Bind,
    /// Do not probe (tests of the table alone).
    Skip,
}

/// The port reservation table.
#[derive(Debug, Clone)]
pub struct PortTable {
    table: ReservationTable,
    cursor: PathBuf,
    range: PortRange,
    probe: Probe,
}

/// Why a port could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Reserved by another container.
    #[error("host port {port} is reserved by container {owner}")]
    Reserved {
        /// The port.
        port: HostPort,
        /// Its owner.
        owner: String,
    },
    /// Something on the host listens on it.
    #[error("host port {port} is in use on the host ({reason})")]
    InUse {
        /// The port.
        port: HostPort,
        /// The bind error.
        reason: String,
    },
    /// Every port of the range is taken.
    #[error("no free host port left in the range {0}")]
    Exhausted(PortRange),
    /// The table could not be read or written.
    #[error("port reservations: {0}")]
    Io(String),
}

impl From<io::Error> for PortError {
    fn from(e: io::Error) -> Self {
        PortError::Io(e.to_string())
    }
}

impl PortTable {
    /// The table under `state` (`ports/`, `owners/`, `ports.next`),
    /// allocating from `range`.
    pub fn new(state: &std::path::Path, range: PortRange, probe: Probe) -> PortTable {
        PortTable {
            table: ReservationTable::new(state.join("ports"), state.join("owners"), "port-"),
            cursor: state.join("ports.next"),
            range,
            probe,
        }
    }

    /// The allocation range.
    pub fn range(&self) -> PortRange {
        self.range
    }

    /// The owner of `port`, if reserved.
    pub fn owner(&self, port: HostPort) -> io::Result<Option<String>> {
        self.table.owner(&port.key())
    }

    /// Probes whether something on the host listens on `port` (bound, for
    /// UDP) in its protocol.
    pub fn probe(&self, port: HostPort) -> Result<(), PortError> {
        if self.probe == Probe::Skip {
            return Ok(());
        }
        let in_use = |e: io::Error| PortError::InUse {
            port,
            reason: e.to_string(),
        };
        let v4 = (Ipv4Addr::UNSPECIFIED, port.port);
        match port.protocol {
            Protocol::Tcp => TcpListener::bind(v4).map(drop),
            Protocol::Udp => UdpSocket::bind(v4).map(drop),
        }
        .map_err(in_use)?;
        probe_v6(port).map_err(in_use)
    }

    /// Reserves an explicit `port` for `owner`. A port `owner` holds is
    /// kept (and not probed: its own container may listen on it).
    /// Returns whether the reservation is new.
    ///
    /// Errors: [`PortError::Reserved`] (nothing changed), [`PortError::InUse`].
    pub fn reserve(&self, port: HostPort, owner: &str) -> Result<bool, PortError> {
        match self.owner(port)? {
            Some(o) if o == owner => return Ok(false),
            Some(o) => return Err(PortError::Reserved { port, owner: o }),
            None => {}
        }
        self.probe(port)?;
        match self.table.reserve(&port.key(), owner)? {
            Reserved::New => Ok(true),
            Reserved::AlreadyOwned => Ok(false),
            Reserved::TakenBy(o) => Err(PortError::Reserved { port, owner: o }),
        }
    }

    /// Records that `owner`'s definition in force uses `port`, without
    /// probing (its own container may listen on it). Returns the other
    /// owner when the port is held already.
    pub fn claim(&self, port: HostPort, owner: &str) -> io::Result<Option<String>> {
        Ok(match self.table.reserve(&port.key(), owner)? {
            Reserved::New | Reserved::AlreadyOwned => None,
            Reserved::TakenBy(o) => Some(o),
        })
    }

    /// Allocates a port of the range free for `protocol` for `owner`,
    /// starting after the last allocation and wrapping around once. The
    /// cursor is shared by both protocols (a hint only).
    ///
    /// Errors: [`PortError::Exhausted`], or I/O.
    pub fn allocate(&self, protocol: Protocol, owner: &str) -> Result<u16, PortError> {
        let start = std::fs::read_to_string(&self.cursor)
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok())
            .filter(|p| self.range.contains(*p))
            .unwrap_or(self.range.first);
        let len = self.range.len();
        let offset = u32::from(start - self.range.first);
        for i in 0..len {
            let n = (u32::from(self.range.first) + (offset + i) % len) as u16;
            let port = HostPort::new(protocol, n);
            if self.owner(port)?.is_some() || self.probe(port).is_err() {
                continue;
            }
            if let Reserved::New = self.table.reserve(&port.key(), owner)? {
                let next = if n == self.range.last {
                    self.range.first
                } else {
                    n + 1
                };
                // A hint only: losing it costs a longer search, nothing else.
                let _ = std::fs::write(&self.cursor, next.to_string());
                return Ok(n);
            }
        }
        Err(PortError::Exhausted(self.range))
    }

    /// Releases `port` if `owner` holds it. Returns whether it did.
    pub fn release(&self, port: HostPort, owner: &str) -> io::Result<bool> {
        self.table.release(&port.key(), owner)
    }

    /// Ports `owner` has ownership entries for.
    pub fn claimed_by(&self, owner: &str) -> io::Result<Vec<HostPort>> {
        let mut v: Vec<HostPort> = self
            .table
            .claimed_by(owner)?
            .iter()
            .filter_map(|k| HostPort::parse_key(k))
            .collect();
        v.sort();
        Ok(v)
    }

    /// Every reservation as `(port, owner)`, sorted (reports and tests).
    pub fn all(&self) -> io::Result<Vec<(HostPort, String)>> {
        let mut v: Vec<(HostPort, String)> = self
            .table
            .all()?
            .into_iter()
            .filter_map(|(k, o)| HostPort::parse_key(&k).map(|p| (p, o)))
            .collect();
        v.sort();
        Ok(v)
    }
}

/// Binds `[::]:<port>` in the port's protocol with `IPV6_V6ONLY`. TCP also
/// sets `SO_REUSEADDR`, as std does for IPv4, so a connection in TIME_WAIT
/// does not count as a listener; UDP does not, as std does not: with it a
/// UDP socket that set it too could share the port and go unseen. A host
/// without IPv6 has nothing listening there: that is not an error.
fn probe_v6(port: HostPort) -> io::Result<()> {
    use rustix::net::{sockopt, AddressFamily, SocketType};
    let kind = match port.protocol {
        Protocol::Tcp => SocketType::STREAM,
        Protocol::Udp => SocketType::DGRAM,
    };
    let fd = match rustix::net::socket(AddressFamily::INET6, kind, None) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::AFNOSUPPORT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    sockopt::set_ipv6_v6only(&fd, true)?;
    if port.protocol == Protocol::Tcp {
        sockopt::set_socket_reuseaddr(&fd, true)?;
    }
    let addr = std::net::SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port.port, 0, 0);
    match rustix::net::bind(&fd, &addr) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::ADDRNOTAVAIL) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(d: &std::path::Path, first: u16, last: u16) -> PortTable {
        PortTable::new(d, PortRange { first, last }, Probe::Skip)
    }

    #[test]
    fn allocation_walks_the_range_and_wraps() {
        let d = tempfile::tempdir().unwrap();
        let t = table(d.path(), 5000, 5002);
        let tcp = Protocol::Tcp;
        assert_eq!(t.allocate(tcp, "a").unwrap(), 5000);
        assert_eq!(t.allocate(tcp, "b").unwrap(), 5001);
        assert!(t.release(HostPort::tcp(5000), "a").unwrap());
        assert_eq!(t.allocate(tcp, "c").unwrap(), 5002);
        assert_eq!(
            t.allocate(tcp, "d").unwrap(),
            5000,
            "wraps to the freed port"
        );
        assert_eq!(t.allocate(tcp, "e"), Err(PortError::Exhausted(t.range())));
    }

    #[test]
    fn explicit_conflict_leaves_the_owner_alone() {
        let d = tempfile::tempdir().unwrap();
        let t = table(d.path(), 5000, 5010);
        let p = HostPort::tcp(8080);
        assert!(t.reserve(p, "web").unwrap());
        assert!(!t.reserve(p, "web").unwrap(), "reinstall keeps it");
        assert_eq!(
            t.reserve(p, "web1"),
            Err(PortError::Reserved {
                port: p,
                owner: "web".into()
            })
        );
        assert!(!t.release(p, "web1").unwrap());
        assert_eq!(t.owner(p).unwrap().as_deref(), Some("web"));
    }

    #[test]
    fn allocation_skips_ports_in_use_on_the_host() {
        let d = tempfile::tempdir().unwrap();
        let l = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let busy = l.local_addr().unwrap().port();
        let t = PortTable::new(
            d.path(),
            PortRange {
                first: busy,
                last: busy.saturating_add(5).max(busy),
            },
            Probe::Bind,
        );
        let p = HostPort::tcp(busy);
        assert!(matches!(t.reserve(p, "x"), Err(PortError::InUse { .. })));
        if busy < 65535 {
            assert_ne!(t.allocate(Protocol::Tcp, "x").unwrap(), busy);
        }
        assert_eq!(t.owner(p).unwrap(), None);
    }

    /// An IPv6-only socket of `kind` bound (a stream one listening) on a
    /// free port, and a table of that one port; `None` without IPv6.
    fn ipv6_only_port(
        kind: rustix::net::SocketType,
    ) -> Option<(rustix::fd::OwnedFd, u16, tempfile::TempDir, PortTable)> {
        use rustix::net::{sockopt, AddressFamily, SocketType};
        let Ok(fd) = rustix::net::socket(AddressFamily::INET6, kind, None) else {
            eprintln!("skipped: no IPv6");
            return None;
        };
        sockopt::set_ipv6_v6only(&fd, true).unwrap();
        let any = std::net::SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0);
        if rustix::net::bind(&fd, &any).is_err() {
            eprintln!("skipped: cannot bind [::]");
            return None;
        }
        if kind == SocketType::STREAM {
            rustix::net::listen(&fd, 1).unwrap();
        }
        let local = rustix::net::getsockname(&fd).unwrap();
        let port = std::net::SocketAddr::try_from(local).unwrap().port();
        let d = tempfile::tempdir().unwrap();
        let range = PortRange {
            first: port,
            last: port,
        };
        let t = PortTable::new(d.path(), range, Probe::Bind);
        Some((fd, port, d, t))
    }

    #[test]
    fn probe_sees_an_ipv6_only_listener() {
        let Some((_fd, port, _d, t)) = ipv6_only_port(rustix::net::SocketType::STREAM) else {
            return;
        };
        // IPv4 alone says free; the IPv6 listener makes it taken.
        assert!(TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok());
        assert!(matches!(
            t.reserve(HostPort::tcp(port), "x"),
            Err(PortError::InUse { .. })
        ));
        assert_eq!(
            t.allocate(Protocol::Tcp, "x"),
            Err(PortError::Exhausted(t.range()))
        );
    }

    #[test]
    fn tcp_and_udp_are_separate_spaces() {
        let d = tempfile::tempdir().unwrap();
        let t = table(d.path(), 5000, 5000);
        assert!(t.reserve(HostPort::tcp(53), "a").unwrap());
        assert!(t.reserve(HostPort::udp(53), "b").unwrap());
        assert_eq!(t.owner(HostPort::tcp(53)).unwrap().as_deref(), Some("a"));
        assert_eq!(t.owner(HostPort::udp(53)).unwrap().as_deref(), Some("b"));
        // The one port of the range: held for TCP, still free for UDP.
        assert_eq!(t.allocate(Protocol::Tcp, "a").unwrap(), 5000);
        assert_eq!(t.allocate(Protocol::Udp, "b").unwrap(), 5000);
        assert_eq!(
            t.allocate(Protocol::Udp, "c"),
            Err(PortError::Exhausted(t.range()))
        );
        assert!(!t.release(HostPort::udp(53), "a").unwrap(), "not a's");
        assert_eq!(
            t.claimed_by("b").unwrap(),
            [HostPort::udp(53), HostPort::udp(5000)]
        );
        // The layout: TCP bare as before UDP, UDP prefixed.
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(d.path().join(dir))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("ports"), ["5000", "53", "udp-5000", "udp-53"]);
        assert_eq!(names("owners/b"), ["port-udp-5000", "port-udp-53"]);
        assert_eq!(HostPort::udp(53).to_string(), "53/udp");
        assert_eq!(HostPort::tcp(53).to_string(), "53");
    }

    #[test]
    fn keys_berth_does_not_write_are_not_ports() {
        for k in ["+80", "080", "udp-", "udp-+1", "udp-70000", "tcp-80", "x"] {
            assert_eq!(HostPort::parse_key(k), None, "{k}");
        }
        assert_eq!(HostPort::parse_key("80"), Some(HostPort::tcp(80)));
        assert_eq!(HostPort::parse_key("udp-80"), Some(HostPort::udp(80)));
    }

    #[test]
    fn udp_probe_sees_an_ipv6_only_socket() {
        let Some((_fd, port, _d, t)) = ipv6_only_port(rustix::net::SocketType::DGRAM) else {
            return;
        };
        assert!(UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok());
        assert!(matches!(
            t.reserve(HostPort::udp(port), "x"),
            Err(PortError::InUse { .. })
        ));
    }

    #[test]
    fn udp_probe_sees_udp_sockets_only() {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let busy = sock.local_addr().unwrap().port();
        let d = tempfile::tempdir().unwrap();
        let t = PortTable::new(
            d.path(),
            PortRange {
                first: busy,
                last: busy,
            },
            Probe::Bind,
        );
        assert!(matches!(
            t.reserve(HostPort::udp(busy), "x"),
            Err(PortError::InUse { .. })
        ));
        assert_eq!(
            t.allocate(Protocol::Udp, "x"),
            Err(PortError::Exhausted(t.range()))
        );
        // A UDP socket does not make the TCP port busy (unless something
        // else on the host happens to listen there).
        if TcpListener::bind((Ipv4Addr::UNSPECIFIED, busy)).is_ok() {
            assert_eq!(t.allocate(Protocol::Tcp, "x").unwrap(), busy);
        }
    }
}
