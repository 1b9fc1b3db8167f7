//! Per-container users: an isolated container runs as the system user
//! `ctr-<id>` (no login shell, home `/var/lib/berth/home/<id>`) with a
//! subordinate uid/gid range (`SubordinateRange`, subuid(5)/subgid(5)) that
//! podman maps the container's users to, so root in the container is an
//! unprivileged range on the host.
//!
//! The distro tools do the edits (`useradd --system`, `usermod
//! --add-subuids/--add-subgids`, `userdel`, `groupdel`), with `--prefix
//! <root>` under a root prefix (shadow-utils' own locking protects the
//! files); the one edit berth makes itself (dropping a deleted user's
//! subordinate lines that userdel left) takes shadow-utils' lock,
//! lckpwdf(3)'s `fcntl` write lock on `/etc/.pwd.lock`.
//!
//! **Never handed out twice.** A uid, or a subordinate range, that a
//! deleted container had may still own files somewhere (a volume, a
//! backup); giving it to a new container would give it those files. So
//! berth picks both itself, under the store lock, and persists how far it
//! got: `/var/lib/berth/uid.next` (uids go down from login.defs(5)
//! `SYS_UID_MAX`, as useradd's own system uids do, so the two meet only
//! when the range is used up) and `/var/lib/berth/subid.next` (subordinate
//! ranges go up from `SUB_UID_MIN`). Each mark is written before the id is
//! used and only ever moves away from the ids handed out, over the life of
//! the host; the group `ctr-<id>` gets the uid as its gid.

use crate::host::{Host, HostError};
use crate::paths::Paths;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;

/// Size of a container's subordinate range (login.defs(5) `SUB_UID_COUNT`).
pub const SUBID_COUNT: u32 = 65536;
/// Lowest subordinate id handed out (login.defs(5) `SUB_UID_MIN`).
pub const SUBID_MIN: u32 = 100_000;
/// Highest subordinate id (login.defs(5) `SUB_UID_MAX`).
pub const SUBID_MAX: u32 = 600_100_000;
/// The shell of container users.
pub const NOLOGIN: &str = "/usr/sbin/nologin";

pub use crate::definition::names::user_name;

/// A subordinate id range: `start .. start+count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubordinateRange {
    /// First id.
    pub start: u32,
    /// Number of ids.
    pub count: u32,
}

/// A container user as created.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUser {
    /// `ctr-<id>`.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Its subordinate uid and gid range (the same numbers for both).
    pub subordinate: SubordinateRange,
}

/// Why a user could not be created or removed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// A tool failed.
    #[error(transparent)]
    Tool(#[from] HostError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The user exists and berth did not create it.
    #[error("user {0} exists already and was not created by berth")]
    Foreign(String),
    /// No subordinate range is left.
    #[error("no free subordinate id range of {SUBID_COUNT} ids below {SUBID_MAX}")]
    NoSubordinateRange,
    /// Every system uid berth may use was handed out once.
    #[error("no system uid left that was never used (SYS_UID_MIN-SYS_UID_MAX {0}-{1} of login.defs, from {2} down)")]
    NoUid(u32, u32, u32),
    /// shadow-utils' lock could not be taken.
    #[error("{0}: the account files are locked (lckpwdf): {1}")]
    Locked(String, io::Error),
}

/// A held lckpwdf(3) lock; dropping it unlocks (closing the file drops a
/// POSIX record lock).
struct PasswdLock {
    _file: fs::File,
}

/// User management under a root.
pub struct Users<'a> {
    paths: &'a Paths,
    host: &'a Host,
}

