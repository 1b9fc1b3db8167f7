use super::*;

fn parse(json: &str) -> Result<Definition, FieldError> {
    Definition::from_json(json.as_bytes())
}

fn err(json: &str) -> FieldError {
    parse(json).expect_err("definition should be rejected")
}

#[test]
fn minimal_definition_parses_with_defaults() {
    let d = parse(r#"{"Image": "localhost/busybox"}"#).unwrap();
    assert_eq!(d.image, "localhost/busybox");
    assert!(!d.started && !d.isolate && d.ports.is_empty());
    assert_eq!(d.restart_policy(), RestartPolicy::OnFailure);
    assert_eq!(d.stop_timeout_secs(), 10);
    assert_eq!(d.socket_mode(), SocketMode::None);
}

#[test]
fn geard_install_body_parses() {
    let d = parse(
        r#"{"Image":"openshift/busybox-http-app","Started":true,"Ports":[{"Internal":8080,"External":4000}],
            "Environment":{"Variables":[{"Name":"A","Value":"B"}]},"SystemdSlice":"container-small",
            "NetworkLinks":[{"FromHost":"127.0.0.1","FromPort":8081,"ToHost":"10.1.2.3","ToPort":80}]}"#,
    )
    .unwrap();
    assert_eq!(d.ports[0].external, 4000);
    assert_eq!(d.env_vars()[0].value, "B");
    assert_eq!(d.slice_unit().as_deref(), Some("container-small.slice"));
}

