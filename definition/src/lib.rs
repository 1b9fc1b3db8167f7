//! The container definition: the JSON body geard's `PUT /container/<id>` took
//! (`InstallContainerRequest`, field names as geard sent them) plus berth's
//! extensions in the same casing. One file per container,
//! `<dir>/<id>.json`; the id is the file name.
//!
//! This crate holds everything the generator and the jobs must agree on, so
//! that the contract is written once: the model and its validation, the
//! one parser for stored definitions and install request bodies, the id
//! rule, unit/container/user names ([`names`]), the search path with
//! shadowing and masking ([`search`]), drop-in merging ([`dropin`]) and
//! the field/rule error. The
//! generator links it alone, so it depends on serde, serde_json and
//! thiserror only.
//!
//! The JSON Schema shipped in `schema/berth-definition.schema.json` documents
//! the value grammar of every field; [`Definition::validate`] is the
//! authority and the tests keep both in step.

pub mod atomic;
pub mod dropin;
mod error;
mod image;
pub mod names;
mod orchestration;
mod run_options;
pub mod search;
mod serde_helpers;
pub(crate) mod validate;

pub use dropin::{DropIn, DropIns, Layers};
pub use error::{DefinitionError, FieldError, IdError};
pub use image::validate_image_reference;
pub use orchestration::{MAX_HEALTH_RETRIES, MAX_HEALTH_SECONDS, RESERVED_GROUPS};
pub use run_options::NetworkMode;
pub use search::{Candidate, SearchPath};
pub use serde_helpers::parse_size;
pub use validate::{
    parse_mcs_level, validate_id, validate_secret_name, ID_MAX_LEN, ID_RULE, MAX_DEFINITION_BYTES,
    MAX_ENV_LINE_BYTES, SIMPLE_IGNORED,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A stored container definition (geard's `InstallContainerRequest` body).
///
/// Unknown fields are rejected. Fields left out take the defaults documented
/// on each field; serialization leaves defaults out so stored files stay
/// small and stable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase", default)]
pub struct Definition {
    /// Image reference, as podman takes it (`registry/name:tag@digest`).
    /// Required. Must not start with `-`.
    pub image: String,
    /// Start at boot (geard: "Should the container be started by default").
    /// For socket-activated containers this enables the socket.
    #[serde(skip_serializing_if = "is_false")]
    pub started: bool,
    /// Run under a per-container user `ctr-<id>` and its subordinate id range
    /// (podman `--subuidname`/`--subgidname`), root in the container being
    /// unprivileged on the host.
    #[serde(skip_serializing_if = "is_false")]
    pub isolate: bool,
    /// systemd listens on the external ports (`berth-<id>.socket`) and starts
    /// the container on the first connection.
    #[serde(skip_serializing_if = "is_false")]
    pub socket_activation: bool,
    /// With `SocketActivation`: hand the listening sockets straight to the
    /// container (`LISTEN_FDS`, "direct") instead of running `berth-proxy` in
    /// front of it ("proxied").
    #[serde(skip_serializing_if = "is_false")]
    pub skip_socket_proxy: bool,
    /// geard's "simple" container. Accepted and ignored, with a warning
    /// ([`SIMPLE_IGNORED`] says why).
    #[serde(skip_serializing_if = "is_false")]
    pub simple: bool,
    /// Published ports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortPair>,
    /// Environment of the container process (never of a host process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Connections made inside the container to `FromHost:FromPort` reach
    /// `ToHost:ToPort` (applied with nftables in the container's network
    /// namespace when it starts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network_links: Vec<NetworkLink>,
    /// Slice the unit runs in (`Slice=`), a unit name ending in `.slice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub systemd_slice: Option<String>,
    /// Bind mounts from the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_config: Option<VolumeConfig>,

    // ---- berth extensions ----
    /// Named volumes (podman `--volume=berth-<id>-<Name>:<ContainerPath>`):
    /// the container's data, kept across stop, restart, idle exit, image
    /// update, reboot and `berth delete`; removed only by `berth delete
    /// --volumes` or `berth volume rm`. `berth install` adds one for each
    /// `VOLUME` of the image that nothing else mounts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<NamedVolume>,
    /// podman secrets handed to the container (`--secret`), as an
    /// environment variable or a file; the value never passes through
    /// the definition, a unit or an argv.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretRef>,
    /// Command (argv after the image); replaces the image's `CMD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Entrypoint argv; replaces the image's `ENTRYPOINT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Working directory inside the container (absolute path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// systemd `Restart=` policy; default `on-failure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    /// When `berth install` (and `berth pull`) pulls the image; default
    /// `missing`. The generator does not read it: the unit's podman keeps
    /// its own default, and the install has already pulled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullPolicy>,
    /// Memory limit in bytes (podman `--memory`). JSON accepts a number of
    /// bytes or a string with a `k`/`m`/`g` suffix (powers of 1024); at least
    /// 6 MiB, podman's minimum.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_helpers::memory_limit"
    )]
    pub memory_limit: Option<u64>,
    /// Mount the container's root file system read-only.
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// Capabilities to add (`CAP_NET_ADMIN` or `NET_ADMIN`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// Capabilities to drop (names as for `CapAdd`, or `ALL`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// podman `--userns` mode (`auto`, `keep-id`, `nomap`, `host`, with
    /// options after a colon). Cannot be combined with `Isolate`, which
    /// chooses the mapping itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_ns: Option<String>,
    /// User (and group) the container process runs as: `name`, `uid`,
    /// `name:group`, `uid:gid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// SELinux MCS level `s0:cX,cY` (0 ≤ X < Y ≤ 1023), allocated by
    /// `berth install` for isolated containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcs_level: Option<String>,
    /// Seconds podman waits after SIGTERM before SIGKILL; default 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u32>,
    /// Proxied socket activation only: seconds without connections after
    /// which the proxy exits and the container is stopped (scale to zero).
    /// Absent or 0: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_idle_time: Option<u32>,
    /// When the unit becomes active: `false` (default) when conmon has
    /// started the container (`--sdnotify=conmon`), `true` when the
    /// container sends its own `READY=1` (`--sdnotify=container`),
    /// `"healthy"` once the `Health` check first passes
    /// (`--sdnotify=healthy`, podman ≥ 5.0).
    #[serde(
        skip_serializing_if = "Notify::is_default",
        deserialize_with = "serde_helpers::notify",
        serialize_with = "serde_helpers::serialize_notify"
    )]
    pub notify: Notify,

    // ---- readiness, dependencies, groups, auto-update ----
    /// Health check (podman `--health-*`); `berth status` shows the state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Ids of containers this one needs (`Requires=` and `After=` on
    /// their units): if one fails to start, this one is not started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Ids of containers started with this one when present (`Wants=`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wants: Vec<String>,
    /// Ids of containers this one starts after (`After=`), without
    /// needing them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Group the container belongs to: `berth-<Group>.target` starts,
    /// stops and restarts its members together (`PartOf=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `podman auto-update` policy (the label `io.containers.autoupdate`);
    /// `berth update` applies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<AutoUpdate>,

    // ---- networks and run options ----
    /// `host`, `none`, `bridge` (podman's default network) or the name of
    /// a podman network, created by `berth install` when missing, on which
    /// containers reach each other by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Further names this container answers to on its named `Network`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network_aliases: Vec<String>,
    /// Host name inside the container (`--hostname`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Container labels (`--label`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Host devices (`--device`): `HOST[:CONTAINER][:PERMISSIONS]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// CPU limit in CPUs (`--cpus`), e.g. `1.5`; stored in thousandths.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_helpers::cpu_limit",
        serialize_with = "serde_helpers::serialize_cpu_limit"
    )]
    pub cpu_limit: Option<MilliCpus>,
    /// Maximum number of processes (`--pids-limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<u32>,
    /// Size of `/dev/shm` in bytes (`--shm-size`); number or size string
    /// as `MemoryLimit`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_helpers::memory_limit"
    )]
    pub shm_size: Option<u64>,
    /// tmpfs mounts (`--tmpfs`): `PATH[:OPTIONS]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    /// Namespaced kernel parameters (`--sysctl NAME=VALUE`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctl: BTreeMap<String, String>,
}

