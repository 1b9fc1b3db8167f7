#!/usr/bin/env bats
# Scenario 1, boot (first half): definitions stored before boot. After the
# reboot (01-boot.after-reboot.bats) the generator's units exist, Started
# containers run and answer, the others do not run.
load helpers

httpd='"Cmd": ["httpd", "-f", "-p", "8080", "-h", "/var/www"]'

@test "berth-generator is installed" {
    need_generator
}

@test "three definitions stored in $DEFS for the next boot" {
    define s1-web '{"Image": "localhost/busybox", "Started": true, "Ports": [{"Internal": 8080, "External": 18101}], '"$httpd"'}'
    define s1-nginx '{"Image": "localhost/nginx", "Started": true, "Ports": [{"Internal": 80, "External": 18102}]}'
    define s1-idle '{"Image": "localhost/busybox", "Ports": [{"Internal": 8080, "External": 18103}], '"$httpd"'}'
}
