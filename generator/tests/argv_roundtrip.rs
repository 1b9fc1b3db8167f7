//! Round trip through real systemd: for definitions whose commands, env
//! values and paths hold spaces, quotes, backslashes, `%`, `$`, `;`,
//! newlines, control characters, unicode and leading dashes, the argv
//! systemd builds from `ExecStart=` equals the argv the definition means
//! (`render::podman_run_argv`), or the generator rejects the definition.
//!
//! The oracle is systemd itself: `systemd --test --system` (run as an
//! unprivileged user) loads the units and dumps each parsed command line as
//! `Command Line: …`. `$$` becomes `$` only at exec time, so the dump still
//! shows `$$`; that one substitution is applied here, as systemd's
//! `replace_env_argv()` would.
//!
//! Environment values are not in the argv (values are root-only): the
//! service passes `--env-file=` naming the 0600 file the generator wrote
//! next to it, and the oracle reads that file as podman does (a port of
//! podman's `pkg/env.ParseFile`, [`podman_parse_env_file`]), so it still
//! proves the container receives exactly the definition's values.

mod common;
use berth_definition::{
    Definition, EnvVar, Environment, Health, HealthOnFailure, Notify, Volume, VolumeConfig,
};
use berth_generator::render::{env_file_path, podman_run_argv, InstallPaths};
use common::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Parses one `Command Line:` value as systemd 252 prints it
/// (`quote_command_line()`: words separated by spaces, a word quoted with
/// `"…"` when needed, with C escapes and `\$`/`` \` ``). Unknown escapes
/// panic, so a format change fails loudly instead of passing silently.
fn parse_command_line(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        let mut w: Vec<u8> = Vec::new();
        if b[i] == b'"' {
            i += 1;
            loop {
                assert!(i < b.len(), "unterminated quote in {s:?}");
                match b[i] {
                    b'"' => {
                        i += 1;
                        break;
                    }
                    b'\\' => {
                        let c = b[i + 1];
                        i += 2;
                        match c {
                            b'\\' | b'"' | b'\'' | b'$' | b'`' => w.push(c),
                            b'n' => w.push(b'\n'),
                            b't' => w.push(b'\t'),
                            b'r' => w.push(b'\r'),
                            b'a' => w.push(7),
                            b'b' => w.push(8),
                            b'f' => w.push(12),
                            b'v' => w.push(11),
                            b'0'..=b'3' => {
                                let oct = std::str::from_utf8(&b[i - 1..i + 2]).unwrap();
                                w.push(u8::from_str_radix(oct, 8).unwrap());
                                i += 2;
                            }
                            b'x' => {
                                let hex = std::str::from_utf8(&b[i..i + 2]).unwrap();
                                w.push(u8::from_str_radix(hex, 16).unwrap());
                                i += 2;
                            }
                            other => panic!("unknown escape \\{} in {s:?}", other as char),
                        }
                    }
                    c => {
                        w.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < b.len() && b[i] != b' ' {
                assert!(
                    b[i] != b'\\' && b[i] != b'"',
                    "unexpected bare escape in {s:?}"
                );
                w.push(b[i]);
                i += 1;
            }
        }
        words.push(String::from_utf8(w).expect("argv is UTF-8"));
    }
    words
}

/// `$$` → `$`, as systemd does when it runs the command.
fn exec_time(word: &str) -> String {
    word.replace("$$", "$")
}

/// Runs `systemd --test` over the units in `units` and returns, per
/// service, the argv of its first `ExecStart=`.
fn systemd_parsed_argv(units: &Path, services: &[String]) -> BTreeMap<String, Vec<String>> {
    // One target pulls in every service so one systemd run dumps them all.
    let mut target = String::from("[Unit]\nDescription=round trip\n");
    for s in services {
        target.push_str(&format!("Wants={s}\n"));
    }
    std::fs::write(units.join("berth-roundtrip.target"), target).unwrap();
    let dump = systemd_test(units, "berth-roundtrip.target");
    let mut result = BTreeMap::new();
    let mut unit: Option<String> = None;
    let mut in_exec_start = false;
    for line in dump.lines() {
        if let Some(rest) = line.strip_prefix("\t-> Unit ") {
            unit = Some(rest.trim_end_matches(':').to_owned());
            in_exec_start = false;
        } else if line.trim_start().starts_with("-> Exec") {
            in_exec_start = line.trim() == "-> ExecStart:";
        } else if let Some(cl) = line.trim_start().strip_prefix("Command Line: ") {
            if in_exec_start {
                if let Some(u) = &unit {
                    result
                        .entry(u.clone())
                        .or_insert_with(|| parse_command_line(cl));
                }
                in_exec_start = false;
            }
        }
    }
    result
}

/// What podman 4.3 to 5.x make of an `--env-file` (pkg/env `ParseFile`):
/// lines as Go's `bufio.ScanLines` splits them (at `\n`, one trailing `\r`
/// dropped, a line over 64 KiB an error), leading blanks trimmed, empty
/// and `#` lines skipped, `NAME=VALUE` cut at the first `=`; a line without
/// `=` would take the value from podman's own environment, which the
/// oracle refuses outright.
fn podman_parse_env_file(bytes: &[u8]) -> BTreeMap<String, String> {
    let text = std::str::from_utf8(bytes).expect("env file is UTF-8");
    let mut env = BTreeMap::new();
    let body = text.strip_suffix('\n').unwrap_or(text);
    for raw in body.split('\n') {
        assert!(raw.len() < 64 * 1024, "podman fails on a line this long");
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = raw.trim_start_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{line:?} would pass podman's own environment through"));
        assert!(!name.is_empty(), "podman rejects {line:?}");
        env.insert(name.to_owned(), value.to_owned());
    }
    env
}

/// What podman 4.3 to 5.x store as the health check's `Test` for a
/// `--health-cmd` value (a port of `MakeHealthCheckFromCli`): a JSON array
/// of two or more words becomes `["CMD", …]`, a first word `CMD` or `NONE`
/// (any case) splits the whole value at whitespace (Go's `strings.Fields`),
/// anything else is one `CMD-SHELL` string run by `/bin/sh -c`. At run time
/// podman executes `Test[1..]` of a `CMD` test as the argv.
fn podman_health_test(value: &str) -> Vec<String> {
    let upper = |s: &str| s.chars().flat_map(char::to_uppercase).collect::<String>();
    let (mut test, is_array) = match serde_json::from_str::<Vec<String>>(value) {
        Ok(a) => (a, true),
        Err(_) => (value.splitn(2, ' ').map(str::to_owned).collect(), false),
    };
    assert!(!test.is_empty(), "podman refuses an empty health command");
    let first = upper(&test[0]);
    if first == "CMD" || first == "NONE" {
        test = value
            .split(char::is_whitespace)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
    } else if first != "CMD-SHELL" {
        if is_array && test.len() > 1 {
            test.insert(0, "CMD".into());
        } else {
            test = vec!["CMD-SHELL".into(), test.join(" ")];
        }
    }
    test
}

/// Generates units for `defs`, has systemd parse them, and checks every
/// accepted definition's argv; returns how many were accepted.
fn round_trip(defs: &[(String, Definition)]) -> usize {
    round_trip_in(defs, false)
}

/// [`round_trip`], and with `verify` the units also pass
/// `systemd-analyze verify` (before the oracle adds its own target).
fn round_trip_in(defs: &[(String, Definition)], verify: bool) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let defs_dir = tmp.path().join("defs");
    std::fs::create_dir_all(&defs_dir).unwrap();
    for (id, d) in defs {
        std::fs::write(defs_dir.join(format!("{id}.json")), d.to_json()).unwrap();
    }
    let units = tmp.path().join("units");
    let out = run_generator_on(&defs_dir, &units);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let paths = InstallPaths::built_in();
    let mut accepted = Vec::new();
    for (id, _) in defs {
        let service = format!("berth-{id}.service");
        if units.join(&service).exists() {
            accepted.push(service);
            // Checked before systemd_parsed_argv lets `nobody` read units.
            let env = units.join(format!("berth-{id}.env"));
            if let Ok(m) = std::fs::metadata(&env) {
                assert_eq!(
                    m.permissions().mode() & 0o7777,
                    0o600,
                    "{id}: env file mode"
                );
            }
        } else {
            // Rejected: exactly one log line names the file and the reason.
            let file = format!("{id}.json");
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(&file)).collect();
            assert_eq!(
                lines.len(),
                1,
                "{id}: expected one rejection line in:\n{log}"
            );
            assert!(lines[0].contains("field "), "{}", lines[0]);
        }
    }
    if verify && !accepted.is_empty() {
        let (ok, text) = systemd_verify(&units);
        assert!(ok, "systemd-analyze verify:\n{text}");
    }
    let parsed = systemd_parsed_argv(&units, &accepted);
    for (id, d) in defs {
        let service = format!("berth-{id}.service");
        if !accepted.contains(&service) {
            continue;
        }
        let got: Vec<String> = parsed
            .get(&service)
            .unwrap_or_else(|| panic!("systemd did not load {service}"))
            .iter()
            .map(|w| exec_time(w))
            .collect();
        let want: Vec<String> = podman_run_argv(id, d, &paths)
            .into_iter()
            // Only berth's own specifier words are expanded by systemd.
            .map(|w| {
                if w.specifiers {
                    w.text.replace("%t", "/run")
                } else {
                    w.text
                }
            })
            .collect();
        assert_eq!(got, want, "{service}: argv differs");
        // The health check: what podman makes of --health-cmd is Cmd,
        // run without a shell.
        if let Some(h) = &d.health {
            let words: Vec<&String> = got
                .iter()
                .filter(|w| w.starts_with("--health-cmd="))
                .collect();
            assert_eq!(words.len(), 1, "{service}: {got:?}");
            let test = podman_health_test(&words[0]["--health-cmd=".len()..]);
            assert_eq!(
                test[0], "CMD",
                "{service}: podman would use a shell: {test:?}"
            );
            assert_eq!(&test[1..], &h.cmd[..], "{service}: health check argv");
        }
        // Independent of podman_run_argv's layout: the command is the tail,
        // no value is in the argv, and the env file podman reads holds
        // exactly the definition's variables.
        if let Some(cmd) = &d.cmd {
            assert_eq!(&got[got.len() - cmd.len()..], &cmd[..], "{service}: Cmd");
        }
        // podman's own options only: the Cmd tail may hold any word, `-e`
        // included.
        let options = &got[..got.len() - d.cmd.as_ref().map_or(0, |c| c.len())];
        assert!(
            !options
                .iter()
                .any(|w| w.starts_with("--env=") || w == "--env" || w == "-e"),
            "{service}: an environment value in the argv"
        );
        let env_words: Vec<&String> = got
            .iter()
            .filter(|w| w.starts_with("--env-file="))
            .collect();
        let want_env: BTreeMap<String, String> = d
            .env_vars()
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        if want_env.is_empty() {
            assert!(env_words.is_empty(), "{service}: {env_words:?}");
            continue;
        }
        assert_eq!(
            env_words,
            [&format!("--env-file={}", env_file_path(id, &paths))],
            "{service}"
        );
        // The unit names the file where systemd runs the generator; this
        // run wrote it into `units`.
        let file = units.join(format!("berth-{id}.env"));
        let got_env = podman_parse_env_file(&std::fs::read(&file).unwrap());
        assert_eq!(got_env, want_env, "{service}: environment differs");
    }
    accepted.len()
}

