use super::*;
use crate::search::SearchPath;
use serde_json::json;
use std::os::unix::fs::symlink;

fn merged(base: Value, patches: &[Value]) -> Value {
    let d: Vec<(PathBuf, Value)> = patches
        .iter()
        .map(|p| (PathBuf::from("/d.json"), p.clone()))
        .collect();
    merge_all(&base, &d)
}

#[test]
fn objects_merge_by_key_recursively() {
    let base = json!({"Image": "a", "VolumeConfig": {"Volumes": []}, "Environment": {"Variables": [{"Name": "A", "Value": "1"}]}});
    let got = merged(
        base,
        &[json!({"Environment": {"Extra": {"X": 1}}, "Started": true})],
    );
    assert_eq!(
        got,
        json!({"Image": "a", "Started": true, "VolumeConfig": {"Volumes": []},
               "Environment": {"Variables": [{"Name": "A", "Value": "1"}], "Extra": {"X": 1}}})
    );
}

#[test]
fn arrays_are_replaced_not_appended() {
    let base =
        json!({"Ports": [{"Internal": 80, "External": 8080}, {"Internal": 443, "External": 8443}]});
    let got = merged(
        base,
        &[json!({"Ports": [{"Internal": 80, "External": 9090}]})],
    );
    assert_eq!(got, json!({"Ports": [{"Internal": 80, "External": 9090}]}));
}

#[test]
fn null_removes_a_key_at_any_depth() {
    let base =
        json!({"Image": "a", "Cmd": ["x"], "Environment": {"Variables": []}, "MemoryLimit": "64m"});
    let got = merged(
        base,
        &[json!({"Cmd": null, "Environment": {"Variables": null}, "Missing": null})],
    );
    assert_eq!(
        got,
        json!({"Image": "a", "Environment": {}, "MemoryLimit": "64m"})
    );
}

#[test]
fn later_drop_ins_win_and_can_restore_a_removed_key() {
    let got = merged(
        json!({"Image": "a", "Cmd": ["1"]}),
        &[
            json!({"Cmd": null}),
            json!({"Cmd": ["3"]}),
            json!({"Image": "b"}),
        ],
    );
    assert_eq!(got, json!({"Image": "b", "Cmd": ["3"]}));
}

#[test]
fn an_empty_drop_in_is_the_identity() {
    let base = json!({"Image": "a", "Ports": [{"Internal": 1, "External": 2}]});
    assert_eq!(merged(base.clone(), &[json!({})]), base);
}

#[test]
fn diff_is_the_patch_from_one_to_the_other() {
    let from = json!({"Image": "a", "Cmd": ["x"], "Environment": {"Variables": [1], "K": 2}});
    let to = json!({"Image": "a", "Started": true, "Environment": {"Variables": [1, 2], "K": 2}});
    let d = diff(&from, &to);
    assert_eq!(
        d,
        json!({"Cmd": null, "Started": true, "Environment": {"Variables": [1, 2]}})
    );
    let mut x = from.clone();
    merge_patch(&mut x, &d);
    assert_eq!(x, to);
}

/// A temporary root with the three default directories.
struct Tree {
    _root: tempfile::TempDir,
    sp: SearchPath,
}

impl Tree {
    fn new() -> Tree {
        let root = tempfile::tempdir().unwrap();
        let sp = SearchPath::new(root.path(), None);
        Tree { _root: root, sp }
    }
    fn write(&self, host: &str, body: &str) {
        let p = self.sp.real(Path::new(host));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    fn mask(&self, host: &str) {
        let p = self.sp.real(Path::new(host));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink("/dev/null", p).unwrap();
    }
}

const USR: &str = "/usr/lib/berth/containers";
const RUN: &str = "/run/berth/containers";
const ETC: &str = "/etc/berth/containers";

fn env_of(d: &Definition) -> Vec<(String, String)> {
    d.env_vars()
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.into(), b.into())
}

