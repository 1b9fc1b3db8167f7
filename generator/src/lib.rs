//! berth-generator: a systemd generator (systemd.generator(7)) that turns
//! every stored berth container definition into units.
//!
//! Split by concern, as zram-generator is: `berth_definition::search`
//! finds definitions (the same code the jobs use), [`render`] turns one
//! into unit files, [`escape`] is the one place values
//! are escaped for systemd, [`output`] writes (or prints) the result, and
//! [`log`] reports to the kernel log. [`generate`] wires them together; it
//! has no side effects outside the sink and talks to nobody.

pub mod escape;
pub mod log;
pub mod output;
pub mod render;

use berth_definition::search::{Candidate, SearchPath};
use log::{Level, Logger};
use output::{DirSink, Sink};
use render::{render_with_drop_ins, InstallPaths, WantsLink};
use std::path::Path;

/// The link that starts `berth.target` at boot, written when any container
/// is started at boot through it.
///
/// The generator writes it rather than `systemctl enable` at install time
/// because the definition's `Started` is the one switch for boot start: it
/// then works the same after `make install`, a package, or an image built
/// by copying files, with no preset or postinst step to forget, and a host
/// without boot-started containers gets no link. `berth.target` has no
/// `[Install]` section, so `systemctl disable` has nothing to undo;
/// `systemctl mask berth.target` keeps every such container from starting
/// at boot, and `berth stop ID` clears one container's `Started`.
pub fn boot_link() -> WantsLink {
    WantsLink {
        dir: "multi-user.target.wants",
        unit: "berth.target".to_owned(),
    }
}

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

/// One log line, kept until it can be written in definition order.
type LogLine = (Level, String);

/// What happened to one candidate (logs in order, and its outcome).
#[derive(Default)]
struct Report {
    logs: Vec<LogLine>,
    outcome: Outcome,
    /// A unit was linked into `berth.target.wants`.
    wants_boot_target: bool,
}

/// Reads, validates, renders and writes one definition.
fn process(c: &Candidate, paths: &InstallPaths, sink: &mut dyn Sink) -> Report {
    let mut r = Report::default();
    for s in &c.shadowed {
        r.logs.push((
            Level::Info,
            format!("{} is shadowed by {}", s.display(), c.path.display()),
        ));
    }
    for s in &c.drop_ins.shadowed {
        let by = c
            .drop_ins
            .paths()
            .into_iter()
            .chain(c.drop_ins.masked.iter().cloned())
            .find(|p| p.file_name() == s.file_name())
            .unwrap_or_default();
        r.logs.push((
            Level::Info,
            format!("drop-in {} is shadowed by {}", s.display(), by.display()),
        ));
    }
    for m in &c.drop_ins.masked {
        r.logs
            .push((Level::Info, format!("drop-in {} is masked", m.display())));
    }
    if c.masked {
        r.logs.push((
            Level::Info,
            format!("{} is masked; no units for {}", c.path.display(), c.stem),
        ));
        r.outcome.masked = 1;
        return r;
    }
    let loaded = match c.load() {
        Ok(l) => l,
        // One line naming the definition first, then the drop-in at fault.
        Err(e) if e.path() != c.path => {
            r.logs
                .push((Level::Err, format!("rejected {}: {e}", c.path.display())));
            r.outcome.rejected = 1;
            return r;
        }
        Err(e) => {
            r.logs.push((Level::Err, format!("rejected {e}")));
            r.outcome.rejected = 1;
            return r;
        }
    };
    let source = c.path.to_string_lossy();
    let drop_ins: Vec<String> = loaded
        .drop_ins
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let rendered =
        match render_with_drop_ins(&loaded.id, &source, &drop_ins, &loaded.definition, paths) {
            Ok(x) => x,
            Err(e) => {
                r.logs
                    .push((Level::Err, format!("rejected {}: {e}", c.path.display())));
                r.outcome.rejected = 1;
                return r;
            }
        };
    // Only for definitions that get units, so a rejection stays one line.
    for w in loaded.definition.warnings() {
        r.logs
            .push((Level::Warning, format!("{}: {w}", c.path.display())));
    }
    // The env file first: a unit never names a file not yet written.
    let written = rendered
        .private
        .iter()
        .try_for_each(|f| sink.private(f))
        .and_then(|_| rendered.units.iter().try_for_each(|u| sink.unit(u)))
        .and_then(|_| rendered.links.iter().try_for_each(|l| sink.link(l)));
    match written {
        Ok(()) => {
            r.outcome.generated = 1;
            r.wants_boot_target = rendered.links.iter().any(|l| l.dir == "berth.target.wants");
        }
        Err(e) => {
            r.logs.push((
                Level::Err,
                format!("{}: cannot write units: {e}", c.path.display()),
            ));
            r.outcome.io_errors = 1;
        }
    }
    r
}

