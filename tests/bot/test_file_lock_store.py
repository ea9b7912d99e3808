"""The conversation lock of several Sanic workers on one host (bot.lock_store.FileLockStore), across real processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import number_of_sanic_workers, read_endpoint_config

from bot.lock_store import FileLockStore

ROOT = Path(__file__).resolve().parents[2]

# A second process (a second Sanic worker) that holds the conversation's lock, says so, and keeps it.
HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from bot.lock_store import FileLockStore

    async def main() -> None:
        async with FileLockStore(directory=sys.argv[1]).lock(sys.argv[2]):
            print("holding", flush=True)
            await asyncio.sleep(float(sys.argv[3]))

    asyncio.run(main())
    """
)


def start_holder(directory: Path, conversation: str, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), conversation, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_turn_waits_for_the_same_conversation_in_another_process(tmp_path: Path) -> None:
    holder = start_holder(tmp_path, "citizen-1", 1.0)
    try:

        async def turn() -> float:
            started = time.monotonic()
            async with FileLockStore(directory=tmp_path, wait_timeout_seconds=10).lock("citizen-1"):
                return time.monotonic() - started

        waited = asyncio.run(turn())
        assert holder.wait(timeout=10) == 0
    finally:
        holder.kill()
    # It got the lock only after the other process let go (it held it for a second).
    assert waited >= 0.5


def test_a_lock_held_too_long_gives_a_lock_error_and_other_conversations_go_on(tmp_path: Path) -> None:
    holder = start_holder(tmp_path, "citizen-1", 30.0)
    store = FileLockStore(directory=tmp_path, wait_timeout_seconds=0.3)
    try:

        async def other_conversation() -> bool:
            other = next(
                f"citizen-{n}" for n in range(2, 10_000) if store.path(f"citizen-{n}") != store.path("citizen-1")
            )
            async with store.lock(other):
                return True

        async def same_conversation() -> None:
            async with store.lock("citizen-1"):
                pytest.fail("the lock was taken twice")

        assert asyncio.run(other_conversation())
        with pytest.raises(LockError):
            asyncio.run(same_conversation())
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_killed_holder_frees_the_conversation(tmp_path: Path) -> None:
    holder = start_holder(tmp_path, "citizen-1", 30.0)
    holder.kill()
    holder.wait(timeout=10)

    async def turn() -> bool:
        async with FileLockStore(directory=tmp_path, wait_timeout_seconds=2).lock("citizen-1"):
            return True

    assert asyncio.run(turn())


def test_two_tasks_of_one_worker_take_turns(tmp_path: Path) -> None:
    store = FileLockStore(directory=tmp_path, wait_timeout_seconds=5)
    inside: list[int] = []
    overlaps: list[int] = []

    async def turn(number: int) -> None:
        async with store.lock("citizen-1"):
            if inside:
                overlaps.append(number)
            inside.append(number)
            await asyncio.sleep(0.05)
            inside.remove(number)

    async def scenario() -> None:
        await asyncio.gather(*(turn(n) for n in range(5)))

    asyncio.run(scenario())
    assert overlaps == []


def test_the_lock_files_name_no_conversation(tmp_path: Path) -> None:
    async def turn() -> None:
        async with FileLockStore(directory=tmp_path).lock("+49 170 1234567"):
            pass

    asyncio.run(turn())
    assert [name for name in os.listdir(tmp_path) if "170" in name or "+49" in name] == []


def test_the_default_endpoints_allow_several_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "KUMPEL_RASA_LOCK_DIR": str(tmp_path / "locks"),
        "KUMPEL_ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook",
        "KUMPEL_ACTION_SERVER_SECRET": "x",
        "KUMPEL_TRACKER_DB": str(tmp_path / "tracker.db"),
        "KUMPEL_TRACKER_RETENTION_SECONDS": "60",
        "SANIC_WORKERS": "2",
    }.items():
        monkeypatch.setenv(name, value)
    lock_store = read_endpoint_config(str(ROOT / "endpoints.yml"), "lock_store")
    assert lock_store is not None and lock_store.type == "bot.lock_store.FileLockStore"
    assert number_of_sanic_workers(lock_store) == 2
    built = LockStore.create(lock_store)
    assert isinstance(built, FileLockStore) and built.directory == str(tmp_path / "locks")
