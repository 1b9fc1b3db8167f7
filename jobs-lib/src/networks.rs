//! Named podman networks (`Network: NAME`), owned like ports.
//!
//! `berth install` creates the network a definition names when podman has
//! none by that name (`podman network create NAME`: with netavark, DNS is
//! on for every network but podman's default one, so containers on it
//! reach each other by name and `NetworkAliases`). berth records that it
//! created it in `/var/lib/berth/networks/<name>` — written before the
//! network, as a port claim is, so a crash in between leaves a record
//! that the next job settles — and removes only networks it recorded:
//! one an administrator or another tool made is never touched.
//!
//! A recorded network is removed when no definition in force names it
//! (any directory of the search path, hand-written or vendor: one in
//! `/usr/lib` keeps it alive) and no podman container, berth's or not,
//! uses it: `podman network rm` without `--force` refuses a network in
//! use, and berth leaves it for a later job then. This runs after a
//! delete, after an install that moved a container to another network, on
//! the rollback of an install that created one, and at the start of every
//! mutating job ([`release_unused`]); nothing is released while a
//! definition in force cannot be read or a directory cannot be listed.

use crate::context::Context;
use crate::definition::Definition;
use crate::error::{FailureKind, JobError};
use crate::host::HostError;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// `Network` values that are modes or podman's own network, never created
/// nor removed: `host`, `none`, `bridge` (podman's default network),
/// `podman` (its name), `private`, `slirp4netns`, `pasta`.
pub const NOT_NAMED: &[&str] = &[
    "host",
    "none",
    "bridge",
    "podman",
    "private",
    "slirp4netns",
    "pasta",
];

/// The podman network a definition names, if it names one berth manages:
/// a name as podman takes it (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, no mode such as
/// `container:ID` or options after a colon) and none of [`NOT_NAMED`].
pub fn named(def: &Definition) -> Option<&str> {
    let n = def.network.as_deref()?;
    let first = n.chars().next()?;
    let ok = first.is_ascii_alphanumeric()
        && n.len() <= 255
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    (ok && !NOT_NAMED.contains(&n)).then_some(n)
}

fn records_dir(ctx: &Context) -> PathBuf {
    ctx.paths.state_dir().join("networks")
}

fn record(ctx: &Context, name: &str) -> PathBuf {
    records_dir(ctx).join(name)
}

/// The networks berth created and still holds, sorted.
pub fn recorded(ctx: &Context) -> std::io::Result<BTreeSet<String>> {
    match std::fs::read_dir(records_dir(ctx)) {
        Ok(rd) => Ok(rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(e),
    }
}

fn fail(what: String, e: impl std::fmt::Display) -> JobError {
    JobError::new(
        FailureKind::Error,
        "Unable to set up the container's network.",
    )
    .detail(format!("{what}: {e}"))
}

/// `podman network exists NAME` (exit 0 yes, 1 no).
fn exists(ctx: &Context, name: &str) -> Result<bool, HostError> {
    crate::podman::exists(ctx, &["network", "exists", name])
}

/// Makes the network `def` names exist: creates it when podman has none
/// by that name, recording that berth did. Returns the name when this call
/// created it (what a rollback removes).
///
/// Errors: podman could not tell or create it; the record could not be
/// written.
pub fn on_install(ctx: &Context, id: &str, def: &Definition) -> Result<Option<String>, JobError> {
    let Some(name) = named(def) else {
        return Ok(None);
    };
    if exists(ctx, name).map_err(|e| fail(format!("network {name}"), e))? {
        return Ok(None);
    }
    // The record goes first: a crash after the create leaves a record the
    // next job settles, never a network nobody knows berth made.
    let r = record(ctx, name);
    std::fs::create_dir_all(records_dir(ctx))
        .and_then(|()| std::fs::write(&r, format!("{id}\n")))
        .map_err(|e| fail(r.display().to_string(), e))?;
    let mut c = ctx.host.command(&ctx.podman);
    c.args(["network", "create", name]);
    if let Err(e) = ctx.host.run(c) {
        let _ = std::fs::remove_file(&r);
        return Err(fail(format!("podman network create {name}"), e));
    }
    ctx.info(&format!("created podman network {name} for {id}"));
    Ok(Some(name.to_owned()))
}

/// Removes `name`, which this install created, when the install fails.
pub fn roll_back(ctx: &Context, name: &str) {
    match remove(ctx, name) {
        Ok(_) => {}
        Err(e) => ctx.info(&format!(
            "warning: the network {name} this install created is left (the next job retries): {e}"
        )),
    }
}

/// Removes a recorded network if podman lets it (no container uses it),
/// and its record. Returns whether it is gone.
fn remove(ctx: &Context, name: &str) -> Result<bool, String> {
    let present = exists(ctx, name).map_err(|e| e.to_string())?;
    if present {
        // No --force: podman refuses a network any container uses.
        let mut c = ctx.host.command(&ctx.podman);
        c.args(["network", "rm", name]);
        ctx.host.run(c).map_err(|e| e.to_string())?;
    }
    let r = record(ctx, name);
    crate::fsutil::remove_if_exists(&r).map_err(|e| format!("{}: {e}", r.display()))?;
    Ok(present)
}

/// Removes every network berth created that no definition in force names
/// and no container uses; returns the ones removed. A network podman
/// refuses (in use) is kept for a later job, quietly. Call with the store
/// lock held.
pub fn release_unused(ctx: &Context) -> Vec<String> {
    let records = match recorded(ctx) {
        Ok(r) if r.is_empty() => return Vec::new(),
        Ok(r) => r,
        Err(e) => {
            ctx.info(&format!("warning: {}: {e}", records_dir(ctx).display()));
            return Vec::new();
        }
    };
    let found = ctx.paths.search_path().discover();
    let (candidates, errors) = (found.candidates, found.errors);
    if !errors.is_empty() {
        return Vec::new();
    }
    let mut used = BTreeSet::new();
    for c in candidates.iter().filter(|c| !c.masked) {
        match c.load() {
            Ok(l) => {
                if let Some(n) = named(&l.definition) {
                    used.insert(n.to_owned());
                }
            }
            // Whatever it names keeps its network.
            Err(_) => return Vec::new(),
        }
    }
    let mut removed = Vec::new();
    for name in records.into_iter().filter(|n| !used.contains(n)) {
        match remove(ctx, &name) {
            Ok(true) => {
                ctx.info(&format!(
                    "removed podman network {name}: berth created it and nothing uses it"
                ));
                removed.push(name);
            }
            Ok(false) => {}
            Err(_) => {}
        }
    }
    removed
}
