//! Parsing of the small value grammars of the command line.

use berth_jobs::definition::{EnvVar, NetworkLink, PortPair, Protocol};

/// `INT[:EXT][/PROTO]` → a port pair (EXT absent: 0, allocate; PROTO
/// `tcp`, the default, or `udp`, as podman's `--publish` spells it).
pub fn port(s: &str) -> Result<PortPair, String> {
    // Digits only: Rust's parse would also take `+53`.
    let num = |v: &str, what: &str| -> Result<u16, String> {
        v.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| v.parse::<u16>().ok())
            .flatten()
            .ok_or_else(|| format!("--port {s:?}: {what} must be a port number 0-65535"))
    };
    let (pair, protocol) = match s.rsplit_once('/') {
        Some((pair, "tcp")) => (pair, Some(Protocol::Tcp)),
        Some((pair, "udp")) => (pair, Some(Protocol::Udp)),
        Some((_, other)) => {
            return Err(format!(
                "--port {s:?}: the protocol after '/' must be tcp or udp (got {other:?})"
            ))
        }
        None => (s, None),
    };
    let (i, e) = match pair.split_once(':') {
        Some((i, e)) => (num(i, "INT")?, num(e, "EXT")?),
        None => (num(pair, "INT")?, 0),
    };
    Ok(PortPair {
        internal: i,
        external: e,
        backend: None,
        proxy_protocol: None,
        protocol,
    })
}

/// `K=V` → a variable (the value may contain `=`).
pub fn env(s: &str) -> Result<EnvVar, String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=VALUE"))?;
    Ok(EnvVar {
        name: k.to_owned(),
        value: v.to_owned(),
    })
}

fn host_port(s: &str) -> Option<(String, u16)> {
    let (h, p) = s.rsplit_once(':')?;
    let h = h
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h);
    Some((h.to_owned(), p.parse().ok()?))
}

/// `FROM_HOST:FROM_PORT=TO_HOST:TO_PORT` (IPv6 addresses in brackets).
pub fn link(s: &str) -> Result<NetworkLink, String> {
    let bad = || format!("{s:?}: expected FROM_HOST:FROM_PORT=TO_HOST:TO_PORT");
    let (a, b) = s.split_once('=').ok_or_else(bad)?;
    let (fh, fp) = host_port(a).ok_or_else(bad)?;
    let (th, tp) = host_port(b).ok_or_else(bad)?;
    Ok(NetworkLink {
        from_host: fh,
        from_port: fp,
        to_host: th,
        to_port: tp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert_eq!(port("80").unwrap().external, 0);
        let p = port("80:8080").unwrap();
        assert_eq!((p.internal, p.external), (80, 8080));
        assert!(port("x").is_err());
        assert!(port("80:70000").is_err());
        assert_eq!(
            port("80:8080").unwrap().protocol,
            None,
            "tcp stays implicit"
        );
        let p = port("53:5353/udp").unwrap();
        assert_eq!((p.internal, p.external), (53, 5353));
        assert_eq!(p.protocol(), Protocol::Udp);
        let p = port("53/udp").unwrap();
        assert_eq!(
            (p.internal, p.external, p.protocol),
            (53, 0, Some(Protocol::Udp))
        );
        assert_eq!(port("80:8080/tcp").unwrap().protocol, Some(Protocol::Tcp));
        for bad in [
            "53/sctp",
            "53/",
            "53:5353/UDP",
            "/udp",
            "53:/udp",
            "+53",
            "53:+80",
            " 53",
        ] {
            let e = port(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        assert!(port("53/sctp").unwrap_err().contains("tcp or udp"));
    }

    #[test]
    fn envs() {
        let e = env("A=b=c").unwrap();
        assert_eq!((e.name.as_str(), e.value.as_str()), ("A", "b=c"));
        assert!(env("A").is_err());
    }

    #[test]
    fn links() {
        let l = link("127.0.0.1:5432=db.example:5433").unwrap();
        assert_eq!(l.from_host, "127.0.0.1");
        assert_eq!(l.to_port, 5433);
        let l = link("[::1]:80=[fd00::2]:81").unwrap();
        assert_eq!(
            (l.from_host.as_str(), l.to_host.as_str()),
            ("::1", "fd00::2")
        );
        assert!(link("127.0.0.1=x:1").is_err());
    }
}
