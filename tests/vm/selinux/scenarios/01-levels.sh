#!/bin/bash
# Scenario 1: isolated containers run under SELinux, each in container_t at
# its own MCS level: its processes (ps -eZ), its root file system and its
# home (ls -Z) carry that level. Leaves $A and $B running for scenario 2:
# B's home holds a file only B may read; A mounts B's home as well (the
# misconfiguration MCS must contain).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
home=/var/lib/berth/home
cat >/tmp/$B.json <<JSON
{"Image": "localhost/nginx", "Isolate": true, "Started": true,
 "Ports": [{"Internal": 80, "External": $PORT_B}],
 "VolumeConfig": {"Volumes": [{"HostPath": "$home/$B", "ContainerPath": "/data"}]}}
JSON
check "install isolated $B (mounting its home)" berth install $B --from-json /tmp/$B.json
cat >/tmp/$A.json <<JSON
{"Image": "localhost/nginx", "Isolate": true, "Started": true,
 "Ports": [{"Internal": 80, "External": $PORT_A}],
 "VolumeConfig": {"Volumes": [
   {"HostPath": "$home/$A", "ContainerPath": "/data"},
   {"HostPath": "$home/$B", "ContainerPath": "/other"}]}}
JSON
check "install isolated $A (mounting its home and $B's)" berth install $A --from-json /tmp/$A.json
wait_for 120 "$B answers" http_get http://127.0.0.1:$PORT_B/
wait_for 120 "$A answers" http_get http://127.0.0.1:$PORT_A/

declare -A lvl
for id in $A $B; do
    lvl[$id]=$(jq -r .McsLevel "$DEFS/$id.json")
    [[ "${lvl[$id]}" == s0:c* ]] || fail "$id has no McsLevel in its definition"
    c=$(ctr "$id")
    pid=$(podman inspect -f '{{.State.Pid}}' "$c")
    ps -eZ | grep -E "container_t:${lvl[$id]} " | sed "s/^/# ps -eZ: /"
    ctx=$(ps -o label= -p "$pid")
    expect_eq "$id: container process runs in container_t" container_t "$(type_of "$ctx")"
    expect_eq "$id: container process has level ${lvl[$id]}" "${lvl[$id]}" "$(level_of "$ctx")"
    n_all=$(ps -eZ | grep -c "container_t:${lvl[$id]} " || true)
    ((n_all >= 2)) || fail "$id: expected nginx master and workers at ${lvl[$id]}, found $n_all"
    ok "$id: $n_all processes at ${lvl[$id]}"
    f=$(label "/proc/$pid/root/etc/nginx/nginx.conf")
    log "$id: ls -Z /etc/nginx/nginx.conf in the container: $f"
    expect_eq "$id: its root file system is container_file_t:${lvl[$id]}" "container_file_t:${lvl[$id]}" "$(type_of "$f"):$(level_of "$f")"
    h=$(label "$home/$id")
    log "$id: ls -Zd $home/$id: $h"
    expect_eq "$id: its home is container_file_t:${lvl[$id]}" "container_file_t:${lvl[$id]}" "$(type_of "$h"):$(level_of "$h")"
    # The files scenario 2 reads; DAC allows everyone, so only MCS decides.
    chmod 755 "$home/$id"
    echo "secret of $id" >"$home/$id/secret"
    chmod 644 "$home/$id/secret"
    chcon -t container_file_t -l "${lvl[$id]}" "$home/$id/secret"
    ls -Z "$home/$id/secret" | sed 's/^/# /'
done
[[ "${lvl[$A]}" != "${lvl[$B]}" ]] || fail "both containers got level ${lvl[$A]}"
ok "levels differ: $A ${lvl[$A]}, $B ${lvl[$B]}"
echo "${lvl[$A]} ${lvl[$B]}" >/var/lib/berth-vm/levels
