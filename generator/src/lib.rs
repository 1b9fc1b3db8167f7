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
use berth_definition::{Definition, FieldError, LoadedDefinition, SocketMode};
use log::{Level, Logger};
use output::{DirSink, Sink};
use render::{render_group_target, render_with_drop_ins, InstallPaths, Peers, WantsLink};
use std::collections::BTreeMap;
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
    /// Its units were written and it belongs to a group: (group, id, mode).
    member: Option<(String, String, SocketMode)>,
}

/// A candidate after reading: what was logged so far, and the definition
/// when it is valid.
struct Read {
    report: Report,
    loaded: Option<LoadedDefinition>,
}

/// Reads and validates one candidate (the expensive half, done first for
/// all of them so that rendering knows every definition in force).
fn read(c: &Candidate) -> Read {
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
        return Read {
            report: r,
            loaded: None,
        };
    }
    match c.load() {
        Ok(l) => Read {
            report: r,
            loaded: Some(l),
        },
        // One line naming the definition first, then the drop-in at fault.
        Err(e) if e.path() != c.path => {
            r.logs
                .push((Level::Err, format!("rejected {}: {e}", c.path.display())));
            r.outcome.rejected = 1;
            Read {
                report: r,
                loaded: None,
            }
        }
        Err(e) => {
            r.logs.push((Level::Err, format!("rejected {e}")));
            r.outcome.rejected = 1;
            Read {
                report: r,
                loaded: None,
            }
        }
    }
}

/// Renders and writes one valid definition.
fn process(
    loaded: &LoadedDefinition,
    paths: &InstallPaths,
    peers: &Peers,
    sink: &mut dyn Sink,
) -> Report {
    let mut r = Report::default();
    let path = loaded.path.display();
    let source = loaded.path.to_string_lossy();
    let def = &loaded.definition;
    let drop_ins: Vec<String> = loaded
        .drop_ins
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let rendered = match render_with_drop_ins(&loaded.id, &source, &drop_ins, def, paths, peers) {
        Ok(x) => x,
        Err(e) => {
            r.logs.push((Level::Err, format!("rejected {path}: {e}")));
            r.outcome.rejected = 1;
            return r;
        }
    };
    // Only for definitions that get units, so a rejection stays one line.
    for w in def.warnings() {
        r.logs.push((Level::Warning, format!("{path}: {w}")));
    }
    for w in unknown_dependencies(def, peers) {
        r.logs.push((Level::Warning, format!("{path}: {w}")));
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
            r.member = def
                .group
                .clone()
                .map(|g| (g, loaded.id.clone(), def.socket_mode()));
        }
        Err(e) => {
            r.logs
                .push((Level::Err, format!("{path}: cannot write units: {e}")));
            r.outcome.io_errors = 1;
        }
    }
    r
}

