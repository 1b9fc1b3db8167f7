//! `berth-api`: geard's HTTP jobs API over berth-jobs, on the UNIX socket
//! systemd passes (`berth-api.socket`). Takes the socket, notifies systemd,
//! serves until idle, exits; systemd starts it again on the next
//! connection. See `berth-api(8)`.

mod activation;
mod peer;
mod reply;
mod routes;
mod server;

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// geard's HTTP jobs API on a socket-activated UNIX socket (see berth-api(8)).
#[derive(Debug, Parser)]
#[command(name = "berth-api", version)]
struct Args {
    /// Exit after SECS with no connection and no job running (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    exit_idle_time: u64,
    /// Short jobs running at once; more are refused with 429.
    #[arg(long, value_name = "N", default_value_t = 8)]
    max_jobs: usize,
    /// Streaming jobs (logs, attached runs) at once; more are refused with 429.
    #[arg(long, value_name = "N", default_value_t = 32)]
    max_streams: usize,
    /// The largest request body in bytes; larger ones are refused with 413.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    max_body: usize,
    /// Seconds a client has to send a request head, and again its body.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    request_timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // SAFETY: no thread has started yet (the runtime is built below).
    let listener = match unsafe { activation::take_listener() } {
        Ok(l) => l,
        Err(e) => {
            eprintln!("berth-api: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(std::path::Path::to_path_buf));
    let group = peer::socket_group(path.as_deref());
    let limits = server::Limits {
        max_jobs: args.max_jobs.max(1),
        max_streams: args.max_streams.max(1),
        max_body: args.max_body,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        exit_idle: (args.exit_idle_time > 0).then(|| Duration::from_secs(args.exit_idle_time)),
    };
    let where_ = path
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "an unnamed socket".into());
    // Ready now: the socket listens, and connections queue until the
    // runtime accepts them. Then NOTIFY_SOCKET is taken out of the
    // environment (still one thread), so no program a job runs (podman)
    // notifies systemd in our name.
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&format!("Serving on {where_}")),
    ]);
    let notify_socket = std::env::var_os("NOTIFY_SOCKET");
    // SAFETY: no thread has started yet.
    unsafe { std::env::remove_var("NOTIFY_SOCKET") };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth-api: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(async move {
        let listener = match tokio::net::UnixListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("berth-api: the passed socket cannot be used: {e}");
                return ExitCode::FAILURE;
            }
        };
        server::serve(listener, server::State::new(limits, group)).await;
        eprintln!("berth-api: idle, exiting");
        ExitCode::SUCCESS
    });
    if let Some(sock) = notify_socket {
        stopping(&sock);
    }
    code
}

/// Sends `STOPPING=1` to the saved `NOTIFY_SOCKET` (sd_notify(3): a path,
/// or `@name` for the abstract namespace).
fn stopping(sock: &std::ffi::OsStr) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let bytes = sock.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => <SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(name),
        None => SocketAddr::from_pathname(std::path::Path::new(sock)),
    };
    if let (Ok(s), Ok(a)) = (UnixDatagram::unbound(), addr) {
        let _ = s.send_to_addr(b"STOPPING=1\n", &a);
    }
}
