//! Writing the generator's output: unit files written atomically (temp
//! file, fsync, rename in the same directory) and `.wants/` symlinks; or,
//! for `--dry-run`, everything printed.

use crate::render::{UnitFile, WantsLink};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
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
pub struct DirSink {
    dir: PathBuf,
    wants_dirs_made: Vec<&'static str>,
}

impl DirSink {
    /// A sink writing below `dir`, which must exist (systemd creates it).
    pub fn new(dir: &Path) -> Self {
        DirSink {
            dir: dir.to_owned(),
            wants_dirs_made: Vec::new(),
        }
    }
}

/// Writes `content` to `dir/name` atomically: a temp file in the same
/// directory, fsync, rename over the target.
pub fn write_atomic(dir: &Path, name: &str, content: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".#{name}.{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
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
        write_atomic(&self.dir, &unit.name, unit.content.as_bytes())
    }

    fn link(&mut self, link: &WantsLink) -> io::Result<()> {
        let wants = self.dir.join(link.dir);
        if !self.wants_dirs_made.contains(&link.dir) {
            fs::create_dir_all(&wants)?;
            self.wants_dirs_made.push(link.dir);
        }
        let at = wants.join(&link.unit);
        let target = format!("../{}", link.unit);
        match std::os::unix::fs::symlink(&target, &at) {
            // A re-run into the same directory replaces its own link.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(&at)?;
                std::os::unix::fs::symlink(&target, &at)
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
