//! Job tests under a temporary root with a scripted systemd double.

use berth_jobs::context::Context;
use berth_jobs::definition::{Definition, PortPair, Protocol};
use berth_jobs::error::{self, JobError};
use berth_jobs::jobs::{self, dispatch, Job};
use berth_jobs::ports::{HostPort, Probe};
use berth_jobs::request_id::RequestIdentifier;
use berth_jobs::response::{Reply, Response, SuccessKind};
use berth_jobs::systemd::{
    JournalEvent, JournalQuery, ServiceOutcome, Systemd, SystemdError, UnitOp, UnitState,
};
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::Path;
use std::rc::Rc;

#[derive(Default)]
struct Script {
    calls: Vec<String>,
    fail_reload: bool,
    fail_start: bool,
    changing: Option<String>,
    /// Per-unit ActiveState, before `changing` and the default `inactive`.
    active: std::collections::HashMap<String, String>,
    /// States returned (and consumed) by the next `unit_state` calls, each
    /// recorded with the number of port reservations at that moment.
    sequence: std::collections::VecDeque<String>,
    /// The state dir, for `sequence`'s record of reservations.
    state_dir: Option<std::path::PathBuf>,
    /// `unit -> (ActiveState, SubState)`, before everything above.
    states: std::collections::HashMap<String, (String, String)>,
    /// Journal events `read_journal` hands out (None: idle), then idle
    /// forever when following.
    journal: Vec<Option<serde_json::Value>>,
    /// Results of the next waited jobs (default `done`).
    job_results: std::collections::VecDeque<String>,
    /// Outcomes of the next `service_outcome` calls (default: failed,
    /// exit status 3).
    outcomes: std::collections::VecDeque<ServiceOutcome>,
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
    fn try_restart_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.0
            .borrow_mut()
            .calls
            .push(format!("try-restart {unit}"));
        Ok(())
    }
    fn unit_state(&self, unit: &str) -> Result<UnitState, SystemdError> {
        let mut s = self.0.borrow_mut();
        let mut st = UnitState::unknown(unit);
        if let Some((a, sub)) = s.states.get(unit) {
            st.active_state = a.clone();
            st.sub_state = sub.clone();
            return Ok(st);
        }
        if let Some(next) = s.sequence.pop_front() {
            let ports = s
                .state_dir
                .as_ref()
                .and_then(|d| std::fs::read_dir(d.join("ports")).ok())
                .map_or(0, |rd| rd.count());
            s.calls.push(format!("state {unit} {next} ports={ports}"));
            st.active_state = next;
            return Ok(st);
        }
        st.active_state = s
            .active
            .get(unit)
            .cloned()
            .or_else(|| s.changing.clone())
            .unwrap_or_else(|| "inactive".into());
        Ok(st)
    }
    fn start_transient(
        &self,
        unit: &str,
        _d: &str,
        argv: &[String],
        cleanup: &[String],
    ) -> Result<(), SystemdError> {
        let mut call = format!("transient {unit} {}", argv.join(" "));
        if !cleanup.is_empty() {
            call.push_str(&format!(" ; post {}", cleanup.join(" ")));
        }
        self.0.borrow_mut().calls.push(call);
        Ok(())
    }
    fn read_journal(
        &self,
        q: &JournalQuery,
        each: &mut dyn FnMut(JournalEvent) -> ControlFlow<()>,
    ) -> Result<(), SystemdError> {
        let entries = {
            let mut s = self.0.borrow_mut();
            s.calls.push(format!(
                "journal {} lines={:?} follow={}",
                q.units.join(","),
                q.lines,
                q.follow
            ));
            std::mem::take(&mut s.journal)
        };
        for e in entries {
            let ev = match e {
                Some(v) => {
                    // "UNIT" stands for the unit asked about (a run's is random).
                    let mut m = v.as_object().unwrap().clone();
                    for val in m.values_mut() {
                        if val == "UNIT" {
                            *val = q.units[0].clone().into();
                        }
                    }
                    JournalEvent::Entry(m)
                }
                None => JournalEvent::Idle,
            };
            if each(ev).is_break() {
                return Ok(());
            }
        }
        if q.follow {
            // A follow never ends by itself: idle until told to stop.
            for _ in 0..1000 {
                std::thread::sleep(std::time::Duration::from_millis(10));
                if each(JournalEvent::Idle).is_break() {
                    return Ok(());
                }
            }
            panic!("a follow did not stop");
        }
        Ok(())
    }
    fn run_unit_job(&self, op: UnitOp, unit: &str) -> Result<String, SystemdError> {
        let mut s = self.0.borrow_mut();
        s.calls.push(format!("wait {op:?} {unit}"));
        Ok(s.job_results.pop_front().unwrap_or_else(|| "done".into()))
    }
    fn service_outcome(&self, unit: &str) -> Result<ServiceOutcome, SystemdError> {
        let mut s = self.0.borrow_mut();
        s.calls.push(format!("outcome {unit}"));
        Ok(s.outcomes.pop_front().unwrap_or(ServiceOutcome {
            load_state: "loaded".into(),
            active_state: "failed".into(),
            result: "exit-code".into(),
            exec_main_code: 1,
            exec_main_status: 3,
        }))
    }
}

fn setup() -> (tempfile::TempDir, Context, FakeSystemd) {
    let d = tempfile::tempdir().unwrap();
    let fake = FakeSystemd::default();
    let mut ctx = Context::new(d.path(), Box::new(fake.clone())).unwrap();
    ctx.probe = Probe::Skip;
    ctx.selinux = false;
    ctx.image_volumes = false;
    ctx.pull = false;
    ctx.set_log(Box::new(|_| {}));
    (d, ctx, fake)
}

/// A podman stand-in: logs its argv and stdin to `<dir>/podman.log` and
/// answers image inspect, volume ls and secret ls.
fn fake_podman(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("podman");
    let log = dir.join("podman.log");
    std::fs::write(
        &p,
        format!(
            r#"#!/bin/sh
echo "ARGV: $*" >> '{log}'
case "$1 $2" in
  "image inspect") echo '{{"/data":{{}},"/var/log/app":{{}}}}' ;;
  "volume ls") echo '[{{"Name":"berth-db-1","Mountpoint":"{dir}"}},{{"Name":"berth-db-x-1","Mountpoint":"/nonexistent"}},{{"Name":"other","Mountpoint":"/"}}]' ;;
  "secret create") echo "STDIN: $(cat)" >> '{log}' ;;
  "secret ls") echo pw ;;
esac
"#,
            log = log.display(),
            dir = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

/// Data survives stop: install maps the image's VOLUMEs to named volumes
/// (kept by an update), delete keeps them, delete --volumes removes only
/// this container's.
#[test]
fn image_volumes_are_named_and_removed_only_on_request() {
    let (d, mut ctx, _f) = setup();
    ctx.podman = fake_podman(d.path());
    ctx.image_volumes = true;
    let mut req = install("db", &[]);
    req.definition.volumes = vec![berth_jobs::definition::NamedVolume {
        name: "data".into(),
        container_path: "/data".into(),
        read_only: false,
        relabel: None,
    }];
    run(&ctx, &req).unwrap();
    let def = stored(&ctx, "db").unwrap();
    let vols: Vec<(&str, &str)> = def
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), v.container_path.as_str()))
        .collect();
    assert_eq!(vols, [("data", "/data"), ("1", "/var/log/app")]);
    // An update without the explicit volume keeps each path's Name, so
    // /data still mounts the volume that holds its data.
    run(&ctx, &install("db", &[])).unwrap();
    let def = stored(&ctx, "db").unwrap();
    let vols: Vec<(&str, &str)> = def
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), v.container_path.as_str()))
        .collect();
    assert_eq!(vols, [("data", "/data"), ("1", "/var/log/app")]);
    let listed = run(&ctx, &jobs::ListVolumesRequest).unwrap();
    let rows = listed.success.data["Volumes"].as_array().unwrap().clone();
    assert_eq!(rows[0]["Volume"], "berth-db-1");
    assert_eq!(rows[0]["Container"], "db");
    assert_eq!(rows[0]["ContainerPath"], "/var/log/app");
    assert_eq!(rows[1]["Container"], "db-x");
    assert!(rows.iter().all(|r| r["Volume"] != "other"));
    let log = || std::fs::read_to_string(d.path().join("podman.log")).unwrap();
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "db".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    assert!(!log().contains("volume rm"), "{}", log());
    run(&ctx, &install("db", &[])).unwrap();
    let r = run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "db".into(),
            volumes: true,
            force: false,
        },
    )
    .unwrap();
    assert_eq!(
        r.success.data["RemovedVolumes"],
        serde_json::json!(["berth-db-1"])
    );
    assert!(
        log().contains("ARGV: volume rm -- berth-db-1\n"),
        "{}",
        log()
    );
    let e = run(
        &ctx,
        &jobs::RemoveVolumeRequest {
            volume: "other".into(),
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
}

/// Values are root-only: a secret's value reaches podman on stdin only,
/// and `berth run`'s environment goes through a 0600 env file.
#[test]
fn secret_values_and_run_env_never_reach_an_argv() {
    use std::os::unix::fs::PermissionsExt;
    let (d, mut ctx, fake) = setup();
    ctx.podman = fake_podman(d.path());
    let r = run(
        &ctx,
        &jobs::CreateSecretRequest {
            name: "pw".into(),
            value: b"hunter2-value".to_vec(),
        },
    )
    .unwrap();
    assert!(!serde_json::to_string(&r).unwrap().contains("hunter2"));
    let log = std::fs::read_to_string(d.path().join("podman.log")).unwrap();
    assert!(
        log.contains("ARGV: secret create pw -\nSTDIN: hunter2-value"),
        "{log}"
    );
    assert!(!log
        .lines()
        .any(|l| l.starts_with("ARGV") && l.contains("hunter2")));
    let mut req = install("app", &[]);
    req.definition.secrets = vec![berth_jobs::definition::SecretRef {
        name: "pw".into(),
        kind: None,
        target: None,
    }];
    run(&ctx, &req).unwrap();
    let e = run(&ctx, &jobs::RemoveSecretRequest { name: "pw".into() }).unwrap_err();
    assert!(e.to_string().contains("app"), "{e}");
    let listed = run(&ctx, &jobs::ListSecretsRequest).unwrap();
    assert_eq!(
        listed.success.data["Secrets"],
        serde_json::json!([{"Name": "pw", "UsedBy": ["app"]}])
    );

    run(
        &ctx,
        &jobs::RunContainerRequest {
            image: "localhost/busybox".into(),
            command: vec![],
            environment: vec![berth_jobs::definition::EnvVar {
                name: "TOKEN".into(),
                value: "s3cr3t-run".into(),
            }],
            detach: true,
            ..Default::default()
        },
    )
    .unwrap();
    let calls = fake.0.borrow().calls.clone();
    let t = calls.iter().find(|c| c.starts_with("transient")).unwrap();
    assert!(!t.contains("s3cr3t"), "{t}");
    let file = t
        .split(' ')
        .find_map(|w| w.strip_prefix("--env-file="))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        t.ends_with(&format!("; post /usr/bin/rm -f -- {file}")),
        "{t}"
    );
    assert_eq!(std::fs::read_to_string(file).unwrap(), "TOKEN=s3cr3t-run\n");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(Path::new(file)), 0o600);
    assert_eq!(mode(Path::new(file).parent().unwrap()), 0o700);
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
                    proxy_protocol: None,
                    protocol: None,
                })
                .collect(),
            ..Definition::default()
        },
        unmask: false,
        wait: false,
        dry_run: false,
        no_restart: false,
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
        .map(|(p, _)| p.port)
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
    assert_eq!(
        ctx.ports().owner(HostPort::tcp(b)).unwrap().as_deref(),
        Some("px")
    );
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
        &jobs::DeleteContainerRequest {
            id: "web".into(),
            volumes: false,
            force: false,
        },
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
        &jobs::StartedContainerStateRequest {
            id: "web".into(),
            wait: false,
        },
    )
    .unwrap();
    assert_eq!(r.success.kind, SuccessKind::Accepted);
    assert!(stored(&ctx, "web").unwrap().started);
    run(
        &ctx,
        &jobs::StoppedContainerStateRequest {
            id: "web".into(),
            wait: false,
        },
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
        &jobs::StartedContainerStateRequest {
            id: "web".into(),
            wait: false,
        },
    )
    .unwrap_err();
    assert!(e.is(error::ERR_START_REQUEST_THROTTLED), "{e}");
    assert!(
        !stored(&ctx, "web").unwrap().started,
        "throttled start changes nothing"
    );
    let e = run(
        &ctx,
        &jobs::RestartContainerRequest {
            id: "web".into(),
            wait: false,
        },
    )
    .unwrap_err();
    assert!(e.is(error::ERR_RESTART_REQUEST_THROTTLED));
    fake.0.borrow_mut().changing = Some("deactivating".into());
    let e = run(
        &ctx,
        &jobs::StoppedContainerStateRequest {
            id: "web".into(),
            wait: false,
        },
    )
    .unwrap_err();
    assert!(e.is(error::ERR_STOP_REQUEST_THROTTLED));
    let e = run(
        &ctx,
        &jobs::StartedContainerStateRequest {
            id: "nope".into(),
            wait: false,
        },
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
            variables: vec![var("A", "1"), var("B", "two words")],
            restart: false,
        },
    )
    .unwrap();
    let patched = run(
        &ctx,
        &jobs::PatchEnvironmentRequest {
            id: "web".into(),
            set: vec![var("A", "2"), var("C", "x=y")],
            unset: vec!["B".into()],
            restart: false,
        },
    )
    .unwrap();
    // The request journal keeps mutation replies: names only, no values.
    assert_eq!(patched.success.data["Names"], serde_json::json!(["A", "C"]));
    assert!(!serde_json::to_string(&patched).unwrap().contains("x=y"));
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
            restart: false,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
}

