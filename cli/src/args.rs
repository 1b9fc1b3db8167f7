//! The command line, as ARCHITECTURE.md's contract has it. Completions and the
//! man pages are generated from these same definitions
//! (`berth internal completions SHELL DIR`, `berth internal man DIR`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Exit codes, shown in `--help` and the man page.
pub const EXIT_CODES: &str = exit_codes!();

/// `berth --help` and berth(1): the exit codes and how geard's build
/// fields map to podman's.
pub const LONG_HELP: &str = concat!(exit_codes!(), "\n\n", build_fields!());

/// `berth build --help` and berth-build(1).
pub const BUILD_FIELDS: &str = build_fields!();

macro_rules! build_fields {
    () => {
        "\
berth build: geard's BuildImageRequest fields and podman build's options:
  Name          NAME: the unit berth-build-NAME.service, the default tag
                localhost/NAME:latest (the id rule, and it must make a valid
                image reference)
  Source        --source DIR|GIT_URL: the context argument, a directory (a
                relative one made absolute) or a git URL podman clones
                (https://, http://, git://, git@host:path; no credentials)
  Tag           --tag T: --tag=T (an image reference)
  BaseImage     --base-image I: --from=I, replacing the first FROM
  RuntimeImage  --runtime-image I: podman has no runtime image; berth passes
                --build-arg=RUNTIME_IMAGE=I, for a multi-stage Containerfile
                that declares ARG RUNTIME_IMAGE before its first FROM and
                starts its final stage FROM ${RUNTIME_IMAGE}
  Clean         --clean: --no-cache
  Verbose       --verbose: all of podman's output is streamed, not only its
                STEP, COMMIT, tag and error lines
  CallbackUrl   not taken: the caller follows the stream
berth builds (ListBuildsRequest) lists the builds since boot from records in
/run/berth/builds (0600; /run is emptied at boot)."
    };
}
use build_fields;

macro_rules! exit_codes {
    () => {
        "\
Exit codes (one per job failure kind):
  0  success
  1  Error: something failed on the host (systemd, podman, useradd, I/O)
  2  InvalidRequest: bad id, definition, flag or argument, or the id is masked
  3  NotFound: no such container, or it has no environment
  4  AlreadyExists: the id, or an explicitly requested MCS level, is taken
  5  RateLimit: the unit is changing state; try again
  6  NotAcceptable: the requested content type is not available

Environment: BERTH_ROOT (root prefix of every path), BERTH_SYSTEMD=none (no
systemd calls: tests), BERTH_DEFINITIONS_PATH, BERTH_PORT_RANGE=LOW-HIGH."
    };
}
use exit_codes;

/// berth: containers installed onto a systemd host as units (podman).
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, after_help = EXIT_CODES, after_long_help = LONG_HELP)]
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
    /// Start a container and have it start at boot (geard
    /// StartedContainerStateRequest). Waits for systemd's start job and
    /// reports its result; a failed start exits 1 with the unit's result
    /// and the last journal lines. With --group NAME, starts the group's
    /// target berth-NAME.target (its members, in dependency order) now,
    /// without changing what starts at boot.
    Start(WaitArgs),
    /// Stop a container and keep it off at boot (geard
    /// StoppedContainerStateRequest); waits for the stop job. With
    /// --group NAME, stops berth-NAME.target and its members (PartOf=)
    /// now, without changing what starts at boot.
    Stop(WaitArgs),
    /// Restart a container's service (geard RestartContainerRequest);
    /// waits for the restart job. With --group NAME, restarts
    /// berth-NAME.target and with it every member (PartOf=).
    Restart(WaitArgs),
    /// Show a container's units and their state, and its health (podman
    /// inspect: starting, healthy or unhealthy, the failing streak and the
    /// last check's output) when its definition has Health.
    Status(IdArg),
    /// Update the images of containers with AutoUpdate (registry or
    /// local) and restart them, rolling back to the old image when the
    /// restart fails. Without IDs: podman auto-update (which updates every
    /// running container with an auto-update label, berth's or not; berth
    /// reports its own). With IDs: only those (each must have AutoUpdate).
    /// Prints one line per container: UPDATED is true, false, pending
    /// (--dry-run), failed or rolled back. Exits 1 when any failed; a
    /// rollback is a warning.
    Update(UpdateArgs),
    /// Show a container's journal: its service's, socket's and proxy's
    /// entries (geard ContainerLogRequest), read with journalctl
    /// --output=json; -f follows until Ctrl-C or until the container is
    /// deleted. With --json, one JSON object per line, the final record
    /// last.
    Logs(LogsArgs),
    /// Show everything berth knows about a container: the definition in
    /// force (its file and the files it shadows), the units the generator
    /// renders from it, its reservations (ports, MCS level, user,
    /// subordinate range) and its units' live state. Environment values
    /// are hidden (berth content ID --type env shows them).
    Inspect(IdArg),
    /// Print a container's content of a type (geard ContentRequest): only
    /// --type env, the environment as NAME=VALUE lines; any other type
    /// exits 6 (NotAcceptable, geard ErrContentTypeDoesNotMatch).
    Content(ContentArgs),
    /// Delete every container berth installed (geard's gear purge):
    /// every definition in /etc/berth/containers, as berth delete takes
    /// it; volumes are kept; definitions in /run and /usr/lib stay.
    /// Needs --yes.
    Purge(PurgeArgs),
    /// Pull a container's image again (podman pull); refused when its
    /// Pull is never. A running container uses it after a restart.
    Pull(IdArg),
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
    /// Run a one-off container as a transient unit berth-run-<hex>.service
    /// (geard RunContainerRequest): its output is printed as it is
    /// produced and berth exits with the container's exit status; Ctrl-C
    /// stops the unit (exit 130). --detach prints the unit name instead.
    Run(RunArgs),
    /// Build an image with podman build in a transient unit
    /// berth-build-NAME.service (geard BuildImageRequest), streaming its
    /// step lines, and leave it tagged (default localhost/NAME:latest).
    ///
    /// Exits 0 when the image is built, with podman's exit status when the
    /// build failed, 130 after Ctrl-C (which stops the unit). The unit runs
    /// podman's argv, never a shell. Nothing secret belongs in a build: a
    /// URL with credentials is refused, since a unit's argv is readable by
    /// every user.
    #[command(after_long_help = BUILD_FIELDS)]
    Build(BuildArgs),
    /// List the builds since boot (geard ListBuildsRequest): running ones
    /// and finished ones with their result (succeeded, failed,
    /// interrupted; unknown when berth went away before the build
    /// ended), from the records in /run/berth/builds (0600; /run is
    /// emptied at boot) and the units' live state.
    Builds,
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

