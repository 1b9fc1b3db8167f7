//! Build an image (geard's `BuildImageRequest`) with `podman build` in a
//! transient unit `berth-build-<name>.service`, and list builds (geard's
//! `ListBuildsRequest`).
//!
//! geard's fields and what berth makes of them (`berth build --help` and
//! `berth(1)` say the same):
//!
//! | geard | berth | podman build |
//! |---|---|---|
//! | `Name` | `NAME` (the id rule) | the unit `berth-build-NAME.service`; default tag `localhost/NAME:latest` |
//! | `Source` | `--source DIR\|GIT_URL` | the context argument: an absolute directory, or a git URL podman clones |
//! | `Tag` | `--tag T` | `--tag=T` |
//! | `BaseImage` | `--base-image I` | `--from=I` (replaces the first `FROM`) |
//! | `RuntimeImage` | `--runtime-image I` | `--build-arg=RUNTIME_IMAGE=I`, for a multi-stage Containerfile that declares `ARG RUNTIME_IMAGE` and uses `FROM ${RUNTIME_IMAGE}` (podman has no runtime image of its own) |
//! | `Clean` | `--clean` | `--no-cache` |
//! | `Verbose` | `--verbose` | all of podman's output is streamed, not only its step lines |
//! | `CallbackUrl` | not taken | the caller follows the stream instead |
//!
//! The unit runs podman's argv directly (no shell). Nothing secret goes
//! into it: a URL with credentials in it is refused, and berth passes no
//! build argument other than `RUNTIME_IMAGE`.
//!
//! A build leaves a record, `/run/berth/builds/NAME.json` (0600 in a 0700
//! directory; `/run` is emptied at boot, so "recent" means since boot),
//! which `berth builds` lists with the unit's live state.

use super::Job;
use crate::context::Context;
use crate::definition::{validate_id, validate_image_reference, FieldError, ID_RULE};
use crate::error::{FailureKind, JobError};
use crate::response::{JobResponse, Success, Table};
use std::path::{Path, PathBuf};

/// Where build records live, relative to the root.
pub const BUILDS_DIR: &str = "/run/berth/builds";

/// Build an image from a context directory or a git repository.
#[derive(Debug, Clone, Default)]
pub struct BuildImageRequest {
    /// The build's name (the id rule): the unit is
    /// `berth-build-<name>.service`.
    pub name: String,
    /// An absolute context directory, or a git URL (`https://`, `http://`,
    /// `git://`, `git@host:path`) without credentials.
    pub source: String,
    /// The image reference to tag (default `localhost/<name>:latest`).
    pub tag: Option<String>,
    /// Replaces the Containerfile's first `FROM` (`podman build --from`).
    pub base_image: Option<String>,
    /// Passed as `--build-arg=RUNTIME_IMAGE=<image>`.
    pub runtime_image: Option<String>,
    /// Build without the layer cache (`--no-cache`).
    pub clean: bool,
    /// Stream all of podman's output, not only its step lines.
    pub verbose: bool,
}

/// The transient unit of build `name`.
pub fn build_unit(name: &str) -> String {
    format!("berth-build-{name}.service")
}

