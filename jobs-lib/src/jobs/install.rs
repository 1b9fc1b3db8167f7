//! Install (geard's `InstallContainerRequest`, `PUT /container/<id>`):
//! check → store lock → reserve ports → allocate MCS level → create user →
//! write the definition atomically → daemon-reload → start if `Started`.
//! Any failure rolls back: the old definition comes back (or none), and
//! [`crate::store::Store::settle`] releases what the job reserved. Installing
//! an id that exists updates it and keeps its ports (matched by `Internal`,
//! as geard did, and protocol), MCS level and user.
//!
//! Dependencies (`Requires`, `Wants`, `After`) are checked first against
//! the definitions in force ([`crate::deps`]); a named `Network` is
//! created when missing, after the user and before the definition, and
//! removed again by a rollback ([`crate::networks`]).
//!
//! Crash points (`BERTH_CRASH_AT`): `locked`, `ports`, `mcs`, `user`,
//! `network`, `definition-temp`, `definition`, `reload`, `started`.

use super::{begin_mutation, check_id, ports_json, start_units, Job};
use crate::context::Context;
use crate::definition::{Definition, LoadedDefinition, Protocol, SocketMode};
use crate::error::{
    FailureKind, JobError, ERR_CONTAINER_CREATE_FAILED, ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED,
    ERR_CONTAINER_START_FAILED,
};
use crate::mcs::McsCategories;
use crate::ports::{host_ports, HostPort, PortError};
use crate::response::{JobResponse, Success};
use crate::store::{io_error, masked_error, PendingKind};
use serde_json::json;

/// Name of the pending success data holding the port mapping (geard's
/// `PendingPortMappingName`).
pub const PENDING_PORT_MAPPING: &str = "PortMapping";

/// Install or update container `id` from `definition` (request form:
/// `External: 0` and a missing `Backend` mean "allocate").
#[derive(Debug, Clone)]
pub struct InstallContainerRequest {
    /// The container id.
    pub id: String,
    /// The requested definition.
    pub definition: Definition,
    /// Replace a mask on purpose (`berth install --unmask`); without it a
    /// masked id is refused and the mask stays.
    pub unmask: bool,
    /// With `Started`: wait for the start job and report its result (see
    /// [`super::StartedContainerStateRequest::wait`]).
    pub wait: bool,
    /// Only say what would change (`berth install --dry-run`): the
    /// definition in force beside the requested one as the install would
    /// store it, and the units that would change; nothing is written or
    /// reserved, and the job does not mutate (no lock, no journal).
    pub dry_run: bool,
    /// Leave a running container on its old units (`--no-restart`): the
    /// reply says `RestartNeeded`. Refused when the ports change, which the
    /// old container holds until it stops.
    pub no_restart: bool,
}

#[derive(Default)]
struct Progress {
    written: bool,
    reloaded: bool,
    /// A running container was restarted onto changed units.
    restarted: bool,
    /// A running container was left on its old units (`no_restart`).
    stale: bool,
    /// The podman network this install created (removed on rollback).
    network: Option<String>,
}

