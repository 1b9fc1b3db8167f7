//! Start, stop, restart (geard's `StartedContainerStateRequest`,
//! `StoppedContainerStateRequest`, `RestartContainerRequest`). Start and
//! stop persist whether the container starts at boot, as geard did: they
//! rewrite `Started` and daemon-reload, and the generator adds or drops the
//! `berth.target` want. A request that arrives while the unit is changing
//! state gets geard's throttled error, except a stop of a unit that is
//! starting, which cancels the start.
//!
//! Crash points: `state-written`.

use super::{all_units, begin_mutation, check_id, start_units, Job};
use crate::context::Context;
use crate::definition::SocketMode;
use crate::error::{
    JobError, SimpleJobError, ERR_CONTAINER_RESTART_FAILED, ERR_CONTAINER_START_FAILED,
    ERR_CONTAINER_STOP_FAILED, ERR_RESTART_REQUEST_THROTTLED, ERR_START_REQUEST_THROTTLED,
    ERR_STOP_REQUEST_THROTTLED,
};
use crate::response::{JobResponse, Success};
use crate::store::PendingKind;
use crate::systemd::{service_unit, socket_unit, JournalEvent, JournalQuery, UnitOp};

/// How many journal lines a failed job reports.
pub const FAILED_JOURNAL_LINES: u32 = 10;

/// The failure of a systemd job on `unit` that ended with `result` (not
/// `done`): geard's `fail` message, the job's and the unit's result in the
/// detail, then the last journal lines of `units`; the same as data
/// (`Unit`, `JobResult`, `UnitResult`, `Journal`).
pub(crate) fn job_failed(
    ctx: &Context,
    fail: SimpleJobError,
    unit: &str,
    result: &str,
    units: &[String],
) -> JobError {
    let unit_result = ctx
        .systemd
        .service_outcome(unit)
        .map(|o| o.result)
        .unwrap_or_else(|_| "unknown".into());
    let mut lines = Vec::new();
    let q = JournalQuery {
        units: units.to_vec(),
        lines: Some(FAILED_JOURNAL_LINES),
        ..JournalQuery::default()
    };
    let _ = ctx.systemd.read_journal(&q, &mut |ev| {
        if let JournalEvent::Entry(e) = ev {
            lines.push(crate::logfmt::short(&e));
        }
        std::ops::ControlFlow::Continue(())
    });
    let mut detail = format!("{unit}: the job ended {result} (unit result {unit_result})");
    if !lines.is_empty() {
        detail.push_str("; its journal ends:");
        for l in &lines {
            detail.push_str("\n  ");
            detail.push_str(l);
        }
    }
    fail.detail(detail).with_data(serde_json::json!({
        "Unit": unit, "JobResult": result, "UnitResult": unit_result, "Journal": lines,
    }))
}

/// Start container `id` and have it start at boot.
#[derive(Debug, Clone, Default)]
pub struct StartedContainerStateRequest {
    /// The container id.
    pub id: String,
    /// Wait for systemd's job to finish and report its result (a failed
    /// job is this job's failure, with the journal's last lines); without
    /// it, answer `Accepted` once the job is queued.
    pub wait: bool,
}

/// Stop container `id` and keep it off at boot.
#[derive(Debug, Clone, Default)]
pub struct StoppedContainerStateRequest {
    /// The container id.
    pub id: String,
    /// Wait for systemd's job to finish and report its result (a failed
    /// job is this job's failure, with the journal's last lines); without
    /// it, answer `Accepted` once the job is queued.
    pub wait: bool,
}

/// Restart container `id`'s service.
#[derive(Debug, Clone, Default)]
pub struct RestartContainerRequest {
    /// The container id.
    pub id: String,
    /// Wait for systemd's job to finish and report its result (a failed
    /// job is this job's failure, with the journal's last lines); without
    /// it, answer `Accepted` once the job is queued.
    pub wait: bool,
}

/// Fails with `throttled` when any of `units` is in one of `states`.
fn throttle(
    ctx: &Context,
    units: &[String],
    states: &[&str],
    throttled: SimpleJobError,
) -> Result<(), JobError> {
    for u in units {
        if let Ok(s) = ctx.systemd.unit_state(u) {
            if states.contains(&s.active_state.as_str()) {
                return Err(throttled.detail(format!("({u} is {})", s.active_state)));
            }
        }
    }
    Ok(())
}

/// Every state between states (what [`UnitState::is_changing`] means).
///
/// [`UnitState::is_changing`]: crate::systemd::UnitState::is_changing
pub(crate) const CHANGING: &[&str] = &["activating", "deactivating", "reloading", "refreshing"];