const NASTY: &[&str] = &[
    "plain",
    "two words",
    "",
    " ",
    "double\"quote",
    "single'quote",
    "back\\slash",
    "trailing backslash\\",
    "\\",
    "%",
    "%n%t%%",
    "$",
    "$$",
    "$HOME",
    "${HOME}",
    "$HOME$",
    ";",
    "\\;",
    "a;b",
    "line1\nline2",
    "\n",
    "tab\there",
    "cr\r",
    "\u{1}\u{1f}\u{7f}",
    "\u{85}\u{a0}\u{2028}",
    "żółw 🐢 →",
    "-v",
    "--privileged",
    "-",
    "--",
    "#comment",
    "x # y",
    "=",
    "a=b=c",
    "'\"'\"'",
    "\\x41\\n",
    "%%%%$$$$",
    "\u{fffd}",
];

fn def_with(args: Vec<String>, env: Vec<(String, String)>, vol: Option<String>) -> Definition {
    let mut d = Definition {
        image: "localhost/busybox".into(),
        cmd: if args.is_empty() { None } else { Some(args) },
        ..Default::default()
    };
    if !env.is_empty() {
        d.environment = Some(Environment {
            variables: env
                .into_iter()
                .map(|(name, value)| EnvVar { name, value })
                .collect(),
        });
    }
    if let Some(v) = vol {
        d.volume_config = Some(VolumeConfig {
            volumes: vec![Volume {
                host_path: v,
                container_path: "/data".into(),
                read_only: false,
            }],
        });
    }
    d
}

