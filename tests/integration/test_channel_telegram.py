"""Telegram with the real trained bot: updates in with the secret token, what the citizen gets through a fake Bot API.

One stack for the module, with the Telegram variables set and ``KUMPEL_TELEGRAM_API_URL`` pointing at a
loopback fake of the Bot API that records every call our side makes. The test plays Telegram: it posts
updates with the webhook's secret token, as Telegram would after the citizen typed or tapped, and reads
the citizen's screen from the ``sendMessage`` calls the fake received. The webhook answers once the turn
is done, so everything the bot sent for an update is recorded when its 200 arrives.
"""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import httpx
import pytest

from bot.channels.messenger.identity import conversation_id
from kumpel_stack.launcher import Stack
from tests.channels.fakes import RecordingServer

from .channel_checks import DOG_TAX_STEPS, ID_SECRET, REFERENCE, channel_stack, log_text, tracker_senders, user_texts

pytestmark = pytest.mark.integration

TOKEN = "424242:integration-token"
SECRET = "integration-webhook-secret-0123456789"
WEBHOOK_URL = "https://bot.example-stadt.de/webhooks/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A turn may take long on 2 shared cores (NLU, action server, knowledge service).
TURN_SECONDS = 120
_update_ids = count(random.randint(10_000, 1_000_000))


