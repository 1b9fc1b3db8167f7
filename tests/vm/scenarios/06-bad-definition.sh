#!/bin/bash
# berth-vm: reboot
# Scenario 6, bad input at boot: one broken definition among good ones. The
# system reaches multi-user.target, every good container runs, and the
# boot's log has exactly one line naming the broken file.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

case $PHASE in
before-reboot)
    need_generator
    define s6-good1 '{"Image": "localhost/busybox", "Started": true, "Ports": [{"Internal": 8080, "External": 18601}], "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/var/www"]}'
    define s6-good2 '{"Image": "localhost/nginx", "Started": true, "Ports": [{"Internal": 80, "External": 18602}]}'
    define s6-bad '{"Image": "localhost/busybox", "Started": true, "NoSuchField": 1}'
    ok "two good and one broken definition stored"
    ;;
after-reboot)
    # Count before anything reloads systemd (each reload reruns the generator).
    boot_log=$(journalctl -b -o cat --no-pager | sed '/Startup finished/q')
    trap 'forget s6-good1 s6-good2 s6-bad' EXIT
    DIAG_UNITS=(berth-s6-good1.service berth-s6-good2.service)
    check "multi-user.target reached" unit_active multi-user.target
    wait_for 90 "good container 1 runs" unit_active berth-s6-good1.service
    wait_for 90 "good container 2 runs" unit_active berth-s6-good2.service
    wait_for 60 "good container 1 answers" http_get http://127.0.0.1:18601/
    wait_for 60 "good container 2 answers" http_get http://127.0.0.1:18602/
    check "no unit for the broken definition" test ! -e /run/systemd/generator/berth-s6-bad.service
    lines=$(grep -F 's6-bad.json' <<<"$boot_log" || true)
    printf '%s\n' "$lines" | sed 's/^/  | /'
    expect_eq "exactly one boot log line names s6-bad.json" 1 "$(grep -c . <<<"$lines" || true)"
    expect_contains "it names the unknown field" NoSuchField "$lines"
    check "the line is in the kernel log (kmsg)" bash -c "journalctl -b -k -o cat | grep -q s6-bad.json"
    ;;
*) fail "unknown phase $PHASE" ;;
esac
