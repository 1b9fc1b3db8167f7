//! File-system helpers: atomic replacement (temp file + fsync + rename in
//! the same directory + fsync of the directory, so a reader or a crash sees
//! the old or the new file, never a torn one), and crash injection points.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The environment variable naming the step at which a process aborts
/// (tests only: `BERTH_CRASH_AT=ports berth install …`).
pub const CRASH_ENV: &str = "BERTH_CRASH_AT";

/// Aborts the process (`std::process::abort`, as a kill would: no
/// destructors, no unwinding) when `crash_at` names `step`.
pub fn crash_point(crash_at: Option<&str>, step: &str) {
    if crash_at == Some(step) {
        std::process::abort();
    }
}

pub use crate::definition::atomic::temp_path;

/// Replaces `path` with `bytes` atomically and durably, mode 0644.
/// `crash_at`/`step` inject a crash after the temp file is synced and before
/// the rename.
///
/// Errors: any I/O error; the temp file is removed on error.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    crash_at: Option<&str>,
    step: &str,
) -> io::Result<()> {
    write_atomic_mode(path, bytes, crash_at, step, 0o644)
}

/// [`write_atomic`] for a root-only file, mode 0600 (definitions and the
/// request journal hold environment values: values are root-only).
pub fn write_atomic_private(
    path: &Path,
    bytes: &[u8],
    crash_at: Option<&str>,
    step: &str,
) -> io::Result<()> {
    write_atomic_mode(path, bytes, crash_at, step, 0o600)
}

/// Creates `dir` (and its parents) when missing and makes it mode 0700,
/// whatever it was (the state directory: what it holds is root's).
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)?;
    let meta = fs::metadata(dir)?;
    if meta.permissions().mode() & 0o7777 != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn write_atomic_mode(
    path: &Path,
    bytes: &[u8],
    crash_at: Option<&str>,
    step: &str,
    mode: u32,
) -> io::Result<()> {
    crate::definition::atomic::write(path, bytes, mode, &|| crash_point(crash_at, step))?;
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    sync_dir(dir)
}

/// fsyncs a directory so a rename or unlink in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes a file; a missing file is not an error. Returns whether it
/// existed.
pub fn remove_if_exists(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads a file; a missing file is `None`.
pub fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a directory entry was, to put it back exactly: read by `lstat`
/// and `readlink`, never through a link (a mask `-> /dev/null` comes back
/// as that link, not as an empty file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Nothing was there.
    Absent,
    /// A regular file with these bytes and permission bits.
    File {
        /// Its content.
        bytes: Vec<u8>,
        /// Its mode (permission bits).
        mode: u32,
    },
    /// A symbolic link with this target.
    Symlink(PathBuf),
}

impl Entry {
    /// Records what `path` is.
    ///
    /// Errors: I/O, or an entry that is neither a file nor a symlink.
    pub fn capture(path: &Path) -> io::Result<Entry> {
        use std::os::unix::fs::PermissionsExt;
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Entry::Absent),
            Err(e) => return Err(e),
        };
        let t = meta.file_type();
        if t.is_symlink() {
            return Ok(Entry::Symlink(fs::read_link(path)?));
        }
        if !t.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is neither a file nor a symlink", path.display()),
            ));
        }
        let mut f = OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)?;
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut f, &mut bytes)?;
        Ok(Entry::File {
            bytes,
            mode: meta.permissions().mode() & 0o7777,
        })
    }

    /// Whether nothing was there.
    pub fn is_absent(&self) -> bool {
        matches!(self, Entry::Absent)
    }

    /// Puts `path` back to this, atomically (a link is made under the
    /// temp name and renamed over, as a file is written).
    pub fn restore(&self, path: &Path) -> io::Result<()> {
        let dir = path
            .parent()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
        match self {
            Entry::Absent => {
                if remove_if_exists(path)? {
                    sync_dir(dir)?;
                }
                Ok(())
            }
            // Written under its own mode from the first byte: a 0600
            // definition is never readable under a wider one.
            Entry::File { bytes, mode } => write_atomic_mode(path, bytes, None, "", *mode),
            Entry::Symlink(target) => {
                let tmp = temp_path(path);
                let _ = fs::remove_file(&tmp);
                std::os::unix::fs::symlink(target, &tmp)?;
                if let Err(e) = fs::rename(&tmp, path) {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
                sync_dir(dir)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/x.json");
        write_atomic(&p, b"one", None, "x").unwrap();
        write_atomic(&p, b"two", None, "x").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!temp_path(&p).exists());
        assert_eq!(temp_path(&p).file_name().unwrap(), ".x.json.tmp");
    }

    #[test]
    fn private_writes_are_0600_even_over_a_leftover_temp() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json");
        fs::write(temp_path(&p), "old").unwrap();
        fs::set_permissions(temp_path(&p), fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic_private(&p, b"secret", None, "").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let s = d.path().join("state");
        fs::create_dir(&s).unwrap();
        fs::set_permissions(&s, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&s).unwrap();
        assert_eq!(
            fs::metadata(&s).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn entries_come_back_exactly_and_links_are_never_followed() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("web.json");
        std::os::unix::fs::symlink("/dev/null", &p).unwrap();
        let mask = Entry::capture(&p).unwrap();
        assert_eq!(mask, Entry::Symlink("/dev/null".into()));
        write_atomic(&p, b"{}", None, "x").unwrap();
        mask.restore(&p).unwrap();
        assert_eq!(fs::read_link(&p).unwrap(), Path::new("/dev/null"));

        fs::remove_file(&p).unwrap();
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        let file = Entry::capture(&p).unwrap();
        write_atomic(&p, b"new", None, "x").unwrap();
        file.restore(&p).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );

        fs::remove_file(&p).unwrap();
        let none = Entry::capture(&p).unwrap();
        assert!(none.is_absent());
        fs::write(&p, b"x").unwrap();
        none.restore(&p).unwrap();
        assert!(fs::symlink_metadata(&p).is_err());
        assert!(!temp_path(&p).exists());
    }

    #[test]
    fn remove_and_read_missing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        assert!(!remove_if_exists(&p).unwrap());
        assert!(read_if_exists(&p).unwrap().is_none());
        fs::write(&p, "a").unwrap();
        assert!(remove_if_exists(&p).unwrap());
    }
}