/// When a container's unit becomes active (`Notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notify {
    /// conmon reports the container started (`--sdnotify=conmon`).
    #[default]
    Conmon,
    /// The container sends `READY=1` itself (`--sdnotify=container`).
    Container,
    /// The health check passed once (`--sdnotify=healthy`, podman ≥ 5.0).
    Healthy,
}

impl Notify {
    /// The value of podman's `--sdnotify`.
    pub fn as_sdnotify(self) -> &'static str {
        match self {
            Notify::Conmon => "conmon",
            Notify::Container => "container",
            Notify::Healthy => "healthy",
        }
    }

    fn is_default(&self) -> bool {
        *self == Notify::Conmon
    }
}

/// A health check (podman `--health-*` options).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase", default)]
pub struct Health {
    /// The check's argv, run in the container without a shell (podman's
    /// exec form); exit 0 means healthy. Required.
    pub cmd: Vec<String>,
    /// Seconds between checks; default podman's 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    /// Seconds a check may take; default podman's 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Consecutive failures that make the container unhealthy; default 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Seconds after start during which failures do not count; default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<u32>,
    /// What podman does when the container becomes unhealthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<HealthOnFailure>,
}

/// podman's `--health-on-failure` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthOnFailure {
    /// Only record the state (podman's default).
    None,
    /// Kill the container; with `Restart`, systemd starts it again.
    Kill,
    /// podman restarts the container itself.
    Restart,
    /// Stop the container.
    Stop,
}

