#!/bin/bash
# Scenario 2, enforcing: A cannot read B's file (mounted into A by its
# definition) and the audit log shows the MCS denial; each container still
# reads its own files and serves its own requests; berth's generator
# (daemon-reload), a restart through systemd and a socket-activated
# container behind berth-proxy all work while enforcing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
C=sel-c PORT_C=18603
trap 'forget $C; setenforce 0' EXIT
read -r la lb </var/lib/berth-vm/levels || fail "scenario 1 did not run"
mark=$(audit_mark)
check "setenforce 1" setenforce 1
expect_eq "enforcing" Enforcing "$(getenforce)"

a=$(ctr $A) b=$(ctr $B)
check "$A reads its own file" podman exec "$a" cat /data/secret
check "$B reads its own file" podman exec "$b" cat /data/secret
refute "$A cannot read $B's file" podman exec "$a" cat /other/secret
out=$(podman exec "$a" cat /other/secret 2>&1 || true)
expect_contains "the error is a permission error" "Permission denied" "$out"
sleep 2
avc=$(avcs_since "$mark" | grep 'denied' | grep "scontext=system_u:system_r:container_t:$la " | grep "tcontext=system_u:object_r:container_file_t:$lb " || true)
printf '%s\n' "$avc" | head -n 3 | sed 's/^/# AVC: /'
[[ -n "$avc" ]] || { avcs_since "$mark" | tail -n 20 | sed 's/^/  | /'; fail "no AVC denial of container_t:$la on container_file_t:$lb"; }
ok "the audit log shows the denial (container_t:$la -> container_file_t:$lb)"
check "$A serves while enforcing" http_get http://127.0.0.1:$PORT_A/
check "$B serves while enforcing" http_get http://127.0.0.1:$PORT_B/

check "daemon-reload (berth-generator) while enforcing" systemctl daemon-reload
check "the generator still wrote berth-$A.service" unit_exists berth-$A.service
check "restart $B through systemd while enforcing" systemctl restart berth-$B.service
wait_for 120 "$B answers after the restart" http_get http://127.0.0.1:$PORT_B/
pid=$(podman inspect -f '{{.State.Pid}}' "$(ctr $B)")
expect_eq "$B keeps its level after the restart" "$lb" "$(level_of "$(ps -o label= -p "$pid")")"

check "install socket-activated isolated $C while enforcing" \
    berth install $C --image localhost/nginx --port 80:$PORT_C --isolate --socket-activated --start
wait_for 150 "$C answers through berth-proxy" http_get http://127.0.0.1:$PORT_C/
proxy=$(ps -eo label,comm | grep berth-proxy | head -n1 || true)
log "proxy: $proxy"
expect_contains "berth-proxy runs in berth_proxy_t" ":berth_proxy_t:" "$proxy"
ps -eZ | grep -E 'container_t|berth_' | sed 's/^/# ps -eZ: /'
