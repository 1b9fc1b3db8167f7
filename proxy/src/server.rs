//! The event loop: one thread, one epoll instance, edge-triggered on the
//! proxied sockets and level-triggered on the listeners.
//!
//! A connection goes through two states. *Connecting*: the client is
//! accepted and held (its bytes wait in its socket) while the backend is
//! connected, retried with exponential backoff (25 ms doubling to 500 ms)
//! until `--connect-timeout` after the accept. *Relaying*: two
//! [`Direction`]s pump bytes; the connection closes when both directions have
//! delivered end of file, or at once when one side fails, in which case the
//! other side is reset.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::activation::Listener;
use crate::notify::Notifier;
use crate::relay::{Direction, Fault, SCRATCH_SIZE};
use crate::sys::{self, Epoll};
use crate::target::Target;
use crate::{debug, info, warning};

/// TCP keepalive settings applied to TCP sockets on both sides.
#[derive(Clone, Copy, Debug, Default)]
pub struct Keepalive {
    /// `SO_KEEPALIVE` on.
    pub enabled: bool,
    /// `TCP_KEEPIDLE`, seconds.
    pub time: Option<u32>,
    /// `TCP_KEEPINTVL`, seconds.
    pub interval: Option<u32>,
    /// `TCP_KEEPCNT`, probes.
    pub count: Option<u32>,
}

/// Everything the loop needs, built by `main` from the command line and
/// the activation environment.
pub struct Config {
    /// Listening sockets with the index into `targets` each forwards to.
    pub listeners: Vec<(Listener, usize)>,
    /// Backends.
    pub targets: Vec<Target>,
    /// `--connections-max`.
    pub connections_max: usize,
    /// `--exit-idle-time`; `None` never exits.
    pub exit_idle_time: Option<Duration>,
    /// `--connect-timeout`.
    pub connect_timeout: Duration,
    /// Keepalive options.
    pub keepalive: Keepalive,
    /// Pipe capacity per direction, bytes (`None`: kernel default).
    pub pipe_size: Option<usize>,
    /// Watchdog interval from `WATCHDOG_USEC`.
    pub watchdog: Option<Duration>,
}

/// Why the loop returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// `--exit-idle-time` elapsed with no connection.
    Idle,
    /// SIGTERM or SIGINT.
    Signal(u32),
}

const KIND_LISTENER: u64 = 0;
const KIND_CLIENT: u64 = 1;
const KIND_BACKEND: u64 = 2;
const KIND_SIGNAL: u64 = 3;

const RETRY_FIRST: Duration = Duration::from_millis(25);
const RETRY_MAX: Duration = Duration::from_millis(500);
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(50);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
const STATUS_INTERVAL: Duration = Duration::from_millis(250);

const EDGE: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

fn token(kind: u64, slot: usize, gen: u32) -> u64 {
    kind | (slot as u64) << 2 | u64::from(gen) << 32
}

enum State {
    Connecting {
        attempt: usize,
        backoff: Duration,
        deadline: Instant,
        last_error: Option<io::Error>,
    },
    Relaying,
}

struct Conn {
    gen: u32,
    client: OwnedFd,
    backend: Option<OwnedFd>,
    target: usize,
    state: State,
    /// While connecting, epoll reported input on the client (events are
    /// edge-triggered, so the first pump after connecting must read it).
    client_input: bool,
    up: Direction,
    down: Direction,
}

/// The proxy: listeners, connections, timers.
pub struct Server {
    cfg: Config,
    epoll: Epoll,
    notifier: Notifier,
    signals: OwnedFd,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    next_gen: u32,
    active: usize,
    connecting: usize,
    served: u64,
    listening: bool,
    accept_paused_until: Option<Instant>,
    accept_backoff: Duration,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    idle_since: Instant,
    status_dirty: bool,
    status_sent: Option<Instant>,
    watchdog_next: Option<Instant>,
    target_down: Vec<bool>,
    /// Per listener: accepted sockets inherit `TCP_NODELAY` (and keepalive)
    /// from it, so they need no setsockopt of their own.
    inherits_tuning: Vec<bool>,
    /// Direct-mode buffer shared by all directions (one thread).
    scratch: Box<[u8]>,
}

