//! One direction of a proxied connection: bytes from `src` to `dst`, by
//! splice(2) through a pipe — the one data path.
//!
//! Small messages stay on it too: a 1-byte hop between two loopback TCP
//! sockets costs about 6.1 µs by splice and 5.6 µs by recv(2)/send(2)
//! through a buffer (`loadgen hop 20000 1`, p50; most of it is loopback
//! TCP either way), so a copy path for short reads would save about 1 µs
//! of the 60-70 µs of proxy CPU a short connection costs (two hops), not
//! enough to pay for a second path; bulk data needs splice (no copies).
//!
//! - A direction holds a pipe only while bytes are in it: when the pipe is
//!   empty and `src` has nothing more, the pipe goes back to a [`PipePool`]
//!   shared by all connections, so an idle connection costs its two sockets
//!   and nothing else, however much it once carried.
//! - A pipe starts at the kernel's 64 KiB and is grown to 1 MiB
//!   ([`STREAM_PIPE`]) once a direction fills it (it is streaming); grown
//!   pipes keep their size in the pool.
//! - `pump` moves bytes until a socket would block, `src` ends, or the
//!   caller's byte budget for this loop turn is spent (no splice asks for
//!   more than is left of it) ([`Pumped::Budget`]:
//!   call again next turn), so one fast connection cannot hold the loop.
//! - End of file on `src` becomes `shutdown(dst, SHUT_WR)` once everything
//!   read was delivered (half-close).
//! - Urgent data (`MSG_OOB`): TCP splice stops at the urgent mark — it
//!   returns `EAGAIN` there, or 0 once a FIN is queued behind it, which
//!   would look like end of file. The caller reports urgent data
//!   (`EPOLLPRI`, [`Direction::note_urgent`]); at the mark, once the pipe
//!   is empty, the urgent byte is taken with `recv(MSG_OOB)` and sent on as
//!   urgent (`send(MSG_OOB)`) after the bytes before it, and one read(2)
//!   steps over its place in the stream, so the peer sees what a direct
//!   connection would have shown it. Without urgent data a 0 from splice
//!   is end of file and costs nothing more.
//! - Errors are reported per side ([`Fault`]), so the caller can deliver
//!   what the failed side sent before it failed and then reset the other.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::sys;

/// A pipe slot's capacity (one page), bytes.
const PAGE: usize = 4096;

/// The kernel's default pipe capacity, bytes.
pub const DEFAULT_PIPE: usize = 64 * 1024;

/// Capacity a pipe grows to once a direction fills it. Measured with
/// bench/proxy.sh on the 2-core loopback (bench/RESULTS-proxy.md): with
/// reno on the loopback sockets, 1 MiB pipes cost 143 CPU ms per GiB
/// against 198 for 64 KiB ones (fewer, larger splices). It is also
/// `/proc/sys/fs/pipe-max-size`'s default, so unprivileged users get it.
pub const STREAM_PIPE: usize = 1 << 20;

/// Bytes one connection may move per loop turn (both directions), so
/// other connections, timers and signals wait at most a fraction of a
/// millisecond for a busy one. Measured with bench/proxy.sh (3 alternating
/// runs, bench/RESULTS-proxy.md): round-trip p99 while another connection
/// streams 0.05-8.8 ms with 256 KiB against 2.6-12.7 ms with 1 MiB, at the
/// same CPU per GiB (149 and 157 ms).
pub const TURN_BUDGET: usize = 256 << 10;

/// A pipe's two ends and its capacity.
#[derive(Debug)]
pub struct Pipe {
    r: OwnedFd,
    w: OwnedFd,
    size: usize,
}

/// Empty pipes waiting for a direction that has bytes to move.
///
/// It keeps at most `keep` of them (their pages are charged to the user
/// whatever they hold, `/proc/sys/fs/pipe-user-pages-soft`), and one is
/// made at start-up so a proxy out of fds still moves bytes.
pub struct PipePool {
    free: Vec<Pipe>,
    keep: usize,
}

impl PipePool {
    /// A pool keeping up to `keep` empty pipes, with one made now.
    pub fn new(keep: usize) -> Self {
        let mut p = Self {
            free: Vec::new(),
            keep: keep.max(1),
        };
        if let Ok(pipe) = Self::make() {
            p.free.push(pipe);
        }
        p
    }

    fn make() -> io::Result<Pipe> {
        let (r, w) = sys::pipe(None)?;
        Ok(Pipe {
            r,
            w,
            size: DEFAULT_PIPE,
        })
    }

