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
