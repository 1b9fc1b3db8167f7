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
use berth_definition::names::{env_file, user_name, volume_name};
use berth_definition::{Definition, FieldError, Relabel, SecretType, SocketMode};
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
    render_with_drop_ins(id, source, &[], def, paths)
}

/// [`render`] for a definition merged from `source` and its `drop_ins`
/// (host paths, in the order applied): `SourcePath=` names the base file,
/// as systemd's own `SourcePath=` names one file, and each drop-in gets a
/// `# DropIn: <path>` line in the header, so `systemctl cat` shows every
/// file the unit came from (systemd's `DropInPaths` is for the unit's own
/// `.d/*.conf` and stays theirs).
pub fn render_with_drop_ins(
    id: &str,
    source: &str,
    drop_ins: &[String],
    def: &Definition,
    paths: &InstallPaths,
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
