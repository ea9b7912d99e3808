"""The Telegram channel through a real Sanic server, with a loopback fake of the Bot API (run in .venv/rasa).

What Telegram would receive from us is what the fake recorded; what would reach the NLU is what the
recording engine behind the channel got. The same channel against the real trained bot:
tests/integration/test_channel_telegram.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.channels.input_rules import EMPTY_MESSAGE_REPLY
from bot.channels.messenger import identity
from bot.channels.telegram import SECRET_HEADER, KumpelTelegramInput, callback_data
from tests.channels.fakes import RecordedRequest, RecordingServer
from tests.channels.serving import BODY_LIMIT, RecordingEngine, serve_channel

TOKEN = "123456:test-token"
SECRET = "s" * 40
CHAT_ID = 987654321
LONG_PAYLOAD = '/choose_entry{"entity_id": "svc-hundesteuer-anmeldung", "entity_topic": "ask_fees"}'
SOURCE = {"title": "Hundesteuer <Krefeld>", "url": "https://www.krefeld.de/hundesteuer", "last_reviewed": "2026-10-01"}


def answer(text: str) -> list[dict[str, Any]]:
    """The recording engine's replies: a sourced answer with a long- and a short-payload button."""
    return [
        {
            "text": f"Die Hundesteuer kostet 111,32 EUR & mehr.\n\nQuelle: {SOURCE['title']}",
            "buttons": [{"title": "Hund anmelden", "payload": LONG_PAYLOAD}, {"title": "Nein", "payload": "/deny"}],
            "custom": {"kumpel": {"source": SOURCE}},
        }
    ]


@dataclass
class Setup:
    url: str
    api: RecordingServer
    engine: RecordingEngine

    def post(self, update: dict[str, Any] | bytes, secret: str | None = SECRET) -> httpx.Response:
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        return httpx.post(f"{self.url}/webhooks/telegram/webhook", content=body, headers=headers, timeout=10)

    def sent(self, method: str) -> list[RecordedRequest]:
        return [request for request in self.api.requests if request.path == f"/bot{TOKEN}/{method}"]


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    os.environ.setdefault(identity.SECRET_ENV, "test-channel-id-secret-" + "x" * 16)
    identity.channel_id_secret.cache_clear()
    engine = RecordingEngine(reply=answer)
    with RecordingServer({"/setWebhook": {"ok": True, "result": True}}) as api:
        channel = KumpelTelegramInput(TOKEN, SECRET, "https://bot.example-stadt.de/webhooks/telegram/webhook", api.url)
        with serve_channel(channel, engine) as url:
            yield Setup(url, api, engine)


@pytest.fixture()
def fresh(setup: Setup) -> Setup:
    setup.api.clear()
    setup.engine.received.clear()
    return setup


_update_ids = iter(range(1000, 100000))


def text_update(text: str, chat_type: str = "private") -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": 5,
            "date": 1764580000,
            "chat": {"id": CHAT_ID, "type": chat_type},
            "from": {"id": CHAT_ID, "is_bot": False, "first_name": "Erika"},
            "text": text,
        },
    }


def test_the_webhook_is_registered_at_start_with_its_secret_token(setup: Setup) -> None:
    [registration] = setup.api.wait_for(lambda r: r.path.endswith("/setWebhook"))
    assert registration.json == {
        "url": "https://bot.example-stadt.de/webhooks/telegram/webhook",
        "secret_token": SECRET,
        "allowed_updates": ["message", "callback_query"],
    }


def test_a_message_is_answered_in_html_with_its_source_and_an_inline_keyboard(fresh: Setup) -> None:
    response = fresh.post(text_update("Was kostet die Hundesteuer?"))
    assert response.status_code == 200
    [message] = fresh.engine.received
    assert message.text == "Was kostet die Hundesteuer?"
    # The conversation id is keyed hash, never the chat id.
    assert message.sender_id == identity.conversation_id("telegram", str(CHAT_ID))
    assert str(CHAT_ID) not in message.sender_id
    [sent] = fresh.sent("sendMessage")
    assert sent.json["chat_id"] == CHAT_ID
    assert sent.json["parse_mode"] == "HTML"
    text = sent.json["text"]
    assert "111,32 EUR &amp; mehr." in text
    assert (
        'Quelle: <a href="https://www.krefeld.de/hundesteuer">Hundesteuer &lt;Krefeld&gt;</a> (Stand: 01.10.2026)'
        in text
    )
    assert sent.json["reply_markup"] == {
        "inline_keyboard": [
            # Over Telegram's 64 bytes of callback data: the option's number, picked like a typed "1".
            [{"text": "Hund anmelden", "callback_data": "1"}],
            [{"text": "Nein", "callback_data": "/deny"}],
        ]
    }