impl<'a> Users<'a> {
    /// Users of the installation at `paths`, edited with `host`'s tools.
    pub fn new(paths: &'a Paths, host: &'a Host) -> Users<'a> {
        Users { paths, host }
    }

    fn prefixed(&self, program: &str) -> std::process::Command {
        let mut c = self.host.command(program);
        if !self.paths.is_host_root() {
            c.arg("--prefix").arg(self.paths.root());
        }
        c
    }

    /// `(uid, gid)` of `name` from `<root>/etc/passwd`.
    pub fn lookup(&self, name: &str) -> io::Result<Option<(u32, u32)>> {
        let text = match fs::read_to_string(self.paths.etc("passwd")) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[0] == name)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        }))
    }

    /// The subordinate range of `name` in `<root>/etc/<file>` (`subuid`,
    /// `subgid`), matched on the whole name field.
    pub fn subordinate(&self, file: &str, name: &str) -> io::Result<Vec<SubordinateRange>> {
        Ok(parse_subid(&read_or_empty(&self.paths.etc(file))?)
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, r)| r)
            .collect())
    }

    fn mark(&self, name: &str) -> std::path::PathBuf {
        self.paths.state_dir().join(name)
    }

    fn read_mark(&self, name: &str) -> io::Result<Option<u32>> {
        match fs::read_to_string(self.mark(name)) {
            Ok(t) => Ok(t.trim().parse().ok()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write_mark(&self, name: &str, value: u32) -> io::Result<()> {
        crate::fsutil::write_atomic(&self.mark(name), format!("{value}\n").as_bytes(), None, "")
    }

    /// A free range: above every range in subuid and subgid and above
    /// every range berth ever handed out (`subid.next`), which moves past
    /// it before it is used.
    fn free_range(&self) -> Result<SubordinateRange, UserError> {
        let mut top = SUBID_MIN.max(self.read_mark("subid.next")?.unwrap_or(0));
        for f in ["subuid", "subgid"] {
            for (_, r) in parse_subid(&read_or_empty(&self.paths.etc(f))?) {
                top = top.max(r.start.saturating_add(r.count));
            }
        }
        if top.saturating_add(SUBID_COUNT) > SUBID_MAX {
            return Err(UserError::NoSubordinateRange);
        }
        self.write_mark("subid.next", top + SUBID_COUNT)?;
        Ok(SubordinateRange {
            start: top,
            count: SUBID_COUNT,
        })
    }

    /// A system uid free as uid and as gid and below every uid berth ever
    /// handed out (`uid.next`, moved below it before it is used).
    fn free_uid(&self) -> Result<u32, UserError> {
        let defs = read_or_empty(&self.paths.etc("login.defs"))?;
        // Never 0, whatever login.defs says.
        let min = login_def(&defs, "SYS_UID_MIN").unwrap_or(101).max(1);
        let max = login_def(&defs, "SYS_UID_MAX").unwrap_or(999);
        let from = self.read_mark("uid.next")?.unwrap_or(max).min(max);
        let used = |file: &str| -> io::Result<std::collections::HashSet<u32>> {
            Ok(read_or_empty(&self.paths.etc(file))?
                .lines()
                .filter_map(|l| l.split(':').nth(2)?.parse().ok())
                .collect())
        };
        let (uids, gids) = (used("passwd")?, used("group")?);
        let uid = (min..=from)
            .rev()
            .find(|u| !uids.contains(u) && !gids.contains(u))
            .ok_or(UserError::NoUid(min, max, from))?;
        self.write_mark("uid.next", uid - 1)?;
        Ok(uid)
    }

    /// Takes lckpwdf(3)'s lock on `<root>/etc/.pwd.lock`, waiting up to
    /// 15 s as lckpwdf does.
    fn lock_passwd(&self) -> Result<PasswdLock, UserError> {
        use std::os::unix::fs::OpenOptionsExt;
        let p = self.paths.etc(".pwd.lock");
        let locked = |e: io::Error| UserError::Locked(p.display().to_string(), e);
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&p)
            .map_err(locked)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            match rustix::fs::fcntl_lock(
                &file,
                rustix::fs::FlockOperation::NonBlockingLockExclusive,
            ) {
                Ok(()) => return Ok(PasswdLock { _file: file }),
                Err(e)
                    if (e == rustix::io::Errno::AGAIN
                        || e == rustix::io::Errno::ACCESS
                        || e == rustix::io::Errno::INTR)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50))
                }
                Err(e) => return Err(locked(e.into())),
            }
        }
    }

    /// Creates `ctr-<id>` (uid and gid from [`Users::free_uid`]) with a
    /// subordinate range and its home directory (mode 0700, owned by the
    /// user).
    ///
    /// Errors: [`UserError::Foreign`] if the user exists already (callers
    /// check berth's ownership record first), no uid or range left, a tool
    /// failure, I/O.
    pub fn create(&self, id: &str) -> Result<ContainerUser, UserError> {
        let name = user_name(id);
        self.ensure_files()?;
        if self.lookup(&name)?.is_some() {
            return Err(UserError::Foreign(name));
        }
        let uid = self.free_uid()?;
        let mut c = self.prefixed("useradd");
        c.args(["--system", "--user-group", "--no-create-home", "--uid"])
            .arg(uid.to_string())
            .arg("--home-dir")
            .arg(Paths::home_in_passwd(id))
            .args(["--shell", NOLOGIN, "--comment"])
            .arg(format!("berth container {id}"))
            .arg(&name);
        self.host.run(c)?;
        let range = self.free_range()?;
        let spec = format!("{}-{}", range.start, range.start + range.count - 1);
        let mut c = self.prefixed("usermod");
        c.arg("--add-subuids")
            .arg(&spec)
            .arg("--add-subgids")
            .arg(&spec)
            .arg(&name);
        self.host.run(c)?;
        let (uid, gid) = self
            .lookup(&name)?
            .ok_or_else(|| io::Error::other(format!("useradd did not create {name}")))?;
        let home = self.paths.home_dir(id);
        fs::create_dir_all(&home)?;
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700))?;
        std::os::unix::fs::chown(&home, Some(uid), Some(gid))?;
        Ok(ContainerUser {
            name,
            uid,
            gid,
            subordinate: range,
        })
    }

    /// The existing user `ctr-<id>` with its subordinate range.
    pub fn existing(&self, id: &str) -> io::Result<Option<ContainerUser>> {
        let name = user_name(id);
        let Some((uid, gid)) = self.lookup(&name)? else {
            return Ok(None);
        };
        let subordinate = self
            .subordinate("subuid", &name)?
            .first()
            .copied()
            .unwrap_or(SubordinateRange { start: 0, count: 0 });
        Ok(Some(ContainerUser {
            name,
            uid,
            gid,
            subordinate,
        }))
    }

    /// Removes `ctr-<id>`, its subordinate ranges and its home directory.
    /// A user that does not exist is not an error. Entries of other users
    /// are never touched (names are compared whole).
    pub fn remove(&self, id: &str) -> Result<(), UserError> {
        let name = user_name(id);
        if self.lookup(&name)?.is_some() {
            let mut c = self.prefixed("userdel");
            c.arg(&name);
            if let Err(e) = self.host.run(c) {
                // 6: "specified user doesn't exist" (userdel(8)).
                if e.code != Some(6) {
                    return Err(e.into());
                }
            }
        }
        // userdel drops the user's own group only when USERGROUPS_ENAB is
        // set and nobody else is in it; the group was made for the user.
        if group_exists(&read_or_empty(&self.paths.etc("group"))?, &name) {
            let mut c = self.prefixed("groupdel");
            c.arg(&name);
            if let Err(e) = self.host.run(c) {
                // 6: "specified group doesn't exist" (groupdel(8)).
                if e.code != Some(6) {
                    return Err(e.into());
                }
            }
        }
        // userdel drops subordinate ranges itself (shadow ≥ 4.2); make sure,
        // under shadow-utils' lock like any other editor of these files.
        let _lock = self.lock_passwd()?;
        for f in ["subuid", "subgid"] {
            let path = self.paths.etc(f);
            let text = read_or_empty(&path)?;
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| l.split(':').next() != Some(name.as_str()))
                .collect();
            if kept.len() != text.lines().count() {
                let mut out = kept.join("\n");
                out.push('\n');
                crate::fsutil::write_atomic(&path, out.as_bytes(), None, "")?;
            }
        }
        match fs::remove_dir_all(self.paths.home_dir(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Under a root prefix, the account files may be missing: create them
    /// empty (on the host they exist; subuid/subgid may not).
    fn ensure_files(&self) -> io::Result<()> {
        let names: &[&str] = if self.paths.is_host_root() {
            &["subuid", "subgid"]
        } else {
            &["passwd", "group", "shadow", "gshadow", "subuid", "subgid"]
        };
        fs::create_dir_all(self.paths.etc(""))?;
        for n in names {
            let p = self.paths.etc(n);
            if !p.exists() {
                let mode = if n.contains("shadow") { 0o600 } else { 0o644 };
                fs::write(&p, "")?;
                fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
            }
        }
        Ok(())
    }
}

fn read_or_empty(p: &std::path::Path) -> io::Result<String> {
    match fs::read_to_string(p) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// The number `KEY` is set to in login.defs(5) text.
fn login_def(text: &str, key: &str) -> Option<u32> {
    text.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next()? == key).then(|| f.next()?.parse().ok())?
    })
}

