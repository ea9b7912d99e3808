"""Redis as tracker and lock store (several Rasa instances behind a load balancer share it).

Starts a real redis-server on a free loopback port, runs the stack with bot/endpoints.redis.yml,
and checks that a conversation lives in Redis and survives a restart of the bot.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kumpel_stack.launcher import Stack, free_port
from kumpel_stack.testing import Conversation, make_stack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (CI installs the Debian package redis-server)")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


def redis_stack(state: Path, port: int) -> Stack:
    return make_stack(
        state,
        KUMPEL_RASA_ENDPOINTS=str(ROOT / "bot" / "endpoints.redis.yml"),
        KUMPEL_REDIS_HOST="127.0.0.1",
        KUMPEL_REDIS_PORT=str(port),
        KUMPEL_REDIS_DB="0",
        KUMPEL_REDIS_PASSWORD="",
        KUMPEL_TRACKER_RETENTION_SECONDS="3600",
    )


def test_conversation_is_kept_in_redis_and_survives_a_bot_restart(redis_port: int, tmp_path: Path) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=redis_port)
    with redis_stack(tmp_path, redis_port) as stack:
        citizen = Conversation(stack)
        citizen.say("Wann hat das Bürgerbüro geöffnet?")
        assert "Bürgerbüro" in citizen.text
        keys = [k.decode() for k in client.keys("*")]
        assert any(citizen.sender in key for key in keys), keys
        ttl = max(client.ttl(k) for k in client.keys(f"*{citizen.sender}*"))
        assert 0 < ttl <= 3600, "the retention must apply to stored conversations"

    with redis_stack(tmp_path, redis_port) as restarted:
        same_citizen = Conversation(restarted, sender=citizen.sender)
        same_citizen.say("Und am Samstag?")
        assert "Samstag" in same_citizen.text
        assert "Bürgerbüro" in same_citizen.text, "the office of the earlier turn must be remembered"