impl HealthOnFailure {
    /// The value as podman spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthOnFailure::None => "none",
            HealthOnFailure::Kill => "kill",
            HealthOnFailure::Restart => "restart",
            HealthOnFailure::Stop => "stop",
        }
    }
}

/// `AutoUpdate` policies (podman-auto-update(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoUpdate {
    /// Pull the image's reference from its registry when its digest changed.
    Registry,
    /// Use the image the reference names in the local store when it changed.
    Local,
}

impl AutoUpdate {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoUpdate::Registry => "registry",
            AutoUpdate::Local => "local",
        }
    }
}

/// A CPU count in thousandths (`CpuLimit: 1.5` is `MilliCpus(1500)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MilliCpus(pub u32);

impl std::fmt::Display for MilliCpus {
    /// As podman's `--cpus` takes it: `1.5`, `2`, `0.25`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// One published port (geard's `PortPair`, plus berth's `Backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PortPair {
    /// Port inside the container, 1–65535.
    #[serde(deserialize_with = "serde_helpers::port")]
    pub internal: u16,
    /// Host port, 1–65535; 0 asks `berth install` to allocate one (a stored
    /// definition read by the generator must not contain 0).
    #[serde(default, deserialize_with = "serde_helpers::port")]
    pub external: u16,
    /// Proxied socket activation only: the loopback port the container
    /// publishes on `127.0.0.1` for `berth-proxy` to connect to, reserved
    /// by `berth install`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_helpers::opt_port"
    )]
    pub backend: Option<u16>,
    /// Proxied socket activation only: `berth-proxy` sends a PROXY
    /// protocol header (`v1` text, `v2` binary) ahead of each connection's
    /// bytes, so the container sees the real client address. The server in
    /// the container must expect it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<ProxyProtocol>,
    /// `tcp` (default) or `udp`. A socket-activated UDP port is handed to
    /// the container (`ListenDatagram=`, direct mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// As podman's `--publish` and the definition spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    /// What follows a port number where the protocol matters, as podman
    /// writes it (`5353:53/udp`, `5353->53/udp`): `/udp`, and nothing for
    /// TCP, the default, so TCP ports read as they always did.
    pub fn port_suffix(self) -> &'static str {
        match self {
            Protocol::Tcp => "",
            Protocol::Udp => "/udp",
        }
    }
}

impl PortPair {
    /// The protocol in force (`tcp` when not given).
    pub fn protocol(&self) -> Protocol {
        self.protocol.unwrap_or(Protocol::Tcp)
    }
}