/// Whether `line` of podman build's output is shown without `--verbose`:
/// the step lines (`STEP 2/3: COPY …`), the commit and tag lines and
/// errors.
pub fn is_step_line(line: &str) -> bool {
    [
        "STEP ",
        "COMMIT",
        "Successfully tagged ",
        "Error:",
        "error:",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// `Source`: an absolute directory or a git URL without credentials.
fn validate_source(source: &str) -> Result<(), FieldError> {
    let bad = |why: &str| {
        FieldError::new(
            "Source",
            format!(
                "must be an absolute context directory or a git URL (https://, http://, \
                 git://, git@host:path) ({why}; got {source:?})"
            ),
        )
    };
    if source.is_empty() {
        return Err(bad("it is empty"));
    }
    if source.chars().any(char::is_control) {
        return Err(bad("it holds a control character"));
    }
    if source.starts_with('/') {
        return Ok(());
    }
    if let Some(rest) = ["https://", "http://", "git://"]
        .iter()
        .find_map(|s| source.strip_prefix(s))
    {
        let authority = rest.split(['/', '#', '?']).next().unwrap_or("");
        if authority.is_empty() {
            return Err(bad("the URL names no host"));
        }
        if authority.contains('@') {
            // The unit's argv is readable by anyone (D-Bus, /proc).
            return Err(bad(
                "credentials in a URL would be readable by every user; use a credential helper",
            ));
        }
        if source.chars().any(char::is_whitespace) {
            return Err(bad("a URL holds no spaces"));
        }
        return Ok(());
    }
    if let Some(rest) = source.strip_prefix("git@") {
        if rest.contains(':') && !source.chars().any(char::is_whitespace) {
            return Ok(());
        }
        return Err(bad("an SSH URL is git@host:path"));
    }
    Err(bad(
        "a relative directory is made absolute by the berth command, not here",
    ))
}

impl BuildImageRequest {
    /// The image reference the build tags.
    pub fn tag(&self) -> String {
        self.tag
            .clone()
            .unwrap_or_else(|| format!("localhost/{}:latest", self.name))
    }

    /// The argv of the transient unit, `podman` being podman's absolute
    /// path. Each option is one word `--flag=value`, so no value can be
    /// read as another flag; the source is last and never starts with `-`.
    pub fn argv(&self, podman: &str) -> Vec<String> {
        let mut a = vec![
            podman.to_owned(),
            "build".into(),
            format!("--tag={}", self.tag()),
        ];
        if let Some(b) = &self.base_image {
            a.push(format!("--from={b}"));
        }
        if let Some(r) = &self.runtime_image {
            a.push(format!("--build-arg=RUNTIME_IMAGE={r}"));
        }
        if self.clean {
            a.push("--no-cache".into());
        }
        a.push(self.source.clone());
        a
    }
}

fn invalid(e: FieldError) -> JobError {
    JobError::invalid("The build request is not valid.").detail(e)
}

fn builds_dir(ctx: &Context) -> PathBuf {
    crate::paths::under(ctx.paths.root(), BUILDS_DIR)
}

fn now_iso() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    crate::logfmt::iso_utc(micros)
}

fn write_record(ctx: &Context, name: &str, rec: &serde_json::Value) -> Result<(), String> {
    let dir = builds_dir(ctx);
    let file = dir.join(format!("{name}.json"));
    crate::fsutil::ensure_private_dir(&dir)
        .and_then(|_| {
            crate::fsutil::write_atomic_private(&file, rec.to_string().as_bytes(), None, "")
        })
        .map_err(|e| format!("{}: {e}", file.display()))
}

impl Job for BuildImageRequest {
    fn name(&self) -> &'static str {
        "build"
    }
    fn streams(&self) -> bool {
        true
    }
    fn canonical_request(&self) -> serde_json::Value {
        serde_json::json!({
            "Job": "build", "Name": self.name, "Source": self.source, "Tag": self.tag(),
            "BaseImage": self.base_image, "RuntimeImage": self.runtime_image,
            "Clean": self.clean, "Verbose": self.verbose,
        })
    }
    fn check(&self) -> Result<(), JobError> {
        if validate_id(&self.name).is_err() {
            return Err(invalid(FieldError::new(
                "Name",
                format!(
                    "a build name follows the id rule: {ID_RULE} (got {:?})",
                    self.name
                ),
            )));
        }
        match &self.tag {
            Some(t) => validate_image_reference("Tag", t).map_err(invalid)?,
            // The default tag is made from the name, which must fit it.
            None => validate_image_reference("Name", &self.tag()).map_err(invalid)?,
        }
        if let Some(b) = &self.base_image {
            validate_image_reference("BaseImage", b).map_err(invalid)?;
        }
        if let Some(r) = &self.runtime_image {
            validate_image_reference("RuntimeImage", r).map_err(invalid)?;
        }
        validate_source(&self.source).map_err(invalid)
    }
    fn execute(&self, ctx: &Context, resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let unit = build_unit(&self.name);
        let tag = self.tag();
        if self.source.starts_with('/') && !Path::new(&self.source).is_dir() {
            return Err(invalid(FieldError::new(
                "Source",
                format!("{} is not a directory", self.source),
            )));
        }
        let start_failed =
            |e: String| JobError::new(FailureKind::Error, "Unable to start the build.").detail(e);
        match ctx.systemd.unit_state(&unit) {
            Ok(s)
                if matches!(
                    s.active_state.as_str(),
                    "active" | "activating" | "deactivating"
                ) =>
            {
                return Err(JobError::new(
                    FailureKind::AlreadyExists,
                    format!("A build named {} is running ({unit}).", self.name),
                ))
            }
            _ => {}
        }
        let podman = ctx.host.resolve(&ctx.podman);
        let argv = self.argv(&podman.to_string_lossy());
        ctx.systemd
            .start_transient(&unit, &format!("berth build {}", self.name), &argv, &[])
            .map_err(|e| start_failed(e.to_string()))?;
        let mut record = serde_json::json!({
            "Name": self.name, "Unit": unit, "Tag": tag, "Source": self.source,
            "BaseImage": self.base_image, "RuntimeImage": self.runtime_image,
            "Clean": self.clean, "Started": now_iso(), "Result": "running",
        });
        let mut warnings = Vec::new();
        if let Err(e) = write_record(ctx, &self.name, &record) {
            warnings.push(format!("the build record was not written: {e}"));
        }
        let verbose = self.verbose;
        let outcome =
            super::transient::attach_filtered(ctx, &unit, resp, &|l| verbose || is_step_line(l))?;
        let status = outcome.exit_status();
        let interrupted = crate::interrupt::requested();
        let result = match status {
            Some(0) => "succeeded",
            _ if interrupted => "interrupted",
            _ => "failed",
        };
        record["Result"] = result.into();
        record["ExitStatus"] = status.into();
        record["Finished"] = now_iso().into();
        if let Err(e) = write_record(ctx, &self.name, &record) {
            warnings.push(format!("the build record was not written: {e}"));
        }
        let data = serde_json::json!({
            "Name": self.name, "Unit": unit, "Tag": tag, "Result": result,
            "ExitStatus": status, "Interrupted": interrupted,
        });
        if result != "succeeded" {
            let why = match status {
                Some(s) => format!("podman build exited {s}"),
                None => format!("{unit} ended with result {}", outcome.result),
            };
            let hint = if verbose {
                ""
            } else {
                "; --verbose shows all of podman's output"
            };
            return Err(JobError::new(
                FailureKind::Error,
                format!("The build {} {result}.", self.name),
            )
            .detail(format!("{why}{hint}"))
            .with_data(data));
        }
        let mut s = Success::ok().data(data).message(format!("Built {tag}"));
        for w in warnings {
            s = s.warn(w);
        }
        Ok(s)
    }
}

