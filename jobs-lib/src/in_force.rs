//! The definitions in force hold what they use. Every `External`, `Backend`
//! and `McsLevel` that a definition in force names — in any directory of
//! the search path, written by `berth` or by hand — is taken, so the
//! reservation tables ([`crate::ports`], [`crate::mcs`]) must say so.
//! [`reconcile`] makes them: at the start of every mutating job (store lock
//! held, dead jobs settled) it claims what a definition in force uses and
//! nobody holds (a new hand-written file), and releases what an owner holds
//! but its definition in force no longer uses (a hand-written file that was
//! deleted or masked). Automatic allocation then skips everything in force
//! because it skips every reservation, and an explicit request for a held
//! value is refused naming the holder.
//!
//! Ownership rules stay: a release checks the owner, and when two
//! definitions in force name the same value (possible only by hand) the
//! one holding it keeps it, the other is reported, nothing is taken away.
//! A definition that cannot be read keeps everything its id holds.
//!
//! In force means merged with its drop-ins ([`Candidate::load`]): a drop-in
//! that changes `Ports` or `McsLevel` moves what the id holds, and the
//! base's overridden values hold nothing, as a shadowed file's do not.
//!
//! Cost: a pass reads every definition on the search path (no cache that
//! could miss a file edited in place), once per mutating job.

use crate::context::Context;
#[cfg(doc)]
use crate::definition::Candidate;
use crate::definition::SearchPath;
use crate::mcs::McsCategories;
use crate::ports::HostPort;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

/// A definition in force using a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The container id.
    pub id: String,
    /// Its file, as the host sees it.
    pub path: PathBuf,
}

/// What the definitions in force use.
#[derive(Debug, Default)]
pub struct InForce {
    /// Host ports (`External` in its protocol, `Backend` TCP) and who uses
    /// each, in id order.
    pub ports: BTreeMap<HostPort, Vec<Holder>>,
    /// MCS levels and who uses each.
    pub mcs: BTreeMap<McsCategories, Vec<Holder>>,
    /// Ids whose file in force cannot be read: they keep what they hold.
    pub unreadable: BTreeSet<String>,
    /// Ids with a pending mark (a job left to finish, or an old container
    /// retiring after an update): they keep what they hold until their own
    /// settle decides.
    pub pending: BTreeSet<String>,
    /// Whether every directory could be listed (else nothing is released).
    pub complete: bool,
    /// How each readable definition is activated: the generator renders a
    /// dependency on a socket-activated container on its socket, so the
    /// jobs show units as the generator writes them
    /// (`berth_generator::render::render_with_peers`).
    pub socket_modes: BTreeMap<String, crate::definition::SocketMode>,
}

impl InForce {
    /// Reads every definition in force on `search` (masks hold nothing).
    pub fn read(search: &SearchPath) -> InForce {
        let found = search.discover();
        let (candidates, errors) = (found.candidates, found.errors);
        let mut f = InForce {
            complete: errors.is_empty(),
            ..InForce::default()
        };
        for c in candidates.iter().filter(|c| !c.masked) {
            let l = match c.load() {
                Ok(l) => l,
                Err(_) => {
                    f.unreadable.insert(c.stem.clone());
                    continue;
                }
            };
            f.socket_modes
                .insert(l.id.clone(), l.definition.socket_mode());
            let holder = || Holder {
                id: l.id.clone(),
                path: l.path.clone(),
            };
            for port in l.definition.ports.iter().flat_map(crate::ports::host_ports) {
                f.ports.entry(port).or_default().push(holder());
            }
            if let Some(m) = l
                .definition
                .mcs_level
                .as_deref()
                .and_then(McsCategories::parse_level)
            {
                f.mcs.entry(m).or_default().push(holder());
            }
        }
        f
    }

