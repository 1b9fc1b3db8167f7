//! Run a one-off container (geard's `RunContainerRequest`) as a transient
//! systemd unit `berth-run-<16 hex>.service` running `podman run --rm`
//! (a one-off container asked for as such: its anonymous volumes go with
//! it). Its output goes to the journal of that unit.
//!
//! Values are root-only: the environment is not in the transient unit's
//! `ExecStart` (a D-Bus property anyone reads, and podman's cmdline) but
//! in `/run/berth/run/<unit>.env`, mode 0600 in a 0700 directory, which
//! podman reads with `--env-file` and the unit's `ExecStopPost` removes.
//! It reaches the container, never podman's own environment.

use super::Job;
use crate::context::Context;
use crate::definition::{validate_image_reference, Definition, EnvVar, Environment};
use crate::error::{JobError, ERR_CONTAINER_START_FAILED};
use crate::request_id::RequestIdentifier;
use crate::response::{JobResponse, Success};
use std::path::Path;

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
    /// absolute path of podman and `env_file` the file holding the
    /// environment (when there is one).
    pub fn argv(&self, podman: &str, name: &str, env_file: Option<&Path>) -> Vec<String> {
        let mut a = vec![
            podman.to_owned(),
            "run".into(),
            "--rm".into(),
            "--name".into(),
            name.to_owned(),
        ];
        if let Some(f) = env_file {
            a.push(format!("--env-file={}", f.display()));
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
        let mut env_file = None;
        let mut cleanup = Vec::new();
        if !self.environment.is_empty() {
            let dir = crate::paths::under(ctx.paths.root(), "/run/berth/run");
            let file = dir.join(format!("{unit}.env"));
            let mut content = String::new();
            for v in &self.environment {
                content.push_str(&format!("{}={}\n", v.name, v.value));
            }
            crate::fsutil::ensure_private_dir(&dir)
                .and_then(|_| {
                    crate::fsutil::write_atomic_private(&file, content.as_bytes(), None, "")
                })
                .map_err(|e| {
                    ERR_CONTAINER_START_FAILED.detail(format!("{}: {e}", file.display()))
                })?;
            cleanup = vec![
                ctx.host.resolve("rm").to_string_lossy().into_owned(),
                "-f".into(),
                "--".into(),
                file.to_string_lossy().into_owned(),
            ];
            env_file = Some(file);
        }
        let argv = self.argv(&podman.to_string_lossy(), &name, env_file.as_deref());
        let started = ctx.systemd.start_transient(
            &unit,
            &format!("berth run {}", self.image),
            &argv,
            &cleanup,
        );
        if let (Err(_), Some(f)) = (&started, &env_file) {
            let _ = std::fs::remove_file(f);
        }
        started.map_err(|e| ERR_CONTAINER_START_FAILED.detail(e))?;
        Ok(Success::accepted()
            .data(serde_json::json!({"Unit": unit, "Image": self.image, "Changed": true}))
            .message(format!("started {unit}; its output: journalctl -u {unit}")))
    }
}
