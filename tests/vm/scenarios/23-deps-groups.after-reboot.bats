#!/usr/bin/env bats
# Scenario 23, dependencies and groups (issue 14), second half: after the
# reboot, s23-web (Requires and After s23-db) started only once s23-db was
# active, in this boot's monotonic time; then both are deleted, web first.
load helpers

db=s23-db web=s23-web
DIAG_UNITS=("berth-$db.service" "berth-$web.service")

teardown_file() { forget $web $db; }

# prop UNIT PROPERTY — a monotonic timestamp in microseconds (0: never).
prop() { systemctl show -P "$2" "$1"; }

@test "both run after the reboot" {
    wait_for 120 unit_active berth-$db.service
    wait_for 120 unit_active berth-$web.service
}

@test "$web started after $db was active" {
    local db_active web_start
    db_active=$(prop berth-$db.service ActiveEnterTimestampMonotonic)
    web_start=$(prop berth-$web.service InactiveExitTimestampMonotonic)
    log "db active at ${db_active}us, web leaves inactive at ${web_start}us"
    ((db_active > 0 && web_start > 0)) || fail "no timestamps (db $db_active, web $web_start)"
    ((db_active <= web_start)) || fail "web started ${web_start}us, before db was active at ${db_active}us"
}

@test "the critical chain of $web goes through the boot (logged)" {
    run systemd-analyze critical-chain berth-$web.service
    [ "$status" -eq 0 ] || fail "$output"
    while IFS= read -r line; do log "$line"; done <<<"$output"
}

@test "both answer" {
    wait_for 60 http_get http://127.0.0.1:18231/
    wait_for 60 http_get http://127.0.0.1:18232/
}

@test "delete $web, then $db" {
    berth delete $web
    berth delete $db
    refute test -e "$DEFS/$db.json"
}
