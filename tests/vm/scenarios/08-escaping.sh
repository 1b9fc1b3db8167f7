#!/bin/bash
# Scenario 8, escaping: environment values and arguments holding quotes, %,
# $, backslashes, spaces and newlines reach the container byte for byte; the
# container prints them and the output equals what the same script prints
# here with the same values.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016,SC1003 # the values are literal on purpose
. "$(dirname "$0")/lib.sh"
need_berth
id=s8-esc
trap 'forget $id' EXIT
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
env_json=$(for i in "${!values[@]}"; do jq -n --arg n "V$i" --arg v "${values[$i]}" '{Name: $n, Value: $v}'; done | jq -s .)
cmd_json=$(jq -n --arg s "$script" '["sh", "-c", $s, "sh"] + $ARGS.positional' --args "${values[@]}")
jq -n --argjson env "$env_json" --argjson cmd "$cmd_json" \
    '{Image: "localhost/busybox", Started: true, Restart: "no", Environment: {Variables: $env}, Cmd: $cmd}' >/tmp/$id.json
check "install with hostile values" berth install $id --from-json /tmp/$id.json --start
wait_for 90 "berth-$id.service runs" unit_active berth-$id.service
printed() { podman logs "$(ctr $id)" 2>&1 | grep -q END-OF-VALUES; }
wait_for 60 "the container printed its values" printed
actual=$(podman logs "$(ctr $id)" 2>&1 | sed '/END-OF-VALUES/q')
expected=$(env V0="${values[0]}" V1="${values[1]}" V2="${values[2]}" V3="${values[3]}" V4="${values[4]}" \
    V5="${values[5]}" V6="${values[6]}" V7="${values[7]}" busybox sh -c "${script/exec sleep 3600/true}" sh "${values[@]}")
if [[ "$actual" == "$expected" ]]; then
    ok "every value arrived exactly"
else
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | sed 's/^/  | /' || true
    fail "values changed on the way into the container"
fi
