//! The event loop: one thread, one epoll instance, edge-triggered on the
//! proxied sockets and level-triggered on the listeners.
//!
//! A connection goes through three states.
//!
//! *Connecting*: the client is accepted and held (its bytes wait in its
//! socket) while the backend is connected. The target's addresses are tried
//! in turn, the one that worked last first; a refusal moves on to the next
//! address at once, and an address that does not answer within
//! [`NEXT_ADDRESS_DELAY`] gets a parallel attempt at the next one (RFC 8305
//! "happy eyeballs"). When every address failed, the round is retried with
//! backoff (25 ms doubling to 500 ms) until `--connect-timeout`.
//!
//! *Relaying*: two [`Direction`]s pump bytes, each at most its share of
//! [`TURN_BUDGET`] per loop turn (a connection with more to move waits in
//! the ready queue for the next turn, after the other connections, timers
//! and signals); the connection closes when both directions delivered end
//! of file.
//!
//! *Draining*: one side failed (reset, or a write to it was refused).
//! Nothing more can reach it; what it sent before failing is still read and
//! delivered to the other side, and once the other side's socket has
//! nothing left in flight (`SIOCOUTQ`, acknowledged by its peer) — or after
//! [`DRAIN_TIMEOUT`] — the other side is reset too. Its peer thus sees
//! every byte a direct connection would have shown it, then the reset.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::activation::Listener;
use crate::notify::Notifier;
use crate::proxy_protocol;
use crate::relay::{Direction, Fault, PipePool, Pumped, TURN_BUDGET};
use crate::sys::{self, Epoll};
use crate::target::{is_loopback, probe, Addrs, Connect, RawAddr, Target};
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
    /// `--connect-timeout`; `None` (infinity) retries for ever.
    pub connect_timeout: Option<Duration>,
    /// Keepalive options.
    pub keepalive: Keepalive,
    /// The PROXY protocol header sent to each target (by index), if any.
    pub proxy_protocol: Vec<Option<proxy_protocol::Version>>,
    /// Congestion control for the proxy's loopback sockets (`None`: the
    /// host default).
    pub loopback_congestion: Option<CString>,
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
/// RFC 8305's recommended "connection attempt delay".
pub const NEXT_ADDRESS_DELAY: Duration = Duration::from_millis(250);
/// Longest wait for the surviving side to take the bytes the failed side
/// sent, before it is reset regardless.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
const DRAIN_POLL_FIRST: Duration = Duration::from_millis(1);
const DRAIN_POLL_MAX: Duration = Duration::from_millis(50);
/// Retry interval for a direction that found no pipe (out of fds).
const NO_PIPE_RETRY: Duration = Duration::from_millis(50);
/// Empty pipes kept for reuse.
const PIPES_KEPT: usize = 8;
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(50);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
const STATUS_INTERVAL: Duration = Duration::from_millis(250);

const EDGE: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLPRI | libc::EPOLLET) as u32;

/// When to look at a connect attempt in flight again: the next address's
/// start, the deadline, or in a second — never far ahead, so the timer heap
/// holds no long-dead entries for connections that completed meanwhile.
fn check_at(now: Instant, next_at: Option<Instant>, deadline: Option<Instant>) -> Instant {
    let mut at = now + Duration::from_secs(1);
    for t in [next_at, deadline].into_iter().flatten() {
        at = at.min(t);
    }
    at
}

fn token(kind: u64, slot: usize, gen: u32) -> u64 {
    kind | (slot as u64) << 2 | u64::from(gen) << 32
}

enum State {
    Connecting {
        /// This round's addresses, in the order to try them.
        addrs: Addrs,
        /// How many of them were started.
        next: usize,
        /// Attempts in flight (registered with epoll).
        attempts: Vec<(OwnedFd, RawAddr)>,
        /// When to start the next address in parallel.
        next_at: Option<Instant>,
        /// When to start a new round after every address failed.
        retry_at: Option<Instant>,
        backoff: Duration,
        deadline: Option<Instant>,
        last_error: Option<io::Error>,
    },
    Relaying,
    Draining {
        client_failed: bool,
        deadline: Instant,
        poll: Duration,
    },
}

