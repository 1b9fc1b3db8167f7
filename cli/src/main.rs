//! `berth`: the command line over the job library (geard's jobs API).
//! Parses arguments, builds one job, dispatches it, prints the reply (a
//! table or message, or JSON with `--json`) and exits with the code of the
//! failure kind (see `args::EXIT_CODES`).

mod args;
mod output;
mod parse;

use anyhow::Context as _;
use args::{Cli, Command, Internal, SecretCommand, VolumeCommand};
use berth_jobs::context::Context;
use berth_jobs::definition::{Definition, Environment};
use berth_jobs::error::JobError;
use berth_jobs::jobs::{self, dispatch, Job};
use berth_jobs::request_id::RequestIdentifier;
use berth_jobs::response::Response;
use clap::{CommandFactory, Parser};
use std::process::ExitCode;

fn main() -> ExitCode {
    // `--json` anywhere on the line asks for JSON errors, even when the
    // line itself does not parse.
    let json = std::env::args_os().skip(1).any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if json && e.use_stderr() => {
            let msg = e.render().to_string();
            let first = msg
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            return output::failure(true, &JobError::invalid(first.to_owned()));
        }
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => output::failure(
            json,
            &JobError::new(berth_jobs::error::FailureKind::Error, format!("{e:#}")),
        ),
    }
}

fn invalid(json: bool, msg: String) -> ExitCode {
    output::failure(json, &JobError::invalid(msg))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.json;
    if let Command::Internal(Internal::Man { dir }) = &cli.command {
        return generate_man(dir).map(|_| ExitCode::SUCCESS);
    }
    if let Command::Internal(Internal::Completions { shell, dir }) = &cli.command {
        std::fs::create_dir_all(dir)?;
        let path = clap_complete::generate_to(*shell, &mut Cli::command(), "berth", dir)?;
        println!("{}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let request_id = match &cli.request_id {
        Some(s) => match s.parse::<RequestIdentifier>() {
            Ok(r) => Some(r),
            Err(e) => return Ok(invalid(json, e.to_string())),
        },
        None => None,
    };
    let ctx = Context::from_env(cli.root.clone()).map_err(anyhow::Error::msg)?;
    let job: Box<dyn Job> = match build_job(cli.command) {
        Ok(Built::Job(j)) => j,
        Ok(Built::ApplyLinks(id)) => {
            return Ok(match berth_jobs::links::apply(&ctx, &id) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => output::failure(json, &e),
            })
        }
        Err(e) => return Ok(output::failure(json, &e)),
    };
    let streams = job.streams();
    if streams {
        // Ctrl-C ends a follow or stops an attached unit, cleanly.
        berth_jobs::interrupt::install();
    }
    let stdout = std::io::stdout();
    if streams && json {
        // One JSON object per line as it comes; the response writes the
        // final record itself.
        let out = dispatch(
            &ctx,
            job.as_ref(),
            request_id,
            Response::json_lines(stdout.lock()),
        );
        return Ok(match out {
            Ok(reply) => exit_status(&reply).unwrap_or(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("berth: {e}");
                failed_status(&e).unwrap_or(ExitCode::from(e.kind.exit_code() as u8))
            }
        });
    }
    let out = dispatch(
        &ctx,
        job.as_ref(),
        request_id,
        Response::new(stdout.lock(), streams),
    );
    Ok(match out {
        // An attached run prints its output only, and exits with the
        // container's status.
        Ok(reply) if streams => {
            for w in &reply.success.warnings {
                eprintln!("berth: warning: {w}");
            }
            if let Some(m) = &reply.success.message {
                eprintln!("{m}");
            }
            exit_status(&reply).unwrap_or(ExitCode::SUCCESS)
        }
        Ok(reply) => output::success(json, &reply),
        Err(e) if streams => {
            let code = output::failure(json, &e);
            failed_status(&e).unwrap_or(code)
        }
        Err(e) => output::failure(json, &e),
    })
}

/// The exit status a failed streamed job asks for: a failed build's
/// podman status (130 after Ctrl-C).
fn failed_status(e: &JobError) -> Option<ExitCode> {
    let data = e.data.as_ref()?;
    if data["Interrupted"] == true {
        return Some(ExitCode::from(130));
    }
    let s = data.get("ExitStatus")?.as_i64().filter(|s| *s > 0)?;
    Some(ExitCode::from(u8::try_from(s.min(255)).unwrap_or(255)))
}