impl Server {
    /// Sets up epoll and the signal fd (blocking SIGTERM, SIGINT: call before
    /// any thread starts).
    ///
    /// # Errors
    /// epoll_create1(2), signalfd(2) or epoll_ctl(2) failures.
    pub fn new(cfg: Config, notifier: Notifier) -> io::Result<Self> {
        let epoll = Epoll::new()?;
        let signals = sys::signalfd(&[libc::SIGTERM, libc::SIGINT])?;
        epoll.add(
            signals.as_raw_fd(),
            libc::EPOLLIN as u32,
            token(KIND_SIGNAL, 0, 0),
        )?;
        let now = Instant::now();
        let targets = cfg.targets.len();
        let mut s = Self {
            watchdog_next: cfg.watchdog.map(|w| now + w / 2),
            cfg,
            epoll,
            notifier,
            signals,
            conns: Vec::new(),
            free: Vec::new(),
            next_gen: 0,
            active: 0,
            connecting: 0,
            served: 0,
            listening: false,
            accept_paused_until: None,
            accept_backoff: ACCEPT_BACKOFF_FIRST,
            timers: BinaryHeap::new(),
            idle_since: now,
            status_dirty: false,
            status_sent: None,
            target_down: vec![false; targets],
            inherits_tuning: Vec::new(),
            scratch: vec![0; SCRATCH_SIZE].into_boxed_slice(),
        };
        s.inherits_tuning = s
            .cfg
            .listeners
            .iter()
            .map(|(l, _)| l.family != libc::AF_UNIX && s.tune_listener(l.fd.as_raw_fd()))
            .collect();
        s.set_listening(true)?;
        Ok(s)
    }

    fn set_listening(&mut self, on: bool) -> io::Result<()> {
        if on == self.listening {
            return Ok(());
        }
        for (i, (l, _)) in self.cfg.listeners.iter().enumerate() {
            if on {
                self.epoll.add(
                    l.fd.as_raw_fd(),
                    libc::EPOLLIN as u32,
                    token(KIND_LISTENER, i, 0),
                )?;
            } else {
                self.epoll.delete(l.fd.as_raw_fd());
            }
        }
        self.listening = on;
        Ok(())
    }

    fn update_listening(&mut self) {
        let want = self.active < self.cfg.connections_max && self.accept_paused_until.is_none();
        if let Err(e) = self.set_listening(want) {
            warning!(
                "cannot {} listening sockets: {e}",
                if want { "watch" } else { "unwatch" }
            );
        }
    }

    /// Sends `READY=1` and runs until idle exit or a signal; sends
    /// `STOPPING=1` before returning.
    ///
    /// # Errors
    /// Only epoll_wait(2) failures, which leave nothing to run on.
    pub fn run(&mut self) -> io::Result<Exit> {
        let names: Vec<String> = self
            .cfg
            .listeners
            .iter()
            .map(|(l, t)| {
                format!(
                    "fd {} ({}) -> {}",
                    l.fd.as_raw_fd(),
                    l.name,
                    self.cfg.targets[*t]
                )
            })
            .collect();
        info!("forwarding {}", names.join(", "));
        self.notify(&format!("READY=1\nSTATUS={}", self.status_line()));
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        loop {
            let now = Instant::now();
            if let Some(exit) = self.run_timers(now) {
                info!(
                    "{}",
                    match exit {
                        Exit::Idle => "exiting: idle for --exit-idle-time".to_string(),
                        Exit::Signal(s) => format!("exiting on signal {s}"),
                    }
                );
                self.notify("STOPPING=1");
                return Ok(exit);
            }
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            let n = self.epoll.wait(&mut events, timeout)?;
            for ev in &events[..n] {
                let (flags, tok) = (ev.events, ev.u64);
                let kind = tok & 3;
                let slot = ((tok >> 2) & 0x3fff_ffff) as usize;
                let gen = (tok >> 32) as u32;
                match kind {
                    KIND_LISTENER => self.accept(slot),
                    KIND_SIGNAL => {
                        if let Some(sig) = sys::read_signal(self.signals.as_raw_fd()) {
                            info!("exiting on signal {sig}");
                            self.notify("STOPPING=1");
                            return Ok(Exit::Signal(sig));
                        }
                    }
                    _ => self.conn_event(slot, gen, kind, flags),
                }
            }
            if self.status_dirty
                && self
                    .status_sent
                    .is_none_or(|t| t.elapsed() >= STATUS_INTERVAL)
            {
                self.send_status();
            }
        }
    }

