//! The few podman calls the jobs make (`podman images`, `podman inspect`),
//! run as host programs with a clean environment.

use crate::context::Context;
use crate::host::HostError;

/// One image as `podman images --format json` reports it (the fields berth
/// shows; others are ignored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Image {
    /// Image id.
    #[serde(default)]
    pub id: String,
    /// Names (`registry/name:tag`).
    #[serde(default)]
    pub names: Option<Vec<String>>,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Creation time, seconds since the epoch.
    #[serde(default)]
    pub created: i64,
}

/// Why podman could not answer.
#[derive(Debug, thiserror::Error)]
pub enum PodmanError {
    /// podman failed.
    #[error(transparent)]
    Run(#[from] HostError),
    /// podman's output was not what it documents.
    #[error("unexpected podman output: {0}")]
    Output(String),
}

/// `podman images --format json`.
pub fn images(ctx: &Context) -> Result<Vec<Image>, PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["images", "--format", "json"]);
    let out = ctx.host.run(c)?;
    serde_json::from_slice(&out.stdout).map_err(|e| PodmanError::Output(e.to_string()))
}

/// The host PID of container `name`'s main process (`podman inspect
/// --format {{.State.Pid}}`); 0 means not running.
pub fn pid(ctx: &Context, name: &str) -> Result<u32, PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args([
        "inspect",
        "--type",
        "container",
        "--format",
        "{{.State.Pid}}",
        "--",
        name,
    ]);
    let out = ctx.host.run(c)?;
    let s = String::from_utf8_lossy(&out.stdout);
    s.trim()
        .parse()
        .map_err(|_| PodmanError::Output(format!("pid {:?}", s.trim())))
}

/// The `VOLUME` paths an image declares (`podman image inspect`,
/// `.Config.Volumes`), sorted; empty when it declares none.
///
/// Errors: podman failed (e.g. the image is not pulled) or answered
/// something else than a JSON object or `null`.
pub fn image_volumes(ctx: &Context, image: &str) -> Result<Vec<String>, PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args([
        "image",
        "inspect",
        "--format",
        "{{json .Config.Volumes}}",
        "--",
        image,
    ]);
    let out = ctx.host.run(c)?;
    let v: Option<std::collections::BTreeMap<String, serde_json::Value>> =
        serde_json::from_slice(&out.stdout).map_err(|e| {
            PodmanError::Output(format!(
                "image volumes {:?}: {e}",
                String::from_utf8_lossy(&out.stdout).trim()
            ))
        })?;
    Ok(v.unwrap_or_default().into_keys().collect())
}

/// One volume as `podman volume ls --format json` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodmanVolume {
    /// The volume name.
    pub name: String,
    /// Where its data is on the host.
    #[serde(default)]
    pub mountpoint: String,
}

/// `podman volume ls --format json`.
pub fn volumes(ctx: &Context) -> Result<Vec<PodmanVolume>, PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["volume", "ls", "--format", "json"]);
    let out = ctx.host.run(c)?;
    let v: Option<Vec<PodmanVolume>> =
        serde_json::from_slice(&out.stdout).map_err(|e| PodmanError::Output(e.to_string()))?;
    Ok(v.unwrap_or_default())
}

/// `podman volume rm -- NAME…` (not `--force`: a volume a running
/// container uses is refused by podman).
pub fn remove_volumes(ctx: &Context, names: &[String]) -> Result<(), PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["volume", "rm", "--"]).args(names);
    ctx.host.run(c).map(drop).map_err(Into::into)
}

