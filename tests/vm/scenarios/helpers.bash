# shellcheck shell=bash
# Loaded by every scenario (`load helpers`), inside the guest, by bats.
#
# A scenario is a bats file, tests/vm/scenarios/NN-name.bats: one @test per
# check, run in file order against one shared guest. A scenario that needs a
# reboot has a second file, NN-name.after-reboot.bats, which runs in the
# guest's second boot (same disk). Tests of a file share state through files
# (`save`/`saved`; /var/lib/berth-vm across the reboot), not variables; top
# level code only assigns variables (bats runs it before every test).
#
# After the first failed test of a file, the file's remaining tests are
# skipped (they build on it, and would each wait for their timeout); a
# failed test prints the journals of the units in DIAG_UNITS. So a file
# must not define setup/teardown itself — or must call scenario_setup and
# scenario_teardown from them. Clean-up goes into teardown_file, which runs
# whatever failed.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
DEFS=/etc/berth/containers
# Where a scenario keeps what must survive the reboot (the disk, not /tmp).
STATE=/var/lib/berth-vm
# Units whose journal a failing test prints (set at a file's top level).
DIAG_UNITS=()

setup() { scenario_setup; }
teardown() { scenario_teardown; }

scenario_setup() {
    if [[ -e "$BATS_FILE_TMPDIR/failed" ]]; then
        skip "after the failure of: $(cat "$BATS_FILE_TMPDIR/failed")"
    fi
}

scenario_teardown() {
    [[ -z "${BATS_TEST_COMPLETED:-}" ]] || return 0
    printf '%s\n' "$BATS_TEST_DESCRIPTION" >"$BATS_FILE_TMPDIR/failed"
    local u
    for u in "${DIAG_UNITS[@]}"; do
        printf 'journal of %s (%s):\n' "$u" "$(systemctl is-active "$u" 2>&1)"
        journalctl -b --no-pager -o short-monotonic -n 25 -u "$u" 2>&1 | sed 's/^/  /'
    done
}

# log MESSAGE — a diagnostic line in the TAP output, passed or not.
log() { printf '# %s\n' "$*" >&3; }

# fail MESSAGE — fails the test with MESSAGE.
fail() {
    printf 'FAIL: %s\n' "$*"
    return 1
}

# refute COMMAND… — the command must fail.
refute() {
    if "$@"; then
        printf 'unexpected success: %s\n' "$*"
        return 1
    fi
}

# expect_eq EXPECTED ACTUAL
expect_eq() {
    [[ "$1" == "$2" ]] && return 0
    printf 'expected: %q\nactual:   %q\n' "$1" "$2"
    return 1
}

# expect_contains NEEDLE HAYSTACK
expect_contains() {
    [[ "$2" == *"$1"* ]] && return 0
    printf 'wanted: %q\nin:     %s\n' "$1" "$(printf '%s' "$2" | head -c 2000)"
    return 1
}

# wait_for SECONDS COMMAND… — polls every half second until COMMAND succeeds.
wait_for() {
    local limit=$1 end
    shift
    end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= end)); then
            "$@" 2>&1 | tail -n 20 || true
            printf 'not within %ss: %s\n' "$limit" "$*"
            return 1
        fi
        sleep 0.5
    done
}

# save NAME VALUE / saved NAME — a value for the file's later tests.
save() { printf '%s' "$2" >"$BATS_FILE_TMPDIR/$1"; }
saved() { cat "$BATS_FILE_TMPDIR/$1"; }

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

# define ID JSON — writes a stored definition the way an admin would (not via
# the CLI), for the generator-only scenarios.
define() {
    mkdir -p "$DEFS"
    printf '%s\n' "$2" >"$DEFS/$1.json"
}

# forget ID… — best-effort removal, for teardown_file: the CLI first, then by hand.
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

need_berth() { command -v berth || fail "berth CLI is not installed (build not in the guest?)"; }
need_generator() {
    [[ -x /usr/lib/systemd/system-generators/berth-generator || -x /lib/systemd/system-generators/berth-generator ]] ||
        fail "berth-generator is not installed"
}

# ctr ID — the podman container name of a berth container (berth-<id>, <id>
# or any single container whose name contains the id).
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
