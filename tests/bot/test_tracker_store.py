"""The SQL tracker store deletes conversations after the configured retention (real SQLite file)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import RetainingSQLTrackerStore

DAY = 24 * 3600


def conversation(sender: str, at: float, text: str = "Mein Name ist Erika Muster") -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen", timestamp=at),
            UserUttered(text, {"name": "inform", "confidence": 1.0}, timestamp=at),
            BotUttered("Danke.", timestamp=at),
        ],
    )


def store(db: Path, **kwargs: Any) -> RetainingSQLTrackerStore:
    return RetainingSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db), **kwargs)


def stored_text(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return " ".join(row[0] for row in connection.execute("SELECT data FROM events"))


def test_idle_conversations_are_deleted_and_active_ones_kept(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    now = time.time()
    first = store(db, retention_seconds=str(DAY))
    asyncio.run(first.save(conversation("old", now - 2 * DAY, "IBAN DE89370400440532013000")))
    asyncio.run(first.save(conversation("recent", now - 60)))
    assert "DE89370400440532013000" in stored_text(db)

    assert first.purge_expired() == 3
    assert "DE89370400440532013000" not in stored_text(db)
    assert asyncio.run(first.retrieve("recent")) is not None


def test_a_new_start_purges_what_expired_while_the_bot_was_down(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    asyncio.run(store(db).save(conversation("old", time.time() - 3 * DAY)))
    store(db, retention_seconds="86400")
    assert stored_text(db) == ""


def test_an_expired_conversation_is_not_continued_between_two_purges(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    tracker_store = store(db, retention_seconds="3600", purge_interval_seconds="86400")
    asyncio.run(tracker_store.save(conversation("citizen", time.time() - 7200)))
    assert asyncio.run(tracker_store.retrieve("citizen")) is None
    assert stored_text(db) == ""


@pytest.mark.parametrize("retention", ["", None, "0"])
def test_without_a_retention_nothing_is_deleted(tmp_path: Path, retention: object) -> None:
    db = tmp_path / "tracker.db"
    tracker_store = store(db, retention_seconds=retention)
    asyncio.run(tracker_store.save(conversation("citizen", time.time() - 400 * DAY)))
    assert tracker_store.purge_expired() == 0
    assert asyncio.run(tracker_store.retrieve("citizen")) is not None


@pytest.mark.parametrize("retention", ["a day", "-5"])
def test_a_wrong_retention_stops_the_start_with_a_clear_message(tmp_path: Path, retention: str) -> None:
    with pytest.raises(ValueError, match="retention_seconds"):
        store(tmp_path / "tracker.db", retention_seconds=retention)