    fn take(&mut self) -> io::Result<Pipe> {
        match self.free.pop() {
            Some(p) => Ok(p),
            None => Self::make(),
        }
    }

    fn give(&mut self, p: Pipe) {
        if self.free.len() < self.keep {
            self.free.push(p);
        }
    }

    /// Empty pipes held.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.free.len()
    }
}

/// What went wrong in a direction, by side.
#[derive(Debug)]
pub enum Fault {
    /// Reading from the source failed (typically `ECONNRESET`).
    Source(io::Error),
    /// Writing to the destination failed (`EPIPE`, `ECONNRESET`).
    Destination(io::Error),
}

/// Why [`Direction::pump`] returned without a fault.
#[derive(Debug, PartialEq, Eq)]
pub enum Pumped {
    /// A socket would block (or the direction is done): wait for epoll.
    Waiting,
    /// The turn's byte budget is spent with more to move: pump again next
    /// turn (epoll will not report these bytes again).
    Budget,
    /// No pipe could be made (out of fds): try again later.
    NoPipe,
}

/// State of one direction.
#[derive(Debug, Default)]
pub struct Direction {
    pipe: Option<Pipe>,
    /// Bytes in the pipe.
    queued: usize,
    /// `src` reached end of file (or failed: `reset`).
    eof: bool,
    /// The end was a failure of `src`: no `shutdown` to `dst`, the caller
    /// resets it once everything was delivered.
    reset: bool,
    /// Everything was delivered after the end; nothing more to do.
    done: bool,
    /// A hang-up (`EPOLLRDHUP`, `EPOLLHUP`, `EPOLLERR`) was reported on
    /// `src`: read on to its end even after a short splice.
    hangup: bool,
    /// `src` has urgent data (`EPOLLPRI` was seen) that was not stepped
    /// over yet: a splice that stops is at the urgent mark.
    urgent_seen: bool,
    /// Stopped at the urgent mark: step over it once the pipe is empty.
    at_mark: bool,
    /// The urgent byte, read with `MSG_OOB`, to send once the bytes before
    /// it are delivered.
    urgent: Option<u8>,
    /// Bytes delivered to `dst` so far.
    pub bytes: u64,
}

impl Direction {
    /// A direction that has moved nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once `src` ended and everything read was delivered (and, for a
    /// clean end, `dst` was shut down for writing).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Bytes read from `src` but not yet delivered to `dst`.
    pub fn pending(&self) -> usize {
        self.queued + usize::from(self.urgent.is_some())
    }

    /// Records that epoll reported a hang-up or error on `src`: its end is
    /// reported once, so it must be read up to even after a short splice.
    pub fn note_hangup(&mut self) {
        self.hangup = true;
    }

    /// Records that epoll reported urgent data on `src` (`EPOLLPRI`).
    pub fn note_urgent(&mut self) {
        self.urgent_seen = true;
    }

    /// Records that `src` failed: what was read is still delivered, then
    /// the direction is done without a `shutdown`.
    pub fn source_failed(&mut self) {
        self.eof = true;
        self.reset = true;
    }

    /// Gives up: `dst` is gone, what is queued can never be delivered.
    pub fn abandon(&mut self, pool: &mut PipePool) {
        if let Some(p) = self.pipe.take() {
            if self.queued == 0 {
                pool.give(p);
            }
        }
        self.queued = 0;
        self.urgent = None;
        self.eof = true;
        self.done = true;
    }

    /// Moves bytes from `src` to `dst` until one would block, `src` ended
    /// and everything was delivered, or `budget` (decremented by the bytes
    /// delivered) runs out. With `shutdown` false, a clean end of file is
    /// not passed on (the caller closes `dst` right after).
    ///
    /// # Errors
    /// [`Fault::Source`] or [`Fault::Destination`] with the errno.
    pub fn pump(
        &mut self,
        src: RawFd,
        dst: RawFd,
        pool: &mut PipePool,
        budget: &mut usize,
        shutdown: bool,
    ) -> Result<Pumped, Fault> {
        if self.done {
            return Ok(Pumped::Waiting);
        }
        let r = self.pump_inner(src, dst, pool, budget, shutdown);
        if self.queued == 0 {
            if let Some(p) = self.pipe.take() {
                pool.give(p);
            }
        }
        r
    }

