//! Writing the generator's output: unit files written atomically and
//! `.wants/` symlinks; or, for `--dry-run`, everything printed.

use crate::render::{UnitFile, WantsLink};
use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where rendered units go.
pub trait Sink {
    /// Writes one unit file.
    fn unit(&mut self, unit: &UnitFile) -> io::Result<()>;
    /// Creates one `.wants/` symlink.
    fn link(&mut self, link: &WantsLink) -> io::Result<()>;
}

/// Writes into the generator's normal output directory.
///
/// Files are created relative to directory descriptors (openat(2),
/// linkat(2), symlinkat(2)) so that no absolute path is walked per file:
/// the generator runs on every boot and reload.
pub struct DirSink {
    dir: PathBuf,
    dirfd: Option<OwnedFd>,
    wants: Vec<(&'static str, OwnedFd)>,
}

fn cstring(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds NUL"))
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let c = cstring(path.as_os_str().as_bytes())?;
    // SAFETY: open(2) on a NUL-terminated path; the result is owned below.
    let raw = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor we just opened and own.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

impl DirSink {
    /// A sink writing below `dir`, which must exist (systemd creates it).
    pub fn new(dir: &Path) -> Self {
        DirSink {
            dir: dir.to_owned(),
            dirfd: open_dir(dir).ok(),
            wants: Vec::new(),
        }
    }

    fn wants_dir(&mut self, name: &'static str) -> io::Result<BorrowedFd<'_>> {
        if let Some(i) = self.wants.iter().position(|(n, _)| *n == name) {
            return Ok(self.wants[i].1.as_fd());
        }
        let path = self.dir.join(name);
        fs::create_dir_all(&path)?;
        self.wants.push((name, open_dir(&path)?));
        Ok(self.wants.last().expect("just pushed").1.as_fd())
    }
}

/// Writes a new file `name` below `dirfd` atomically with one directory
/// operation: an unnamed `O_TMPFILE` inode is written and fsynced, then
/// linked under its name (open(2) `O_TMPFILE`, then linkat(2) with
/// `AT_EMPTY_PATH`, else through `/proc/self/fd`), so the name never shows
/// a partial file. Returns `Ok(false)` when this cannot be used (no
/// `O_TMPFILE` on this file system, neither link form allowed, or the name
/// exists), so the caller falls back to [`write_atomic`].
fn write_linked(dirfd: BorrowedFd, name: &str, content: &[u8]) -> io::Result<bool> {
    let cname = cstring(name.as_bytes())?;
    // SAFETY: plain syscalls on owned descriptors and NUL-terminated buffers.
    let raw = unsafe {
        libc::openat(
            dirfd.as_raw_fd(),
            c".".as_ptr(),
            libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
            0o644 as libc::c_uint,
        )
    };
    if raw < 0 {
        return Ok(false);
    }
    // SAFETY: `raw` is a freshly opened descriptor we own.
    let mut file = fs::File::from(unsafe { OwnedFd::from_raw_fd(raw) });
    file.write_all(content)?;
    file.sync_all()?;
    // SAFETY: as above.
    let rc = unsafe {
        libc::linkat(
            file.as_raw_fd(),
            c"".as_ptr(),
            dirfd.as_raw_fd(),
            cname.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc works without it.
    let proc_path = cstring(format!("/proc/self/fd/{}", file.as_raw_fd()).as_bytes())?;
    // SAFETY: as above.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            dirfd.as_raw_fd(),
            cname.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    Ok(rc == 0)
}

/// Writes `content` to `dir/name` atomically: a temp file in the same
/// directory, fsync, rename over the target.
pub fn write_atomic(dir: &Path, name: &str, content: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".#{name}.tmp"));
    let result = (|| {
        // Unit names are unique within one run, so is the temp name; a
        // leftover from an interrupted run is replaced.
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(content)?;
        f.sync_all()?;
        fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

impl Sink for DirSink {
    fn unit(&mut self, unit: &UnitFile) -> io::Result<()> {
        if let Some(fd) = &self.dirfd {
            if write_linked(fd.as_fd(), &unit.name, unit.content.as_bytes())? {
                return Ok(());
            }
        }
        write_atomic(&self.dir, &unit.name, unit.content.as_bytes())
    }

    fn link(&mut self, link: &WantsLink) -> io::Result<()> {
        let target = cstring(format!("../{}", link.unit).as_bytes())?;
        let name = cstring(link.unit.as_bytes())?;
        let wants = self.wants_dir(link.dir)?.as_raw_fd();
        let symlink = || {
            // SAFETY: symlinkat(2) on NUL-terminated buffers and an owned fd.
            if unsafe { libc::symlinkat(target.as_ptr(), wants, name.as_ptr()) } == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        };
        match symlink() {
            // A re-run into the same directory replaces its own link.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(self.dir.join(link.dir).join(&link.unit))?;
                symlink()
            }
            r => r,
        }
    }
}

/// `--dry-run`: prints each unit preceded by `---<unit name>---`, and each
/// symlink as `---<dir>/<unit> -> ../<unit>---`.
pub struct PrintSink<W: Write> {
    out: W,
}

impl<W: Write> PrintSink<W> {
    /// Prints to `out`.
    pub fn new(out: W) -> Self {
        PrintSink { out }
    }
}

impl<W: Write> Sink for PrintSink<W> {
    fn unit(&mut self, unit: &UnitFile) -> io::Result<()> {
        writeln!(self.out, "---{}---", unit.name)?;
        self.out.write_all(unit.content.as_bytes())
    }

    fn link(&mut self, link: &WantsLink) -> io::Result<()> {
        writeln!(
            self.out,
            "---{}/{} -> ../{}---",
            link.dir, link.unit, link.unit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str, content: &str) -> UnitFile {
        UnitFile {
            name: name.into(),
            content: content.into(),
        }
    }

    #[test]
    fn dir_sink_writes_units_and_relative_links() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = DirSink::new(dir.path());
        sink.unit(&unit("berth-a.service", "[Service]\n")).unwrap();
        let link = WantsLink {
            dir: "berth.target.wants",
            unit: "berth-a.service".into(),
        };
        sink.link(&link).unwrap();
        // A second run into the same directory replaces its own output.
        sink.unit(&unit("berth-a.service", "[Service]\n#2\n"))
            .unwrap();
        sink.link(&link).unwrap();
        let p = dir.path().join("berth-a.service");
        assert_eq!(fs::read_to_string(&p).unwrap(), "[Service]\n#2\n");
        let l = dir.path().join("berth.target.wants/berth-a.service");
        assert_eq!(fs::read_link(&l).unwrap(), Path::new("../berth-a.service"));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temp files left: {names:?}");
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "x.service", b"one").unwrap();
        write_atomic(dir.path(), "x.service", b"two").unwrap();
        assert_eq!(fs::read(dir.path().join("x.service")).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write_atomic(&dir.path().join("missing"), "x", b"").is_err());
    }

    #[test]
    fn print_sink_marks_each_unit() {
        let mut out = Vec::new();
        let mut sink = PrintSink::new(&mut out);
        sink.unit(&unit("berth-a.service", "A\n")).unwrap();
        sink.link(&WantsLink {
            dir: "sockets.target.wants",
            unit: "berth-a.socket".into(),
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "---berth-a.service---\nA\n---sockets.target.wants/berth-a.socket -> ../berth-a.socket---\n"
        );
    }
}