/// Whether group(5) text has a group named `name` (whole field).
fn group_exists(text: &str, name: &str) -> bool {
    text.lines().any(|l| l.split(':').next() == Some(name))
}

/// Parses subuid(5) lines `name:start:count`; malformed lines are skipped.
pub fn parse_subid(text: &str) -> Vec<(String, SubordinateRange)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?.to_owned();
            let start = f.next()?.trim().parse().ok()?;
            let count = f.next()?.trim().parse().ok()?;
            Some((name, SubordinateRange { start, count }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_subid_lines() {
        let v = parse_subid("a:100000:65536\nbad\nctr-x:165536:65536\n");
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].1.start, 165_536);
    }

    #[test]
    fn user_names() {
        assert_eq!(user_name("web"), "ctr-web");
    }

    #[test]
    fn login_defs_and_groups() {
        let defs = "# c\nSYS_UID_MIN   201\nSYS_UID_MAX\t899\nUID_MAX 60000\n";
        assert_eq!(login_def(defs, "SYS_UID_MIN"), Some(201));
        assert_eq!(login_def(defs, "SYS_UID_MAX"), Some(899));
        assert_eq!(login_def(defs, "SYS_GID_MAX"), None);
        assert!(group_exists("a:x:1:\nctr-web:x:2:\n", "ctr-web"));
        assert!(!group_exists("ctr-web1:x:2:\n", "ctr-web"));
    }

    #[test]
    fn subordinate_edits_wait_for_shadow_utils_lock() {
        let Ok(py) = std::process::Command::new("python3").arg("-V").output() else {
            eprintln!("skipped: no python3 to hold the lock from another process");
            return;
        };
        assert!(py.status.success());
        let d = tempfile::tempdir().unwrap();
        let paths = Paths::new(d.path(), None);
        let host = Host::new(None);
        fs::create_dir_all(paths.etc("")).unwrap();
        fs::write(paths.etc("subuid"), "ctr-x:100000:65536\nother:1:2\n").unwrap();
        let lock = paths.etc(".pwd.lock");
        // lockf is fcntl(F_SETLKW), the lock lckpwdf(3) takes.
        let mut holder = std::process::Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import fcntl,time,sys\nf=open({:?},'w')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('held',flush=True)\ntime.sleep(1.5)",
                lock.display().to_string()
            ))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "held");
        let t = std::time::Instant::now();
        Users::new(&paths, &host).remove("x").unwrap();
        assert!(
            t.elapsed() >= std::time::Duration::from_millis(800),
            "the edit waited for the lock holder ({:?})",
            t.elapsed()
        );
        holder.wait().unwrap();
        assert_eq!(
            fs::read_to_string(paths.etc("subuid")).unwrap(),
            "other:1:2\n"
        );
    }
}
