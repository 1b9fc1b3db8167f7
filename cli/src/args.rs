//! The command line, as ARCHITECTURE.md's contract has it. Completions and the
//! man pages are generated from these same definitions
//! (`berth internal completions SHELL DIR`, `berth internal man DIR`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Exit codes, shown in `--help` and the man page.
pub const EXIT_CODES: &str = "\
Exit codes (one per job failure kind):
  0  success
  1  Error: something failed on the host (systemd, podman, useradd, I/O)
  2  InvalidRequest: bad id, definition, flag or argument, or the id is masked
  3  NotFound: no such container, or it has no environment
  4  AlreadyExists: the id, or an explicitly requested MCS level, is taken
  5  RateLimit: the unit is changing state; try again
  6  NotAcceptable: the requested content type is not available

Environment: BERTH_ROOT (root prefix of every path), BERTH_SYSTEMD=none (no
systemd calls: tests), BERTH_DEFINITIONS_PATH, BERTH_PORT_RANGE=LOW-HIGH.";

/// berth: containers installed onto a systemd host as units (podman).
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, after_help = EXIT_CODES, after_long_help = EXIT_CODES)]
pub struct Cli {
    /// Root prefix of every path the jobs touch (default /).
    #[arg(long, global = true, env = "BERTH_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print JSON instead of tables and messages.
    #[arg(long, global = true)]
    pub json: bool,
    /// Request identifier (22 base64url or 32 hex characters): replaying a
    /// succeeded mutating request returns its result without redoing it.
    #[arg(long, global = true, value_name = "ID")]
    pub request_id: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or update a container (reserves ports, MCS level, user).
    Install(InstallArgs),
    /// Start a container and have it start at boot.
    Start(IdArg),
    /// Stop a container and keep it off at boot.
    Stop(IdArg),
    /// Restart a container's service.
    Restart(IdArg),
    /// Show a container's units and their state.
    Status(IdArg),
    /// Show a container's journal.
    Logs(LogsArgs),
    /// Show a container's port mapping.
    Ports(IdArg),
    /// Delete a container and release what it owns (its volumes are kept).
    Delete(DeleteArgs),
    /// List installed containers.
    List,
    /// Show or change a container's environment.
    Env(EnvArgs),
    /// Set a container's network links (replacing them; none clears).
    Link(LinkArgs),
    /// List podman's images.
    Images,
    /// Run a one-off container as a transient unit.
    Run(RunArgs),
    /// List the named volumes (berth-<id>-<Name>) with size and owner.
    Volumes,
    /// Remove a named volume (its data).
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Create, list and remove podman secrets for definitions' Secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Internal commands (units and packaging call these).
    #[command(hide = true, subcommand)]
    Internal(Internal),
}

/// A container id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// Container id (^[a-z0-9][a-z0-9_.-]{0,27}$).
    pub id: String,
}

/// `berth delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Container id.
    pub id: String,
    /// Also remove the container's named volumes: its data.
    #[arg(long)]
    pub volumes: bool,
}

/// `berth volume …`.
#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Remove a named volume (refused by podman while a container uses it).
    Rm {
        /// The volume as `berth volumes` lists it (berth-<id>-<Name>).
        volume: String,
    },
}

/// `berth secret …`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a secret; the value is read from stdin or --from-file, never
    /// from the command line (any user can read a process's arguments).
    Create {
        /// Secret name ([A-Za-z0-9][A-Za-z0-9_.-]{0,252}).
        name: String,
        /// Read the value from FILE instead of stdin.
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
    },
    /// List the secrets and the containers using them.
    List,
    /// Remove a secret no definition uses.
    Rm {
        /// Secret name.
        name: String,
    },
}

/// `berth install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Container id (^[a-z0-9][a-z0-9_.-]{0,27}$).
    pub id: String,
    /// Image reference as podman takes it.
    #[arg(long, value_name = "IMG", required_unless_present = "from_json")]
    pub image: Option<String>,
    /// Publish container port INT on host port EXT (EXT absent or 0: allocate).
    #[arg(long = "port", value_name = "INT[:EXT]", conflicts_with = "from_json")]
    pub ports: Vec<String>,
    /// Set a variable in the container's environment.
    #[arg(long = "env", value_name = "K=V", conflicts_with = "from_json")]
    pub env: Vec<String>,
    /// Run under the user ctr-ID with its own subordinate ids and MCS level.
    #[arg(long, conflicts_with = "from_json")]
    pub isolate: bool,
    /// systemd listens on the ports and starts the container on demand.
    #[arg(long, conflicts_with = "from_json")]
    pub socket_activated: bool,
    /// Start now and at boot.
    #[arg(long)]
    pub start: bool,
    /// Read geard's install body (a berth definition) from FILE (- for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "image")]
    pub from_json: Option<PathBuf>,
    /// Replace a mask (ID.json linked to /dev/null) with this definition;
    /// without it, installing a masked id is refused.
    #[arg(long)]
    pub unmask: bool,
    /// Print how the definition in force differs from this one and which
    /// units would change; change nothing (exit 0).
    #[arg(long)]
    pub dry_run: bool,
    /// Leave a running container on its old units (it runs the old
    /// definition until restarted); refused when the ports change.
    #[arg(long)]
    pub no_restart: bool,
}

/// `berth logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Container id.
    pub id: String,
    /// How many of the last journal lines (1-10000).
    #[arg(long, short = 'n', default_value_t = 100)]
    pub lines: u32,
}

/// `berth env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Container id.
    pub id: String,
    /// Variables to set.
    #[arg(value_name = "K=V")]
    pub set: Vec<String>,
    /// Remove a variable.
    #[arg(long, value_name = "K")]
    pub unset: Vec<String>,
    /// Replace the whole environment with the K=V given (none: empty it).
    #[arg(long, conflicts_with = "unset")]
    pub reset: bool,
    /// Restart the running container onto the new environment (without
    /// it, a running container keeps the old one and berth says so).
    #[arg(long)]
    pub restart: bool,
}

/// `berth link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// Container id.
    pub id: String,
    /// FROM_HOST:FROM_PORT=TO_HOST:TO_PORT (IPv6 in brackets).
    #[arg(value_name = "LINK")]
    pub links: Vec<String>,
}

/// `berth run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Image reference.
    pub image: String,
    /// Set a variable in the container's environment.
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Command and arguments (after --).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Hidden commands.
#[derive(Debug, Subcommand)]
pub enum Internal {
    /// Install a container's NetworkLinks in its network namespace (ExecStartPost=).
    ApplyLinks(IdArg),
    /// Write man pages (berth.1, berth-<command>.1) into DIR.
    Man {
        /// Output directory.
        dir: PathBuf,
    },
    /// Write the completion script for SHELL into DIR.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
        /// Output directory.
        dir: PathBuf,
    },
}
