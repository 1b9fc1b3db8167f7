//! Install (geard's `InstallContainerRequest`, `PUT /container/<id>`):
//! check → store lock → reserve ports → allocate MCS level → create user →
//! write the definition atomically → daemon-reload → start if `Started`.
//! Any failure rolls back: the old definition comes back (or none), and
//! [`crate::store::Store::settle`] releases what the job reserved. Installing
//! an id that exists updates it and keeps its ports (matched by `Internal`,
//! as geard did), MCS level and user.
//!
//! Crash points (`BERTH_CRASH_AT`): `locked`, `ports`, `mcs`, `user`,
//! `definition-temp`, `definition`, `reload`, `started`.

use super::{begin_mutation, check_id, ports_json, start_units, Job};
use crate::context::Context;
use crate::definition::{Definition, LoadedDefinition, SocketMode};
use crate::error::{
    FailureKind, JobError, ERR_CONTAINER_CREATE_FAILED, ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED,
    ERR_CONTAINER_START_FAILED,
};
use crate::mcs::McsCategories;
use crate::ports::PortError;
use crate::response::{JobResponse, Success};
use crate::store::{io_error, masked_error};
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
}

#[derive(Default)]
struct Progress {
    written: bool,
    reloaded: bool,
}

impl Job for InstallContainerRequest {
    fn name(&self) -> &'static str {
        "install"
    }

    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }

    fn mutates(&self) -> bool {
        true
    }

    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)?;
        self.definition
            .validate_request()
            .map_err(|e| JobError::invalid("The definition is not valid.").detail(e))
    }

    fn execute(&self, ctx: &Context, resp: &mut dyn JobResponse) -> Result<Success, JobError> {
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
            Ok(s) => {
                // A fresh install claimed exactly what it references:
                // nothing to release, only the mark to clear. An update
                // releases what the old definition had and the new lacks.
                if old.is_some() || !was.is_absent() {
                    store.settle(&self.id)?;
                } else {
                    store.clear_pending(&self.id)?;
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

        ctx.store().write(id, &def)?;
        progress.written = true;
        ctx.crash_point("definition");

        progress.reloaded = true;
        ctx.systemd
            .daemon_reload()
            .map_err(|e| ERR_CONTAINER_CREATE_FAILED.detail(e))?;
        ctx.crash_point("reload");

        let mut kind = Success::ok();
        if def.started {
            for unit in start_units(id, &def) {
                ctx.systemd
                    .start_unit(&unit)
                    .map_err(|e| ERR_CONTAINER_START_FAILED.detail(e))?;
            }
            kind = Success::accepted();
        }
        ctx.crash_point("started");

        let mapping: Vec<String> = def
            .ports
            .iter()
            // host->container, as podman and `berth list` print them.
            .map(|p| match p.backend {
                Some(b) => format!("{}->{} (backend {b})", p.external, p.internal),
                None => format!("{}->{}", p.external, p.internal),
            })
            .collect();
        let mut message = format!("installed {id}");
        if !mapping.is_empty() {
            message.push_str(&format!("; ports {}", mapping.join(", ")));
        }
        if let Some(l) = &def.mcs_level {
            message.push_str(&format!("; MCS level {l}"));
        }
        if let Some(u) = &user {
            message.push_str(&format!("; user {}", u.name));
        }
        Ok(kind
            .data(json!({
                "Id": id,
                "Path": ctx.paths.definition_file(id),
                "Ports": ports_json(&def),
                "McsLevel": def.mcs_level,
                "User": user,
                "Started": def.started,
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
        let mut explicit: Vec<(String, u16)> = Vec::new();
        for (i, p) in def.ports.iter().enumerate() {
            if p.external != 0 {
                explicit.push((format!("Ports[{i}].External"), p.external));
            }
            if let Some(b) = p.backend {
                explicit.push((format!("Ports[{i}].Backend"), b));
            }
        }
        let mut conflicts = Vec::new();
        for (field, port) in &explicit {
            if !explicit_range.contains(*port) {
                return Err(JobError::invalid("The definition is not valid.").detail(format!(
                    "field {field}: host port {port} is outside the ports definitions may ask for ({explicit_range}, ExplicitPortRange= in berth.conf)"
                )));
            }
            match table.owner(*port).map_err(|e| io_error("ports", e))? {
                Some(o) if o != id => {
                    let file = holder_file(ctx, &o);
                    conflicts.push(json!({"Field": field, "Port": port, "Owner": o, "Path": file}))
                }
                _ => {}
            }
        }
        if !conflicts.is_empty() {
            let detail: Vec<String> = conflicts
                .iter()
                .map(|c| {
                    let mut s = format!(
                        "host port {} is reserved by container {}",
                        c["Port"],
                        c["Owner"].as_str().unwrap_or("?")
                    );
                    if let Some(p) = c["Path"].as_str() {
                        s.push_str(&format!(" ({p})"));
                    }
                    s
                })
                .collect();
            return Err(ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED
                .detail(detail.join("; "))
                .with_data(json!({ "Conflicts": conflicts })));
        }
        // Keep what the old definition had for the same internal port
        // (geard's `reuse`), unless this request names that port elsewhere.
        let proxied = def.socket_mode() == SocketMode::Proxied;
        let named: Vec<u16> = explicit.iter().map(|(_, p)| *p).collect();
        let mut kept: Vec<u16> = Vec::new();
        let owned = |port: u16| table.owner(port).ok().flatten().as_deref() == Some(id);
        if let Some(old) = old {
            for p in def.ports.iter_mut() {
                let Some(prev) = old.ports.iter().find(|o| o.internal == p.internal) else {
                    continue;
                };
                let usable = |port: u16, kept: &Vec<u16>| {
                    !named.contains(&port) && !kept.contains(&port) && owned(port)
                };
                if p.external == 0 && usable(prev.external, &kept) {
                    p.external = prev.external;
                    kept.push(prev.external);
                }
                if proxied && p.backend.is_none() {
                    if let Some(b) = prev.backend.filter(|b| usable(*b, &kept)) {
                        p.backend = Some(b);
                        kept.push(b);
                    }
                }
            }
        }
        let port_error = |e: PortError| match e {
            PortError::Io(_) => ERR_CONTAINER_CREATE_FAILED.detail(e),
            PortError::Exhausted(_) => ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED.detail(e),
            PortError::Reserved { .. } | PortError::InUse { .. } => {
                ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED.detail(e)
            }
        };
        for p in def.ports.iter() {
            for port in [Some(p.external).filter(|e| *e != 0), p.backend]
                .into_iter()
                .flatten()
            {
                table.reserve(port, id).map_err(port_error)?;
            }
        }
        for p in def.ports.iter_mut() {
            if p.external == 0 {
                p.external = table.allocate(id).map_err(port_error)?;
            }
            if proxied && p.backend.is_none() {
                p.backend = Some(table.allocate(id).map_err(port_error)?);
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
            None => table.allocate(id).map_err(io)?,
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
                crate::selinux::label(&home, level)
                    .map_err(|e| fail(&format!("labelling {}: {e}", home.display())))?;
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
        store.settle(&self.id)
    }
}
