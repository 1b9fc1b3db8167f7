#!/usr/bin/env bats
# issue 12: run, logs -f, wait, content, purge, pull (real systemd + podman).
# Images: localhost/busybox only (no registry in the guest).
load helpers
bats_require_minimum_version 1.5.0

teardown() {
    berth purge --yes >/dev/null 2>&1 || true
}

@test "run prints the container's output and returns its exit status" {
    run berth run localhost/busybox -- sh -c 'echo hi; exit 3'
    [ "$status" -eq 3 ]
    [[ "$output" == *hi* ]]
}

@test "run --json prints JSON lines, the final record last" {
    run --separate-stderr berth --json run localhost/busybox -- echo hi
    [ "$status" -eq 0 ]
    echo "$output" | head -n -1 | grep -q '"Line":"hi"'
    echo "$output" | tail -n 1 | jq -e '.ExitStatus == 0'
}

@test "run --detach prints the unit name" {
    run berth run --detach localhost/busybox -- true
    [ "$status" -eq 0 ]
    [[ "$output" == berth-run-*.service ]]
}

@test "logs -f shows a line written after it started and ends when the container is deleted" {
    berth install tick --from-json - --start <<<'{"Image":"localhost/busybox","Cmd":["sh","-c","while sleep 1; do echo tick-$(date +%s); done"]}'
    berth logs tick -f > "$BATS_TEST_TMPDIR/log" 2>&1 &
    pid=$!
    sleep 4
    berth delete tick
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    ! kill -0 "$pid" 2>/dev/null
    grep -q 'tick-' "$BATS_TEST_TMPDIR/log"
}

@test "a start that fails is reported as failed with the journal tail" {
    berth install bad --from-json - <<<'{"Image":"localhost/busybox","Cmd":["/no/such/program"],"Restart":"no"}'
    run berth start bad
    [ "$status" -eq 1 ]
    [[ "$output" == *"Unable to start this container"* ]]
    run --separate-stderr berth --json start bad
    [ "$status" -eq 1 ]
    echo "$output" | jq -e '.Error.Data.JobResult != "done"'
}

@test "start --no-wait returns Accepted" {
    berth install nw --from-json - <<<'{"Image":"localhost/busybox","Cmd":["sleep","600"]}'
    run berth --json start --no-wait nw
    [ "$status" -eq 0 ]
    [[ "$output" == *Accepted* ]]
}

@test "content env and NotAcceptable" {
    berth install c --image localhost/busybox --env A=1
    run berth content c --type env
    [ "$status" -eq 0 ]
    [ "$output" = "A=1" ]
    run berth content c --type git
    [ "$status" -eq 6 ]
}

@test "inspect --json parses and shows the rendered service" {
    berth install i --image localhost/busybox
    run --separate-stderr berth --json inspect i
    [ "$status" -eq 0 ]
    echo "$output" | jq -e '.Units[0].Name == "berth-i.service"'
}

@test "a bad image reference fails at install, and nothing is left" {
    run berth install nope --image localhost/does-not-exist:never
    [ "$status" -eq 1 ]
    [ ! -e /etc/berth/containers/nope.json ]
    run berth install never --from-json - <<<'{"Image":"localhost/does-not-exist:x","Pull":"never"}'
    [ "$status" -eq 1 ]
    [[ "$output" == *"Pull is never"* ]]
}

@test "purge leaves nothing behind" {
    berth install p1 --image localhost/busybox --start
    berth install p2 --image localhost/busybox
    run berth purge
    [ "$status" -eq 2 ]
    run berth --json purge --yes
    [ "$status" -eq 0 ]
    [ -z "$(ls /etc/berth/containers)" ]
    ! systemctl is-active --quiet berth-p1.service
}
