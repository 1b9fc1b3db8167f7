//! List containers (geard's `ListContainersRequest`): every id on the
//! search path — the ids the generator sees — with where its file comes
//! from (`etc`, `run`, `usr`), the copies it shadows, masks, invalid files
//! with their reason, and the state of the unit that answers: the socket of
//! a socket-activated container (a listening socket is its normal state),
//! else the service.

use super::Job;
use crate::context::Context;
use crate::definition::search::origin;
use crate::definition::{DefinitionError, SocketMode};
use crate::error::{JobError, ERR_LIST_CONTAINERS_FAILED};
use crate::response::{JobResponse, Success, Table};
use crate::store::Listed;
use crate::systemd::{service_unit, socket_unit};
use serde_json::json;

/// List every installed container.
#[derive(Debug, Clone, Default)]
pub struct ListContainersRequest;

/// `etc`, `etc (shadows usr, run)`, with ` +N drop-in(s)` when any apply.
pub(crate) fn source_label(l: &Listed) -> String {
    let mut label = l.origin.clone();
    if !l.shadowed.is_empty() {
        let shadowed: Vec<String> = l.shadowed.iter().map(|p| origin(p)).collect();
        label = format!("{label} (shadows {})", shadowed.join(", "));
    }
    match l.drop_ins.len() {
        0 => label,
        1 => format!("{label} +1 drop-in"),
        n => format!("{label} +{n} drop-ins"),
    }
}

/// An error as one line (a reason for a table cell).
pub(crate) fn one_line(e: &DefinitionError) -> String {
    e.to_string().replace(['\n', '\r'], " ")
}

impl Job for ListContainersRequest {
    fn name(&self) -> &'static str {
        "list"
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let listed = ctx
            .store()
            .list()
            .map_err(|e| ERR_LIST_CONTAINERS_FAILED.detail(e))?;
        let mut table = Table::new(&[
            "ID", "SOURCE", "STARTED", "ACTIVE", "SUB", "GROUP", "PORTS", "IMAGE",
        ]);
        let mut rows = Vec::new();
        for l in &listed {
            let source = source_label(l);
            let common = json!({
                "Id": l.id, "Path": l.path, "Source": l.origin, "Shadowed": l.shadowed,
                "DropInPaths": l.drop_ins,
            });
            let mut row = match &l.definition {
                Err(DefinitionError::Masked { path }) => {
                    table.row(vec![
                        l.id.clone(),
                        source,
                        "-".into(),
                        "masked".into(),
                        "-".into(),
                        String::new(),
                        String::new(),
                        format!("(masked: {} -> /dev/null)", path.display()),
                    ]);
                    json!({"Masked": true})
                }
                Err(e) => {
                    let unit = service_unit(&l.id);
                    let (active, sub) = state(ctx, &unit);
                    table.row(vec![
                        l.id.clone(),
                        source,
                        "-".into(),
                        active.clone(),
                        sub.clone(),
                        String::new(),
                        String::new(),
                        format!("(invalid: {})", one_line(e)),
                    ]);
                    json!({"Error": one_line(e), "Unit": unit, "ActiveState": active, "SubState": sub})
                }
                Ok(d) => {
                    let unit = match d.socket_mode() {
                        SocketMode::None => service_unit(&l.id),
                        SocketMode::Proxied | SocketMode::Direct => socket_unit(&l.id),
                    };
                    let (active, sub) = state(ctx, &unit);
                    // host->container, as podman prints them.
                    let ports: Vec<String> = d
                        .ports
                        .iter()
                        .map(|p| {
                            format!(
                                "{}->{}{}",
                                p.external,
                                p.internal,
                                p.protocol().port_suffix()
                            )
                        })
                        .collect();
                    table.row(vec![
                        l.id.clone(),
                        source,
                        if d.started { "yes" } else { "no" }.into(),
                        active.clone(),
                        sub.clone(),
                        d.group.clone().unwrap_or_default(),
                        ports.join(","),
                        d.image.clone(),
                    ]);
                    json!({
                        "Image": d.image, "Started": d.started, "Ports": d.ports,
                        "Unit": unit, "ActiveState": active, "SubState": sub,
                        "Group": d.group,
                    })
                }
            };
            if let (Some(r), Some(c)) = (row.as_object_mut(), common.as_object()) {
                r.extend(c.clone());
            }
            rows.push(row);
        }
        Ok(Success::ok()
            .data(json!({ "Containers": rows }))
            .table(table))
    }
}

fn state(ctx: &Context, unit: &str) -> (String, String) {
    ctx.systemd
        .unit_state(unit)
        .map(|s| (s.active_state, s.sub_state))
        .unwrap_or_else(|_| ("unknown".into(), "unknown".into()))
}
