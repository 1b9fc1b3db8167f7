//! The definition search path, the one implementation the generator and
//! the jobs share: the first directory holding `<id>.json` wins, and the
//! same file name in a later directory is shadowed. A definition that
//! resolves to a character device (a symlink to `/dev/null`) masks the id,
//! as systemd masks units. Each candidate carries its drop-ins
//! (`<id>.json.d/*.json`, see [`crate::dropin`]) and [`Candidate::load`]
//! merges them: the one loader the generator and the jobs use.
//!
//! Paths are kept twice: as the host sees them (`/etc/berth/containers/…`,
//! what logs, `SourcePath=` and replies name) and as they are read and
//! written (under a test root such as `BERTH_ROOT`, `BERTH_GENERATOR_ROOT`).

use crate::dropin::{read_object, DropIns, Layers, DROP_IN_DIR_SUFFIX};
use crate::{id_from_path, load_file_as, DefinitionError, LoadedDefinition};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};

/// Directories searched, highest precedence first.
pub const DEFAULT_SEARCH_PATH: [&str; 3] = [
    "/etc/berth/containers",
    "/run/berth/containers",
    "/usr/lib/berth/containers",
];

/// The environment variable that replaces the search path
/// (colon-separated directories, highest precedence first).
pub const DEFINITIONS_PATH_ENV: &str = "BERTH_DEFINITIONS_PATH";

