#!/usr/bin/env bash
# Benchmark berth-generator against Podman Quadlet and the I/O floor.
#
#   bash bench/generator.sh
#
# Generates N = 1, 100, 1000, 10000 equivalent container definitions for
# berth (<id>.json) and for Podman Quadlet (<id>.container), runs both
# generators and `cp -r` of the definitions (the I/O floor) into fresh output
# dirs on tmpfs (as /run/systemd/generator is) several times each, checks every
# run's output, and prints a table (median wall time, CPU, peak RSS,
# berth/Quadlet and berth/floor ratios). The table, the command and the date
# are written to bench/RESULTS-generator.md.
#
# Quadlet is the `quadlet` binary from Debian trixie's `podman` (5.x), fetched
# with `apt-get download` through a temporary sources list and temporary apt
# state/lists/cache dirs (the host's apt configuration is untouched) and
# unpacked with `dpkg-deb -x` into a cache outside the repo
# (/var/cache/berth-bench, or ~/.cache/berth-bench when that is not writable).
# Nothing is installed system-wide. If that binary cannot run against the
# host's libc, trixie's libc6 is fetched too and quadlet is run through its
# dynamic loader (see bench/lib/fetch-quadlet.sh).
#
# Environment (all optional):
#   BERTH_GENERATOR        use this berth-generator binary instead of building
#   CARGO_TARGET_DIR       where `cargo build --release` puts the binary
#   BENCH_CACHE            cache dir for the unpacked Debian packages
#   BENCH_TMPFS            tmpfs directory to work in (default /dev/shm, or a
#                          private tmpfs mounted for the run)
#   BENCH_NS               comma-separated N values (default 1,100,1000,10000)
#   BENCH_RUNS             runs per N (default 9; N >= 10000: BENCH_RUNS_LARGE, 5)
#   BENCH_RESULTS          results file (default bench/RESULTS-generator.md;
#                          "-" to only print)
#   BENCH_NICE             run the measured commands under `nice -n BENCH_NICE`
#                          (e.g. -19 on a shared, busy machine; same for all three)
#   BENCH_FORCE_TRIXIE_LOADER=1  run quadlet via trixie's ld.so even if not needed
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

BENCH_CLEANUP=()
BENCH_MOUNTED=""
cleanup() {
  local d
  if [[ -n $BENCH_MOUNTED ]]; then
    umount "$BENCH_MOUNTED" 2>/dev/null || umount -l "$BENCH_MOUNTED" 2>/dev/null || true
  fi
  for d in "${BENCH_CLEANUP[@]}"; do
    [[ -n $d && -e $d ]] && rm -rf "$d"
  done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in python3 cp cc apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

# The command line as given (before anything below sets defaults).
cmd="bash bench/generator.sh"
for v in BERTH_GENERATOR CARGO_TARGET_DIR BENCH_CACHE BENCH_TMPFS BENCH_NS BENCH_RUNS BENCH_RUNS_LARGE BENCH_NICE BENCH_FORCE_TRIXIE_LOADER; do
  [[ -n ${!v:-} ]] && cmd="$v=${!v} $cmd"
done

# --- berth-generator ---------------------------------------------------------
if [[ -n ${BERTH_GENERATOR:-} ]]; then
  berth=$BERTH_GENERATOR
else
  echo "bench: building berth-generator (release)" >&2
  (cd "$repo" && cargo build --release --locked -p berth-generator >&2)
  berth=${CARGO_TARGET_DIR:-$repo/target}/release/berth-generator
fi
[[ -x $berth ]] || { echo "bench: $berth is not executable" >&2; exit 1; }
berth_desc="$("$berth" --version 2>/dev/null | sed -n 1p) — release build of $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?') ($berth)"

# --- Quadlet -----------------------------------------------------------------
# shellcheck source=lib/fetch-quadlet.sh
. "$here/lib/fetch-quadlet.sh"
bench_setup_quadlet
echo "bench: $QUADLET_DESC" >&2

# --- tmpfs work dir ----------------------------------------------------------
is_tmpfs() { [[ -d $1 && $(stat -f -c %T "$1" 2>/dev/null) == tmpfs ]]; }
tmpfs=${BENCH_TMPFS:-/dev/shm}
if ! is_tmpfs "$tmpfs" || [[ ! -w $tmpfs ]]; then
  [[ -n ${BENCH_TMPFS:-} ]] && { echo "bench: BENCH_TMPFS=$tmpfs is not a writable tmpfs" >&2; exit 1; }
  tmpfs=$(mktemp -d /tmp/berth-bench-tmpfs.XXXXXX)
  BENCH_CLEANUP+=("$tmpfs")
  mount -t tmpfs -o size=2g,mode=0700 berth-bench "$tmpfs" \
    || { echo "bench: /dev/shm is not tmpfs and mounting a tmpfs failed" >&2; exit 1; }
  BENCH_MOUNTED=$tmpfs
fi
work=$(mktemp -d "$tmpfs/berth-bench.XXXXXX")
BENCH_CLEANUP=("$work" "${BENCH_CLEANUP[@]}")
runone=$work/runone
cc -O2 -static -o "$runone" "$here/lib/runone.c" 2>/dev/null || cc -O2 -o "$runone" "$here/lib/runone.c"
tmpfs_desc="$(findmnt -n -o TARGET,FSTYPE,OPTIONS --target "$work" 2>/dev/null | sed -n 1p)"
[[ -n $tmpfs_desc ]] || tmpfs_desc="$tmpfs tmpfs"

# --- run -----------------------------------------------------------------------
results=${BENCH_RESULTS:-$repo/bench/RESULTS-generator.md}
[[ $results == - ]] && results=""
quadlet_json=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${QUADLET_CMD[@]}")

nice_cmd=()
if [[ -n ${BENCH_NICE:-} ]]; then
  nice_cmd=(nice -n "$BENCH_NICE")
  tmpfs_desc="$tmpfs_desc; all measured commands run under \`nice -n $BENCH_NICE\`"
fi
"${nice_cmd[@]}" python3 "$here/lib/generator_bench.py" \
  --berth "$berth" \
  --quadlet "$quadlet_json" \
  --work "$work" \
  --runone "$runone" \
  --ns "${BENCH_NS:-1,100,1000,10000}" \
  --runs "${BENCH_RUNS:-9}" \
  --runs-large "${BENCH_RUNS_LARGE:-5}" \
  --results "$results" \
  --command "$cmd" \
  --berth-desc "$berth_desc" \
  --quadlet-desc "$QUADLET_DESC" \
  --tmpfs-desc "$tmpfs_desc"
