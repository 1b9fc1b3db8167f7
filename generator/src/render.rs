//! Definition → unit files. Pure: no I/O, same input → same bytes.
//!
//! The service follows what podman's own generator (Quadlet) settled on for
//! running a container under systemd: `Type=notify` with
//! `--sdnotify=conmon`, `--cgroups=split` with `Delegate=yes`, `--replace`
//! with a cidfile under `%t`, `KillMode=mixed`, and removal of the container
//! on stop. Unlike Quadlet's default, never `--rm` nor `podman rm
//! --volumes`: both delete the container's anonymous volumes (an image's
//! `VOLUME` paths), i.e. a database's data at every stop or idle exit.
//! Data survives stop: named volumes are mounted by name, `berth install`
//! maps each image `VOLUME` to one, and whatever podman still creates
//! anonymously is left for the user to remove (`podman volume prune`).
//!
//! Values are root-only: the container's environment is not written into
//! `ExecStart=` (readable by anyone through `systemctl show`, D-Bus and
//! `/proc/<pid>/cmdline`) but into `berth-<id>.env`, mode 0600, next to the
//! units in the generator's own output directory, and podman reads it
//! with `--env-file=`. The generator thus still renders everything from
//! the definition alone, writes nowhere but its output directory
//! (systemd.generator(7) allows other files there; systemd loads only
//! unit names) and needs no podman call; podman secrets would need
//! `podman secret create` (a side effect, and IPC with podman's store),
//! and systemd credentials reach the service, not podman's `--env` list,
//! without a shell.
//!
//! Proxied socket activation: the container publishes each port on
//! `127.0.0.1:<Backend>` and `berth-proxy@<id>.service` forwards systemd's
//! listening sockets there. berth uses a reserved loopback port rather than
//! sharing the container's network namespace (`JoinsNamespaceOf=`) because
//! podman creates that namespace only when the container starts, after the
//! proxy unit would have to join it, and because a loopback port keeps the
//! proxy a plain host process that needs no privileges.

use crate::escape::{exec_line, exec_word, list_word, specifier_value, EscapeError};
use berth_definition::names::{env_file, group_target, user_name, volume_name};
use berth_definition::{
    Definition, FieldError, NetworkMode, PortPair, Protocol, Relabel, SecretType, SocketMode,
};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Where the programs units run are installed (set at build time by the
/// Makefile through `BERTH_PODMAN`, `BERTH_LIBEXECDIR`, `BERTH_BINDIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallPaths {
    /// podman, e.g. `/usr/bin/podman`.
    pub podman: String,
    /// berth-proxy, e.g. `/usr/libexec/berth/berth-proxy`.
    pub proxy: String,
    /// The berth CLI, e.g. `/usr/bin/berth`.
    pub berth: String,
    /// The directory systemd runs system generators with as NORMAL_DIR
    /// (systemd.generator(7): `/run/systemd/generator`), where the unit
    /// finds the environment file the generator wrote.
    pub generator_dir: String,
}

impl InstallPaths {
    /// The layout of a distribution package (`PREFIX=/usr`, podman from the
    /// distribution): what a build without the Makefile's variables uses,
    /// and what the golden fixture units are written with.
    pub fn standard() -> Self {
        InstallPaths {
            podman: "/usr/bin/podman".into(),
            proxy: "/usr/libexec/berth/berth-proxy".into(),
            berth: "/usr/bin/berth".into(),
            generator_dir: "/run/systemd/generator".into(),
        }
    }

    /// The paths compiled into this build.
    pub fn built_in() -> Self {
        let standard = Self::standard();
        InstallPaths {
            podman: option_env!("BERTH_PODMAN").map_or(standard.podman, str::to_owned),
            proxy: option_env!("BERTH_LIBEXECDIR")
                .map_or(standard.proxy, |d| format!("{d}/berth/berth-proxy")),
            berth: option_env!("BERTH_BINDIR").map_or(standard.berth, |d| format!("{d}/berth")),
            generator_dir: standard.generator_dir,
        }
    }
}

/// One file to write into the generator's output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    /// Unit name, e.g. `berth-web.service`.
    pub name: String,
    /// Whole file contents.
    pub content: String,
}

/// A `.wants/` symlink: `<dir>/<unit>` → `../<unit>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantsLink {
    /// The wanting directory, e.g. `berth.target.wants`.
    pub dir: &'static str,
    /// The wanted unit's name.
    pub unit: String,
}

