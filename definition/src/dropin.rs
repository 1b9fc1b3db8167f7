//! Definition drop-ins: `<id>.json.d/*.json` in any search-path directory,
//! merged over the definition in force, as systemd merges a unit's
//! `<unit>.d/*.conf`.
//!
//! **Which files.** The drop-ins of every directory of the search path are
//! collected; a file name in a higher-precedence directory shadows the same
//! name in a lower one, and one that resolves to a character device (a
//! symlink to `/dev/null`) masks that name. The rest are applied in lexical
//! (byte) order of their file names, whichever directory holds them.
//! Hidden files and names not ending in `.json` are ignored. Drop-ins
//! never resurrect a masked definition, and a drop-in directory without a
//! definition is not one (the generator warns about it).
//!
//! **The merge rule** is JSON Merge Patch (RFC 7396): an object is merged
//! key by key, recursively; any other value (an array included) replaces
//! the one below it; `null` removes the key. The merged document is then
//! parsed and validated as one definition, by the one parser.
//!
//! **Writing back.** A job that changes a definition in force writes the
//! change into the base file only ([`Layers::rebase`]): the drop-ins are
//! never written, deleted or baked into the base, and a change that a
//! drop-in would override is refused naming that drop-in.

use crate::{Definition, DefinitionError, FieldError, MAX_DEFINITION_BYTES};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The suffix of a drop-in directory: `<id>.json.d`.
pub const DROP_IN_DIR_SUFFIX: &str = ".json.d";

/// The drop-in directory of `id` (`web` → `web.json.d`).
pub fn drop_in_dir_name(id: &str) -> String {
    format!("{id}{DROP_IN_DIR_SUFFIX}")
}

/// One drop-in file in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropIn {
    /// The path as the host sees it (what logs, units and replies name).
    pub path: PathBuf,
    /// The path to read (under the root).
    pub read_from: PathBuf,
}

/// The drop-ins of one id, collected across the search path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropIns {
    /// In force, in the order they are applied (by file name).
    pub files: Vec<DropIn>,
    /// Same-named files in lower-precedence directories, not applied.
    pub shadowed: Vec<PathBuf>,
    /// Names masked by a link to `/dev/null` (the mask's path).
    pub masked: Vec<PathBuf>,
    /// A drop-in directory that exists but could not be listed, and why:
    /// the definition then cannot be loaded (never silently without one
    /// of its overrides).
    pub unreadable: Option<(PathBuf, io::ErrorKind, String)>,
}

impl DropIns {
    /// The host paths of the drop-ins in force, in order (`DropInPaths`).
    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|d| d.path.clone()).collect()
    }

    /// Collects the drop-ins of `id` from `dirs` (host path and path to
    /// read of each directory of the search path holding `<id>.json.d`,
    /// highest precedence first).
    pub(crate) fn collect(id: &str, dirs: &[(PathBuf, PathBuf)]) -> DropIns {
        let mut out = DropIns::default();
        // Name → in force (Some) or masked (None); BTreeMap: lexical order.
        let mut by_name: BTreeMap<OsString, Option<DropIn>> = BTreeMap::new();
        let sub = drop_in_dir_name(id);
        for (host_dir, real_dir) in dirs {
            let (host_dir, real_dir) = (host_dir.join(&sub), real_dir.join(&sub));
            let entries = match std::fs::read_dir(&real_dir) {
                Ok(e) => e,
                Err(e) if crate::search::is_absent(&e) => continue,
                Err(e) => {
                    out.unreadable = Some((host_dir, e.kind(), e.to_string()));
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        out.unreadable = Some((host_dir.clone(), e.kind(), e.to_string()));
                        break;
                    }
                };
                let name = entry.file_name();
                if crate::search::definition_stem(&name).is_none() {
                    continue;
                }
                let path = host_dir.join(&name);
                if by_name.contains_key(&name) {
                    out.shadowed.push(path);
                    continue;
                }
                let read_from = real_dir.join(&name);
                let masked = match entry.file_type() {
                    Ok(t) if t.is_file() => false,
                    _ => crate::search::resolves_to_device(&read_from),
                };
                if masked {
                    out.masked.push(path);
                    by_name.insert(name, None);
                } else {
                    by_name.insert(name, Some(DropIn { path, read_from }));
                }
            }
        }
        out.files = by_name.into_values().flatten().collect();
        // readdir order is the file system's: sort for deterministic logs.
        out.shadowed.sort();
        out.masked.sort();
        out
    }

    /// Reads and parses every drop-in in force, in order.
    ///
    /// Errors: a drop-in directory that could not be listed, a file that
    /// cannot be read, is not JSON, or is not a JSON object, naming it.
    pub fn read(&self) -> Result<Vec<(PathBuf, Value)>, DefinitionError> {
        if let Some((dir, kind, msg)) = &self.unreadable {
            return Err(DefinitionError::Io {
                path: dir.clone(),
                source: io::Error::new(*kind, msg.clone()),
            });
        }
        self.files
            .iter()
            .map(|d| {
                let v = read_object(&d.path, &d.read_from, "a drop-in")?;
                Ok((d.path.clone(), v))
            })
            .collect()
    }
}

