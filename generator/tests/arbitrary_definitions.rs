//! Property tests over arbitrary definition JSON: parsing and rendering
//! never panic, and every accepted definition yields units that real
//! `systemd-analyze verify` accepts.

mod common;
use berth_definition::Definition;
use berth_generator::render::{render, InstallPaths};
use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn port() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (1u32..65536).prop_map(|p| json!(p)),
        1 => prop_oneof![Just(json!(0)), Just(json!(65536)), Just(json!(-1)), Just(json!("80")), Just(json!(8.5))],
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9/._-]{1,12}",
        2 => any::<String>(),
        1 => prop::sample::select(vec!["", "-v", "%n", "$$", "a b", "s0:c1,c2", "/srv/x", "on-failure", "ALL", "auto"]).prop_map(String::from),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..100_000_000).prop_map(Value::from),
        text().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn field() -> impl Strategy<Value = (String, Value)> {
    let ports = prop::collection::vec(
        (
            port(),
            port(),
            prop::option::of(port()),
            prop::sample::select(vec![None, None, Some("tcp"), Some("udp"), Some("sctp")]),
        )
            .prop_map(|(i, e, b, proto)| {
                let mut o = json!({"Internal": i, "External": e});
                if let Some(b) = b {
                    o["Backend"] = b;
                }
                if let Some(p) = proto {
                    o["Protocol"] = json!(p);
                }
                o
            }),
        0..4,
    )
    .prop_map(Value::from);
    let env = prop::collection::vec(
        ("[A-Za-z_][A-Za-z0-9_]{0,6}|[^=]{0,4}", text())
            .prop_map(|(n, v)| json!({"Name": n, "Value": v})),
        0..4,
    )
    .prop_map(|v| json!({ "Variables": v }));
    let argv = || prop::collection::vec(text(), 0..4).prop_map(Value::from);
    let volumes = prop::collection::vec(
        (text(), text(), any::<bool>()).prop_map(|(h, c, r)| {
            json!({"HostPath": format!("/{h}"), "ContainerPath": format!("/{c}"), "ReadOnly": r})
        }),
        0..3,
    )
    .prop_map(|v| json!({ "Volumes": v }));
    let links = prop::collection::vec(
        (port(), text(), port()).prop_map(|(fp, th, tp)| {
            json!({"FromHost": "127.0.0.1", "FromPort": fp, "ToHost": th, "ToPort": tp})
        }),
        0..2,
    )
    .prop_map(Value::from);
    // Dependencies name the two definitions every batch holds (one
    // socket-activated), ids without a definition (Wants/After only: a
    // Requires= on a missing unit fails verify by design), or non-ids.
    let known = || prop::sample::select(vec!["fixed-a", "fixed-s"]).prop_map(Value::from);
    let bad_id =
        || prop::sample::select(vec!["", "Bad", "a b", "-x", "proxy@x"]).prop_map(Value::from);
    let any_id = || prop_oneof![3 => known(), 2 => "x-[a-z0-9_.-]{0,8}".prop_map(Value::from), 1 => bad_id()];
    let ids = |one: BoxedStrategy<Value>| prop::collection::vec(one, 0..3).prop_map(Value::from);
    let health = (
        argv(),
        prop::collection::vec(
            (
                prop::sample::select(vec!["Interval", "Timeout", "Retries", "StartPeriod", "OnFailure", "Bogus"]),
                prop_oneof![
                    3 => (0u32..200).prop_map(Value::from),
                    1 => prop::sample::select(vec!["none", "kill", "stop", "restart", "x"]).prop_map(Value::from),
                    1 => scalar(),
                ],
            ),
            0..4,
        ),
    )
        .prop_map(|(cmd, opts)| {
            let mut h = json!({ "Cmd": cmd });
            for (k, v) in opts {
                h[k] = v;
            }
            h
        });
    let orchestration = prop_oneof![
        health.prop_map(|v| ("Health".to_string(), v)),
        Just(("Notify".to_string(), json!("healthy"))),
        ids(prop_oneof![4 => known(), 1 => bad_id()].boxed())
            .prop_map(|v| ("Requires".to_string(), v)),
        ids(any_id().boxed()).prop_map(|v| ("Wants".to_string(), v)),
        ids(any_id().boxed()).prop_map(|v| ("After".to_string(), v)),
        prop::sample::select(vec!["g1", "g2", "fixed-a", "proxy", "api", "Bad", ""])
            .prop_map(|g| ("Group".to_string(), json!(g))),
        prop::sample::select(vec!["registry", "local", "never"])
            .prop_map(|a| ("AutoUpdate".to_string(), json!(a))),
    ];
    let map = || {
        prop::collection::btree_map(text(), text(), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect()))
    };
    let strings = || prop::collection::vec(text(), 0..3).prop_map(Value::from);
    let network = prop_oneof![
        prop::sample::select(vec!["host", "none", "bridge", "appnet", "podman", "a,b"])
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    let sysctl = prop::collection::btree_map(
        prop_oneof![
            3 => prop::sample::select(vec!["net.core.somaxconn", "kernel.shmmax", "fs.mqueue.msg_max", "vm.swappiness"]).prop_map(String::from),
            1 => text(),
        ],
        text(),
        0..3,
    )
    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect()));
    let run_options = prop_oneof![
        network.prop_map(|v| ("Network".to_string(), v)),
        strings().prop_map(|v| ("NetworkAliases".to_string(), v)),
        text().prop_map(|v| ("Hostname".to_string(), Value::from(v))),
        map().prop_map(|v| ("Labels".to_string(), v)),
        strings().prop_map(|v| (
            "Devices".to_string(),
            v.as_array()
                .unwrap()
                .iter()
                .map(|d| Value::from(format!("/dev/{}", d.as_str().unwrap())))
                .collect()
        )),
        strings().prop_map(|v| (
            "Tmpfs".to_string(),
            v.as_array()
                .unwrap()
                .iter()
                .map(|d| Value::from(format!("/{}", d.as_str().unwrap())))
                .collect()
        )),
        sysctl.prop_map(|v| ("Sysctl".to_string(), v)),
        prop::sample::select(vec!["CpuLimit", "PidsLimit", "ShmSize"])
            .prop_flat_map(|k| scalar().prop_map(move |v| (k.to_string(), v))),
    ];
    let classic = prop_oneof![
        Just(("Started".to_string(), json!(true))),
        Just(("Isolate".to_string(), json!(true))),
        Just(("SocketActivation".to_string(), json!(true))),
        Just(("SkipSocketProxy".to_string(), json!(true))),
        Just(("ReadOnly".to_string(), json!(true))),
        Just(("Notify".to_string(), json!(true))),
        ports.prop_map(|v| ("Ports".to_string(), v)),
        env.prop_map(|v| ("Environment".to_string(), v)),
        argv().prop_map(|v| ("Cmd".to_string(), v)),
        argv().prop_map(|v| ("Entrypoint".to_string(), v)),
        volumes.prop_map(|v| ("VolumeConfig".to_string(), v)),
        links.prop_map(|v| ("NetworkLinks".to_string(), v)),
        prop::sample::select(vec![
            "Restart",
            "MemoryLimit",
            "McsLevel",
            "SystemdSlice",
            "User",
            "UserNs",
            "WorkingDir",
            "StopTimeout",
            "ExitIdleTime",
            "Simple",
            "CapAdd",
            "Unknown"
        ])
        .prop_flat_map(|k| scalar().prop_map(move |v| (k.to_string(), v))),
    ];
    prop_oneof![1 => run_options, 1 => orchestration, 2 => classic]
}

