#!/bin/sh
# Job library benchmark: 10,000 installs with automatic ports under a
# temporary BERTH_ROOT. systemd is stubbed out here only (NoSystemd, i.e.
# BERTH_SYSTEMD=none); every other step is the real one: store lock,
# reclaim check, port reservation, atomic definition write with fsync.
# Targets: >= 500 installs/s; install 10,000 no slower than 2x install 100.
#
# Usage: bench/jobs.sh [N]   (default 10000)
set -eu
cd "$(dirname "$0")/.."
N=${1:-10000}
: "${CARGO_TARGET_DIR:=target}"
export CARGO_TARGET_DIR
cargo build --release -q -p berth-jobs --example bench_install
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
echo "== library, one process: $N installs (bench_install)"
"$CARGO_TARGET_DIR/release/examples/bench_install" "$N" "$ROOT/lib"

# The same through the CLI, one `berth install` process each (1,000: process
# start-up dominates and does not change with the table).
cargo build --release -q -p berth-cli
M=$(( N < 1000 ? N : 1000 ))
echo "== CLI, one process per install: $M installs (berth install, BERTH_SYSTEMD=none)"
export BERTH_ROOT="$ROOT/cli" BERTH_SYSTEMD=none BERTH_PORT_PROBE=0 BERTH_IMAGE_VOLUMES=0 BERTH_PULL=0
start=$(date +%s.%N)
i=0
while [ $i -lt $M ]; do
  "$CARGO_TARGET_DIR/release/berth" install "c$i" --image localhost/busybox --port 8080 >/dev/null
  i=$((i + 1))
done
end=$(date +%s.%N)
echo "$M $start $end" | awk '{ printf "installs/s         %.0f\n", $1 / ($3 - $2) }'