/// A root-only file (mode 0600) in the output directory that is not a
/// unit: the container's environment for podman's `--env-file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateFile {
    /// File name, e.g. `berth-web.env`.
    pub name: String,
    /// Whole file contents.
    pub content: String,
}

/// Everything one definition produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Unit files, service first.
    pub units: Vec<UnitFile>,
    /// Root-only files the units read (written before the units).
    pub private: Vec<PrivateFile>,
    /// Symlinks that start units at boot.
    pub links: Vec<WantsLink>,
}

/// A value of the definition that cannot be written into a unit: the one
/// field/rule error of berth-definition, naming the JSON path and the rule.
pub type RenderError = FieldError;

fn at(field: &str) -> impl Fn(EscapeError) -> RenderError + '_ {
    move |e| FieldError::new(field, e.rule)
}

pub use berth_definition::names::{
    container_name, proxy_unit as proxy_name, service_unit as service_name,
    socket_unit as socket_name,
};

/// Renders the units of a validated definition.
///
/// `source` is the definition's path as the host sees it (written to
/// `SourcePath=`). Errors: a value systemd cannot carry, naming its field.
pub fn render(
    id: &str,
    source: &str,
    def: &Definition,
    paths: &InstallPaths,
) -> Result<Rendered, RenderError> {
    render_with_peers(id, source, def, paths, &Peers::new())
}

/// The socket mode of every definition in force, by id: what rendering one
/// definition needs to know about the others (a dependency on a
/// socket-activated container is on its socket). The generator builds it
/// from all definitions of one run, so [`render_with_peers`] stays pure.
pub type Peers = BTreeMap<String, SocketMode>;

/// The [`Peers`] of a set of definitions (id and definition), e.g. every
/// definition in force, as the generator passes them.
pub fn peers<'a>(defs: impl IntoIterator<Item = (&'a str, &'a Definition)>) -> Peers {
    defs.into_iter()
        .map(|(id, d)| (id.to_owned(), d.socket_mode()))
        .collect()
}

/// [`render`], knowing the other definitions in force (`peers`): a
/// dependency (`Requires`, `Wants`, `After`) on an id in `peers` that is
/// socket-activated is rendered on its socket, any other on its service
/// ([`render`] passes no peers, so every dependency is on a service).
pub fn render_with_peers(
    id: &str,
    source: &str,
    def: &Definition,
    paths: &InstallPaths,
    peers: &Peers,
) -> Result<Rendered, RenderError> {
    render_with_drop_ins(id, source, &[], def, paths, peers)
}

/// [`render_with_peers`] for a definition merged from `source` and its
/// `drop_ins` (host paths, in the order applied): `SourcePath=` names the
/// base file, as systemd's own `SourcePath=` names one file, and each
/// drop-in gets a `# DropIn: <path>` line in the header, so `systemctl
/// cat` shows every file the unit came from (systemd's `DropInPaths` is
/// for the unit's own `.d/*.conf` and stays theirs).
pub fn render_with_drop_ins(
    id: &str,
    source: &str,
    drop_ins: &[String],
    def: &Definition,
    paths: &InstallPaths,
    peers: &Peers,
) -> Result<Rendered, RenderError> {
    // A comment line ends at a newline: the same rule as `SourcePath=`.
    for d in drop_ins {
        specifier_value(d).map_err(at("(drop-in path)"))?;
    }
    let src = Source {
        escaped: specifier_value(source).map_err(at("(definition path)"))?,
        raw: source,
        drop_ins,
    };
    let mode = def.socket_mode();
    let mut out = Rendered::default();
    if !def.env_vars().is_empty() {
        out.private.push(PrivateFile {
            name: env_file(id),
            content: env_file_content(def),
        });
    }
    out.units.push(UnitFile {
        name: service_name(id),
        content: render_service(id, &src, def, mode, paths, peers)?,
    });
    match mode {
        SocketMode::None => {
            if def.started {
                out.links.push(WantsLink {
                    dir: "berth.target.wants",
                    unit: service_name(id),
                });
            }
        }
        SocketMode::Proxied | SocketMode::Direct => {
            out.units.push(UnitFile {
                name: socket_name(id),
                content: render_socket(id, &src, def, mode),
            });
            if mode == SocketMode::Proxied {
                out.units.push(UnitFile {
                    name: proxy_name(id),
                    content: render_proxy(id, &src, def, paths),
                });
            }
            if def.started {
                out.links.push(WantsLink {
                    dir: "sockets.target.wants",
                    unit: socket_name(id),
                });
            }
        }
    }
    Ok(out)
}

