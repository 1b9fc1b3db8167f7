//! One direction of a proxied connection: bytes from `src` to `dst`.
//!
//! A direction starts *direct*: small messages (the common case for
//! request/response traffic and short connections) are read into the
//! caller's scratch buffer and sent on at once, so they cost no pipe and no
//! fds. The first read that fills the scratch buffer (bulk data), or a send
//! that the destination only partly accepts, switches the direction to the
//! zero-copy path: splice(2) moves socket data into a pipe and from the pipe
//! into the other socket, without passing through user space. Where that is
//! not possible (no fd left for the pipe, or a socket type that refuses
//! splice with `EINVAL`) the direction falls back to read/send through a
//! 64 KiB buffer. Either way:
//!
//! - `pump` moves as much as both sockets allow and returns when one of them
//!   would block, so it suits edge-triggered epoll: call it again on any
//!   readiness change of either socket;
//! - a short read in direct mode means `src` is drained (stream sockets), so
//!   the extra read that would only return `EAGAIN` is skipped — unless the
//!   caller saw a hang-up on `src` ([`Direction::note_hangup`]): then the
//!   direction reads on until end of file, which epoll will not signal again;
//! - end of file on `src` is propagated as `shutdown(dst, SHUT_WR)` only
//!   after everything already read has been written (half-close);
//! - errors are reported per side, so the caller can reset the other one.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::sys;

/// The kernel's default pipe capacity, bytes.
const DEFAULT_PIPE: usize = 65536;

/// Size of the fallback buffer, bytes.
pub const BUFFER_SIZE: usize = 64 * 1024;

/// Size of the scratch buffer the caller passes to [`Direction::pump`]:
/// reads shorter than this are relayed by copy; a read that fills it
/// switches the direction to splice.
pub const SCRATCH_SIZE: usize = 16 * 1024;

/// What went wrong in a direction, by side.
#[derive(Debug)]
pub enum Fault {
    /// Reading from the source failed (typically `ECONNRESET`).
    Source(io::Error),
    /// Writing to the destination failed (`EPIPE`, `ECONNRESET`).
    Destination(io::Error),
}

enum Path {
    /// Direct (nothing allocated, idle connections cost no fds): reads go
    /// through the caller's scratch buffer and are sent on at once.
    Unset,
    /// splice through a pipe; `queued` bytes sit in it.
    Pipe {
        r: OwnedFd,
        w: OwnedFd,
        queued: usize,
        grown: bool,
    },
    /// read/send through a buffer; `buf[start..end]` is pending.
    Buffer {
        buf: Box<[u8]>,
        start: usize,
        end: usize,
    },
}

/// State of one direction.
pub struct Direction {
    path: Path,
    pipe_size: Option<usize>,
    eof: bool,
    shut: bool,
    /// A hang-up (`EPOLLRDHUP`/`EPOLLHUP`) was seen on `src`: read until end
    /// of file even after a short read.
    hangup: bool,
    /// Bytes delivered to `dst` so far.
    pub bytes: u64,
}

impl Direction {
    /// A direction that has moved nothing yet. `pipe_size` is the requested
    /// pipe capacity in bytes (`None`: the kernel default, 64 KiB).
    pub fn new(pipe_size: Option<usize>) -> Self {
        Self {
            path: Path::Unset,
            pipe_size,
            eof: false,
            shut: false,
            hangup: false,
            bytes: 0,
        }
    }

    /// Records that epoll reported a hang-up on `src`, so its end of file
    /// must be read even when a read came back short (epoll, edge-triggered,
    /// will not report it again).
    pub fn note_hangup(&mut self) {
        self.hangup = true;
    }

    /// True once `src` reached end of file, everything was written and
    /// `dst` was shut down for writing.
    pub fn is_done(&self) -> bool {
        self.shut
    }

    /// Bytes read from `src` but not yet written to `dst`.
    pub fn pending(&self) -> usize {
        match &self.path {
            Path::Unset => 0,
            Path::Pipe { queued, .. } => *queued,
            Path::Buffer { start, end, .. } => end - start,
        }
    }

    fn setup(&mut self) {
        // The pipe starts at the kernel default and grows to `pipe_size`
        // only once it fills up, so short connections skip the fcntl.
        self.path = match sys::pipe(None) {
            Ok((r, w)) => Path::Pipe {
                r,
                w,
                queued: 0,
                grown: false,
            },
            // Out of fds for the pipe: still serve the connection, by copy.
            Err(_) => Path::Buffer {
                buf: vec![0; BUFFER_SIZE].into_boxed_slice(),
                start: 0,
                end: 0,
            },
        };
    }

