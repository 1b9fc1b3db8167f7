//! Host programs the jobs run (useradd, usermod, userdel, podman,
//! journalctl, nsenter, nft, sysctl). Every one starts with an **empty
//! environment** plus a fixed `PATH` and `LC_ALL=C`: nothing of the
//! caller's environment, and never a container's, reaches a host process.
//!
//! `BERTH_HOST_PATH` replaces the `PATH` given to them (tests put recording
//! stand-ins first).

use std::io;
use std::process::{Command, Output, Stdio};

/// The `PATH` host programs get unless `BERTH_HOST_PATH` says otherwise.
pub const DEFAULT_HOST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How to run host programs.
#[derive(Debug, Clone)]
pub struct Host {
    path: String,
}

/// A host program that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{program} failed: {reason}")]
pub struct HostError {
    /// The program and its first arguments.
    pub program: String,
    /// Exit status and stderr, or the spawn error.
    pub reason: String,
    /// The exit code, when it exited.
    pub code: Option<i32>,
}

impl Host {
    /// Host programs searched in `path` (colon-separated).
    pub fn new(path: Option<&str>) -> Host {
        Host {
            path: path.unwrap_or(DEFAULT_HOST_PATH).to_owned(),
        }
    }

    /// A command for `program` with the clean environment.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(self.resolve(program));
        c.env_clear()
            .env("PATH", &self.path)
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        c
    }

    /// The first `program` in the host `PATH` (or the name itself, for
    /// `execvp` to report).
    pub fn resolve(&self, program: &str) -> std::path::PathBuf {
        if program.contains('/') {
            return program.into();
        }
        for d in self.path.split(':').filter(|d| !d.is_empty()) {
            let p = std::path::Path::new(d).join(program);
            if p.is_file() {
                return p;
            }
        }
        program.into()
    }

    /// Runs `cmd` to completion, capturing its output.
    ///
    /// Errors: it could not start, or it exited non-zero (with the first
    /// 400 bytes of its stderr).
    pub fn run(&self, mut cmd: Command) -> Result<Output, HostError> {
        let program = describe(&cmd);
        let out = cmd.output().map_err(|e: io::Error| HostError {
            program: program.clone(),
            reason: e.to_string(),
            code: None,
        })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let err: String = err.trim().chars().take(400).collect();
            return Err(HostError {
                program,
                reason: format!("{}: {}", out.status, err),
                code: out.status.code(),
            });
        }
        Ok(out)
    }
}

/// `program arg1 arg2` (first three arguments) for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args().take(3) {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_programs_get_a_clean_environment() {
        std::env::set_var("BERTH_TEST_PARENT_SECRET", "leak");
        let h = Host::new(None);
        let out = h.run(h.command("env")).unwrap();
        let env = String::from_utf8(out.stdout).unwrap();
        assert!(!env.contains("leak"), "{env}");
        assert!(env.contains("LC_ALL=C"));
        assert_eq!(env.lines().count(), 2, "{env}");
    }

    #[test]
    fn failures_carry_status_and_stderr() {
        let h = Host::new(None);
        let mut c = h.command("sh");
        c.args(["-c", "echo nope >&2; exit 3"]);
        let e = h.run(c).unwrap_err();
        assert_eq!(e.code, Some(3));
        assert!(e.reason.contains("nope"), "{e}");
    }
}
