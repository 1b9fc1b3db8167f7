//! The jobs (geard's `containers/jobs`): request types with `check()` and
//! `execute()`, run by [`dispatch`].

mod build;
mod content;
mod control;
mod delete;
mod environment;
mod group;
mod images;
mod inspect;
mod install;
mod link;
mod list;
mod pull;
mod purge;
mod query;
mod run;
mod secrets;
pub mod transient;
mod update;
mod volumes;

pub use build::{build_unit, is_step_line, BuildImageRequest, ListBuildsRequest, BUILDS_DIR};
pub use content::{ContentRequest, CONTENT_TYPES};
pub use control::{
    RestartContainerRequest, StartedContainerStateRequest, StoppedContainerStateRequest,
};
pub use delete::DeleteContainerRequest;
pub use environment::{GetEnvironmentRequest, PatchEnvironmentRequest, PutEnvironmentRequest};
pub use group::{members as group_members, GroupAction, GroupStateRequest};
pub use images::ListImagesRequest;
pub use inspect::InspectContainerRequest;
pub use install::InstallContainerRequest;
pub use link::{ContainerLinks, LinkContainersRequest};
pub use list::ListContainersRequest;
pub use pull::PullImageRequest;
pub use purge::PurgeContainersRequest;
pub use query::{
    ContainerLogRequest, ContainerPortsRequest, ContainerStatusRequest, MAX_LOG_LINES,
};
pub use run::RunContainerRequest;
pub use secrets::{CreateSecretRequest, ListSecretsRequest, RemoveSecretRequest, MAX_SECRET_BYTES};
pub use update::{AutoUpdateRequest, UpdateEntry};
pub use volumes::{ListVolumesRequest, RemoveVolumeRequest};

use crate::context::Context;
use crate::definition::{validate_id, Definition, SocketMode};
use crate::error::{JobError, ERR_RAN_TO_COMPLETION};
use crate::journal::{self, Record};
use crate::request_id::RequestIdentifier;
use crate::response::{Finish, JobResponse, Reply, StreamRecord, Success};
use crate::systemd::{proxy_unit, service_unit, socket_unit};
use std::io::Write;

/// A job (geard's `jobs.Job`).
pub trait Job {
    /// Its name in the request journal and in messages (`install`, …).
    fn name(&self) -> &'static str;
    /// The container it acts on, if one.
    fn container(&self) -> Option<&str> {
        None
    }
    /// Whether it streams records while it runs (logs, an attached run, a
    /// build): the CLI then prints them as they come, and with `--json`
    /// one JSON object a line, the final record last.
    fn streams(&self) -> bool {
        false
    }
    /// Whether it changes state (then it runs under the store lock and its
    /// reply is journaled by request id).
    fn mutates(&self) -> bool {
        false
    }
    /// The request as canonical JSON (what identifies its body; for the
    /// request journal, which keeps only its digest). The default, name
    /// and container, fits jobs whose request is just the id.
    fn canonical_request(&self) -> serde_json::Value {
        serde_json::json!({ "Job": self.name(), "Container": self.container() })
    }
    /// Checks the request before anything is touched (geard's `Check()`).
    ///
    /// Errors: `InvalidRequest` naming the id, field and rule.
    fn check(&self) -> Result<(), JobError> {
        Ok(())
    }
    /// Does the work. Streams and pending data go to `resp`; the returned
    /// value is the one final answer.
    fn execute(&self, ctx: &Context, resp: &mut dyn JobResponse) -> Result<Success, JobError>;
}

