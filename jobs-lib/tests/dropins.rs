//! Definition drop-ins through the jobs: what is in force (reservations,
//! inspect, status, env) is the definition merged with its drop-ins, and
//! what the jobs write is the base file only: a drop-in is never written,
//! deleted or baked into the base.

use berth_jobs::context::Context;
use berth_jobs::definition::{Definition, EnvVar, PortPair};
use berth_jobs::error::{FailureKind, JobError};
use berth_jobs::jobs::{self, dispatch, Job};
use berth_jobs::ports::Probe;
use berth_jobs::response::{Reply, Response};
use berth_jobs::systemd::NoSystemd;
use std::path::{Path, PathBuf};

const VENDOR: &str = "/usr/lib/berth/containers/web.json";
const DROP_IN: &str = "/etc/berth/containers/web.json.d/50-debug.json";
const BASE: &str = "/etc/berth/containers/web.json";

fn setup() -> (tempfile::TempDir, Context) {
    let d = tempfile::tempdir().unwrap();
    let mut ctx = Context::new(d.path(), Box::new(NoSystemd)).unwrap();
    ctx.probe = Probe::Skip;
    ctx.selinux = false;
    ctx.image_volumes = false;
    ctx.pull = false;
    ctx.set_log(Box::new(|_| {}));
    (d, ctx)
}

fn run(ctx: &Context, job: &dyn Job) -> Result<Reply, JobError> {
    dispatch(ctx, job, None, Response::new(Vec::new(), false))
}

fn real(ctx: &Context, host: &str) -> PathBuf {
    ctx.paths.search_path().real(Path::new(host))
}

fn put(ctx: &Context, host: &str, body: &str) {
    let p = real(ctx, host);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn read(ctx: &Context, host: &str) -> String {
    std::fs::read_to_string(real(ctx, host)).unwrap()
}

fn json(ctx: &Context, host: &str) -> serde_json::Value {
    serde_json::from_str(&read(ctx, host)).unwrap()
}

fn in_force(ctx: &Context, id: &str) -> Definition {
    ctx.store().load(id).unwrap().unwrap().definition
}

fn env(d: &Definition) -> Vec<String> {
    d.env_vars()
        .iter()
        .map(|v| format!("{}={}", v.name, v.value))
        .collect()
}

fn var(n: &str, v: &str) -> EnvVar {
    EnvVar {
        name: n.into(),
        value: v.into(),
    }
}

fn install(id: &str, definition: Definition) -> jobs::InstallContainerRequest {
    jobs::InstallContainerRequest {
        id: id.into(),
        definition,
        unmask: false,
        wait: false,
        dry_run: false,
        no_restart: false,
    }
}

fn patch_env(id: &str, set: &[EnvVar]) -> jobs::PatchEnvironmentRequest {
    jobs::PatchEnvironmentRequest {
        id: id.into(),
        set: set.to_vec(),
        unset: vec![],
        restart: false,
    }
}

/// A vendor definition in /usr/lib with three variables and a port.
fn vendor(ctx: &Context) {
    put(
        ctx,
        VENDOR,
        r#"{"Image":"localhost/busybox","Ports":[{"Internal":8080,"External":18080}],
            "Environment":{"Variables":[{"Name":"GREETING","Value":"hello"},
              {"Name":"LOG_LEVEL","Value":"info"},{"Name":"COLOR","Value":"blue"}]}}"#,
    );
}

