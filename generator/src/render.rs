//! Definition → unit files. Pure: no I/O, same input → same bytes.
//!
//! The service follows what podman's own generator (Quadlet) settled on for
//! running a container under systemd: `Type=notify` with
//! `--sdnotify=conmon`, `--cgroups=split` with `Delegate=yes`, `--replace`
//! and `--rm` with a cidfile under `%t`, `KillMode=mixed`, and removal of
//! the container on stop.
//!
//! Proxied socket activation: the container publishes each port on
//! `127.0.0.1:<Backend>` and `berth-proxy@<id>.service` forwards systemd's
//! listening sockets there. berth uses a reserved loopback port rather than
//! sharing the container's network namespace (`JoinsNamespaceOf=`) because
//! podman creates that namespace only when the container starts, after the
//! proxy unit would have to join it, and because a loopback port keeps the
//! proxy a plain host process that needs no privileges.

use crate::escape::{exec_line, exec_word, list_word, specifier_value, EscapeError};
use berth_definition::names::user_name;
use berth_definition::{Definition, SocketMode};
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

/// Everything one definition produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Unit files, service first.
    pub units: Vec<UnitFile>,
    /// Symlinks that start units at boot.
    pub links: Vec<WantsLink>,
}

/// A value of the definition that cannot be written into a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    /// The field (JSON path) the value came from.
    pub field: String,
    /// The rule it broke.
    pub rule: String,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field {}: {}", self.field, self.rule)
    }
}

fn at(field: &str) -> impl Fn(EscapeError) -> RenderError + '_ {
    move |e| RenderError {
        field: field.to_owned(),
        rule: e.rule.to_owned(),
    }
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
    let src = Source {
        escaped: specifier_value(source).map_err(at("(definition path)"))?,
        raw: source,
    };
    let mode = def.socket_mode();
    let mut out = Rendered::default();
    out.units.push(UnitFile {
        name: service_name(id),
        content: render_service(id, &src, def, mode, paths)?,
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
}

fn header(out: &mut String, kind: &str, id: &str, source: &Source) {
    let _ = writeln!(
        out,
        "# Automatically generated by berth-generator from {}",
        source.raw
    );
    out.push_str("# Edit the definition (or add a drop-in), not this file.\n");
    out.push_str("\n[Unit]\n");
    let _ = writeln!(out, "Description=berth {kind} {id}");
    let _ = writeln!(out, "SourcePath={}", source.escaped);
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
    push("--rm".into(), "");
    push("--cgroups=split".into(), "");
    let notify = if def.notify { "container" } else { "conmon" };
    push(format!("--sdnotify={notify}"), "");
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
    for p in &def.ports {
        match (mode, p.backend) {
            (SocketMode::None, _) => {
                push(format!("--publish={}:{}", p.external, p.internal), "Ports")
            }
            (SocketMode::Proxied, Some(b)) => {
                push(format!("--publish=127.0.0.1:{b}:{}", p.internal), "Ports")
            }
            // Direct: the container gets systemd's sockets, nothing to publish.
            _ => {}
        }
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
    for v in def.env_vars() {
        push(
            format!("--env={}={}", v.name, v.value),
            "Environment.Variables",
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
    // podman refuses to start when the cidfile exists, and a container that
    // `--rm` already removed leaves its cidfile behind (`podman rm --ignore`
    // in ExecStopPost finds no container to remove it with); so clear it
    // first, as `podman generate systemd --new` does.
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
    let _ = writeln!(
        u,
        "ExecStopPost=-{podman} rm --volumes --force --ignore {cid}"
    );
    Ok(u)
}

fn render_socket(id: &str, source: &Source, def: &Definition, mode: SocketMode) -> String {
    let mut u = String::with_capacity(512);
    header(&mut u, "socket for container", id, source);
    u.push_str("Documentation=man:berth.json(5)\n");
    u.push_str("\n[Socket]\n");
    // Ports are validated 1-65535 and unique; order here is the fd order
    // the proxy (or the container) receives.
    for p in &def.ports {
        let _ = writeln!(u, "ListenStream={}", p.external);
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
