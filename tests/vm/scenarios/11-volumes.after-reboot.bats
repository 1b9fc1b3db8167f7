#!/usr/bin/env bats
# Issue 10, data survives stop: an image with `VOLUME /data`
# (localhost/busybox-kv, built in tests/vm/image/build; its CGI stores a
# word in /data), socket-activated with ExitIdleTime. Written through the
# service, the word comes back after the idle stop, `berth restart`, an
# image update and a reboot; `berth delete` keeps the volume and
# `berth delete --volumes` removes it.
#
# This is the second half, after the reboot (11-volumes.bats wrote the
# value "before-reboot" through the service in the first boot).

load helpers

teardown_file() {
    berth delete --volumes s11-kv >/dev/null 2>&1 || true
    berth delete --volumes s11-iso >/dev/null 2>&1 || true
}

load 11-volumes

@test "the value survived the reboot" {
    wait_until 60 stored_is before-reboot
}

@test "berth volumes lists the volume with size and owner" {
    run berth --json volumes
    [ "$status" -eq 0 ]
    row=$(jq -c ".Volumes[] | select(.Volume == \"$VOL\")" <<<"$output")
    [ -n "$row" ]
    [ "$(jq -r .Container <<<"$row")" = $ID ]
    [ "$(jq -r .ContainerPath <<<"$row")" = /data ]
    [ "$(jq -r .Size <<<"$row")" -gt 0 ]
    [ "$(jq -r .Owner <<<"$row")" != null ]
}

@test "berth delete keeps the volume, delete --volumes removes it" {
    run berth delete $ID
    [ "$status" -eq 0 ]
    run podman volume exists $VOL
    [ "$status" -eq 0 ]
    # Installed again, the container finds its data.
    run berth install $ID --from-json $STATE/$ID.json
    [ "$status" -eq 0 ]
    wait_until 60 stored_is before-reboot
    run berth stop $ID
    wait_until 60 service_inactive
    run berth delete --volumes $ID
    [ "$status" -eq 0 ]
    run podman volume exists $VOL
    [ "$status" -ne 0 ]
}

@test "an isolated container's volume belongs to its subordinate range" {
    id=s11-iso
    cat >/tmp/$id.json <<JSON
{"Image": "localhost/busybox-kv", "Isolate": true, "Started": true,
 "Ports": [{"Internal": 8080, "External": 18412}]}
JSON
    run berth install $id --from-json /tmp/$id.json
    [ "$status" -eq 0 ]
    wait_until 60 curl -fsS --max-time 5 "http://127.0.0.1:18412/cgi-bin/kv?put=iso"
    mp=$(podman volume inspect -f '{{.Mountpoint}}' berth-$id-1)
    base=$(awk -F: -v u=ctr-$id '$1 == u { print $2 }' /etc/subuid)
    [ -n "$base" ]
    [ "$(stat -c %u "$mp")" = "$base" ]
    [ "$(stat -c %u "$mp/value")" = "$base" ]
    berth delete --volumes $id
}
