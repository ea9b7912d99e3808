"""The web chat channel's own logic against Rasa's real tracker stores (run in .venv/rasa).

Redis tests start a throw-away redis-server when one is installed; they skip otherwise.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.kumpel_socketio import history_messages, parse_origins, widget_message
from bot.tracker_deletion import delete_conversation

DOMAIN = Domain.empty()


def _tracker(sender_id: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender_id, slots=[])
    tracker.update(UserUttered("Wann hat das Bürgerbüro geöffnet?"))
    tracker.update(BotUttered("Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet."))
    return tracker


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def redis_port() -> Iterator[int]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _assert_only_one_conversation_deleted(store: object) -> None:
    async def scenario() -> None:
        await store.save(_tracker("a" * 32))  # type: ignore[attr-defined]
        await store.save(_tracker("b" * 32))  # type: ignore[attr-defined]
        assert delete_conversation(store, "a" * 32) == 1
        assert await store.retrieve("a" * 32) is None  # type: ignore[attr-defined]
        kept = await store.retrieve("b" * 32)  # type: ignore[attr-defined]
        assert kept is not None and kept.latest_message.text == "Wann hat das Bürgerbüro geöffnet?"
        # Deleting again is harmless and reports that nothing was there.
        assert delete_conversation(store, "a" * 32) == 0

    asyncio.run(scenario())


def test_delete_from_sqlite_tracker_store(tmp_path: Path) -> None:
    store = FailSafeTrackerStore(SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db")))
    _assert_only_one_conversation_deleted(store)


def test_delete_from_redis_tracker_store(redis_port: int) -> None:
    store = FailSafeTrackerStore(RedisTrackerStore(DOMAIN, host="127.0.0.1", port=redis_port, key_prefix="kumpel"))
    _assert_only_one_conversation_deleted(store)


def test_delete_from_in_memory_tracker_store() -> None:
    _assert_only_one_conversation_deleted(FailSafeTrackerStore(InMemoryTrackerStore(DOMAIN)))


def test_history_shows_latest_session_with_button_titles() -> None:
    events = [
        UserUttered("alte Sitzung").as_dict(),
        SessionStarted().as_dict(),
        UserUttered('/choose_entry{"entity_id": "svc-1"}', metadata={"display_text": "Hundesteuer"}).as_dict(),
        BotUttered(
            "Die Hundesteuer kostet 111,32 EUR.",
            data={
                "buttons": [{"title": "Und die Unterlagen?", "payload": "/ask_documents"}],
                "custom": {"entry": {"type": "service", "id": "svc-1"}},
            },
        ).as_dict(),
    ]
    history = history_messages(events)
    assert [m["sender"] for m in history] == ["user", "bot"]
    assert history[0]["text"] == "Hundesteuer"
    assert history[1]["quick_replies"] == [{"title": "Und die Unterlagen?", "payload": "/ask_documents"}]
    assert history[1]["custom"]["entry"]["id"] == "svc-1"


def test_one_event_per_response_keeps_paragraphs_and_custom_payload_together() -> None:
    message = widget_message({"text": "Absatz 1\n\nAbsatz 2", "custom": {"source": {"url": "https://www.krefeld.de"}}})
    assert message["text"] == "Absatz 1\n\nAbsatz 2"
    assert message["custom"]["source"]["url"] == "https://www.krefeld.de"
    assert len(message["message_id"]) == 32


def test_wildcard_origin_refused_in_production() -> None:
    with pytest.raises(ValueError):
        parse_origins("*", "production")
    assert parse_origins("https://www.krefeld.de/, https://www.musterstadt.de", "production") == [
        "https://www.krefeld.de",
        "https://www.musterstadt.de",
    ]