/// `podman secret create NAME -`, the value written to podman's stdin
/// (never an argument: values are root-only, and an argv is not).
pub fn create_secret(ctx: &Context, name: &str, value: &[u8]) -> Result<(), PodmanError> {
    use std::io::Write;
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["secret", "create", name, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let program = crate::host::describe(&c);
    let fail = |reason: String, code: Option<i32>| {
        PodmanError::Run(HostError {
            program: program.clone(),
            reason,
            code,
        })
    };
    let mut child = c.spawn().map_err(|e| fail(e.to_string(), None))?;
    let wrote = child
        .stdin
        .take()
        .expect("piped")
        .write_all(value)
        .map_err(|e| e.to_string());
    let out = child
        .wait_with_output()
        .map_err(|e| fail(e.to_string(), None))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(fail(
            format!(
                "{}: {}",
                out.status,
                err.trim().chars().take(400).collect::<String>()
            ),
            out.status.code(),
        ));
    }
    wrote.map_err(|e| fail(e, None))
}

/// Names of podman's secrets (`podman secret ls --format {{.Name}}`), sorted.
pub fn secrets(ctx: &Context) -> Result<Vec<String>, PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["secret", "ls", "--format", "{{.Name}}"]);
    let out = ctx.host.run(c)?;
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    names.sort();
    Ok(names)
}

/// `podman secret rm NAME`.
pub fn remove_secret(ctx: &Context, name: &str) -> Result<(), PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["secret", "rm", name]);
    ctx.host.run(c).map(drop).map_err(Into::into)
}

/// Whether podman's store holds `image` (`podman image exists`: exit 0
/// yes, 1 no).
///
/// Errors: podman could not run or failed otherwise.
pub fn image_exists(ctx: &Context, image: &str) -> Result<bool, PodmanError> {
    exists(ctx, &["image", "exists", "--", image]).map_err(Into::into)
}

/// `podman OBJECT exists …`: exit 0 yes, 1 no, anything else an error.
pub(crate) fn exists(ctx: &Context, args: &[&str]) -> Result<bool, HostError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(args);
    match ctx.host.run(c) {
        Ok(_) => Ok(true),
        Err(e) if e.code == Some(1) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether container `name` exists (`podman container exists`: exit 0
/// yes, 1 no).
///
/// Errors: podman could not run or failed otherwise.
pub fn container_exists(ctx: &Context, name: &str) -> Result<bool, PodmanError> {
    exists(ctx, &["container", "exists", "--", name]).map_err(Into::into)
}

/// `podman pull -- IMAGE`: with `progress`, podman's progress goes to our
/// stderr (a terminal); otherwise `--quiet` and captured.
///
/// Errors: the pull failed (podman's stderr in the message when captured).
pub fn pull(ctx: &Context, image: &str, progress: bool) -> Result<(), PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.arg("pull");
    if !progress {
        c.arg("--quiet");
        c.args(["--", image]);
        return ctx.host.run(c).map(drop).map_err(Into::into);
    }
    c.args(["--", image])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    let program = crate::host::describe(&c);
    let status = c.status().map_err(|e| HostError {
        program: program.clone(),
        reason: e.to_string(),
        code: None,
    })?;
    if !status.success() {
        return Err(PodmanError::Run(HostError {
            program,
            reason: status.to_string(),
            code: status.code(),
        }));
    }
    Ok(())
}

/// Makes `image` present as `policy` says (the definition's `Pull`):
/// `missing` pulls when the store lacks it, `always` pulls, `never` only
/// checks. Returns whether it pulled.
///
/// Errors: the pull failed, or `never` and the image is absent.
pub fn ensure_image(
    ctx: &Context,
    image: &str,
    policy: crate::definition::PullPolicy,
    progress: bool,
) -> Result<bool, PodmanError> {
    use crate::definition::PullPolicy;
    match policy {
        PullPolicy::Always => pull(ctx, image, progress).map(|()| true),
        PullPolicy::Missing if image_exists(ctx, image)? => Ok(false),
        PullPolicy::Missing => pull(ctx, image, progress).map(|()| true),
        PullPolicy::Never if image_exists(ctx, image)? => Ok(false),
        PullPolicy::Never => Err(PodmanError::Output(format!(
            "{image} is not in podman's store and Pull is never"
        ))),
    }
}

/// A container's health as `podman inspect` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthState {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Consecutive failed checks.
    pub failing_streak: u64,
    /// The last check's exit code, when one ran.
    pub last_exit_code: Option<i64>,
    /// The last check's output, trimmed to one line of at most
    /// [`HEALTH_OUTPUT_MAX`] characters.
    pub last_output: Option<String>,
}

