//! Run a one-off container (geard's `RunContainerRequest`) as a transient
//! systemd unit `berth-run-<16 hex>.service` running `podman run --rm`
//! (a one-off container asked for as such: its anonymous volumes go with
//! it). Its output goes to the journal of that unit; attached (not
//! `detach`), the job streams it from there as it is written and answers
//! the container's exit status (podman's), read from the unit; SIGINT
//! stops the unit ([`super::transient::attach`]).
//!
//! Values are root-only: the environment is not in the transient unit's
//! `ExecStart` (a D-Bus property anyone reads, and podman's cmdline) but
//! in `/run/berth/run/<unit>.env`, mode 0600 in a 0700 directory, which
//! podman reads with `--env-file` and the unit's `ExecStopPost` removes.
//! It reaches the container, never podman's own environment.

use super::Job;
use crate::context::Context;
use crate::definition::{validate_image_reference, Definition, EnvVar, Environment, PortPair};
use crate::error::{JobError, ERR_CONTAINER_START_FAILED};
use crate::request_id::RequestIdentifier;
use crate::response::{JobResponse, Success};
use std::path::Path;

/// Run `image` once.
#[derive(Debug, Clone, Default)]
pub struct RunContainerRequest {
    /// The image.
    pub image: String,
    /// The command (empty: the image's own).
    pub command: Vec<String>,
    /// Environment of the container.
    pub environment: Vec<EnvVar>,
    /// Published ports (`--publish=EXTERNAL:INTERNAL`; an `External` of 0
    /// lets podman choose).
    pub ports: Vec<PortPair>,
    /// Volumes as podman's `--volume` takes them (`SRC:DST[:OPTIONS]`).
    pub volumes: Vec<String>,
    /// Its own user namespace (`--userns=auto`), as geard's isolated run.
    pub isolate: bool,
    /// Return once the unit is started, with its name, instead of
    /// streaming its output and returning its exit status.
    pub detach: bool,
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
        for p in &self.ports {
            let proto = p.protocol().port_suffix();
            if p.external == 0 {
                a.push(format!("--publish={}{proto}", p.internal));
            } else {
                a.push(format!("--publish={}:{}{proto}", p.external, p.internal));
            }
        }
        for v in &self.volumes {
            a.push(format!("--volume={v}"));
        }
        if self.isolate {
            a.push("--userns=auto".into());
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
    fn streams(&self) -> bool {
        !self.detach
    }
    fn check(&self) -> Result<(), JobError> {
        for v in &self.volumes {
            if v.is_empty() || v.starts_with('-') || v.contains(['\n', '\0']) || !v.contains(':') {
                return Err(JobError::invalid(format!(
                    "--volume takes SRC:DST[:OPTIONS] as podman does (got {v:?})."
                )));
            }
        }
        if self.ports.iter().any(|p| p.internal == 0) {
            return Err(JobError::invalid(
                "A port's internal number must be from 1 to 65535.",
            ));
        }
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
    fn execute(&self, ctx: &Context, resp: &mut dyn JobResponse) -> Result<Success, JobError> {
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
        if self.detach {
            return Ok(Success::accepted()
                .data(serde_json::json!({"Unit": unit, "Image": self.image, "Changed": true}))
                .message(unit));
        }
        let outcome = super::transient::attach(ctx, &unit, resp)?;
        let status = outcome.exit_status();
        let mut data = serde_json::json!({
            "Unit": unit, "Image": self.image, "Result": outcome.result, "Changed": true,
            "ExitStatus": status, "Interrupted": crate::interrupt::requested(),
        });
        if status.is_none() {
            data["ExitStatus"] = serde_json::Value::Null;
            return Err(ERR_CONTAINER_START_FAILED
                .detail(format!(
                    "{unit} ended without an exit status (result {})",
                    outcome.result
                ))
                .with_data(data));
        }
        Ok(Success::ok().data(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Protocol;

    /// UDP ports are published as UDP (`/udp`), TCP ones as before.
    #[test]
    fn udp_ports_publish_as_udp() {
        let port = |internal, external, protocol| PortPair {
            internal,
            external,
            backend: None,
            proxy_protocol: None,
            protocol,
        };
        let r = RunContainerRequest {
            image: "localhost/dns".into(),
            ports: vec![
                port(53, 5353, None),
                port(53, 5353, Some(Protocol::Udp)),
                port(123, 0, Some(Protocol::Udp)),
            ],
            ..RunContainerRequest::default()
        };
        let a = r.argv("/usr/bin/podman", "berth-run-x", None);
        let publish: Vec<&str> = a
            .iter()
            .filter(|w| w.starts_with("--publish"))
            .map(String::as_str)
            .collect();
        assert_eq!(
            publish,
            [
                "--publish=5353:53",
                "--publish=5353:53/udp",
                "--publish=123/udp"
            ]
        );
    }
}
