"""Start and stop Kumpel's three processes: knowledge service, action server and Rasa.

Standard library only, so that `make run`, the terminal chat and the tests of both venvs can use it
(package ``kumpel-stack``, installed editable into both venvs).

    kumpel-stack run            # default ports, prints where to chat, Ctrl-C stops all
    kumpel-stack run --help

Each process runs from its venv's console script or module, never with a PYTHONPATH: the knowledge
service as ``kumpel-knowledge serve`` (.venv/knowledge), the action server as ``kumpel-actions``
and the engine as ``kumpel-rasa run`` (.venv/rasa; ``kumpel-rasa`` applies Kumpel's Rasa patches,
then hands over to Rasa's own CLI).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # typing.Self is Python 3.11+; only the type checker reads it here
    from typing_extensions import Self

# The repository: stack/kumpel_stack/launcher.py -> the root (the package is installed editable).
ROOT = Path(__file__).resolve().parents[2]
RASA_VENV = ROOT / ".venv" / "rasa"
KNOWLEDGE_VENV = ROOT / ".venv" / "knowledge"
MODELS_DIR = ROOT / "models"
VAR_DIR = ROOT / "var"
# What start() runs; all of them come from `make setup` (the console scripts from the editable installs).
REQUIRED_PROGRAMS = (
    RASA_VENV / "bin" / "python",
    RASA_VENV / "bin" / "kumpel-rasa",
    RASA_VENV / "bin" / "kumpel-actions",
    KNOWLEDGE_VENV / "bin" / "kumpel-knowledge",
)

# Telemetry is on by default in Rasa; a city's chatbot must not phone home.
BASE_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
# Each venv finds its code through its installed packages; a PYTHONPATH inherited from the caller
# (possibly meant for the other venv's Python) would mix the two.
DROPPED_ENV = ("PYTHONPATH",)
# Sanic workers of the Rasa engine (KUMPEL_RASA_WORKERS). Each loads the model (about 0.5 GB RSS) and
# they share the two cores with the knowledge service and the action server: one measured best
# (bench/load.py, see the README). More need a cross-process lock store: endpoints.yml's file lock
# store or bot/endpoints.redis.yml's Redis lock; with several, socket.io's polling transport needs
# sticky routing (the widget tries the websocket first).
DEFAULT_RASA_WORKERS = 1


def rasa_workers(env: dict[str, str]) -> int:
    """The configured number of Rasa workers; a clear error for anything but a positive integer."""
    value = env.get("KUMPEL_RASA_WORKERS", "").strip() or str(DEFAULT_RASA_WORKERS)
    if not value.isdigit() or int(value) < 1:
        raise RuntimeError(f"KUMPEL_RASA_WORKERS must be a positive whole number, not {value!r}")
    return int(value)


# Ports for our servers come from below Linux's ephemeral range (32768-60999 by default), where the
# kernel picks the source ports of outgoing connections: an OS-assigned "free" port from that range
# can be taken by any client connection (another stack's, under load) before our server binds it.
_SERVER_PORTS = range(20000, 32000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now and not handed out before."""
    rng = random.Random()
    for _ in range(200):
        port = rng.choice(_SERVER_PORTS)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # crowded range: let the OS pick
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    _handed_out.add(port)
    return port


@dataclass
class Ports:
    rasa: int = 5005
    actions: int = 5055
    knowledge: int = 8000

    @classmethod
    def free(cls) -> Ports:
        return cls(rasa=free_port(), actions=free_port(), knowledge=free_port())