impl Job for InstallContainerRequest {
    fn name(&self) -> &'static str {
        "install"
    }

    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }

    fn mutates(&self) -> bool {
        !self.dry_run
    }

    fn canonical_request(&self) -> serde_json::Value {
        let mut r = json!({"Job": "install", "Container": self.id, "Definition": self.definition});
        // Only when set, so the digests of requests journaled before the
        // flag existed stay the same.
        if self.no_restart {
            r["NoRestart"] = json!(true);
        }
        r
    }

    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)?;
        self.definition
            .validate_request()
            .map_err(|e| JobError::invalid("The definition is not valid.").detail(e))
    }

    fn execute(&self, ctx: &Context, resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        if self.dry_run {
            return self.plan(ctx);
        }
        let _lock = begin_mutation(ctx)?;
        ctx.crash_point("locked");
        let store = ctx.store();
        if let Some(mask) = store.find(&self.id).filter(|c| c.masked) {
            if !self.unmask {
                return Err(masked_error(&self.id, &mask.path, true));
            }
            ctx.info(&format!(
                "replacing the mask {} of {} (--unmask)",
                mask.path.display(),
                self.id
            ));
        }
        // A definition in force that cannot be read (or a mask, with
        // --unmask) is replaced; its reservations stay claimed until the
        // new one is settled.
        let old = store.load(&self.id).ok().flatten();
        // Exactly what the file was (regular, symlink or nothing) for
        // the rollback; never read through a link.
        let was = store.snapshot(&self.id)?;
        store.mark_pending(&self.id)?;
        let mut progress = Progress::default();
        match self.install(ctx, old.as_ref(), resp, &mut progress) {
            Ok(mut s) => {
                // Moved off a network berth created: it goes once nothing
                // uses it (now, or at a later job while the old container
                // still runs on it).
                let old_net = old
                    .as_ref()
                    .and_then(|o| crate::networks::named(&o.definition));
                if old_net.is_some() && old_net != crate::networks::named(&self.definition) {
                    for n in crate::networks::release_unused(ctx) {
                        s.message = s.message.map(|m| format!("{m}; removed network {n}"));
                    }
                }
                // The new definition is in force: what fails from here on
                // is a warning, and the pending mark stays for the next
                // job to retry. A fresh install claimed exactly what it
                // references: only the mark to clear. An update releases
                // what the old definition had and the new lacks, but not
                // while the old container may still run (a restart was
                // queued): then the mark says so and the next job settles
                // once the units stop changing state.
                let settled = if progress.restarted || progress.stale {
                    store.mark_pending_as(&self.id, PendingKind::Retire)
                } else if old.is_some() || !was.is_absent() {
                    store.settle(&self.id)
                } else {
                    store.clear_pending(&self.id)
                };
                if let Err(e) = settled {
                    s = s.warn(format!("{e} (the next job on any container retries)"));
                }
                Ok(s)
            }
            Err(e) => {
                if let Err(r) = self.rollback(ctx, &was, &progress) {
                    ctx.info(&format!(
                        "error: rolling back the install of {}: {r}",
                        self.id
                    ));
                }
                Err(e)
            }
        }
    }
}

/// The file in force of `owner`, the holder of a reservation, for the
/// message that refuses it.
fn holder_file(ctx: &Context, owner: &str) -> Option<std::path::PathBuf> {
    ctx.store().find(owner).map(|c| c.path)
}

