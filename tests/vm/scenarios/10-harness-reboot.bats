#!/usr/bin/env bats
# Harness self-test, independent of berth (first half): records the boot id
# and enables a hand-written podman unit; after the reboot
# (10-harness-reboot.after-reboot.bats) the disk kept the record and the
# unit runs again.
load helpers

unit=/etc/systemd/system/selftest-web.service

@test "enable the unit" {
    cat >"$unit" <<'UNIT'
[Unit]
Description=hand-written podman unit that must come back after a reboot
[Service]
ExecStart=/usr/bin/podman run --rm --replace --name selftest-web --sdnotify=conmon --cgroups=split -p 127.0.0.1:19010:8080 localhost/busybox httpd -f -p 8080 -h /var/www
ExecStop=/usr/bin/podman stop -t 5 selftest-web
# busybox httpd as PID 1 ignores SIGTERM; do not wait out the 90 s default.
TimeoutStopSec=15
Type=notify
NotifyAccess=all
[Install]
WantedBy=multi-user.target
UNIT
    systemctl daemon-reload
    systemctl enable selftest-web.service
}

@test "boot id recorded" {
    cat /proc/sys/kernel/random/boot_id >"$STATE/selftest-boot-id"
    log "boot id $(cat "$STATE/selftest-boot-id")"
}
