//! Golden fixture trees (zram-generator style): each `tests/generator/NN-*/`
//! is a tiny root file system holding definitions; `expected/` is the exact
//! output tree, `expected-status` the exit code and `expected-log` the exact
//! log lines. `BERTH_BLESS=1 cargo test --test fixtures` rewrites them from
//! the actual output (review the diff before committing).

mod common;
use common::*;

#[test]
fn fixture_trees_match_expected_output() {
    let bless = std::env::var_os("BERTH_BLESS").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 10, "fixture cases went missing");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("normal");
        let output = run_generator(&case, &out);
        let status = output.status.code().unwrap();
        let log = String::from_utf8(output.stderr).unwrap();
        let expected_dir = case.join("expected");
        if bless {
            let _ = std::fs::remove_dir_all(&expected_dir);
            copy_tree(&out, &expected_dir);
            if std::fs::read_dir(&expected_dir).unwrap().count() == 0 {
                std::fs::write(expected_dir.join(".gitkeep"), "").unwrap();
            }
            std::fs::write(case.join("expected-status"), format!("{status}\n")).unwrap();
            std::fs::write(case.join("expected-log"), &log).unwrap();
            continue;
        }
        if !expected_dir.is_dir() {
            failures.push(format!(
                "{name}: no expected/ (run with BERTH_BLESS=1 and review)"
            ));
            continue;
        }
        let want_status: i32 = std::fs::read_to_string(case.join("expected-status"))
            .map(|s| s.trim().parse().unwrap())
            .unwrap_or(0);
        if status != want_status {
            failures.push(format!(
                "{name}: exit status {status}, expected {want_status}\n{log}"
            ));
        }
        let want_log = std::fs::read_to_string(case.join("expected-log")).unwrap_or_default();
        if log != want_log {
            failures.push(format!(
                "{name}: log differs\n--- expected\n{want_log}--- actual\n{log}"
            ));
        }
        let (got, want) = (tree(&out), tree(&expected_dir));
        for (path, node) in &want {
            match got.get(path) {
                None => failures.push(format!("{name}: missing {path}")),
                Some(g) if g != node => failures.push(format!(
                    "{name}: {path} differs\n--- expected\n{node:?}\n--- actual\n{g:?}"
                )),
                _ => {}
            }
        }
        for path in got.keys().filter(|p| !want.contains_key(*p)) {
            failures.push(format!("{name}: unexpected {path}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for (rel, node) in tree(from) {
        let dst = to.join(&rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        match node {
            Node::File(c) => std::fs::write(dst, c).unwrap(),
            Node::Link(t) => std::os::unix::fs::symlink(t, dst).unwrap(),
        }
    }
}

/// Same input, same bytes: two runs produce identical trees.
#[test]
fn output_is_deterministic() {
    for case in cases() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        run_generator(&case, &a.path().join("n"));
        run_generator(&case, &b.path().join("n"));
        assert_eq!(
            tree(&a.path().join("n")),
            tree(&b.path().join("n")),
            "{}",
            case.display()
        );
    }
}

/// `--dry-run` prints every unit after a `---name---` line, writes nothing,
/// and exits non-zero when a definition was rejected.
#[test]
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
#[test]
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