impl InstallContainerRequest {
    fn install(
        &self,
        ctx: &Context,
        old: Option<&LoadedDefinition>,
        resp: &mut dyn JobResponse,
        progress: &mut Progress,
    ) -> Result<Success, JobError> {
        let id = self.id.as_str();
        let mut def = self.definition.clone();
        // Dependencies name containers in force and form no cycle: checked
        // first, as the request's own validity.
        let dependency_warnings = crate::deps::check_install(ctx, id, &def)?;
        // Pulled before anything is reserved or written, so a bad image
        // reference fails here, in one line, and the first client of a
        // socket-activated container does not wait for a pull.
        if ctx.pull {
            use std::io::IsTerminal;
            let progress = std::io::stderr().is_terminal();
            crate::podman::ensure_image(ctx, &def.image, def.pull_policy(), progress).map_err(
                |e| {
                    ERR_CONTAINER_CREATE_FAILED.detail(format!(
                        "pulling {} (Pull {}): {e}",
                        def.image,
                        def.pull_policy().as_str()
                    ))
                },
            )?;
            ctx.crash_point("pulled");
        }
        // Data survives stop: the image's VOLUMEs become named volumes.
        crate::volumes::on_install(ctx, old.map(|l| &l.definition), &mut def);
        self.reserve_ports(ctx, old.map(|l| &l.definition), &mut def)?;
        resp.write_pending_success(PENDING_PORT_MAPPING, ports_json(&def));
        ctx.crash_point("ports");

        self.allocate_mcs(ctx, old.map(|l| &l.definition), &mut def)?;
        ctx.crash_point("mcs");

        let user = if def.isolate {
            Some(self.ensure_user(ctx, &def)?)
        } else {
            None
        };
        ctx.crash_point("user");

        // The request is the new base file; the id's drop-ins (any
        // directory) still apply over it, so what is in force, compared
        // and started below, is their merge, checked before it is written.
        let (in_force, drop_ins) = ctx.store().in_force_with(id, &def)?;
        // A drop-in may add dependencies: what will be in force forms no
        // cycle either.
        if !drop_ins.is_empty() {
            crate::deps::check_install(ctx, id, &in_force)?;
        }
        // The network exists before any unit naming it does (the one in
        // force: a drop-in may name it).
        progress.network = crate::networks::on_install(ctx, id, &in_force)?;
        ctx.crash_point("network");

        let changed = old.is_none_or(|o| o.definition.to_json() != in_force.to_json())
            || progress.network.is_some();
        let restart = match old {
            Some(o) if changed => changed_units(id, &o.definition, &in_force),
            _ => Vec::new(),
        };
        // Running before the reload: the old container, which a restart
        // replaces and whose ports stay reserved until it is gone.
        let running = old.is_some_and(|o| {
            super::all_units(id, &o.definition).iter().any(|u| {
                ctx.systemd.unit_state(u).is_ok_and(|s| {
                    matches!(
                        s.active_state.as_str(),
                        "active" | "activating" | "reloading"
                    )
                })
            })
        });
        let unchanged_file = crate::fsutil::read_if_exists(&ctx.paths.definition_file(id))
            .ok()
            .flatten()
            .is_some_and(|b| b == def.to_json().as_bytes());
        if !unchanged_file {
            ctx.store().write_base(id, &def)?;
            progress.written = true;
            ctx.crash_point("definition");

            progress.reloaded = true;
            ctx.systemd
                .daemon_reload()
                .map_err(|e| ERR_CONTAINER_CREATE_FAILED.detail(e))?;
            ctx.crash_point("reload");
        }
        // From here on: what is in force.
        let def = in_force;

        if running && self.no_restart && !restart.is_empty() {
            let before = old.map(|o| ports_json(&o.definition));
            if before.is_some_and(|b| b != ports_json(&def)) {
                return Err(JobError::invalid(format!(
                    "{id} runs with other ports; an update that changes them restarts it (drop --no-restart)"
                )));
            }
        }
        let mut warnings = Vec::new();
        let mut restarted = Vec::new();
        if running && !self.no_restart {
            for u in &restart {
                match ctx.systemd.try_restart_unit(u) {
                    Ok(()) => restarted.push(u.clone()),
                    Err(e) => warnings.push(format!(
                        "{u} runs the old definition and could not be restarted: {e}"
                    )),
                }
            }
        }
        progress.restarted = !restarted.is_empty();
        let restart_needed = running && self.no_restart && !restart.is_empty();
        progress.stale = restart_needed;

        let mut kind = Success::ok();
        if def.started {
            for unit in start_units(id, &def) {
                if self.wait {
                    let result = ctx
                        .systemd
                        .run_unit_job(crate::systemd::UnitOp::Start, &unit)
                        .map_err(|e| ERR_CONTAINER_START_FAILED.detail(e))?;
                    if result != "done" {
                        return Err(super::control::job_failed(
                            ctx,
                            ERR_CONTAINER_START_FAILED,
                            &unit,
                            &result,
                            &super::all_units(id, &def),
                        ));
                    }
                } else {
                    ctx.systemd
                        .start_unit(&unit)
                        .map_err(|e| ERR_CONTAINER_START_FAILED.detail(e))?;
                }
            }
            if !self.wait {
                kind = Success::accepted();
            }
        }
        ctx.crash_point("started");

        let mapping: Vec<String> = def
            .ports
            .iter()
            // host->container, as podman and `berth list` print them.
            .map(|p| match p.backend {
                Some(b) => format!("{}->{} (backend {b})", p.external, p.internal),
                None => format!(
                    "{}->{}{}",
                    p.external,
                    p.internal,
                    p.protocol().port_suffix()
                ),
            })
            .collect();
        let mut message = if changed {
            format!("installed {id}")
        } else {
            format!("{id} is up to date (nothing changed)")
        };
        if !mapping.is_empty() {
            message.push_str(&format!("; ports {}", mapping.join(", ")));
        }
        if let Some(l) = &def.mcs_level {
            message.push_str(&format!("; MCS level {l}"));
        }
        if let Some(u) = &user {
            message.push_str(&format!("; user {}", u.name));
        }
        if !drop_ins.is_empty() {
            let d: Vec<String> = drop_ins.iter().map(|p| p.display().to_string()).collect();
            message.push_str(&format!("; with drop-ins {}", d.join(", ")));
        }
        if let Some(n) = &progress.network {
            message.push_str(&format!("; created network {n}"));
        }
        if !restarted.is_empty() {
            message.push_str(&format!("; restarted {}", restarted.join(", ")));
        }
        if restart_needed {
            message.push_str(&format!(
                "; {id} runs the old definition until restarted (berth restart {id})"
            ));
        }
        warnings.extend(dependency_warnings);
        kind.warnings = warnings;
        // What the definition asks for and berth ignores (`Simple`) is said
        // in the reply's warnings, as the generator logs it at boot.
        kind.warnings
            .extend(def.warnings().iter().map(|w| w.to_string()));
        Ok(kind
            .data(json!({
                "Id": id,
                "Path": ctx.paths.definition_file(id),
                "DropInPaths": drop_ins,
                "Ports": ports_json(&def),
                "McsLevel": def.mcs_level,
                "User": user,
                "Started": def.started,
                "Changed": changed,
                "Restarted": restarted,
                "RestartNeeded": restart_needed,
                "CreatedNetwork": progress.network,
            }))
            .message(message))
    }