#[test]
fn logs_stream_and_are_bounded() {
    let (_d, ctx, fake) = setup();
    run(&ctx, &install("web", &[])).unwrap();
    fake.0.borrow_mut().journal = vec![Some(serde_json::json!({
        "__REALTIME_TIMESTAMP": "0", "SYSLOG_IDENTIFIER": "podman", "_PID": "7",
        "_SYSTEMD_UNIT": "berth-web.service", "MESSAGE": "hello"
    }))];
    let mut buf = Vec::new();
    let r = dispatch(
        &ctx,
        &jobs::ContainerLogRequest {
            id: "web".into(),
            lines: Some(5),
            ..Default::default()
        },
        None,
        Response::new(&mut buf, true),
    )
    .unwrap();
    assert!(r.streamed);
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        "1970-01-01T00:00:00.000000Z podman[7]: hello\n"
    );
    assert!(fake
        .0
        .borrow()
        .calls
        .contains(&"journal berth-web.service lines=Some(5) follow=false".to_string()));
    let e = run(
        &ctx,
        &jobs::ContainerLogRequest {
            id: "web".into(),
            lines: Some(jobs::MAX_LOG_LINES + 1),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
}

#[test]
fn logs_json_lines_then_one_final_record() {
    let (_d, ctx, fake) = setup();
    run(&ctx, &install("web", &[])).unwrap();
    fake.0.borrow_mut().journal = vec![
        Some(serde_json::json!({"MESSAGE": "a", "_SYSTEMD_UNIT": "berth-web.service"})),
        None,
        Some(serde_json::json!({"MESSAGE": "b", "_SYSTEMD_UNIT": "berth-web.service"})),
    ];
    let mut buf = Vec::new();
    dispatch(
        &ctx,
        &jobs::ContainerLogRequest {
            id: "web".into(),
            json: true,
            ..Default::default()
        },
        None,
        Response::json_lines(&mut buf),
    )
    .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(buf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["Message"], "a");
    assert_eq!(lines[1]["Message"], "b");
    assert_eq!(lines[2]["Result"], "Ok");
    assert_eq!(lines[2]["Entries"], 2);
}

/// A follow ends by itself once the container is deleted.
#[test]
fn logs_follow_ends_when_the_container_is_deleted() {
    let (_d, ctx, fake) = setup();
    run(&ctx, &install("web", &[])).unwrap();
    fake.0.borrow_mut().journal = vec![Some(serde_json::json!({"MESSAGE": "x"})), None];
    // Deleted before the follow idles.
    std::fs::remove_file(ctx.paths.definition_file("web")).unwrap();
    let mut buf = Vec::new();
    // `require` at the start needs it: put it back, then delete it from
    // inside the stream.
    run(&ctx, &install("web", &[])).unwrap();
    struct DeleteOnWrite<'a>(&'a Context, &'a mut Vec<u8>);
    impl std::io::Write for DeleteOnWrite<'_> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let _ = std::fs::remove_file(self.0.paths.definition_file("web"));
            self.1.write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let r = dispatch(
        &ctx,
        &jobs::ContainerLogRequest {
            id: "web".into(),
            follow: true,
            ..Default::default()
        },
        None,
        Response::new(DeleteOnWrite(&ctx, &mut buf), true),
    )
    .unwrap();
    assert_eq!(r.success.data["Deleted"], true);
    assert!(String::from_utf8(buf).unwrap().ends_with(": x\n"));
}

/// An attached run streams the unit's own stdout lines (not systemd's or
/// podman's messages) and answers the container's exit status.
#[test]
fn run_streams_its_output_and_returns_the_exit_status() {
    let (_d, ctx, fake) = setup();
    fake.0.borrow_mut().journal = vec![
        Some(serde_json::json!({"MESSAGE": "hi", "_TRANSPORT": "stdout", "_SYSTEMD_UNIT": "UNIT"})),
        Some(serde_json::json!({"MESSAGE": "Started.", "_TRANSPORT": "journal", "UNIT": "UNIT"})),
        None,
    ];
    let mut buf = Vec::new();
    let r = dispatch(
        &ctx,
        &jobs::RunContainerRequest {
            image: "localhost/busybox".into(),
            command: vec!["sh".into(), "-c".into(), "echo hi; exit 3".into()],
            ..Default::default()
        },
        None,
        Response::json_lines(&mut buf),
    );
    let reply = r.unwrap();
    assert_eq!(reply.success.data["ExitStatus"], 3);
    let text = String::from_utf8(buf).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], r#"{"Line":"hi"}"#);
    assert!(lines[1].contains(r#""ExitStatus":3"#), "{text}");
    assert!(fake
        .0
        .borrow()
        .calls
        .iter()
        .any(|c| c.starts_with("outcome berth-run-")));
}

/// A failure after streaming started is the final record, the lines
/// streamed before it stay, and pending data is dropped.
#[test]
fn run_failure_after_streaming_is_the_final_record() {
    let (_d, ctx, fake) = setup();
    {
        let mut s = fake.0.borrow_mut();
        s.outcomes.push_back(ServiceOutcome {
            load_state: "not-found".into(),
            active_state: "inactive".into(),
            result: "unknown".into(),
            exec_main_code: 0,
            exec_main_status: 0,
        });
    }
    struct Streaming;
    impl Job for Streaming {
        fn name(&self) -> &'static str {
            "streaming"
        }
        fn execute(
            &self,
            ctx: &Context,
            resp: &mut dyn berth_jobs::response::JobResponse,
        ) -> Result<berth_jobs::response::Success, JobError> {
            resp.write_pending_success("PortMapping", serde_json::json!([1]));
            resp.stream_record(berth_jobs::response::StreamRecord::Line("one".into()))
                .unwrap();
            let o = ctx.systemd.service_outcome("x.service").unwrap();
            Err(JobError::from(error::ERR_CONTAINER_START_FAILED).detail(o.result))
        }
    }
    let mut buf = Vec::new();
    let e = dispatch(&ctx, &Streaming, None, Response::json_lines(&mut buf)).unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_START_FAILED));
    let text = String::from_utf8(buf).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], r#"{"Line":"one"}"#);
    assert!(lines[1].starts_with(r#"{"Error":"#), "{text}");
    assert!(!text.contains("PortMapping"));
}

/// start, stop, restart and install --start wait for systemd's job and
/// report a failed one with the unit's result and the journal's tail.
#[test]
fn waiting_reports_the_job_result() {
    let (_d, ctx, fake) = setup();
    run(&ctx, &install("web", &[])).unwrap();
    let r = run(
        &ctx,
        &jobs::StartedContainerStateRequest {
            id: "web".into(),
            wait: true,
        },
    )
    .unwrap();
    assert_eq!(r.success.kind, SuccessKind::Ok);
    assert_eq!(r.success.data["JobResult"], "done");
    assert!(fake
        .0
        .borrow()
        .calls
        .contains(&"wait Start berth-web.service".to_string()));

    {
        let mut s = fake.0.borrow_mut();
        s.job_results.push_back("failed".into());
        s.journal = vec![Some(
            serde_json::json!({"MESSAGE": "boom", "SYSLOG_IDENTIFIER": "podman"}),
        )];
    }
    let e = run(
        &ctx,
        &jobs::RestartContainerRequest {
            id: "web".into(),
            wait: true,
        },
    )
    .unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_RESTART_FAILED), "{e}");
    let detail = e.detail.clone().unwrap();
    assert!(
        detail.contains("the job ended failed (unit result exit-code)"),
        "{detail}"
    );
    assert!(detail.contains("podman: boom"), "{detail}");
    assert_eq!(e.data.as_ref().unwrap()["JobResult"], "failed");

    fake.0.borrow_mut().job_results.push_back("done".into());
    let r = run(
        &ctx,
        &jobs::StoppedContainerStateRequest {
            id: "web".into(),
            wait: true,
        },
    )
    .unwrap();
    assert_eq!(
        r.success.message.as_deref(),
        Some("stopped web (berth-web.service)")
    );

    fake.0.borrow_mut().job_results.push_back("timeout".into());
    let mut req = install("db", &[]);
    req.definition.started = true;
    req.wait = true;
    let e = run(&ctx, &req).unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_START_FAILED), "{e}");
    assert!(e.detail.unwrap().contains("ended timeout"));
    // A failed install rolls back: nothing is left.
    assert!(stored(&ctx, "db").is_none());
}

