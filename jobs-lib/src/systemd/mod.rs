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

use std::io::Write;

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
    /// ExecStopPost=cleanup])`; an empty `cleanup` sets no ExecStopPost.
    fn start_transient(
        &self,
        unit: &str,
        description: &str,
        argv: &[String],
        cleanup: &[String],
    ) -> Result<(), SystemdError>;
    /// Writes the last `lines` journal lines of `units` to `out` (D-Bus has
    /// no journal call: `journalctl`, with a clean environment).
    fn journal(
        &self,
        units: &[String],
        lines: u32,
        out: &mut dyn Write,
    ) -> Result<(), SystemdError>;
}

/// No systemd (`BERTH_SYSTEMD=none`): reloads, starts and stops succeed
/// without doing anything; states are `unknown`; the journal is empty;
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
    fn journal(
        &self,
        _units: &[String],
        _lines: u32,
        _out: &mut dyn Write,
    ) -> Result<(), SystemdError> {
        Ok(())
    }
}
