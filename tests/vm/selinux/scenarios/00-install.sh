#!/bin/bash
# Scenario 0: the .deb installs with podman present (apt-get install ./…),
# its postinst loads the berth policy modules (berth_container too: Debian's
# policy has no container module) and labels berth's and podman's files,
# and berth.target is enabled.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
expect_eq "SELinux is on (permissive until a scenario enforces)" Permissive "$(getenforce)"
check "podman is installed" dpkg -s podman
debs=("$DEB_DIR"/berth_*.deb)
check "apt-get install ${debs[0]##*/}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${debs[@]}"
dpkg -L berth >/var/lib/berth-vm/berth.files
# berth.target has no [Install]: the generator links it into
# multi-user.target.wants whenever a container starts at boot.
expect_eq "berth.target needs no enabling" static "$(systemctl is-enabled berth.target)"
refute "the package left no enable link" test -e /etc/systemd/system/multi-user.target.wants/berth.target
mods=$(semodule -l)
expect_contains "module berth is loaded" $'\nberth\n' $'\n'"$mods"$'\n'
expect_contains "module berth_container is loaded" $'\nberth_container\n' $'\n'"$mods"$'\n'
check "the kernel policy knows container_file_t" seinfo -t container_file_t
for f in /lib/systemd/system-generators/berth-generator:berth_generator_exec_t \
    /usr/libexec/berth/berth-proxy:berth_proxy_exec_t \
    /etc/berth:berth_conf_t /etc/berth/containers:berth_conf_t /var/lib/berth:berth_var_lib_t \
    /usr/bin/podman:container_runtime_exec_t /usr/bin/crun:container_runtime_exec_t \
    /usr/bin/conmon:container_runtime_exec_t; do
    path=${f%%:*} want=${f#*:}
    ctx=$(label "$(readlink -f "$path")")
    log "$path: $ctx"
    expect_eq "$path is $want" "$want" "$(type_of "$ctx")"
done
check "daemon-reload with the module loaded" systemctl daemon-reload
