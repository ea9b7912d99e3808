"""`make run` keeps Kumpel up: a crashed child is restarted, one that keeps crashing stops it all.

Real processes throughout: a tiny HTTP server stands in for a child where only the restart logic
is under test (seconds), and the real trained stack shows what a citizen notices (minutes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kumpel_stack.launcher import Process, RestartPolicy, Stack, Supervisor, SupervisorGaveUp, free_port, http_get
from kumpel_stack.testing import Conversation, make_stack

FAST = RestartPolicy(max_crashes=3, window_seconds=60.0, backoff_seconds=0.2, max_backoff_seconds=5.0)


def tick_until(supervisor: Supervisor, done: Callable[[], bool], seconds: float) -> None:
    """Run the supervisor's rounds until ``done()`` holds; bounded in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.tick()
        if done():
            return
        time.sleep(0.05)
    raise AssertionError(f"not done within {seconds} s")


def healthy_again_since(lines: list[str], seen: int) -> Callable[[], bool]:
    """Whether the supervisor logged a child healthy again after its first ``seen`` lines."""
    return lambda: any("healthy again" in line for line in lines[seen:])


def http_server_stack(tmp_path: Path) -> Stack:
    """A Stack of one real child: Python's HTTP server, healthy when it answers GET /."""
    port = free_port()
    child = Process(
        "web",
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        dict(os.environ),
        f"http://127.0.0.1:{port}/",
        tmp_path / "web.log",
    )
    stack = Stack(state_dir=tmp_path, processes=[child])
    child.start(echo=False)
    deadline = time.monotonic() + 30
    while http_get(child.health_url) != 200:
        assert time.monotonic() < deadline, child.log_tail()
        time.sleep(0.1)
    return stack


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Stack]:
    stack = http_server_stack(tmp_path)
    yield stack
    stack.stop()


def test_a_killed_child_is_restarted_and_answers_again(web: Stack) -> None:
    lines: list[str] = []
    supervisor = Supervisor(web, FAST, log=lines.append)
    child = web.processes[0]
    assert child.popen is not None
    first_pid = child.popen.pid

    os.kill(first_pid, signal.SIGKILL)
    tick_until(supervisor, healthy_again_since(lines, 0), 30)

    assert child.alive() and child.popen is not None and child.popen.pid != first_pid
    assert http_get(child.health_url) == 200
    assert supervisor.restarts == 1
    assert lines[0].startswith("[supervisor] web exited with code -9; restarting in 0.2 s"), lines
    assert len(lines) == 2, lines  # one line for the restart, one when it is healthy again


def test_a_child_that_keeps_crashing_is_given_up_with_a_clear_message(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "raise SystemExit(3)"]
    crasher = Process("crasher", command, dict(os.environ), "http://127.0.0.1:1/", tmp_path / "crasher.log")
    stack = Stack(state_dir=tmp_path, processes=[crasher])
    crasher.start(echo=False)
    lines: list[str] = []
    supervisor = Supervisor(stack, FAST, log=lines.append)
    try:
        with pytest.raises(SupervisorGaveUp) as gave_up:
            tick_until(supervisor, lambda: False, 30)
    finally:
        stack.stop()

    assert "crasher exited with code 3" in str(gave_up.value)
    assert "crashed 3 times within 60 s, giving up" in str(gave_up.value)
    # Two restarts before giving up, the second after twice the first wait.
    assert [line.split("restarting in ")[1].split(" s")[0] for line in lines] == ["0.2", "0.4"], lines
    assert supervisor.restarts == 2


