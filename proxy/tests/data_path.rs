//! Bytes through the proxy: integrity, half-close, reset, iperf3, and every
//! target form. Each test starts the proxy with systemd-socket-activate.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::*;

#[test]
fn one_gib_each_way_arrives_intact() {
    const CHUNKS: u64 = 1024; // MiB
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let baddr = backend.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (s, _) = backend.accept().unwrap();
        let mut r = s.try_clone().unwrap();
        let reader = thread::spawn(move || Pattern::new(1).verify(&mut r, CHUNKS));
        let mut w = s;
        Pattern::new(2).send(&mut w, CHUNKS).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
        reader.join().unwrap()
    });
    let mut p = Proxy::start(&[&baddr]);
    let c = p.connect();
    let mut r = c.try_clone().unwrap();
    let reader = thread::spawn(move || Pattern::new(2).verify(&mut r, CHUNKS));
    let mut w = c;
    Pattern::new(1).send(&mut w, CHUNKS).unwrap();
    w.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        reader.join().unwrap(),
        Ok(CHUNKS << 20),
        "backend to client"
    );
    assert_eq!(
        server.join().unwrap(),
        Ok(CHUNKS << 20),
        "client to backend"
    );
    p.wait_ready();
}

#[test]
fn eight_parallel_streams_arrive_intact() {
    const CHUNKS: u64 = 48; // MiB per stream and direction
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let baddr = backend.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let mut hs = Vec::new();
        for _ in 0..8 {
            let (s, _) = backend.accept().unwrap();
            hs.push(thread::spawn(move || {
                // The client names its stream's seed in its first byte.
                let mut r = s.try_clone().unwrap();
                let mut seed = [0u8; 1];
                r.read_exact(&mut seed).unwrap();
                let seed = u64::from(seed[0]);
                let reader = thread::spawn(move || Pattern::new(seed).verify(&mut r, CHUNKS));
                let mut w = s;
                Pattern::new(seed + 100).send(&mut w, CHUNKS).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
                reader.join().unwrap()
            }));
        }
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut p = Proxy::start(&[&baddr]);
    let clients: Vec<_> = (0..8u8)
        .map(|i| {
            let mut c = p.connect();
            thread::spawn(move || {
                let seed = u64::from(i) + 1;
                c.write_all(&[seed as u8]).unwrap();
                let mut r = c.try_clone().unwrap();
                let reader = thread::spawn(move || Pattern::new(seed + 100).verify(&mut r, CHUNKS));
                Pattern::new(seed).send(&mut c, CHUNKS).unwrap();
                c.shutdown(Shutdown::Write).unwrap();
                reader.join().unwrap()
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), Ok(CHUNKS << 20), "backend to client");
    }
    for r in server.join().unwrap() {
        assert_eq!(r, Ok(CHUNKS << 20), "client to backend");
    }
    p.wait_ready();
}

#[test]
fn half_close_client_still_gets_the_whole_reply() {
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let baddr = backend.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (mut s, _) = backend.accept().unwrap();
        // The reply only starts after the client's EOF arrived: without
        // half-close propagation this blocks forever (the read times out).
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).unwrap();
        Pattern::new(7).send(&mut s, 8).unwrap();
        req.len()
    });
    let mut p = Proxy::start(&[&baddr]);
    let mut c = p.connect();
    c.write_all(&vec![b'q'; 100_000]).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(Pattern::new(7).verify(&mut c, 8), Ok(8 << 20));
    assert_eq!(server.join().unwrap(), 100_000);
    p.wait_ready();
}

#[test]
fn backend_reset_becomes_client_reset() {
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let baddr = backend.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (mut s, _) = backend.accept().unwrap();
        let mut b = [0u8; 5];
        s.read_exact(&mut b).unwrap();
        let l = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&l as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as u32,
            )
        };
        drop(s); // RST
    });
    let p = Proxy::start(&[&baddr]);
    let mut c = p.connect();
    c.write_all(b"hello").unwrap();
    server.join().unwrap();
    let mut buf = [0u8; 16];
    let e = c.read(&mut buf).expect_err("a reset, not a clean EOF");
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
}

