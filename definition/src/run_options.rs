//! The rules of the network and run-option fields: `Network`,
//! `NetworkAliases`, `Ports[].Protocol`, `Hostname`, `Labels`, `Devices`,
//! `CpuLimit`, `PidsLimit`, `ShmSize`, `Tmpfs` and `Sysctl`. Each rule
//! names its field and says what the value must be; where a rule follows
//! podman rather than taste, the comment says which podman behaviour
//! (checked against podman 4.3, Debian 12, and podman 5's source).
//!
//! Several podman options are string *slices* parsed as CSV (`--device`,
//! `--sysctl`, `--network-alias`): a `,` splits a value in two and a `"`
//! starts CSV quoting, so values of those options may hold neither.
//! `--label` and `--tmpfs` take each argument whole.

use super::validate::{is_hostname, mount_path, no_nul, Stage};
use super::{Definition, FieldError, Protocol, SocketMode};
use std::collections::HashMap;
use std::net::IpAddr;

/// Longest network name berth accepts (podman has no limit of its own; 63
/// keeps a name usable as one DNS label and in unit and file names).
pub const NETWORK_NAME_MAX: usize = 63;

/// Names podman's `--network` reads as a mode rather than a network, or
/// that name podman's default network (`podman`), which has no DNS and is
/// what `bridge` (or no `Network`) already selects (podman's
/// `ParseNetworkFlag` and the names it refuses as extra networks).
const RESERVED_NETWORK_NAMES: &[&str] = &[
    "container",
    "default",
    "ns",
    "pasta",
    "path",
    "pod",
    "podman",
    "private",
    "slirp4netns",
];

/// Longest host name the kernel takes (`__NEW_UTS_LEN`): sethostname(2)
/// refuses more, so the container would fail at start.
pub const HOSTNAME_MAX: usize = 64;

/// Longest label key berth accepts.
pub const LABEL_KEY_MAX: usize = 255;

/// Smallest `CpuLimit`, in thousandths: podman turns `--cpus` into a CFS
/// quota of a 100 ms period and refuses a quota under 1 ms.
pub const MIN_MILLICPUS: u32 = 10;

/// Largest `PidsLimit`: the kernel's `PID_MAX_LIMIT` on 64-bit hosts; no
/// container can have more processes.
pub const MAX_PIDS_LIMIT: u32 = 4 * 1024 * 1024;

/// `ShmSize` bounds: one page (the kernel rounds a smaller tmpfs up to
/// one) to 1 TiB (podman keeps the size as a signed 64-bit number and
/// wraps above 2^63; a limit beyond any host's memory is a typo).
pub const MIN_SHM_BYTES: u64 = 4096;
/// See [`MIN_SHM_BYTES`].
pub const MAX_SHM_BYTES: u64 = 1 << 40;

/// The sysctls podman lets a container set besides `net.*` and
/// `fs.mqueue.*`: the IPC namespace's (podman's `validSysctlMap`). Others
/// (`kernel.panic`, `vm.*`, `kernel.hostname`) are refused by podman
/// because they are not namespaced, or have their own option.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shm_rmid_forced",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
];

/// What `Network` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode<'a> {
    /// No `Network`: podman's default (the `podman` bridge network, as
    /// containers.conf says); nothing is rendered.
    Default,
    /// `bridge`: podman's default network, asked for explicitly
    /// (`--network=bridge`).
    Bridge,
    /// `host`: the host's network namespace (`--network=host`).
    Host,
    /// `none`: a network namespace with loopback only (`--network=none`).
    None,
    /// A podman network by name (`--network=NAME`), on which containers
    /// find each other by container name and `NetworkAliases`.
    Named(&'a str),
}

impl NetworkMode<'_> {
    /// The value of podman's `--network`, or `None` for the default.
    pub fn as_podman(&self) -> Option<&str> {
        match self {
            NetworkMode::Default => None,
            NetworkMode::Bridge => Some("bridge"),
            NetworkMode::Host => Some("host"),
            NetworkMode::None => Some("none"),
            NetworkMode::Named(n) => Some(n),
        }
    }
}