/// Start (`started`) or stop container `id`: persist `Started` (rewrite the
/// definition and daemon-reload when it changes), then start or stop its
/// units, all under the store lock and a pending mark, so a job that dies
/// half-way is finished by the next one (it makes the units match
/// `Started`, see [`crate::store::PendingKind::State`]).
///
/// A stop is refused only while a stop is under way (`deactivating`): a
/// unit that is `activating` (a hung start, a crash loop waiting to
/// restart) is exactly what a stop must be able to cancel, and
/// `StopUnit(…, "replace")` replaces the queued start job.
fn change_state(ctx: &Context, id: &str, started: bool, wait: bool) -> Result<Success, JobError> {
    let (fail, throttled, verb, states): (_, _, _, &[&str]) = if started {
        (
            ERR_CONTAINER_START_FAILED,
            ERR_START_REQUEST_THROTTLED,
            "starting",
            CHANGING,
        )
    } else {
        (
            ERR_CONTAINER_STOP_FAILED,
            ERR_STOP_REQUEST_THROTTLED,
            "stopping",
            &["deactivating"],
        )
    };
    let _lock = begin_mutation(ctx)?;
    let store = ctx.store();
    let mut l = store.require(id)?;
    let all = all_units(id, &l.definition);
    throttle(ctx, &all, states, throttled)?;
    // Changed: `Started` flips, or a unit systemd reports is not yet in
    // the state asked for (a state nobody can read, as without systemd,
    // counts as no change).
    let changed = l.definition.started != started
        || (if started {
            start_units(id, &l.definition)
        } else {
            all.clone()
        })
        .iter()
        .any(|u| {
            ctx.systemd.unit_state(u).is_ok_and(|s| {
                let active = matches!(
                    s.active_state.as_str(),
                    "active" | "activating" | "reloading" | "refreshing"
                );
                s.active_state != "unknown" && active != started
            })
        });
    store.mark_pending_as(id, PendingKind::State)?;
    let outcome = (|| {
        if l.definition.started != started {
            l.definition.started = started;
            store.write(id, &l.definition)?;
            ctx.crash_point("state-written");
            ctx.systemd.daemon_reload().map_err(|e| fail.detail(e))?;
        }
        let units = if started {
            start_units(id, &l.definition)
        } else {
            all
        };
        for u in &units {
            if wait {
                let op = if started { UnitOp::Start } else { UnitOp::Stop };
                let result = ctx
                    .systemd
                    .run_unit_job(op, u)
                    .map_err(|e| fail.detail(e))?;
                if result != "done" {
                    return Err(job_failed(
                        ctx,
                        fail,
                        u,
                        &result,
                        &all_units(id, &l.definition),
                    ));
                }
            } else {
                let r = if started {
                    ctx.systemd.start_unit(u)
                } else {
                    ctx.systemd.stop_unit(u)
                };
                r.map_err(|e| fail.detail(e))?;
            }
        }
        Ok(units)
    })();
    // The definition says what the units should do; a failed start or stop
    // leaves it saying so (the request was to have it on or off at boot).
    let mut done = match outcome {
        Ok(units) if wait => Success::ok()
            .data(serde_json::json!({
                "Id": id, "Started": started, "Units": units, "JobResult": "done",
                "Changed": changed,
            }))
            .message(format!(
                "{} {id} ({})",
                if started { "started" } else { "stopped" },
                units.join(", ")
            )),
        Ok(units) => Success::accepted()
            .data(serde_json::json!({"Id": id, "Started": started, "Units": units, "Changed": changed}))
            .message(format!("{verb} {id} ({})", units.join(", "))),
        Err(e) => {
            let _ = store.clear_pending(id);
            return Err(e);
        }
    };
    if let Err(e) = store.clear_pending(id) {
        done = done.warn(e);
    }
    Ok(done)
}

impl Job for StartedContainerStateRequest {
    fn name(&self) -> &'static str {
        "start"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn mutates(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        change_state(ctx, &self.id, true, self.wait)
    }
}

impl Job for StoppedContainerStateRequest {
    fn name(&self) -> &'static str {
        "stop"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn mutates(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        change_state(ctx, &self.id, false, self.wait)
    }
}

impl Job for RestartContainerRequest {
    fn name(&self) -> &'static str {
        "restart"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    /// Journaled by request id, so a replayed restart does not restart again.
    fn mutates(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let l = ctx.store().require(&self.id)?;
        let units = all_units(&self.id, &l.definition);
        throttle(ctx, &units, CHANGING, ERR_RESTART_REQUEST_THROTTLED)?;
        // A socket-activated container restarts its service; the socket
        // keeps listening.
        let unit = service_unit(&self.id);
        let mut jobs = vec![(UnitOp::Restart, unit.clone())];
        if l.definition.socket_mode() != SocketMode::None {
            jobs.push((UnitOp::Start, socket_unit(&self.id)));
        }
        for (op, u) in &jobs {
            if self.wait {
                let result = ctx
                    .systemd
                    .run_unit_job(*op, u)
                    .map_err(|e| ERR_CONTAINER_RESTART_FAILED.detail(e))?;
                if result != "done" {
                    return Err(job_failed(
                        ctx,
                        ERR_CONTAINER_RESTART_FAILED,
                        u,
                        &result,
                        &units,
                    ));
                }
            } else {
                match op {
                    UnitOp::Restart => ctx.systemd.restart_unit(u),
                    _ => ctx.systemd.start_unit(u),
                }
                .map_err(|e| ERR_CONTAINER_RESTART_FAILED.detail(e))?;
            }
        }
        if self.wait {
            return Ok(Success::ok()
                .data(serde_json::json!({
                    "Id": self.id, "Unit": unit, "JobResult": "done", "Changed": true,
                }))
                .message(format!("restarted {}", self.id)));
        }
        Ok(Success::accepted()
            .data(serde_json::json!({"Id": self.id, "Unit": unit, "Changed": true}))
            .message(format!("restarting {}", self.id)))
    }
}
