#!/usr/bin/env bats
# Scenario 8, escaping: environment values and arguments holding quotes, %,
# $, backslashes, spaces and newlines reach the container byte for byte; the
# container prints them and the output equals what the same script prints
# here with the same values.
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
# The container prints each env value and argument between markers.
script='i=0; for n in V0 V1 V2 V3 V4 V5 V6 V7; do eval "v=\$$n"; printf "env %s=<%s>\n" "$n" "$v"; done; for a in "$@"; do printf "arg <%s>\n" "$a"; done; echo END-OF-VALUES; exec sleep 3600'

printed() { podman logs "$(ctr $id)" 2>&1 | grep -q END-OF-VALUES; }

teardown_file() { forget $id; }

@test "berth CLI is installed" {
    need_berth
}

@test "install with hostile values" {
    local env_json cmd_json i
    env_json=$(for i in "${!values[@]}"; do jq -n --arg n "V$i" --arg v "${values[$i]}" '{Name: $n, Value: $v}'; done | jq -s .)
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
    expected=$(env V0="${values[0]}" V1="${values[1]}" V2="${values[2]}" V3="${values[3]}" V4="${values[4]}" \
        V5="${values[5]}" V6="${values[6]}" V7="${values[7]}" busybox sh -c "${script/exec sleep 3600/true}" sh "${values[@]}")
    if [[ "$actual" != "$expected" ]]; then
        diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | sed 's/^/  | /' || true
        fail "values changed on the way into the container"
    fi
}