/// The drop-in changes one value (an array is replaced: it restates the
/// list); `berth env` on a variable then would be overridden by it, so it
/// is refused naming the drop-in, and nothing is written anywhere. A change
/// the drop-in does not touch (`berth start`) goes into a base copied from
/// the vendor's values, not the merged ones.
#[test]
fn env_under_an_environment_drop_in_writes_nothing_and_names_it() {
    let (_d, ctx) = setup();
    vendor(&ctx);
    let drop_in = r#"{"Environment":{"Variables":[{"Name":"GREETING","Value":"hello"},
        {"Name":"LOG_LEVEL","Value":"debug"},{"Name":"COLOR","Value":"blue"}]}}"#;
    put(&ctx, DROP_IN, drop_in);
    assert_eq!(
        env(&in_force(&ctx, "web")),
        ["GREETING=hello", "LOG_LEVEL=debug", "COLOR=blue"]
    );

    let e = run(&ctx, &patch_env("web", &[var("K", "V")])).unwrap_err();
    assert_eq!(e.kind, FailureKind::InvalidRequest, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(DROP_IN) && msg.contains("Environment"),
        "{msg}"
    );
    assert!(!real(&ctx, BASE).exists(), "nothing written");
    assert_eq!(read(&ctx, DROP_IN), drop_in, "the drop-in is untouched");

    run(
        &ctx,
        &jobs::StartedContainerStateRequest {
            id: "web".into(),
            wait: false,
        },
    )
    .unwrap();
    let base = json(&ctx, BASE);
    assert_eq!(base["Started"], true);
    assert_eq!(
        base["Environment"]["Variables"][1]["Value"], "info",
        "the vendor's value, not the drop-in's, in the base"
    );
    assert_eq!(read(&ctx, DROP_IN), drop_in);
    let d = in_force(&ctx, "web");
    assert!(d.started);
    assert_eq!(env(&d), ["GREETING=hello", "LOG_LEVEL=debug", "COLOR=blue"]);
}

/// A drop-in that changes something else: `berth env web K=V` writes the
/// vendor's variables plus K into the /etc base, never the drop-in's
/// `Cmd`, and the drop-in still applies over it.
#[test]
fn env_writes_the_base_values_and_the_drop_in_still_applies() {
    let (_d, ctx) = setup();
    vendor(&ctx);
    let drop_in = r#"{"Cmd":["httpd","-f","-v"],"MemoryLimit":"64m"}"#;
    put(&ctx, DROP_IN, drop_in);
    run(
        &ctx,
        &patch_env("web", &[var("LOG_LEVEL", "debug"), var("K", "V")]),
    )
    .unwrap();
    let base = json(&ctx, BASE);
    assert_eq!(base.get("Cmd"), None, "{base}");
    assert_eq!(base.get("MemoryLimit"), None, "{base}");
    assert_eq!(read(&ctx, DROP_IN), drop_in);
    let d = in_force(&ctx, "web");
    assert_eq!(
        env(&d),
        ["GREETING=hello", "LOG_LEVEL=debug", "COLOR=blue", "K=V"]
    );
    assert_eq!(d.cmd.as_deref().map(<[String]>::len), Some(3));
    assert_eq!(d.memory_limit, Some(64 << 20));
    // Without the drop-in, the base alone is what berth wrote.
    std::fs::remove_file(real(&ctx, DROP_IN)).unwrap();
    assert_eq!(in_force(&ctx, "web").cmd, None);
}

/// A drop-in changing `Ports` moves what the id holds: reconciliation
/// (every mutating job) claims the merged port, and the vendor's
/// overridden one is free for anybody. `inspect`, `list` and `status` show the
/// merged definition, its `SourcePath` and `DropInPaths`, and the units
/// name the drop-in.
#[test]
fn reservations_inspect_and_status_see_the_merged_definition() {
    let (_d, ctx) = setup();
    vendor(&ctx);
    put(
        &ctx,
        DROP_IN,
        r#"{"Ports":[{"Internal":8080,"External":18081}]}"#,
    );
    let mut other = install(
        "other",
        Definition {
            image: "localhost/busybox".into(),
            ports: vec![PortPair {
                internal: 80,
                external: 18080,
                backend: None,
                proxy_protocol: None,
                protocol: None,
            }],
            ..Definition::default()
        },
    );
    run(&ctx, &other).unwrap();
    let ports = ctx.ports();
    assert_eq!(
        ports
            .owner(berth_jobs::ports::HostPort::tcp(18081))
            .unwrap()
            .as_deref(),
        Some("web")
    );
    assert_eq!(
        ports
            .owner(berth_jobs::ports::HostPort::tcp(18080))
            .unwrap()
            .as_deref(),
        Some("other")
    );
    // The merged port is refused to anybody else, naming its holder.
    other.definition.ports[0].external = 18081;
    let e = run(&ctx, &other).unwrap_err();
    assert!(e.to_string().contains("web"), "{e}");

    let r = run(&ctx, &jobs::InspectContainerRequest { id: "web".into() }).unwrap();
    let data = &r.success.data;
    assert_eq!(data["SourcePath"], VENDOR);
    assert_eq!(data["DropInPaths"], serde_json::json!([DROP_IN]));
    assert_eq!(data["Definition"]["Ports"][0]["External"], 18081);
    let service = data["Units"][0]["Content"].as_str().unwrap();
    assert!(
        service.contains(&format!("# DropIn: {DROP_IN}\n")),
        "{service}"
    );
    assert!(
        service.contains(&format!("SourcePath={VENDOR}\n")),
        "{service}"
    );
    assert!(service.contains("--publish=18081:8080"), "{service}");

    let r = run(&ctx, &jobs::ListContainersRequest).unwrap();
    let row = &r.success.data["Containers"][1];
    assert_eq!(row["Id"], "web");
    assert_eq!(row["DropInPaths"], serde_json::json!([DROP_IN]));
    let table = r.success.table.unwrap().render();
    assert!(table.contains("usr +1 drop-in"), "{table}");

    let r = run(&ctx, &jobs::ContainerStatusRequest { id: "web".into() }).unwrap();
    assert_eq!(r.success.data["DropInPaths"], serde_json::json!([DROP_IN]));
    assert!(r
        .success
        .message
        .as_deref()
        .unwrap_or_default()
        .contains(DROP_IN));
}

