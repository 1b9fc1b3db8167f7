# Copyright: berth developers
# Apache License 2.0 (see LICENSE in the berth repository)
"""Action plugin of berth_container: gives the module a request seed that
names this task in this playbook run on this host, so every retry of the
task (`retries`/`until`, a re-sent module after a lost connection) sends
berth the same request ids and berth replays instead of redoing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if not args.get("request_seed"):
            host = (task_vars or {}).get("inventory_hostname", "")
            # The task's uuid is made per playbook run (the same across the
            # task's retries); a loop item differs in its arguments.
            args["request_seed"] = "%s/%s" % (self._task._uuid, host)
        return self._execute_module(
            module_name="berth.containers.berth_container",
            module_args=args,
            task_vars=task_vars,
        )
