//! The definition store (berth's state is its definitions, never units
//! parsed back) and the recovery of jobs that died half-way.
//!
//! **Recovery.** A mutating job on `<id>` first writes `pending/<id>`; it
//! removes it after [`Store::settle`] at its end. Every mutating job, under
//! the store lock, settles the ids left pending (their jobs died: the lock
//! is free only when its holder is gone), which releases every port, MCS
//! level and user `<id>` claimed but whose definition does not reference
//! (see [`crate::reservation`] for why claims are written first). Listing an
//! empty `pending/` is all it costs when nothing died. A failure settling
//! one id is logged and retried by the next job; it never fails a job on
//! another id.

use crate::context::Context;
use crate::definition::{
    validate_id, Candidate, Definition, DefinitionError, Layers, LoadedDefinition,
};
use crate::error::{FailureKind, JobError, ERR_CONTAINER_MASKED};
use crate::fsutil;
use crate::mcs::McsCategories;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The store of one context.
pub struct Store<'a> {
    ctx: &'a Context,
}

/// A definition found while listing.
#[derive(Debug)]
pub struct Listed {
    /// The id.
    pub id: String,
    /// The file in force, as the host sees it.
    pub path: PathBuf,
    /// Where it comes from: `etc`, `run`, `usr` or its directory
    /// ([`Candidate::origin`]).
    pub origin: String,
    /// The definition, or why it cannot be used
    /// ([`DefinitionError::Masked`] for a mask).
    pub definition: Result<Definition, DefinitionError>,
    /// Files for the same id later on the search path, not in force.
    pub shadowed: Vec<PathBuf>,
    /// The drop-ins merged over it, in the order applied.
    pub drop_ins: Vec<PathBuf>,
}

/// What a pending mark asks of recovery besides settling (the mark's
/// contents; an empty mark is [`PendingKind::Claims`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingKind {
    /// Release what the definition in force does not reference (install,
    /// delete).
    Claims,
    /// A start or stop: also make the units' state match `Started`.
    State,
    /// Not a dead job: an update restarted the old container, whose ports
    /// stay reserved until its units stop changing state.
    Retire,
}

impl PendingKind {
    fn as_bytes(self) -> &'static [u8] {
        match self {
            PendingKind::Claims => b"",
            PendingKind::State => b"state\n",
            PendingKind::Retire => b"retire\n",
        }
    }

    fn from_bytes(b: &[u8]) -> PendingKind {
        match b {
            b"state\n" => PendingKind::State,
            b"retire\n" => PendingKind::Retire,
            _ => PendingKind::Claims,
        }
    }
}

/// The refusal of a job on a masked id, naming the mask (and, for
/// install, the flag that replaces it on purpose).
pub fn masked_error(id: &str, mask: &Path, install: bool) -> JobError {
    let how = if install {
        "; install with --unmask to replace the mask"
    } else {
        "; remove the link (or install with --unmask) to unmask it"
    };
    ERR_CONTAINER_MASKED
        .detail(format!(
            "(id {id}: {} links to /dev/null{how})",
            mask.display()
        ))
        .with_data(serde_json::json!({"Id": id, "Mask": mask}))
}

/// An I/O failure of the store as a job error.
pub fn io_error(what: impl std::fmt::Display, e: io::Error) -> JobError {
    JobError::new(FailureKind::Error, "The berth store could not be updated.")
        .detail(format!("{what}: {e}"))
}

impl<'a> Store<'a> {
    /// The store of `ctx`.
    pub fn new(ctx: &'a Context) -> Store<'a> {
        Store { ctx }
    }

    /// The file in force for `id`: the first on the search path (a mask
    /// included).
    pub fn find(&self, id: &str) -> Option<Candidate> {
        validate_id(id).ok()?;
        self.ctx.paths.search_path().find(id).ok().flatten()
    }

    /// The definition in force for `id`, `None` when there is none.
    ///
    /// Errors: the id is masked ([`DefinitionError::Masked`]), or the file
    /// exists but is unreadable or invalid.
    pub fn load(&self, id: &str) -> Result<Option<LoadedDefinition>, DefinitionError> {
        self.find(id).map(|c| c.load()).transpose()
    }

    /// The definition for `id`, or geard's `ErrContainerNotFound`, or the
    /// refusal naming the mask of a masked id.
    pub fn require(&self, id: &str) -> Result<LoadedDefinition, JobError> {
        match self.load(id) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => Err(crate::error::ERR_CONTAINER_NOT_FOUND.detail(format!("(id {id})"))),
            Err(DefinitionError::Masked { path }) => Err(masked_error(id, &path, false)),
            Err(e) => Err(JobError::new(
                FailureKind::Error,
                "The stored definition cannot be used.",
            )
            .detail(e)),
        }
    }

