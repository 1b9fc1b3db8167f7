//! The systemd client behind a trait, so jobs run against the real manager
//! (D-Bus, [`dbus::DbusSystemd`]), against nothing (`BERTH_SYSTEMD=none`,
//! [`NoSystemd`]: daemon-reload, start and stop do nothing, state reads
//! "unknown"; for tests and the benchmark), or against a test double.
//!
//! Unit names are the generator's: `berth-<id>.service`,
//! `berth-<id>.socket`, `berth-proxy@<id>.service`.
//!
//! # VM suite expectations (real systemd and podman; `tests/vm`)
//!
//! - `berth install web --image localhost/busybox --port 8080 --start`:
//!   `/etc/berth/containers/web.json` holds the allocated port,
//!   `systemctl is-active berth-web.service` is `active`, and the port
//!   answers; `berth.target.wants/berth-web.service` exists.
//! - `berth stop web`: the unit is inactive and `Started` is gone from the
//!   definition; after `systemctl daemon-reload` (or a reboot) it stays off;
//!   `berth start web` brings it back and it starts at boot again.
//! - A socket-activated container: `berth start` starts `berth-<id>.socket`
//!   only; the service starts on the first connection; proxied ones go
//!   through `berth-proxy@<id>.service` to `127.0.0.1:<Backend>`.
//! - `berth restart` while the unit is `activating` (a slow `ExecStartPre`)
//!   exits 5 with geard's throttled message.
//! - `berth logs web` prints the journal of the unit, at most `--lines`.
//! - `berth delete web`: units gone after the reload, the port answers no
//!   more, `id ctr-web` fails for an isolated one, other containers run on.
//! - `berth run localhost/busybox -- echo hi`: a transient
//!   `berth-run-*.service` ran, its journal holds `hi`.
//! - NetworkLinks: inside the container, connecting to FromHost:FromPort
//!   reaches ToHost:ToPort (`berth internal apply-links` ran as
//!   `ExecStartPost=`); `nft list ruleset` in the container's netns shows
//!   table `inet berth_links`, and the host's ruleset is unchanged.
//! - Isolated containers: `ps -o user` shows the container's processes
//!   under the subordinate range; with SELinux enforcing, the process and
//!   home carry the definition's `McsLevel`.

pub mod dbus;

use std::ops::ControlFlow;

pub use crate::definition::names::{proxy_unit, service_unit, socket_unit};

/// A unit's state as systemd reports it (`LoadState`, `ActiveState`,
/// `SubState`; org.freedesktop.systemd1(5)).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnitState {
    /// The unit name.
    pub unit: String,
    /// `loaded`, `not-found`, … (`unknown` without systemd).
    pub load_state: String,
    /// `active`, `inactive`, `activating`, `deactivating`, `failed`, …
    pub active_state: String,
    /// The unit type's own state (`running`, `listening`, `dead`, …).
    pub sub_state: String,
}

impl UnitState {
    /// A state of `unit` nobody could ask about.
    pub fn unknown(unit: &str) -> UnitState {
        UnitState {
            unit: unit.to_owned(),
            load_state: "unknown".into(),
            active_state: "unknown".into(),
            sub_state: "unknown".into(),
        }
    }

    /// The unit is between states (`activating`, `deactivating`,
    /// `reloading`, `refreshing`): a start/stop/restart now is throttled.
    pub fn is_changing(&self) -> bool {
        matches!(
            self.active_state.as_str(),
            "activating" | "deactivating" | "reloading" | "refreshing"
        )
    }
}

/// A systemd call that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("systemd: {0}")]
pub struct SystemdError(pub String);

/// What the jobs need from systemd.
pub trait Systemd {
    /// `Reload()`: re-runs generators, so changed definitions take effect.
    fn daemon_reload(&self) -> Result<(), SystemdError>;
    /// `StartUnit(unit, "replace")`; returns once the job is queued.
    fn start_unit(&self, unit: &str) -> Result<(), SystemdError>;
    /// `StopUnit(unit, "replace")`.
    fn stop_unit(&self, unit: &str) -> Result<(), SystemdError>;
    /// `RestartUnit(unit, "replace")`.
    fn restart_unit(&self, unit: &str) -> Result<(), SystemdError>;
    /// `TryRestartUnit(unit, "replace")`: restarts the unit if it is
    /// running, does nothing otherwise (systemctl try-restart); returns
    /// once the job is queued.
    fn try_restart_unit(&self, unit: &str) -> Result<(), SystemdError>;
    /// The unit's state (`LoadUnit` + its properties).
    fn unit_state(&self, unit: &str) -> Result<UnitState, SystemdError>;
    /// `StartTransientUnit(unit, "fail", [Description, ExecStart=argv,
    /// ExecStopPost=cleanup, AddRef])`; an empty `cleanup` sets no
    /// ExecStopPost. `AddRef` keeps the unit (and its exit status) until
    /// this client disconnects, however it ended.
    fn start_transient(
        &self,
        unit: &str,
        description: &str,
        argv: &[String],
        cleanup: &[String],
    ) -> Result<(), SystemdError>;
    /// Reads the journal of `query.units` (`journalctl --output=json`;
    /// D-Bus has no journal call) and hands every entry to `each`, as it
    /// is written when `query.follow`; `each` also gets
    /// [`JournalEvent::Idle`] about four times a second while nothing
    /// comes, so a follower can check whether to stop. `each` returning
    /// `Break` ends the read (and `journalctl`) cleanly.
    ///
    /// Errors: `journalctl` could not run or failed (its stderr in the
    /// message).
    fn read_journal(
        &self,
        query: &JournalQuery,
        each: &mut dyn FnMut(JournalEvent) -> ControlFlow<()>,
    ) -> Result<(), SystemdError>;
    /// Queues `op` on `unit` (`StartUnit`/`StopUnit`/`RestartUnit` with
    /// "replace") and waits until systemd's job ends (the manager's
    /// `JobRemoved` signal for that job), returning the job's result:
    /// `done`, `canceled`, `timeout`, `failed`, `dependency` or `skipped`
    /// (org.freedesktop.systemd1(5)). The default queues and answers
    /// `done` (for managers that cannot wait).
    fn run_unit_job(&self, op: UnitOp, unit: &str) -> Result<String, SystemdError> {
        match op {
            UnitOp::Start => self.start_unit(unit),
            UnitOp::Stop => self.stop_unit(unit),
            UnitOp::Restart => self.restart_unit(unit),
        }
        .map(|()| "done".to_owned())
    }
    /// How a service ran: its state, `Result` and main process's exit
    /// (`ExecMainCode`, `ExecMainStatus`). The default knows only the
    /// state.
    fn service_outcome(&self, unit: &str) -> Result<ServiceOutcome, SystemdError> {
        let s = self.unit_state(unit)?;
        Ok(ServiceOutcome {
            load_state: s.load_state,
            active_state: s.active_state,
            result: "unknown".into(),
            exec_main_code: 0,
            exec_main_status: 0,
        })
    }
}

