#!/bin/bash
# bench/proxy.sh — berth-proxy against systemd-socket-proxyd and a direct
# connection, in one run, against the same backends (loopback only).
#
# For each of RUNS rounds (default 5), the paths alternate (direct,
# sd-proxyd, berth[, extra paths in PATHS]) and each measures:
#   - one-stream throughput (iperf3, DURATION s) and the proxy's CPU per GiB
#     (utime+stime from /proc/PID/stat over the same DURATION);
#   - 1-byte round trips p50/p99 on one connection (RR of them), idle and
#     while another connection through the same proxy streams bulk data;
#   - connections per second (connect, 1 byte each way, close; CONN_THREADS
#     threads for CONN_SECS s), the time each client waited from connect(2)
#     to the answer (p50/p99), and the proxy's CPU time per connection;
#   - RSS and fds per connection of the proxy holding IDLE idle connections
#     that each carried IDLE_MIB MiB each way first.
# Then it prints the medians side by side, the load average, and the
# ratios against the targets.
#
# Usage: bench/proxy.sh   (env: RUNS DURATION RR CONN_SECS CONN_THREADS IDLE
#                          IDLE_MIB PATHS, e.g. PATHS="direct sd-proxyd berth berth-bbr")
# "berth-ALGO" is berth-proxy with --loopback-congestion=ALGO (e.g.
# berth-default: the host's congestion control; berth-cubic), to show what
# the default (reno) buys.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
DURATION=${DURATION:-3}
RR=${RR:-10000}
CONN_SECS=${CONN_SECS:-2}
CONN_THREADS=${CONN_THREADS:-2}
IDLE=${IDLE:-3000}
IDLE_MIB=${IDLE_MIB:-1}
PATHS=${PATHS:-direct sd-proxyd berth}
SDPROXY=${SDPROXY:-/usr/lib/systemd/systemd-socket-proxyd}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

command -v iperf3 >/dev/null || { echo "bench/proxy.sh needs iperf3" >&2; exit 1; }
command -v systemd-socket-activate >/dev/null || { echo "needs systemd-socket-activate" >&2; exit 1; }
[ -x "$SDPROXY" ] || { echo "needs $SDPROXY" >&2; exit 1; }

cargo build --release --quiet -p berth-proxy --bin berth-proxy --example loadgen
BERTH=$TARGET_DIR/release/berth-proxy
LOADGEN=$TARGET_DIR/release/examples/loadgen

# systemd-socket-proxyd holds 6 fds per proxied idle connection that once
# carried data (2 sockets, 2 pipes); IDLE must fit the hard RLIMIT_NOFILE.
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listen() { # port
  local hex; hex=$(printf '0100007F:%04X 00000000:0000 0A' "$1")
  for _ in $(seq 500); do grep -q "$hex" /proc/net/tcp && return 0; sleep 0.02; done
  echo "port $1 never listened" >&2; exit 1
}
cpu_ms() { # pid -> utime+stime in ms
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

ECHO_PORT=$(free_port)
"$LOADGEN" echo-server "127.0.0.1:$ECHO_PORT" >/dev/null & pids+=($!)
IPERF_PORT=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >/dev/null 2>&1 & pids+=($!)
wait_listen "$ECHO_PORT"; wait_listen "$IPERF_PORT"

# start_proxy NAME TARGET_PORT -> sets PROXY_PORT, PROXY_PID
start_proxy() {
  local bin extra=()
  case $1 in
    sd-proxyd) bin=$SDPROXY ;;
    berth) bin=$BERTH ;;
    berth-*) bin=$BERTH; extra=(--loopback-congestion="${1#berth-}") ;;
  esac
  PROXY_PORT=$(free_port)
  systemd-socket-activate -l "127.0.0.1:$PROXY_PORT" "$bin" "${extra[@]}" --connections-max=30000 \
    "127.0.0.1:$2" >/dev/null 2>>"$work/$1.log" &
  PROXY_PID=$!; pids+=("$PROXY_PID")
  wait_listen "$PROXY_PORT"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