#[test]
fn content_is_env_only_and_purge_needs_yes() {
    let (_d, ctx, _fake) = setup();
    let mut req = install("web", &[]);
    req.definition.environment = Some(berth_jobs::definition::Environment {
        variables: vec![berth_jobs::definition::EnvVar {
            name: "A".into(),
            value: "1".into(),
        }],
    });
    run(&ctx, &req).unwrap();
    let r = run(
        &ctx,
        &jobs::ContentRequest {
            id: "web".into(),
            content_type: "env".into(),
        },
    )
    .unwrap();
    assert_eq!(r.success.data["Content"], "A=1\n");
    let e = run(
        &ctx,
        &jobs::ContentRequest {
            id: "web".into(),
            content_type: "gitarchive".into(),
        },
    )
    .unwrap_err();
    assert!(e.is(error::ERR_CONTENT_TYPE_DOES_NOT_MATCH));
    assert_eq!(e.kind, error::FailureKind::NotAcceptable);

    let i = run(&ctx, &jobs::InspectContainerRequest { id: "web".into() }).unwrap();
    assert_eq!(i.success.data["Units"][0]["Name"], "berth-web.service");
    assert!(!i.success.message.unwrap().contains("A=1"));
    assert_eq!(
        i.success.data["Definition"]["Environment"]["Variables"][0]["Value"],
        "(hidden)"
    );

    let e = run(&ctx, &jobs::PurgeContainersRequest { confirm: false }).unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
    run(&ctx, &install("db", &[])).unwrap();
    let r = run(&ctx, &jobs::PurgeContainersRequest { confirm: true }).unwrap();
    assert_eq!(r.success.data["Deleted"], serde_json::json!(["db", "web"]));
    assert!(stored(&ctx, "web").is_none() && stored(&ctx, "db").is_none());
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
            detach: true,
            ..Default::default()
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
    assert!(!t.contains("--env") && !t.contains("; post"), "{t}");
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
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "a".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "web".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    assert_eq!(keep("a.b"), before_ab);
    assert_eq!(keep("web1"), before_web1);
    let left: Vec<(HostPort, String)> = ports_before
        .into_iter()
        .filter(|(_, o)| o != "a" && o != "web")
        .collect();
    assert_eq!(ctx.ports().all().unwrap(), left);
    assert!(
        keep("a").is_empty() && keep("web").is_empty(),
        "{:?}",
        keep("a")
    );
    let e = run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "a".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap_err();
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
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "a".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
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

/// Makes every settle of `id` fail: a claimed port whose reservation entry
/// is a directory, so reading its owner fails.
fn break_cleanup_of(ctx: &Context, id: &str, port: u16) {
    let state = ctx.paths.state_dir();
    std::fs::create_dir_all(state.join("owners").join(id)).unwrap();
    std::fs::write(
        state.join("owners").join(id).join(format!("port-{port}")),
        "",
    )
    .unwrap();
    std::fs::create_dir_all(state.join("ports").join(port.to_string())).unwrap();
    ctx.store().mark_pending(id).unwrap();
}

#[test]
fn a_failure_on_container_a_never_fails_a_job_on_container_b() {
    let (_d, ctx, _f) = setup();
    run(&ctx, &install("a", &[(80, 0)])).unwrap();
    break_cleanup_of(&ctx, "a", 31000);
    let pending_a = ctx.paths.pending_dir().join("a");
    // Every kind of mutating job on b succeeds while a's cleanup fails.
    run(&ctx, &install("b", &[(80, 0)])).unwrap();
    run(
        &ctx,
        &jobs::StartedContainerStateRequest {
            id: "b".into(),
            wait: false,
        },
    )
    .unwrap();
    run(
        &ctx,
        &jobs::StoppedContainerStateRequest {
            id: "b".into(),
            wait: false,
        },
    )
    .unwrap();
    run(
        &ctx,
        &jobs::PatchEnvironmentRequest {
            id: "b".into(),
            set: vec![berth_jobs::definition::EnvVar {
                name: "A".into(),
                value: "1".into(),
            }],
            unset: vec![],
            restart: false,
        },
    )
    .unwrap();
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "b".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    assert!(
        pending_a.exists(),
        "a stays pending: the next job retries it"
    );
    // A failure after a's own new state is in force is a warning.
    let r = run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "a".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    assert!(stored(&ctx, "a").is_none());
    assert_eq!(r.success.warnings.len(), 1, "{:?}", r.success);
    assert!(
        r.success.warnings[0].contains("31000"),
        "{:?}",
        r.success.warnings
    );
    // Once the cause is gone, the next job (on anything) finishes the job.
    std::fs::remove_dir(ctx.paths.state_dir().join("ports/31000")).unwrap();
    run(&ctx, &install("c", &[])).unwrap();
    assert!(!pending_a.exists());
    assert!(ctx.ports().claimed_by("a").unwrap().is_empty());
}

#[test]
fn an_update_restarts_changed_units_and_says_whether_anything_changed() {
    let (d, ctx, fake) = setup();
    fake.0.borrow_mut().state_dir = Some(ctx.paths.state_dir().to_owned());
    let mut req = install("web", &[(80, 0), (81, 0)]);
    req.definition.started = true;
    let first = run(&ctx, &req).unwrap();
    assert_eq!(first.success.data["Changed"], true);
    let old = stored(&ctx, "web").unwrap();
    fake.0
        .borrow_mut()
        .active
        .insert("berth-web.service".into(), "active".into());
    // The same request again: nothing changes, nothing restarts, no reload.
    fake.0.borrow_mut().calls.clear();
    let again = run(&ctx, &req).unwrap();
    assert_eq!(again.success.data["Changed"], false);
    assert_eq!(
        fake.0.borrow().calls,
        vec!["start berth-web.service"],
        "only the idempotent start of a Started container"
    );
    let _ = d;
    // A new image and one port fewer: the running container restarts, and
    // the dropped port stays reserved until the old container is gone.
    fake.0.borrow_mut().calls.clear();
    let mut req2 = install("web", &[(80, 0)]);
    req2.definition.image = "localhost/busybox:2".into();
    req2.definition.started = true;
    let upd = run(&ctx, &req2).unwrap();
    assert_eq!(upd.success.data["Changed"], true);
    assert_eq!(
        upd.success.data["Restarted"],
        serde_json::json!(["berth-web.service"])
    );
    assert!(fake
        .0
        .borrow()
        .calls
        .contains(&"try-restart berth-web.service".to_string()));
    let dropped = HostPort::tcp(old.ports[1].external);
    assert_eq!(
        ctx.ports().owner(dropped).unwrap().as_deref(),
        Some("web"),
        "kept while the old container may run"
    );
    // While the service is still changing state, the next job leaves it.
    fake.0
        .borrow_mut()
        .active
        .insert("berth-web.service".into(), "activating".into());
    run(&ctx, &install("other", &[])).unwrap();
    assert_eq!(ctx.ports().owner(dropped).unwrap().as_deref(), Some("web"));
    // Restarted: the next job releases it.
    fake.0
        .borrow_mut()
        .active
        .insert("berth-web.service".into(), "active".into());
    run(&ctx, &install("other2", &[])).unwrap();
    assert_eq!(ctx.ports().owner(dropped).unwrap(), None);
    assert_eq!(
        stored(&ctx, "web").unwrap().ports[0].external,
        old.ports[0].external
    );
    // Started alone renders the same units: no restart.
    fake.0.borrow_mut().calls.clear();
    let mut req3 = req2.clone();
    req3.definition.started = false;
    let r = run(&ctx, &req3).unwrap();
    assert_eq!(r.success.data["Changed"], true);
    assert!(
        !fake
            .0
            .borrow()
            .calls
            .iter()
            .any(|c| c.starts_with("try-restart")),
        "{:?}",
        fake.0.borrow().calls
    );
}

#[test]
fn env_says_a_restart_is_needed_or_restarts() {
    let (_d, ctx, fake) = setup();
    run(&ctx, &install("web", &[])).unwrap();
    let var = |v: &str| berth_jobs::definition::EnvVar {
        name: "A".into(),
        value: v.into(),
    };
    let patch = |v: &str, restart: bool| jobs::PatchEnvironmentRequest {
        id: "web".into(),
        set: vec![var(v)],
        unset: vec![],
        restart,
    };
    // Not running: nothing to restart.
    let r = run(&ctx, &patch("1", false)).unwrap();
    assert_eq!(r.success.data["RestartNeeded"], false);
    fake.0
        .borrow_mut()
        .active
        .insert("berth-web.service".into(), "active".into());
    let r = run(&ctx, &patch("2", false)).unwrap();
    assert_eq!(r.success.data["RestartNeeded"], true);
    assert!(
        r.success
            .message
            .as_deref()
            .unwrap()
            .contains("berth restart web"),
        "{:?}",
        r.success.message
    );
    assert!(!fake
        .0
        .borrow()
        .calls
        .iter()
        .any(|c| c.starts_with("try-restart")));
    let r = run(&ctx, &patch("3", true)).unwrap();
    assert_eq!(r.success.data["RestartNeeded"], false);
    assert_eq!(
        r.success.data["Restarted"],
        serde_json::json!(["berth-web.service"])
    );
    assert_eq!(
        fake.0.borrow().calls.last().unwrap(),
        "try-restart berth-web.service"
    );
    // The same value again changes nothing and restarts nothing.
    fake.0.borrow_mut().calls.clear();
    let r = run(&ctx, &patch("3", true)).unwrap();
    assert_eq!(r.success.data["Changed"], false);
    assert!(
        fake.0.borrow().calls.is_empty(),
        "{:?}",
        fake.0.borrow().calls
    );
}

#[test]
fn stop_cancels_a_start_in_progress() {
    let (_d, ctx, fake) = setup();
    let mut req = install("web", &[]);
    req.definition.started = true;
    run(&ctx, &req).unwrap();
    // A hung start, or a crash loop waiting to restart.
    fake.0.borrow_mut().changing = Some("activating".into());
    fake.0.borrow_mut().calls.clear();
    let r = run(
        &ctx,
        &jobs::StoppedContainerStateRequest {
            id: "web".into(),
            wait: false,
        },
    );
    // delete/stop wait for nothing here: stop only queues the job.
    let r = r.unwrap();
    assert_eq!(r.success.kind, SuccessKind::Accepted);
    assert!(fake
        .0
        .borrow()
        .calls
        .contains(&"stop berth-web.service".to_string()));
    assert!(!stored(&ctx, "web").unwrap().started);
}

#[test]
fn a_dead_start_or_stop_is_finished_by_the_next_job() {
    let (_d, ctx, fake) = setup();
    let mut req = install("web", &[]);
    req.definition.started = true;
    run(&ctx, &req).unwrap();
    // A stop that died after writing `Started: false`, before StopUnit.
    let mut def = stored(&ctx, "web").unwrap();
    def.started = false;
    ctx.store().write("web", &def).unwrap();
    ctx.store()
        .mark_pending_as("web", berth_jobs::store::PendingKind::State)
        .unwrap();
    fake.0.borrow_mut().calls.clear();
    run(&ctx, &install("other", &[])).unwrap();
    let calls = fake.0.borrow().calls.clone();
    assert_eq!(
        calls[..2],
        ["reload", "stop berth-web.service"],
        "{calls:?}"
    );
    assert!(!ctx.paths.pending_dir().join("web").exists());
}

#[test]
fn a_request_id_replayed_with_another_body_is_refused() {
    let (_d, ctx, _f) = setup();
    let rid = RequestIdentifier::new_random();
    let go = |job: &dyn Job| dispatch(&ctx, job, Some(rid), Response::new(Vec::new(), false));
    go(&install("web", &[(80, 0)])).unwrap();
    let e = go(&install("web", &[(80, 0), (81, 0)])).unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest, "{e}");
    assert!(e.to_string().contains("another body"), "{e}");
    assert_eq!(stored(&ctx, "web").unwrap().ports.len(), 1);
    // The same body replays.
    go(&install("web", &[(80, 0)])).unwrap();
    // A delete's Volumes and Force are part of its body: a plain delete
    // replayed as `--volumes` would otherwise answer without removing data
    // (or report data removed that was kept).
    let rid = RequestIdentifier::new_random();
    let del = |volumes, force| jobs::DeleteContainerRequest {
        id: "web".into(),
        volumes,
        force,
    };
    let go = |job: &dyn Job| dispatch(&ctx, job, Some(rid), Response::new(Vec::new(), false));
    go(&del(false, false)).unwrap();
    for (volumes, force) in [(true, false), (false, true)] {
        let e = go(&del(volumes, force)).unwrap_err();
        assert!(e.to_string().contains("another body"), "{e}");
    }
    go(&del(false, false)).unwrap();
}

