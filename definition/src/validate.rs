//! The rules a definition must follow. Each rule names its field and says
//! what the value must be; the first broken rule is reported.

use super::image::validate_image_reference;
use super::{Definition, FieldError, IdError, Protocol, Relabel, SecretType, SocketMode};
use std::collections::HashMap;
use std::net::IpAddr;

/// Longest id: `ctr-<id>` must fit useradd's 32-character user names.
pub const ID_MAX_LEN: usize = 28;

/// The id rule, as shown to users.
pub const ID_RULE: &str = "an id is 1 to 28 characters from a-z, 0-9, '_', '.' and '-', \
starting with a letter or digit (^[a-z0-9][a-z0-9_.-]{0,27}$), and not \
`api` (berth-api.service and berth-api.socket are berth's own units)";

/// Ids whose unit names are berth's own packaged units.
const RESERVED_IDS: &[&str] = &["api"];

/// Largest definition file accepted, in bytes. Bounds every value that can
/// reach a unit file well below systemd's 1 MiB line limit (LONG_LINE_MAX)
/// even after escaping (at most 4 bytes per input byte), and below the
/// kernel's 128 KiB limit on one argument (MAX_ARG_STRLEN).
pub const MAX_DEFINITION_BYTES: usize = 128 * 1024;

/// podman refuses memory limits under 6 MiB.
const MIN_MEMORY_BYTES: u64 = 6 << 20;
const MAX_STOP_TIMEOUT: u32 = 86_400;
const MAX_EXIT_IDLE_TIME: u32 = 7 * 86_400;

/// Longest `NAME=VALUE` line of the environment file podman reads
/// (`--env-file`): podman scans it with Go's `bufio.Scanner`, whose lines
/// (newline included) must fit `bufio.MaxScanTokenSize`, 64 KiB.
pub const MAX_ENV_LINE_BYTES: usize = 64 * 1024 - 1;

/// Capability names the kernel knows (capabilities(7)), without `CAP_`.
const CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
];

/// Checks a container id against [`ID_RULE`].
///
/// The character set keeps every derived name distinct and valid: the unit
/// `berth-<id>.service`, the proxy `berth-proxy@<id>.service` (ids cannot
/// hold `@`), the user `ctr-<id>`, and the file `<id>.json`; the reserved
/// ids keep `berth-<id>.service` from shadowing a packaged unit (the
/// generator's directory takes precedence over `/usr/lib/systemd`).
pub fn validate_id(id: &str) -> Result<(), IdError> {
    let b = id.as_bytes();
    let ok = !b.is_empty()
        && !RESERVED_IDS.contains(&id)
        && b.len() <= ID_MAX_LEN
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(IdError {
            id: id.to_owned(),
            rule: ID_RULE,
        })
    }
}

/// Which rules apply: a request may still ask for allocation, a stored
/// definition (what the generator reads) may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Request,
    Stored,
}

/// Why `Simple` is ignored (see [`Definition::warnings`]). geard's simple
/// container meant two things: no per-container user, which is what every
/// berth container without `Isolate` already is, and `docker run -P` when
/// no port was reserved, which would publish host ports berth neither
/// reserves nor reports (`berth ports` and the owned reservations would be
/// wrong), so berth does not do it.
pub const SIMPLE_IGNORED: &str = "is accepted for geard compatibility and ignored: \
without Isolate a container already has no per-container user, and berth never \
publishes ports it has not reserved (geard's -P)";

impl Definition {
    /// Checks every rule for a stored definition (what the generator
    /// renders): all of [`Definition::validate_request`], and no
    /// `External: 0` left to allocate, and a `Backend` port on every port of
    /// a proxied socket-activated container.
    pub fn validate(&self) -> Result<(), FieldError> {
        self.check(Stage::Stored)
    }

    /// Checks the rules for an install request, where `External: 0` and a
    /// missing `Backend` mean "allocate".
    pub fn validate_request(&self) -> Result<(), FieldError> {
        self.check(Stage::Request)
    }