/// Where definitions are looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPath {
    root: PathBuf,
    dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// The search path under `root` (`/` on a real host). `definitions_path`
    /// (the value of [`DEFINITIONS_PATH_ENV`]) replaces the default
    /// directories; empty entries are ignored, and a value naming no
    /// directory at all (`""`, `":"`) leaves the default in place. Every
    /// directory is made absolute and lexically normalized (`SourcePath=`
    /// requires it) and is read under `root`.
    pub fn new(root: &Path, definitions_path: Option<&OsStr>) -> SearchPath {
        let given: Vec<PathBuf> = definitions_path
            .map(|v| {
                std::env::split_paths(v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(|p| normalize(&p))
                    .collect()
            })
            .unwrap_or_default();
        let dirs = if given.is_empty() {
            DEFAULT_SEARCH_PATH.iter().map(PathBuf::from).collect()
        } else {
            given
        };
        SearchPath {
            root: root.to_owned(),
            dirs,
        }
    }

    /// The directories as the host sees them, highest precedence first
    /// (never empty).
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The root prefix (`/` on a real host).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `host_path` under the root: where it is read and written.
    pub fn real(&self, host_path: &Path) -> PathBuf {
        // Component-wise join: strip the leading '/' so `join` appends.
        self.root
            .join(host_path.strip_prefix("/").unwrap_or(host_path))
    }

    /// The directory the jobs write definitions into (the first one), as
    /// the host sees it.
    pub fn write_dir(&self) -> &Path {
        &self.dirs[0]
    }

    /// The definition file for `id` in force, if any: the first directory
    /// holding `<id>.json` (of any file type, so a mask or a dangling link
    /// is found, never skipped), with the later ones as shadowed, and its
    /// drop-ins (none for a mask). The id is not validated here; an id
    /// that is not one path component finds nothing.
    ///
    /// Errors: a directory or file that exists but cannot be examined.
    pub fn find(&self, id: &str) -> io::Result<Option<Candidate>> {
        let name = format!("{id}.json");
        if Path::new(&name).components().count() != 1 || id.is_empty() {
            return Ok(None);
        }
        let mut found: Option<Candidate> = None;
        for (index, dir) in self.dirs.iter().enumerate() {
            let path = dir.join(&name);
            let read_from = self.real(&path);
            let meta = match std::fs::symlink_metadata(&read_from) {
                Ok(m) => m,
                Err(e) if is_absent(&e) => continue,
                Err(e) => return Err(e),
            };
            match &mut found {
                Some(c) => c.shadowed.push(path),
                None => {
                    let masked = !meta.file_type().is_file() && resolves_to_device(&read_from);
                    found = Some(Candidate {
                        stem: id.to_owned(),
                        path,
                        read_from,
                        dir_index: index,
                        masked,
                        shadowed: Vec::new(),
                        drop_ins: DropIns::default(),
                    })
                }
            }
        }
        if let Some(c) = found.as_mut().filter(|c| !c.masked) {
            c.drop_ins = self.drop_ins(id);
        }
        Ok(found)
    }

    /// The drop-ins of `id` in every directory, whether or not a
    /// definition exists (an install checks what they would make of it).
    pub fn drop_ins(&self, id: &str) -> DropIns {
        let dirs: Vec<(PathBuf, PathBuf)> = self
            .dirs
            .iter()
            .map(|d| (d.clone(), self.real(d)))
            .collect();
        DropIns::collect(id, &dirs)
    }

    /// Lists the definition files on the search path, one per stem, sorted
    /// by stem so that output order never depends on directory order, each
    /// with its drop-ins.
    ///
    /// Files not ending in `.json` and hidden files are ignored; a missing
    /// directory is not an error; a directory that cannot be listed is
    /// reported and the others are still listed. Drop-in directories
    /// without a definition are listed in [`Discovery::orphans`].
    pub fn discover(&self) -> Discovery {
        let mut found: BTreeMap<OsString, Candidate> = BTreeMap::new();
        let mut errors = Vec::new();
        // Stem → directories (by index) holding `<stem>.json.d`, so only
        // drop-in directories that exist are read.
        let mut drop_in_dirs: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, dir) in self.dirs.iter().enumerate() {
            let real_dir = self.real(dir);
            let entries = match std::fs::read_dir(&real_dir) {
                Ok(e) => e,
                Err(e) if is_absent(&e) => continue,
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
                if let Some(stem) = drop_in_dir_stem(&name) {
                    drop_in_dirs.entry(stem).or_default().push(index);
                    continue;
                }
                let Some(stem) = definition_stem(&name) else {
                    continue;
                };
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
                    _ => resolves_to_device(&read_from),
                };
                found.insert(
                    name,
                    Candidate {
                        stem,
                        path,
                        read_from,
                        dir_index: index,
                        masked,
                        shadowed: Vec::new(),
                        drop_ins: DropIns::default(),
                    },
                );
            }
        }
        let mut candidates: Vec<Candidate> = found.into_values().collect();
        // By stem: the list is in file-name order, which is not stem order
        // (`a.b.json` sorts before `a.json`).
        let by_stem: BTreeMap<String, usize> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| (c.stem.clone(), i))
            .collect();
        let mut orphans = Vec::new();
        for (stem, indexes) in drop_in_dirs {
            let dirs: Vec<(PathBuf, PathBuf)> = indexes
                .iter()
                .map(|&i| (self.dirs[i].clone(), self.real(&self.dirs[i])))
                .collect();
            match by_stem.get(&stem).map(|&i| &mut candidates[i]) {
                Some(c) if !c.masked => c.drop_ins = DropIns::collect(&stem, &dirs),
                Some(_) => {}
                None => orphans.extend(
                    dirs.into_iter()
                        .map(|(d, _)| d.join(format!("{stem}{DROP_IN_DIR_SUFFIX}"))),
                ),
            }
        }
        orphans.sort();
        Discovery {
            candidates,
            errors,
            orphans,
        }
    }
}

/// What [`SearchPath::discover`] found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// One definition per stem, sorted by stem.
    pub candidates: Vec<Candidate>,
    /// Directories that exist but could not be listed.
    pub errors: Vec<ListError>,
    /// Drop-in directories (`<id>.json.d`, as the host sees them, sorted)
    /// for which no directory holds `<id>.json`: not a definition, as
    /// systemd ignores the drop-ins of a unit that does not exist.
    pub orphans: Vec<PathBuf>,
}

