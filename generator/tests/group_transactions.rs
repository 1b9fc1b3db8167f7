//! What systemd itself starts for the units of fixture tree 16 (groups):
//! `systemd --test` builds the start transaction of a unit over the
//! generated units and dumps its jobs ("Action: <unit> -> start"), so the
//! tests read systemd's own answer to "what starts at boot" and "what does
//! starting a group start".
//!
//! At boot (`berth.target`, what `Started` links into) only the `Started`
//! members start, and what they require; the group target is not pulled
//! in, so a member that is not `Started` stays stopped. Starting the group
//! target starts every member: the socket of a socket-activated one (which
//! keeps scaling to zero), the service of any other.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::path::Path;

/// The units `systemd --test` would start for `unit`, with the fixture's
/// units (and `berth.target`) first on the unit path.
fn start_jobs(units: &Path, unit: &str) -> BTreeSet<String> {
    std::fs::copy(
        repo().join("units/berth.target"),
        units.join("berth.target"),
    )
    .unwrap();
    let dump = systemd_test(units, unit);
    let jobs = dump
        .split_once("By jobs")
        .expect("systemd --test dumps its jobs")
        .1;
    jobs.lines()
        .filter_map(|l| l.trim().strip_prefix("Action: "))
        .filter_map(|a| a.strip_suffix(" -> start"))
        .filter(|u| u.starts_with("berth"))
        .map(str::to_owned)
        .collect()
}

fn generated() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_generator(
        &repo().join("tests/generator/16-groups-auto-update"),
        &tmp.path().join("normal"),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "tree 16 holds two rejected definitions"
    );
    tmp
}

fn set(units: &[&str]) -> BTreeSet<String> {
    units.iter().map(|s| s.to_string()).collect()
}

#[test]
fn boot_starts_started_members_only() {
    let tmp = generated();
    let units = tmp.path().join("normal");
    // shop-web is Started and requires shop-db; shop-api (socket) is in
    // the group but not Started, and the group target is not pulled in.
    assert_eq!(
        start_jobs(&units, "berth.target"),
        set(&[
            "berth-shop-db.service",
            "berth-shop-web.service",
            "berth.target"
        ])
    );
    // tools is Started through its socket.
    assert_eq!(
        start_jobs(&units, "sockets.target"),
        set(&["berth-tools.socket"])
    );
}

#[test]
fn starting_a_group_starts_every_member() {
    let tmp = generated();
    let units = tmp.path().join("normal");
    assert_eq!(
        start_jobs(&units, "berth-shop.target"),
        set(&[
            "berth-shop-api.socket",
            "berth-shop-db.service",
            "berth-shop-web.service",
            "berth-shop.target",
        ])
    );
    assert_eq!(
        start_jobs(&units, "berth-ops.target"),
        set(&["berth-ops.target", "berth-tools.socket"])
    );
}
