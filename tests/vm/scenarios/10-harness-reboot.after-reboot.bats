#!/usr/bin/env bats
# Harness self-test (second half, after the reboot): the disk survived the
# reboot, the guest did reboot, and the enabled hand-written podman unit is
# running again.
load helpers

unit=/etc/systemd/system/selftest-web.service

teardown_file() {
    systemctl disable --now selftest-web.service
    rm -f "$unit"
    systemctl daemon-reload
}

@test "the file written before the reboot is still there" {
    test -s "$STATE/selftest-boot-id" || fail "the file written before the reboot is gone"
}

@test "the guest rebooted (new boot id)" {
    [[ "$(cat "$STATE/selftest-boot-id")" != "$(cat /proc/sys/kernel/random/boot_id)" ]] ||
        fail "same boot id: the guest did not reboot"
}

@test "the enabled unit runs after the reboot" {
    # At boot every Started container of the suite starts at once under TCG.
    wait_for 180 unit_active selftest-web.service
}

@test "and answers" {
    wait_for 60 http_get http://127.0.0.1:19010/
}
