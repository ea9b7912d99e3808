"""What the action server tells the knowledge service for the staff dashboard, against a real one.

The real actions and the real ``KnowledgeClient`` talk to a real ``kumpel-knowledge`` (lexical search,
its own SQLite file); the test reads what the knowledge base stored: one counted answer per question
with an anonymous conversation key (never the sender id), refusals counted as such, and a form
started and cancelled. A knowledge service that is down costs the citizen nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms.actions import ValidateWaterMeterReadingForm  # type: ignore[attr-defined]  # made from the specs
from actions.knowledge_actions import ActionAnswerOutOfScope, ActionGetOpeningHours
from actions.knowledge_client import KnowledgeClient
from kumpel_stack.launcher import Ports, Process, Stack

pytestmark = pytest.mark.integration

TOKEN = "dashboard-test-token-" + uuid.uuid4().hex
SENDER = "citizen-" + uuid.uuid4().hex[:12]
LOOP = "water_meter_reading_form"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real knowledge service (no engine, no action server: the actions run in this process)."""
    state = tmp_path_factory.mktemp("dashboard-calls")
    database = state / "kumpel.db"
    stack = Stack(
        ports=Ports.free(),
        state_dir=state,
        extra_env={
            "KUMPEL_DATABASE_URL": f"sqlite:///{database}",
            "KUMPEL_SEARCH_MODE": "lexical",
            "KUMPEL_ACTION_TOKEN": TOKEN,
        },
    )
    processes: list[Process] = [p for p in stack._build() if p.name == "knowledge"]
    stack.processes = processes
    try:
        processes[0].start(echo=False)
        wait_healthy(processes[0])
        yield stack.knowledge_url, database
    finally:
        stack.stop()


def wait_healthy(process: Process, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.alive(), f"{process.name} exited:\n{process.log_tail()}"
        try:
            with urllib.request.urlopen(process.health_url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{process.name} not healthy:\n{process.log_tail()}")


def tracker(
    text: str, *, active: bool = False, intent: str = "nlu_fallback", slots: dict[str, Any] | None = None
) -> Tracker:
    return Tracker(
        sender_id=SENDER,
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}},
        events=[{"event": "user", "text": text, "timestamp": 1_764_000_000.0}],
        paused=False,
        followup_action=None,
        active_loop={"name": LOOP} if active else {},
        latest_action_name="action_listen",
    )


def run(action: Action, track: Tracker, events: list[Any] | None = None) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    returned = asyncio.run(action.run(dispatcher, track, {}))
    if events is not None:
        events.extend(returned)
    return dispatcher.messages


def thursday_morning() -> datetime:
    return datetime(2026, 11, 19, 10, tzinfo=BERLIN)


def rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return list(connection.execute(query))


def test_each_answer_is_counted_with_an_anonymous_conversation_key(knowledge: tuple[str, Path]) -> None:
    url, database = knowledge
    client = KnowledgeClient(base_url=url, token=TOKEN)
    hours = run(ActionGetOpeningHours(client, clock=thursday_morning), tracker("Wann hat das Bürgerbüro geöffnet?"))
    assert hours[0]["text"].startswith("Das Bürgerbüro hat")
    refused = run(ActionAnswerOutOfScope(client, clock=thursday_morning), tracker("Wer gewinnt die Champions League?"))
    assert refused == [{**refused[0], "response": "utter_out_of_scope"}]
    counted = rows(database, "SELECT kind, entry_id, conversation_key FROM answer_events ORDER BY id")
    assert [(kind, entry) for kind, entry, _ in counted] == [("answered", "off-buergerbuero"), ("refused", None)]
    keys = {key for _, _, key in counted}
    assert len(keys) == 1 and None not in keys and SENDER not in keys.pop()  # one conversation, not its id
    dump = " ".join(str(row) for row in rows(database, "SELECT * FROM answer_events"))
    assert SENDER not in dump and "Champions" not in dump


def test_a_form_started_and_cancelled_is_counted(knowledge: tuple[str, Path]) -> None:
    url, database = knowledge
    client = KnowledgeClient(base_url=url, token=TOKEN)
    form = ValidateWaterMeterReadingForm(client, clock=lambda: datetime.now(timezone.utc), city_tz=BERLIN)
    events: list[Any] = []
    started = run(form, tracker("Ich möchte meinen Zählerstand melden", active=False), events)
    assert "Datenschutz" in started[0]["text"]
    state = next(e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "form_data")
    cancelled = run(form, tracker("abbrechen", active=True, intent="stop", slots={"form_data": state}))
    assert "abgebrochen" in cancelled[0]["text"]
    assert rows(database, "SELECT form, event FROM form_events ORDER BY id") == [
        ("water_meter_reading", "started"),
        ("water_meter_reading", "cancelled"),
    ]


def test_without_the_right_token_nothing_is_counted_and_the_form_goes_on(knowledge: tuple[str, Path]) -> None:
    url, database = knowledge
    before = rows(database, "SELECT count(*) FROM form_events")
    for client in (
        KnowledgeClient(base_url=url, token="wrong-token-0123456789"),
        KnowledgeClient(base_url="http://127.0.0.1:9", token=TOKEN),
    ):
        assert asyncio.run(client.form_event("water_meter_reading", "started")) is False
        form = ValidateWaterMeterReadingForm(client, clock=lambda: datetime.now(timezone.utc), city_tz=BERLIN)
        messages = run(form, tracker("Ich möchte meinen Zählerstand melden", active=False))
        assert any("Datenschutz" in m.get("text", "") for m in messages)
    assert rows(database, "SELECT count(*) FROM form_events") == before
