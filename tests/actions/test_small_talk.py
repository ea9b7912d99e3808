"""action_small_talk: the small-talk reply, unless the message is unlike small talk and the KB answers it.

The knowledge service is an httpx transport that records what the action sends (as in
test_knowledge_actions.py); the action and its replies are the real code.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.small_talk import ActionSmallTalk

from .knowledge_fake import recording_client

BUSINESS_ANSWER = {
    "status": "answer",
    "text": "Ein Gewerbe melden Sie beim Ordnungsamt an.",
    "choices": [],
    "source": {"title": "Gewerbe anmelden", "url": "https://www.example.org/gewerbe", "last_reviewed": "2026-10-01"},
    "entry": {"type": "service", "id": "svc-gewerbe-anmelden"},
    "context": {"service_id": "svc-gewerbe-anmelden", "office_id": None},
    "confidence": 0.99,
}
UNKNOWN = {"status": "unknown", "text": "Dazu habe ich leider keine gesicherte Information.", "choices": []}


def tracker(text: str, intent: str, familiarity: float | None) -> Tracker:
    message: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if familiarity is not None:
        message["small_talk_familiarity"] = familiarity
    return Tracker("t1", {}, message, [], False, None, {}, None)


client = recording_client


def run(action: ActionSmallTalk, t: Tracker) -> tuple[CollectingDispatcher, list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher, events


def test_familiar_small_talk_gets_its_reply_without_asking_the_knowledge_base() -> None:
    sent: list[dict[str, Any]] = []
    dispatcher, events = run(ActionSmallTalk(client(BUSINESS_ANSWER, sent)), tracker("Abbrechen", "stop", 1.0))
    assert sent == []
    assert dispatcher.messages[0]["response"] == "utter_stopped"
    assert events == []


def test_a_request_unlike_small_talk_gets_the_knowledge_answer() -> None:
    sent: list[dict[str, Any]] = []
    action = ActionSmallTalk(client(BUSINESS_ANSWER, sent))
    dispatcher, events = run(action, tracker("Ich will einen Imbiss aufmachen", "stop", 0.46))
    assert sent[0]["small_talk"] is True and sent[0]["question"] == "Ich will einen Imbiss aufmachen"
    assert dispatcher.messages[0]["text"].startswith("Ein Gewerbe melden Sie beim Ordnungsamt an.")
    assert "Quelle: Gewerbe anmelden" in dispatcher.messages[0]["text"]
    assert any(e.get("name") == "service_id" and e.get("value") == "svc-gewerbe-anmelden" for e in events)


def test_unfamiliar_small_talk_the_knowledge_base_does_not_know_gets_the_small_talk_reply() -> None:
    sent: list[dict[str, Any]] = []
    dispatcher, events = run(ActionSmallTalk(client(UNKNOWN, sent)), tracker("Ich verabschiede mich", "goodbye", 0.24))
    assert len(sent) == 1
    assert [m["response"] for m in dispatcher.messages] == ["utter_goodbye"]
    assert events == []


def test_small_talk_needs_no_knowledge_service() -> None:
    dispatcher, _ = run(ActionSmallTalk(client(None, [])), tracker("Jo, danke", "thank", 0.3))
    assert [m["response"] for m in dispatcher.messages] == ["utter_you_are_welcome"]


def test_a_model_without_the_familiarity_score_keeps_the_small_talk_reply() -> None:
    sent: list[dict[str, Any]] = []
    dispatcher, _ = run(ActionSmallTalk(client(BUSINESS_ANSWER, sent)), tracker("Passt", "affirm", None))
    assert sent == []
    assert dispatcher.messages[0]["response"] == "utter_ok_anything_else"
