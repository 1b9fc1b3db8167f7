#!/usr/bin/env bats
# Scenario 27, UDP ports (issue 14): a UDP echo server (Python, in
# localhost/python) answers from the host side through a published UDP
# port whose External `berth install` allocated (podman
# --publish=EXT:5353/udp). Socket-activated directly (SocketActivation +
# SkipSocketProxy) the port is systemd's ListenDatagram= socket: nothing
# runs before the first datagram, which starts the container; the server
# answers on the descriptor systemd handed it (LISTEN_FDS). A proxied UDP
# port is refused by `berth install` (berth-proxy forwards TCP only).
load helpers

echo_id=s27-echo sa=s27-sa proxied=s27-proxied
SA_PORT=18271
DIAG_UNITS=("berth-$echo_id.service" "berth-$sa.socket" "berth-$sa.service")

teardown_file() {
    local id
    for id in $echo_id $sa $proxied; do
        berth delete --volumes $id >/dev/null 2>&1 || true
    done
    forget $echo_id $sa $proxied
    rm -f /tmp/s27-*.json
}

# The echo server: answers each datagram with "echo (HOW): DATA", HOW
# saying where its socket came from: "LISTEN_FDS=N" when systemd passed it
# (fd 3), "bound" when it bound port 5353 itself.
server='import os, socket
fds = int(os.environ.get("LISTEN_FDS", "0"))
if fds:
    s = socket.socket(fileno=3)
    how = "LISTEN_FDS=%d" % fds
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 5353))
    how = "bound"
print("udp-echo: serving (%s) on %s" % (how, s.getsockname()), flush=True)
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(b"echo (" + how.encode() + b"): " + data, peer)'

# def ID EXTRA — the echo server's definition, EXTRA (a JSON object) merged in.
def() {
    jq -n --arg server "$server" --argjson extra "$2" \
        '{Image: "localhost/python", Started: true, StopTimeout: 2,
          Cmd: ["/usr/bin/python3", "-c", $server]} + $extra' >"/tmp/$1.json"
}

# udp_ask PORT MESSAGE SECONDS [resend] — sends MESSAGE to 127.0.0.1:PORT
# from the host side and prints the first answer. One datagram only; with
# "resend", one from a new socket every 2 s (a server that has not bound
# yet drops them).
udp_ask() {
    python3 - "$@" <<'PY'
import socket, sys, time
port, msg, limit = int(sys.argv[1]), sys.argv[2].encode(), float(sys.argv[3])
resend = sys.argv[4:] == ["resend"]
end = time.monotonic() + limit
s = None
while True:
    if s is None or resend:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(msg, ("127.0.0.1", port))
    s.settimeout(max(0.1, min(2.0, end - time.monotonic())))
    try:
        data, _ = s.recvfrom(65535)
        print(data.decode())
        sys.exit(0)
    except socket.timeout:
        pass
    except OSError:
        time.sleep(0.5)
    if time.monotonic() >= end:
        print("no answer from 127.0.0.1:%d within %gs" % (port, limit), file=sys.stderr)
        sys.exit(1)
PY
}

@test "berth CLI is installed" {
    need_berth
}

@test "berth install refuses a proxied UDP port (exit 2), naming Ports and the rule" {
    def $proxied '{"SocketActivation": true, "Ports": [{"Internal": 5353, "External": 0, "Protocol": "udp"}]}'
    run berth install $proxied --from-json /tmp/$proxied.json
    [ "$status" -eq 2 ] || fail "exit $status: $output"
    expect_contains "Ports[0].Protocol" "$output"
    expect_contains "udp cannot be proxied: berth-proxy forwards TCP streams only" "$output"
    refute test -e "$DEFS/$proxied.json"
    refute unit_exists berth-$proxied.socket
}

@test "install $echo_id with a UDP port, External 0: berth install allocates it" {
    local out port
    def $echo_id '{"Ports": [{"Internal": 5353, "External": 0, "Protocol": "udp"}]}'
    berth install $echo_id --from-json /tmp/$echo_id.json --start
    # stdout only: berth says what it did on stderr.
    out=$(berth ports $echo_id --json)
    port=$(jq -r '.Ports[0].External' <<<"$out")
    expect_eq udp "$(jq -r '.Ports[0].Protocol' <<<"$out")"
    expect_eq 5353 "$(jq -r '.Ports[0].Internal' <<<"$out")"
    [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0)) || fail "no External allocated: $out"
    expect_eq "$port" "$(external_port $echo_id)"
    save port "$port"
    log "allocated External $port/udp"
}

@test "podman publishes it as UDP" {
    local port
    port=$(saved port)
    expect_contains "--publish=$port:5353/udp" "$(systemctl cat berth-$echo_id.service)"
    wait_for 60 unit_active berth-$echo_id.service
    expect_contains "5353/udp" "$(podman port berth-$echo_id)"
}

@test "the echo server answers through the published port" {
    local reply
    reply=$(udp_ask "$(saved port)" "hello $echo_id" 120 resend) || fail "no answer on $(saved port)/udp"
    expect_eq "echo (bound): hello $echo_id" "$reply"
}

@test "install $sa: direct socket activation of a UDP port is a ListenDatagram= socket" {
    def $sa '{"SocketActivation": true, "SkipSocketProxy": true,
              "Ports": [{"Internal": 5353, "External": '$SA_PORT', "Protocol": "udp"}]}'
    berth install $sa --from-json /tmp/$sa.json --start
    wait_for 30 unit_active berth-$sa.socket
    expect_contains "ListenDatagram=$SA_PORT" "$(systemctl cat berth-$sa.socket)"
    expect_contains "$SA_PORT (Datagram)" "$(systemctl show -P Listen berth-$sa.socket)"
}

@test "nothing runs for $sa before the first datagram" {
    unit_inactive berth-$sa.service
    unit_inactive "berth-proxy@$sa.service"
    refute podman container exists berth-$sa
}

@test "the first datagram starts $sa, which answers on systemd's socket (LISTEN_FDS)" {
    local t0 reply
    t0=$(date +%s.%N)
    # One datagram: it waits in systemd's socket until the server reads it.
    reply=$(udp_ask $SA_PORT "hello $sa" 120) || fail "the first datagram was not answered"
    log "answered in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s (cold start)"
    expect_eq "echo (LISTEN_FDS=1): hello $sa" "$reply"
}

@test "the service of $sa runs, no berth-proxy" {
    unit_active berth-$sa.service
    unit_inactive "berth-proxy@$sa.service"
}

@test "a second datagram is answered on the same inherited socket" {
    local reply
    reply=$(udp_ask $SA_PORT "again" 30) || fail "the second datagram was not answered"
    expect_eq "echo (LISTEN_FDS=1): again" "$reply"
}

@test "berth delete --volumes removes both" {
    local id
    for id in $echo_id $sa; do
        berth delete --volumes $id
        refute test -e "$DEFS/$id.json"
        wait_for 60 eval "! podman container exists berth-$id"
    done
    refute unit_exists berth-$sa.socket
    unit_inactive berth-$sa.socket
}