/// PROXY protocol versions (haproxy's proxy-protocol.txt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyProtocol {
    /// Text header, `PROXY TCP4 …\r\n`.
    V1,
    /// Binary header.
    V2,
}

impl ProxyProtocol {
    /// The value as `berth-proxy --proxy-protocol` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyProtocol::V1 => "v1",
            ProxyProtocol::V2 => "v2",
        }
    }
}

/// geard's `EnvironmentDescription` (only its `Variables`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase", default)]
pub struct Environment {
    /// Variables in order; names are unique.
    pub variables: Vec<EnvVar>,
}

/// One environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct EnvVar {
    /// `[A-Za-z_][A-Za-z0-9_]*`.
    pub name: String,
    /// Any text without NUL or newline, not ending in CR, `NAME=VALUE` at
    /// most [`MAX_ENV_LINE_BYTES`] (what podman's `--env-file` carries
    /// exactly; a podman secret carries anything else).
    pub value: String,
}

/// geard's `NetworkLink`: traffic to `FromHost:FromPort` inside the container
/// goes to `ToHost:ToPort`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct NetworkLink {
    /// IPv4 or IPv6 address as the container sees it, e.g. `127.0.0.1`.
    pub from_host: String,
    /// 1–65535.
    #[serde(deserialize_with = "serde_helpers::port")]
    pub from_port: u16,
    /// IPv4 or IPv6 address, or a host name (RFC 1123), resolved when the
    /// link is applied.
    pub to_host: String,
    /// 1–65535.
    #[serde(deserialize_with = "serde_helpers::port")]
    pub to_port: u16,
}

/// Host bind mounts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase", default)]
pub struct VolumeConfig {
    /// Bind mounts, mounted in order.
    pub volumes: Vec<Volume>,
}

/// One bind mount (podman `--mount=type=bind,…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Volume {
    /// Absolute, normalized host path without `,` or `:`.
    pub host_path: String,
    /// Absolute, normalized path inside the container without `,` or `:`.
    pub container_path: String,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
}

/// One named volume of a container (podman volume `berth-<id>-<Name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct NamedVolume {
    /// `[a-z0-9][a-z0-9_.]{0,31}`, unique in the definition. No `-`, so
    /// the podman name `berth-<id>-<Name>` names one (id, Name) pair: the
    /// Name is what follows the last `-`.
    pub name: String,
    /// Absolute, normalized path inside the container without `,` or `:`.
    pub container_path: String,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// SELinux relabelling of the volume's content; default `private` for
    /// an isolated container (its MCS level), else `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relabel: Option<Relabel>,
}

/// How podman relabels a volume for SELinux (`--volume` options `Z`/`z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relabel {
    /// `Z`: labelled for this container only (with its MCS level).
    Private,
    /// `z`: labelled for every container (no MCS categories). Not for an
    /// isolated container.
    Shared,
    /// No relabelling.
    None,
}

/// A podman secret a container receives (podman `--secret`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SecretRef {
    /// The podman secret (`berth secret create NAME`):
    /// `[A-Za-z0-9][A-Za-z0-9_.-]{0,252}`.
    pub name: String,
    /// `env` (an environment variable) or `mount` (a file); default `mount`
    /// as podman's.
    #[serde(default, rename = "Type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<SecretType>,
    /// `env`: the variable name (`[A-Za-z_][A-Za-z0-9_]*`); `mount`: a file
    /// name under `/run/secrets` or an absolute path. Default: the Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// How a secret reaches the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretType {
    /// An environment variable of the container process.
    Env,
    /// A file (`/run/secrets/<Target>` or the absolute Target), mode 0400.
    Mount,
}

impl SecretRef {
    /// The type in force (`mount` when not given).
    pub fn secret_type(&self) -> SecretType {
        self.kind.unwrap_or(SecretType::Mount)
    }

    /// The target in force (the Name when not given).
    pub fn target_name(&self) -> &str {
        self.target.as_deref().unwrap_or(&self.name)
    }

