"""The tracker Rasa loads per turn holds the last turns and the state, however long the session (real SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    LoopInterrupted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.bounded_tracker import TAIL_TURNS
from bot.tracker_store import RetainingSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
FORM = "dog_tax_registration_form"


def make_store(db: Path) -> RetainingSQLTrackerStore:
    return RetainingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db), retention_seconds="86400")


def turn(number: int, at: float) -> list[Event]:
    return [
        ActionExecuted("action_listen", timestamp=at),
        UserUttered(f"Frage {number}", {"name": "ask_service", "confidence": 0.9}, timestamp=at),
        ActionExecuted("action_answer_knowledge", timestamp=at),
        BotUttered(f"Antwort {number}", timestamp=at),
    ]


def talk(store: RetainingSQLTrackerStore, sender: str, turns: dict[int, list[Event]], count: int) -> None:
    """``count`` turns, each read from and saved to the store as Rasa does; ``turns`` adds events to some."""
    start = time.time() - count
    tracker = DialogueStateTracker.from_events(
        sender, [ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start)], DOMAIN.slots
    )
    asyncio.run(store.save(tracker))
    for number in range(count):
        loaded = asyncio.run(store.retrieve(sender))
        assert loaded is not None
        at = start + number + 0.5
        for event in turn(number, at) + [e for e in turns.get(number, [])]:
            loaded.update(event)
        asyncio.run(store.save(loaded))


def stored_events(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])


def test_a_300_turn_conversation_loads_only_its_last_turns_with_slots_and_form(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = make_store(db)
    form_started = time.time() - 250
    extra = {
        3: [SlotSet("service_id", "svc-hundesteuer-anmeldung")],
        40: [ActiveLoop(FORM, timestamp=form_started), SlotSet("requested_slot", "dog_name")],
        41: [LoopInterrupted(True)],
        120: [SlotSet("office_id", "buergerbuero")],
    }
    talk(store, "citizen", extra, 300)

    bounded = asyncio.run(store.retrieve("citizen"))
    full = asyncio.run(store.retrieve_full_tracker("citizen"))
    assert bounded is not None and full is not None
    # Every turn stored once, nothing twice: the session start (2 events), 4 per turn, 5 set in between.
    assert stored_events(db) == len(full.events) == 2 + 4 * 300 + 5
    # Loaded per turn: the last turns and a few events for the state, not 1,200 events.
    assert len(bounded.events) <= 4 * TAIL_TURNS + 10
    assert bounded.current_slot_values() == full.current_slot_values()
    assert bounded.current_slot_values()["service_id"] == "svc-hundesteuer-anmeldung"
    assert bounded.active_loop is not None and full.active_loop is not None
    assert bounded.active_loop_name == full.active_loop_name == FORM
    assert (bounded.active_loop.is_interrupted, bounded.active_loop.rejected) == (
        full.active_loop.is_interrupted,
        full.active_loop.rejected,
    )
    # The form actions read when the form began from its activation event.
    activation = [e for e in bounded.events if isinstance(e, ActiveLoop)]
    assert [e.timestamp for e in activation] == [form_started]
    assert bounded.latest_message.text == full.latest_message.text == "Frage 299"
    assert [e.text for e in bounded.events if isinstance(e, BotUttered)][-1] == "Antwort 299"
    # Another worker (its own store, nothing cached) loads the same tracker.
    cold = asyncio.run(make_store(db).retrieve("citizen"))
    assert cold is not None
    assert [e.as_dict() for e in cold.events] == [e.as_dict() for e in bounded.events]


def test_a_conversation_deleted_and_begun_again_under_its_id_starts_from_nothing(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = make_store(db)
    talk(store, "citizen", {2: [SlotSet("service_id", "svc-alt")]}, 30)
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM events")
    talk(store, "citizen", {}, 30)
    again = asyncio.run(store.retrieve("citizen"))
    assert again is not None and again.get_slot("service_id") is None


def test_a_slot_set_in_a_turn_the_fallback_reverted_stays_unset(tmp_path: Path) -> None:
    store = make_store(tmp_path / "tracker.db")
    extra = {
        5: [SlotSet("entity_topic", "Hundesteuer")],
        6: [SlotSet("entity_topic", "Falsch"), UserUtteranceReverted()],
    }
    talk(store, "citizen", extra, 60)

    bounded = asyncio.run(store.retrieve("citizen"))
    full = asyncio.run(store.retrieve_full_tracker("citizen"))
    assert bounded is not None and full is not None
    assert full.get_slot("entity_topic") == "Hundesteuer"
    assert bounded.current_slot_values() == full.current_slot_values()


def test_a_short_conversation_is_loaded_whole(tmp_path: Path) -> None:
    store = make_store(tmp_path / "tracker.db")
    talk(store, "citizen", {1: [SlotSet("service_id", "svc-x")]}, 3)
    bounded = asyncio.run(store.retrieve("citizen"))
    full = asyncio.run(store.retrieve_full_tracker("citizen"))
    assert bounded is not None and full is not None
    assert [e.as_dict() for e in bounded.events] == [e.as_dict() for e in full.events]