def http_get(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return None


def post_json(url: str, payload: object, timeout: float = 30.0) -> object:
    """POST ``payload`` as JSON and return the decoded JSON reply."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


@dataclass
class Process:
    """One child process with its health URL; its output goes to ``log_path`` or, echoed, to stdout."""

    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str
    log_path: Path | None = None
    popen: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = None
    _pump: threading.Thread | None = None

    def start(self, echo: bool, append: bool = False) -> None:
        """Start the process; ``append`` keeps the log of an earlier run (a restart keeps the crash)."""
        stdout: int | IO[bytes]
        if echo:
            stdout = subprocess.PIPE
        else:
            assert self.log_path is not None
            mode = "ab" if append else "wb"
            self._log_file = open(self.log_path, mode)  # noqa: SIM115 - open for the process's life, closed in stop()
            stdout = self._log_file
        self.popen = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: Ctrl-C and stop() reach its children too
        )
        if echo:
            self._pump = threading.Thread(target=self._echo, daemon=True)
            self._pump.start()

    def _echo(self) -> None:
        assert self.popen is not None and self.popen.stdout is not None
        for raw in self.popen.stdout:
            sys.stdout.write(f"[{self.name}] {raw.decode('utf-8', 'replace')}")
            sys.stdout.flush()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=timeout)
            except ProcessLookupError:
                pass
        if self._log_file is not None:
            self._log_file.close()

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])


@dataclass
class Stack:
    """The three processes on the given ports, with their own SQLite files under `state_dir`."""

    ports: Ports = field(default_factory=Ports)
    host: str = "127.0.0.1"
    state_dir: Path = VAR_DIR
    model: Path = MODELS_DIR
    extra_env: dict[str, str] = field(default_factory=dict)
    echo: bool = False
    processes: list[Process] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.ports.rasa}"

    @property
    def knowledge_url(self) -> str:
        return f"http://{self.host}:{self.ports.knowledge}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.ports.actions}"

    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in DROPPED_ENV}
        env.update(BASE_ENV)
        env.setdefault("KUMPEL_DATABASE_URL", f"sqlite:///{self.state_dir / 'kumpel.db'}")
        env.setdefault("KUMPEL_TRACKER_DB", str(self.state_dir / "tracker.db"))
        env.setdefault("KUMPEL_RASA_ENDPOINTS", str(ROOT / "endpoints.yml"))
        # The Sanic workers' conversation locks (endpoints.yml, bot.lock_store.FileLockStore).
        env.setdefault("KUMPEL_RASA_LOCK_DIR", str(self.state_dir / "rasa-locks"))
        # Conversations (form answers included) are deleted after a day of silence by default.
        env.setdefault("KUMPEL_TRACKER_RETENTION_SECONDS", str(24 * 3600))
        # The action server proves itself to the knowledge service with this token; a fresh one
        # per start unless the operator sets one.
        env.setdefault("KUMPEL_ACTION_TOKEN", secrets.token_urlsafe(24))
        # Rasa proves itself to the action server with this one (endpoints.yml sends it as a header);
        # nothing else may call the action server. Fresh per start unless the operator sets one.
        env.setdefault("KUMPEL_ACTION_SERVER_SECRET", secrets.token_urlsafe(32))
        env.setdefault(
            "KUMPEL_CORS_ORIGINS", f"http://{self.host}:{self.ports.knowledge} http://localhost:{self.ports.knowledge}"
        )
        env["KUMPEL_ACTION_ENDPOINT_URL"] = f"{self.actions_url}/webhook"
        env["KUMPEL_KNOWLEDGE_URL"] = self.knowledge_url
        env["KUMPEL_RASA_URL"] = self.rasa_url
        env["SANIC_HOST"] = self.host  # rasa-sdk binds 0.0.0.0 unless told
        env.update(self.extra_env)
        # Rasa reads SANIC_WORKERS (rasa/core/utils.py number_of_sanic_workers); it keeps one worker
        # with an in-memory lock store. The action server is rasa-sdk: it does not read it.
        env["SANIC_WORKERS"] = str(rasa_workers(env))
        return env

    def _build(self) -> list[Process]:
        env = self._env()
        rasa_bin = RASA_VENV / "bin"
        cors = env["KUMPEL_CORS_ORIGINS"].split()
        return [
            Process(
                "knowledge",
                [
                    str(KNOWLEDGE_VENV / "bin" / "kumpel-knowledge"),
                    "serve",
                    "--host",
                    self.host,
                    "--port",
                    str(self.ports.knowledge),
                ],
                env,
                f"{self.knowledge_url}/health",
                self.state_dir / "knowledge.log",
            ),
            Process(
                "actions",
                [
                    str(rasa_bin / "kumpel-actions"),
                    "--host",
                    self.host,
                    "--port",
                    str(self.ports.actions),
                ],
                env,
                f"{self.actions_url}/health",
                self.state_dir / "actions.log",
            ),
            Process(
                "rasa",
                [
                    str(rasa_bin / "kumpel-rasa"),
                    "run",
                    "--model",
                    str(self.model),
                    "--endpoints",
                    env["KUMPEL_RASA_ENDPOINTS"],
                    "--credentials",
                    str(ROOT / "credentials.yml"),
                    "--interface",
                    self.host,
                    "--port",
                    str(self.ports.rasa),
                    "--cors",
                    *cors,
                ],
                env,
                f"{self.rasa_url}/webhooks/rest/",
                self.state_dir / "rasa.log",
            ),
        ]

    def start(self, timeout: float = 240.0) -> Self:
        """Start the three processes and wait until each answers its health URL."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for program in REQUIRED_PROGRAMS:
            if not program.exists():
                raise RuntimeError(f"{program} is missing: run `make setup` first")
        if not any(Path(self.model).glob("*.tar.gz")) and not str(self.model).endswith(".tar.gz"):
            raise RuntimeError(f"no trained model in {self.model}: run `make setup` (or `make train`) first")
        self.processes = self._build()
        for process in self.processes:
            process.start(self.echo)
        deadline = time.monotonic() + timeout
        pending = list(self.processes)
        while pending:
            for process in list(pending):
                if not process.alive():
                    self.stop()
                    raise RuntimeError(f"{process.name} exited during start-up:\n{process.log_tail()}")
                if http_get(process.health_url) == 200:
                    pending.remove(process)
            if time.monotonic() > deadline:
                names = ", ".join(p.name for p in pending)
                tails = "\n".join(f"--- {p.name}\n{p.log_tail()}" for p in pending)
                self.stop()
                raise RuntimeError(f"not ready after {timeout:.0f} s: {names}\n{tails}")
            time.sleep(0.25)
        return self

    def stop(self) -> None:
        """Stop the processes in reverse start order."""
        for process in reversed(self.processes):
            process.stop()

    def send(self, text: str, sender: str) -> list[dict[str, Any]]:
        """One turn over Rasa's REST channel; returns the bot messages."""
        result = post_json(f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text})
        assert isinstance(result, list)
        return result

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SupervisorGaveUp(RuntimeError):
    """A child crashed too often in a short time: restarting it again would only hide the fault."""


