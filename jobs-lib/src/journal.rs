//! The request-id journal: the reply of every mutating job run with a
//! [`RequestIdentifier`], kept as `requests/<hex>.json` under the state dir,
//! so replaying the id returns the same reply without doing the work again
//! (geard's `Join`, which only joined jobs still in memory). Lookup and
//! record happen under the store lock, so a replay that races the original
//! waits for it and then returns its reply.
//!
//! An entry is mode 0600 in a 0700 directory, holds the SHA-256 of the
//! canonical request (so a replay with another body is refused) but never
//! the body, and no reply in it carries environment values (the jobs that
//! set them answer with names only). Entries expire after [`RETENTION`]:
//! a lookup ignores older ones and every mutating job prunes them.

use crate::context::Context;
use crate::request_id::RequestIdentifier;
use crate::response::Reply;
use serde::{Deserialize, Serialize};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How long a request id can be replayed.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// One journal entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// The job name (`install`, `delete`, …).
    pub job: String,
    /// The container it acted on.
    pub container: Option<String>,
    /// SHA-256 (hex) of the canonical request ([`crate::jobs::Job::canonical_request`]).
    #[serde(default)]
    pub digest: Option<String>,
    /// The reply it gave.
    pub reply: Reply,
}

fn entry(ctx: &Context, rid: &RequestIdentifier) -> PathBuf {
    ctx.paths.requests_dir().join(format!("{}.json", rid.hex()))
}

fn expired(modified: std::io::Result<SystemTime>, now: SystemTime) -> bool {
    modified
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age > RETENTION)
}

/// The recorded reply of `rid`, if any and not expired. An unreadable
/// entry counts as none.
pub fn lookup(ctx: &Context, rid: &RequestIdentifier) -> Option<Record> {
    let p = entry(ctx, rid);
    let meta = std::fs::metadata(&p).ok()?;
    if expired(meta.modified(), SystemTime::now()) {
        return None;
    }
    let bytes = std::fs::read(p).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Records the reply of `rid` (atomically, mode 0600).
pub fn record(ctx: &Context, rid: &RequestIdentifier, rec: &Record) -> std::io::Result<()> {
    let dir = ctx.paths.requests_dir();
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(&dir)?,
        Err(e) => return Err(e),
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    let bytes = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic_private(&entry(ctx, rid), &bytes, None, "")
}

/// Removes entries older than [`RETENTION`]. Errors are ignored: a stale
/// entry costs a little disk and is never replayed.
pub fn prune(ctx: &Context) {
    let Ok(rd) = std::fs::read_dir(ctx.paths.requests_dir()) else {
        return;
    };
    let now = SystemTime::now();
    for e in rd.flatten() {
        if expired(e.metadata().and_then(|m| m.modified()), now) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
