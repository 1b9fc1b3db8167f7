#!/usr/bin/env bats
# Issue 10, data survives stop: an image with `VOLUME /data`
# (localhost/busybox-kv, built in tests/vm/image/build; its CGI stores a
# word in /data), socket-activated with ExitIdleTime. Written through the
# service, the word comes back after the idle stop, `berth restart`, an
# image update and a reboot; `berth delete` keeps the volume and
# `berth delete --volumes` removes it.
#
# This file runs in the first boot; 11-volumes.after-reboot.bats in the
# second (same disk): the definition's copy lives under $STATE.

load helpers

load 11-volumes

@test "install maps the image's VOLUME to a named volume" {
    mkdir -p "$STATE"
    cat >$STATE/$ID.json <<JSON
{"Image": "localhost/busybox-kv", "Started": true, "SocketActivation": true,
 "ExitIdleTime": 15, "StopTimeout": 2, "Ports": [{"Internal": 8080, "External": $PORT}]}
JSON
    run berth install $ID --from-json $STATE/$ID.json
    [ "$status" -eq 0 ]
    run jq -c '.Volumes' /etc/berth/containers/$ID.json
    [ "$output" = '[{"Name":"1","ContainerPath":"/data"}]' ]
    run systemctl cat berth-$ID.service
    [[ "$output" == *"--volume=$VOL:/data"* ]]
    [[ "$output" != *" --rm "* && "$output" != *"rm --volumes"* ]]
}

@test "the value survives the idle stop" {
    run curl -fsS --max-time 30 "$URL?put=first"
    [ "$status" -eq 0 ]
    [ "$output" = stored ]
    wait_until 60 service_inactive
    run podman container exists berth-$ID
    [ "$status" -ne 0 ]
    # The next connection starts a new container on the same volume.
    wait_until 60 stored_is first
}

@test "the value survives berth restart" {
    run curl -fsS --max-time 30 "$URL?put=second"
    [ "$output" = stored ]
    run berth restart $ID
    [ "$status" -eq 0 ] || fail "berth restart: $output"
    wait_until 60 stored_is second
}

@test "the value survives an image update" {
    old=$(podman image inspect -f '{{.Id}}' localhost/busybox-kv)
    podman rm -f s11-build >/dev/null 2>&1 || true
    run podman run --name s11-build localhost/busybox-kv touch /updated
    [ "$status" -eq 0 ]
    # (commit would make `touch /updated` the image's command: keep httpd.)
    run podman commit -q --change 'CMD ["/bin/httpd", "-f", "-p", "8080", "-h", "/var/www"]' \
        s11-build localhost/busybox-kv
    [ "$status" -eq 0 ]
    podman rm -f s11-build
    [ "$(podman image inspect -f '{{.Id}}' localhost/busybox-kv)" != "$old" ]
    run berth install $ID --from-json $STATE/$ID.json
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

