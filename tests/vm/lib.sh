# shellcheck shell=bash
# Host-side helpers shared by tests/vm/run and tests/vm/demo: the cached guest
# image, the accelerator choice and one guest boot.
#
# Cache: ${BERTH_VM_CACHE:-/var/cache/berth-vm}/<suite>-<sha256 of the suite
# and image/*>/ holds base.img (container images already imported), vmlinuz
# and initrd.img. Each run boots a throw-away qcow2 overlay on base.img.
# VM_SUITE (BERTH_VM_SUITE, default trixie) is the guest's Debian release;
# the SELinux suite sets its own (bookworm).

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
REPO_DIR=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${BERTH_VM_CACHE:-/var/cache/berth-vm}
VM_MEMORY=${BERTH_VM_MEMORY:-1536}
VM_CPUS=${BERTH_VM_CPUS:-2}
VM_SUITE=${BERTH_VM_SUITE:-trixie}

vm_log() { printf 'vm: %s\n' "$*" >&2; }

vm_image_key() {
    printf '%s-' "$VM_SUITE"
    (export LC_ALL=C; printf 'suite\0%s\0' "$VM_SUITE"
     cd "$VM_DIR/image" && for f in *; do printf '%s\0' "$f"; cat "$f"; done) |
        sha256sum | cut -c1-16
}

vm_image_dir() { echo "$VM_CACHE/$(vm_image_key)"; }

# Builds (once) and prints the image directory. Concurrent callers wait on a lock.
vm_ensure_image() {
    local dir key
    key=$(vm_image_key)
    dir=$VM_CACHE/$key
    mkdir -p "$VM_CACHE"
    if [[ ! -e "$dir/ready" ]]; then
        exec {lock}>"$VM_CACHE/$key.lock"
        flock "$lock"
        if [[ ! -e "$dir/ready" ]]; then
            local t0=$SECONDS tmp=$VM_CACHE/$key.tmp
            rm -rf "$tmp"
            vm_log "building guest image $key (Debian $VM_SUITE; cold, a few minutes) -> $dir"
            if ! BERTH_VM_SUITE=$VM_SUITE "$VM_DIR/image/build" "$tmp" >"$VM_CACHE/$key.build.log" 2>&1; then
                tail -n 40 "$VM_CACHE/$key.build.log" >&2
                vm_log "image build failed; full log: $VM_CACHE/$key.build.log"
                return 1
            fi
            touch "$tmp/ready"
            rm -rf "$dir"
            mv "$tmp" "$dir"
            vm_log "guest image ready in $((SECONDS - t0))s"
        fi
        flock -u "$lock"
        exec {lock}>&-
    fi
    echo "$dir"
}

# Prints the accelerator to use: kvm only when a probe boot proved it works
# (a PVM /dev/kvm hangs stock kernels), else tcg. The verdict is cached per
# image and host kernel. BERTH_VM_ACCEL=tcg|kvm overrides.
vm_accel() {
    local img=$1 verdict
    if [[ -n "${BERTH_VM_ACCEL:-}" ]]; then echo "$BERTH_VM_ACCEL"; return; fi
    if [[ ! -w /dev/kvm ]]; then echo tcg; return; fi
    verdict=$img/kvm-$(uname -r)
    if [[ ! -e "$verdict" ]]; then
        vm_log "probing KVM with a short boot"
        local disk
        disk=$(mktemp "$VM_CACHE/probe.XXXXXX.qcow2")
        qemu-img create -q -f qcow2 -F raw -b "$img/base.img" "$disk"
        if VM_ACCEL=kvm VM_APPEND_EXTRA=berth.probe vm_boot "$img" "$disk" qcow2 "" "$img/kvm-probe.log" 45 \
            && grep -q BERTH-VM-PROBE-OK "$img/kvm-probe.log"; then
            echo kvm >"$verdict"
        else
            echo tcg >"$verdict"
        fi
        rm -f "$disk"
        vm_log "KVM probe: $(cat "$verdict")"
    fi
    cat "$verdict"
}

# vm_boot IMAGE_DIR DISK FORMAT SHARE SERIAL_LOG TIMEOUT [qemu args…]
# Boots until the guest powers off (a guest reboot stays in the same qemu
# process, with the same disk). Returns 124 on timeout, after printing the
# serial log tail. VM_ACCEL selects tcg/kvm; VM_HOSTFWD adds hostfwd rules;
# VM_PIDFILE gets qemu's pid (for vm_kill).
vm_boot() {
    local img=$1 disk=$2 format=$3 share=$4 serial=$5 timeout=$6
    shift 6
    local accel=(-accel "tcg,thread=multi" -cpu max)
    [[ "${VM_ACCEL:-tcg}" == kvm ]] && accel=(-accel kvm -cpu host)
    local nic=user,model=virtio-net-pci
    [[ -n "${VM_HOSTFWD:-}" ]] && nic+=",${VM_HOSTFWD}"
    local args=(
        "${accel[@]}" -m "$VM_MEMORY" -smp "$VM_CPUS"
        -nodefaults -no-user-config -display none -monitor none
        -serial "file:$serial"
        -kernel "$img/vmlinuz" -initrd "$img/initrd.img"
        -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.show_status=auto ${VM_APPEND_EXTRA:-}"
        -drive "file=$disk,if=virtio,format=$format,cache=unsafe,discard=unmap"
        -device virtio-rng-pci
        -nic "$nic"
    )
    [[ -n "${VM_PIDFILE:-}" ]] && args+=(-pidfile "$VM_PIDFILE")
    [[ -n "$share" ]] && args+=(-virtfs "local,path=$share,mount_tag=share,security_model=none")
    local rc=0
    timeout -k 5 "$timeout" qemu-system-x86_64 "${args[@]}" "$@" || rc=$?
    if ((rc == 124 || rc == 137)); then
        vm_log "guest did not power off within ${timeout}s; serial log tail ($serial):"
        tail -n 40 "$serial" | sed 's/^/  | /' >&2
        return 124
    fi
    return "$rc"
}

# vm_watchdog QEMU_PID DIR STALL PIDFILE — runs until that qemu ends; when
# nothing under DIR (the share's results/) changed for STALL seconds, stops
# it (vm_kill PIDFILE), says so and touches DIR/../stalled. The guest's own
# timeouts bound every scenario, so silence that long means a frozen guest
# (seen once under TCG on a loaded host: qemu idle, no guest timer fired),
# which would otherwise hold the run, and CI, until the total timeout.
vm_watchdog() {
    local pid=$1 dir=$2 stall=$3 pidfile=$4 last
    while kill -0 "$pid" 2>/dev/null; do
        last=$(find "$dir" -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
        if [[ -n "$last" ]] && (($(date +%s) - ${last%.*} > stall)); then
            vm_log "no progress from the guest for ${stall}s (nothing new in $dir): stopping qemu"
            touch "$dir/../stalled"
            vm_kill "$pidfile"
            return 0
        fi
        sleep 5
    done
}

# vm_kill PIDFILE — stops the qemu that vm_boot started with VM_PIDFILE.
vm_kill() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 0
    # Only while that pid is still our qemu (the pid file may be stale).
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == qemu-system-* ]] || return 0
    kill "$pid" 2>/dev/null || true
}
