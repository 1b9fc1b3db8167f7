#!/usr/bin/env bats
# Scenario 24, auto-update (issue 14): s24-app runs localhost/s24-app:latest
# with AutoUpdate local and Notify true (the app sends READY=1 once it
# listens, so a restart onto an image that cannot start fails). Re-tagging
# a good image and running `berth update` (podman auto-update) updates it;
# a broken image (its command exits 1) is rolled back, by podman without
# ids and by berth with the id, and the container serves the good image
# again each time.
load helpers

id=s24-app
IMG=localhost/s24-app:latest
PORT=18241
URL=http://127.0.0.1:$PORT/
DIAG_UNITS=("berth-$id.service")

teardown_file() {
    forget $id
    podman rm -f s24-build >/dev/null 2>&1 || true
    podman rmi -f "$IMG" >/dev/null 2>&1 || true
    rm -rf /tmp/s24
}

# The app: a plain-socket HTTP server (python3-minimal has no http.server)
# answering with /version, which tells systemd it is ready once it listens.
write_app() {
    mkdir -p /tmp/s24
    cat >/tmp/s24/app.py <<'PY'
import os, socket
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("", 8080))
srv.listen(16)
path = os.environ.get("NOTIFY_SOCKET")
if path:
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.connect("\0" + path[1:] if path.startswith("@") else path)
    n.sendall(b"READY=1")
body = open("/version", "rb").read()
while True:
    c, _ = srv.accept()
    with c:
        c.recv(65536)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
PY
}

# image VERSION CMD — commits $IMG from localhost/python with /app.py,
# /version holding VERSION, and CMD (a JSON array); prints its id. Fails
# when any step does (chained: it runs in command substitutions too).
image() {
    podman rm -f s24-build >/dev/null 2>&1 || true
    podman run --quiet --name s24-build -v /tmp/s24:/src:ro localhost/python \
        sh -c "cp /src/app.py /app.py && echo $1 >/version" >/dev/null &&
        podman commit -q --change "CMD $2" s24-build "$IMG" >/dev/null &&
        podman rm -f s24-build >/dev/null &&
        podman image inspect -f '{{.Id}}' "$IMG"
}
good='["python3", "/app.py"]'
broken='["python3", "-c", "import sys; sys.exit(1)"]'

serves() { [[ "$(curl -fsS --max-time 5 "$URL")" == "$1" ]]; }
runs_image() { [[ "$(podman inspect -f '{{.Image}}' berth-$id 2>/dev/null)" == "$1" ]]; }

@test "berth CLI is installed" {
    need_berth
}

@test "a good image v1" {
    local v
    write_app
    v=$(image v1 "$good")
    save v1 "$v"
}

@test "install $id (AutoUpdate local, Notify true, started)" {
    cat >/tmp/s24/$id.json <<JSON
{"Image": "$IMG", "Started": true, "Notify": true, "Restart": "no", "StopTimeout": 2,
 "AutoUpdate": "local", "Ports": [{"Internal": 8080, "External": $PORT}]}
JSON
    berth install $id --from-json /tmp/s24/$id.json --start
}

@test "$id serves v1" {
    wait_for 60 serves v1
}

@test "the container carries the auto-update label and its unit" {
    expect_eq local "$(podman inspect -f '{{index .Config.Labels "io.containers.autoupdate"}}' berth-$id)"
    expect_eq "berth-$id.service" "$(podman inspect -f '{{index .Config.Labels "PODMAN_SYSTEMD_UNIT"}}' berth-$id)"
}

@test "berth update --dry-run: nothing newer" {
    # stdout only: berth says what it did on stderr.
    output=$(berth --json update --dry-run)
    expect_eq false "$(jq -r --arg id $id '.Containers[] | select(.Id == $id) | .Updated' <<<"$output")"
}

@test "a good image v2 re-tagged: berth update --dry-run says pending" {
    local v
    v=$(image v2 "$good")
    [[ "$v" != "$(saved v1)" ]] || fail "the re-tagged image is the same"
    save v2 "$v"
    # stdout only: berth says what it did on stderr.
    output=$(berth --json update --dry-run)
    expect_eq pending "$(jq -r --arg id $id '.Containers[] | select(.Id == $id) | .Updated' <<<"$output")"
    # A dry run restarts nothing.
    serves v1
}

@test "berth update updates $id to v2" {
    # stdout only: berth says what it did on stderr.
    output=$(berth --json update)
    expect_eq true "$(jq -r --arg id $id '.Containers[] | select(.Id == $id) | .Updated' <<<"$output")"
    expect_contains "\"$id\"" "$(jq -c .Updated <<<"$output")"
    wait_for 60 serves v2
    runs_image "$(saved v2)"
}

@test "a broken image: berth update (podman auto-update) rolls back" {
    image broken "$broken" >/dev/null
    # stdout only: berth says what it did on stderr.
    output=$(berth --json update)
    expect_eq "rolled back" "$(jq -r --arg id $id '.Containers[] | select(.Id == $id) | .Updated' <<<"$output")"
    expect_contains "\"$id\"" "$(jq -c .RolledBack <<<"$output")"
}

@test "after podman's rollback $id serves v2 and the tag names v2 again" {
    wait_for 60 serves v2
    runs_image "$(saved v2)"
    expect_eq "$(saved v2)" "$(podman image inspect -f '{{.Id}}' "$IMG")"
}

@test "a broken image: berth update $id rolls back (berth's own steps)" {
    image broken "$broken" >/dev/null
    # stdout only: berth says what it did on stderr.
    output=$(berth --json update $id)
    expect_eq "rolled back" "$(jq -r '.Containers[0].Updated' <<<"$output")"
    expect_contains "rolled back" "$(jq -r '.Warnings[]' <<<"$output")"
    wait_for 60 serves v2
    expect_eq "$(saved v2)" "$(podman image inspect -f '{{.Id}}' "$IMG")"
}

@test "berth update of an id that is not installed is not found (exit 3)" {
    run berth update s24-none
    [ "$status" -eq 3 ] || fail "exit $status: $output"
}
