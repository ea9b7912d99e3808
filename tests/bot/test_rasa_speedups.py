"""Rasa's per-turn fixes (bot/patches.py) must accept and reject exactly what Rasa 3.6 does."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered

from bot import patches


@pytest.fixture(autouse=True, scope="module")
def _patched() -> None:
    patches.apply()  # as bot.engine.main (`kumpel-rasa`) does before Rasa starts


def remote_action() -> RemoteAction:
    return RemoteAction("action_get_opening_hours", None)


def test_applying_the_patches_installs_the_fixes() -> None:
    assert RemoteAction._validate_action_result.__module__ == "bot.patches"
    assert Event.resolve_by_type.__module__ == "bot.patches"


def test_a_real_action_server_reply_is_accepted() -> None:
    reply = {
        "events": [{"event": "slot", "name": "office_id", "value": "off-buergerbuero", "timestamp": None}],
        "responses": [{"text": "Das Bürgerbüro hat heute bis 16:00 Uhr geöffnet.", "custom": {"kumpel": {}}}],
    }
    assert remote_action()._validate_action_result(reply) is True


@pytest.mark.parametrize(
    "reply",
    [
        {"events": "slot"},
        {"events": [{"name": "no event key"}]},
        {"events": [{"event": "slot", "timestamp": "yesterday"}]},
        {"responses": "text instead of a list"},
    ],
)
def test_a_malformed_reply_is_rejected_with_rasas_own_error(reply: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError) as unpatched:
        jsonschema.validate(reply, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as patched:
        remote_action()._validate_action_result(reply)
    assert patched.value.message.startswith(unpatched.value.message)
    assert "Failed to validate Action server response" in patched.value.message


def test_stored_events_come_back_as_the_same_classes() -> None:
    stored = [
        UserUttered("Wann hat das Bürgerbüro geöffnet?", {"name": "ask_opening_hours", "confidence": 0.9}),
        ActionExecuted("action_get_opening_hours"),
        BotUttered("Das Bürgerbüro hat heute geöffnet."),
        SlotSet("office_id", "off-buergerbuero"),
    ]
    for event in stored:
        assert Event.from_parameters(event.as_dict()) == event
    assert Event.resolve_by_type("slot") is SlotSet


def test_unknown_event_names_behave_as_before() -> None:
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None  # Rasa's compatibility case for old TopicSet events


def test_an_event_class_defined_later_is_still_found() -> None:
    class KumpelTestEvent(SlotSet):
        type_name = "kumpel_test_event"

    assert Event.resolve_by_type("kumpel_test_event") is KumpelTestEvent