/// How many characters of the last health check's output `status` shows.
pub const HEALTH_OUTPUT_MAX: usize = 200;

/// The health state out of `podman inspect --type container` output: the
/// container's `State` object (`--format {{json .State}}`, what [`health`]
/// asks for) or the whole inspect array. The state is `.State.Health` on
/// podman 5 (Docker's name) and `.State.Healthcheck` on podman 4.x. `None`
/// when the container has no health check (neither key, or an empty
/// `Status`).
///
/// Errors: the output is not podman's JSON.
pub fn parse_health(inspect: &[u8]) -> Result<Option<HealthState>, PodmanError> {
    let v: serde_json::Value = serde_json::from_slice(inspect)
        .map_err(|e| PodmanError::Output(format!("inspect: {e}")))?;
    let obj = match &v {
        serde_json::Value::Array(a) => a.first(),
        o @ serde_json::Value::Object(_) => Some(o),
        _ => None,
    }
    .ok_or_else(|| PodmanError::Output("inspect: not one container".into()))?;
    let state = if obj.get("State").is_some() {
        &obj["State"]
    } else {
        obj
    };
    let h = [&state["Health"], &state["Healthcheck"]]
        .into_iter()
        .find(|h| h["Status"].as_str().is_some_and(|s| !s.is_empty()));
    let Some(h) = h else {
        return Ok(None);
    };
    let last = h["Log"].as_array().and_then(|l| l.last());
    let output = last.and_then(|l| l["Output"].as_str()).map(|o| {
        let one: String = o.split_whitespace().collect::<Vec<_>>().join(" ");
        match one.char_indices().nth(HEALTH_OUTPUT_MAX) {
            Some((i, _)) => format!("{}…", &one[..i]),
            None => one,
        }
    });
    Ok(Some(HealthState {
        status: h["Status"].as_str().unwrap_or_default().to_owned(),
        failing_streak: h["FailingStreak"].as_u64().unwrap_or(0),
        last_exit_code: last.and_then(|l| l["ExitCode"].as_i64()),
        last_output: output,
    }))
}

/// The health of container `name` (`podman inspect --type container
/// --format {{json .State}}`: the state only, never the container's
/// environment); see [`parse_health`].
///
/// Errors: podman failed (no such container: it is not running, as berth's
/// units remove it on stop) or answered something else.
pub fn health(ctx: &Context, name: &str) -> Result<Option<HealthState>, PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args([
        "inspect",
        "--type",
        "container",
        "--format",
        "{{json .State}}",
        "--",
        name,
    ]);
    let out = ctx.host.run(c)?;
    parse_health(&out.stdout)
}

/// One line of `podman auto-update --format json` (podman 4.x and 5.x
/// print the same fields: `Unit`, `Container`, `ContainerName`,
/// `ContainerID`, `Image`, `Policy`, `Updated`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoUpdateEntry {
    /// The systemd unit podman restarts (the `PODMAN_SYSTEMD_UNIT` label).
    pub unit: String,
    /// `ID (name)`, 12 hex digits of the id.
    #[serde(default)]
    pub container: String,
    /// The container name before the update.
    #[serde(default)]
    pub container_name: String,
    /// The container id before the update.
    #[serde(default, rename = "ContainerID")]
    pub container_id: String,
    /// The image reference the container was created from.
    #[serde(default)]
    pub image: String,
    /// `registry` or `local`.
    #[serde(default)]
    pub policy: String,
    /// `true`, `false`, `pending` (dry run), `failed` or `rolled back`.
    pub updated: String,
}

