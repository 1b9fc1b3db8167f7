//! Host port reservations (`PortReservation`, geard's `port` package).
//!
//! Every host port a container uses (its `External` ports and, for proxied
//! socket activation, its loopback `Backend` ports) is reserved in one table
//! ([`crate::reservation`]), owned by the container id. Automatic ports come
//! from the configured range ([`crate::config::PortRange`]); a cursor file
//! remembers where the last allocation stopped, so an allocation tries the
//! next ports instead of scanning from the start (cost independent of the
//! number of reservations until the range wraps).

use crate::config::PortRange;
use crate::reservation::{ReservationTable, Reserved};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::PathBuf;

/// Whether to bind-probe ports before handing them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Bind `0.0.0.0:<port>` and `[::]:<port>` (TCP, the latter
    /// `IPV6_V6ONLY`, so each family is asked on its own) and close them
    /// again; a port some host process listens on in either family is
    /// refused.
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
        port: u16,
        /// Its owner.
        owner: String,
    },
    /// Something on the host listens on it.
    #[error("host port {port} is in use on the host ({reason})")]
    InUse {
        /// The port.
        port: u16,
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
    pub fn owner(&self, port: u16) -> io::Result<Option<String>> {
        self.table.owner(&port.to_string())
    }

    /// Probes whether something on the host listens on `port`.
    pub fn probe(&self, port: u16) -> Result<(), PortError> {
        if self.probe == Probe::Skip {
            return Ok(());
        }
        let in_use = |e: io::Error| PortError::InUse {
            port,
            reason: e.to_string(),
        };
        TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
            .map(drop)
            .map_err(in_use)?;
        probe_v6(port).map_err(in_use)
    }

    /// Reserves an explicit `port` for `owner`. A port `owner` holds is
    /// kept (and not probed: its own container may listen on it).
    /// Returns whether the reservation is new.
    ///
    /// Errors: [`PortError::Reserved`] (nothing changed), [`PortError::InUse`].
    pub fn reserve(&self, port: u16, owner: &str) -> Result<bool, PortError> {
        match self.owner(port)? {
            Some(o) if o == owner => return Ok(false),
            Some(o) => return Err(PortError::Reserved { port, owner: o }),
            None => {}
        }
        self.probe(port)?;
        match self.table.reserve(&port.to_string(), owner)? {
            Reserved::New => Ok(true),
            Reserved::AlreadyOwned => Ok(false),
            Reserved::TakenBy(o) => Err(PortError::Reserved { port, owner: o }),
        }
    }

    /// Records that `owner`'s definition in force uses `port`, without
    /// probing (its own container may listen on it). Returns the other
    /// owner when the port is held already.
    pub fn claim(&self, port: u16, owner: &str) -> io::Result<Option<String>> {
        Ok(match self.table.reserve(&port.to_string(), owner)? {
            Reserved::New | Reserved::AlreadyOwned => None,
            Reserved::TakenBy(o) => Some(o),
        })
    }

    /// Allocates a free port of the range for `owner`, starting after the
    /// last allocation and wrapping around once.
    ///
    /// Errors: [`PortError::Exhausted`], or I/O.
    pub fn allocate(&self, owner: &str) -> Result<u16, PortError> {
        let start = std::fs::read_to_string(&self.cursor)
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok())
            .filter(|p| self.range.contains(*p))
            .unwrap_or(self.range.first);
        let len = self.range.len();
        let offset = u32::from(start - self.range.first);
        for i in 0..len {
            let port = (u32::from(self.range.first) + (offset + i) % len) as u16;
            if self.owner(port)?.is_some() || self.probe(port).is_err() {
                continue;
            }
            if let Reserved::New = self.table.reserve(&port.to_string(), owner)? {
                let next = if port == self.range.last {
                    self.range.first
                } else {
                    port + 1
                };
                // A hint only: losing it costs a longer search, nothing else.
                let _ = std::fs::write(&self.cursor, next.to_string());
                return Ok(port);
            }
        }
        Err(PortError::Exhausted(self.range))
    }

    /// Releases `port` if `owner` holds it. Returns whether it did.
    pub fn release(&self, port: u16, owner: &str) -> io::Result<bool> {
        self.table.release(&port.to_string(), owner)
    }

    /// Ports `owner` has ownership entries for.
    pub fn claimed_by(&self, owner: &str) -> io::Result<Vec<u16>> {
        Ok(self
            .table
            .claimed_by(owner)?
            .iter()
            .filter_map(|k| k.parse().ok())
            .collect())
    }

    /// Every reservation as `(port, owner)` (reports and tests).
    pub fn all(&self) -> io::Result<Vec<(u16, String)>> {
        let mut v: Vec<(u16, String)> = self
            .table
            .all()?
            .into_iter()
            .filter_map(|(k, o)| k.parse().ok().map(|p| (p, o)))
            .collect();
        v.sort();
        Ok(v)
    }
}

