//! Read-only jobs on one container: status, logs, ports (geard's
//! `ContainerStatusRequest`, `ContainerLogRequest`, `ContainerPortsRequest`).

use super::list::one_line;
use super::{all_units, check_id, ports_json, Job};
use crate::context::Context;
use crate::definition::DefinitionError;
use crate::error::{FailureKind, JobError, ERR_CONTAINER_NOT_FOUND};
use crate::response::{JobResponse, Success, Table};
use crate::systemd::{proxy_unit, service_unit, socket_unit};

/// Most journal lines `logs` returns.
pub const MAX_LOG_LINES: u32 = 10_000;

/// Status of container `id`: its definition's state and its units'.
#[derive(Debug, Clone)]
pub struct ContainerStatusRequest {
    /// The container id.
    pub id: String,
}

/// The journal of container `id`'s units, streamed, at most `lines` lines
/// (1 to [`MAX_LOG_LINES`]) and 16 MiB.
#[derive(Debug, Clone)]
pub struct ContainerLogRequest {
    /// The container id.
    pub id: String,
    /// How many of the last lines.
    pub lines: u32,
}

/// The port mapping of container `id`.
#[derive(Debug, Clone)]
pub struct ContainerPortsRequest {
    /// The container id.
    pub id: String,
}

impl Job for ContainerStatusRequest {
    fn name(&self) -> &'static str {
        "status"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }
    /// The file in force (where it comes from, what it shadows), then its
    /// units' states; a mask is shown as such (it has no units), an
    /// invalid file with its reason and the units every container has.
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let id = self.id.as_str();
        let Some(found) = ctx.store().find(id) else {
            return Err(ERR_CONTAINER_NOT_FOUND.detail(format!("(id {id})")));
        };
        let shadows = if found.shadowed.is_empty() {
            String::new()
        } else {
            let s: Vec<String> = found
                .shadowed
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            format!("; shadows {}", s.join(", "))
        };
        let mut data = serde_json::json!({
            "Id": id,
            "Path": found.path,
            "Source": found.origin(),
            "Shadowed": found.shadowed,
        });
        let (units, definition) = match found.load() {
            Err(DefinitionError::Masked { path }) => {
                data["Masked"] = true.into();
                return Ok(Success::ok().data(data).message(format!(
                    "{id}: masked by {} -> /dev/null ({}){shadows}; no units",
                    path.display(),
                    found.origin()
                )));
            }
            Err(e) => {
                data["Error"] = one_line(&e).into();
                let units = vec![socket_unit(id), proxy_unit(id), service_unit(id)];
                (units, Err(e))
            }
            Ok(l) => (all_units(id, &l.definition), Ok(l.definition)),
        };
        let mut table = Table::new(&["UNIT", "LOAD", "ACTIVE", "SUB"]);
        let mut states = Vec::new();
        for u in units {
            let s = ctx.systemd.unit_state(&u).map_err(|e| {
                JobError::new(FailureKind::Error, "Unable to read the container's state.").detail(e)
            })?;
            table.row(vec![
                s.unit.clone(),
                s.load_state.clone(),
                s.active_state.clone(),
                s.sub_state.clone(),
            ]);
            states.push(s);
        }
        data["Units"] = serde_json::to_value(&states).expect("states serialize");
        let what = match &definition {
            Ok(d) => {
                data["Image"] = d.image.clone().into();
                data["Started"] = d.started.into();
                format!("image {}", d.image)
            }
            Err(e) => format!("invalid: {}", one_line(e)),
        };
        Ok(Success::ok()
            .data(data)
            .message(format!(
                "{id}: {} ({}){shadows}; {what}",
                found.path.display(),
                found.origin()
            ))
            .table(table))
    }
}

impl Job for ContainerLogRequest {
    fn name(&self) -> &'static str {
        "logs"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)?;
        if self.lines == 0 || self.lines > MAX_LOG_LINES {
            return Err(JobError::invalid(format!(
                "The number of lines must be from 1 to {MAX_LOG_LINES} (got {}).",
                self.lines
            )));
        }
        Ok(())
    }
    fn execute(&self, ctx: &Context, resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let l = ctx.store().require(&self.id)?;
        let units = all_units(&self.id, &l.definition);
        ctx.systemd
            .journal(&units, self.lines, resp.stream())
            .map_err(|e| {
                JobError::new(FailureKind::Error, "Unable to read the container's log.").detail(e)
            })?;
        Ok(Success::ok())
    }
}

impl Job for ContainerPortsRequest {
    fn name(&self) -> &'static str {
        "ports"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let l = ctx.store().require(&self.id)?;
        let mut table = Table::new(&["INTERNAL", "EXTERNAL", "BACKEND"]);
        for p in &l.definition.ports {
            table.row(vec![
                p.internal.to_string(),
                p.external.to_string(),
                p.backend.map(|b| b.to_string()).unwrap_or_default(),
            ]);
        }
        Ok(Success::ok()
            .data(serde_json::json!({"Id": self.id, "Ports": ports_json(&l.definition)}))
            .table(table))
    }
}
