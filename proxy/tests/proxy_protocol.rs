//! `--proxy-protocol=v1|v2`: the backend parses the header and sees the
//! client's real address ahead of its bytes.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;

use common::*;

/// Runs one connection; returns (header bytes, payload) as the backend got
/// them, and the client's and proxy's addresses.
fn one(
    version: &str,
    header_of: fn(&mut dyn Read) -> Vec<u8>,
) -> (Vec<u8>, Vec<u8>, String, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s);
        let h = header_of(&mut r);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        (h, rest)
    });
    let p = Proxy::start(&[&format!("--proxy-protocol={version}"), &a]);
    let mut c = p.connect();
    let (client, proxy) = (c.local_addr().unwrap(), c.peer_addr().unwrap());
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let (h, rest) = server.join().unwrap();
    (h, rest, client.to_string(), proxy.to_string())
}

#[test]
fn v1_header_carries_the_client_address() {
    let (h, rest, client, proxy) = one("v1", |r| {
        // The header is one line, at most 107 bytes.
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while line.len() < 107 && !line.ends_with(b"\r\n") {
            r.read_exact(&mut b).unwrap();
            line.push(b[0]);
        }
        line
    });
    let text = String::from_utf8(h.clone()).unwrap();
    let (cip, cport) = client.rsplit_once(':').unwrap();
    let (pip, pport) = proxy.rsplit_once(':').unwrap();
    let expect = format!("PROXY TCP4 {cip} {pip} {cport} {pport}\r\n");
    assert_eq!(text, expect);
    assert_eq!(rest, b"GET / HTTP/1.0\r\n\r\n");
}

#[test]
fn v2_header_carries_the_client_address() {
    let (h, rest, client, proxy) = one("v2", |r| {
        let mut fixed = [0u8; 16];
        r.read_exact(&mut fixed).unwrap();
        let len = u16::from_be_bytes([fixed[14], fixed[15]]) as usize;
        let mut addr = vec![0u8; len];
        r.read_exact(&mut addr).unwrap();
        [fixed.to_vec(), addr].concat()
    });
    assert_eq!(&h[..12], b"\r\n\r\n\0\r\nQUIT\n", "signature");
    assert_eq!(h[12], 0x21, "version 2, PROXY command");
    assert_eq!(h[13], 0x11, "TCP over IPv4");
    assert_eq!(u16::from_be_bytes([h[14], h[15]]), 12);
    let c: std::net::SocketAddrV4 = client.parse().unwrap();
    let p: std::net::SocketAddrV4 = proxy.parse().unwrap();
    assert_eq!(&h[16..20], &c.ip().octets());
    assert_eq!(&h[20..24], &p.ip().octets());
    assert_eq!(u16::from_be_bytes([h[24], h[25]]), c.port());
    assert_eq!(u16::from_be_bytes([h[26], h[27]]), p.port());
    assert_eq!(rest, b"GET / HTTP/1.0\r\n\r\n");
}

/// A list gives each positional TARGET its own version: the first
/// listener's backend gets a v1 header, the second's gets the bytes alone.
#[test]
fn a_list_gives_each_target_its_own_version() {
    let backend = || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap().to_string();
        let t = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            all
        });
        (a, t)
    };
    let (a1, t1) = backend();
    let (a2, t2) = backend();
    let second = free_port();
    let p = Proxy::start_with(
        &[],
        &["-l", &format!("127.0.0.1:{second}")],
        &["--proxy-protocol=v1,none", &a1, &a2],
    );
    for addr in [p.addr(), format!("127.0.0.1:{second}")] {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"hello").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut sink = Vec::new();
        let _ = c.read_to_end(&mut sink);
    }
    let got1 = String::from_utf8(t1.join().unwrap()).unwrap();
    let got2 = t2.join().unwrap();
    assert!(
        got1.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 "),
        "{got1:?}"
    );
    assert!(got1.ends_with("\r\nhello"), "{got1:?}");
    assert_eq!(got2, b"hello");
}

/// A list must name every positional TARGET: refused at start, naming both
/// counts.
#[test]
fn a_list_of_the_wrong_length_is_refused() {
    let mut p = Proxy::start(&["--proxy-protocol=v1,v2", "127.0.0.1:9"]);
    p.connect();
    let status = p.wait_exit(std::time::Duration::from_secs(10));
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    assert!(
        p.stderr()
            .contains("lists 2 entries for 1 positional TARGETs"),
        "{}",
        p.stderr()
    );
}
