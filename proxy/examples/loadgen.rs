//! Load generator and echo backend for `bench/proxy.sh` (loopback only).
//!
//! - `loadgen echo-server ADDR` — single-threaded epoll echo server;
//! - `loadgen rr ADDR N` — N 1-byte request/response round trips on one
//!   connection; prints `p50_us p99_us`;
//! - `loadgen connrate ADDR SECS THREADS` — connect, send 1 byte, receive
//!   it, close, in a loop; prints connections per second and the p50/p99
//!   time from connect(2) to the answer, µs;
//! - `loadgen rr-bulk ADDR N` — like `rr`, while another connection to
//!   ADDR streams bulk data (echoed back) the whole time;
//! - `loadgen idle ADDR N MIB` — opens N connections, sends MIB MiB through
//!   each and reads them back, prints `ready`, then holds them until stdin
//!   closes;
//! - `loadgen hop N SIZE` — the cost of one relay hop of SIZE bytes between
//!   two loopback TCP connections, by splice(2) through a pipe and by
//!   recv(2)/send(2), alternating, N times each; prints the p50 of each, ns.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::time::{Duration, Instant};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| a.get(i).unwrap_or_else(|| usage()).as_str();
    match arg(1) {
        "echo-server" => echo_server(arg(2)),
        "rr" => rr(arg(2), arg(3).parse().unwrap()),
        "rr-bulk" => rr_bulk(arg(2), arg(3).parse().unwrap()),
        "connrate" => connrate(arg(2), arg(3).parse().unwrap(), arg(4).parse().unwrap()),
        "idle" => idle(arg(2), arg(3).parse().unwrap(), arg(4).parse().unwrap()),
        "hop" => hop(arg(2).parse().unwrap(), arg(3).parse().unwrap()),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen echo-server ADDR | rr ADDR N | rr-bulk ADDR N | connrate ADDR SECS THREADS \
         | idle ADDR N MIB | hop N SIZE"
    );
    std::process::exit(2)
}

fn raise_nofile() {
    // SAFETY: rl is valid for reads and writes.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl);
        rl.rlim_cur = rl.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
    }
}

fn echo_server(addr: &str) {
    raise_nofile();
    let l = TcpListener::bind(addr).unwrap();
    l.set_nonblocking(true).unwrap();
    // SAFETY: plain syscalls; results checked where it matters.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0);
    let add = |fd: i32| {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: fd as u64,
        };
        // SAFETY: ev lives across the call.
        unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    };
    let lfd = l.as_raw_fd();
    add(lfd);
    println!("listening");
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 512];
    let mut buf = vec![0u8; 65536];
    loop {
        // SAFETY: events is a valid buffer.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        for ev in &events[..n.max(0) as usize] {
            let fd = ev.u64 as i32;
            if fd == lfd {
                while let Ok((s, _)) = l.accept() {
                    s.set_nonblocking(true).unwrap();
                    s.set_nodelay(true).unwrap();
                    add(s.into_raw_fd());
                }
                continue;
            }
            // SAFETY: fd is an accepted socket we own.
            let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if r > 0 {
                let mut off = 0;
                while off < r as usize {
                    // SAFETY: as above.
                    let w = unsafe {
                        libc::send(
                            fd,
                            buf[off..].as_ptr().cast(),
                            r as usize - off,
                            libc::MSG_NOSIGNAL,
                        )
                    };
                    if w <= 0 {
                        break;
                    }
                    off += w as usize;
                }
            } else if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN)
            {
                // SAFETY: closing our own fd also removes it from epoll.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
}

fn rr(addr: &str, n: usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut b = [0u8; 1];
    let mut lat = Vec::with_capacity(n);
    for i in 0..n + 100 {
        let t = Instant::now();
        s.write_all(&[i as u8]).unwrap();
        s.read_exact(&mut b).unwrap();
        if i >= 100 {
            lat.push(t.elapsed());
        }
    }
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6;
    println!("{:.1} {:.1}", p(0.50), p(0.99));
}

fn connrate(addr: &str, secs: f64, threads: usize) {
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                // What a client waits for: connect until the answer is in.
                let mut waited = Vec::new();
                let mut b = [0u8; 1];
                while Instant::now() < end {
                    let t = Instant::now();
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.set_nodelay(true).unwrap();
                    s.write_all(b"x").unwrap();
                    s.read_exact(&mut b).unwrap();
                    waited.push(t.elapsed());
                    drop(s);
                }
                waited
            })
        })
        .collect();
    let mut all: Vec<Duration> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let rate = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1e6;
    println!("{rate:.0} {:.1} {:.1}", p(0.50), p(0.99));
}

