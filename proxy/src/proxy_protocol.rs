//! The PROXY protocol header sent to the backend before the client's bytes,
//! so the backend sees the real client address (HAProxy's "The PROXY
//! protocol", versions 1 and 2: <https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>).

use std::net::{IpAddr, SocketAddr};

/// `--proxy-protocol` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Version {
    /// Text header: `PROXY TCP4 SRC DST SPORT DPORT\r\n`.
    V1,
    /// Binary header: 12-byte signature, command, family, addresses.
    V2,
}

/// The v2 signature (section 2.2).
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The header for a connection from `src` (the client) to `dst` (the
/// address it connected to); `None` for both when the client came over a
/// UNIX socket, which v1 sends as `PROXY UNKNOWN` and v2 as an `AF_UNSPEC`
/// PROXY command (the backend then uses the connection's own addresses).
/// IPv4-mapped IPv6 addresses (a dual-stack listener) are sent as IPv4.
pub fn header(v: Version, src: Option<SocketAddr>, dst: Option<SocketAddr>) -> Vec<u8> {
    let pair = match (src, dst) {
        (Some(s), Some(d)) => Some(unmap(s, d)),
        _ => None,
    };
    match v {
        Version::V1 => match pair {
            Some((s, d)) => format!(
                "PROXY {} {} {} {} {}\r\n",
                if s.is_ipv4() { "TCP4" } else { "TCP6" },
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
            .into_bytes(),
            None => b"PROXY UNKNOWN\r\n".to_vec(),
        },
        Version::V2 => {
            let mut h = V2_SIGNATURE.to_vec();
            h.push(0x21); // version 2, PROXY
            match pair {
                Some((s, d)) => {
                    let (fam, mut a) = match (s.ip(), d.ip()) {
                        (IpAddr::V4(si), IpAddr::V4(di)) => {
                            (0x11u8, [si.octets(), di.octets()].concat())
                        }
                        (si, di) => (0x21u8, [v6(si), v6(di)].concat()),
                    };
                    a.extend_from_slice(&s.port().to_be_bytes());
                    a.extend_from_slice(&d.port().to_be_bytes());
                    h.push(fam);
                    h.extend_from_slice(&(a.len() as u16).to_be_bytes());
                    h.extend_from_slice(&a);
                }
                None => h.extend_from_slice(&[0x00, 0, 0]),
            }
            h
        }
    }
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Both as IPv4 when both are IPv4 or IPv4-mapped; otherwise both IPv6.
fn unmap(s: SocketAddr, d: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v4 = |a: SocketAddr| match a.ip() {
        IpAddr::V4(ip) => Some(SocketAddr::new(IpAddr::V4(ip), a.port())),
        IpAddr::V6(ip) => ip
            .to_ipv4_mapped()
            .map(|ip| SocketAddr::new(IpAddr::V4(ip), a.port())),
    };
    match (v4(s), v4(d)) {
        (Some(s4), Some(d4)) => (s4, d4),
        _ => {
            let to6 = |a: SocketAddr| {
                SocketAddr::new(
                    IpAddr::V6(match a.ip() {
                        IpAddr::V4(ip) => ip.to_ipv6_mapped(),
                        IpAddr::V6(ip) => ip,
                    }),
                    a.port(),
                )
            };
            (to6(s), to6(d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_lines() {
        let s = "192.0.2.1:56324".parse().ok();
        let d = "198.51.100.1:443".parse().ok();
        assert_eq!(
            header(Version::V1, s, d),
            b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"
        );
        let s = "[2001:db8::1]:1".parse().ok();
        let d = "[::1]:2".parse().ok();
        assert_eq!(
            header(Version::V1, s, d),
            b"PROXY TCP6 2001:db8::1 ::1 1 2\r\n"
        );
        let s = "[::ffff:10.0.0.1]:5".parse().ok();
        let d = "[::ffff:10.0.0.2]:6".parse().ok();
        assert_eq!(
            header(Version::V1, s, d),
            b"PROXY TCP4 10.0.0.1 10.0.0.2 5 6\r\n"
        );
        assert_eq!(header(Version::V1, None, None), b"PROXY UNKNOWN\r\n");
    }

    #[test]
    fn v2_blocks() {
        let s = "10.0.0.1:258".parse().ok();
        let d = "10.0.0.2:80".parse().ok();
        let h = header(Version::V2, s, d);
        assert_eq!(&h[..12], &V2_SIGNATURE);
        assert_eq!(&h[12..16], &[0x21, 0x11, 0, 12]);
        assert_eq!(&h[16..], &[10, 0, 0, 1, 10, 0, 0, 2, 1, 2, 0, 80]);
        let h = header(Version::V2, "[::1]:1".parse().ok(), "[::1]:2".parse().ok());
        assert_eq!(&h[12..16], &[0x21, 0x21, 0, 36]);
        assert_eq!(h.len(), 16 + 36);
        assert_eq!(&header(Version::V2, None, None)[12..], &[0x21, 0, 0, 0]);
    }
}
