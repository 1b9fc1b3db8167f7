//! Benchmark: N installs with automatic ports under a temporary root, in
//! one process, systemd stubbed out (`NoSystemd`) and the bind probe off
//! (the probe is a bind+close per port: it measures the kernel, not the
//! table). Prints installs/s and the time of install 100 vs install N.
//!
//! `cargo run --release -p berth-jobs --example bench_install -- 10000 [ROOT]`

use berth_jobs::context::Context;
use berth_jobs::definition::{Definition, PortPair};
use berth_jobs::jobs::{dispatch, InstallContainerRequest};
use berth_jobs::ports::Probe;
use berth_jobs::response::Response;
use berth_jobs::systemd::NoSystemd;
use std::time::{Duration, Instant};

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_owned());
    let mut ctx = Context::new(&root, Box::new(NoSystemd)).expect("context");
    ctx.probe = Probe::Skip;
    // A benchmark of berth, not of podman: no image pulls, checks or
    // inspection (as BERTH_PULL=0 BERTH_IMAGE_VOLUMES=0 do for the CLI).
    ctx.pull = false;
    ctx.image_volumes = false;
    ctx.settings.port_range = berth_jobs::config::PortRange {
        first: 20000,
        last: 32767,
    };
    let mut times = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let job = InstallContainerRequest {
            id: format!("c{i}"),
            definition: Definition {
                image: "localhost/busybox".into(),
                ports: vec![PortPair {
                    internal: 8080,
                    external: 0,
                    backend: None,
                    proxy_protocol: None,
                    protocol: None,
                }],
                ..Definition::default()
            },
            unmask: false,
            wait: false,
            dry_run: false,
            no_restart: false,
        };
        let t = Instant::now();
        dispatch(&ctx, &job, None, Response::new(std::io::sink(), false)).expect("install");
        times.push(t.elapsed());
    }
    let total = start.elapsed();
    let at = |k: usize| times[k - 1];
    let win = |k: usize| median(&times[k.saturating_sub(20)..k]);
    println!("installs           {n}");
    println!("total              {:.2} s", total.as_secs_f64());
    println!("installs/s         {:.0}", n as f64 / total.as_secs_f64());
    println!(
        "install 100        {:.3} ms",
        at(100.min(n)).as_secs_f64() * 1e3
    );
    println!("install {n:<10} {:.3} ms", at(n).as_secs_f64() * 1e3);
    println!(
        "median 81-100      {:.3} ms",
        win(100.min(n)).as_secs_f64() * 1e3
    );
    println!(
        "median {}-{n:<6} {:.3} ms",
        n - 19,
        win(n).as_secs_f64() * 1e3
    );
    println!(
        "ratio (medians)    {:.2}",
        win(n).as_secs_f64() / win(100.min(n)).as_secs_f64()
    );
}
