"""Facebook Messenger with the real trained bot: signed deliveries in, what the citizen gets through a fake Graph API.

One stack for the module, with the Facebook variables set and ``KUMPEL_FACEBOOK_API_URL`` pointing at a
loopback fake of Meta's Graph API that records every message our side sends. The test plays Meta: it
posts deliveries signed with the app secret, as Meta would after the citizen typed or tapped, and reads
the citizen's screen from the Send API calls the fake received. The webhook answers once the turn is
done, so everything the bot sent for a delivery is recorded when its 200 arrives.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.channels.facebook import GRAPH_VERSION
from bot.channels.messenger.identity import conversation_id
from bot.channels.messenger.signatures import hub_signature
from kumpel_stack.launcher import Stack
from tests.channels.fakes import RecordingServer

from .channel_checks import DOG_TAX_STEPS, ID_SECRET, REFERENCE, channel_stack, log_text, tracker_senders

pytestmark = pytest.mark.integration

VERIFY_TOKEN = "integration-verify-token"
APP_SECRET = "integration-app-secret"
PAGE_TOKEN = "integration-page-token"
SEND_PATH = f"/{GRAPH_VERSION}/me/messages"
TURN_SECONDS = 120


@dataclass
class Messenger:
    stack: Stack
    graph: RecordingServer

    @property
    def webhook(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/facebook/webhook"

    def post(self, raw: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(self.webhook, content=raw, headers=headers, timeout=TURN_SECONDS)

    def sent_to(self, psid: str) -> list[dict[str, Any]]:
        return [
            r.json["message"]
            for r in self.graph.requests
            if r.path == SEND_PATH and r.json and r.json.get("recipient") == {"id": psid}
        ]


@pytest.fixture(scope="module")
def messenger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Messenger]:
    with RecordingServer({SEND_PATH: {"recipient_id": "1", "message_id": "m_sent"}}) as graph:
        env = {
            "KUMPEL_FACEBOOK_VERIFY_TOKEN": VERIFY_TOKEN,
            "KUMPEL_FACEBOOK_APP_SECRET": APP_SECRET,
            "KUMPEL_FACEBOOK_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
            "KUMPEL_FACEBOOK_API_URL": graph.url,
        }
        with channel_stack(tmp_path_factory, "facebook", env) as stack:
            yield Messenger(stack, graph)


def delivery(psid: str, message: dict[str, Any], *, age: float = 0) -> bytes:
    """A webhook body as Meta sends it for one message of ``psid`` to the page."""
    now_ms = int((time.time() - age) * 1000)
    event = {
        "sender": {"id": psid},
        "recipient": {"id": "PAGE-ID"},
        "timestamp": now_ms,
        "message": {"mid": f"m_{uuid.uuid4().hex}", **message},
    }
    return json.dumps({"object": "page", "entry": [{"id": "PAGE-ID", "time": now_ms, "messaging": [event]}]}).encode()


def screen_text(message: dict[str, Any]) -> str:
    return "\n".join([message["text"], *(reply["title"] for reply in message.get("quick_replies", []))])


@dataclass
class Citizen:
    """One Messenger user (a made-up page-scoped id) writing to the city's page."""

    app: Messenger
    psid: str = field(default_factory=lambda: str(random.randint(10**15, 10**16)))
    last: list[dict[str, Any]] = field(default_factory=list)

    def _send(self, message: dict[str, Any]) -> str:
        before = len(self.app.sent_to(self.psid))
        raw = delivery(self.psid, message)
        answer = self.app.post(raw, hub_signature(raw, APP_SECRET))
        assert answer.status_code == 200, answer.text
        self.last = self.app.sent_to(self.psid)[before:]
        return self.text

    def say(self, text: str) -> str:
        return self._send({"text": text})

    def tap(self, title: str) -> str:
        """Tap the quick reply of the last turn titled ``title``."""
        for message in self.last:
            for reply in message.get("quick_replies", []):
                if reply["title"] == title:
                    return self._send({"text": title, "quick_reply": {"payload": reply["payload"]}})
        raise AssertionError(f"no quick reply {title!r} in {self.text}")

    @property
    def text(self) -> str:
        return "\n".join(screen_text(message) for message in self.last)

    @property
    def quick_replies(self) -> list[dict[str, str]]:
        return [reply for message in self.last for reply in message.get("quick_replies", [])]


def test_the_handshake_echoes_meta_s_challenge(messenger: Messenger) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answer = httpx.get(messenger.webhook, params=params, timeout=30)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    assert httpx.get(messenger.webhook, params={**params, "hub.verify_token": "x"}, timeout=30).status_code == 403