/// The definition's path: as people read it (comments) and %-escaped for
/// `SourcePath=` (which expands specifiers).
struct Source<'a> {
    raw: &'a str,
    escaped: String,
    drop_ins: &'a [String],
}

fn header(out: &mut String, kind: &str, id: &str, source: &Source) {
    let _ = writeln!(
        out,
        "# Automatically generated by berth-generator from {}",
        source.raw
    );
    for d in source.drop_ins {
        let _ = writeln!(out, "# DropIn: {d}");
    }
    out.push_str("# Edit the definition (or add a drop-in), not this file.\n");
    out.push_str("\n[Unit]\n");
    let _ = writeln!(out, "Description=berth {kind} {id}");
    let _ = writeln!(out, "SourcePath={}", source.escaped);
}

/// The environment file podman reads with `--env-file`: one `NAME=VALUE`
/// line per variable, in order. The definition's rules
/// (`Environment.Variables[].Value`: no newline, no trailing CR, lines
/// within 64 KiB) are exactly what podman's line reader carries, so every
/// value comes back as written.
pub fn env_file_content(def: &Definition) -> String {
    let mut s = String::new();
    for v in def.env_vars() {
        let _ = writeln!(s, "{}={}", v.name, v.value);
    }
    s
}

/// The absolute path of a container's environment file as its unit
/// names it.
pub fn env_file_path(id: &str, paths: &InstallPaths) -> String {
    format!("{}/{}", paths.generator_dir, env_file(id))
}

/// One word of the podman command line, before escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgvWord {
    /// The argument exactly as podman should receive it, except that
    /// specifiers (`%t`) are still unexpanded when `specifiers` is set.
    pub text: String,
    /// A word of berth's own that carries systemd specifiers on purpose
    /// (the cidfile under `%t`); written without `%` escaping.
    pub specifiers: bool,
    /// The definition field the value came from (for errors), or "".
    pub field: &'static str,
}

/// The argv of `podman run` for a container, as podman must receive it.
///
/// This is the intended argv that the unit's `ExecStart=` must reproduce
/// once systemd has parsed it; [`render`] escapes each word with
/// [`exec_word`].
pub fn podman_run_argv(id: &str, def: &Definition, paths: &InstallPaths) -> Vec<ArgvWord> {
    let mode = def.socket_mode();
    let mut words: Vec<ArgvWord> = Vec::with_capacity(32);
    let mut push = |text: String, field: &'static str| {
        words.push(ArgvWord {
            text,
            specifiers: false,
            field,
        })
    };
    push(paths.podman.clone(), "(podman path)");
    push("run".into(), "");
    push(format!("--name={}", container_name(id)), "");
    push("--replace".into(), "");
    push("--cgroups=split".into(), "");
    push(format!("--sdnotify={}", def.notify.as_sdnotify()), "");
    push("-d".into(), "");
    push("--log-driver=journald".into(), "");
    if let Some(ref level) = def.mcs_level {
        push(format!("--security-opt=label=level:{level}"), "McsLevel");
    }
    if def.isolate {
        push(format!("--subuidname={}", user_name(id)), "");
        push(format!("--subgidname={}", user_name(id)), "");
    }
    if let Some(ref ns) = def.user_ns {
        push(format!("--userns={ns}"), "UserNs");
    }
    if let Some(ref u) = def.user {
        push(format!("--user={u}"), "User");
    }
    if let Some(ref w) = def.working_dir {
        push(format!("--workdir={w}"), "WorkingDir");
    }
    if def.read_only {
        push("--read-only".into(), "");
    }
    for c in &def.cap_drop {
        push(format!("--cap-drop={}", cap_name(c)), "CapDrop");
    }
    for c in &def.cap_add {
        push(format!("--cap-add={}", cap_name(c)), "CapAdd");
    }
    if let Some(m) = def.memory_limit {
        push(format!("--memory={m}"), "");
    }
    push(format!("--stop-timeout={}", def.stop_timeout_secs()), "");
    for (text, field) in health_and_update_words(def) {
        push(text, field);
    }
    for (w, field) in run_option_args(def) {
        push(w, field);
    }
    for (w, field) in network_args(def) {
        push(w, field);
    }
    for w in publish_args(def, mode) {
        push(w, "Ports");
    }
    for v in def.volumes() {
        let mut m = format!(
            "--mount=type=bind,source={},destination={}",
            v.host_path, v.container_path
        );
        if v.read_only {
            m.push_str(",ro");
        }
        push(m, "VolumeConfig.Volumes");
    }
    for v in &def.volumes {
        let mut opts: Vec<&str> = Vec::new();
        if v.read_only {
            opts.push("ro");
        }
        // The volume belongs to the container's subordinate range: podman
        // chowns it to the container's root on mount.
        if def.isolate {
            opts.push("U");
        }
        match v.relabel_for(def.isolate) {
            Relabel::Private => opts.push("Z"),
            Relabel::Shared => opts.push("z"),
            Relabel::None => {}
        }
        let mut m = format!("--volume={}:{}", volume_name(id, &v.name), v.container_path);
        if !opts.is_empty() {
            m.push(':');
            m.push_str(&opts.join(","));
        }
        push(m, "Volumes");
    }
    if !def.env_vars().is_empty() {
        push(
            format!("--env-file={}", env_file_path(id, paths)),
            "(generator directory)",
        );
    }
    for s in &def.secrets {
        let kind = match s.secret_type() {
            SecretType::Env => "env",
            SecretType::Mount => "mount",
        };
        push(
            format!("--secret={},type={kind},target={}", s.name, s.target_name()),
            "Secrets",
        );
    }
    if let Some(ref e) = def.entrypoint {
        // podman reads a JSON array as the exact entrypoint argv.
        push(
            format!("--entrypoint={}", json_string_array(e)),
            "Entrypoint",
        );
    }
    push(def.image.clone(), "Image");
    for a in def.cmd.iter().flatten() {
        push(a.clone(), "Cmd");
    }
    words.insert(
        2,
        ArgvWord {
            text: cidfile_arg(id),
            specifiers: true,
            field: "",
        },
    );
    words
}

