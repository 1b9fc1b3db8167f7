#!/bin/bash
# Scenario 4: `apt-get purge berth` removes cleanly: the package's files,
# the policy modules, the berth.target enablement and berth's state go; what
# stays is what an administrator wrote (/etc/berth/containers/*.json of
# containers not deleted) — here nothing, as the containers are deleted first.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
for id in sel-a sel-b sel-c; do berth delete $id >/dev/null 2>&1 || true; done
check "apt-get purge berth" env DEBIAN_FRONTEND=noninteractive apt-get purge -y berth
refute "berth is not installed" dpkg -s berth
left=()
while read -r f; do
    [[ -z "$f" || "$f" == /. ]] && continue
    # Directories shared with other packages stay.
    if [[ -d "$f" ]]; then
        [[ "$f" == */berth* ]] || continue
    fi
    [[ -e "$f" || -L "$f" ]] && left+=("$f")
done </var/lib/berth-vm/berth.files
((${#left[@]} == 0)) || fail "left behind: ${left[*]}"
ok "no file of the package is left"
mods=$(semodule -l)
[[ $'\n'"$mods"$'\n' != *$'\n'berth$'\n'* && $'\n'"$mods"$'\n' != *$'\n'berth_container$'\n'* ]] || fail "a berth module is still loaded"
ok "the policy modules are unloaded"
refute "berth.target is no longer wanted" test -e /etc/systemd/system/multi-user.target.wants/berth.target
refute "/var/lib/berth is gone" test -e /var/lib/berth
refute "/etc/berth is gone" test -e /etc/berth
