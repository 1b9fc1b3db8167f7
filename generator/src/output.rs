//! Writing the generator's output: unit files written atomically and
//! `.wants/` symlinks; or, for `--dry-run`, everything printed.

use crate::render::{PrivateFile, UnitFile, WantsLink};
use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where rendered units go.
pub trait Sink {
    /// Writes one unit file.
    fn unit(&mut self, unit: &UnitFile) -> io::Result<()>;
    /// Creates one `.wants/` symlink.
    fn link(&mut self, link: &WantsLink) -> io::Result<()>;
    /// Writes one root-only file (mode 0600).
    fn private(&mut self, file: &PrivateFile) -> io::Result<()>;
}

/// Writes into the generator's normal output directory.
///
/// `.wants/` links are created relative to directory descriptors
/// (symlinkat(2)), opened once per directory.
pub struct DirSink {
    dir: PathBuf,
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

impl DirSink {
    /// One write path for every file, the one the jobs use too
    /// (`berth_definition::atomic`). The output dir is on tmpfs, so its
    /// fsync costs nothing and no directory sync is needed.
    fn file(&mut self, name: &str, content: &[u8], mode: u32) -> io::Result<()> {
        berth_definition::atomic::write(&self.dir.join(name), content, mode, &|| {})
    }
}

impl Sink for DirSink {
    fn unit(&mut self, unit: &UnitFile) -> io::Result<()> {
        self.file(&unit.name, unit.content.as_bytes(), 0o644)
    }

    fn private(&mut self, file: &PrivateFile) -> io::Result<()> {
        self.file(&file.name, file.content.as_bytes(), 0o600)
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

/// `--dry-run`: prints each unit preceded by `---<unit name>---`, each
/// symlink as `---<dir>/<unit> -> ../<unit>---`, and each root-only file
/// as `---<name> (mode 0600, values not shown)---` with its names only.
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

    /// Values are root-only: a dry run names the file and its lines'
    /// names, never a value (its output ends up in terminals and logs).
    fn private(&mut self, file: &PrivateFile) -> io::Result<()> {
        writeln!(
            self.out,
            "---{} (mode 0600, values not shown)---",
            file.name
        )?;
        for line in file.content.lines() {
            let name = line.split_once('=').map_or(line, |(n, _)| n);
            writeln!(self.out, "{name}=…")?;
        }
        Ok(())
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
    fn private_files_are_root_only_and_units_are_not() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |n: &str| {
            fs::metadata(dir.path().join(n))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        for round in 0..2 {
            let mut sink = DirSink::new(dir.path());
            sink.private(&PrivateFile {
                name: "berth-a.env".into(),
                content: format!("A=secret{round}\n"),
            })
            .unwrap();
            sink.unit(&unit("berth-a.service", "[Service]\n")).unwrap();
            assert_eq!(mode("berth-a.env"), 0o600);
            assert_eq!(mode("berth-a.service"), 0o644);
        }
        // Over a leftover world-readable temp file too.
        fs::write(dir.path().join(".b.env.tmp"), "old").unwrap();
        fs::set_permissions(
            dir.path().join(".b.env.tmp"),
            fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        DirSink::new(dir.path())
            .private(&PrivateFile {
                name: "b.env".into(),
                content: "B=1\n".into(),
            })
            .unwrap();
        assert_eq!(mode("b.env"), 0o600);
        let mut out = Vec::new();
        PrintSink::new(&mut out)
            .private(&PrivateFile {
                name: "berth-a.env".into(),
                content: "A=secret\nB=x=y\n".into(),
            })
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("secret") && !out.contains("x=y"), "{out}");
        assert!(out.contains("A=…\nB=…\n"), "{out}");
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
