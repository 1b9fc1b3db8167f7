#!/usr/bin/env bats
# Smoke: the guest itself works, independent of berth: systemd is PID 1,
# podman runs the locally built busybox and nginx images, and a hand-written
# podman unit starts, answers on its port and stops.
load helpers

teardown_file() {
    systemctl stop smoke-web.service 2>/dev/null || true
    rm -f /etc/systemd/system/smoke-web.service
    systemctl daemon-reload
}

@test "PID 1 is systemd" {
    expect_eq systemd "$(cat /proc/1/comm)"
}

@test "system state is running" {
    expect_eq running "$(systemctl is-system-running || true)"
}

@test "busybox image runs" {
    podman run --rm localhost/busybox true
}

@test "busybox prints its arguments" {
    expect_eq "a b" "$(podman run --rm localhost/busybox echo a b)"
}

@test "nginx image has nginx" {
    expect_contains "nginx version" "$(podman run --rm localhost/nginx nginx -v 2>&1)"
}

@test "hand-written unit starts" {
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
    systemctl start smoke-web.service
}

@test "nginx answers through the published port" {
    wait_for 60 http_get http://127.0.0.1:19080/
}

@test "nginx serves the image's page" {
    expect_eq "hello from nginx in berth" "$(http_get http://127.0.0.1:19080/)"
}

@test "unit stops" {
    systemctl stop smoke-web.service
}

@test "container is gone after stop" {
    refute container_running smoke-web
}
