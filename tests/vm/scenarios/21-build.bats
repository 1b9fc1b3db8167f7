#!/usr/bin/env bats
# issue 12, item 6: berth build / berth builds (geard BuildImageRequest,
# ListBuildsRequest) with real systemd and podman. No registry: every
# Containerfile starts FROM localhost/busybox.
load helpers

DIAG_UNITS=(berth-build-demo.service berth-build-broken.service berth-app.service)

teardown_file() {
    berth delete app >/dev/null 2>&1 || true
    podman rmi -f localhost/demo:latest localhost/demo:v2 >/dev/null 2>&1 || true
    rm -rf "$STATE/build-ctx" "$STATE/build-bad"
}

@test "build streams the step lines and exits 0 (relative --source made absolute)" {
    mkdir -p "$STATE/build-ctx"
    echo 'hello from a berth build' >"$STATE/build-ctx/hello.txt"
    cat >"$STATE/build-ctx/Containerfile" <<'CF'
FROM localhost/busybox
COPY hello.txt /hello.txt
CMD ["sh", "-c", "cat /hello.txt; exec sleep 600"]
CF
    cd "$STATE"
    run berth build demo --source build-ctx
    [ "$status" -eq 0 ] || fail "status $status: $output"
    expect_contains "STEP 1/3: FROM localhost/busybox" "$output"
    expect_contains "STEP 2/3: COPY hello.txt /hello.txt" "$output"
    expect_contains "Built localhost/demo:latest" "$output"
    # Without --verbose only the step lines come through.
    [[ "$output" != *"--> "* ]] || fail "not a step line in: $output"
}

@test "the image is tagged localhost/demo" {
    podman image exists localhost/demo
    podman image exists localhost/demo:latest
}

@test "install runs the built image and it prints the copied file" {
    berth install app --image localhost/demo --start
    wait_for 30 sh -c 'berth logs app | grep -q "hello from a berth build"'
    expect_eq active "$(systemctl is-active berth-app.service)"
}

@test "builds shows the build as succeeded" {
    run berth builds
    [ "$status" -eq 0 ]
    echo "$output" | grep -E '^demo +succeeded +0 +localhost/demo:latest' || fail "$output"
    run berth --json builds
    echo "$output" | jq -e '.Builds[] | select(.Name == "demo") | .Result == "succeeded" and .Source == "'"$STATE"'/build-ctx"'
}

@test "--verbose streams podman's full output, --tag names the image" {
    run berth build demo --source "$STATE/build-ctx" --tag localhost/demo:v2 --verbose
    [ "$status" -eq 0 ] || fail "status $status: $output"
    expect_contains "--> " "$output"
    podman image exists localhost/demo:v2
}

@test "a failing build exits non-zero and is listed as failed" {
    mkdir -p "$STATE/build-bad"
    printf 'FROM localhost/busybox\nRUN /no/such/program\n' >"$STATE/build-bad/Containerfile"
    # podman passes the failed RUN's status on: 127, command not found.
    run -127 berth build broken --source "$STATE/build-bad"
    expect_contains "The build broken failed" "$output"
    run berth --json builds
    echo "$output" | jq -e '.Builds[] | select(.Name == "broken") | .Result == "failed" and .ExitStatus != 0'
}

@test "a bad name or tag is refused before anything runs" {
    run berth build Demo --source "$STATE/build-ctx"
    [ "$status" -eq 2 ]
    expect_contains "field Name" "$output"
    run berth build demo --source "$STATE/build-ctx" --tag 'bad tag'
    [ "$status" -eq 2 ]
    expect_contains "field Tag" "$output"
    refute systemctl is-active berth-build-Demo.service
}
