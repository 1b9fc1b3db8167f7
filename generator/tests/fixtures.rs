//! Golden fixture trees (zram-generator style): each `tests/generator/NN-*/`
//! is a tiny root file system holding definitions; `expected/` is the exact
//! output tree, `expected-status` the exit code and `expected-log` the exact
//! log lines. Each tree is its own test (`cargo test -p berth-generator 07`
//! runs tree 07), a mismatch prints a unified diff, and `BERTH_BLESS=1`
//! rewrites the expectations from the actual output (review the diff before
//! committing). See `tests/README.md`.
//!
//! The harness is libtest-mimic (`harness = false`): the trees are found by
//! listing, so a new directory is a new test without touching this file.

mod common;
use common::*;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::Path;

fn main() {
    let args = Arguments::from_args();
    let cases = cases();
    assert!(cases.len() >= 10, "fixture cases went missing");
    let mut trials = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let c = case.clone();
        trials.push(Trial::test(format!("fixture::{name}"), move || {
            check_fixture(&c)
        }));
        trials.push(Trial::test(format!("deterministic::{name}"), move || {
            output_is_deterministic(&case);
            Ok(())
        }));
    }
    trials.push(Trial::test(
        "dry_run_prints_units_and_reports_rejections",
        || {
            dry_run_prints_units_and_reports_rejections();
            Ok(())
        },
    ));
    trials.push(Trial::test("usage_errors", || {
        usage_errors();
        Ok(())
    }));
    trials.push(Trial::test(
        "standard_paths_rewrite_program_words_only",
        || {
            standard_paths_rewrite_program_words_only();
            Ok(())
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}

fn bless_requested() -> bool {
    std::env::var_os("BERTH_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs the generator over one tree and compares status, log and output
/// tree with the expectations (or rewrites them under `BERTH_BLESS=1`).
fn check_fixture(case: &Path) -> Result<(), Failed> {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("normal");
    let output = run_generator(case, &out);
    let status = output.status.code().unwrap();
    let log = String::from_utf8(output.stderr).unwrap();
    let got = tree_standard(&out);
    let expected_dir = case.join("expected");
    if bless_requested() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        write_tree(&got, &expected_dir);
        if got.is_empty() {
            std::fs::write(expected_dir.join(".gitkeep"), "").unwrap();
        }
        std::fs::write(case.join("expected-status"), format!("{status}\n")).unwrap();
        std::fs::write(case.join("expected-log"), &log).unwrap();
        return Ok(());
    }
    if !expected_dir.is_dir() {
        return Err(format!("{name}: no expected/ (run with BERTH_BLESS=1 and review)").into());
    }
    let mut failures = Vec::new();
    let want_status: i32 = std::fs::read_to_string(case.join("expected-status"))
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(0);
    if status != want_status {
        failures.push(format!("exit status {status}, expected {want_status}"));
    }
    let want_log = std::fs::read_to_string(case.join("expected-log")).unwrap_or_default();
    if log != want_log {
        failures.push(unified_diff("expected-log", &want_log, &log));
    }
    let want = tree(&expected_dir);
    for (path, node) in &want {
        match (node, got.get(path)) {
            (_, None) => failures.push(format!("missing {path}")),
            (Node::File(w), Some(Node::File(g))) if w != g => {
                failures.push(unified_diff(&format!("expected/{path}"), w, g))
            }
            (w, Some(g)) if w != g => failures.push(format!("{path}: expected {w:?}, got {g:?}")),
            _ => {}
        }
    }
    for path in got.keys().filter(|p| !want.contains_key(*p)) {
        failures.push(format!("unexpected {path}"));
    }
    if failures.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{name}: output differs from the expectations\n\n{}\n\
         If the change is intended: BERTH_BLESS=1 cargo test -p berth-generator --test fixtures {name}, \
         then review `git diff tests/generator/{name}`.",
        failures.join("\n")
    )
    .into())
}

/// A unified diff (3 lines of context) from `want` to `got`.
fn unified_diff(path: &str, want: &str, got: &str) -> String {
    similar::TextDiff::from_lines(want, got)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{path} (expected)"), &format!("{path} (actual)"))
        .to_string()
}

fn write_tree(t: &std::collections::BTreeMap<String, Node>, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (rel, node) in t {
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        match node {
            Node::File(c) => std::fs::write(dst, c).unwrap(),
            Node::Link(t) => std::os::unix::fs::symlink(t, dst).unwrap(),
        }
    }
}

/// Same input, same bytes: two runs produce identical trees.
fn output_is_deterministic(case: &Path) {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    run_generator(case, &a.path().join("n"));
    run_generator(case, &b.path().join("n"));
    assert_eq!(
        tree(&a.path().join("n")),
        tree(&b.path().join("n")),
        "{}",
        case.display()
    );
}

/// The rewrite to the standard layout touches the program word of `Exec*=`
/// lines only.
fn standard_paths_rewrite_program_words_only() {
    use berth_generator::render::InstallPaths;
    let b = InstallPaths::built_in();
    let s = InstallPaths::standard();
    let unit = format!(
        "ExecStart={p} run --name=x img {p}\nExecStopPost=-{p} rm\nExecStart={x} 127.0.0.1:1\n\
         ExecStartPost={c} internal apply-links x\nDescription={p}\nExecStart={p}x\n",
        p = b.podman,
        x = b.proxy,
        c = b.berth
    );
    let want = format!(
        "ExecStart={p} run --name=x img {bp}\nExecStopPost=-{p} rm\nExecStart={x} 127.0.0.1:1\n\
         ExecStartPost={c} internal apply-links x\nDescription={bp}\nExecStart={bp}x\n",
        p = s.podman,
        x = s.proxy,
        c = s.berth,
        bp = b.podman
    );
    assert_eq!(with_standard_paths(&unit), want);
}

/// `--dry-run` prints every unit after a `---name---` line, writes nothing,
/// and exits non-zero when a definition was rejected.
fn dry_run_prints_units_and_reports_rejections() {
    let case = repo().join("tests/generator/08-bad-among-good");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth-generator"))
        .arg("--dry-run")
        .env("BERTH_GENERATOR_ROOT", &case)
        .env_remove("BERTH_DEFINITIONS_PATH")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let expected = std::fs::read_to_string(case.join("expected/berth-good1.service")).unwrap();
    let stdout = with_standard_paths(&stdout);
    assert!(
        stdout.starts_with(&format!("---berth-good1.service---\n{expected}")),
        "{stdout}"
    );
    assert!(stdout.contains("---berth-good2.service---\n"));
    assert!(
        stdout.contains("---berth.target.wants/berth-good1.service -> ../berth-good1.service---\n")
    );
    assert!(!stdout.contains("broken"));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.lines().filter(|l| l.contains("broken.json")).count(),
        1,
        "{stderr}"
    );

    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_berth-generator"))
        .arg("--dry-run")
        .env(
            "BERTH_GENERATOR_ROOT",
            repo().join("tests/generator/02-basic"),
        )
        .env_remove("BERTH_DEFINITIONS_PATH")
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
}

/// Usage errors exit 2 and say what was wrong.
fn usage_errors() {
    for args in [
        &["--bogus"][..],
        &[][..],
        &["a", "b"][..],
        &["--dry-run", "dir"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth-generator"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Usage:"));
    }
}
