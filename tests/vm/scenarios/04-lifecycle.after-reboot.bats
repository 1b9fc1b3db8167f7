#!/usr/bin/env bats
# Scenario 4, lifecycle (second half, after the reboot): the container
# stopped before the reboot stays stopped, the started one runs again.
load helpers

a=s4-a b=s4-b c=s4-c
DIAG_UNITS=("berth-$a.service" "berth-$b.service")

teardown_file() { forget $a $b $c; }

@test "started container $b runs after the reboot" {
    wait_for 90 unit_active berth-$b.service
}

@test "$b answers after the reboot" {
    wait_for 60 http_get http://127.0.0.1:18402/
}

@test "stopped container $a stays stopped" {
    unit_inactive berth-$a.service
}

@test "nothing answers for $a" {
    refused http://127.0.0.1:18401/
}

@test "berth list still shows $a" {
    expect_contains $a "$(berth list)"
}

@test "berth delete $a" {
    berth delete $a
}

@test "berth delete $b" {
    berth delete $b
}
