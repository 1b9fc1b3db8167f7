//! geard's route table (`http/handlers.go`): method and path to a job of
//! berth-jobs, with geard's request bodies. Every body is JSON; the install
//! body is a berth definition, parsed by the one parser in
//! berth-definition.

use berth_jobs::definition::{Definition, EnvVar, NetworkLink, PortPair};
use berth_jobs::error::JobError;
use berth_jobs::jobs::{self, Job};
use hyper::Method;
use serde::Deserialize;

/// Why no job was built: the HTTP status and the message.
#[derive(Debug)]
pub struct Refusal {
    /// 400, 404 or 405.
    pub status: u16,
    /// What was wrong.
    pub error: JobError,
}

fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        error: JobError::invalid(message),
    }
}

fn bad_body(e: impl std::fmt::Display) -> Refusal {
    refuse(400, format!("Invalid request: {e}"))
}

/// geard's `EnvironmentDescription`: `{"Variables": [{"Name","Value"}]}`
/// (`Id` and `Source` accepted and ignored: the id is the path's), plus
/// berth's `Unset` for PATCH.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct EnvironmentBody {
    #[serde(default)]
    variables: Vec<EnvVar>,
    #[serde(default)]
    unset: Vec<String>,
    #[serde(default)]
    restart: bool,
    #[serde(default, rename = "Id")]
    _id: Option<String>,
    #[serde(default, rename = "Source")]
    _source: Option<String>,
}

/// geard's `ContainerLinks` body: `{"Links": [{"Id", "NetworkLinks"}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct LinksBody {
    links: Vec<LinkEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct LinkEntry {
    id: String,
    #[serde(default)]
    network_links: Vec<NetworkLink>,
}

/// geard's `RunContainerRequest` (`Image`, `Command`, `Arguments`,
/// `Environment`), plus berth's `Ports`, `Volumes`, `Isolate`, `Detach`.
/// `Name` is accepted and ignored (geard named the unit by request id).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RunBody {
    image: String,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    arguments: Vec<String>,
    #[serde(default)]
    environment: Option<EnvironmentBody>,
    #[serde(default)]
    ports: Vec<PortPair>,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    isolate: bool,
    #[serde(default)]
    detach: bool,
    #[serde(default, rename = "Name")]
    _name: Option<String>,
}

/// geard's `BuildImageRequest` body (`CallbackUrl` is not taken: the
/// caller follows the stream).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct BuildBody {
    name: String,
    source: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    base_image: Option<String>,
    #[serde(default)]
    runtime_image: Option<String>,
    #[serde(default)]
    clean: bool,
    #[serde(default)]
    verbose: bool,
}

/// berth's `POST /containers/update` body: `{"Ids": [...], "DryRun": bool}`
/// (no ids: every berth container podman updates).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct UpdateBody {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    dry_run: bool,
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Refusal> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(bad_body)
}

fn query_flag(query: &str, name: &str) -> bool {
    query_value(query, name).is_some_and(|v| matches!(v, "" | "1" | "true" | "yes"))
}

fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

/// Percent-decodes one path segment (geard encoded ids with
/// `EncodeUrlPath`); a segment that does not decode to UTF-8 is refused.
fn segment(s: &str) -> Result<String, Refusal> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| refuse(400, format!("Invalid percent-encoding in {s:?}")))?;
            out.push(h);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| refuse(400, format!("{s:?} is not UTF-8")))
}

