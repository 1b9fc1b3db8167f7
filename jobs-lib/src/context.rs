//! Everything a job needs from its surroundings: paths under the root,
//! settings, the systemd client, how to run host programs, and the store
//! lock (taken at most once per process; nested takes are free).
//!
//! [`Context::from_env`] reads the environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `BERTH_ROOT` | root prefix of every path (default `/`; `--root` sets it too) |
//! | `BERTH_DEFINITIONS_PATH` | colon-separated search path replacing the default one |
//! | `BERTH_SYSTEMD` | `dbus` (default) or `none`: no systemd calls at all (tests, benchmark) |
//! | `BERTH_PORT_RANGE` | `LOW-HIGH`, overrides `PortRange=` of `/etc/berth/berth.conf` |
//! | `BERTH_PORT_PROBE` | `0` skips the bind probe (benchmark only) |
//! | `BERTH_HOST_PATH` | `PATH` for host programs |
//! | `BERTH_PODMAN` | the podman program (default `podman` in the host `PATH`) |
//! | `BERTH_CRASH_AT` | tests: abort at the named step of a job |
//! | `BERTH_PULL` | `0`: install does not pull or check the image (tests, benchmark) |
//! | `BERTH_IMAGE_VOLUMES` | `0`: install does not inspect images for `VOLUME`s (tests, benchmark) |

use crate::config::{ConfigError, Settings};
use crate::error::JobError;
use crate::host::Host;
use crate::lock::StoreLock;
use crate::mcs::McsTable;
use crate::paths::Paths;
use crate::ports::{PortTable, Probe};
use crate::store::Store;
use crate::systemd::{dbus::DbusSystemd, NoSystemd, Systemd};
use crate::users::Users;
use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

/// Where info lines go.
pub type LogSink = Box<dyn FnMut(&str)>;

/// The surroundings of a job.
pub struct Context {
    /// Paths under the root.
    pub paths: Paths,
    /// Settings (`berth.conf`).
    pub settings: Settings,
    /// The systemd client.
    pub systemd: Box<dyn Systemd>,
    /// How host programs are run.
    pub host: Host,
    /// The podman program.
    pub podman: String,
    /// Whether ports are bind-probed.
    pub probe: Probe,
    /// Step at which to abort (tests).
    pub crash_at: Option<String>,
    /// Whether SELinux labels are applied (detected from the host).
    pub selinux: bool,
    /// Whether install inspects the image to keep its `VOLUME`s in named
    /// volumes ([`crate::volumes`]).
    pub image_volumes: bool,
    /// Whether install pulls the image as its `Pull` says (`BERTH_PULL=0`:
    /// never ask podman; tests, benchmark).
    pub pull: bool,
    lock: RefCell<Option<StoreLock>>,
    lock_depth: Cell<usize>,
    said_no_selinux: Cell<bool>,
    log: RefCell<LogSink>,
}

/// Holds the store lock while alive (see [`Context::lock`]).
pub struct LockGuard<'a> {
    ctx: &'a Context,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let d = self.ctx.lock_depth.get() - 1;
        self.ctx.lock_depth.set(d);
        if d == 0 {
            self.ctx.lock.borrow_mut().take();
        }
    }
}

impl Context {
    /// A context for the installation under `root`, with `systemd`, no
    /// crash injection, default podman and host `PATH`, settings from
    /// `<root>/etc/berth/berth.conf`.
    ///
    /// Errors: a broken settings file.
    pub fn new(root: &Path, systemd: Box<dyn Systemd>) -> Result<Context, ConfigError> {
        let paths = Paths::new(root, None);
        let settings = Settings::load(&paths.config_file(), None)?;
        Ok(Context {
            paths,
            settings,
            systemd,
            host: Host::new(None),
            podman: "podman".into(),
            probe: Probe::Bind,
            crash_at: None,
            selinux: crate::selinux::enabled(),
            image_volumes: true,
            pull: true,
            lock: RefCell::new(None),
            lock_depth: Cell::new(0),
            said_no_selinux: Cell::new(false),
            log: RefCell::new(Box::new(|m| eprintln!("berth: {m}"))),
        })
    }