    /// What the definition asks for that berth accepts but does not do,
    /// each naming the field and why: logged by the generator at `warning`
    /// level and returned by the install job, so nobody relies on it
    /// silently. Never a reason to reject.
    pub fn warnings(&self) -> Vec<FieldError> {
        let mut w = Vec::new();
        if self.simple {
            w.push(FieldError::new("Simple", SIMPLE_IGNORED));
        }
        w
    }

    fn check(&self, stage: Stage) -> Result<(), FieldError> {
        validate_image_reference("Image", &self.image)?;
        self.check_modes()?;
        self.check_port_protocols()?;
        self.check_ports(stage)?;
        self.check_environment()?;
        self.check_links()?;
        self.check_volumes()?;
        self.check_named_volumes()?;
        self.check_secrets()?;
        self.check_process()?;
        self.check_resources()?;
        self.check_health()?;
        self.check_dependencies()?;
        self.check_group()?;
        self.check_auto_update()?;
        self.check_network(stage)?;
        self.check_run_options()?;
        Ok(())
    }

    fn check_modes(&self) -> Result<(), FieldError> {
        if self.skip_socket_proxy && !self.socket_activation {
            return Err(FieldError::new(
                "SkipSocketProxy",
                "is meaningful only with SocketActivation: true",
            ));
        }
        if self.isolate && self.user_ns.is_some() {
            return Err(FieldError::new(
                "UserNs",
                "cannot be combined with Isolate, which maps the container to its own subordinate id range",
            ));
        }
        if let Some(t) = self.exit_idle_time {
            if self.socket_mode() != SocketMode::Proxied {
                return Err(FieldError::new(
                    "ExitIdleTime",
                    "is meaningful only for proxied socket activation (SocketActivation without SkipSocketProxy)",
                ));
            }
            if t > MAX_EXIT_IDLE_TIME {
                return Err(FieldError::new(
                    "ExitIdleTime",
                    format!("must be at most {MAX_EXIT_IDLE_TIME} seconds (got {t})"),
                ));
            }
        }
        Ok(())
    }

    fn check_ports(&self, stage: Stage) -> Result<(), FieldError> {
        let mode = self.socket_mode();
        if mode != SocketMode::None && self.ports.is_empty() {
            return Err(FieldError::new(
                "Ports",
                "a socket-activated container needs at least one port for systemd to listen on",
            ));
        }
        // One port number may be used once per protocol (TCP 53 and UDP 53).
        let mut internal: HashMap<(Protocol, u16), usize> = HashMap::new();
        let mut host: HashMap<(Protocol, u16), String> = HashMap::new();
        for (i, p) in self.ports.iter().enumerate() {
            if p.internal == 0 {
                return Err(FieldError::new(
                    format!("Ports[{i}].Internal"),
                    "must be a port number from 1 to 65535 (got 0)",
                ));
            }
            let proto = p.protocol();
            if let Some(j) = internal.insert((proto, p.internal), i) {
                return Err(FieldError::new(
                    format!("Ports[{i}].Internal"),
                    format!(
                        "internal port {}{} is already published by Ports[{j}]",
                        p.internal,
                        proto.port_suffix()
                    ),
                ));
            }
            if p.external == 0 && stage == Stage::Stored {
                return Err(FieldError::new(
                    format!("Ports[{i}].External"),
                    "0 asks `berth install` to allocate a port; a stored definition needs the allocated port (1-65535)",
                ));
            }
            let mut claim = |proto: Protocol, port: u16, what: &str| -> Result<(), FieldError> {
                let field = format!("Ports[{i}].{what}");
                if let Some(prev) = host.insert((proto, port), field.clone()) {
                    return Err(FieldError::new(
                        field,
                        format!(
                            "host port {port}{} is already used by {prev}",
                            proto.port_suffix()
                        ),
                    ));
                }
                Ok(())
            };
            if p.external != 0 {
                claim(proto, p.external, "External")?;
            }
            match (mode, p.backend) {
                // The backend is the loopback TCP port berth-proxy connects to.
                (SocketMode::Proxied, Some(b)) => claim(Protocol::Tcp, b, "Backend")?,
                (SocketMode::Proxied, None) if stage == Stage::Stored => {
                    return Err(FieldError::new(
                        format!("Ports[{i}].Backend"),
                        "a proxied socket-activated container needs the loopback port berth-proxy connects to; \
`berth install` reserves one, or set it by hand (SkipSocketProxy: true hands the socket to the container instead)",
                    ))
                }
                (SocketMode::Proxied, None) => {}
                (_, Some(_)) => {
                    return Err(FieldError::new(
                        format!("Ports[{i}].Backend"),
                        "is meaningful only for proxied socket activation (SocketActivation without SkipSocketProxy)",
                    ))
                }
                (_, None) => {}
            }
            if p.proxy_protocol.is_some() && mode != SocketMode::Proxied {
                return Err(FieldError::new(
                    format!("Ports[{i}].ProxyProtocol"),
                    "is meaningful only for proxied socket activation (SocketActivation without SkipSocketProxy): berth-proxy sends the header",
                ));
            }
        }
        Ok(())
    }

