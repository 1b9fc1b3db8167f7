//! Every generated unit passes real `systemd-analyze verify`: the fixture
//! trees (or prints exactly a tree's `expected-verify`), the shipped
//! examples, and `berth.target`.

mod common;
use common::*;

#[test]
fn fixture_units_verify() {
    for case in cases() {
        let out = tempfile::tempdir().unwrap();
        let units = out.path().join("normal");
        run_generator(&case, &units);
        if tree(&units).is_empty() {
            continue;
        }
        let (ok, text) = systemd_verify(&units);
        // A tree may expect what systemd says on purpose (a Requires= on
        // a container that has no definition fails the start).
        match std::fs::read_to_string(case.join("expected-verify")) {
            Ok(want) => assert_eq!(text, want, "{}: systemd-analyze verify", case.display()),
            Err(_) => assert!(ok, "{}: systemd-analyze verify:\n{text}", case.display()),
        }
    }
}

#[test]
fn example_units_verify() {
    let out = tempfile::tempdir().unwrap();
    let units = out.path().join("normal");
    let o = run_generator_on(&repo().join("examples"), &units);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tree(&units).len() >= 6);
    let (ok, text) = systemd_verify(&units);
    assert!(ok, "systemd-analyze verify:\n{text}");
}

/// The check can fail: a unit with a bad setting is refused.
#[test]
fn verify_catches_a_broken_unit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("berth-bad.service"),
        "[Service]\nExecStart=/usr/bin/podman run\nRestart=sometimes\n",
    )
    .unwrap();
    let (ok, text) = systemd_verify(dir.path());
    assert!(!ok, "verify accepted a bad unit:\n{text}");
}