/// `--network` and `--network-alias` (validated: aliases only on a named
/// network). No `Network` renders nothing, so podman's default applies.
///
/// A named network needs nothing at boot: podman keeps networks across
/// reboots (netavark's `/etc/containers/networks`, CNI's
/// `/etc/cni/net.d`) and sets the container's side up when it starts; the
/// generator, which has no side effects, does not create it (`berth
/// install` does), and a network removed by hand fails the start with
/// podman's "network not found" in the unit's journal.
fn network_args(def: &Definition) -> Vec<(String, &'static str)> {
    let mut v = Vec::new();
    if let Some(n) = def.network_mode().as_podman() {
        v.push((format!("--network={n}"), "Network"));
    }
    for a in &def.network_aliases {
        v.push((format!("--network-alias={a}"), "NetworkAliases"));
    }
    v
}

/// `--publish` per port: `EXT:INT[/udp]` without socket activation,
/// `127.0.0.1:BACKEND:INT` for berth-proxy (TCP only, validated), nothing
/// in direct mode (the container gets systemd's sockets) nor with
/// `Network: host` (podman ignores --publish there; the container's
/// ports are the host's, and External equals Internal).
fn publish_args(def: &Definition, mode: SocketMode) -> Vec<String> {
    if matches!(def.network_mode(), NetworkMode::Host | NetworkMode::None) {
        return Vec::new();
    }
    let mut v = Vec::new();
    for p in &def.ports {
        let proto = p.protocol().port_suffix();
        match (mode, p.backend) {
            (SocketMode::None, _) => {
                v.push(format!("--publish={}:{}{proto}", p.external, p.internal))
            }
            (SocketMode::Proxied, Some(b)) => {
                v.push(format!("--publish=127.0.0.1:{b}:{}", p.internal))
            }
            _ => {}
        }
    }
    v
}

/// The socket unit's line for a port: `ListenStream=` (TCP) or
/// `ListenDatagram=` (UDP, direct mode only), in `Ports` order, which is
/// the order of the file descriptors the service receives.
fn listen_line(p: &PortPair) -> String {
    match p.protocol() {
        Protocol::Tcp => format!("ListenStream={}", p.external),
        Protocol::Udp => format!("ListenDatagram={}", p.external),
    }
}

