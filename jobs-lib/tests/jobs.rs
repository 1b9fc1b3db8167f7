//! Job tests under a temporary root with a scripted systemd double.

use berth_jobs::context::Context;
use berth_jobs::definition::{Definition, PortPair};
use berth_jobs::error::{self, JobError};
use berth_jobs::jobs::{self, dispatch, Job};
use berth_jobs::ports::Probe;
use berth_jobs::request_id::RequestIdentifier;
use berth_jobs::response::{Reply, Response, SuccessKind};
use berth_jobs::systemd::{Systemd, SystemdError, UnitState};
use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

#[derive(Default)]
struct Script {
    calls: Vec<String>,
    fail_reload: bool,
    fail_start: bool,
    changing: Option<String>,
    /// `unit -> (ActiveState, SubState)` answered by `unit_state`.
    states: std::collections::HashMap<String, (String, String)>,
}

#[derive(Clone, Default)]
struct FakeSystemd(Rc<RefCell<Script>>);

impl Systemd for FakeSystemd {
    fn daemon_reload(&self) -> Result<(), SystemdError> {
        let mut s = self.0.borrow_mut();
        s.calls.push("reload".into());
        if s.fail_reload {
            return Err(SystemdError("reload refused (test)".into()));
        }
        Ok(())
    }
    fn start_unit(&self, unit: &str) -> Result<(), SystemdError> {
        let mut s = self.0.borrow_mut();
        s.calls.push(format!("start {unit}"));
        if s.fail_start {
            return Err(SystemdError("start refused (test)".into()));
        }
        Ok(())
    }
    fn stop_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.0.borrow_mut().calls.push(format!("stop {unit}"));
        Ok(())
    }
    fn restart_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.0.borrow_mut().calls.push(format!("restart {unit}"));
        Ok(())
    }
    fn unit_state(&self, unit: &str) -> Result<UnitState, SystemdError> {
        let s = self.0.borrow();
        let mut st = UnitState::unknown(unit);
        st.active_state = s.changing.clone().unwrap_or_else(|| "inactive".into());
        if let Some((a, sub)) = s.states.get(unit) {
            st.active_state = a.clone();
            st.sub_state = sub.clone();
        }
        Ok(st)
    }
    fn start_transient(&self, unit: &str, _d: &str, argv: &[String]) -> Result<(), SystemdError> {
        self.0
            .borrow_mut()
            .calls
            .push(format!("transient {unit} {}", argv.join(" ")));
        Ok(())
    }
    fn journal(
        &self,
        units: &[String],
        lines: u32,
        out: &mut dyn Write,
    ) -> Result<(), SystemdError> {
        writeln!(out, "journal of {} ({lines})", units.join(",")).unwrap();
        Ok(())
    }
}

fn setup() -> (tempfile::TempDir, Context, FakeSystemd) {
    let d = tempfile::tempdir().unwrap();
    let fake = FakeSystemd::default();
    let mut ctx = Context::new(d.path(), Box::new(fake.clone())).unwrap();
    ctx.probe = Probe::Skip;
    ctx.selinux = false;
    ctx.set_log(Box::new(|_| {}));
    (d, ctx, fake)
}

fn run(ctx: &Context, job: &dyn Job) -> Result<Reply, JobError> {
    dispatch(ctx, job, None, Response::new(Vec::new(), false))
}

fn install(id: &str, ports: &[(u16, u16)]) -> jobs::InstallContainerRequest {
    jobs::InstallContainerRequest {
        id: id.into(),
        definition: Definition {
            image: "localhost/busybox".into(),
            ports: ports
                .iter()
                .map(|&(i, e)| PortPair {
                    internal: i,
                    external: e,
                    backend: None,
                })
                .collect(),
            ..Definition::default()
        },
        unmask: false,
    }
}

fn stored(ctx: &Context, id: &str) -> Option<Definition> {
    ctx.store().load(id).unwrap().map(|l| l.definition)
}

fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(p: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() && !path.is_symlink() {
                walk(&path, root, out);
            }
        }
    }
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn install_allocates_writes_and_reinstall_keeps_ports() {
    let (_d, ctx, fake) = setup();
    let reply = run(&ctx, &install("web", &[(8080, 0), (9090, 0)])).unwrap();
    let def = stored(&ctx, "web").unwrap();
    let ext: Vec<u16> = def.ports.iter().map(|p| p.external).collect();
    assert!(
        ext.iter().all(|p| ctx.settings.port_range.contains(*p)),
        "{ext:?}"
    );
    assert_ne!(ext[0], ext[1]);
    assert_eq!(reply.pending[0].0, "PortMapping");
    assert_eq!(reply.pending[0].1[0]["External"], ext[0]);
    assert_eq!(fake.0.borrow().calls, vec!["reload"]);
    // Reinstall: same internal ports keep their host ports, a new one is added.
    run(&ctx, &install("web", &[(9090, 0), (8080, 0), (7070, 0)])).unwrap();
    let def2 = stored(&ctx, "web").unwrap();
    assert_eq!(def2.ports[0].external, ext[1]);
    assert_eq!(def2.ports[1].external, ext[0]);
    // Dropping a port on reinstall releases it.
    run(&ctx, &install("web", &[(8080, 0)])).unwrap();
    let owned: Vec<u16> = ctx
        .ports()
        .all()
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(owned, vec![ext[0]]);
}

#[test]
fn proxied_socket_activation_reserves_backends() {
    let (_d, ctx, fake) = setup();
    let mut req = install("px", &[(80, 0)]);
    req.definition.socket_activation = true;
    req.definition.started = true;
    let reply = run(&ctx, &req).unwrap();
    assert_eq!(reply.success.kind, SuccessKind::Accepted);
    let def = stored(&ctx, "px").unwrap();
    let b = def.ports[0].backend.expect("backend reserved");
    assert_ne!(b, def.ports[0].external);
    assert_eq!(ctx.ports().owner(b).unwrap().as_deref(), Some("px"));
    assert!(fake
        .0
        .borrow()
        .calls
        .contains(&"start berth-px.socket".to_string()));
}

#[test]
fn conflicting_explicit_port_reserves_nothing_and_steals_nothing() {
    let (_d, ctx, _f) = setup();
    run(&ctx, &install("web", &[(80, 18080)])).unwrap();
    let before = ctx.ports().all().unwrap();
    // Partly conflicting: 18081 is free, 18080 is web's, plus an automatic one.
    let e = run(&ctx, &install("web1", &[(81, 18081), (82, 18080), (83, 0)])).unwrap_err();
    assert!(
        e.is(error::ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED),
        "{e}"
    );
    assert!(e.to_string().contains("18080"), "{e}");
    assert_eq!(
        ctx.ports().all().unwrap(),
        before,
        "nothing reserved, nothing taken"
    );
    assert!(stored(&ctx, "web1").is_none());
    assert_eq!(stored(&ctx, "web").unwrap().ports[0].external, 18080);
    assert!(ctx.ports().claimed_by("web1").unwrap().is_empty());
}

#[test]
fn failed_reload_rolls_back_everything() {
    let (d, ctx, fake) = setup();
    run(&ctx, &install("old", &[(1, 0)])).unwrap();
    let old_bytes = std::fs::read(ctx.paths.definition_file("old")).unwrap();
    let before = tree(d.path());
    fake.0.borrow_mut().fail_reload = true;
    // A fresh install: no definition, no reservations afterwards.
    let e = run(&ctx, &install("new", &[(1, 0), (2, 19999)])).unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_CREATE_FAILED), "{e}");
    assert!(stored(&ctx, "new").is_none());
    assert!(ctx.ports().claimed_by("new").unwrap().is_empty());
    // A reinstall: the old definition comes back byte for byte, ports kept.
    let e = run(&ctx, &install("old", &[(1, 0), (5, 0)])).unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_CREATE_FAILED));
    assert_eq!(
        std::fs::read(ctx.paths.definition_file("old")).unwrap(),
        old_bytes
    );
    let mut after = tree(d.path());
    after.retain(|p| !p.ends_with(".next"));
    let mut before = before;
    before.retain(|p| !p.ends_with(".next"));
    assert_eq!(after, before);
}

#[test]
fn failed_start_rolls_back_and_drops_pending_data() {
    let (_d, ctx, fake) = setup();
    fake.0.borrow_mut().fail_start = true;
    let mut req = install("s", &[(1, 0)]);
    req.definition.started = true;
    let e = run(&ctx, &req).unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_START_FAILED), "{e}");
    assert!(stored(&ctx, "s").is_none());
    assert!(ctx.ports().all().unwrap().is_empty());
}

