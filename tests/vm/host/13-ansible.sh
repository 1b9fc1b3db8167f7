#!/bin/bash
# 13-ansible (host side): ansible-core from PyPI on the host drives the
# guest over SSH with the berth.containers collection. The playbook run
# twice reports changed, then changed=0; --check changes nothing; editing
# one environment value reports changed and the container is recreated
# with it (podman inspect); a container stopped by hand is started again
# by the next run (state: started). TAP on stdout. Ids s13-*.
# Environment (from tests/vm/run): BERTH_VM_SSH_PORT, BERTH_VM_SSH_KEY,
# BERTH_VM_RUN_DIR.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
work=$BERTH_VM_RUN_DIR/ansible
mkdir -p "$work/collections/ansible_collections/berth"
ln -sfn "$repo/ansible" "$work/collections/ansible_collections/berth/containers"
venv=$("$repo/tools/ansible-venv") || { echo "1..1"; echo "not ok 1 13-ansible: ansible-core installs (tools/ansible-venv)"; exit 1; }
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_HOME=$work/home ANSIBLE_NOCOLOR=1 \
    ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_RETRY_FILES_ENABLED=False
cat >"$work/inventory.ini" <<INV
[fleet]
guest ansible_host=127.0.0.1 ansible_port=$BERTH_VM_SSH_PORT ansible_user=root ansible_ssh_private_key_file=$BERTH_VM_SSH_KEY ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no'
INV
cat >"$work/site.yml" <<'PLAY'
- hosts: fleet
  gather_facts: false
  vars:
    greeting: hello
  tasks:
    - name: s13-web runs busybox httpd with a greeting
      berth.containers.berth_container:
        id: s13-web
        state: started
        definition:
          Image: localhost/busybox
          Cmd: [busybox, httpd, -f, -p, "8080", -h, /var/www]
          Ports:
            - Internal: 8080
              External: 18131
          Environment:
            Variables:
              - Name: GREETING
                Value: "{{ greeting }}"
PLAY
ssh_guest() {
    ssh -q -p "$BERTH_VM_SSH_PORT" -i "$BERTH_VM_SSH_KEY" -o UserKnownHostsFile=/dev/null \
        -o StrictHostKeyChecking=no -o BatchMode=yes root@127.0.0.1 "$@"
}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n 13-ansible: $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n 13-ansible: $1"; shift; printf '# %s\n' "$@"; }
# playbook ARGS… — runs site.yml; prints the guest's changed= count, the log in $work/last.log.
playbook() {
    "$venv/bin/ansible-playbook" -i "$work/inventory.ini" "$work/site.yml" "$@" >"$work/last.log" 2>&1
    local rc=$?
    sed -n 's/^guest *: .*changed=\([0-9]*\).*failed=\([0-9]*\).*/\1 \2/p' "$work/last.log" | tail -n 1
    return "$rc"
}
check() { # NAME EXPECTED_CHANGED ARGS…
    local name=$1 want=$2 got
    shift 2
    got=$(playbook "$@")
    # The run's task lines and recap, as comments in the report (the README
    # quotes them).
    grep -E "^(TASK|changed:|ok:|PLAY RECAP|guest +:)" "$work/last.log" | sed "s/^/#   /"
    printf "# (ansible-playbook site.yml %s)\n" "$*"
    if [[ "$got" == "$want 0" ]]; then ok "$name"; else
        notok "$name" "changed/failed: '$got', wanted '$want 0'"
        sed 's/^/# | /' "$work/last.log"
    fi
}
# (ssh joins its arguments into one remote command line: quote for the guest's shell.)
env_of() { ssh_guest "podman inspect berth-s13-web --format '{{range .Config.Env}}{{println .}}{{end}}'" | grep '^GREETING='; }
cid_of() { ssh_guest "podman inspect berth-s13-web --format '{{.Id}}'"; }

echo "1..7"
# The guest answers over SSH (sshd may still be starting).
for _ in $(seq 30); do ssh_guest true && break; sleep 1; done
check "the first run installs and starts (changed)" 1
check "the second run changes nothing (changed=0)" 0
before=$(cid_of)
check "--check with an edited value reports a change" 1 --check -e greeting=bonjour
if [[ "$(env_of)" == GREETING=hello && "$(cid_of)" == "$before" ]] &&
    ssh_guest grep -q '"hello"' /etc/berth/containers/s13-web.json; then
    ok "--check changed nothing (definition and container as before)"
else
    notok "--check changed nothing" "env: $(env_of)" "container: $(cid_of) (was $before)"
fi
check "an edited environment value is a change" 1 -e greeting=bonjour
for _ in $(seq 60); do [[ "$(env_of)" == GREETING=bonjour ]] && break; sleep 1; done
after=$(cid_of)
if [[ "$(env_of)" == GREETING=bonjour && -n "$after" && "$after" != "$before" ]]; then
    ok "the container was recreated with the new value (podman inspect)"
else
    notok "the container was recreated with the new value" "env: $(env_of)" "container: $after (was $before)"
fi
ssh_guest systemctl stop berth-s13-web.service
state=$(playbook -e greeting=bonjour)
# berth start is Accepted: systemd carries it out.
for _ in $(seq 60); do
    active=$(ssh_guest systemctl is-active berth-s13-web.service)
    [[ "$active" == activating ]] || break
    sleep 1
done
if [[ "$state" == "1 0" && "$active" == active ]]; then
    ok "a container stopped by hand is started again (state: started)"
else
    notok "a container stopped by hand is started again" "changed/failed: $state, unit: $active"
    sed 's/^/# | /' "$work/last.log"
fi
ssh_guest berth delete s13-web >/dev/null 2>&1 || true
((failed == 0))