#[test]
fn journal_entries_are_private_hold_no_values_and_expire() {
    use std::os::unix::fs::MetadataExt;
    let (_d, ctx, _f) = setup();
    let secret = "s3cr3t-journal-value";
    let mut req = install("web", &[]);
    req.definition.environment = Some(berth_jobs::definition::Environment {
        variables: vec![berth_jobs::definition::EnvVar {
            name: "PASSWORD".into(),
            value: secret.into(),
        }],
    });
    let r1 = RequestIdentifier::new_random();
    dispatch(&ctx, &req, Some(r1), Response::new(Vec::new(), false)).unwrap();
    let r2 = RequestIdentifier::new_random();
    let patch = jobs::PatchEnvironmentRequest {
        id: "web".into(),
        set: vec![berth_jobs::definition::EnvVar {
            name: "TOKEN".into(),
            value: secret.into(),
        }],
        unset: vec![],
        restart: false,
    };
    let reply = dispatch(&ctx, &patch, Some(r2), Response::new(Vec::new(), false)).unwrap();
    assert!(!format!("{reply:?}").contains(secret));
    let dir = ctx.paths.requests_dir();
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(
            e.metadata().unwrap().mode() & 0o777,
            0o600,
            "{:?}",
            e.path()
        );
        let text = std::fs::read_to_string(e.path()).unwrap();
        assert!(!text.contains(secret), "{text}");
    }
    // An entry older than a day is not replayed, and the next mutating job
    // prunes it.
    let old = dir.join(format!("{}.json", r1.hex()));
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(25 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(day_ago)
        .unwrap();
    assert!(berth_jobs::journal::lookup(&ctx, &r1).is_none());
    run(&ctx, &install("other", &[])).unwrap();
    assert!(!old.exists());
    assert!(berth_jobs::journal::lookup(&ctx, &r2).is_some());
}

#[test]
fn delete_waits_until_the_units_are_inactive_before_releasing() {
    let (_d, ctx, fake) = setup();
    run(&ctx, &install("web", &[(80, 0)])).unwrap();
    {
        let mut s = fake.0.borrow_mut();
        s.state_dir = Some(ctx.paths.state_dir().to_owned());
        s.calls.clear();
        s.sequence = ["deactivating", "deactivating", "inactive"]
            .map(String::from)
            .into();
    }
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "web".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    let calls = fake.0.borrow().calls.clone();
    let states: Vec<&String> = calls.iter().filter(|c| c.starts_with("state")).collect();
    assert_eq!(
        states,
        [
            "state berth-web.service deactivating ports=1",
            "state berth-web.service deactivating ports=1",
            "state berth-web.service inactive ports=1",
        ],
        "{calls:?}"
    );
    assert!(ctx.ports().all().unwrap().is_empty());
}

#[test]
fn uids_ranges_and_groups_of_deleted_containers_are_never_handed_out_again() {
    if !rustix::process::geteuid().is_root() || !Path::new("/usr/sbin/useradd").exists() {
        eprintln!("skipped: needs root and useradd");
        return;
    }
    let (_d, ctx, _f) = setup();
    let isolated = |id: &str| {
        let mut req = install(id, &[]);
        req.definition.isolate = true;
        req
    };
    run(&ctx, &isolated("a")).unwrap();
    let users = ctx.users();
    let a = users.existing("a").unwrap().unwrap();
    assert_eq!(a.uid, a.gid, "the group gets the uid as its gid");
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "a".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    let group = std::fs::read_to_string(ctx.paths.etc("group")).unwrap();
    assert!(
        !group.lines().any(|l| l.starts_with("ctr-a:")),
        "the group went with the user: {group}"
    );
    // Neither the same id nor another gets a's uid or range back.
    for id in ["a", "b"] {
        run(&ctx, &isolated(id)).unwrap();
        let u = users.existing(id).unwrap().unwrap();
        assert!(u.uid < a.uid, "{id}: uid {} after {}", u.uid, a.uid);
        assert!(
            u.subordinate.start >= a.subordinate.start + a.subordinate.count,
            "{id}: {:?} after {:?}",
            u.subordinate,
            a.subordinate
        );
        run(
            &ctx,
            &jobs::DeleteContainerRequest {
                id: id.into(),
                volumes: false,
                force: false,
            },
        )
        .unwrap();
    }
}

#[test]
fn a_labelling_failure_is_not_a_user_failure() {
    let (_d, mut ctx, _f) = setup();
    // berth's user exists, its home does not: labelling it fails.
    std::fs::create_dir_all(ctx.paths.etc("")).unwrap();
    std::fs::write(
        ctx.paths.etc("passwd"),
        "ctr-l:x:990:990::/x:/sbin/nologin\n",
    )
    .unwrap();
    let owners = ctx.paths.owners_root().join("l");
    std::fs::create_dir_all(&owners).unwrap();
    std::fs::write(owners.join("user"), "").unwrap();
    ctx.selinux = true;
    let mut req = install("l", &[]);
    req.definition.isolate = true;
    let e = run(&ctx, &req).unwrap_err();
    assert_eq!(
        e.message, "Unable to label the container's files with its MCS level.",
        "{e}"
    );
    assert!(!e
        .to_string()
        .contains("Unable to create the container user"));
    assert!(stored(&ctx, "l").is_none());
}

/// `Simple` is installed, ignored, and the reply says so in its warnings
/// (printed to stderr, `Warnings` with `--json`); a definition without it
/// has no warnings.
#[test]
fn install_warns_that_simple_is_ignored() {
    let (_d, ctx, _fake) = setup();
    let mut job = install("legacy", &[]);
    job.definition.simple = true;
    let reply = run(&ctx, &job).unwrap();
    let warnings = &reply.success.warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("field Simple: "), "{warnings:?}");
    assert!(warnings[0].contains("ignored"), "{warnings:?}");
    assert!(stored(&ctx, "legacy").unwrap().simple);
    let plain = run(&ctx, &install("plain", &[])).unwrap();
    assert!(plain.success.warnings.is_empty());
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

/// A build's service ended with `status` (as the unit reports it).
fn build_outcome(status: i32) -> ServiceOutcome {
    ServiceOutcome {
        load_state: "loaded".into(),
        active_state: if status == 0 { "inactive" } else { "failed" }.into(),
        result: if status == 0 { "success" } else { "exit-code" }.into(),
        exec_main_code: 1,
        exec_main_status: status,
    }
}

/// podman build's output as the journal holds it: step lines among others.
fn build_journal() -> Vec<Option<serde_json::Value>> {
    [
        "STEP 1/2: FROM localhost/busybox",
        "STEP 2/2: COPY hello.txt /hello.txt",
        "--> 3b1f0c",
        "COMMIT localhost/demo:latest",
        "Successfully tagged localhost/demo:latest",
        "3b1f0c9e",
    ]
    .iter()
    .map(|m| {
        Some(serde_json::json!({"MESSAGE": m, "_TRANSPORT": "stdout", "_SYSTEMD_UNIT": "UNIT"}))
    })
    .chain([None])
    .collect()
}

fn build(name: &str, source: &Path) -> jobs::BuildImageRequest {
    jobs::BuildImageRequest {
        name: name.into(),
        source: source.to_string_lossy().into_owned(),
        ..Default::default()
    }
}

/// The transient unit's exact argv, without and with every option.
#[test]
fn build_runs_podman_build_in_a_transient_unit_with_each_option() {
    let (d, mut ctx, fake) = setup();
    ctx.podman = "/usr/bin/podman".into();
    let src = d.path().join("ctx");
    std::fs::create_dir(&src).unwrap();
    let s = src.display();
    fake.0.borrow_mut().outcomes = [build_outcome(0), build_outcome(0)].into();
    run(&ctx, &build("demo", &src)).unwrap();
    run(
        &ctx,
        &jobs::BuildImageRequest {
            tag: Some("registry.example/team/demo:v2".into()),
            base_image: Some("localhost/busybox:1".into()),
            runtime_image: Some("localhost/runtime".into()),
            clean: true,
            verbose: true,
            ..build("demo", &src)
        },
    )
    .unwrap();
    let calls: Vec<String> = fake
        .0
        .borrow()
        .calls
        .iter()
        .filter(|c| c.starts_with("transient"))
        .cloned()
        .collect();
    assert_eq!(
        calls,
        [
            format!(
                "transient berth-build-demo.service /usr/bin/podman build \
                 --tag=localhost/demo:latest {s}"
            ),
            format!(
                "transient berth-build-demo.service /usr/bin/podman build \
                 --tag=registry.example/team/demo:v2 --from=localhost/busybox:1 \
                 --build-arg=RUNTIME_IMAGE=localhost/runtime --no-cache {s}"
            ),
        ]
    );
}

/// Without `verbose` only the step lines are streamed; with it, all.
#[test]
fn build_streams_step_lines_or_everything_with_verbose() {
    let (d, ctx, fake) = setup();
    let src = d.path().join("ctx");
    std::fs::create_dir(&src).unwrap();
    for verbose in [false, true] {
        {
            let mut s = fake.0.borrow_mut();
            s.journal = build_journal();
            s.outcomes = [build_outcome(0)].into();
        }
        let mut buf = Vec::new();
        let reply = dispatch(
            &ctx,
            &jobs::BuildImageRequest {
                verbose,
                ..build("demo", &src)
            },
            None,
            Response::new(&mut buf, true),
        )
        .unwrap();
        assert_eq!(reply.success.data["Result"], "succeeded");
        assert_eq!(reply.success.data["Tag"], "localhost/demo:latest");
        let text = String::from_utf8(buf).unwrap();
        let expected = if verbose {
            "STEP 1/2: FROM localhost/busybox\nSTEP 2/2: COPY hello.txt /hello.txt\n--> 3b1f0c\n\
             COMMIT localhost/demo:latest\nSuccessfully tagged localhost/demo:latest\n3b1f0c9e\n"
        } else {
            "STEP 1/2: FROM localhost/busybox\nSTEP 2/2: COPY hello.txt /hello.txt\n\
             COMMIT localhost/demo:latest\nSuccessfully tagged localhost/demo:latest\n"
        };
        assert_eq!(text, expected);
    }
}