    /// Puts `def` in force for `id` (a job's change to the definition it
    /// loaded): writes `<definitions dir>/<id>.json` atomically, after
    /// checking it as a stored definition. With drop-ins, the file holds
    /// the base values ([`Store::base_bytes`]): drop-ins are never written,
    /// and their values are never baked into the base. Crash points:
    /// `definition-temp` (temp synced, not renamed).
    ///
    /// Errors: invalid, or a drop-in overrides the change (naming it).
    pub fn write(&self, id: &str, def: &Definition) -> Result<(), JobError> {
        validate_id(id).map_err(|e| JobError::invalid(e.to_string()))?;
        def.validate()
            .map_err(|e| JobError::invalid("The definition is not valid.").detail(e))?;
        let bytes = self.base_bytes(id, def)?;
        self.write_file(id, &bytes)
    }

    /// The base file that puts `def` in force for `id` under its drop-ins:
    /// `def` itself when there are none, else the base in force with just
    /// what `def` changes ([`crate::definition::Layers::rebase`]).
    ///
    /// Errors: a drop-in overrides a changed field, naming the drop-in and
    /// the field (invalid request: edit the drop-in instead); a file that
    /// cannot be read.
    pub fn base_bytes(&self, id: &str, def: &Definition) -> Result<Vec<u8>, JobError> {
        let Some(c) = self.find(id).filter(|c| {
            !c.masked && (!c.drop_ins.files.is_empty() || c.drop_ins.unreadable.is_some())
        }) else {
            return Ok(def.to_json().into_bytes());
        };
        c.layers().and_then(|l| l.rebase(def)).map_err(|e| {
            let kind = match e {
                DefinitionError::Field { .. } => FailureKind::InvalidRequest,
                _ => FailureKind::Error,
            };
            JobError::new(kind, "The change cannot be written into the definition.").detail(e)
        })
    }

    /// Writes `def` as the base file of `id` (an install: the request is
    /// the new base, and the id's drop-ins still apply over it, as systemd
    /// keeps a unit's drop-ins when the unit file is replaced).
    pub fn write_base(&self, id: &str, def: &Definition) -> Result<(), JobError> {
        validate_id(id).map_err(|e| JobError::invalid(e.to_string()))?;
        def.validate()
            .map_err(|e| JobError::invalid("The definition is not valid.").detail(e))?;
        self.write_file(id, def.to_json().as_bytes())
    }

    fn write_file(&self, id: &str, bytes: &[u8]) -> Result<(), JobError> {
        let path = self.ctx.paths.definition_file(id);
        // 0600: a definition holds environment values (root-only).
        fsutil::write_atomic_private(
            &path,
            bytes,
            self.ctx.crash_at.as_deref(),
            "definition-temp",
        )
        .map_err(|e| io_error(path.display(), e))
    }

    /// What is in force once `base` is written as the base file of `id`:
    /// `base` merged with the id's drop-ins (any directory), with their
    /// paths in the order applied.
    ///
    /// Errors: a drop-in that cannot be read, or a merge that is not a
    /// valid definition (naming the drop-in and field; invalid request).
    pub fn in_force_with(
        &self,
        id: &str,
        base: &Definition,
    ) -> Result<(Definition, Vec<PathBuf>), JobError> {
        let search = self.ctx.paths.search_path();
        let drop_ins = search.drop_ins(id);
        if drop_ins.files.is_empty() && drop_ins.unreadable.is_none() {
            return Ok((base.clone(), Vec::new()));
        }
        let layers = drop_ins.read().map(|d| Layers {
            base_path: search.write_dir().join(format!("{id}.json")),
            base: serde_json::to_value(base).expect("definition serializes"),
            drop_ins: d,
        });
        let merged = layers.and_then(|l| l.definition()).map_err(|e| {
            JobError::invalid("The definition with its drop-ins is not valid.").detail(e)
        })?;
        Ok((merged, drop_ins.paths()))
    }

    /// What `<definitions dir>/<id>.json` is now (file, symlink — a mask
    /// included — or nothing), by `lstat`/`readlink`, to put back with
    /// [`Store::restore`] when a job rolls back.
    pub fn snapshot(&self, id: &str) -> Result<fsutil::Entry, JobError> {
        let path = self.ctx.paths.definition_file(id);
        fsutil::Entry::capture(&path).map_err(|e| io_error(path.display(), e))
    }

