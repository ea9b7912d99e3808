"""The Facebook Messenger channel through a real Sanic server, with a loopback fake of the Graph API (.venv/rasa).

What Meta would receive from us is what the fake recorded; what would reach the NLU is what the
recording engine behind the channel got. The same channel against the real trained bot:
tests/integration/test_channel_facebook.py.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import httpx
import pytest

from bot.channels.facebook import GRAPH_VERSION, KumpelFacebookInput
from bot.channels.messenger import identity
from bot.channels.messenger.signatures import hub_signature
from tests.channels.fakes import RecordedRequest, RecordingServer
from tests.channels.serving import BODY_LIMIT, RecordingEngine, serve_channel

VERIFY_TOKEN = "verify-" + "v" * 24
APP_SECRET = "app-secret-" + "a" * 21
PAGE_TOKEN = "page-token-" + "p" * 21
PSID = "24680135792468013"
SOURCE = {"title": "Hundesteuer", "url": "https://www.krefeld.de/hundesteuer", "last_reviewed": "2026-10-01"}
SHORT_BUTTONS = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nein", "payload": "/deny"}]
LONG_BUTTONS = [
    {"title": "Hundesteuer anmelden (Ersthund)", "payload": '/choose_entry{"entity_id": "svc-1"}'},
    {"title": "Hundesteuer abmelden und erstatten", "payload": '/choose_entry{"entity_id": "svc-2"}'},
]


def answer(text: str) -> list[dict[str, Any]]:
    """The recording engine's replies: long titles for "Hund", short ones otherwise."""
    return [
        {
            "text": "Die Hundesteuer kostet 111,32 EUR.\n\nQuelle: Hundesteuer",
            "buttons": LONG_BUTTONS if "Hund" in text else SHORT_BUTTONS,
            "custom": {"kumpel": {"source": SOURCE}},
        }
    ]


@dataclass
class Setup:
    url: str
    api: RecordingServer
    engine: RecordingEngine

    def post(self, body: dict[str, Any] | bytes, signature: str | None | bool = True) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature is True:
            headers["X-Hub-Signature-256"] = hub_signature(raw, APP_SECRET)
        elif isinstance(signature, str):
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(f"{self.url}/webhooks/facebook/webhook", content=raw, headers=headers, timeout=10)

    def sent(self) -> list[RecordedRequest]:
        return [r for r in self.api.requests if r.path == f"/{GRAPH_VERSION}/me/messages"]


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    os.environ.setdefault(identity.SECRET_ENV, "test-channel-id-secret-" + "x" * 16)
    identity.channel_id_secret.cache_clear()
    engine = RecordingEngine(reply=answer)
    with RecordingServer({"/me/messages": {"recipient_id": PSID, "message_id": "m_1"}}) as api:
        channel = KumpelFacebookInput(VERIFY_TOKEN, APP_SECRET, PAGE_TOKEN, api.url)
        with serve_channel(channel, engine) as url:
            yield Setup(url, api, engine)


@pytest.fixture()
def fresh(setup: Setup) -> Setup:
    setup.api.clear()
    setup.engine.received.clear()
    return setup


_mids = count(1)


def delivery(
    message: dict[str, Any] | None = None, *, age_seconds: float = 0, postback: dict[str, Any] | None = None
) -> dict[str, Any]:
    now_ms = int((time.time() - age_seconds) * 1000)
    event: dict[str, Any] = {"sender": {"id": PSID}, "recipient": {"id": "PAGE"}, "timestamp": now_ms}
    if postback is not None:
        event["postback"] = postback
    else:
        event["message"] = {"mid": f"m_{next(_mids)}", **(message or {})}
    return {"object": "page", "entry": [{"id": "PAGE", "time": now_ms, "messaging": [event]}]}


def test_the_verification_handshake_echoes_the_challenge_only_for_the_right_token(setup: Setup) -> None:
    url = f"{setup.url}/webhooks/facebook/webhook"
    ok = httpx.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "forbidden"
    missing = httpx.get(url, params={"hub.mode": "subscribe", "hub.challenge": "1"})
    assert missing.status_code == 403
    markup = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "<b>"})
    assert markup.status_code == 400


