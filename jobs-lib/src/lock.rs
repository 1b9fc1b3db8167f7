//! The store lock: one `flock(2)` on `/var/lib/berth/lock`, held by every
//! mutating job, so jobs in different processes never interleave. The lock
//! dies with its process, so a killed job never leaves it held.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// A held store lock; dropping it unlocks.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Blocks until the exclusive lock on `path` is held, creating the file
    /// (and its directory) when missing.
    ///
    /// Errors: the file cannot be created or locked.
    pub fn acquire(path: &Path) -> io::Result<StoreLock> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(StoreLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_exclusive_across_open_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/lock");
        let held = StoreLock::acquire(&p).unwrap();
        let other = File::open(&p).unwrap();
        let r = rustix::fs::flock(&other, rustix::fs::FlockOperation::NonBlockingLockExclusive);
        assert!(
            r.is_err(),
            "a second lock must not be granted while the first is held"
        );
        drop(held);
        rustix::fs::flock(&other, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    }
}
