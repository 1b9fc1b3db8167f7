//! Test harness: starts berth-proxy through `systemd-socket-activate`, the
//! way systemd starts it from a .socket unit, listens on a private
//! `NOTIFY_SOCKET`, and provides loopback backends and data patterns.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

pub const PROXY: &str = env!("CARGO_BIN_EXE_berth-proxy");
pub const ACTIVATE: &str = "/usr/bin/systemd-socket-activate";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the target's tmp dir for sockets and logs.
pub fn scratch(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("berth-proxy-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A unique abstract socket name.
pub fn abstract_name(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("berth-proxy-test-{}-{tag}-{n}", std::process::id())
}

/// Raises this test process's soft fd limit (many sockets per test).
pub fn raise_nofile() {
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl);
        rl.rlim_cur = rl.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running proxy: `systemd-socket-activate -l 127.0.0.1:PORT -E
/// NOTIFY_SOCKET=… berth-proxy ARGS`. systemd-socket-activate execs the proxy
/// in place (same pid) on the first connection, as systemd starts a service
/// from its socket.
pub struct Proxy {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub notify: UnixDatagram,
    pub messages: Vec<String>,
}

impl Proxy {
    /// Starts the proxy listening on 127.0.0.1 with `args`; `wrapper` is
    /// put in front of systemd-socket-activate (e.g. `prlimit …`).
    pub fn start_with(wrapper: &[&str], extra_activate: &[&str], args: &[&str]) -> Proxy {
        for _ in 0..20 {
            let port = free_port();
            let dir = scratch("proxy");
            let sock = dir.join("notify");
            let notify = UnixDatagram::bind(&sock).unwrap();
            notify
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let stderr = std::fs::File::create(dir.join("stderr")).unwrap();
            let (prog, pre) = match wrapper.split_first() {
                Some((p, rest)) => (*p, rest.to_vec()),
                None => (ACTIVATE, vec![]),
            };
            let mut cmd = Command::new(prog);
            cmd.args(&pre);
            if !wrapper.is_empty() {
                cmd.arg(ACTIVATE);
            }
            cmd.arg("-l")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-E")
                .arg(format!("NOTIFY_SOCKET={}", sock.display()))
                .args(extra_activate)
                .arg(PROXY)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr);
            let child = cmd.spawn().expect("spawn systemd-socket-activate");
            let mut p = Proxy {
                child,
                port,
                dir,
                notify,
                messages: Vec::new(),
            };
            // Wait until it listens (or died because the port was taken).
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if p.stderr().contains("Listening on") {
                    return p;
                }
                if let Ok(Some(_)) = p.child.try_wait() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "systemd-socket-activate did not listen: {}",
                    p.stderr()
                );
                thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("could not start systemd-socket-activate on a free port");
    }

    pub fn start(args: &[&str]) -> Proxy {
        Self::start_with(&[], &[], args)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// Waits for a notification containing `what`; all messages seen are
    /// kept in `messages`.
    pub fn wait_notify(&mut self, what: &str, timeout: Duration) -> bool {
        if self.messages.iter().any(|m| m.contains(what)) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let m = String::from_utf8_lossy(&buf[..n]).to_string();
                let hit = m.contains(what);
                self.messages.push(m);
                if hit {
                    return true;
                }
            }
        }
        false
    }

    /// Waits for READY=1 (the proxy runs once the first client connected).
    pub fn wait_ready(&mut self) {
        assert!(
            self.wait_notify("READY=1", Duration::from_secs(20)),
            "no READY=1; stderr: {}",
            self.stderr()
        );
    }

    /// Waits for the process to exit; returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Number of open fds of the proxy.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .unwrap()
            .count()
    }

    /// Resident set size, KiB.
    pub fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// utime + stime, clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        cpu_ticks(self.pid())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// utime + stime of `pid` from /proc/PID/stat, clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the ")" of the command name; utime and stime are 14, 15.
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Polls `f` every 10 ms until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Something a backend can serve.
pub trait Stream: Read + Write + Send + 'static {
    fn shutdown_write(&self) -> io::Result<()>;
}
impl Stream for TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}
impl Stream for UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// A backend listener of either kind.
pub enum Backend {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Backend {
    pub fn accept(&self) -> io::Result<Box<dyn Stream>> {
        Ok(match self {
            Backend::Tcp(l) => Box::new(l.accept()?.0),
            Backend::Unix(l) => Box::new(l.accept()?.0),
        })
    }
}

/// Echo server: every connection is echoed until EOF, then closed.
/// Returns the counters (accepted, currently open).
pub fn spawn_echo(backend: Backend) -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(AtomicUsize::new(0));
    let (a, o) = (accepted.clone(), open.clone());
    thread::spawn(move || loop {
        let Ok(mut s) = backend.accept() else { return };
        a.fetch_add(1, Ordering::SeqCst);
        o.fetch_add(1, Ordering::SeqCst);
        let o = o.clone();
        thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = s.shutdown_write();
                o.fetch_sub(1, Ordering::SeqCst);
            })
            .unwrap();
    });
    (accepted, open)
}

