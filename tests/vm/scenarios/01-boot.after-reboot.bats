#!/usr/bin/env bats
# Scenario 1, boot (second half, after the reboot): the definitions stored
# by 01-boot.bats became units; Started containers run and answer, the
# others do not run.
load helpers

DIAG_UNITS=(berth-s1-web.service berth-s1-nginx.service)

teardown_file() { forget s1-web s1-nginx s1-idle; }

@test "the generator made multi-user.target want berth.target (no enable step)" {
    test -L /run/systemd/generator/multi-user.target.wants/berth.target
    [ "$(systemctl is-active berth.target)" = active ]
}

@test "generator wrote berth-s1-web.service" {
    test -e /run/systemd/generator/berth-s1-web.service
}

@test "generator wrote berth-s1-nginx.service" {
    test -e /run/systemd/generator/berth-s1-nginx.service
}

@test "generator wrote berth-s1-idle.service" {
    test -e /run/systemd/generator/berth-s1-idle.service
}

@test "berth.target wants berth-s1-web.service" {
    test -e /run/systemd/generator/berth.target.wants/berth-s1-web.service
}

@test "berth.target is active" {
    unit_active berth.target
}

@test "berth-s1-web.service is active" {
    wait_for 90 unit_active berth-s1-web.service
}

@test "berth-s1-nginx.service is active" {
    wait_for 90 unit_active berth-s1-nginx.service
}

@test "busybox httpd answers on 18101" {
    wait_for 60 http_get http://127.0.0.1:18101/
}

@test "busybox page" {
    expect_eq "hello from busybox httpd" "$(http_get http://127.0.0.1:18101/)"
}

@test "nginx answers on 18102" {
    wait_for 60 http_get http://127.0.0.1:18102/
}

@test "nginx page" {
    expect_eq "hello from nginx in berth" "$(http_get http://127.0.0.1:18102/)"
}

@test "the not-Started container's unit is inactive" {
    unit_inactive berth-s1-idle.service
}

@test "nothing listens on the not-Started container's port" {
    refused http://127.0.0.1:18103/
}