/// podman's run options of the definition, in a fixed order (maps in key
/// order): `--hostname`, `--cpus`, `--pids-limit` (`0` is no limit,
/// podman's `-1`), `--shm-size`, `--label`, `--device`, `--tmpfs`,
/// `--sysctl`. Values are validated, and escaped with every other word.
fn run_option_args(def: &Definition) -> Vec<(String, &'static str)> {
    let mut v = Vec::new();
    if let Some(ref h) = def.hostname {
        v.push((format!("--hostname={h}"), "Hostname"));
    }
    if let Some(c) = def.cpu_limit {
        v.push((format!("--cpus={c}"), "CpuLimit"));
    }
    if let Some(p) = def.pids_limit {
        let p = if p == 0 {
            "-1".to_owned()
        } else {
            p.to_string()
        };
        v.push((format!("--pids-limit={p}"), "PidsLimit"));
    }
    if let Some(s) = def.shm_size {
        v.push((format!("--shm-size={s}"), "ShmSize"));
    }
    for (k, val) in &def.labels {
        v.push((format!("--label={k}={val}"), "Labels"));
    }
    for d in &def.devices {
        v.push((format!("--device={d}"), "Devices"));
    }
    for t in &def.tmpfs {
        v.push((format!("--tmpfs={t}"), "Tmpfs"));
    }
    for (k, val) in &def.sysctl {
        v.push((format!("--sysctl={k}={val}"), "Sysctl"));
    }
    v
}

/// The escaped `ExecStart=` value for `podman run`.
fn podman_run(id: &str, def: &Definition, paths: &InstallPaths) -> Result<String, RenderError> {
    let mut line = String::with_capacity(512);
    for (i, w) in podman_run_argv(id, def, paths).iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        if w.specifiers {
            line.push_str(&w.text);
        } else {
            line.push_str(&exec_word(&w.text).map_err(at(w.field))?);
        }
    }
    Ok(line)
}

/// `--cidfile=%t/berth-<id>.cid`: `%t` is the runtime directory (`/run`).
fn cidfile_arg(id: &str) -> String {
    format!("--cidfile=%t/{}.cid", container_name(id))
}

fn cap_name(c: &str) -> String {
    if c == "ALL" || c.starts_with("CAP_") {
        c.to_owned()
    } else {
        format!("CAP_{c}")
    }
}

/// A JSON array of strings (RFC 8259 escaping), written here so the
/// generator needs no serializer beyond the definition's.
fn json_string_array(items: &[String]) -> String {
    let mut s = String::from("[");
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        for c in it.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(s, "\\u{:04x}", c as u32);
                }
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push(']');
    s
}

fn render_service(
    id: &str,
    source: &Source,
    def: &Definition,
    mode: SocketMode,
    paths: &InstallPaths,
    peers: &Peers,
) -> Result<String, RenderError> {
    let mut u = String::with_capacity(2048);
    header(&mut u, "container", id, source);
    u.push_str("Documentation=man:berth.json(5)\n");
    u.push_str("Wants=network-online.target\nAfter=network-online.target\n");
    // podman's runtime state lives below %t/containers (as Quadlet requires).
    u.push_str("RequiresMountsFor=%t/containers\n");
    let mounts: Vec<&str> = def.volumes().iter().map(|v| v.host_path.as_str()).collect();
    if !mounts.is_empty() {
        let mut words = Vec::with_capacity(mounts.len());
        for m in mounts {
            words.push(list_word(m).map_err(at("VolumeConfig.Volumes"))?);
        }
        let _ = writeln!(u, "RequiresMountsFor={}", words.join(" "));
    }
    dependency_lines(&mut u, def, peers);
    match mode {
        SocketMode::None => {}
        SocketMode::Direct => {
            let _ = writeln!(u, "Requires={0}\nAfter={0}", socket_name(id));
        }
        SocketMode::Proxied => {
            // Runs only while its proxy needs it: scale to zero.
            u.push_str("StopWhenUnneeded=yes\n");
        }
    }
    u.push_str("\n[Service]\n");
    u.push_str("Type=notify\nNotifyAccess=all\n");
    u.push_str("Environment=PODMAN_SYSTEMD_UNIT=%n\n");
    let _ = writeln!(u, "SyslogIdentifier={}", container_name(id));
    u.push_str("Delegate=yes\nKillMode=mixed\n");
    if let Some(slice) = def.slice_unit() {
        let _ = writeln!(
            u,
            "Slice={}",
            specifier_value(&slice).map_err(at("SystemdSlice"))?
        );
    }
    let _ = writeln!(u, "Restart={}", def.restart_policy().as_systemd());
    // podman waits StopTimeout before SIGKILL; systemd must wait longer.
    let _ = writeln!(u, "TimeoutStopSec={}", def.stop_timeout_secs() + 30);
    start_timeout_line(&mut u, def);
    // podman refuses to start when the cidfile exists, and a container
    // removed outside the unit leaves its cidfile behind (`podman rm
    // --ignore` in ExecStopPost finds no container to remove it with); so
    // clear it first, as `podman generate systemd --new` does.
    let _ = writeln!(
        u,
        "ExecStartPre=-/usr/bin/rm -f %t/{}.cid",
        container_name(id)
    );
    let _ = writeln!(u, "ExecStart={}", podman_run(id, def, paths)?);
    if !def.network_links.is_empty() {
        let _ = writeln!(
            u,
            "ExecStartPost={}",
            exec_line(&[paths.berth.as_str(), "internal", "apply-links", id])
                .map_err(at("NetworkLinks"))?
        );
    }
    let cid = cidfile_arg(id);
    let podman = exec_word(&paths.podman).map_err(at("(podman path)"))?;
    let _ = writeln!(
        u,
        "ExecStop={podman} stop --ignore --time={} {cid}",
        def.stop_timeout_secs()
    );
    // Without --volumes: that would delete the anonymous volumes, the
    // data of an image's VOLUME paths (see the module comment).
    let _ = writeln!(u, "ExecStopPost=-{podman} rm --force --ignore {cid}");
    Ok(u)
}