#[test]
fn request_id_replay_returns_the_same_reply_without_work() {
    let (_d, ctx, fake) = setup();
    let rid = RequestIdentifier::new_random();
    let job = install("web", &[(80, 0)]);
    let first = dispatch(&ctx, &job, Some(rid), Response::new(Vec::new(), false)).unwrap();
    let calls = fake.0.borrow().calls.len();
    let ports = ctx.ports().all().unwrap();
    // Even after the container changed, the replay answers as before.
    run(&ctx, &install("web", &[(80, 0), (81, 0)])).unwrap();
    let calls2 = fake.0.borrow().calls.len();
    let second = dispatch(&ctx, &job, Some(rid), Response::new(Vec::new(), false)).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        fake.0.borrow().calls.len(),
        calls2,
        "no systemd call on replay"
    );
    assert!(calls2 > calls);
    assert_eq!(ctx.ports().all().unwrap().len(), ports.len() + 1);
    // The id names one job: another job with it is refused.
    let e = dispatch(
        &ctx,
        &jobs::DeleteContainerRequest { id: "web".into() },
        Some(rid),
        Response::new(Vec::new(), false),
    )
    .unwrap_err();
    assert!(e.is(error::ERR_RAN_TO_COMPLETION), "{e}");
    assert!(stored(&ctx, "web").is_some());
}

#[test]
fn start_stop_persist_and_throttle() {
    let (_d, ctx, fake) = setup();
    run(&ctx, &install("web", &[(80, 0)])).unwrap();
    let r = run(
        &ctx,
        &jobs::StartedContainerStateRequest { id: "web".into() },
    )
    .unwrap();
    assert_eq!(r.success.kind, SuccessKind::Accepted);
    assert!(stored(&ctx, "web").unwrap().started);
    run(
        &ctx,
        &jobs::StoppedContainerStateRequest { id: "web".into() },
    )
    .unwrap();
    assert!(!stored(&ctx, "web").unwrap().started);
    assert!(fake
        .0
        .borrow()
        .calls
        .contains(&"stop berth-web.service".to_string()));
    fake.0.borrow_mut().changing = Some("activating".into());
    let e = run(
        &ctx,
        &jobs::StartedContainerStateRequest { id: "web".into() },
    )
    .unwrap_err();
    assert!(e.is(error::ERR_START_REQUEST_THROTTLED), "{e}");
    assert!(
        !stored(&ctx, "web").unwrap().started,
        "throttled start changes nothing"
    );
    let e = run(&ctx, &jobs::RestartContainerRequest { id: "web".into() }).unwrap_err();
    assert!(e.is(error::ERR_RESTART_REQUEST_THROTTLED));
    fake.0.borrow_mut().changing = Some("deactivating".into());
    let e = run(
        &ctx,
        &jobs::StoppedContainerStateRequest { id: "web".into() },
    )
    .unwrap_err();
    assert!(e.is(error::ERR_STOP_REQUEST_THROTTLED));
    let e = run(
        &ctx,
        &jobs::StartedContainerStateRequest { id: "nope".into() },
    )
    .unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_NOT_FOUND));
}

