//! No byte lost around a reset, and urgent data does not cut the stream.
//! Each scenario runs against a direct connection (the reference) and
//! through the proxy (started with systemd-socket-activate), and both must
//! show the peer the same thing.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::Duration;

use common::*;

/// The backend writes `n` bytes and resets; returns what the client read.
fn backend_sends_then_resets(
    backend: TcpListener,
    n: usize,
    connect: impl Fn() -> TcpStream,
) -> (usize, Option<ErrorKind>) {
    let server = thread::spawn(move || {
        let (mut s, _) = backend.accept().unwrap();
        s.write_all(&vec![b'r'; n]).unwrap();
        linger_zero(s.as_raw_fd());
        drop(s);
    });
    let mut c = connect();
    server.join().unwrap();
    let (got, err) = read_to_end_or_error(&mut c);
    assert!(got.iter().all(|b| *b == b'r'));
    (got.len(), err)
}

#[test]
fn bytes_the_backend_sent_before_its_reset_reach_the_client() {
    // (Larger amounts are not a reference: a direct backend that resets
    // right after writing drops what its own send buffer still holds.)
    for n in [5usize, 20_000] {
        let rounds = 10;
        // Direct: the reference.
        for _ in 0..rounds {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let a = l.local_addr().unwrap();
            let r = backend_sends_then_resets(l, n, || TcpStream::connect(a).unwrap());
            assert_eq!(
                r,
                (n, Some(ErrorKind::ConnectionReset)),
                "direct, {n} bytes"
            );
        }
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap().to_string();
        let p = Proxy::start(&[&a]);
        for i in 0..rounds {
            let l2 = l.try_clone().unwrap();
            let r = backend_sends_then_resets(l2, n, || p.connect());
            assert_eq!(
                r,
                (n, Some(ErrorKind::ConnectionReset)),
                "through the proxy, {n} bytes, round {i}"
            );
        }
    }
}

/// The client writes `n` bytes and resets; returns what the backend read.
fn client_sends_then_resets(
    backend: TcpListener,
    n: usize,
    connect: impl Fn() -> TcpStream,
) -> (usize, Option<ErrorKind>) {
    let server = thread::spawn(move || {
        let (mut s, _) = backend.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        read_to_end_or_error(&mut s)
    });
    let mut c = connect();
    c.write_all(&vec![b'c'; n]).unwrap();
    linger_zero(c.as_raw_fd());
    drop(c);
    let (got, err) = server.join().unwrap();
    assert!(got.iter().all(|b| *b == b'c'));
    (got.len(), err)
}

#[test]
fn bytes_the_client_sent_before_its_reset_reach_the_backend() {
    for _ in 0..5 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        let r = client_sends_then_resets(l, 100, || TcpStream::connect(a).unwrap());
        assert_eq!(r, (100, Some(ErrorKind::ConnectionReset)), "direct");
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    let p = Proxy::start(&[&a]);
    for i in 0..5 {
        let r = client_sends_then_resets(l.try_clone().unwrap(), 100, || p.connect());
        assert_eq!(
            r,
            (100, Some(ErrorKind::ConnectionReset)),
            "through the proxy, round {i}"
        );
    }
}

const REPLY: &[u8] = b"HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\n\r\n";

/// An HTTP server that answers 413 after the headers and closes with the
/// body unread (the kernel resets); returns what the client read.
fn answer_413(backend: TcpListener, connect: impl Fn() -> TcpStream) -> Vec<u8> {
    let server = thread::spawn(move || {
        let (mut s, _) = backend.accept().unwrap();
        let mut head = [0u8; 64];
        s.read_exact(&mut head).unwrap();
        s.write_all(REPLY).unwrap();
        drop(s); // unread body: RST
    });
    let c = connect();
    let mut w = c.try_clone().unwrap();
    let writer = thread::spawn(move || {
        let _ = w.write_all(b"PUT /upload HTTP/1.1\r\ncontent-length: 8388608\r\n\r\n");
        let _ = w.write_all(&vec![b'b'; 8 << 20]);
    });
    let mut r = c;
    let (got, _) = read_to_end_or_error(&mut r);
    server.join().unwrap();
    writer.join().unwrap();
    got
}

