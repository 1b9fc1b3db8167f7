#!/usr/bin/env bats
# Scenario 2, socket activation through berth-proxy: nothing runs before the
# first connection; the first request is answered (the proxy waits for the
# container to listen); after the idle time the proxy exits and the
# container stops; the next request starts it again.
load helpers

id=s2-web
idle=10
DIAG_UNITS=("berth-$id.socket" "berth-proxy@$id.service" "berth-$id.service")

teardown_file() { forget $id; }

@test "berth CLI is installed" {
    need_berth
}

@test "berth install --from-json (proxied socket activation)" {
    cat >/tmp/$id.json <<JSON
{"Image": "localhost/busybox", "Started": true, "SocketActivation": true, "ExitIdleTime": $idle,
 "Ports": [{"Internal": 8080, "External": 18201}], "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/var/www"]}
JSON
    berth install $id --from-json /tmp/$id.json --start
}

@test "berth-$id.socket is listening" {
    wait_for 30 unit_active berth-$id.socket
}

@test "berth-proxy@$id.service exists" {
    unit_exists "berth-proxy@$id.service"
}

@test "the container's service is not running before the first connection" {
    unit_inactive berth-$id.service
}

@test "the proxy is not running before the first connection" {
    unit_inactive "berth-proxy@$id.service"
}

@test "no container process before the first connection" {
    refute ctr $id
}

@test "first request answered by the container" {
    local t0 body
    t0=$(date +%s.%N)
    body=$(HTTP_TIMEOUT=90 http_get http://127.0.0.1:18201/) || fail "first request through the socket was not answered"
    log "first request answered in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s (cold start)"
    expect_eq "hello from busybox httpd" "$body"
}

@test "proxy is running" {
    unit_active "berth-proxy@$id.service"
}

@test "container service is running" {
    unit_active berth-$id.service
}

@test "second request answered" {
    expect_eq "hello from busybox httpd" "$(http_get http://127.0.0.1:18201/)"
}

@test "after ${idle}s idle the proxy exits" {
    wait_for $((idle + 40)) unit_inactive "berth-proxy@$id.service"
}

@test "and the container service stops" {
    wait_for 40 unit_inactive berth-$id.service
}

@test "the socket still listens" {
    unit_active berth-$id.socket
}

@test "the next request starts it again" {
    local body
    body=$(HTTP_TIMEOUT=90 http_get http://127.0.0.1:18201/) || fail "request after scale-to-zero was not answered"
    expect_eq "hello from busybox httpd" "$body"
}

@test "container service running again" {
    unit_active berth-$id.service
}
