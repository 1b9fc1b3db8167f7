//! SELinux MCS levels (`McsLevel`, `McsCategories`): every isolated
//! container gets a category pair `s0:cX,cY` (0 ≤ X < Y ≤ 1023, the range
//! container-selinux uses) that no other container holds, so the kernel
//! keeps containers of the same type apart (selinux(8), "MCS").
//!
//! Pairs are reserved in an owned table ([`crate::reservation`]) keyed
//! `cX,cY`; a cursor over the 523,776 pairs makes allocation cost
//! independent of the number of containers.

use crate::definition::parse_mcs_level;
use crate::reservation::{ReservationTable, Reserved};
use std::io;
use std::path::{Path, PathBuf};

/// Highest category (container-selinux uses c0–c1023).
pub const MAX_CATEGORY: u16 = 1023;
/// Number of category pairs X < Y ≤ 1023.
pub const PAIRS: u32 = (MAX_CATEGORY as u32 + 1) * MAX_CATEGORY as u32 / 2;

/// A category pair, X < Y.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct McsCategories {
    /// Lower category.
    pub x: u16,
    /// Higher category.
    pub y: u16,
}

impl McsCategories {
    /// The pair with index `i` (0 ≤ i < [`PAIRS`]), ordered by Y then X.
    pub fn from_index(i: u32) -> McsCategories {
        // y is the largest with y*(y-1)/2 <= i.
        let mut y = (((8.0 * f64::from(i) + 1.0).sqrt() + 1.0) / 2.0) as u32;
        while y * (y - 1) / 2 > i {
            y -= 1;
        }
        while (y + 1) * y / 2 <= i {
            y += 1;
        }
        let x = i - y * (y - 1) / 2;
        McsCategories {
            x: x as u16,
            y: y as u16,
        }
    }

    /// The inverse of [`McsCategories::from_index`].
    pub fn index(self) -> u32 {
        let (x, y) = (u32::from(self.x), u32::from(self.y));
        y * (y - 1) / 2 + x
    }

    /// `s0:cX,cY`.
    pub fn level(self) -> String {
        format!("s0:c{},c{}", self.x, self.y)
    }

    /// Parses `s0:cX,cY` (canonical spelling).
    pub fn parse_level(level: &str) -> Option<McsCategories> {
        parse_mcs_level(level).map(|(x, y)| McsCategories { x, y })
    }

    fn key(self) -> String {
        format!("c{},c{}", self.x, self.y)
    }

    fn from_key(k: &str) -> Option<McsCategories> {
        McsCategories::parse_level(&format!("s0:{k}"))
    }
}

/// Why no MCS level could be allocated.
#[derive(Debug, thiserror::Error)]
pub enum McsError {
    /// All [`PAIRS`] category pairs are held.
    #[error("every one of the {PAIRS} MCS category pairs (s0:c0,c1 to s0:c1022,c1023) is taken")]
    Exhausted,
    /// The table could not be read or written.
    #[error("MCS levels: {0}")]
    Io(#[from] io::Error),
}

/// The MCS reservation table.
#[derive(Debug, Clone)]
pub struct McsTable {
    table: ReservationTable,
    cursor: PathBuf,
}

impl McsTable {
    /// The table under `state` (`mcs/`, `owners/`, `mcs.next`).
    pub fn new(state: &Path) -> McsTable {
        McsTable {
            table: ReservationTable::new(state.join("mcs"), state.join("owners"), "mcs-"),
            cursor: state.join("mcs.next"),
        }
    }

    /// Reserves `c` for `owner`; `Err(other owner)` when taken. Returns
    /// whether the reservation is new.
    pub fn reserve(&self, c: McsCategories, owner: &str) -> io::Result<Result<bool, String>> {
        Ok(match self.table.reserve(&c.key(), owner)? {
            Reserved::New => Ok(true),
            Reserved::AlreadyOwned => Ok(false),
            Reserved::TakenBy(o) => Err(o),
        })
    }

    /// The owner of `c`.
    pub fn owner(&self, c: McsCategories) -> io::Result<Option<String>> {
        self.table.owner(&c.key())
    }

    /// Allocates a free pair for `owner`.
    ///
    /// Errors: [`McsError::Exhausted`] when every pair is taken, I/O.
    pub fn allocate(&self, owner: &str) -> Result<McsCategories, McsError> {
        let start = std::fs::read_to_string(&self.cursor)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|i| *i < PAIRS)
            .unwrap_or(0);
        for n in 0..PAIRS {
            let c = McsCategories::from_index((start + n) % PAIRS);
            if self.table.owner(&c.key())?.is_some() {
                continue;
            }
            if let Reserved::New = self.table.reserve(&c.key(), owner)? {
                let _ = std::fs::write(&self.cursor, ((c.index() + 1) % PAIRS).to_string());
                return Ok(c);
            }
        }
        Err(McsError::Exhausted)
    }

    /// Releases `c` if `owner` holds it.
    pub fn release(&self, c: McsCategories, owner: &str) -> io::Result<bool> {
        self.table.release(&c.key(), owner)
    }

    /// Pairs `owner` has ownership entries for.
    pub fn claimed_by(&self, owner: &str) -> io::Result<Vec<McsCategories>> {
        Ok(self
            .table
            .claimed_by(owner)?
            .iter()
            .filter_map(|k| McsCategories::from_key(k))
            .collect())
    }

    /// Every reservation as `(pair, owner)` (reports and tests).
    pub fn all(&self) -> io::Result<Vec<(McsCategories, String)>> {
        Ok(self
            .table
            .all()?
            .into_iter()
            .filter_map(|(k, o)| McsCategories::from_key(&k).map(|c| (c, o)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_a_bijection_at_the_edges() {
        assert_eq!(PAIRS, 523_776);
        for i in (0..2000).chain(PAIRS - 2000..PAIRS) {
            let c = McsCategories::from_index(i);
            assert!(c.x < c.y && c.y <= MAX_CATEGORY, "{i}: {c:?}");
            assert_eq!(c.index(), i);
            assert_eq!(McsCategories::parse_level(&c.level()), Some(c));
        }
        assert_eq!(McsCategories::from_index(0).level(), "s0:c0,c1");
        assert_eq!(
            McsCategories::from_index(PAIRS - 1).level(),
            "s0:c1022,c1023"
        );
    }

    #[test]
    fn allocations_are_unique_and_owned() {
        let d = tempfile::tempdir().unwrap();
        let t = McsTable::new(d.path());
        let mut seen = std::collections::HashSet::new();
        for i in 0..300 {
            let c = t.allocate(&format!("c{i}")).unwrap();
            assert!(seen.insert(c), "{c:?} handed out twice");
        }
        let taken = McsCategories::from_index(5);
        assert_eq!(t.reserve(taken, "other").unwrap(), Err("c5".to_string()));
        assert!(!t.release(taken, "other").unwrap());
        assert!(t.release(taken, "c5").unwrap());
        assert_eq!(t.reserve(taken, "other").unwrap(), Ok(true));
    }
}