/// Parses `podman auto-update --format json` output: a JSON array, or
/// nothing (and `null`) when no container has an auto-update policy.
///
/// Errors: anything else.
pub fn parse_auto_update(out: &[u8]) -> Result<Vec<AutoUpdateEntry>, PodmanError> {
    if out.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let v: Option<Vec<AutoUpdateEntry>> = serde_json::from_slice(out)
        .map_err(|e| PodmanError::Output(format!("auto-update: {e}")))?;
    Ok(v.unwrap_or_default())
}

/// `podman auto-update --format json [--dry-run]`: the entries podman
/// printed and, when it exited non-zero (some update failed; podman still
/// prints every entry), its error.
///
/// Errors: podman could not run, or printed no JSON.
pub fn auto_update(
    ctx: &Context,
    dry_run: bool,
) -> Result<(Vec<AutoUpdateEntry>, Option<String>), PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["auto-update", "--format", "json"]);
    if dry_run {
        c.arg("--dry-run");
    }
    let program = crate::host::describe(&c);
    let out = c.output().map_err(|e| HostError {
        program: program.clone(),
        reason: e.to_string(),
        code: None,
    })?;
    let err = (!out.status.success()).then(|| {
        let e = String::from_utf8_lossy(&out.stderr);
        format!(
            "{program}: {}: {}",
            out.status,
            e.trim().chars().take(400).collect::<String>()
        )
    });
    // A failure that reports no unit at all (podman could not run its
    // checks) fails the job; one with a report is the units' failures.
    match (parse_auto_update(&out.stdout), err) {
        (Ok(v), None) => Ok((v, None)),
        (Ok(v), Some(e)) if !v.is_empty() => Ok((v, Some(e))),
        (_, Some(reason)) => Err(PodmanError::Run(HostError {
            program,
            reason,
            code: out.status.code(),
        })),
        (Err(e), None) => Err(e),
    }
}

/// The image id container `name` runs (`podman inspect --format
/// {{.Image}}`).
pub fn container_image_id(ctx: &Context, name: &str) -> Result<String, PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args([
        "inspect",
        "--type",
        "container",
        "--format",
        "{{.Image}}",
        "--",
        name,
    ]);
    let out = ctx.host.run(c)?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The id of the image `reference` names in podman's store (`podman image
/// inspect --format {{.Id}}`).
pub fn image_id(ctx: &Context, reference: &str) -> Result<String, PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["image", "inspect", "--format", "{{.Id}}", "--", reference]);
    let out = ctx.host.run(c)?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `podman tag IMAGE_ID REFERENCE` (a rollback points the name back).
pub fn tag(ctx: &Context, image_id: &str, reference: &str) -> Result<(), PodmanError> {
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["tag", image_id, reference]);
    ctx.host.run(c).map(drop).map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_update_output_without_containers_is_empty() {
        assert!(parse_auto_update(b"").unwrap().is_empty());
        assert!(parse_auto_update(b"null\n").unwrap().is_empty());
        assert!(parse_auto_update(b"UNIT  CONTAINER").is_err());
    }

    #[test]
    fn health_without_a_check_is_none() {
        // podman 5 prints an empty Health for a container without a check.
        let none = br#"[{"State":{"Status":"running","Health":{"Status":"","FailingStreak":0,"Log":null}}}]"#;
        assert_eq!(parse_health(none).unwrap(), None);
        assert_eq!(parse_health(br#"[{"State":{}}]"#).unwrap(), None);
        assert!(parse_health(b"[]").is_err());
        let long = format!(
            r#"[{{"State":{{"Health":{{"Status":"healthy","Log":[{{"ExitCode":0,"Output":"{}"}}]}}}}}}]"#,
            "é".repeat(300)
        );
        let h = parse_health(long.as_bytes()).unwrap().unwrap();
        assert_eq!(
            h.last_output.unwrap().chars().count(),
            HEALTH_OUTPUT_MAX + 1
        );
    }
}
