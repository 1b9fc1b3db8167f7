# shellcheck shell=bash
# Sourced by the SELinux scenarios (inside the guest): the script-style
# assertion helpers (harness-lib.sh, next to this file) plus SELinux ones.
# shellcheck source=harness-lib.sh
. "$(dirname "$0")/harness-lib.sh"

# Where the runner put the package.
DEB_DIR=$BERTH_VM_SHARE/deb

# label PATH — the SELinux context of a file.
label() { stat -c %C "$1"; }
# level CONTEXT — its MLS/MCS part (s0:c1,c2).
level_of() { cut -d: -f4- <<<"$1"; }
# type CONTEXT
type_of() { cut -d: -f3 <<<"$1"; }

# audit_mark — a timestamp for avcs_since.
audit_mark() { date +%s; }
# avcs_since MARK — the AVC and SELINUX_ERR records of the audit log (or of
# the kernel log when auditd is not running) since MARK.
avcs_since() {
    if [[ -s /var/log/audit/audit.log ]]; then
        awk -v since="$1" '/type=(AVC|USER_AVC|SELINUX_ERR)/ && match($0, /msg=audit\([0-9]+/) {
            if (substr($0, RSTART + 10, RLENGTH - 10) + 0 >= since + 0) print }' \
            /var/log/audit/audit.log
    else
        journalctl -k -b --no-pager --since "@$1" | grep -E 'avc:|SELINUX_ERR' || true
    fi
}

# The isolated test containers used by scenarios 02-04.
A=sel-a B=sel-b
PORT_A=18601 PORT_B=18602
