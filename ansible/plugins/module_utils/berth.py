# Copyright: berth developers
# Apache License 2.0 (see LICENSE in the berth repository)
"""Shared code of the berth.containers modules: run the berth CLI with
--json, turn its reply into a dict and its failure into a module failure
carrying berth's message, failure kind and exit code, and derive the
request ids that make a retried task replay instead of redo."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import time

# berth's exit codes (berth(1)): the job failure kinds.
FAILURE_KINDS = {
    1: "Error",
    2: "InvalidRequest",
    3: "NotFound",
    4: "AlreadyExists",
    5: "RateLimit",
    6: "NotAcceptable",
}


class BerthError(Exception):
    """A berth command that failed: its kind, message and exit code."""

    def __init__(self, rc, kind, message, detail=None, reply=None, cmd=None):
        super(BerthError, self).__init__(message)
        self.rc = rc
        self.kind = kind
        self.message = message
        self.detail = detail
        self.reply = reply
        self.cmd = cmd

    def text(self):
        if self.detail:
            return "berth: %s %s" % (self.message, self.detail)
        return "berth: %s" % self.message


def common_argument_spec():
    """Options every module takes."""
    return dict(
        executable=dict(type="path", default="berth"),
        root=dict(type="path"),
    )


class Berth(object):
    """The berth CLI on the managed host."""

    def __init__(self, module):
        self.module = module
        exe = module.params.get("executable") or "berth"
        found = module.get_bin_path(exe, required=False) if "/" not in exe else exe
        if not found:
            module.fail_json(msg="berth: the berth command was not found (%s)" % exe)
        self.exe = found
        self.root = module.params.get("root")

    def run(self, args, data=None, request_id=None, rate_limit_wait=60):
        """Runs `berth --json ARGS`; returns the reply as a dict, raises
        BerthError on a non-zero exit. A RateLimit (a unit is changing
        state) is retried for up to rate_limit_wait seconds."""
        deadline = time.time() + rate_limit_wait
        pause = 0.5
        while True:
            try:
                return self._run(args, data, request_id)
            except BerthError as e:
                if e.kind != "RateLimit" or time.time() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 5)

    def _run(self, args, data=None, request_id=None):
        cmd = [self.exe, "--json"]
        if self.root:
            cmd += ["--root", self.root]
        if request_id:
            cmd += ["--request-id", request_id]
        cmd += list(args)
        rc, out, err = self.module.run_command(cmd, data=data, binary_data=True)
        reply = None
        try:
            reply = json.loads(out) if out.strip() else None
        except ValueError:
            reply = None
        if rc != 0:
            kind = FAILURE_KINDS.get(rc, "Error")
            message = (err or out or "").strip() or "exit status %d" % rc
            detail = None
            if isinstance(reply, dict) and isinstance(reply.get("Error"), dict):
                e = reply["Error"]
                kind = e.get("Kind", kind)
                message = e.get("Message", message)
                detail = e.get("Detail")
            raise BerthError(rc, kind, message, detail, reply, cmd)
        if not isinstance(reply, dict):
            raise BerthError(1, "Error", "berth printed no JSON reply: %s" % out.strip(), cmd=cmd)
        return reply

    def fail(self, e, **result):
        """Fails the module with berth's message and failure kind."""
        self.module.fail_json(
            msg=e.text(),
            failure_kind=e.kind,
            rc=e.rc,
            berth_error=(e.reply or {}).get("Error") if isinstance(e.reply, dict) else None,
            cmd=e.cmd,
            **result
        )


def request_id(seed, job, body):
    """The request id of one berth call of a task: 32 hex digits of
    sha256(seed, job, body). The seed is the task's identity in this
    playbook run (set by the action plugin), so a retry of the task sends
    the same id and berth replays its journaled reply instead of doing the
    work again, while the next playbook run sends new ids."""
    if not seed:
        return None
    h = hashlib.sha256()
    for part in (seed, job, json.dumps(body, sort_keys=True)):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]
