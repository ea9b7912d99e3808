"""The WhatsApp channel through a real Sanic server, with a loopback fake of Meta's Graph API.

The app is built by Rasa's own ``configure_app`` with ``bot.limits`` applied, as ``kumpel-rasa run``
builds it. Behind the channel sits a small engine that answers every message it is handed (what it
records is what would reach the NLU); the fake records exactly what our side sends to Meta.
The same channel against the real trained bot: tests/integration/test_channel_whatsapp.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.channels.input_rules import EMPTY_MESSAGE_REPLY
from bot.channels.messenger.identity import conversation_id
from bot.channels.messenger.rendering import Button, Part, render
from bot.channels.messenger.signatures import hub_signature
from bot.channels.whatsapp import STYLE, WhatsAppInput, graph_messages, parse_update
from tests.channels.fakes import RecordingServer
from tests.channels.serving import BODY_LIMIT, RecordingEngine, serve_channel

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "109876543210"
CITIZEN = "4915112345678"


def update(*messages: dict[str, Any], phone_number_id: str = PHONE_NUMBER_ID, statuses: bool = False) -> dict[str, Any]:
    """A webhook body as Meta sends it (Cloud API, ``field: messages``)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4921511234567", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Erika"}, "wa_id": CITIZEN}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = [
            {"id": "wamid.out", "status": "delivered", "timestamp": str(int(time.time())), "recipient_id": CITIZEN}
        ]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"value": value, "field": "messages"}]}],
    }


_counter = iter(range(1, 1_000_000))


def text_message(body: str, *, age: float = 0, message_id: str | None = None) -> dict[str, Any]:
    return {
        "from": CITIZEN,
        "id": message_id or f"wamid.test{next(_counter)}",
        "timestamp": str(int(time.time() - age)),
        "type": "text",
        "text": {"body": body},
    }


def reply_message(kind: str, payload: str, title: str) -> dict[str, Any]:
    return {
        "from": CITIZEN,
        "id": f"wamid.test{next(_counter)}",
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": payload, "title": title}},
    }


def answer(text: str) -> list[dict[str, Any]]:
    """The recording engine's reply: an echo with two buttons."""
    buttons = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nein", "payload": "/deny"}]
    return [{"text": f"Antwort auf: {text}", "buttons": buttons}]


