//! Pull a container's image again (`berth pull ID`): `podman pull` of its
//! definition's `Image`, refused when its `Pull` is `never`. A running
//! container keeps the image it started with until it restarts.

use super::{check_id, Job};
use crate::context::Context;
use crate::definition::PullPolicy;
use crate::error::{FailureKind, JobError};
use crate::response::{JobResponse, Success};

/// Pull container `id`'s image.
#[derive(Debug, Clone, Default)]
pub struct PullImageRequest {
    /// The container id.
    pub id: String,
}

impl Job for PullImageRequest {
    fn name(&self) -> &'static str {
        "pull"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let l = ctx.store().require(&self.id)?;
        let image = &l.definition.image;
        if l.definition.pull_policy() == PullPolicy::Never {
            return Err(JobError::invalid(format!(
                "{}'s Pull is never; its image {image} is not pulled.",
                self.id
            )));
        }
        use std::io::IsTerminal;
        crate::podman::pull(ctx, image, std::io::stderr().is_terminal()).map_err(|e| {
            JobError::new(FailureKind::Error, "Unable to pull the image.")
                .detail(format!("{image}: {e}"))
        })?;
        Ok(Success::ok()
            .data(serde_json::json!({"Id": self.id, "Image": image}))
            .message(format!("pulled {image}")))
    }
}
