#!/bin/bash
# Scenario 5, isolation: an isolated container runs as its own unprivileged
# host id range (seen from the host with ps and /proc/PID/uid_map), carries
# its MCS level in `podman inspect`, and two isolated containers never share
# a level or a range.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
a=s5-a b=s5-b
trap 'forget $a $b' EXIT
DIAG_UNITS=("berth-$a.service" "berth-$b.service")
check "install isolated $a" berth install $a --image localhost/nginx --port 80:18501 --isolate --start
check "install isolated $b" berth install $b --image localhost/nginx --port 80:18502 --isolate --start
wait_for 90 "$a answers" http_get http://127.0.0.1:18501/
wait_for 90 "$b answers" http_get http://127.0.0.1:18502/
check "user ctr-$a exists" getent passwd ctr-$a
check "user ctr-$b exists" getent passwd ctr-$b

declare -A range level
for id in $a $b; do
    c=$(ctr "$id") || fail "no podman container for $id"
    pid=$(podman inspect -f '{{.State.Pid}}' "$c")
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] || fail "no host pid for $c"
    uid=$(ps -o uid= -p "$pid" | tr -d ' ')
    log "$id: container $c, host pid $pid runs as host uid $uid ($(ps -o user= -p "$pid"))"
    [[ "$uid" != 0 ]] || fail "$id: container root is host root (uid 0)"
    ok "$id: container root is unprivileged on the host (uid $uid)"
    read -r inside outside count < <(head -n1 "/proc/$pid/uid_map")
    log "$id: uid_map $inside $outside $count"
    [[ "$inside" == 0 && "$outside" != 0 ]] || fail "$id: uid 0 is not mapped to a subordinate range"
    range[$id]="$outside $count"
    inspect=$(podman inspect "$c")
    lvl=$(grep -o 's0:c[0-9]\+,c[0-9]\+' <<<"$inspect" | head -n1 || true)
    [[ -n "$lvl" ]] || fail "$id: no MCS level (s0:cX,cY) in podman inspect"
    ok "$id: podman inspect carries MCS level $lvl"
    expect_eq "$id: it is the level in the definition" "$lvl" "$(jq -r .McsLevel "$DEFS/$id.json")"
    level[$id]=$lvl
done
[[ "${level[$a]}" != "${level[$b]}" ]] || fail "both containers got MCS level ${level[$a]}"
ok "MCS levels differ (${level[$a]} / ${level[$b]})"
read -r sa ca <<<"${range[$a]}"
read -r sb cb <<<"${range[$b]}"
if ((sa + ca <= sb || sb + cb <= sa)); then
    ok "host id ranges are disjoint ($sa+$ca / $sb+$cb)"
else
    fail "host id ranges overlap ($sa+$ca / $sb+$cb)"
fi
