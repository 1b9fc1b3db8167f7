#!/bin/bash
# Scenario 3, direct socket activation: a socket-activation-aware server in
# the container (sa-server.py, which never binds) receives systemd's
# listening socket through podman (LISTEN_FDS); no proxy runs.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
id=s3-sa
trap 'forget $id' EXIT
DIAG_UNITS=("berth-$id.socket" "berth-$id.service")
cat >/tmp/$id.json <<'JSON'
{"Image": "localhost/python", "Started": true, "SocketActivation": true, "SkipSocketProxy": true,
 "Ports": [{"Internal": 8080, "External": 18301}]}
JSON
check "berth install --from-json (direct socket activation)" berth install $id --from-json /tmp/$id.json --start
wait_for 30 "berth-$id.socket is listening" unit_active berth-$id.socket
check "the container is not running before the first connection" unit_inactive berth-$id.service
body=$(HTTP_TIMEOUT=90 http_get http://127.0.0.1:18301/) || fail "first request was not answered"
expect_eq "the server answers on the fd systemd passed (port 18301)" \
    "socket-activated LISTEN_FDS=1 sockname=18301" "$body"
check "the container service runs" unit_active berth-$id.service
check "no berth-proxy runs for a direct socket" unit_inactive "berth-proxy@$id.service"
expect_eq "second request on the same inherited socket" \
    "socket-activated LISTEN_FDS=1 sockname=18301" "$(http_get http://127.0.0.1:18301/)"