#[test]
fn unknown_field_is_named() {
    let e = err(r#"{"Image":"busybox","Imagee":"x"}"#);
    assert!(e.rule.contains("unknown field `Imagee`"), "{e}");
    let e = err(r#"{"Image":"busybox","Ports":[{"Internal":1,"Externall":2}]}"#);
    assert!(e.field.starts_with("Ports[0]"), "{e}");
    assert!(e.rule.contains("Externall"), "{e}");
}

#[test]
fn ports_are_range_checked_with_the_field_named() {
    let e = err(r#"{"Image":"busybox","Ports":[{"Internal":70000,"External":1}]}"#);
    assert_eq!(e.field, "Ports[0].Internal");
    assert!(e.rule.contains("65535"), "{e}");
    let e = err(r#"{"Image":"busybox","Ports":[{"Internal":0,"External":1}]}"#);
    assert_eq!(e.field, "Ports[0].Internal");
    let e = err(r#"{"Image":"busybox","Ports":[{"Internal":-1,"External":1}]}"#);
    assert_eq!(e.field, "Ports[0].Internal");
}

#[test]
fn duplicate_ports_are_rejected() {
    let e = err(
        r#"{"Image":"busybox","Ports":[{"Internal":80,"External":1},{"Internal":80,"External":2}]}"#,
    );
    assert_eq!(e.field, "Ports[1].Internal");
    let e = err(
        r#"{"Image":"busybox","Ports":[{"Internal":80,"External":1},{"Internal":81,"External":1}]}"#,
    );
    assert_eq!(e.field, "Ports[1].External");
    assert!(e.rule.contains("Ports[0].External"), "{e}");
}

#[test]
fn external_zero_is_a_request_not_a_stored_definition() {
    let json = r#"{"Image":"busybox","Ports":[{"Internal":80,"External":0}]}"#;
    let e = err(json);
    assert_eq!(e.field, "Ports[0].External");
    assert!(e.rule.contains("allocate"), "{e}");
    let d: Definition = serde_json::from_str(json).unwrap();
    d.validate_request().unwrap();
}

#[test]
fn proxied_socket_activation_needs_backend_ports() {
    let e = err(
        r#"{"Image":"busybox","SocketActivation":true,"Ports":[{"Internal":80,"External":8080}]}"#,
    );
    assert_eq!(e.field, "Ports[0].Backend");
    let d = parse(r#"{"Image":"busybox","SocketActivation":true,"Ports":[{"Internal":80,"External":8080,"Backend":40000}]}"#).unwrap();
    assert_eq!(d.socket_mode(), SocketMode::Proxied);
    let e = err(
        r#"{"Image":"busybox","SocketActivation":true,"Ports":[{"Internal":80,"External":8080,"Backend":8080}]}"#,
    );
    assert_eq!(e.field, "Ports[0].Backend");
    let e = err(
        r#"{"Image":"busybox","SocketActivation":true,"SkipSocketProxy":true,"Ports":[{"Internal":80,"External":8080,"Backend":4}]}"#,
    );
    assert_eq!(e.field, "Ports[0].Backend");
    let e = err(r#"{"Image":"busybox","SocketActivation":true}"#);
    assert_eq!(e.field, "Ports");
    let e = err(r#"{"Image":"busybox","SkipSocketProxy":true}"#);
    assert_eq!(e.field, "SkipSocketProxy");
}

#[test]
fn ids_follow_the_rule() {
    for good in ["a", "web", "0", "a.b_c-d", "abcdefghijklmnopqrstuvwxyz01"] {
        validate_id(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "",
        "..x",
        ".x",
        "-x",
        "_x",
        "a/b",
        "UPPER",
        "a@b",
        "a b",
        "abcdefghijklmnopqrstuvwxyz012",
        "é",
        "api",
    ] {
        let e = validate_id(bad).expect_err(bad);
        assert!(e.to_string().contains("^[a-z0-9][a-z0-9_.-]{0,27}$"));
    }
    // berth-api.service is the package's own unit.
    assert!(validate_id("api")
        .unwrap_err()
        .to_string()
        .contains("berth-api.service"));
    validate_id("api2").unwrap();
}

#[test]
fn env_names_and_values() {
    let e = err(r#"{"Image":"busybox","Environment":{"Variables":[{"Name":"A=B","Value":"x"}]}}"#);
    assert_eq!(e.field, "Environment.Variables[0].Name");
    let e = err(
        r#"{"Image":"busybox","Environment":{"Variables":[{"Name":"A","Value":"x"},{"Name":"A","Value":"y"}]}}"#,
    );
    assert_eq!(e.field, "Environment.Variables[1].Name");
    let e =
        err(r#"{"Image":"busybox","Environment":{"Variables":[{"Name":"A","Value":"x\u0000y"}]}}"#);
    assert_eq!(e.field, "Environment.Variables[0].Value");
    assert!(e.rule.contains("NUL"));
    parse(r#"{"Image":"busybox","Environment":{"Variables":[{"Name":"_A1","Value":" #x=y\r $HOME %n \"q\" 'q' \\"}]}}"#).unwrap();
}

/// Values podman's `--env-file` cannot carry are refused with the field
/// and a pointer to secrets, never changed.
#[test]
fn env_values_podman_cannot_read_back_are_refused() {
    for (value, rule) in [("line1\\nline2", "newline"), ("cr\\r", "carriage return")] {
        let e = err(&format!(
            r#"{{"Image":"busybox","Environment":{{"Variables":[{{"Name":"A","Value":"{value}"}}]}}}}"#
        ));
        assert_eq!(e.field, "Environment.Variables[0].Value");
        assert!(e.rule.contains(rule) && e.rule.contains("secret"), "{e}");
    }
    let long = "x".repeat(MAX_ENV_LINE_BYTES - 2);
    parse(&format!(
        r#"{{"Image":"busybox","Environment":{{"Variables":[{{"Name":"A","Value":"{long}"}}]}}}}"#
    ))
    .unwrap();
    let e = err(&format!(
        r#"{{"Image":"busybox","Environment":{{"Variables":[{{"Name":"A","Value":"{long}x"}}]}}}}"#
    ));
    assert!(e.rule.contains("at most"), "{e}");
}

#[test]
fn named_volumes_follow_their_rules() {
    let d = parse(
        r#"{"Image":"busybox","Isolate":true,"Volumes":[{"Name":"data","ContainerPath":"/data"},
            {"Name":"1","ContainerPath":"/var/lib/x","ReadOnly":true,"Relabel":"none"}]}"#,
    )
    .unwrap();
    assert_eq!(d.volumes[0].relabel_for(d.isolate), Relabel::Private);
    assert_eq!(d.volumes[1].relabel_for(d.isolate), Relabel::None);
    for (body, field, rule) in [
        (
            r#"[{"Name":"pg-data","ContainerPath":"/d"}]"#,
            "Volumes[0].Name",
            "no '-'",
        ),
        (
            r#"[{"Name":"","ContainerPath":"/d"}]"#,
            "Volumes[0].Name",
            "1 to 32",
        ),
        (
            r#"[{"Name":"a","ContainerPath":"/d"},{"Name":"a","ContainerPath":"/e"}]"#,
            "Volumes[1].Name",
            "already",
        ),
        (
            r#"[{"Name":"a","ContainerPath":"/d"},{"Name":"b","ContainerPath":"/d"}]"#,
            "Volumes[1].ContainerPath",
            "already",
        ),
        (
            r#"[{"Name":"a","ContainerPath":"/d:z"}]"#,
            "Volumes[0].ContainerPath",
            "':'",
        ),
        (
            r#"[{"Name":"a","ContainerPath":"/b"}]"#,
            "Volumes[0].ContainerPath",
            "VolumeConfig",
        ),
    ] {
        let e = err(&format!(
            r#"{{"Image":"busybox","VolumeConfig":{{"Volumes":[{{"HostPath":"/srv","ContainerPath":"/b"}}]}},"Volumes":{body}}}"#
        ));
        assert_eq!(e.field, field, "{body}: {e}");
        assert!(e.rule.contains(rule), "{body}: {e}");
    }
    let e = err(
        r#"{"Image":"busybox","Isolate":true,"Volumes":[{"Name":"a","ContainerPath":"/d","Relabel":"shared"}]}"#,
    );
    assert_eq!(e.field, "Volumes[0].Relabel");
}

#[test]
fn secrets_follow_their_rules() {
    let d = parse(
        r#"{"Image":"busybox","Secrets":[{"Name":"db-pass","Type":"env","Target":"PGPASSWORD"},
            {"Name":"tls.key"},{"Name":"cert","Type":"mount","Target":"/etc/ssl/c.pem"}]}"#,
    )
    .unwrap();
    assert_eq!(d.secrets[0].secret_type(), SecretType::Env);
    assert_eq!(d.secrets[1].secret_type(), SecretType::Mount);
    assert_eq!(d.secrets[1].target_name(), "tls.key");
    for (body, field, rule) in [
        (r#"[{"Name":"a,b"}]"#, "Secrets[0].Name", "secret name"),
        (
            r#"[{"Name":"db-pass","Type":"env"}]"#,
            "Secrets[0].Name",
            "variable name",
        ),
        (
            r#"[{"Name":"p","Type":"env","Target":"A"}]"#,
            "Secrets[0].Target",
            "Environment.Variables[0]",
        ),
        (
            r#"[{"Name":"p","Target":"../x"}]"#,
            "Secrets[0].Target",
            "mount secret",
        ),
        (
            r#"[{"Name":"p"},{"Name":"q","Target":"p"}]"#,
            "Secrets[1].Target",
            "Secrets[0]",
        ),
    ] {
        let e = err(&format!(
            r#"{{"Image":"busybox","Environment":{{"Variables":[{{"Name":"A","Value":"x"}}]}},"Secrets":{body}}}"#
        ));
        assert_eq!(e.field, field, "{body}: {e}");
        assert!(e.rule.contains(rule), "{body}: {e}");
    }
    assert!(
        err(r#"{"Image":"busybox","Secrets":[{"Name":"p","Type":"file"}]}"#)
            .field
            .starts_with("Secrets[0]")
    );
}

#[test]
fn image_references() {
    for good in [
        "busybox",
        "localhost/busybox",
        "docker.io/library/nginx:1.25",
        "registry.example:5000/team/app_x__y.z-w:v1.0-rc_1",
        "quay.io/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        validate_image_reference("Image", good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "",
        "-v",
        "--privileged",
        "Busybox",
        "a b",
        "a:",
        "a/",
        "/a",
        "a::b",
        "a@sha256:zz",
        "a%n",
        "a$b",
        "a\"b",
        "a..b",
    ] {
        let e = validate_image_reference("Image", bad).expect_err(bad);
        assert_eq!(e.field, "Image");
    }
}

#[test]
fn mcs_levels() {
    assert_eq!(parse_mcs_level("s0:c0,c1"), Some((0, 1)));
    assert_eq!(parse_mcs_level("s0:c100,c1023"), Some((100, 1023)));
    for bad in [
        "s0:c1,c1",
        "s0:c2,c1",
        "s0:c1,c1024",
        "s0:c01,c2",
        "s1:c1,c2",
        "s0:c1",
        "s0:c1,c2,c3",
        "s0",
    ] {
        assert_eq!(parse_mcs_level(bad), None, "{bad}");
    }
    let e = err(r#"{"Image":"busybox","McsLevel":"s0:c5,c5"}"#);
    assert_eq!(e.field, "McsLevel");
}

#[test]
fn memory_limits() {
    assert_eq!(
        parse(r#"{"Image":"busybox","MemoryLimit":"512m"}"#)
            .unwrap()
            .memory_limit,
        Some(512 << 20)
    );
    assert_eq!(
        parse(r#"{"Image":"busybox","MemoryLimit":"1G"}"#)
            .unwrap()
            .memory_limit,
        Some(1 << 30)
    );
    assert_eq!(
        parse(r#"{"Image":"busybox","MemoryLimit":10485760}"#)
            .unwrap()
            .memory_limit,
        Some(10 << 20)
    );
    assert_eq!(
        err(r#"{"Image":"busybox","MemoryLimit":"1m"}"#).field,
        "MemoryLimit"
    );
    assert_eq!(
        err(r#"{"Image":"busybox","MemoryLimit":"12x"}"#).field,
        "MemoryLimit"
    );
    assert_eq!(
        err(r#"{"Image":"busybox","MemoryLimit":"99999999999999999999g"}"#).field,
        "MemoryLimit"
    );
}

#[test]
fn volumes_paths_and_misc_rules() {
    let ok = r#"{"Image":"busybox","VolumeConfig":{"Volumes":[{"HostPath":"/srv/my data","ContainerPath":"/data","ReadOnly":true}]}}"#;
    parse(ok).unwrap();
    for (bad, field) in [
        (
            r#"{"Image":"busybox","VolumeConfig":{"Volumes":[{"HostPath":"srv","ContainerPath":"/d"}]}}"#,
            "VolumeConfig.Volumes[0].HostPath",
        ),
        (
            r#"{"Image":"busybox","VolumeConfig":{"Volumes":[{"HostPath":"/srv/../etc","ContainerPath":"/d"}]}}"#,
            "VolumeConfig.Volumes[0].HostPath",
        ),
        (
            r#"{"Image":"busybox","VolumeConfig":{"Volumes":[{"HostPath":"/a,b","ContainerPath":"/d"}]}}"#,
            "VolumeConfig.Volumes[0].HostPath",
        ),
        (
            r#"{"Image":"busybox","VolumeConfig":{"Volumes":[{"HostPath":"/a","ContainerPath":"/d:ro"}]}}"#,
            "VolumeConfig.Volumes[0].ContainerPath",
        ),
        (r#"{"Image":"busybox","WorkingDir":"rel"}"#, "WorkingDir"),
        (r#"{"Image":"busybox","Cmd":[]}"#, "Cmd"),
        (r#"{"Image":"busybox","Cmd":["a\u0000"]}"#, "Cmd[0]"),
        (r#"{"Image":"busybox","CapAdd":["CAP_NOPE"]}"#, "CapAdd[0]"),
        (r#"{"Image":"busybox","CapAdd":["ALL"]}"#, "CapAdd[0]"),
        (r#"{"Image":"busybox","User":"a b"}"#, "User"),
        (r#"{"Image":"busybox","UserNs":"weird"}"#, "UserNs"),
        (
            r#"{"Image":"busybox","Isolate":true,"UserNs":"auto"}"#,
            "UserNs",
        ),
        (
            r#"{"Image":"busybox","SystemdSlice":"a--b"}"#,
            "SystemdSlice",
        ),
        (
            r#"{"Image":"busybox","SystemdSlice":"a@b.slice"}"#,
            "SystemdSlice",
        ),
        (r#"{"Image":"busybox","ExitIdleTime":5}"#, "ExitIdleTime"),
        (r#"{"Image":"busybox","Restart":"sometimes"}"#, "Restart"),
        (
            r#"{"Image":"busybox","NetworkLinks":[{"FromHost":"localhost","FromPort":1,"ToHost":"a","ToPort":2}]}"#,
            "NetworkLinks[0].FromHost",
        ),
        (
            r#"{"Image":"busybox","NetworkLinks":[{"FromHost":"127.0.0.1","FromPort":1,"ToHost":"a b","ToPort":2}]}"#,
            "NetworkLinks[0].ToHost",
        ),
        (
            r#"{"Image":"busybox","NetworkLinks":[{"FromHost":"127.0.0.1","FromPort":0,"ToHost":"a","ToPort":2}]}"#,
            "NetworkLinks[0].FromPort",
        ),
    ] {
        let e = err(bad);
        assert_eq!(e.field, field, "{bad}: {e}");
    }
    parse(r#"{"Image":"busybox","CapDrop":["ALL"],"CapAdd":["NET_BIND_SERVICE","CAP_CHOWN"],"UserNs":"auto:size=65536","User":"1000:1000","Restart":"always"}"#).unwrap();
}

#[test]
fn malformed_and_oversized_documents() {
    assert_eq!(err("").field, ".");
    assert_eq!(err("[]").field, ".");
    assert_eq!(err(r#"{"Image":"busybox"} {}"#).field, ".");
    assert_eq!(err(r#"{"Started":true}"#).field, "Image");
    let big = format!(
        r#"{{"Image":"busybox","Cmd":["{}"]}}"#,
        "a".repeat(MAX_DEFINITION_BYTES)
    );
    assert!(err(&big).rule.contains("at most"));
}

#[test]
fn stored_form_round_trips_and_leaves_defaults_out() {
    let d = parse(r#"{"Image":"busybox","Started":true,"Ports":[{"Internal":80,"External":8080}],"MemoryLimit":"64m"}"#).unwrap();
    let json = d.to_json();
    assert!(!json.contains("Isolate"));
    assert!(json.contains("\"MemoryLimit\": 67108864"));
    assert_eq!(parse(&json).unwrap(), d);
}

#[test]
fn load_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("web.json");
    std::fs::write(
        &p,
        r#"{"Image":"busybox","Ports":[{"Internal":0,"External":1}]}"#,
    )
    .unwrap();
    let e = load_file(&p).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with(&p.display().to_string()), "{msg}");
    assert!(msg.contains("Ports[0].Internal"), "{msg}");
    let bad_id = dir.path().join("Bad.json");
    std::fs::write(&bad_id, r#"{"Image":"busybox"}"#).unwrap();
    assert!(matches!(
        load_file(&bad_id),
        Err(DefinitionError::Id { .. })
    ));
    std::fs::write(&p, r#"{"Image":"busybox"}"#).unwrap();
    assert_eq!(load_file(&p).unwrap().id, "web");
}

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_example_validates() {
    let mut n = 0;
    for entry in std::fs::read_dir(repo_root().join("examples")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            load_file(&p).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 4, "examples/ should hold the example definitions");
}

/// The schema documents exactly the fields the model accepts.
#[test]
fn schema_lists_exactly_the_model_fields() {
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("schema/berth-definition.schema.json")).unwrap(),
    )
    .unwrap();
    let full = Definition {
        image: "a".into(),
        started: true,
        isolate: true,
        socket_activation: true,
        skip_socket_proxy: true,
        simple: true,
        ports: vec![PortPair {
            internal: 1,
            external: 2,
            backend: Some(3),
            proxy_protocol: Some(crate::ProxyProtocol::V2),
            protocol: Some(crate::Protocol::Tcp),
        }],
        environment: Some(Environment {
            variables: vec![EnvVar {
                name: "A".into(),
                value: "b".into(),
            }],
        }),
        network_links: vec![NetworkLink {
            from_host: "a".into(),
            from_port: 1,
            to_host: "b".into(),
            to_port: 2,
        }],
        systemd_slice: Some("s".into()),
        volume_config: Some(VolumeConfig {
            volumes: vec![Volume {
                host_path: "/a".into(),
                container_path: "/b".into(),
                read_only: true,
            }],
        }),
        cmd: Some(vec!["x".into()]),
        entrypoint: Some(vec!["x".into()]),
        working_dir: Some("/".into()),
        restart: Some(RestartPolicy::Always),
        pull: Some(crate::PullPolicy::Never),
        memory_limit: Some(1 << 30),
        read_only: true,
        cap_add: vec!["CHOWN".into()],
        cap_drop: vec!["ALL".into()],
        user_ns: Some("auto".into()),
        user: Some("a".into()),
        mcs_level: Some("s0:c1,c2".into()),
        stop_timeout: Some(1),
        exit_idle_time: Some(1),
        notify: crate::Notify::Container,
        health: Some(crate::Health {
            cmd: vec!["true".into()],
            interval: Some(1),
            timeout: Some(1),
            retries: Some(1),
            start_period: Some(1),
            on_failure: Some(crate::HealthOnFailure::Kill),
        }),
        requires: vec!["db".into()],
        wants: vec!["db".into()],
        after: vec!["db".into()],
        group: Some("g".into()),
        auto_update: Some(crate::AutoUpdate::Local),
        network: Some("n".into()),
        network_aliases: vec!["a".into()],
        hostname: Some("h".into()),
        labels: [("a".to_owned(), "b".to_owned())].into(),
        devices: vec!["/dev/null".into()],
        cpu_limit: Some(crate::MilliCpus(1500)),
        pids_limit: Some(1),
        shm_size: Some(1 << 20),
        tmpfs: vec!["/t".into()],
        sysctl: [("net.core.somaxconn".to_owned(), "1".to_owned())].into(),
        volumes: vec![NamedVolume {
            name: "a".into(),
            container_path: "/c".into(),
            read_only: true,
            relabel: Some(Relabel::Private),
        }],
        secrets: vec![SecretRef {
            name: "s".into(),
            kind: Some(SecretType::Env),
            target: Some("S".into()),
        }],
    };
    let value = serde_json::to_value(&full).unwrap();
    fn keys(v: &serde_json::Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }
    let props = |s: &serde_json::Value| keys(&s["properties"]);
    assert_eq!(keys(&value), props(&schema));
    let p = &schema["properties"];
    assert_eq!(keys(&value["Ports"][0]), props(&p["Ports"]["items"]));
    assert_eq!(
        keys(&value["NetworkLinks"][0]),
        props(&p["NetworkLinks"]["items"])
    );
    assert_eq!(
        keys(&value["Environment"]["Variables"][0]),
        props(&p["Environment"]["properties"]["Variables"]["items"])
    );
    assert_eq!(
        keys(&value["VolumeConfig"]["Volumes"][0]),
        props(&p["VolumeConfig"]["properties"]["Volumes"]["items"])
    );
    assert_eq!(keys(&value["Volumes"][0]), props(&p["Volumes"]["items"]));
    assert_eq!(keys(&value["Secrets"][0]), props(&p["Secrets"]["items"]));
    assert_eq!(keys(&value["Health"]), props(&p["Health"]));
}

/// `Notify` reads the old booleans and the new words; stored files keep
/// `true` for `container`.
#[test]
fn notify_reads_booleans_and_words() {
    for (body, want, stored) in [
        (r#"true"#, crate::Notify::Container, "true"),
        (r#"false"#, crate::Notify::Conmon, ""),
        (r#""container""#, crate::Notify::Container, "true"),
        (r#""conmon""#, crate::Notify::Conmon, ""),
        (r#""healthy""#, crate::Notify::Healthy, "\"healthy\""),
    ] {
        let json = format!(r#"{{"Image":"busybox","Notify":{body}}}"#);
        let d: Definition = serde_json::from_str(&json).unwrap();
        assert_eq!(d.notify, want, "{body}");
        let out = d.to_json();
        if stored.is_empty() {
            assert!(!out.contains("Notify"), "{out}");
        } else {
            assert!(out.contains(&format!("\"Notify\": {stored}")), "{out}");
        }
    }
    let err = serde_json::from_str::<Definition>(r#"{"Image":"b","Notify":"ready"}"#);
    assert!(err.is_err());
}

/// `CpuLimit` takes CPUs with up to three decimals, as a number or a
/// string, and prints as podman's `--cpus` takes it.
#[test]
fn cpu_limit_is_exact_thousandths() {
    let parse = |v: &str| {
        serde_json::from_str::<Definition>(&format!(r#"{{"Image":"b","CpuLimit":{v}}}"#))
            .map(|d| d.cpu_limit.unwrap())
    };
    assert_eq!(parse("1.5").unwrap(), crate::MilliCpus(1500));
    assert_eq!(parse("0.1").unwrap(), crate::MilliCpus(100));
    assert_eq!(parse("2").unwrap(), crate::MilliCpus(2000));
    assert_eq!(parse(r#""0.25""#).unwrap().to_string(), "0.25");
    assert_eq!(parse("3").unwrap().to_string(), "3");
    for bad in ["0", "-1", "0.0001", "5000", r#""1.""#, r#""1e3""#, r#""""#] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    let d = serde_json::from_str::<Definition>(r#"{"Image":"b","CpuLimit":1.5}"#).unwrap();
    assert!(d.to_json().contains("\"CpuLimit\": 1.5"), "{}", d.to_json());
}

/// `Simple` is accepted (with or without `Isolate`), ignored, and warned
/// about; nothing else warns.
#[test]
fn simple_is_accepted_and_warned_about() {
    for body in [
        r#"{"Image":"busybox","Simple":true}"#,
        r#"{"Image":"busybox","Isolate":true,"Simple":true}"#,
    ] {
        let d = Definition::from_json(body.as_bytes()).unwrap();
        d.validate().unwrap();
        let w = d.warnings();
        assert_eq!(w.len(), 1, "{body}");
        assert_eq!(w[0].field, "Simple");
        assert!(w[0].to_string().contains("ignored"), "{}", w[0]);
    }
    let plain = Definition::from_json(br#"{"Image":"busybox","Isolate":true}"#).unwrap();
    assert!(plain.warnings().is_empty());
}

#[test]
fn request_bodies_go_through_the_one_parser() {
    let req = |j: &str| Definition::from_request_json(j.as_bytes());
    // `External: 0` asks for allocation in a request, never in a stored file.
    let body = r#"{"Image":"localhost/nginx","Ports":[{"Internal":80,"External":0}]}"#;
    assert_eq!(req(body).unwrap().ports[0].external, 0);
    assert!(parse(body).is_err());
    // A JSON array is not read positionally.
    let e = req(r#"["localhost/nginx", true]"#).unwrap_err();
    assert_eq!(e.field, ".", "{e}");
    assert!(e.rule.contains("JSON object"), "{e}");
    // Errors keep the field path and the "did you mean".
    let e =
        req(r#"{"Image":"localhost/nginx","Ports":[{"Internal":80,"Externall":1}]}"#).unwrap_err();
    assert!(e.field.starts_with("Ports[0]"), "{e}");
    assert!(e.rule.contains("did you mean `External`"), "{e}");
    let e = req(r#"{"Image":"localhost/nginx","Ports":[{"Internal":0}]}"#).unwrap_err();
    assert_eq!(e.field, "Ports[0].Internal", "{e}");
    let big = format!(r#"{{"Image":"{}"}}"#, "a".repeat(MAX_DEFINITION_BYTES));
    assert!(req(&big).unwrap_err().rule.contains("at most"));
}
