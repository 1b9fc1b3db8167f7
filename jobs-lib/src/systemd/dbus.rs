//! systemd over D-Bus (org.freedesktop.systemd1(5)) with zbus's blocking
//! API; `journalctl` for the journal, which has no D-Bus call.

use super::{Systemd, SystemdError, UnitState};
use crate::host::Host;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::OnceLock;
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// Most bytes [`Systemd::journal`] copies, whatever `lines` says.
pub const MAX_JOURNAL_BYTES: u64 = 16 << 20;

/// The system manager on the system bus; connects on first use.
pub struct DbusSystemd {
    conn: OnceLock<Result<Connection, String>>,
    host: Host,
}

impl DbusSystemd {
    /// A client that runs `journalctl` with `host`.
    pub fn new(host: Host) -> DbusSystemd {
        DbusSystemd {
            conn: OnceLock::new(),
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

    fn journal(
        &self,
        units: &[String],
        lines: u32,
        out: &mut dyn Write,
    ) -> Result<(), SystemdError> {
        let mut c = self.host.command("journalctl");
        c.args(["--no-pager", "--quiet", "--output=short-iso"])
            .arg(format!("--lines={lines}"));
        for u in units {
            c.arg(format!("--unit={u}"));
        }
        c.stdout(std::process::Stdio::piped())
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
        let copied = std::io::copy(&mut stdout.take(MAX_JOURNAL_BYTES), out);
        let _ = child.kill();
        let status = child.wait();
        let stderr = errors.join().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr.trim();
        copied.map_err(|e| SystemdError(format!("journalctl output: {e}")))?;
        match status {
            Ok(s) if s.success() || s.code().is_none() => Ok(()),
            Ok(s) if stderr.is_empty() => Err(SystemdError(format!("journalctl: {s}"))),
            Ok(s) => Err(SystemdError(format!("journalctl: {s}: {stderr}"))),
            Err(e) => Err(SystemdError(format!("journalctl: {e}"))),
        }
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
            "#!/bin/sh\necho partial\necho 'Failed to open journal: No such file' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&j, std::fs::Permissions::from_mode(0o755)).unwrap();
        let host = Host::new(Some(&format!("{}:/usr/bin:/bin", d.path().display())));
        let s = DbusSystemd::new(host);
        let mut out = Vec::new();
        let e = s
            .journal(&["berth-web.service".into()], 10, &mut out)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("Failed to open journal: No such file"),
            "{e}"
        );
        assert_eq!(out, b"partial\n");
    }
}
