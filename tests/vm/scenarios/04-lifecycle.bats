#!/usr/bin/env bats
# Scenario 4, lifecycle through the berth CLI (first half): install, start,
# stop, restart, status, logs, ports, env set/patch, list, delete; leaves
# s4-a stopped and s4-b started for the reboot, after which
# (04-lifecycle.after-reboot.bats) what was stopped stays stopped and what
# was started is running.
load helpers

a=s4-a b=s4-b c=s4-c
DIAG_UNITS=("berth-$a.service" "berth-$b.service")

ctr_env() { podman exec "$(ctr "$1")" env; }
# env_has NAME VALUE — `berth env` lists NAME with VALUE ("NAME=VALUE" or a
# NAME/VALUE table).
env_has() { berth env $a | grep -Eq "^$1([[:space:]]+|=)$2[[:space:]]*\$"; }
# Jobs are accepted, not awaited (geard's 202): wait for their effect.
invocation() { systemctl show -P InvocationID berth-$a.service; }
new_invocation() { [[ "$(invocation)" != "$1" ]] && unit_active berth-$a.service; }
logged() { berth logs $a 2>&1 | grep -q logs-probe; }

# Only $c is gone for good here; $a and $b live on into the second boot.
teardown_file() { forget $c; }

@test "berth CLI is installed" {
    need_berth
}

@test "install $a (nginx, env, started)" {
    berth install $a --image localhost/nginx --port 80:18401 --env GREETING=hello --start
}

@test "install $b (nginx, started)" {
    berth install $b --image localhost/nginx --port 80:18402 --start
}

@test "stored definition $a" {
    test -e "$DEFS/$a.json"
}

@test "definition keeps the image" {
    expect_eq localhost/nginx "$(jq -r .Image "$DEFS/$a.json")"
}

@test "$a answers" {
    wait_for 60 http_get http://127.0.0.1:18401/
}

@test "$a serves nginx" {
    expect_eq "hello from nginx in berth" "$(http_get http://127.0.0.1:18401/)"
}

@test "berth status $a" {
    berth status $a
}

@test "berth-$a.service is active" {
    unit_active berth-$a.service
}

@test "berth ports $a shows 18401" {
    expect_contains 18401 "$(berth ports $a)"
}

@test "berth list shows $a" {
    expect_contains $a "$(berth list)"
}

@test "berth list shows $b" {
    expect_contains $b "$(berth list)"
}

@test "berth logs $a shows the request" {
    http_get http://127.0.0.1:18401/logs-probe >/dev/null 2>&1 || true
    wait_for 20 logged
}

@test "berth stop $a" {
    berth stop $a
}

@test "stopped: unit inactive" {
    wait_for 60 unit_inactive berth-$a.service
}

@test "stopped: nothing answers" {
    refused http://127.0.0.1:18401/
}

@test "berth start $a" {
    berth start $a
}

@test "started again: answers" {
    wait_for 60 http_get http://127.0.0.1:18401/
}

@test "berth restart $a" {
    save invocation "$(invocation)"
    berth restart $a
}

@test "restart started a new invocation" {
    wait_for 60 new_invocation "$(saved invocation)"
}

@test "restarted: answers" {
    wait_for 60 http_get http://127.0.0.1:18401/
}

@test "berth env shows GREETING" {
    env_has GREETING hello
}

@test "the container sees GREETING" {
    expect_contains GREETING=hello "$(ctr_env $a)"
}

@test "berth env patch (add EXTRA)" {
    berth env $a 'EXTRA=two words'
}

@test "berth env shows the patch" {
    env_has EXTRA "two words"
}

@test "patch kept GREETING" {
    env_has GREETING hello
}

@test "berth restart applies the environment" {
    save invocation "$(invocation)"
    berth restart $a
}

@test "restart (env) started a new invocation" {
    wait_for 60 new_invocation "$(saved invocation)"
}

@test "answers after env change" {
    wait_for 60 http_get http://127.0.0.1:18401/
}

@test "the container sees EXTRA" {
    expect_contains "EXTRA=two words" "$(ctr_env $a)"
}

@test "berth env --unset EXTRA" {
    berth env $a --unset EXTRA
}

@test "EXTRA gone" {
    refute env_has EXTRA "two words"
}

@test "install $c" {
    berth install $c --image localhost/nginx --port 80:18403 --start
}

@test "$c answers" {
    wait_for 60 http_get http://127.0.0.1:18403/
}

@test "berth delete $c" {
    berth delete $c
}

@test "deleted: definition gone" {
    test ! -e "$DEFS/$c.json"
}

@test "deleted: unit gone" {
    refute systemctl cat berth-$c.service
}

@test "deleted: nothing answers" {
    wait_for 60 refused http://127.0.0.1:18403/
}

@test "deleted: berth status fails" {
    refute berth status $c
}

@test "berth stop $a before the reboot" {
    berth stop $a
}

@test "$a stopped before the reboot" {
    wait_for 60 unit_inactive berth-$a.service
}

@test "$b runs before the reboot" {
    unit_active berth-$b.service
}
