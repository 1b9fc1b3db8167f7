//! systemd over D-Bus (org.freedesktop.systemd1(5)) with zbus's blocking
//! API; `journalctl` for the journal, which has no D-Bus call.

use super::{JournalEvent, JournalQuery, ServiceOutcome, Systemd, SystemdError, UnitOp, UnitState};
use crate::host::Host;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::OnceLock;
use std::time::Duration;
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// Most bytes [`Systemd::read_journal`] reads, whatever `lines` says.
pub const MAX_JOURNAL_BYTES: u64 = 16 << 20;

/// The system manager on the system bus; connects on first use.
pub struct DbusSystemd {
    conn: OnceLock<Result<Connection, String>>,
    /// The manager's job signals, asked for once per connection (systemd
    /// refuses a second Subscribe from the same client).
    subscribed: OnceLock<Result<(), String>>,
    host: Host,
}

impl DbusSystemd {
    /// A client that runs `journalctl` with `host`.
    pub fn new(host: Host) -> DbusSystemd {
        DbusSystemd {
            conn: OnceLock::new(),
            subscribed: OnceLock::new(),
            host,
        }
    }

    fn conn(&self) -> Result<&Connection, SystemdError> {
        self.conn
            .get_or_init(|| Connection::system().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| SystemdError(format!("cannot connect to the system bus: {e}")))
    }

    fn manager<B>(&self, method: &str, body: &B) -> Result<zbus::message::Message, SystemdError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.conn()?
            .call_method(Some(DEST), PATH, Some(MANAGER), method, body)
            .map_err(|e| SystemdError(format!("{method}: {e}")))
    }
}

impl Systemd for DbusSystemd {
    fn daemon_reload(&self) -> Result<(), SystemdError> {
        self.manager("Reload", &()).map(drop)
    }

