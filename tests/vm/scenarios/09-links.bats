#!/usr/bin/env bats
# Scenario 9, links: a container reaches a service on the host through a
# NetworkLinks entry (127.0.0.1:8081 inside the container → the host's
# address, port 18901, where a host-side busybox httpd answers).
load helpers

id=s9-link
DIAG_UNITS=("berth-$id.service" s9-host.service)

host_ip() { ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }'; }

# fetch HOST PORT — GET / from inside the container. busybox's static wget
# crashes in the container (no NSS there), so the client is a plain
# HTTP/1.0 GET over python's socket module.
fetch() {
    podman exec "$(ctr $id)" python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"GET / HTTP/1.0\r\nHost: link\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head
sys.stdout.write(body.decode().strip())' "$1" "$2"
}

# The container's network namespace, for a failed fetch.
diagnose() {
    local c pid ip
    c=$(ctr $id) ip=$(host_ip)
    pid=$(podman inspect -f '{{.State.Pid}}' "$c")
    echo "container network namespace (pid $pid):"
    nsenter --target="$pid" --net -- nft list ruleset 2>&1 | sed 's/^/   /'
    nsenter --target="$pid" --net -- sysctl net.ipv4.conf.all.route_localnet 2>&1 | sed 's/^/   /'
    nsenter --target="$pid" --net -- ip -4 addr 2>&1 | sed 's/^/   /'
    nsenter --target="$pid" --net -- ip route 2>&1 | sed 's/^/   route: /'
    nsenter --target="$pid" --net -- ip route get "$ip" from 127.0.0.1 2>&1 | sed 's/^/   route get from lo: /'
    nsenter --target="$pid" --net -- sysctl net.ipv4.conf.eth0.route_localnet net.ipv4.conf.all.rp_filter net.ipv4.conf.eth0.rp_filter 2>&1 | sed 's/^/   /'
    { fetch "$ip" 18901 2>&1 || true; } | sed 's/^/   direct: /'
    systemctl show -p ExecStartPost berth-$id.service | sed 's/^/   /'
}

teardown_file() {
    forget $id
    systemctl stop s9-host.service 2>/dev/null || true
}

@test "berth CLI is installed" {
    need_berth
}

@test "host service starts" {
    mkdir -p /tmp/s9www
    echo "hello from the host" >/tmp/s9www/index.html
    systemd-run --unit s9-host busybox httpd -f -p 18901 -h /tmp/s9www
}

@test "the guest has an IPv4 address on eth0" {
    [[ -n "$(host_ip)" ]] || fail "no IPv4 address on eth0"
    log "host address $(host_ip)"
}

@test "host service answers on the host address, port 18901" {
    wait_for 20 http_get "http://$(host_ip):18901/"
}

@test "install with a network link" {
    cat >/tmp/$id.json <<JSON
{"Image": "localhost/python", "Started": true, "Cmd": ["python3", "-c", "import time; time.sleep(3600)"],
 "NetworkLinks": [{"FromHost": "127.0.0.1", "FromPort": 8081, "ToHost": "$(host_ip)", "ToPort": 18901}]}
JSON
    berth install $id --from-json /tmp/$id.json --start
}

@test "berth-$id.service runs" {
    wait_for 90 unit_active berth-$id.service
}

@test "the container exists" {
    ctr $id
}

@test "the container reached the host service through the link" {
    local body
    if ! body=$(fetch 127.0.0.1 8081); then
        diagnose
        fail "the link did not reach the host service"
    fi
    expect_eq "hello from the host" "$body"
}
