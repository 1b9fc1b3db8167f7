//! Owned reservations, the shared core of ports and MCS levels.
//!
//! A reservation of key `K` by owner `O` is a symlink `<table>/K -> O`
//! (created with `symlink(2)`, which fails if `K` is taken, so reserving is
//! one system call whatever the number of reservations) plus an ownership
//! entry `owners/O/<prefix>K`, written *first*: if the process dies between
//! the two, the entry tells the next job what `O` may hold, and a release
//! checks the symlink's owner before removing anything. Releasing never
//! removes a reservation whose symlink names another owner.
//!
//! Callers hold the store lock; the symlink makes a double reservation
//! impossible even if one did not.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One reservation table (ports or MCS levels).
#[derive(Debug, Clone)]
pub struct ReservationTable {
    dir: PathBuf,
    owners: PathBuf,
    prefix: &'static str,
}

/// What [`ReservationTable::reserve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// Newly reserved for the owner.
    New,
    /// The owner held it already.
    AlreadyOwned,
    /// Somebody else holds it; nothing was changed.
    TakenBy(String),
}

impl ReservationTable {
    /// A table in `dir` whose ownership entries live in
    /// `owners_root/<owner>/<prefix><key>`.
    pub fn new(dir: PathBuf, owners_root: PathBuf, prefix: &'static str) -> ReservationTable {
        ReservationTable {
            dir,
            owners: owners_root,
            prefix,
        }
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    fn owner_entry(&self, owner: &str, key: &str) -> PathBuf {
        self.owners
            .join(owner)
            .join(format!("{}{}", self.prefix, key))
    }

    /// The owner of `key`, if reserved.
    ///
    /// Errors: the entry exists but cannot be read.
    pub fn owner(&self, key: &str) -> io::Result<Option<String>> {
        match fs::read_link(self.entry(key)) {
            Ok(t) => Ok(Some(t.to_string_lossy().into_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reserves `key` for `owner`: ownership entry first, then the symlink.
    /// A key held by another owner is left alone ([`Reserved::TakenBy`]).
    pub fn reserve(&self, key: &str, owner: &str) -> io::Result<Reserved> {
        let oe = self.owner_entry(owner, key);
        let owner_dir = oe.parent().expect("owner entry has a parent");
        let create = || {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&oe)
        };
        let created = match create() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_dir(owner_dir)?;
                create()
            }
            other => other,
        };
        let created_entry = match created {
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(e),
        };
        let link = self.entry(key);
        let r = std::os::unix::fs::symlink(owner, &link).or_else(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                create_dir(&self.dir)?;
                std::os::unix::fs::symlink(owner, &link)
            } else {
                Err(e)
            }
        });
        match r {
            Ok(()) => Ok(Reserved::New),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match self.owner(key)? {
                Some(o) if o == owner => Ok(Reserved::AlreadyOwned),
                Some(o) => {
                    // Our entry claims nothing, whether just made or stale:
                    // the key belongs to someone else.
                    crate::fsutil::remove_if_exists(&oe)?;
                    Ok(Reserved::TakenBy(o))
                }
                None => self.reserve(key, owner),
            },
            Err(e) => {
                if created_entry {
                    let _ = fs::remove_file(&oe);
                }
                Err(e)
            }
        }
    }

    /// Releases `key` if `owner` holds it, and drops `owner`'s entry for it
    /// either way. Returns whether a reservation was removed.
    pub fn release(&self, key: &str, owner: &str) -> io::Result<bool> {
        let removed = match self.owner(key)? {
            Some(o) if o == owner => {
                crate::fsutil::remove_if_exists(&self.entry(key))?;
                true
            }
            _ => false,
        };
        crate::fsutil::remove_if_exists(&self.owner_entry(owner, key))?;
        Ok(removed)
    }

    /// The keys `owner` has entries for (it may hold them, or have died
    /// before reserving them), sorted.
    pub fn claimed_by(&self, owner: &str) -> io::Result<Vec<String>> {
        let dir = self.owners.join(owner);
        let mut keys = Vec::new();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(keys),
            Err(e) => return Err(e),
        };
        for e in rd {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(k) = name.strip_prefix(self.prefix) {
                keys.push(k.to_owned());
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// Every reservation in the table as `(key, owner)`, sorted by key.
    /// Cost grows with the table; for reports and tests, never on the
    /// install path.
    pub fn all(&self) -> io::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for e in rd {
            let e = e?;
            let key = e.file_name().to_string_lossy().into_owned();
            if let Ok(t) = fs::read_link(e.path()) {
                out.push((key, t.to_string_lossy().into_owned()));
            }
        }
        out.sort();
        Ok(out)
    }
}

fn create_dir(d: &Path) -> io::Result<()> {
    match fs::create_dir(d) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(d),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(d: &Path) -> ReservationTable {
        ReservationTable::new(d.join("t"), d.join("owners"), "k-")
    }

    #[test]
    fn reserve_is_owned_and_exclusive() {
        let d = tempfile::tempdir().unwrap();
        let t = table(d.path());
        assert_eq!(t.reserve("1", "a").unwrap(), Reserved::New);
        assert_eq!(t.reserve("1", "a").unwrap(), Reserved::AlreadyOwned);
        assert_eq!(
            t.reserve("1", "a.b").unwrap(),
            Reserved::TakenBy("a".into())
        );
        assert_eq!(t.claimed_by("a.b").unwrap(), Vec::<String>::new());
        assert_eq!(t.owner("1").unwrap().as_deref(), Some("a"));
        // Another owner cannot release it.
        assert!(!t.release("1", "a.b").unwrap());
        assert_eq!(t.owner("1").unwrap().as_deref(), Some("a"));
        assert!(t.release("1", "a").unwrap());
        assert_eq!(t.owner("1").unwrap(), None);
        assert!(t.claimed_by("a").unwrap().is_empty());
    }

    #[test]
    fn claims_list_only_the_owners_keys() {
        let d = tempfile::tempdir().unwrap();
        let t = table(d.path());
        t.reserve("1", "web").unwrap();
        t.reserve("2", "web1").unwrap();
        t.reserve("3", "web").unwrap();
        assert_eq!(t.claimed_by("web").unwrap(), vec!["1", "3"]);
        assert_eq!(t.claimed_by("web1").unwrap(), vec!["2"]);
        assert_eq!(t.all().unwrap().len(), 3);
    }
}