def test_a_button_press_is_the_buttons_payload_and_its_callback_is_answered(fresh: Setup) -> None:
    update = {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": "cbq-1",
            "from": {"id": CHAT_ID},
            "data": "/deny",
            "message": {
                "message_id": 6,
                "date": 1764580000,
                "chat": {"id": CHAT_ID, "type": "private"},
                "reply_markup": {"inline_keyboard": [[{"text": "Nein", "callback_data": "/deny"}]]},
            },
        },
    }
    assert fresh.post(update).status_code == 200
    [answered] = fresh.sent("answerCallbackQuery")
    assert answered.json == {"callback_query_id": "cbq-1"}
    [message] = fresh.engine.received
    assert message.text == "/deny"
    assert message.metadata["display_text"] == "Nein"


def test_start_greets_instead_of_an_unknown_intent(fresh: Setup) -> None:
    fresh.post(text_update("/start"))
    assert [m.text for m in fresh.engine.received] == ["/greet"]


def test_a_message_without_text_gets_the_polite_request_for_text_without_the_nlu(fresh: Setup) -> None:
    update = text_update("")
    del update["message"]["text"]
    update["message"]["sticker"] = {"file_id": "x"}
    assert fresh.post(update).status_code == 200
    assert fresh.engine.received == []
    [sent] = fresh.sent("sendMessage")
    assert sent.json["text"] == EMPTY_MESSAGE_REPLY


def test_a_second_delivery_of_the_same_update_runs_no_second_turn(fresh: Setup) -> None:
    update = text_update("Was kostet die Hundesteuer?")
    assert fresh.post(update).json() == {"status": "ok"}
    assert fresh.post(update).json() == {"status": "duplicate"}
    assert len(fresh.engine.received) == 1
    assert len(fresh.sent("sendMessage")) == 1


def test_group_chats_are_not_answered(fresh: Setup) -> None:
    assert fresh.post(text_update("Hallo", chat_type="group")).json() == {"status": "ignored"}
    assert fresh.engine.received == [] and fresh.api.requests == []


@pytest.mark.parametrize(
    ("secret", "status", "error"),
    [(None, 401, "unauthorized"), ("", 403, "forbidden"), ("s" * 39, 403, "forbidden"), ("x" * 40, 403, "forbidden")],
)
def test_an_update_without_the_right_secret_is_refused_before_anything(
    fresh: Setup, secret: str | None, status: int, error: str
) -> None:
    response = fresh.post(text_update("Ich bin ein Angreifer"), secret=secret)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert fresh.engine.received == [] and fresh.api.requests == []


def test_an_unsigned_malformed_body_is_refused_as_unsigned_not_parsed(fresh: Setup) -> None:
    assert fresh.post(b"{not json", secret=None).status_code == 401
    assert fresh.post(b"{not json").status_code == 400
    assert fresh.post(b'{"message": {}}').json()["error"] == "invalid_update"


def test_an_oversized_body_is_refused_with_413(fresh: Setup) -> None:
    update = text_update("x" * (BODY_LIMIT + 10))
    assert fresh.post(update).status_code == 413
    assert fresh.engine.received == []


def test_long_payloads_are_sent_as_numbers_short_ones_as_they_are() -> None:
    assert callback_data("/affirm", 1) == "/affirm"
    assert callback_data(LONG_PAYLOAD, 2) == "2"


@pytest.mark.parametrize("secret", ["", "short", "a" * 31, "ä" * 40, "a b" * 20])
def test_a_weak_or_invalid_webhook_secret_stops_the_channel_at_start(secret: str) -> None:
    with pytest.raises(ValueError, match="KUMPEL_TELEGRAM_WEBHOOK_SECRET"):
        KumpelTelegramInput(
            TOKEN, secret, "https://bot.example-stadt.de/webhooks/telegram/webhook", "http://127.0.0.1:9"
        )
