"""WhatsApp with the real trained bot: signed updates in, what the citizen gets through a fake Graph API out.

One stack for the module, with the WhatsApp variables set and ``KUMPEL_WHATSAPP_API_URL`` pointing at a
loopback fake of Meta's Graph API that records every message our side sends. The test plays Meta: it
posts updates signed with the app secret to the webhook, as Meta would after the citizen typed or
tapped, and reads the citizen's screen from what the fake received.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.channels.messenger.identity import conversation_id
from bot.channels.messenger.signatures import hub_signature
from kumpel_stack.launcher import Stack
from tests.channels.fakes import RecordingServer

from .channel_checks import DOG_TAX_STEPS, ID_SECRET, REFERENCE, channel_stack, log_text, tracker_senders

pytestmark = pytest.mark.integration

APP_SECRET = "integration-app-secret"
VERIFY_TOKEN = "integration-verify-token"
ACCESS_TOKEN = "integration-access-token"
PHONE_NUMBER_ID = "100200300400"
MESSAGES_PATH = f"/{PHONE_NUMBER_ID}/messages"
# How long one turn may take under load (the NLU and the action server on 2 shared cores).
TURN_SECONDS = 90


@dataclass
class WhatsApp:
    stack: Stack
    graph: RecordingServer

    @property
    def webhook(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/whatsapp/webhook"

    def post(self, raw: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(self.webhook, content=raw, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def whatsapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WhatsApp]:
    with RecordingServer({MESSAGES_PATH: {"messages": [{"id": "wamid.sent"}]}}) as graph:
        env = {
            "KUMPEL_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "KUMPEL_WHATSAPP_APP_SECRET": APP_SECRET,
            "KUMPEL_WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "KUMPEL_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "KUMPEL_WHATSAPP_API_URL": graph.url,
        }
        with channel_stack(tmp_path_factory, "whatsapp", env) as stack:
            yield WhatsApp(stack, graph)


def update(wa_id: str, message: dict[str, Any], *, age: float = 0) -> bytes:
    """A webhook body as Meta sends it for one message of ``wa_id``."""
    message = {"from": wa_id, "id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time() - age)), **message}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4921511234567", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Erika"}, "wa_id": wa_id}],
        "messages": [message],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body).encode()


def sent_to(graph: RecordingServer, wa_id: str) -> list[dict[str, Any]]:
    """The message bodies our side sent to ``wa_id`` through the Graph API, in order."""
    return [r.json for r in graph.requests if r.path == MESSAGES_PATH and r.json and r.json.get("to") == wa_id]


def screen_text(sent: dict[str, Any]) -> str:
    """What the citizen reads of one message we sent: its text, and the titles of its options."""
    if sent["type"] == "text":
        return str(sent["text"]["body"])
    interactive = sent["interactive"]
    titles = [option["title"] for option in options(sent)]
    return "\n".join([interactive["body"]["text"], *titles])


def options(sent: dict[str, Any]) -> list[dict[str, str]]:
    """The reply buttons or list rows of one message we sent, as ``{"id", "title"}``."""
    if sent["type"] != "interactive":
        return []
    action = sent["interactive"]["action"]
    if "buttons" in action:
        return [button["reply"] for button in action["buttons"]]
    return [row for section in action["sections"] for row in section["rows"]]


@dataclass
class Citizen:
    """One WhatsApp user (a made-up number) talking to the bot."""

    app: WhatsApp
    wa_id: str = field(default_factory=lambda: "49151" + str(uuid.uuid4().int)[:8])
    last: list[dict[str, Any]] = field(default_factory=list)
    _seen: int = 0

    def received(self) -> list[dict[str, Any]]:
        return [
            r.json
            for r in [r for r in self.app.graph.requests if r.path == MESSAGES_PATH]
            if r.json and r.json.get("to") == self.wa_id
        ]

    def _send(self, message: dict[str, Any], expect: str) -> str:
        raw = update(self.wa_id, message)
        answer = self.app.post(raw, hub_signature(raw, APP_SECRET))
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + TURN_SECONDS
        while time.monotonic() < deadline:
            new = self.received()[self._seen :]
            if expect in "\n".join(screen_text(sent) for sent in new):
                new = self._settled(new)
                self._seen += len(new)
                self.last = new
                return self.text
            time.sleep(0.2)
        raise AssertionError(f"no reply with {expect!r}; got {[screen_text(s) for s in self.received()[self._seen :]]}")

    def _settled(self, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``new`` and what else the turn sends: until nothing more arrived for a second (bounded)."""
        for _ in range(10):
            time.sleep(1.0)
            now = self.received()[self._seen :]
            if len(now) == len(new):
                break
            new = now
        return new

    def say(self, text: str, expect: str) -> str:
        return self._send({"type": "text", "text": {"body": text}}, expect)

    def tap(self, title: str, expect: str) -> str:
        """Tap the reply button or list row of the last turn whose title (or payload) is ``title``."""
        for sent in self.last:
            for option in options(sent):
                if title in (option["title"], option["id"]):
                    kind = "button_reply" if "buttons" in sent["interactive"]["action"] else "list_reply"
                    return self._send({"type": "interactive", "interactive": {"type": kind, kind: option}}, expect)
        raise AssertionError(f"no option {title!r} in {[screen_text(s) for s in self.last]}")

    @property
    def text(self) -> str:
        return "\n".join(screen_text(sent) for sent in self.last)

    @property
    def options(self) -> list[dict[str, str]]:
        return [option for sent in self.last for option in options(sent)]


