#!/usr/bin/env bats
# Scenario 6, bad input at boot (first half): one broken definition among
# good ones, stored for the next boot. After the reboot
# (06-bad-definition.after-reboot.bats) the system reaches
# multi-user.target, every good container runs, and the boot's log has
# exactly one line naming the broken file.
load helpers

@test "berth-generator is installed" {
    need_generator
}

@test "two good and one broken definition stored" {
    define s6-good1 '{"Image": "localhost/busybox", "Started": true, "Ports": [{"Internal": 8080, "External": 18601}], "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/var/www"]}'
    define s6-good2 '{"Image": "localhost/nginx", "Started": true, "Ports": [{"Internal": 80, "External": 18602}]}'
    define s6-bad '{"Image": "localhost/busybox", "Started": true, "NoSuchField": 1}'
}
