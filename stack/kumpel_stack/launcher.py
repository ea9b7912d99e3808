"""Start and stop Kumpel's three processes: knowledge service, action server and Rasa.

Standard library only, so that `make run`, the terminal chat and the tests of both venvs can use it.

    python3 bot/stack.py run            # default ports, prints where to chat, Ctrl-C stops all
    python3 bot/stack.py run --help
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Optional

ROOT = Path(__file__).resolve().parent.parent
RASA_VENV = ROOT / ".venv" / "rasa"
KNOWLEDGE_VENV = ROOT / ".venv" / "knowledge"
MODELS_DIR = ROOT / "models"
VAR_DIR = ROOT / "var"

# Telemetry is on by default in Rasa; a city's chatbot must not phone home.
BASE_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Ports:
    rasa: int = 5005
    actions: int = 5055
    knowledge: int = 8000

    @classmethod
    def free(cls) -> "Ports":
        return cls(rasa=free_port(), actions=free_port(), knowledge=free_port())


def http_get(url: str, timeout: float = 2.0) -> Optional[int]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return None


def post_json(url: str, payload: object, timeout: float = 30.0) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str
    log_path: Optional[Path] = None
    popen: Optional[subprocess.Popen[bytes]] = None
    _log_file: Optional[IO[bytes]] = None
    _pump: Optional[threading.Thread] = None

    def start(self, echo: bool) -> None:
        stdout: object
        if echo:
            stdout = subprocess.PIPE
        else:
            assert self.log_path is not None
            self._log_file = open(self.log_path, "wb")
            stdout = self._log_file
        self.popen = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=stdout,  # type: ignore[arg-type]
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
        env = dict(os.environ)
        env.update(BASE_ENV)
        env.setdefault("KUMPEL_DATABASE_URL", f"sqlite:///{self.state_dir / 'kumpel.db'}")
        env.setdefault("KUMPEL_TRACKER_DB", str(self.state_dir / "tracker.db"))
        env.setdefault("KUMPEL_RASA_ENDPOINTS", str(ROOT / "endpoints.yml"))
        # Conversations (form answers included) are deleted after a day of silence by default.
        env.setdefault("KUMPEL_TRACKER_RETENTION_SECONDS", str(24 * 3600))
        # The action server proves itself to the knowledge service with this token; a fresh one
        # per start unless the operator sets one.
        env.setdefault("KUMPEL_ACTION_TOKEN", secrets.token_urlsafe(24))
        env.setdefault("KUMPEL_CORS_ORIGINS", f"http://{self.host}:{self.ports.knowledge} http://localhost:{self.ports.knowledge}")
        env["KUMPEL_ACTION_ENDPOINT_URL"] = f"{self.actions_url}/webhook"
        env["KUMPEL_KNOWLEDGE_URL"] = self.knowledge_url
        env["KUMPEL_RASA_URL"] = self.rasa_url
        env["SANIC_HOST"] = self.host  # rasa-sdk binds 0.0.0.0 unless told
        env.update(self.extra_env)
        return env

    def _build(self) -> list[Process]:
        env = self._env()
        knowledge_env = dict(env, PYTHONPATH=str(ROOT / "knowledge"))
        rasa_bin = RASA_VENV / "bin"
        cors = env["KUMPEL_CORS_ORIGINS"].split()
        return [
            Process(
                "knowledge",
                [str(KNOWLEDGE_VENV / "bin" / "python"), "-m", "kumpel_knowledge", "serve",
                 "--host", self.host, "--port", str(self.ports.knowledge)],
                knowledge_env,
                f"{self.knowledge_url}/health",
                self.state_dir / "knowledge.log",
            ),
            Process(
                "actions",
                [str(rasa_bin / "python"), "-m", "rasa_sdk", "--actions", "actions",
                 "--port", str(self.ports.actions), "--cors", *cors],
                env,
                f"{self.actions_url}/health",
                self.state_dir / "actions.log",
            ),
            Process(
                "rasa",
                [str(rasa_bin / "rasa"), "run", "--model", str(self.model),
                 "--endpoints", env["KUMPEL_RASA_ENDPOINTS"], "--credentials", str(ROOT / "credentials.yml"),
                 "--interface", self.host, "--port", str(self.ports.rasa), "--cors", *cors],
                env,
                f"{self.rasa_url}/webhooks/rest/",
                self.state_dir / "rasa.log",
            ),
        ]

    def start(self, timeout: float = 240.0) -> "Stack":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for venv in (RASA_VENV, KNOWLEDGE_VENV):
            if not (venv / "bin" / "python").exists():
                raise RuntimeError(f"{venv} is missing: run `make setup` first")
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
        for process in reversed(self.processes):
            process.stop()

    def send(self, text: str, sender: str) -> list[dict[str, object]]:
        """One turn over Rasa's REST channel; returns the bot messages."""
        result = post_json(f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text})
        assert isinstance(result, list)
        return result

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run Kumpel: knowledge service, action server and Rasa.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start all three and wait for Ctrl-C")
    run.add_argument("--host", default=os.environ.get("KUMPEL_HOST", "127.0.0.1"))
    run.add_argument("--rasa-port", type=int, default=int(os.environ.get("KUMPEL_RASA_PORT", 5005)))
    run.add_argument("--actions-port", type=int, default=int(os.environ.get("KUMPEL_ACTIONS_PORT", 5055)))
    run.add_argument("--knowledge-port", type=int, default=int(os.environ.get("KUMPEL_KNOWLEDGE_PORT", 8000)))
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
            f"  Knowledge API docs:        {stack.knowledge_url}/docs\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping.is_set():
            if not all(p.alive() for p in stack.processes):
                dead = [p.name for p in stack.processes if not p.alive()]
                print(f"stopped: {', '.join(dead)} exited", file=sys.stderr)
                return 1
            stopping.wait(1.0)
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print("stopping Kumpel ...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
