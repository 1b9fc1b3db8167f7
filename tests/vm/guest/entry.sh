#!/bin/bash
# Runs inside the guest at every boot of a test run (started from the share by
# berth-vm-entry). Boot 1 installs the build and runs the single-boot
# scenarios, then the "before-reboot" half of the reboot scenarios; if there
# are any, it reboots and boot 2 runs their "after-reboot" half. Results go to
# the share as results/<scenario>.<phase>.{rc,log,time}; the host reads them.
set -uo pipefail
share=/mnt/share
res=$share/results
state=/var/lib/berth-vm
mkdir -p "$res" "$state"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export BERTH_VM_SHARE=$share

boot=$(($(cat "$state/boot" 2>/dev/null || echo 0) + 1))
echo "$boot" >"$state/boot"
sync
say() { echo "berth-vm[boot $boot]: $*"; }

systemctl is-system-running --wait >/dev/null 2>&1
systemctl is-system-running >"$res/boot-$boot.state" 2>&1
say "system is $(cat "$res/boot-$boot.state") after $(cut -d' ' -f1 /proc/uptime)s"
cut -d' ' -f1 /proc/uptime >"$res/boot-$boot.uptime"
touch "$res/boot-$boot.started"

finish() {
    journalctl -b --no-pager -o short-monotonic >"$res/journal-$boot.txt" 2>&1
    dmesg >"$res/dmesg-$boot.txt" 2>&1
    sync
}

if ((boot == 1)) && [[ -d "$share/staging" ]]; then
    say "installing the build (make install DESTDIR tree)"
    {
        # --keep-directory-symlink: /lib, /bin … are symlinks into /usr here.
        tar -C "$share/staging" -cf - . | tar -C / -xf - --keep-directory-symlink --no-same-owner
        systemctl daemon-reload
        # What the package's postinst does: berth.target is WantedBy=multi-user.target.
        if systemctl cat berth.target >/dev/null 2>&1; then
            systemctl enable berth.target
        fi
    } >"$res/install.log" 2>&1
    echo $? >"$res/install.rc"
fi

run_phase() {
    local name=$1 phase=$2 t0 rc
    say "scenario $name ($phase)"
    t0=$(date +%s.%N)
    timeout -k 10 "${BERTH_VM_SCENARIO_TIMEOUT:-300}" \
        bash "$share/scenarios/$name.sh" "$phase" >"$res/$name.$phase.log" 2>&1 </dev/null
    rc=$?
    awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$res/$name.$phase.time"
    echo "$rc" >"$res/$name.$phase.rc"
    say "scenario $name ($phase) exit $rc"
    sync
}

reboots=0
while read -r name kind; do
    [[ -n "$name" ]] || continue
    if ((boot == 1)) && [[ "$kind" == single ]]; then run_phase "$name" run; fi
done <"$share/scenarios.list"
while read -r name kind; do
    [[ "$kind" == reboot ]] || continue
    reboots=1
    if ((boot == 1)); then
        run_phase "$name" before-reboot
    elif ((boot == 2)); then
        run_phase "$name" after-reboot
    fi
done <"$share/scenarios.list"

finish
if ((boot == 1 && reboots)); then
    say "rebooting"
    touch "$res/rebooting"
    sync
    systemctl reboot
else
    touch "$res/done"
    sync
    systemctl poweroff
fi
