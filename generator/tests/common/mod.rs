//! Helpers shared by the generator's integration tests.
#![allow(dead_code)]

use berth_generator::render::InstallPaths;
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

/// Rewrites the install paths this build compiled in
/// ([`InstallPaths::built_in`], from the Makefile's `PREFIX`, `BINDIR`,
/// `LIBEXECDIR` and `PODMAN`) to the standard layout
/// ([`InstallPaths::standard`]) that the golden units are written in, so
/// that the goldens do not depend on how this build was configured (`make
/// check PREFIX=/usr/local` compares the same bytes). The binary under test
/// stays the real one; only the program word of an `Exec*=` line is
/// rewritten, because that is the only place the renderer writes these
/// paths, so a definition's own values (a `Cmd` naming `/usr/local/bin/x`)
/// are compared as they are.
pub fn with_standard_paths(unit: &str) -> String {
    let (built, standard) = (InstallPaths::built_in(), InstallPaths::standard());
    if built == standard {
        return unit.to_owned();
    }
    let pairs = [
        (&built.podman, &standard.podman),
        (&built.proxy, &standard.proxy),
        (&built.berth, &standard.berth),
    ];
    let mut out = String::with_capacity(unit.len());
    for line in unit.split_inclusive('\n') {
        let rewritten = line
            .starts_with("Exec")
            .then(|| line.split_once('='))
            .flatten()
            .and_then(|(key, value)| {
                // Exec prefixes (systemd.service(5), "Command lines").
                let program = value.trim_start_matches(['-', '@', ':', '+', '!']);
                let prefix = &value[..value.len() - program.len()];
                pairs.iter().find_map(|(from, to)| {
                    let rest = program.strip_prefix(from.as_str())?;
                    rest.starts_with([' ', '\n'])
                        .then(|| format!("{key}={prefix}{to}{rest}"))
                })
            });
        out.push_str(rewritten.as_deref().unwrap_or(line));
    }
    out
}

/// [`tree`] with every file passed through [`with_standard_paths`].
pub fn tree_standard(dir: &Path) -> BTreeMap<String, Node> {
    tree(dir)
        .into_iter()
        .map(|(k, v)| match v {
            Node::File(c) => (k, Node::File(with_standard_paths(&c))),
            link => (k, link),
        })
        .collect()
}

/// A built binary of this workspace next to the generator's (cargo builds
/// every workspace binary into the same directory).
pub fn sibling_binary(name: &str) -> PathBuf {
    let gen = Path::new(env!("CARGO_BIN_EXE_berth-generator"));
    let p = gen.with_file_name(name);
    assert!(
        p.exists(),
        "{} is not built; build the workspace first (`cargo build --workspace`, which `make check` runs)",
        p.display()
    );
    p
}

/// Runs the generator over the definitions in `defs_dir` (as the only
/// search directory) into `out`, returning its output.
pub fn run_generator_on(defs_dir: &Path, out: &Path) -> Output {
    std::fs::create_dir_all(out).unwrap();
    Command::new(env!("CARGO_BIN_EXE_berth-generator"))
        .arg(out)
        .env_remove("BERTH_GENERATOR_ROOT")
        .env("BERTH_DEFINITIONS_PATH", defs_dir)
        .env("SYSTEMD_LOG_TARGET", "console")
        .output()
        .unwrap()
}

/// Runs `systemd-analyze verify` on every unit in `units` inside a root
/// holding the host's system units and the programs the units run (podman
/// from the host, berth's from this build), so the executable checks are
/// real. Returns (success, combined output).
pub fn systemd_verify(units: &Path) -> (bool, String) {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let sys = r.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&sys).unwrap();
    let status = Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system/."])
        .arg(&sys)
        .status()
        .unwrap();
    assert!(status.success());
    let podman = Path::new("/usr/bin/podman");
    assert!(
        podman.exists(),
        "podman is not installed (apt-get install podman; .ci/run does)"
    );
    // The programs go where this build's units name them (a build with
    // PREFIX=/usr/local runs /usr/local/libexec/berth/berth-proxy).
    let paths = InstallPaths::built_in();
    for (src, dst) in [
        (podman.to_owned(), paths.podman.as_str()),
        (PathBuf::from("/usr/bin/rm"), "/usr/bin/rm"),
        (sibling_binary("berth-proxy"), paths.proxy.as_str()),
        (sibling_binary("berth"), paths.berth.as_str()),
    ] {
        let d = r.join(dst.trim_start_matches('/'));
        std::fs::create_dir_all(d.parent().unwrap()).unwrap();
        std::fs::copy(&src, &d).unwrap();
    }
    let etc = r.join("etc/systemd/system");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::copy(repo().join("units/berth.target"), etc.join("berth.target")).unwrap();
    let mut files = Vec::new();
    for (rel, node) in tree(units) {
        let dst = etc.join(&rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        match node {
            Node::File(c) => {
                std::fs::write(&dst, c).unwrap();
                // The env files next to the units are not units.
                if !rel.ends_with(".env") {
                    files.push(dst);
                }
            }
            Node::Link(t) => std::os::unix::fs::symlink(t, &dst).unwrap(),
        }
    }
    files.push(etc.join("berth.target"));
    let out = Command::new("systemd-analyze")
        .arg(format!("--root={}", r.display()))
        .args(["verify", "--man=no"])
        .args(&files)
        .output()
        .expect("systemd-analyze is not installed (apt-get install systemd)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.trim().is_empty(), text)
}

/// `systemd --test --system --unit=UNIT` over the units in `units` (first
/// on the unit path); returns its dump. systemd --test refuses to run as
/// root, so it runs as nobody, and the units (not the root-only env
/// files) and their directories are made readable for it.
pub fn systemd_test(units: &Path, unit: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let mut dir = Some(units);
    while let Some(d) = dir {
        if d == Path::new("/") || d == std::env::temp_dir() {
            break;
        }
        let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
        dir = d.parent();
    }
    for e in std::fs::read_dir(units).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && p.extension().is_none_or(|x| x != "env") {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let mut cmd = Command::new("/usr/lib/systemd/systemd");
    cmd.args(["--test", "--system", "--no-pager"])
        .arg(format!("--unit={unit}"))
        .env("SYSTEMD_UNIT_PATH", format!("{}:", units.display()))
        .env("SYSTEMD_LOG_LEVEL", "err");
    if unsafe { geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("systemd is not installed");
    assert!(
        out.status.success(),
        "systemd --test failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

extern "C" {
    fn geteuid() -> u32;
}
