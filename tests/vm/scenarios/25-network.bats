#!/usr/bin/env bats
# Scenario 25, networks (issue 14): s25-a and s25-b on the named network
# s25net, which berth creates at the first install (podman network create:
# with netavark, DNS is on for it), reach each other by container name and
# by NetworkAliases; deleting one keeps the network for the other, deleting
# the last removes it. A network berth did not create is never removed.
load helpers

a=s25-a b=s25-b c=s25-c net=s25net theirs=s25-theirs
DIAG_UNITS=("berth-$a.service" "berth-$b.service")

teardown_file() {
    forget $a $b $c
    podman network rm $theirs >/dev/null 2>&1 || true
    rm -f /tmp/s25-*.json
}

# A plain-socket HTTP server on 8080 answering "hello from NAME"
# (python3-minimal has no http.server).
server='import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 8080))
s.listen(16)
while True:
    c, _ = s.accept()
    with c:
        c.recv(65536)
        c.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello from " + sys.argv[1].encode())'

# def ID NETWORK [ALIAS] — the definition of a server named ID on NETWORK.
def() {
    jq -n --arg net "$2" --arg name "$1" --arg alias "${3:-}" --arg server "$server" \
        '{Image: "localhost/python", Started: true, StopTimeout: 2, Network: $net,
          Cmd: ["python3", "-c", $server, $name]}
         + (if $alias == "" then {} else {NetworkAliases: [$alias]} end)' >"/tmp/$1.json"
}

# fetch FROM HOST — GET http://HOST:8080/ from inside container FROM, by
# name (the network's DNS); prints the body.
fetch() {
    podman exec "berth-$1" python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], 8080), timeout=10)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.partition(b"\r\n\r\n")[2].decode())' "$2"
}
answers() { [[ "$(fetch "$1" "$2" 2>/dev/null)" == "hello from $3" ]]; }
net_exists() { podman network exists "$1"; }

# DNS on a named network is netavark's (aardvark-dns); with CNI it needs
# the dnsname plugin, which the Debian 12 guest does not have.
need_dns() {
    local backend
    backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)
    [[ "$backend" == netavark ]] || skip "network backend ${backend:-unknown}: no DNS on named networks"
}

@test "berth CLI is installed" {
    need_berth
}

@test "no network $net before" {
    refute net_exists $net
}

@test "install $a on $net creates the network and records it" {
    def $a $net s25-alias
    # stdout only: berth says what it did on stderr.
    output=$(berth --json install $a --from-json /tmp/$a.json --start)
    expect_eq $net "$(jq -r .CreatedNetwork <<<"$output")"
    net_exists $net
    test -e /var/lib/berth/networks/$net
}

@test "install $b on $net uses it" {
    def $b $net
    # stdout only: berth says what it did on stderr.
    output=$(berth --json install $b --from-json /tmp/$b.json --start)
    expect_eq null "$(jq -r .CreatedNetwork <<<"$output")"
}

@test "both run on $net" {
    wait_for 60 unit_active berth-$a.service
    wait_for 60 unit_active berth-$b.service
    expect_contains $net "$(podman inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' berth-$a)"
    log "network backend: $(podman info --format '{{.Host.NetworkBackend}}'), DNS: $(podman network inspect -f '{{.DNSEnabled}}' $net)"
}

@test "$b reaches $a by container name" {
    need_dns
    wait_for 30 answers $b berth-$a $a
}

@test "$a reaches $b by container name" {
    need_dns
    wait_for 30 answers $a berth-$b $b
}

@test "$b reaches $a by its NetworkAliases" {
    need_dns
    wait_for 30 answers $b s25-alias $a
}

@test "deleting $a keeps $net: $b uses it" {
    berth delete $a
    net_exists $net
    test -e /var/lib/berth/networks/$net
}

@test "deleting $b, the last on $net, removes it" {
    # stdout only: berth says what it did on stderr.
    output=$(berth --json delete $b)
    expect_eq "[\"$net\"]" "$(jq -c .RemovedNetworks <<<"$output")"
    refute net_exists $net
    refute test -e /var/lib/berth/networks/$net
}

@test "a network berth did not create stays after its last container" {
    podman network create $theirs >/dev/null
    def $c $theirs
    berth install $c --from-json /tmp/$c.json --start
    wait_for 60 unit_active berth-$c.service
    berth delete $c
    net_exists $theirs
}