    /// The dry run: the requested definition resolved as the install would
    /// store it (image volumes mapped, kept ports and MCS level filled in;
    /// a port still `0` would be allocated), compared with the one in
    /// force. Reads only.
    fn plan(&self, ctx: &Context) -> Result<Success, JobError> {
        let id = self.id.as_str();
        let store = ctx.store();
        if let Some(mask) = store.find(id).filter(|c| c.masked && !self.unmask) {
            return Err(masked_error(id, &mask.path, true));
        }
        let old = store.load(id).ok().flatten().map(|l| l.definition);
        let mut def = self.definition.clone();
        crate::deps::check_install(ctx, id, &def)?;
        crate::volumes::on_install(ctx, old.as_ref(), &mut def);
        if let Some(o) = &old {
            let table = ctx.ports();
            let named = explicit_ports(&def);
            keep_previous_ports(o, &mut def, &named, |p| {
                table.owner(p).ok().flatten().as_deref() == Some(id)
            });
            if def.isolate && def.mcs_level.is_none() {
                def.mcs_level.clone_from(&o.mcs_level);
            }
        }
        // Compared as it would be in force: merged with the id's drop-ins
        // (a request still asking for allocation is checked by the install).
        let def = match store.in_force_with(id, &def) {
            Ok((d, drop_ins)) => {
                if !drop_ins.is_empty() {
                    crate::deps::check_install(ctx, id, &d)?;
                }
                d
            }
            Err(e) if def.validate().is_ok() => return Err(e),
            Err(_) => def,
        };
        let changed = old.as_ref().is_none_or(|o| o.to_json() != def.to_json());
        let units = match &old {
            Some(o) if changed => changed_units(id, o, &def),
            Some(_) => Vec::new(),
            None => super::all_units(id, &def),
        };
        let before = old.as_ref().map(|o| o.to_json()).unwrap_or_default();
        let after = def.to_json();
        let diff = similar::TextDiff::from_lines(&before, &after)
            .unified_diff()
            .header(&format!("{id} (in force)"), &format!("{id} (requested)"))
            .to_string();
        let message = if changed {
            let mut m = diff.trim_end().to_owned();
            if !units.is_empty() {
                m.push_str(&format!("\nunits that would change: {}", units.join(", ")));
            }
            m
        } else {
            format!("{id} is up to date (nothing would change)")
        };
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
        Ok(Success::ok()
            .data(json!({
                "Id": id,
                "DryRun": true,
                "Changed": changed,
                "Before": old.as_ref().and_then(|o| parse(&o.to_json())),
                "After": parse(&after),
                "Diff": diff,
                "Units": units,
            }))
            .message(message))
    }

