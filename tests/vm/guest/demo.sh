#!/bin/bash
# The guest half of `make demo` (started from the share by berth-vm-entry):
# installs the build, installs a socket-activated nginx with `berth install`,
# shows the generated units and `berth list`, then waits while the host sends
# HTTP requests through the proxy, shows what started, and powers off.
# Everything it prints goes to demo/guest.out, which the host shows live.
set -uo pipefail
share=/mnt/share
out=$share/demo/guest.out
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec >>"$out" 2>&1
trap 'sync; systemctl poweroff' EXIT
show() {
    printf '\n\033[1mguest# %s\033[0m\n' "$*"
    "$@"
}

systemctl is-system-running --wait >/dev/null 2>&1
echo "guest: systemd $(systemctl --version | head -n1 | cut -d' ' -f2) is PID 1, system $(systemctl is-system-running), up $(cut -d' ' -f1 /proc/uptime)s"
tar -C "$share/staging" -cf - . | tar -C / -xf - --keep-directory-symlink --no-same-owner
systemctl daemon-reload

show berth install web --image localhost/nginx --port 80:8080 --socket-activated --start || exit 1
show berth list
show systemctl list-units --no-pager --all 'berth*'
show systemctl cat berth-web.socket berth-proxy@web.service berth-web.service
show podman ps --format '{{.Names}} {{.Status}}'
echo "(no container runs yet: systemd holds port 8080 and waits for a connection)"
touch "$share/demo/ready"

# The host now sends its requests; wait for it (at most 5 minutes).
for _ in $(seq 600); do
    [[ -e "$share/demo/requests-done" ]] && break
    sleep 0.5
done
show systemctl list-units --no-pager --all 'berth*'
show podman ps --format '{{.Names}} {{.Status}} {{.Ports}}'
show berth status web
show journalctl -b --no-pager -o cat -u berth-proxy@web.service
