//! `berth-generator NORMAL_DIR [EARLY_DIR LATE_DIR]` as systemd runs it, or
//! `berth-generator --dry-run` to print what it would write.

use berth_definition::search::{SearchPath, DEFINITIONS_PATH_ENV};
use berth_generator::log::Logger;
use berth_generator::output::PrintSink;
use berth_generator::render::InstallPaths;
use berth_generator::{generate, generate_into_dir};
use std::path::PathBuf;

const USAGE: &str = "\
Usage: berth-generator NORMAL_DIR [EARLY_DIR LATE_DIR]
       berth-generator --dry-run

systemd generator (systemd.generator(7)): turns every berth container
definition (<id>.json in /etc/berth/containers, /run/berth/containers,
/usr/lib/berth/containers; the first directory holding a name wins) into
berth-<id>.service, and for socket-activated containers berth-<id>.socket
and berth-proxy@<id>.service, written into NORMAL_DIR only.

  --dry-run   print every unit instead, each preceded by ---<unit name>---
              (symlinks as ---<dir>/<unit> -> ../<unit>---)
  --help      this text
  --version   the version

Exit status: 0 when every definition was turned into units, 1 when any was
rejected or could not be written (all others are still written), 2 on a
usage error. Each rejection is logged once, naming the file and the rule.

Environment: BERTH_DEFINITIONS_PATH (colon-separated directories replacing
the search path), BERTH_GENERATOR_ROOT (prefix for reading, for tests),
SYSTEMD_LOG_LEVEL, SYSTEMD_LOG_TARGET (console|kmsg|auto).
";

fn main() {
    let mut dry_run = false;
    let mut dirs: Vec<PathBuf> = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("--dry-run") => dry_run = true,
            Some("--help" | "-h") => {
                print!("{USAGE}");
                return;
            }
            Some("--version") => {
                println!("berth-generator {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            Some(s) if s.starts_with('-') => usage_error(&format!("unknown option {s}")),
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    // BERTH_GENERATOR_ROOT prefixes every directory when reading (a test
    // root, as zram-generator's ZRAM_GENERATOR_ROOT).
    let root = std::env::var_os("BERTH_GENERATOR_ROOT")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    let search = SearchPath::new(&root, std::env::var_os(DEFINITIONS_PATH_ENV).as_deref());
    let paths = InstallPaths::built_in();
    let outcome = if dry_run {
        if !dirs.is_empty() {
            usage_error("--dry-run takes no directories");
        }
        let mut log = Logger::from_env(true);
        let stdout = std::io::stdout();
        let mut sink = PrintSink::new(std::io::BufWriter::new(stdout.lock()));
        generate(&search, &paths, &mut sink, &mut log)
    } else {
        if dirs.len() != 1 && dirs.len() != 3 {
            usage_error("expected NORMAL_DIR or NORMAL_DIR EARLY_DIR LATE_DIR");
        }
        let mut log = Logger::from_env(false);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        generate_into_dir(&search, &paths, &dirs[0], threads, &mut log)
    };
    std::process::exit(outcome.exit_code());
}

fn usage_error(msg: &str) -> ! {
    eprintln!("berth-generator: {msg}\n\n{USAGE}");
    std::process::exit(2);
}