struct Conn {
    gen: u32,
    client: OwnedFd,
    client_inet: bool,
    backend: Option<OwnedFd>,
    backend_inet: bool,
    target: usize,
    state: State,
    /// While connecting, epoll reported input on the client (events are
    /// edge-triggered, so the first pump after connecting must read it).
    client_input: bool,
    /// In the ready queue (budget spent with bytes left).
    ready: bool,
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
    ready: VecDeque<(usize, u32)>,
    pool: PipePool,
    idle_since: Instant,
    status_dirty: bool,
    status_sent: Option<Instant>,
    watchdog_next: Option<Instant>,
    target_down: Vec<bool>,
    /// Per listener: accepted sockets inherit `TCP_NODELAY` (and keepalive)
    /// from it, so they need no setsockopt of their own.
    inherits_tuning: Vec<bool>,
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
            ready: VecDeque::new(),
            pool: PipePool::new(PIPES_KEPT),
            idle_since: now,
            status_dirty: false,
            status_sent: None,
            target_down: vec![false; targets],
            inherits_tuning: Vec::new(),
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
            let timeout = if self.ready.is_empty() {
                self.next_deadline()
                    .map(|d| d.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
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
            // Connections whose budget ran out last turn, once each, after
            // this turn's events.
            for _ in 0..self.ready.len() {
                let Some((slot, gen)) = self.ready.pop_front() else {
                    break;
                };
                if let Some(conn) = self.conn_mut(slot, gen) {
                    conn.ready = false;
                    if matches!(conn.state, State::Draining { .. }) {
                        self.drain(slot);
                    } else {
                        self.step(slot, true, true);
                    }
                }
            }
            if self.status_pending()
                && self
                    .status_sent
                    .is_none_or(|t| t.elapsed() >= STATUS_INTERVAL)
            {
                self.send_status();
            }
        }
    }