/// start, stop, restart.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Container id (^[a-z0-9][a-z0-9_.-]{0,27}$).
    #[arg(required_unless_present = "group", conflicts_with = "group")]
    pub id: Option<String>,
    /// Act on the group NAME (the containers whose Group is NAME) through
    /// its target berth-NAME.target; no member in force exits 3.
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// Return once systemd has queued the job (result Accepted), without
    /// waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,
}

/// `berth content`.
#[derive(Debug, Args)]
pub struct ContentArgs {
    /// Container id.
    pub id: String,
    /// The content type; berth serves env.
    #[arg(long = "type", value_name = "TYPE")]
    pub content_type: String,
}

/// `berth purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Yes, delete every container berth installed.
    #[arg(long)]
    pub yes: bool,
}

/// `berth delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Container id.
    pub id: String,
    /// Also remove the container's named volumes: its data.
    #[arg(long)]
    pub volumes: bool,
    /// Delete it even when other containers name it in Requires (without
    /// it, that is refused, exit 2, naming them): systemd stops them with
    /// it, and they fail to start until it is installed again.
    #[arg(long)]
    pub force: bool,
}

/// `berth update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Only these containers (each must have AutoUpdate).
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Only say which containers have a newer image (pending): nothing
    /// is pulled, restarted or changed (podman auto-update --dry-run).
    #[arg(long)]
    pub dry_run: bool,
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
    /// Publish container port INT on host port EXT (EXT absent or 0:
    /// allocate), TCP unless `/udp` follows.
    #[arg(
        long = "port",
        value_name = "INT[:EXT][/udp]",
        conflicts_with = "from_json"
    )]
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
    /// Start now and at boot, and wait for the start job (as berth start).
    #[arg(long)]
    pub start: bool,
    /// With --start: return once the start job is queued.
    #[arg(long)]
    pub no_wait: bool,
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
    /// How many of the last journal entries (1-10000).
    #[arg(long, short = 'n', default_value_t = 100)]
    pub lines: u32,
    /// Keep printing new entries until Ctrl-C or until the container is
    /// deleted (journalctl --follow).
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Entries at or after TIME, as journalctl takes it ("2026-12-01
    /// 10:00", "-1h", "today").
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Entries at or before TIME (as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// short: "TIME IDENTIFIER[PID]: MESSAGE" lines; json: one object per
    /// entry (Time, Unit, Identifier, Pid, Priority, Message).
    #[arg(long, short = 'o', value_name = "FORMAT", default_value = "short",
          value_parser = ["short", "json"])]
    pub output: String,
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
    /// Set a variable in the container's environment (the values go
    /// through a 0600 file under /run/berth/run, never an argv).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Publish container port INT on host port EXT (podman --publish;
    /// EXT absent or 0: podman chooses), TCP unless `/udp` follows.
    #[arg(long = "port", value_name = "INT[:EXT][/udp]")]
    pub ports: Vec<String>,
    /// Mount a volume as podman --volume takes it.
    #[arg(long = "volume", value_name = "SRC:DST[:OPTS]")]
    pub volumes: Vec<String>,
    /// Run in a user namespace of its own (podman --userns=auto).
    #[arg(long)]
    pub isolate: bool,
    /// Print the unit name once it is started instead of following it.
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Command and arguments (after --).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `berth build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The build's name (the id rule, ^[a-z0-9][a-z0-9_.-]{0,27}$): the
    /// unit is berth-build-NAME.service, the default tag
    /// localhost/NAME:latest.
    pub name: String,
    /// The build context: a directory holding a Containerfile or
    /// Dockerfile (a relative one is made absolute), or a git URL
    /// (https://, http://, git://, git@host:path) without credentials.
    #[arg(long, value_name = "DIR|GIT_URL")]
    pub source: String,
    /// The image reference to tag (podman --tag; default
    /// localhost/NAME:latest).
    #[arg(long, value_name = "T")]
    pub tag: Option<String>,
    /// Build from image I instead of the Containerfile's first FROM
    /// (podman --from).
    #[arg(long, value_name = "I")]
    pub base_image: Option<String>,
    /// The runtime stage's image, passed as
    /// --build-arg=RUNTIME_IMAGE=I (the Containerfile must use it).
    #[arg(long, value_name = "I")]
    pub runtime_image: Option<String>,
    /// Build without podman's layer cache (podman --no-cache).
    #[arg(long)]
    pub clean: bool,
    /// Stream all of podman's output instead of its step lines (STEP,
    /// COMMIT, tag and error lines).
    #[arg(long, short = 'v')]
    pub verbose: bool,
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
