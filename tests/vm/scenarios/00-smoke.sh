#!/bin/bash
# Smoke: the guest itself works, independent of berth: systemd is PID 1,
# podman runs the locally built busybox and nginx images, and a hand-written
# podman unit starts, answers on its port and stops.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

expect_eq "PID 1 is systemd" systemd "$(cat /proc/1/comm)"
state=$(systemctl is-system-running || true)
expect_eq "system state is running" running "$state"
check "busybox image runs" podman run --rm localhost/busybox true
expect_eq "busybox prints its arguments" "a b" "$(podman run --rm localhost/busybox echo a b)"
expect_contains "nginx image has nginx" "nginx version" "$(podman run --rm localhost/nginx nginx -v 2>&1)"

trap 'systemctl stop smoke-web.service 2>/dev/null; rm -f /etc/systemd/system/smoke-web.service; systemctl daemon-reload' EXIT
cat >/etc/systemd/system/smoke-web.service <<'UNIT'
[Unit]
Description=hand-written podman unit (smoke test)

[Service]
ExecStart=/usr/bin/podman run --rm --replace --name smoke-web --sdnotify=conmon --cgroups=split -p 127.0.0.1:19080:80 localhost/nginx
ExecStop=/usr/bin/podman stop -t 5 smoke-web
Type=notify
NotifyAccess=all
KillMode=mixed
UNIT
systemctl daemon-reload
check "hand-written unit starts" systemctl start smoke-web.service
wait_for 60 "nginx answers through the published port" http_get http://127.0.0.1:19080/
expect_eq "nginx serves the image's page" "hello from nginx in berth" "$(http_get http://127.0.0.1:19080/)"
check "unit stops" systemctl stop smoke-web.service
refute "container is gone after stop" container_running smoke-web