    fn conn_mut(&mut self, slot: usize, gen: u32) -> Option<&mut Conn> {
        self.conns
            .get_mut(slot)
            .and_then(|c| c.as_mut())
            .filter(|c| c.gen == gen)
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

    /// A `STATUS=` update is owed to a service manager that listens.
    /// Without one (`NOTIFY_SOCKET` unset) nothing is owed, so the loop
    /// sleeps without a timeout instead of arming a timer on every
    /// epoll_wait(2) while connections come and go.
    fn status_pending(&self) -> bool {
        self.status_dirty && self.notifier.enabled()
    }

    fn send_status(&mut self) {
        self.status_dirty = false;
        self.status_sent = Some(Instant::now());
        self.notify(&format!("STATUS={}", self.status_line()));
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
        if self.status_pending() {
            consider(self.status_sent.map(|t| t + STATUS_INTERVAL));
        }
        if self.active == 0 {
            if let Some(idle) = self.cfg.exit_idle_time {
                consider(self.idle_since.checked_add(idle));
            }
        }
        d
    }

    /// True when a listener has a connection waiting to be accepted.
    fn pending_accept(&self) -> bool {
        self.cfg
            .listeners
            .iter()
            .any(|(l, _)| sys::readable_now(l.fd.as_raw_fd()))
    }

    fn run_timers(&mut self, now: Instant) -> Option<Exit> {
        if self.active == 0 {
            if let Some(idle) = self.cfg.exit_idle_time {
                if self.idle_since.checked_add(idle).is_some_and(|t| now >= t) {
                    // A client that connected since the last look (the one
                    // that activated us, with --exit-idle-time=0) is served
                    // first: exiting would leave it to a restart.
                    if !self.pending_accept() {
                        return Some(Exit::Idle);
                    }
                    for i in 0..self.cfg.listeners.len() {
                        self.accept(i);
                    }
                    if self.active == 0 {
                        self.idle_since = now;
                    }
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
            self.conn_timer(slot, gen, now);
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
        let client_inet = family != libc::AF_UNIX;
        if client_inet && !self.inherits_tuning.get(listener).copied().unwrap_or(false) {
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
        let now = Instant::now();
        self.conns[slot] = Some(Conn {
            gen,
            client,
            client_inet,
            backend: None,
            backend_inet: false,
            target,
            state: State::Connecting {
                addrs: Addrs::default(),
                next: 0,
                attempts: Vec::new(),
                next_at: None,
                retry_at: None,
                backoff: RETRY_FIRST,
                deadline: self.cfg.connect_timeout.and_then(|t| now.checked_add(t)),
                last_error: None,
            },
            client_input: false,
            ready: false,
            up: Direction::new(),
            down: Direction::new(),
        });
        self.active += 1;
        self.connecting += 1;
        self.status_dirty = true;
        debug!("connection {slot}: accepted");
        self.start_round(slot);
    }

    /// Applies the per-socket TCP options to a listening socket, so that
    /// accepted sockets inherit them (Linux copies `TCP_NODELAY`,
    /// `SO_KEEPALIVE`, the keepalive timers and a congestion control set
    /// with `TCP_CONGESTION` from the listener), and returns whether it
    /// took. Setting `TCP_NODELAY` on the listener is what `NoDelay=yes` in
    /// the socket unit does; it changes nothing for clients, as every
    /// accepted socket gets it anyway. The congestion control is only set
    /// on a listener bound to a loopback address (every client is local).
    fn tune_listener(&self, fd: RawFd) -> bool {
        self.tune_tcp(fd);
        if let Some(cc) = &self.cfg.loopback_congestion {
            if sys::socket_addr(fd, false).is_some_and(|a| is_loopback(a.ip())) {
                sys::set_congestion(fd, cc);
            }
        }
        let k = self.cfg.keepalive;
        let on = |level, opt| sys::getsockopt_int(fd, level, opt).is_ok_and(|v| v != 0);
        on(libc::IPPROTO_TCP, libc::TCP_NODELAY)
            && (!k.enabled || on(libc::SOL_SOCKET, libc::SO_KEEPALIVE))
    }

    fn tune_tcp(&self, fd: RawFd) {
        tune_tcp(self.cfg.keepalive, fd);
    }

    /// Starts a round of connect attempts with the target's current
    /// addresses.
    fn start_round(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let addrs = self.cfg.targets[conn.target].addrs(Instant::now());
        if let State::Connecting {
            addrs: a,
            next,
            retry_at,
            next_at,
            last_error,
            ..
        } = &mut conn.state
        {
            if addrs.is_empty() && last_error.is_none() {
                *last_error = Some(io::Error::other("host name does not resolve (yet)"));
            }
            *a = addrs;
            *next = 0;
            *retry_at = None;
            *next_at = None;
        }
        self.try_next(slot);
    }

    /// Starts connecting to the next address of the round: at once after
    /// an immediate failure, until one is in flight or connected. When no
    /// address is left and nothing is in flight, the round failed.
    fn try_next(&mut self, slot: usize) {
        loop {
            let Some(conn) = self.conns[slot].as_mut() else {
                return;
            };
            let gen = conn.gen;
            let State::Connecting {
                addrs,
                next,
                attempts,
                next_at,
                deadline,
                last_error,
                ..
            } = &mut conn.state
            else {
                return;
            };
            if *next >= addrs.len() {
                *next_at = None;
                if attempts.is_empty() {
                    self.round_failed(slot);
                }
                return;
            }
            let a = addrs.get(*next);
            *next += 1;
            let cc = self
                .cfg
                .loopback_congestion
                .as_deref()
                .filter(|_| a.is_loopback());
            match a.connect(cc) {
                Ok((fd, Connect::InProgress)) => {
                    if let Err(e) =
                        self.epoll
                            .add(fd.as_raw_fd(), EDGE, token(KIND_BACKEND, slot, gen))
                    {
                        *last_error = Some(e);
                        continue;
                    }
                    attempts.push((fd, a));
                    let now = Instant::now();
                    *next_at = (*next < addrs.len()).then(|| now + NEXT_ADDRESS_DELAY);
                    let at = check_at(now, *next_at, *deadline);
                    self.timers.push(Reverse((at, slot, gen)));
                    return;
                }
                Ok((fd, how)) => {
                    self.won(slot, fd, a, false, how == Connect::Reset);
                    return;
                }
                Err(e) => *last_error = Some(e),
            }
        }
    }

    /// Every address of the round failed: retry after the backoff, or close
    /// the client past the connect deadline.
    fn round_failed(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let (t, gen) = (conn.target, conn.gen);
        let State::Connecting {
            backoff,
            deadline,
            last_error,
            retry_at,
            ..
        } = &mut conn.state
        else {
            return;
        };
        let now = Instant::now();
        let e = last_error
            .take()
            .unwrap_or_else(|| io::Error::from_raw_os_error(libc::ETIMEDOUT));
        if deadline.is_some_and(|d| now >= d) {
            let waited = self.cfg.connect_timeout.map_or(0.0, |t| t.as_secs_f64());
            warning!(
                "closing client: backend {} not reachable within {waited:.1}s: {e}",
                self.cfg.targets[t]
            );
            self.close(slot, false);
            return;
        }
        let at = now + *backoff;
        let at = deadline.map_or(at, |d| at.min(d));
        *backoff = (*backoff * 2).min(RETRY_MAX);
        *retry_at = Some(at);
        if !self.target_down[t] {
            self.target_down[t] = true;
            info!(
                "backend {} not reachable yet ({e}); holding clients and retrying",
                self.cfg.targets[t]
            );
        }
        *last_error = Some(e);
        self.timers.push(Reverse((at, slot, gen)));
    }

    fn conn_timer(&mut self, slot: usize, gen: u32, now: Instant) {
        enum Do {
            GiveUp,
            NextAddress,
            NewRound,
            Pump,
            Drain,
            Check(Instant),
            Nothing,
        }
        let Some(conn) = self.conn_mut(slot, gen) else {
            return;
        };
        let what = match &mut conn.state {
            State::Connecting {
                attempts,
                next_at,
                retry_at,
                deadline,
                last_error,
                ..
            } => {
                if deadline.is_some_and(|d| now >= d) {
                    // Past the deadline: give up on what is in flight.
                    if !attempts.is_empty() {
                        attempts.clear();
                        last_error.get_or_insert(io::Error::from_raw_os_error(libc::ETIMEDOUT));
                    }
                    Do::GiveUp
                } else if !attempts.is_empty() && next_at.is_some_and(|t| now >= t) {
                    // The address in flight is slow: try the next one too.
                    Do::NextAddress
                } else if attempts.is_empty() && retry_at.is_some_and(|t| now >= t) {
                    Do::NewRound
                } else if !attempts.is_empty() {
                    // Still in flight: look again later.
                    Do::Check(check_at(now, *next_at, *deadline))
                } else {
                    Do::Nothing
                }
            }
            State::Relaying => Do::Pump,
            State::Draining { .. } => Do::Drain,
        };
        match what {
            Do::GiveUp => self.round_failed(slot),
            Do::NextAddress => self.try_next(slot),
            Do::NewRound => self.start_round(slot),
            Do::Pump => self.step(slot, true, true),
            Do::Drain => self.drain(slot),
            Do::Check(at) => self.timers.push(Reverse((at, slot, gen))),
            Do::Nothing => {}
        }
    }

    /// The backend connected on `fd` (`registered`: already in epoll;
    /// `reset`: and reset already, see [`Connect::Reset`]).
    fn won(&mut self, slot: usize, fd: OwnedFd, addr: RawAddr, registered: bool, reset: bool) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let gen = conn.gen;
        let t = conn.target;
        // Other attempts in flight are closed (which removes them from
        // epoll).
        if let State::Connecting { attempts, .. } = &mut conn.state {
            attempts.clear();
        }
        let inet = addr.socket_addr().is_some();
        if !registered {
            if let Err(e) = self
                .epoll
                .add(fd.as_raw_fd(), EDGE, token(KIND_BACKEND, slot, gen))
            {
                warning!("cannot watch backend connection: {e}");
                self.close(slot, true);
                return;
            }
        }
        if inet {
            tune_tcp(self.cfg.keepalive, fd.as_raw_fd());
        }
        self.cfg.targets[t].worked(&addr);
        if let Some(v) = self.cfg.proxy_protocol.get(t).copied().flatten() {
            let c = conn.client.as_raw_fd();
            let h =
                proxy_protocol::header(v, sys::socket_addr(c, true), sys::socket_addr(c, false));
            // The socket was just connected and its send buffer is empty:
            // the header goes out whole, ahead of any client byte.
            if sys::send_flags(fd.as_raw_fd(), &h, 0).ok() != Some(h.len()) {
                warning!("cannot send the PROXY protocol header to the backend");
                conn.backend = Some(fd);
                self.close(slot, true);
                return;
            }
        }
        conn.backend = Some(fd);
        conn.backend_inet = inet;
        conn.state = State::Relaying;
        self.connecting -= 1;
        self.served += 1;
        self.status_dirty = true;
        if self.target_down[t] {
            self.target_down[t] = false;
            info!("backend {} is up", self.cfg.targets[t]);
        }
        debug!("connection {slot}: connected to backend {addr:?}");
        if reset {
            // Nothing can reach the backend; what it sent is read to its
            // end and delivered, then the client is reset.
            conn.up.abandon(&mut self.pool);
            conn.state = State::Draining {
                client_failed: false,
                deadline: Instant::now() + DRAIN_TIMEOUT,
                poll: DRAIN_POLL_FIRST,
            };
            self.drain(slot);
            return;
        }
        let client_input = conn.client_input;
        self.step(slot, client_input, false);
    }

    /// Readiness on an attempt in flight: asks each attempt how it went.
    fn attempts_event(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let State::Connecting {
            attempts,
            last_error,
            ..
        } = &mut conn.state
        else {
            return;
        };
        let mut i = 0;
        while i < attempts.len() {
            match probe(&attempts[i].0) {
                Ok(Connect::InProgress) => i += 1,
                Ok(how) => {
                    let (fd, a) = attempts.swap_remove(i);
                    self.won(slot, fd, a, true, how == Connect::Reset);
                    return;
                }
                Err(e) => {
                    attempts.swap_remove(i);
                    *last_error = Some(e);
                }
            }
        }
        if attempts.is_empty() {
            // Refused: the next address at once.
            self.try_next(slot);
        }
    }

    fn conn_event(&mut self, slot: usize, gen: u32, kind: u64, flags: u32) {
        let Some(conn) = self.conn_mut(slot, gen) else {
            return;
        };
        let reading_this = if kind == KIND_CLIENT {
            &mut conn.up
        } else {
            &mut conn.down
        };
        if flags & libc::EPOLLPRI as u32 != 0 {
            // Urgent data: the direction reading this side must step over
            // its mark (see relay).
            reading_this.note_urgent();
        }
        if flags & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
            // The end (or error) behind this is reported once: the
            // direction reading this side must read up to it.
            reading_this.note_hangup();
        }
        let input = flags
            & (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR)
                as u32
            != 0;
        let output = flags & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
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
                self.attempts_event(slot);
            }
            State::Relaying => {
                // Pump only the directions this readiness can move: input
                // on a side feeds the direction it sources, output space
                // drains the direction it sinks — when it has something
                // queued (with nothing queued its source is drained, and
                // new input raises its own event). An error or hang-up
                // counts as both: the pumps read what is left and meet the
                // error themselves.
                let (up, down) = if kind == KIND_CLIENT {
                    (input, output && conn.down.pending() > 0)
                } else {
                    (output && conn.up.pending() > 0, input)
                };
                self.step(slot, up, down);
            }
            State::Draining { .. } => self.drain(slot),
        }
    }

    /// One pump of the chosen directions within the turn's budget, then
    /// whatever the outcome calls for: close, drain, queue for the next
    /// turn, or retry for a pipe.
    fn step(&mut self, slot: usize, up: bool, down: bool) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        if !matches!(conn.state, State::Relaying) {
            return;
        }
        let c = conn.client.as_raw_fd();
        let Some(b) = conn.backend.as_ref().map(|b| b.as_raw_fd()) else {
            return;
        };
        let mut budget = TURN_BUDGET;
        let (mut again, mut starved) = (false, false);
        // (client side?, read fault?, error): which side failed, and whether
        // reading from it (then what was read is still delivered) or writing
        // to it did.
        let mut failed: Option<(bool, bool, io::Error)> = None;
        for is_up in [true, false] {
            if !(if is_up { up } else { down }) {
                continue;
            }
            let other_done = if is_up {
                conn.down.is_done()
            } else {
                conn.up.is_done()
            };
            let (d, src, dst) = if is_up {
                (&mut conn.up, c, b)
            } else {
                (&mut conn.down, b, c)
            };
            match d.pump(src, dst, &mut self.pool, &mut budget, !other_done) {
                Ok(Pumped::Waiting) => {}
                Ok(Pumped::Budget) => again = true,
                Ok(Pumped::NoPipe) => starved = true,
                Err(Fault::Source(e)) => {
                    failed = Some((is_up, true, e));
                    break;
                }
                Err(Fault::Destination(e)) => {
                    failed = Some((!is_up, false, e));
                    break;
                }
            }
        }
        if let Some((client_side, read_fault, e)) = failed {
            debug!(
                "connection {slot}: {} side failed: {e}; delivering what it sent, then \
                 resetting the other side",
                if client_side { "client" } else { "backend" }
            );
            let (into_failed, out_of_failed) = if client_side {
                (&mut conn.down, &mut conn.up)
            } else {
                (&mut conn.up, &mut conn.down)
            };
            into_failed.abandon(&mut self.pool);
            if read_fault {
                out_of_failed.source_failed();
            }
            // Otherwise the failed side is read on to its end or error.
            conn.state = State::Draining {
                client_failed: client_side,
                deadline: Instant::now() + DRAIN_TIMEOUT,
                poll: DRAIN_POLL_FIRST,
            };
            self.drain(slot);
            return;
        }
        if conn.up.is_done() && conn.down.is_done() {
            self.close(slot, false);
            return;
        }
        let gen = conn.gen;
        if again && !conn.ready {
            conn.ready = true;
            self.ready.push_back((slot, gen));
        }
        if starved {
            self.timers
                .push(Reverse((Instant::now() + NO_PIPE_RETRY, slot, gen)));
        }
    }

