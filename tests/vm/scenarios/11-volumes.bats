#!/usr/bin/env bats
# berth-vm: reboot
# Issue 10, data survives stop: an image with `VOLUME /data`
# (localhost/busybox-kv, built in tests/vm/image/build; its CGI stores a
# word in /data), socket-activated with ExitIdleTime. Written through the
# service, the word comes back after the idle stop, `berth restart`, an
# image update and a reboot; `berth delete` keeps the volume and
# `berth delete --volumes` removes it.
#
# Reboot: the tests named "before reboot: …" run in the first boot and
# "after reboot: …" in the second; each skips itself in the other phase
# (PHASE=before-reboot|after-reboot, as the harness sets it for the .sh
# scenarios; unset counts as before-reboot).

load helpers

ID=s11-kv
PORT=18411
URL=http://127.0.0.1:$PORT/cgi-bin/kv
VOL=berth-$ID-1

phase() { [ "${PHASE:-before-reboot}" = "$1" ] || skip "runs $1"; }

# wait_until SECONDS CMD…: retries CMD once a second.
wait_until() {
    local n=$1; shift
    for _ in $(seq "$n"); do "$@" && return 0; sleep 1; done
    "$@"
}
stored_is() { [ "$(curl -fsS --max-time 5 "$URL")" = "$1" ]; }
service_inactive() { ! systemctl is-active --quiet "berth-$ID.service"; }

@test "before reboot: install maps the image's VOLUME to a named volume" {
    phase before-reboot
    cat >/tmp/$ID.json <<JSON
{"Image": "localhost/busybox-kv", "Started": true, "SocketActivation": true,
 "ExitIdleTime": 5, "Ports": [{"Internal": 8080, "External": $PORT}]}
JSON
    run berth install $ID --from-json /tmp/$ID.json
    [ "$status" -eq 0 ]
    run jq -c '.Volumes' /etc/berth/containers/$ID.json
    [ "$output" = '[{"Name":"1","ContainerPath":"/data"}]' ]
    run systemctl cat berth-$ID.service
    [[ "$output" == *"--volume=$VOL:/data"* ]]
    [[ "$output" != *" --rm "* && "$output" != *"rm --volumes"* ]]
}

@test "before reboot: the value survives the idle stop" {
    phase before-reboot
    run curl -fsS --max-time 30 "$URL?put=first"
    [ "$status" -eq 0 ]
    [ "$output" = stored ]
    wait_until 60 service_inactive
    run podman container exists berth-$ID
    [ "$status" -ne 0 ]
    # The next connection starts a new container on the same volume.
    wait_until 60 stored_is first
}

@test "before reboot: the value survives berth restart" {
    phase before-reboot
    run curl -fsS --max-time 30 "$URL?put=second"
    [ "$output" = stored ]
    run berth restart $ID
    [ "$status" -eq 0 ]
    wait_until 60 stored_is second
}

@test "before reboot: the value survives an image update" {
    phase before-reboot
    old=$(podman image inspect -f '{{.Id}}' localhost/busybox-kv)
    podman rm -f s11-build >/dev/null 2>&1 || true
    run podman run --name s11-build localhost/busybox-kv touch /updated
    [ "$status" -eq 0 ]
    run podman commit -q s11-build localhost/busybox-kv
    [ "$status" -eq 0 ]
    podman rm -f s11-build
    [ "$(podman image inspect -f '{{.Id}}' localhost/busybox-kv)" != "$old" ]
    run berth install $ID --from-json /tmp/$ID.json
    [ "$status" -eq 0 ]
    run jq -r '.Volumes[0].Name' /etc/berth/containers/$ID.json
    [ "$output" = 1 ]
    run berth restart $ID
    wait_until 60 stored_is second
    run curl -fsS --max-time 30 "$URL?put=before-reboot"
    [ "$output" = stored ]
    run podman volume exists $VOL
    [ "$status" -eq 0 ]
}

@test "after reboot: the value survived the reboot" {
    phase after-reboot
    wait_until 60 stored_is before-reboot
}

@test "after reboot: berth volumes lists the volume with size and owner" {
    phase after-reboot
    run berth --json volumes
    [ "$status" -eq 0 ]
    row=$(jq -c ".Volumes[] | select(.Volume == \"$VOL\")" <<<"$output")
    [ -n "$row" ]
    [ "$(jq -r .Container <<<"$row")" = $ID ]
    [ "$(jq -r .ContainerPath <<<"$row")" = /data ]
    [ "$(jq -r .Size <<<"$row")" -gt 0 ]
    [ "$(jq -r .Owner <<<"$row")" != null ]
}

@test "after reboot: berth delete keeps the volume, delete --volumes removes it" {
    phase after-reboot
    run berth delete $ID
    [ "$status" -eq 0 ]
    run podman volume exists $VOL
    [ "$status" -eq 0 ]
    # Installed again, the container finds its data.
    run berth install $ID --from-json /tmp/$ID.json
    [ "$status" -eq 0 ]
    wait_until 60 stored_is before-reboot
    run berth stop $ID
    wait_until 60 service_inactive
    run berth delete --volumes $ID
    [ "$status" -eq 0 ]
    run podman volume exists $VOL
    [ "$status" -ne 0 ]
}

@test "after reboot: an isolated container's volume belongs to its subordinate range" {
    phase after-reboot
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
