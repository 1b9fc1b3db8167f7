//! The rules of the fields that tie a container to podman's health check
//! and to other containers: `Health` and `Notify: "healthy"`, `Requires`,
//! `Wants`, `After`, `Group` and `AutoUpdate`. Each rule names its field
//! and says what the value must be (and why, when podman is the reason).

use super::validate::{no_nul, validate_id, ID_RULE};
use super::{AutoUpdate, Definition, FieldError, HealthOnFailure, Notify};
use std::collections::HashMap;

/// Longest `Health.Interval`, `Health.Timeout` and `Health.StartPeriod`
/// accepted, in seconds (a day): longer is a typo rather than a check, and
/// the bound keeps the unit's derived start timeout finite and readable.
pub const MAX_HEALTH_SECONDS: u32 = 86_400;

/// Most `Health.Retries` accepted.
pub const MAX_HEALTH_RETRIES: u32 = 100;

/// Group names that would make `berth-<Group>.target` read as one of
/// berth's own units (`berth-proxy@<id>.service`, `berth-api.socket`,
/// `berth-api.service`).
pub const RESERVED_GROUPS: &[&str] = &["proxy", "api"];

/// The words podman's `--health-cmd` reads as Docker `HEALTHCHECK`
/// keywords when they come first (any case; podman's
/// `MakeHealthCheckFromCli`).
const HEALTHCHECK_KEYWORDS: &[&str] = &["CMD", "CMD-SHELL", "NONE"];

impl Definition {
    pub(crate) fn check_health(&self) -> Result<(), FieldError> {
        let Some(ref h) = self.health else {
            if self.notify == Notify::Healthy {
                return Err(FieldError::new(
                    "Notify",
                    "\"healthy\" waits for the Health check to pass: it needs Health",
                ));
            }
            return Ok(());
        };
        if h.cmd.is_empty() {
            return Err(FieldError::new(
                "Health.Cmd",
                "must hold at least one argument: the check's program, then its arguments",
            ));
        }
        for (i, a) in h.cmd.iter().enumerate() {
            no_nul(&format!("Health.Cmd[{i}]"), a)?;
        }
        let program = &h.cmd[0];
        if program.is_empty() {
            return Err(FieldError::new(
                "Health.Cmd[0]",
                "the program must not be empty",
            ));
        }
        let upper: String = program.chars().flat_map(char::to_uppercase).collect();
        if HEALTHCHECK_KEYWORDS.contains(&upper.as_str()) {
            return Err(FieldError::new(
                "Health.Cmd[0]",
                format!(
                    "must not be CMD, CMD-SHELL or NONE in any case (got {program:?}): podman reads them as \
Docker HEALTHCHECK keywords; give the program to run (Cmd runs without a shell; for one, write [\"/bin/sh\", \"-c\", \"...\"])"
                ),
            ));
        }
        if h.cmd.len() == 1 && program.chars().any(char::is_whitespace) {
            return Err(FieldError::new(
                "Health.Cmd[0]",
                format!(
                    "a check of one argument must not contain whitespace (got {program:?}): podman runs a \
one-element command through /bin/sh -c, so berth passes it as \"CMD <program>\", which podman splits at \
whitespace; give the arguments as further elements"
                ),
            ));
        }
        for (name, value, min, max) in [
            ("Interval", h.interval, 1, MAX_HEALTH_SECONDS),
            ("Timeout", h.timeout, 1, MAX_HEALTH_SECONDS),
            ("StartPeriod", h.start_period, 0, MAX_HEALTH_SECONDS),
            ("Retries", h.retries, 1, MAX_HEALTH_RETRIES),
        ] {
            if let Some(v) = value {
                if v < min || v > max {
                    let unit = if name == "Retries" { "" } else { " seconds" };
                    return Err(FieldError::new(
                        format!("Health.{name}"),
                        format!("must be {min} to {max}{unit} (got {v})"),
                    ));
                }
            }
        }
        if h.on_failure == Some(HealthOnFailure::Restart) {
            return Err(FieldError::new(
                "Health.OnFailure",
                "restart makes podman restart the container behind systemd's back (podman-run(1): in a \
systemd unit use kill or stop); use kill, and the unit's Restart= (default on-failure) starts it again",
            ));
        }
        Ok(())
    }