#[test]
fn environment_put_patch_get() {
    let (_d, ctx, _f) = setup();
    run(&ctx, &install("web", &[])).unwrap();
    let e = run(&ctx, &jobs::GetEnvironmentRequest { id: "web".into() }).unwrap_err();
    assert!(e.is(error::ERR_ENVIRONMENT_NOT_FOUND));
    let var = |n: &str, v: &str| berth_jobs::definition::EnvVar {
        name: n.into(),
        value: v.into(),
    };
    run(
        &ctx,
        &jobs::PutEnvironmentRequest {
            id: "web".into(),
            variables: vec![var("A", "1"), var("B", "line\nbreak")],
        },
    )
    .unwrap();
    run(
        &ctx,
        &jobs::PatchEnvironmentRequest {
            id: "web".into(),
            set: vec![var("A", "2"), var("C", "x=y")],
            unset: vec!["B".into()],
        },
    )
    .unwrap();
    let r = run(&ctx, &jobs::GetEnvironmentRequest { id: "web".into() }).unwrap();
    assert_eq!(
        r.success.data["Variables"],
        serde_json::json!([{"Name": "A", "Value": "2"}, {"Name": "C", "Value": "x=y"}])
    );
    // `=` in a name is refused before anything is written.
    let e = run(
        &ctx,
        &jobs::PatchEnvironmentRequest {
            id: "web".into(),
            set: vec![var("A=B", "1")],
            unset: vec![],
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
}

#[test]
fn logs_stream_and_are_bounded() {
    let (_d, ctx, _f) = setup();
    run(&ctx, &install("web", &[])).unwrap();
    let mut buf = Vec::new();
    let r = dispatch(
        &ctx,
        &jobs::ContainerLogRequest {
            id: "web".into(),
            lines: 5,
        },
        None,
        Response::new(&mut buf, true),
    )
    .unwrap();
    assert!(r.streamed);
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        "journal of berth-web.service (5)\n"
    );
    let e = run(
        &ctx,
        &jobs::ContainerLogRequest {
            id: "web".into(),
            lines: jobs::MAX_LOG_LINES + 1,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
}

#[test]
fn link_and_run() {
    let (_d, ctx, fake) = setup();
    run(&ctx, &install("web", &[])).unwrap();
    let link = berth_jobs::definition::NetworkLink {
        from_host: "127.0.0.1".into(),
        from_port: 5432,
        to_host: "10.0.2.2".into(),
        to_port: 5432,
    };
    let req = jobs::LinkContainersRequest {
        links: vec![jobs::ContainerLinks {
            id: "web".into(),
            network_links: vec![link.clone()],
        }],
    };
    run(&ctx, &req).unwrap();
    assert_eq!(stored(&ctx, "web").unwrap().network_links, vec![link]);
    let missing = jobs::LinkContainersRequest {
        links: vec![jobs::ContainerLinks {
            id: "ghost".into(),
            network_links: vec![],
        }],
    };
    assert!(run(&ctx, &missing)
        .unwrap_err()
        .is(error::ERR_CONTAINER_NOT_FOUND));
    let r = run(
        &ctx,
        &jobs::RunContainerRequest {
            image: "localhost/busybox".into(),
            command: vec!["echo".into(), "hi".into()],
            environment: vec![],
        },
    )
    .unwrap();
    let unit = r.success.data["Unit"].as_str().unwrap().to_owned();
    assert!(
        unit.starts_with("berth-run-") && unit.ends_with(".service"),
        "{unit}"
    );
    let calls = fake.0.borrow().calls.clone();
    let t = calls.iter().find(|c| c.starts_with("transient")).unwrap();
    assert!(
        t.contains(" run --rm --name berth-run-") && t.ends_with("localhost/busybox echo hi"),
        "{t}"
    );
}

#[test]
fn delete_touches_nothing_of_ids_sharing_a_prefix() {
    let (d, ctx, _f) = setup();
    for id in ["a", "a.b", "web", "web1"] {
        run(&ctx, &install(id, &[(80, 0), (81, 0)])).unwrap();
    }
    let keep = |id: &str| -> Vec<String> {
        tree(d.path())
            .into_iter()
            .filter(|p| p.split('/').any(|c| c == id || c == format!("{id}.json")))
            .collect()
    };
    let before_ab = keep("a.b");
    let before_web1 = keep("web1");
    let ports_before = ctx.ports().all().unwrap();
    run(&ctx, &jobs::DeleteContainerRequest { id: "a".into() }).unwrap();
    run(&ctx, &jobs::DeleteContainerRequest { id: "web".into() }).unwrap();
    assert_eq!(keep("a.b"), before_ab);
    assert_eq!(keep("web1"), before_web1);
    let left: Vec<(u16, String)> = ports_before
        .into_iter()
        .filter(|(_, o)| o != "a" && o != "web")
        .collect();
    assert_eq!(ctx.ports().all().unwrap(), left);
    assert!(
        keep("a").is_empty() && keep("web").is_empty(),
        "{:?}",
        keep("a")
    );
    let e = run(&ctx, &jobs::DeleteContainerRequest { id: "a".into() }).unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_NOT_FOUND));
}

#[test]
fn isolated_containers_get_users_mcs_and_keep_them_apart() {
    if !rustix::process::geteuid().is_root() || !Path::new("/usr/sbin/useradd").exists() {
        eprintln!("skipped: needs root and useradd");
        return;
    }
    let (_d, ctx, _f) = setup();
    for id in ["a", "a.b"] {
        let mut req = install(id, &[(80, 0)]);
        req.definition.isolate = true;
        run(&ctx, &req).unwrap();
    }
    let a = stored(&ctx, "a").unwrap();
    let ab = stored(&ctx, "a.b").unwrap();
    assert_ne!(a.mcs_level, ab.mcs_level);
    let users = ctx.users();
    let ua = users.existing("a").unwrap().unwrap();
    let uab = users.existing("a.b").unwrap().unwrap();
    assert_ne!(ua.subordinate.start, uab.subordinate.start);
    assert!(ua.subordinate.start >= 100_000);
    let passwd = std::fs::read_to_string(ctx.paths.etc("passwd")).unwrap();
    assert!(
        passwd.contains("ctr-a:x:") && passwd.contains(":/var/lib/berth/home/a:/usr/sbin/nologin"),
        "{passwd}"
    );
    let home = ctx.paths.home_dir("a");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&home).unwrap().uid(), ua.uid);
    // Reinstall keeps user and level.
    let mut req = install("a", &[(80, 0)]);
    req.definition.isolate = true;
    run(&ctx, &req).unwrap();
    assert_eq!(stored(&ctx, "a").unwrap().mcs_level, a.mcs_level);
    assert_eq!(users.existing("a").unwrap().unwrap().uid, ua.uid);
    // Deleting a leaves a.b's user, range, level and home alone.
    let subuid_ab = users.subordinate("subuid", "ctr-a.b").unwrap();
    run(&ctx, &jobs::DeleteContainerRequest { id: "a".into() }).unwrap();
    assert!(users.existing("a").unwrap().is_none());
    assert!(users.subordinate("subuid", "ctr-a").unwrap().is_empty());
    assert!(!home.exists());
    assert_eq!(users.subordinate("subuid", "ctr-a.b").unwrap(), subuid_ab);
    assert_eq!(users.existing("a.b").unwrap().unwrap().uid, uab.uid);
    assert!(ctx.paths.home_dir("a.b").exists());
    let mcs: Vec<String> = ctx
        .mcs()
        .all()
        .unwrap()
        .into_iter()
        .map(|(c, o)| format!("{}={o}", c.level()))
        .collect();
    assert_eq!(mcs, vec![format!("{}=a.b", ab.mcs_level.unwrap())]);
}