pub fn tcp_echo(bind: &str) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let l = TcpListener::bind(bind).unwrap();
    let a = l.local_addr().unwrap();
    let (acc, open) = spawn_echo(Backend::Tcp(l));
    (a.to_string(), acc, open)
}

/// Sends `msg` and reads the same number of bytes back.
pub fn echo_roundtrip(s: &mut impl ReadWrite, msg: &[u8]) -> io::Result<()> {
    s.write_all(msg)?;
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got)?;
    assert_eq!(got, msg);
    Ok(())
}

pub trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

pub const MIB: usize = 1 << 20;

/// A deterministic byte stream: chunk k (1 MiB) is a fixed pseudo-random
/// block rotated by a k-dependent offset, so loss, duplication or
/// reordering anywhere shows up as a mismatch.
pub struct Pattern {
    block: Vec<u8>,
}

impl Pattern {
    pub fn new(seed: u64) -> Self {
        let mut x = seed | 1;
        let mut block = Vec::with_capacity(MIB);
        for _ in 0..MIB / 8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            block.extend_from_slice(&x.to_le_bytes());
        }
        Pattern { block }
    }

    pub fn chunk(&self, k: u64, out: &mut [u8]) {
        let r = (k.wrapping_mul(7919) % MIB as u64) as usize;
        out[..MIB - r].copy_from_slice(&self.block[r..]);
        out[MIB - r..].copy_from_slice(&self.block[..r]);
    }

    /// Writes `chunks` MiB of the stream, then shuts the write side.
    pub fn send(&self, w: &mut impl Write, chunks: u64) -> io::Result<()> {
        let mut buf = vec![0u8; MIB];
        for k in 0..chunks {
            self.chunk(k, &mut buf);
            w.write_all(&buf)?;
        }
        Ok(())
    }

    /// Reads until EOF and checks it is exactly `chunks` MiB of the stream.
    pub fn verify(&self, r: &mut impl Read, chunks: u64) -> Result<u64, String> {
        let mut expect = vec![0u8; MIB];
        let mut cur = u64::MAX;
        let mut buf = vec![0u8; 256 * 1024];
        let mut pos: u64 = 0;
        let total = chunks * MIB as u64;
        loop {
            let n = r
                .read(&mut buf)
                .map_err(|e| format!("read at {pos}: {e}"))?;
            if n == 0 {
                break;
            }
            let mut d = &buf[..n];
            while !d.is_empty() {
                if pos >= total {
                    return Err(format!("more than {total} bytes"));
                }
                let k = pos / MIB as u64;
                if k != cur {
                    self.chunk(k, &mut expect);
                    cur = k;
                }
                let off = (pos % MIB as u64) as usize;
                let m = d.len().min(MIB - off);
                if d[..m] != expect[off..off + m] {
                    return Err(format!("data differs in bytes {pos}..{}", pos + m as u64));
                }
                pos += m as u64;
                d = &d[m..];
            }
        }
        if pos != total {
            return Err(format!("got {pos} bytes, expected {total}"));
        }
        Ok(pos)
    }
}

/// Path of a UNIX socket in a scratch dir.
pub fn unix_path(tag: &str) -> PathBuf {
    scratch(tag).join("backend.sock")
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// Starts the proxy in a private mount namespace where each `(file,
/// over)` pair bind-mounts `file` over `over` (e.g. its own `/etc/hosts`),
/// so name resolution can be steered without touching the host.
pub fn start_with_files(files: &[(&Path, &str)], args: &[&str]) -> Proxy {
    let mut script = String::new();
    for (f, over) in files {
        script.push_str(&format!("mount --bind '{}' '{over}' && ", f.display()));
    }
    script.push_str("exec \"$@\"");
    let wrapper = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
        "sh",
    ];
    Proxy::start_with(&wrapper, &[], args)
}

/// Sets `SO_LINGER` to 0 s, so that dropping the socket sends a reset.
pub fn linger_zero(fd: std::os::fd::RawFd) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as u32,
        )
    };
}

/// Reads until end of file or an error: the bytes, and the error kind
/// (`None`: a clean end of file).
pub fn read_to_end_or_error(r: &mut impl Read) -> (Vec<u8>, Option<io::ErrorKind>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (got, None),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (got, Some(e.kind())),
        }
    }
}
