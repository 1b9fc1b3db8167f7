//! Settings of the jobs: `/etc/berth/berth.conf` (under the root), one
//! `Key=Value` a line, `#` comments, in systemd's own style.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `PortRange=LOW-HIGH` | `20000-32767` | where `External: 0` and backend ports are allocated; the default lies below Linux's ephemeral range (`net.ipv4.ip_local_port_range`, 32768-60999), so the kernel never hands an allocated port to an outgoing connection |
//! | `ExplicitPortRange=LOW-HIGH` | `1-65535` | ports a definition may ask for by number |
//!
//! `BERTH_PORT_RANGE=LOW-HIGH` in the environment overrides `PortRange=`.

use std::fmt;
use std::path::Path;

/// An inclusive range of TCP ports, `first..=last`, `1 <= first <= last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port of the range.
    pub first: u16,
    /// Last port of the range (inclusive).
    pub last: u16,
}

impl PortRange {
    /// The default allocation range, 20000-32767.
    pub const DEFAULT_ALLOCATION: PortRange = PortRange {
        first: 20000,
        last: 32767,
    };
    /// Every port, 1-65535.
    pub const ALL: PortRange = PortRange {
        first: 1,
        last: 65535,
    };

    /// Parses `LOW-HIGH` (1 ≤ LOW ≤ HIGH ≤ 65535).
    pub fn parse(s: &str) -> Option<PortRange> {
        let (a, b) = s.trim().split_once('-')?;
        let first: u16 = a.trim().parse().ok()?;
        let last: u16 = b.trim().parse().ok()?;
        (first >= 1 && first <= last).then_some(PortRange { first, last })
    }

    /// Whether `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }

    /// Number of ports in the range.
    pub fn len(&self) -> u32 {
        u32::from(self.last) - u32::from(self.first) + 1
    }

    /// Never true: a range holds at least one port.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// The jobs' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where ports are allocated.
    pub port_range: PortRange,
    /// Ports a definition may ask for explicitly.
    pub explicit_port_range: PortRange,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            port_range: PortRange::DEFAULT_ALLOCATION,
            explicit_port_range: PortRange::ALL,
        }
    }
}

/// A settings file line that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {reason}")]
pub struct ConfigError {
    /// The settings file.
    pub path: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl Settings {
    /// Reads `path` if it exists (a missing file means the defaults) and
    /// applies `port_range_override` (`BERTH_PORT_RANGE`).
    ///
    /// Errors: an unknown key or a malformed range, naming file and line.
    pub fn load(path: &Path, port_range_override: Option<&str>) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let err = |line: usize, reason: String| ConfigError {
            path: path.display().to_string(),
            line,
            reason,
        };
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            let (k, v) = l
                .split_once('=')
                .ok_or_else(|| err(i + 1, format!("expected Key=Value (got {l:?})")))?;
            let range = PortRange::parse(v).ok_or_else(|| {
                err(
                    i + 1,
                    format!("{k}= must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535 (got {v:?})"),
                )
            })?;
            match k.trim() {
                "PortRange" => s.port_range = range,
                "ExplicitPortRange" => s.explicit_port_range = range,
                other => {
                    return Err(err(
                        i + 1,
                        format!("unknown key {other:?} (known: PortRange, ExplicitPortRange)"),
                    ))
                }
            }
        }
        if let Some(o) = port_range_override {
            s.port_range = PortRange::parse(o).ok_or_else(|| ConfigError {
                path: "BERTH_PORT_RANGE".into(),
                line: 0,
                reason: format!("must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535 (got {o:?})"),
            })?;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        assert_eq!(
            PortRange::parse("100-200"),
            Some(PortRange {
                first: 100,
                last: 200
            })
        );
        assert_eq!(PortRange::parse("200-100"), None);
        assert_eq!(PortRange::parse("0-100"), None);
        assert_eq!(PortRange::parse("1-70000"), None);
        assert_eq!(PortRange::parse("5-5").unwrap().len(), 1);
    }

    #[test]
    fn settings_file_and_override() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("berth.conf");
        std::fs::write(
            &f,
            "# c\nPortRange=3000-3999\nExplicitPortRange=1024-65535\n",
        )
        .unwrap();
        let s = Settings::load(&f, None).unwrap();
        assert_eq!(s.port_range.to_string(), "3000-3999");
        assert_eq!(s.explicit_port_range.first, 1024);
        let s = Settings::load(&f, Some("5000-5001")).unwrap();
        assert_eq!(s.port_range.to_string(), "5000-5001");
        std::fs::write(&f, "Bogus=1-2\n").unwrap();
        let e = Settings::load(&f, None).unwrap_err();
        assert!(e.to_string().contains("unknown key"), "{e}");
        assert_eq!(
            Settings::load(&dir.path().join("none"), None).unwrap(),
            Settings::default()
        );
    }
}
