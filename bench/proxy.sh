#!/bin/bash
# bench/proxy.sh — berth-proxy against systemd-socket-proxyd and direct
# loopback, in one run and against the same backends (loopback only).
#
# For each of RUNS rounds (default 5) and each path (direct, sd-proxyd,
# berth): iperf3 throughput (one stream, DURATION s) with the proxy's CPU
# time from /proc/PID/stat; 1-byte request/response latency p50/p99 (RR
# round trips on one connection); connection rate (connect, send 1 byte,
# receive it, close; CONN_THREADS threads for CONN_SECS s); RSS of the proxy
# holding IDLE idle connections (each used for one round trip first), and
# that RSS projected to 10,000 connections from the per-connection slope
# over the proxy's RSS before the idle test. Prints the medians side by side.
#
# Usage: bench/proxy.sh            (env: RUNS DURATION RR CONN_SECS CONN_THREADS IDLE)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
RR=${RR:-20000}
CONN_SECS=${CONN_SECS:-3}
CONN_THREADS=${CONN_THREADS:-2}
IDLE=${IDLE:-3000}
SDPROXY=${SDPROXY:-/usr/lib/systemd/systemd-socket-proxyd}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

command -v iperf3 >/dev/null || { echo "bench/proxy.sh needs iperf3" >&2; exit 1; }
command -v systemd-socket-activate >/dev/null || { echo "needs systemd-socket-activate" >&2; exit 1; }
[ -x "$SDPROXY" ] || { echo "needs $SDPROXY" >&2; exit 1; }

cargo build --release --quiet -p berth-proxy --bin berth-proxy --example loadgen
BERTH=$TARGET_DIR/release/berth-proxy
LOADGEN=$TARGET_DIR/release/examples/loadgen

# Each proxied idle connection costs 6 fds (2 sockets, 2 pipes) in
# systemd-socket-proxyd once it carried data, 2 in berth-proxy (pipes only
# for bulk data); IDLE must fit the hard RLIMIT_NOFILE.
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

ECHO_PORT=$(free_port)
"$LOADGEN" echo-server "127.0.0.1:$ECHO_PORT" >/dev/null & pids+=($!)
IPERF_PORT=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >/dev/null 2>&1 & pids+=($!)
wait_listen "$ECHO_PORT"; wait_listen "$IPERF_PORT"

# start_proxy NAME BINARY TARGET_PORT -> sets PROXY_PORT, PROXY_PID
start_proxy() {
  PROXY_PORT=$(free_port)
  systemd-socket-activate -l "127.0.0.1:$PROXY_PORT" "$2" --connections-max=30000 "127.0.0.1:$3" \
    >/dev/null 2>>"$work/$1.log" &
  PROXY_PID=$!; pids+=("$PROXY_PID")
  wait_listen "$PROXY_PORT"
}

