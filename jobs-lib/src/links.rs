//! Network links in a container's network namespace (geard's
//! `NetworkLinks`, which geard applied with iptables from the host).
//!
//! Connections made inside the container to `FromHost:FromPort` are
//! DNAT-ed to `ToHost:ToPort` by an nftables table `inet berth_links` in the
//! container's own network namespace (the host's ruleset is never touched),
//! installed by `berth internal apply-links <id>` as the container's
//! `ExecStartPost=`. Loopback `FromHost`s need `route_localnet` and a
//! masquerade rule, since packets from 127.0.0.1 may otherwise not leave.
//!
//! [`render_ruleset`] is pure (tested here); [`apply`] runs
//! `nsenter --target <pid> --net nft -f -` with a clean environment: no
//! container variable ever reaches a host process.

use crate::context::Context;
use crate::definition::NetworkLink;
use crate::error::{FailureKind, JobError, ERR_LINK_CONTAINERS_FAILED};
use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::Stdio;

/// The nftables table berth owns in a container's namespace.
pub const TABLE: &str = "berth_links";

/// A link with `ToHost` resolved to an address of `from`'s family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedLink {
    /// Address the container connects to.
    pub from: IpAddr,
    /// Port the container connects to.
    pub from_port: u16,
    /// Where the connection goes instead.
    pub to: IpAddr,
    /// Its port.
    pub to_port: u16,
}

/// Resolves `ToHost` (an address, or a name looked up now) to an address
/// of the same family as `FromHost`.
///
/// Errors: `FromHost` is not an address; the name does not resolve to an
/// address of that family.
pub fn resolve(link: &NetworkLink) -> Result<ResolvedLink, String> {
    let from: IpAddr = link
        .from_host
        .parse()
        .map_err(|_| format!("FromHost {:?} is not an IP address", link.from_host))?;
    let to = match link.to_host.parse::<IpAddr>() {
        Ok(a) => a,
        Err(_) => (link.to_host.as_str(), link.to_port)
            .to_socket_addrs()
            .map_err(|e| format!("ToHost {:?}: {e}", link.to_host))?
            .map(|s: SocketAddr| s.ip())
            .find(|a| a.is_ipv4() == from.is_ipv4())
            .ok_or_else(|| {
                format!(
                    "ToHost {:?} has no address of FromHost's family",
                    link.to_host
                )
            })?,
    };
    if to.is_ipv4() != from.is_ipv4() {
        return Err(format!(
            "{} and {} are of different IP families; nftables cannot translate between them",
            link.from_host, link.to_host
        ));
    }
    Ok(ResolvedLink {
        from,
        from_port: link.from_port,
        to,
        to_port: link.to_port,
    })
}

/// The nftables script for `links` (nft(8) syntax), replacing the whole
/// table atomically: `add` (so `delete` finds it) + `delete` + the new
/// table, in one `nft -f` transaction. Same input, same bytes.
pub fn render_ruleset(id: &str, links: &[ResolvedLink]) -> String {
    let mut s = format!("# berth network links of container {id}\n");
    s.push_str(&format!("table inet {TABLE}\ndelete table inet {TABLE}\n"));
    s.push_str(&format!("table inet {TABLE} {{\n"));
    s.push_str("\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n");
    for l in links {
        match (l.from, l.to) {
            (IpAddr::V4(f), IpAddr::V4(t)) => s.push_str(&format!(
                "\t\tip daddr {f} tcp dport {} dnat ip to {t}:{}\n",
                l.from_port, l.to_port
            )),
            (IpAddr::V6(f), IpAddr::V6(t)) => s.push_str(&format!(
                "\t\tip6 daddr {f} tcp dport {} dnat ip6 to [{t}]:{}\n",
                l.from_port, l.to_port
            )),
            _ => unreachable!("resolve() keeps families equal"),
        }
    }
    s.push_str("\t}\n");
    s.push_str(
        "\tchain postrouting {\n\t\ttype nat hook postrouting priority 100; policy accept;\n",
    );
    if links
        .iter()
        .any(|l| l.from.is_ipv4() && l.from.is_loopback() && !l.to.is_loopback())
    {
        s.push_str("\t\tip saddr 127.0.0.0/8 ip daddr != 127.0.0.0/8 masquerade\n");
    }
    if links
        .iter()
        .any(|l| l.from.is_ipv6() && l.from.is_loopback() && !l.to.is_loopback())
    {
        s.push_str("\t\tip6 saddr ::1 ip6 daddr != ::1 masquerade\n");
    }
    s.push_str("\t}\n}\n");
    s
}

