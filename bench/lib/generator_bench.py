#!/usr/bin/env python3
"""Measurement harness for bench/generator.sh (stdlib only).

For each N it writes N equivalent definitions for berth (<id>.json) and for
Podman Quadlet (<id>.container) into a tmpfs work dir, then runs, interleaved
and in rotating order, berth-generator, quadlet and the I/O floor (`cp -r` of
the berth definitions) into fresh output dirs on the same tmpfs. Each run is
run by the small runone helper (bench/lib/runone.c): CLOCK_MONOTONIC around
fork/exec/wait4, and that child's own peak RSS and CPU time from wait4()'s
rusage. Every run's
output is checked (file and symlink counts, a sampled unit's content) before
it is removed; a generator that did nothing fails the benchmark.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

PORT_BASE, PORT_SPAN = 20000, 40000


def port(i):
    return PORT_BASE + i % PORT_SPAN


def ident(i):
    return "c%05d" % i


def write_defs(root, n):
    bdir = os.path.join(root, "berth")
    qdir = os.path.join(root, "quadlet")
    os.makedirs(bdir)
    os.makedirs(qdir)
    for i in range(n):
        d = {
            "Image": "localhost/busybox",
            "Started": True,
            "Cmd": ["httpd", "-f", "-p", "8080"],
            "Ports": [{"Internal": 8080, "External": port(i)}],
            "Environment": {"Variables": [{"Name": "A", "Value": "b c"}]},
        }
        with open(os.path.join(bdir, ident(i) + ".json"), "w") as f:
            json.dump(d, f)
            f.write("\n")
        with open(os.path.join(qdir, ident(i) + ".container"), "w") as f:
            f.write(
                "[Container]\n"
                "Image=localhost/busybox\n"
                "Exec=httpd -f -p 8080\n"
                "PublishPort=%d:8080\n"
                'Environment=A="b c"\n'
                "[Install]\n"
                "WantedBy=multi-user.target\n" % port(i)
            )
    return bdir, qdir


class BenchError(Exception):
    pass


def listing(d):
    files, links, dirs = [], [], []
    with os.scandir(d) as it:
        for e in it:
            if e.is_symlink():
                links.append(e.name)
            elif e.is_dir():
                dirs.append(e.name)
            else:
                files.append(e.name)
    return sorted(files), sorted(links), sorted(dirs)


def check_generator(tool, out, n, wants_dir, unit_of, publish_of, sample):
    normal, early, late = (os.path.join(out, x) for x in ("normal", "early", "late"))
    for d in (early, late):
        if os.listdir(d):
            raise BenchError("%s wrote into %s: %s" % (tool, d, os.listdir(d)[:5]))
    files, links, dirs = listing(normal)
    units = [f for f in files if f.endswith(".service")]
    # berth keeps environment values out of units: one 0600 `<unit>.env`
    # per container beside its unit, and one multi-user.target.wants/
    # link to berth.target for the lot.
    env_files = [f for f in files if f.endswith(".env")] if tool == "berth" else []
    want_dirs = sorted([wants_dir] + (["multi-user.target.wants"] if tool == "berth" else []))
    if (len(units) != n or len(files) != n + len(env_files)
            or (tool == "berth" and len(env_files) != n) or links or dirs != want_dirs):
        raise BenchError(
            "%s: expected %d .service files%s and only %s in %s, got %d files "
            "(%d .service), %d top-level symlinks, dirs %s"
            % (tool, n, " and %d .env files" % n if tool == "berth" else "",
               "/, ".join(want_dirs) + "/", normal, len(files), len(units), len(links), dirs)
        )
    wfiles, wlinks, wdirs = listing(os.path.join(normal, wants_dir))
    if len(wlinks) != n or wfiles or wdirs:
        raise BenchError(
            "%s: expected %d symlinks in %s/, got %d symlinks, %d files, %d dirs"
            % (tool, n, wants_dir, len(wlinks), len(wfiles), len(wdirs))
        )
    for i in sample:
        u = unit_of(i)
        if u not in units:
            raise BenchError("%s: %s missing" % (tool, u))
        link = os.path.join(normal, wants_dir, u)
        if os.readlink(link) != "../" + u:
            raise BenchError("%s: %s -> %s" % (tool, link, os.readlink(link)))
        with open(os.path.join(normal, u)) as f:
            text = f.read()
        env_needle = "A=b c"
        if tool == "berth":
            env = os.path.join(normal, u[: -len(".service")] + ".env")
            if os.stat(env).st_mode & 0o777 != 0o600:
                raise BenchError("%s: %s is not 0600" % (tool, env))
            with open(env) as f:
                if "A=b c\n" not in f.read():
                    raise BenchError("%s: %s lacks the variable" % (tool, env))
            env_needle = "--env-file=/run/systemd/generator/" + os.path.basename(env)
        for needle in (publish_of(i), "localhost/busybox httpd -f -p 8080", env_needle):
            if needle not in text:
                raise BenchError("%s: %s lacks %r" % (tool, u, needle))


def check_floor(out, n):
    files, links, dirs = listing(os.path.join(out, "normal", "defs"))
    if len(files) != n or links or dirs:
        raise BenchError("cp -r: expected %d files, got %d" % (n, len(files)))


def run_once(argv, env, out, log, runone):
    for d in ("normal", "early", "late"):
        os.makedirs(os.path.join(out, d))
    stats = log + ".stats"
    subprocess.run([runone, stats, log] + argv, env=env, check=True)
    with open(stats) as f:
        ns, rss, ut, st, code = (int(x) for x in f.read().split())
    if code != 0:
        with open(log, errors="replace") as lf:
            tail = lf.read()[-2000:]
        raise BenchError("%s exited %d:\n%s" % (" ".join(argv), code, tail))
    return {"wall": ns / 1e9, "rss_kib": rss, "cpu": (ut + st) / 1e6}


def rm_out(out):
    shutil.rmtree(out)


def bench_n(n, args, work):
    root = os.path.join(work, "defs-%d" % n)
    bdir, qdir = write_defs(root, n)
    out = os.path.join(work, "out")
    log = os.path.join(work, "run.log")
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("BERTH_DEFINITIONS_PATH", "QUADLET_UNIT_DIRS",
                             "BERTH_GENERATOR_ROOT", "SYSTEMD_LOG_LEVEL")}
    sample = sorted({0, n // 2, n - 1})
    tools = {
        "berth": (
            [args.berth, os.path.join(out, "normal"), os.path.join(out, "early"),
             os.path.join(out, "late")],
            dict(base_env, BERTH_DEFINITIONS_PATH=bdir, SYSTEMD_LOG_TARGET="console"),
            lambda: check_generator(
                "berth", out, n, "berth.target.wants",
                lambda i: "berth-%s.service" % ident(i),
                lambda i: "--publish=%d:8080" % port(i), sample),
        ),
        "quadlet": (
            args.quadlet + ["-no-kmsg-log", os.path.join(out, "normal"),
                            os.path.join(out, "early"), os.path.join(out, "late")],
            dict(base_env, QUADLET_UNIT_DIRS=qdir),
            lambda: check_generator(
                "quadlet", out, n, "multi-user.target.wants",
                lambda i: "%s.service" % ident(i),
                lambda i: "--publish %d:8080" % port(i), sample),
        ),
        "floor": (
            ["cp", "-r", bdir, os.path.join(out, "normal", "defs")],
            base_env,
            lambda: check_floor(out, n),
        ),
    }
    names = list(tools)
    runs = args.runs_large if n >= 10000 else args.runs
    res = {k: [] for k in names}
    for rep in range(args.warmup + runs):
        order = names[rep % 3:] + names[:rep % 3]
        for k in order:
            argv, env, check = tools[k]
            r = run_once(argv, env, out, log, args.runone)
            check()
            rm_out(out)
            if rep >= args.warmup:
                res[k].append(r)
    shutil.rmtree(root)
    return res, runs


def summarize(rs):
    walls = [r["wall"] for r in rs]
    return {
        "wall": statistics.median(walls),
        "wall_min": min(walls),
        "wall_max": max(walls),
        "cpu": statistics.median(r["cpu"] for r in rs),
        "rss_mib": max(r["rss_kib"] for r in rs) / 1024.0,
    }


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "? ? ?"


def ms(x):
    return "%.1f" % (x * 1e3) if x < 1 else "%.0f" % (x * 1e3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--quadlet", required=True, help="JSON array argv prefix")
    ap.add_argument("--work", required=True)
    ap.add_argument("--runone", required=True, help="bench/lib/runone.c, compiled")
    ap.add_argument("--ns", default="1,100,1000,10000")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--runs-large", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--results", default="")
    ap.add_argument("--command", default="bash bench/generator.sh")
    ap.add_argument("--berth-desc", default="")
    ap.add_argument("--quadlet-desc", default="")
    ap.add_argument("--tmpfs-desc", default="")
    args = ap.parse_args()
    args.quadlet = json.loads(args.quadlet)
    ns = [int(x) for x in args.ns.split(",")]

    load_before = loadavg()
    rows = []
    for n in ns:
        print("bench: N=%d ..." % n, file=sys.stderr, flush=True)
        res, runs = bench_n(n, args, args.work)
        s = {k: summarize(v) for k, v in res.items()}
        rows.append((n, runs, s))

    hdr = ("| N | runs | berth wall ms (min–max) | berth CPU ms | berth peak RSS MiB "
           "| Quadlet wall ms (min–max) | Quadlet CPU ms | Quadlet peak RSS MiB "
           "| floor `cp -r` wall ms (min–max) | floor CPU ms | floor peak RSS MiB "
           "| berth/Quadlet | berth/floor | berth/Quadlet (CPU) |")
    sep = "|" + "---|" * 14
    lines = [hdr, sep]
    for n, runs, s in rows:
        b, q, f = s["berth"], s["quadlet"], s["floor"]
        lines.append(
            "| %d | %d | %s (%s–%s) | %s | %.1f | %s (%s–%s) | %s | %.1f | %s (%s–%s) | %s | %.1f | %.3f | %.2f | %.3f |"
            % (n, runs,
               ms(b["wall"]), ms(b["wall_min"]), ms(b["wall_max"]), ms(b["cpu"]), b["rss_mib"],
               ms(q["wall"]), ms(q["wall_min"]), ms(q["wall_max"]), ms(q["cpu"]), q["rss_mib"],
               ms(f["wall"]), ms(f["wall_min"]), ms(f["wall_max"]), ms(f["cpu"]), f["rss_mib"],
               b["wall"] / q["wall"], b["wall"] / f["wall"], b["cpu"] / q["cpu"]))
    table = "\n".join(lines)
    load_after = loadavg()
    load_note = ("load average (1/5/15 min) before the run %s, after %s; %d CPUs"
                 % (load_before, load_after, os.cpu_count()))

    # Linearity: marginal cost per definition over successive N segments.
    by_n = {n: s for n, _, s in rows}
    lin_lines = ["| segment | berth µs/definition | Quadlet µs/definition | floor µs/definition "
                 "| berth CPU µs/definition | Quadlet CPU µs/definition |",
                 "|---|---|---|---|---|---|"]
    slopes = {}
    ordered = sorted(by_n)
    for a, c in zip(ordered, ordered[1:]):
        seg = {}
        for k in ("berth", "quadlet", "floor"):
            seg[k] = (by_n[c][k]["wall"] - by_n[a][k]["wall"]) / (c - a)
            seg[k + "_cpu"] = (by_n[c][k]["cpu"] - by_n[a][k]["cpu"]) / (c - a)
        slopes[(a, c)] = seg
        lin_lines.append("| N %d → %d | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
            a, c, seg["berth"] * 1e6, seg["quadlet"] * 1e6, seg["floor"] * 1e6,
            seg["berth_cpu"] * 1e6, seg["quadlet_cpu"] * 1e6))
    lin_table = "\n".join(lin_lines)

    verdicts = []
    if 1000 in by_n:
        b, q, f = by_n[1000]["berth"], by_n[1000]["quadlet"], by_n[1000]["floor"]
        r1, r2 = b["wall"] / q["wall"], b["wall"] / f["wall"]
        verdicts.append("- berth ≤ 1/5 of Quadlet's wall time at N = 1000: **%s** — "
                        "berth %s ms vs Quadlet %s ms, ratio %.3f (limit 0.200; %.1f× faster)"
                        % ("MET" if r1 <= 0.2 else "MISSED", ms(b["wall"]), ms(q["wall"]),
                           r1, 1 / r1))
        verdicts.append("  - for reference: fastest runs %s vs %s ms (ratio %.3f); median CPU %s vs %s ms (ratio %.3f)"
                        % (ms(b["wall_min"]), ms(q["wall_min"]), b["wall_min"] / q["wall_min"],
                           ms(b["cpu"]), ms(q["cpu"]), b["cpu"] / q["cpu"]))
        verdicts.append("- berth ≤ 2× the I/O floor at N = 1000: **%s** — "
                        "berth %s ms vs `cp -r` %s ms, ratio %.2f (limit 2.00)"
                        % ("MET" if r2 <= 2 else "MISSED", ms(b["wall"]), ms(f["wall"]), r2))
        verdicts.append("  - for reference: fastest runs %s vs %s ms (ratio %.2f)"
                        % (ms(b["wall_min"]), ms(f["wall_min"]), b["wall_min"] / f["wall_min"]))
    if (100, 1000) in slopes and (1000, 10000) in slopes:
        s1 = slopes[(100, 1000)]["berth"]
        s2 = slopes[(1000, 10000)]["berth"]
        t1k, t10k = by_n[1000]["berth"]["wall"], by_n[10000]["berth"]["wall"]
        ok = s1 > 0 and s2 / s1 <= 1.5
        verdicts.append(
            "- time grows linearly with N: **%s** — marginal cost %.1f µs/definition "
            "for N 100→1000 and %.1f µs/definition for N 1000→10000 (ratio %.2f; "
            "criterion: ≤ 1.5, i.e. no super-linear term); t(10000)/t(1000) = %.1f"
            % ("MET" if ok else "MISSED", s1 * 1e6, s2 * 1e6, s2 / s1 if s1 else float("inf"),
               t10k / t1k))
        c1 = slopes[(100, 1000)]["berth_cpu"]
        c2 = slopes[(1000, 10000)]["berth_cpu"]
        verdicts.append(
            "  - by CPU time (less sensitive to other load): %.1f µs/definition for "
            "N 100→1000, %.1f µs/definition for N 1000→10000 (ratio %.2f)"
            % (c1 * 1e6, c2 * 1e6, c2 / c1 if c1 else float("inf")))
    verdict_text = "\n".join(verdicts)

    print()
    print(table)
    print()
    print(lin_table)
    print()
    print(verdict_text)
    print()
    print(load_note)
    if max(float(x) for x in (load_before.split()[0], load_after.split()[0])) > 0.5 * os.cpu_count():
        print("bench: WARNING: the machine was busy during the run; wall times are "
              "inflated and noisy (compare the CPU columns and min values)", file=sys.stderr)

    if not args.results:
        return
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    md = f"""# berth-generator vs Podman Quadlet — generator benchmark