/// The exit status a streamed reply asks for: an attached run's container
/// status (130 after Ctrl-C).
fn exit_status(reply: &berth_jobs::response::Reply) -> Option<ExitCode> {
    if reply.success.data["Interrupted"] == true {
        return Some(ExitCode::from(130));
    }
    let s = reply.success.data.get("ExitStatus")?.as_i64()?;
    Some(ExitCode::from(u8::try_from(s.clamp(0, 255)).unwrap_or(255)))
}

enum Built {
    Job(Box<dyn Job>),
    ApplyLinks(String),
}

fn build_job(cmd: Command) -> Result<Built, JobError> {
    let inv = JobError::invalid;
    let cmd_name = match &cmd {
        Command::Start(_) => "start",
        Command::Stop(_) => "stop",
        _ => "restart",
    };
    Ok(Built::Job(match cmd {
        Command::Install(a) => {
            let definition = match &a.from_json {
                Some(f) => {
                    let bytes = if f.as_os_str() == "-" {
                        let mut b = Vec::new();
                        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
                            .map_err(|e| inv(format!("stdin: {e}")))?;
                        b
                    } else {
                        std::fs::read(f).map_err(|e| inv(format!("{}: {e}", f.display())))?
                    };
                    let mut d = Definition::from_request_json(&bytes).map_err(|e| {
                        JobError::invalid("The definition is not valid.")
                            .detail(format!("{}: {e}", f.display()))
                    })?;
                    d.started |= a.start;
                    d
                }
                None => {
                    let ports = a
                        .ports
                        .iter()
                        .map(|p| parse::port(p))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(inv)?;
                    let vars = a
                        .env
                        .iter()
                        .map(|e| parse::env(e))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(inv)?;
                    Definition {
                        image: a.image.unwrap_or_default(),
                        started: a.start,
                        isolate: a.isolate,
                        socket_activation: a.socket_activated,
                        ports,
                        environment: (!vars.is_empty()).then_some(Environment { variables: vars }),
                        ..Definition::default()
                    }
                }
            };
            Box::new(jobs::InstallContainerRequest {
                id: a.id,
                definition,
                unmask: a.unmask,
                wait: !a.no_wait,
                dry_run: a.dry_run,
                no_restart: a.no_restart,
            })
        }
        Command::Start(a) | Command::Stop(a) | Command::Restart(a) if a.group.is_some() => {
            let action = match cmd_name {
                "start" => jobs::GroupAction::Start,
                "stop" => jobs::GroupAction::Stop,
                _ => jobs::GroupAction::Restart,
            };
            Box::new(jobs::GroupStateRequest {
                group: a.group.unwrap_or_default(),
                action,
                wait: !a.no_wait,
            })
        }
        Command::Start(a) => Box::new(jobs::StartedContainerStateRequest {
            id: a.id.unwrap_or_default(),
            wait: !a.no_wait,
        }),
        Command::Stop(a) => Box::new(jobs::StoppedContainerStateRequest {
            id: a.id.unwrap_or_default(),
            wait: !a.no_wait,
        }),
        Command::Restart(a) => Box::new(jobs::RestartContainerRequest {
            id: a.id.unwrap_or_default(),
            wait: !a.no_wait,
        }),
        Command::Update(a) => Box::new(jobs::AutoUpdateRequest {
            ids: a.ids,
            dry_run: a.dry_run,
        }),
        Command::Inspect(a) => Box::new(jobs::InspectContainerRequest { id: a.id }),
        Command::Content(a) => Box::new(jobs::ContentRequest {
            id: a.id,
            content_type: a.content_type,
        }),
        Command::Purge(a) => Box::new(jobs::PurgeContainersRequest { confirm: a.yes }),
        Command::Pull(a) => Box::new(jobs::PullImageRequest { id: a.id }),
        Command::Status(a) => Box::new(jobs::ContainerStatusRequest { id: a.id }),
        Command::Logs(a) => Box::new(jobs::ContainerLogRequest {
            id: a.id,
            lines: Some(a.lines),
            follow: a.follow,
            since: a.since,
            until: a.until,
            json: a.output == "json",
        }),
        Command::Ports(a) => Box::new(jobs::ContainerPortsRequest { id: a.id }),
        Command::Delete(a) => Box::new(jobs::DeleteContainerRequest {
            id: a.id,
            volumes: a.volumes,
            force: a.force,
        }),
        Command::Volumes => Box::new(jobs::ListVolumesRequest),
        Command::Volume(VolumeCommand::Rm { volume }) => {
            Box::new(jobs::RemoveVolumeRequest { volume })
        }
        Command::Secret(SecretCommand::Create { name, from_file }) => {
            let value = read_secret(from_file.as_deref()).map_err(inv)?;
            Box::new(jobs::CreateSecretRequest { name, value })
        }
        Command::Secret(SecretCommand::List) => Box::new(jobs::ListSecretsRequest),
        Command::Secret(SecretCommand::Rm { name }) => Box::new(jobs::RemoveSecretRequest { name }),
        Command::List => Box::new(jobs::ListContainersRequest),
        Command::Images => Box::new(jobs::ListImagesRequest),
        Command::Env(a) => {
            let set = a
                .set
                .iter()
                .map(|e| parse::env(e))
                .collect::<Result<Vec<_>, _>>()
                .map_err(inv)?;
            if a.reset {
                Box::new(jobs::PutEnvironmentRequest {
                    id: a.id,
                    variables: set,
                    restart: a.restart,
                })
            } else if set.is_empty() && a.unset.is_empty() && !a.restart {
                Box::new(jobs::GetEnvironmentRequest { id: a.id })
            } else {
                Box::new(jobs::PatchEnvironmentRequest {
                    id: a.id,
                    set,
                    unset: a.unset,
                    restart: a.restart,
                })
            }
        }
        Command::Link(a) => {
            let links = a
                .links
                .iter()
                .map(|l| parse::link(l))
                .collect::<Result<Vec<_>, _>>()
                .map_err(inv)?;
            Box::new(jobs::LinkContainersRequest {
                links: vec![jobs::ContainerLinks {
                    id: a.id,
                    network_links: links,
                }],
            })
        }
        Command::Run(a) => {
            let environment = a
                .env
                .iter()
                .map(|e| parse::env(e))
                .collect::<Result<Vec<_>, _>>()
                .map_err(inv)?;
            let ports = a
                .ports
                .iter()
                .map(|p| parse::port(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(inv)?;
            Box::new(jobs::RunContainerRequest {
                image: a.image,
                command: a.command,
                environment,
                ports,
                volumes: a.volumes,
                isolate: a.isolate,
                detach: a.detach,
            })
        }
        Command::Build(a) => {
            // The unit does not run in berth's directory: a relative
            // context is made absolute here.
            let source = if a.source.starts_with('/')
                || a.source.contains("://")
                || a.source.starts_with("git@")
            {
                a.source
            } else {
                std::path::absolute(&a.source)
                    .map_err(|e| inv(format!("--source {}: {e}", a.source)))?
                    .to_string_lossy()
                    .into_owned()
            };
            Box::new(jobs::BuildImageRequest {
                name: a.name,
                source,
                tag: a.tag,
                base_image: a.base_image,
                runtime_image: a.runtime_image,
                clean: a.clean,
                verbose: a.verbose,
            })
        }
        Command::Builds => Box::new(jobs::ListBuildsRequest),
        Command::Internal(Internal::ApplyLinks(a)) => return Ok(Built::ApplyLinks(a.id)),
        Command::Internal(_) => unreachable!("handled before"),
    }))
}

/// A secret's value from `file` or stdin, at most one byte more than
/// podman takes (so an oversized one is refused, not cut).
fn read_secret(file: Option<&std::path::Path>) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let limit = jobs::MAX_SECRET_BYTES as u64 + 1;
    let mut buf = Vec::new();
    match file {
        Some(f) => std::fs::File::open(f)
            .and_then(|h| h.take(limit).read_to_end(&mut buf))
            .map_err(|e| format!("{}: {e}", f.display()))?,
        None => std::io::stdin()
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| format!("stdin: {e}"))?,
    };
    Ok(buf)
}

fn generate_man(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let cmd = Cli::command();
    let mut pages = vec![("berth".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push((
            format!("berth-{}", sub.get_name()),
            sub.clone().name(format!("berth-{}", sub.get_name())),
        ));
    }
    for (name, c) in pages {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, buf).with_context(|| path.display().to_string())?;
        println!("{}", path.display());
    }
    Ok(())
}
