"""The greeting names the town of the knowledge base, whatever town that is."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_client import KnowledgeClient
from actions.town import UNKNOWN_TOWN, ActionGreet


def greet(status: int, body: dict[str, Any]) -> list[dict[str, Any]]:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/municipality"
        return httpx.Response(status, json=body)

    client = KnowledgeClient(base_url="http://kb.test", token="t", transport=httpx.MockTransport(handler))
    tracker = Tracker("t1", {}, {"text": "Hallo"}, [], False, None, {}, None)
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionGreet(client).run(dispatcher, tracker, {}))
    return dispatcher.messages


def test_the_greeting_names_the_town_of_the_profile() -> None:
    [message] = greet(200, {"name": "Stadt Hellbach", "name_in_sentence": "die Stadt Hellbach"})
    assert message["response"] == "utter_greet" and message["town"] == "die Stadt Hellbach"


def test_without_a_profile_the_greeting_names_no_town() -> None:
    [message] = greet(404, {"detail": "no municipality profile yet"})
    assert message["town"] == UNKNOWN_TOWN


def test_the_greeting_puts_the_town_in_the_case_after_fuer() -> None:
    [message] = greet(200, {"name": "Markt Hellbach", "name_in_sentence": "der Markt Hellbach"})
    assert message["town"] == "den Markt Hellbach"  # "Kumpel, der digitale Assistent für den Markt Hellbach"
