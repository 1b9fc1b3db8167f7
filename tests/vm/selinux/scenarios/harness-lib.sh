# shellcheck shell=bash
# Sourced (through lib.sh) by the SELinux scenarios, inside the guest: each
# is a bash script that exits non-zero on the first failed assertion; its
# output is its log. (The main suite's scenarios are bats files with
# tests/vm/scenarios/helpers.bash.)
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PHASE=${1:-run}
DEFS=/etc/berth/containers
STEP=0
# Units whose journal a failing scenario prints (set by the scenario).
DIAG_UNITS=()

log() { printf '# %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    local u
    for u in "${DIAG_UNITS[@]}"; do
        printf '# journal of %s (%s):\n' "$u" "$(systemctl is-active "$u" 2>&1)"
        journalctl -b --no-pager -o short-monotonic -n 25 -u "$u" 2>&1 | sed 's/^/#   /'
    done
    exit 1
}
ok() {
    STEP=$((STEP + 1))
    printf 'ok %d - %s\n' "$STEP" "$*"
}

# check DESCRIPTION COMMAND… — the command must succeed.
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then
        ok "$desc"
    else
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/  | /'
        fail "$desc (command: $*)"
    fi
}

# refute DESCRIPTION COMMAND… — the command must fail.
refute() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/  | /'
        fail "$desc (unexpected success: $*)"
    else
        ok "$desc"
    fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    if [[ "$2" == "$3" ]]; then
        ok "$1"
    else
        printf '  expected: %q\n  actual:   %q\n' "$2" "$3"
        fail "$1"
    fi
}

# expect_contains DESCRIPTION NEEDLE HAYSTACK
expect_contains() {
    if [[ "$3" == *"$2"* ]]; then
        ok "$1"
    else
        printf '  wanted:  %q\n  in:      %s\n' "$2" "$(printf '%s' "$3" | head -c 2000)"
        fail "$1"
    fi
}

# wait_for SECONDS DESCRIPTION COMMAND… — polls every half second.
wait_for() {
    local limit=$1 desc=$2 end
    shift 2
    end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= end)); then
            "$@" 2>&1 | tail -n 20 | sed 's/^/  | /' || true
            fail "$desc (not within ${limit}s)"
        fi
        sleep 0.5
    done
    ok "$desc"
}

# http_get URL — body on stdout; fails on connection errors and HTTP errors.
http_get() { curl -fsS --max-time "${HTTP_TIMEOUT:-60}" "$1"; }

unit_active() { systemctl is-active --quiet "$1"; }
# Stopped for good: "inactive" or "failed", not "deactivating"/"activating".
unit_inactive() {
    local state
    state=$(systemctl is-active "$1" 2>/dev/null) || true
    [[ "$state" == inactive || "$state" == failed ]]
}
unit_exists() { systemctl cat "$1" >/dev/null 2>&1; }
container_running() { [[ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" == true ]]; }
container_absent_or_stopped() { ! container_running "$1"; }
# Every podman container name whose name mentions the id.
containers_of() { podman ps --format '{{.Names}}' | grep -F -- "$1" || true; }

# define ID JSON — writes a stored definition the way an admin would (not via
# the CLI), for the generator-only scenarios.
define() {
    mkdir -p "$DEFS"
    printf '%s\n' "$2" >"$DEFS/$1.json"
}

# forget ID… — best-effort removal, for cleanup traps: the CLI first, then by hand.
forget() {
    local id
    for id in "$@"; do
        berth delete "$id" >/dev/null 2>&1 || true
        rm -f "$DEFS/$id.json"
    done
    systemctl daemon-reload || true
    for id in "$@"; do
        systemctl stop "berth-$id.socket" "berth-proxy@$id.service" "berth-$id.service" >/dev/null 2>&1 || true
    done
}

need_berth() { command -v berth >/dev/null || fail "berth CLI is not installed (build not in the guest?)"; }
need_generator() {
    [[ -x /usr/lib/systemd/system-generators/berth-generator || -x /lib/systemd/system-generators/berth-generator ]] ||
        fail "berth-generator is not installed"
}


# ctr ID — the podman container name of a berth container (berth-<id>, <id>
# or any single running container whose name contains the id).
ctr() {
    local names n
    names=$(podman ps -a --format '{{.Names}}')
    for n in "berth-$1" "$1" "ctr-$1"; do
        if grep -qxF -- "$n" <<<"$names"; then
            echo "$n"
            return 0
        fi
    done
    n=$(grep -F -- "$1" <<<"$names" || true)
    if [[ -n "$n" && $(wc -l <<<"$n") == 1 ]]; then
        echo "$n"
        return 0
    fi
    echo "no single podman container for id $1 (have: $(tr '\n' ' ' <<<"$names"))" >&2
    return 1
}

# external_port ID [INDEX] — the host port stored in the definition.
external_port() { jq -r ".Ports[${2:-0}].External" "$DEFS/$1.json"; }

# refused URL — the connection is refused or fails (nothing answers).
refused() { ! curl -fsS --max-time 5 -o /dev/null "$1"; }

log "scenario ${0##*/} phase $PHASE, boot $(cat /var/lib/berth-vm/boot 2>/dev/null || echo '?')"