    /// Puts `<definitions dir>/<id>.json` back exactly as
    /// [`Store::snapshot`] found it.
    pub fn restore(&self, id: &str, was: &fsutil::Entry) -> Result<(), JobError> {
        let path = self.ctx.paths.definition_file(id);
        was.restore(&path).map_err(|e| io_error(path.display(), e))
    }

    /// Writes a definition's raw bytes (root-only), as a recovery found
    /// them in an intent file.
    pub fn write_raw(&self, id: &str, bytes: &[u8]) -> Result<(), JobError> {
        let path = self.ctx.paths.definition_file(id);
        fsutil::write_atomic_private(&path, bytes, None, "")
            .map_err(|e| io_error(path.display(), e))
    }

    /// Removes `<definitions dir>/<id>.json`; returns whether it existed.
    pub fn remove(&self, id: &str) -> Result<bool, JobError> {
        let path = self.ctx.paths.definition_file(id);
        let existed = fsutil::remove_if_exists(&path).map_err(|e| io_error(path.display(), e))?;
        if existed {
            fsutil::sync_dir(self.ctx.paths.definitions_dir())
                .map_err(|e| io_error(path.display(), e))?;
        }
        Ok(existed)
    }

    /// Every id on the search path, sorted, first file wins, masks and
    /// invalid files included (the listing the generator makes).
    pub fn list(&self) -> io::Result<Vec<Listed>> {
        let found = self.ctx.paths.search_path().discover();
        let (candidates, errors) = (found.candidates, found.errors);
        if let Some(e) = errors.into_iter().next() {
            return Err(io::Error::new(
                e.error.kind(),
                format!("{}: {}", e.dir.display(), e.error),
            ));
        }
        Ok(candidates
            .into_iter()
            .map(|c| Listed {
                id: c.stem.clone(),
                origin: c.origin(),
                definition: c.load().map(|l| l.definition),
                drop_ins: c.drop_ins.paths(),
                path: c.path,
                shadowed: c.shadowed,
            })
            .collect())
    }