/// A build leaves a 0600 record; `builds` lists it with its result, a
/// failed build is an error carrying podman's exit status.
#[test]
fn builds_lists_succeeded_and_failed_builds_from_private_records() {
    use std::os::unix::fs::PermissionsExt;
    let (d, ctx, fake) = setup();
    let src = d.path().join("ctx");
    std::fs::create_dir(&src).unwrap();
    fake.0.borrow_mut().outcomes = [build_outcome(0), build_outcome(125)].into();
    run(&ctx, &build("good", &src)).unwrap();
    let e = run(&ctx, &build("bad", &src)).unwrap_err();
    assert_eq!(e.kind, error::FailureKind::Error);
    assert!(e.message.contains("bad failed"), "{e}");
    assert_eq!(e.data.as_ref().unwrap()["ExitStatus"], 125);
    let dir = d.path().join("run/berth/builds");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("good.json")), 0o600);

    let listed = run(&ctx, &jobs::ListBuildsRequest).unwrap();
    let builds = listed.success.data["Builds"].as_array().unwrap().clone();
    let by = |n: &str| builds.iter().find(|b| b["Name"] == n).unwrap().clone();
    assert_eq!(by("good")["Result"], "succeeded");
    assert_eq!(by("good")["ExitStatus"], 0);
    assert_eq!(by("good")["Source"], src.to_string_lossy().as_ref());
    assert_eq!(by("bad")["Result"], "failed");
    assert_eq!(by("bad")["ExitStatus"], 125);
    let table = listed.success.table.unwrap().render();
    assert!(table.starts_with("NAME  RESULT"), "{table}");
    assert!(table.contains("good  succeeded  0"), "{table}");
}

/// A build whose berth went away (record says running, unit gone) is
/// `unknown`; one whose unit is still active is `running`, and a second
/// build of the same name is refused while it runs.
#[test]
fn builds_checks_running_records_against_their_unit() {
    let (d, ctx, fake) = setup();
    let dir = d.path().join("run/berth/builds");
    std::fs::create_dir_all(&dir).unwrap();
    for n in ["live", "gone"] {
        std::fs::write(
            dir.join(format!("{n}.json")),
            serde_json::json!({"Name": n, "Result": "running", "Started": "2026-01-01T00:00:00.000000Z"})
                .to_string(),
        )
        .unwrap();
    }
    fake.0
        .borrow_mut()
        .active
        .insert("berth-build-live.service".into(), "active".into());
    let listed = run(&ctx, &jobs::ListBuildsRequest).unwrap();
    let b = &listed.success.data["Builds"];
    let result = |n: &str| {
        b.as_array()
            .unwrap()
            .iter()
            .find(|x| x["Name"] == n)
            .unwrap()["Result"]
            .clone()
    };
    assert_eq!(result("live"), "running");
    assert_eq!(result("gone"), "unknown");

    let src = d.path().join("ctx");
    std::fs::create_dir(&src).unwrap();
    let e = run(&ctx, &build("live", &src)).unwrap_err();
    assert_eq!(e.kind, error::FailureKind::AlreadyExists, "{e}");
    assert!(!fake
        .0
        .borrow()
        .calls
        .iter()
        .any(|c| c.starts_with("transient")));
}

/// Bad names, tags, images and sources are refused naming the field and
/// the rule, before systemd is asked anything.
#[test]
fn build_refuses_bad_names_tags_and_sources_by_field() {
    let (d, ctx, fake) = setup();
    let src = d.path().join("ctx");
    std::fs::create_dir(&src).unwrap();
    let cases: Vec<(jobs::BuildImageRequest, &str)> = vec![
        (
            build("Demo", &src),
            "field Name: a build name follows the id rule",
        ),
        (build("a-", &src), "field Name: must be an image reference"),
        (build("", &src), "field Name"),
        (
            jobs::BuildImageRequest {
                tag: Some("bad tag".into()),
                ..build("demo", &src)
            },
            "field Tag: must be an image reference",
        ),
        (
            jobs::BuildImageRequest {
                tag: Some("--rm".into()),
                ..build("demo", &src)
            },
            "field Tag",
        ),
        (
            jobs::BuildImageRequest {
                base_image: Some("$(id)".into()),
                ..build("demo", &src)
            },
            "field BaseImage",
        ),
        (
            jobs::BuildImageRequest {
                runtime_image: Some("-x".into()),
                ..build("demo", &src)
            },
            "field RuntimeImage",
        ),
        (build("demo", Path::new("ctx")), "field Source"),
        (
            build("demo", Path::new("--file=/etc/shadow")),
            "field Source",
        ),
        (
            build("demo", Path::new("https://user:token@git.example/x.git")),
            "credentials in a URL",
        ),
        (
            build("demo", Path::new("https://tok@git.example/x.git")),
            "credentials",
        ),
        (
            build("demo", &d.path().join("missing")),
            "is not a directory",
        ),
    ];
    for (req, want) in cases {
        let e = run(&ctx, &req).unwrap_err();
        assert_eq!(e.kind, error::FailureKind::InvalidRequest, "{req:?}: {e}");
        assert!(e.to_string().contains(want), "{req:?}: {e}");
    }
    for ok in [
        "https://git.example/team/app.git",
        "git://git.example/app",
        "git@git.example:team/app.git",
    ] {
        use berth_jobs::jobs::Job as _;
        build("demo", Path::new(ok)).check().unwrap();
    }
    assert!(!fake
        .0
        .borrow()
        .calls
        .iter()
        .any(|c| c.starts_with("transient")));
}

/// `berth install --dry-run` says what would change and changes nothing;
/// `--no-restart` leaves a running container on its old units; start and
/// stop say whether they changed anything.
#[test]
fn dry_run_no_restart_and_changed_flags() {
    let (_d, ctx, fake) = setup();
    let mut plan = install("web", &[(80, 0)]);
    plan.dry_run = true;
    let p = run(&ctx, &plan).unwrap();
    assert_eq!(p.success.data["Changed"], true);
    assert_eq!(p.success.data["Before"], serde_json::Value::Null);
    assert_eq!(
        p.success.data["Units"],
        serde_json::json!(["berth-web.service"])
    );
    assert!(stored(&ctx, "web").is_none(), "a dry run writes nothing");
    assert!(
        fake.0.borrow().calls.is_empty(),
        "{:?}",
        fake.0.borrow().calls
    );

    run(&ctx, &install("web", &[(80, 0)])).unwrap();
    let kept = stored(&ctx, "web").unwrap().ports[0].external;
    // The same request: the kept port is filled in, nothing would change.
    let p = run(&ctx, &plan).unwrap();
    assert_eq!(p.success.data["Changed"], false, "{}", p.success.data);
    assert_eq!(p.success.data["After"]["Ports"][0]["External"], kept);
    // Another image: a diff naming it, and the service would change.
    plan.definition.image = "localhost/busybox:2".into();
    let p = run(&ctx, &plan).unwrap();
    assert_eq!(p.success.data["Changed"], true);
    let diff = p.success.data["Diff"].as_str().unwrap();
    assert!(
        diff.contains("-  \"Image\": \"localhost/busybox\""),
        "{diff}"
    );
    assert!(
        diff.contains("+  \"Image\": \"localhost/busybox:2\""),
        "{diff}"
    );
    assert_eq!(stored(&ctx, "web").unwrap().image, "localhost/busybox");

    // Start: changed once, then not while the unit is active.
    let start = jobs::StartedContainerStateRequest {
        id: "web".into(),
        wait: false,
    };
    assert_eq!(run(&ctx, &start).unwrap().success.data["Changed"], true);
    fake.0
        .borrow_mut()
        .active
        .insert("berth-web.service".into(), "active".into());
    assert_eq!(run(&ctx, &start).unwrap().success.data["Changed"], false);

    // --no-restart: the new image is stored, the running unit is left.
    fake.0.borrow_mut().calls.clear();
    let mut upd = install("web", &[(80, 0)]);
    upd.definition.image = "localhost/busybox:2".into();
    upd.definition.started = true;
    upd.no_restart = true;
    let r = run(&ctx, &upd).unwrap();
    assert_eq!(r.success.data["Changed"], true);
    assert_eq!(r.success.data["RestartNeeded"], true);
    assert!(!fake
        .0
        .borrow()
        .calls
        .iter()
        .any(|c| c.starts_with("try-restart")));
    // … but not when the ports change: the old container holds them.
    let mut ports = install("web", &[(80, 0), (81, 0)]);
    ports.definition.started = true;
    ports.no_restart = true;
    let e = run(&ctx, &ports).unwrap_err();
    assert_eq!(
        e.kind,
        berth_jobs::error::FailureKind::InvalidRequest,
        "{e}"
    );

    // Stop: changed while active, not once stopped.
    let stop = jobs::StoppedContainerStateRequest {
        id: "web".into(),
        wait: false,
    };
    assert_eq!(run(&ctx, &stop).unwrap().success.data["Changed"], true);
    fake.0
        .borrow_mut()
        .active
        .insert("berth-web.service".into(), "inactive".into());
    assert_eq!(run(&ctx, &stop).unwrap().success.data["Changed"], false);
}

// ---- issue 14: dependencies, groups, health, auto-update, networks ----

/// A podman stand-in for networks, health, auto-update and image ids,
/// answering from files under `<dir>/fake`: `net/<name>` (a network
/// exists), `net/<name>.inuse` (a container uses it), `inspect.json`,
/// `autoupdate.json` and `autoupdate.rc`, `ctr-image`, `image-id`. Logs
/// its argv to `<dir>/podman.log`.
fn fake_podman14(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let f = dir.join("fake");
    std::fs::create_dir_all(f.join("net")).unwrap();
    let p = dir.join("podman14");
    std::fs::write(
        &p,
        format!(
            r#"#!/bin/sh
F='{f}'
echo "ARGV: $*" >> '{log}'
case "$*" in
  "network exists "*) [ -e "$F/net/$3" ] ;;
  "container exists "*) [ -e "$F/ctr-image" ] || [ -e "$F/ctr-broken" ] ;;
  "network create "*) touch "$F/net/$3"; echo "$3" ;;
  "network rm "*)
    if [ -e "$F/net/$3.inuse" ]; then echo "Error: \"$3\" has associated containers with it" >&2; exit 2; fi
    rm -f "$F/net/$3"; echo "$3" ;;
  *"{{{{.Image}}}}"*) [ -e "$F/ctr-image" ] || {{ echo "Error: no such container" >&2; exit 125; }}; cat "$F/ctr-image" ;;
  "inspect --type container --format {{{{json .State}}}} -- "*) [ -e "$F/inspect.json" ] || {{ echo "Error: no such container" >&2; exit 125; }}; cat "$F/inspect.json" ;;
  "image inspect --format {{{{.Id}}}}"*) cat "$F/image-id" ;;
  "auto-update "*) cat "$F/autoupdate.json"; exit "$(cat "$F/autoupdate.rc" 2>/dev/null || echo 0)" ;;
  "tag "*|"pull "*) ;;
  *) echo "unexpected: $*" >&2; exit 99 ;;
