//! The request-id journal: the reply of every mutating job run with a
//! [`RequestIdentifier`], kept as `requests/<hex>.json` under the state dir,
//! so replaying the id returns the same reply without doing the work again
//! (geard's `Join`, which only joined jobs still in memory). Lookup and
//! record happen under the store lock, so a replay that races the original
//! waits for it and then returns its reply.

use crate::context::Context;
use crate::request_id::RequestIdentifier;
use crate::response::Reply;
use serde::{Deserialize, Serialize};

/// One journal entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// The job name (`install`, `delete`, …).
    pub job: String,
    /// The container it acted on.
    pub container: Option<String>,
    /// The reply it gave.
    pub reply: Reply,
}

/// The recorded reply of `rid`, if any. An unreadable entry counts as none.
pub fn lookup(ctx: &Context, rid: &RequestIdentifier) -> Option<Record> {
    let p = ctx.paths.requests_dir().join(format!("{}.json", rid.hex()));
    let bytes = std::fs::read(p).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Records the reply of `rid` (atomically).
pub fn record(ctx: &Context, rid: &RequestIdentifier, rec: &Record) -> std::io::Result<()> {
    let p = ctx.paths.requests_dir().join(format!("{}.json", rid.hex()));
    let bytes = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
    // 0600 in the 0700 state dir: a reply may name what a job changed.
    crate::fsutil::write_atomic_private(&p, &bytes, None, "")
}