/// Binds `[::]:<port>` with `IPV6_V6ONLY` (and `SO_REUSEADDR`, as std does
/// for IPv4, so a connection in TIME_WAIT does not count as a listener). A
/// host without IPv6 has nothing listening there: that is not an error.
fn probe_v6(port: u16) -> io::Result<()> {
    use rustix::net::{sockopt, AddressFamily, SocketType};
    let fd = match rustix::net::socket(AddressFamily::INET6, SocketType::STREAM, None) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::AFNOSUPPORT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    sockopt::set_ipv6_v6only(&fd, true)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    let addr = std::net::SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0);
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
        assert_eq!(t.allocate("a").unwrap(), 5000);
        assert_eq!(t.allocate("b").unwrap(), 5001);
        assert!(t.release(5000, "a").unwrap());
        assert_eq!(t.allocate("c").unwrap(), 5002);
        assert_eq!(t.allocate("d").unwrap(), 5000, "wraps to the freed port");
        assert_eq!(t.allocate("e"), Err(PortError::Exhausted(t.range())));
    }

    #[test]
    fn explicit_conflict_leaves_the_owner_alone() {
        let d = tempfile::tempdir().unwrap();
        let t = table(d.path(), 5000, 5010);
        assert!(t.reserve(8080, "web").unwrap());
        assert!(!t.reserve(8080, "web").unwrap(), "reinstall keeps it");
        assert_eq!(
            t.reserve(8080, "web1"),
            Err(PortError::Reserved {
                port: 8080,
                owner: "web".into()
            })
        );
        assert!(!t.release(8080, "web1").unwrap());
        assert_eq!(t.owner(8080).unwrap().as_deref(), Some("web"));
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
        assert!(matches!(t.reserve(busy, "x"), Err(PortError::InUse { .. })));
        if busy < 65535 {
            assert_ne!(t.allocate("x").unwrap(), busy);
        }
        assert_eq!(t.owner(busy).unwrap(), None);
    }

    #[test]
    fn probe_sees_an_ipv6_only_listener() {
        use rustix::net::{sockopt, AddressFamily, SocketType};
        let Ok(fd) = rustix::net::socket(AddressFamily::INET6, SocketType::STREAM, None) else {
            eprintln!("skipped: no IPv6");
            return;
        };
        sockopt::set_ipv6_v6only(&fd, true).unwrap();
        let any = std::net::SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0);
        if rustix::net::bind(&fd, &any).is_err() {
            eprintln!("skipped: cannot bind [::]");
            return;
        }
        rustix::net::listen(&fd, 1).unwrap();
        let local = rustix::net::getsockname(&fd).unwrap();
        let port = std::net::SocketAddr::try_from(local).unwrap().port();
        let d = tempfile::tempdir().unwrap();
        let t = PortTable::new(
            d.path(),
            PortRange {
                first: port,
                last: port,
            },
            Probe::Bind,
        );
        // IPv4 alone says free; the IPv6 listener makes it taken.
        assert!(TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok());
        assert!(matches!(t.reserve(port, "x"), Err(PortError::InUse { .. })));
        assert_eq!(t.allocate("x"), Err(PortError::Exhausted(t.range())));
    }
}