/// `Requires=`, `Wants=`, `After=` on the units of the containers the
/// definition names, and `PartOf=` its group's target. A dependency on a
/// socket-activated container (by `peers`) is on its socket: the dependent
/// starts once systemd listens for it, and a proxied one keeps scaling to
/// zero (a `Requires=` on its service would stop the dependent whenever it
/// idles out); `After=` names its service too, so a start of both in one
/// transaction still waits for it to be ready. An id without a definition
/// in force is rendered on its service (the generator warns): systemd
/// ignores `Wants=`/`After=` on a missing unit and fails the start for
/// `Requires=`, which is what requiring means.
fn dependency_lines(u: &mut String, def: &Definition, peers: &Peers) {
    let socketed = |id: &str| {
        matches!(
            peers.get(id),
            Some(SocketMode::Proxied | SocketMode::Direct)
        )
    };
    let pulled = |id: &str| {
        if socketed(id) {
            socket_name(id)
        } else {
            service_name(id)
        }
    };
    let mut after: Vec<String> = Vec::new();
    for id in def.requires.iter().chain(&def.after) {
        let units = if socketed(id) {
            vec![socket_name(id), service_name(id)]
        } else {
            vec![service_name(id)]
        };
        for unit in units {
            if !after.contains(&unit) {
                after.push(unit);
            }
        }
    }
    let mut line = |key: &str, units: Vec<String>| {
        if !units.is_empty() {
            let _ = writeln!(u, "{key}={}", units.join(" "));
        }
    };
    line("Requires", def.requires.iter().map(|d| pulled(d)).collect());
    line("Wants", def.wants.iter().map(|d| pulled(d)).collect());
    line("After", after);
    group_line(u, def);
}

/// `PartOf=berth-<Group>.target`: stopping or restarting the group's
/// target stops or restarts the member (only a running one is restarted).
fn group_line(u: &mut String, def: &Definition) {
    if let Some(ref g) = def.group {
        let _ = writeln!(u, "PartOf={}", group_target(g));
    }
}

/// `TimeoutStartSec=` for `Notify: "healthy"`: the unit is active only once
/// the check passed, which may take longer than systemd's default 90 s
/// ([`Definition::healthy_start_timeout`] has the rule).
fn start_timeout_line(u: &mut String, def: &Definition) {
    if let Some(t) = def.healthy_start_timeout() {
        let _ = writeln!(u, "TimeoutStartSec={t}");
    }
}

/// The health check's command as podman's `--health-cmd` reads it back
/// as exactly `Cmd` in exec form (podman's `MakeHealthCheckFromCli`): a
/// JSON array (written by serde_json) for two or more arguments, which
/// podman stores as `["CMD", …]`; for one argument `CMD <program>`, since
/// podman would run a one-element array through `/bin/sh -c`, and splits
/// this form at whitespace, which the definition's rule keeps out of a
/// lone program.
pub fn health_cmd_value(cmd: &[String]) -> String {
    match cmd {
        [program] => format!("CMD {program}"),
        _ => serde_json::to_string(cmd).expect("a list of strings serializes"),
    }
}