Produced by `{args.command}` on {now}.
Generated by that script; rerunning it overwrites this file.

## Machine and inputs

- machine: {os.cpu_count()} cores ({cpu or platform.processor()}), Linux {platform.release()}, {platform.machine()}
- output and definitions on tmpfs: {args.tmpfs_desc}
- berth: {args.berth_desc}
- Quadlet: {args.quadlet_desc}
- {load_note}
- floor: `cp -r` (GNU coreutils) of the same berth definitions into the same tmpfs

Each of the N definitions is one container: image `localhost/busybox`, command
`httpd -f -p 8080`, one published port (`20000 + i mod 40000` → 8080), one
environment variable with a space (`A=b c`), started at boot (berth
`"Started": true` → `berth.target.wants/` symlink; Quadlet `[Install]
WantedBy=multi-user.target` → `multi-user.target.wants/` symlink). Both
generators therefore write N units **and** N symlinks.

## Method

- Every run gets a fresh output tree (`normal/ early/ late/`, created before
  the run as systemd does) on the tmpfs; it is checked — exactly N `.service`
  files plus N `*.target.wants/` symlinks pointing at them, nothing in
  early/late, and for sampled units the right `--publish`, image/command and
  environment in `ExecStart=` — and removed before the next run (removal is not
  timed). A run that exits non-zero or produces the wrong count aborts the
  benchmark.