/// List the builds since boot (geard's `ListBuildsRequest`): every record
/// under `/run/berth/builds`, a running one checked against its unit (a
/// build whose berth went away before it ended is `unknown`).
#[derive(Debug, Clone, Default)]
pub struct ListBuildsRequest;

impl Job for ListBuildsRequest {
    fn name(&self) -> &'static str {
        "builds"
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let dir = builds_dir(ctx);
        let mut builds: Vec<serde_json::Value> = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(
                    JobError::new(FailureKind::Error, "Unable to list the builds.")
                        .detail(format!("{}: {e}", dir.display())),
                )
            }
        };
        for p in entries {
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let Some(mut rec) = std::fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .filter(serde_json::Value::is_object)
            else {
                continue;
            };
            if rec["Result"] == "running" {
                let unit = build_unit(rec["Name"].as_str().unwrap_or(""));
                if let Ok(s) = ctx.systemd.unit_state(&unit) {
                    if s.active_state == "inactive"
                        || s.active_state == "failed"
                        || s.load_state == "not-found"
                    {
                        // Its berth went away before it ended; the unit,
                        // collected since, kept no result.
                        rec["Result"] = "unknown".into();
                    }
                }
            }
            builds.push(rec);
        }
        builds.sort_by(|a, b| {
            (a["Started"].as_str(), a["Name"].as_str())
                .cmp(&(b["Started"].as_str(), b["Name"].as_str()))
        });
        let cell = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            o => o.to_string(),
        };
        let mut t = Table::new(&["NAME", "RESULT", "EXIT", "TAG", "STARTED", "FINISHED"]);
        for b in &builds {
            t.row(vec![
                cell(&b["Name"]),
                cell(&b["Result"]),
                cell(&b["ExitStatus"]),
                cell(&b["Tag"]),
                cell(&b["Started"]),
                cell(&b["Finished"]),
            ]);
        }
        Ok(Success::ok()
            .data(serde_json::json!({ "Builds": builds }))
            .table(t))
    }
}