/// podman's `--health-*` options and the auto-update label, in argv order.
fn health_and_update_words(def: &Definition) -> Vec<(String, &'static str)> {
    let mut w = Vec::new();
    if let Some(ref h) = def.health {
        w.push((
            format!("--health-cmd={}", health_cmd_value(&h.cmd)),
            "Health.Cmd",
        ));
        if let Some(i) = h.interval {
            w.push((format!("--health-interval={i}s"), ""));
        }
        if let Some(t) = h.timeout {
            w.push((format!("--health-timeout={t}s"), ""));
        }
        if let Some(r) = h.retries {
            w.push((format!("--health-retries={r}"), ""));
        }
        if let Some(p) = h.start_period {
            w.push((format!("--health-start-period={p}s"), ""));
        }
        if let Some(a) = h.on_failure {
            w.push((format!("--health-on-failure={}", a.as_str()), ""));
        }
    }
    // podman auto-update restarts the unit named by the container's
    // PODMAN_SYSTEMD_UNIT label, which podman sets from the service's
    // `Environment=PODMAN_SYSTEMD_UNIT=%n`.
    if let Some(p) = def.auto_update {
        w.push((
            format!("--label=io.containers.autoupdate={}", p.as_str()),
            "",
        ));
    }
    w
}

/// The target of group `group`, pulling in every member (`members`: id
/// and socket mode, sorted by id): its socket for a socket-activated
/// member, else its service, so `systemctl start berth-<group>.target`
/// starts the group as `Started` would start each member. A target orders
/// itself after what it wants (systemd.target(5)), so the start waits for
/// every member. Nothing links the target at boot: its `Wants=` would
/// start the members that are not `Started` too.
pub fn render_group_target(group: &str, members: &[(String, SocketMode)]) -> UnitFile {
    let mut u = String::with_capacity(256);
    u.push_str("# Automatically generated by berth-generator for the containers whose\n");
    let _ = writeln!(
        u,
        "# definitions say \"Group\": \"{group}\". Edit those, not this file.\n"
    );
    u.push_str("[Unit]\n");
    let _ = writeln!(u, "Description=berth group {group}");
    u.push_str("Documentation=man:berth.json(5)\n");
    let wanted: Vec<String> = members
        .iter()
        .map(|(id, mode)| match mode {
            SocketMode::None => service_name(id),
            _ => socket_name(id),
        })
        .collect();
    let _ = writeln!(u, "Wants={}", wanted.join(" "));
    UnitFile {
        name: group_target(group),
        content: u,
    }
}

fn render_socket(id: &str, source: &Source, def: &Definition, mode: SocketMode) -> String {
    let mut u = String::with_capacity(512);
    header(&mut u, "socket for container", id, source);
    u.push_str("Documentation=man:berth.json(5)\n");
    group_line(&mut u, def);
    u.push_str("\n[Socket]\n");
    // Ports are validated 1-65535 and unique; order here is the fd order
    // the proxy (or the container) receives.
    for p in &def.ports {
        let _ = writeln!(u, "{}", listen_line(p));
    }
    let service = match mode {
        SocketMode::Proxied => proxy_name(id),
        _ => service_name(id),
    };
    let _ = writeln!(u, "Service={service}");
    u
}