@dataclass
class Server:
    url: str
    engine: RecordingEngine
    graph: RecordingServer

    def post(self, body: bytes | dict[str, Any], *, signature: str | None = "right") -> httpx.Response:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = {"Content-Type": "application/json"}
        if signature == "right":
            headers["X-Hub-Signature-256"] = hub_signature(raw, APP_SECRET)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(f"{self.url}/webhooks/whatsapp/webhook", content=raw, headers=headers, timeout=10)

    def sent(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` message bodies our side sent to the Graph API (waits up to 10 s)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            requests = [r for r in self.graph.requests if r.path == f"/{PHONE_NUMBER_ID}/messages"]
            if len(requests) >= count:
                return [request.json for request in requests]
            time.sleep(0.05)
        raise AssertionError(f"expected {count} Graph API calls, got {len(self.graph.requests)}")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with RecordingServer({f"/{PHONE_NUMBER_ID}/messages": {"messages": [{"id": "wamid.out"}]}}) as graph:
        channel = WhatsAppInput(
            verify_token=VERIFY_TOKEN,
            app_secret=APP_SECRET,
            access_token=ACCESS_TOKEN,
            phone_number_id=PHONE_NUMBER_ID,
            api_url=graph.url,
        )
        engine = RecordingEngine(reply=answer)
        with serve_channel(channel, engine) as url:
            yield Server(url, engine, graph)


@pytest.fixture()
def fresh(server: Server) -> Server:
    server.engine.received.clear()
    server.graph.clear()
    return server


# ---------------------------------------------------------------- the verification handshake
def test_the_handshake_echoes_the_challenge_for_the_right_token(fresh: Server) -> None:
    answer = httpx.get(
        f"{fresh.url}/webhooks/whatsapp/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert answer.status_code == 200
    assert answer.text == "1158201444"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}, 403),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, 403),
        ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, 403),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "<script>"}, 400),
    ],
)
def test_a_wrong_handshake_is_refused_and_nothing_is_echoed(fresh: Server, params: dict[str, str], status: int) -> None:
    answer = httpx.get(f"{fresh.url}/webhooks/whatsapp/webhook", params=params)
    assert answer.status_code == status
    assert answer.json()["error"] in {"verification_failed", "invalid_challenge"}
    assert "<script>" not in answer.text


# ---------------------------------------------------------------- verification of updates
def test_a_signed_text_is_answered_through_the_graph_api_with_reply_buttons(fresh: Server) -> None:
    answer = fresh.post(update(text_message("Wann hat das Bürgerbüro geöffnet?")))
    assert answer.status_code == 200
    [sent] = fresh.sent(1)
    [request] = [r for r in fresh.graph.requests if r.path == f"/{PHONE_NUMBER_ID}/messages"]
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert sent == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CITIZEN,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Antwort auf: Wann hat das Bürgerbüro geöffnet?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "/affirm", "title": "Ja"}},
                    {"type": "reply", "reply": {"id": "/deny", "title": "Nein"}},
                ]
            },
        },
    }
    [message] = fresh.engine.received
    assert message.sender_id == conversation_id("whatsapp", CITIZEN)
    assert CITIZEN not in message.sender_id
    assert message.input_channel == "whatsapp"


def test_a_picked_reply_button_or_list_row_sends_its_payload_to_the_nlu(fresh: Server) -> None:
    fresh.post(update(reply_message("button_reply", "/affirm", "Ja")))
    fresh.post(update(reply_message("list_reply", '/choose_entry{"entity_id": "svc-1"}', "Sperrmüll")))
    fresh.sent(2)
    assert [m.text for m in fresh.engine.received] == ["/affirm", '/choose_entry{"entity_id": "svc-1"}']


@pytest.mark.parametrize(
    ("signature", "status", "error"),
    [
        (None, 401, "signature_missing"),
        ("sha256=" + "0" * 64, 403, "signature_invalid"),
        ("sha1=abc", 403, "signature_invalid"),
        (hub_signature(b"another body", APP_SECRET), 403, "signature_invalid"),
    ],
)
def test_unsigned_or_wrongly_signed_updates_are_refused_before_anything_runs(
    fresh: Server, signature: str | None, status: int, error: str
) -> None:
    answer = fresh.post(update(text_message("Ich möchte meinen Hund anmelden")), signature=signature)
    assert answer.status_code == status
    assert answer.json()["error"] == error
    time.sleep(0.3)
    assert fresh.engine.received == []
    assert fresh.graph.requests == []


def test_a_signature_under_another_secret_is_refused(fresh: Server) -> None:
    body = json.dumps(update(text_message("Hallo"))).encode()
    answer = fresh.post(body, signature=hub_signature(body, "not-the-app-secret"))
    assert answer.status_code == 403
    assert fresh.engine.received == []


def test_a_replayed_update_is_refused_and_runs_no_turn(fresh: Server) -> None:
    answer = fresh.post(update(text_message("Hallo", age=301)))
    assert answer.status_code == 403
    assert answer.json()["error"] == "replayed"
    time.sleep(0.3)
    assert fresh.engine.received == []
    assert fresh.graph.requests == []


def test_a_redelivered_message_is_acknowledged_and_answered_once(fresh: Server) -> None:
    body = update(text_message("Hallo", message_id="wamid.redelivered"))
    assert fresh.post(body).status_code == 200
    assert fresh.post(body).status_code == 200
    fresh.sent(1)
    time.sleep(0.3)
    assert len(fresh.engine.received) == 1
    assert len(fresh.graph.requests) == 1


def test_an_oversized_body_gets_413_unread(fresh: Server) -> None:
    body = json.dumps(update(text_message("x" * (BODY_LIMIT + 10)))).encode()
    answer = fresh.post(body)
    assert answer.status_code == 413
    assert fresh.engine.received == []


def test_a_signed_body_that_is_no_update_gets_400(fresh: Server) -> None:
    assert fresh.post(b"{not json").status_code == 400
    assert fresh.post(b"[1, 2]").json()["error"] == "invalid_update"
    assert fresh.engine.received == []


def test_statuses_and_other_numbers_are_acknowledged_without_a_turn(fresh: Server) -> None:
    assert fresh.post(update(statuses=True)).status_code == 200
    assert fresh.post(update(text_message("Hallo"), phone_number_id="999")).status_code == 200
    time.sleep(0.3)
    assert fresh.engine.received == []
    assert fresh.graph.requests == []


def test_an_image_gets_the_polite_please_write_reply_without_the_nlu(fresh: Server) -> None:
    image = {
        "from": CITIZEN,
        "id": "wamid.image",
        "timestamp": str(int(time.time())),
        "type": "image",
        "image": {"id": "media-1", "mime_type": "image/jpeg"},
    }
    assert fresh.post(update(image)).status_code == 200
    [sent] = fresh.sent(1)
    assert sent["type"] == "text" and sent["text"]["body"] == EMPTY_MESSAGE_REPLY
    assert fresh.engine.received == []


# ---------------------------------------------------------------- parsing and the Graph API's shapes
def test_parsing_keeps_text_picks_and_drops_reactions() -> None:
    reaction = {
        "from": CITIZEN,
        "id": "wamid.r",
        "timestamp": "1",
        "type": "reaction",
        "reaction": {"message_id": "wamid.out", "emoji": "👍"},
    }
    template = {
        "from": CITIZEN,
        "id": "wamid.b",
        "timestamp": "1",
        "type": "button",
        "button": {"payload": "/affirm", "text": "Ja"},
    }
    parsed = parse_update(update(text_message("Hallo"), reaction, template), PHONE_NUMBER_ID)
    assert [(m.text, m.display_text) for m in parsed] == [("Hallo", None), ("/affirm", "Ja")]


def test_a_knowledge_answer_keeps_its_source_line_and_its_link() -> None:
    message = {
        "text": "Das Bürgerbüro hat bis 18:00 Uhr geöffnet.\n\nQuelle: Bürgerbüro – https://www.krefeld.de/bb",
        "custom": {
            "kumpel": {
                "source": {"title": "Bürgerbüro", "url": "https://www.krefeld.de/bb", "last_reviewed": "2026-10-01"}
            }
        },
    }
    [body] = [b for part in render([message], STYLE) for b in graph_messages(part, CITIZEN)]
    assert body["type"] == "text"
    assert body["text"]["body"].endswith("Quelle: Bürgerbüro (Stand: 01.10.2026)\nhttps://www.krefeld.de/bb")


def test_more_options_than_three_buttons_become_a_list_and_long_payloads_numbered_lines() -> None:
    options = [{"title": f"Leistung {n}", "payload": f'/choose_entry{{"entity_id": "svc-{n}"}}'} for n in range(5)]
    [body] = [
        b
        for part in render([{"text": "Meinten Sie:", "buttons": options}], STYLE)
        for b in graph_messages(part, CITIZEN)
    ]
    assert body["interactive"]["type"] == "list"
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert [row["title"] for row in rows] == [f"Leistung {n}" for n in range(5)]
    [numbered] = graph_messages(Part("Bitte wählen:", buttons=[Button("Eins", "/x" * 200)]), CITIZEN)
    assert numbered["type"] == "text" and "1) Eins" in numbered["text"]["body"]


def test_options_with_long_titles_stay_tappable_rows_with_the_whole_title_as_description() -> None:
    titles = ["Sperrmüll anmelden", "Abfälle am Wertstoffhof abgeben", "Muss ich mich in meiner alten Stadt abmelden?"]
    buttons = [
        {"title": title, "payload": f'/choose_entry{{"entity_id": "svc-{n}"}}'} for n, title in enumerate(titles)
    ]
    [body] = [
        b
        for part in render([{"text": "Meinten Sie …?", "buttons": buttons}], STYLE)
        for b in graph_messages(part, CITIZEN)
    ]
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": buttons[0]["payload"], "title": "Sperrmüll anmelden"}
    assert rows[1]["title"] == "Abfälle am Wertstoffhof…" and rows[1]["description"] == titles[1]
    assert all(len(row["title"]) <= 24 and len(row.get("description", "")) <= 72 for row in rows)
