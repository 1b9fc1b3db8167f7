#!/usr/bin/env bats
# Issue 10, values are root-only: a container's environment value and a
# podman secret (as a variable and as a file) reach the container exactly,
# while an unprivileged user of the guest finds neither in /etc/berth,
# /run/systemd, /var/lib/berth, /run/berth, `systemctl show`,
# /proc/*/cmdline or journalctl. `berth run --env` likewise.
#
# Reboot: none needed.

load helpers

ID=s12-app
ENV_VALUE='env-Value-7f3a9c #not a comment; $HOME %n "q"'
SECRET_VALUE='secret-Value-b41d2e'
PROBE=berthprobe

as_probe() { runuser -u $PROBE -- "$@"; }

# leaks NEEDLE: prints where an unprivileged user finds NEEDLE; empty = none.
# The needle goes to grep in a file, never in its argv: the /proc/*/cmdline
# scan would otherwise find the grep itself.
leaks() {
    local pat=$BATS_TEST_TMPDIR/needle
    printf '%s\n' "$1" >"$pat"
    as_probe grep -rlF -- "$1" /etc/berth /run/systemd /var/lib/berth /run/berth 2>/dev/null
    as_probe systemctl show --all 'berth-*' 2>/dev/null | grep -F -f "$pat"
    # (A process that ends during the scan makes the shell complain: quiet.)
    as_probe sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f"; echo " [$f]"; done' 2>/dev/null |
        grep -F -f "$pat"
    as_probe journalctl --no-pager -q 2>/dev/null | grep -F -f "$pat"
    true
}

wait_until() {
    local n=$1; shift
    for _ in $(seq "$n"); do "$@" && return 0; sleep 1; done
    "$@"
}
running() { [ "$(podman inspect -f '{{.State.Running}}' berth-$ID 2>/dev/null)" = true ]; }

setup_file() {
    id $PROBE >/dev/null 2>&1 || useradd --system --no-create-home $PROBE
}

@test "berth secret create reads the value from stdin, never argv" {
    podman secret rm s12-token >/dev/null 2>&1 || true
    run sh -c "printf %s '$SECRET_VALUE' | berth secret create s12-token"
    [ "$status" -eq 0 ]
    run berth secret list
    [[ "$output" == *s12-token* ]]
    [[ "$output" != *"$SECRET_VALUE"* ]]
}

@test "a container sees its environment value and its secret exactly" {
    jq -n --arg v "$ENV_VALUE" '{
        Image: "localhost/busybox", Started: true, Cmd: ["sleep", "infinity"],
        Environment: {Variables: [{Name: "APP_VALUE", Value: $v}]},
        Secrets: [{Name: "s12-token", Type: "env", Target: "APP_TOKEN"},
                  {Name: "s12-token", Type: "mount", Target: "token"}]}' >/tmp/$ID.json
    run berth install $ID --from-json /tmp/$ID.json
    [ "$status" -eq 0 ]
    wait_until 60 running
    # The image's busybox has no printenv applet: the shell prints them.
    run podman exec berth-$ID sh -c 'printf "%s" "$APP_VALUE"'
    [ "$output" = "$ENV_VALUE" ]
    run podman exec berth-$ID sh -c 'printf "%s" "$APP_TOKEN"'
    [ "$output" = "$SECRET_VALUE" ]
    run podman exec berth-$ID cat /run/secrets/token
    [ "$output" = "$SECRET_VALUE" ]
}

@test "the files that hold the value are root-only" {
    [ "$(stat -c %a /etc/berth/containers/$ID.json)" = 600 ]
    [ "$(stat -c %a /run/systemd/generator/berth-$ID.env)" = 600 ]
    [ "$(stat -c %a /var/lib/berth)" = 700 ]
    run systemctl cat berth-$ID.service
    [[ "$output" == *"--env-file=/run/systemd/generator/berth-$ID.env"* ]]
    [[ "$output" != *env-Value* ]]
}

@test "an unprivileged user finds neither the env value nor the secret" {
    run leaks env-Value-7f3a9c
    [ -z "$output" ]
    run leaks "$SECRET_VALUE"
    [ -z "$output" ]
}

@test "berth run --env keeps the value out of the transient unit" {
    run berth --json run --env RUN_VALUE=run-Value-99e1 localhost/busybox -- sh -c 'echo "got $RUN_VALUE"'
    [ "$status" -eq 0 ]
    unit=$(jq -r '..|objects|.Unit? // empty' <<<"$output" | head -n1)
    [ -n "$unit" ]
    logged() { journalctl -u "$unit" --no-pager -q | grep -q 'got run-Value-99e1'; }
    wait_until 60 logged
    run as_probe systemctl show -p ExecStart "$unit"
    [[ "$output" != *run-Value-99e1* ]]
    # The env file is removed when the unit stops.
    gone() { ! ls /run/berth/run/"$unit".env 2>/dev/null; }
    wait_until 30 gone
    # podman's clean-up of the container runs after the unit: let it end.
    settled() { ! pgrep -f -- "$unit" >/dev/null; }
    wait_until 30 settled
    # The container's own output is the one place the value shows: the
    # journal of root's unit, which the probe cannot read.
    run leaks run-Value-99e1
    [ -z "$output" ] || fail "an unprivileged user finds the value: $output"
}

@test "a secret in use is not removed; delete, then it is" {
    run berth secret rm s12-token
    [ "$status" -ne 0 ]
    [[ "$output" == *$ID* ]]
    run berth delete $ID
    [ "$status" -eq 0 ]
    run berth secret rm s12-token
    [ "$status" -eq 0 ]
}