    /// Explicit ports are all checked before anything is reserved, so a
    /// request that conflicts anywhere reserves nothing; then explicit and
    /// kept ports are reserved, then `0`s allocated.
    fn reserve_ports(
        &self,
        ctx: &Context,
        old: Option<&Definition>,
        def: &mut Definition,
    ) -> Result<(), JobError> {
        let id = self.id.as_str();
        let table = ctx.ports();
        let explicit_range = ctx.settings.explicit_port_range;
        // External in the port's protocol; Backend is the TCP port
        // berth-proxy connects to.
        let mut explicit: Vec<(String, HostPort)> = Vec::new();
        for (i, p) in def.ports.iter().enumerate() {
            if p.external != 0 {
                let hp = HostPort::new(p.protocol(), p.external);
                explicit.push((format!("Ports[{i}].External"), hp));
            }
            if let Some(b) = p.backend {
                explicit.push((format!("Ports[{i}].Backend"), HostPort::tcp(b)));
            }
        }
        let mut conflicts = Vec::new();
        let mut detail: Vec<String> = Vec::new();
        for (field, port) in &explicit {
            if !explicit_range.contains(port.port) {
                return Err(JobError::invalid("The definition is not valid.").detail(format!(
                    "field {field}: host port {port} is outside the ports definitions may ask for ({explicit_range}, ExplicitPortRange= in berth.conf)"
                )));
            }
            match table.owner(*port).map_err(|e| io_error("ports", e))? {
                Some(o) if o != id => {
                    let file = holder_file(ctx, &o);
                    let mut d = format!("host port {port} is reserved by container {o}");
                    if let Some(f) = &file {
                        d.push_str(&format!(" ({})", f.display()));
                    }
                    detail.push(d);
                    conflicts.push(json!({
                        "Field": field, "Port": port.port, "Protocol": port.protocol.as_str(),
                        "Owner": o, "Path": file,
                    }))
                }
                _ => {}
            }
        }
        if !conflicts.is_empty() {
            return Err(ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED
                .detail(detail.join("; "))
                .with_data(json!({ "Conflicts": conflicts })));
        }
        // Keep what the old definition had for the same (protocol, internal
        // port) (geard's `reuse`), unless this request names it elsewhere.
        let proxied = def.socket_mode() == SocketMode::Proxied;
        let named: Vec<HostPort> = explicit.iter().map(|(_, p)| *p).collect();
        if let Some(old) = old {
            keep_previous_ports(old, def, &named, |port| {
                table.owner(port).ok().flatten().as_deref() == Some(id)
            });
        }
        let port_error = |e: PortError| match e {
            PortError::Io(_) => ERR_CONTAINER_CREATE_FAILED.detail(e),
            PortError::Exhausted(_) => ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED.detail(e),
            PortError::Reserved { .. } | PortError::InUse { .. } => {
                ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED.detail(e)
            }
        };
        for port in def.ports.iter().flat_map(host_ports) {
            table.reserve(port, id).map_err(port_error)?;
        }
        for p in def.ports.iter_mut() {
            if p.external == 0 {
                p.external = table.allocate(p.protocol(), id).map_err(port_error)?;
            }
            if proxied && p.backend.is_none() {
                p.backend = Some(table.allocate(Protocol::Tcp, id).map_err(port_error)?);
            }
        }
        Ok(())
    }