#[test]
fn nasty_values_reach_podman_exactly() {
    let mut defs = Vec::new();
    for (i, s) in NASTY.iter().enumerate() {
        // Values --env-file cannot carry are refused (see the test below).
        let env = if env_carriable(s) {
            vec![(format!("V{i}"), s.to_string())]
        } else {
            vec![]
        };
        defs.push((
            format!("nasty{i}"),
            def_with(
                vec!["sh".into(), "-c".into(), s.to_string(), s.to_string()],
                env,
                None,
            ),
        ));
    }
    // Every nasty value at once, and host paths with spaces, %, $, unicode.
    defs.push((
        "all".into(),
        def_with(
            NASTY.iter().map(|s| s.to_string()).collect(),
            NASTY
                .iter()
                .enumerate()
                .filter(|(_, s)| env_carriable(s))
                .map(|(i, s)| (format!("A{i}"), s.to_string()))
                .collect(),
            Some("/srv/my data/%t/$HOME/żółw".into()),
        ),
    ));
    let mut e = def_with(vec!["x".into()], vec![], None);
    e.entrypoint = Some(vec![
        "/bin/sh".into(),
        "-c".into(),
        "echo \"$1\" '%' \\".into(),
    ]);
    e.working_dir = Some("/work dir/%h/$x".into());
    defs.push(("entry".into(), e));
    let accepted = round_trip(&defs);
    assert_eq!(accepted, defs.len(), "every nasty value is carriable");
}