    fn pump_inner(
        &mut self,
        src: RawFd,
        dst: RawFd,
        pool: &mut PipePool,
        budget: &mut usize,
        shutdown: bool,
    ) -> Result<Pumped, Fault> {
        let mut drained = false;
        loop {
            // Deliver first: the pipe then has room for what comes next.
            if self.queued > 0 {
                let pipe = self.pipe.as_ref().expect("queued bytes live in a pipe");
                match sys::splice(pipe.r.as_raw_fd(), dst, self.queued) {
                    Ok(n) => {
                        self.queued -= n;
                        self.bytes += n as u64;
                        *budget = budget.saturating_sub(n);
                    }
                    // EPOLLOUT follows once the peer reads.
                    Err(e) if sys::would_block(&e) => return Ok(Pumped::Waiting),
                    Err(e) => return Err(Fault::Destination(e)),
                }
            }
            if self.queued == 0 {
                if let Some(b) = self.urgent {
                    match send_urgent(dst, b) {
                        Ok(()) => {
                            self.urgent = None;
                            self.bytes += 1;
                        }
                        Err(e) if sys::would_block(&e) => return Ok(Pumped::Waiting),
                        Err(e) => return Err(Fault::Destination(e)),
                    }
                }
            }
            if self.eof {
                if self.pending() == 0 {
                    self.done = true;
                    if shutdown && !self.reset {
                        sys::shutdown_write(dst).map_err(Fault::Destination)?;
                    }
                }
                return Ok(Pumped::Waiting);
            }
            if *budget == 0 {
                return Ok(Pumped::Budget);
            }
            if drained && self.queued == 0 {
                return Ok(Pumped::Waiting);
            }
            if self.at_mark && self.queued > 0 {
                // Deliver the bytes before the mark first.
                continue;
            }
            if self.pipe.is_none() {
                match pool.take() {
                    Ok(p) => self.pipe = Some(p),
                    Err(e) if sys::out_of_resources(&e) => return Ok(Pumped::NoPipe),
                    Err(e) => return Err(Fault::Source(e)),
                }
            }
            if self.at_mark {
                if !self.step_mark(src)? {
                    return Ok(Pumped::Waiting);
                }
                continue;
            }
            let pipe = self.pipe.as_mut().expect("set above");
            // Never more than the budget left, so a turn ends close to it.
            let room = pipe.size.saturating_sub(self.queued).min(*budget);
            if room == 0 {
                continue;
            }
            match sys::splice(src, pipe.w.as_raw_fd(), room) {
                Ok(0) if self.urgent_seen => self.at_mark = true,
                Ok(0) => self.eof = true,
                Ok(n) => {
                    // Each pipe slot holds at least one byte, so fewer bytes
                    // than the empty pipe had slots cannot have filled it:
                    // the splice stopped because `src` was drained. New
                    // bytes raise a new edge, so the splice that would only
                    // say EAGAIN is skipped — unless a hang-up or urgent
                    // data was reported, whose end the next splice must see.
                    drained = self.queued == 0
                        && n < pipe.size / PAGE
                        && !self.hangup
                        && !self.urgent_seen;
                    self.queued += n;
                    if pipe.size < STREAM_PIPE && self.queued >= pipe.size {
                        // Streaming: larger splices cost less per byte.
                        sys::grow_pipe(pipe.w.as_raw_fd(), STREAM_PIPE);
                        pipe.size = sys::pipe_size(pipe.w.as_raw_fd()).unwrap_or(pipe.size);
                    }
                }
                // With the pipe empty, EAGAIN means `src` is drained; with
                // bytes queued it may mean the pipe is full: deliver, then
                // ask again.
                Err(e) if sys::would_block(&e) => {
                    if self.queued == 0 {
                        if !self.urgent_seen {
                            return Ok(Pumped::Waiting);
                        }
                        // Drained, or stopped at the urgent mark.
                        self.at_mark = true;
                    }
                }
                Err(e) => return Err(Fault::Source(e)),
            }
        }
    }

    /// splice stopped with urgent data seen and the pipe empty: at the
    /// urgent mark (or drained, or at end of file). Returns false when
    /// `src` has nothing more for now.
    fn step_mark(&mut self, src: RawFd) -> Result<bool, Fault> {
        if self.urgent.is_none() {
            let mut b = [0u8; 1];
            // Otherwise EINVAL: no urgent byte (or already read); EAGAIN:
            // it has not arrived yet; others: not TCP.
            if let Ok(1) = sys::recv(src, &mut b, libc::MSG_OOB | libc::MSG_DONTWAIT) {
                // Still at the mark: the read below steps over it once this
                // byte was sent.
                self.urgent = Some(b[0]);
                return Ok(true);
            }
        }
        // A plain read skips the urgent byte's place in the stream (without
        // SO_OOBINLINE) and returns what follows, or 0 at the real end. At
        // most PIPE_BUF bytes, so they fit the empty pipe in one write.
        let mut buf = [0u8; libc::PIPE_BUF];
        match sys::read(src, &mut buf) {
            Ok(0) => {
                self.eof = true;
                self.at_mark = false;
                Ok(true)
            }
            Ok(n) => {
                // Past the mark.
                self.urgent_seen = false;
                let pipe = self.pipe.as_ref().expect("taken by the caller");
                let w = sys::write(pipe.w.as_raw_fd(), &buf[..n]).map_err(Fault::Source)?;
                if w != n {
                    return Err(Fault::Source(io::Error::other(
                        "short write to an empty pipe",
                    )));
                }
                self.queued += n;
                self.at_mark = false;
                Ok(true)
            }
            Err(e) if sys::would_block(&e) => {
                self.at_mark = false;
                Ok(false)
            }
            Err(e) => Err(Fault::Source(e)),
        }
    }
}