def test_a_knowledge_question_is_answered_with_its_source(messenger: Messenger) -> None:
    citizen = Citizen(messenger)
    text = citizen.say("Wann hat das Bürgerbüro geöffnet?")
    assert re.search(r"\d{1,2}:\d\d Uhr", text), text
    assert re.search(r"Quelle: .+ – https?://\S+ \(Stand: \d\d\.\d\d\.\d{4}\)", text), text
    [request] = [r for r in messenger.graph.requests if r.path == SEND_PATH][-1:]
    assert request.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
    senders = tracker_senders(messenger.stack)
    assert conversation_id("facebook", citizen.psid, secret=ID_SECRET) in senders
    assert not any(citizen.psid in sender for sender in senders)


def test_a_meinten_sie_choice_is_picked_by_its_quick_reply(messenger: Messenger) -> None:
    citizen = Citizen(messenger)
    text = citizen.say("Ich habe eine Frage zu meinem Auto")
    assert "Meinten Sie" in text
    # Titles over Meta's 20 characters are numbered in the text; the quick replies carry the numbers.
    [picked] = [r for r in citizen.quick_replies if "svc-fahrzeug-abmelden" in r["payload"]]
    answer = citizen.tap(picked["title"])
    assert "außer Betrieb" in answer and "Quelle:" in answer, answer


def test_a_meinten_sie_choice_is_picked_by_a_typed_number(messenger: Messenger) -> None:
    citizen = Citizen(messenger)
    citizen.say("Ich habe eine Frage zu meinem Auto")
    number = next(i for i, r in enumerate(citizen.quick_replies, start=1) if "svc-fahrzeug-abmelden" in r["payload"])
    answer = citizen.say(f"{number}.")
    assert "außer Betrieb" in answer and "Quelle:" in answer, answer


def test_a_dog_tax_registration_is_completed_to_its_reference_number(messenger: Messenger) -> None:
    citizen = Citizen(messenger)
    assert "Datenschutzhinweis" in citizen.say("Ich möchte meinen Hund anmelden")
    assert "Vor- und Nachname" in citizen.tap("Ja")
    for message, next_question in DOG_TAX_STEPS:
        text = citizen.say(message)
        assert next_question in text, f"after {message!r}: {text}"
    match = REFERENCE.search(citizen.say("Ja, absenden"))
    assert match and match.group(1) == "HST", citizen.text


def test_a_second_delivery_of_a_message_runs_no_second_turn(messenger: Messenger) -> None:
    citizen = Citizen(messenger)
    raw = delivery(citizen.psid, {"text": "Was kostet ein Reisepass?"})
    assert messenger.post(raw, hub_signature(raw, APP_SECRET)).status_code == 200
    sent = len(messenger.sent_to(citizen.psid))
    assert sent >= 1
    assert messenger.post(raw, hub_signature(raw, APP_SECRET)).status_code == 200
    assert len(messenger.sent_to(citizen.psid)) == sent


def _refused(messenger: Messenger, citizen: Citizen, status: int, raw: bytes, signature: str | None) -> None:
    answer = messenger.post(raw, signature)
    assert answer.status_code == status, answer.text
    assert messenger.sent_to(citizen.psid) == []
    assert conversation_id("facebook", citizen.psid, secret=ID_SECRET) not in tracker_senders(messenger.stack)


def test_unsigned_wrongly_signed_replayed_and_oversized_deliveries_reach_nothing(messenger: Messenger) -> None:
    citizen = Citizen(messenger)
    raw = delivery(citizen.psid, {"text": "Wann hat das Bürgerbüro geöffnet?"})
    _refused(messenger, citizen, 401, raw, None)
    _refused(messenger, citizen, 403, raw, hub_signature(raw, "not-the-app-secret"))
    _refused(messenger, citizen, 403, raw, "sha256=" + "0" * 64)
    old = delivery(citizen.psid, {"text": "Wann hat das Bürgerbüro geöffnet?"}, age=10 * 60)
    _refused(messenger, citizen, 403, old, hub_signature(old, APP_SECRET))
    big = delivery(citizen.psid, {"text": "x" * 70_000})
    _refused(messenger, citizen, 413, big, hub_signature(big, APP_SECRET))


def test_the_engine_log_holds_no_token_user_id_or_message_text(messenger: Messenger) -> None:
    citizen = Citizen(messenger)
    citizen.say("Mein Name ist Erika Mustermann, wann hat das Bürgerbüro geöffnet?")
    log = log_text(messenger.stack)
    assert "KumpelFacebookInput" in log  # the channel is on, and this is its engine's log
    for secret in (PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN, citizen.psid, "Mustermann"):
        assert secret not in log