impl Definition {
    /// The network mode `Network` asks for.
    pub fn network_mode(&self) -> NetworkMode<'_> {
        match self.network.as_deref() {
            None => NetworkMode::Default,
            Some("bridge") => NetworkMode::Bridge,
            Some("host") => NetworkMode::Host,
            Some("none") => NetworkMode::None,
            Some(n) => NetworkMode::Named(n),
        }
    }

    /// The podman network `berth install` must make sure exists (a named
    /// `Network`), if any.
    pub fn named_network(&self) -> Option<&str> {
        match self.network_mode() {
            NetworkMode::Named(n) => Some(n),
            _ => None,
        }
    }

    /// `Ports[].Protocol`: UDP cannot go through berth-proxy. Checked
    /// before the other port rules so a proxied UDP port gets this
    /// message rather than one about its missing `Backend`.
    pub(crate) fn check_port_protocols(&self) -> Result<(), FieldError> {
        if self.socket_mode() != SocketMode::Proxied {
            return Ok(());
        }
        for (i, p) in self.ports.iter().enumerate() {
            if p.protocol() == Protocol::Udp {
                return Err(FieldError::new(
                    format!("Ports[{i}].Protocol"),
                    "udp cannot be proxied: berth-proxy forwards TCP streams only; use SkipSocketProxy: true \
(systemd hands the UDP socket to the container, ListenDatagram=) or no SocketActivation (podman publishes it)",
                ));
            }
        }
        Ok(())
    }

    /// `Network`, `NetworkAliases`, and what the network mode means for
    /// `Ports`, socket activation and `NetworkLinks`.
    pub(crate) fn check_network(&self, stage: Stage) -> Result<(), FieldError> {
        let mode = self.network_mode();
        if let NetworkMode::Named(name) = mode {
            if !is_network_name(name) {
                return Err(FieldError::new(
                    "Network",
                    format!(
                        "must be host, none, bridge or a podman network name: 1 to {NETWORK_NAME_MAX} characters \
from A-Z, a-z, 0-9, '_', '.' and '-', starting with a letter or digit (got {name:?})"
                    ),
                ));
            }
            if RESERVED_NETWORK_NAMES.contains(&name) {
                let why = if name == "podman" {
                    "podman is the default network, which has no DNS: use bridge (or leave Network out) for it, \
or name a network of your own so containers find each other by name"
                } else {
                    "podman's --network reads it as a network mode, not a network name"
                };
                return Err(FieldError::new(
                    "Network",
                    format!("{name:?} is reserved: {why}"),
                ));
            }
        }
        self.check_network_aliases(mode)?;
        let sockets = self.socket_mode();
        match mode {
            NetworkMode::Host | NetworkMode::None => {
                let which = mode.as_podman().unwrap_or_default();
                if sockets == SocketMode::Proxied {
                    return Err(FieldError::new(
                        "Network",
                        format!(
                            "{which} cannot be combined with proxied socket activation: the container publishes \
no loopback Backend port for berth-proxy to connect to; use SkipSocketProxy: true (systemd hands the \
listening sockets to the container, which works on any network)"
                        ),
                    ));
                }
            }
            _ => {}
        }
        if sockets == SocketMode::None {
            for (i, p) in self.ports.iter().enumerate() {
                match mode {
                    NetworkMode::Host if p.external != p.internal => {
                        let got = if p.external == 0 && stage == Stage::Request {
                            "0, which asks for allocation".to_owned()
                        } else {
                            p.external.to_string()
                        };
                        return Err(FieldError::new(
                            format!("Ports[{i}].External"),
                            format!(
                                "with Network host the container listens on the host's ports itself and podman \
ignores --publish: External must equal Internal ({}; got {got}), which berth reserves for it",
                                p.internal
                            ),
                        ));
                    }
                    NetworkMode::None => {
                        return Err(FieldError::new(
                            format!("Ports[{i}]"),
                            "a container with Network none has no network to publish ports on \
(direct socket activation, SocketActivation with SkipSocketProxy, hands it listening sockets instead)",
                        ));
                    }
                    _ => {}
                }
            }
        }
        for (i, l) in self.network_links.iter().enumerate() {
            match mode {
                NetworkMode::Host => {
                    return Err(FieldError::new(
                        format!("NetworkLinks[{i}]"),
                        "cannot be used with Network host: links are nftables rules (and route_localnet) in the \
container's own network namespace, which with host is the host's",
                    ));
                }
                NetworkMode::None => {
                    let loopback = l.to_host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback());
                    if !loopback {
                        return Err(FieldError::new(
                            format!("NetworkLinks[{i}].ToHost"),
                            format!(
                                "with Network none the container has only loopback: a link can only lead to a \
loopback address such as 127.0.0.1 (got {:?})",
                                l.to_host
                            ),
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_network_aliases(&self, mode: NetworkMode) -> Result<(), FieldError> {
        if self.network_aliases.is_empty() {
            return Ok(());
        }
        if !matches!(mode, NetworkMode::Named(_)) {
            let why = match mode {
                NetworkMode::Host | NetworkMode::None => {
                    "podman refuses --network-alias without a bridge network"
                }
                _ => "podman's default network has no DNS, so an alias there would never resolve",
            };
            return Err(FieldError::new(
                "NetworkAliases",
                format!("need a named Network, on which containers find each other by name: {why}"),
            ));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, a) in self.network_aliases.iter().enumerate() {
            let field = format!("NetworkAliases[{i}]");
            if !is_dns_label(a) {
                return Err(FieldError::new(
                    field,
                    format!(
                        "an alias is one DNS label (RFC 1123): 1 to 63 characters from A-Z, a-z, 0-9 and '-', \
starting and ending with a letter or digit (got {a:?})"
                    ),
                ));
            }
            // DNS names are case-insensitive: `DB` and `db` are one name.
            if let Some(j) = seen.insert(a.to_ascii_lowercase(), i) {
                return Err(FieldError::new(
                    field,
                    format!("alias {a} is already given by NetworkAliases[{j}]"),
                ));
            }
        }
        Ok(())
    }

    /// `Hostname`, `Labels`, `Devices`, `CpuLimit`, `PidsLimit`,
    /// `ShmSize`, `Tmpfs`, `Sysctl`.
    pub(crate) fn check_run_options(&self) -> Result<(), FieldError> {
        if let Some(ref h) = self.hostname {
            if h.len() > HOSTNAME_MAX || !is_hostname(h) {
                return Err(FieldError::new(
                    "Hostname",
                    format!(
                        "must be an RFC 1123 host name of at most {HOSTNAME_MAX} characters (the kernel's limit): \
labels of 1 to 63 characters from A-Z, a-z, 0-9 and '-', not starting or ending with '-', joined by '.' (got {h:?})"
                    ),
                ));
            }
        }
        self.check_labels()?;
        self.check_devices()?;
        if let Some(c) = self.cpu_limit {
            if c.0 < MIN_MILLICPUS {
                return Err(FieldError::new(
                    "CpuLimit",
                    format!("must be at least 0.01 CPUs: podman refuses a CFS quota under 1 ms of its 100 ms period (got {c})"),
                ));
            }
        }
        if let Some(p) = self.pids_limit {
            if p > MAX_PIDS_LIMIT {
                return Err(FieldError::new(
                    "PidsLimit",
                    format!("must be 0 (no limit) to {MAX_PIDS_LIMIT}, the kernel's most processes (got {p})"),
                ));
            }
        }
        if let Some(s) = self.shm_size {
            if !(MIN_SHM_BYTES..=MAX_SHM_BYTES).contains(&s) {
                return Err(FieldError::new(
                    "ShmSize",
                    format!("must be from 4 KiB ({MIN_SHM_BYTES} bytes, one page) to 1 TiB ({MAX_SHM_BYTES} bytes; got {s})"),
                ));
            }
        }
        self.check_tmpfs()?;
        self.check_sysctl()
    }

    fn check_labels(&self) -> Result<(), FieldError> {
        for (k, v) in &self.labels {
            let field = format!("Labels[{k:?}]");
            let key_ok = !k.is_empty()
                && k.len() <= LABEL_KEY_MAX
                && k.as_bytes()[0].is_ascii_alphanumeric()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b));
            if !key_ok {
                return Err(FieldError::new(
                    field,
                    format!(
                        "a label key is 1 to {LABEL_KEY_MAX} characters from A-Z, a-z, 0-9, '.', '_', '/' and '-', \
starting with a letter or digit (got {k:?})"
                    ),
                ));
            }
            if let Some(why) = reserved_label(k) {
                return Err(FieldError::new(field, format!("{k} is reserved: {why}")));
            }
            no_nul(&field, v)?;
            if v.contains('\n') {
                return Err(FieldError::new(
                    field,
                    "a label value must not contain a newline (podman ps and inspect show labels one a line)",
                ));
            }
        }
        Ok(())
    }

    fn check_devices(&self) -> Result<(), FieldError> {
        let mut targets: HashMap<&str, usize> = HashMap::new();
        for (i, d) in self.devices.iter().enumerate() {
            let field = format!("Devices[{i}]");
            let dev = parse_device(d).map_err(|rule| FieldError::new(&field, rule))?;
            if let Some(j) = targets.insert(dev.container, i) {
                return Err(FieldError::new(
                    field,
                    format!("{} is already a device of Devices[{j}]", dev.container),
                ));
            }
        }
        Ok(())
    }

    fn check_tmpfs(&self) -> Result<(), FieldError> {
        // Every other path mounted in the container, by the field that
        // mounts it: a tmpfs on one of them would hide it.
        let mut mounts: HashMap<String, String> = HashMap::new();
        for (i, v) in self.volumes().iter().enumerate() {
            mounts.insert(
                v.container_path.clone(),
                format!("VolumeConfig.Volumes[{i}]"),
            );
        }
        for (i, v) in self.volumes.iter().enumerate() {
            mounts.insert(v.container_path.clone(), format!("Volumes[{i}]"));
        }
        for (i, s) in self.secrets.iter().enumerate() {
            if let Some(path) = s.mount_path() {
                mounts.insert(path, format!("Secrets[{i}]"));
            }
        }
        for (i, t) in self.tmpfs.iter().enumerate() {
            let field = format!("Tmpfs[{i}]");
            let (path, opts) = match t.split_once(':') {
                Some((p, o)) => (p, Some(o)),
                None => (t.as_str(), None),
            };
            mount_path(&field, path)?;
            if path == "/" {
                return Err(FieldError::new(
                    field,
                    "a tmpfs cannot replace the container's root file system (/)",
                ));
            }
            if let Some(o) = opts {
                check_tmpfs_options(&field, o)?;
            }
            if let Some(prev) = mounts.insert(path.to_owned(), field.clone()) {
                return Err(FieldError::new(
                    field,
                    format!("{path} is already mounted by {prev}"),
                ));
            }
        }
        Ok(())
    }

    fn check_sysctl(&self) -> Result<(), FieldError> {
        for (name, value) in &self.sysctl {
            let field = format!("Sysctl[{name:?}]");
            let name_ok = name.len() <= 255
                && name.contains('.')
                && name.split('.').all(|c| {
                    !c.is_empty()
                        && c.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                });
            if !name_ok {
                return Err(FieldError::new(
                    field,
                    format!(
                        "a sysctl name is words of a-z, 0-9 and '_' joined by single dots, such as \
net.core.somaxconn (got {name:?})"
                    ),
                ));
            }
            let net = name.starts_with("net.");
            if !net && !name.starts_with("fs.mqueue.") && !IPC_SYSCTLS.contains(&name.as_str()) {
                return Err(FieldError::new(
                    field,
                    format!(
                        "podman sets only namespaced sysctls: net.*, fs.mqueue.* and {} (got {name})",
                        IPC_SYSCTLS.join(", ")
                    ),
                ));
            }
            if net && self.network_mode() == NetworkMode::Host {
                return Err(FieldError::new(
                    field,
                    "net.* sysctls cannot be set with Network host: they would be the host's (podman refuses them)",
                ));
            }
            let value_ok = !value.is_empty()
                && value.len() <= 4096
                && !value.chars().any(char::is_control)
                && value.trim() == value
                && !value.contains([',', '"']);
            if !value_ok {
                return Err(FieldError::new(
                    field,
                    format!(
                        "a sysctl value is 1 to 4096 characters without control characters, leading or trailing \
blanks, ',' or '\"' (podman reads --sysctl as comma-separated CSV; got {value:?})"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// podman's network name rule (`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`, libpod's
/// `NameRegex`), bounded by [`NETWORK_NAME_MAX`]. It excludes `,` (a
/// list of networks to `--network`) and `:` (per-network options).
fn is_network_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= NETWORK_NAME_MAX
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
}

/// One DNS label (RFC 1123): what aardvark-dns (and CNI's dnsname)
/// answer for.
fn is_dns_label(s: &str) -> bool {
    !s.contains('.') && is_hostname(s)
}

/// Why a label key belongs to podman or berth, if it does.
fn reserved_label(k: &str) -> Option<&'static str> {
    if k == "PODMAN_SYSTEMD_UNIT" {
        return Some(
            "podman sets it to the unit's name, and podman auto-update finds the unit by it",
        );
    }
    if k == "io.containers.autoupdate" || k.starts_with("io.containers.autoupdate.") {
        return Some("podman auto-update reads it; use AutoUpdate");
    }
    if k == "berth" || k.starts_with("berth.") {
        return Some("berth. labels are berth's own");
    }
    None
}

/// A `Devices` entry taken apart.
struct Device<'a> {
    container: &'a str,
}

/// `HOST[:CONTAINER][:PERMISSIONS]` as podman reads it (`ParseDevice`):
/// with two parts, the second is permissions when it is made of `r`, `w`
/// and `m` only, else the container path.
fn parse_device(d: &str) -> Result<Device<'_>, String> {
    let parts: Vec<&str> = d.split(':').collect();
    let (host, container, perms) = match parts.as_slice() {
        [h] => (*h, *h, None),
        [h, x] if is_device_perms(x) => (*h, *h, Some(*x)),
        [h, c] => (*h, *c, None),
        [h, c, p] => (*h, *c, Some(*p)),
        _ => {
            return Err(format!(
                "must be HOST[:CONTAINER][:PERMISSIONS] (got {d:?}, with more than two ':')"
            ))
        }
    };
    for (what, p) in [("the host path", host), ("the container path", container)] {
        let ok = mount_path("", p).is_ok() && p != "/";
        if !ok {
            return Err(format!(
                "{what} must be an absolute, normalized path other than / without , : \" ' \\ or control \
characters (podman reads --device as comma-separated CSV; got {d:?})"
            ));
        }
    }
    if let Some(p) = perms {
        if !is_device_perms(p) {
            return Err(format!(
                "PERMISSIONS must be one or more of r (read), w (write) and m (mknod), each once (got {p:?} in {d:?})"
            ));
        }
    }
    Ok(Device { container })
}

fn is_device_perms(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 3
        && p.bytes().all(|b| b"rwm".contains(&b))
        && p.bytes()
            .enumerate()
            .all(|(i, b)| !p[..i].contains(b as char))
}

/// The `--tmpfs` options podman takes (podman's `ProcessOptions` for
/// tmpfs, the same from 4.3 to 5.x), each of a pair at most once:
/// `ro`/`rw`, `nosuid`/`suid`, `nodev`/`dev`, `noexec`/`exec`,
/// `tmpcopyup`/`notmpcopyup`, `size=`, `mode=` and `U` (chown to the
/// container's user). podman refuses `uid=`, `gid=` and `nr_inodes=`.
fn check_tmpfs_options(field: &str, opts: &str) -> Result<(), FieldError> {
    const GROUPS: &[&[&str]] = &[
        &["ro", "rw"],
        &["nosuid", "suid"],
        &["nodev", "dev"],
        &["noexec", "exec"],
        &["tmpcopyup", "notmpcopyup"],
        &["size"],
        &["mode"],
        &["U"],
    ];
    let rule = "options are a comma-separated list of ro|rw, nosuid|suid, nodev|dev, noexec|exec, \
tmpcopyup|notmpcopyup, size=BYTES[k|m|g] or size=PERCENT%, mode=OCTAL and U, each kind once";
    let mut seen: HashMap<usize, &str> = HashMap::new();
    for o in opts.split(',') {
        let (key, value) = match o.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (o, None),
        };
        let value_ok = match (key, value) {
            ("size", Some(v)) => is_tmpfs_size(v),
            ("mode", Some(v)) => {
                !v.is_empty() && v.len() <= 4 && v.bytes().all(|b| (b'0'..=b'7').contains(&b))
            }
            ("size" | "mode", None) => false,
            (_, None) => true,
            (_, Some(_)) => false,
        };
        let group = GROUPS.iter().position(|g| g.contains(&key));
        let Some(group) = group.filter(|_| value_ok) else {
            let hint = if ["uid", "gid", "nr_inodes", "nr_blocks"].contains(&key) {
                format!(" ({key}= is not one: podman refuses it)")
            } else {
                String::new()
            };
            return Err(FieldError::new(field, format!("{rule}{hint} (got {o:?})")));
        };
        if let Some(prev) = seen.insert(group, o) {
            return Err(FieldError::new(
                field,
                format!("{o} conflicts with {prev}: podman takes one of each kind"),
            ));
        }
    }
    Ok(())
}

/// `size=` of tmpfs(5): bytes with an optional `k`, `m` or `g`, or a
/// percentage of memory; more than 0.
fn is_tmpfs_size(v: &str) -> bool {
    let digits = v
        .strip_suffix(['k', 'm', 'g', 'K', 'M', 'G', '%'])
        .unwrap_or(v);
    !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.bytes().any(|b| b != b'0')
        && (!v.ends_with('%') || digits.parse::<u32>().is_ok_and(|p| p <= 100))
}

#[cfg(test)]
mod tests {
    use crate::{Definition, FieldError, NetworkMode};

    fn stored(json: &str) -> Result<Definition, FieldError> {
        Definition::from_json(json.as_bytes())
    }

    fn request(json: &str) -> Result<Definition, FieldError> {
        Definition::from_request_json(json.as_bytes())
    }

    /// The body `{"Image":"b", <fields>}`.
    fn with(fields: &str) -> String {
        format!(r#"{{"Image":"b",{fields}}}"#)
    }

    /// Rejected, naming `field`, with `words` in the rule.
    #[track_caller]
    fn rejects(fields: &str, field: &str, words: &str) {
        let e = stored(&with(fields)).expect_err(fields);
        assert_eq!(e.field, field, "{fields}: {e}");
        assert!(e.rule.contains(words), "{fields}: {e}");
    }

    #[track_caller]
    fn accepts(fields: &str) -> Definition {
        stored(&with(fields)).unwrap_or_else(|e| panic!("{fields}: {e}"))
    }

    #[test]
    fn network_modes_and_names() {
        assert_eq!(
            accepts(r#""Network":"host""#).network_mode(),
            NetworkMode::Host
        );
        assert_eq!(
            accepts(r#""Network":"none""#).network_mode(),
            NetworkMode::None
        );
        assert_eq!(
            accepts(r#""Network":"bridge""#).network_mode(),
            NetworkMode::Bridge
        );
        assert_eq!(
            accepts("\"Cmd\":[\"x\"]").network_mode(),
            NetworkMode::Default
        );
        let d = accepts(r#""Network":"App_net.2-x""#);
        assert_eq!(d.named_network(), Some("App_net.2-x"));
        assert_eq!(
            accepts(&format!(r#""Network":"{}""#, "n".repeat(63)))
                .named_network()
                .map(str::len),
            Some(63)
        );
        for bad in [
            "",
            "-n",
            ".n",
            "a,b",
            "a:b",
            "a b",
            "a/b",
            "ü",
            &"n".repeat(64),
        ] {
            rejects(
                &format!(r#""Network":{bad:?}"#),
                "Network",
                "podman network name",
            );
        }
        for reserved in [
            "podman",
            "default",
            "private",
            "pasta",
            "slirp4netns",
            "pod",
            "container",
            "ns",
        ] {
            rejects(&format!(r#""Network":{reserved:?}"#), "Network", "reserved");
        }
        rejects(r#""Network":"podman""#, "Network", "no DNS");
    }

    #[test]
    fn aliases_need_a_named_network_and_are_dns_labels() {
        let d = accepts(r#""Network":"app","NetworkAliases":["db","Db-2"]"#);
        assert_eq!(d.network_aliases.len(), 2);
        rejects(r#""NetworkAliases":["db"]"#, "NetworkAliases", "no DNS");
        rejects(
            r#""Network":"bridge","NetworkAliases":["db"]"#,
            "NetworkAliases",
            "no DNS",
        );
        rejects(
            r#""Network":"host","NetworkAliases":["db"]"#,
            "NetworkAliases",
            "refuses",
        );
        rejects(
            r#""Network":"none","NetworkAliases":["db"]"#,
            "NetworkAliases",
            "refuses",
        );
        for bad in ["", "-db", "db-", "d.b", "d_b", "d b", &"a".repeat(64)] {
            rejects(
                &format!(r#""Network":"app","NetworkAliases":[{bad:?}]"#),
                "NetworkAliases[0]",
                "DNS label",
            );
        }
        rejects(
            r#""Network":"app","NetworkAliases":["db","web","DB"]"#,
            "NetworkAliases[2]",
            "already given by NetworkAliases[0]",
        );
    }

    #[test]
    fn host_network_ports_are_the_hosts() {
        accepts(r#""Network":"host","Ports":[{"Internal":9100,"External":9100}]"#);
        rejects(
            r#""Network":"host","Ports":[{"Internal":80,"External":8080}]"#,
            "Ports[0].External",
            "must equal Internal (80; got 8080)",
        );
        let e = request(&with(r#""Network":"host","Ports":[{"Internal":80}]"#)).unwrap_err();
        assert_eq!(e.field, "Ports[0].External");
        assert!(e.rule.contains("asks for allocation"), "{e}");
        // Direct socket activation hands the sockets over: any network.
        accepts(
            r#""Network":"host","SocketActivation":true,"SkipSocketProxy":true,"Ports":[{"Internal":80,"External":8080}]"#,
        );
        rejects(
            r#""Network":"host","SocketActivation":true,"Ports":[{"Internal":80,"External":8080,"Backend":40000}]"#,
            "Network",
            "proxied socket activation",
        );
    }

    #[test]
    fn no_network_publishes_nothing_but_takes_sockets() {
        rejects(
            r#""Network":"none","Ports":[{"Internal":80,"External":8080}]"#,
            "Ports[0]",
            "no network to publish",
        );
        accepts(
            r#""Network":"none","SocketActivation":true,"SkipSocketProxy":true,"Ports":[{"Internal":80,"External":8080}]"#,
        );
        rejects(
            r#""Network":"none","SocketActivation":true,"Ports":[{"Internal":80,"External":8080,"Backend":40000}]"#,
            "Network",
            "SkipSocketProxy",
        );
    }

    #[test]
    fn links_need_the_containers_own_network() {
        let link = |to: &str| {
            format!(
                r#""NetworkLinks":[{{"FromHost":"127.0.0.1","FromPort":1,"ToHost":"{to}","ToPort":2}}]"#
            )
        };
        rejects(
            &format!(r#""Network":"host",{}"#, link("10.0.0.1")),
            "NetworkLinks[0]",
            "host's",
        );
        rejects(
            &format!(r#""Network":"none",{}"#, link("10.0.0.1")),
            "NetworkLinks[0].ToHost",
            "only loopback",
        );
        rejects(
            &format!(r#""Network":"none",{}"#, link("localhost")),
            "NetworkLinks[0].ToHost",
            "loopback",
        );
        accepts(&format!(r#""Network":"none",{}"#, link("127.0.0.1")));
        accepts(&format!(r#""Network":"app",{}"#, link("db.example")));
    }

    #[test]
    fn udp_ports_once_per_protocol_and_never_proxied() {
        let d = accepts(
            r#""Ports":[{"Internal":53,"External":53},{"Internal":53,"External":53,"Protocol":"udp"}]"#,
        );
        assert_eq!(d.ports[1].protocol(), crate::Protocol::Udp);
        assert_eq!(d.ports[0].protocol(), crate::Protocol::Tcp);
        rejects(
            r#""Ports":[{"Internal":53,"External":53,"Protocol":"udp"},{"Internal":54,"External":53,"Protocol":"udp"}]"#,
            "Ports[1].External",
            "host port 53/udp is already used by Ports[0].External",
        );
        rejects(
            r#""Ports":[{"Internal":53,"External":1,"Protocol":"udp"},{"Internal":53,"External":2,"Protocol":"udp"}]"#,
            "Ports[1].Internal",
            "internal port 53/udp",
        );
        rejects(
            r#""Ports":[{"Internal":53,"External":1},{"Internal":53,"External":2,"Protocol":"tcp"}]"#,
            "Ports[1].Internal",
            "internal port 53 is",
        );
        // Proxied: refused before the missing Backend is mentioned.
        rejects(
            r#""SocketActivation":true,"Ports":[{"Internal":53,"External":53,"Protocol":"udp"}]"#,
            "Ports[0].Protocol",
            "berth-proxy forwards TCP streams only",
        );
        accepts(
            r#""SocketActivation":true,"SkipSocketProxy":true,"Ports":[{"Internal":53,"External":53,"Protocol":"udp"},{"Internal":53,"External":53}]"#,
        );
        // A UDP External may equal a TCP Backend: different sockets.
        accepts(
            r#""SocketActivation":true,"Ports":[{"Internal":80,"External":8080,"Backend":40000,"Protocol":"tcp"}]"#,
        );
        assert!(stored(&with(
            r#""Ports":[{"Internal":1,"External":1,"Protocol":"sctp"}]"#
        ))
        .is_err());
    }

    #[test]
    fn hostnames() {
        accepts(r#""Hostname":"web-1.example.org""#);
        accepts(&format!(
            r#""Hostname":"{}.{}""#,
            "a".repeat(31),
            "b".repeat(32)
        ));
        accepts(&format!(r#""Hostname":"{}""#, "a".repeat(63)));
        for bad in [
            "",
            "-a",
            "a-",
            "a..b",
            "a_b",
            "a b",
            "ü",
            &"a".repeat(65),
            &format!("{}.b", "a".repeat(63)),
        ] {
            rejects(&format!(r#""Hostname":{bad:?}"#), "Hostname", "RFC 1123");
        }
    }

    #[test]
    fn labels() {
        let d = accepts(r#""Labels":{"org.example/a-b_c.d":"any \"text\" 100% $x; é","e":""}"#);
        assert_eq!(d.labels["e"], "");
        for bad in ["", "-a", "a b", "a=b", "a:b", "é", &"a".repeat(256)] {
            rejects(
                &format!(r#""Labels":{{{bad:?}:"v"}}"#),
                &format!("Labels[{bad:?}]"),
                "label key",
            );
        }
        for reserved in [
            "PODMAN_SYSTEMD_UNIT",
            "io.containers.autoupdate",
            "io.containers.autoupdate.authfile",
            "berth.id",
            "berth",
        ] {
            rejects(
                &format!(r#""Labels":{{{reserved:?}:"v"}}"#),
                &format!("Labels[{reserved:?}]"),
                "reserved",
            );
        }
        rejects(r#""Labels":{"a":"x\ny"}"#, "Labels[\"a\"]", "newline");
        rejects(r#""Labels":{"a":"x\u0000y"}"#, "Labels[\"a\"]", "NUL");
    }

    #[test]
    fn devices() {
        accepts(
            r#""Devices":["/dev/fuse","/dev/dri/card0:/dev/dri/card1","/dev/net/tun:rwm","/dev/sda:/dev/xvda:r"]"#,
        );
        for bad in [
            "dev/fuse",
            "/dev//fuse",
            "/dev/fuse/",
            "/dev/../etc",
            "/",
            "/dev/a,/dev/b",
            "/dev/a b\"",
            "/dev/a:/dev/b:rwx",
            "/dev/a:/dev/b:",
            "/dev/a:rr",
            "/dev/a:/dev/b:r:w",
            "/dev/a:relative",
        ] {
            rejects(&format!(r#""Devices":[{bad:?}]"#), "Devices[0]", "");
        }
        rejects(r#""Devices":["/dev/a:rx"]"#, "Devices[0]", "container path");
        rejects(
            r#""Devices":["/dev/a:/dev/b:rx"]"#,
            "Devices[0]",
            "PERMISSIONS",
        );
        rejects(
            r#""Devices":["/dev/a:/dev/x","/dev/x"]"#,
            "Devices[1]",
            "/dev/x is already a device of Devices[0]",
        );
    }

    #[test]
    fn limits() {
        assert_eq!(
            accepts(r#""CpuLimit":0.01"#).cpu_limit,
            Some(crate::MilliCpus(10))
        );
        rejects(r#""CpuLimit":0.009"#, "CpuLimit", "1 ms");
        assert_eq!(accepts(r#""PidsLimit":0"#).pids_limit, Some(0));
        accepts(&format!(r#""PidsLimit":{}"#, super::MAX_PIDS_LIMIT));
        rejects(
            &format!(r#""PidsLimit":{}"#, super::MAX_PIDS_LIMIT + 1),
            "PidsLimit",
            "kernel",
        );
        assert_eq!(accepts(r#""ShmSize":"64m""#).shm_size, Some(64 << 20));
        accepts(r#""ShmSize":4096"#);
        accepts(r#""ShmSize":"1024g""#);
        rejects(r#""ShmSize":4095"#, "ShmSize", "one page");
        rejects(r#""ShmSize":"1025g""#, "ShmSize", "1 TiB");
    }

    #[test]
    fn tmpfs() {
        accepts(
            r#""Tmpfs":["/tmp","/run/a:size=64m,mode=1777,ro,nosuid,nodev,noexec,notmpcopyup,U","/b:size=50%","/c:rw,suid,dev,exec,tmpcopyup,size=100"]"#,
        );
        for bad in [
            "tmp",
            "/",
            "/:size=1m",
            "/tmp/",
            "/a//b",
            "/a:",
            "/a:size=",
            "/a:size=0",
            "/a:size=10x",
            "/a:size=101%",
            "/a:mode=8",
            "/a:mode=12345",
            "/a:ro=1",
            "/a:nr_inodes=5",
            "/a:uid=1",
            "/a:gid=1",
            "/a:noatime",
            "/a:Z",
            "/a,b",
        ] {
            rejects(&format!(r#""Tmpfs":[{bad:?}]"#), "Tmpfs[0]", "");
        }
        rejects(r#""Tmpfs":["/a:uid=1"]"#, "Tmpfs[0]", "podman refuses it");
        rejects(
            r#""Tmpfs":["/a:ro,rw"]"#,
            "Tmpfs[0]",
            "rw conflicts with ro",
        );
        rejects(r#""Tmpfs":["/a:size=1m,size=2m"]"#, "Tmpfs[0]", "conflicts");
        rejects(
            r#""Tmpfs":["/a","/a:ro"]"#,
            "Tmpfs[1]",
            "/a is already mounted by Tmpfs[0]",
        );
        rejects(
            r#""Tmpfs":["/d"],"VolumeConfig":{"Volumes":[{"HostPath":"/srv","ContainerPath":"/d"}]}"#,
            "Tmpfs[0]",
            "VolumeConfig.Volumes[0]",
        );
        rejects(
            r#""Tmpfs":["/d"],"Volumes":[{"Name":"data","ContainerPath":"/d"}]"#,
            "Tmpfs[0]",
            "already mounted by Volumes[0]",
        );
        rejects(
            r#""Tmpfs":["/run/k"],"Secrets":[{"Name":"k","Target":"/run/k"}]"#,
            "Tmpfs[0]",
            "Secrets[0]",
        );
        // A relative target (or none) is a file under /run/secrets.
        for secrets in [r#"[{"Name":"s"}]"#, r#"[{"Name":"x","Target":"s"}]"#] {
            rejects(
                &format!(r#""Tmpfs":["/run/secrets/s"],"Secrets":{secrets}"#),
                "Tmpfs[0]",
                "already mounted by Secrets[0]",
            );
        }
        accepts(r#""Tmpfs":["/run/secrets/s"],"Secrets":[{"Name":"s","Type":"env"}]"#);
        // Below a mount is fine: paths compare whole.
        accepts(
            r#""Tmpfs":["/d/cache"],"VolumeConfig":{"Volumes":[{"HostPath":"/srv","ContainerPath":"/d"}]}"#,
        );
    }

    #[test]
    fn sysctls() {
        accepts(
            r#""Sysctl":{"net.ipv4.ping_group_range":"0 2147483647","kernel.shmmax":"1","fs.mqueue.msg_max":"10","kernel.sem":"250 32000 32 128"}"#,
        );
        accepts(r#""Network":"none","Sysctl":{"net.core.somaxconn":"1"}"#);
        accepts(r#""Network":"host","Sysctl":{"kernel.shmmax":"1"}"#);
        rejects(
            r#""Network":"host","Sysctl":{"net.core.somaxconn":"1"}"#,
            "Sysctl[\"net.core.somaxconn\"]",
            "Network host",
        );
        for bad in [
            "vm.swappiness",
            "kernel.panic",
            "kernel.hostname",
            "kernel.domainname",
            "fs.file-max",
        ] {
            rejects(
                &format!(r#""Sysctl":{{{bad:?}:"1"}}"#),
                &format!("Sysctl[{bad:?}]"),
                "",
            );
        }
        rejects(
            r#""Sysctl":{"vm.swappiness":"1"}"#,
            "Sysctl[\"vm.swappiness\"]",
            "namespaced",
        );
        for bad in [
            "net",
            "net..core",
            ".net.core",
            "net.core.",
            "Net.core",
            "net.core-x",
            "net.core x",
            "net.eth0/1",
        ] {
            rejects(
                &format!(r#""Sysctl":{{{bad:?}:"1"}}"#),
                &format!("Sysctl[{bad:?}]"),
                "sysctl name",
            );
        }
        for bad in [
            "",
            " 1",
            "1 ",
            "0,1",
            "a\"b",
            "1\n",
            "1\t2",
            &"1".repeat(4097),
        ] {
            rejects(
                &format!(r#""Sysctl":{{"net.core.somaxconn":{bad:?}}}"#),
                "Sysctl[\"net.core.somaxconn\"]",
                "sysctl value",
            );
        }
    }
}
