//! Delete (geard's `DeleteContainerRequest`): stop the units, wait until
//! they are inactive, remove the definition, daemon-reload, then release everything the container owns
//! (ports, MCS level, user, home) — by owner, so nothing of another
//! container is touched whatever the ids share.
//!
//! Data survives `berth delete`: the container's named volumes are kept
//! unless the request says `volumes` (`berth delete --volumes`).
//!
//! A container that others `Require` is not deleted unless the request
//! says `force` (`berth delete --force`): the refusal names them, since
//! systemd would stop them with it and they would fail to start until it
//! is back ([`crate::deps`]); dependents by `Wants` or `After` only are
//! warned about. The last container leaving a network berth created
//! removes it ([`crate::networks`]).
//!
//! Crash points: `delete-stopped`, `delete-removed`.

use super::{all_units, begin_mutation, check_id, Job};
use crate::context::Context;
use crate::error::{JobError, ERR_CONTAINER_NOT_FOUND, ERR_DELETE_CONTAINER_FAILED};
use crate::response::{JobResponse, Success};
use std::time::{Duration, Instant};

/// Delete container `id`.
#[derive(Debug, Clone, Default)]
pub struct DeleteContainerRequest {
    /// The container id.
    pub id: String,
    /// Also remove its named volumes (`berth-<id>-*`): its data.
    pub volumes: bool,
    /// Delete it even when other containers `Require` it.
    pub force: bool,
}

impl Job for DeleteContainerRequest {
    fn name(&self) -> &'static str {
        "delete"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn mutates(&self) -> bool {
        true
    }
    /// `Volumes` and `Force` change what a delete does, so a request id
    /// replayed with another of them is another body. Only when set, so
    /// the digests of plain deletes journaled before stay the same.
    fn canonical_request(&self) -> serde_json::Value {
        let mut r = serde_json::json!({ "Job": "delete", "Container": self.id });
        if self.volumes {
            r["Volumes"] = true.into();
        }
        if self.force {
            r["Force"] = true.into();
        }
        r
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }

    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let id = self.id.as_str();
        let _lock = begin_mutation(ctx)?;
        let store = ctx.store();
        let Some(found) = store.find(id) else {
            return Err(ERR_CONTAINER_NOT_FOUND.detail(format!("(id {id})")));
        };
        if found.masked {
            return Err(crate::store::masked_error(id, &found.path, false));
        }
        let path = found.read_from;
        if path != ctx.paths.definition_file(id) {
            return Err(ERR_DELETE_CONTAINER_FAILED.detail(format!(
                "{} is not in {}; remove it where it is",
                path.display(),
                ctx.paths.definitions_dir().display()
            )));
        }
        let dependents = crate::deps::check_delete(ctx, id, self.force)?;
        // An unreadable definition is still deleted; its units have the
        // names every container's units have.
        let units = match store.load(id) {
            Ok(Some(l)) => all_units(id, &l.definition),
            _ => vec![
                crate::systemd::socket_unit(id),
                crate::systemd::proxy_unit(id),
                crate::systemd::service_unit(id),
            ],
        };
        store.mark_pending(id)?;
        for u in &units {
            if let Err(e) = ctx.systemd.stop_unit(u) {
                let m = e.to_string();
                // Stopping a unit systemd does not know is nothing to do.
                if !(m.contains("NoSuchUnit") || m.contains("not loaded")) {
                    let _ = store.settle(id);
                    return Err(ERR_DELETE_CONTAINER_FAILED.detail(e));
                }
            }
        }
        // StopUnit returns once the stop is queued; the container holds
        // its ports, MCS level and user until its units are inactive.
        if let Err(u) = wait_inactive(ctx, &units, STOP_TIMEOUT) {
            let _ = store.settle(id);
            return Err(ERR_DELETE_CONTAINER_FAILED.detail(format!(
                "{u} is still stopping after {}s; nothing was released, try again",
                STOP_TIMEOUT.as_secs()
            )));
        }
        ctx.crash_point("delete-stopped");
        store.remove(id)?;
        ctx.crash_point("delete-removed");
        // The definition is gone: what fails now is a warning, and the
        // pending mark stays so the next job retries the release.
        let mut done = Success::ok();
        for w in dependents {
            done = done.warn(w);
        }
        if let Err(e) = ctx.systemd.daemon_reload() {
            done = done.warn(format!("daemon-reload: {e}"));
        }
        if let Err(e) = store.settle(id) {
            done = done.warn(format!("{e} (the next job on any container retries)"));
        }
        // Data survives delete unless the request says otherwise.
        let mut removed = Vec::new();
        if self.volumes {
            match super::volumes::remove_all_of(ctx, id) {
                Ok(r) => removed = r,
                Err(e) => done = done.warn(format!("{id} is deleted but its volumes are not: {e}")),
            }
        }
        // The last container on a network berth created takes it along.
        let networks = crate::networks::release_unused(ctx);
        let mut message = format!("deleted {id}");
        if !removed.is_empty() {
            message.push_str(&format!("; removed volumes {}", removed.join(", ")));
        }
        if !networks.is_empty() {
            message.push_str(&format!("; removed network {}", networks.join(", ")));
        }
        Ok(done
            .data(serde_json::json!({
                "Id": id, "RemovedVolumes": removed, "RemovedNetworks": networks, "Changed": true,
            }))
            .message(message))
    }
}

/// How long delete waits for the units to stop (podman's own stop timeout
/// is 10 s; systemd's default `TimeoutStopSec=` is 90 s).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// Polls until every unit of `units` is inactive (`inactive`, `failed`,
/// or a state nobody can read, as without systemd); `Err(unit)` names one
/// still active after `timeout`.
pub(crate) fn wait_inactive(
    ctx: &Context,
    units: &[String],
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(20);
    loop {
        let busy = units.iter().find(|u| {
            ctx.systemd.unit_state(u).is_ok_and(|s| {
                !matches!(s.active_state.as_str(), "inactive" | "failed" | "unknown")
            })
        });
        match busy {
            None => return Ok(()),
            Some(u) if Instant::now() >= deadline => return Err(u.clone()),
            Some(_) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
    }
}
