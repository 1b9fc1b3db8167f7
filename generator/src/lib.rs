//! berth-generator: a systemd generator (systemd.generator(7)) that turns
//! every stored berth container definition into units.
//!
//! Split by concern, as zram-generator is: [`search`] finds definitions,
//! [`render`] turns one into unit files, [`escape`] is the one place values
//! are escaped for systemd, [`output`] writes (or prints) the result, and
//! [`log`] reports to the kernel log. [`generate`] wires them together; it
//! has no side effects outside the sink and talks to nobody.

pub mod escape;
pub mod log;
pub mod output;
pub mod render;
pub mod search;

use berth_jobs::definition::load_file_as;
use log::{Level, Logger};
use output::Sink;
use render::{render, InstallPaths};
use search::{discover, SearchPath};

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Definitions turned into units.
    pub generated: usize,
    /// Definitions rejected (each logged once, naming file and reason).
    pub rejected: usize,
    /// Definitions masked by a `/dev/null` symlink.
    pub masked: usize,
    /// Output or directory errors.
    pub io_errors: usize,
}

impl Outcome {
    /// The exit status systemd sees: 0 when everything was generated, 1
    /// when anything was rejected or could not be written (the rest was
    /// still written).
    pub fn exit_code(&self) -> i32 {
        if self.rejected + self.io_errors == 0 {
            0
        } else {
            1
        }
    }
}

/// Generates the units of every definition on `search` into `sink`.
///
/// One bad definition never stops the others: each rejection is logged as
/// one `err` line `<file>: <field and rule>` and counted.
pub fn generate(
    search: &SearchPath,
    paths: &InstallPaths,
    sink: &mut dyn Sink,
    log: &mut Logger,
) -> Outcome {
    let mut outcome = Outcome::default();
    let (candidates, list_errors) = discover(search);
    for e in list_errors {
        log.log(
            Level::Err,
            &format!("{}: cannot list directory: {}", e.dir.display(), e.error),
        );
        outcome.io_errors += 1;
    }
    for c in candidates {
        for s in &c.shadowed {
            log.log(
                Level::Info,
                &format!("{} is shadowed by {}", s.display(), c.path.display()),
            );
        }
        if c.masked {
            log.log(
                Level::Info,
                &format!("{} is masked; no units for {}", c.path.display(), c.stem),
            );
            outcome.masked += 1;
            continue;
        }
        let loaded = match load_file_as(&c.path, &c.read_from) {
            Ok(l) => l,
            Err(e) => {
                log.log(Level::Err, &format!("rejected {e}"));
                outcome.rejected += 1;
                continue;
            }
        };
        let source = c.path.to_string_lossy();
        let rendered = match render(&loaded.id, &source, &loaded.definition, paths) {
            Ok(r) => r,
            Err(e) => {
                log.log(Level::Err, &format!("rejected {}: {e}", c.path.display()));
                outcome.rejected += 1;
                continue;
            }
        };
        let written = rendered
            .units
            .iter()
            .try_for_each(|u| sink.unit(u))
            .and_then(|_| rendered.links.iter().try_for_each(|l| sink.link(l)));
        match written {
            Ok(()) => outcome.generated += 1,
            Err(e) => {
                log.log(
                    Level::Err,
                    &format!("{}: cannot write units: {e}", c.path.display()),
                );
                outcome.io_errors += 1;
            }
        }
    }
    outcome
}