/// The stem of a drop-in directory name (`web.json.d` → `web`).
fn drop_in_dir_stem(name: &OsStr) -> Option<String> {
    let bytes = name.as_encoded_bytes();
    if bytes.starts_with(b".") {
        return None;
    }
    let stem = bytes.strip_suffix(DROP_IN_DIR_SUFFIX.as_bytes())?;
    (!stem.is_empty()).then(|| String::from_utf8_lossy(stem).into_owned())
}

/// The stem of a definition file name (`web.json` → `web`,
/// `a.json.json` → `a.json`), `None` for names the search path ignores
/// (hidden files, other suffixes, a bare `.json`).
pub fn definition_stem(name: &OsStr) -> Option<String> {
    let bytes = name.as_encoded_bytes();
    if bytes.starts_with(b".") {
        return None;
    }
    let stem = bytes.strip_suffix(b".json")?;
    Some(String::from_utf8_lossy(stem).into_owned())
}

pub(crate) fn is_absent(e: &io::Error) -> bool {
    // NotADirectory: a path component is a file; nothing can be below it.
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

pub(crate) fn resolves_to_device(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.file_type().is_char_device())
        .unwrap_or(false)
}

/// Where the definition file `path` (as the host sees it) comes from:
/// `etc`, `run` or `usr` for the directories of [`DEFAULT_SEARCH_PATH`],
/// else its directory.
pub fn origin(path: &Path) -> String {
    let dir = path.parent().unwrap_or(Path::new("/"));
    match DEFAULT_SEARCH_PATH.iter().position(|d| Path::new(d) == dir) {
        Some(0) => "etc".into(),
        Some(1) => "run".into(),
        Some(_) => "usr".into(),
        None => dir.display().to_string(),
    }
}

/// Absolute and lexically normalized (no `.`, `..` or doubled `/`); a
/// relative directory is taken from the current directory.
pub fn normalize(p: &Path) -> PathBuf {
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
    /// The path to read (under the root).
    pub read_from: PathBuf,
    /// Which directory of the search path holds it (0 = the first).
    pub dir_index: usize,
    /// It resolves to a character device (`/dev/null`): the id is masked.
    pub masked: bool,
    /// Files of the same name in lower-precedence directories, as the host
    /// sees them.
    pub shadowed: Vec<PathBuf>,
    /// Its drop-ins (`<id>.json.d/*.json` in any directory; none for a
    /// mask).
    pub drop_ins: DropIns,
}

impl Candidate {
    /// Reads the file, merges its drop-ins and validates the result: the
    /// one loader of a definition in force (naming host paths in errors).
    ///
    /// Errors: [`DefinitionError::Masked`] for a mask (never read, whatever
    /// drop-ins exist), else as [`crate::load_file`]; with drop-ins, as
    /// [`Layers::definition`], naming the drop-in that is not a JSON
    /// object or that set the offending field.
    pub fn load(&self) -> Result<LoadedDefinition, DefinitionError> {
        if self.masked {
            return Err(DefinitionError::Masked {
                path: self.path.clone(),
            });
        }
        if self.drop_ins.files.is_empty() && self.drop_ins.unreadable.is_none() {
            // The common case keeps the parser's line and column in errors.
            return load_file_as(&self.path, &self.read_from);
        }
        let id = id_from_path(&self.path).map_err(|source| DefinitionError::Id {
            path: self.path.clone(),
            source,
        })?;
        let definition = self.layers()?.definition()?;
        Ok(LoadedDefinition {
            id,
            path: self.path.clone(),
            drop_ins: self.drop_ins.paths(),
            definition,
        })
    }

    /// The base file and its drop-ins as JSON, for a job that writes a
    /// change back into the base ([`Layers::rebase`]).
    ///
    /// Errors: a mask, or a file that cannot be read or is not a JSON
    /// object (naming it).
    pub fn layers(&self) -> Result<Layers, DefinitionError> {
        if self.masked {
            return Err(DefinitionError::Masked {
                path: self.path.clone(),
            });
        }
        Ok(Layers {
            base_path: self.path.clone(),
            base: read_object(&self.path, &self.read_from, "a definition")?,
            drop_ins: self.drop_ins.read()?,
        })
    }