fn rr_bulk(addr: &str, n: usize) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let bulk = TcpStream::connect(addr).unwrap();
    let mut r = bulk.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 20];
        while let Ok(k) = r.read(&mut buf) {
            if k == 0 {
                break;
            }
        }
    });
    let st = stop.clone();
    let mut w = bulk;
    let writer = std::thread::spawn(move || {
        let buf = vec![1u8; 1 << 20];
        while !st.load(Ordering::SeqCst) {
            if w.write_all(&buf).is_err() {
                break;
            }
        }
        let _ = w.shutdown(std::net::Shutdown::Write);
    });
    // Let the stream get going.
    std::thread::sleep(Duration::from_millis(300));
    rr(addr, n);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    reader.join().unwrap();
}

fn idle(addr: &str, n: usize, mib: usize) {
    raise_nofile();
    // Four threads open and exercise the connections (a quarter each).
    let _held: Vec<TcpStream> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|t| {
                sc.spawn(move || {
                    let block = vec![5u8; mib << 20];
                    let mut back = vec![0u8; mib << 20];
                    let mut v = Vec::new();
                    for i in (t..n).step_by(4) {
                        let mut s = TcpStream::connect(addr).unwrap();
                        if mib == 0 {
                            s.write_all(&[i as u8]).unwrap();
                            let mut b = [0u8; 1];
                            s.read_exact(&mut b).unwrap();
                        } else {
                            // Write and read back concurrently (the echo
                            // path holds less than 1 MiB).
                            let mut r = s.try_clone().unwrap();
                            std::thread::scope(|sc| {
                                sc.spawn(|| r.read_exact(&mut back).unwrap());
                                s.write_all(&block).unwrap();
                            });
                        }
                        v.push(s);
                    }
                    v
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    println!("ready");
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// A connected loopback TCP pair, both ends non-blocking with TCP_NODELAY.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    for s in [&a, &b] {
        s.set_nodelay(true).unwrap();
        s.set_nonblocking(true).unwrap();
    }
    (a, b)
}

fn hop(n: usize, size: usize) {
    let (mut a, b) = tcp_pair();
    let (c, mut d) = tcp_pair();
    let mut p = [0i32; 2];
    // SAFETY: pipe2 fills the array.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_NONBLOCK) }, 0);
    let (b, c) = (b.as_raw_fd(), c.as_raw_fd());
    let data = vec![7u8; size];
    let mut sink = vec![0u8; size.max(1 << 16)];
    let mut scratch = vec![0u8; 16 << 10];
    let mut times = [Vec::with_capacity(n), Vec::with_capacity(n)];
    let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
    for _ in 0..n {
        for (way, t) in times.iter_mut().enumerate() {
            a.write_all(&data).unwrap();
            let start = Instant::now();
            let mut moved = 0;
            while moved < size {
                // SAFETY: plain syscalls on fds and buffers we own.
                let got = unsafe {
                    if way == 0 {
                        libc::splice(
                            b,
                            std::ptr::null_mut(),
                            p[1],
                            std::ptr::null_mut(),
                            1 << 16,
                            flags,
                        )
                    } else {
                        libc::recv(b, scratch.as_mut_ptr().cast(), scratch.len(), 0)
                    }
                };
                if got <= 0 {
                    continue;
                }
                let mut out = 0;
                while out < got {
                    // SAFETY: as above.
                    let w = unsafe {
                        if way == 0 {
                            libc::splice(
                                p[0],
                                std::ptr::null_mut(),
                                c,
                                std::ptr::null_mut(),
                                (got - out) as usize,
                                flags,
                            )
                        } else {
                            libc::send(
                                c,
                                scratch[out as usize..].as_ptr().cast(),
                                (got - out) as usize,
                                libc::MSG_NOSIGNAL,
                            )
                        }
                    };
                    out += w.max(0);
                }
                moved += got as usize;
            }
            t.push(start.elapsed());
            let mut back = 0;
            while back < size {
                back += d.read(&mut sink).unwrap_or(0);
            }
        }
    }
    let p50 = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_nanos()
    };
    let [s, r] = &mut times;
    println!("splice {} recv/send {}", p50(s), p50(r));
}
