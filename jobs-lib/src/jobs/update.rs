//! `berth update [ID…] [--dry-run]`: the image updates of containers with
//! `AutoUpdate` (`registry` or `local`, the label
//! `io.containers.autoupdate`), with podman's rollback.
//!
//! Without ids it runs `podman auto-update --format json` (podman 4.3 and
//! 5 print the same JSON; `--rollback` is podman's default) and reports
//! berth's units only: podman updates every running container with the
//! label, berth's or not, and berth leaves the others out of its report.
//! `--dry-run` is `podman auto-update --dry-run` (`pending` means a newer
//! image is there), filtered to the ids when given.
//!
//! podman cannot be told which units to update, so with ids (and no
//! `--dry-run`) berth does podman's steps for those containers only: the
//! running container's image id; for `registry`, `podman pull`; the id the
//! reference names now; when it differs, restart the service and wait for
//! systemd's job (so a container that fails to become ready, with
//! `Notify`, fails the restart); when the restart fails, tag the old image
//! with the reference again and restart once more (`rolled back`).
//!
//! Each berth container gets one entry: `Updated` is `true`, `false`,
//! `pending`, `failed` or `rolled back`, as podman spells them. A failed
//! entry is the job's failure (exit 1) with the whole report as data; a
//! rolled-back one is a warning (the container runs its old image, as
//! podman reports it).

use super::{check_id, Job};
use crate::context::Context;
use crate::definition::names::{container_name, service_unit};
use crate::definition::{AutoUpdate, Definition};
use crate::error::{FailureKind, JobError};
use crate::response::{JobResponse, Success, Table};
use crate::systemd::UnitOp;
use serde_json::json;
use std::collections::BTreeMap;

/// Update the images of containers with `AutoUpdate`.
#[derive(Debug, Clone, Default)]
pub struct AutoUpdateRequest {
    /// Only these containers (each must have `AutoUpdate`); empty: every
    /// berth container podman updates.
    pub ids: Vec<String>,
    /// Only say which have a newer image (`pending`); change nothing.
    pub dry_run: bool,
}

/// One container's outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateEntry {
    /// The container id.
    pub id: String,
    /// Its service.
    pub unit: String,
    /// The image reference.
    pub image: String,
    /// `registry` or `local`.
    pub policy: String,
    /// `true`, `false`, `pending`, `failed` or `rolled back`.
    pub updated: String,
    /// Why it failed or was rolled back, when berth knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The berth container a unit podman names belongs to, among `in_force`.
fn unit_id<'a>(unit: &'a str, in_force: &BTreeMap<String, Definition>) -> Option<&'a str> {
    let id = unit.strip_prefix("berth-")?.strip_suffix(".service")?;
    in_force.contains_key(id).then_some(id)
}

impl Job for AutoUpdateRequest {
    fn name(&self) -> &'static str {
        "update"
    }
    fn mutates(&self) -> bool {
        !self.dry_run
    }
    fn canonical_request(&self) -> serde_json::Value {
        json!({ "Job": "update", "Ids": self.ids, "DryRun": self.dry_run })
    }
    fn check(&self) -> Result<(), JobError> {
        for id in &self.ids {
            check_id(id)?;
        }
        Ok(())
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        // Serialized with installs and deletes, which change what runs.
        let _lock = if self.dry_run {
            None
        } else {
            Some(super::begin_mutation(ctx)?)
        };
        let listed = crate::deps::listed(ctx)?;
        let in_force: BTreeMap<String, Definition> = listed
            .into_iter()
            .filter_map(|l| l.definition.ok().map(|d| (l.id, d)))
            .collect();
        for id in &self.ids {
            let Some(d) = in_force.get(id) else {
                return Err(crate::error::ERR_CONTAINER_NOT_FOUND.detail(format!("(id {id})")));
            };
            if d.auto_update.is_none() {
                return Err(JobError::invalid(format!(
                    "{id} has no AutoUpdate; berth update acts on containers whose definition sets AutoUpdate (registry or local)"
                )));
            }
        }
        let mut warnings = Vec::new();
        let entries = if self.ids.is_empty() || self.dry_run {
            let (found, podman_error) =
                crate::podman::auto_update(ctx, self.dry_run).map_err(|e| {
                    JobError::new(FailureKind::Error, "Unable to run podman auto-update.").detail(e)
                })?;
            let mut entries = Vec::new();
            for e in found {
                let Some(id) = unit_id(&e.unit, &in_force) else {
                    continue;
                };
                if !self.ids.is_empty() && !self.ids.iter().any(|i| i == id) {
                    continue;
                }
                entries.push(UpdateEntry {
                    id: id.to_owned(),
                    unit: e.unit.clone(),
                    image: e.image,
                    policy: e.policy,
                    updated: e.updated,
                    error: None,
                });
            }
            if let Some(err) = podman_error {
                // podman's errors name the containers; attach it to
                // berth's failed ones, else it is about another unit.
                let mut attached = false;
                for e in entries.iter_mut().filter(|e| e.updated == "failed") {
                    e.error = Some(err.clone());
                    attached = true;
                }
                if !attached {
                    warnings.push(err);
                }
            }
            entries
        } else {
            self.ids
                .iter()
                .map(|id| update_one(ctx, id, &in_force[id]))
                .collect()
        };
        entries_reply(entries, self.dry_run, warnings)
    }
}

