"""A numbered reply picks an option of the bot's last turn, read from Rasa's real tracker store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.input_rules import EMPTY_MESSAGE_REPLY, TOO_LONG_REPLY
from bot.channels.messenger import handling, identity
from bot.channels.messenger.choices import last_bot_buttons, pick_numbered

ROOT = Path(__file__).resolve().parents[2]
BUTTONS = [
    {"title": "Hundesteuer Anmeldung", "payload": '/choose_entry{"entity_id": "s1"}'},
    {"title": "Hundesteuer Abmeldung", "payload": '/choose_entry{"entity_id": "s2"}'},
    {"title": "Hundesteuer Ermäßigung", "payload": '/choose_entry{"entity_id": "s3"}'},
]


@pytest.mark.parametrize(
    "reply", ["2", " 2 ", "2.", "2)", "Nr. 2", "nr 2", "Nummer 2", "#2", "zwei", "Zwei", "die zweite", "Option 2"]
)
def test_a_numbered_reply_picks_its_option(reply: str) -> None:
    assert pick_numbered(reply, BUTTONS) == BUTTONS[1]["payload"]


@pytest.mark.parametrize("reply", ["0", "4", "vier", "12", "-1"])
def test_a_number_out_of_range_picks_nothing(reply: str) -> None:
    assert pick_numbered(reply, BUTTONS) is None


@pytest.mark.parametrize("reply", ["2 Hunde", "am 2. Mai", "Ich nehme 2 und 3", "zweimal", "Was kostet das?", ""])
def test_an_answer_that_contains_a_number_is_no_choice(reply: str) -> None:
    assert pick_numbered(reply, BUTTONS) is None


def test_without_options_a_number_is_just_text() -> None:
    assert pick_numbered("2", []) is None


@pytest.fixture
def store() -> InMemoryTrackerStore:
    return InMemoryTrackerStore(Domain.load(str(ROOT / "domain.yml")))


def save(store: InMemoryTrackerStore, sender_id: str, *events: Any) -> None:
    tracker = DialogueStateTracker.from_events(sender_id, list(events))
    asyncio.run(store.save(tracker))


def test_the_last_bot_turns_buttons_are_read_from_the_tracker_store(store: InMemoryTrackerStore) -> None:
    save(
        store,
        "telegram-abc",
        UserUttered("hundesteuer"),
        BotUttered("Meinten Sie …?", data={"buttons": BUTTONS}),
        BotUttered("Oder fragen Sie anders."),
    )
    assert asyncio.run(last_bot_buttons(store, "telegram-abc")) == BUTTONS


def test_options_of_an_earlier_turn_are_not_picked(store: InMemoryTrackerStore) -> None:
    save(
        store,
        "telegram-abc",
        BotUttered("Meinten Sie …?", data={"buttons": BUTTONS}),
        UserUttered("nein, was anderes"),
        BotUttered("Wie kann ich helfen?"),
    )
    assert asyncio.run(last_bot_buttons(store, "telegram-abc")) == []
    assert asyncio.run(last_bot_buttons(store, "unknown-conversation")) == []


class Engine:
    """Stands in for Rasa's processor behind the channel: records what would reach the NLU."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "Antwort")


def run_inbound(
    store: InMemoryTrackerStore, engine: Engine, text: str, **kwargs: Any
) -> tuple[str, list[dict[str, Any]]]:
    request = SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=store))))
    output = CollectingOutputChannel()
    outcome = asyncio.run(
        handling.handle_inbound(
            request, engine, channel="threema", platform_user_id="ECHOECHO", text=text, output=output, **kwargs
        )
    )
    return outcome, output.messages


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(identity.SECRET_ENV, "test-secret-" + "x" * 32)
    identity.channel_id_secret.cache_clear()


def test_handle_inbound_turns_a_number_into_the_options_payload(store: InMemoryTrackerStore, secret: None) -> None:
    sender = identity.conversation_id("threema", "ECHOECHO")
    save(store, sender, UserUttered("hundesteuer"), BotUttered("Meinten Sie …?", data={"buttons": BUTTONS}))
    engine = Engine()
    outcome, replies = run_inbound(store, engine, "3")
    assert outcome == "handled"
    (message,) = engine.messages
    assert message.text == BUTTONS[2]["payload"]
    assert message.sender_id == sender and "ECHOECHO" not in sender
    assert message.metadata == {"display_text": "Hundesteuer Ermäßigung"}
    assert [reply["text"] for reply in replies] == ["Antwort"]


@pytest.mark.parametrize(
    ("text", "reply"), [("   ", EMPTY_MESSAGE_REPLY), ("x" * 2001, TOO_LONG_REPLY)], ids=["empty", "too_long"]
)
def test_handle_inbound_answers_empty_and_long_messages_without_the_nlu(
    store: InMemoryTrackerStore, secret: None, text: str, reply: str
) -> None:
    engine = Engine()
    outcome, replies = run_inbound(store, engine, text)
    assert outcome == "answered"
    assert engine.messages == []
    assert [message["text"] for message in replies] == [reply]
    assert asyncio.run(store.retrieve(identity.conversation_id("threema", "ECHOECHO"))) is None


def test_a_redelivered_message_runs_once(store: InMemoryTrackerStore, secret: None) -> None:
    engine = Engine()
    assert run_inbound(store, engine, "Was kostet die Hundesteuer?", message_id="m-1")[0] == "handled"
    assert run_inbound(store, engine, "Was kostet die Hundesteuer?", message_id="m-1")[0] == "duplicate"
    assert len(engine.messages) == 1
    assert "m-1" not in str(engine.messages[0].metadata)  # only its keyed hash is stored


def test_a_redelivery_to_another_instance_is_found_in_the_tracker(store: InMemoryTrackerStore, secret: None) -> None:
    sender = identity.conversation_id("threema", "ECHOECHO")
    ref = identity.log_id("threema:m-7")
    save(store, sender, UserUttered("Was kostet die Hundesteuer?", metadata={handling.MESSAGE_REF_KEY: ref}))
    engine = Engine()
    assert run_inbound(store, engine, "Was kostet die Hundesteuer?", message_id="m-7")[0] == "duplicate"
    assert engine.messages == []
