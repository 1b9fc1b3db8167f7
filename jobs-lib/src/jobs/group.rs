//! Groups (`Group: NAME`): `berth start|stop|restart --group NAME` acts on
//! the group's target `berth-<NAME>.target`, which the generator renders
//! with its members' `PartOf=` (and wants), so systemd starts, stops and
//! restarts the members together, in their dependency order.
//!
//! A group command changes what runs now, not what starts at boot: each
//! member's own `Started` says that (`berth start ID` sets it), as
//! `systemctl start` of a target does not enable its members. A group is
//! known by its members: no definition in force with `Group: NAME` is
//! `NotFound`.

use super::control::{job_failed, CHANGING};
use super::Job;
use crate::context::Context;
use crate::definition::names::group_target;
use crate::definition::validate_id;
use crate::error::{
    FailureKind, JobError, SimpleJobError, ERR_CONTAINER_RESTART_FAILED,
    ERR_CONTAINER_START_FAILED, ERR_CONTAINER_STOP_FAILED, ERR_RESTART_REQUEST_THROTTLED,
    ERR_START_REQUEST_THROTTLED, ERR_STOP_REQUEST_THROTTLED,
};
use crate::response::{JobResponse, Success};
use crate::systemd::UnitOp;

/// What a group request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAction {
    /// `StartUnit(berth-<group>.target)`.
    Start,
    /// `StopUnit(berth-<group>.target)`: members stop with it (`PartOf=`).
    Stop,
    /// `RestartUnit(berth-<group>.target)`: members restart with it.
    Restart,
}

impl GroupAction {
    fn op(self) -> UnitOp {
        match self {
            GroupAction::Start => UnitOp::Start,
            GroupAction::Stop => UnitOp::Stop,
            GroupAction::Restart => UnitOp::Restart,
        }
    }

    fn errors(self) -> (SimpleJobError, SimpleJobError) {
        match self {
            GroupAction::Start => (ERR_CONTAINER_START_FAILED, ERR_START_REQUEST_THROTTLED),
            GroupAction::Stop => (ERR_CONTAINER_STOP_FAILED, ERR_STOP_REQUEST_THROTTLED),
            GroupAction::Restart => (ERR_CONTAINER_RESTART_FAILED, ERR_RESTART_REQUEST_THROTTLED),
        }
    }

    fn words(self) -> (&'static str, &'static str) {
        match self {
            GroupAction::Start => ("started", "starting"),
            GroupAction::Stop => ("stopped", "stopping"),
            GroupAction::Restart => ("restarted", "restarting"),
        }
    }
}

/// Start, stop or restart the containers of group `group` together.
#[derive(Debug, Clone)]
pub struct GroupStateRequest {
    /// The group name (the id rule).
    pub group: String,
    /// What to do.
    pub action: GroupAction,
    /// Wait for systemd's job on the target and report its result (as the
    /// single-container commands); without it, `Accepted` once queued.
    pub wait: bool,
}

/// The members of `group` among the definitions in force, sorted.
///
/// Errors: the search path cannot be listed.
pub fn members(ctx: &Context, group: &str) -> Result<Vec<String>, JobError> {
    let listed = crate::deps::listed(ctx)?;
    Ok(listed
        .into_iter()
        .filter(|l| {
            l.definition
                .as_ref()
                .is_ok_and(|d| d.group.as_deref() == Some(group))
        })
        .map(|l| l.id)
        .collect())
}

impl Job for GroupStateRequest {
    fn name(&self) -> &'static str {
        match self.action {
            GroupAction::Start => "group-start",
            GroupAction::Stop => "group-stop",
            GroupAction::Restart => "group-restart",
        }
    }
    /// Journaled by request id, so a replayed restart does not restart again.
    fn mutates(&self) -> bool {
        true
    }
    fn canonical_request(&self) -> serde_json::Value {
        serde_json::json!({ "Job": self.name(), "Group": self.group })
    }
    fn check(&self) -> Result<(), JobError> {
        validate_id(&self.group).map_err(|_| {
            JobError::invalid(format!(
                "Invalid group name {:?}: a group name follows the id rule ({})",
                self.group,
                crate::definition::ID_RULE
            ))
        })
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let group = self.group.as_str();
        let members = members(ctx, group)?;
        if members.is_empty() {
            return Err(JobError::new(
                FailureKind::NotFound,
                "The specified group does not exist.",
            )
            .detail(format!(
                "(group {group}: no definition in force has Group {group})"
            )));
        }
        let unit = group_target(group);
        let (fail, throttled) = self.action.errors();
        if let Ok(s) = ctx.systemd.unit_state(&unit) {
            let busy = match self.action {
                // A stop cancels a start in progress, as for one container.
                GroupAction::Stop => s.active_state == "deactivating",
                _ => CHANGING.contains(&s.active_state.as_str()),
            };
            if busy {
                return Err(throttled.detail(format!("({unit} is {})", s.active_state)));
            }
        }
        let (done, doing) = self.action.words();
        let data = |result: Option<&str>| {
            let mut d = serde_json::json!({
                "Group": group, "Unit": unit, "Members": members, "Changed": true,
            });
            if let Some(r) = result {
                d["JobResult"] = r.into();
            }
            d
        };
        if self.wait {
            let result = ctx
                .systemd
                .run_unit_job(self.action.op(), &unit)
                .map_err(|e| fail.detail(e))?;
            if result != "done" {
                let units: Vec<String> = std::iter::once(unit.clone())
                    .chain(members.iter().map(|m| crate::systemd::service_unit(m)))
                    .collect();
                return Err(job_failed(ctx, fail, &unit, &result, &units));
            }
            return Ok(Success::ok().data(data(Some("done"))).message(format!(
                "{done} group {group} ({unit}: {})",
                members.join(", ")
            )));
        }
        match self.action {
            GroupAction::Start => ctx.systemd.start_unit(&unit),
            GroupAction::Stop => ctx.systemd.stop_unit(&unit),
            GroupAction::Restart => ctx.systemd.restart_unit(&unit),
        }
        .map_err(|e| fail.detail(e))?;
        Ok(Success::accepted().data(data(None)).message(format!(
            "{doing} group {group} ({unit}: {})",
            members.join(", ")
        )))
    }
}
