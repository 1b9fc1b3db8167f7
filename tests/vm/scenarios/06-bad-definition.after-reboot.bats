#!/usr/bin/env bats
# Scenario 6, bad input at boot (second half, after the reboot): the good
# containers run, the broken one has no unit, and the boot's log has exactly
# one line naming the broken file.
load helpers

DIAG_UNITS=(berth-s6-good1.service berth-s6-good2.service)

# The boot's log up to "Startup finished": each later daemon-reload reruns
# the generator (and logs the broken file again).
boot_log() { journalctl -b -o cat --no-pager | sed '/Startup finished/q'; }
bad_lines() { boot_log | grep -F 's6-bad.json' || true; }

teardown_file() { forget s6-good1 s6-good2 s6-bad; }

@test "multi-user.target reached" {
    unit_active multi-user.target
}

@test "good container 1 runs" {
    wait_for 90 unit_active berth-s6-good1.service
}

@test "good container 2 runs" {
    wait_for 90 unit_active berth-s6-good2.service
}

@test "good container 1 answers" {
    wait_for 60 http_get http://127.0.0.1:18601/
}

@test "good container 2 answers" {
    wait_for 60 http_get http://127.0.0.1:18602/
}

@test "no unit for the broken definition" {
    test ! -e /run/systemd/generator/berth-s6-bad.service
}

@test "exactly one boot log line names s6-bad.json" {
    local lines
    lines=$(bad_lines)
    printf '%s\n' "$lines" | sed 's/^/  | /'
    expect_eq 1 "$(grep -c . <<<"$lines" || true)"
}

@test "it names the unknown field" {
    expect_contains NoSuchField "$(bad_lines)"
}

@test "the line is in the kernel log (kmsg)" {
    journalctl -b -k -o cat | grep -q s6-bad.json
}