- berth runs as `BERTH_DEFINITIONS_PATH=<defs> SYSTEMD_LOG_TARGET=console
  berth-generator normal early late`; Quadlet as `QUADLET_UNIT_DIRS=<defs>
  quadlet -no-kmsg-log normal early late` (both log to the console only).
- Each run goes through `bench/lib/runone.c` (a small static C helper, built
  by the script): wall time is `CLOCK_MONOTONIC` from just before `fork()` to
  `wait4()` returning, so every figure, the floor's included, carries the same
  process-spawn cost; peak RSS and CPU (user+sys) are that one child's
  `wait4()` rusage. (Forking from Python instead would make every peak RSS read
  ~16 MiB: Linux folds the pre-exec address space's high-water mark into
  `ru_maxrss`.) The table shows the median wall time (min–max), median CPU,
  and the largest peak RSS over the runs.
- One untimed warm-up round per N, then the runs; within a round the three
  commands run one after another in rotating order.

## Results

{table}

Marginal cost per definition (difference of medians / difference of N):

{lin_table}

## Targets (from issue 2, "Performance")

{verdict_text}

## Notes

- Quadlet also writes a `multi-user.target.wants/<name>.service` symlink per
  container (from `[Install] WantedBy=`), so the two generators do the same
  kind of work; berth writes one more file per container, the 0600
  `berth-<id>.env` that keeps the environment values out of the unit; berth's units are slightly larger (it adds Description,
  Documentation, Restart, timeouts and an explicit `podman stop`).
- N = 1 measures process start-up, not generation: the floor there is the
  cost of exec'ing `cp`. Quadlet is a Go binary (~10+ MB) with runtime
  start-up; berth is a small Rust binary.
- berth writes units with parallel writer threads, so on this 2-core machine
  its CPU time can exceed its wall time; Quadlet's Go runtime is also
  multi-threaded (GC). `cp -r` is single-threaded.
"""
    with open(args.results, "w") as f:
        f.write(md)
    print("\nbench: wrote %s" % args.results, file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print("bench: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