    fn allocate_mcs(
        &self,
        ctx: &Context,
        old: Option<&Definition>,
        def: &mut Definition,
    ) -> Result<(), JobError> {
        let id = self.id.as_str();
        let table = ctx.mcs();
        let io = |e: std::io::Error| io_error("MCS levels", e);
        if let Some(level) = &def.mcs_level {
            let c = McsCategories::parse_level(level).expect("validated");
            if let Err(owner) = table.reserve(c, id).map_err(io)? {
                let file = holder_file(ctx, &owner)
                    .map(|p| format!(" ({})", p.display()))
                    .unwrap_or_default();
                return Err(JobError::new(
                    FailureKind::AlreadyExists,
                    "The requested MCS level is in use.",
                )
                .detail(format!("{level} belongs to container {owner}{file}")));
            }
            return Ok(());
        }
        if !def.isolate {
            return Ok(());
        }
        let previous = old
            .and_then(|o| o.mcs_level.as_deref())
            .and_then(McsCategories::parse_level)
            .filter(|c| table.owner(*c).ok().flatten().as_deref() == Some(id));
        let c = match previous {
            Some(c) => c,
            None => table.allocate(id).map_err(|e| mcs_error(id, e))?,
        };
        def.mcs_level = Some(c.level());
        Ok(())
    }

    fn ensure_user(
        &self,
        ctx: &Context,
        def: &Definition,
    ) -> Result<crate::users::ContainerUser, JobError> {
        let id = self.id.as_str();
        let users = ctx.users();
        let fail = |e: &dyn std::fmt::Display| {
            JobError::new(FailureKind::Error, "Unable to create the container user.").detail(e)
        };
        let owner_dir = ctx.paths.owners_root().join(id);
        let mark = owner_dir.join("user");
        let user = match users.existing(id).map_err(|e| fail(&e))? {
            Some(u) if mark.exists() => u,
            Some(u) => {
                return Err(fail(&format!(
                    "user {} exists already and was not created by berth",
                    u.name
                )))
            }
            None => {
                // The claim goes first, as for ports.
                std::fs::create_dir_all(&owner_dir)
                    .and_then(|_| std::fs::write(&mark, b""))
                    .map_err(|e| io_error(mark.display(), e))?;
                users.create(id).map_err(|e| fail(&e))?
            }
        };
        let home = ctx.paths.home_dir(id);
        if let Some(level) = &def.mcs_level {
            if ctx.selinux {
                crate::selinux::label(&home, level).map_err(|e| {
                    JobError::new(
                        FailureKind::Error,
                        "Unable to label the container's files with its MCS level.",
                    )
                    .detail(format!("{} ({level}): {e}", home.display()))
                })?;
            } else {
                ctx.note_no_selinux();
            }
        }
        Ok(user)
    }

    fn rollback(
        &self,
        ctx: &Context,
        was: &crate::fsutil::Entry,
        progress: &Progress,
    ) -> Result<(), JobError> {
        let store = ctx.store();
        if progress.written {
            store.restore(&self.id, was)?;
        }
        if progress.reloaded {
            if let Err(e) = ctx.systemd.daemon_reload() {
                ctx.info(&format!("error: daemon-reload after rollback: {e}"));
            }
        }
        if let Some(n) = &progress.network {
            crate::networks::roll_back(ctx, n);
        }
        store.settle(&self.id)
    }
}

/// The host ports `def` names itself (External and Backend not 0).
fn explicit_ports(def: &Definition) -> Vec<HostPort> {
    def.ports.iter().flat_map(host_ports).collect()
}

