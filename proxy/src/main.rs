//! berth-proxy: a socket-activated TCP/UNIX proxy, a drop-in replacement
//! for systemd-socket-proxyd(8). `main` parses arguments, takes the
//! activation environment (before anything could start a thread) and runs
//! the single-threaded event loop in [`server`].

mod activation;
mod cli;
mod log;
mod notify;
mod proxy_protocol;
mod relay;
mod server;
mod sys;
mod target;

use std::process::ExitCode;

use clap::Parser;

use crate::activation::Listener;
use crate::cli::Args;
use crate::server::{Config, Keepalive, Server};
use crate::target::Target;

fn main() -> ExitCode {
    let args = Args::parse();
    log::init(args.debug);
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    // SAFETY: single-threaded so far; these unset environment variables.
    let (listeners, notifier, watchdog) = unsafe {
        let listeners = activation::take_listeners().map_err(|e| e.to_string())?;
        let notifier = notify::Notifier::from_env()?;
        (listeners, notifier, notify::watchdog_from_env())
    };
    if args.targets.is_empty() && args.named.is_empty() {
        return Err("no TARGET given (see --help)".into());
    }
    match sys::raise_nofile_limit() {
        Ok(n) => debug!("RLIMIT_NOFILE soft limit is {n}"),
        Err(e) => warning!("cannot raise RLIMIT_NOFILE: {e}"),
    }
    let mut targets = Vec::new();
    for t in &args.targets {
        targets.push(Target::parse(t).map_err(|e| e.to_string())?);
    }
    let mut named = Vec::new();
    for (name, t) in &args.named {
        named.push((name.clone(), targets.len()));
        targets.push(Target::parse(t).map_err(|e| e.to_string())?);
    }
    let listeners = map_listeners(listeners, args.targets.len(), &named)?;
    let proxy_protocol = match &args.proxy_protocol {
        Some(spec) => spec.per_target(args.targets.len(), named.len())?,
        None => vec![None; targets.len()],
    };
    let keepalive = Keepalive {
        enabled: args.keepalive
            || args.keepalive_time.is_some()
            || args.keepalive_interval.is_some()
            || args.keepalive_count.is_some(),
        time: args.keepalive_time,
        interval: args.keepalive_interval,
        count: args.keepalive_count,
    };
    let cfg = Config {
        listeners,
        targets,
        connections_max: args.connections_max as usize,
        exit_idle_time: args
            .exit_idle_time
            .filter(|d| *d != std::time::Duration::MAX),
        connect_timeout: Some(args.connect_timeout).filter(|d| *d != std::time::Duration::MAX),
        keepalive,
        proxy_protocol,
        loopback_congestion: match args.loopback_congestion.as_str() {
            "default" => None,
            cc => Some(
                std::ffi::CString::new(cc)
                    .map_err(|_| format!("invalid --loopback-congestion '{cc}'"))?,
            ),
        },
        watchdog,
    };
    let mut server =
        Server::new(cfg, notifier).map_err(|e| format!("cannot set up event loop: {e}"))?;
    server
        .run()
        .map_err(|e| format!("event loop failed: {e}"))?;
    Ok(())
}

/// Pairs every listener with a target index: a `--target NAME=…` whose NAME
/// equals the fd's `LISTEN_FDNAMES` entry wins; otherwise one positional
/// TARGET serves every fd, or N positional TARGETs serve N fds in order.
fn map_listeners(
    listeners: Vec<Listener>,
    positional: usize,
    named: &[(String, usize)],
) -> Result<Vec<(Listener, usize)>, String> {
    let count = listeners.len();
    listeners
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let t = if let Some((_, t)) = named.iter().find(|(n, _)| *n == l.name) {
                *t
            } else if positional == 1 {
                0
            } else if positional == count {
                i
            } else {
                return Err(format!(
                    "no target for passed socket {i} (name '{}'): give one TARGET for all sockets, \
                     one per socket in order ({count}), or --target {}=TARGET",
                    l.name, l.name
                ));
            };
            Ok((l, t))
        })
        .collect()
}