fn definition() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            4 => Just(json!("localhost/busybox")),
            1 => Just(json!("quay.io/example/app:1")),
            1 => text().prop_map(Value::from),
        ],
        prop::collection::vec(field(), 0..8),
    )
        .prop_map(|(image, fields)| {
            let mut o = json!({ "Image": image });
            for (k, v) in fields {
                o[k] = v;
            }
            o
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    /// Arbitrary bytes and arbitrary definition-shaped JSON never panic.
    #[test]
    fn parsing_and_rendering_never_panic(v in definition(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Definition::from_json(&bytes);
        if let Ok(d) = Definition::from_json(v.to_string().as_bytes()) {
            render("x", "/etc/berth/containers/x.json", &d, &InstallPaths::built_in()).ok();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, max_shrink_iters: 20, ..ProptestConfig::default() })]
    /// Every accepted definition in a batch yields units that verify.
    #[test]
    fn accepted_definitions_verify(batch in prop::collection::vec(definition(), 40..80)) {
        let tmp = tempfile::tempdir().unwrap();
        let defs = tmp.path().join("defs");
        std::fs::create_dir_all(&defs).unwrap();
        let mut accepted = 0;
        // What the dependencies of the batch may name.
        std::fs::write(defs.join("fixed-a.json"), r#"{"Image": "localhost/a"}"#).unwrap();
        std::fs::write(
            defs.join("fixed-s.json"),
            r#"{"Image": "localhost/s", "SocketActivation": true, "Ports": [{"Internal": 1, "External": 65001, "Backend": 65002}]}"#,
        ).unwrap();
        for (i, v) in batch.iter().enumerate() {
            let bytes = v.to_string();
            if Definition::from_json(bytes.as_bytes()).is_ok() {
                accepted += 1;
            }
            std::fs::write(defs.join(format!("d{i}.json")), bytes).unwrap();
        }
        let units = tmp.path().join("units");
        let out = run_generator_on(&defs, &units);
        let generated = std::fs::read_dir(&units).unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".service")
                && e.as_ref().unwrap().file_name().to_string_lossy().starts_with("berth-d"))
            .count();
        prop_assert_eq!(generated, accepted, "{}", String::from_utf8_lossy(&out.stderr));
        if generated > 0 {
            let (ok, text) = systemd_verify(&units);
            prop_assert!(ok, "systemd-analyze verify:\n{}", text);
        }
    }
}