    /// The ids with a pending mark, sorted.
    pub fn pending_ids(&self) -> io::Result<std::collections::BTreeSet<String>> {
        match fs::read_dir(self.ctx.paths.pending_dir()) {
            Ok(rd) => Ok(rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| validate_id(n).is_ok())
                .collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Default::default()),
            Err(e) => Err(e),
        }
    }

    /// Marks a mutating job on `id` as in progress.
    pub fn mark_pending(&self, id: &str) -> Result<(), JobError> {
        self.mark_pending_as(id, PendingKind::Claims)
    }

    /// Marks a job on `id` as in progress, saying what recovery must do
    /// besides settling (see [`PendingKind`]).
    pub fn mark_pending_as(&self, id: &str, kind: PendingKind) -> Result<(), JobError> {
        let dir = self.ctx.paths.pending_dir();
        let p = dir.join(id);
        let body = kind.as_bytes();
        fs::write(&p, body)
            .or_else(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    fs::create_dir_all(&dir)?;
                    fs::write(&p, body)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| io_error(p.display(), e))
    }

    /// Settles every id a dead (or deferring) job left pending. Call with
    /// the lock held. A failure for one id is logged and leaves its mark,
    /// so the next job retries it: one container's broken cleanup never
    /// fails a job on another. An id whose units are changing state is
    /// left for later too, since its old container may still use what
    /// settling would release. Returns the ids settled.
    pub fn reclaim_pending(&self) -> Vec<String> {
        let ids = match self.pending_ids() {
            Ok(ids) => ids,
            Err(e) => {
                self.ctx.info(&format!(
                    "warning: {}: {e}; not recovering now",
                    self.ctx.paths.pending_dir().display()
                ));
                return Vec::new();
            }
        };
        let mut settled = Vec::new();
        for id in ids {
            if let Some(u) = self.changing_unit(&id) {
                self.ctx.info(&format!(
                    "info: settling container {id} later: {u} is changing state"
                ));
                continue;
            }
            let kind = PendingKind::from_bytes(
                &fs::read(self.ctx.paths.pending_dir().join(&id)).unwrap_or_default(),
            );
            if kind != PendingKind::Retire {
                self.ctx.info(&format!(
                    "recovering container {id}: a job on it did not finish"
                ));
            }
            let r = match kind {
                PendingKind::State => self.enforce_started(&id),
                _ => Ok(()),
            }
            .and_then(|()| self.settle(&id));
            match r {
                Ok(()) => settled.push(id),
                Err(e) => self.ctx.info(&format!(
                    "warning: container {id} could not be settled (the next job retries): {e}"
                )),
            }
        }
        settled
    }

    /// The first unit of `id` that is between states, if any.
    fn changing_unit(&self, id: &str) -> Option<String> {
        let units = match self.load(id) {
            Ok(Some(l)) => crate::jobs::all_units(id, &l.definition),
            _ => vec![
                crate::systemd::socket_unit(id),
                crate::systemd::proxy_unit(id),
                crate::systemd::service_unit(id),
            ],
        };
        units.into_iter().find(|u| {
            self.ctx
                .systemd
                .unit_state(u)
                .is_ok_and(|s| s.is_changing())
        })
    }

    /// Recovery of a start or stop that died: makes the units' state match
    /// `Started` of the definition in force, whichever of the old and new
    /// value the dead job left there, so definition and units agree.
    fn enforce_started(&self, id: &str) -> Result<(), JobError> {
        let Some(l) = self.load(id).ok().flatten() else {
            return Ok(());
        };
        let fail = |e: crate::systemd::SystemdError| {
            JobError::new(
                FailureKind::Error,
                "Unable to recover the container's state.",
            )
            .detail(e)
        };
        self.ctx.systemd.daemon_reload().map_err(fail)?;
        if l.definition.started {
            for u in crate::jobs::start_units(id, &l.definition) {
                self.ctx.systemd.start_unit(&u).map_err(fail)?;
            }
        } else {
            for u in crate::jobs::all_units(id, &l.definition) {
                self.ctx.systemd.stop_unit(&u).map_err(fail)?;
            }
        }
        Ok(())
    }

    /// Makes what `id` owns match its definition in force: releases every
    /// claimed port and MCS level it does not reference, removes the user
    /// berth created when the definition is gone or not isolated, and
    /// clears the pending mark. A definition that exists but cannot be
    /// read keeps everything. Every step is tried; when any fails, the
    /// mark stays (the next job retries) and the error lists them all.
    /// Call with the lock held.
    pub fn settle(&self, id: &str) -> Result<(), JobError> {
        let loaded = match self.load(id) {
            Ok(l) => l.map(|l| l.definition),
            // A mask holds nothing (the generator writes no units for it).
            Err(DefinitionError::Masked { .. }) => None,
            Err(e) => {
                self.ctx.info(&format!("keeping everything {id} owns: {e}"));
                return self.clear_pending(id);
            }
        };
        let ports = self.ctx.ports();
        let mcs = self.ctx.mcs();
        let mut keep_ports = Vec::new();
        let mut keep_mcs = None;
        if let Some(d) = &loaded {
            keep_ports.extend(d.ports.iter().flat_map(crate::ports::host_ports));
            keep_mcs = d.mcs_level.as_deref().and_then(McsCategories::parse_level);
        }
        let mut failures: Vec<String> = Vec::new();
        match ports.claimed_by(id) {
            Ok(claimed) => {
                for p in claimed.into_iter().filter(|p| !keep_ports.contains(p)) {
                    if let Err(e) = ports.release(p, id) {
                        failures.push(format!("releasing port {p}: {e}"));
                    }
                }
            }
            Err(e) => failures.push(format!("ports of {id}: {e}")),
        }
        match mcs.claimed_by(id) {
            Ok(claimed) => {
                for c in claimed.into_iter().filter(|c| Some(*c) != keep_mcs) {
                    if let Err(e) = mcs.release(c, id) {
                        failures.push(format!("releasing MCS level {}: {e}", c.level()));
                    }
                }
            }
            Err(e) => failures.push(format!("MCS levels of {id}: {e}")),
        }
        let owner_dir = self.ctx.paths.owners_root().join(id);
        let user_mark = owner_dir.join("user");
        let keep_user = loaded.as_ref().is_some_and(|d| d.isolate);
        if !keep_user && user_mark.exists() {
            match self.ctx.users().remove(id) {
                Ok(()) => {
                    if let Err(e) = fsutil::remove_if_exists(&user_mark) {
                        failures.push(format!("{}: {e}", user_mark.display()));
                    }
                }
                Err(e) => failures.push(format!("removing the user of {id}: {e}")),
            }
        }
        if !failures.is_empty() {
            return Err(JobError::new(
                FailureKind::Error,
                "What the container owned could not all be released.",
            )
            .detail(failures.join("; ")));
        }
        if loaded.is_none() {
            let _ = fs::remove_dir(&owner_dir);
        }
        let _ = fsutil::remove_if_exists(&fsutil::temp_path(&self.ctx.paths.definition_file(id)));
        self.clear_pending(id)
    }

    /// Clears the pending mark of `id` (its job finished cleanly).
    pub fn clear_pending(&self, id: &str) -> Result<(), JobError> {
        let p = self.ctx.paths.pending_dir().join(id);
        fsutil::remove_if_exists(&p)
            .map(drop)
            .map_err(|e| io_error(p.display(), e))
    }
}