    pub(crate) fn check_dependencies(&self) -> Result<(), FieldError> {
        // Requires and Wants both pull the other container in; one id in
        // both says two different things. After orders either, so it may
        // repeat an id of Wants (Requires already orders).
        let mut pulled: HashMap<&str, String> = HashMap::new();
        for (name, ids) in [
            ("Requires", &self.requires),
            ("Wants", &self.wants),
            ("After", &self.after),
        ] {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for (i, id) in ids.iter().enumerate() {
                let field = format!("{name}[{i}]");
                if validate_id(id).is_err() {
                    return Err(FieldError::new(
                        field,
                        format!("must be a container id: {ID_RULE} (got {id:?})"),
                    ));
                }
                if let Some(j) = seen.insert(id, i) {
                    return Err(FieldError::new(
                        field,
                        format!("{id} is already listed in {name}[{j}]"),
                    ));
                }
                if name != "After" {
                    if let Some(prev) = pulled.insert(id, field.clone()) {
                        return Err(FieldError::new(
                            field,
                            format!("{id} is already listed in {prev}: a container is either required or wanted"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn check_group(&self) -> Result<(), FieldError> {
        let Some(ref g) = self.group else {
            return Ok(());
        };
        if RESERVED_GROUPS.contains(&g.as_str()) {
            return Err(FieldError::new(
                "Group",
                format!(
                    "{g} is reserved: berth-{g}.target would read as one of berth's own units \
(berth-proxy@<id>.service, berth-api.socket, berth-api.service); choose another name"
                ),
            ));
        }
        if validate_id(g).is_err() {
            return Err(FieldError::new(
                "Group",
                format!(
                    "a group name follows the id rule, {ID_RULE}, since it names berth-<Group>.target (got {g:?})"
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn check_auto_update(&self) -> Result<(), FieldError> {
        // The labels auto-update reads are refused in `Labels` by
        // `check_labels` (run_options.rs).
        let Some(policy) = self.auto_update else {
            return Ok(());
        };
        let image = self.image.as_str();
        let (rest, digest) = match image.split_once('@') {
            Some((r, _)) => (r, true),
            None => (image, false),
        };
        if digest {
            return Err(FieldError::new(
                "AutoUpdate",
                format!(
                    "needs an Image referenced by tag, not digest: a reference pinned by digest never changes, \
so there is nothing to update (got {image:?})"
                ),
            ));
        }
        if policy == AutoUpdate::Registry {
            let components: Vec<&str> = rest.split('/').collect();
            let domain = components.len() > 1
                && (components[0].contains('.')
                    || components[0].contains(':')
                    || components[0] == "localhost");
            let last = components.last().copied().unwrap_or_default();
            let tagged = last.contains(':');
            if !domain || !tagged {
                return Err(FieldError::new(
                    "AutoUpdate",
                    format!(
                        "registry needs a fully-qualified Image: registry host, name and tag, such as \
quay.io/podman/stable:latest (podman auto-update refuses short names, a missing tag and digests; got {image:?})"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks the rules that need the container's own id: no `Requires`,
    /// `Wants` or `After` names the container itself. [`crate::load_file`]
    /// applies it to every stored definition (the generator and the jobs
    /// read through it); an install request checks it with the id it is
    /// for.
    ///
    /// Errors: [`FieldError`] naming the entry (`Requires[0]`).
    pub fn validate_references(&self, id: &str) -> Result<(), FieldError> {
        for (name, ids) in [
            ("Requires", &self.requires),
            ("Wants", &self.wants),
            ("After", &self.after),
        ] {
            if let Some(i) = ids.iter().position(|d| d == id) {
                return Err(FieldError::new(
                    format!("{name}[{i}]"),
                    format!("must not name the container itself ({id})"),
                ));
            }
        }
        Ok(())
    }

    /// The ids this container depends on (`Requires`, `Wants`, `After`),
    /// in that order, each once.
    pub fn dependency_ids(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for id in self.requires.iter().chain(&self.wants).chain(&self.after) {
            if !out.contains(&id.as_str()) {
                out.push(id);
            }
        }
        out
    }

    /// The start timeout (`TimeoutStartSec=`, seconds) of a unit that
    /// becomes active only once the health check passes
    /// (`Notify: "healthy"`), else `None` (systemd's default applies).
    ///
    /// The rule: systemd's default 90 s (for podman to create and start the
    /// container) plus the longest podman's check can take to decide:
    /// `StartPeriod`, the first check one `Interval` after the start, and
    /// `Retries` failing checks of up to `Timeout` each, `Interval` apart:
    /// `90 + StartPeriod + (Retries + 1) × (Interval + Timeout)`, with
    /// podman's defaults (Interval 30, Timeout 30, Retries 3, StartPeriod 0)
    /// for what is not given: 330 s for a check with only `Cmd`.
    pub fn healthy_start_timeout(&self) -> Option<u64> {
        if self.notify != Notify::Healthy {
            return None;
        }
        let h = self.health.as_ref()?;
        let interval = u64::from(h.interval.unwrap_or(30));
        let timeout = u64::from(h.timeout.unwrap_or(30));
        let retries = u64::from(h.retries.unwrap_or(3));
        let start = u64::from(h.start_period.unwrap_or(0));
        Some(90 + start + (retries + 1) * (interval + timeout))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Definition, FieldError};

    fn parse(json: &str) -> Result<Definition, FieldError> {
        Definition::from_json(json.as_bytes())
    }

    /// The definition `{"Image": image, <fields>}` is rejected naming
    /// `field`, with a rule containing `rule`.
    fn rejects(image: &str, fields: &str, field: &str, rule: &str) {
        let json = format!(r#"{{"Image": "{image}", {fields}}}"#);
        let e = parse(&json).expect_err(&json);
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.rule.contains(rule), "{json}: {e}");
    }

    fn accepts(image: &str, fields: &str) -> Definition {
        let json = format!(r#"{{"Image": "{image}", {fields}}}"#);
        parse(&json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    const IMG: &str = "localhost/app";

    #[test]
    fn health_rules() {
        accepts(IMG, r#""Health": {"Cmd": ["/bin/check"]}"#);
        accepts(
            IMG,
            r#""Health": {"Cmd": ["/bin/check", "a b", ""]}, "Notify": true"#,
        );
        accepts(
            IMG,
            r#""Health": {"Cmd": ["c", "x"], "Interval": 1, "Timeout": 86400, "Retries": 100, "StartPeriod": 0, "OnFailure": "kill"}, "Notify": "healthy""#,
        );
        rejects(IMG, r#""Notify": "healthy""#, "Notify", "needs Health");
        rejects(
            IMG,
            r#""Health": {"Cmd": []}"#,
            "Health.Cmd",
            "at least one",
        );
        rejects(IMG, r#""Health": {}"#, "Health.Cmd", "at least one");
        rejects(
            IMG,
            r#""Health": {"Cmd": ["", "x"]}"#,
            "Health.Cmd[0]",
            "empty",
        );
        rejects(
            IMG,
            r#""Health": {"Cmd": ["c", "a\u0000"]}"#,
            "Health.Cmd[1]",
            "NUL",
        );
        for kw in ["CMD", "cmd", "Cmd-Shell", "NONE", "none", "cmd-ſhell"] {
            rejects(
                IMG,
                &format!(r#""Health": {{"Cmd": ["{kw}", "x"]}}"#),
                "Health.Cmd[0]",
                "HEALTHCHECK keywords",
            );
        }
        rejects(
            IMG,
            r#""Health": {"Cmd": ["/bin/check --x"]}"#,
            "Health.Cmd[0]",
            "whitespace",
        );
        rejects(
            IMG,
            r#""Health": {"Cmd": ["c\u00a0x"]}"#,
            "Health.Cmd[0]",
            "whitespace",
        );
        for (k, v, rule) in [
            ("Interval", 0, "1 to 86400 seconds (got 0)"),
            ("Interval", 86401, "1 to 86400 seconds"),
            ("Timeout", 0, "1 to 86400 seconds"),
            ("StartPeriod", 86401, "0 to 86400 seconds"),
            ("Retries", 0, "1 to 100 (got 0)"),
            ("Retries", 101, "1 to 100"),
        ] {
            rejects(
                IMG,
                &format!(r#""Health": {{"Cmd": ["c"], "{k}": {v}}}"#),
                &format!("Health.{k}"),
                rule,
            );
        }
        rejects(
            IMG,
            r#""Health": {"Cmd": ["c"], "OnFailure": "restart"}"#,
            "Health.OnFailure",
            "use kill",
        );
        rejects(
            IMG,
            r#""Health": {"Cmd": ["c"], "Bogus": 1}"#,
            "Health.Bogus",
            "unknown field",
        );
    }

    #[test]
    fn healthy_start_timeout_rule() {
        let d = accepts(IMG, r#""Health": {"Cmd": ["c"]}, "Notify": "healthy""#);
        assert_eq!(d.healthy_start_timeout(), Some(90 + 4 * 60));
        let d = accepts(
            IMG,
            r#""Health": {"Cmd": ["c"], "Interval": 10, "Timeout": 5, "Retries": 2, "StartPeriod": 60}, "Notify": "healthy""#,
        );
        assert_eq!(d.healthy_start_timeout(), Some(90 + 60 + 3 * 15));
        let d = accepts(IMG, r#""Health": {"Cmd": ["c"]}, "Notify": true"#);
        assert_eq!(d.healthy_start_timeout(), None);
        // The largest values stay a finite, exact number of seconds.
        let d = accepts(
            IMG,
            r#""Health": {"Cmd": ["c"], "Interval": 86400, "Timeout": 86400, "Retries": 100, "StartPeriod": 86400}, "Notify": "healthy""#,
        );
        assert_eq!(d.healthy_start_timeout(), Some(90 + 86_400 + 101 * 172_800));
    }

    #[test]
    fn dependency_rules() {
        let d = accepts(
            IMG,
            r#""Requires": ["db"], "Wants": ["cache"], "After": ["db", "cache", "x.y_z-1"]"#,
        );
        assert_eq!(d.dependency_ids(), ["db", "cache", "x.y_z-1"]);
        for (name, bad) in [
            ("Requires", "Db"),
            ("Wants", ""),
            ("After", "a b"),
            ("After", "-x"),
            ("Requires", "proxy@db"),
            ("Wants", "abcdefghijklmnopqrstuvwxyz123"),
        ] {
            rejects(
                IMG,
                &format!(r#""{name}": ["ok", "{bad}"]"#),
                &format!("{name}[1]"),
                "must be a container id",
            );
        }
        rejects(
            IMG,
            r#""Requires": ["db", "db"]"#,
            "Requires[1]",
            "already listed in Requires[0]",
        );
        rejects(
            IMG,
            r#""After": ["db", "x", "db"]"#,
            "After[2]",
            "already listed in After[0]",
        );
        rejects(
            IMG,
            r#""Requires": ["db"], "Wants": ["db"]"#,
            "Wants[0]",
            "either required or wanted",
        );
        // Requires orders already; After may repeat Requires or Wants.
        accepts(
            IMG,
            r#""Requires": ["db"], "Wants": ["c"], "After": ["db", "c"]"#,
        );
        let d = accepts(IMG, r#""After": ["web"], "Wants": ["db"]"#);
        let e = d.validate_references("web").unwrap_err();
        assert_eq!(e.field, "After[0]");
        assert!(e.rule.contains("itself (web)"), "{e}");
        assert!(d.validate_references("db").is_err());
        assert!(d.validate_references("other").is_ok());
    }

    /// A stored definition naming itself is rejected when loaded, naming
    /// the file and the field.
    #[test]
    fn load_rejects_a_self_reference() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("web.json");
        std::fs::write(&p, r#"{"Image": "localhost/web", "Requires": ["web"]}"#).unwrap();
        let e = crate::load_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("web.json") && e.contains("field Requires[0]"),
            "{e}"
        );
    }

    #[test]
    fn group_rules() {
        accepts(IMG, r#""Group": "shop""#);
        accepts(IMG, r#""Group": "a.b_c-1""#);
        for bad in [
            "",
            "Shop",
            "a b",
            "-a",
            "a@b",
            "abcdefghijklmnopqrstuvwxyz123",
        ] {
            rejects(IMG, &format!(r#""Group": "{bad}""#), "Group", "id rule");
        }
        for reserved in ["proxy", "api"] {
            rejects(
                IMG,
                &format!(r#""Group": "{reserved}""#),
                "Group",
                "reserved",
            );
        }
        assert_eq!(crate::names::group_target("shop"), "berth-shop.target");
    }

    #[test]
    fn auto_update_rules() {
        accepts(
            "quay.io/podman/stable:latest",
            r#""AutoUpdate": "registry""#,
        );
        accepts(
            "registry.example:5000/a/b:1.0",
            r#""AutoUpdate": "registry""#,
        );
        accepts("localhost:5000/a:1", r#""AutoUpdate": "registry""#);
        accepts("localhost/app", r#""AutoUpdate": "local""#);
        accepts("app:1", r#""AutoUpdate": "local""#);
        for image in [
            "nginx",
            "nginx:latest",
            "library/nginx:1",
            "quay.io/podman/stable",
            "quay.io:443/podman/stable",
        ] {
            rejects(
                image,
                r#""AutoUpdate": "registry""#,
                "AutoUpdate",
                "fully-qualified",
            );
        }
        let digest =
            "quay.io/a/b:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for policy in ["registry", "local"] {
            rejects(
                digest,
                &format!(r#""AutoUpdate": "{policy}""#),
                "AutoUpdate",
                "not digest",
            );
        }
        rejects(
            IMG,
            r#""AutoUpdate": "always""#,
            "AutoUpdate",
            "unknown variant",
        );
        for label in ["io.containers.autoupdate", "PODMAN_SYSTEMD_UNIT"] {
            rejects(
                IMG,
                &format!(r#""Labels": {{"{label}": "x"}}"#),
                &format!("Labels[{label:?}]"),
                "reserved",
            );
        }
    }
}
