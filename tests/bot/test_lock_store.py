"""The conversation lock across Rasa instances (bot.lock_store), against a real redis-server.

Two store objects stand for two Rasa instances: each has its own Redis client, as two processes would.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import read_endpoint_config
from redis.asyncio.lock import Lock

from bot.lock_store import AtomicRedisLockStore
from kumpel_stack.launcher import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (CI installs the Debian package redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
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


def instance(port: int, lifetime: float = 5.0, wait: float = 10.0) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(
        host="127.0.0.1", port=port, key_prefix="test", lock_lifetime_seconds=lifetime, wait_timeout_seconds=wait
    )


def test_two_instances_never_hold_one_conversation_at_once(redis_port: int) -> None:
    async def scenario() -> tuple[int, int]:
        first, second = instance(redis_port), instance(redis_port)
        counter = redis.asyncio.Redis(host="127.0.0.1", port=redis_port)
        await counter.set("counter", 0)
        holders = 0
        most_holders = 0

        async def turn(store: AtomicRedisLockStore) -> None:
            nonlocal holders, most_holders
            async with store.lock("citizen-1"):
                holders += 1
                most_holders = max(most_holders, holders)
                # Read, let the other instance run, write: loses increments unless the lock holds.
                value = int(await counter.get("counter") or 0)
                await asyncio.sleep(0.002)
                await counter.set("counter", value + 1)
                holders -= 1

        await asyncio.gather(*(turn(first if n % 2 else second) for n in range(120)))
        total = int(await counter.get("counter") or 0)
        for client in (first.redis, second.redis, counter):
            await client.close()
        return total, most_holders

    total, most_holders = asyncio.run(scenario())
    assert total == 120, "every turn's write must survive"
    assert most_holders == 1


def test_a_holder_that_died_frees_the_conversation_after_the_lifetime(redis_port: int) -> None:
    async def scenario() -> float:
        survivor = instance(redis_port, lifetime=1.0, wait=10.0)
        # An instance killed mid-turn: it took the lock and never released it (nor extends it).
        dead = Lock(survivor.redis, survivor.key("citizen-2"), timeout=1.0, thread_local=False)
        assert await dead.acquire(blocking=False)
        started = time.monotonic()
        async with survivor.lock("citizen-2"):
            waited = time.monotonic() - started
        await survivor.redis.close()
        return waited

    waited = asyncio.run(scenario())
    assert 0.7 <= waited <= 3.0, f"the next turn waited {waited:.2f} s"


def test_a_slow_turn_keeps_its_lock_past_the_lifetime(redis_port: int) -> None:
    async def scenario() -> list[str]:
        slow, other = instance(redis_port, lifetime=0.6), instance(redis_port, lifetime=0.6)
        order: list[str] = []

        async def slow_turn() -> None:
            async with slow.lock("citizen-3"):
                order.append("slow in")
                await asyncio.sleep(2.0)  # three lifetimes: the keep-alive must extend it
                order.append("slow out")

        async def next_turn() -> None:
            await asyncio.sleep(0.1)
            async with other.lock("citizen-3"):
                order.append("next in")

        await asyncio.gather(slow_turn(), next_turn())
        await slow.redis.close()
        await other.redis.close()
        return order

    assert asyncio.run(scenario()) == ["slow in", "slow out", "next in"]


def test_a_waiter_gives_up_with_rasas_lock_error_after_its_timeout(redis_port: int) -> None:
    async def scenario() -> None:
        holder, waiter = instance(redis_port), instance(redis_port, wait=0.5)
        try:
            async with holder.lock("citizen-4"):
                with pytest.raises(LockError):
                    async with waiter.lock("citizen-4"):
                        pass
        finally:
            await holder.redis.close()
            await waiter.redis.close()

    asyncio.run(scenario())


def test_unreachable_redis_raises_a_redis_error_and_no_lock(redis_port: int) -> None:
    async def scenario() -> None:
        nowhere = instance(free_port())
        with pytest.raises(redis.RedisError):
            async with nowhere.lock("citizen-5"):
                pytest.fail("the turn must not run without its lock")
        await nowhere.redis.close()

    asyncio.run(scenario())


def test_the_redis_endpoints_file_builds_this_store(redis_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "KUMPEL_REDIS_HOST": "127.0.0.1",
        "KUMPEL_REDIS_PORT": str(redis_port),
        "KUMPEL_REDIS_DB": "0",
        "KUMPEL_REDIS_PASSWORD": "",
        "KUMPEL_TRACKER_RETENTION_SECONDS": "60",
        "KUMPEL_ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook",
        "KUMPEL_ACTION_SERVER_SECRET": "x" * 32,
    }.items():
        monkeypatch.setenv(name, value)
    config = read_endpoint_config(str(ROOT / "bot" / "endpoints.redis.yml"), "lock_store")
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key("abc") == "kumpel:atomiclock:abc"

    async def one_turn() -> None:
        async with store.lock("citizen-6"):
            assert await store.redis.exists(store.key("citizen-6")) == 1
        assert await store.redis.exists(store.key("citizen-6")) == 0
        await store.redis.close()

    asyncio.run(one_turn())


def test_an_unreachable_tracker_store_raises_instead_of_starting_an_empty_conversation() -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore, RedisTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import patches

    patches.apply()  # as `kumpel-rasa` does before Rasa starts
    store = FailSafeTrackerStore(RedisTrackerStore(Domain.empty(), host="127.0.0.1", port=free_port()))

    async def scenario() -> None:
        # Rasa's own wrapper would answer None here: a silent new conversation without the form's answers.
        with pytest.raises(patches.ConversationStoreUnavailable):
            await store.retrieve("citizen-7")
        # ... and would keep the turn in this process's memory, out of the other instances' sight.
        with pytest.raises(patches.ConversationStoreUnavailable):
            await store.save(DialogueStateTracker("citizen-7", slots=[]))

    asyncio.run(scenario())


def start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
        + ["--save", "", "--appendonly", "yes"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return server


def test_after_a_redis_restart_the_next_turn_works_at_once_and_finds_the_conversation(tmp_path: Path) -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore, RedisTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import patches

    patches.apply()
    port = free_port()
    server = start_redis(port, tmp_path)
    lock_store = instance(port)
    tracker_store = FailSafeTrackerStore(RedisTrackerStore(Domain.empty(), host="127.0.0.1", port=port))

    async def turn(text: str) -> list[str]:
        async with lock_store.lock("citizen-8"):
            tracker = await tracker_store.retrieve("citizen-8") or DialogueStateTracker("citizen-8", slots=[])
            tracker.update(UserUttered(text))
            await tracker_store.save(tracker)
            return [str(e.text) for e in tracker.events if isinstance(e, UserUttered)]

    async def scenario() -> list[str]:
        await turn("vorher")
        server.terminate()
        server.wait(timeout=10)
        restarted = start_redis(port, tmp_path)  # the same data folder: the append-only file is replayed
        try:
            # Both clients hold a connection the old server closed; no citizen may see that.
            return await turn("nachher")
        finally:
            await lock_store.redis.close()
            restarted.terminate()
            restarted.wait(timeout=10)

    assert asyncio.run(scenario()) == ["vorher", "nachher"]


def test_a_resent_turn_is_answered_with_the_replies_stored_after_it() -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    from bot.patches import _replies_after

    events = [
        UserUttered("Erika Mustermann", message_id="req-1"),
        ActionExecuted("validate_dog_tax_registration_form"),
        BotUttered("Wie lautet Ihre Anschrift?", {"buttons": [{"title": "Abbrechen", "payload": "/stop"}]}),
        UserUttered("Ostwall 12, 47798 Krefeld", message_id="req-2"),
        BotUttered("Ihre E-Mail-Adresse?"),
    ]
    assert _replies_after(events, "req-1") == [
        {"text": "Wie lautet Ihre Anschrift?", "buttons": [{"title": "Abbrechen", "payload": "/stop"}]}
    ]
    assert _replies_after(events, "req-2") == [{"text": "Ihre E-Mail-Adresse?"}]
    assert _replies_after(events, "req-3") is None, "a new turn is run, not replayed"
