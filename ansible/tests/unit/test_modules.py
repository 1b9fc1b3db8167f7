"""berth.containers against the real berth binary: every test runs
ansible-playbook (connection local) on a fresh BERTH_ROOT with
BERTH_SYSTEMD=none, and reads the JSON callback's results."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(HERE))
REPO = os.path.dirname(COLLECTION)
BERTH = os.environ.get("BERTH_BIN", os.path.join(REPO, "target", "debug", "berth"))
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def env(tmp_path):
    if not os.access(BERTH, os.X_OK):
        pytest.fail("%s is not built (cargo build -p berth-cli)" % BERTH)
    colls = tmp_path / "collections" / "ansible_collections" / "berth"
    colls.mkdir(parents=True)
    (colls / "containers").symlink_to(COLLECTION)
    root = tmp_path / "root"
    root.mkdir()
    e = dict(os.environ)
    e.update(
        ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_HOME=str(tmp_path / "home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        BERTH_ROOT=str(root),
        BERTH_SYSTEMD="none",
        BERTH_PORT_RANGE="31000-31100",
        # No registry and no image store here: berth neither pulls nor
        # inspects images in these tests (the VM run does both for real).
        BERTH_PULL="0",
        BERTH_IMAGE_VOLUMES="0",
    )
    return dict(env=e, tmp=tmp_path, root=root)


def play(env, tasks, *flags):
    """Runs TASKS (a list of dicts) as one play; returns their results
    (each registered, then written to a file by a last task that runs in
    check mode too)."""
    book = env["tmp"] / "play.json"
    out = env["tmp"] / "results.json"
    tasks = [dict(t, register="r%d" % i) for i, t in enumerate(tasks)]
    names = ", ".join("r%d" % i for i in range(len(tasks)))
    tasks.append(
        {
            "ansible.builtin.copy": {"dest": str(out), "content": "{{ [%s] | to_json }}" % names},
            "check_mode": False,
            "diff": False,
        }
    )
    book.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    if out.exists():
        out.unlink()
    p = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(book)]
        + list(flags),
        env=env["env"],
        capture_output=True,
        text=True,
    )
    if not out.exists():
        raise AssertionError("ansible-playbook wrote no results:\n%s\n%s" % (p.stdout, p.stderr))
    return json.loads(out.read_text())


def container(definition=None, **kw):
    args = dict(id="web", executable=BERTH)
    if definition is not None:
        args["definition"] = definition
    args.update(kw)
    return {"berth.containers.berth_container": args, "ignore_errors": True}


WEB = {
    "Image": "localhost/nginx",
    "Ports": [{"Internal": 80}],
    "Environment": {"Variables": [{"Name": "GREETING", "Value": "hello"}]},
}


def stored(env, cid="web"):
    p = env["root"] / "etc" / "berth" / "containers" / ("%s.json" % cid)
    return json.loads(p.read_text()) if p.exists() else None


def test_present_twice_changed_then_not(env):
    r = play(env, [container(WEB), container(WEB)])
    assert r[0]["changed"] is True, r[0]
    assert r[0]["replies"]["install"]["Changed"] is True
    port = stored(env)["Ports"][0]["External"]
    assert 31000 <= port <= 31100
    assert r[1]["changed"] is False, r[1]
    assert r[1]["replies"] == {}, "an unchanged definition is not installed again"
    assert r[1]["definition"]["Ports"][0]["External"] == port


def test_env_value_edit_is_a_change_with_a_diff(env):
    edited = json.loads(json.dumps(WEB))
    edited["Environment"]["Variables"][0]["Value"] = "bonjour"
    r = play(env, [container(WEB), container(edited)], "--diff")
    assert r[1]["changed"] is True, r[1]
    assert r[1]["units"] == ["berth-web.service"]
    assert '"Value": "hello"' in r[1]["diff"]["before"]
    assert '"Value": "bonjour"' in r[1]["diff"]["after"]
    assert stored(env)["Environment"]["Variables"][0]["Value"] == "bonjour"
    # The port allocated first is kept by the update.
    assert r[1]["definition"]["Ports"][0]["External"] == r[0]["definition"]["Ports"][0]["External"]


def test_check_mode_changes_nothing(env):
    r = play(env, [container(WEB, state="started")], "--check", "--diff")
    assert r[0]["changed"] is True, r[0]
    assert r[0]["replies"] == {}
    assert r[0]["diff"]["before"] == ""
    assert stored(env) is None
    assert not (env["root"] / "var" / "lib" / "berth" / "ports").exists() or not any(
        (env["root"] / "var" / "lib" / "berth" / "ports").iterdir()
    )
    play(env, [container(WEB)])
    before = stored(env)
    edited = dict(WEB, Image="localhost/nginx:2")
    r = play(env, [container(edited), container(state="absent")], "--check")
    assert [x["changed"] for x in r] == [True, True], r
    assert stored(env) == before


def test_started_stopped_and_absent(env):
    r = play(
        env,
        [
            container(WEB, state="started"),
            container(WEB, state="started"),
            container(state="stopped"),
            container(state="stopped"),
            container(state="absent"),
            container(state="absent"),
        ],
    )
    assert [x["changed"] for x in r] == [True, False, True, False, True, False], r
    assert all(not x.get("failed") for x in r), r
    assert r[0]["replies"]["install"]["Started"] is True
    assert "start" not in r[0]["replies"], "the install started it"
    assert r[1]["replies"]["start"]["Changed"] is False
    assert stored(env) is None


def test_restarted_always_restarts(env):
    r = play(env, [container(WEB, state="started"), container(state="restarted")])
    assert r[1]["changed"] is True
    assert r[1]["replies"]["restart"]["Unit"] == "berth-web.service"


def test_errors_carry_berths_message_and_kind(env):
    r = play(
        env,
        [
            container(state="started"),
            container({"Image": "localhost/nginx", "Ports": [{"Internal": 0}]}),
            container({"Image": "x", "Bogus": 1}),
        ],
    )
    assert r[0]["failed"] and r[0]["failure_kind"] == "NotFound", r[0]
    assert r[1]["failed"] and r[1]["failure_kind"] == "InvalidRequest", r[1]
    assert r[1]["rc"] == 2
    assert "Ports[0].Internal" in r[1]["msg"], r[1]["msg"]
    assert "Bogus" in r[2]["msg"], r[2]


def test_a_retried_task_is_replayed_not_redone(env):
    # A retry of a task sends the same request ids (the same seed): berth
    # answers from its journal and does not install a second time, even
    # where the definition was edited in between (a lost reply, then a
    # retry, looks like this to berth).
    t = container(WEB, request_seed="task-1")
    r = play(env, [t])
    assert r[0]["changed"] is True
    journal = env["root"] / "var" / "lib" / "berth" / "requests"
    assert journal.exists() and any(journal.iterdir()), "the install was journaled by request id"
    path = env["root"] / "etc" / "berth" / "containers" / "web.json"
    edited = stored(env)
    edited["Image"] = "localhost/edited"
    path.write_text(json.dumps(edited))
    r = play(env, [t])
    assert r[0]["changed"] is True
    assert r[0]["replies"]["install"] == play_install_reply(r[0])
    assert stored(env)["Image"] == "localhost/edited", "replayed, not applied again"
    # A new run (another seed) applies it.
    r = play(env, [container(WEB)])
    assert r[0]["changed"] is True
    assert stored(env)["Image"] == "localhost/nginx"


def play_install_reply(result):
    return result["replies"]["install"]


def test_info_lists_containers_and_reservations(env):
    r = play(
        env,
        [
            container(WEB),
            {"berth.containers.berth_info": {"executable": BERTH}},
            {"berth.containers.berth_info": {"executable": BERTH, "id": "web"}},
        ],
    )
    info = r[1]
    assert [c["Id"] for c in info["containers"]] == ["web"]
    port = stored(env)["Ports"][0]["External"]
    assert info["reservations"] == {"web": [port]}
    assert r[2]["status"]["Units"][0]["Unit"] == "berth-web.service"
    assert info["changed"] is False