results=$work/results
: >"$results"
for run in $(seq "$RUNS"); do
  for path in direct sd-proxyd berth; do
    case $path in
      direct) eport=$ECHO_PORT; iport=$IPERF_PORT; epid=; ipid= ;;
      sd-proxyd|berth)
        bin=$SDPROXY; [ "$path" = berth ] && bin=$BERTH
        start_proxy "$path" "$bin" "$ECHO_PORT"; eport=$PROXY_PORT; epid=$PROXY_PID
        start_proxy "$path" "$bin" "$IPERF_PORT"; iport=$PROXY_PORT; ipid=$PROXY_PID ;;
    esac
    # Throughput and CPU per GiB. The proxy execs on the first connection,
    # so its CPU counter is read after iperf3's first (control) connection
    # by sampling in the background one second in.
    iperf3 -c 127.0.0.1 -p "$iport" -t "$DURATION" -O 1 -J >"$work/iperf.json" &
    ip=$!
    sleep 1
    c0=0; [ -n "$ipid" ] && c0=$(cpu_ms "$ipid")
    t0=$(date +%s.%N)
    sleep "$DURATION"
    c1=0; [ -n "$ipid" ] && c1=$(cpu_ms "$ipid")
    t1=$(date +%s.%N)
    wait "$ip"
    read -r gbps <<<"$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["end"]["sum_received"]["bits_per_second"]/1e9)' "$work/iperf.json")"
    cpu_per_gib=$(python3 -c "import sys; c=$c1-$c0; t=$t1-$t0; b=$gbps*1e9/8*t; print(c/(b/2**30) if '$path'!='direct' else 0)")
    # Latency.
    read -r p50 p99 <<<"$("$LOADGEN" rr "127.0.0.1:$eport" "$RR")"
    # Connection rate.
    rate=$("$LOADGEN" connrate "127.0.0.1:$eport" "$CONN_SECS" "$CONN_THREADS")
    # Idle connections.
    rss=0; rss0=0
    if [ -n "$epid" ]; then
      rss0=$(rss_kib "$epid")
      coproc IDLEGEN { "$LOADGEN" idle "127.0.0.1:$eport" "$IDLE"; }
      read -r ready <&"${IDLEGEN[0]}"
      [ "$ready" = ready ] || { echo "idle generator failed" >&2; exit 1; }
      rss=$(rss_kib "$epid")
      exec {IDLEGEN[1]}>&-
      wait "$IDLEGEN_PID" || true
    fi
    echo "$path $gbps $cpu_per_gib $p50 $p99 $rate $rss $rss0" >>"$results"
    [ -n "$epid" ] && { kill "$epid" "$ipid" 2>/dev/null || true; wait "$epid" "$ipid" 2>/dev/null || true; }
    echo "run $run $path: $gbps Gbit/s, $cpu_per_gib CPU ms/GiB, rr p50/p99 $p50/$p99 us, $rate conn/s, RSS $rss KiB" >&2
  done
done

python3 - "$results" "$RUNS" "$IDLE" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(f[0], []).append([float(x) for x in f[1:]])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
d = med["direct"]
def col(k):
    m = med[k]
    return [f"{m[0]:.2f}", "-" if k == "direct" else f"{m[1]:.0f}",
            f"{m[2]:.1f}" if k == "direct" else f"+{m[2]-d[2]:.1f}",
            f"{m[3]:.1f}" if k == "direct" else f"+{m[3]-d[3]:.1f}",
            f"{m[4]:.0f}", "-" if k == "direct" else f"{m[5]/1024:.1f}",
            "-" if k == "direct" else f"{(m[6] + (m[5]-m[6]) * 10000 / idle)/1024:.1f}"]
idle = float(sys.argv[3])
names = ["throughput, Gbit/s", "proxy CPU ms per GiB", "RR latency p50, us (added)",
         "RR latency p99, us (added)", "connections/s", f"RSS with {sys.argv[3]} idle conns, MiB",
         "RSS projected to 10000 idle, MiB"]
cols = {k: col(k) for k in ("direct", "sd-proxyd", "berth")}
print(f"median of {sys.argv[2]} runs\n")
print(f"| {'metric':<34} | {'direct':>9} | {'systemd-socket-proxyd':>21} | {'berth-proxy':>11} | {'berth/sd':>8} |")
print(f"|{'-'*36}|{'-'*11}|{'-'*23}|{'-'*13}|{'-'*10}|")
for i, n in enumerate(names):
    sd, b = med["sd-proxyd"], med["berth"]
    j = i
    if i == 6:
        pb = b[6] + (b[5]-b[6]) * 10000 / idle; ps = sd[6] + (sd[5]-sd[6]) * 10000 / idle
        r = pb / ps
    elif i in (2, 3):
        base = d[j]; r = (b[j]-base)/(sd[j]-base) if sd[j] != base else float("nan")
    else:
        r = b[j]/sd[j] if sd[j] else float("nan")
    print(f"| {n:<34} | {cols['direct'][i]:>9} | {cols['sd-proxyd'][i]:>21} | {cols['berth'][i]:>11} | {r:>8.2f} |")
EOF