#[test]
fn a_413_sent_with_the_request_unread_reaches_the_client() {
    for _ in 0..5 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        assert_eq!(
            answer_413(l, || TcpStream::connect(a).unwrap()),
            REPLY,
            "direct"
        );
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    let p = Proxy::start(&[&a]);
    for i in 0..10 {
        let got = answer_413(l.try_clone().unwrap(), || p.connect());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(REPLY),
            "through the proxy, round {i}"
        );
    }
}

fn set_int(fd: i32, level: i32, opt: i32, v: i32) {
    unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (&v as *const i32).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
}

/// The client sends `before`, one urgent byte `U`, `after`, then EOF;
/// returns what the backend read to its end (`inline`: with SO_OOBINLINE,
/// so the urgent byte shows where it was sent).
fn urgent(inline: bool, before: usize, after: usize) -> Vec<u8> {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    if inline {
        // Accepted sockets inherit it.
        set_int(l.as_raw_fd(), libc::SOL_SOCKET, libc::SO_OOBINLINE, 1);
    }
    let a = l.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        read_to_end_or_error(&mut s)
    });
    let p = Proxy::start(&[&a]);
    let mut c = p.connect();
    c.write_all(&vec![b'a'; before]).unwrap();
    // Let the bytes before go out in their own segments.
    thread::sleep(Duration::from_millis(50));
    let r = unsafe { libc::send(c.as_raw_fd(), b"U".as_ptr().cast(), 1, libc::MSG_OOB) };
    assert_eq!(r, 1);
    thread::sleep(Duration::from_millis(50));
    c.write_all(&vec![b'z'; after]).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let (got, err) = server.join().unwrap();
    assert_eq!(err, None, "clean end of file");
    got
}

#[test]
fn urgent_data_does_not_truncate_the_stream() {
    for (before, after) in [(3, 3), (1 << 20, 1 << 20)] {
        for inline in [false, true] {
            // Direct: the client connected straight to the backend.
            let direct = urgent_direct(inline, before, after);
            let proxied = urgent(inline, before, after);
            assert_eq!(
                proxied.len(),
                direct.len(),
                "inline={inline} {before}+{after}: length through the proxy"
            );
            assert!(
                proxied == direct,
                "inline={inline}: bytes differ from direct"
            );
            let expect = before + after + usize::from(inline);
            assert_eq!(direct.len(), expect);
            if inline {
                assert_eq!(proxied[before], b'U', "urgent byte in its place");
            }
        }
    }
}

fn urgent_direct(inline: bool, before: usize, after: usize) -> Vec<u8> {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    if inline {
        set_int(l.as_raw_fd(), libc::SOL_SOCKET, libc::SO_OOBINLINE, 1);
    }
    let a = l.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        read_to_end_or_error(&mut s)
    });
    let mut c = TcpStream::connect(a).unwrap();
    c.write_all(&vec![b'a'; before]).unwrap();
    thread::sleep(Duration::from_millis(50));
    let r = unsafe { libc::send(c.as_raw_fd(), b"U".as_ptr().cast(), 1, libc::MSG_OOB) };
    assert_eq!(r, 1);
    thread::sleep(Duration::from_millis(50));
    c.write_all(&vec![b'z'; after]).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    server.join().unwrap().0
}

#[test]
fn urgent_data_does_not_stall_an_open_stream() {
    // No end of file after the urgent byte: splice alone stops at the mark
    // and waits there for ever.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    set_int(l.as_raw_fd(), libc::SOL_SOCKET, libc::SO_OOBINLINE, 1);
    let a = l.local_addr().unwrap().to_string();
    let p = Proxy::start(&[&a]);
    let server = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = [0u8; 7];
        s.read_exact(&mut got).map(|_| got)
    });
    let mut c = p.connect();
    c.write_all(b"abc").unwrap();
    thread::sleep(Duration::from_millis(50));
    let r = unsafe { libc::send(c.as_raw_fd(), b"U".as_ptr().cast(), 1, libc::MSG_OOB) };
    assert_eq!(r, 1);
    thread::sleep(Duration::from_millis(50));
    c.write_all(b"def").unwrap();
    let got = server
        .join()
        .unwrap()
        .expect("the bytes after the mark arrive");
    assert_eq!(&got, b"abcUdef");
    drop(c);
}
