#!/usr/bin/python
# Copyright: berth developers
# Apache License 2.0 (see LICENSE in the berth repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: berth_container
short_description: Install, start, stop, restart or delete a berth container
description:
  - Manages one container of a systemd host through the berth CLI
    (C(berth --json)): its definition (geard's install body, as
    berth.json(5) describes it) and whether it runs.
  - Idempotent. An install identical to the definition in force changes
    nothing and restarts nothing; C(changed) is berth's own C(Changed).
  - Check mode and C(--diff) use C(berth install --dry-run --json), which
    compares the definition in force with the requested one as berth would
    store it (kept host ports and MCS level filled in) and names the units
    that would change.
  - Every berth call that changes something carries a request id derived
    from the task (its identity in this playbook run, the host and the
    call), so a retried task is replayed by berth, not applied twice.
version_added: "0.1.0"
author: berth developers
options:
  id:
    description:
      - The container id (C(^[a-z0-9][a-z0-9_.-]{0,27}$)); the definition
        is C(/etc/berth/containers/ID.json).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - C(present) installs the definition and leaves whether it runs as
        the definition's C(Started) says (kept from the definition in force
        when the dict has no C(Started)).
      - C(started) installs it with C(Started=true) and starts it
        (C(berth start)): a container stopped by hand is started again.
      - C(stopped) installs it with C(Started=false) and stops it.
      - C(restarted) installs it and restarts its service (always changed,
        unless the install itself restarted it).
      - C(absent) deletes the container (C(berth delete)); its named
        volumes are kept. A container that others name in C(Requires) is
        not deleted (the task fails naming them) unless C(force) is set.
    type: str
    choices: [present, absent, started, stopped, restarted]
    default: present
  force:
    description:
      - With C(state=absent), delete the container even when other
        containers name it in C(Requires) (C(berth delete --force)):
        systemd stops them with it and they fail to start until it is
        installed again.
    type: bool
    default: false
  definition:
    description:
      - The definition as a dict with berth.json(5)'s field names exactly
        (C(Image), C(Ports) with C(Internal)/C(External), C(Environment)
        with C(Variables) of C(Name)/C(Value), C(SocketActivation),
        C(Isolate), C(NetworkLinks), C(Cmd), C(Restart), ...). An
        C(External) of 0 or none asks berth to allocate a host port; an
        update keeps the port allocated before.
      - Required to create a container; without it, C(started),
        C(stopped) and C(restarted) act on the container as installed.
      - Environment values appear in the diff; use C(no_log) or berth
        secrets for values that must not be logged.
    type: dict
  restart_on_change:
    description:
      - When the definition changes while the container runs, restart the
        units whose text changed (berth's default). With C(false) the
        running container keeps its old units until restarted
        (C(berth install --no-restart); refused by berth when the ports
        change) and the result says C(restart_needed).
    type: bool
    default: true
  unmask:
    description: Replace a mask (C(ID.json) linked to C(/dev/null)).
    type: bool
    default: false
  executable:
    description: The berth command.
    type: path
    default: berth
  root:
    description: Root prefix of every path berth touches (C(--root); tests).
    type: path
  request_seed:
    description:
      - What names this task in this run; the request ids of its berth
        calls derive from it. The collection's action plugin sets it from
        the task's uuid and the host; set it only to pin ids yourself.
    type: str
notes:
  - Runs as root on the managed host (berth needs it).
  - Supports check mode and diff mode.
seealso:
  - module: berth.containers.berth_info
  - name: berth.json(5)
    description: The definition's fields and their grammar.
"""

EXAMPLES = r"""
- name: A web server on an allocated port, running and started at boot
  berth.containers.berth_container:
    id: web
    state: started
    definition:
      Image: docker.io/library/nginx:1.27
      Ports:
        - Internal: 80
          External: 8080
      Environment:
        Variables:
          - Name: GREETING
            Value: "{{ greeting }}"

- name: Change the image but let the running container finish first
  berth.containers.berth_container:
    id: web
    definition: "{{ web_definition }}"
    restart_on_change: false

- name: Stop it (and keep it off at boot)
  berth.containers.berth_container:
    id: web
    state: stopped

- name: Remove it (its named volumes stay)
  berth.containers.berth_container:
    id: web
    state: absent
"""

RETURN = r"""
changed:
  description: Whether berth changed anything (its replies' C(Changed)).
  type: bool
  returned: always
definition:
  description: The definition in force afterwards (or, in check mode, the
    one that would be); none after C(absent).
  type: dict
  returned: always
units:
  description: The units the definition change touches (dry run's C(Units)).
  type: list
  elements: str
  returned: when a definition was given
restart_needed:
  description: The running container still runs the old units
    (C(restart_on_change=false)).
  type: bool
  returned: always
replies:
  description: berth's JSON replies, one per berth call that could change
    something, by command (C(install), C(start), C(stop), C(restart),
    C(delete)).
  type: dict
  returned: always
  sample:
    install:
      Id: web
      Changed: true
      Ports: [{Internal: 80, External: 8080}]
      Restarted: ["berth-web.service"]
      Result: Accepted
failure_kind:
  description: berth's failure kind (C(InvalidRequest), C(NotFound),
    C(AlreadyExists), C(RateLimit), C(Error), ...), with C(rc) its exit code.
  type: str
  returned: failure
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.berth.containers.plugins.module_utils.berth import (
    Berth,
    BerthError,
    common_argument_spec,
    request_id,
)


def pretty(definition):
    if definition is None:
        return ""
    return json.dumps(definition, indent=2, sort_keys=False) + "\n"


def read_definition(root, path):
    """The definition file in force (status's Path, under root)."""
    if not path:
        return None
    try:
        root = root or os.environ.get("BERTH_ROOT") or "/"
        with open(os.path.join(root, path.lstrip("/"))) as f:
            return json.load(f)
    except (IOError, OSError, ValueError):
        return None


def running(status):
    """Whether any unit of the status reply is active (or about to be)."""
    for u in (status or {}).get("Units", []):
        if u.get("ActiveState") in ("active", "activating", "reloading"):
            return True
    return False


def main():
    spec = common_argument_spec()
    spec.update(
        id=dict(type="str", required=True, aliases=["name"]),
        state=dict(
            type="str",
            default="present",
            choices=["present", "absent", "started", "stopped", "restarted"],
        ),
        definition=dict(type="dict"),
        force=dict(type="bool", default=False),
        restart_on_change=dict(type="bool", default=True),
        unmask=dict(type="bool", default=False),
        request_seed=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    cid, state, seed = p["id"], p["state"], p["request_seed"]
    berth = Berth(module)
    result = dict(changed=False, replies={}, restart_needed=False, definition=None)

    def call(job, args, body, data=None):
        """A berth call that may change something: with its request id."""
        reply = berth.run(args, data=data, request_id=request_id(seed, job, body))
        result["replies"][job] = reply
        if reply.get("Changed"):
            result["changed"] = True
        return reply

    try:
        try:
            status = berth.run(["status", cid])
        except BerthError as e:
            if e.kind != "NotFound":
                raise
            status = None

        if state == "absent":
            if status is not None:
                before = read_definition(p["root"], status.get("Path"))
                result["diff"] = dict(before=pretty(before), after="")
                if module.check_mode:
                    result["changed"] = True
                else:
                    args = ["delete", cid] + (["--force"] if p["force"] else [])
                    call("delete", args, {"Id": cid})
            module.exit_json(**result)

        definition = p["definition"]
        if definition is None and status is None:
            module.fail_json(
                msg="berth: container %s is not installed; a definition is needed to create it" % cid,
                failure_kind="NotFound",
                rc=3,
            )

        install_reply = None
        if definition is not None:
            d = dict(definition)
            if state == "started":
                d["Started"] = True
            elif state == "stopped":
                d["Started"] = False
            elif "Started" not in d:
                d["Started"] = bool(status and status.get("Started"))
            # berth stores no `Started: false`; omit it so the body is
            # the canonical one.
            if not d.get("Started"):
                d.pop("Started", None)
            body = json.dumps(d, sort_keys=True)
            extra = ["--unmask"] if p["unmask"] else []
            plan = berth.run(
                ["install", cid, "--from-json", "-", "--dry-run"] + extra, data=body
            )
            result["diff"] = dict(
                before=pretty(plan.get("Before")),
                after=pretty(plan.get("After")),
                before_header="%s (in force)" % cid,
                after_header="%s (requested)" % cid,
            )
            result["units"] = plan.get("Units", [])
            result["definition"] = plan.get("After")
            if plan.get("Changed"):
                if module.check_mode:
                    result["changed"] = True
                else:
                    if not p["restart_on_change"]:
                        extra.append("--no-restart")
                    install_reply = call(
                        "install",
                        ["install", cid, "--from-json", "-"] + extra,
                        {"Definition": d, "Args": extra},
                        data=body,
                    )
                    result["restart_needed"] = bool(install_reply.get("RestartNeeded"))
                    # The reply's Path is the file written (root included).
                    result["definition"] = read_definition("/", install_reply.get("Path"))
            else:
                result["definition"] = plan.get("Before")

        is_running = running(status) if status else False
        was_started = bool(status and status.get("Started"))
        if state == "started":
            if module.check_mode:
                # A state nobody can read (no systemd) counts as no change,
                # as berth counts it.
                unknown = all(
                    u.get("ActiveState") == "unknown" for u in (status or {}).get("Units", [])
                )
                if status is None or not was_started or not (is_running or unknown):
                    result["changed"] = True
            elif not (install_reply and install_reply.get("Started")):
                # An install with Started already queued the start.
                call("start", ["start", cid], {"Id": cid})
        elif state == "stopped":
            if module.check_mode:
                if was_started or is_running:
                    result["changed"] = True
            elif status is not None or install_reply is not None:
                call("stop", ["stop", cid], {"Id": cid})
        elif state == "restarted":
            restarted_by_install = bool(install_reply and install_reply.get("Restarted"))
            if module.check_mode:
                result["changed"] = True
            elif not restarted_by_install:
                call("restart", ["restart", cid], {"Id": cid})
                result["restart_needed"] = False
    except BerthError as e:
        berth.fail(e, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
