"""The real server (`kumpel-knowledge serve`, uvicorn) believes X-Forwarded-For only from
KUMPEL_TRUSTED_PROXIES: uvicorn's own default would trust it from loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

RATE_LIMIT = 30  # the service's ratings per client and minute


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(tmp_path: Path, trusted_proxies: str) -> Iterator[str]:
    port = _free_port()
    env = dict(
        os.environ,
        KUMPEL_ENV="test",
        KUMPEL_DATABASE_URL=f"sqlite:///{tmp_path / f'serve-{port}.db'}",
        KUMPEL_SEARCH_MODE="lexical",
        KUMPEL_SEED_ON_START="false",
        KUMPEL_INDEX_REFRESH_SECONDS="0",
        KUMPEL_TRUSTED_PROXIES=trusted_proxies,
    )
    env.pop("FORWARDED_ALLOW_IPS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "kumpel_knowledge", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else "server exited"
            try:
                httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the knowledge service did not answer within 90 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def rate_many(url: str) -> list[int]:
    """One more rating than the limit, each claiming another client address."""
    codes = []
    for n in range(RATE_LIMIT + 1):
        body = {"rating": "up", "entry_type": "service", "entry_id": "svc-hundesteuer", "message_id": uuid.uuid4().hex}
        response = httpx.post(
            f"{url}/api/v1/feedback", json=body, headers={"X-Forwarded-For": f"203.0.113.{n}"}, timeout=10
        )
        codes.append(response.status_code)
    return codes


def test_the_server_ignores_forwarded_for_by_default_and_honours_a_configured_proxy(tmp_path: Path) -> None:
    with serve(tmp_path, trusted_proxies="") as url:
        assert rate_many(url) == [201] * RATE_LIMIT + [429]
    with serve(tmp_path, trusted_proxies="127.0.0.1") as url:
        assert rate_many(url) == [201] * (RATE_LIMIT + 1)


def test_the_server_refuses_to_start_with_a_mistyped_proxy(tmp_path: Path) -> None:
    env = dict(os.environ, KUMPEL_TRUSTED_PROXIES="10.0.0.0/33", KUMPEL_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    result = subprocess.run(
        [sys.executable, "-m", "kumpel_knowledge", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "'10.0.0.0/33' is not an IP address or CIDR network" in result.stderr
