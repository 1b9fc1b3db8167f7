#!/usr/bin/env bats
# Scenario 23, dependencies and groups (issue 14), first half: s23-web
# Requires and After s23-db, both in Group s23. The units carry the
# dependencies, berth-s23.target holds both, `berth restart --group`
# restarts both and `berth stop|start --group` stops and starts both;
# install refuses an unknown id and a cycle; delete refuses db while web
# requires it. Both stay Started for the reboot, after which
# (23-deps-groups.after-reboot.bats) web started only once db was active.
load helpers

db=s23-db web=s23-web group=s23
DIAG_UNITS=("berth-$db.service" "berth-$web.service" "berth-$group.target")

# def ID PORT EXTRA — a busybox httpd definition on PORT with EXTRA fields.
def() {
    printf '{"Image": "localhost/busybox", "Started": true, "Group": "%s", "StopTimeout": 2,
 "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/var/www"],
 "Ports": [{"Internal": 8080, "External": %s}]%s}\n' "$group" "$2" "$3" >"/tmp/$1.json"
}
invocation() { systemctl show -P InvocationID "berth-$1.service"; }
restarted() { [[ "$(invocation "$1")" != "$2" ]] && unit_active "berth-$1.service"; }
both_active() { unit_active "berth-$db.service" && unit_active "berth-$web.service"; }
both_inactive() { unit_inactive "berth-$db.service" && unit_inactive "berth-$web.service"; }

# Nothing to clean: both live on into the second boot, whose file
# forgets them (and a failure there still cleans up). Only the refused
# installs' files go.
teardown_file() { rm -f /tmp/s23-*.json; }

@test "berth CLI is installed" {
    need_berth
}

@test "install refuses a Requires naming an id with no definition" {
    def $web 18232 ', "Requires": ["'$db'"]'
    run berth install $web --from-json /tmp/$web.json
    [ "$status" -eq 2 ] || fail "exit $status: $output"
    expect_contains "Requires[0]: container $db" "$output"
    refute test -e "$DEFS/$web.json"
}

@test "install $db, then $web (Requires and After $db)" {
    def $db 18231 ''
    berth install $db --from-json /tmp/$db.json --start
    def $web 18232 ', "Requires": ["'$db'"], "After": ["'$db'"]'
    berth install $web --from-json /tmp/$web.json --start
}

@test "both answer" {
    wait_for 60 http_get http://127.0.0.1:18231/
    wait_for 60 http_get http://127.0.0.1:18232/
}

@test "berth-$web.service requires and is ordered after berth-$db.service" {
    expect_contains "berth-$db.service" "$(systemctl show -P Requires berth-$web.service)"
    expect_contains "berth-$db.service" "$(systemctl show -P After berth-$web.service)"
}

@test "berth-$group.target consists of both" {
    local of
    of=$(systemctl show -P ConsistsOf berth-$group.target)
    expect_contains "berth-$db.service" "$of"
    expect_contains "berth-$web.service" "$of"
}

@test "install refuses the cycle $db → $web → $db" {
    def $db 18231 ', "After": ["'$web'"]'
    run berth install $db --from-json /tmp/$db.json
    [ "$status" -eq 2 ] || fail "exit $status: $output"
    expect_contains "$db → $web → $db" "$output"
    expect_eq null "$(jq -c .After "$DEFS/$db.json")"
}

@test "berth list shows the group" {
    output=$(berth --json list)
    expect_eq "$group $group" "$(jq -r '[.Containers[] | select(.Id | startswith("s23-")) | .Group] | join(" ")' <<<"$output")"
    expect_contains GROUP "$(berth list | head -n 1)"
}

@test "berth restart --group $group restarts both" {
    local a b
    a=$(invocation $db) b=$(invocation $web)
    # stdout only: berth says what it did on stderr.
    output=$(berth --json restart --group $group)
    expect_eq "berth-$group.target" "$(jq -r .Unit <<<"$output")"
    expect_eq done "$(jq -r .JobResult <<<"$output")"
    wait_for 60 restarted $db "$a"
    wait_for 60 restarted $web "$b"
}

@test "both answer after the group restart" {
    wait_for 60 http_get http://127.0.0.1:18231/
    wait_for 60 http_get http://127.0.0.1:18232/
}

@test "berth stop --group $group stops both, and Started stays" {
    berth stop --group $group
    wait_for 60 both_inactive
    expect_eq true "$(jq -r .Started "$DEFS/$db.json")"
    expect_eq true "$(jq -r .Started "$DEFS/$web.json")"
}

@test "berth start --group $group starts both" {
    berth start --group $group
    wait_for 60 both_active
    wait_for 60 http_get http://127.0.0.1:18232/
}

@test "an unknown group is not found (exit 3)" {
    run berth start --group s23-nope
    [ "$status" -eq 3 ] || fail "exit $status: $output"
}

@test "berth delete $db is refused while $web requires it" {
    run berth delete $db
    [ "$status" -eq 2 ] || fail "exit $status: $output"
    expect_contains "required by $web" "$output"
    test -e "$DEFS/$db.json"
    unit_active berth-$db.service
}