@dataclass
class Telegram:
    stack: Stack
    api: RecordingServer

    @property
    def webhook(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/telegram/webhook"

    def post(self, body: bytes, secret: str | None = SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        return httpx.post(self.webhook, content=body, headers=headers, timeout=TURN_SECONDS)

    def calls(self, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            r.json
            for r in self.api.requests
            if r.path == f"/bot{TOKEN}/{method}" and r.json and (chat_id is None or r.json.get("chat_id") == chat_id)
        ]


@pytest.fixture(scope="module")
def telegram(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Telegram]:
    with RecordingServer({"/setWebhook": {"ok": True, "result": True}}) as api:
        env = {
            "KUMPEL_TELEGRAM_TOKEN": TOKEN,
            "KUMPEL_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "KUMPEL_TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
            "KUMPEL_TELEGRAM_API_URL": api.url,
        }
        with channel_stack(tmp_path_factory, "telegram", env) as stack:
            yield Telegram(stack, api)


def screen_text(sent: dict[str, Any]) -> str:
    """What the citizen reads: the message as Telegram shows HTML (tags gone, entities decoded), and its buttons."""
    text = html.unescape(re.sub(r"<[^>]+>", "", str(sent["text"])))
    buttons = [button["text"] for row in sent.get("reply_markup", {}).get("inline_keyboard", []) for button in row]
    return "\n".join([text, *buttons])


@dataclass
class Citizen:
    """One Telegram user in a private chat with the bot (a made-up chat id)."""

    app: Telegram
    chat_id: int = field(default_factory=lambda: random.randint(10**8, 10**9))
    last: list[dict[str, Any]] = field(default_factory=list)

    def _post(self, update: dict[str, Any]) -> str:
        before = len(self.app.calls("sendMessage", self.chat_id))
        answer = self.app.post(json.dumps(update).encode())
        assert answer.status_code == 200, answer.text
        self.last = self.app.calls("sendMessage", self.chat_id)[before:]
        return self.text

    def message(self, text: str) -> dict[str, Any]:
        chat = {"id": self.chat_id, "type": "private", "first_name": "Erika"}
        return {
            "update_id": next(_update_ids),
            "message": {"message_id": 1, "date": 1764580000, "chat": chat, "from": chat, "text": text},
        }

    def say(self, text: str) -> str:
        return self._post(self.message(text))

    def tap(self, title_part: str) -> str:
        """Press the inline button of the last turn whose title contains ``title_part``."""
        for sent in self.last:
            for row in sent.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if title_part in button["text"]:
                        callback = {
                            "id": f"cbq-{next(_update_ids)}",
                            "from": {"id": self.chat_id},
                            "data": button["callback_data"],
                            "message": {
                                "message_id": 2,
                                "date": 1764580000,
                                "chat": {"id": self.chat_id, "type": "private"},
                                "reply_markup": sent["reply_markup"],
                            },
                        }
                        return self._post({"update_id": next(_update_ids), "callback_query": callback})
        raise AssertionError(f"no button {title_part!r} in {self.text}")

    @property
    def text(self) -> str:
        return "\n".join(screen_text(sent) for sent in self.last)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for sent in self.last for row in sent.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def test_the_webhook_is_registered_with_its_secret_token(telegram: Telegram) -> None:
    [registration] = telegram.api.wait_for(lambda r: r.path == f"/bot{TOKEN}/setWebhook")
    assert registration.json["url"] == WEBHOOK_URL
    assert registration.json["secret_token"] == SECRET


def test_a_knowledge_question_is_answered_with_its_source(telegram: Telegram) -> None:
    citizen = Citizen(telegram)
    text = citizen.say("Wann hat das Bürgerbüro geöffnet?")
    assert re.search(r"\d{1,2}:\d\d Uhr", text), text
    raw = "\n".join(sent["text"] for sent in citizen.last)
    assert re.search(r'Quelle: <a href="https?://[^"]+">[^<]+</a> \(Stand: \d\d\.\d\d\.\d{4}\)', raw), raw
    assert all(sent["parse_mode"] == "HTML" for sent in citizen.last)
    # The conversation is stored under a keyed hash, never under the chat id.
    senders = tracker_senders(telegram.stack)
    assert conversation_id("telegram", str(citizen.chat_id), secret=ID_SECRET) in senders
    assert not any(str(citizen.chat_id) in sender for sender in senders)


def test_a_meinten_sie_choice_is_picked_by_its_button_and_the_callback_answered(telegram: Telegram) -> None:
    citizen = Citizen(telegram)
    assert "Meinten Sie" in citizen.say("Ich habe eine Frage zu meinem Auto")
    [picked] = [b["text"] for b in citizen.buttons if "außer Betrieb" in b["text"]]
    answered_before = len(telegram.calls("answerCallbackQuery"))
    text = citizen.tap(picked)
    assert "außer Betrieb" in text and "Quelle:" in text, text
    assert len(telegram.calls("answerCallbackQuery")) == answered_before + 1


def test_a_meinten_sie_choice_is_picked_by_its_number(telegram: Telegram) -> None:
    citizen = Citizen(telegram)
    citizen.say("Ich habe eine Frage zu meinem Auto")
    titles = [b["text"] for b in citizen.buttons]
    number = next(i for i, title in enumerate(titles, start=1) if "außer Betrieb" in title)
    text = citizen.say(f"Nr. {number}")
    assert "außer Betrieb" in text and "Quelle:" in text, text


def test_a_dog_tax_registration_is_completed_to_its_reference_number(telegram: Telegram) -> None:
    citizen = Citizen(telegram)
    assert "Datenschutzhinweis" in citizen.say("Ich möchte meinen Hund anmelden")
    assert "Vor- und Nachname" in citizen.tap("Ja")
    for message, next_question in DOG_TAX_STEPS:
        text = citizen.say(message)
        assert next_question in text, f"after {message!r}: {text}"
    match = REFERENCE.search(citizen.say("Ja, absenden"))
    assert match and match.group(1) == "HST", citizen.text


def test_a_second_delivery_of_an_update_runs_no_second_turn(telegram: Telegram) -> None:
    citizen = Citizen(telegram)
    update = citizen.message("Was kostet ein Reisepass?")
    assert telegram.post(json.dumps(update).encode()).json() == {"status": "ok"}
    sent = len(telegram.calls("sendMessage", citizen.chat_id))
    assert telegram.post(json.dumps(update).encode()).json() == {"status": "duplicate"}
    assert len(telegram.calls("sendMessage", citizen.chat_id)) == sent
    sender = conversation_id("telegram", str(citizen.chat_id), secret=ID_SECRET)
    assert user_texts(telegram.stack, sender) == ["Was kostet ein Reisepass?"]


@pytest.mark.parametrize(
    ("secret", "status"), [(None, 401), ("wrong-secret-0123456789-0123456789", 403), (SECRET[:-1], 403)]
)
def test_updates_without_the_right_secret_reach_neither_the_bot_nor_the_tracker(
    telegram: Telegram, secret: str | None, status: int
) -> None:
    citizen = Citizen(telegram)
    answer = telegram.post(json.dumps(citizen.message("Wann hat das Bürgerbüro geöffnet?")).encode(), secret=secret)
    assert answer.status_code == status and answer.json()["error"] in {"unauthorized", "forbidden"}
    assert telegram.calls("sendMessage", citizen.chat_id) == []
    assert conversation_id("telegram", str(citizen.chat_id), secret=ID_SECRET) not in tracker_senders(telegram.stack)


def test_an_oversized_update_is_refused_with_413(telegram: Telegram) -> None:
    citizen = Citizen(telegram)
    answer = telegram.post(json.dumps(citizen.message("x" * 70_000)).encode())
    assert answer.status_code == 413
    assert conversation_id("telegram", str(citizen.chat_id), secret=ID_SECRET) not in tracker_senders(telegram.stack)


def test_the_engine_log_holds_no_token_secret_chat_id_or_message_text(telegram: Telegram) -> None:
    citizen = Citizen(telegram)
    citizen.say("Mein Name ist Erika Mustermann, wann hat das Bürgerbüro geöffnet?")
    log = log_text(telegram.stack)
    assert "KumpelTelegramInput" in log  # the channel is on, and this is its engine's log
    for secret in (TOKEN, SECRET, str(citizen.chat_id), "Mustermann"):
        assert secret not in log
