//! Labelling a container's host directories with its MCS level.
//!
//! When SELinux is enabled (selinuxfs mounted with an `enforce` file, the
//! test libselinux's `is_selinux_enabled()` makes), a directory gets the
//! context `system_u:object_r:container_file_t:<McsLevel>`, written the way
//! `setfilecon(3)` does: the `security.selinux` extended attribute. When it
//! is not, nothing is labelled and the caller logs one info line.
//!
//! (The `selinux` crate would do the same through libselinux, but needs
//! libselinux headers and libclang at build time; the attribute write is
//! the whole of what berth needs.)

use std::io;
use std::path::Path;

/// The SELinux type of container content (container-selinux).
pub const CONTAINER_FILE_TYPE: &str = "container_file_t";

/// Whether SELinux is enabled on this host.
pub fn enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// The file context for a container directory at `level` (`s0:cX,cY`).
pub fn container_file_context(level: &str) -> String {
    format!("system_u:object_r:{CONTAINER_FILE_TYPE}:{level}")
}

/// Labels `path` (not following a symlink) with the container file
/// context at `level`.
///
/// Errors: the kernel refused the label.
pub fn label(path: &Path, level: &str) -> io::Result<()> {
    let mut ctx = container_file_context(level).into_bytes();
    ctx.push(0);
    rustix::fs::lsetxattr(
        path,
        "security.selinux",
        &ctx,
        rustix::fs::XattrFlags::empty(),
    )
    .map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    #[test]
    fn context_names_type_and_level() {
        assert_eq!(
            super::container_file_context("s0:c1,c2"),
            "system_u:object_r:container_file_t:s0:c1,c2"
        );
    }
}
