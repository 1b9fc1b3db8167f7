//! Dependencies across definitions: the renderer's view of the other
//! definitions (`Peers`), and the generator's handling of cycles.

mod common;
use berth_definition::{Definition, SocketMode};
use berth_generator::render::{health_cmd_value, render, render_with_peers, InstallPaths, Peers};
use common::*;

fn def(json: &str) -> Definition {
    Definition::from_json(json.as_bytes()).unwrap()
}

fn unit_lines(d: &Definition, peers: &Peers) -> Vec<String> {
    let r = render_with_peers("web", "/x.json", d, &InstallPaths::standard(), peers).unwrap();
    r.units[0]
        .content
        .lines()
        .filter(|l| {
            ["Requires=", "Wants=berth", "After=berth", "PartOf="]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn dependencies_follow_the_other_side_socket_mode() {
    let d = def(
        r#"{"Image": "localhost/web", "Requires": ["p", "s"], "Wants": ["d", "x"], "After": ["x", "p"], "Group": "g"}"#,
    );
    let peers: Peers = [
        ("p".to_owned(), SocketMode::Proxied),
        ("d".to_owned(), SocketMode::Direct),
        ("s".to_owned(), SocketMode::None),
    ]
    .into();
    assert_eq!(
        unit_lines(&d, &peers),
        [
            "Requires=berth-p.socket berth-s.service",
            "Wants=berth-d.socket berth-x.service",
            "After=berth-p.socket berth-p.service berth-s.service berth-x.service",
            "PartOf=berth-g.target",
        ]
    );
    // Without peers (what `render` sees) every dependency is on a service.
    let plain = render("web", "/x.json", &d, &InstallPaths::standard()).unwrap();
    assert!(plain.units[0]
        .content
        .contains("Requires=berth-p.service berth-s.service\n"));
}

#[test]
fn health_cmd_values() {
    let v = |a: &[&str]| health_cmd_value(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(v(&["/bin/check"]), "CMD /bin/check");
    assert_eq!(
        v(&["/bin/check", "a b", "\"q\"\n"]),
        r#"["/bin/check","a b","\"q\"\n"]"#
    );
}

/// A cycle of Requires written by hand (install refuses it) neither stops
/// nor hangs the generator: every unit is written, and one warning names
/// the cycle.
#[test]
fn cycles_are_rendered_and_warned_once() {
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("defs");
    std::fs::create_dir_all(&defs).unwrap();
    for (id, dep) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        std::fs::write(
            defs.join(format!("{id}.json")),
            format!(r#"{{"Image": "localhost/{id}", "Requires": ["{dep}"]}}"#),
        )
        .unwrap();
    }
    // A loop closed by Wants orders nothing (berth install accepts it):
    // no warning names w1 and w2.
    for (id, field, dep) in [("w1", "Requires", "w2"), ("w2", "Wants", "w1")] {
        std::fs::write(
            defs.join(format!("{id}.json")),
            format!(r#"{{"Image": "localhost/{id}", "{field}": ["{dep}"]}}"#),
        )
        .unwrap();
    }
    // A long chain is walked without recursion.
    for i in 0..2000 {
        std::fs::write(
            defs.join(format!("chain{i}.json")),
            format!(r#"{{"Image": "localhost/x", "After": ["chain{}"]}}"#, i + 1),
        )
        .unwrap();
    }
    let units = tmp.path().join("units");
    let out = run_generator_on(&defs, &units);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    for id in ["a", "b", "c", "d"] {
        assert!(units.join(format!("berth-{id}.service")).exists());
    }
    let cycles: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("dependency cycle"))
        .collect();
    assert_eq!(cycles.len(), 1, "{log}");
    assert!(cycles[0].contains("among a, b, c "), "{}", cycles[0]);
    // chain1999 names chain2000, which has no definition: one warning.
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("no definition of"))
            .count(),
        1,
        "{log}"
    );
}