/// podman's update of one container (see the module documentation).
fn update_one(ctx: &Context, id: &str, def: &Definition) -> UpdateEntry {
    let policy = def
        .auto_update
        .map(AutoUpdate::as_str)
        .unwrap_or("registry");
    let unit = service_unit(id);
    let mut entry = UpdateEntry {
        id: id.to_owned(),
        unit: unit.clone(),
        image: def.image.clone(),
        policy: policy.to_owned(),
        updated: "failed".into(),
        error: None,
    };
    let name = container_name(id);
    let old = match crate::podman::container_image_id(ctx, &name) {
        Ok(o) if !o.is_empty() => o,
        // podman updates running containers only (berth's units remove
        // the container on stop); so does berth. Any other failure of
        // podman is a failed update, not an up-to-date container.
        result => match crate::podman::container_exists(ctx, &name) {
            Ok(false) => {
                entry.updated = "false".into();
                entry.error = Some(format!("{id} is not running; nothing to update"));
                return entry;
            }
            Ok(true) | Err(_) => {
                let why = match result {
                    Err(e) => e.to_string(),
                    Ok(_) => "podman inspect named no image".to_owned(),
                };
                entry.error = Some(format!("{name}: {why}"));
                return entry;
            }
        },
    };
    if policy == "registry" {
        if let Err(e) = crate::podman::pull(ctx, &def.image, false) {
            entry.error = Some(format!("pulling {}: {e}", def.image));
            return entry;
        }
    }
    let new = match crate::podman::image_id(ctx, &def.image) {
        Ok(n) => n,
        Err(e) => {
            entry.error = Some(format!("{}: {e}", def.image));
            return entry;
        }
    };
    if new == old {
        entry.updated = "false".into();
        return entry;
    }
    let restart = || ctx.systemd.run_unit_job(UnitOp::Restart, &unit);
    let first = match restart() {
        Ok(r) if r == "done" => {
            entry.updated = "true".into();
            return entry;
        }
        Ok(r) => format!("restarting {unit} on the new image: the job ended {r}"),
        Err(e) => format!("restarting {unit} on the new image: {e}"),
    };
    // podman's fallback: the reference names the old image again.
    if let Err(e) = crate::podman::tag(ctx, &old, &def.image) {
        entry.error = Some(format!("{first}; tagging the old image back: {e}"));
        return entry;
    }
    match restart() {
        Ok(r) if r == "done" => {
            entry.updated = "rolled back".into();
            entry.error = Some(first);
        }
        Ok(r) => {
            entry.error = Some(format!(
                "{first}; restarting on the old image: the job ended {r}"
            ))
        }
        Err(e) => entry.error = Some(format!("{first}; restarting on the old image: {e}")),
    }
    entry
}

/// The reply: a table and `Containers` (one entry each), the ids by
/// outcome, a failure when any failed.
fn entries_reply(
    entries: Vec<UpdateEntry>,
    dry_run: bool,
    mut warnings: Vec<String>,
) -> Result<Success, JobError> {
    let ids = |what: &str| -> Vec<&str> {
        entries
            .iter()
            .filter(|e| e.updated == what)
            .map(|e| e.id.as_str())
            .collect()
    };
    let data = json!({
        "DryRun": dry_run,
        "Containers": entries,
        "Updated": ids("true"),
        "Pending": ids("pending"),
        "RolledBack": ids("rolled back"),
        "Failed": ids("failed"),
        "UpToDate": ids("false"),
        "Changed": !ids("true").is_empty() || !ids("rolled back").is_empty(),
    });
    let mut table = Table::new(&["ID", "UNIT", "IMAGE", "POLICY", "UPDATED"]);
    for e in &entries {
        table.row(vec![
            e.id.clone(),
            e.unit.clone(),
            e.image.clone(),
            e.policy.clone(),
            e.updated.clone(),
        ]);
    }
    let failed: Vec<String> = entries
        .iter()
        .filter(|e| e.updated == "failed")
        .map(|e| format!("{}: {}", e.id, e.error.as_deref().unwrap_or("failed")))
        .collect();
    if !failed.is_empty() {
        return Err(
            JobError::new(FailureKind::Error, "Not every container could be updated.")
                .detail(failed.join("; "))
                .with_data(data),
        );
    }
    for e in entries.iter().filter(|e| e.updated == "rolled back") {
        warnings.push(format!(
            "{} was rolled back to its previous image: {}",
            e.id,
            e.error.as_deref().unwrap_or("the restart failed")
        ));
    }
    let mut s = Success::ok().data(data).table(table);
    if entries.is_empty() {
        s = s.message("no berth container with AutoUpdate is running");
    }
    s.warnings = warnings;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_map_to_ids_in_force_only() {
        let in_force: BTreeMap<String, Definition> =
            [("web".to_owned(), Definition::default())].into();
        assert_eq!(unit_id("berth-web.service", &in_force), Some("web"));
        assert_eq!(unit_id("berth-db.service", &in_force), None);
        assert_eq!(unit_id("container-web.service", &in_force), None);
        assert_eq!(unit_id("berth-proxy@web.service", &in_force), None);
    }
}