/// An install writes the request as the base; drop-ins made before it
/// (a directory without a definition) apply over it, a merge that is not
/// valid is refused naming the drop-in before anything is written, and
/// `delete` removes the base only.
#[test]
fn install_keeps_drop_ins_and_delete_leaves_them() {
    let (_d, ctx) = setup();
    let req = |image: &str| {
        install(
            "web",
            Definition {
                image: image.into(),
                ..Definition::default()
            },
        )
    };
    put(&ctx, DROP_IN, r#"{"Strated":true}"#);
    let e = run(&ctx, &req("localhost/busybox")).unwrap_err();
    assert!(e.to_string().contains(DROP_IN), "{e}");
    assert!(e.to_string().contains("did you mean `Started`"), "{e}");
    assert!(!real(&ctx, BASE).exists());

    put(&ctx, DROP_IN, r#"{"Started":true,"Cmd":["x"]}"#);
    let r = run(&ctx, &req("localhost/busybox")).unwrap();
    assert_eq!(r.success.data["DropInPaths"], serde_json::json!([DROP_IN]));
    assert_eq!(
        json(&ctx, BASE),
        serde_json::json!({"Image": "localhost/busybox"})
    );
    let d = in_force(&ctx, "web");
    assert!(d.started && d.cmd.is_some());
    // Reinstalling the same request changes nothing.
    let r = run(&ctx, &req("localhost/busybox")).unwrap();
    assert_eq!(r.success.data["Changed"], false);

    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "web".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    assert!(!real(&ctx, BASE).exists());
    assert_eq!(read(&ctx, DROP_IN), r#"{"Started":true,"Cmd":["x"]}"#);
    assert!(ctx.store().load("web").unwrap().is_none());
}

/// A drop-in of the container being installed may add dependencies: the
/// cycle check sees the merge, for an install as for its dry run, and
/// nothing is written.
#[test]
fn install_refuses_a_cycle_closed_by_the_containers_own_drop_in() {
    let (_d, ctx) = setup();
    let image = |i: &str| Definition {
        image: i.into(),
        ..Definition::default()
    };
    run(&ctx, &install("a", image("localhost/a"))).unwrap();
    let mut b = image("localhost/b");
    b.requires = vec!["a".into()];
    run(&ctx, &install("b", b)).unwrap();
    put(
        &ctx,
        "/etc/berth/containers/a.json.d/10.json",
        r#"{"Requires": ["b"]}"#,
    );
    for dry_run in [true, false] {
        let mut req = install("a", image("localhost/a2"));
        req.dry_run = dry_run;
        let e = run(&ctx, &req).unwrap_err();
        assert_eq!(e.kind, FailureKind::InvalidRequest, "{e}");
        assert!(format!("{e:?}").contains("cycle"), "{e:?}");
    }
    assert!(read(&ctx, "/etc/berth/containers/a.json").contains("localhost/a\""));
}