    fn check_environment(&self) -> Result<(), FieldError> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, v) in self.env_vars().iter().enumerate() {
            let field = format!("Environment.Variables[{i}]");
            if !is_env_name(&v.name) {
                return Err(FieldError::new(
                    format!("{field}.Name"),
                    format!(
                        "a variable name is [A-Za-z_][A-Za-z0-9_]* (got {:?})",
                        v.name
                    ),
                ));
            }
            if let Some(j) = seen.insert(&v.name, i) {
                return Err(FieldError::new(
                    format!("{field}.Name"),
                    format!(
                        "variable {} is already set by Environment.Variables[{j}]",
                        v.name
                    ),
                ));
            }
            no_nul(&format!("{field}.Value"), &v.value)?;
            env_file_value(&format!("{field}.Value"), &v.name, &v.value)?;
        }
        Ok(())
    }

    fn check_named_volumes(&self) -> Result<(), FieldError> {
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut paths: HashMap<&str, String> = self
            .volumes()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    v.container_path.as_str(),
                    format!("VolumeConfig.Volumes[{i}]"),
                )
            })
            .collect();
        for (i, v) in self.volumes.iter().enumerate() {
            let field = format!("Volumes[{i}]");
            if !is_volume_name(&v.name) {
                return Err(FieldError::new(
                    format!("{field}.Name"),
                    format!(
                        "a volume name is 1 to 32 characters from a-z, 0-9, '_' and '.', starting with a letter or digit, \
no '-' (the podman volume is berth-<id>-<Name>, split at its last '-'; got {:?})",
                        v.name
                    ),
                ));
            }
            if let Some(j) = names.insert(&v.name, i) {
                return Err(FieldError::new(
                    format!("{field}.Name"),
                    format!("volume {} is already mounted by Volumes[{j}]", v.name),
                ));
            }
            mount_path(&format!("{field}.ContainerPath"), &v.container_path)?;
            if let Some(prev) = paths.insert(&v.container_path, field.clone()) {
                return Err(FieldError::new(
                    format!("{field}.ContainerPath"),
                    format!("{} is already mounted by {prev}", v.container_path),
                ));
            }
            if self.isolate && v.relabel == Some(Relabel::Shared) {
                return Err(FieldError::new(
                    format!("{field}.Relabel"),
                    "an isolated container's volume carries its own MCS level: use private (the default) or none",
                ));
            }
        }
        Ok(())
    }

    fn check_secrets(&self) -> Result<(), FieldError> {
        let mut targets: HashMap<(bool, &str), String> = self
            .env_vars()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    (true, v.name.as_str()),
                    format!("Environment.Variables[{i}]"),
                )
            })
            .collect();
        for (i, s) in self.secrets.iter().enumerate() {
            let field = format!("Secrets[{i}]");
            if !is_secret_name(&s.name) {
                return Err(FieldError::new(
                    format!("{field}.Name"),
                    format!(
                        "a podman secret name is 1 to 253 characters from A-Z, a-z, 0-9, '_', '.' and '-', \
starting with a letter or digit (got {:?})",
                        s.name
                    ),
                ));
            }
            let target = s.target_name();
            let tfield = if s.target.is_some() {
                format!("{field}.Target")
            } else {
                format!("{field}.Name")
            };
            let env = s.secret_type() == SecretType::Env;
            if env && !is_env_name(target) {
                return Err(FieldError::new(
                    tfield,
                    format!("the target of an env secret is a variable name [A-Za-z_][A-Za-z0-9_]* (got {target:?})"),
                ));
            }
            if !env {
                let file_name = !target.is_empty()
                    && target.len() <= 255
                    && target != "."
                    && target != ".."
                    && target
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                if !file_name {
                    mount_path(&tfield, target).map_err(|_| {
                        FieldError::new(
                            tfield.clone(),
                            format!("the target of a mount secret is a file name of [A-Za-z0-9_.-] (under /run/secrets) \
or an absolute, normalized path without , : \" ' \\ (got {target:?})"),
                        )
                    })?;
                }
            }
            if let Some(prev) = targets.insert((env, target), field.clone()) {
                return Err(FieldError::new(
                    tfield,
                    format!("{target} is already set by {prev}"),
                ));
            }
        }
        Ok(())
    }

    fn check_links(&self) -> Result<(), FieldError> {
        let mut seen: HashMap<(IpAddr, u16), usize> = HashMap::new();
        for (i, l) in self.network_links.iter().enumerate() {
            let from: IpAddr = l.from_host.parse().map_err(|_| {
                FieldError::new(
                    format!("NetworkLinks[{i}].FromHost"),
                    format!("must be an IPv4 or IPv6 address (got {:?})", l.from_host),
                )
            })?;
            if l.to_host.parse::<IpAddr>().is_err() && !is_hostname(&l.to_host) {
                return Err(FieldError::new(
                    format!("NetworkLinks[{i}].ToHost"),
                    format!(
                        "must be an IPv4 or IPv6 address or an RFC 1123 host name (got {:?})",
                        l.to_host
                    ),
                ));
            }
            for (what, port) in [("FromPort", l.from_port), ("ToPort", l.to_port)] {
                if port == 0 {
                    return Err(FieldError::new(
                        format!("NetworkLinks[{i}].{what}"),
                        "must be a port number from 1 to 65535 (got 0)",
                    ));
                }
            }
            if let Some(j) = seen.insert((from, l.from_port), i) {
                return Err(FieldError::new(
                    format!("NetworkLinks[{i}]"),
                    format!(
                        "{}:{} is already linked by NetworkLinks[{j}]",
                        l.from_host, l.from_port
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_volumes(&self) -> Result<(), FieldError> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, v) in self.volumes().iter().enumerate() {
            let field = format!("VolumeConfig.Volumes[{i}]");
            mount_path(&format!("{field}.HostPath"), &v.host_path)?;
            mount_path(&format!("{field}.ContainerPath"), &v.container_path)?;
            if let Some(j) = seen.insert(&v.container_path, i) {
                return Err(FieldError::new(
                    format!("{field}.ContainerPath"),
                    format!(
                        "{} is already mounted by VolumeConfig.Volumes[{j}]",
                        v.container_path
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_process(&self) -> Result<(), FieldError> {
        for (name, argv) in [("Cmd", &self.cmd), ("Entrypoint", &self.entrypoint)] {
            if let Some(argv) = argv {
                if argv.is_empty() {
                    return Err(FieldError::new(
                        name,
                        format!("must hold at least one argument; leave {name} out to use the image's own"),
                    ));
                }
                for (i, a) in argv.iter().enumerate() {
                    no_nul(&format!("{name}[{i}]"), a)?;
                }
            }
        }
        if let Some(ref entry) = self.entrypoint {
            if entry[0].is_empty() {
                return Err(FieldError::new(
                    "Entrypoint[0]",
                    "the program must not be empty",
                ));
            }
        }
        if let Some(ref w) = self.working_dir {
            absolute_path("WorkingDir", w)?;
        }
        if let Some(ref u) = self.user {
            let ok = u.len() <= 65
                && !u.is_empty()
                && u.split(':').count() <= 2
                && u.split(':').all(is_user_word);
            if !ok {
                return Err(FieldError::new(
                    "User",
                    format!("must be user or user:group, each [A-Za-z0-9_][A-Za-z0-9_.-]{{0,31}} (got {u:?})"),
                ));
            }
        }
        if let Some(ref ns) = self.user_ns {
            let (mode, opts) = ns.split_once(':').unwrap_or((ns, ""));
            let mode_ok = ["auto", "host", "keep-id", "nomap", "private"].contains(&mode);
            let opts_ok = opts
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"=,._/-".contains(&b));
            if !mode_ok || !opts_ok || (ns.contains(':') && opts.is_empty()) {
                return Err(FieldError::new(
                    "UserNs",
                    format!("must be auto, host, keep-id, nomap or private, with options after ':' of [A-Za-z0-9=,._/-] (got {ns:?})"),
                ));
            }
        }
        Ok(())
    }

    fn check_resources(&self) -> Result<(), FieldError> {
        if let Some(m) = self.memory_limit {
            if m < MIN_MEMORY_BYTES {
                return Err(FieldError::new(
                    "MemoryLimit",
                    format!("must be at least 6 MiB ({MIN_MEMORY_BYTES} bytes), podman's minimum (got {m})"),
                ));
            }
        }
        if let Some(t) = self.stop_timeout {
            if t > MAX_STOP_TIMEOUT {
                return Err(FieldError::new(
                    "StopTimeout",
                    format!("must be at most {MAX_STOP_TIMEOUT} seconds (got {t})"),
                ));
            }
        }
        for (name, caps) in [("CapAdd", &self.cap_add), ("CapDrop", &self.cap_drop)] {
            for (i, c) in caps.iter().enumerate() {
                let bare = c.strip_prefix("CAP_").unwrap_or(c);
                let ok = CAPABILITIES.contains(&bare) || (name == "CapDrop" && c == "ALL");
                if !ok {
                    return Err(FieldError::new(
                        format!("{name}[{i}]"),
                        format!("must be a capability name from capabilities(7) such as CAP_NET_ADMIN{} (got {c:?})",
                            if name == "CapDrop" { ", or ALL" } else { "" }),
                    ));
                }
            }
        }
        if let Some(ref l) = self.mcs_level {
            if parse_mcs_level(l).is_none() {
                return Err(FieldError::new(
                    "McsLevel",
                    format!(
                        "must be s0:cX,cY with 0 <= X < Y <= 1023, no leading zeros (got {l:?})"
                    ),
                ));
            }
        }
        if let Some(ref s) = self.systemd_slice {
            if !is_slice_name(s) {
                return Err(FieldError::new(
                    "SystemdSlice",
                    format!(
                        "must be a slice name such as container-small or container-small.slice: \
[A-Za-z0-9:_.] parts joined by single '-', no '@' (got {s:?})"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The slice unit name in force (geard appended `.slice` to
    /// `SystemdSlice`; a name that already ends in `.slice` is kept).
    pub fn slice_unit(&self) -> Option<String> {
        self.systemd_slice.as_ref().map(|s| {
            if s.ends_with(".slice") {
                s.clone()
            } else {
                format!("{s}.slice")
            }
        })
    }
}

/// Parses an MCS level `s0:cX,cY` (X < Y ≤ 1023, canonical spelling) into
/// its category pair.
pub fn parse_mcs_level(level: &str) -> Option<(u16, u16)> {
    let rest = level.strip_prefix("s0:c")?;
    let (x, y) = rest.split_once(",c")?;
    let num = |s: &str| -> Option<u16> {
        if s.is_empty() || s.len() > 4 || (s.len() > 1 && s.starts_with('0')) {
            return None;
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (x, y) = (num(x)?, num(y)?);
    (x < y && y <= 1023).then_some((x, y))
}

fn is_env_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The rule of [`crate::NamedVolume::name`].
pub(crate) fn is_volume_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.".contains(&c))
}

/// Checks a podman secret name (`berth secret create NAME`) against the
/// rule of [`crate::SecretRef::name`].
pub fn validate_secret_name(name: &str) -> Result<(), FieldError> {
    if is_secret_name(name) {
        Ok(())
    } else {
        Err(FieldError::new(
            "Name",
            format!("a podman secret name is 1 to 253 characters from A-Z, a-z, 0-9, '_', '.' and '-', starting with a letter or digit (got {name:?})"),
        ))
    }
}

/// podman's secret name rule (letters, digits, `_.-`, at most 253).
fn is_secret_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 253
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
}

/// A value podman's `--env-file` reads back exactly. podman (pkg/env
/// `ParseFile`, the same in 4.3 and 5.x) reads one `NAME=VALUE` per line
/// with `bufio.Scanner`: a newline ends the value, a CR before the newline
/// is dropped, and a line longer than 64 KiB fails the whole file. Leading
/// blanks and `#` only matter at the start of a line, where the name is,
/// and the value is everything after the first `=`: any other text comes
/// through as written. Values this grammar cannot carry are refused here
/// rather than changed on the way: a podman secret (`Secrets`, `Type:
/// env`) carries any value.
fn env_file_value(field: &str, name: &str, value: &str) -> Result<(), FieldError> {
    let hint = "podman's --env-file reads one NAME=VALUE per line; \
keep such a value in a podman secret (berth secret create, then Secrets with Type env)";
    if value.contains('\n') {
        return Err(FieldError::new(
            field,
            format!("must not contain a newline: {hint}"),
        ));
    }
    if value.ends_with('\r') {
        return Err(FieldError::new(
            field,
            format!("must not end in a carriage return (podman drops it): {hint}"),
        ));
    }
    if name.len() + 1 + value.len() > MAX_ENV_LINE_BYTES {
        return Err(FieldError::new(
            field,
            format!(
                "NAME=VALUE must be at most {MAX_ENV_LINE_BYTES} bytes (podman reads longer lines as an error): {hint}"
            ),
        ));
    }
    Ok(())
}

fn is_user_word(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
}

pub(crate) fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

/// systemd's slice naming (systemd.slice(5)): `-` separates levels, so no
/// leading, trailing or doubled `-`; unit-name characters only.
fn is_slice_name(s: &str) -> bool {
    let stem = s.strip_suffix(".slice").unwrap_or(s);
    !stem.is_empty()
        && s.len() <= 255
        && !stem.starts_with('-')
        && !stem.ends_with('-')
        && !stem.contains("--")
        && stem
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b":_.-".contains(&c))
}

pub(crate) fn no_nul(field: &str, s: &str) -> Result<(), FieldError> {
    if s.contains('\0') {
        return Err(FieldError::new(
            field,
            "must not contain NUL (U+0000): no command line or unit file can carry it",
        ));
    }
    Ok(())
}

/// Absolute and normalized: starts with `/`, no empty, `.` or `..`
/// components, no trailing `/` (except `/` itself), no control characters.
fn absolute_path(field: &str, p: &str) -> Result<(), FieldError> {
    let normalized = p.starts_with('/')
        && (p == "/"
            || p[1..]
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".."));
    if !normalized {
        return Err(FieldError::new(
            field,
            format!("must be an absolute, normalized path (no '//', '.', '..' or trailing '/'; got {p:?})"),
        ));
    }
    if p.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("must not contain control characters (got {p:?})"),
        ));
    }
    Ok(())
}

/// A bind-mount path: [`absolute_path`] plus none of the characters
/// podman's `--mount` syntax or systemd's `RequiresMountsFor=` would read
/// specially (`,` `:` `"` `'` `\`).
pub(crate) fn mount_path(field: &str, p: &str) -> Result<(), FieldError> {
    absolute_path(field, p)?;
    if let Some(c) = p.chars().find(|c| ",:\"'\\".contains(*c)) {
        return Err(FieldError::new(
            field,
            format!("a mount path must not contain {c:?} (podman's --mount syntax cannot carry it; got {p:?})"),
        ));
    }
    Ok(())
}
