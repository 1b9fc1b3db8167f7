//! Where the jobs read and write. Every path is under a root prefix
//! (`BERTH_ROOT`, `/` on a real host) so tests never touch the host.
//!
//! Computing a path never creates anything (geard's habit of creating
//! directories while computing paths is what this avoids); callers create
//! what they write.

use crate::definition::{validate_id, SearchPath};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The state directory, relative to the root.
pub const STATE_DIR: &str = "/var/lib/berth";

/// All paths of one berth installation.
#[derive(Debug, Clone)]
pub struct Paths {
    root: PathBuf,
    search_path: SearchPath,
    definitions_dir: PathBuf,
    state: PathBuf,
}

/// `root` + an absolute path, compared and joined by component.
pub fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

impl Paths {
    /// Paths under `root`. `definitions_path` (the value of
    /// `BERTH_DEFINITIONS_PATH`, colon-separated, read under the root as
    /// the generator reads it) replaces the search path; the jobs write
    /// into its first directory.
    pub fn new(root: &Path, definitions_path: Option<&str>) -> Paths {
        let search_path = SearchPath::new(root, definitions_path.map(OsStr::new));
        let definitions_dir = search_path.real(search_path.write_dir());
        Paths {
            root: root.to_owned(),
            search_path,
            definitions_dir,
            state: under(root, STATE_DIR),
        }
    }

    /// The root prefix (`/` on a real host).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when the root is `/` (no prefix to pass to useradd & co.).
    pub fn is_host_root(&self) -> bool {
        self.root == Path::new("/")
    }

    /// The definition search path, first wins (the one implementation the
    /// generator uses too).
    pub fn search_path(&self) -> &SearchPath {
        &self.search_path
    }

    /// The directory the jobs write definitions into (the first of the
    /// search path), under the root.
    pub fn definitions_dir(&self) -> &Path {
        &self.definitions_dir
    }

    /// `<definitions dir>/<id>.json`. The id must be valid (checked in
    /// debug builds): a valid id is one path component.
    pub fn definition_file(&self, id: &str) -> PathBuf {
        debug_assert!(validate_id(id).is_ok());
        self.definitions_dir().join(format!("{id}.json"))
    }

    /// `/var/lib/berth` under the root.
    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    /// The store lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.state.join("lock")
    }

    /// Port reservations, one symlink per port.
    pub fn ports_dir(&self) -> PathBuf {
        self.state.join("ports")
    }

    /// MCS level reservations, one symlink per category pair.
    pub fn mcs_dir(&self) -> PathBuf {
        self.state.join("mcs")
    }

    /// What each container owns: `owners/<id>/`.
    pub fn owners_root(&self) -> PathBuf {
        self.state.join("owners")
    }

    /// Markers of mutating jobs in progress.
    pub fn pending_dir(&self) -> PathBuf {
        self.state.join("pending")
    }

    /// The request-id journal.
    pub fn requests_dir(&self) -> PathBuf {
        self.state.join("requests")
    }

    /// Home of `ctr-<id>` as the host sees it (without the root prefix):
    /// what goes into `/etc/passwd`.
    pub fn home_in_passwd(id: &str) -> String {
        format!("{STATE_DIR}/home/{id}")
    }

    /// Home of `ctr-<id>` under the root.
    pub fn home_dir(&self, id: &str) -> PathBuf {
        debug_assert!(validate_id(id).is_ok());
        self.state.join("home").join(id)
    }

    /// `/etc/<name>` under the root (passwd, subuid, …).
    pub fn etc(&self, name: &str) -> PathBuf {
        under(&self.root, "/etc").join(name)
    }

    /// The settings file `/etc/berth/berth.conf` under the root.
    pub fn config_file(&self) -> PathBuf {
        under(&self.root, "/etc/berth/berth.conf")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_under_the_root() {
        let p = Paths::new(Path::new("/tmp/r"), None);
        assert_eq!(
            p.definition_file("web"),
            Path::new("/tmp/r/etc/berth/containers/web.json")
        );
        assert_eq!(
            p.home_dir("web"),
            Path::new("/tmp/r/var/lib/berth/home/web")
        );
        assert_eq!(p.search_path().dirs().len(), 3);
        assert!(!p.is_host_root());
    }

    #[test]
    fn definitions_path_overrides_search_path() {
        let p = Paths::new(Path::new("/"), Some("/a:/b"));
        assert_eq!(p.definitions_dir(), Path::new("/a"));
        assert_eq!(
            p.search_path().dirs(),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        // Naming no directory keeps the default instead of panicking.
        let p = Paths::new(Path::new("/r"), Some(":"));
        assert_eq!(p.definitions_dir(), Path::new("/r/etc/berth/containers"));
    }
}
