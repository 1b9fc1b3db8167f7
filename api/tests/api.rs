//! berth-api through real `systemd-socket-activate` on a temporary socket,
//! driven with real `curl --unix-socket`, jobs against a temporary
//! `BERTH_ROOT` with `BERTH_SYSTEMD=none` (a fake `podman` or `journalctl`
//! in `BERTH_HOST_PATH`/`BERTH_PODMAN` where a test needs a slow or
//! chatty job).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const API: &str = env!("CARGO_BIN_EXE_berth-api");
const ACTIVATE: &str = "/usr/bin/systemd-socket-activate";
static N: AtomicUsize = AtomicUsize::new(0);

struct Api {
    child: Child,
    dir: PathBuf,
    sock: PathBuf,
    notify: UnixDatagram,
}

fn scratch() -> PathBuf {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("berth-api-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("root")).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

impl Api {
    fn start(args: &[&str]) -> Api {
        Api::start_in(scratch(), &[], args)
    }

    /// Starts `systemd-socket-activate -l DIR/api.sock -E … berth-api ARGS`
    /// (it execs berth-api in place on the first connection, as systemd
    /// starts a service from its socket).
    fn start_in(dir: PathBuf, env: &[(&str, String)], args: &[&str]) -> Api {
        let sock = dir.join("api.sock");
        let _ = std::fs::remove_file(&sock);
        let nsock = dir.join(format!("notify-{}", N.fetch_add(1, Ordering::SeqCst)));
        let notify = UnixDatagram::bind(&nsock).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut vars: Vec<(&str, String)> = vec![
            ("BERTH_ROOT", dir.join("root").display().to_string()),
            ("BERTH_SYSTEMD", "none".into()),
            ("BERTH_PULL", "0".into()),
            ("BERTH_IMAGE_VOLUMES", "0".into()),
            ("BERTH_PORT_PROBE", "0".into()),
            ("BERTH_PORT_RANGE", "41000-41999".into()),
            ("NOTIFY_SOCKET", nsock.display().to_string()),
        ];
        for (k, v) in env {
            vars.retain(|(x, _)| x != k);
            vars.push((k, v.clone()));
        }
        let mut cmd = Command::new(ACTIVATE);
        cmd.arg("-l").arg(&sock);
        for (k, v) in &vars {
            cmd.arg("-E").arg(format!("{k}={v}"));
        }
        let stderr = std::fs::File::create(dir.join("stderr")).unwrap();
        let child = cmd
            .arg(API)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("systemd-socket-activate");
        let api = Api {
            child,
            dir,
            sock,
            notify,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !api.stderr().contains("Listening on") {
            assert!(Instant::now() < deadline, "not listening: {}", api.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
        api
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// `curl --unix-socket` with `args`: (status, headers lower-cased, body).
    fn curl(&self, args: &[&str]) -> (u16, String, String) {
        self.curl_as(&[], args)
    }

    fn curl_as(&self, prefix: &[&str], args: &[&str]) -> (u16, String, String) {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let hdr = self.dir.join(format!("h{n}"));
        let body = self.dir.join(format!("b{n}"));
        let (prog, pre) = match prefix.split_first() {
            Some((p, rest)) => (*p, rest.to_vec()),
            None => ("curl", vec![]),
        };
        let mut c = Command::new(prog);
        c.args(&pre);
        if !prefix.is_empty() {
            c.arg("curl");
        }
        // Files written by another uid: let it create them in the dir.
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let out = c
            .args(["-sS", "--max-time", "30", "--unix-socket"])
            .arg(&self.sock)
            .arg("-D")
            .arg(&hdr)
            .arg("-o")
            .arg(&body)
            .args(["-w", "%{http_code}"])
            .args(args)
            .output()
            .unwrap();
        let code = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        (
            code,
            std::fs::read_to_string(&hdr)
                .unwrap_or_default()
                .to_lowercase(),
            std::fs::read_to_string(&body).unwrap_or_default(),
        )
    }

    fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn notifications(&self) -> String {
        let mut out = String::new();
        let mut b = [0u8; 4096];
        while let Ok(n) = self.notify.recv(&mut b) {
            out.push_str(&String::from_utf8_lossy(&b[..n]));
        }
        out
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s:?}"))
}

/// geard's install body, as a geard client sent it, field for field.
const GEARD_INSTALL: &str = r#"{"Image":"localhost/busybox","Started":false,"Isolate":false,"SocketActivation":false,"SkipSocketProxy":false,"Simple":false,"Ports":[{"Internal":8080,"External":0}],"Environment":{"Variables":[{"Name":"GREETING","Value":"hi"}]}}"#;

const RID: &str = "000102030405060708090a0b0c0d0e0f";

fn put_body(body: &str) -> Vec<String> {
    vec![
        "-X".into(),
        "PUT".into(),
        "--data-binary".into(),
        body.into(),
    ]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn every_route_answers_with_geards_codes_and_bodies() {
    let api = Api::start(&[]);
    let (c, _, b) = api.curl(&["http://api/containers"]);
    assert_eq!((c, json(&b)), (200, serde_json::json!({"Containers": []})));

    // A geard-format install body, unchanged; the reserved port comes back
    // as a pending header too.
    let mut a = put_body(GEARD_INSTALL);
    a.push("http://api/container/web".into());
    let (c, h, b) = api.curl(&args(&a));
    assert!(c == 200 || c == 204, "{c} {b}");
    assert!(h.contains("x-portmapping:"), "{h}");
    assert!(api.dir.join("root/etc/berth/containers/web.json").exists());
    // Installing again under another id of the same container is fine (an
    // update); a bad definition names the field.
    let mut a = put_body(r#"{"Image":"localhost/busybox","Bogus":1}"#);
    a.push("http://api/container/web".into());
    let (c, _, b) = api.curl(&args(&a));
    assert_eq!(c, 400, "{b}");
    assert!(
        json(&b)["Message"].as_str().unwrap().contains("Bogus"),
        "{b}"
    );

    let (c, _, b) = api.curl(&["http://api/container/web/status"]);
    assert_eq!(c, 200, "{b}");
    json(&b);
    let (c, _, b) = api.curl(&["http://api/container/web/ports"]);
    assert_eq!(c, 200, "{b}");
    assert!(b.contains("8080"), "{b}");
    let (c, _, b) = api.curl(&["http://api/containers"]);
    assert_eq!(json(&b)["Containers"][0]["Id"], "web", "{c} {b}");
    let (c, h, b) = api.curl(&["-H", "Accept: text/plain", "http://api/containers"]);
    assert_eq!(c, 200);
    assert!(h.contains("content-type: text/plain"), "{h}");
    assert!(b.starts_with("ID") && b.contains("web"), "{b}");

    let (c, _, b) = api.curl(&["http://api/environment/web"]);
    assert_eq!(c, 200, "{b}");
    assert!(b.contains("GREETING"), "{b}");
    let (c, _, b) = api.curl(&[
        "-X",
        "PATCH",
        "--data-binary",
        r#"{"Variables":[{"Name":"B","Value":"2"}]}"#,
        "http://api/environment/web",
    ]);
    assert!(c == 200 || c == 204, "{c} {b}");
    let (c, _, b) = api.curl(&[
        "-X",
        "PUT",
        "--data-binary",
        r#"{"Variables":[{"Name":"C","Value":"3"}]}"#,
        "http://api/environment/web",
    ]);
    assert!(c == 200 || c == 204, "{c} {b}");
    let (_, _, b) = api.curl(&["http://api/environment/web"]);
    assert!(b.contains("\"C\"") && !b.contains("GREETING"), "{b}");

    let (c, _, b) = api.curl(&[
        "-X",
        "POST",
        "--data-binary",
        r#"{"Links":[{"Id":"web","NetworkLinks":[{"FromHost":"127.0.0.1","FromPort":80,"ToHost":"10.0.0.2","ToPort":8080}]}]}"#,
        "http://api/containers/links",
    ]);
    assert!(c == 200 || c == 204, "{c} {b}");

    for (m, p) in [("PUT", "started"), ("PUT", "stopped"), ("POST", "restart")] {
        let (c, _, b) = api.curl(&["-X", m, &format!("http://api/container/web/{p}")]);
        assert!(matches!(c, 200 | 202 | 204), "{m} {p}: {c} {b}");
    }
    // Images asks podman, which a test host may lack: either way the
    // answer is geard's shape.
    let (c, _, b) = api.curl(&["http://api/images"]);
    assert!(
        c == 200 || (c == 500 && json(&b)["Message"].is_string()),
        "{c} {b}"
    );
    // POST /jobs with an image that does not parse: 400 from the job's check.
    let (c, _, b) = api.curl(&[
        "-X",
        "POST",
        "--data-binary",
        r#"{"Image":""}"#,
        "http://api/jobs",
    ]);
    assert_eq!(c, 400, "{b}");

    let (c, _, b) = api.curl(&["-X", "DELETE", "http://api/container/web"]);
    assert!(c == 200 || c == 204, "{c} {b}");
    let (c, _, b) = api.curl(&["http://api/container/web/status"]);
    assert_eq!(c, 404);
    assert_eq!(
        json(&b)["Message"]
            .as_str()
            .unwrap()
            .split(" (")
            .next()
            .unwrap(),
        "The specified container does not exist."
    );
}

#[test]
fn refusals_have_their_codes() {
    let api = Api::start(&[]);
    let (c, _, b) = api.curl(&["http://api/nothing"]);
    assert_eq!(c, 404);
    json(&b);
    let (c, _, b) = api.curl(&["-X", "POST", "http://api/container/a/status"]);
    assert_eq!(c, 405, "{b}");
    let (c, _, b) = api.curl(&["http://api/builds"]);
    assert_eq!(c, 200, "{b}");
    let (c, _, b) = api.curl(&[
        "-X",
        "POST",
        "--data",
        r#"{"Name": "Bad Name", "Source": "/nonexistent"}"#,
        "http://api/build-image",
    ]);
    assert_eq!(c, 400, "{b}");
    let (c, _, b) = api.curl(&[
        "-H",
        "X-Request-Id: nope",
        "-X",
        "DELETE",
        "http://api/container/a",
    ]);
    assert_eq!(c, 400);
    assert!(
        json(&b)["Message"]
            .as_str()
            .unwrap()
            .contains("X-Request-Id"),
        "{b}"
    );
    let (c, _, _) = api.curl(&["-H", "If-Match: api=2", "http://api/containers"]);
    assert_eq!(c, 412);
    let (c, _, b) = api.curl(&["http://api/container/BAD!/status"]);
    assert_eq!(c, 400, "{b}");
    // Every request-id spelling geard took: 32 hex, 22 and 24 base64url.
    for id in [RID, "AAECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0ODw=="] {
        let (c, _, b) = api.curl(&[
            "-H",
            &format!("X-Request-Id: {id}"),
            "-X",
            "DELETE",
            "http://api/container/zz",
        ]);
        assert_eq!(c, 404, "{id}: {b}");
    }
}

#[test]
fn a_used_request_id_replays_and_refuses_another_body() {
    let api = Api::start(&[]);
    let mut a = put_body(GEARD_INSTALL);
    a.extend([
        "-H".into(),
        format!("X-Request-Id: {RID}"),
        "http://api/container/r1".into(),
    ]);
    let first = api.curl(&args(&a));
    assert!(first.0 == 200 || first.0 == 204, "{first:?}");
    // The 22-character spelling names the same request: the stored answer.
    let mut a2 = put_body(GEARD_INSTALL);
    a2.extend([
        "-H".into(),
        "X-Request-Id: AAECAwQFBgcICQoLDA0ODw".into(),
        "http://api/container/r1".into(),
    ]);
    let again = api.curl(&args(&a2));
    assert_eq!((again.0, &again.2), (first.0, &first.2));
    let pm = |h: &str| {
        h.lines()
            .find(|l| l.starts_with("x-portmapping"))
            .map(str::to_owned)
    };
    assert_eq!(pm(&again.1), pm(&first.1));
    let mut other = put_body(r#"{"Image":"localhost/other"}"#);
    other.extend([
        "-H".into(),
        format!("X-Request-Id: {RID}"),
        "http://api/container/r1".into(),
    ]);
    let (c, _, b) = api.curl(&args(&other));
    assert_eq!(c, 400, "{b}");
    assert!(b.contains("another body"), "{b}");
}

/// A podman that takes a second to "pull" and counts its calls.
fn slow_podman(dir: &Path) -> String {
    let p = dir.join("podman");
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\necho \"$*\" >> {}/podman.calls\nsleep 2\nexit 0\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

#[test]
fn concurrent_requests_with_one_id_join_one_job() {
    let dir = scratch();
    let podman = slow_podman(&dir);
    let api = Api::start_in(
        dir,
        &[("BERTH_PULL", "1".into()), ("BERTH_PODMAN", podman)],
        &[],
    );
    let body = r#"{"Image":"localhost/busybox","Pull":"always"}"#;
    let api = std::sync::Arc::new(api);
    let run = |api: std::sync::Arc<Api>, body: &'static str| {
        std::thread::spawn(move || {
            let mut a = put_body(body);
            a.extend([
                "-H".into(),
                format!("X-Request-Id: {RID}"),
                "http://api/container/j1".into(),
            ]);
            api.curl(&args(&a))
        })
    };
    let t1 = run(api.clone(), body);
    std::thread::sleep(Duration::from_millis(300));
    let t2 = run(api.clone(), body);
    // While it runs, the same id with another body is refused at once.
    std::thread::sleep(Duration::from_millis(300));
    let mut a = put_body(r#"{"Image":"localhost/busybox","Pull":"never"}"#);
    a.extend([
        "-H".into(),
        format!("X-Request-Id: {RID}"),
        "http://api/container/j1".into(),
    ]);
    let (c, _, b) = api.curl(&args(&a));
    assert_eq!(c, 400, "{b}");
    let (r1, r2) = (t1.join().unwrap(), t2.join().unwrap());
    assert!(r1.0 == 200 || r1.0 == 204, "{r1:?} {}", api.stderr());
    assert_eq!((r1.0, &r1.2), (r2.0, &r2.2));
    let calls = std::fs::read_to_string(api.dir.join("podman.calls")).unwrap();
    assert_eq!(
        calls.lines().filter(|l| l.contains("pull")).count(),
        1,
        "{calls}"
    );
}

#[test]
fn beyond_the_job_cap_is_429_and_the_id_is_not_recorded() {
    let dir = scratch();
    let podman = slow_podman(&dir);
    let api = std::sync::Arc::new(Api::start_in(
        dir,
        &[("BERTH_PULL", "1".into()), ("BERTH_PODMAN", podman)],
        &["--max-jobs=1"],
    ));
    let a2 = api.clone();
    let t = std::thread::spawn(move || {
        let mut a = put_body(r#"{"Image":"localhost/busybox","Pull":"always"}"#);
        a.push("http://api/container/c1".into());
        a2.curl(&args(&a))
    });
    std::thread::sleep(Duration::from_millis(500));
    let id = "ffeeddccbbaa99887766554433221100";
    let mut a = put_body(r#"{"Image":"localhost/busybox"}"#);
    a.extend([
        "-H".into(),
        format!("X-Request-Id: {id}"),
        "http://api/container/c2".into(),
    ]);
    let (c, h, b) = api.curl(&args(&a));
    assert_eq!(c, 429, "{b}");
    assert!(h.contains("retry-after:"), "{h}");
    assert!(
        json(&b)["Message"].as_str().unwrap().contains("Too many"),
        "{b}"
    );
    t.join().unwrap();
    // Not recorded: the same id now runs, with whatever body.
    let mut a = put_body(r#"{"Image":"localhost/busybox","Pull":"never"}"#);
    a.extend([
        "-H".into(),
        format!("X-Request-Id: {id}"),
        "http://api/container/c2".into(),
    ]);
    let (c, _, b) = api.curl(&args(&a));
    assert!(c == 200 || c == 204, "{c} {b}");
}

#[test]
fn logs_stream_as_json_lines_with_one_final_record() {
    let dir = scratch();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let jc = bin.join("journalctl");
    std::fs::write(
        &jc,
        "#!/bin/sh\nfor i in 1 2 3; do echo '{\"MESSAGE\":\"line '$i'\",\"__REALTIME_TIMESTAMP\":\"1700000000000000\",\"_SYSTEMD_UNIT\":\"berth-l1.service\",\"PRIORITY\":\"6\"}'; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&jc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let defs = dir.join("root/etc/berth/containers");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("l1.json"), r#"{"Image":"localhost/busybox"}"#).unwrap();
    // The log job reads journalctl only (the D-Bus client connects on first use).
    let api = Api::start_in(
        dir,
        &[
            ("BERTH_SYSTEMD", "dbus".into()),
            ("BERTH_HOST_PATH", bin.display().to_string()),
        ],
        &[],
    );
    let (c, h, b) = api.curl(&[
        "-H",
        "Accept: application/json;stream=true",
        "http://api/container/l1/log",
    ]);
    assert_eq!(c, 202, "{b} {}", api.stderr());
    assert!(h.contains("content-type: application/json"), "{h}");
    let lines: Vec<serde_json::Value> = b.lines().map(json).collect();
    assert_eq!(lines.len(), 4, "{b}");
    assert!(lines[0]["Line"].as_str().unwrap().contains("line 1"), "{b}");
    assert_eq!(lines[3]["Result"], "Ok", "{b}");
    let (c, h, b) = api.curl(&[
        "-H",
        "Accept: text/plain;stream=true",
        "http://api/container/l1/log",
    ]);
    assert_eq!(c, 202);
    assert!(h.contains("content-type: text/plain"), "{h}");
    assert_eq!(b.lines().count(), 3, "{b}");
    // A failure before any record has its own code.
    let (c, _, b) = api.curl(&["http://api/container/none/log"]);
    assert_eq!(c, 404, "{b}");
}

#[test]
fn non_members_are_refused_members_served() {
    let api = Api::start(&[]);
    // Test only: let every uid reach the socket, so the credentials decide.
    std::fs::set_permissions(&api.sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let (c, _, b) = api.curl_as(&nobody, &["http://api/containers"]);
    assert_eq!(c, 403, "{b}");
    assert!(
        json(&b)["Message"]
            .as_str()
            .unwrap()
            .starts_with("Forbidden."),
        "{b}"
    );
    assert!(
        api.stderr().contains("refused uid 65534"),
        "{}",
        api.stderr()
    );
    // The socket's group is root's here (gid 0): as primary or
    // supplementary group, served.
    let primary = ["setpriv", "--reuid=65534", "--regid=0", "--clear-groups"];
    assert_eq!(api.curl_as(&primary, &["http://api/containers"]).0, 200);
    let supplementary = ["setpriv", "--reuid=65534", "--regid=65534", "--groups=0"];
    assert_eq!(
        api.curl_as(&supplementary, &["http://api/containers"]).0,
        200
    );
}

#[test]
fn oversized_and_slow_requests_are_cut_off() {
    let api = Api::start(&["--max-body=1000", "--request-timeout=1"]);
    let big = format!(r#"{{"Image":"{}"}}"#, "a".repeat(2000));
    let mut a = put_body(&big);
    a.push("http://api/container/big".into());
    let (c, _, b) = api.curl(&args(&a));
    assert_eq!(c, 413, "{b}");
    let long = format!("X-Long: {}", "h".repeat(20_000));
    let (c, _, _) = api.curl(&["-H", &long, "http://api/containers"]);
    assert_eq!(c, 431);

    // A head that never ends: the connection is closed.
    let mut s = UnixStream::connect(&api.sock).unwrap();
    s.write_all(b"GET /containers HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(t.elapsed() < Duration::from_secs(4), "not cut off");
    // A body that never arrives: 408.
    let mut s = UnixStream::connect(&api.sock).unwrap();
    s.write_all(b"PUT /container/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
}

#[test]
fn exits_when_idle_and_a_new_activation_has_the_journal() {
    let dir = scratch();
    let mut api = Api::start_in(dir.clone(), &[], &["--exit-idle-time=1"]);
    let mut a = put_body(GEARD_INSTALL);
    a.extend([
        "-H".into(),
        format!("X-Request-Id: {RID}"),
        "http://api/container/idle".into(),
    ]);
    let first = api.curl(&args(&a));
    assert!(first.0 == 200 || first.0 == 204, "{first:?}");
    let st = api
        .wait_exit(Duration::from_secs(10))
        .expect("no idle exit");
    assert!(st.success(), "{st:?} {}", api.stderr());
    let n = api.notifications();
    assert!(n.contains("READY=1") && n.contains("STOPPING=1"), "{n}");
    drop(api);
    // The next activation (systemd would start the service again on the
    // next connection) answers a replay from the journal.
    let api = Api::start_in(dir, &[], &["--exit-idle-time=1"]);
    let again = api.curl(&args(&a));
    assert_eq!((again.0, &again.2), (first.0, &first.2));
}