esac
"#,
            f = f.display(),
            log = dir.join("podman.log").display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

fn podman_log(d: &Path) -> String {
    std::fs::read_to_string(d.join("podman.log")).unwrap_or_default()
}

fn with(id: &str, f: impl FnOnce(&mut Definition)) -> jobs::InstallContainerRequest {
    let mut r = install(id, &[]);
    f(&mut r.definition);
    r
}

fn delete(id: &str, force: bool) -> jobs::DeleteContainerRequest {
    jobs::DeleteContainerRequest {
        id: id.into(),
        volumes: false,
        force,
    }
}

/// Install refuses a dependency on an id without a definition in force,
/// naming the field, the id and the rule, and an ordering cycle, naming
/// it; `Wants` alone orders nothing, so a `Wants` loop is fine.
#[test]
fn install_checks_dependencies_against_the_definitions_in_force() {
    let (_d, ctx, _fake) = setup();
    let e = run(&ctx, &with("web", |d| d.requires = vec!["db".into()])).unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
    let detail = e.detail.clone().unwrap();
    assert!(
        detail.contains("field Requires[0]: container db"),
        "{detail}"
    );
    assert!(
        detail.contains(berth_jobs::deps::DEPENDENCY_RULE),
        "{detail}"
    );
    assert!(stored(&ctx, "web").is_none());
    let e = run(&ctx, &with("web", |d| d.after = vec!["web".into()])).unwrap_err();
    assert!(e.detail.unwrap().contains("names itself"));

    run(&ctx, &install("db", &[])).unwrap();
    run(&ctx, &with("web", |d| d.requires = vec!["db".into()])).unwrap();
    // db after web would close the loop web → db → web.
    let e = run(&ctx, &with("db", |d| d.after = vec!["web".into()])).unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
    let detail = e.detail.unwrap();
    assert!(
        detail.contains("field After[0]: the dependencies form a cycle db → web → db"),
        "{detail}"
    );
    assert!(stored(&ctx, "db").unwrap().after.is_empty());
    // Through three containers, and from a hand-written one.
    put(
        &ctx,
        "/usr/lib/berth/containers/cache.json",
        r#"{"Image": "localhost/busybox", "After": ["web"]}"#,
    );
    let e = run(&ctx, &with("db", |d| d.requires = vec!["cache".into()])).unwrap_err();
    assert!(
        e.detail.unwrap().contains("cycle db → cache → web → db"),
        "cycle through the vendor definition"
    );
    // Wants orders nothing.
    run(&ctx, &with("db", |d| d.wants = vec!["web".into()])).unwrap();
    // The dry run refuses the same way.
    let mut plan = with("db", |d| d.after = vec!["web".into()]);
    plan.dry_run = true;
    assert!(run(&ctx, &plan).is_err());
    // A masked id is no definition in force.
    put(&ctx, "/etc/berth/containers/gone.json", "");
    std::fs::remove_file(ctx.paths.definition_file("gone")).unwrap();
    std::os::unix::fs::symlink("/dev/null", ctx.paths.definition_file("gone")).unwrap();
    let e = run(&ctx, &with("web", |d| d.wants = vec!["gone".into()])).unwrap_err();
    assert!(e.detail.unwrap().contains("masked"));
}

/// Deleting a container others Require is refused, naming them, unless
/// forced; Wants/After dependents are warned about.
#[test]
fn delete_refuses_a_required_container_unless_forced() {
    let (_d, ctx, _fake) = setup();
    run(&ctx, &install("db", &[])).unwrap();
    run(&ctx, &with("web", |d| d.requires = vec!["db".into()])).unwrap();
    run(&ctx, &with("batch", |d| d.after = vec!["db".into()])).unwrap();
    let e = run(&ctx, &delete("db", false)).unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
    assert_eq!(e.message, "Other containers require this one.");
    let detail = e.detail.clone().unwrap();
    assert!(detail.contains("required by web ("), "{detail}");
    assert!(!detail.contains("batch"), "{detail}");
    assert!(detail.contains("--force"), "{detail}");
    assert_eq!(e.data.unwrap()["RequiredBy"], serde_json::json!(["web"]));
    assert!(stored(&ctx, "db").is_some(), "nothing deleted");
    // batch only orders after db: deleting it is fine, batch is warned of.
    let r = run(&ctx, &delete("db", true)).unwrap();
    assert!(stored(&ctx, "db").is_none());
    let w = r.success.warnings.join("\n");
    assert!(w.contains("web requires db"), "{w}");
    assert!(w.contains("batch names db in After"), "{w}");
}

/// `--group` acts on berth-<group>.target and waits for its job.
#[test]
fn group_commands_act_on_the_group_target() {
    let (_d, ctx, fake) = setup();
    for id in ["a", "b"] {
        run(&ctx, &with(id, |d| d.group = Some("app".into()))).unwrap();
    }
    run(&ctx, &install("c", &[])).unwrap();
    let group = |action, wait| jobs::GroupStateRequest {
        group: "app".into(),
        action,
        wait,
    };
    for (action, call) in [
        (jobs::GroupAction::Start, "wait Start berth-app.target"),
        (jobs::GroupAction::Stop, "wait Stop berth-app.target"),
        (jobs::GroupAction::Restart, "wait Restart berth-app.target"),
    ] {
        fake.0.borrow_mut().calls.clear();
        let r = run(&ctx, &group(action, true)).unwrap();
        assert_eq!(fake.0.borrow().calls, vec![call]);
        assert_eq!(r.success.kind, SuccessKind::Ok);
        assert_eq!(r.success.data["Members"], serde_json::json!(["a", "b"]));
        assert_eq!(r.success.data["Unit"], "berth-app.target");
        assert_eq!(r.success.data["JobResult"], "done");
    }
    fake.0.borrow_mut().calls.clear();
    let r = run(&ctx, &group(jobs::GroupAction::Restart, false)).unwrap();
    assert_eq!(r.success.kind, SuccessKind::Accepted);
    assert_eq!(fake.0.borrow().calls, vec!["restart berth-app.target"]);
    // Members' Started is theirs: a group stop leaves it.
    assert!(!stored(&ctx, "a").unwrap().started);
    // A failed job is this job's failure.
    fake.0
        .borrow_mut()
        .job_results
        .push_back("dependency".into());
    let e = run(&ctx, &group(jobs::GroupAction::Start, true)).unwrap_err();
    assert!(e.is(error::ERR_CONTAINER_START_FAILED), "{e}");
    assert!(e
        .detail
        .unwrap()
        .contains("berth-app.target: the job ended dependency"));
    // No member: NotFound naming the group; a bad name: InvalidRequest.
    let e = run(
        &ctx,
        &jobs::GroupStateRequest {
            group: "nope".into(),
            action: jobs::GroupAction::Start,
            wait: true,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::NotFound);
    assert!(e.to_string().contains("group nope"), "{e}");
    let e = run(
        &ctx,
        &jobs::GroupStateRequest {
            group: "Bad/Name".into(),
            action: jobs::GroupAction::Start,
            wait: true,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
    // The list shows the group.
    let l = run(&ctx, &jobs::ListContainersRequest).unwrap();
    let rows = l.success.data["Containers"].as_array().unwrap().clone();
    assert_eq!(rows[0]["Group"], "app");
    assert_eq!(rows[2]["Group"], serde_json::Value::Null);
    let t = l.success.table.unwrap();
    assert_eq!(t.header[5], "GROUP");
    assert_eq!(t.rows[1][5], "app");
}

/// `berth status` shows the health of a container with Health (podman 5's
/// `.State.Health`, podman 4's `.State.Healthcheck`), none without.
#[test]
fn status_shows_health_from_both_inspect_shapes() {
    let (d, mut ctx, _fake) = setup();
    ctx.podman = fake_podman14(d.path());
    let f = d.path().join("fake");
    run(
        &ctx,
        &with("web", |d| {
            d.health = Some(berth_jobs::definition::Health {
                cmd: vec!["/bin/check".into()],
                ..Default::default()
            })
        }),
    )
    .unwrap();
    run(&ctx, &install("plain", &[])).unwrap();
    // `podman inspect --format {{json .State}}`, podman 5: `Health`.
    let podman5 = r#"{"OciVersion":"1.2.0","Status":"running","Running":true,"Pid":4242,
      "Health":{"Status":"unhealthy","FailingStreak":3,"Log":[
        {"Start":"2026-12-01T10:00:00Z","End":"2026-12-01T10:00:01Z","ExitCode":0,"Output":"ok"},
        {"Start":"2026-12-01T10:00:30Z","End":"2026-12-01T10:00:31Z","ExitCode":1,"Output":"curl: (7) Failed to connect\nto localhost port 80\n"}]}}"#;
    std::fs::write(f.join("inspect.json"), podman5).unwrap();
    let r = run(&ctx, &jobs::ContainerStatusRequest { id: "web".into() }).unwrap();
    let h = &r.success.data["Health"];
    assert_eq!(h["Status"], "unhealthy");
    assert_eq!(h["FailingStreak"], 3);
    assert_eq!(h["LastExitCode"], 1);
    assert_eq!(
        h["LastOutput"],
        "curl: (7) Failed to connect to localhost port 80"
    );
    let m = r.success.message.unwrap();
    assert!(
        m.contains("health unhealthy (failing streak 3), last check: curl"),
        "{m}"
    );
    // podman 4.x: `Healthcheck`.
    let podman4 = r#"{"OciVersion":"1.0.2-dev","Status":"running","Running":true,
      "Healthcheck":{"Status":"starting","FailingStreak":0,"Log":null}}"#;
    std::fs::write(f.join("inspect.json"), podman4).unwrap();
    let r = run(&ctx, &jobs::ContainerStatusRequest { id: "web".into() }).unwrap();
    assert_eq!(r.success.data["Health"]["Status"], "starting");
    assert_eq!(
        r.success.data["Health"]["LastOutput"],
        serde_json::Value::Null
    );
    // Stopped: the container is gone (removed on stop).
    std::fs::remove_file(f.join("inspect.json")).unwrap();
    let r = run(&ctx, &jobs::ContainerStatusRequest { id: "web".into() }).unwrap();
    assert_eq!(r.success.data["Health"]["Status"], "unknown");
    assert_eq!(
        r.success.data["Health"]["Reason"],
        "the container is not running"
    );
    // No Health: no health, and podman is not asked.
    let before = podman_log(d.path());
    let r = run(&ctx, &jobs::ContainerStatusRequest { id: "plain".into() }).unwrap();
    assert!(r.success.data["Health"].is_null());
    assert_eq!(podman_log(d.path()), before);
}

/// `podman auto-update --format json` as podman 5 prints it
/// (cmd/podman/auto-update.go: MarshalIndent of Unit, Container,
/// ContainerName, ContainerID, Image, Policy, Updated), with a unit that is
/// not berth's.
const AUTO_UPDATE_PODMAN5: &str = r#"[
    {
        "Unit": "berth-web.service",
        "Container": "08fd34e533fd (berth-web)",
        "ContainerName": "berth-web",
        "ContainerID": "08fd34e533fd0a9e5fa4c4f29f3ac0d2d2fe1c4d1c09a7d6e8d6a4a07e2d9c1b",
        "Image": "localhost/app:latest",
        "Policy": "local",
        "Updated": "true"
    },
    {
        "Unit": "berth-app.service",
        "Container": "be0889fd06f2 (berth-app)",
        "ContainerName": "berth-app",
        "ContainerID": "be0889fd06f252a2e5141b37072c6bada68563026cb2b2649f53394d87ccc338",
        "Image": "localhost/api:latest",
        "Policy": "local",
        "Updated": "rolled back"
    },
    {
        "Unit": "container-test.service",
        "Container": "01f5c8113e84 (test)",
        "ContainerName": "test",
        "ContainerID": "01f5c8113e84b3f1b1d1b5f4e3e0c7a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0",
        "Image": "registry.fedoraproject.org/fedora:latest",
        "Policy": "registry",
        "Updated": "failed"
    }
]"#;

