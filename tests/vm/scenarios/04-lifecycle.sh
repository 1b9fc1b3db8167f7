#!/bin/bash
# berth-vm: reboot
# Scenario 4, lifecycle through the berth CLI: install, start, stop, restart,
# status, logs, ports, env set/patch, list, delete; after a reboot what was
# stopped stays stopped and what was started is running.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
a=s4-a b=s4-b c=s4-c
ctr_env() { podman exec "$(ctr "$1")" env; }
# env_has NAME VALUE — `berth env` lists NAME with VALUE ("NAME=VALUE" or a
# NAME/VALUE table).
env_has() { berth env $a | grep -Eq "^$1([[:space:]]+|=)$2[[:space:]]*\$"; }
# Jobs are accepted, not awaited (geard's 202): wait for their effect.
invocation() { systemctl show -P InvocationID berth-$a.service; }
new_invocation() { [[ "$(invocation)" != "$1" ]] && unit_active berth-$a.service; }
DIAG_UNITS=("berth-$a.service" "berth-$b.service")

case $PHASE in
before-reboot)
    check "install $a (nginx, env, started)" berth install $a --image localhost/nginx --port 80:18401 --env GREETING=hello --start
    check "install $b (nginx, started)" berth install $b --image localhost/nginx --port 80:18402 --start
    check "stored definition $a" test -e "$DEFS/$a.json"
    expect_eq "definition keeps the image" localhost/nginx "$(jq -r .Image "$DEFS/$a.json")"
    wait_for 60 "$a answers" http_get http://127.0.0.1:18401/
    expect_eq "$a serves nginx" "hello from nginx in berth" "$(http_get http://127.0.0.1:18401/)"
    check "berth status $a" berth status $a
    check "berth-$a.service is active" unit_active berth-$a.service
    expect_contains "berth ports $a shows 18401" 18401 "$(berth ports $a)"
    expect_contains "berth list shows $a" $a "$(berth list)"
    expect_contains "berth list shows $b" $b "$(berth list)"
    http_get http://127.0.0.1:18401/logs-probe >/dev/null 2>&1 || true
    logged() { berth logs $a 2>&1 | grep -q logs-probe; }
    wait_for 20 "berth logs $a shows the request" logged

    check "berth stop $a" berth stop $a
    wait_for 60 "stopped: unit inactive" unit_inactive berth-$a.service
    check "stopped: nothing answers" refused http://127.0.0.1:18401/
    check "berth start $a" berth start $a
    wait_for 60 "started again: answers" http_get http://127.0.0.1:18401/
    inv=$(invocation)
    check "berth restart $a" berth restart $a
    wait_for 60 "restart started a new invocation" new_invocation "$inv"
    wait_for 60 "restarted: answers" http_get http://127.0.0.1:18401/

    check "berth env shows GREETING" env_has GREETING hello
    expect_contains "the container sees GREETING" GREETING=hello "$(ctr_env $a)"
    check "berth env patch (add EXTRA)" berth env $a 'EXTRA=two words'
    check "berth env shows the patch" env_has EXTRA "two words"
    check "patch kept GREETING" env_has GREETING hello
    inv=$(invocation)
    check "berth restart applies the environment" berth restart $a
    wait_for 60 "restart started a new invocation" new_invocation "$inv"
    wait_for 60 "answers after env change" http_get http://127.0.0.1:18401/
    expect_contains "the container sees EXTRA" "EXTRA=two words" "$(ctr_env $a)"
    check "berth env --unset EXTRA" berth env $a --unset EXTRA
    refute "EXTRA gone" env_has EXTRA "two words"

    check "install $c" berth install $c --image localhost/nginx --port 80:18403 --start
    wait_for 60 "$c answers" http_get http://127.0.0.1:18403/
    check "berth delete $c" berth delete $c
    check "deleted: definition gone" test ! -e "$DEFS/$c.json"
    check "deleted: unit gone" bash -c "! systemctl cat berth-$c.service"
    wait_for 60 "deleted: nothing answers" refused http://127.0.0.1:18403/
    refute "deleted: berth status fails" berth status $c

    check "berth stop $a before the reboot" berth stop $a
    wait_for 60 "$a stopped before the reboot" unit_inactive berth-$a.service
    check "$b runs before the reboot" unit_active berth-$b.service
    ;;
after-reboot)
    trap 'forget $a $b $c' EXIT
    wait_for 90 "started container $b runs after the reboot" unit_active berth-$b.service
    wait_for 60 "$b answers after the reboot" http_get http://127.0.0.1:18402/
    check "stopped container $a stays stopped" unit_inactive berth-$a.service
    check "nothing answers for $a" refused http://127.0.0.1:18401/
    check "berth list still shows $a" bash -c "berth list | grep -q $a"
    check "berth delete $a" berth delete $a
    check "berth delete $b" berth delete $b
    ;;
*) fail "unknown phase $PHASE" ;;
esac
