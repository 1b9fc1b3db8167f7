//! Command line: systemd-socket-proxyd(8)'s arguments, plus berth's extras.

use std::time::Duration;

use clap::Parser;

/// Forward connections from socket-activated listening sockets to a backend.
///
/// A drop-in replacement for systemd-socket-proxyd(8): started by a
/// .socket unit (Accept=no) with the listening sockets passed as
/// LISTEN_FDS, it accepts connections and forwards each one, byte for byte
/// and in both directions, to TARGET. Half-closes and resets are passed on;
/// while the backend is not up yet (a container that socket activation just
/// started) each client is held and the connect retried until
/// --connect-timeout.
///
/// TARGET is host:port (split at the last ':', as systemd-socket-proxyd
/// does, so ::1:80 works; port 80 when none is given; the port may be a
/// service name such as http), [v6addr]:port, /path/to/unix.sock or
/// @abstract-name. Host names are looked up again at most once a second.
/// With one TARGET every passed socket forwards to it. With several, the
/// n-th passed socket (in LISTEN_FDS order) forwards to the n-th TARGET.
/// --target NAME=TARGET maps the socket whose LISTEN_FDNAMES name
/// (FileDescriptorName=) is NAME and takes precedence over the positional
/// rule.
#[derive(Parser, Debug)]
#[command(name = "berth-proxy", version, max_term_width = 100)]
pub struct Args {
    /// Backend address(es): host[:port], [v6addr]:port, /path or @abstract.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Forward the socket named NAME in LISTEN_FDNAMES to TARGET
    /// (repeatable).
    #[arg(long = "target", value_name = "NAME=TARGET", value_parser = parse_named)]
    pub named: Vec<(String, String)>,

    /// Most connections served at once (those still connecting included).
    /// Over the limit no more are accepted; clients wait in the listen
    /// backlog until one closes.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub connections_max: u32,

    /// Exit after this long without connections: counted from start-up
    /// until the first connection, then from the last close. Seconds, or a
    /// systemd time span ("90", "1min 30s", "500ms", "infinity"). Default:
    /// never.
    #[arg(long, value_name = "SECS", value_parser = parse_timespan)]
    pub exit_idle_time: Option<Duration>,

    /// Keep retrying a backend that refuses or is absent for this long after
    /// the client connected, then close the client. Same syntax as
    /// --exit-idle-time.
    #[arg(long, value_name = "SECS", default_value = "30s", value_parser = parse_timespan)]
    pub connect_timeout: Duration,

    /// Enable TCP keepalive on client and backend TCP sockets
    /// (SO_KEEPALIVE; implied by the three options below).
    #[arg(long)]
    pub keepalive: bool,

    /// Idle time before the first keepalive probe (TCP_KEEPIDLE), seconds.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(1..=32767))]
    pub keepalive_time: Option<u32>,

    /// Time between keepalive probes (TCP_KEEPINTVL), seconds.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(1..=32767))]
    pub keepalive_interval: Option<u32>,

    /// Unanswered probes before the connection is dropped (TCP_KEEPCNT).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=127))]
    pub keepalive_count: Option<u32>,

    /// Send a PROXY protocol header (v1: text, v2: binary) to the backend
    /// ahead of the client's bytes, carrying the client's address and the
    /// address it connected to. The backend must expect it. One VERSION
    /// applies to every target; a comma-separated list (v1, v2 or none per
    /// entry) applies to the positional TARGETs in order, one entry each.
    #[arg(long, value_name = "VERSION[,VERSION…]", value_parser = parse_proxy_protocol)]
    pub proxy_protocol: Option<ProxyProtocolSpec>,

    /// TCP congestion control for the proxy's loopback sockets (backend
    /// side when the backend is a loopback address, client side when the
    /// listener is bound to one); "default" keeps the host's
    /// (net.ipv4.tcp_congestion_control).
    #[arg(long, value_name = "ALGORITHM", default_value = "reno")]
    pub loopback_congestion: String,

    /// Log one line per connection (accept, connect, close) as well.
    #[arg(long)]
    pub debug: bool,
}

/// `--proxy-protocol`: one version for all targets, or one entry per
/// positional target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyProtocolSpec {
    /// Every target.
    All(crate::proxy_protocol::Version),
    /// The n-th positional TARGET gets the n-th entry.
    PerTarget(Vec<Option<crate::proxy_protocol::Version>>),
}

fn parse_proxy_protocol(s: &str) -> Result<ProxyProtocolSpec, String> {
    use crate::proxy_protocol::Version;
    let one = |v: &str| match v {
        "v1" => Ok(Some(Version::V1)),
        "v2" => Ok(Some(Version::V2)),
        "none" => Ok(None),
        _ => Err(format!("'{v}': expected v1, v2 or none")),
    };
    if !s.contains(',') {
        return match one(s)? {
            Some(v) => Ok(ProxyProtocolSpec::All(v)),
            None => Ok(ProxyProtocolSpec::PerTarget(Vec::new())),
        };
    }
    s.split(',')
        .map(one)
        .collect::<Result<_, _>>()
        .map(ProxyProtocolSpec::PerTarget)
}

