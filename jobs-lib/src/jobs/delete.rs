//! Delete (geard's `DeleteContainerRequest`): stop the units, remove the
//! definition, daemon-reload, then release everything the container owns
//! (ports, MCS level, user, home) — by owner, so nothing of another
//! container is touched whatever the ids share.
//!
//! Crash points: `delete-stopped`, `delete-removed`.

use super::{all_units, begin_mutation, check_id, Job};
use crate::context::Context;
use crate::error::{JobError, ERR_CONTAINER_NOT_FOUND, ERR_DELETE_CONTAINER_FAILED};
use crate::response::{JobResponse, Success};

/// Delete container `id`.
#[derive(Debug, Clone)]
pub struct DeleteContainerRequest {
    /// The container id.
    pub id: String,
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
                    store.settle(id)?;
                    return Err(ERR_DELETE_CONTAINER_FAILED.detail(e));
                }
            }
        }
        ctx.crash_point("delete-stopped");
        store.remove(id)?;
        ctx.crash_point("delete-removed");
        let reload = ctx.systemd.daemon_reload();
        store.settle(id)?;
        reload.map_err(|e| ERR_DELETE_CONTAINER_FAILED.detail(e))?;
        Ok(Success::ok()
            .data(serde_json::json!({ "Id": id }))
            .message(format!("deleted {id}")))
    }
}
