#!/usr/bin/env bats
# Smoke: the guest itself works, independent of berth: systemd is PID 1,
# podman runs the locally built busybox and nginx images, and a hand-written
# podman unit starts, answers on its port and stops. The guest's podman is
# the one its Debian release ships (trixie: podman 5 on netavark, with
# aardvark-dns resolving container names on a named network; bookworm:
# podman 4.3 on CNI).
load helpers

teardown_file() {
    podman rm -f smoke-dns-a >/dev/null 2>&1 || true
    podman network rm -f smoke-net >/dev/null 2>&1 || true
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

@test "podman is the release's: 5 on netavark (trixie), 4 on CNI (bookworm)" {
    local release version backend
    release=$(. /etc/os-release && echo "$VERSION_CODENAME")
    version=$(podman version --format '{{.Client.Version}}')
    backend=$(podman info --format '{{.Host.NetworkBackend}}')
    log "Debian $release: podman $version, network backend $backend, $(systemctl --version | head -n 1)"
    case $release in
    trixie) expect_eq "5 netavark" "${version%%.*} $backend" ;;
    bookworm) expect_eq "4 cni" "${version%%.*} $backend" ;;
    *) fail "unexpected guest release '$release'" ;;
    esac
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

@test "containers on a named network resolve each other by name (podman 5: aardvark-dns)" {
    [[ "$(podman info --format '{{.Host.NetworkBackend}}')" == netavark ]] ||
        skip "CNI (podman 4): no name resolution without the dnsname plugin"
    podman network create smoke-net >/dev/null
    expect_eq true "$(podman network inspect -f '{{.DNSEnabled}}' smoke-net)"
    podman run -d --name smoke-dns-a --network smoke-net localhost/busybox httpd -f -p 8080 -h /var/www >/dev/null
    expect_eq "hello from busybox httpd" \
        "$(podman run --rm --network smoke-net localhost/busybox wget -qO- -T 20 http://smoke-dns-a:8080/)"
    podman rm -f smoke-dns-a >/dev/null
    podman network rm smoke-net >/dev/null
}
