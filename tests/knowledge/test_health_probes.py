"""What a load balancer or Kubernetes reads from the probes: /live, /ready and /health.

The database outage is real: a PostgreSQL server started for the test and stopped under the app.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.migrations import upgrade
from kumpel_knowledge.core.settings import Settings

PG_BIN = Path(os.environ.get("KUMPEL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def test_a_ready_service_is_live_and_ready(kb_client: TestClient) -> None:
    assert kb_client.get("/live").json() == {"status": "alive"}
    ready = kb_client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}
    assert kb_client.get("/health").json()["status"] == "ok"


def test_before_the_index_is_built_it_is_live_but_not_ready(kb_settings: Settings) -> None:
    client = TestClient(create_app(kb_settings))  # no lifespan run: nothing indexed yet
    assert client.get("/live").status_code == 200
    assert client.get("/ready").status_code == 503
    assert client.get("/ready").json()["status"] == "starting"
    assert client.get("/health").status_code == 503


def _run_as_postgres(command: list[str], check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """initdb refuses to run as root: run the server tools as the 'postgres' system user then."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=check, capture_output=True, timeout=120)


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A throw-away PostgreSQL server on a free loopback port: (URL, data directory)."""
    if not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"PostgreSQL 15 server binaries not found in {PG_BIN}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser")
    base = Path(tempfile.mkdtemp(prefix="kumpel-pg-probe-"))
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    data = base / "data"
    _run_as_postgres(
        [str(PG_BIN / "initdb"), "-D", str(data), "-U", "kumpel", "--auth=trust", "-E", "UTF8", "--no-locale"]
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"])
    try:
        _run_as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "kumpel", "probe"])
        yield f"postgresql+psycopg://kumpel@127.0.0.1:{port}/probe", data
    finally:
        _run_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_when_the_database_goes_away_it_stays_live_but_is_not_ready(postgres: tuple[str, Path]) -> None:
    url, data = postgres
    upgrade(url)
    settings = Settings(
        env="test",
        database_url=url,
        search_mode="lexical",
        seed_on_start=True,
        secret_key="test-secret-key-0123456789",
        action_token="test-action-token-0123456789",
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 200

        _run_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])

        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "unavailable"}
        assert "postgresql" not in ready.text  # no connection details for an anonymous caller
        assert client.get("/live").status_code == 200  # restarting would not bring the database back