    fn start_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.manager("StartUnit", &(unit, "replace")).map(drop)
    }

    fn stop_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.manager("StopUnit", &(unit, "replace")).map(drop)
    }

    fn restart_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.manager("RestartUnit", &(unit, "replace")).map(drop)
    }

    fn try_restart_unit(&self, unit: &str) -> Result<(), SystemdError> {
        self.manager("TryRestartUnit", &(unit, "replace")).map(drop)
    }

    fn unit_state(&self, unit: &str) -> Result<UnitState, SystemdError> {
        let msg = self.manager("LoadUnit", &(unit,))?;
        let path: OwnedObjectPath = msg
            .body()
            .deserialize()
            .map_err(|e| SystemdError(format!("LoadUnit reply: {e}")))?;
        let reply = self
            .conn()?
            .call_method(
                Some(DEST),
                path.as_str(),
                Some("org.freedesktop.DBus.Properties"),
                "GetAll",
                &("org.freedesktop.systemd1.Unit",),
            )
            .map_err(|e| SystemdError(format!("GetAll {unit}: {e}")))?;
        let props: HashMap<String, OwnedValue> = reply
            .body()
            .deserialize()
            .map_err(|e| SystemdError(format!("GetAll reply: {e}")))?;
        let get = |k: &str| -> String {
            props
                .get(k)
                .and_then(|v| <&str>::try_from(&**v).ok().map(str::to_owned))
                .unwrap_or_else(|| "unknown".into())
        };
        Ok(UnitState {
            unit: unit.to_owned(),
            load_state: get("LoadState"),
            active_state: get("ActiveState"),
            sub_state: get("SubState"),
        })
    }

    fn start_transient(
        &self,
        unit: &str,
        description: &str,
        argv: &[String],
        cleanup: &[String],
    ) -> Result<(), SystemdError> {
        let exec: Vec<(String, Vec<String>, bool)> = vec![(argv[0].clone(), argv.to_vec(), false)];
        let mut props: Vec<(&str, Value<'_>)> = vec![
            ("Description", Value::from(description)),
            ("ExecStart", Value::from(exec)),
            ("CollectMode", Value::from("inactive-or-failed")),
            // Kept until this client disconnects, so an attached caller
            // can read the exit status of a unit that already ended.
            ("AddRef", Value::from(true)),
        ];
        if !cleanup.is_empty() {
            // (path, argv, ignore failure)
            let post: Vec<(String, Vec<String>, bool)> =
                vec![(cleanup[0].clone(), cleanup.to_vec(), true)];
            props.push(("ExecStopPost", Value::from(post)));
        }
        let aux: Vec<(&str, Vec<(&str, Value<'_>)>)> = Vec::new();
        self.manager("StartTransientUnit", &(unit, "fail", props, aux))
            .map(drop)
    }

    fn read_journal(
        &self,
        query: &JournalQuery,
        each: &mut dyn FnMut(JournalEvent) -> ControlFlow<()>,
    ) -> Result<(), SystemdError> {
        let mut c = self.host.command("journalctl");
        c.args(["--no-pager", "--quiet", "--output=json", "--all"]);
        match query.lines {
            Some(n) => c.arg(format!("--lines={n}")),
            None => c.arg("--lines=all"),
        };
        if let Some(t) = &query.since {
            c.arg(format!("--since={t}"));
        }
        if let Some(t) = &query.until {
            c.arg(format!("--until={t}"));
        }
        if query.follow {
            c.arg("--follow");
        }
        for u in &query.units {
            c.arg(format!("--unit={u}"));
        }
        c.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c
            .spawn()
            .map_err(|e| SystemdError(format!("journalctl: {e}")))?;
        let stdout = child.stdout.take().expect("piped");
        // stderr is read on its own thread, so a chatty journalctl never
        // blocks on a full stderr pipe while we read stdout.
        let mut stderr = child.stderr.take().expect("piped");
        let errors = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = (&mut stderr).take(4096).read_to_end(&mut b);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            b
        });
        // Lines come through a small bounded channel: when the caller is
        // slow, the reader blocks, then journalctl on its pipe
        // (backpressure, no unbounded buffer).
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<String>>(64);
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout.take(MAX_JOURNAL_BYTES));
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if tx.send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let mut failure = None;
        let mut stopped = false;
        loop {
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(Ok(line)) => match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(serde_json::Value::Object(m)) => {
                        if each(JournalEvent::Entry(m)).is_break() {
                            stopped = true;
                            break;
                        }
                    }
                    _ => {
                        failure = Some(format!(
                            "journalctl output is not a JSON object: {:?}",
                            line.trim_end().chars().take(200).collect::<String>()
                        ));
                        break;
                    }
                },
                Ok(Err(e)) => {
                    failure = Some(format!("journalctl output: {e}"));
                    break;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if each(JournalEvent::Idle).is_break() {
                        stopped = true;
                        break;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = child.kill();
        drop(rx);
        let status = child.wait();
        let _ = reader.join();
        let stderr = errors.join().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr.trim();
        if let Some(f) = failure {
            return Err(SystemdError(f));
        }
        if stopped {
            return Ok(());
        }
        match status {
            // Killed by a signal: an interrupt (SIGINT from the terminal
            // reaches journalctl too) ends a follow cleanly.
            Ok(s) if s.success() || s.code().is_none() => Ok(()),
            Ok(s) if stderr.is_empty() => Err(SystemdError(format!("journalctl: {s}"))),
            Ok(s) => Err(SystemdError(format!("journalctl: {s}: {stderr}"))),
            Err(e) => Err(SystemdError(format!("journalctl: {e}"))),
        }
    }

    fn run_unit_job(&self, op: UnitOp, unit: &str) -> Result<String, SystemdError> {
        let method = match op {
            UnitOp::Start => "StartUnit",
            UnitOp::Stop => "StopUnit",
            UnitOp::Restart => "RestartUnit",
        };
        let conn = self.conn()?;
        let bus = |e: zbus::Error| SystemdError(format!("waiting for {unit}: {e}"));
        // Listen before queueing, so the job's JobRemoved cannot be missed.
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(DEST)
            .and_then(|b| b.path(PATH))
            .and_then(|b| b.interface(MANAGER))
            .and_then(|b| b.member("JobRemoved"))
            .map_err(bus)?
            .build();
        let signals =
            zbus::blocking::MessageIterator::for_match_rule(rule, conn, Some(256)).map_err(bus)?;
        // The manager emits job signals only while a client is subscribed;
        // a job on several units waits on this connection more than once.
        self.subscribed
            .get_or_init(|| self.manager("Subscribe", &()).map(drop).map_err(|e| e.0))
            .clone()
            .map_err(SystemdError)?;
        let reply = self.manager(method, &(unit, "replace"))?;
        let job: OwnedObjectPath = reply
            .body()
            .deserialize()
            .map_err(|e| SystemdError(format!("{method} reply: {e}")))?;
        for msg in signals {
            let msg = msg.map_err(bus)?;
            let Ok((_id, path, _unit, result)) = msg
                .body()
                .deserialize::<(u32, OwnedObjectPath, String, String)>()
            else {
                continue;
            };
            if path == job {
                return Ok(result);
            }
        }
        Err(SystemdError(format!(
            "waiting for {unit}: the bus connection closed"
        )))
    }

    fn service_outcome(&self, unit: &str) -> Result<ServiceOutcome, SystemdError> {
        let msg = self.manager("LoadUnit", &(unit,))?;
        let path: OwnedObjectPath = msg
            .body()
            .deserialize()
            .map_err(|e| SystemdError(format!("LoadUnit reply: {e}")))?;
        let all = |iface: &str| -> Result<HashMap<String, OwnedValue>, SystemdError> {
            self.conn()?
                .call_method(
                    Some(DEST),
                    path.as_str(),
                    Some("org.freedesktop.DBus.Properties"),
                    "GetAll",
                    &(iface,),
                )
                .map_err(|e| SystemdError(format!("GetAll {unit}: {e}")))?
                .body()
                .deserialize()
                .map_err(|e| SystemdError(format!("GetAll reply: {e}")))
        };
        let u = all("org.freedesktop.systemd1.Unit")?;
        let text = |m: &HashMap<String, OwnedValue>, k: &str| -> String {
            m.get(k)
                .and_then(|v| <&str>::try_from(&**v).ok().map(str::to_owned))
                .unwrap_or_else(|| "unknown".into())
        };
        let load_state = text(&u, "LoadState");
        // A unit that is gone has no Service properties.
        let svc = if load_state == "loaded" {
            all("org.freedesktop.systemd1.Service").unwrap_or_default()
        } else {
            HashMap::new()
        };
        let int = |k: &str| -> i32 {
            svc.get(k)
                .and_then(|v| i32::try_from(&**v).ok())
                .unwrap_or(0)
        };
        Ok(ServiceOutcome {
            active_state: text(&u, "ActiveState"),
            result: text(&svc, "Result"),
            exec_main_code: int("ExecMainCode"),
            exec_main_status: int("ExecMainStatus"),
            load_state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn journalctl_stderr_is_in_the_error() {
        let d = tempfile::tempdir().unwrap();
        let j = d.path().join("journalctl");
        std::fs::write(
            &j,
            "#!/bin/sh\necho '{\"MESSAGE\":\"partial\"}'\necho 'Failed to open journal: No such file' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&j, std::fs::Permissions::from_mode(0o755)).unwrap();
        let host = Host::new(Some(&format!("{}:/usr/bin:/bin", d.path().display())));
        let s = DbusSystemd::new(host);
        let mut out = Vec::new();
        let q = JournalQuery {
            units: vec!["berth-web.service".into()],
            ..JournalQuery::default()
        };
        let e = s
            .read_journal(&q, &mut |ev| {
                if let JournalEvent::Entry(m) = ev {
                    out.push(m["MESSAGE"].clone());
                }
                ControlFlow::Continue(())
            })
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("Failed to open journal: No such file"),
            "{e}"
        );
        assert_eq!(out, vec![serde_json::json!("partial")]);
    }
}
