//! List images (geard's `ListImagesRequest`; podman instead of docker).

use super::Job;
use crate::context::Context;
use crate::error::{JobError, ERR_LIST_IMAGES_FAILED};
use crate::response::{JobResponse, Success, Table};

/// List the images podman has.
#[derive(Debug, Clone, Default)]
pub struct ListImagesRequest;

impl Job for ListImagesRequest {
    fn name(&self) -> &'static str {
        "images"
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let images = crate::podman::images(ctx).map_err(|e| ERR_LIST_IMAGES_FAILED.detail(e))?;
        let mut table = Table::new(&["ID", "NAMES", "SIZE"]);
        for i in &images {
            let names = i
                .names
                .as_ref()
                .map(|n| n.join(","))
                .unwrap_or_else(|| "<none>".into());
            table.row(vec![
                i.id.chars().take(12).collect(),
                names,
                i.size.to_string(),
            ]);
        }
        Ok(Success::ok()
            .data(serde_json::json!({ "Images": images }))
            .table(table))
    }
}