fn render_proxy(id: &str, source: &Source, def: &Definition, paths: &InstallPaths) -> String {
    let mut u = String::with_capacity(1024);
    header(&mut u, "socket proxy for container", id, source);
    u.push_str("Documentation=man:berth-proxy(8)\n");
    let _ = writeln!(
        u,
        "Requires={0} {1}\nAfter={0} {1}",
        service_name(id),
        socket_name(id)
    );
    u.push_str("\n[Service]\n");
    u.push_str("Type=notify\n");
    let mut argv = vec![paths.proxy.clone()];
    if let Some(t) = def.exit_idle_time.filter(|t| *t > 0) {
        argv.push(format!("--exit-idle-time={t}"));
    }
    // One entry per port, in the socket's ListenStream= order (the order
    // systemd passes the sockets in), only when any port asks for it.
    if def.ports.iter().any(|p| p.proxy_protocol.is_some()) {
        let list: Vec<&str> = def
            .ports
            .iter()
            .map(|p| p.proxy_protocol.map_or("none", |v| v.as_str()))
            .collect();
        argv.push(format!("--proxy-protocol={}", list.join(",")));
    }
    for p in &def.ports {
        // Validated: every port of a proxied container has a Backend.
        if let Some(b) = p.backend {
            argv.push(format!("127.0.0.1:{b}"));
        }
    }
    let _ = writeln!(
        u,
        "ExecStart={}",
        exec_line(&argv).expect("proxy argv holds no NUL")
    );
    // The proxy only accepts on inherited sockets and connects to loopback.
    u.push_str(
        "DynamicUser=yes\nNoNewPrivileges=yes\nPrivateTmp=yes\nPrivateDevices=yes\n\
ProtectSystem=strict\nProtectHome=yes\nRestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n",
    );
    u
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_definition::{EnvVar, Environment, NamedVolume, SecretRef};

    fn paths() -> InstallPaths {
        InstallPaths::built_in()
    }

    fn with_env(values: &[&str]) -> Definition {
        Definition {
            image: "localhost/busybox".into(),
            socket_activation: true,
            ports: vec![berth_definition::PortPair {
                internal: 80,
                external: 8080,
                backend: Some(40000),
                proxy_protocol: None,
                protocol: None,
            }],
            environment: Some(Environment {
                variables: values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| EnvVar {
                        name: format!("V{i}"),
                        value: v.to_string(),
                    })
                    .collect(),
            }),
            ..Definition::default()
        }
    }

    /// Values are root-only: no unit text holds `--env=` or any value; the
    /// values are in the env file, one line each, and the service names it.
    #[test]
    fn env_values_are_in_the_env_file_only() {
        let values = ["s3cr3t-one", "two words", "a=b", " #lead", "%n$HOME"];
        let d = with_env(&values);
        let r = render("web", "/etc/berth/containers/web.json", &d, &paths()).unwrap();
        assert_eq!(r.units.len(), 3);
        for u in &r.units {
            assert!(!u.content.contains("--env="), "{}", u.content);
            for v in &values {
                assert!(!u.content.contains(v), "{} holds {v:?}", u.name);
            }
        }
        assert!(r.units[0]
            .content
            .contains(" --env-file=/run/systemd/generator/berth-web.env "));
        assert_eq!(
            r.private,
            vec![PrivateFile {
                name: "berth-web.env".into(),
                content: "V0=s3cr3t-one\nV1=two words\nV2=a=b\nV3= #lead\nV4=%n$HOME\n".into(),
            }]
        );
        // No environment, no file and no --env-file.
        let r = render("web", "/x.json", &with_env(&[]), &paths()).unwrap();
        assert!(r.private.is_empty());
        assert!(!r.units[0].content.contains("--env-file"));
    }

    /// Data survives stop: nothing in the service deletes volumes.
    #[test]
    fn no_unit_removes_volumes() {
        let r = render("web", "/x.json", &with_env(&["x"]), &paths()).unwrap();
        let svc = &r.units[0].content;
        assert!(!svc.contains("--rm "), "{svc}");
        assert!(!svc.contains("--volumes"), "{svc}");
        assert!(svc.contains("ExecStopPost=-/usr/bin/podman rm --force --ignore --cidfile="));
    }

    #[test]
    fn named_volumes_and_secrets_become_podman_words() {
        let mut d = with_env(&[]);
        d.isolate = true;
        d.mcs_level = Some("s0:c1,c2".into());
        d.volumes = vec![
            NamedVolume {
                name: "data".into(),
                container_path: "/var/lib/db".into(),
                read_only: false,
                relabel: None,
            },
            NamedVolume {
                name: "1".into(),
                container_path: "/conf".into(),
                read_only: true,
                relabel: Some(Relabel::None),
            },
        ];
        d.secrets = vec![
            SecretRef {
                name: "db-pass".into(),
                kind: Some(SecretType::Env),
                target: Some("PGPASSWORD".into()),
            },
            SecretRef {
                name: "tls".into(),
                kind: None,
                target: None,
            },
        ];
        let words: Vec<String> = podman_run_argv("db", &d, &paths())
            .into_iter()
            .map(|w| w.text)
            .collect();
        for w in [
            "--volume=berth-db-data:/var/lib/db:U,Z",
            "--volume=berth-db-1:/conf:ro,U",
            "--secret=db-pass,type=env,target=PGPASSWORD",
            "--secret=tls,type=mount,target=tls",
        ] {
            assert!(words.iter().any(|x| x == w), "{w} not in {words:?}");
        }
        d.isolate = false;
        d.mcs_level = None;
        let words: Vec<String> = podman_run_argv("db", &d, &paths())
            .into_iter()
            .map(|w| w.text)
            .collect();
        assert!(words
            .iter()
            .any(|x| x == "--volume=berth-db-data:/var/lib/db"));
    }
}