impl ProxyProtocolSpec {
    /// The version for each of `positional` + `named` targets, in the
    /// order main builds them (positional first).
    ///
    /// Errors: a list whose length is not the number of positional TARGETs.
    pub fn per_target(
        &self,
        positional: usize,
        named: usize,
    ) -> Result<Vec<Option<crate::proxy_protocol::Version>>, String> {
        match self {
            ProxyProtocolSpec::All(v) => Ok(vec![Some(*v); positional + named]),
            ProxyProtocolSpec::PerTarget(list) if list.is_empty() => {
                Ok(vec![None; positional + named])
            }
            ProxyProtocolSpec::PerTarget(list) if list.len() == positional => {
                let mut out = list.clone();
                out.resize(positional + named, None);
                Ok(out)
            }
            ProxyProtocolSpec::PerTarget(list) => Err(format!(
                "--proxy-protocol lists {} entries for {positional} positional TARGETs",
                list.len()
            )),
        }
    }
}

fn parse_named(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, t)) if !n.is_empty() && !t.is_empty() => Ok((n.to_string(), t.to_string())),
        _ => Err(format!("'{s}': expected NAME=TARGET")),
    }
}

/// Parses a systemd.time(7) time span: a bare number is seconds;
/// otherwise a sequence of NUMBER[UNIT] with units us, ms, s/sec, m/min,
/// h/hr, d, w; "infinity" means never (`Duration::MAX`).
///
/// # Errors
/// A message naming the input when a number or unit is not understood, or
/// when the span does not fit in 64-bit microseconds (systemd's `usec_t`,
/// which rejects such spans with `ERANGE` too).
pub fn parse_timespan(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t == "infinity" {
        return Ok(Duration::MAX);
    }
    let err = || format!("'{s}': expected seconds or a time span like 90s, 1min 30s, 500ms");
    let too_big = || format!("'{s}': time span too large (use \"infinity\" for never)");
    // usec_t is 64-bit and UINT64_MAX is systemd's infinity.
    let max_secs = (u64::MAX - 1) as f64 / 1e6;
    let checked = |secs: f64| -> Result<Duration, String> {
        if !secs.is_finite() || secs < 0.0 {
            Err(err())
        } else if secs > max_secs {
            Err(too_big())
        } else {
            Duration::try_from_secs_f64(secs).map_err(|_| too_big())
        }
    };
    if let Ok(secs) = t.parse::<f64>() {
        return checked(secs);
    }
    let mut total = 0.0f64;
    let mut rest = t;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        rest = rest.trim_start();
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..n_end].parse().map_err(|_| err())?;
        rest = rest[n_end..].trim_start();
        let u_end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "us" | "usec" => 1e-6,
            "ms" | "msec" => 1e-3,
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 7.0 * 86400.0,
            _ => return Err(err()),
        };
        rest = &rest[u_end..];
        total += n * unit;
        checked(total)?;
    }
    checked(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_timespan("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_timespan("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_timespan("1min 30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_timespan("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_timespan("infinity").unwrap(), Duration::MAX);
        assert!(parse_timespan("5 parsecs").is_err());
        assert!(parse_timespan("").is_err());
        assert!(parse_timespan("-1").is_err());
        // Huge spans are an error naming the input, never a panic.
        for huge in [
            "1e300",
            "99999999999999999999",
            "9999999999999999d",
            "99999999999999999999s 1s",
        ] {
            let e = parse_timespan(huge).unwrap_err();
            assert!(e.contains("too large"), "{huge}: {e}");
        }
        assert!(parse_timespan("NaN").is_err());
        assert!(parse_timespan("inf").is_err());
    }

    #[test]
    fn systemd_socket_proxyd_syntax() {
        let a = Args::try_parse_from([
            "p",
            "--connections-max=7",
            "--exit-idle-time=3",
            "127.0.0.1:80",
        ])
        .unwrap();
        assert_eq!(a.connections_max, 7);
        assert_eq!(a.exit_idle_time, Some(Duration::from_secs(3)));
        assert_eq!(a.targets, ["127.0.0.1:80"]);
        let a = Args::try_parse_from(["p", "-c", "9", "/run/x.sock"]).unwrap();
        assert_eq!(a.connections_max, 9);
        assert_eq!(a.connect_timeout, Duration::from_secs(30));
        assert!(Args::try_parse_from(["p", "-c", "0", "x:1"]).is_err());
        let a = Args::try_parse_from(["p", "--target", "web=[::1]:80", "--target=db=@db"]).unwrap();
        assert_eq!(a.named[0], ("web".to_string(), "[::1]:80".to_string()));
        assert_eq!(a.named[1], ("db".to_string(), "@db".to_string()));
    }
}
