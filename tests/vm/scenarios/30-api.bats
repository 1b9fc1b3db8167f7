#!/usr/bin/env bats
# berth-api: the installed socket starts the service on the first request;
# geard's routes install and start a container; the answers match
# `berth --json`; the service exits when idle and the socket starts it again.
load helpers

DIAG_UNITS=(berth-api.socket berth-api.service berth-s30-web.service)
SOCK=/run/berth/api.sock
RID=30303030303030303030303030303030

api() { curl -sS --max-time 120 --unix-socket "$SOCK" "$@"; }

teardown_file() {
    forget s30-web
    rm -rf /etc/systemd/system/berth-api.service.d
    systemctl disable --now berth-api.socket >/dev/null 2>&1 || true
    systemctl stop berth-api.service >/dev/null 2>&1 || true
    systemctl daemon-reload
}

@test "the berth group exists and the socket is root:berth 0660" {
    systemd-sysusers berth.conf
    getent group berth
    # A short idle time, so the idle exit is seen within the test.
    mkdir -p /etc/systemd/system/berth-api.service.d
    printf '[Service]\nExecStart=\nExecStart=/usr/libexec/berth/berth-api --exit-idle-time=3\n' \
        >/etc/systemd/system/berth-api.service.d/idle.conf
    systemctl daemon-reload
    systemctl enable --now berth-api.socket
    expect_eq "root:berth 660" "$(stat -c '%U:%G %a' "$SOCK")"
    unit_inactive berth-api.service
}

@test "the first request starts the service" {
    run api -o /dev/null -w '%{http_code}' http://localhost/containers
    expect_eq 200 "$output"
    unit_active berth-api.service
}

@test "PUT /container/:id installs with geard's body, pending ports as a header" {
    run api -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/b" -w '%{http_code}' -X PUT \
        -H "X-Request-Id: $RID" \
        --data-binary '{"Image":"localhost/busybox","Pull":"never","Started":false,"Ports":[{"Internal":8080,"External":0}],"Cmd":["httpd","-f","-p","8080","-h","/var/www"]}' \
        http://localhost/container/s30-web
    [[ "$output" == 200 || "$output" == 204 ]] || fail "status $output: $(cat "$BATS_TEST_TMPDIR/b")"
    grep -qi '^x-portmapping:' "$BATS_TEST_TMPDIR/h" || fail "no X-PortMapping: $(cat "$BATS_TEST_TMPDIR/h")"
    [[ -e "$DEFS/s30-web.json" ]]
}

@test "PUT /container/:id/started starts it" {
    run api -o "$BATS_TEST_TMPDIR/b" -w '%{http_code}' -X PUT http://localhost/container/s30-web/started
    [[ "$output" == 200 || "$output" == 202 || "$output" == 204 ]] || fail "status $output: $(cat "$BATS_TEST_TMPDIR/b")"
    wait_for 60 unit_active berth-s30-web.service
    wait_for 60 http_get "http://127.0.0.1:$(external_port s30-web)/"
}

@test "status and list match berth --json" {
    expect_eq "$(berth --json status s30-web | jq -cS 'del(.Result)')" \
        "$(api http://localhost/container/s30-web/status | jq -cS .)"
    expect_eq "$(berth --json list | jq -cS 'del(.Result)')" "$(api http://localhost/containers | jq -cS .)"
    expect_eq "$(berth --json ports s30-web | jq -cS 'del(.Result)')" "$(api http://localhost/container/s30-web/ports | jq -cS .)"
}

@test "the same request id answers from the journal; another body is 400" {
    run api -o /dev/null -w '%{http_code}' -X PUT -H "X-Request-Id: $RID" \
        --data-binary '{"Image":"localhost/busybox","Pull":"never"}' http://localhost/container/s30-web
    expect_eq 400 "$output"
}

@test "a non-member is refused with 403" {
    chmod 0666 "$SOCK"
    run setpriv --reuid=65534 --regid=65534 --clear-groups \
        curl -sS --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' http://localhost/containers
    chmod 0660 "$SOCK"
    expect_eq 403 "$output"
    journalctl -b -u berth-api.service --no-pager | grep -q 'refused uid 65534'
}

@test "the service exits when idle and the socket starts it again" {
    wait_for 30 unit_inactive berth-api.service
    unit_active berth-api.socket
    run api -o /dev/null -w '%{http_code}' http://localhost/container/s30-web/status
    expect_eq 200 "$output"
    unit_active berth-api.service
}
