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
