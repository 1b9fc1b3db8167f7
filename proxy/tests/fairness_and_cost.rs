//! No connection starves the others, and idle connections cost two fds.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Streams bulk data through `c` (echoed back) until `stop`.
fn bulk(c: TcpStream, stop: Arc<AtomicBool>) -> thread::JoinHandle<u64> {
    let mut r = c.try_clone().unwrap();
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        while let Ok(k) = r.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        n
    });
    let mut w = c;
    thread::spawn(move || {
        let buf = vec![1u8; 1 << 20];
        while !stop.load(Ordering::SeqCst) {
            w.write_all(&buf).unwrap();
        }
        w.shutdown(std::net::Shutdown::Write).unwrap();
        reader.join().unwrap()
    })
}

#[test]
fn round_trips_stay_fast_while_another_connection_streams() {
    let (addr, _, _) = tcp_echo("127.0.0.1:0");
    let mut p = Proxy::start(&[&addr]);
    let mut rr = p.connect();
    rr.set_nodelay(true).unwrap();
    p.wait_ready();
    let stop = Arc::new(AtomicBool::new(false));
    let streamer = bulk(p.connect(), stop.clone());
    thread::sleep(Duration::from_millis(300));
    let mut lat = Vec::new();
    let mut b = [0u8; 1];
    let mut accepts = Vec::new();
    for i in 0..2000u32 {
        let t = Instant::now();
        rr.write_all(&[i as u8]).unwrap();
        rr.read_exact(&mut b).unwrap();
        lat.push(t.elapsed());
        if i % 200 == 0 {
            // New connections are served meanwhile too.
            let t = Instant::now();
            let mut c = p.connect();
            echo_roundtrip(&mut c, b"new").unwrap();
            accepts.push(t.elapsed());
        }
    }
    stop.store(true, Ordering::SeqCst);
    let moved = streamer.join().unwrap();
    lat.sort();
    accepts.sort();
    let p99 = lat[lat.len() * 99 / 100];
    let accept_median = accepts[accepts.len() / 2];
    eprintln!(
        "p50 {:?} p99 {p99:?}, new connections {accepts:?}, {} MiB streamed",
        lat[lat.len() / 2],
        moved >> 20
    );
    assert!(moved > 16 << 20, "the bulk stream barely moved: {moved}");
    // bench/proxy.sh measures the 10 ms target; this bound leaves room
    // for a shared, loaded test machine (before the turn budget: 173-523 ms).
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
    // New clients: the median, as the backend starts a thread for each.
    assert!(accept_median < Duration::from_millis(100), "{accepts:?}");
}

#[test]
fn idle_connections_that_carried_a_mib_hold_two_fds_each() {
    raise_nofile();
    let (addr, _, _) = tcp_echo("127.0.0.1:0");
    let mut p = Proxy::start(&["--connections-max=1000", &addr]);
    {
        let mut c = p.connect();
        echo_roundtrip(&mut c, b"warm").unwrap();
    }
    p.wait_ready();
    thread::sleep(Duration::from_millis(200));
    let base = p.fd_count();
    let block = vec![3u8; 1 << 20];
    let mut conns = Vec::new();
    for _ in 0..200 {
        let mut c = p.connect();
        let mut r = c.try_clone().unwrap();
        let reader = thread::spawn(move || {
            let mut got = vec![0u8; 1 << 20];
            r.read_exact(&mut got).unwrap();
        });
        c.write_all(&block).unwrap();
        reader.join().unwrap();
        conns.push(c);
    }
    thread::sleep(Duration::from_millis(200));
    let per = (p.fd_count() - base) as f64 / conns.len() as f64;
    // Two sockets each; the shared pipe pool (at most 8 pipes) on top.
    assert!(
        p.fd_count() <= base + 2 * conns.len() + 16,
        "{} fds for {} idle connections ({per:.2} each; base {base})",
        p.fd_count() - base,
        conns.len()
    );
    drop(conns);
}