    /// Draining: delivers what the failed side sent, then resets the other
    /// side once its peer acknowledged everything (or at the deadline).
    fn drain(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        let State::Draining {
            client_failed,
            deadline,
            poll,
        } = &mut conn.state
        else {
            return;
        };
        let (c, b) = (
            conn.client.as_raw_fd(),
            conn.backend.as_ref().map_or(-1, |b| b.as_raw_fd()),
        );
        let (d, src, dst, dst_inet) = if *client_failed {
            (&mut conn.up, c, b, conn.backend_inet)
        } else {
            (&mut conn.down, b, c, conn.client_inet)
        };
        let now = Instant::now();
        let mut budget = TURN_BUDGET;
        let mut again = false;
        while !d.is_done() {
            match d.pump(src, dst, &mut self.pool, &mut budget, false) {
                Ok(Pumped::Waiting) => break,
                Ok(Pumped::Budget) => {
                    again = true;
                    break;
                }
                Ok(Pumped::NoPipe) => break,
                // The failed side's error, after the bytes it sent.
                Err(Fault::Source(_)) => d.source_failed(),
                Err(Fault::Destination(e)) => {
                    debug!("connection {slot}: the other side failed too: {e}");
                    self.close(slot, true);
                    return;
                }
            }
        }
        let past = now >= *deadline;
        if d.is_done() {
            // Delivered into the socket; a reset would drop what its peer
            // has not acknowledged yet (UNIX sockets hand bytes over at
            // once).
            if past || !dst_inet || sys::outq(dst).map_or(true, |n| n == 0) {
                self.close(slot, true);
                return;
            }
        } else if past {
            debug!("connection {slot}: peer took too long to read; resetting");
            self.close(slot, true);
            return;
        }
        let gen = conn.gen;
        if again && !conn.ready {
            conn.ready = true;
            self.ready.push_back((slot, gen));
        }
        let at = (now + *poll).min(*deadline);
        *poll = (*poll * 2).min(DRAIN_POLL_MAX);
        self.timers.push(Reverse((at, slot, gen)));
    }

    fn close(&mut self, slot: usize, reset: bool) {
        let Some(mut conn) = self.conns[slot].take() else {
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
        conn.up.abandon(&mut self.pool);
        conn.down.abandon(&mut self.pool);
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

/// TCP options for a proxied socket: `TCP_NODELAY` and the keepalive
/// settings.
fn tune_tcp(k: Keepalive, fd: RawFd) {
    // The proxy must not add Nagle delays on top of the sender's.
    let _ = sys::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
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