/// Runs `job` and answers `resp` exactly once: `check()`, then — for a
/// mutating job with a request id — a replay of the journaled reply if the
/// id already succeeded, else `execute()` (journaling a success).
///
/// Errors (in the output): the job's own; `ErrRanToCompletion` when the
/// id was used for another job or container; `InvalidRequest` when it was
/// used with another request body.
pub fn dispatch<R: JobResponse + Finish>(
    ctx: &Context,
    job: &dyn Job,
    request_id: Option<RequestIdentifier>,
    mut resp: R,
) -> R::Output {
    if let Err(e) = job.check() {
        return resp.finish(Err(e));
    }
    let rid = match request_id {
        Some(rid) if job.mutates() => rid,
        _ => {
            let out = job.execute(ctx, &mut resp);
            return resp.finish(out);
        }
    };
    let _guard = match ctx.lock() {
        Ok(g) => g,
        Err(e) => return resp.finish(Err(e)),
    };
    let digest = crate::digest::sha256_hex(job.canonical_request().to_string().as_bytes());
    if let Some(rec) = journal::lookup(ctx, &rid) {
        if rec.job != job.name() || rec.container.as_deref() != job.container() {
            return resp.finish(Err(JobError::from(ERR_RAN_TO_COMPLETION).detail(format!(
                "Request {rid} was a {} job on {}; a request id names one job.",
                rec.job,
                rec.container.as_deref().unwrap_or("-")
            ))));
        }
        if rec.digest.as_deref().is_some_and(|d| d != digest) {
            return resp.finish(Err(JobError::invalid(format!(
                "Request {rid} was made with another body; a request id names one request."
            ))));
        }
        for (n, v) in rec.reply.pending {
            resp.write_pending_success(&n, v);
        }
        return resp.finish(Ok(rec.reply.success));
    }
    let mut rec = Recorder {
        inner: &mut resp,
        pending: Vec::new(),
    };
    let out = job.execute(ctx, &mut rec);
    if let Ok(s) = &out {
        let record = Record {
            job: job.name().to_owned(),
            container: job.container().map(str::to_owned),
            digest: Some(digest),
            reply: Reply {
                success: s.clone(),
                pending: std::mem::take(&mut rec.pending),
                streamed: false,
            },
        };
        if let Err(e) = journal::record(ctx, &rid, &record) {
            ctx.info(&format!(
                "warning: request {rid} succeeded but could not be journaled: {e}"
            ));
        }
    }
    resp.finish(out)
}

/// Passes everything on and keeps a copy of the pending data.
struct Recorder<'a> {
    inner: &'a mut dyn JobResponse,
    pending: Vec<(String, serde_json::Value)>,
}

impl JobResponse for Recorder<'_> {
    fn stream_result(&self) -> bool {
        self.inner.stream_result()
    }
    fn write_pending_success(&mut self, name: &str, value: serde_json::Value) {
        match self.pending.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => self.pending.push((name.to_owned(), value.clone())),
        }
        self.inner.write_pending_success(name, value);
    }
    fn stream(&mut self) -> &mut dyn Write {
        self.inner.stream()
    }
    fn stream_record(&mut self, record: StreamRecord) -> std::io::Result<()> {
        self.inner.stream_record(record)
    }
}

/// `InvalidRequest` for a bad id, stating the rule.
pub(crate) fn check_id(id: &str) -> Result<(), JobError> {
    validate_id(id).map_err(|e| JobError::invalid(e.to_string()))
}

/// The units to start for `def`: the socket when socket-activated, the
/// service otherwise.
pub fn start_units(id: &str, def: &Definition) -> Vec<String> {
    match def.socket_mode() {
        SocketMode::None => vec![service_unit(id)],
        SocketMode::Proxied | SocketMode::Direct => vec![socket_unit(id)],
    }
}

/// Every unit of `def`, listening side first (the order to stop them).
pub fn all_units(id: &str, def: &Definition) -> Vec<String> {
    match def.socket_mode() {
        SocketMode::None => vec![service_unit(id)],
        SocketMode::Proxied => vec![socket_unit(id), proxy_unit(id), service_unit(id)],
        SocketMode::Direct => vec![socket_unit(id), service_unit(id)],
    }
}

/// The port mapping as data: `[{"Internal","External","Backend"?}]`.
pub fn ports_json(def: &Definition) -> serde_json::Value {
    serde_json::to_value(&def.ports).expect("ports serialize")
}

/// Takes the lock and settles dead jobs: the start of every mutating job.
pub(crate) fn begin_mutation(ctx: &Context) -> Result<crate::context::LockGuard<'_>, JobError> {
    let g = ctx.lock()?;
    link::recover(ctx);
    ctx.store().reclaim_pending();
    journal::prune(ctx);
    if let Err(e) = crate::in_force::reconcile(ctx) {
        ctx.info(&format!(
            "warning: reservations not reconciled with the definitions in force: {e}"
        ));
    }
    // Networks berth created that nothing names any more (a dead job's,
    // or one a container still used when it left).
    crate::networks::release_unused(ctx);
    Ok(g)
}