/// The job for `method path?query` with `body`.
///
/// Errors: 404 for an unknown path, 405 for a known path with another
/// method, 400 for a body that does not parse.
pub fn route(
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Result<Box<dyn Job + Send>, Refusal> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_allowed = || refuse(405, format!("{method} is not allowed on {path}"));
    let m = method.clone();
    Ok(match parts.as_slice() {
        ["container", id] => {
            let id = segment(id)?;
            match m {
                Method::PUT => {
                    let definition = Definition::from_request_json(body).map_err(|e| Refusal {
                        status: 400,
                        error: JobError::invalid("The definition is not valid.").detail(e),
                    })?;
                    Box::new(jobs::InstallContainerRequest {
                        id,
                        definition,
                        unmask: false,
                        wait: true,
                        dry_run: false,
                        no_restart: false,
                    })
                }
                Method::DELETE => Box::new(jobs::DeleteContainerRequest {
                    id,
                    volumes: query_flag(query, "volumes"),
                    force: query_flag(query, "force"),
                }),
                _ => return Err(not_allowed()),
            }
        }
        ["container", id, action] => {
            let id = segment(id)?;
            match (m, *action) {
                (Method::PUT, "started") => {
                    Box::new(jobs::StartedContainerStateRequest { id, wait: true })
                }
                (Method::PUT, "stopped") => {
                    Box::new(jobs::StoppedContainerStateRequest { id, wait: true })
                }
                (Method::POST, "restart") => {
                    Box::new(jobs::RestartContainerRequest { id, wait: true })
                }
                (Method::GET, "status") => Box::new(jobs::ContainerStatusRequest { id }),
                (Method::GET, "ports") => Box::new(jobs::ContainerPortsRequest { id }),
                (Method::GET, "log") => {
                    let lines = match query_value(query, "lines") {
                        Some(n) => Some(n.parse::<u32>().map_err(|_| {
                            refuse(400, format!("lines must be a number (got {n:?})"))
                        })?),
                        None => None,
                    };
                    Box::new(jobs::ContainerLogRequest {
                        id,
                        lines,
                        follow: query_flag(query, "follow"),
                        since: query_value(query, "since").map(segment).transpose()?,
                        until: query_value(query, "until").map(segment).transpose()?,
                        json: query_value(query, "output") == Some("json"),
                    })
                }
                (_, "started" | "stopped" | "restart" | "status" | "ports" | "log") => {
                    return Err(not_allowed())
                }
                _ => return Err(unknown(path)),
            }
        }
        ["group", name, action] => {
            let group = segment(name)?;
            let action = match (m, *action) {
                (Method::PUT, "started") => jobs::GroupAction::Start,
                (Method::PUT, "stopped") => jobs::GroupAction::Stop,
                (Method::POST, "restart") => jobs::GroupAction::Restart,
                (_, "started" | "stopped" | "restart") => return Err(not_allowed()),
                _ => return Err(unknown(path)),
            };
            Box::new(jobs::GroupStateRequest {
                group,
                action,
                wait: true,
            })
        }
        ["containers", "update"] if m == Method::POST => {
            let b: UpdateBody = json(body)?;
            Box::new(jobs::AutoUpdateRequest {
                ids: b.ids,
                dry_run: b.dry_run,
            })
        }
        ["containers"] if m == Method::GET => Box::new(jobs::ListContainersRequest),
        ["images"] if m == Method::GET => Box::new(jobs::ListImagesRequest),
        ["containers", "links"] if m == Method::POST => {
            let b: LinksBody = json(body)?;
            Box::new(jobs::LinkContainersRequest {
                links: b
                    .links
                    .into_iter()
                    .map(|l| jobs::ContainerLinks {
                        id: l.id,
                        network_links: l.network_links,
                    })
                    .collect(),
            })
        }
        ["environment", id] => {
            let id = segment(id)?;
            match m {
                Method::GET => Box::new(jobs::GetEnvironmentRequest { id }),
                Method::PUT => {
                    let b: EnvironmentBody = json(body)?;
                    if !b.unset.is_empty() {
                        return Err(refuse(
                            400,
                            "Unset is for PATCH; PUT replaces every variable",
                        ));
                    }
                    Box::new(jobs::PutEnvironmentRequest {
                        id,
                        variables: b.variables,
                        restart: b.restart,
                    })
                }
                Method::PATCH => {
                    let b: EnvironmentBody = json(body)?;
                    Box::new(jobs::PatchEnvironmentRequest {
                        id,
                        set: b.variables,
                        unset: b.unset,
                        restart: b.restart,
                    })
                }
                _ => return Err(not_allowed()),
            }
        }
        ["jobs"] if m == Method::POST => {
            let b: RunBody = json(body)?;
            let mut command: Vec<String> = b.command.into_iter().collect();
            command.extend(b.arguments);
            Box::new(jobs::RunContainerRequest {
                image: b.image,
                command,
                environment: b.environment.map(|e| e.variables).unwrap_or_default(),
                ports: b.ports,
                volumes: b.volumes,
                isolate: b.isolate,
                detach: b.detach,
            })
        }
        ["builds"] if m == Method::GET => Box::new(jobs::ListBuildsRequest),
        ["build-image"] if m == Method::POST => {
            let b: BuildBody = json(body)?;
            Box::new(jobs::BuildImageRequest {
                name: b.name,
                source: b.source,
                tag: b.tag,
                base_image: b.base_image,
                runtime_image: b.runtime_image,
                clean: b.clean,
                verbose: b.verbose,
            })
        }
        ["containers"]
        | ["images"]
        | ["containers", "links"]
        | ["containers", "update"]
        | ["jobs"]
        | ["builds"]
        | ["build-image"] => return Err(not_allowed()),
        _ => return Err(unknown(path)),
    })
}

fn unknown(path: &str) -> Refusal {
    refuse(404, format!("No route for {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_decode() {
        assert_eq!(segment("web%2d1").unwrap(), "web-1");
        assert_eq!(segment("a").unwrap(), "a");
        assert!(segment("%zz").is_err());
    }

    #[test]
    fn unknown_and_wrong_method() {
        assert_eq!(
            route(&Method::GET, "/nope", "", b"").err().unwrap().status,
            404
        );
        assert_eq!(
            route(&Method::POST, "/container/a/status", "", b"")
                .err()
                .unwrap()
                .status,
            405
        );
        assert_eq!(
            route(&Method::POST, "/builds", "", b"")
                .err()
                .unwrap()
                .status,
            405
        );
        assert_eq!(
            route(&Method::POST, "/build-image", "", b"{\"Name\": \"a\"}")
                .err()
                .unwrap()
                .status,
            400
        );
        assert_eq!(
            route(&Method::POST, "/jobs", "", b"{")
                .err()
                .unwrap()
                .status,
            400
        );
    }

    #[test]
    fn groups_and_update() {
        let j = route(&Method::POST, "/group/app/restart", "", b"").unwrap();
        assert_eq!(j.name(), "group-restart");
        let j = route(&Method::PUT, "/group/app/stopped", "", b"").unwrap();
        assert_eq!(j.name(), "group-stop");
        assert_eq!(
            route(&Method::GET, "/group/app/started", "", b"")
                .err()
                .unwrap()
                .status,
            405
        );
        let j = route(
            &Method::POST,
            "/containers/update",
            "",
            br#"{"Ids": ["web"], "DryRun": true}"#,
        )
        .unwrap();
        assert_eq!(j.name(), "update");
        assert!(!j.mutates());
        assert_eq!(
            route(&Method::GET, "/containers/update", "", b"")
                .err()
                .unwrap()
                .status,
            405
        );
    }

    #[test]
    fn names() {
        let j = route(&Method::PUT, "/container/a/started", "", b"").unwrap();
        assert_eq!(
            j.name(),
            jobs::StartedContainerStateRequest {
                id: "a".into(),
                wait: true
            }
            .name()
        );
        assert_eq!(j.container(), Some("a"));
    }
}