/// Sends the urgent byte as urgent; where the destination has no urgent
/// data (UNIX sockets without `MSG_OOB`), inline.
fn send_urgent(dst: RawFd, b: u8) -> io::Result<()> {
    match sys::send_flags(dst, &[b], libc::MSG_OOB) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EINVAL)) => {
            sys::send_flags(dst, &[b], 0).map(drop)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    fn pair() -> (UnixStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    #[test]
    fn delivers_everything_then_eof_and_returns_the_pipe() {
        let (mut client, proxy_in) = pair();
        let (proxy_out, mut server) = pair();
        let mut pool = PipePool::new(4);
        let mut d = Direction::new();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let (mut sent, mut got, mut closed) = (0, Vec::new(), false);
        let mut buf = vec![0u8; 100_000];
        let mut budget_hits = 0;
        for _ in 0..200_000 {
            if sent < data.len() {
                if let Ok(n) = client.write(&data[sent..]) {
                    sent += n;
                }
            } else if !closed {
                client.shutdown(std::net::Shutdown::Write).unwrap();
                closed = true;
            }
            let mut budget = 256 * 1024;
            let r = d
                .pump(
                    proxy_in.as_raw_fd(),
                    proxy_out.as_raw_fd(),
                    &mut pool,
                    &mut budget,
                    true,
                )
                .unwrap();
            budget_hits += usize::from(r == Pumped::Budget);
            assert_ne!(r, Pumped::NoPipe);
            match server.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
        assert!(d.is_done());
        assert_eq!(d.bytes, data.len() as u64);
        assert!(got == data, "stream differs");
        assert!(d.pipe.is_none(), "a done direction holds no pipe");
        assert_eq!(pool.idle(), 1);
        let _ = budget_hits;
    }

    #[test]
    fn budget_bounds_one_pump() {
        let (mut client, proxy_in) = pair();
        let (proxy_out, _server) = pair();
        client.write_all(&[7u8; 100_000]).unwrap();
        let mut pool = PipePool::new(4);
        let mut d = Direction::new();
        let mut budget = 1000;
        let r = d.pump(
            proxy_in.as_raw_fd(),
            proxy_out.as_raw_fd(),
            &mut pool,
            &mut budget,
            true,
        );
        assert_eq!(r.unwrap(), Pumped::Budget);
        assert!(d.bytes < 100_000);
    }

    #[test]
    fn idle_direction_holds_no_pipe() {
        let (mut client, proxy_in) = pair();
        let (proxy_out, mut server) = pair();
        let mut pool = PipePool::new(4);
        let mut d = Direction::new();
        client.write_all(b"hello").unwrap();
        let mut budget = TURN_BUDGET;
        let r = d.pump(
            proxy_in.as_raw_fd(),
            proxy_out.as_raw_fd(),
            &mut pool,
            &mut budget,
            true,
        );
        assert_eq!(r.unwrap(), Pumped::Waiting);
        assert!(d.pipe.is_none());
        let mut b = [0u8; 5];
        server.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"hello");
    }

    #[test]
    fn destination_reset_is_reported_as_destination() {
        let (mut client, proxy_in) = pair();
        let (proxy_out, server) = pair();
        drop(server);
        client.write_all(b"hello").unwrap();
        let mut d = Direction::new();
        let mut pool = PipePool::new(1);
        match d.pump(
            proxy_in.as_raw_fd(),
            proxy_out.as_raw_fd(),
            &mut pool,
            &mut TURN_BUDGET.clone(),
            true,
        ) {
            Err(Fault::Destination(e)) => assert_eq!(e.raw_os_error(), Some(libc::EPIPE)),
            other => panic!("expected a destination fault, got {other:?}"),
        }
    }
}
