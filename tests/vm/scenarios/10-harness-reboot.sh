#!/bin/bash
# berth-vm: reboot
# Harness self-test, independent of berth: the disk survives the guest
# reboot between the two halves of a reboot scenario, and an enabled
# hand-written podman unit is running again after it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
unit=/etc/systemd/system/selftest-web.service
case $PHASE in
before-reboot)
    boot_id=$(cat /proc/sys/kernel/random/boot_id)
    echo "$boot_id" >/var/lib/berth-vm/selftest-boot-id
    cat >"$unit" <<'UNIT'
[Unit]
Description=hand-written podman unit that must come back after a reboot
[Service]
ExecStart=/usr/bin/podman run --rm --replace --name selftest-web --sdnotify=conmon --cgroups=split -p 127.0.0.1:19010:8080 localhost/busybox httpd -f -p 8080 -h /var/www
ExecStop=/usr/bin/podman stop -t 5 selftest-web
Type=notify
NotifyAccess=all
[Install]
WantedBy=multi-user.target
UNIT
    systemctl daemon-reload
    check "enable the unit" systemctl enable selftest-web.service
    ok "boot id $boot_id recorded"
    ;;
after-reboot)
    trap 'systemctl disable --now selftest-web.service; rm -f "$unit"; systemctl daemon-reload' EXIT
    before=$(cat /var/lib/berth-vm/selftest-boot-id 2>/dev/null) || fail "the file written before the reboot is gone"
    ok "the file written before the reboot is still there"
    [[ "$before" != "$(cat /proc/sys/kernel/random/boot_id)" ]] || fail "same boot id: the guest did not reboot"
    ok "the guest rebooted (new boot id)"
    wait_for 90 "the enabled unit runs after the reboot" unit_active selftest-web.service
    wait_for 60 "and answers" http_get http://127.0.0.1:19010/
    ;;
*) fail "unknown phase $PHASE" ;;
esac
