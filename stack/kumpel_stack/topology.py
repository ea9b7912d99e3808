"""A production topology on one machine: the failure tests run against it, and it can be run by hand.

    kumpel-topology                 # start it all on free loopback ports, print them, Ctrl-C stops

Processes, each in a folder of its own under ``state_dir``:

- Redis (append-only file on, so a restarted Redis has its conversations back): tracker + lock store
- PostgreSQL (a fresh ``initdb`` cluster on a free port) for the knowledge service
- the knowledge service on PostgreSQL
- two action servers and two Rasa instances (``bot/endpoints.redis.yml``)
- HAProxy in front of both pairs (``deploy/haproxy/haproxy.cfg.template``): Rasa's REST round robin,
  ``/socket.io/`` sticky by source address, action servers round robin, health checks on all

Standard library only, like the launcher (whose ``Process``, ``free_port`` and ``http_get`` it uses).
Needs Debian's ``redis-server``, ``haproxy`` and PostgreSQL 15 server binaries.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from kumpel_stack.launcher import ROOT, Ports, Process, Stack, free_port, http_get

PG_BIN = Path("/usr/lib/postgresql/15/bin")
HAPROXY_TEMPLATE = ROOT / "deploy" / "haproxy" / "haproxy.cfg.template"
REDIS_ENDPOINTS = ROOT / "bot" / "endpoints.redis.yml"
DATABASE = "kumpel"
# Turns one Rasa instance works on at once; HAProxy queues the rest (the 2-core machine's sweet spot).
RASA_MAXCONN = 8


def redis_ready(port: int) -> bool:
    """Whether a Redis answers PING on the loopback port (and has loaded its append-only file)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the 'postgres' system user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class Member:
    """One process of the topology and how to tell it is ready."""

    process: Process
    ready: Callable[[], bool]