/// Applies container `id`'s links in its network namespace.
///
/// Errors: `NotFound` without a definition; geard's
/// `ErrLinkContainersFailed` when the container is not running, a name
/// does not resolve, or nsenter/nft/sysctl fail.
pub fn apply(ctx: &Context, id: &str) -> Result<usize, JobError> {
    let l = ctx.store().require(id)?;
    let links = &l.definition.network_links;
    if links.is_empty() {
        return Ok(0);
    }
    let resolved: Vec<ResolvedLink> = links
        .iter()
        .map(resolve)
        .collect::<Result<_, _>>()
        .map_err(|e| ERR_LINK_CONTAINERS_FAILED.detail(e))?;
    let name = crate::definition::names::container_name(id);
    let pid = crate::podman::pid(ctx, &name).map_err(|e| ERR_LINK_CONTAINERS_FAILED.detail(e))?;
    if pid == 0 {
        return Err(ERR_LINK_CONTAINERS_FAILED.detail(format!("container {name} is not running")));
    }
    if resolved
        .iter()
        .any(|r| r.from.is_ipv4() && r.from.is_loopback())
    {
        let mut c = ctx.host.command("nsenter");
        c.arg(format!("--target={pid}")).arg("--net").args([
            "--",
            "sysctl",
            "-q",
            "-w",
            "net.ipv4.conf.all.route_localnet=1",
        ]);
        ctx.host
            .run(c)
            .map_err(|e| ERR_LINK_CONTAINERS_FAILED.detail(e))?;
    }
    let script = render_ruleset(id, &resolved);
    let mut c = ctx.host.command("nsenter");
    c.arg(format!("--target={pid}"))
        .arg("--net")
        .args(["--", "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let fail = |e: &dyn std::fmt::Display| {
        JobError::new(FailureKind::Error, ERR_LINK_CONTAINERS_FAILED.message).detail(e)
    };
    let mut child = c.spawn().map_err(|e| fail(&format!("nsenter: {e}")))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes())
        .map_err(|e| fail(&format!("nft input: {e}")))?;
    let out = child.wait_with_output().map_err(|e| fail(&e))?;
    if !out.status.success() {
        return Err(fail(&format!(
            "nft: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(resolved.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(fh: &str, fp: u16, th: &str, tp: u16) -> NetworkLink {
        NetworkLink {
            from_host: fh.into(),
            from_port: fp,
            to_host: th.into(),
            to_port: tp,
        }
    }

    #[test]
    fn renders_dnat_and_masquerade_for_loopback() {
        let r = vec![
            resolve(&link("127.0.0.1", 5432, "10.0.2.2", 5433)).unwrap(),
            resolve(&link("192.0.2.1", 80, "10.0.0.9", 8080)).unwrap(),
        ];
        let s = render_ruleset("web", &r);
        assert!(
            s.contains("ip daddr 127.0.0.1 tcp dport 5432 dnat ip to 10.0.2.2:5433\n"),
            "{s}"
        );
        assert!(
            s.contains("ip daddr 192.0.2.1 tcp dport 80 dnat ip to 10.0.0.9:8080\n"),
            "{s}"
        );
        assert!(
            s.contains("ip saddr 127.0.0.0/8 ip daddr != 127.0.0.0/8 masquerade"),
            "{s}"
        );
        assert!(!s.contains("ip6"), "{s}");
        assert!(s.starts_with("# berth network links of container web\ntable inet berth_links\ndelete table inet berth_links\n"));
        assert_eq!(s, render_ruleset("web", &r), "deterministic");
    }

    #[test]
    fn renders_ipv6_and_skips_masquerade_without_loopback() {
        let r = vec![resolve(&link("fd00::1", 80, "fd00::2", 81)).unwrap()];
        let s = render_ruleset("x", &r);
        assert!(
            s.contains("ip6 daddr fd00::1 tcp dport 80 dnat ip6 to [fd00::2]:81"),
            "{s}"
        );
        assert!(!s.contains("masquerade"), "{s}");
    }

    #[test]
    fn rejects_mixed_families_and_bad_from() {
        assert!(resolve(&link("127.0.0.1", 1, "::1", 2)).is_err());
        assert!(resolve(&link("localhost", 1, "127.0.0.1", 2)).is_err());
        let r = resolve(&link("127.0.0.1", 1, "localhost", 2)).unwrap();
        assert!(r.to.is_ipv4());
    }

    #[test]
    fn nothing_from_the_definition_reaches_the_script_unparsed() {
        // Every value in the script comes from a parsed address or a u16:
        // a host name cannot inject nft syntax.
        let bad = link("127.0.0.1", 1, "x; flush ruleset", 2);
        assert!(resolve(&bad).is_err());
    }
}
