//! Environment of a container (geard's `GetEnvironmentRequest`,
//! `PutEnvironmentRequest`, `PatchEnvironmentRequest`). The variables live
//! in the definition's `Environment` and reach the container only (the
//! generator passes them to podman; no host process gets them). Names are
//! `[A-Za-z_][A-Za-z0-9_]*` (so never contain `=`); values are what
//! podman's `--env-file` carries (no NUL or newline, no trailing CR).
//!
//! Values are root-only: only the read (`env-get`, never journaled) shows
//! them; the replies of `env-put` and `env-patch`, which the request
//! journal keeps, name the variables without their values.

use super::{begin_mutation, check_id, Job};
use crate::context::Context;
use crate::definition::{Definition, EnvVar, Environment};
use crate::error::{
    FailureKind, JobError, ERR_ENVIRONMENT_NOT_FOUND, ERR_ENVIRONMENT_UPDATE_FAILED,
};
use crate::response::{JobResponse, Success, Table};

/// The variables of container `id`.
#[derive(Debug, Clone)]
pub struct GetEnvironmentRequest {
    /// The container id.
    pub id: String,
}

/// Replace every variable of container `id`.
#[derive(Debug, Clone)]
pub struct PutEnvironmentRequest {
    /// The container id.
    pub id: String,
    /// The new variables, in order.
    pub variables: Vec<EnvVar>,
    /// Restart the running container onto the new environment.
    pub restart: bool,
}

/// Set and unset some variables of container `id`, keeping the others.
#[derive(Debug, Clone)]
pub struct PatchEnvironmentRequest {
    /// The container id.
    pub id: String,
    /// Variables to set (replacing a value, or appended).
    pub set: Vec<EnvVar>,
    /// Names to remove.
    pub unset: Vec<String>,
    /// Restart the running container onto the new environment.
    pub restart: bool,
}

fn env_data(id: &str, vars: &[EnvVar]) -> Success {
    let mut t = Table::new(&["NAME", "VALUE"]);
    for v in vars {
        t.row(vec![v.name.clone(), v.value.escape_debug().to_string()]);
    }
    Success::ok()
        .data(serde_json::json!({"Id": id, "Variables": vars}))
        .table(t)
}

fn check_vars(vars: &[EnvVar]) -> Result<(), JobError> {
    let probe = Definition {
        image: "localhost/check".into(),
        environment: Some(Environment {
            variables: vars.to_vec(),
        }),
        ..Definition::default()
    };
    probe
        .validate_request()
        .map_err(|e| JobError::invalid("The environment is not valid.").detail(e))
}

/// Applies `f` to the variables of `id`, writes and daemon-reloads. The
/// reply names the variables but holds no value (it is journaled by
/// request id; `berth env ID` reads the values back). A running container
/// keeps its old environment until it restarts: the reply says
/// `RestartNeeded`, or with `restart` the job restarts it (`TryRestartUnit`
/// on each unit whose rendered text changed).
fn update(
    ctx: &Context,
    id: &str,
    restart: bool,
    f: impl FnOnce(&mut Vec<EnvVar>),
) -> Result<Success, JobError> {
    let _lock = begin_mutation(ctx)?;
    let store = ctx.store();
    let mut l = store.require(id)?;
    let old = l.definition.clone();
    let mut vars = l.definition.env_vars().to_vec();
    f(&mut vars);
    l.definition.environment = (!vars.is_empty()).then(|| Environment {
        variables: vars.clone(),
    });
    let changed = old.to_json() != l.definition.to_json();
    if changed {
        // A change a drop-in overrides stays the caller's error (exit 2),
        // naming the drop-in.
        store.write(id, &l.definition).map_err(|e| match e.kind {
            FailureKind::InvalidRequest => e,
            _ => ERR_ENVIRONMENT_UPDATE_FAILED.detail(e),
        })?;
        ctx.systemd
            .daemon_reload()
            .map_err(|e| ERR_ENVIRONMENT_UPDATE_FAILED.detail(e))?;
    }
    let stale: Vec<String> = if changed {
        super::install::changed_units(id, &old, &l.definition)
            .into_iter()
            .filter(|u| {
                ctx.systemd.unit_state(u).is_ok_and(|s| {
                    matches!(
                        s.active_state.as_str(),
                        "active" | "activating" | "reloading"
                    )
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut done = Success::ok();
    let mut restarted = Vec::new();
    if restart {
        for u in &stale {
            match ctx.systemd.try_restart_unit(u) {
                Ok(()) => restarted.push(u.clone()),
                Err(e) => done = done.warn(format!("{u} could not be restarted: {e}")),
            }
        }
    }
    let restart_needed = stale.len() > restarted.len();
    let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    let mut t = Table::new(&["NAME"]);
    for n in &names {
        t.row(vec![n.to_string()]);
    }
    let mut message = if changed {
        format!("environment of {id} updated; `berth env {id}` shows the values")
    } else {
        format!("environment of {id} unchanged")
    };
    if !restarted.is_empty() {
        message.push_str(&format!("; restarted {}", restarted.join(", ")));
    }
    if restart_needed {
        message.push_str(&format!(
            "; {id} runs the old environment until restarted (berth restart {id}, or --restart)"
        ));
    }
    Ok(done
        .table(t)
        .data(serde_json::json!({
            "Id": id,
            "Names": names,
            "Changed": changed,
            "RestartNeeded": restart_needed,
            "Restarted": restarted,
        }))
        .message(message))
}

impl Job for GetEnvironmentRequest {
    fn name(&self) -> &'static str {
        "env-get"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let l = ctx.store().require(&self.id)?;
        match &l.definition.environment {
            Some(e) => Ok(env_data(&self.id, &e.variables)),
            None => Err(ERR_ENVIRONMENT_NOT_FOUND
                .detail(format!("(container {} has no environment)", self.id))),
        }
    }
}

impl Job for PutEnvironmentRequest {
    fn name(&self) -> &'static str {
        "env-put"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn mutates(&self) -> bool {
        true
    }
    fn canonical_request(&self) -> serde_json::Value {
        serde_json::json!({"Job": "env-put", "Container": self.id,
            "Variables": self.variables, "Restart": self.restart})
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)?;
        check_vars(&self.variables)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let new = self.variables.clone();
        update(ctx, &self.id, self.restart, |v| *v = new)
    }
}

impl Job for PatchEnvironmentRequest {
    fn name(&self) -> &'static str {
        "env-patch"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn mutates(&self) -> bool {
        true
    }
    fn canonical_request(&self) -> serde_json::Value {
        serde_json::json!({"Job": "env-patch", "Container": self.id,
            "Set": self.set, "Unset": self.unset, "Restart": self.restart})
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)?;
        check_vars(&self.set)?;
        for n in &self.unset {
            check_vars(&[EnvVar {
                name: n.clone(),
                value: String::new(),
            }])?;
        }
        Ok(())
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        update(ctx, &self.id, self.restart, |vars| {
            vars.retain(|v| !self.unset.contains(&v.name));
            for s in &self.set {
                match vars.iter_mut().find(|v| v.name == s.name) {
                    Some(v) => v.value = s.value.clone(),
                    None => vars.push(s.clone()),
                }
            }
        })
    }
}