    /// Where a `mount` secret appears in the container: its absolute
    /// Target, else `/run/secrets/<Target>` (podman's default directory).
    /// `None` for an `env` secret.
    pub fn mount_path(&self) -> Option<String> {
        if self.secret_type() != SecretType::Mount {
            return None;
        }
        let t = self.target_name();
        Some(if t.starts_with('/') {
            t.to_owned()
        } else {
            format!("/run/secrets/{t}")
        })
    }
}

impl NamedVolume {
    /// The relabelling in force for a container that is (or is not)
    /// isolated.
    pub fn relabel_for(&self, isolate: bool) -> Relabel {
        self.relabel.unwrap_or(if isolate {
            Relabel::Private
        } else {
            Relabel::None
        })
    }
}

/// When the image is pulled at install (`Pull`; podman's `--pull` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullPolicy {
    /// Pull when the image is not in podman's store (the default).
    Missing,
    /// Pull at every install, even when the image is present.
    Always,
    /// Never pull: the image must be in podman's store already.
    Never,
}

impl PullPolicy {
    /// The value as the definition and podman spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Missing => "missing",
            PullPolicy::Always => "always",
            PullPolicy::Never => "never",
        }
    }
}

impl Definition {
    /// `Pull`, or its default `missing`.
    pub fn pull_policy(&self) -> PullPolicy {
        self.pull.unwrap_or(PullPolicy::Missing)
    }
}

/// systemd `Restart=` values (systemd.service(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// `Restart=no`.
    No,
    /// `Restart=on-success`.
    OnSuccess,
    /// `Restart=on-failure` (berth's default).
    OnFailure,
    /// `Restart=on-abnormal`.
    OnAbnormal,
    /// `Restart=on-watchdog`.
    OnWatchdog,
    /// `Restart=on-abort`.
    OnAbort,
    /// `Restart=always`.
    Always,
}

impl RestartPolicy {
    /// The value as systemd spells it.
    pub fn as_systemd(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnSuccess => "on-success",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::OnAbnormal => "on-abnormal",
            RestartPolicy::OnWatchdog => "on-watchdog",
            RestartPolicy::OnAbort => "on-abort",
            RestartPolicy::Always => "always",
        }
    }
}

/// How systemd activates a container's sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketMode {
    /// No socket unit: podman publishes the ports itself.
    None,
    /// `berth-<id>.socket` activates `berth-proxy@<id>.service`, which
    /// forwards to the container's loopback backend ports.
    Proxied,
    /// `berth-<id>.socket` activates `berth-<id>.service`; podman passes the
    /// sockets to the container (`LISTEN_FDS`).
    Direct,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Definition {
    /// Parses and validates a stored definition (what the generator
    /// renders) from JSON bytes.
    ///
    /// Errors: [`FieldError`] naming the JSON path of the first broken rule
    /// (not an object, malformed JSON, unknown field with "did you mean",
    /// wrong type, or a rule of [`Definition::validate`]).
    pub fn from_json(bytes: &[u8]) -> Result<Definition, FieldError> {
        let def = Definition::parse(bytes)?;
        def.validate()?;
        Ok(def)
    }

    /// Parses and validates an install request body (geard's
    /// `InstallContainerRequest`, `berth install --from-json`, an API
    /// `PUT`): the same grammar as a stored definition, but `External: 0`
    /// and a missing `Backend` ask for allocation
    /// ([`Definition::validate_request`]). Every client goes through this
    /// one parser, so a request is rejected exactly as a stored file is.
    ///
    /// Errors: as [`Definition::from_json`].
    pub fn from_request_json(bytes: &[u8]) -> Result<Definition, FieldError> {
        let def = Definition::parse(bytes)?;
        def.validate_request()?;
        Ok(def)
    }

    /// Parses and validates a stored definition from an already merged
    /// JSON document (a definition with its drop-ins,
    /// [`dropin::Layers::definition`]).
    ///
    /// Errors: as [`Definition::from_json`].
    pub fn from_json_value(v: serde_json::Value) -> Result<Definition, FieldError> {
        let def = serde_helpers::from_value(v)?;
        def.validate()?;
        Ok(def)
    }

    fn parse(bytes: &[u8]) -> Result<Definition, FieldError> {
        if bytes.len() > MAX_DEFINITION_BYTES {
            return Err(FieldError::new(
                ".",
                format!(
                    "a definition may be at most {} bytes (got {})",
                    MAX_DEFINITION_BYTES,
                    bytes.len()
                ),
            ));
        }
        serde_helpers::from_json(bytes)
    }

    /// The definition as stored: pretty JSON with defaults left out, ending
    /// in a newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("definition serializes");
        s.push('\n');
        s
    }

    /// Which socket-activation mode the definition asks for.
    pub fn socket_mode(&self) -> SocketMode {
        match (self.socket_activation, self.skip_socket_proxy) {
            (false, _) => SocketMode::None,
            (true, false) => SocketMode::Proxied,
            (true, true) => SocketMode::Direct,
        }
    }

    /// The environment variables (empty when none).
    pub fn env_vars(&self) -> &[EnvVar] {
        self.environment
            .as_ref()
            .map(|e| e.variables.as_slice())
            .unwrap_or(&[])
    }

    /// The bind mounts (empty when none).
    pub fn volumes(&self) -> &[Volume] {
        self.volume_config
            .as_ref()
            .map(|v| v.volumes.as_slice())
            .unwrap_or(&[])
    }

    /// The restart policy in force (`on-failure` when not given).
    pub fn restart_policy(&self) -> RestartPolicy {
        self.restart.unwrap_or(RestartPolicy::OnFailure)
    }

    /// The stop timeout in force, in seconds (10 when not given).
    pub fn stop_timeout_secs(&self) -> u32 {
        self.stop_timeout.unwrap_or(10)
    }
}

