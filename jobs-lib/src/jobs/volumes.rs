//! Named volumes (`berth volumes`, `berth volume rm`): podman's volumes
//! `berth-<id>-<Name>` with their size and owner, and the volumes
//! definitions name that podman has not created yet. Data survives stop:
//! removing one is always this explicit request (or `berth delete
//! --volumes`), never a side effect.

use super::Job;
use crate::context::Context;
use crate::definition::names::{volume_name, volume_owner};
use crate::error::{FailureKind, JobError};
use crate::response::{JobResponse, Success, Table};
use serde_json::json;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

/// List berth's named volumes.
#[derive(Debug, Clone, Default)]
pub struct ListVolumesRequest;

/// Remove one named volume (podman `volume rm`, refused while in use).
#[derive(Debug, Clone)]
pub struct RemoveVolumeRequest {
    /// The podman volume name, `berth-<id>-<Name>`.
    pub volume: String,
}

fn failed(e: impl std::fmt::Display) -> JobError {
    JobError::new(FailureKind::Error, "Unable to list or change volumes.").detail(e)
}

impl Job for ListVolumesRequest {
    fn name(&self) -> &'static str {
        "volumes"
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        // What the definitions in force mount: volume → (id, path).
        let mut mounted: BTreeMap<String, (String, String)> = BTreeMap::new();
        for l in ctx.store().list().map_err(failed)? {
            if let Ok(d) = &l.definition {
                for v in &d.volumes {
                    mounted.insert(
                        volume_name(&l.id, &v.name),
                        (l.id.clone(), v.container_path.clone()),
                    );
                }
            }
        }
        let mut rows = Vec::new();
        let mut table = Table::new(&["VOLUME", "CONTAINER", "PATH", "SIZE", "OWNER", "STATE"]);
        let existing = crate::podman::volumes(ctx).map_err(failed)?;
        let mut seen = Vec::new();
        for v in existing {
            let Some((id, _)) = volume_owner(&v.name) else {
                continue;
            };
            seen.push(v.name.clone());
            let meta = std::fs::metadata(&v.mountpoint).ok();
            let owner = meta.as_ref().map(|m| format!("{}:{}", m.uid(), m.gid()));
            let size = crate::volumes::disk_usage(std::path::Path::new(&v.mountpoint));
            let path = mounted.get(&v.name).map(|(_, p)| p.clone());
            let state = if path.is_some() { "mounted" } else { "kept" };
            table.row(vec![
                v.name.clone(),
                id.to_owned(),
                path.clone().unwrap_or_else(|| "-".into()),
                size.to_string(),
                owner.clone().unwrap_or_else(|| "?".into()),
                state.into(),
            ]);
            rows.push(json!({
                "Volume": v.name, "Container": id, "ContainerPath": path, "Size": size,
                "Owner": owner, "Mountpoint": v.mountpoint, "State": state,
            }));
        }
        for (name, (id, path)) in mounted.iter().filter(|(n, _)| !seen.contains(n)) {
            table.row(vec![
                name.clone(),
                id.clone(),
                path.clone(),
                "0".into(),
                "-".into(),
                "not created".into(),
            ]);
            rows.push(json!({
                "Volume": name, "Container": id, "ContainerPath": path, "Size": 0,
                "Owner": null, "Mountpoint": null, "State": "not created",
            }));
        }
        Ok(Success::ok().data(json!({ "Volumes": rows })).table(table))
    }
}

impl Job for RemoveVolumeRequest {
    fn name(&self) -> &'static str {
        "volume-rm"
    }
    fn mutates(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), JobError> {
        if volume_owner(&self.volume).is_none() {
            return Err(JobError::invalid(format!(
                "{:?} is not a berth volume (berth-<id>-<Name>, as `berth volumes` lists them)",
                self.volume
            )));
        }
        Ok(())
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        crate::podman::remove_volumes(ctx, std::slice::from_ref(&self.volume)).map_err(failed)?;
        Ok(Success::ok()
            .data(json!({ "Volume": self.volume, "Changed": true }))
            .message(format!("removed volume {}", self.volume)))
    }
}

/// Removes every podman volume of container `id` (`berth delete
/// --volumes`); returns their names.
///
/// Errors: podman could not list or remove them.
pub(crate) fn remove_all_of(ctx: &Context, id: &str) -> Result<Vec<String>, JobError> {
    let names: Vec<String> = crate::podman::volumes(ctx)
        .map_err(failed)?
        .into_iter()
        .filter(|v| volume_owner(&v.name).is_some_and(|(owner, _)| owner == id))
        .map(|v| v.name)
        .collect();
    if !names.is_empty() {
        crate::podman::remove_volumes(ctx, &names).map_err(failed)?;
    }
    Ok(names)
}