/// Reads `read_from` (bounded) as one JSON object, naming `path` in errors.
pub(crate) fn read_object(
    path: &Path,
    read_from: &Path,
    what: &str,
) -> Result<Value, DefinitionError> {
    let bytes = crate::read_bounded(read_from).map_err(|source| DefinitionError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_object(&bytes, what).map_err(|source| DefinitionError::Field {
        path: path.to_owned(),
        source,
    })
}

fn parse_object(bytes: &[u8], what: &str) -> Result<Value, FieldError> {
    if bytes.len() > MAX_DEFINITION_BYTES {
        return Err(FieldError::new(
            ".",
            format!("{what} may be at most {MAX_DEFINITION_BYTES} bytes"),
        ));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| FieldError::new(".", format!("{what} must be valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(FieldError::new(
            ".",
            format!("{what} is a JSON object ({{...}}), merged key by key (see berth.json(5))"),
        ));
    }
    Ok(v)
}

/// Applies `patch` to `target` by JSON Merge Patch (RFC 7396): objects
/// merge key by key, recursively; `null` removes a key; anything else (an
/// array included) replaces the target's value.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("made an object above");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The merge patch that turns `from` into `to` (`merge_patch(from, diff)`
/// gives `to` when `to` holds no `null`): only the keys that differ, with
/// `null` for a key `to` lacks.
pub fn diff(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(f), Value::Object(t)) => {
            let mut p = Map::new();
            for (k, fv) in f {
                match t.get(k) {
                    None => {
                        p.insert(k.clone(), Value::Null);
                    }
                    Some(tv) if tv != fv => {
                        p.insert(k.clone(), diff(fv, tv));
                    }
                    Some(_) => {}
                }
            }
            for (k, tv) in t {
                if !f.contains_key(k) {
                    p.insert(k.clone(), tv.clone());
                }
            }
            Value::Object(p)
        }
        _ => to.clone(),
    }
}

/// A definition's files as JSON: the base and its drop-ins in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Layers {
    /// The base definition file, as the host sees it.
    pub base_path: PathBuf,
    /// Its JSON (an object).
    pub base: Value,
    /// The drop-ins in force, in order, with their JSON (objects).
    pub drop_ins: Vec<(PathBuf, Value)>,
}

impl Layers {
    /// The base merged with every drop-in, in order.
    pub fn merged(&self) -> Value {
        merge_all(&self.base, &self.drop_ins)
    }

    /// The merged document parsed and validated as a stored definition.
    ///
    /// Errors: [`DefinitionError::Field`] naming the file that set the
    /// offending field (the last drop-in holding it, else the base, with
    /// the drop-ins listed).
    pub fn definition(&self) -> Result<Definition, DefinitionError> {
        self.parse(self.merged())
    }

    fn parse(&self, merged: Value) -> Result<Definition, DefinitionError> {
        // Each file is bounded on its own; the merge must be too, or ten
        // drop-ins could build a unit line past systemd's 1 MiB limit.
        let size = serde_json::to_vec(&merged).map_or(usize::MAX, |v| v.len());
        if size > MAX_DEFINITION_BYTES {
            let e = FieldError::new(
                ".",
                format!(
                    "merged with its drop-ins, a definition may be at most \
{MAX_DEFINITION_BYTES} bytes (got {size})"
                ),
            );
            return Err(self.blame(e));
        }
        Definition::from_json_value(merged).map_err(|e| self.blame(e))
    }