    /// Switches a pipe direction to the buffer, moving what the pipe holds.
    fn fall_back(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; BUFFER_SIZE.max(self.pending())].into_boxed_slice();
        let mut end = 0;
        if let Path::Pipe { r, queued, .. } = &self.path {
            while end < *queued {
                end += sys::read(r.as_raw_fd(), &mut buf[end..*queued])?;
            }
        }
        self.path = Path::Buffer { buf, start: 0, end };
        Ok(())
    }

    /// Moves bytes from `src` to `dst` until neither can make progress
    /// without waiting, then propagates end of file when it was reached and
    /// everything was delivered.
    ///
    /// # Errors
    /// [`Fault::Source`] or [`Fault::Destination`] with the errno; the
    /// direction must not be pumped again afterwards.
    ///
    /// `scratch` is the buffer for direct mode (any size; [`SCRATCH_SIZE`]
    /// is what the proxy uses). When `last` is true the other direction is
    /// already done and the caller closes both sockets as soon as this one
    /// is: end of file is then left to `close` (which sends FIN, as `src`
    /// was read to its end), saving the `shutdown` call.
    pub fn pump(
        &mut self,
        src: RawFd,
        dst: RawFd,
        scratch: &mut [u8],
        last: bool,
    ) -> Result<(), Fault> {
        if self.shut {
            return Ok(());
        }
        if matches!(self.path, Path::Unset) && !self.eof && self.direct(src, dst, scratch)? {
            return self.finish(dst, last);
        }
        loop {
            let mut progress = false;
            if !self.eof {
                match self.fill(src) {
                    Ok(0) => {
                        self.eof = true;
                        progress = true;
                    }
                    Ok(_) => progress = true,
                    Err(e) if sys::would_block(&e) => {}
                    Err(e) => return Err(Fault::Source(e)),
                }
            }
            if self.pending() > 0 {
                match self.flush(dst) {
                    Ok(n) => {
                        self.bytes += n as u64;
                        progress |= n > 0;
                    }
                    Err(e) if sys::would_block(&e) => {}
                    Err(e) => return Err(Fault::Destination(e)),
                }
            }
            if !progress {
                break;
            }
        }
        self.finish(dst, last)
    }

    /// Propagates end of file once everything was delivered.
    fn finish(&mut self, dst: RawFd, last: bool) -> Result<(), Fault> {
        if self.eof && self.pending() == 0 {
            self.shut = true;
            self.path = Path::Unset;
            if !last {
                sys::shutdown_write(dst).map_err(Fault::Destination)?;
            }
        }
        Ok(())
    }

    /// Direct mode: read into `scratch`, send at once. Returns `Ok(true)`
    /// when this pump is over (`src` drained or at end of file, everything
    /// read was sent), `Ok(false)` when the direction switched to a pipe (or
    /// buffer) and the caller must go on with the general loop.
    fn direct(&mut self, src: RawFd, dst: RawFd, scratch: &mut [u8]) -> Result<bool, Fault> {
        if scratch.is_empty() {
            self.setup();
            return Ok(false);
        }
        loop {
            let n = match sys::read(src, scratch) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(true);
                }
                Ok(n) => n,
                Err(e) if sys::would_block(&e) => return Ok(true),
                Err(e) => return Err(Fault::Source(e)),
            };
            let sent = match sys::send(dst, &scratch[..n]) {
                Ok(m) => m,
                Err(e) if sys::would_block(&e) => 0,
                Err(e) => return Err(Fault::Destination(e)),
            };
            self.bytes += sent as u64;
            if sent < n {
                // The destination is full: keep the rest, in order, ahead
                // of whatever is read next.
                self.setup();
                self.stash(&scratch[sent..n]).map_err(Fault::Source)?;
                return Ok(false);
            }
            if n == scratch.len() {
                // Bulk data: move the rest zero-copy.
                self.setup();
                return Ok(false);
            }
            if !self.hangup {
                // A short read drained the socket; new data raises a new
                // edge.
                return Ok(true);
            }
        }
    }

    /// Queues `data` (read but not delivered) in the freshly set-up path.
    fn stash(&mut self, mut data: &[u8]) -> io::Result<()> {
        if let Path::Pipe { w, queued, .. } = &mut self.path {
            // An empty pipe holds 64 KiB, more than the scratch buffer.
            let n = sys::write(w.as_raw_fd(), data).unwrap_or(0);
            *queued += n;
            data = &data[n..];
            if data.is_empty() {
                return Ok(());
            }
            self.fall_back()?;
        }
        if let Path::Buffer { buf, start, end } = &mut self.path {
            if buf.len() - *end < data.len() {
                // Only with a scratch buffer larger than the fallback one.
                let mut bigger = vec![0u8; *end - *start + data.len()].into_boxed_slice();
                bigger[..*end - *start].copy_from_slice(&buf[*start..*end]);
                (*buf, *end, *start) = (bigger, *end - *start, 0);
            }
            buf[*end..*end + data.len()].copy_from_slice(data);
            *end += data.len();
        }
        Ok(())
    }

    /// Reads once from `src`. `Ok(0)` is end of file; `EAGAIN` means `src`
    /// is drained or there is no room left.
    fn fill(&mut self, src: RawFd) -> io::Result<usize> {
        if let Path::Unset = self.path {
            self.setup();
        }
        match &mut self.path {
            Path::Pipe {
                w, queued, grown, ..
            } => {
                let cap = if *grown {
                    self.pipe_size.unwrap_or(DEFAULT_PIPE)
                } else {
                    DEFAULT_PIPE
                };
                let room = cap.saturating_sub(*queued).max(4096);
                match sys::splice(src, w.as_raw_fd(), room) {
                    Ok(n) => {
                        *queued += n;
                        if !*grown && *queued >= DEFAULT_PIPE {
                            *grown = true;
                            if let Some(size) = self.pipe_size {
                                sys::grow_pipe(w.as_raw_fd(), size);
                            }
                        }
                        Ok(n)
                    }
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                        self.fall_back()?;
                        self.fill(src)
                    }
                    Err(e) => Err(e),
                }
            }
            Path::Buffer { buf, start, end } => {
                if *start == *end {
                    *start = 0;
                    *end = 0;
                }
                if *end == buf.len() {
                    return Err(io::Error::from_raw_os_error(libc::EAGAIN));
                }
                let n = sys::read(src, &mut buf[*end..])?;
                *end += n;
                Ok(n)
            }
            Path::Unset => unreachable!("set up above"),
        }
    }

    /// Writes once to `dst` from what is pending.
    fn flush(&mut self, dst: RawFd) -> io::Result<usize> {
        match &mut self.path {
            Path::Pipe { r, queued, .. } => match sys::splice(r.as_raw_fd(), dst, *queued) {
                Ok(n) => {
                    *queued -= n;
                    Ok(n)
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    self.fall_back()?;
                    self.flush(dst)
                }
                Err(e) => Err(e),
            },
            Path::Buffer { buf, start, end } => {
                let n = sys::send(dst, &buf[*start..*end])?;
                *start += n;
                Ok(n)
            }
            Path::Unset => Ok(0),
        }
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

    /// Drives a direction between two socket pairs with a blocking-free
    /// loop, the way the event loop would, and checks data and EOF arrive.
    fn run(force_buffer: bool) {
        run_with(force_buffer, SCRATCH_SIZE);
    }

    fn run_with(force_buffer: bool, scratch_size: usize) {
        let (mut client, proxy_in) = pair();
        let (proxy_out, mut server) = pair();
        let mut d = Direction::new(None);
        if force_buffer {
            d.path = Path::Buffer {
                buf: vec![0; BUFFER_SIZE].into_boxed_slice(),
                start: 0,
                end: 0,
            };
        }
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut sent = 0;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 100_000];
        let mut closed = false;
        let mut scratch = vec![0u8; scratch_size];
        for _ in 0..100_000 {
            if sent < data.len() {
                if let Ok(n) = client.write(&data[sent..]) {
                    sent += n;
                }
            } else if !closed {
                client.shutdown(std::net::Shutdown::Write).unwrap();
                closed = true;
            }
            d.pump(
                proxy_in.as_raw_fd(),
                proxy_out.as_raw_fd(),
                &mut scratch,
                false,
            )
            .unwrap();
            match server.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
        assert!(d.is_done());
        assert_eq!(d.bytes, data.len() as u64);
        assert!(got == data, "stream differs");
    }

    #[test]
    fn splice_path_delivers_everything_then_eof() {
        run(false);
    }

    #[test]
    fn buffer_path_delivers_everything_then_eof() {
        run(true);
    }

    #[test]
    fn direct_path_delivers_everything_then_eof() {
        // A scratch buffer larger than the socket buffers: reads come back
        // short and partial sends go through the stash, past what a pipe
        // holds.
        run_with(false, 4 << 20);
    }

    #[test]
    fn no_scratch_goes_straight_to_splice() {
        run_with(false, 0);
    }

    #[test]
    fn hangup_makes_direct_mode_read_to_eof() {
        let (mut client, proxy_in) = pair();
        let (proxy_out, mut server) = pair();
        client.write_all(b"hello").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let mut scratch = [0u8; 64];
        let mut d = Direction::new(None);
        d.note_hangup();
        d.pump(
            proxy_in.as_raw_fd(),
            proxy_out.as_raw_fd(),
            &mut scratch,
            false,
        )
        .unwrap();
        assert!(d.is_done(), "one pump after a hang-up reaches end of file");
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello");
    }

    #[test]
    fn destination_reset_is_reported_as_destination() {
        let (mut client, proxy_in) = pair();
        let (proxy_out, server) = pair();
        drop(server);
        client.write_all(b"hello").unwrap();
        let mut d = Direction::new(None);
        match d.pump(
            proxy_in.as_raw_fd(),
            proxy_out.as_raw_fd(),
            &mut [0; 64],
            false,
        ) {
            Err(Fault::Destination(e)) => assert_eq!(e.raw_os_error(), Some(libc::EPIPE)),
            other => panic!("expected a destination fault, got {other:?}"),
        }
    }
}
