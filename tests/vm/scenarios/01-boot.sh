#!/bin/bash
# berth-vm: reboot
# Scenario 1, boot: definitions stored before boot → after the boot the
# generator's units exist, Started containers run and answer, the others
# do not run.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

httpd='"Cmd": ["httpd", "-f", "-p", "8080", "-h", "/var/www"]'
case $PHASE in
before-reboot)
    need_generator
    define s1-web '{"Image": "localhost/busybox", "Started": true, "Ports": [{"Internal": 8080, "External": 18101}], '"$httpd"'}'
    define s1-nginx '{"Image": "localhost/nginx", "Started": true, "Ports": [{"Internal": 80, "External": 18102}]}'
    define s1-idle '{"Image": "localhost/busybox", "Ports": [{"Internal": 8080, "External": 18103}], '"$httpd"'}'
    ok "three definitions stored in $DEFS for the next boot"
    ;;
after-reboot)
    trap 'forget s1-web s1-nginx s1-idle' EXIT
    DIAG_UNITS=(berth-s1-web.service berth-s1-nginx.service)
    check "berth.target is enabled" systemctl is-enabled berth.target
    for id in s1-web s1-nginx s1-idle; do
        check "generator wrote berth-$id.service" test -e "/run/systemd/generator/berth-$id.service"
    done
    check "berth.target wants berth-s1-web.service" test -e /run/systemd/generator/berth.target.wants/berth-s1-web.service
    check "berth.target is active" unit_active berth.target
    wait_for 90 "berth-s1-web.service is active" unit_active berth-s1-web.service
    wait_for 90 "berth-s1-nginx.service is active" unit_active berth-s1-nginx.service
    wait_for 60 "busybox httpd answers on 18101" http_get http://127.0.0.1:18101/
    expect_eq "busybox page" "hello from busybox httpd" "$(http_get http://127.0.0.1:18101/)"
    wait_for 60 "nginx answers on 18102" http_get http://127.0.0.1:18102/
    expect_eq "nginx page" "hello from nginx in berth" "$(http_get http://127.0.0.1:18102/)"
    check "the not-Started container's unit is inactive" unit_inactive berth-s1-idle.service
    check "nothing listens on the not-Started container's port" refused http://127.0.0.1:18103/
    ;;
*) fail "unknown phase $PHASE" ;;
esac