    fn notify(&self, state: &str) {
        if let Err(e) = self.notifier.send(state) {
            debug!("sd_notify failed: {e}");
        }
    }

    fn status_line(&self) -> String {
        format!(
            "{} connections ({} waiting for backend), {} served; limit {}",
            self.active, self.connecting, self.served, self.cfg.connections_max
        )
    }

    fn send_status(&mut self) {
        self.status_dirty = false;
        self.status_sent = Some(Instant::now());
        if self.notifier.enabled() {
            self.notify(&format!("STATUS={}", self.status_line()));
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |d| d.min(t)));
            }
        };
        consider(self.timers.peek().map(|Reverse((t, _, _))| *t));
        consider(self.accept_paused_until);
        consider(self.watchdog_next);
        if self.status_dirty {
            consider(self.status_sent.map(|t| t + STATUS_INTERVAL));
        }
        if self.active == 0 {
            if let Some(idle) = self.cfg.exit_idle_time {
                consider(self.idle_since.checked_add(idle));
            }
        }
        d
    }

    fn run_timers(&mut self, now: Instant) -> Option<Exit> {
        if self.active == 0 {
            if let Some(idle) = self.cfg.exit_idle_time {
                if self.idle_since.checked_add(idle).is_some_and(|t| now >= t) {
                    return Some(Exit::Idle);
                }
            }
        }
        if let Some(t) = self.watchdog_next {
            if now >= t {
                self.notify("WATCHDOG=1");
                self.watchdog_next = self.cfg.watchdog.map(|w| now + w / 2);
            }
        }
        if self.accept_paused_until.is_some_and(|t| now >= t) {
            self.accept_paused_until = None;
            self.update_listening();
        }
        while let Some(Reverse((t, slot, gen))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            self.connect_timer(slot, gen, now);
        }
        None
    }

    fn accept(&mut self, index: usize) {
        // A bounded batch keeps one busy listener from starving the others
        // (the listener is level-triggered, so the rest comes next round).
        for _ in 0..64 {
            if self.active >= self.cfg.connections_max || self.accept_paused_until.is_some() {
                break;
            }
            let (listener, target) = &self.cfg.listeners[index];
            match sys::accept(listener.fd.as_raw_fd()) {
                Ok(fd) => {
                    let (family, target) = (listener.family, *target);
                    self.accept_backoff = ACCEPT_BACKOFF_FIRST;
                    self.open(fd, index, family, target);
                }
                Err(e) if sys::would_block(&e) => break,
                Err(e) if sys::out_of_resources(&e) => {
                    self.pause_accepting(&e);
                    break;
                }
                // The client went away between SYN and accept, or a
                // firewall refused it: nothing to do for this one.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ECONNABORTED | libc::EINTR | libc::EPROTO | libc::EPERM)
                    ) => {}
                Err(e) => {
                    warning!("accept on fd {} failed: {e}", listener.fd.as_raw_fd());
                    self.pause_accepting(&e);
                    break;
                }
            }
        }
        self.update_listening();
    }

    /// Stops accepting for a while: the pending clients stay in the listen
    /// backlog, and the loop sleeps instead of spinning on a level-triggered
    /// listener it cannot serve.
    fn pause_accepting(&mut self, e: &io::Error) {
        warning!(
            "accept: {e}; pausing accepts for {} ms ({} connections open)",
            self.accept_backoff.as_millis(),
            self.active
        );
        self.accept_paused_until = Some(Instant::now() + self.accept_backoff);
        self.accept_backoff = (self.accept_backoff * 2).min(ACCEPT_BACKOFF_MAX);
        self.update_listening();
    }

    fn open(&mut self, client: OwnedFd, listener: usize, family: libc::c_int, target: usize) {
        if family != libc::AF_UNIX && !self.inherits_tuning.get(listener).copied().unwrap_or(false)
        {
            self.tune_tcp(client.as_raw_fd());
        }
        self.next_gen = self.next_gen.wrapping_add(1);
        let gen = self.next_gen;
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        if let Err(e) = self
            .epoll
            .add(client.as_raw_fd(), EDGE, token(KIND_CLIENT, slot, gen))
        {
            warning!("cannot watch accepted connection: {e}");
            self.free.push(slot);
            return;
        }
        self.conns[slot] = Some(Conn {
            gen,
            client,
            backend: None,
            target,
            state: State::Connecting {
                attempt: 0,
                backoff: RETRY_FIRST,
                deadline: Instant::now() + self.cfg.connect_timeout,
                last_error: None,
            },
            client_input: false,
            up: Direction::new(self.cfg.pipe_size),
            down: Direction::new(self.cfg.pipe_size),
        });
        self.active += 1;
        self.connecting += 1;
        self.status_dirty = true;
        debug!("connection {slot}: accepted");
        self.try_connect(slot);
    }

    /// Applies the per-socket TCP options to a listening socket, so that
    /// accepted sockets inherit them (Linux copies `TCP_NODELAY`,
    /// `SO_KEEPALIVE` and the keepalive timers from the listener), and
    /// returns whether it took. Setting `TCP_NODELAY` on the listener is
    /// what `NoDelay=yes` in the socket unit does; it changes nothing for
    /// clients, as every accepted socket gets it anyway.
    fn tune_listener(&self, fd: RawFd) -> bool {
        self.tune_tcp(fd);
        let k = self.cfg.keepalive;
        let on = |level, opt| sys::getsockopt_int(fd, level, opt).is_ok_and(|v| v != 0);
        on(libc::IPPROTO_TCP, libc::TCP_NODELAY)
            && (!k.enabled || on(libc::SOL_SOCKET, libc::SO_KEEPALIVE))
    }

    fn tune_tcp(&self, fd: RawFd) {
        // The proxy must not add Nagle delays on top of the sender's.
        let _ = sys::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
        let k = self.cfg.keepalive;
        if k.enabled {
            let _ = sys::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
            for (opt, v) in [
                (libc::TCP_KEEPIDLE, k.time),
                (libc::TCP_KEEPINTVL, k.interval),
                (libc::TCP_KEEPCNT, k.count),
            ] {
                if let Some(v) = v {
                    let _ = sys::setsockopt_int(fd, libc::IPPROTO_TCP, opt, v as libc::c_int);
                }
            }
        }
    }

    /// Starts one connect attempt for a connecting slot; an attempt still
    /// in flight is bounded by a timer at the connect deadline.
    fn try_connect(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let State::Connecting {
            attempt, deadline, ..
        } = &mut conn.state
        else {
            return;
        };
        let n = *attempt;
        *attempt += 1;
        let (gen, t, deadline) = (conn.gen, conn.target, *deadline);
        let target = &self.cfg.targets[t];
        match target.connect(n) {
            Ok((fd, done)) => {
                if target.is_inet() {
                    self.tune_tcp(fd.as_raw_fd());
                }
                if let Err(e) = self
                    .epoll
                    .add(fd.as_raw_fd(), EDGE, token(KIND_BACKEND, slot, gen))
                {
                    self.connect_failed(slot, e);
                    return;
                }
                if let Some(conn) = self.conns[slot].as_mut() {
                    conn.backend = Some(fd);
                }
                if done {
                    // Both sockets were added to epoll since anything they
                    // have was last reported: their input raises events.
                    self.connected(slot, false);
                } else {
                    self.timers.push(Reverse((deadline, slot, gen)));
                }
            }
            Err(e) => self.connect_failed(slot, e),
        }
    }

    fn connect_failed(&mut self, slot: usize, e: io::Error) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let t = conn.target;
        if let Some(b) = conn.backend.take() {
            self.epoll.delete(b.as_raw_fd());
        }
        let State::Connecting {
            backoff,
            deadline,
            last_error,
            ..
        } = &mut conn.state
        else {
            return;
        };
        let now = Instant::now();
        if now >= *deadline {
            let waited = self.cfg.connect_timeout.as_secs_f64();
            warning!(
                "closing client: backend {} not reachable within {waited:.1}s: {e}",
                self.cfg.targets[t]
            );
            self.close(slot, false);
            return;
        }
        if !self.target_down[t] {
            self.target_down[t] = true;
            info!(
                "backend {} not reachable yet ({e}); holding clients and retrying",
                self.cfg.targets[t]
            );
        }
        let at = (now + *backoff).min(*deadline);
        *backoff = (*backoff * 2).min(RETRY_MAX);
        *last_error = Some(e);
        let gen = conn.gen;
        self.timers.push(Reverse((at, slot, gen)));
    }

    fn connect_timer(&mut self, slot: usize, gen: u32, now: Instant) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        if conn.gen != gen {
            return;
        }
        let State::Connecting {
            deadline,
            last_error,
            ..
        } = &mut conn.state
        else {
            return;
        };
        if conn.backend.is_some() {
            // An attempt is in flight (SYN sent): only the deadline matters.
            if now >= *deadline {
                let e = io::Error::from_raw_os_error(libc::ETIMEDOUT);
                self.connect_failed(slot, e);
            }
            return;
        }
        if now >= *deadline {
            let e = last_error
                .take()
                .unwrap_or_else(|| io::Error::from_raw_os_error(libc::ETIMEDOUT));
            self.connect_failed(slot, e);
            return;
        }
        self.try_connect(slot);
    }

    fn connected(&mut self, slot: usize, backend_input: bool) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        conn.state = State::Relaying;
        let t = conn.target;
        self.connecting -= 1;
        self.served += 1;
        self.status_dirty = true;
        if self.target_down[t] {
            self.target_down[t] = false;
            info!("backend {} is up", self.cfg.targets[t]);
        }
        debug!("connection {slot}: connected to backend");
        let client_input = conn.client_input;
        self.pump_some(slot, client_input, backend_input);
    }

    fn conn_event(&mut self, slot: usize, gen: u32, kind: u64, flags: u32) {
        let Some(conn) = self.conns.get_mut(slot).and_then(|c| c.as_mut()) else {
            return;
        };
        if conn.gen != gen {
            return;
        }
        if flags & (libc::EPOLLRDHUP | libc::EPOLLHUP) as u32 != 0 {
            // The end of file behind this hang-up is reported once: make
            // the direction reading this side read up to it.
            if kind == KIND_CLIENT {
                conn.up.note_hangup();
            } else {
                conn.down.note_hangup();
            }
        }
        let failed = flags & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0;
        let input = flags & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP) as u32 != 0;
        match conn.state {
            State::Connecting { .. } => {
                if kind == KIND_CLIENT {
                    conn.client_input |= input;
                    if flags & libc::EPOLLERR as u32 != 0 {
                        if let Some(e) = sys::take_socket_error(conn.client.as_raw_fd()) {
                            debug!("connection {slot}: client failed while connecting: {e}");
                            self.close(slot, false);
                        }
                    }
                    // Otherwise leave the client's bytes where they are.
                    return;
                }
                let Some(b) = conn.backend.as_ref() else {
                    return;
                };
                let fd = b.as_raw_fd();
                // EPOLLOUT without EPOLLERR/EPOLLHUP: the connect completed
                // (a failed one always reports EPOLLERR), no need to ask.
                if let Some(e) = failed.then(|| sys::take_socket_error(fd)).flatten() {
                    self.connect_failed(slot, e);
                } else if flags & libc::EPOLLOUT as u32 != 0 {
                    // The backend's input is only worth a read if it
                    // already has some (edge-triggered: more raises an
                    // edge later).
                    self.connected(slot, input);
                }
            }
            State::Relaying => {
                if flags & libc::EPOLLERR as u32 != 0 {
                    let fd = if kind == KIND_CLIENT {
                        conn.client.as_raw_fd()
                    } else {
                        conn.backend.as_ref().map_or(-1, |b| b.as_raw_fd())
                    };
                    if let Some(e) = sys::take_socket_error(fd) {
                        self.fail(slot, kind == KIND_CLIENT, e);
                        return;
                    }
                }
                // Pump only the directions this readiness can move: input
                // on a side feeds the direction it sources, output space
                // drains the direction it sinks — when it has something
                // queued (with nothing queued its source is drained, and
                // new input raises its own event).
                let output = flags & (libc::EPOLLOUT | libc::EPOLLHUP) as u32 != 0;
                let (up, down) = if kind == KIND_CLIENT {
                    (input, output && conn.down.pending() > 0)
                } else {
                    (output && conn.up.pending() > 0, input)
                };
                self.pump_some(slot, up, down);
            }
        }
    }

    fn pump_some(&mut self, slot: usize, up: bool, down: bool) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let c = conn.client.as_raw_fd();
        let Some(b) = conn.backend.as_ref().map(|b| b.as_raw_fd()) else {
            return;
        };
        let scratch = &mut self.scratch[..];
        let last = conn.down.is_done();
        let r = if up {
            conn.up.pump(c, b, scratch, last)
        } else {
            Ok(())
        }
        .map_err(|f| match f {
            Fault::Source(e) => (true, e),
            Fault::Destination(e) => (false, e),
        });
        let r = r.and_then(|()| {
            let last = conn.up.is_done();
            if down {
                conn.down.pump(b, c, scratch, last)
            } else {
                Ok(())
            }
            .map_err(|f| match f {
                Fault::Source(e) => (false, e),
                Fault::Destination(e) => (true, e),
            })
        });
        match r {
            Err((client_side, e)) => self.fail(slot, client_side, e),
            Ok(()) if conn.up.is_done() && conn.down.is_done() => self.close(slot, false),
            Ok(()) => {}
        }
    }

    /// One side failed (reset, or a write to it was refused): reset the
    /// other side too, so both peers see the connection break instead of a
    /// clean end of file that would pass a truncated stream off as complete.
    fn fail(&mut self, slot: usize, client_side: bool, e: io::Error) {
        debug!(
            "connection {slot}: {} side failed: {e}; resetting the other side",
            if client_side { "client" } else { "backend" }
        );
        self.close(slot, true);
    }

    fn close(&mut self, slot: usize, reset: bool) {
        let Some(conn) = self.conns[slot].take() else {
            return;
        };
        // No EPOLL_CTL_DEL: the sockets are never duplicated, so closing
        // them removes them from the epoll set; events already fetched for
        // them carry the old generation and are ignored.
        if reset {
            sys::set_linger_zero(conn.client.as_raw_fd());
            if let Some(b) = &conn.backend {
                sys::set_linger_zero(b.as_raw_fd());
            }
        }
        if let State::Connecting { .. } = conn.state {
            self.connecting -= 1;
        }
        debug!(
            "connection {slot}: closed{} after {} bytes up, {} down",
            if reset { " with reset" } else { "" },
            conn.up.bytes,
            conn.down.bytes
        );
        drop(conn);
        self.free.push(slot);
        self.active -= 1;
        self.status_dirty = true;
        if self.active == 0 {
            self.idle_since = Instant::now();
        }
        // A closed connection frees fds: a pause for EMFILE can end now.
        if self.accept_paused_until.is_some() {
            self.accept_paused_until = None;
        }
        self.update_listening();
    }
}
