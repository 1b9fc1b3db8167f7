//! TARGET forms systemd-socket-proxyd accepts, multi-address targets and
//! per-connection resolution. Name resolution is steered with a private
//! /etc/hosts (and /etc/services) bind-mounted in the proxy's own mount
//! namespace.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

fn check_echo(p: &Proxy) {
    let mut c = p.connect();
    echo_roundtrip(&mut c, b"ping through the proxy").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

/// A port free on both 127.0.0.1 and ::1.
fn port_free_on_both() -> u16 {
    loop {
        let p = free_port();
        if TcpListener::bind(format!("[::1]:{p}")).is_ok() {
            return p;
        }
    }
}

fn files(tag: &str, hosts: &str) -> std::path::PathBuf {
    let d = scratch(tag);
    let h = d.join("hosts");
    std::fs::write(&h, hosts).unwrap();
    h
}

#[test]
fn unbracketed_ipv6_with_port_as_socket_proxyd_splits_it() {
    let (addr, acc, _) = tcp_echo("[::1]:0");
    let port = addr.rsplit(':').next().unwrap();
    let p = Proxy::start(&[&format!("::1:{port}")]);
    check_echo(&p);
    assert_eq!(acc.load(Ordering::SeqCst), 1);
}

#[test]
fn service_name_port() {
    let (addr, acc, _) = tcp_echo("127.0.0.1:0");
    let port = addr.rsplit(':').next().unwrap();
    let d = scratch("services");
    let services = d.join("services");
    std::fs::write(&services, format!("berth-test {port}/tcp\n")).unwrap();
    let hosts = files("hosts", "127.0.0.1 localhost\n");
    let p = start_with_files(
        &[(&hosts, "/etc/hosts"), (&services, "/etc/services")],
        &["localhost:berth-test"],
    );
    check_echo(&p);
    assert_eq!(acc.load(Ordering::SeqCst), 1);
}

#[test]
fn host_without_port_means_port_80() {
    // Needs 127.0.0.1:80 free (and root to bind it).
    let Ok(l) = TcpListener::bind("127.0.0.1:80") else {
        eprintln!("skipped: cannot bind 127.0.0.1:80");
        return;
    };
    let (acc, _) = spawn_echo(Backend::Tcp(l));
    let p = Proxy::start(&["127.0.0.1"]);
    check_echo(&p);
    assert_eq!(acc.load(Ordering::SeqCst), 1);
}

#[test]
fn a_refusing_first_address_costs_no_delay_and_no_log_lines() {
    let port = port_free_on_both();
    // localhost -> ::1 (nothing listens there: refused), then 127.0.0.1.
    let (_, acc, _) = tcp_echo(&format!("127.0.0.1:{port}"));
    let hosts = files("hosts", "::1 multi\n127.0.0.1 multi\n");
    let p = start_with_files(&[(&hosts, "/etc/hosts")], &[&format!("multi:{port}")]);
    check_echo(&p);
    let start = Instant::now();
    for i in 0..100u8 {
        let mut c = p.connect();
        echo_roundtrip(&mut c, &[i; 4]).unwrap();
    }
    let took = start.elapsed();
    // The old behaviour: a 25 ms retry per connection (2.5 s for 100).
    assert!(
        took < Duration::from_millis(1500),
        "100 connections took {took:?}"
    );
    assert_eq!(acc.load(Ordering::SeqCst), 101);
    let log = p.stderr();
    assert!(!log.contains("not reachable"), "{log}");
    assert!(!log.contains("is up"), "{log}");
}

#[test]
fn a_blackholed_first_address_does_not_hold_the_client() {
    let port = port_free_on_both();
    // [::1]:port listens with a backlog of 0 and never accepts: once its
    // queue is full, SYNs are dropped, as by a black hole.
    let bh = unsafe {
        let fd = libc::socket(libc::AF_INET6, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
        sa.sin6_family = libc::AF_INET6 as u16;
        sa.sin6_port = port.to_be();
        sa.sin6_addr.s6_addr[15] = 1;
        assert_eq!(
            libc::bind(
                fd,
                (&sa as *const libc::sockaddr_in6).cast(),
                std::mem::size_of::<libc::sockaddr_in6>() as u32
            ),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        OwnedFd::from_raw_fd(fd)
    };
    // Fill its accept queue.
    let mut fillers = Vec::new();
    for _ in 0..2 {
        let s = std::net::TcpStream::connect_timeout(
            &format!("[::1]:{port}").parse().unwrap(),
            Duration::from_millis(300),
        );
        if let Ok(s) = s {
            fillers.push(s);
        }
    }
    let (_, acc, _) = tcp_echo(&format!("127.0.0.1:{port}"));
    let hosts = files("hosts", "::1 bh\n127.0.0.1 bh\n");
    let p = start_with_files(
        &[(&hosts, "/etc/hosts")],
        &["--connect-timeout=30", &format!("bh:{port}")],
    );
    let start = Instant::now();
    check_echo(&p);
    let first = start.elapsed();
    assert!(
        first < Duration::from_secs(3),
        "first connection took {first:?}"
    );
    // (It did meet the black hole: the parallel attempt starts after 250 ms.)
    assert!(
        first >= Duration::from_millis(200),
        "no black hole? {first:?}"
    );
    // The address that worked is tried first from now on.
    let start = Instant::now();
    for i in 0..10u8 {
        let mut c = p.connect();
        echo_roundtrip(&mut c, &[i; 4]).unwrap();
    }
    let rest = start.elapsed();
    assert!(rest < Duration::from_millis(1500), "10 more took {rest:?}");
    assert_eq!(acc.load(Ordering::SeqCst), 11);
    drop(fillers);
    let _ = bh.as_raw_fd();
}

#[test]
fn names_are_resolved_again_not_once() {
    let port = free_port();
    let (_, acc_a, _) = tcp_echo(&format!("127.0.0.1:{port}"));
    let (_, acc_b, _) = tcp_echo(&format!("127.0.0.2:{port}"));
    let hosts = files("hosts", "127.0.0.1 moving\n");
    let p = start_with_files(&[(&hosts, "/etc/hosts")], &[&format!("moving:{port}")]);
    check_echo(&p);
    assert_eq!(acc_a.load(Ordering::SeqCst), 1);
    // Rewrite the file in place (the bind mount follows the inode).
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&hosts)
        .unwrap();
    f.write_all(b"127.0.0.2 moving\n").unwrap();
    drop(f);
    let ok = eventually(Duration::from_secs(10), || {
        let mut c = p.connect();
        echo_roundtrip(&mut c, b"where").unwrap();
        thread::sleep(Duration::from_millis(100));
        acc_b.load(Ordering::SeqCst) > 0
    });
    assert!(
        ok,
        "never followed the name to its new address: {}",
        p.stderr()
    );
}
