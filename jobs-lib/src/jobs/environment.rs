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
use crate::error::{JobError, ERR_ENVIRONMENT_NOT_FOUND, ERR_ENVIRONMENT_UPDATE_FAILED};
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

fn update(ctx: &Context, id: &str, f: impl FnOnce(&mut Vec<EnvVar>)) -> Result<Success, JobError> {
    let _lock = begin_mutation(ctx)?;
    let store = ctx.store();
    let mut l = store.require(id)?;
    let mut vars = l.definition.env_vars().to_vec();
    f(&mut vars);
    l.definition.environment = (!vars.is_empty()).then(|| Environment {
        variables: vars.clone(),
    });
    store
        .write(id, &l.definition)
        .map_err(|e| ERR_ENVIRONMENT_UPDATE_FAILED.detail(e))?;
    ctx.systemd
        .daemon_reload()
        .map_err(|e| ERR_ENVIRONMENT_UPDATE_FAILED.detail(e))?;
    let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    let mut t = Table::new(&["NAME"]);
    for n in &names {
        t.row(vec![n.to_string()]);
    }
    Ok(Success::ok()
        .data(serde_json::json!({"Id": id, "Names": names}))
        .table(t)
        .message(format!(
            "environment of {id} updated; `berth env {id}` shows the values"
        )))
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
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)?;
        check_vars(&self.variables)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let new = self.variables.clone();
        update(ctx, &self.id, |v| *v = new)
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
        update(ctx, &self.id, |vars| {
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
