#!/usr/bin/env bats
# Scenario 3, direct socket activation: a socket-activation-aware server in
# the container (sa-server.py, which never binds) receives systemd's
# listening socket through podman (LISTEN_FDS); no proxy runs.
load helpers

id=s3-sa
DIAG_UNITS=("berth-$id.socket" "berth-$id.service")

teardown_file() { forget $id; }

@test "berth CLI is installed" {
    need_berth
}

@test "berth install --from-json (direct socket activation)" {
    cat >/tmp/$id.json <<'JSON'
{"Image": "localhost/python", "Started": true, "SocketActivation": true, "SkipSocketProxy": true,
 "Ports": [{"Internal": 8080, "External": 18301}]}
JSON
    berth install $id --from-json /tmp/$id.json --start
}

@test "berth-$id.socket is listening" {
    wait_for 30 unit_active berth-$id.socket
}

@test "the container is not running before the first connection" {
    unit_inactive berth-$id.service
}

@test "the server answers on the fd systemd passed (port 18301)" {
    local body
    body=$(HTTP_TIMEOUT=90 http_get http://127.0.0.1:18301/) || fail "first request was not answered"
    expect_eq "socket-activated LISTEN_FDS=1 sockname=18301" "$body"
}

@test "the container service runs" {
    unit_active berth-$id.service
}

@test "no berth-proxy runs for a direct socket" {
    unit_inactive "berth-proxy@$id.service"
}

@test "second request on the same inherited socket" {
    expect_eq "socket-activated LISTEN_FDS=1 sockname=18301" "$(http_get http://127.0.0.1:18301/)"
}