/// A dependency on an id with no definition in force, one warning each
/// (field and id). It is still rendered (see `render`): the other
/// container may be installed later.
fn unknown_dependencies(def: &Definition, peers: &Peers) -> Vec<FieldError> {
    let mut w = Vec::new();
    for (name, ids) in [
        ("Requires", &def.requires),
        ("Wants", &def.wants),
        ("After", &def.after),
    ] {
        for (i, id) in ids.iter().enumerate() {
            if !peers.contains_key(id) {
                w.push(FieldError::new(
                    format!("{name}[{i}]"),
                    format!(
                        "no definition of {id} is in force; the dependency on {} is kept{}",
                        berth_definition::names::service_unit(id),
                        if name == "Requires" {
                            " and this container will not start until it exists"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
    }
    w
}

/// What the reads tell about all definitions in force: every valid one's
/// socket mode.
fn peers_of(reads: &[Read]) -> Peers {
    render::peers(
        reads
            .iter()
            .filter_map(|r| r.loaded.as_ref())
            .map(|l| (l.id.as_str(), &l.definition)),
    )
}

/// Dependency cycles among the definitions in force (Tarjan's strongly
/// connected components over `Requires` and `After`, which order; `Wants`
/// alone orders nothing, as `berth install` counts them), each as its
/// sorted ids. `berth install` refuses cycles; one written by hand is
/// still rendered, and systemd copes with what orders both ways (it drops
/// a wanted start job to break the order, or fails the start when every
/// job is required). The generator only says so, once per cycle, and
/// never loops: each id is visited once.
fn dependency_cycles(reads: &[Read]) -> Vec<Vec<String>> {
    let loaded: Vec<&LoadedDefinition> = reads.iter().filter_map(|r| r.loaded.as_ref()).collect();
    let index: BTreeMap<&str, usize> = loaded
        .iter()
        .enumerate()
        .map(|(i, l)| (l.id.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = loaded
        .iter()
        .map(|l| {
            l.definition
                .requires
                .iter()
                .chain(&l.definition.after)
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    let n = loaded.len();
    let (mut order, mut low) = (vec![usize::MAX; n], vec![0; n]);
    let (mut on_stack, mut stack) = (vec![false; n], Vec::new());
    let mut next = 0;
    let mut cycles = Vec::new();
    for root in 0..n {
        if order[root] != usize::MAX {
            continue;
        }
        // Iterative DFS: (node, index of the next edge to follow).
        let mut work = vec![(root, 0usize)];
        order[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut e)) = work.last_mut() {
            if let Some(&w) = edges[v].get(*e) {
                *e += 1;
                if order[w] == usize::MAX {
                    order[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(loaded[w].id.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    cycles.push(component);
                }
            }
        }
    }
    cycles.sort();
    cycles
}

/// After every definition: the group targets (one per group with a member
/// whose units were written), cycle warnings and the boot link.
fn finish(
    reads: &[Read],
    reports: &[Report],
    sink: &mut dyn Sink,
    total: &mut Outcome,
    log: &mut Logger,
) {
    let mut groups: BTreeMap<&str, Vec<(String, SocketMode)>> = BTreeMap::new();
    for (g, id, mode) in reports.iter().filter_map(|r| r.member.as_ref()) {
        groups.entry(g).or_default().push((id.clone(), *mode));
    }
    for (g, mut members) in groups {
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let unit = render_group_target(g, &members);
        if let Err(e) = sink.unit(&unit) {
            log.log(Level::Err, &format!("cannot write {}: {e}", unit.name));
            total.io_errors += 1;
        }
    }
    for cycle in dependency_cycles(reads) {
        log.log(
            Level::Warning,
            &format!(
                "dependency cycle among {} (Requires, After): `berth install` refuses cycles; where one orders both ways, systemd drops a wanted start job to break it, or fails the start of required ones",
                cycle.join(", ")
            ),
        );
    }
    if reports.iter().any(|r| r.wants_boot_target) {
        link_boot_target(sink, total, log);
    }
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
    let candidates = discover_logged(search, &mut total, log);
    let reads: Vec<Read> = candidates.iter().map(read).collect();
    let peers = peers_of(&reads);
    let mut reports = Vec::with_capacity(reads.len());
    for r in &reads {
        merge(&mut total, &r.report, log);
        if let Some(l) = &r.loaded {
            let report = process(l, paths, &peers, sink);
            merge(&mut total, &report, log);
            reports.push(report);
        }
    }
    finish(&reads, &reports, sink, &mut total, log);
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

/// `f` over `items` in up to `threads` threads, results in order.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    // Below this, starting threads costs more than it saves.
    const MIN_PER_THREAD: usize = 64;
    let threads = threads.clamp(1, items.len() / MIN_PER_THREAD + 1);
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("generator worker panicked"))
            .collect()
    })
}

/// Like [`generate`], writing into `dir` with up to `threads` threads
/// (each definition's files are independent, and the generator runs on
/// every boot): all definitions are read first, then rendered knowing one
/// another. Log lines still come out in definition order, so the log is
/// as deterministic as the output.
pub fn generate_into_dir(
    search: &SearchPath,
    paths: &InstallPaths,
    dir: &Path,
    threads: usize,
    log: &mut Logger,
) -> Outcome {
    let mut total = Outcome::default();
    let candidates = discover_logged(search, &mut total, log);
    let reads: Vec<Read> = par_map(&candidates, threads, |part| part.iter().map(read).collect());
    let peers = peers_of(&reads);
    let reports: Vec<Option<Report>> = par_map(&reads, threads, |part| {
        let mut sink = DirSink::new(dir);
        part.iter()
            .map(|r| {
                r.loaded
                    .as_ref()
                    .map(|l| process(l, paths, &peers, &mut sink))
            })
            .collect()
    });
    for (r, report) in reads.iter().zip(&reports) {
        merge(&mut total, &r.report, log);
        if let Some(report) = report {
            merge(&mut total, report, log);
        }
    }
    let reports: Vec<Report> = reports.into_iter().flatten().collect();
    finish(&reads, &reports, &mut DirSink::new(dir), &mut total, log);
    total
}
