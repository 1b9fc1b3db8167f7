//! The `berth` binary under a temporary BERTH_ROOT with BERTH_SYSTEMD=none:
//! the issue's "must not happen" list, each a test, plus exit codes and
//! generated documentation.

use berth_jobs::definition::{load_file, Definition};
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn berth(root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("BERTH_ROOT", root)
        .env("BERTH_SYSTEMD", "none")
        .env("BERTH_IMAGE_VOLUMES", "0")
        .env("BERTH_PULL", "0")
        .env("BERTH_PORT_PROBE", "0");
    c
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn def_path(root: &Path, id: &str) -> PathBuf {
    root.join(format!("etc/berth/containers/{id}.json"))
}

fn stored(root: &Path, id: &str) -> Option<Definition> {
    let p = def_path(root, id);
    p.exists()
        .then(|| load_file(&p).expect("never a torn definition").definition)
}

fn tree(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

fn can_useradd() -> bool {
    rustix::process::geteuid().is_root() && Path::new("/usr/sbin/useradd").exists()
}

fn claimed(root: &Path, id: &str, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("var/lib/berth/owners").join(id))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_prefix(prefix).map(str::to_owned))
        .collect();
    v.sort();
    v
}

fn reserved_by(root: &Path, table: &str, id: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("var/lib/berth").join(table))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path())
                .map(|t| t == Path::new(id))
                .unwrap_or(false)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn bad_ids_are_rejected_before_anything_is_written() {
    let d = tempfile::tempdir().unwrap();
    let long = "x".repeat(29);
    for id in ["..x", "a/b", "UPPER", long.as_str(), "-a", "a@b", ".", ""] {
        let out = berth(d.path())
            .args([
                "install",
                "--image",
                "localhost/busybox",
                "--port",
                "80",
                "--",
                id,
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{id:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("an id is 1 to 28 characters"),
            "{id:?}: the message states the rule: {err}"
        );
        for cmd in ["delete", "start", "env"] {
            let out = berth(d.path()).args([cmd, "--", id]).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{cmd} {id:?}");
        }
        assert!(
            tree(d.path()).is_empty(),
            "{id:?} wrote {:?}",
            tree(d.path())
        );
    }
}

#[test]
fn environment_never_reaches_a_host_process() {
    if !can_useradd() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let fake = d.path().join("bin");
    std::fs::create_dir_all(&fake).unwrap();
    let log = d.path().join("host.log");
    for (name, tail) in [
        ("useradd", "exec /usr/sbin/useradd \"$@\""),
        ("usermod", "exec /usr/sbin/usermod \"$@\""),
        ("userdel", "exec /usr/sbin/userdel \"$@\""),
        ("podman", "echo '[]'"),
    ] {
        let p = fake.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\n{{ echo \"ARGV: $0 $*\"; env; }} >> '{}'\n{tail}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let host_path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", fake.display());
    let run = |args: &[&str]| {
        ok(berth(&root)
            .env("BERTH_HOST_PATH", &host_path)
            .env("BERTH_PARENT_CANARY", "parent-canary-value")
            .args(args)
            .output()
            .unwrap())
    };
    run(&[
        "install",
        "iso",
        "--image",
        "localhost/busybox",
        "--isolate",
        "--port",
        "80",
        "--env",
        "CANARY=s3cr3t-value",
        "--env",
        "LD_PRELOAD=/nonexistent/evil.so",
        "--env",
        "SPACED=line1 line2",
    ]);
    run(&["env", "iso", "CANARY2=s3cr3t-two"]);
    run(&["images"]);
    run(&["delete", "iso"]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("ARGV: ") && text.contains("useradd") && text.contains("podman"),
        "{text}"
    );
    for needle in ["s3cr3t", "evil.so", "parent-canary", "line2", "BERTH_"] {
        assert!(
            !text.contains(needle),
            "{needle} reached a host process:\n{text}"
        );
    }
}

#[test]
fn env_with_newlines_is_refused_and_values_stay_root_only() {
    let d = tempfile::tempdir().unwrap();
    let out = berth(d.path())
        .args([
            "install",
            "w",
            "--image",
            "localhost/busybox",
            "--env",
            "A=x\ny",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("secret")
            || String::from_utf8_lossy(&out.stderr).contains("secret")
    );
    ok(berth(d.path())
        .args([
            "--request-id",
            "0123456789abcdef0123456789abcdef",
            "install",
            "w",
            "--image",
            "localhost/busybox",
            "--env",
            "A=s3cr3t",
            "--env",
            "B=c=d",
        ])
        .output()
        .unwrap());
    let def = stored(d.path(), "w").unwrap();
    assert_eq!(def.env_vars()[1].value, "c=d");
    ok(berth(d.path())
        .args([
            "--request-id",
            "0123456789abcdef0123456789abcdee",
            "env",
            "w",
            "C=s3cr3t-two",
        ])
        .output()
        .unwrap());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&d.path().join("etc/berth/containers/w.json")), 0o600);
    let state = d.path().join("var/lib/berth");
    assert_eq!(mode(&state), 0o700);
    for e in std::fs::read_dir(state.join("requests")).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            !text.contains("s3cr3t"),
            "the request journal holds a value: {text}"
        );
    }
    let out = berth(d.path())
        .args(["env", "w", "BAD=NAME=1", "A B=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eight_concurrent_installs_share_nothing() {
    let d = tempfile::tempdir().unwrap();
    let isolate = can_useradd();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut c = berth(d.path());
            c.args([
                "install",
                &format!("c{i}"),
                "--image",
                "localhost/busybox",
                "--port",
                "80",
                "--port",
                "81",
            ]);
            if isolate {
                c.arg("--isolate");
            }
            c.spawn().unwrap()
        })
        .collect();
    for c in children {
        ok(c.wait_with_output().unwrap());
    }
    let mut ports = HashSet::new();
    let mut levels = HashSet::new();
    for i in 0..8 {
        let def = stored(d.path(), &format!("c{i}")).unwrap();
        for p in &def.ports {
            assert!(
                ports.insert(p.external),
                "port {} handed out twice",
                p.external
            );
        }
        if isolate {
            assert!(
                levels.insert(def.mcs_level.clone().unwrap()),
                "MCS level handed out twice"
            );
        }
    }
    assert_eq!(ports.len(), 16);
}

const INSTALL_STEPS: &[&str] = &[
    "locked",
    "ports",
    "mcs",
    "user",
    "definition-temp",
    "definition",
    "reload",
    "started",
];

#[test]
fn a_crash_at_any_install_step_leaves_old_or_new_and_is_reclaimed() {
    let isolate = can_useradd();
    for step in INSTALL_STEPS {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        ok(berth(root)
            .args(["install", "web", "--image", "localhost/old", "--port", "80"])
            .output()
            .unwrap());
        let old = stored(root, "web").unwrap();
        let mut c = berth(root);
        c.env("BERTH_CRASH_AT", step).args([
            "install",
            "web",
            "--image",
            "localhost/new",
            "--port",
            "80",
            "--port",
            "81",
            "--start",
        ]);
        if isolate {
            c.arg("--isolate");
        }
        let out = c.output().unwrap();
        assert_eq!(
            out.status.code(),
            None,
            "{step}: the process must have been killed"
        );
        let now = stored(root, "web").expect("a definition is always there");
        let is_new = now.image == "localhost/new";
        assert!(now == old || is_new, "{step}: neither old nor new: {now:?}");
        assert_eq!(
            is_new,
            ["definition", "reload", "started"].contains(step),
            "{step}"
        );
        // The next mutating job (on another container) reclaims.
        ok(berth(root)
            .args(["install", "other", "--image", "localhost/x", "--port", "90"])
            .output()
            .unwrap());
        assert!(!root.join("var/lib/berth/pending/web").exists(), "{step}");
        let mut referenced: Vec<String> =
            now.ports.iter().map(|p| p.external.to_string()).collect();
        referenced.sort();
        assert_eq!(
            reserved_by(root, "ports", "web"),
            referenced,
            "{step}: ports"
        );
        assert_eq!(claimed(root, "web", "port-"), referenced, "{step}: claims");
        let mcs = reserved_by(root, "mcs", "web");
        match &now.mcs_level {
            Some(l) => assert_eq!(mcs, vec![l.trim_start_matches("s0:").to_owned()], "{step}"),
            None => assert!(mcs.is_empty(), "{step}: orphaned MCS level {mcs:?}"),
        }
        let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap_or_default();
        assert_eq!(
            passwd.contains("ctr-web:"),
            now.isolate,
            "{step}: user\n{passwd}"
        );
        let defs: Vec<String> = std::fs::read_dir(root.join("etc/berth/containers"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            defs.iter().all(|n| !n.starts_with('.')),
            "{step}: temp file left: {defs:?}"
        );
    }
}

#[test]
fn a_crash_during_delete_is_finished_by_the_next_job() {
    for step in ["delete-stopped", "delete-removed"] {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        ok(berth(root)
            .args(["install", "web", "--image", "localhost/x", "--port", "80"])
            .output()
            .unwrap());
        ok(berth(root)
            .args(["install", "web1", "--image", "localhost/x", "--port", "81"])
            .output()
            .unwrap());
        let out = berth(root)
            .env("BERTH_CRASH_AT", step)
            .args(["delete", "web"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), None);
        ok(berth(root).args(["env", "web1", "A=1"]).output().unwrap());
        match stored(root, "web") {
            Some(def) => assert_eq!(
                reserved_by(root, "ports", "web"),
                vec![def.ports[0].external.to_string()]
            ),
            None => assert!(reserved_by(root, "ports", "web").is_empty(), "{step}"),
        }
        assert_eq!(reserved_by(root, "ports", "web1").len(), 1);
    }
}

#[test]
fn exit_codes_follow_failure_kinds() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    assert_eq!(
        berth(root)
            .args(["status", "ghost"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        berth(root)
            .args(["install", "x", "--image", "-bad"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    ok(berth(root)
        .args([
            "install",
            "a",
            "--image",
            "localhost/x",
            "--port",
            "80:18080",
        ])
        .output()
        .unwrap());
    let out = berth(root)
        .args([
            "--json",
            "install",
            "b",
            "--image",
            "localhost/x",
            "--port",
            "80:18080",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["Error"]["Message"],
        "Unable to create container: some ports could not be reserved."
    );
    assert_eq!(v["Error"]["Data"]["Conflicts"][0]["Owner"], "a");
    let out = ok(berth(root).args(["list", "--json"]).output().unwrap());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Containers"][0]["Id"], "a");
    let out = ok(berth(root).args(["ports", "a"]).output().unwrap());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "INTERNAL  EXTERNAL  BACKEND\n80        18080\n"
    );
    let out = berth(root)
        .args(["--request-id", "nope", "delete", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stored(root, "a").is_some());
}

#[test]
fn from_json_takes_geards_install_body() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let body = d.path().join("body.json");
    std::fs::write(&body, r#"{"Image":"localhost/nginx","SocketActivation":true,"Ports":[{"Internal":80,"External":0}]}"#).unwrap();
    ok(berth(root)
        .args(["install", "px", "--from-json"])
        .arg(&body)
        .output()
        .unwrap());
    let def = stored(root, "px").unwrap();
    assert!(def.ports[0].external != 0 && def.ports[0].backend.is_some());
    std::fs::write(&body, r#"{"Image":"localhost/nginx","Bogus":1}"#).unwrap();
    let out = berth(root)
        .args(["install", "q", "--from-json"])
        .arg(&body)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Bogus"));
}

#[test]
fn man_pages_and_completions_come_from_the_same_definitions() {
    let d = tempfile::tempdir().unwrap();
    ok(berth(d.path())
        .args(["internal", "man"])
        .arg(d.path().join("man"))
        .output()
        .unwrap());
    let page = std::fs::read_to_string(d.path().join("man/berth-install.1")).unwrap();
    assert!(page.contains("socket\\-activated"), "{page}");
    let main = std::fs::read_to_string(d.path().join("man/berth.1")).unwrap();
    assert!(main.contains("RateLimit"), "exit codes documented");
    assert!(!d.path().join("man/berth-internal.1").exists());
    ok(berth(d.path())
        .args(["internal", "completions", "bash"])
        .arg(d.path().join("c"))
        .output()
        .unwrap());
    let comp = std::fs::read_to_string(d.path().join("c/berth.bash")).unwrap();
    assert!(comp.contains("--socket-activated"));
}

#[test]
fn json_errors_are_json_whatever_fails() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let json_error = |out: Output, code: i32| {
        assert_eq!(out.status.code(), Some(code), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        assert!(v["Error"]["Message"].is_string(), "{v}");
        v
    };
    // A command line that does not parse.
    let v = json_error(
        berth(root).args(["--json", "frobnicate"]).output().unwrap(),
        2,
    );
    assert_eq!(v["Error"]["Kind"], "InvalidRequest");
    json_error(berth(root).args(["status", "--json"]).output().unwrap(), 2);
    // A context that cannot be set up.
    let v = json_error(
        berth(root)
            .env("BERTH_SYSTEMD", "bogus")
            .args(["--json", "list"])
            .output()
            .unwrap(),
        1,
    );
    assert!(
        v["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("BERTH_SYSTEMD"),
        "{v}"
    );
    // Help stays text.
    let out = ok(berth(root).args(["--json", "--help"]).output().unwrap());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
}

#[test]
fn a_crash_during_link_is_finished_by_the_next_job() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    ok(berth(root)
        .args(["install", "web", "--image", "localhost/busybox"])
        .output()
        .unwrap());
    let before = std::fs::read(def_path(root, "web")).unwrap();
    let out = berth(root)
        .env("BERTH_CRASH_AT", "link-intent")
        .args(["link", "web", "127.0.0.1:5432=10.0.2.2:5432"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the crash happened");
    assert_eq!(std::fs::read(def_path(root, "web")).unwrap(), before);
    let intent = root.join("var/lib/berth/link.intent");
    assert_eq!(
        std::fs::metadata(&intent).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Any mutating job finishes it.
    ok(berth(root)
        .args(["install", "other", "--image", "localhost/busybox"])
        .output()
        .unwrap());
    assert!(!intent.exists());
    assert_eq!(stored(root, "web").unwrap().network_links.len(), 1);
}

#[test]
fn install_says_whether_anything_changed_and_env_whether_to_restart() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = ok(berth(root).arg("--json").args(args).output().unwrap());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let install = [
        "install",
        "web",
        "--image",
        "localhost/busybox",
        "--port",
        "80",
    ];
    assert_eq!(json(&install)["Changed"], true);
    assert_eq!(json(&install)["Changed"], false);
    let v = json(&["env", "web", "A=1", "--restart"]);
    assert_eq!(v["Changed"], true);
    assert_eq!(v["RestartNeeded"], false, "nothing runs without systemd");
    assert_eq!(
        v["Names"],
        serde_json::json!(["A"]),
        "names, never values: {v}"
    );
}

fn put(root: &Path, host_path: &str, body: &str) {
    let p = root.join(host_path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn mask(root: &Path, host_path: &str) {
    let p = root.join(host_path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/null", p).unwrap();
}

fn list_json(root: &Path) -> Vec<serde_json::Value> {
    let out = ok(berth(root).args(["--json", "list"]).output().unwrap());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Containers"].as_array().unwrap().clone()
}

/// Must not happen: a job on a masked id exits 0 and leaves anything but
/// the mask. Every job that could change the id refuses, naming the mask;
/// the mask stays a link to /dev/null and nothing is reserved; only
/// `install --unmask` replaces it, on purpose.
#[test]
fn a_job_on_a_masked_id_refuses_and_leaves_the_mask() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    put(
        root,
        "/usr/lib/berth/containers/web.json",
        r#"{"Image":"localhost/nginx","Ports":[{"Internal":80,"External":20080}]}"#,
    );
    mask(root, "/etc/berth/containers/web.json");
    let body = root.join("body.json");
    std::fs::write(&body, r#"{"Image":"localhost/nginx"}"#).unwrap();
    let mask_path = def_path(root, "web");
    let jobs: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["start".into(), "web".into()],
        vec!["stop".into(), "web".into()],
        vec!["restart".into(), "web".into()],
        vec!["env".into(), "web".into(), "A=B".into()],
        vec!["env".into(), "web".into(), "--reset".into()],
        vec![
            "link".into(),
            "web".into(),
            "127.0.0.1:81=10.0.0.1:80".into(),
        ],
        vec![
            "install".into(),
            "web".into(),
            "--image".into(),
            "localhost/x".into(),
        ],
        vec![
            "install".into(),
            "web".into(),
            "--from-json".into(),
            body.clone().into(),
        ],
        vec!["delete".into(), "web".into()],
    ];
    for args in &jobs {
        let out = berth(root).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("masked") && err.contains("/etc/berth/containers/web.json"),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read_link(&mask_path).unwrap(),
            Path::new("/dev/null"),
            "{args:?} replaced the mask"
        );
        let etc: Vec<_> = std::fs::read_dir(mask_path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(etc, ["web.json"], "{args:?} left something beside the mask");
        assert!(reserved_by(root, "ports", "web").is_empty(), "{args:?}");
    }
    let out = berth(root)
        .args(["install", "web", "--image", "x"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--unmask"));

    // Status and list show the mask and what it shadows.
    let out = ok(berth(root).args(["status", "web"]).output().unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("masked by /etc/berth/containers/web.json"),
        "{text}"
    );
    assert!(
        text.contains("shadows /usr/lib/berth/containers/web.json"),
        "{text}"
    );
    let rows = list_json(root);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Masked"], true);
    assert_eq!(rows[0]["Source"], "etc");

    // --unmask replaces the mask on purpose.
    ok(berth(root)
        .args(["install", "web", "--unmask", "--image", "localhost/nginx"])
        .output()
        .unwrap());
    assert!(std::fs::symlink_metadata(&mask_path)
        .unwrap()
        .file_type()
        .is_file());
    assert_eq!(stored(root, "web").unwrap().image, "localhost/nginx");
}

/// Must not happen: two definitions in force share an External because
/// berth handed it out. A hand-written /etc file holds its port: the next
/// automatic install skips it, an explicit request is refused naming the
/// holder and its file; deleting the file by hand frees it, a new
/// hand-written file claims its port, and a port held by berth's container
/// is never taken from it.
#[test]
fn a_hand_written_definition_holds_its_port() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let range = |c: &mut Command| {
        c.env("BERTH_PORT_RANGE", "20000-20001");
    };
    put(
        root,
        "/etc/berth/containers/hand.json",
        r#"{"Image":"localhost/nginx","Ports":[{"Internal":80,"External":20000}]}"#,
    );
    let mut c = berth(root);
    range(&mut c);
    ok(c.args(["install", "auto", "--image", "x", "--port", "80"])
        .output()
        .unwrap());
    assert_eq!(stored(root, "auto").unwrap().ports[0].external, 20001);
    assert_eq!(reserved_by(root, "ports", "hand"), ["20000"]);

    let out = berth(root)
        .args(["install", "other", "--image", "x", "--port", "80:20000"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("reserved by container hand (/etc/berth/containers/hand.json)"),
        "{err}"
    );
    assert!(stored(root, "other").is_none());

    // A hand-written file deleted by hand frees its port at the next job.
    std::fs::remove_file(def_path(root, "hand")).unwrap();
    ok(berth(root)
        .args(["install", "other", "--image", "x", "--port", "80:20000"])
        .output()
        .unwrap());
    assert_eq!(reserved_by(root, "ports", "other"), ["20000"]);
    assert!(reserved_by(root, "ports", "hand").is_empty());

    // A new hand-written file (in /run) claims a free port it uses, and
    // takes nothing from a container that holds one.
    put(
        root,
        "/run/berth/containers/late.json",
        r#"{"Image":"localhost/nginx","Ports":[{"Internal":80,"External":20500},{"Internal":81,"External":20001}]}"#,
    );
    let mut c = berth(root);
    range(&mut c);
    let out = ok(c.args(["stop", "auto"]).output().unwrap());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("late"),
        "the shared port is reported"
    );
    assert_eq!(reserved_by(root, "ports", "late"), ["20500"]);
    assert_eq!(reserved_by(root, "ports", "auto"), ["20001"]);
    let rows = list_json(root);
    let late = rows.iter().find(|r| r["Id"] == "late").unwrap();
    assert_eq!(late["Source"], "run");
}

/// Must not happen: two definitions in force share an McsLevel because
/// berth handed it out. A vendor /usr/lib definition with s0:c0,c1 (the
/// first pair the allocator would hand out) holds it.
#[test]
fn a_vendor_definition_holds_its_mcs_level() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    put(
        root,
        "/usr/lib/berth/containers/vend.json",
        r#"{"Image":"localhost/nginx","McsLevel":"s0:c0,c1"}"#,
    );
    let out = berth(root)
        .args(["install", "copy", "--from-json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin
                .take()
                .unwrap()
                .write_all(br#"{"Image":"localhost/nginx","McsLevel":"s0:c0,c1"}"#)?;
            ch.wait_with_output()
        })
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("container vend (/usr/lib/berth/containers/vend.json)"),
        "{err}"
    );
    assert_eq!(reserved_by(root, "mcs", "vend"), ["c0,c1"]);
    if !can_useradd() {
        eprintln!("isolated install skipped: needs root and useradd");
        return;
    }
    ok(berth(root)
        .args(["install", "iso", "--image", "x", "--isolate"])
        .output()
        .unwrap());
    let level = stored(root, "iso").unwrap().mcs_level.unwrap();
    assert_ne!(level, "s0:c0,c1");
    ok(berth(root).args(["delete", "iso"]).output().unwrap());
}

/// A JSON array is not an install body, and errors keep the field path
/// and the "did you mean" (the one parser of berth-definition).
#[test]
fn from_json_uses_the_definition_parser() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let body = root.join("body.json");
    for (json, want) in [
        (r#"["localhost/nginx"]"#, "JSON object"),
        (
            r#"{"Image":"localhost/nginx","Ports":[{"Internal":80,"Externall":1}]}"#,
            "did you mean `External`",
        ),
        (
            r#"{"Image":"localhost/nginx","Ports":[{"Internal":80,"External":70000}]}"#,
            "Ports[0].External",
        ),
    ] {
        std::fs::write(&body, json).unwrap();
        let out = berth(root)
            .args(["install", "q", "--from-json"])
            .arg(&body)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{json}: {err}");
        assert!(err.contains(want), "{json}: {err}");
    }
    assert!(stored(root, "q").is_none());
}

/// Ports are printed host->container everywhere (as podman does), and no
/// reply of the CLI names docker.
#[test]
fn ports_read_host_to_container() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let out = ok(berth(root)
        .args(["install", "web", "--image", "x", "--port", "80:8080"])
        .output()
        .unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ports 8080->80"), "{text}");
    let out = ok(berth(root).args(["list"]).output().unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("8080->80"), "{text}");
    let out = berth(root).args(["--help"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout)
        .to_lowercase()
        .contains("docker"));
}

/// Which ids a generator run made units for, masked and rejected, from
/// its units and its log.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    valid: Vec<String>,
    masked: Vec<String>,
    invalid: Vec<String>,
}

fn stem_of(path: &str) -> String {
    let name = Path::new(path).file_name().unwrap();
    berth_jobs::definition::search::definition_stem(name).unwrap()
}

/// The generator over `root` (BERTH_GENERATOR_ROOT's meaning): through
/// the library, and through the binary when the workspace built it next
/// to `berth` (its dry-run output must be the same bytes).
fn generator_sees(root: &Path) -> Seen {
    use berth_generator::log::{Level, Logger};
    use berth_generator::output::PrintSink;
    use berth_generator::render::InstallPaths;
    use berth_jobs::definition::SearchPath;
    let log_file = tempfile::NamedTempFile::new().unwrap();
    let mut log = Logger::to_kmsg_file(log_file.reopen().unwrap(), Level::Debug);
    let mut units = Vec::new();
    berth_generator::generate(
        &SearchPath::new(root, None),
        &InstallPaths::built_in(),
        &mut PrintSink::new(&mut units),
        &mut log,
    );
    let bin = Path::new(env!("CARGO_BIN_EXE_berth"))
        .parent()
        .unwrap()
        .join("berth-generator");
    if bin.exists() {
        let out = Command::new(&bin)
            .arg("--dry-run")
            .env_clear()
            .env("BERTH_GENERATOR_ROOT", root)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&units),
            "berth-generator --dry-run and the library disagree"
        );
    }
    let mut seen = Seen::default();
    for line in String::from_utf8(units).unwrap().lines() {
        if let Some(u) = line.strip_prefix("---berth-") {
            if let Some(id) = u.strip_suffix(".service---").filter(|id| !id.contains('@')) {
                if !line.contains('/') {
                    seen.valid.push(id.to_owned());
                }
            }
        }
    }
    let log = std::fs::read_to_string(log_file.path()).unwrap();
    for line in log.lines() {
        let msg = line.split_once("]: ").map(|(_, m)| m).unwrap_or(line);
        if let Some(rest) = msg.strip_prefix("rejected ") {
            let path = rest.split(": ").next().unwrap();
            seen.invalid.push(stem_of(path));
        } else if let Some((path, _)) = msg.split_once(" is masked;") {
            seen.masked.push(stem_of(path));
        }
    }
    for v in [&mut seen.valid, &mut seen.masked, &mut seen.invalid] {
        v.sort();
        v.dedup();
    }
    seen
}

fn list_sees(root: &Path) -> Seen {
    let mut seen = Seen::default();
    for row in list_json(root) {
        let id = row["Id"].as_str().unwrap().to_owned();
        if row["Masked"] == true {
            seen.masked.push(id);
        } else if row.get("Error").is_some() {
            seen.invalid.push(id);
        } else {
            seen.valid.push(id);
        }
    }
    seen
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let t = e.file_type().unwrap();
        if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if t.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Must not happen: the generator and `berth list` disagree about which
/// ids exist. The same trees go to both — every generator fixture tree
/// under tests/generator/, and one with a mask over a vendor file, a
/// dangling link, an id ending in `.json`, a hidden file and a bad name —
/// and both see the same ids made into units, masked and rejected.
#[test]
fn the_generator_and_list_agree_on_every_tree() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/generator");
    let mut trees: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    trees.sort();
    assert!(trees.len() >= 10, "fixture trees went missing");
    let extra = tempfile::tempdir().unwrap();
    let x = extra.path();
    let def = r#"{"Image":"localhost/nginx","Ports":[{"Internal":80,"External":20080}]}"#;
    put(x, "/usr/lib/berth/containers/web.json", def);
    mask(x, "/etc/berth/containers/web.json");
    put(
        x,
        "/run/berth/containers/a.json.json",
        r#"{"Image":"localhost/a"}"#,
    );
    put(
        x,
        "/etc/berth/containers/.hidden.json",
        r#"{"Image":"localhost/a"}"#,
    );
    put(
        x,
        "/etc/berth/containers/Bad Name.json",
        r#"{"Image":"localhost/a"}"#,
    );
    put(x, "/etc/berth/containers/empty.json", "");
    std::os::unix::fs::symlink("/nowhere", x.join("etc/berth/containers/gone.json")).unwrap();
    trees.push(x.to_owned());
    let mut total = Seen::default();
    for tree in trees {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for top in ["etc", "run", "usr"] {
            if tree.join(top).is_dir() {
                copy_dir(&tree.join(top), &root.join(top));
            }
        }
        let generator = generator_sees(root);
        let list = list_sees(root);
        assert_eq!(generator, list, "{}", tree.display());
        total.valid.extend(list.valid.iter().cloned());
        total.masked.extend(list.masked.iter().cloned());
        total.invalid.extend(list.invalid.iter().cloned());
        if tree == x {
            assert_eq!(list.valid, ["a.json"]);
            assert_eq!(list.masked, ["web"]);
            assert_eq!(list.invalid, ["Bad Name", "empty", "gone"]);
        }
    }
    // The fixture trees do hold units, masks and rejections.
    assert!(total.valid.len() >= 10, "{total:?}");
    assert!(
        total.masked.len() >= 2 && total.invalid.len() >= 8,
        "{total:?}"
    );
}

#[test]
fn content_purge_and_streamed_json_lines() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    ok(berth(root)
        .args([
            "install",
            "web",
            "--image",
            "localhost/busybox",
            "--env",
            "A=1",
        ])
        .output()
        .unwrap());
    let out = ok(berth(root)
        .args(["content", "web", "--type", "env"])
        .output()
        .unwrap());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "A=1\n");
    let out = berth(root)
        .args(["content", "web", "--type", "git"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    // A streamed job with --json: one JSON object a line, the final one last.
    let out = ok(berth(root)
        .args(["logs", "web", "--json"])
        .output()
        .unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["Result"], "Ok", "{text}");
    let out = berth(root).args(["purge"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    ok(berth(root).args(["purge", "--yes"]).output().unwrap());
    assert!(stored(root, "web").is_none());
}

/// `berth build`: bad names and tags are refused (exit 2) naming the
/// field, a relative source is made absolute, the field mapping is in
/// berth(1), and `builds` lists the records.
#[test]
fn build_validates_makes_the_source_absolute_and_builds_lists() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let ctx = d.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    let build = |args: &[&str]| {
        berth(&root)
            .current_dir(d.path())
            .arg("build")
            .args(args)
            .output()
            .unwrap()
    };
    for (args, field) in [
        (&["Demo", "--source", "ctx"][..], "field Name"),
        (&["demo", "--source", "ctx", "--tag", "a b"], "field Tag"),
        (
            &["demo", "--source", "ctx", "--base-image=-x"],
            "field BaseImage",
        ),
        (
            &["demo", "--source", "https://u:p@git.example/x.git"],
            "field Source",
        ),
    ] {
        let out = build(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(field), "{args:?}: {err}");
    }
    let out = build(&["demo", "--source", "missing"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let abs = d.path().join("missing");
    assert!(
        err.contains(&format!("{} is not a directory", abs.display())),
        "{err}"
    );
    // Without systemd the unit cannot start: a host error, no record.
    let out = build(&["demo", "--source", "ctx"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!root.join("run/berth/builds/demo.json").exists());

    let dir = root.join("run/berth/builds");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("demo.json"),
        r#"{"Name":"demo","Tag":"localhost/demo:latest","Result":"succeeded","ExitStatus":0,"Started":"2026-01-01T00:00:00.000000Z","Finished":"2026-01-01T00:01:00.000000Z"}"#,
    )
    .unwrap();
    let out = ok(berth(&root).arg("builds").output().unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("demo  succeeded  0     localhost/demo:latest")),
        "{text}"
    );
    let out = ok(berth(&root).args(["--json", "builds"]).output().unwrap());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Builds"][0]["Result"], "succeeded");

    ok(berth(d.path())
        .args(["internal", "man"])
        .arg(d.path().join("man"))
        .output()
        .unwrap());
    let main = std::fs::read_to_string(d.path().join("man/berth.1")).unwrap();
    for needle in [
        "BaseImage",
        "\\-\\-from=I",
        "RUNTIME_IMAGE",
        "\\-\\-no\\-cache",
    ] {
        assert!(main.contains(needle), "berth(1) lacks {needle}");
    }
}

/// Issue 14 on the command line: dependencies, groups and update, each
/// with its exit code and `--json`.
#[test]
fn dependencies_groups_and_update_exit_by_failure_kind() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let body = |json: &str| {
        let p = root.join("body.json");
        std::fs::write(&p, json).unwrap();
        p
    };
    let install = |id: &str, json: &str| {
        berth(root)
            .args(["--json", "install", id, "--from-json"])
            .arg(body(json))
            .output()
            .unwrap()
    };
    let out = install("web", r#"{"Image": "localhost/x", "Requires": ["db"]}"#);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["Error"]["Detail"]
            .as_str()
            .unwrap()
            .contains("field Requires[0]: container db"),
        "{v}"
    );
    ok(install("db", r#"{"Image": "localhost/x", "Group": "app"}"#));
    ok(install(
        "web",
        r#"{"Image": "localhost/x", "Requires": ["db"], "Group": "app"}"#,
    ));
    let out = install("db", r#"{"Image": "localhost/x", "After": ["web"]}"#);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("db → web → db"));

    // delete: refused while web requires db, then forced.
    let out = berth(root).args(["delete", "db"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("required by web"));

    // groups (BERTH_SYSTEMD=none: the job is done at once).
    let out = ok(berth(root)
        .args(["--json", "restart", "--group", "app"])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Unit"], "berth-app.target");
    assert_eq!(v["Members"], serde_json::json!(["db", "web"]));
    assert_eq!(
        berth(root)
            .args(["start", "--group", "nope"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        berth(root).args(["stop"]).output().unwrap().status.code(),
        Some(2),
        "an id or --group"
    );
    let out = ok(berth(root).args(["list"]).output().unwrap());
    assert!(String::from_utf8_lossy(&out.stdout).contains("GROUP"));

    // update: an id without AutoUpdate.
    let out = berth(root)
        .args(["--json", "update", "web"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains("web has no AutoUpdate"));

    ok(berth(root)
        .args(["delete", "db", "--force"])
        .output()
        .unwrap());
    assert!(stored(root, "db").is_none());
}

/// `--port INT:EXT/udp` stores a UDP port; TCP and UDP may share a host
/// port number; an unknown protocol is an invalid request (exit 2) that
/// writes nothing.
#[test]
fn install_takes_udp_ports() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    ok(berth(root)
        .args([
            "install",
            "dns",
            "--image",
            "localhost/dns",
            "--port",
            "53:5353",
            "--port",
            "53:5353/udp",
        ])
        .output()
        .unwrap());
    let def = stored(root, "dns").unwrap();
    let ports: Vec<(u16, u16, &str)> = def
        .ports
        .iter()
        .map(|p| (p.internal, p.external, p.protocol().as_str()))
        .collect();
    assert_eq!(ports, [(53, 5353, "tcp"), (53, 5353, "udp")]);
    let json = std::fs::read_to_string(def_path(root, "dns")).unwrap();
    assert!(json.contains(r#""Protocol": "udp""#), "{json}");
    let out = berth(root)
        .args([
            "install",
            "bad",
            "--image",
            "localhost/dns",
            "--port",
            "53/sctp",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcp or udp"));
    assert!(stored(root, "bad").is_none());
    // Tables write a UDP port as podman does: 5353->53/udp.
    let out = ok(berth(root).args(["ports", "dns"]).output().unwrap());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "INTERNAL  EXTERNAL  BACKEND\n53        5353\n53/udp    5353\n"
    );
    let out = ok(berth(root).args(["list"]).output().unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("5353->53,5353->53/udp"), "{text}");
}
