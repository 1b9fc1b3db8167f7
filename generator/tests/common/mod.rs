//! Helpers shared by the generator's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every fixture case under tests/generator, sorted (found by listing, so
/// no case can be orphaned).
pub fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/generator"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Runs the generator as systemd would (three output dirs), reading
/// definitions below `root`, logging to the console.
pub fn run_generator(root: &Path, out: &Path) -> Output {
    let early = out.with_extension("early");
    let late = out.with_extension("late");
    for d in [out, &early, &late] {
        std::fs::create_dir_all(d).unwrap();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_berth-generator"))
        .arg(out)
        .arg(&early)
        .arg(&late)
        .env("BERTH_GENERATOR_ROOT", root)
        .env_remove("BERTH_DEFINITIONS_PATH")
        .env("SYSTEMD_LOG_TARGET", "console")
        .env("SYSTEMD_LOG_LEVEL", "info")
        .output()
        .unwrap();
    for d in [&early, &late] {
        assert_eq!(
            std::fs::read_dir(d).unwrap().count(),
            0,
            "the generator must write into NORMAL_DIR only"
        );
    }
    output
}

/// A file tree: regular files by content, symlinks by target.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Node {
    File(String),
    Link(String),
}

/// Reads `dir` recursively (ignoring `.gitkeep`).
pub fn tree(dir: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, Node::Link(t.to_string_lossy().into_owned()));
            } else if meta.is_dir() {
                walk(base, &p, out);
            } else if rel != ".gitkeep" {
                out.insert(rel, Node::File(std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}
