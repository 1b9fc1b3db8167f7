#!/bin/bash
# Scenario 2, socket activation through berth-proxy: nothing runs before the
# first connection; the first request is answered (the proxy waits for the
# container to listen); after the idle time the proxy exits and the
# container stops; the next request starts it again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
id=s2-web
idle=10
trap 'forget $id' EXIT
DIAG_UNITS=("berth-$id.socket" "berth-proxy@$id.service" "berth-$id.service")
cat >/tmp/$id.json <<JSON
{"Image": "localhost/busybox", "Started": true, "SocketActivation": true, "ExitIdleTime": $idle,
 "Ports": [{"Internal": 8080, "External": 18201}], "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/var/www"]}
JSON
check "berth install --from-json (proxied socket activation)" berth install $id --from-json /tmp/$id.json --start
wait_for 30 "berth-$id.socket is listening" unit_active berth-$id.socket
check "berth-proxy@$id.service exists" unit_exists "berth-proxy@$id.service"
check "the container's service is not running before the first connection" unit_inactive berth-$id.service
check "the proxy is not running before the first connection" unit_inactive "berth-proxy@$id.service"
refute "no container process before the first connection" ctr $id

t0=$(date +%s.%N)
body=$(HTTP_TIMEOUT=90 http_get http://127.0.0.1:18201/) || fail "first request through the socket was not answered"
log "first request answered in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s (cold start)"
expect_eq "first request answered by the container" "hello from busybox httpd" "$body"
check "proxy is running" unit_active "berth-proxy@$id.service"
check "container service is running" unit_active berth-$id.service
expect_eq "second request answered" "hello from busybox httpd" "$(http_get http://127.0.0.1:18201/)"

wait_for $((idle + 40)) "after ${idle}s idle the proxy exits" unit_inactive "berth-proxy@$id.service"
wait_for 40 "and the container service stops" unit_inactive berth-$id.service
check "the socket still listens" unit_active berth-$id.socket
body=$(HTTP_TIMEOUT=90 http_get http://127.0.0.1:18201/) || fail "request after scale-to-zero was not answered"
expect_eq "the next request starts it again" "hello from busybox httpd" "$body"
check "container service running again" unit_active berth-$id.service
