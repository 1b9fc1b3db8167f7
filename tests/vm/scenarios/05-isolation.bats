#!/usr/bin/env bats
# Scenario 5, isolation: an isolated container runs as its own unprivileged
# host id range (seen from the host with ps and /proc/PID/uid_map), carries
# its MCS level in `podman inspect`, and two isolated containers never share
# a level or a range.
load helpers

a=s5-a b=s5-b
DIAG_UNITS=("berth-$a.service" "berth-$b.service")

teardown_file() { forget $a $b; }

# host_pid ID — the host pid of the container's first process.
host_pid() {
    local c pid
    c=$(ctr "$1") || fail "no podman container for $1"
    pid=$(podman inspect -f '{{.State.Pid}}' "$c")
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] || fail "no host pid for $c"
    echo "$pid"
}

unprivileged() {
    local pid uid
    pid=$(host_pid "$1")
    uid=$(ps -o uid= -p "$pid" | tr -d ' ')
    log "$1: host pid $pid runs as host uid $uid ($(ps -o user= -p "$pid"))"
    [[ "$uid" != 0 ]] || fail "$1: container root is host root (uid 0)"
}

subordinate_range() {
    local pid inside outside count
    pid=$(host_pid "$1")
    read -r inside outside count < <(head -n1 "/proc/$pid/uid_map")
    log "$1: uid_map $inside $outside $count"
    [[ "$inside" == 0 && "$outside" != 0 ]] || fail "$1: uid 0 is not mapped to a subordinate range"
    save "range-$1" "$outside $count"
}

mcs_level() {
    local lvl
    lvl=$(podman inspect "$(ctr "$1")" | grep -o 's0:c[0-9]\+,c[0-9]\+' | head -n1 || true)
    [[ -n "$lvl" ]] || fail "$1: no MCS level (s0:cX,cY) in podman inspect"
    log "$1: podman inspect carries MCS level $lvl"
    save "level-$1" "$lvl"
}

@test "berth CLI is installed" {
    need_berth
}

@test "install isolated $a" {
    berth install $a --image localhost/nginx --port 80:18501 --isolate --start
}

@test "install isolated $b" {
    berth install $b --image localhost/nginx --port 80:18502 --isolate --start
}

@test "$a answers" {
    wait_for 90 http_get http://127.0.0.1:18501/
}

@test "$b answers" {
    wait_for 90 http_get http://127.0.0.1:18502/
}

@test "user ctr-$a exists" {
    getent passwd ctr-$a
}

@test "user ctr-$b exists" {
    getent passwd ctr-$b
}

@test "$a: container root is unprivileged on the host" {
    unprivileged $a
}

@test "$a: uid 0 is mapped to a subordinate host range" {
    subordinate_range $a
}

@test "$a: podman inspect carries an MCS level" {
    mcs_level $a
}

@test "$a: it is the level in the definition" {
    expect_eq "$(saved level-$a)" "$(jq -r .McsLevel "$DEFS/$a.json")"
}

@test "$b: container root is unprivileged on the host" {
    unprivileged $b
}

@test "$b: uid 0 is mapped to a subordinate host range" {
    subordinate_range $b
}

@test "$b: podman inspect carries an MCS level" {
    mcs_level $b
}

@test "$b: it is the level in the definition" {
    expect_eq "$(saved level-$b)" "$(jq -r .McsLevel "$DEFS/$b.json")"
}

@test "MCS levels differ" {
    local la lb
    la=$(saved level-$a) lb=$(saved level-$b)
    log "levels $la / $lb"
    [[ "$la" != "$lb" ]] || fail "both containers got MCS level $la"
}

@test "host id ranges are disjoint" {
    local sa ca sb cb
    read -r sa ca <<<"$(saved range-$a)"
    read -r sb cb <<<"$(saved range-$b)"
    log "ranges $sa+$ca / $sb+$cb"
    ((sa + ca <= sb || sb + cb <= sa)) || fail "host id ranges overlap ($sa+$ca / $sb+$cb)"
}
