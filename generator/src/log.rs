//! Logging as systemd generators do it: to the kernel log (`/dev/kmsg`,
//! each line `<priority>berth-generator[pid]: message`) when it can be
//! opened for writing, else to stderr. Honours systemd's own
//! `SYSTEMD_LOG_TARGET` (`console`, `kmsg`, `auto`) and `SYSTEMD_LOG_LEVEL`
//! (a name such as `info` or a number 0-7), see systemd(1).

use std::fs::File;
use std::io::Write;

/// syslog priorities (syslog(3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// 3
    Err = 3,
    /// 4
    Warning = 4,
    /// 5
    Notice = 5,
    /// 6
    Info = 6,
    /// 7
    Debug = 7,
}

/// Where log lines go.
pub struct Logger {
    kmsg: Option<File>,
    max: Level,
    pid: u32,
}

fn parse_level(s: &str) -> Option<Level> {
    Some(match s {
        "0" | "1" | "2" | "3" | "emerg" | "alert" | "crit" | "err" => Level::Err,
        "4" | "warning" => Level::Warning,
        "5" | "notice" => Level::Notice,
        "6" | "info" => Level::Info,
        "7" | "debug" => Level::Debug,
        _ => return None,
    })
}

impl Logger {
    /// A logger configured from the environment; `console_only` forces
    /// stderr (used by `--dry-run`).
    pub fn from_env(console_only: bool) -> Self {
        let target = std::env::var("SYSTEMD_LOG_TARGET").unwrap_or_default();
        let want_kmsg = !console_only && target != "console";
        let kmsg = if want_kmsg {
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/kmsg")
                .ok()
        } else {
            None
        };
        let max = std::env::var("SYSTEMD_LOG_LEVEL")
            .ok()
            .and_then(|s| parse_level(&s))
            .unwrap_or(Level::Info);
        Logger {
            kmsg,
            max,
            pid: std::process::id(),
        }
    }

    /// A logger writing kernel-log records to `file` (tests use a plain
    /// file in place of `/dev/kmsg`).
    pub fn to_kmsg_file(file: File, max: Level) -> Self {
        Logger {
            kmsg: Some(file),
            max,
            pid: std::process::id(),
        }
    }

    /// Logs one line at `level` (dropped when above the configured level).
    /// A failed kmsg write falls back to stderr; logging never fails.
    pub fn log(&mut self, level: Level, msg: &str) {
        if level > self.max {
            return;
        }
        // One line per message: kmsg splits records at newlines.
        let msg = msg.replace('\n', "\\n");
        if let Some(k) = self.kmsg.as_mut() {
            let line = format!("<{}>berth-generator[{}]: {}\n", level as u8, self.pid, msg);
            if k.write_all(line.as_bytes()).is_ok() {
                return;
            }
        }
        let _ = writeln!(std::io::stderr().lock(), "berth-generator: {msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records_carry_priority_tag_and_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kmsg");
        let f = File::create(&path).unwrap();
        let mut log = Logger::to_kmsg_file(f, Level::Info);
        log.log(
            Level::Err,
            "rejected /etc/berth/containers/x.json: field Image: bad\nsecond",
        );
        log.log(Level::Debug, "dropped: above the level");
        log.log(Level::Info, "x is shadowed by y");
        let text = std::fs::read_to_string(&path).unwrap();
        let pid = std::process::id();
        assert_eq!(
            text,
            format!(
                "<3>berth-generator[{pid}]: rejected /etc/berth/containers/x.json: field Image: bad\\nsecond\n\
<6>berth-generator[{pid}]: x is shadowed by y\n"
            )
        );
    }

    #[test]
    fn levels_parse_like_systemd() {
        assert_eq!(parse_level("debug"), Some(Level::Debug));
        assert_eq!(parse_level("4"), Some(Level::Warning));
        assert_eq!(parse_level("crit"), Some(Level::Err));
        assert_eq!(parse_level("loud"), None);
    }
}