#[test]
fn drop_ins_from_every_directory_apply_in_file_name_order() {
    let t = Tree::new();
    t.write(&format!("{USR}/web.json"), r#"{"Image":"a","Cmd":["usr"]}"#);
    t.write(
        &format!("{ETC}/web.json.d/20-b.json"),
        r#"{"Cmd":["etc-20"]}"#,
    );
    t.write(
        &format!("{USR}/web.json.d/10-a.json"),
        r#"{"Cmd":["usr-10"],"Started":true}"#,
    );
    t.write(&format!("{RUN}/web.json.d/30-c.json"), r#"{"Image":"c"}"#);
    // Ignored: hidden, other suffixes.
    t.write(&format!("{ETC}/web.json.d/.99.json"), "not json");
    t.write(&format!("{ETC}/web.json.d/99.conf"), "not json");
    let c = t.sp.find("web").unwrap().unwrap();
    let want = [
        PathBuf::from(format!("{USR}/web.json.d/10-a.json")),
        PathBuf::from(format!("{ETC}/web.json.d/20-b.json")),
        PathBuf::from(format!("{RUN}/web.json.d/30-c.json")),
    ];
    assert_eq!(c.drop_ins.paths(), want);
    let l = c.load().unwrap();
    assert_eq!(l.drop_ins, want);
    assert_eq!(l.definition.cmd, Some(vec!["etc-20".to_owned()]));
    assert!(l.definition.started);
    assert_eq!(l.definition.image, "c");
    // discover finds the same.
    let found = t.sp.discover();
    assert_eq!(found.candidates, vec![c]);
    assert!(found.orphans.is_empty());
}

#[test]
fn a_higher_directory_shadows_and_masks_drop_ins_by_name() {
    let t = Tree::new();
    t.write(&format!("{USR}/web.json"), r#"{"Image":"a"}"#);
    t.write(
        &format!("{USR}/web.json.d/10-cmd.json"),
        r#"{"Cmd":["usr"]}"#,
    );
    t.write(
        &format!("{ETC}/web.json.d/10-cmd.json"),
        r#"{"Cmd":["etc"]}"#,
    );
    t.write(
        &format!("{USR}/web.json.d/20-start.json"),
        r#"{"Started":true}"#,
    );
    t.mask(&format!("{RUN}/web.json.d/20-start.json"));
    let c = t.sp.find("web").unwrap().unwrap();
    assert_eq!(
        c.drop_ins.paths(),
        [PathBuf::from(format!("{ETC}/web.json.d/10-cmd.json"))]
    );
    assert_eq!(
        c.drop_ins.shadowed,
        [
            PathBuf::from(format!("{USR}/web.json.d/10-cmd.json")),
            PathBuf::from(format!("{USR}/web.json.d/20-start.json")),
        ]
    );
    assert_eq!(
        c.drop_ins.masked,
        [PathBuf::from(format!("{RUN}/web.json.d/20-start.json"))]
    );
    let d = c.load().unwrap().definition;
    assert_eq!(d.cmd, Some(vec!["etc".to_owned()]));
    assert!(!d.started);
    assert_eq!(t.sp.discover().candidates, vec![c]);
}

#[test]
fn drop_ins_find_their_definition_whatever_the_name_order() {
    let t = Tree::new();
    // File-name order (`a.b.json` < `a.json`) is not stem order.
    for id in ["a", "a.b", "a-b", "b"] {
        t.write(&format!("{USR}/{id}.json"), r#"{"Image":"a"}"#);
        t.write(&format!("{ETC}/{id}.json.d/10.json"), r#"{"Started":true}"#);
    }
    let found = t.sp.discover();
    assert!(found.orphans.is_empty(), "{:?}", found.orphans);
    for c in &found.candidates {
        assert_eq!(c.drop_ins.files.len(), 1, "{}", c.stem);
        assert!(c.load().unwrap().definition.started);
        assert_eq!(t.sp.find(&c.stem).unwrap().as_ref(), Some(c));
    }
}

#[test]
fn drop_ins_without_a_definition_are_not_one() {
    let t = Tree::new();
    t.write(&format!("{ETC}/ghost.json.d/10.json"), r#"{"Image":"a"}"#);
    t.write(&format!("{USR}/ghost.json.d/10.json"), r#"{"Image":"a"}"#);
    assert!(t.sp.find("ghost").unwrap().is_none());
    let found = t.sp.discover();
    assert!(found.candidates.is_empty());
    assert_eq!(
        found.orphans,
        [
            PathBuf::from(format!("{ETC}/ghost.json.d")),
            PathBuf::from(format!("{USR}/ghost.json.d")),
        ]
    );
    // They are still there for an install to see.
    assert_eq!(t.sp.drop_ins("ghost").files.len(), 1);
}

#[test]
fn a_masked_definition_stays_masked_whatever_drop_ins_exist() {
    let t = Tree::new();
    t.write(&format!("{USR}/web.json"), r#"{"Image":"a"}"#);
    t.mask(&format!("{ETC}/web.json"));
    t.write(&format!("{ETC}/web.json.d/10.json"), r#"{"Image":"b"}"#);
    let c = t.sp.find("web").unwrap().unwrap();
    assert!(c.masked);
    assert!(c.drop_ins.files.is_empty());
    assert!(matches!(c.load(), Err(DefinitionError::Masked { .. })));
    let found = t.sp.discover();
    assert!(found.candidates[0].masked && found.orphans.is_empty());
}

#[test]
fn a_drop_in_that_is_not_a_json_object_is_named() {
    for (body, rule) in [
        ("{\"Cmd\": [", "valid JSON"),
        ("[1]", "JSON object"),
        ("null", "JSON object"),
    ] {
        let t = Tree::new();
        t.write(&format!("{USR}/web.json"), r#"{"Image":"a"}"#);
        t.write(&format!("{ETC}/web.json.d/10-bad.json"), body);
        let e = t.sp.find("web").unwrap().unwrap().load().unwrap_err();
        assert_eq!(
            e.path(),
            Path::new(&format!("{ETC}/web.json.d/10-bad.json")),
            "{e}"
        );
        assert!(e.to_string().contains(rule), "{body}: {e}");
    }
}

#[test]
fn a_field_error_names_the_drop_in_that_set_it() {
    let t = Tree::new();
    t.write(
        &format!("{USR}/web.json"),
        r#"{"Image":"a","Environment":{"Variables":[{"Name":"A","Value":"1"}]}}"#,
    );
    t.write(
        &format!("{ETC}/web.json.d/10-ok.json"),
        r#"{"Started":true}"#,
    );
    t.write(
        &format!("{ETC}/web.json.d/20-env.json"),
        r#"{"Environment":{"Variables":[{"Name":"1A","Value":"x"}]}}"#,
    );
    let e = t.sp.find("web").unwrap().unwrap().load().unwrap_err();
    let DefinitionError::Field { path, source } = &e else {
        panic!("{e}")
    };
    assert_eq!(path, Path::new(&format!("{ETC}/web.json.d/20-env.json")));
    assert_eq!(source.field, "Environment.Variables[0].Name");

    // An unknown field, too.
    t.write(
        &format!("{ETC}/web.json.d/30-typo.json"),
        r#"{"Imagee":"b"}"#,
    );
    std::fs::remove_file(t.sp.real(Path::new(&format!("{ETC}/web.json.d/20-env.json")))).unwrap();
    let e = t.sp.find("web").unwrap().unwrap().load().unwrap_err();
    assert_eq!(
        e.path(),
        Path::new(&format!("{ETC}/web.json.d/30-typo.json"))
    );
    assert!(e.to_string().contains("did you mean `Image`"), "{e}");

    // Removing a required field is the remover's fault.
    std::fs::remove_file(t.sp.real(Path::new(&format!("{ETC}/web.json.d/30-typo.json")))).unwrap();
    t.write(
        &format!("{ETC}/web.json.d/40-img.json"),
        r#"{"Image":null}"#,
    );
    let e = t.sp.find("web").unwrap().unwrap().load().unwrap_err();
    assert_eq!(
        e.path(),
        Path::new(&format!("{ETC}/web.json.d/40-img.json")),
        "{e}"
    );

    // A field no drop-in set, broken by one that did: the base, with the
    // drop-ins listed.
    std::fs::remove_file(t.sp.real(Path::new(&format!("{ETC}/web.json.d/40-img.json")))).unwrap();
    t.write(
        &format!("{USR}/web.json"),
        r#"{"Image":"a","Ports":[{"Internal":80,"External":8080}]}"#,
    );
    t.write(
        &format!("{ETC}/web.json.d/50-sock.json"),
        r#"{"SocketActivation":true}"#,
    );
    let e = t.sp.find("web").unwrap().unwrap().load().unwrap_err();
    assert_eq!(e.path(), Path::new(&format!("{USR}/web.json")), "{e}");
    assert!(e.to_string().contains("Ports[0].Backend"), "{e}");
    assert!(e.to_string().contains("50-sock.json"), "{e}");
}

#[test]
fn rebase_writes_the_change_into_the_base_only() {
    let t = Tree::new();
    t.write(
        &format!("{USR}/web.json"),
        r#"{"Image":"a","MemoryLimit":"64m","Environment":{"Variables":[{"Name":"A","Value":"1"},{"Name":"B","Value":"2"}]}}"#,
    );
    t.write(
        &format!("{ETC}/web.json.d/10-cmd.json"),
        r#"{"Cmd":["serve","--verbose"]}"#,
    );
    let c = t.sp.find("web").unwrap().unwrap();
    let mut d = c.load().unwrap().definition;
    assert_eq!(d.cmd.as_ref().unwrap().len(), 2);
    d.environment.as_mut().unwrap().variables[1].value = "3".into();
    d.started = true;
    let bytes = c.layers().unwrap().rebase(&d).unwrap();
    let base: Value = serde_json::from_slice(&bytes).unwrap();
    // The drop-in's Cmd is not baked into the base.
    assert_eq!(base.get("Cmd"), None, "{base}");
    assert_eq!(base["Started"], json!(true));
    assert_eq!(base["Environment"]["Variables"][1]["Value"], json!("3"));
    // Written as the base, the drop-in applied over it gives `d`.
    t.write(
        &format!("{ETC}/web.json"),
        std::str::from_utf8(&bytes).unwrap(),
    );
    assert_eq!(
        t.sp.find("web")
            .unwrap()
            .unwrap()
            .load()
            .unwrap()
            .definition,
        d
    );
}

#[test]
fn rebase_refuses_a_change_a_drop_in_overrides() {
    let t = Tree::new();
    t.write(
        &format!("{USR}/web.json"),
        r#"{"Image":"a","Environment":{"Variables":[{"Name":"A","Value":"1"}]}}"#,
    );
    t.write(
        &format!("{ETC}/web.json.d/10-env.json"),
        r#"{"Environment":{"Variables":[{"Name":"A","Value":"2"}]}}"#,
    );
    let c = t.sp.find("web").unwrap().unwrap();
    let mut d = c.load().unwrap().definition;
    assert_eq!(env_of(&d), [pair("A", "2")]);
    d.environment.as_mut().unwrap().variables[0].value = "3".into();
    let e = c.layers().unwrap().rebase(&d).unwrap_err();
    assert_eq!(
        e.path(),
        Path::new(&format!("{ETC}/web.json.d/10-env.json"))
    );
    assert!(e.to_string().contains("field Environment"), "{e}");
    assert!(e.to_string().contains("override"), "{e}");
    // A change elsewhere is fine.
    let mut d = c.load().unwrap().definition;
    d.started = true;
    let base: Value = serde_json::from_slice(&c.layers().unwrap().rebase(&d).unwrap()).unwrap();
    assert_eq!(base["Environment"]["Variables"][0]["Value"], json!("1"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// JSON without `null` (a `null` in a target is data, in a patch a
    /// removal), nested a few levels.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::from),
            any::<u32>().prop_map(Value::from),
            "[a-z]{0,3}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("[A-D]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn object() -> impl Strategy<Value = Value> {
        prop::collection::btree_map("[A-E]", value(), 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    /// Definition-shaped objects: real fields with values of the right
    /// and of the wrong shape, so both outcomes of the parser occur.
    fn definition() -> impl Strategy<Value = Value> {
        let field = prop_oneof![
            Just(("Started", json!(true))),
            Just(("Started", json!("yes"))),
            Just(("Cmd", json!(["httpd", "-f"]))),
            Just(("Cmd", json!("httpd"))),
            Just(("Ports", json!([{"Internal": 80, "External": 8080}]))),
            Just(("Ports", json!([{"Internal": 80, "External": 0}]))),
            Just(("MemoryLimit", json!("64m"))),
            Just(("MemoryLimit", json!(1))),
            Just((
                "Environment",
                json!({"Variables": [{"Name": "A", "Value": "1"}]})
            )),
            Just((
                "Environment",
                json!({"Variables": [{"Name": "1", "Value": "1"}]})
            )),
            Just(("Imagee", json!("x"))),
        ];
        prop::collection::vec(field, 0..6).prop_map(|fields| {
            let mut o = json!({"Image": "localhost/busybox"});
            for (k, v) in fields {
                o[k] = v;
            }
            o
        })
    }

    proptest! {
        /// Merging an empty drop-in changes nothing.
        #[test]
        fn an_empty_patch_is_the_identity(v in object()) {
            let mut m = v.clone();
            merge_patch(&mut m, &json!({}));
            prop_assert_eq!(m, v);
        }

        /// The patch `diff` computes turns one document into the other.
        #[test]
        fn diff_then_merge_gives_the_target(a in object(), b in object()) {
            let mut m = a.clone();
            merge_patch(&mut m, &diff(&a, &b));
            prop_assert_eq!(m, b);
        }

        /// With drop-ins that change nothing, the merged path parses
        /// exactly as the file alone does, and a job's unchanged write
        /// back is the canonical file.
        #[test]
        fn an_empty_drop_in_parses_as_the_file_alone(v in definition()) {
            let layers = Layers {
                base_path: PathBuf::from("/etc/berth/containers/x.json"),
                base: v.clone(),
                drop_ins: vec![(PathBuf::from("/etc/berth/containers/x.json.d/a.json"), json!({}))],
            };
            let alone = Definition::from_json(v.to_string().as_bytes());
            let merged = layers.definition();
            prop_assert_eq!(alone.is_ok(), merged.is_ok(), "{:?} {:?}", alone, merged);
            if let (Ok(a), Ok(m)) = (alone, merged) {
                prop_assert_eq!(layers.rebase(&a).unwrap(), a.to_json().into_bytes());
                prop_assert_eq!(a, m);
            }
        }
    }
}

/// Each file is bounded, and so is their merge (a unit line must stay
/// below systemd's 1 MiB).
#[test]
fn the_merge_is_bounded_like_one_file() {
    let big = "a".repeat(100_000);
    let layers = Layers {
        base_path: "/usr/lib/berth/containers/x.json".into(),
        base: serde_json::json!({"Image": "localhost/w"}),
        drop_ins: (0..3)
            .map(|i| {
                (
                    PathBuf::from(format!("/etc/berth/containers/x.json.d/{i}.json")),
                    serde_json::json!({"Labels": {format!("k{i}"): big}}),
                )
            })
            .collect(),
    };
    let e = layers.definition().unwrap_err().to_string();
    assert!(e.contains("merged with its drop-ins"), "{e}");
    assert!(e.contains("/usr/lib/berth/containers/x.json"), "{e}");
}
