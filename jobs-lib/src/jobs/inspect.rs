//! Everything berth knows about one container (`berth inspect ID`): the
//! definition in force with its file (`SourcePath`, as the units' own
//! `SourcePath=`), the drop-ins merged over it in the order applied
//! (`DropInPaths`, as `systemctl show` names a unit's), the drop-ins
//! shadowed or masked by name, the files it shadows, the units
//! the generator renders from it (`berth_generator::render`, the same
//! function the generator runs), its reservations (ports, MCS level,
//! user and subordinate range) and its units' live state.

use super::{all_units, check_id, Job};
use crate::context::Context;
use crate::definition::DefinitionError;
use crate::error::{FailureKind, JobError, ERR_CONTAINER_NOT_FOUND};
use crate::response::{JobResponse, Success};

/// Inspect container `id`.
#[derive(Debug, Clone, Default)]
pub struct InspectContainerRequest {
    /// The container id.
    pub id: String,
}

impl Job for InspectContainerRequest {
    fn name(&self) -> &'static str {
        "inspect"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }
    /// The environment's values are not shown (they are root-only and an
    /// inspect is pasted into bug reports): `berth content ID --type env`.
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let id = self.id.as_str();
        let Some(found) = ctx.store().find(id) else {
            return Err(ERR_CONTAINER_NOT_FOUND.detail(format!("(id {id})")));
        };
        let mut data = serde_json::json!({
            "Id": id, "Path": found.path, "Source": found.origin(), "Shadowed": found.shadowed,
            "SourcePath": found.path, "DropInPaths": found.drop_ins.paths(),
            "ShadowedDropIns": found.drop_ins.shadowed, "MaskedDropIns": found.drop_ins.masked,
        });
        let def = match found.load() {
            Ok(l) => l.definition,
            Err(DefinitionError::Masked { .. }) => {
                data["Masked"] = true.into();
                return Ok(Success::ok().data(data.clone()).message(pretty(&data)));
            }
            Err(e) => {
                data["Error"] = e.to_string().into();
                return Ok(Success::ok().data(data.clone()).message(pretty(&data)));
            }
        };
        let mut shown = def.clone();
        if let Some(env) = &mut shown.environment {
            for v in &mut env.variables {
                v.value = "(hidden)".into();
            }
        }
        data["Definition"] = serde_json::from_str(&shown.to_json()).unwrap_or_default();
        use berth_generator::render::{render_with_drop_ins, InstallPaths};
        let peers = crate::in_force::InForce::read(ctx.paths.search_path()).socket_modes;
        let drop_ins: Vec<String> = found
            .drop_ins
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        data["Units"] = match render_with_drop_ins(
            id,
            &found.path.display().to_string(),
            &drop_ins,
            &def,
            &InstallPaths::built_in(),
            &peers,
        ) {
            Ok(r) => r
                .units
                .iter()
                .map(|u| serde_json::json!({"Name": u.name, "Content": u.content}))
                .collect(),
            Err(e) => serde_json::json!({"Error": e.to_string()}),
        };
        let user = if def.isolate {
            ctx.users().existing(id).ok().flatten()
        } else {
            None
        };
        data["Reservations"] = serde_json::json!({
            "Ports": super::ports_json(&def),
            "McsLevel": def.mcs_level,
            "User": user.as_ref().map(|u| &u.name),
            "Uid": user.as_ref().map(|u| u.uid),
            "SubordinateRange": user.as_ref().map(|u| u.subordinate),
        });
        let mut states = Vec::new();
        for u in all_units(id, &def) {
            states.push(ctx.systemd.unit_state(&u).map_err(|e| {
                JobError::new(FailureKind::Error, "Unable to read the container's state.").detail(e)
            })?);
        }
        data["State"] = serde_json::to_value(&states).expect("states serialize");
        Ok(Success::ok().data(data.clone()).message(pretty(&data)))
    }
}

/// The data for humans: JSON, indented; unit files as they are.
fn pretty(data: &serde_json::Value) -> String {
    let mut v = data.clone();
    let units = v
        .get_mut("Units")
        .and_then(|u| u.as_array_mut())
        .map(std::mem::take);
    let mut out = serde_json::to_string_pretty(&v).expect("json");
    for u in units.unwrap_or_default() {
        out.push_str(&format!(
            "\n--- {} ---\n{}",
            u["Name"].as_str().unwrap_or(""),
            u["Content"].as_str().unwrap_or("").trim_end()
        ));
    }
    out
}