def test_a_message_is_answered_with_its_source_and_quick_replies(fresh: Setup) -> None:
    assert fresh.post(delivery({"text": "Muss ich Steuern zahlen?"})).status_code == 200
    [message] = fresh.engine.received
    assert message.text == "Muss ich Steuern zahlen?"
    assert message.sender_id == identity.conversation_id("facebook", PSID) and PSID not in message.sender_id
    [sent] = fresh.sent()
    # The page token travels in a header, never in a URL a proxy could log.
    assert sent.headers["authorization"] == f"Bearer {PAGE_TOKEN}" and not sent.query
    assert sent.json["recipient"] == {"id": PSID}
    assert sent.json["messaging_type"] == "RESPONSE"
    assert "111,32 EUR." in sent.json["message"]["text"]
    assert (
        "Quelle: Hundesteuer – https://www.krefeld.de/hundesteuer (Stand: 01.10.2026)" in sent.json["message"]["text"]
    )
    assert sent.json["message"]["quick_replies"] == [
        {"content_type": "text", "title": "Ja", "payload": "/affirm"},
        {"content_type": "text", "title": "Nein", "payload": "/deny"},
    ]


def test_titles_too_long_for_quick_replies_are_numbered_with_number_quick_replies(fresh: Setup) -> None:
    fresh.post(delivery({"text": "Hund"}))
    [sent] = fresh.sent()
    text = sent.json["message"]["text"]
    assert "1) Hundesteuer anmelden (Ersthund)\n2) Hundesteuer abmelden und erstatten" in text
    assert sent.json["message"]["quick_replies"] == [
        {"content_type": "text", "title": "1", "payload": LONG_BUTTONS[0]["payload"]},
        {"content_type": "text", "title": "2", "payload": LONG_BUTTONS[1]["payload"]},
    ]


def test_a_quick_reply_and_a_postback_are_their_payloads(fresh: Setup) -> None:
    fresh.post(delivery({"text": "Nein", "quick_reply": {"payload": "/deny"}}))
    fresh.post(delivery(postback={"mid": f"m_{next(_mids)}", "title": "Los geht's", "payload": "/greet"}))
    assert [(m.text, m.metadata.get("display_text")) for m in fresh.engine.received] == [
        ("/deny", "Nein"),
        ("/greet", "Los geht's"),
    ]


def test_the_pages_own_echo_is_not_answered(fresh: Setup) -> None:
    assert fresh.post(delivery({"text": "Antwort", "is_echo": True})).status_code == 200
    assert fresh.engine.received == [] and fresh.sent() == []


def test_a_second_delivery_of_the_same_message_runs_no_second_turn(fresh: Setup) -> None:
    body = delivery({"text": "Was kostet die Hundesteuer?"})
    assert fresh.post(body).status_code == 200
    assert fresh.post(body).status_code == 200
    assert len(fresh.engine.received) == 1 and len(fresh.sent()) == 1


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        (None, 401),
        ("", 401),
        ("sha256=" + "0" * 64, 403),
        ("sha1=" + "0" * 40, 403),
        (hub_signature(b"another body", APP_SECRET), 403),
        (hub_signature(b"x", "wrong-secret"), 403),
    ],
)
def test_unsigned_or_wrongly_signed_deliveries_are_refused_before_anything(
    fresh: Setup, signature: str | None, status: int
) -> None:
    body = delivery({"text": "Ich bin ein Angreifer"})
    raw = json.dumps(body).encode()
    if signature == "":
        signature = None  # an empty header is no header
    response = fresh.post(raw, signature=signature if signature is not None else False)
    assert response.status_code == status
    assert response.json()["error"] in {"unauthorized", "forbidden"}
    assert fresh.engine.received == [] and fresh.api.requests == []


def test_a_replayed_signed_delivery_older_than_five_minutes_is_refused(fresh: Setup) -> None:
    response = fresh.post(delivery({"text": "Was kostet die Hundesteuer?"}, age_seconds=6 * 60))
    assert response.status_code == 403 and response.json()["error"] == "stale_request"
    assert fresh.engine.received == [] and fresh.api.requests == []


def test_an_oversized_body_is_refused_with_413(fresh: Setup) -> None:
    assert fresh.post(delivery({"text": "x" * (BODY_LIMIT + 10)})).status_code == 413
    assert fresh.engine.received == []


def test_missing_secrets_stop_the_channel_at_start() -> None:
    with pytest.raises(ValueError, match="KUMPEL_FACEBOOK_APP_SECRET"):
        KumpelFacebookInput(VERIFY_TOKEN, "", PAGE_TOKEN, "http://127.0.0.1:9")