    /// The error `e` of the merged document, naming the file that set its
    /// field.
    fn blame(&self, mut e: FieldError) -> DefinitionError {
        let keys = object_keys(&e.field);
        let setter = self
            .drop_ins
            .iter()
            .rev()
            .find(|(_, v)| !keys.is_empty() && holds(v, &keys))
            .map(|(p, _)| p.clone());
        let path = match setter {
            Some(p) => p,
            None => {
                if !self.drop_ins.is_empty() {
                    let names: Vec<String> = self
                        .drop_ins
                        .iter()
                        .map(|(p, _)| p.display().to_string())
                        .collect();
                    e.rule = format!("{} (with the drop-ins {})", e.rule, names.join(", "));
                }
                self.base_path.clone()
            }
        };
        DefinitionError::Field { path, source: e }
    }

    /// The bytes to write as the new base file so that, under the same
    /// drop-ins, `new` is in force. Only what differs between the
    /// definition in force now and `new` changes in the base; everything
    /// else stays as the base had it, and no drop-in value is copied in.
    /// The result is canonical JSON ([`Definition::to_json`]) when the base
    /// is a valid definition on its own, else the base's JSON, indented.
    ///
    /// Errors: the definition in force cannot be parsed, or a drop-in
    /// overrides a changed field (naming the drop-in and the field: edit
    /// or remove the drop-in to change it).
    pub fn rebase(&self, new: &Definition) -> Result<Vec<u8>, DefinitionError> {
        let old = self.definition()?;
        let (old_v, new_v) = (canonical(&old), canonical(new));
        let mut base = self.base.clone();
        merge_patch(&mut base, &diff(&old_v, &new_v));
        let after = Layers {
            base_path: self.base_path.clone(),
            base,
            drop_ins: self.drop_ins.clone(),
        };
        let in_force = after.definition()?;
        if &in_force != new {
            let got = canonical(&in_force);
            let field = first_difference(&got, &new_v);
            let setter = self
                .drop_ins
                .iter()
                .rev()
                .find(|(_, v)| v.get(&field).is_some())
                .map(|(p, _)| p.clone())
                .unwrap_or_else(|| self.base_path.clone());
            return Err(DefinitionError::Field {
                path: setter,
                source: FieldError::new(
                    field,
                    "is set by this drop-in, which would override the change; \
                     edit or remove the drop-in to change it",
                ),
            });
        }
        Ok(match Definition::from_json_value(after.base.clone()) {
            Ok(alone) => alone.to_json().into_bytes(),
            Err(_) => {
                let mut s = serde_json::to_string_pretty(&after.base).expect("JSON serializes");
                s.push('\n');
                s.into_bytes()
            }
        })
    }
}

/// `base` with every drop-in applied, in order.
pub fn merge_all(base: &Value, drop_ins: &[(PathBuf, Value)]) -> Value {
    let mut merged = base.clone();
    for (_, d) in drop_ins {
        merge_patch(&mut merged, d);
    }
    merged
}

fn canonical(d: &Definition) -> Value {
    serde_json::to_value(d).expect("definition serializes")
}

/// The first top-level key (in key order) whose value differs.
fn first_difference(a: &Value, b: &Value) -> String {
    let empty = Map::new();
    let (a, b) = (
        a.as_object().unwrap_or(&empty),
        b.as_object().unwrap_or(&empty),
    );
    a.keys()
        .chain(b.keys())
        .find(|k| a.get(*k) != b.get(*k))
        .cloned()
        .unwrap_or_else(|| ".".into())
}

/// The object keys leading to `field` (`Environment.Variables[0].Name` →
/// `Environment`, `Variables`): as deep as a drop-in can set a value.
fn object_keys(field: &str) -> Vec<&str> {
    if field == "." {
        return Vec::new();
    }
    let mut keys = Vec::new();
    for part in field.split('.') {
        match part.split_once('[') {
            Some((k, _)) => {
                if !k.is_empty() {
                    keys.push(k);
                }
                break;
            }
            None => keys.push(part),
        }
    }
    keys
}

/// Whether `v` holds the key path `keys`.
fn holds(v: &Value, keys: &[&str]) -> bool {
    let mut cur = v;
    for k in keys {
        match cur.get(k) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests;
