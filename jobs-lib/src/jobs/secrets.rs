//! podman secrets (`berth secret create|list|rm`), which definitions hand
//! to containers with `Secrets`. Values are root-only: a value comes from
//! stdin or a file and reaches podman on its stdin, never in an argv, a
//! reply or the request journal (these jobs are not journaled, and their
//! replies name secrets only).

use super::Job;
use crate::context::Context;
use crate::definition::validate_secret_name;
use crate::error::{FailureKind, JobError};
use crate::response::{JobResponse, Success, Table};
use serde_json::json;

/// Largest secret value, podman's own limit (512 KiB).
pub const MAX_SECRET_BYTES: usize = 512 * 1024;

/// Create podman secret `name` holding `value`.
#[derive(Clone)]
pub struct CreateSecretRequest {
    /// The secret's name.
    pub name: String,
    /// Its value (never printed: `Debug` leaves it out).
    pub value: Vec<u8>,
}

impl std::fmt::Debug for CreateSecretRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSecretRequest")
            .field("name", &self.name)
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .finish()
    }
}

/// List podman's secrets and the containers that use them.
#[derive(Debug, Clone, Default)]
pub struct ListSecretsRequest;

/// Remove podman secret `name`; refused while a definition uses it.
#[derive(Debug, Clone)]
pub struct RemoveSecretRequest {
    /// The secret's name.
    pub name: String,
}

fn failed(e: impl std::fmt::Display) -> JobError {
    JobError::new(FailureKind::Error, "Unable to list or change secrets.").detail(e)
}

fn check_name(name: &str) -> Result<(), JobError> {
    validate_secret_name(name).map_err(|e| JobError::invalid(e.rule))
}

/// The ids of definitions in force that use secret `name`.
fn users_of(ctx: &Context, name: &str) -> Result<Vec<String>, JobError> {
    Ok(ctx
        .store()
        .list()
        .map_err(failed)?
        .into_iter()
        .filter(|l| {
            l.definition
                .as_ref()
                .is_ok_and(|d| d.secrets.iter().any(|s| s.name == name))
        })
        .map(|l| l.id)
        .collect())
}

impl Job for CreateSecretRequest {
    fn name(&self) -> &'static str {
        "secret-create"
    }
    fn check(&self) -> Result<(), JobError> {
        check_name(&self.name)?;
        if self.value.is_empty() || self.value.len() > MAX_SECRET_BYTES {
            return Err(JobError::invalid(format!(
                "a secret value is 1 to {MAX_SECRET_BYTES} bytes (got {})",
                self.value.len()
            )));
        }
        Ok(())
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        crate::podman::create_secret(ctx, &self.name, &self.value).map_err(failed)?;
        Ok(Success::ok()
            .data(json!({ "Name": self.name, "Changed": true }))
            .message(format!("created secret {}", self.name)))
    }
}

impl Job for ListSecretsRequest {
    fn name(&self) -> &'static str {
        "secrets"
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let names = crate::podman::secrets(ctx).map_err(failed)?;
        let mut table = Table::new(&["NAME", "USED BY"]);
        let mut rows = Vec::new();
        for n in names {
            let users = users_of(ctx, &n)?;
            table.row(vec![n.clone(), users.join(",")]);
            rows.push(json!({ "Name": n, "UsedBy": users }));
        }
        Ok(Success::ok().data(json!({ "Secrets": rows })).table(table))
    }
}

impl Job for RemoveSecretRequest {
    fn name(&self) -> &'static str {
        "secret-rm"
    }
    fn check(&self) -> Result<(), JobError> {
        check_name(&self.name)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let users = users_of(ctx, &self.name)?;
        if !users.is_empty() {
            return Err(
                JobError::new(FailureKind::AlreadyExists, "The secret is in use.").detail(format!(
                    "secret {} is used by container(s) {}; remove it from their Secrets first",
                    self.name,
                    users.join(", ")
                )),
            );
        }
        crate::podman::remove_secret(ctx, &self.name).map_err(failed)?;
        Ok(Success::ok()
            .data(json!({ "Name": self.name, "Changed": true }))
            .message(format!("removed secret {}", self.name)))
    }
}