/// The same as podman 4.x prints it (the report's fields, without the
/// split name and id of 4.4+).
const AUTO_UPDATE_PODMAN4: &str = r#"[
    {
        "Unit": "berth-web.service",
        "Container": "08fd34e533fd (berth-web)",
        "Image": "localhost/app:latest",
        "Policy": "local",
        "Updated": "pending"
    }
]"#;

#[test]
fn update_reports_berth_units_from_podman_auto_update() {
    let (d, mut ctx, _fake) = setup();
    ctx.podman = fake_podman14(d.path());
    let f = d.path().join("fake");
    for id in ["web", "app"] {
        run(
            &ctx,
            &with(id, |d| {
                d.auto_update = Some(berth_jobs::definition::AutoUpdate::Local)
            }),
        )
        .unwrap();
    }
    run(&ctx, &install("plain", &[])).unwrap();
    std::fs::write(f.join("autoupdate.json"), AUTO_UPDATE_PODMAN5).unwrap();
    // podman exits non-zero for the foreign unit's failure.
    std::fs::write(f.join("autoupdate.rc"), "125").unwrap();
    let all = jobs::AutoUpdateRequest::default();
    let r = run(&ctx, &all).unwrap();
    let data = &r.success.data;
    assert_eq!(data["Updated"], serde_json::json!(["web"]));
    assert_eq!(data["RolledBack"], serde_json::json!(["app"]));
    assert_eq!(data["Failed"], serde_json::json!([]));
    let ids: Vec<&str> = data["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["web", "app"], "container-test.service is not berth's");
    let w = r.success.warnings.join("\n");
    assert!(w.contains("app was rolled back"), "{w}");
    assert!(
        w.contains("auto-update"),
        "podman's error is a warning: {w}"
    );
    assert!(podman_log(d.path()).contains("ARGV: auto-update --format json\n"));

    // Dry run, podman 4's JSON, filtered to the ids.
    std::fs::write(f.join("autoupdate.json"), AUTO_UPDATE_PODMAN4).unwrap();
    std::fs::write(f.join("autoupdate.rc"), "0").unwrap();
    let r = run(
        &ctx,
        &jobs::AutoUpdateRequest {
            ids: vec!["app".into()],
            dry_run: true,
        },
    )
    .unwrap();
    assert_eq!(r.success.data["Containers"], serde_json::json!([]));
    let r = run(
        &ctx,
        &jobs::AutoUpdateRequest {
            ids: vec![],
            dry_run: true,
        },
    )
    .unwrap();
    assert_eq!(r.success.data["Pending"], serde_json::json!(["web"]));
    assert!(podman_log(d.path()).contains("ARGV: auto-update --format json --dry-run\n"));

    // A berth unit that failed fails the job (exit 1), with the report.
    std::fs::write(
        f.join("autoupdate.json"),
        AUTO_UPDATE_PODMAN5.replace("\"rolled back\"", "\"failed\""),
    )
    .unwrap();
    std::fs::write(f.join("autoupdate.rc"), "125").unwrap();
    let e = run(&ctx, &all).unwrap_err();
    assert_eq!(e.kind, error::FailureKind::Error);
    assert_eq!(e.kind.exit_code(), 1);
    assert_eq!(e.data.unwrap()["Failed"], serde_json::json!(["app"]));
    // podman failing before it reports any unit fails the job too (not
    // "nothing to update").
    std::fs::write(f.join("autoupdate.json"), "").unwrap();
    let e = run(&ctx, &all).unwrap_err();
    assert_eq!(e.kind.exit_code(), 1, "{e}");
    assert!(e.to_string().contains("125"), "{e}");

    // An id without AutoUpdate, and one not installed.
    let e = run(
        &ctx,
        &jobs::AutoUpdateRequest {
            ids: vec!["plain".into()],
            dry_run: false,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::InvalidRequest);
    assert!(e.message.contains("plain has no AutoUpdate"), "{e}");
    let e = run(
        &ctx,
        &jobs::AutoUpdateRequest {
            ids: vec!["nope".into()],
            dry_run: false,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, error::FailureKind::NotFound);
}

/// With ids, berth updates those containers only, as podman would: restart
/// on the new image, and on a failed restart tag the old one back and
/// restart again.
#[test]
fn update_with_ids_restarts_and_rolls_back_those_only() {
    let (d, mut ctx, fake) = setup();
    ctx.podman = fake_podman14(d.path());
    let f = d.path().join("fake");
    run(
        &ctx,
        &with("web", |d| {
            d.auto_update = Some(berth_jobs::definition::AutoUpdate::Local)
        }),
    )
    .unwrap();
    let one = jobs::AutoUpdateRequest {
        ids: vec!["web".into()],
        dry_run: false,
    };
    // Same image: nothing to do.
    std::fs::write(f.join("ctr-image"), "aaa\n").unwrap();
    std::fs::write(f.join("image-id"), "aaa\n").unwrap();
    fake.0.borrow_mut().calls.clear();
    let r = run(&ctx, &one).unwrap();
    assert_eq!(r.success.data["UpToDate"], serde_json::json!(["web"]));
    assert!(!fake.0.borrow().calls.iter().any(|c| c.starts_with("wait")));
    // A new image that starts.
    std::fs::write(f.join("image-id"), "bbb\n").unwrap();
    let r = run(&ctx, &one).unwrap();
    assert_eq!(r.success.data["Updated"], serde_json::json!(["web"]));
    assert!(fake
        .0
        .borrow()
        .calls
        .contains(&"wait Restart berth-web.service".to_owned()));
    // A new image that does not: rolled back to the old one.
    fake.0.borrow_mut().job_results = ["failed".to_owned(), "done".to_owned()].into();
    let r = run(&ctx, &one).unwrap();
    assert_eq!(r.success.data["RolledBack"], serde_json::json!(["web"]));
    assert!(
        podman_log(d.path()).contains("ARGV: tag aaa localhost/busybox\n"),
        "{}",
        podman_log(d.path())
    );
    assert!(!podman_log(d.path()).contains("auto-update"));
    // Neither image starts: failed, exit 1.
    fake.0.borrow_mut().job_results = ["failed".to_owned(), "failed".to_owned()].into();
    let e = run(&ctx, &one).unwrap_err();
    assert_eq!(e.data.unwrap()["Failed"], serde_json::json!(["web"]));
    // Not running (no container): nothing to update, exit 0.
    fake.0.borrow_mut().job_results.clear();
    std::fs::remove_file(f.join("ctr-image")).unwrap();
    let r = run(&ctx, &one).unwrap();
    assert_eq!(r.success.data["UpToDate"], serde_json::json!(["web"]));
    // podman failing on a container that exists is a failure, not
    // "up to date".
    std::fs::write(f.join("ctr-broken"), "").unwrap();
    let e = run(&ctx, &one).unwrap_err();
    assert_eq!(e.data.unwrap()["Failed"], serde_json::json!(["web"]));
}

fn on_net(id: &str, net: &str) -> jobs::InstallContainerRequest {
    with(id, |d| d.network = Some(net.into()))
}

/// A named network is created when missing and recorded; the last berth
/// container leaving it removes it; a network berth did not create, one a
/// definition in force names, or one another container uses stays.
#[test]
fn networks_are_created_owned_and_removed_when_unused() {
    let (d, mut ctx, _fake) = setup();
    ctx.podman = fake_podman14(d.path());
    let net = |n: &str| d.path().join("fake/net").join(n);
    let record = |n: &str| ctx.paths.state_dir().join("networks").join(n);

    let r = run(&ctx, &on_net("a", "appnet")).unwrap();
    assert!(net("appnet").exists());
    assert!(record("appnet").exists());
    assert_eq!(r.success.data["CreatedNetwork"], "appnet");
    run(&ctx, &on_net("b", "appnet")).unwrap();
    assert_eq!(
        podman_log(d.path()).matches("network create").count(),
        1,
        "created once"
    );
    run(&ctx, &delete("a", false)).unwrap();
    assert!(net("appnet").exists(), "b still uses it");
    let r = run(&ctx, &delete("b", false)).unwrap();
    assert!(!net("appnet").exists());
    assert!(!record("appnet").exists());
    assert_eq!(
        r.success.data["RemovedNetworks"],
        serde_json::json!(["appnet"])
    );

    // Not berth's: used, never removed.
    std::fs::write(net("theirs"), "").unwrap();
    run(&ctx, &on_net("c", "theirs")).unwrap();
    run(&ctx, &delete("c", false)).unwrap();
    assert!(net("theirs").exists());
    assert!(!podman_log(d.path()).contains("network rm theirs"));

    // Modes and podman's default network are never created.
    for mode in ["host", "none", "bridge"] {
        run(&ctx, &on_net("m", mode)).unwrap();
    }
    assert!(!podman_log(d.path()).contains("network exists host"));

    // A vendor definition on the network keeps it alive.
    run(&ctx, &on_net("e", "shared")).unwrap();
    put(
        &ctx,
        "/usr/lib/berth/containers/vend.json",
        r#"{"Image": "localhost/busybox", "Network": "shared"}"#,
    );
    run(&ctx, &delete("e", false)).unwrap();
    assert!(net("shared").exists());
    // Another container (not berth's) on it: podman refuses, berth keeps
    // the record and removes it at a later job once it is free.
    std::fs::remove_file(
        ctx.paths
            .search_path()
            .real(Path::new("/usr/lib/berth/containers/vend.json")),
    )
    .unwrap();
    std::fs::write(net("shared.inuse"), "").unwrap();
    run(&ctx, &install("x", &[])).unwrap();
    assert!(net("shared").exists());
    assert!(record("shared").exists());
    std::fs::remove_file(net("shared.inuse")).unwrap();
    run(&ctx, &install("y", &[])).unwrap();
    assert!(!net("shared").exists());
    assert!(!record("shared").exists());

    // An update that moves the last container off a network removes it.
    run(&ctx, &on_net("f", "old")).unwrap();
    let r = run(&ctx, &on_net("f", "new")).unwrap();
    assert!(!net("old").exists());
    assert!(net("new").exists());
    assert!(r.success.message.unwrap().contains("removed network old"));
}

/// A failed install removes the network it just created, and only that.
#[test]
fn a_failed_install_removes_the_network_it_created() {
    let (d, mut ctx, fake) = setup();
    ctx.podman = fake_podman14(d.path());
    let net = |n: &str| d.path().join("fake/net").join(n);
    std::fs::write(net("theirs"), "").unwrap();
    fake.0.borrow_mut().fail_reload = true;
    assert!(run(&ctx, &on_net("a", "fresh")).is_err());
    assert!(run(&ctx, &on_net("b", "theirs")).is_err());
    assert!(!net("fresh").exists());
    assert!(!ctx.paths.state_dir().join("networks/fresh").exists());
    assert!(net("theirs").exists());
    assert!(stored(&ctx, "a").is_none());
}

/// `berth inspect` shows the units as the generator writes them: a
/// dependency on a socket-activated container is on its socket.
#[test]
fn inspect_renders_dependencies_as_the_generator_does() {
    let (_d, ctx, _fake) = setup();
    let mut db = install("db", &[(5432, 0)]);
    db.definition.socket_activation = true;
    db.definition.skip_socket_proxy = true;
    run(&ctx, &db).unwrap();
    let mut web = install("web", &[]);
    web.definition.requires = vec!["db".into()];
    run(&ctx, &web).unwrap();
    let i = run(&ctx, &jobs::InspectContainerRequest { id: "web".into() }).unwrap();
    let service = i.success.data["Units"][0]["Content"].as_str().unwrap();
    assert!(service.contains("Requires=berth-db.socket"), "{service}");
}

/// `install` with a protocol per port: `(internal, external, protocol)`;
/// TCP is left out, as the CLI leaves it.
fn install_proto(id: &str, ports: &[(u16, u16, Protocol)]) -> jobs::InstallContainerRequest {
    let mut req = install(id, &[]);
    req.definition.ports = ports
        .iter()
        .map(|&(i, e, p)| PortPair {
            internal: i,
            external: e,
            backend: None,
            proxy_protocol: None,
            protocol: (p == Protocol::Udp).then_some(p),
        })
        .collect();
    req
}

/// TCP and UDP host ports are reserved apart: TCP 53 of one container and
/// UDP 53 of another do not conflict, and a conflict names the protocol.
#[test]
fn tcp_and_udp_host_ports_belong_to_different_containers() {
    let (_d, ctx, _f) = setup();
    run(&ctx, &install_proto("a", &[(53, 53, Protocol::Tcp)])).unwrap();
    run(&ctx, &install_proto("b", &[(53, 53, Protocol::Udp)])).unwrap();
    let ports = ctx.ports();
    assert_eq!(
        ports.owner(HostPort::tcp(53)).unwrap().as_deref(),
        Some("a")
    );
    assert_eq!(
        ports.owner(HostPort::udp(53)).unwrap().as_deref(),
        Some("b")
    );
    let e = run(&ctx, &install_proto("c", &[(53, 53, Protocol::Udp)])).unwrap_err();
    assert!(
        e.is(error::ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("host port 53/udp is reserved by container b (/etc/berth/containers/b.json)"),
        "{e}"
    );
    let c = &e.data.as_ref().unwrap()["Conflicts"][0];
    assert_eq!(
        (c["Port"].as_u64(), c["Protocol"].as_str()),
        (Some(53), Some("udp"))
    );
    // Deleting b frees UDP 53 only.
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "b".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    assert_eq!(ports.all().unwrap(), [(HostPort::tcp(53), "a".to_owned())]);
}

/// `External: 0` on a UDP port allocates a port free for UDP: one held for
/// UDP is skipped, a number held only for TCP may be handed out.
#[test]
fn udp_allocation_skips_udp_holds_and_may_reuse_tcp_numbers() {
    let (_d, mut ctx, _f) = setup();
    ctx.settings.port_range = berth_jobs::config::PortRange {
        first: 40000,
        last: 40001,
    };
    run(&ctx, &install_proto("u1", &[(53, 40000, Protocol::Udp)])).unwrap();
    run(&ctx, &install_proto("t1", &[(80, 0, Protocol::Tcp)])).unwrap();
    run(&ctx, &install_proto("t2", &[(80, 0, Protocol::Tcp)])).unwrap();
    let ext = |id| stored(&ctx, id).unwrap().ports[0].external;
    assert_eq!(
        (ext("t1"), ext("t2")),
        (40000, 40001),
        "TCP ignores UDP holds"
    );
    // The cursor is back at 40000: held for UDP, skipped; 40001 is TCP's only.
    run(&ctx, &install_proto("u2", &[(53, 0, Protocol::Udp)])).unwrap();
    assert_eq!(ext("u2"), 40001);
    assert_eq!(
        ctx.ports().owner(HostPort::udp(40001)).unwrap().as_deref(),
        Some("u2")
    );
    let e = run(&ctx, &install_proto("u3", &[(53, 0, Protocol::Udp)])).unwrap_err();
    assert!(
        e.is(error::ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED),
        "{e}"
    );
    assert!(e.to_string().contains("no free host port left"), "{e}");
    assert!(ctx.ports().claimed_by("u3").unwrap().is_empty());
}

/// The bind probe asks the port's own protocol: a host process bound to a
/// UDP port blocks that UDP port, not the TCP port of the same number.
#[test]
fn a_host_udp_socket_blocks_udp_only() {
    let (_d, mut ctx, _f) = setup();
    let sock = std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let busy = sock.local_addr().unwrap().port();
    ctx.probe = Probe::Bind;
    ctx.settings.port_range = berth_jobs::config::PortRange {
        first: busy,
        last: busy,
    };
    let e = run(&ctx, &install_proto("u", &[(53, 0, Protocol::Udp)])).unwrap_err();
    assert!(e.to_string().contains("no free host port left"), "{e}");
    let e = run(&ctx, &install_proto("u", &[(53, busy, Protocol::Udp)])).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("host port {busy}/udp is in use on the host")),
        "{e}"
    );
    assert!(ctx.ports().all().unwrap().is_empty());
    // Unless a host process happens to listen on the TCP port too.
    if std::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, busy)).is_ok() {
        run(&ctx, &install_proto("t", &[(80, 0, Protocol::Tcp)])).unwrap();
        assert_eq!(stored(&ctx, "t").unwrap().ports[0].external, busy);
    }
    drop(sock);
}

