//! Run a one-off container (geard's `RunContainerRequest`) as a transient
//! systemd unit `berth-run-<16 hex>.service` running `podman run --rm`.
//! Its output goes to the journal of that unit. The environment is passed
//! as podman `--env` arguments, so it reaches the container, not podman's
//! own environment.

use super::Job;
use crate::context::Context;
use crate::definition::{validate_image_reference, Definition, EnvVar, Environment};
use crate::error::{JobError, ERR_CONTAINER_START_FAILED};
use crate::request_id::RequestIdentifier;
use crate::response::{JobResponse, Success};

/// Run `image` once.
#[derive(Debug, Clone)]
pub struct RunContainerRequest {
    /// The image.
    pub image: String,
    /// The command (empty: the image's own).
    pub command: Vec<String>,
    /// Environment of the container.
    pub environment: Vec<EnvVar>,
}

impl RunContainerRequest {
    /// The podman argv for transient unit `name`, `podman` being the
    /// absolute path of podman.
    pub fn argv(&self, podman: &str, name: &str) -> Vec<String> {
        let mut a = vec![
            podman.to_owned(),
            "run".into(),
            "--rm".into(),
            "--name".into(),
            name.to_owned(),
        ];
        for v in &self.environment {
            a.push("--env".into());
            a.push(format!("{}={}", v.name, v.value));
        }
        a.push(self.image.clone());
        a.extend(self.command.iter().cloned());
        a
    }
}

impl Job for RunContainerRequest {
    fn name(&self) -> &'static str {
        "run"
    }
    fn mutates(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), JobError> {
        validate_image_reference("Image", &self.image)
            .map_err(|e| JobError::invalid("The image is not valid.").detail(e))?;
        let probe = Definition {
            image: self.image.clone(),
            cmd: (!self.command.is_empty()).then(|| self.command.clone()),
            environment: Some(Environment {
                variables: self.environment.clone(),
            }),
            ..Definition::default()
        };
        probe
            .validate_request()
            .map_err(|e| JobError::invalid("The request is not valid.").detail(e))
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let name = format!("berth-run-{}", &RequestIdentifier::new_random().hex()[..16]);
        let unit = format!("{name}.service");
        let podman = ctx.host.resolve(&ctx.podman);
        let argv = self.argv(&podman.to_string_lossy(), &name);
        ctx.systemd
            .start_transient(&unit, &format!("berth run {}", self.image), &argv)
            .map_err(|e| ERR_CONTAINER_START_FAILED.detail(e))?;
        Ok(Success::accepted()
            .data(serde_json::json!({"Unit": unit, "Image": self.image}))
            .message(format!("started {unit}; its output: journalctl -u {unit}")))
    }
}