/// Fills in, for each port of `def` asking for allocation, what `old` had
/// for the same (protocol, internal port) (geard's `reuse`), when `owned`
/// says `id` (the container) still holds it and the request does not name
/// it elsewhere (`named`). The install and its dry run share it, so both
/// keep the same ports.
fn keep_previous_ports(
    old: &Definition,
    def: &mut Definition,
    named: &[HostPort],
    owned: impl Fn(HostPort) -> bool,
) {
    let proxied = def.socket_mode() == SocketMode::Proxied;
    let mut kept: Vec<HostPort> = Vec::new();
    for p in def.ports.iter_mut() {
        let proto = p.protocol();
        let Some(prev) = old
            .ports
            .iter()
            .find(|o| o.internal == p.internal && o.protocol() == proto)
        else {
            continue;
        };
        let usable = |port: HostPort, kept: &Vec<HostPort>| {
            !named.contains(&port) && !kept.contains(&port) && owned(port)
        };
        let external = HostPort::new(proto, prev.external);
        if p.external == 0 && usable(external, &kept) {
            p.external = prev.external;
            kept.push(external);
        }
        if proxied && p.backend.is_none() {
            // The backend is TCP whatever the port's protocol.
            if let Some(b) = prev
                .backend
                .map(HostPort::tcp)
                .filter(|b| usable(*b, &kept))
            {
                p.backend = Some(b.port);
                kept.push(b);
            }
        }
    }
}

/// An MCS allocation failure as a job error: running out of levels is a
/// reason of its own, not a store that could not be written.
fn mcs_error(id: &str, e: crate::mcs::McsError) -> JobError {
    match e {
        crate::mcs::McsError::Exhausted => {
            ERR_CONTAINER_CREATE_FAILED.detail(format!("no MCS level left for {id}: {e}"))
        }
        crate::mcs::McsError::Io(e) => io_error("MCS levels", e),
    }
}

/// The units of `new` whose rendered text differs from `old`'s (or that
/// `old` did not have), in stop order: the ones a running container must
/// restart onto.
///
/// This links the generator's own `render` rather than comparing the
/// definitions: the units are what systemd runs, so a change that renders
/// the same (`Started`, which only moves a wants symlink) restarts nothing,
/// a change to the socket alone restarts only the socket, and the jobs
/// never carry a second idea of which fields matter. Both sides are
/// rendered with the same source path, so moving a definition between
/// search-path directories is not a change either.
pub(crate) fn changed_units(id: &str, old: &Definition, new: &Definition) -> Vec<String> {
    use berth_generator::render::{render, InstallPaths};
    let paths = InstallPaths::built_in();
    let source = crate::paths::Paths::new(std::path::Path::new("/"), None)
        .definition_file(id)
        .display()
        .to_string();
    let rendered = |d: &Definition| render(id, &source, d, &paths);
    let (old_r, new_r) = match (rendered(old), rendered(new)) {
        (Ok(o), Ok(n)) => (o, n),
        // A definition the generator rejects has no units to compare:
        // restart whatever the new one runs.
        _ => return super::all_units(id, new),
    };
    // The service reads the root-only files (its env file) when it starts,
    // so a change there makes the service stale as a change of its text.
    let private_changed = old_r.private != new_r.private;
    let service = crate::definition::names::service_unit(id);
    super::all_units(id, new)
        .into_iter()
        .filter(|name| {
            let o = old_r.units.iter().find(|u| &u.name == name);
            let n = new_r.units.iter().find(|u| &u.name == name);
            o.map(|u| &u.content) != n.map(|u| &u.content) || (private_changed && *name == service)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn mcs_exhaustion_says_so() {
        let e = super::mcs_error("web", crate::mcs::McsError::Exhausted);
        assert!(e.is(crate::error::ERR_CONTAINER_CREATE_FAILED), "{e}");
        assert!(
            e.to_string()
                .contains("every one of the 523776 MCS category pairs"),
            "{e}"
        );
        assert!(!e.to_string().contains("store could not be updated"), "{e}");
    }
}
