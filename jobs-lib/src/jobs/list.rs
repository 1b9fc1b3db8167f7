//! List containers (geard's `ListContainersRequest`): every definition on
//! the search path with its service's state.

use super::Job;
use crate::context::Context;
use crate::error::{JobError, ERR_LIST_CONTAINERS_FAILED};
use crate::response::{JobResponse, Success, Table};
use crate::systemd::service_unit;
use serde_json::json;

/// List every installed container.
#[derive(Debug, Clone, Default)]
pub struct ListContainersRequest;

impl Job for ListContainersRequest {
    fn name(&self) -> &'static str {
        "list"
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let listed = ctx
            .store()
            .list()
            .map_err(|e| ERR_LIST_CONTAINERS_FAILED.detail(e))?;
        let mut table = Table::new(&["ID", "STARTED", "ACTIVE", "SUB", "PORTS", "IMAGE"]);
        let mut rows = Vec::new();
        for l in listed {
            let state = ctx.systemd.unit_state(&service_unit(&l.id)).ok();
            let (active, sub) = state
                .as_ref()
                .map(|s| (s.active_state.clone(), s.sub_state.clone()))
                .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
            match &l.definition {
                Ok(d) => {
                    let ports: Vec<String> = d
                        .ports
                        .iter()
                        .map(|p| format!("{}->{}", p.external, p.internal))
                        .collect();
                    table.row(vec![
                        l.id.clone(),
                        if d.started { "yes" } else { "no" }.into(),
                        active.clone(),
                        sub.clone(),
                        ports.join(","),
                        d.image.clone(),
                    ]);
                    rows.push(json!({
                        "Id": l.id, "Path": l.path, "Image": d.image, "Started": d.started,
                        "ActiveState": active, "SubState": sub, "Ports": d.ports, "Shadowed": l.shadowed,
                    }));
                }
                Err(e) => {
                    table.row(vec![
                        l.id.clone(),
                        "-".into(),
                        active.clone(),
                        sub.clone(),
                        "".into(),
                        format!("(invalid: {e})"),
                    ]);
                    rows.push(json!({
                        "Id": l.id, "Path": l.path, "Error": e.to_string(),
                        "ActiveState": active, "SubState": sub, "Shadowed": l.shadowed,
                    }));
                }
            }
        }
        Ok(Success::ok()
            .data(json!({ "Containers": rows }))
            .table(table))
    }
}
