"""The REST channel's input rules and the engine's size limit, through a real Sanic server (run in .venv/rasa).

The app is built by Rasa's own ``configure_app`` with ``bot.limits`` applied, exactly as
``kumpel-rasa run`` builds it, and served on a loopback port. Behind the channel sits a small
engine that answers every message it is handed: what it records is what would reach the NLU.
The same rules against the real trained bot: tests/integration/test_bounded_input.py.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot import limits
from bot.channels.input_rules import (
    EMPTY_MESSAGE_REPLY,
    MAX_MESSAGE_CHARS,
    TOO_LONG_REPLY,
    check_message,
    clean_text,
    safe_metadata,
)
from bot.channels.kumpel_rest import KumpelRestInput
from bot.settings import EngineSettings
from tests.channels.serving import BODY_LIMIT, RecordingEngine, serve_channel


@dataclass
class Server:
    url: str
    engine: RecordingEngine

    def post(self, body: bytes | str, **kwargs: Any) -> httpx.Response:
        content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        return httpx.post(f"{self.url}/webhooks/rest/webhook", content=content, timeout=10, **kwargs)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    engine = RecordingEngine()
    with serve_channel(KumpelRestInput(), engine) as url:
        yield Server(url, engine)


@pytest.fixture()
def engine(server: Server) -> RecordingEngine:
    server.engine.received.clear()
    return server.engine


def test_a_message_is_answered_in_rasas_reply_format(server: Server, engine: RecordingEngine) -> None:
    response = server.post('{"sender": "citizen-1", "message": "Wann hat das Bürgerbüro geöffnet?"}')
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "citizen-1", "text": "Antwort auf: Wann hat das Bürgerbüro geöffnet?"}]
    assert engine.received[0].input_channel == "rest"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("[1, 2]", "invalid_body"),
        ('"Hallo"', "invalid_body"),
        ("null", "invalid_body"),
        ("{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        ('{"message": "Hallo"}', "invalid_sender"),
        ('{"sender": "", "message": "Hallo"}', "invalid_sender"),
        ('{"sender": 42, "message": "Hallo"}', "invalid_sender"),
        ('{"sender": "a b", "message": "Hallo"}', "invalid_sender"),
        ('{"sender": "<script>", "message": "Hallo"}', "invalid_sender"),
        ('{"sender": "' + "x" * 129 + '", "message": "Hallo"}', "invalid_sender"),
        ('{"sender": "me"}', "invalid_message"),
        ('{"sender": "me", "message": 42}', "invalid_message"),
        ('{"sender": "me", "message": ["Hallo"]}', "invalid_message"),
        ('{"sender": "me", "message": "Hallo", "metadata": "x"}', "invalid_metadata"),
    ],
)
def test_malformed_requests_get_400_with_a_precise_error(
    server: Server, engine: RecordingEngine, body: str | bytes, error: str
) -> None:
    response = server.post(body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["message"]
    assert engine.received == []  # never the shared "default" conversation, never the NLU


@pytest.mark.parametrize("sender", ["a", "user@integration.example", "9f1c:web-1_2.x", "x" * 128])
def test_senders_of_the_documented_shape_are_accepted(server: Server, engine: RecordingEngine, sender: str) -> None:
    response = server.post(f'{{"sender": "{sender}", "message": "Hallo"}}')
    assert response.status_code == 200
    assert engine.received[0].sender_id == sender


@pytest.mark.parametrize("text", ["", "   ", "\\n\\t", "\\ud800", "\\u0000\\u0007"])
def test_empty_text_gets_the_prompt_without_the_nlu(server: Server, engine: RecordingEngine, text: str) -> None:
    response = server.post(f'{{"sender": "me", "message": "{text}"}}')
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "me", "text": EMPTY_MESSAGE_REPLY}]
    assert engine.received == []


def test_overlong_text_is_refused_politely_without_the_nlu(server: Server, engine: RecordingEngine) -> None:
    response = server.post(f'{{"sender": "me", "message": "{"Hund " * 500}"}}')
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "me", "text": TOO_LONG_REPLY}]
    assert "zu lang" in TOO_LONG_REPLY
    assert engine.received == []


def test_text_of_exactly_the_limit_reaches_the_nlu(server: Server, engine: RecordingEngine) -> None:
    response = server.post(f'{{"sender": "me", "message": "{"x" * MAX_MESSAGE_CHARS}"}}')
    assert response.status_code == 200
    assert engine.received[0].text == "x" * MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    "body",
    [
        '{"sender": "me", "message": "Hundesteuer \\ud800 Kosten"}',
        b'{"sender": "me", "message": "Hundesteuer \xed\xa0\x80 Kosten"}',  # a surrogate as raw bytes
    ],
)
def test_lone_surrogates_are_dropped_not_a_500(server: Server, engine: RecordingEngine, body: str | bytes) -> None:
    response = server.post(body)
    assert response.status_code == 200
    assert engine.received[0].text == "Hundesteuer  Kosten"


def test_metadata_is_bounded_to_what_the_bot_uses(server: Server, engine: RecordingEngine) -> None:
    body = '{"sender": "me", "message": "Hallo", "metadata": {"display_text": "' + "d" * 500 + '", "x": "y"}}'
    assert server.post(body).status_code == 200
    assert engine.received[0].metadata == {"display_text": "d" * 200}


def test_client_cannot_choose_another_input_channel(server: Server, engine: RecordingEngine) -> None:
    assert server.post('{"sender": "me", "message": "Hallo", "input_channel": "socketio"}').status_code == 200
    assert engine.received[0].input_channel == "rest"


def test_oversized_body_gets_413_before_it_is_read(server: Server, engine: RecordingEngine) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # Only the head is sent: the answer must not wait for the 2 MB it announces.
        sock.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2000000\r\n\r\n"
        )
        started = time.monotonic()
        head = sock.recv(4096)
        elapsed = time.monotonic() - started
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"payload_too_large" in head
    assert elapsed < 5
    assert engine.received == []


def test_oversized_chunked_body_gets_413(server: Server, engine: RecordingEngine) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"sender": "me", "message": "'
        for _ in range(40):
            yield b"x" * 4096

    result = httpx.post(f"{server.url}/webhooks/rest/webhook", content=chunks(), timeout=10)
    assert result.status_code == 413
    assert result.json()["error"] == "payload_too_large"
    assert engine.received == []


def test_a_body_just_under_the_limit_is_still_read(server: Server, engine: RecordingEngine) -> None:
    padding = "p" * (BODY_LIMIT - 200)
    body = '{"sender": "me", "message": "Hallo", "metadata": {"padding": "' + padding + '"}}'
    assert server.post(body).status_code == 200


def test_limits_refuse_a_limit_too_small_for_a_chat_message() -> None:
    with pytest.raises(ValueError, match="KUMPEL_RASA_MAX_BODY_BYTES"):
        limits.sanic_limits(EngineSettings(rasa_max_body_bytes=100))


def test_the_rules_clean_text_for_the_nlu() -> None:
    assert clean_text("  Bu\u0308rgerbu\u0308ro\r\n\x00 ") == "Bürgerbüro"
    assert check_message('/choose_entry{"entity_id": "svc-a"}').text == '/choose_entry{"entity_id": "svc-a"}'
    assert check_message("x" * 100_000).reply == TOO_LONG_REPLY
    assert safe_metadata({"language": "de", "display_text": 5, "other": "x"}) == {"language": "de"}
    assert safe_metadata(["not", "a", "dict"]) == {}