@dataclass(frozen=True)
class RestartPolicy:
    """How the supervisor treats a child that exits on its own.

    The n-th crash within ``window_seconds`` waits ``backoff_seconds * 2**(n-1)`` (at most
    ``max_backoff_seconds``) before the restart; crash number ``max_crashes`` in the window gives up.
    """

    max_crashes: int = 5
    window_seconds: float = 300.0
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    # Rasa needs about a minute to load its model on a busy machine; a restart that is not healthy
    # by then counts as one more crash.
    ready_timeout_seconds: float = 240.0

    def backoff(self, crashes_in_window: int) -> float:
        return min(self.backoff_seconds * 2 ** max(crashes_in_window - 1, 0), self.max_backoff_seconds)


@dataclass
class _Watch:
    """What the supervisor knows about one child: its recent crashes and where its restart stands."""

    process: Process
    crashes: list[float] = field(default_factory=list)
    state: str = "running"  # running | waiting (backoff) | starting (awaiting its health URL)
    since: float = 0.0
    restart_at: float = 0.0


class Supervisor:
    """Keeps a started stack running: restarts a child that exits, with a growing backoff.

    Each restart is one log line, and one more when the child answers its health URL again. A child
    that crashes ``policy.max_crashes`` times within ``policy.window_seconds`` raises
    :class:`SupervisorGaveUp`; the caller then stops the stack. ``tick()`` does one round without
    blocking for long, so a caller can interleave it with its own checks; ``run()`` loops until told
    to stop.
    """

    def __init__(
        self,
        stack: Stack,
        policy: RestartPolicy | None = None,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stack = stack
        self.policy = policy or RestartPolicy()
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._clock = clock
        self._watches = [_Watch(process) for process in stack.processes]
        self.restarts = 0

    def run(self, stopping: threading.Event, interval: float = 1.0) -> None:
        """Supervise until ``stopping`` is set; raises :class:`SupervisorGaveUp`."""
        while not stopping.is_set():
            self.tick()
            stopping.wait(interval)

    def tick(self) -> None:
        """One round over the children: notice exits, restart after the backoff, await health."""
        now = self._clock()
        for watch in self._watches:
            process = watch.process
            if watch.state == "running" and not process.alive():
                self._crashed(watch, now, f"exited with code {self._exit_code(process)}")
            elif watch.state == "waiting" and now >= watch.restart_at:
                self._restart(watch, now)
            elif watch.state == "starting":
                if not process.alive():
                    self._crashed(watch, now, f"exited with code {self._exit_code(process)} while starting")
                elif http_get(process.health_url, timeout=1.0) == 200:
                    watch.state = "running"
                    self._log(f"[supervisor] {process.name} is healthy again after {now - watch.since:.1f} s")
                elif now - watch.since > self.policy.ready_timeout_seconds:
                    self._kill_group(process)
                    self._crashed(watch, now, f"not healthy after {self.policy.ready_timeout_seconds:.0f} s")

    def _crashed(self, watch: _Watch, now: float, reason: str) -> None:
        policy = self.policy
        watch.crashes = [t for t in watch.crashes if now - t < policy.window_seconds] + [now]
        count = len(watch.crashes)
        name = watch.process.name
        if count >= policy.max_crashes:
            raise SupervisorGaveUp(
                f"{name} {reason}; it crashed {count} times within {policy.window_seconds:.0f} s, giving up"
                f" (its log: {watch.process.log_path or 'above'})"
            )
        delay = policy.backoff(count)
        watch.state, watch.restart_at = "waiting", now + delay
        self._log(
            f"[supervisor] {name} {reason}; restarting in {delay:.1f} s"
            f" (crash {count} of {policy.max_crashes} allowed within {policy.window_seconds:.0f} s)"
        )

    def _restart(self, watch: _Watch, now: float) -> None:
        process = watch.process
        self._kill_group(process)  # a worker of the dead child may still hold its port
        process.stop()  # reaps it and closes its log file
        process.start(self.stack.echo, append=True)
        watch.state, watch.since = "starting", now
        self.restarts += 1

    @staticmethod
    def _exit_code(process: Process) -> int | None:
        return process.popen.returncode if process.popen is not None else None

    @staticmethod
    def _kill_group(process: Process) -> None:
        if process.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the whole group is gone already
            os.killpg(process.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=10.0)


def main(argv: list[str] | None = None) -> int:
    """``kumpel-stack run``: start all three processes and wait for Ctrl-C (or SIGTERM)."""
    parser = argparse.ArgumentParser(description="Run Kumpel: knowledge service, action server and Rasa.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start all three and wait for Ctrl-C")
    run.add_argument("--host", default=os.environ.get("KUMPEL_HOST", "127.0.0.1"))
    run.add_argument("--rasa-port", type=int, default=int(os.environ.get("KUMPEL_RASA_PORT", "5005")))
    run.add_argument("--actions-port", type=int, default=int(os.environ.get("KUMPEL_ACTIONS_PORT", "5055")))
    run.add_argument("--knowledge-port", type=int, default=int(os.environ.get("KUMPEL_KNOWLEDGE_PORT", "8000")))
    args = parser.parse_args(argv)

    stack = Stack(
        ports=Ports(rasa=args.rasa_port, actions=args.actions_port, knowledge=args.knowledge_port),
        host=args.host,
        echo=True,
    )
    started = time.monotonic()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stack.start()
        print(
            f"\nKumpel is ready after {time.monotonic() - started:.1f} s.\n"
            f"  Web chat (demo city page): {stack.knowledge_url}/\n"
            f"  REST channel:              POST {stack.rasa_url}/webhooks/rest/webhook\n"
            f"  Terminal chat:             make chat\n"
            f"  Knowledge API docs:        {stack.knowledge_url}/api/docs\n"
            f"  Staff console:             {stack.knowledge_url}/staff/  "
            "(first admin: .venv/knowledge/bin/kumpel-knowledge users add NAME --role admin)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        # A child that crashes is restarted (growing backoff); one crashing again and again stops all.
        Supervisor(stack).run(stopping)
    except KeyboardInterrupt:
        pass
    except SupervisorGaveUp as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print("stopping Kumpel ...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