#[test]
fn foreign_user_is_not_adopted() {
    if !rustix::process::geteuid().is_root() || !Path::new("/usr/sbin/useradd").exists() {
        return;
    }
    let (_d, ctx, _f) = setup();
    std::fs::create_dir_all(ctx.paths.etc("")).unwrap();
    std::fs::write(
        ctx.paths.etc("passwd"),
        "ctr-x:x:4242:4242::/home/x:/bin/sh\n",
    )
    .unwrap();
    let mut req = install("x", &[]);
    req.definition.isolate = true;
    let e = run(&ctx, &req).unwrap_err();
    assert!(e.to_string().contains("not created by berth"), "{e}");
    assert!(stored(&ctx, "x").is_none());
    assert!(
        ctx.mcs().all().unwrap().is_empty(),
        "MCS level released by the rollback"
    );
    assert_eq!(
        std::fs::read_to_string(ctx.paths.etc("passwd")).unwrap(),
        "ctr-x:x:4242:4242::/home/x:/bin/sh\n"
    );
}

fn put(ctx: &Context, host_path: &str, body: &str) {
    let p = ctx.paths.search_path().real(Path::new(host_path));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// Rollback restores exactly what was there: a mask comes back as the
/// link to /dev/null (never a 0-byte file), a hand-made link as that
/// link, a hand-written file with its bytes and mode.
#[test]
fn rollback_restores_masks_links_and_files_exactly() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, ctx, fake) = setup();
    put(
        &ctx,
        "/usr/lib/berth/containers/web.json",
        r#"{"Image":"localhost/nginx"}"#,
    );
    let file = ctx.paths.definition_file("web");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/null", &file).unwrap();
    // Refused without --unmask, whatever happens next.
    let e = run(&ctx, &install("web", &[(80, 0)])).unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_MASKED), "{e}");
    fake.0.borrow_mut().fail_reload = true;
    let mut req = install("web", &[(80, 0)]);
    req.unmask = true;
    run(&ctx, &req).unwrap_err();
    assert_eq!(std::fs::read_link(&file).unwrap(), Path::new("/dev/null"));
    assert!(
        ctx.ports().all().unwrap().is_empty(),
        "released on rollback"
    );

    std::fs::remove_file(&file).unwrap();
    let elsewhere = ctx.paths.root().join("web-def.json");
    std::fs::write(&elsewhere, br#"{"Image":"localhost/own"}"#).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    run(&ctx, &install("web", &[(80, 0)])).unwrap_err();
    assert_eq!(std::fs::read_link(&file).unwrap(), elsewhere);
    assert_eq!(
        std::fs::read(&elsewhere).unwrap(),
        br#"{"Image":"localhost/own"}"#,
        "never written through the link"
    );

    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, b"{\"Image\": \"localhost/hand\"}\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    run(&ctx, &install("web", &[(80, 0)])).unwrap_err();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"{\"Image\": \"localhost/hand\"}\n"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A vendor definition's McsLevel is claimed by the first mutating job, so
/// the allocator never hands it out; deleting the file frees it.
#[test]
fn definitions_in_force_hold_their_mcs_level() {
    let (_d, ctx, _f) = setup();
    put(
        &ctx,
        "/usr/lib/berth/containers/vend.json",
        r#"{"Image":"localhost/nginx","McsLevel":"s0:c0,c1"}"#,
    );
    run(&ctx, &install("other", &[])).unwrap();
    let first = berth_jobs::mcs::McsCategories::from_index(0);
    assert_eq!(ctx.mcs().owner(first).unwrap().as_deref(), Some("vend"));
    assert_ne!(ctx.mcs().allocate("probe").unwrap(), first);
    let mut req = install("copy", &[]);
    req.definition.mcs_level = Some("s0:c0,c1".into());
    let e = run(&ctx, &req).unwrap_err();
    assert!(
        e.to_string()
            .contains("vend (/usr/lib/berth/containers/vend.json)"),
        "{e}"
    );
    std::fs::remove_file(
        ctx.paths
            .search_path()
            .real(Path::new("/usr/lib/berth/containers/vend.json")),
    )
    .unwrap();
    run(&ctx, &req).unwrap();
    assert_eq!(ctx.mcs().owner(first).unwrap().as_deref(), Some("copy"));
}

/// `list` answers with the socket's state for a socket-activated
/// container (listening, not the idle service's `inactive dead`), shows
/// where each file comes from and what it shadows, and an invalid file
/// with its reason on one line.
#[test]
fn list_shows_sockets_sources_and_reasons() {
    let (_d, ctx, fake) = setup();
    let mut req = install("sock", &[(80, 0)]);
    req.definition.socket_activation = true;
    run(&ctx, &req).unwrap();
    put(
        &ctx,
        "/usr/lib/berth/containers/sock.json",
        r#"{"Image":"localhost/vendor"}"#,
    );
    put(
        &ctx,
        "/run/berth/containers/bad.json",
        r#"{"Image":"x","Ports":[{"Internal":1}]}"#,
    );
    {
        let mut s = fake.0.borrow_mut();
        s.states.insert(
            "berth-sock.socket".into(),
            ("active".into(), "listening".into()),
        );
        s.states.insert(
            "berth-sock.service".into(),
            ("inactive".into(), "dead".into()),
        );
    }
    let reply = run(&ctx, &jobs::ListContainersRequest).unwrap();
    let table = reply.success.table.unwrap().render();
    let sock = table.lines().find(|l| l.starts_with("sock")).unwrap();
    assert!(sock.contains("etc (shadows usr)"), "{table}");
    assert!(
        sock.contains("active") && sock.contains("listening"),
        "{table}"
    );
    let bad = table.lines().find(|l| l.starts_with("bad")).unwrap();
    assert!(
        bad.contains("run")
            && bad.contains("(invalid: /run/berth/containers/bad.json: field Ports[0].External"),
        "{table}"
    );
    let rows = &reply.success.data["Containers"];
    assert_eq!(rows[1]["Unit"], "berth-sock.socket");
    assert_eq!(rows[1]["Path"], "/etc/berth/containers/sock.json");
}