/// Health check arguments with every nasty value reach podman as the
/// exact exec-form argv: through systemd's parsing and podman's reading
/// of `--health-cmd`.
#[test]
fn health_commands_reach_podman_exactly() {
    let mut defs = Vec::new();
    for (i, s) in NASTY.iter().enumerate() {
        let mut d = def_with(vec![], vec![], None);
        d.health = Some(Health {
            cmd: vec!["/bin/check".into(), s.to_string(), s.to_string()],
            ..Health::default()
        });
        defs.push((format!("health{i}"), d));
    }
    let mut all = def_with(vec![], vec![], None);
    all.health = Some(Health {
        cmd: std::iter::once("/bin/check".to_string())
            .chain(NASTY.iter().map(|s| s.to_string()))
            .collect(),
        interval: Some(5),
        on_failure: Some(HealthOnFailure::Kill),
        ..Health::default()
    });
    all.notify = Notify::Healthy;
    defs.push(("health-all".into(), all));
    // One argument: podman's "CMD <program>" form.
    let mut one = def_with(vec![], vec![], None);
    one.health = Some(Health {
        cmd: vec!["/usr/local/bin/check%$;'\"".into()],
        ..Health::default()
    });
    defs.push(("health-one".into(), one));
    assert_eq!(round_trip(&defs), defs.len());
}

#[test]
fn uncarriable_values_are_rejected_not_dropped() {
    let defs = vec![
        (
            "ok".to_string(),
            def_with(vec!["fine".into()], vec![], None),
        ),
        (
            "nonchar".to_string(),
            def_with(vec!["a\u{fffe}".into()], vec![], None),
        ),
        (
            "nonchar-env".to_string(),
            def_with(vec![], vec![("E".into(), "\u{fdd0}".into())], None),
        ),
        (
            "newline-env".to_string(),
            def_with(vec![], vec![("E".into(), "a\nB=evil".into())], None),
        ),
        (
            "cr-env".to_string(),
            def_with(vec![], vec![("E".into(), "a\r".into())], None),
        ),
    ];
    // A non-character is refused in a unit file, but an env value no
    // longer goes into one: podman reads it back from the env file.
    assert_eq!(round_trip(&defs), 2);
}

/// What podman's env file carries (the definition's rule, restated).
fn env_carriable(s: &str) -> bool {
    !s.contains('\n') && !s.ends_with('\r')
}

fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec!['"', '\'', '\\', '%', '$', ';', ' ', '\n', '\t', '\r', '-', '{', '}', '#', '=', '\u{1}', '\u{7f}', 'é', '🐢']),
        2 => any::<char>(),
        2 => prop::char::range('a', 'z'),
    ]
}