/// A reinstall keeps the host port of the same (protocol, Internal) pair,
/// whatever the order; a port that changes protocol is not kept.
#[test]
fn reinstall_keeps_ports_by_protocol_and_internal() {
    let (_d, ctx, _f) = setup();
    let both = [(53, 0, Protocol::Tcp), (53, 0, Protocol::Udp)];
    run(&ctx, &install_proto("dns", &both)).unwrap();
    let def = stored(&ctx, "dns").unwrap();
    let (tcp, udp) = (def.ports[0].external, def.ports[1].external);
    assert_ne!(tcp, udp, "two allocations");
    let swapped = [(53, 0, Protocol::Udp), (53, 0, Protocol::Tcp)];
    run(&ctx, &install_proto("dns", &swapped)).unwrap();
    let def = stored(&ctx, "dns").unwrap();
    assert_eq!(def.ports[0].protocol(), Protocol::Udp);
    assert_eq!((def.ports[0].external, def.ports[1].external), (udp, tcp));
    assert_eq!(
        ctx.ports().claimed_by("dns").unwrap(),
        [HostPort::tcp(tcp), HostPort::udp(udp)]
    );
    // TCP 53 becomes UDP 54: nothing of the old TCP port is kept.
    run(
        &ctx,
        &install_proto("dns", &[(53, 0, Protocol::Udp), (54, 0, Protocol::Udp)]),
    )
    .unwrap();
    let def = stored(&ctx, "dns").unwrap();
    assert_eq!(def.ports[0].external, udp);
    assert_eq!(ctx.ports().owner(HostPort::tcp(tcp)).unwrap(), None);
}

/// A hand-written definition in force holds its UDP External: the next
/// mutating job claims it for UDP (TCP of that number stays free), and
/// removing the file frees it.
#[test]
fn a_hand_written_definition_holds_its_udp_port() {
    let (_d, ctx, _f) = setup();
    put(
        &ctx,
        "/run/berth/containers/hand.json",
        r#"{"Image":"localhost/dns","Ports":[{"Internal":53,"External":5353,"Protocol":"udp"}]}"#,
    );
    run(&ctx, &install("other", &[])).unwrap();
    assert_eq!(
        ctx.ports().owner(HostPort::udp(5353)).unwrap().as_deref(),
        Some("hand")
    );
    assert_eq!(ctx.ports().owner(HostPort::tcp(5353)).unwrap(), None);
    let e = run(&ctx, &install_proto("x", &[(53, 5353, Protocol::Udp)])).unwrap_err();
    assert!(
        e.to_string().contains(
            "host port 5353/udp is reserved by container hand (/run/berth/containers/hand.json)"
        ),
        "{e}"
    );
    run(&ctx, &install_proto("y", &[(53, 5353, Protocol::Tcp)])).unwrap();
    std::fs::remove_file(
        ctx.paths
            .search_path()
            .real(Path::new("/run/berth/containers/hand.json")),
    )
    .unwrap();
    run(&ctx, &install("other", &[])).unwrap();
    assert_eq!(
        ctx.ports().all().unwrap(),
        [(HostPort::tcp(5353), "y".to_owned())]
    );
}

/// A table written before UDP existed (`ports/<n>`, `owners/<id>/port-<n>`)
/// reads as TCP reservations, unchanged; names that are no port are
/// ignored and left alone.
#[test]
fn port_tables_from_before_udp_read_as_tcp() {
    let (_d, ctx, _f) = setup();
    let state = ctx.paths.state_dir();
    std::fs::create_dir_all(state.join("ports")).unwrap();
    std::fs::create_dir_all(state.join("owners/old")).unwrap();
    std::os::unix::fs::symlink("old", state.join("ports/18080")).unwrap();
    std::fs::write(state.join("owners/old/port-18080"), "").unwrap();
    std::os::unix::fs::symlink("old", state.join("ports/sctp-9")).unwrap();
    std::fs::write(state.join("owners/old/port-sctp-9"), "").unwrap();
    let ports = ctx.ports();
    assert_eq!(
        ports.all().unwrap(),
        [(HostPort::tcp(18080), "old".to_owned())]
    );
    assert_eq!(ports.claimed_by("old").unwrap(), [HostPort::tcp(18080)]);
    assert_eq!(ports.owner(HostPort::udp(18080)).unwrap(), None);
    put(
        &ctx,
        "/etc/berth/containers/old.json",
        r#"{"Image":"localhost/web","Ports":[{"Internal":80,"External":18080}]}"#,
    );
    let e = run(&ctx, &install("new", &[(80, 18080)])).unwrap_err();
    assert!(
        e.to_string()
            .contains("host port 18080 is reserved by container old"),
        "{e}"
    );
    run(&ctx, &install_proto("new", &[(80, 18080, Protocol::Udp)])).unwrap();
    // Deleting old releases its old-layout entries, and only those.
    run(
        &ctx,
        &jobs::DeleteContainerRequest {
            id: "old".into(),
            volumes: false,
            force: false,
        },
    )
    .unwrap();
    assert!(!state.join("ports/18080").exists());
    assert!(!state.join("owners/old/port-18080").exists());
    assert_eq!(
        std::fs::read_link(state.join("ports/sctp-9")).unwrap(),
        Path::new("old")
    );
    assert_eq!(
        ports.all().unwrap(),
        [(HostPort::udp(18080), "new".to_owned())]
    );
}
