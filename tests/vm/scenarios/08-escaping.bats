#!/usr/bin/env bats
# Scenario 8, escaping: environment values and arguments holding quotes, %,
# $, backslashes and spaces reach the container byte for byte (arguments
# newlines too; an environment value with a newline is refused, since
# podman's --env-file reads one NAME=VALUE per line); the container prints
# them and the output equals what the same script prints here with the
# same values.
# shellcheck disable=SC2016,SC1003 # the values are literal on purpose
load helpers

id=s8-esc
DIAG_UNITS=("berth-$id.service")
values=(
    "double \"quoted\" and 'single'"
    '100% %n %% %i %h %%%'
    '$HOME ${PATH} $$ $(id) `id`'
    'back\slash \\ \n \t end\'
    '  leading and trailing spaces  '
    $'line one\nline two\n'
    ';|&<>*?[]{}~#!'
    'specifier %u and systemd $MAINPID'
)
# The environment gets the same values but for the newline (a tab instead).
env_values=("${values[@]}")
env_values[5]=$'line one\tline two'
# The container prints each env value and argument between markers.
script='i=0; for n in V0 V1 V2 V3 V4 V5 V6 V7; do eval "v=\$$n"; printf "env %s=<%s>\n" "$n" "$v"; done; for a in "$@"; do printf "arg <%s>\n" "$a"; done; echo END-OF-VALUES; exec sleep 3600'

printed() { podman logs "$(ctr $id)" 2>&1 | grep -q END-OF-VALUES; }

teardown_file() { forget $id; }

@test "berth CLI is installed" {
    need_berth
}

@test "an environment value with a newline is refused, naming the field" {
    jq -n --arg v $'a\nb' '{Image: "localhost/busybox", Environment: {Variables: [{Name: "NL", Value: $v}]}}' >/tmp/$id-nl.json
    run berth install $id-nl --from-json /tmp/$id-nl.json
    [ "$status" -eq 2 ]
    [[ "$output" == *"Environment.Variables[0].Value"*newline* ]]
    run berth status $id-nl
    [ "$status" -ne 0 ]
}

@test "install with hostile values" {
    local env_json cmd_json i
    env_json=$(for i in "${!env_values[@]}"; do jq -n --arg n "V$i" --arg v "${env_values[$i]}" '{Name: $n, Value: $v}'; done | jq -s .)
    cmd_json=$(jq -n --arg s "$script" '["sh", "-c", $s, "sh"] + $ARGS.positional' --args "${values[@]}")
    jq -n --argjson env "$env_json" --argjson cmd "$cmd_json" \
        '{Image: "localhost/busybox", Started: true, Restart: "no", Environment: {Variables: $env}, Cmd: $cmd}' >/tmp/$id.json
    berth install $id --from-json /tmp/$id.json --start
}

@test "berth-$id.service runs" {
    wait_for 90 unit_active berth-$id.service
}

@test "the container printed its values" {
    wait_for 60 printed
}

@test "every value arrived exactly" {
    local actual expected
    actual=$(podman logs "$(ctr $id)" 2>&1 | sed '/END-OF-VALUES/q')
    expected=$(env V0="${env_values[0]}" V1="${env_values[1]}" V2="${env_values[2]}" V3="${env_values[3]}" \
        V4="${env_values[4]}" V5="${env_values[5]}" V6="${env_values[6]}" V7="${env_values[7]}" busybox sh -c "${script/exec sleep 3600/true}" sh "${values[@]}")
    if [[ "$actual" != "$expected" ]]; then
        diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | sed 's/^/  | /' || true
        fail "values changed on the way into the container"
    fi
}
