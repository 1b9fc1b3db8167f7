#!/bin/bash
# Runs inside the guest at every boot of a test run (started from the share
# by berth-vm-entry). Boot 1 installs the build (bin/berth-vm-install).
#
# Test run: each boot runs the bats files listed in boot-<N>.list (one
# `bats --tap` per file, TAP to results/<file>.tap, its ok/not ok lines to the
# console for the host's progress view). After boot 1 the guest reboots when
# boot-2.list is not empty (the after-reboot halves), else powers off.
#
# Shell (share/mode says "shell"): every boot starts a root login on the
# second serial port (ttyS1, wired to the host's terminal) and powers off
# when it ends; `reboot` in it boots again into a new login.
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

# Host-side scenarios (tests/vm/host) reach the guest over SSH with a key
# the host generated for this run.
if [[ -s "$share/ssh/authorized_keys" ]]; then
    install -d -m 700 /root/.ssh
    install -m 600 "$share/ssh/authorized_keys" /root/.ssh/authorized_keys
fi

if ((boot == 1)) && [[ -d "$share/staging" ]]; then
    say "installing the build (make install DESTDIR tree)"
    bash "$share/guest/bin/berth-vm-install" >"$res/install.log" 2>&1
    echo $? >"$res/install.rc"
fi

if [[ "$(cat "$share/mode" 2>/dev/null)" == shell ]]; then
    mkdir -p /mnt/vm
    mountpoint -q /mnt/vm || mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro vm /mnt/vm
    # The login shell's profile: the helpers on PATH, the host terminal's
    # size, the hints, and the host's cue that the shell reads its input.
    cat >/etc/profile.d/berth-vm.sh <<PROFILE
if [ "\$(tty)" = /dev/ttyS1 ]; then
    export PATH=$share/guest/bin:\$PATH BERTH_VM_SHARE=$share BERTH_VM_SCENARIOS=/mnt/vm/scenarios
    $(cat "$share/shell.stty" 2>/dev/null)
    cat $share/shell.motd 2>/dev/null
    touch $res/shell.ready
fi
PROFILE
    term=$(cat "$share/shell.term" 2>/dev/null || echo vt220)
    say "root shell on ttyS1"
    systemd-run --quiet --wait --collect --unit=berth-vm-shell \
        /sbin/agetty --autologin root --noclear --local-line ttyS1 115200 "$term"
    finish
    say "the shell ended; powering off"
    touch "$res/done"
    sync
    systemctl poweroff
    exit 0
fi

# run_file FILE — one bats file, TAP to results/FILE.tap.
run_file() {
    local file=$1 name=${1%.bats} t0 rc
    say "scenario $name"
    t0=$(date +%s.%N)
    BATS_TEST_NAME_PREFIX="$name: " BATS_TEST_TIMEOUT=${BERTH_VM_TEST_TIMEOUT:-300} \
        timeout -k 10 "${BERTH_VM_SCENARIO_TIMEOUT:-600}" \
        bats --tap --timing "$share/scenarios/$file" </dev/null 2>"$res/$file.stderr" |
        tee "$res/$file.tap" | grep --line-buffered -E '^(not )?ok ' | sed -u "s/^/berth-vm[boot $boot]: /"
    rc=${PIPESTATUS[0]}
    awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$res/$file.time"
    echo "$rc" >"$res/$file.rc"
    sync
}

# run_host NAME — a host-side scenario: the host runs tests/vm/host/NAME.sh
# against this guest while it waits (results/NAME.host-ready, then
# results/NAME.host-done from the host).
run_host() {
    local name=$1 waited=0
    say "scenario $name (on the host, over SSH)"
    touch "$res/$name.host-ready"
    sync
    while [[ ! -e "$res/$name.host-done" ]] && ((waited < ${BERTH_VM_SCENARIO_TIMEOUT:-600} + 30)); do
        sleep 1
        waited=$((waited + 1))
    done
}

while read -r file; do
    case $file in
    '') ;;
    *.sh) run_host "${file%.sh}" ;;
    *) run_file "$file" ;;
    esac
done < <(cat "$share/boot-$boot.list" 2>/dev/null)

finish
if ((boot == 1)) && [[ -s "$share/boot-2.list" ]]; then
    say "rebooting"
    touch "$res/rebooting"
    sync
    systemctl reboot
else
    touch "$res/done"
    sync
    systemctl poweroff
fi
