#!/usr/bin/python
# Copyright: berth developers
# Apache License 2.0 (see LICENSE in the berth repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: berth_info
short_description: The berth containers of a host, their state and reservations
description:
  - Lists the containers berth knows on the host (C(berth --json list)):
    for each its id, image, where its definition comes from (C(etc),
    C(run), C(usr) on the search path, and what it shadows), whether it
    starts at boot (C(Started)), its unit's C(ActiveState)/C(SubState) and
    its host port reservations (C(Ports)).
  - With C(id), only that container, with the state of every one of its
    units (C(berth --json status ID)).
  - Changes nothing; runs in check mode too.
version_added: "0.1.0"
author: berth developers
options:
  id:
    description: One container (its status), instead of all of them.
    type: str
    aliases: [name]
  executable:
    description: The berth command.
    type: path
    default: berth
  root:
    description: Root prefix of every path berth touches (C(--root); tests).
    type: path
notes:
  - Supports check mode.
seealso:
  - module: berth.containers.berth_container
"""

EXAMPLES = r"""
- name: What runs here
  berth.containers.berth_info:
  register: berth

- name: The host ports web holds
  ansible.builtin.debug:
    msg: "{{ (berth.containers | selectattr('Id', 'equalto', 'web') | first).Ports }}"

- name: One container's units
  berth.containers.berth_info:
    id: web
  register: web
"""

RETURN = r"""
containers:
  description: berth list's C(Containers), one dict per container.
  type: list
  elements: dict
  returned: always
  sample:
    - Id: web
      Image: localhost/nginx
      Source: etc
      Path: /etc/berth/containers/web.json
      Shadowed: []
      Started: true
      Unit: berth-web.service
      ActiveState: active
      SubState: running
      Ports: [{Internal: 80, External: 8080}]
reservations:
  description: The host ports each container holds, by id.
  type: dict
  returned: always
  sample: {web: [8080]}
status:
  description: berth status's reply for C(id) (C(Units) with every unit's
    state), or none when the container does not exist.
  type: dict
  returned: when id is given
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.berth.containers.plugins.module_utils.berth import (
    Berth,
    BerthError,
    common_argument_spec,
)


def main():
    spec = common_argument_spec()
    spec.update(id=dict(type="str", aliases=["name"]))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    berth = Berth(module)
    result = dict(changed=False)
    try:
        listed = berth.run(["list"]).get("Containers", [])
        cid = module.params["id"]
        if cid:
            listed = [c for c in listed if c.get("Id") == cid]
            try:
                result["status"] = berth.run(["status", cid])
            except BerthError as e:
                if e.kind != "NotFound":
                    raise
                result["status"] = None
        result["containers"] = listed
        result["reservations"] = dict(
            (c.get("Id"), [p.get("External") for p in c.get("Ports") or []] +
             [p["Backend"] for p in c.get("Ports") or [] if p.get("Backend")])
            for c in listed
        )
    except BerthError as e:
        berth.fail(e, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