#[test]
fn iperf3_parallel_8_byte_counts_match() {
    let port = free_port();
    let mut server = Command::new("iperf3")
        .args(["-s", "-1", "-B", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("iperf3 (apt-get install iperf3)");
    // Wait until it listens, without connecting (a probe would count as
    // the one-off client).
    let listening = format!("0100007F:{port:04X} 00000000:0000 0A");
    assert!(
        eventually(Duration::from_secs(10), || std::fs::read_to_string(
            "/proc/net/tcp"
        )
        .unwrap()
        .contains(&listening)),
        "iperf3 server did not listen"
    );
    let mut p = Proxy::start(&[&format!("127.0.0.1:{port}")]);
    let client = Command::new("iperf3")
        .args([
            "-c",
            "127.0.0.1",
            "-p",
            &p.port.to_string(),
            "-P",
            "8",
            "-n",
            "400M",
            "-R",
            "-J",
        ])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&client.stdout);
    assert!(client.status.success(), "iperf3 client failed: {text}");
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sent = j["end"]["sum_sent"]["bytes"].as_u64().unwrap();
    let received = j["end"]["sum_received"]["bytes"].as_u64().unwrap();
    // Reverse mode with a byte count (-R -n). iperf3 stops counting when
    // the end of the test arrives on its control connection, which is a
    // connection of its own: with the turn budget it is no longer held
    // behind the data streams' backlog, so bytes still in flight in the
    // proxy (up to a pipe and the socket buffers per stream) may go
    // uncounted. Exact delivery over parallel streams is checked with a
    // verified pattern in `eight_parallel_streams_arrive_intact`.
    assert!(
        (400 << 20..=(400 << 20) + 8 * (1 << 20)).contains(&sent),
        "iperf3 server did not send the whole amount: {sent}"
    );
    assert!(
        received <= sent && received + 8 * (4 << 20) >= sent,
        "bytes received by the client {received} vs sent by the server {sent}"
    );
    assert_eq!(j["end"]["streams"].as_array().unwrap().len(), 8);
    p.wait_ready();
}

fn check_echo_target(target: &str) {
    let mut p = Proxy::start(&[target]);
    let mut c = p.connect();
    echo_roundtrip(&mut c, b"ping through the proxy").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    p.wait_ready();
}

#[test]
fn ipv4_target() {
    let (addr, acc, _) = tcp_echo("127.0.0.1:0");
    check_echo_target(&addr);
    assert_eq!(acc.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn bracketed_ipv6_target() {
    let (addr, acc, _) = tcp_echo("[::1]:0");
    assert!(addr.starts_with("[::1]:"), "{addr}");
    check_echo_target(&addr);
    assert_eq!(acc.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn unix_path_target() {
    let path = unix_path("unix");
    let (acc, _) = spawn_echo(Backend::Unix(UnixListener::bind(&path).unwrap()));
    check_echo_target(path.to_str().unwrap());
    assert_eq!(acc.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn abstract_unix_target() {
    let name = abstract_name("abstract");
    let l =
        UnixListener::bind_addr(&UnixAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    let (acc, _) = spawn_echo(Backend::Unix(l));
    check_echo_target(&format!("@{name}"));
    assert_eq!(acc.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn unix_target_carries_a_large_stream() {
    // UNIX sockets take the same splice path; 64 MiB checks it end to end.
    let path = unix_path("unix-large");
    let (acc, _) = spawn_echo(Backend::Unix(UnixListener::bind(&path).unwrap()));
    let p = Proxy::start(&[path.to_str().unwrap()]);
    let c = p.connect();
    let mut r = c.try_clone().unwrap();
    let reader = thread::spawn(move || Pattern::new(9).verify(&mut r, 64));
    let mut w = c;
    Pattern::new(9).send(&mut w, 64).unwrap();
    w.shutdown(Shutdown::Write).unwrap();
    assert_eq!(reader.join().unwrap(), Ok(64 << 20));
    assert_eq!(acc.load(std::sync::atomic::Ordering::SeqCst), 1);
}