def test_the_handshake_echoes_meta_s_challenge(whatsapp: WhatsApp) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "987654321"}
    answer = httpx.get(whatsapp.webhook, params=params, timeout=30)
    assert (answer.status_code, answer.text) == (200, "987654321")
    assert httpx.get(whatsapp.webhook, params={**params, "hub.verify_token": "x"}, timeout=30).status_code == 403


def test_a_knowledge_question_is_answered_with_its_source(whatsapp: WhatsApp) -> None:
    citizen = Citizen(whatsapp)
    text = citizen.say("Wann hat das Bürgerbüro geöffnet?", expect="Quelle:")
    assert re.search(r"\d{1,2}:\d\d Uhr", text), text
    assert re.search(r"Quelle: .+\(Stand: \d\d\.\d\d\.\d{4}\)\nhttps?://\S+", text), text
    [request] = [r for r in whatsapp.graph.requests if r.path == MESSAGES_PATH][-1:]
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    # The conversation is stored under a keyed hash, never under the phone number.
    senders = tracker_senders(whatsapp.stack)
    assert conversation_id("whatsapp", citizen.wa_id, secret=ID_SECRET) in senders
    assert not any(citizen.wa_id in sender for sender in senders)


def test_a_meinten_sie_choice_is_picked_by_its_button(whatsapp: WhatsApp) -> None:
    citizen = Citizen(whatsapp)
    citizen.say("Ich habe eine Frage zu meinem Auto", expect="Meinten Sie")
    picked = [option for option in citizen.options if "svc-fahrzeug-abmelden" in option["id"]]
    assert picked, json.dumps(citizen.last, ensure_ascii=False)
    text = citizen.tap(picked[0]["title"], expect="Quelle:")
    assert "außer Betrieb" in text, text


def test_a_dog_tax_registration_is_completed_to_its_reference_number(whatsapp: WhatsApp) -> None:
    citizen = Citizen(whatsapp)
    citizen.say("Ich möchte meinen Hund anmelden", expect="Datenschutzhinweis")
    assert [option["id"] for option in citizen.options] == ["Ja", "Nein"]
    citizen.tap("Ja", expect="Vor- und Nachname")
    for message, next_question in DOG_TAX_STEPS:
        citizen.say(message, expect=next_question)
    assert "Erika Mustermann" in citizen.text and "111,32 EUR" in citizen.text
    text = citizen.say("Ja, absenden", expect="HST-")
    match = REFERENCE.search(text)
    assert match and match.group(1) == "HST", text


@pytest.mark.parametrize("attack", ["unsigned", "wrongly signed", "replayed", "oversized"])
def test_forged_replayed_or_oversized_updates_are_refused_and_reach_no_tracker(whatsapp: WhatsApp, attack: str) -> None:
    wa_id = "49160" + str(uuid.uuid4().int)[:8]
    raw = update(wa_id, {"type": "text", "text": {"body": "Ich möchte meinen Hund anmelden"}})
    signature: str | None = hub_signature(raw, APP_SECRET)
    if attack == "unsigned":
        signature, expected = None, 401
    elif attack == "wrongly signed":
        signature, expected = hub_signature(raw, "guessed-secret"), 403
    elif attack == "replayed":
        raw = update(wa_id, {"type": "text", "text": {"body": "Hallo"}}, age=600)
        signature, expected = hub_signature(raw, APP_SECRET), 403
    else:
        raw = update(wa_id, {"type": "text", "text": {"body": "x" * 70_000}})
        signature, expected = hub_signature(raw, APP_SECRET), 413
    answer = whatsapp.post(raw, signature)
    assert answer.status_code == expected
    assert answer.json()["error"]
    time.sleep(1)
    assert conversation_id("whatsapp", wa_id, secret=ID_SECRET) not in tracker_senders(whatsapp.stack)
    assert not [
        r
        for r in [r for r in whatsapp.graph.requests if r.path == MESSAGES_PATH]
        if r.json and r.json.get("to") == wa_id
    ]


def test_no_phone_number_and_no_message_reaches_the_logs(whatsapp: WhatsApp) -> None:
    citizen = Citizen(whatsapp)
    citizen.say("Wann hat das Bürgerbüro am Samstag geöffnet? Ich heiße Erika Mustermann.", expect="Bürgerbüro")
    # A forged request with the same number is refused without a line naming it.
    raw = update(citizen.wa_id, {"type": "text", "text": {"body": "Ich heiße Erika Mustermann"}})
    assert whatsapp.post(raw, "sha256=" + "0" * 64).status_code == 403
    for name in ("rasa.log", "actions.log", "knowledge.log"):
        log = log_text(whatsapp.stack, name)
        assert citizen.wa_id not in log, name
        assert "Erika Mustermann" not in log, name
