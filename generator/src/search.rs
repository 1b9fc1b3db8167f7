//! The definition search path (DESIGN.md): the first directory holding
//! `<id>.json` wins; the same file name in a later directory is shadowed.
//! A definition that is a symlink to `/dev/null` (any character device)
//! masks the id, as systemd masks units.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Directories searched, highest precedence first.
pub const DEFAULT_SEARCH_PATH: [&str; 3] = [
    "/etc/berth/containers",
    "/run/berth/containers",
    "/usr/lib/berth/containers",
];

/// Where definitions are looked for.
#[derive(Debug, Clone)]
pub struct SearchPath {
    /// Prefix for reading (tests); reported paths leave it out.
    pub root: Option<PathBuf>,
    /// Directories as the host sees them, highest precedence first.
    pub dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// From the environment: `BERTH_DEFINITIONS_PATH` (colon-separated,
    /// empty entries ignored) replaces the default directories, and
    /// `BERTH_GENERATOR_ROOT` prefixes every directory when reading (a test
    /// root, as zram-generator's `ZRAM_GENERATOR_ROOT`).
    pub fn from_env() -> Self {
        let dirs = match std::env::var_os("BERTH_DEFINITIONS_PATH") {
            Some(v) => std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| normalize(&p))
                .collect(),
            None => DEFAULT_SEARCH_PATH.iter().map(PathBuf::from).collect(),
        };
        let root = std::env::var_os("BERTH_GENERATOR_ROOT")
            .filter(|r| !r.is_empty())
            .map(PathBuf::from);
        SearchPath { root, dirs }
    }

    fn real(&self, p: &Path) -> PathBuf {
        match &self.root {
            // Component-wise join: strip the leading '/' so `join` appends.
            Some(root) => root.join(p.strip_prefix("/").unwrap_or(p)),
            None => p.to_owned(),
        }
    }
}

/// Absolute and lexically normalized (no `.`, `..` or doubled `/`), as
/// `SourcePath=` requires; a relative directory is taken from the current
/// directory.
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// One definition file chosen for an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The file name without `.json` (not yet validated as an id).
    pub stem: String,
    /// The path as the host sees it.
    pub path: PathBuf,
    /// The path to read (under the test root, if any).
    pub read_from: PathBuf,
    /// A character device (`/dev/null`): the id is masked.
    pub masked: bool,
    /// Files of the same name in lower-precedence directories.
    pub shadowed: Vec<PathBuf>,
}

/// A directory that exists but could not be listed.
#[derive(Debug)]
pub struct ListError {
    /// The directory as the host sees it.
    pub dir: PathBuf,
    /// Why.
    pub error: io::Error,
}

/// Lists the definition files on the search path, one per stem, sorted by
/// stem so that output order never depends on directory order.
///
/// Files not ending in `.json` and hidden files are ignored; a missing
/// directory is not an error.
pub fn discover(sp: &SearchPath) -> (Vec<Candidate>, Vec<ListError>) {
    let mut found: BTreeMap<OsString, Candidate> = BTreeMap::new();
    let mut errors = Vec::new();
    for dir in &sp.dirs {
        let real_dir = sp.real(dir);
        let entries = match std::fs::read_dir(&real_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => {
                errors.push(ListError {
                    dir: dir.clone(),
                    error,
                });
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(error) => {
                    errors.push(ListError {
                        dir: dir.clone(),
                        error,
                    });
                    break;
                }
            };
            let name = entry.file_name();
            let bytes = name.as_encoded_bytes();
            if bytes.starts_with(b".") || !bytes.ends_with(b".json") {
                continue;
            }
            let path = dir.join(&name);
            if let Some(c) = found.get_mut(&name) {
                c.shadowed.push(path);
                continue;
            }
            let read_from = real_dir.join(&name);
            // Only a symlink or device can mask; skip the stat otherwise
            // (d_type comes free with readdir).
            let masked = match entry.file_type() {
                Ok(t) if t.is_file() => false,
                _ => std::fs::metadata(&read_from)
                    .map(|m| m.file_type().is_char_device())
                    .unwrap_or(false),
            };
            let stem = String::from_utf8_lossy(&bytes[..bytes.len() - 5]).into_owned();
            found.insert(
                name,
                Candidate {
                    stem,
                    path,
                    read_from,
                    masked,
                    shadowed: Vec::new(),
                },
            );
        }
    }
    (found.into_values().collect(), errors)
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn search_dirs_are_normalized() {
        assert_eq!(normalize(Path::new("/a/./b/../c//d/")), Path::new("/a/c/d"));
        assert_eq!(normalize(Path::new("/../x")), Path::new("/x"));
        assert!(normalize(Path::new("rel")).is_absolute());
    }
}