    /// A context from the environment (table above); `root` (from
    /// `--root`) wins over `BERTH_ROOT`.
    ///
    /// Errors: a broken settings file or `BERTH_PORT_RANGE`, or an unknown
    /// `BERTH_SYSTEMD` value.
    pub fn from_env(root: Option<PathBuf>) -> Result<Context, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let root = root
            .or_else(|| var("BERTH_ROOT").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/"));
        let paths = Paths::new(&root, var("BERTH_DEFINITIONS_PATH").as_deref());
        let settings = Settings::load(&paths.config_file(), var("BERTH_PORT_RANGE").as_deref())
            .map_err(|e| e.to_string())?;
        let host = Host::new(var("BERTH_HOST_PATH").as_deref());
        let systemd: Box<dyn Systemd> = match var("BERTH_SYSTEMD").as_deref() {
            None | Some("dbus") => Box::new(DbusSystemd::new(host.clone())),
            Some("none") => Box::new(NoSystemd),
            Some(o) => return Err(format!("BERTH_SYSTEMD must be dbus or none (got {o:?})")),
        };
        let mut ctx = Context::new(&root, systemd).map_err(|e| e.to_string())?;
        ctx.paths = paths;
        ctx.settings = settings;
        ctx.host = host;
        ctx.podman = var("BERTH_PODMAN").unwrap_or_else(|| "podman".into());
        ctx.probe = if var("BERTH_PORT_PROBE").as_deref() == Some("0") {
            Probe::Skip
        } else {
            Probe::Bind
        };
        ctx.crash_at = var(crate::fsutil::CRASH_ENV);
        ctx.image_volumes = var("BERTH_IMAGE_VOLUMES").as_deref() != Some("0");
        ctx.pull = var("BERTH_PULL").as_deref() != Some("0");
        Ok(ctx)
    }

    /// Replaces where info lines go (stderr by default).
    pub fn set_log(&self, f: LogSink) {
        *self.log.borrow_mut() = f;
    }

    /// Logs one info line.
    pub fn info(&self, msg: &str) {
        (self.log.borrow_mut())(msg)
    }

    /// Logs that SELinux is off, once per context.
    pub fn note_no_selinux(&self) {
        if !self.said_no_selinux.replace(true) {
            self.info("info: SELinux is not enabled on this host; MCS levels are allocated but no files are labelled");
        }
    }

    /// Takes the store lock (blocking) unless this context holds it.
    ///
    /// Errors: the lock file cannot be opened.
    pub fn lock(&self) -> Result<LockGuard<'_>, JobError> {
        if self.lock_depth.get() == 0 {
            // The state dir (request journal, reservations) is root's only.
            crate::fsutil::ensure_private_dir(self.paths.state_dir()).map_err(|e| {
                JobError::new(
                    crate::error::FailureKind::Error,
                    "Unable to create the state directory.",
                )
                .detail(format!("{}: {e}", self.paths.state_dir().display()))
            })?;
            let l = StoreLock::acquire(&self.paths.lock_file()).map_err(|e| {
                JobError::new(
                    crate::error::FailureKind::Error,
                    "Unable to lock the store.",
                )
                .detail(format!("{}: {e}", self.paths.lock_file().display()))
            })?;
            *self.lock.borrow_mut() = Some(l);
        }
        self.lock_depth.set(self.lock_depth.get() + 1);
        Ok(LockGuard { ctx: self })
    }

    /// Aborts here if `BERTH_CRASH_AT` names `step`.
    pub fn crash_point(&self, step: &str) {
        crate::fsutil::crash_point(self.crash_at.as_deref(), step);
    }

    /// The definition store.
    pub fn store(&self) -> Store<'_> {
        Store::new(self)
    }

    /// The port table.
    pub fn ports(&self) -> PortTable {
        PortTable::new(self.paths.state_dir(), self.settings.port_range, self.probe)
    }

    /// The MCS table.
    pub fn mcs(&self) -> McsTable {
        McsTable::new(self.paths.state_dir())
    }

    /// Container users.
    pub fn users(&self) -> Users<'_> {
        Users::new(&self.paths, &self.host)
    }
}