    fn keeps(&self, holders: Option<&Vec<Holder>>, owner: &str) -> bool {
        self.unreadable.contains(owner)
            || self.pending.contains(owner)
            || holders.is_some_and(|h| h.iter().any(|h| h.id == owner))
    }
}

/// One value of a table, generic over ports and MCS levels.
trait Table<K> {
    fn all(&self) -> io::Result<Vec<(K, String)>>;
    fn owner(&self, k: K) -> io::Result<Option<String>>;
    fn claim(&self, k: K, owner: &str) -> io::Result<Option<String>>;
    fn release(&self, k: K, owner: &str) -> io::Result<bool>;
    fn name(k: K) -> String;
}

impl Table<HostPort> for crate::ports::PortTable {
    fn all(&self) -> io::Result<Vec<(HostPort, String)>> {
        crate::ports::PortTable::all(self)
    }
    fn owner(&self, k: HostPort) -> io::Result<Option<String>> {
        crate::ports::PortTable::owner(self, k)
    }
    fn claim(&self, k: HostPort, owner: &str) -> io::Result<Option<String>> {
        crate::ports::PortTable::claim(self, k, owner)
    }
    fn release(&self, k: HostPort, owner: &str) -> io::Result<bool> {
        crate::ports::PortTable::release(self, k, owner)
    }
    fn name(k: HostPort) -> String {
        format!("host port {k}")
    }
}

impl Table<McsCategories> for crate::mcs::McsTable {
    fn all(&self) -> io::Result<Vec<(McsCategories, String)>> {
        crate::mcs::McsTable::all(self)
    }
    fn owner(&self, k: McsCategories) -> io::Result<Option<String>> {
        crate::mcs::McsTable::owner(self, k)
    }
    fn claim(&self, k: McsCategories, owner: &str) -> io::Result<Option<String>> {
        Ok(crate::mcs::McsTable::reserve(self, k, owner)?.err())
    }
    fn release(&self, k: McsCategories, owner: &str) -> io::Result<bool> {
        crate::mcs::McsTable::release(self, k, owner)
    }
    fn name(k: McsCategories) -> String {
        format!("MCS level {}", k.level())
    }
}

fn reconcile_table<K: Copy + Ord, T: Table<K>>(
    ctx: &Context,
    table: &T,
    used: &BTreeMap<K, Vec<Holder>>,
    f: &InForce,
) -> io::Result<()> {
    if f.complete {
        for (k, owner) in table.all()? {
            if !f.keeps(used.get(&k), &owner) && table.release(k, &owner)? {
                ctx.info(&format!(
                    "released {} of {owner}: no definition in force uses it",
                    T::name(k)
                ));
            }
        }
    }
    for (k, holders) in used {
        let owner = match table.owner(*k)? {
            Some(o) => Some(o),
            None => table.claim(*k, &holders[0].id)?.or_else(|| {
                ctx.info(&format!(
                    "claimed {} for {} ({})",
                    T::name(*k),
                    holders[0].id,
                    holders[0].path.display()
                ));
                Some(holders[0].id.clone())
            }),
        };
        let owner = owner.unwrap_or_default();
        for h in holders.iter().filter(|h| h.id != owner) {
            ctx.info(&format!(
                "warning: {} ({}) uses {}, which {owner} holds; only one of them can have it",
                h.id,
                h.path.display(),
                T::name(*k)
            ));
        }
    }
    Ok(())
}

/// Makes the port and MCS tables match the definitions in force (see the
/// module documentation). Call with the store lock held, after dead jobs
/// are settled.
///
/// Errors: a table that cannot be read or written; the caller logs it and
/// goes on (one container's state never blocks jobs on the others).
pub fn reconcile(ctx: &Context) -> io::Result<()> {
    let mut f = InForce::read(ctx.paths.search_path());
    f.pending = ctx.store().pending_ids()?;
    reconcile_table(ctx, &ctx.ports(), &f.ports, &f)?;
    reconcile_table(ctx, &ctx.mcs(), &f.mcs, &f)
}
