//! The one atomic file write of berth, used by the generator for units and
//! by the jobs for definitions and their state: a temp file in the same
//! directory, written under its final mode from the first byte, fsynced,
//! then renamed over the target, so a reader or a crash sees the old file
//! or the new one, never a torn one, and a root-only file is never readable
//! under a wider mode.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The temp file [`write`] uses for `path`: `.<name>.tmp` in the same
/// directory. Hidden and not ending in `.json` or a unit suffix, so neither
/// the generator nor systemd ever reads it; writers of one directory are
/// serialized (the store lock, one generator run), so one name suffices.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Replaces `path` with `bytes`, mode `mode`, atomically. Missing parent
/// directories are created. `before_rename` runs after the temp file is
/// synced and before the rename (the jobs' crash injection point). The
/// directory itself is not synced: callers that need the rename durable
/// (the jobs; not the generator, whose output is on tmpfs) sync it.
///
/// Errors: any I/O error; the temp file is removed on error.
pub fn write(path: &Path, bytes: &[u8], mode: u32, before_rename: &dyn Fn()) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let tmp = temp_path(path);
    let open = || {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
    };
    let result = (|| {
        let mut f = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir)?;
                open()?
            }
            other => other?,
        };
        // A leftover temp file keeps its old mode, and the umask trims
        // `mode`: set it exactly before writing a byte.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        before_rename();
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_under_its_mode_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/x.json");
        write(&p, b"one", 0o644, &|| {}).unwrap();
        // A leftover temp with a wider mode does not widen the new file.
        fs::write(temp_path(&p), b"old").unwrap();
        fs::set_permissions(temp_path(&p), fs::Permissions::from_mode(0o666)).unwrap();
        write(&p, b"two", 0o600, &|| {
            assert!(!p.exists() || fs::read(&p).unwrap() == b"one")
        })
        .unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!temp_path(&p).exists());
        assert_eq!(temp_path(&p).file_name().unwrap(), ".x.json.tmp");
    }

    #[test]
    fn a_failure_leaves_the_old_file_and_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        fs::write(&p, b"old").unwrap();
        // The rename fails: the target is now a non-empty directory.
        let target = d.path().join("dir");
        fs::create_dir_all(target.join("inner")).unwrap();
        assert!(write(&target, b"new", 0o644, &|| {}).is_err());
        assert!(!temp_path(&target).exists());
        assert_eq!(fs::read(&p).unwrap(), b"old");
    }
}