@dataclass
class Topology:
    """The processes above on free loopback ports; ``extra_env`` is added to every process's environment."""

    state_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    instances: int = 2
    host: str = "127.0.0.1"
    members: dict[str, Member] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.redis_port = free_port()
        self.postgres_port = free_port()
        self.knowledge_port = free_port()
        self.rasa_ports = [free_port() for _ in range(self.instances)]
        self.actions_ports = [free_port() for _ in range(self.instances)]
        self.lb_rasa_port = free_port()
        self.lb_actions_port = free_port()
        self.lb_stats_port = free_port()
        # PostgreSQL runs as the 'postgres' user when we are root, and pytest's folders are private
        # to root: its cluster gets a folder of its own, handed to that user, removed by __exit__.
        self.postgres_dir = Path(tempfile.mkdtemp(prefix="kumpel-pg-"))

    @property
    def rasa_url(self) -> str:
        """Where citizens' channels reach Rasa: HAProxy."""
        return f"http://{self.host}:{self.lb_rasa_port}"

    @property
    def knowledge_url(self) -> str:
        return f"http://{self.host}:{self.knowledge_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://{DATABASE}@{self.host}:{self.postgres_port}/{DATABASE}"

    def folder(self, name: str) -> Path:
        path = self.state_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- building ---------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        """One environment for all: the launcher's (same secrets everywhere), pointed at the balancers."""
        env = {
            "KUMPEL_RASA_ENDPOINTS": str(REDIS_ENDPOINTS),
            "KUMPEL_REDIS_HOST": self.host,
            "KUMPEL_REDIS_PORT": str(self.redis_port),
            "KUMPEL_REDIS_DB": "0",
            "KUMPEL_REDIS_PASSWORD": "",
            "KUMPEL_DATABASE_URL": self.database_url,
            "KUMPEL_TRACKER_DB": str(self.state_dir / "unused-tracker.db"),
        }
        env.update(self.extra_env)
        balanced = Ports(rasa=self.lb_rasa_port, actions=self.lb_actions_port, knowledge=self.knowledge_port)
        return Stack(ports=balanced, host=self.host, state_dir=self.state_dir, extra_env=env)._env()

    def _haproxy_config(self) -> Path:
        def servers(name: str, ports: list[int]) -> str:
            return "\n".join(f"    server {name}{n + 1} {self.host}:{port} check" for n, port in enumerate(ports))

        text = Template(HAPROXY_TEMPLATE.read_text("utf-8")).substitute(
            RASA_BIND=f"{self.host}:{self.lb_rasa_port}",
            ACTIONS_BIND=f"{self.host}:{self.lb_actions_port}",
            STATS_BIND=f"{self.host}:{self.lb_stats_port}",
            RASA_MAXCONN=str(RASA_MAXCONN),
            RASA_SERVERS=servers("rasa", self.rasa_ports),
            ACTION_SERVERS=servers("actions", self.actions_ports),
        )
        path = self.folder("haproxy") / "haproxy.cfg"
        path.write_text(text, "utf-8")
        return path

    def _init_postgres(self) -> Path:
        base = self.postgres_dir
        data = base / "data"
        if os.geteuid() == 0:
            shutil.chown(base, user="postgres")
        if not data.exists():
            subprocess.run(
                _as_postgres_user(
                    [
                        str(PG_BIN / "initdb"),
                        "-D",
                        str(data),
                        "-U",
                        DATABASE,
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--no-locale",
                    ]
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
        return data

    def _build(self) -> None:
        for program in (PG_BIN / "postgres", PG_BIN / "initdb"):
            if not program.exists():
                raise RuntimeError(f"{program} is missing: apt-get install postgresql-15")
        for name in ("redis-server", "haproxy"):
            if shutil.which(name) is None:
                raise RuntimeError(f"{name} is missing: apt-get install {name}")
        env = self._env()
        data = self._init_postgres()
        redis_dir = self.folder("redis")
        logs = self.folder("logs")

        def member(process: Process, ready: Callable[[], bool] | None = None) -> None:
            process.log_path = logs / f"{process.name}.log"
            url = process.health_url
            self.members[process.name] = Member(process, ready or (lambda: http_get(url) == 200))

        member(
            Process(
                "redis",
                # appendonly: every write is logged and replayed on start, so a restart keeps the trackers.
                [str(shutil.which("redis-server")), "--port", str(self.redis_port), "--bind", self.host]
                + ["--dir", str(redis_dir), "--appendonly", "yes", "--save", ""],
                env,
                "",
            ),
            lambda: redis_ready(self.redis_port),
        )
        pg_options = [
            "-D",
            str(data),
            "-p",
            str(self.postgres_port),
            "-k",
            str(data.parent),
            "-c",
            f"listen_addresses={self.host}",
            # A throw-away cluster on a test machine; a real deployment runs its own PostgreSQL.
            "-c",
            "fsync=off",
        ]
        member(
            Process("postgres", _as_postgres_user([str(PG_BIN / "postgres"), *pg_options]), env, ""),
            self._postgres_ready,
        )
        for n, (rasa_port, actions_port) in enumerate(zip(self.rasa_ports, self.actions_ports, strict=True), 1):
            ports = Ports(rasa=rasa_port, actions=actions_port, knowledge=self.knowledge_port)
            built = {p.name: p for p in Stack(ports=ports, host=self.host, extra_env=env)._build()}
            if n == 1:
                member(built["knowledge"])
            for name in ("actions", "rasa"):
                process = built[name]
                process.name = f"{name}-{n}"
                process.env = env
                member(process)
        config = self._haproxy_config()
        member(
            Process("haproxy", [str(shutil.which("haproxy")), "-db", "-f", str(config)], env, ""),
            lambda: http_get(f"http://{self.host}:{self.lb_rasa_port}/lb-health") == 200,
        )

    def _postgres_ready(self) -> bool:
        probe = subprocess.run(
            [str(PG_BIN / "pg_isready"), "-q", "-h", self.host, "-p", str(self.postgres_port)],
            capture_output=True,
            timeout=10,
        )
        return probe.returncode == 0

    def _create_database(self) -> None:
        exists = self.sql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", database="postgres")
        if not exists:
            self.sql(f"CREATE DATABASE {DATABASE}", database="postgres")

    # --- running ----------------------------------------------------------------------------

    def start(self, timeout: float = 420.0) -> Topology:
        """Start everything in dependency order and wait until each member is ready."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._build()
        deadline = time.monotonic() + timeout
        self._start_and_wait(["redis", "postgres"], deadline)
        self._create_database()
        # The knowledge service migrates and seeds the empty database; Rasa loads its model meanwhile.
        later = [name for name in self.members if name not in ("redis", "postgres", "haproxy")]
        self._start_and_wait(later, deadline)
        self._start_and_wait(["haproxy"], deadline)
        return self

    def _start_and_wait(self, names: list[str], deadline: float) -> None:
        for name in names:
            self.members[name].process.start(echo=False)
        pending = list(names)
        while pending:
            for name in list(pending):
                member = self.members[name]
                if not member.process.alive():
                    self.stop()
                    raise RuntimeError(f"{name} exited during start-up:\n{member.process.log_tail()}")
                if member.ready():
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                tails = "\n".join(f"--- {n}\n{self.members[n].process.log_tail()}" for n in pending)
                self.stop()
                raise RuntimeError(f"not ready in time: {', '.join(pending)}\n{tails}")
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop all members, the balancer first and the stores last."""
        for name in reversed(list(self.members)):
            self.members[name].process.stop()

    def kill(self, name: str) -> None:
        """``kill -9`` one member (its whole process group): no shutdown, locks left held."""
        process = self.members[name].process
        assert process.popen is not None
        os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)

    def stop_member(self, name: str) -> None:
        """A graceful stop (SIGTERM) of one member, as an operator's restart does."""
        self.members[name].process.stop()

    def start_member(self, name: str, timeout: float = 240.0) -> None:
        """Start a stopped member again, with the same ports and data, and wait until it is ready."""
        self._start_and_wait([name], time.monotonic() + timeout)

    def restart(self, name: str, timeout: float = 240.0) -> None:
        self.stop_member(name)
        self.start_member(name, timeout)

    def balancer_sessions(self, backend: str) -> dict[str, int]:
        """How many requests HAProxy sent to each server of ``backend`` (its CSV statistics)."""
        url = f"http://{self.host}:{self.lb_stats_port}/stats;csv"
        with urllib.request.urlopen(url, timeout=5) as response:
            rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8").lstrip("# "))))
        return {
            row["svname"]: int(row["stot"] or 0)
            for row in rows
            if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def sql(self, query: str, database: str = DATABASE) -> list[list[str]]:
        """Rows of a query on the topology's PostgreSQL, as text (psql, no driver needed)."""
        result = subprocess.run(
            [str(PG_BIN / "psql"), "-h", self.host, "-p", str(self.postgres_port), "-U", DATABASE]
            + ["-d", database, "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return [line.split("\t") for line in result.stdout.splitlines() if line]

    def __enter__(self) -> Topology:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.postgres_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``kumpel-topology``: start the topology in a temporary folder and wait for Ctrl-C (or SIGTERM)."""
    parser = argparse.ArgumentParser(
        description="Run Kumpel as in production on one machine: Redis, PostgreSQL, 2 x Rasa and 2 x actions "
        "behind HAProxy."
    )
    parser.add_argument("--state-dir", type=Path, help="where the processes keep their data (default: a temp dir)")
    parser.add_argument("--instances", type=int, default=2, help="Rasa instances and action servers (default 2)")
    args = parser.parse_args(argv)
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="kumpel-topology-"))
    topology = Topology(state_dir=state_dir, instances=args.instances)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        topology.start()
        print(
            f"\nKumpel topology is ready (state in {state_dir}).\n"
            f"  REST through HAProxy: POST {topology.rasa_url}/webhooks/rest/webhook\n"
            f"  Web chat:             {topology.knowledge_url}/  (socket.io via {topology.rasa_url})\n"
            f"  Rasa instances:       {', '.join(str(p) for p in topology.rasa_ports)}\n"
            f"  Action servers:       {', '.join(str(p) for p in topology.actions_ports)} "
            f"(balanced on {topology.lb_actions_port})\n"
            f"  Redis {topology.redis_port}, PostgreSQL {topology.postgres_port}; logs in {state_dir / 'logs'}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping.is_set():
            dead = [name for name, m in topology.members.items() if not m.process.alive()]
            if dead:
                print(f"stopped: {', '.join(dead)} exited", file=sys.stderr)
                return 1
            stopping.wait(1.0)
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print("stopping the topology ...", flush=True)
        topology.__exit__()
    return 0


if __name__ == "__main__":
    sys.exit(main())