    /// Where the file comes from, for humans: `etc`, `run` or `usr` for
    /// the directories of [`DEFAULT_SEARCH_PATH`], else its directory.
    pub fn origin(&self) -> String {
        origin(&self.path)
    }
}

/// A directory that exists but could not be listed.
#[derive(Debug)]
pub struct ListError {
    /// The directory as the host sees it.
    pub dir: PathBuf,
    /// Why.
    pub error: io::Error,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn search_dirs_are_normalized() {
        assert_eq!(normalize(Path::new("/a/./b/../c//d/")), Path::new("/a/c/d"));
        assert_eq!(normalize(Path::new("/../x")), Path::new("/x"));
        assert!(normalize(Path::new("rel")).is_absolute());
    }

    #[test]
    fn a_path_naming_no_directory_keeps_the_default() {
        for v in ["", ":", "::"] {
            let sp = SearchPath::new(Path::new("/"), Some(OsStr::new(v)));
            assert_eq!(sp.dirs().len(), 3, "{v:?}");
        }
        let sp = SearchPath::new(Path::new("/"), Some(OsStr::new(":/a::/b/")));
        assert_eq!(sp.dirs(), [PathBuf::from("/a"), PathBuf::from("/b")]);
    }

    #[test]
    fn stems() {
        assert_eq!(
            definition_stem(OsStr::new("web.json")).as_deref(),
            Some("web")
        );
        assert_eq!(
            definition_stem(OsStr::new("a.json.json")).as_deref(),
            Some("a.json")
        );
        assert_eq!(definition_stem(OsStr::new(".web.json")), None);
        assert_eq!(definition_stem(OsStr::new("web.conf")), None);
    }

    #[test]
    fn find_and_discover_agree_on_masks_and_shadows() {
        let root = tempfile::tempdir().unwrap();
        let sp = SearchPath::new(root.path(), None);
        for d in DEFAULT_SEARCH_PATH {
            std::fs::create_dir_all(sp.real(Path::new(d))).unwrap();
        }
        let etc = sp.real(Path::new("/etc/berth/containers"));
        let usr = sp.real(Path::new("/usr/lib/berth/containers"));
        std::fs::write(usr.join("web.json"), b"{}").unwrap();
        symlink("/dev/null", etc.join("web.json")).unwrap();
        std::fs::write(usr.join("db.json"), b"{}").unwrap();
        symlink("/nonexistent", etc.join("gone.json")).unwrap();

        let web = sp.find("web").unwrap().unwrap();
        assert!(web.masked);
        assert_eq!(web.path, Path::new("/etc/berth/containers/web.json"));
        assert_eq!(
            web.shadowed,
            [PathBuf::from("/usr/lib/berth/containers/web.json")]
        );
        let db = sp.find("db").unwrap().unwrap();
        assert!(!db.masked);
        assert_eq!(db.dir_index, 2);
        assert_eq!((web.origin(), db.origin()), ("etc".into(), "usr".into()));
        assert!(matches!(web.load(), Err(DefinitionError::Masked { .. })));
        // A dangling link is found (and fails to load), never skipped.
        let gone = sp.find("gone").unwrap().unwrap();
        assert!(!gone.masked);
        assert!(gone.load().is_err());
        assert!(sp.find("none").unwrap().is_none());
        assert!(sp.find("../x").unwrap().is_none());

        let found = sp.discover();
        let (all, errors) = (found.candidates, found.errors);
        assert!(errors.is_empty());
        for c in &all {
            assert_eq!(sp.find(&c.stem).unwrap().as_ref(), Some(c));
        }
        assert_eq!(all.len(), 3);
    }
}
