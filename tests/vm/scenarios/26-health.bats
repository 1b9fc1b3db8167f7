#!/usr/bin/env bats
# Scenario 26, health and readiness (issue 14): s26-web runs busybox httpd
# behind a shell (the container's own Cmd, PID 1) that sleeps 10 s first,
# with a Health check (wget of the page every 2 s, 2 retries, a 30 s start
# period) and OnFailure kill. With Notify "healthy" (podman 5 or later)
# `berth start` returns, and the unit is active, only once the check
# passed: 10 s and more after the container started. Killing httpd inside
# the container (the shell keeps the container running) makes the check
# fail: podman finds it unhealthy and kills the container (status 137),
# systemd restarts the unit (Restart=on-failure, the default) and it is
# healthy again. podman 4.x has no --sdnotify=healthy: there the
# definition leaves Notify out and the readiness tests skip; the health
# state and the kill and restart are podman 4.3's too.
load helpers

id=s26-web
PORT=18261
URL=http://127.0.0.1:$PORT/
START_PERIOD=30
DIAG_UNITS=("berth-$id.service")

teardown_file() {
    berth delete --volumes $id >/dev/null 2>&1 || true
    forget $id
    rm -f /tmp/$id.json
}

# The container's program: httpd (daemonized, not PID 1, so that killing
# it leaves the container running) 10 s after the start.
server='trap "exit 0" TERM; sleep 10; httpd -p 8080 -h /var/www; while :; do sleep 1; done'

need_notify_healthy() {
    [[ "$(saved notify)" == healthy ]] ||
        skip "podman $(saved podman): Notify \"healthy\" (--sdnotify=healthy) needs podman 5.0 or later"
}
prop() { systemctl show -P "$1" berth-$id.service; }
health() { berth status $id --json | jq -r .Health.Status; }
healthy() { [[ "$(health)" == healthy ]]; }
# The container's start, in Unix seconds (rounded down).
started_at() { podman inspect -f '{{.State.StartedAt.Unix}}' berth-$id; }
# When the unit last became active, in Unix seconds (systemd's monotonic
# stamp against this moment's clocks).
active_at() {
    python3 -c 'import sys, time; print("%.3f" % (time.time() - (time.monotonic() - int(sys.argv[1]) / 1e6)))' \
        "$(prop ActiveEnterTimestampMonotonic)"
}
# SECONDS_A - SECONDS_B, one decimal.
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
past() { (($(date +%s) >= $1)); }
restarted() { (($(prop NRestarts) > $(saved restarts))); }

@test "berth CLI is installed" {
    need_berth
}

@test "install $id: Health with OnFailure kill (and Notify healthy on podman 5)" {
    local v major notify='' unit
    v=$(podman --version)
    save podman "${v#podman version }"
    major=$(sed -n 's/^\([0-9]*\)\..*/\1/p' <<<"$(saved podman)")
    ((major >= 5)) && notify=healthy
    save notify "$notify"
    jq -n --arg cmd "$server" --arg notify "$notify" --argjson port $PORT --argjson sp $START_PERIOD \
        '{Image: "localhost/busybox", Started: false, StopTimeout: 2,
          Cmd: ["/bin/sh", "-c", $cmd],
          Health: {Cmd: ["/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
                   Interval: 2, Timeout: 10, Retries: 2, StartPeriod: $sp, OnFailure: "kill"},
          Ports: [{Internal: 8080, External: $port}]}
         + (if $notify == "" then {} else {Notify: $notify} end)' >/tmp/$id.json
    berth install $id --from-json /tmp/$id.json
    log "podman $(saved podman): Notify ${notify:-left out (conmon)}"
    unit=$(systemctl cat berth-$id.service)
    expect_contains "--health-on-failure=kill" "$unit"
    expect_contains "--health-start-period=${START_PERIOD}s" "$unit"
    [[ -z "$notify" ]] || expect_contains "--sdnotify=healthy" "$unit"
    unit_inactive berth-$id.service
}

@test "berth start $id" {
    local t0 t1
    t0=$(date +%s.%N)
    berth start $id
    t1=$(date +%s.%N)
    # What a client and berth status see the moment the start returned.
    save start-seconds "$(minus "$t1" "$t0")"
    save health-at-start "$(health)"
    if curl -fsS --max-time 5 -o /dev/null $URL; then save answered-at-start yes; else save answered-at-start no; fi
    log "berth start returned after $(saved start-seconds)s: health $(saved health-at-start), answered: $(saved answered-at-start)"
    wait_for 60 unit_active berth-$id.service
}

@test "Notify healthy: berth start returned only after the server listened (10 s and more)" {
    need_notify_healthy
    at_least "$(saved start-seconds)" 10 || fail "berth start returned after $(saved start-seconds)s"
}

@test "Notify healthy: activating for 10 s and more, active only 10 s after the container started" {
    need_notify_healthy
    local span after
    span=$(awk -v a="$(prop ActiveEnterTimestampMonotonic)" -v b="$(prop InactiveExitTimestampMonotonic)" \
        'BEGIN { printf "%.1f", (a - b) / 1e6 }')
    after=$(minus "$(active_at)" "$(started_at)")
    log "activating ${span}s; active ${after}s after the container started"
    at_least "$span" 10 || fail "the unit was activating only ${span}s"
    at_least "$after" 10 || fail "the unit was active ${after}s after the container started"
}

@test "Notify healthy: when berth start returned, the server answered and berth status said healthy" {
    need_notify_healthy
    expect_eq healthy "$(saved health-at-start)"
    expect_eq yes "$(saved answered-at-start)"
}

@test "berth status $id --json: health healthy" {
    local out
    wait_for 120 healthy
    out=$(berth status $id --json)
    expect_eq healthy "$(jq -r .Health.Status <<<"$out")"
    expect_contains "health healthy" "$(berth status $id 2>&1)"
}

@test "the server answers on $PORT" {
    expect_eq "hello from busybox httpd" "$(http_get $URL)"
}

@test "killing httpd inside the container: the server stops answering" {
    local started
    # Failed checks count once the start period is over.
    started=$(started_at)
    wait_for $((START_PERIOD + 60)) past $((started + START_PERIOD + 2))
    save restarts "$(prop NRestarts)"
    save invocation "$(prop InvocationID)"
    save killed-at "$(date +%s)"
    podman exec berth-$id killall httpd
    refused $URL
}

@test "podman finds it unhealthy and kills it (status 137); systemd restarts the unit" {
    wait_for 120 restarted
    log "NRestarts $(saved restarts) -> $(prop NRestarts)"
    # conmon, the main process, exits with the container's status: 128 + SIGKILL.
    wait_for 30 eval "journalctl -b -o cat -u berth-$id.service --since @$(saved killed-at) | grep -q 'status=137'"
}

@test "after the restart it is active, healthy and answers again" {
    wait_for 120 healthy
    unit_active berth-$id.service
    [[ "$(prop InvocationID)" != "$(saved invocation)" ]] || fail "still the invocation before the kill"
    wait_for 60 http_get $URL
}

@test "Notify healthy: after the restart too, active only 10 s after the container started" {
    need_notify_healthy
    local after
    after=$(minus "$(active_at)" "$(started_at)")
    log "active ${after}s after the new container started"
    at_least "$after" 10 || fail "the unit was active ${after}s after the container started"
}

@test "berth delete --volumes $id removes the definition, the unit and the container" {
    berth delete --volumes $id
    refute test -e "$DEFS/$id.json"
    refute unit_exists berth-$id.service
    wait_for 60 eval "! podman container exists berth-$id"
}
