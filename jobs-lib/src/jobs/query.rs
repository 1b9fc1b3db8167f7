//! Read-only jobs on one container: status, logs, ports (geard's
//! `ContainerStatusRequest`, `ContainerLogRequest`, `ContainerPortsRequest`).

use super::list::one_line;
use super::{all_units, check_id, ports_json, Job};
use crate::context::Context;
use crate::definition::DefinitionError;
use crate::error::{FailureKind, JobError, ERR_CONTAINER_NOT_FOUND};
use crate::response::{JobResponse, StreamRecord, Success, Table};
use crate::systemd::{proxy_unit, service_unit, socket_unit};
use crate::systemd::{JournalEvent, JournalQuery};
use std::ops::ControlFlow;

/// Most journal lines `logs` returns.
pub const MAX_LOG_LINES: u32 = 10_000;

/// Status of container `id`: its definition's state and its units'.
#[derive(Debug, Clone)]
pub struct ContainerStatusRequest {
    /// The container id.
    pub id: String,
}

/// The journal of container `id`'s units (service, socket, proxy),
/// streamed one record per entry: the last `lines` (1 to
/// [`MAX_LOG_LINES`]) within `since`/`until`, then, with `follow`, every
/// new entry until SIGINT/SIGTERM ([`crate::interrupt`]) or until the
/// container is deleted. Read from `journalctl --output=json`.
#[derive(Debug, Clone, Default)]
pub struct ContainerLogRequest {
    /// The container id.
    pub id: String,
    /// How many of the last entries (`None`: 100).
    pub lines: Option<u32>,
    /// Keep printing new entries.
    pub follow: bool,
    /// Entries at or after this time (journalctl's `--since` grammar).
    pub since: Option<String>,
    /// Entries at or before this time (journalctl's `--until` grammar).
    pub until: Option<String>,
    /// Each entry as a JSON object ([`crate::logfmt::to_json`]) instead of
    /// a `short` line.
    pub json: bool,
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
        let shadows = if found.drop_ins.files.is_empty() {
            shadows
        } else {
            let d: Vec<String> = found
                .drop_ins
                .files
                .iter()
                .map(|d| d.path.display().to_string())
                .collect();
            format!("{shadows}; drop-ins {}", d.join(", "))
        };
        let mut data = serde_json::json!({
            "Id": id,
            "Path": found.path,
            "Source": found.origin(),
            "Shadowed": found.shadowed,
            "DropInPaths": found.drop_ins.paths(),
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
                data["Group"] = d.group.clone().into();
                data["Health"] = serde_json::Value::Null;
                let mut what = format!("image {}", d.image);
                if d.health.is_some() {
                    let (health, line) = health_of(ctx, id);
                    data["Health"] = health;
                    what.push_str(&format!("; {line}"));
                }
                what
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

/// The health of container `id` (which has `Health`) as data and as a
/// line: podman's state, or `Status: unknown` with why podman could not
/// tell (berth's units remove the container on stop, so a stopped one has
/// none).
fn health_of(ctx: &Context, id: &str) -> (serde_json::Value, String) {
    match crate::podman::health(ctx, &crate::definition::names::container_name(id)) {
        Ok(Some(h)) => {
            let mut line = format!("health {} (failing streak {})", h.status, h.failing_streak);
            if let Some(o) = h.last_output.as_deref().filter(|o| !o.is_empty()) {
                line.push_str(&format!(", last check: {o}"));
            }
            (serde_json::to_value(&h).expect("health serializes"), line)
        }
        Ok(None) => (
            serde_json::json!({"Status": "unknown", "Reason": "podman reports no health check"}),
            "health unknown (podman reports no health check)".to_owned(),
        ),
        Err(e) => {
            let why = match &e {
                crate::podman::PodmanError::Run(h) if h.code == Some(125) => {
                    "the container is not running".to_owned()
                }
                other => other.to_string(),
            };
            (
                serde_json::json!({"Status": "unknown", "Reason": why}),
                format!("health unknown ({why})"),
            )
        }
    }
}

impl Job for ContainerLogRequest {
    fn name(&self) -> &'static str {
        "logs"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn streams(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)?;
        let lines = self.lines.unwrap_or(100);
        if lines == 0 || lines > MAX_LOG_LINES {
            return Err(JobError::invalid(format!(
                "The number of lines must be from 1 to {MAX_LOG_LINES} (got {lines})."
            )));
        }
        for (what, t) in [("--since", &self.since), ("--until", &self.until)] {
            if t.as_deref()
                .is_some_and(|t| t.is_empty() || t.contains(['\n', '\0']))
            {
                return Err(JobError::invalid(format!(
                    "{what} takes a time as journalctl does (e.g. \"2026-12-01 10:00\", \"-1h\", \"today\")."
                )));
            }
        }
        Ok(())
    }
    fn execute(&self, ctx: &Context, resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let l = ctx.store().require(&self.id)?;
        // The socket and the proxy too: what failed may be the listener.
        let units = match l.definition.socket_mode() {
            crate::definition::SocketMode::None => all_units(&self.id, &l.definition),
            _ => vec![
                socket_unit(&self.id),
                proxy_unit(&self.id),
                service_unit(&self.id),
            ],
        };
        let query = JournalQuery {
            units,
            lines: Some(self.lines.unwrap_or(100)),
            since: self.since.clone(),
            until: self.until.clone(),
            follow: self.follow,
        };
        let mut sent = 0u64;
        let mut write_error = None;
        let mut deleted = false;
        ctx.systemd
            .read_journal(&query, &mut |ev| match ev {
                JournalEvent::Entry(e) => {
                    let rec = if self.json {
                        StreamRecord::Object(crate::logfmt::to_json(&e))
                    } else {
                        StreamRecord::Line(crate::logfmt::short(&e))
                    };
                    match resp.stream_record(rec) {
                        Ok(()) => {
                            sent += 1;
                            ControlFlow::Continue(())
                        }
                        Err(e) => {
                            write_error = Some(e);
                            ControlFlow::Break(())
                        }
                    }
                }
                JournalEvent::Idle if crate::interrupt::requested() => ControlFlow::Break(()),
                JournalEvent::Idle if self.follow && ctx.store().find(&self.id).is_none() => {
                    deleted = true;
                    ControlFlow::Break(())
                }
                JournalEvent::Idle => ControlFlow::Continue(()),
            })
            .map_err(|e| {
                JobError::new(FailureKind::Error, "Unable to read the container's log.").detail(e)
            })?;
        if let Some(e) = write_error {
            // The reader went away (a closed pipe): nobody to answer.
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(
                    JobError::new(FailureKind::Error, "Unable to write the log.")
                        .detail(e.to_string()),
                );
            }
        }
        let mut done = Success::ok().data(serde_json::json!({
            "Id": self.id, "Entries": sent, "Deleted": deleted,
        }));
        if deleted {
            done = done.message(format!("berth: {} was deleted; the log ends here", self.id));
        }
        Ok(done)
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
                format!("{}{}", p.internal, p.protocol().port_suffix()),
                p.external.to_string(),
                p.backend.map(|b| b.to_string()).unwrap_or_default(),
            ]);
        }
        Ok(Success::ok()
            .data(serde_json::json!({"Id": self.id, "Ports": ports_json(&l.definition)}))
            .table(table))
    }
}