/// What [`Systemd::run_unit_job`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitOp {
    /// `StartUnit`.
    Start,
    /// `StopUnit`.
    Stop,
    /// `RestartUnit`.
    Restart,
}

/// Which journal entries [`Systemd::read_journal`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalQuery {
    /// The units (`--unit=`, each; their own and systemd's messages about them).
    pub units: Vec<String>,
    /// The last N entries (`--lines=`); `None`: all of them.
    pub lines: Option<u32>,
    /// `--since=` as journalctl takes it.
    pub since: Option<String>,
    /// `--until=` as journalctl takes it.
    pub until: Option<String>,
    /// Keep reading new entries (`--follow`).
    pub follow: bool,
}

/// One event of [`Systemd::read_journal`].
#[derive(Debug, Clone, PartialEq)]
pub enum JournalEvent {
    /// A journal entry as journalctl's JSON output has it (field names
    /// such as `MESSAGE`, `_SYSTEMD_UNIT`, `__REALTIME_TIMESTAMP`).
    Entry(serde_json::Map<String, serde_json::Value>),
    /// Nothing new for a while.
    Idle,
}

/// How a service ran (see [`Systemd::service_outcome`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceOutcome {
    /// `loaded`, `not-found` (gone), …
    pub load_state: String,
    /// `active`, `inactive`, `failed`, …
    pub active_state: String,
    /// The service's `Result`: `success`, `exit-code`, `signal`, `timeout`, …
    pub result: String,
    /// `ExecMainCode`: 1 exited, 2 killed, 3 dumped core (waitid(2)'s
    /// `si_code`); 0 not yet.
    pub exec_main_code: i32,
    /// `ExecMainStatus`: the exit status, or the signal number.
    pub exec_main_status: i32,
}

impl ServiceOutcome {
    /// The service has stopped running (`inactive` or `failed`).
    pub fn ended(&self) -> bool {
        matches!(self.active_state.as_str(), "inactive" | "failed")
            || self.load_state == "not-found"
    }

    /// The main process's status as a shell reports it: the exit status,
    /// or 128 + the signal number; `None` before it ended.
    pub fn exit_status(&self) -> Option<i32> {
        match self.exec_main_code {
            1 => Some(self.exec_main_status),
            2 | 3 => Some(128 + self.exec_main_status),
            _ => None,
        }
    }
}

/// No systemd (`BERTH_SYSTEMD=none`): reloads, starts and stops succeed
/// without doing anything; states are `unknown`; the journal is empty; jobs are `done` at once;
/// transient units cannot be started.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSystemd;

impl Systemd for NoSystemd {
    fn daemon_reload(&self) -> Result<(), SystemdError> {
        Ok(())
    }
    fn start_unit(&self, _unit: &str) -> Result<(), SystemdError> {
        Ok(())
    }
    fn stop_unit(&self, _unit: &str) -> Result<(), SystemdError> {
        Ok(())
    }
    fn restart_unit(&self, _unit: &str) -> Result<(), SystemdError> {
        Ok(())
    }
    fn try_restart_unit(&self, _unit: &str) -> Result<(), SystemdError> {
        Ok(())
    }
    fn unit_state(&self, unit: &str) -> Result<UnitState, SystemdError> {
        Ok(UnitState::unknown(unit))
    }
    fn start_transient(
        &self,
        _u: &str,
        _d: &str,
        _a: &[String],
        _c: &[String],
    ) -> Result<(), SystemdError> {
        Err(SystemdError(
            "transient units need systemd (BERTH_SYSTEMD=none is set)".into(),
        ))
    }
    fn read_journal(
        &self,
        _query: &JournalQuery,
        _each: &mut dyn FnMut(JournalEvent) -> ControlFlow<()>,
    ) -> Result<(), SystemdError> {
        Ok(())
    }
}
