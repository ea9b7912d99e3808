"""The action server gets the tracker state whole and only the events it reads (bot.patches action_payload_bounded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Tracker

from actions.forms.actions import form_start_timestamp, latest_user_timestamp
from bot import patches

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
FORM = "dog_tax_registration_form"


def long_conversation_mid_form(turns: int = 100) -> DialogueStateTracker:
    events: list[Event] = []
    for number in range(turns):
        at = 1_000_000.0 + number
        events += [
            ActionExecuted("action_listen", timestamp=at),
            UserUttered(f"Frage {number}", {"name": "ask_service", "confidence": 0.9}, timestamp=at),
            ActionExecuted("action_answer_knowledge", timestamp=at),
            BotUttered(f"Antwort {number}", timestamp=at),
        ]
        if number == 40:
            events += [ActiveLoop(FORM, timestamp=at), SlotSet("requested_slot", "dog_name", timestamp=at)]
    events += [
        ActionExecuted("action_listen"),
        UserUttered("Bello", {"name": "inform", "confidence": 0.9}),
        SlotSet("dog_name", "Bello"),
    ]
    return DialogueStateTracker.from_events("citizen", events, DOMAIN.slots)


def payload(tracker: DialogueStateTracker) -> dict[str, Any]:
    action = RemoteAction("validate_dog_tax_registration_form", EndpointConfig("http://127.0.0.1:1/webhook"))
    return action._action_call_format(tracker, DOMAIN)


def test_the_action_server_reads_the_same_from_the_bounded_payload() -> None:
    tracker = long_conversation_mid_form()
    full_state = tracker.current_state(EventVerbosity.ALL)
    patches.apply()
    sent = payload(tracker)["tracker"]

    assert len(sent["events"]) <= 5 < len(full_state["events"])
    for key in ("slots", "latest_message", "active_loop", "paused", "latest_action_name", "latest_event_time"):
        assert sent[key] == full_state[key], key
    bounded, full = Tracker.from_dict(sent), Tracker.from_dict(full_state)
    # What our form actions and rasa-sdk read of the events.
    assert form_start_timestamp(bounded, FORM) == form_start_timestamp(full, FORM) == 1_000_040.0
    assert latest_user_timestamp(bounded) == latest_user_timestamp(full)
    assert bounded.slots_to_validate() == full.slots_to_validate() == {"dog_name": "Bello"}
    assert bounded.get_latest_input_channel() == full.get_latest_input_channel()
