//! Who may talk to the API: the peer's credentials at connect time
//! (`SO_PEERCRED`) against the socket's group. Root, or a process whose
//! primary or supplementary groups include the group owning the socket
//! file (`SocketGroup=berth`), is served; everyone else gets 403.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The credentials of a connected peer.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// Its pid (0 when the kernel did not say).
    pub pid: i32,
    /// Its effective uid at connect time.
    pub uid: u32,
    /// Its effective gid at connect time.
    pub gid: u32,
}

/// The group that may connect besides root: the group owning the socket
/// file at `path` (None for an abstract or unnamed socket: root only).
pub fn socket_group(path: Option<&Path>) -> Option<u32> {
    path.and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.gid())
}

/// The supplementary groups of `pid` (`Groups:` of `/proc/<pid>/status`),
/// empty when the process is gone.
fn supplementary_groups(pid: i32) -> Vec<u32> {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    s.lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Why `peer` may not connect, or None when it may.
pub fn refusal(peer: &Peer, group: Option<u32>) -> Option<String> {
    if peer.uid == 0 {
        return None;
    }
    let Some(g) = group else {
        return Some("not root, and the socket has no group".into());
    };
    if peer.gid == g || (peer.pid > 0 && supplementary_groups(peer.pid).contains(&g)) {
        return None;
    }
    Some(format!(
        "not root and not a member of the socket's group (gid {g})"
    ))
}
