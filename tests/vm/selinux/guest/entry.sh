#!/bin/bash
# Runs inside the SELinux guest (started from the share by berth-vm-entry,
# as unconfined_t through the harness module berth_vmtest). Runs the
# scenarios listed in scenarios.list in order, writing
# results/<scenario>.{rc,log,time} to the share, then powers off.
set -uo pipefail
share=/mnt/share
res=$share/results
mkdir -p "$res"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export BERTH_VM_SHARE=$share

systemctl is-system-running --wait >/dev/null 2>&1
echo "SELinux $(getenforce 2>&1), $(id -Z 2>&1), system $(systemctl is-system-running 2>&1), up $(cut -d' ' -f1 /proc/uptime)s" >"$res/boot.selinux"
touch "$res/boot.started"

while read -r name; do
    [[ -n "$name" ]] || continue
    t0=$(date +%s.%N)
    timeout -k 10 "${BERTH_VM_SCENARIO_TIMEOUT:-400}" \
        bash "$share/scenarios/$name.sh" >"$res/$name.log" 2>&1 </dev/null
    rc=$?
    # A scenario never leaves the guest enforcing for the next one.
    setenforce 0 2>/dev/null || true
    awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$res/$name.time"
    echo "$rc" >"$res/$name.rc"
    sync
done <"$share/scenarios.list"

journalctl -b --no-pager -o short-monotonic >"$res/journal.txt" 2>&1
cp /var/log/audit/audit.log "$res/audit.log" 2>/dev/null || true
touch "$res/done"
sync
systemctl poweroff