def test_crashes_outside_the_window_do_not_add_up(web: Stack) -> None:
    now = [0.0]
    lines: list[str] = []
    policy = RestartPolicy(max_crashes=2, window_seconds=10.0, backoff_seconds=0.0)
    supervisor = Supervisor(web, policy, log=lines.append, clock=lambda: now[0])
    child = web.processes[0]
    for _ in range(3):  # three crashes, each 20 s (fake clock) after the last: never 2 in 10 s
        assert child.popen is not None
        os.kill(child.popen.pid, signal.SIGKILL)
        child.popen.wait(timeout=10)
        tick_until(supervisor, healthy_again_since(lines, len(lines)), 30)
        now[0] += 20.0
    assert supervisor.restarts == 3
    assert all("crash 1 of 2" in line for line in lines if "restarting" in line), lines


def test_run_returns_when_told_to_stop(web: Stack) -> None:
    stopping = threading.Event()
    supervisor = Supervisor(web, FAST, log=lambda _line: None)
    runner = threading.Thread(target=supervisor.run, args=(stopping, 0.05))
    runner.start()
    stopping.set()
    runner.join(timeout=5)
    assert not runner.is_alive()
    assert web.processes[0].alive()  # stopping the supervisor leaves stopping the stack to its owner


@pytest.mark.integration
def test_after_the_action_server_is_killed_the_next_question_is_answered(tmp_path: Path) -> None:
    lines: list[str] = []
    with make_stack(tmp_path) as stack:
        # The probes docs/contracts.md ("Health") promises, as a load balancer reads them.
        for url in (
            f"{stack.knowledge_url}/live",
            f"{stack.knowledge_url}/ready",
            f"{stack.actions_url}/health",
            f"{stack.rasa_url}/",
            f"{stack.rasa_url}/webhooks/rest/",
        ):
            assert http_get(url) == 200, url
        actions = next(p for p in stack.processes if p.name == "actions")
        assert actions.popen is not None
        os.kill(actions.popen.pid, signal.SIGKILL)
        supervisor = Supervisor(stack, log=lines.append)
        tick_until(supervisor, lambda: any("actions is healthy again" in line for line in lines), 180)

        citizen = Conversation(stack)
        citizen.say("Wann hat das Bürgerbüro geöffnet?")
        assert "Bürgerbüro" in citizen.text, citizen.text
        assert "Uhr" in citizen.text, citizen.text
        assert "nicht erreichbar" not in citizen.text
        assert [line for line in lines if "restarting" in line] == [
            "[supervisor] actions exited with code -9; restarting in 1.0 s (crash 1 of 5 allowed within 300 s)"
        ]
        # The other two were never touched.
        assert all(p.alive() for p in stack.processes)


def children_of(pid: int) -> dict[int, str]:
    """The direct children of ``pid`` and their command lines, read from /proc."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue  # gone meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def wait_for_output(log: Path, text: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text("utf-8", "replace"):
        assert time.monotonic() < deadline, f"no {text!r} within {seconds} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.25)


@pytest.mark.integration
def test_make_run_survives_a_killed_action_server_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """`kumpel-stack run` as `make run` starts it: kill -9 one child, then SIGTERM the launcher."""
    planned = make_stack(tmp_path)
    env = {**os.environ, **planned.extra_env}
    ports = planned.ports
    command = [
        sys.executable,
        "-m",
        "kumpel_stack.launcher",
        "run",
        f"--rasa-port={ports.rasa}",
        f"--actions-port={ports.actions}",
        f"--knowledge-port={ports.knowledge}",
    ]
    log = tmp_path / "run.log"
    with open(log, "wb") as output:
        launcher = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_output(log, "Kumpel is ready", 300)
        children = children_of(launcher.pid)
        assert len(children) == 3, children
        actions = next(pid for pid, cmdline in children.items() if "kumpel-actions" in cmdline)

        os.kill(actions, signal.SIGKILL)
        wait_for_output(log, "[supervisor] actions is healthy again", 120)
        citizen = Conversation(planned)
        citizen.say("Wann hat das Bürgerbüro geöffnet?")
        assert "Bürgerbüro" in citizen.text and "nicht erreichbar" not in citizen.text, citizen.text

        survivors = children_of(launcher.pid)
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0
        for pid in survivors:  # every child stopped with the launcher
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=30)