results=$work/results
: >"$results"
for run in $(seq "$RUNS"); do
  for path in $PATHS; do
    if [ "$path" = direct ]; then
      eport=$ECHO_PORT; iport=$IPERF_PORT; epid=; ipid=
    else
      start_proxy "$path" "$ECHO_PORT"; eport=$PROXY_PORT; epid=$PROXY_PID
      start_proxy "$path" "$IPERF_PORT"; iport=$PROXY_PORT; ipid=$PROXY_PID
    fi
    # Throughput and CPU per GiB. The proxy execs on the first connection,
    # so its CPU counter is read after iperf3's first (control) connection
    # by sampling in the background one second in.
    iperf3 -c 127.0.0.1 -p "$iport" -t "$((DURATION + 1))" -J >"$work/iperf.json" &
    ip=$!
    sleep 1
    c0=0; [ -n "$ipid" ] && c0=$(cpu_ms "$ipid")
    t0=$(date +%s.%N)
    sleep "$DURATION"
    c1=0; [ -n "$ipid" ] && c1=$(cpu_ms "$ipid")
    t1=$(date +%s.%N)
    wait "$ip"
    read -r gbps <<<"$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["end"]["sum_received"]["bits_per_second"]/1e9)' "$work/iperf.json")"
    cpu_per_gib=$(python3 -c "c=$c1-$c0; t=$t1-$t0; b=$gbps*1e9/8*t; print(c/(b/2**30) if '$path'!='direct' else 0)")
    read -r p50 p99 <<<"$("$LOADGEN" rr "127.0.0.1:$eport" "$RR")"
    read -r bp50 bp99 <<<"$("$LOADGEN" rr-bulk "127.0.0.1:$eport" "$RR")"
    k0=0; [ -n "$epid" ] && k0=$(cpu_ms "$epid")
    read -r rate cp50 cp99 <<<"$("$LOADGEN" connrate "127.0.0.1:$eport" "$CONN_SECS" "$CONN_THREADS")"
    k1=0; [ -n "$epid" ] && k1=$(cpu_ms "$epid")
    us_per_conn=$(python3 -c "print(($k1-$k0)*1000/($rate*$CONN_SECS))")
    rss=0; fdper=0
    if [ -n "$epid" ]; then
      f0=$(fds "$epid")
      coproc IDLEGEN { "$LOADGEN" idle "127.0.0.1:$eport" "$IDLE" "$IDLE_MIB"; }
      read -r ready <&"${IDLEGEN[0]}"
      [ "$ready" = ready ] || { echo "idle generator failed" >&2; exit 1; }
      sleep 0.5
      rss=$(rss_kib "$epid")
      f1=$(fds "$epid")
      fdper=$(python3 -c "print(($f1-$f0)/$IDLE)")
      exec {IDLEGEN[1]}>&-
      wait "$IDLEGEN_PID" || true
    fi
    echo "$path $gbps $cpu_per_gib $p50 $p99 $bp50 $bp99 $rate $rss $fdper $us_per_conn $cp50 $cp99" >>"$results"
    if [ -n "$epid" ]; then kill "$epid" "$ipid" 2>/dev/null || true; wait "$epid" "$ipid" 2>/dev/null || true; fi
    echo "run $run $path: $gbps Gbit/s, $cpu_per_gib CPU ms/GiB, rr p50/p99 $p50/$p99 us," \
      "during bulk $bp50/$bp99 us, $rate conn/s ($us_per_conn us proxy CPU each; connect to answer" \
      "p50/p99 $cp50/$cp99 us), RSS $rss KiB," \
      "$fdper fds/idle conn" >&2
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$results" "$RUNS" "$IDLE" "$IDLE_MIB" "$load0" "$load1" "$(( $(date +%s) - t_start ))" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(f[0], []).append([float(x) for x in f[1:]])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
runs, idle, mib, load0, load1, secs = sys.argv[2:8]
paths = list(med)
names = [("one-stream throughput, Gbit/s", 0, "{:.2f}"),
         ("proxy CPU per GiB, ms", 1, "{:.0f}"),
         ("1-byte round trip p50, us", 2, "{:.1f}"),
         ("1-byte round trip p99, us", 3, "{:.1f}"),
         ("round trip p50 during bulk, us", 4, "{:.1f}"),
         ("round trip p99 during bulk, us", 5, "{:.1f}"),
         ("connections per second", 6, "{:.0f}"),
         ("connect to answer p50 (conn/s test), us", 10, "{:.1f}"),
         ("connect to answer p99 (conn/s test), us", 11, "{:.1f}"),
         ("proxy CPU per connection, us", 9, "{:.0f}"),
         (f"RSS, {idle} idle conns, MiB", 7, "{:.1f}"),
         ("fds per idle connection", 8, "{:.2f}")]
proxy_only = {1, 7, 8, 9}
print(f"median of {runs} alternating runs; {idle} idle connections carried {mib} MiB each way first;")
print(f"load average {load0} at start, {load1} at end; {secs} s\n")
hdr = "| metric | " + " | ".join(paths) + " | berth / sd-proxyd |"
print(hdr)
print("|" + "---|" * (len(paths) + 2))
for n, i, fmt in names:
    cells = []
    for p in paths:
        v = med[p][i]
        if i == 7: v = v / 1024
        cells.append("-" if (p == "direct" and i in proxy_only) else fmt.format(v))
    sd, b = med.get("sd-proxyd"), med.get("berth")
    r = "-"
    if sd and b and sd[i]:
        r = f"{b[i]/sd[i]:.2f}"
    print(f"| {n} | " + " | ".join(cells) + f" | {r} |")
sd, b = med.get("sd-proxyd"), med.get("berth")
if sd and b:
    def verdict(ok): return "met" if ok else "MISSED"
    print()
    print(f"- CPU per GiB <= 0.6x sd-proxyd: {verdict(b[1] <= 0.6*sd[1])} ({b[1]/sd[1]:.2f}x)")
    print(f"- throughput no lower: {verdict(b[0] >= sd[0])} ({b[0]/sd[0]:.2f}x)")
    print(f"- connections/s >= 1.5x: {verdict(b[6] >= 1.5*sd[6])} ({b[6]/sd[6]:.2f}x)")
    print(f"- p99 round trip during bulk <= 10 ms: {verdict(b[5] <= 10000)} ({b[5]/1000:.2f} ms; sd-proxyd {sd[5]/1000:.2f} ms)")
    print(f"- 2 fds per idle proxied connection: {verdict(b[8] <= 2.05)} ({b[8]:.2f}; sd-proxyd {sd[8]:.2f})")
EOF