/// A definition file found on the search path, validated.
#[derive(Debug, Clone)]
pub struct LoadedDefinition {
    /// The container id (the file name without `.json`).
    pub id: String,
    /// Where it was read from (the base file).
    pub path: PathBuf,
    /// The drop-ins merged over it, in the order applied (`DropInPaths`).
    pub drop_ins: Vec<PathBuf>,
    /// The validated definition (with its drop-ins merged).
    pub definition: Definition,
}

/// Reads and validates `<dir>/<id>.json` alone; the id is taken from the
/// file name. The definition in force, with its drop-ins merged, is
/// [`Candidate::load`]'s (found by [`SearchPath::find`] or
/// [`SearchPath::discover`]).
///
/// Errors: [`DefinitionError`] naming the file, and the field and rule where
/// one was broken.
pub fn load_file(path: &Path) -> Result<LoadedDefinition, DefinitionError> {
    load_file_as(path, path)
}

/// Like [`load_file`], but reads `read_from` while naming `path` in the
/// result and in errors (a generator run under a test root reads
/// `<root>/etc/…` but reports `/etc/…`).
pub fn load_file_as(path: &Path, read_from: &Path) -> Result<LoadedDefinition, DefinitionError> {
    let id = id_from_path(path).map_err(|source| DefinitionError::Id {
        path: path.to_owned(),
        source,
    })?;
    let bytes = read_bounded(read_from).map_err(|source| DefinitionError::Io {
        path: path.to_owned(),
        source,
    })?;
    let definition = Definition::from_json(&bytes)
        .and_then(|d| d.validate_references(&id).map(|()| d))
        .map_err(|source| DefinitionError::Field {
            path: path.to_owned(),
            source,
        })?;
    Ok(LoadedDefinition {
        id,
        path: path.to_owned(),
        drop_ins: Vec::new(),
        definition,
    })
}

/// The id a definition file name stands for (`web.json` → `web`), validated.
pub fn id_from_path(path: &Path) -> Result<String, IdError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let id = name.strip_suffix(".json").unwrap_or(name);
    validate_id(id)?;
    Ok(id.to_owned())
}

/// Reads at most one byte more than [`MAX_DEFINITION_BYTES`], so a huge file
/// is rejected without being read whole.
pub(crate) fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(MAX_DEFINITION_BYTES as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests;
