//! Delete every container berth installed (geard's `gear purge`): each
//! definition in `/etc/berth/containers` goes as `berth delete` would take
//! it (units stopped, reservations and user released; volumes kept).
//! Definitions in `/run` and `/usr/lib` are the administrator's or the
//! vendor's and stay, as masks do.

use super::{DeleteContainerRequest, Job};
use crate::context::Context;
use crate::error::{JobError, ERR_DELETE_CONTAINER_FAILED};
use crate::response::{JobResponse, Success};

/// Delete every container berth installed; `confirm` must be set (`--yes`).
#[derive(Debug, Clone, Default)]
pub struct PurgeContainersRequest {
    /// The caller means it.
    pub confirm: bool,
}

impl Job for PurgeContainersRequest {
    fn name(&self) -> &'static str {
        "purge"
    }
    fn mutates(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), JobError> {
        if !self.confirm {
            return Err(JobError::invalid(
                "purge deletes every container berth installed; it needs --yes.",
            ));
        }
        Ok(())
    }
    /// Every failure is collected, not just the first: the others are
    /// still deleted.
    fn execute(&self, ctx: &Context, resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let listed = ctx.store().list().map_err(|e| {
            ERR_DELETE_CONTAINER_FAILED.detail(format!("listing the containers: {e}"))
        })?;
        let mut deleted = Vec::new();
        let mut failed = Vec::new();
        for l in listed.into_iter().filter(|l| l.origin == "etc") {
            if matches!(
                l.definition,
                Err(crate::definition::DefinitionError::Masked { .. })
            ) {
                continue;
            }
            // Everything berth installed goes, dependents included.
            let job = DeleteContainerRequest {
                id: l.id.clone(),
                volumes: false,
                force: true,
            };
            match job.execute(ctx, resp) {
                Ok(_) => deleted.push(l.id),
                Err(e) => failed.push(format!("{}: {e}", l.id)),
            }
        }
        if !failed.is_empty() {
            return Err(ERR_DELETE_CONTAINER_FAILED
                .detail(failed.join("; "))
                .with_data(serde_json::json!({"Deleted": deleted, "Failed": failed})));
        }
        Ok(Success::ok()
            .data(serde_json::json!({"Deleted": deleted}))
            .message(if deleted.is_empty() {
                "nothing to purge".to_owned()
            } else {
                format!("deleted {}", deleted.join(", "))
            }))
    }
}
