#!/bin/bash
# Scenario 3a (issue 10): two isolated containers' named volumes carry
# their own MCS levels and owners, and one cannot read the other's: A also
# bind-mounts B's volume directory (the misconfiguration MCS must contain),
# and reading B's file there is denied although its mode lets anyone read.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
VA=sel-va VB=sel-vb
for id in $VA $VB; do berth delete --volumes $id >/dev/null 2>&1 || true; done
# Whatever happens, leave the guest as the later scenarios expect it
# (permissive, no containers of this scenario, no definitions left).
trap 'setenforce 0; for id in $VA $VB; do berth delete --volumes $id >/dev/null 2>&1 || true; done' EXIT
cat >/tmp/$VB.json <<JSON
{"Image": "localhost/nginx", "Isolate": true, "Started": true,
 "Cmd": ["/bin/sleep", "infinity"],
 "Volumes": [{"Name": "data", "ContainerPath": "/data"}]}
JSON
check "install isolated $VB with named volume data" berth install $VB --from-json /tmp/$VB.json
running() { [[ "$(podman inspect -f '{{.State.Running}}' "$(ctr "$1")" 2>/dev/null)" == true ]]; }
wait_for 120 "$VB runs" running $VB
check "$VB writes its volume" podman exec "$(ctr $VB)" sh -c 'echo only-for-b >/data/secret.txt && chmod 644 /data/secret.txt'
mp_b=$(podman volume inspect -f '{{.Mountpoint}}' berth-$VB-data)
cat >/tmp/$VA.json <<JSON
{"Image": "localhost/nginx", "Isolate": true, "Started": true,
 "Cmd": ["/bin/sleep", "infinity"],
 "Volumes": [{"Name": "data", "ContainerPath": "/data"}],
 "VolumeConfig": {"Volumes": [{"HostPath": "$mp_b", "ContainerPath": "/other"}]}}
JSON
check "install isolated $VA with its own volume and $VB's bind-mounted" berth install $VA --from-json /tmp/$VA.json
wait_for 120 "$VA runs" running $VA
check "$VA writes its volume" podman exec "$(ctr $VA)" sh -c 'echo only-for-a >/data/secret.txt'

declare -A lvl
for id in $VA $VB; do
    lvl[$id]=$(jq -r .McsLevel "$DEFS/$id.json")
    mp=$(podman volume inspect -f '{{.Mountpoint}}' berth-$id-data)
    ls -Zd "$mp" "$mp/secret.txt" | sed "s/^/# ls -Z: /"
    expect_eq "$id: volume labelled with its level" "${lvl[$id]}" "$(level_of "$(label "$mp")")"
    expect_eq "$id: volume file labelled with its level" "${lvl[$id]}" "$(level_of "$(label "$mp/secret.txt")")"
    base=$(awk -F: -v u="ctr-$id" '$1 == u { print $2 }' /etc/subuid)
    expect_eq "$id: volume owned by its subordinate range" "$base" "$(stat -c %u "$mp")"
done
[[ "${lvl[$VA]}" != "${lvl[$VB]}" ]] || fail "both containers have level ${lvl[$VA]}"
expect_eq "$VB reads its own volume" only-for-b "$(podman exec "$(ctr $VB)" cat /data/secret.txt)"
expect_eq "$VA reads its own volume" only-for-a "$(podman exec "$(ctr $VA)" cat /data/secret.txt)"
# MCS separation is what is tested: with the policy enforced.
check "setenforce 1" setenforce 1
expect_eq "enforcing" Enforcing "$(getenforce)"
mark=$(audit_mark)
refute "$VA cannot read $VB's volume" podman exec "$(ctr $VA)" cat /other/secret.txt
check "setenforce 0" setenforce 0
avcs_since "$mark" | sed "s/^/# avc: /"
for id in $VA $VB; do
    check "delete --volumes $id" berth delete --volumes $id
    refute "berth-$id-data is gone" podman volume exists berth-$id-data
done