fn nasty_string() -> impl Strategy<Value = String> {
    prop::collection::vec(nasty_char(), 0..16)
        .prop_map(|v| v.into_iter().filter(|c| *c != '\0').collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 40, ..ProptestConfig::default() })]
    #[test]
    fn random_values_round_trip(
        batch in prop::collection::vec(
            (prop::collection::vec(nasty_string(), 1..5), prop::collection::vec(nasty_string(), 0..4)),
            20..40,
        )
    ) {
        let defs: Vec<(String, Definition)> = batch
            .into_iter()
            .enumerate()
            .map(|(i, (args, vals))| {
                let env = vals.into_iter().enumerate().map(|(j, v)| (format!("P{j}"), v)).collect();
                let mut d = def_with(args.clone(), env, None);
                // Every other one also checks its health with the same
                // words (a definition the rules refuse is rejected with
                // one log line, which round_trip checks).
                if i % 2 == 0 {
                    d.health = Some(Health { cmd: args, ..Health::default() });
                }
                (format!("p{i}"), d)
            })
            .collect();
        round_trip(&defs);
    }
}

/// Every definition of every fixture tree that the generator accepts
/// reaches podman exactly (trees 17-19 hold the network and run options:
/// labels with quotes, `%`, `$` and unicode, sysctl values with blanks).
#[test]
fn fixture_definitions_reach_podman_exactly() {
    let mut defs = Vec::new();
    for case in cases() {
        let n = case.file_name().unwrap().to_string_lossy()[..2].to_owned();
        for dir in ["etc", "run", "usr/lib"] {
            let d = case.join(dir).join("berth/containers");
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut files: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
            files.sort();
            for f in files {
                let Ok(bytes) = std::fs::read(&f) else {
                    continue; // a mask (a link to /dev/null) reads as empty; a dangling one fails
                };
                if let Ok(mut def) = Definition::from_json(&bytes) {
                    // Renamed, so the ids dependencies name are gone;
                    // tests/dependencies.rs covers their rendering.
                    def.requires.clear();
                    def.wants.clear();
                    def.after.clear();
                    defs.push((format!("t{n}-{}", defs.len()), def));
                }
            }
        }
    }
    assert!(defs.len() >= 20, "fixture definitions went missing");
    assert_eq!(round_trip_in(&defs, true), defs.len());
}

fn label_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9][A-Za-z0-9._/-]{0,20}",
        1 => nasty_string(),
    ]
}

fn hostname() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        1 => nasty_string(),
    ]
}

fn sysctl_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "net.core.somaxconn",
            "net.ipv4.ping_group_range",
            "net.ipv4.ip_local_port_range",
            "fs.mqueue.msg_max",
            "kernel.shmmax",
        ])
        .prop_map(String::from),
        1 => "[a-z.]{1,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 40, ..ProptestConfig::default() })]
    /// Arbitrary label keys and values, host names, sysctl values, tmpfs
    /// and device specs: what validates renders, and podman's argv is
    /// exactly the definition's; what does not is rejected in one line.
    #[test]
    fn run_option_values_round_trip(
        batch in prop::collection::vec(
            (
                prop::collection::btree_map(label_key(), nasty_string(), 0..3),
                prop::option::weighted(0.3, hostname()),
                prop::option::weighted(0.3, (sysctl_name(), prop_oneof![2 => "[ -~]{1,12}", 1 => nasty_string()])),
                prop::option::weighted(0.2, prop_oneof![
                    Just("/tmp".to_string()),
                    "/[a-z]{1,6}:(size=[1-9][0-9]{0,3}[kmg%]?|mode=[0-7]{3,4}|ro|noexec|U)",
                    nasty_string().prop_map(|s| format!("/t{s}")),
                ]),
                prop::option::weighted(0.2, prop_oneof![
                    "/dev/[a-z]{1,6}(:/dev/[a-z]{1,6})?(:[rwm]{1,3})?",
                    nasty_string().prop_map(|s| format!("/dev/{s}")),
                ]),
                prop::sample::select(vec![None, None, Some("appnet"), Some("none"), Some("host"), Some("bridge")]),
            ),
            20..40,
        )
    ) {
        let defs: Vec<(String, Definition)> = batch
            .into_iter()
            .enumerate()
            .map(|(i, (labels, host, sysctl, tmpfs, devices, network))| {
                let mut d = def_with(vec!["x".into()], vec![], None);
                d.labels = labels;
                d.hostname = host;
                d.sysctl = sysctl.into_iter().collect();
                d.tmpfs = tmpfs.into_iter().collect();
                d.devices = devices.into_iter().collect();
                d.network = network.map(String::from);
                if d.network.as_deref() == Some("appnet") {
                    d.network_aliases = vec!["alias".into()];
                }
                (format!("r{i}"), d)
            })
            .collect();
        // About two in five validate; a batch with none would prove nothing.
        prop_assert!(round_trip_in(&defs, true) > 0);
    }
}