fn merge(total: &mut Outcome, r: &Report, log: &mut Logger) {
    for (level, msg) in &r.logs {
        log.log(*level, msg);
    }
    total.generated += r.outcome.generated;
    total.rejected += r.outcome.rejected;
    total.masked += r.outcome.masked;
    total.io_errors += r.outcome.io_errors;
}

fn discover_logged(search: &SearchPath, total: &mut Outcome, log: &mut Logger) -> Vec<Candidate> {
    let found = search.discover();
    for e in found.errors {
        log.log(
            Level::Err,
            &format!("{}: cannot list directory: {}", e.dir.display(), e.error),
        );
        total.io_errors += 1;
    }
    // As systemd ignores the drop-ins of a unit that does not exist: a
    // warning, never a container (and not a failed run).
    for o in found.orphans {
        log.log(
            Level::Warning,
            &format!(
                "{}: drop-ins without a definition (no {}.json on the search path); ignored",
                o.display(),
                o.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".json.d"))
                    .unwrap_or_default()
            ),
        );
    }
    found.candidates
}

/// Generates the units of every definition on `search` into `sink`, one
/// definition after another (used for `--dry-run`, whose output is ordered).
///
/// One bad definition never stops the others: each rejection is logged as
/// one `err` line `rejected <file>: <field and rule>` and counted.
pub fn generate(
    search: &SearchPath,
    paths: &InstallPaths,
    sink: &mut dyn Sink,
    log: &mut Logger,
) -> Outcome {
    let mut total = Outcome::default();
    let mut boot = false;
    for c in discover_logged(search, &mut total, log) {
        let r = process(&c, paths, sink);
        boot |= r.wants_boot_target;
        merge(&mut total, &r, log);
    }
    if boot {
        link_boot_target(sink, &mut total, log);
    }
    total
}

fn link_boot_target(sink: &mut dyn Sink, total: &mut Outcome, log: &mut Logger) {
    let link = boot_link();
    if let Err(e) = sink.link(&link) {
        log.log(
            Level::Err,
            &format!("cannot write {}/{}: {e}", link.dir, link.unit),
        );
        total.io_errors += 1;
    }
}

/// Like [`generate`], writing into `dir` with up to `threads` threads
/// (each definition's files are independent, and the generator runs on
/// every boot). Log lines still come out in definition order, so the log
/// is as deterministic as the output.
pub fn generate_into_dir(
    search: &SearchPath,
    paths: &InstallPaths,
    dir: &Path,
    threads: usize,
    log: &mut Logger,
) -> Outcome {
    let mut total = Outcome::default();
    let candidates = discover_logged(search, &mut total, log);
    // Below this, starting threads costs more than it saves.
    const MIN_PER_THREAD: usize = 64;
    let threads = threads.clamp(1, candidates.len() / MIN_PER_THREAD + 1);
    let chunk = candidates.len().div_ceil(threads).max(1);
    let reports: Vec<Vec<Report>> = std::thread::scope(|scope| {
        let handles: Vec<_> = candidates
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut sink = DirSink::new(dir);
                    part.iter().map(|c| process(c, paths, &mut sink)).collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generator worker panicked"))
            .collect()
    });
    let mut boot = false;
    for r in reports.iter().flatten() {
        boot |= r.wants_boot_target;
        merge(&mut total, r, log);
    }
    if boot {
        link_boot_target(&mut DirSink::new(dir), &mut total, log);
    }
    total
}
