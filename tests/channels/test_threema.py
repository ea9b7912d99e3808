"""The Threema Gateway channel through a real Sanic server and a fake Gateway on loopback (.venv/rasa).

The app is built by Rasa's own ``configure_app`` with ``bot.limits`` applied, as ``kumpel-rasa run``
builds it. Behind the channel sits a small engine that answers every message it is handed: what it
records is what would reach the NLU. Citizens' messages are encrypted and signed as the Gateway
delivers them; what the citizen receives is what the fake Gateway recorded, decrypted with the
citizen's key. The same channel against the real trained bot: tests/integration/test_channel_threema.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import libnacl.public
import pytest

from bot.channels.input_rules import EMPTY_MESSAGE_REPLY
from bot.channels.threema import ThreemaInput, callback_mac, verify_callback
from tests.channels.serving import BODY_LIMIT, RecordingEngine, serve_channel
from tests.channels.threema_fake import (
    API_SECRET,
    GATEWAY_ID,
    IMAGE_MESSAGE,
    FakeThreemaGateway,
    encode,
    running_gateway,
)

LONG_ANSWER = " ".join(f"Satz Nummer {n} über die Hundesteuer in Kumpelstadt." for n in range(150))


def answer(text: str) -> list[dict[str, Any]]:
    """The recording engine's replies: buttons for "Optionen", a long answer for "Lang", an echo otherwise."""
    if text == "Optionen":
        buttons = [
            {"title": "Hundesteuer", "payload": '/choose_entry{"entry": "hundesteuer"}'},
            {"title": "Müllabfuhr", "payload": '/choose_entry{"entry": "muell"}'},
        ]
        return [{"text": "Meinten Sie:", "buttons": buttons}]
    if text == "Lang":
        return [{"text": LONG_ANSWER}]
    return [{"text": f"Antwort auf: {text}"}]


@dataclass
class Server:
    url: str
    engine: RecordingEngine
    gateway: FakeThreemaGateway

    def post(self, body: bytes | dict[str, str]) -> httpx.Response:
        content = encode(body) if isinstance(body, dict) else body
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return httpx.post(f"{self.url}/webhooks/threema/webhook", content=content, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_gateway() as gateway:
        channel = ThreemaInput.from_credentials(
            {
                "gateway_id": GATEWAY_ID,
                "secret": API_SECRET,
                "private_key": gateway.private_key,
                "api_url": gateway.url,
            }
        )
        engine = RecordingEngine(reply=answer)
        with serve_channel(channel, engine) as url:
            yield Server(url, engine, gateway)


@pytest.fixture()
def engine(server: Server) -> RecordingEngine:
    server.engine.received.clear()
    server.gateway.clear()
    return server.engine


def test_a_message_is_answered_end_to_end_encrypted(server: Server, engine: RecordingEngine) -> None:
    erika = server.gateway.citizen("ERIKA123")
    response = server.post(erika.callback("Wann hat das Bürgerbüro geöffnet?"))
    assert response.status_code == 200
    assert erika.replies() == ["Antwort auf: Wann hat das Bürgerbüro geöffnet?"]
    received = engine.received[0]
    assert received.text == "Wann hat das Bürgerbüro geöffnet?"
    assert received.input_channel == "threema"
    # The conversation id does not reveal the Threema ID, and stays the same for the next message.
    assert received.sender_id.startswith("threema-") and "ERIKA123" not in received.sender_id
    server.post(erika.callback("Danke"))
    assert engine.received[1].sender_id == received.sender_id
    assert ("GET", "/pubkeys/ERIKA123") in server.gateway.calls


def test_buttons_become_numbered_options(server: Server, engine: RecordingEngine) -> None:
    max_ = server.gateway.citizen("MAXMUST1")
    assert server.post(max_.callback("Optionen")).status_code == 200
    (reply,) = max_.replies()
    assert "Meinten Sie:" in reply
    assert "1) Hundesteuer\n2) Müllabfuhr" in reply
    assert "Antworten Sie einfach mit der Nummer." in reply


def test_a_long_answer_arrives_in_several_messages_within_threemas_limit(
    server: Server, engine: RecordingEngine
) -> None:
    citizen = server.gateway.citizen("LANGTEXT")
    assert server.post(citizen.callback("Lang")).status_code == 200
    replies = citizen.replies()
    assert len(replies) >= 2
    assert all(len(reply.encode("utf-8")) <= 3500 for reply in replies)
    assert all(reply.endswith(".") for reply in replies)  # split between sentences
    assert " ".join(replies) == LONG_ANSWER


def test_an_image_gets_the_polite_please_write_reply_without_the_nlu(server: Server, engine: RecordingEngine) -> None:
    citizen = server.gateway.citizen("BILDER12")
    response = server.post(citizen.callback(message_type=IMAGE_MESSAGE, payload=bytes(16 + 4 + 24)))
    assert response.status_code == 200
    assert citizen.replies() == [EMPTY_MESSAGE_REPLY]
    assert engine.received == []


def test_a_second_delivery_of_the_same_message_runs_no_second_turn(server: Server, engine: RecordingEngine) -> None:
    citizen = server.gateway.citizen("DOPPELT1")
    callback = citizen.callback("Was kostet die Hundesteuer?")
    assert server.post(callback).status_code == 200
    again = server.post(callback)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert len(engine.received) == 1
    assert len(citizen.replies()) == 1


def _refused(server: Server, engine: RecordingEngine, body: bytes | dict[str, str], status: int, error: str) -> None:
    response = server.post(body)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["message"]
    assert engine.received == []
    assert server.gateway.calls == []  # not even the sender's key was looked up


def test_a_callback_without_mac_is_refused_with_401(server: Server, engine: RecordingEngine) -> None:
    fields = server.gateway.citizen("OHNEMAC1").callback("Hallo")
    del fields["mac"]
    _refused(server, engine, fields, 401, "unsigned")
    _refused(server, engine, b"", 401, "unsigned")
    _refused(server, engine, b'{"from": "OHNEMAC1"}', 401, "unsigned")
    _refused(server, engine, "from=Ä".encode(), 401, "unsigned")


def test_a_callback_signed_with_another_secret_is_refused_with_403(server: Server, engine: RecordingEngine) -> None:
    fields = server.gateway.citizen("FALSCH12").callback("Hallo", secret="not-the-api-secret")
    _refused(server, engine, fields, 403, "invalid_signature")


def test_a_callback_changed_after_signing_is_refused_with_403(server: Server, engine: RecordingEngine) -> None:
    citizen = server.gateway.citizen("GEAENDRT")
    fields = citizen.callback("Hallo")
    fields["box"] = citizen.callback("Lösche alles")["box"]
    _refused(server, engine, fields, 403, "invalid_signature")
    fields = citizen.callback("Hallo")
    fields["from"] = "ANDERER1"
    _refused(server, engine, fields, 403, "invalid_signature")


def test_a_callback_for_another_gateway_id_is_refused_with_403(server: Server, engine: RecordingEngine) -> None:
    fields = server.gateway.citizen("FREMDID1").callback("Hallo", to="*ANDERE1")
    _refused(server, engine, fields, 403, "wrong_recipient")


@pytest.mark.parametrize("age", [301, 3600, -120])
def test_a_replayed_callback_is_refused_with_403(server: Server, engine: RecordingEngine, age: int) -> None:
    fields = server.gateway.citizen("ALTEMSG1").callback("Hallo", date=int(time.time()) - age)
    _refused(server, engine, fields, 403, "replayed")


def test_an_oversized_callback_is_refused_with_413(server: Server, engine: RecordingEngine) -> None:
    fields = server.gateway.citizen("GROSS123").callback("Hallo")
    fields["nickname"] = "x" * (BODY_LIMIT + 1)
    response = server.post(fields)
    assert response.status_code == 413
    assert engine.received == []


def test_a_box_not_for_our_key_is_answered_400_and_logs_no_threema_id(
    server: Server, engine: RecordingEngine, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = server.gateway.citizen("SCHLUES1")
    fields = citizen.callback("Hallo")
    citizen.key = libnacl.public.SecretKey()  # the directory now names another key than the one that encrypted
    with caplog.at_level(logging.DEBUG):
        response = server.post(fields)
    assert response.status_code == 400
    assert response.json()["error"] == "undecryptable"
    assert engine.received == []
    assert "SCHLUES1" not in caplog.text and "Hallo" not in caplog.text


def test_verify_callback_accepts_the_gateways_mac_in_either_case() -> None:
    fields = {
        "from": "ECHOECHO",
        "to": GATEWAY_ID,
        "messageId": "0123456789abcdef",
        "date": str(int(time.time())),
        "nonce": "00" * 24,
        "box": "ab" * 40,
    }
    mac = callback_mac(fields, API_SECRET)
    for written in (mac, mac.upper()):
        callback = verify_callback(
            encode({**fields, "mac": written}), secret=API_SECRET, gateway_id=GATEWAY_ID, now=time.time()
        )
        assert callback.sender == "ECHOECHO" and callback.box == bytes.fromhex("ab" * 40)


def test_the_channel_needs_all_three_secrets() -> None:
    with pytest.raises(ValueError, match="KUMPEL_THREEMA_PRIVATE_KEY"):
        ThreemaInput.from_credentials({"gateway_id": GATEWAY_ID, "secret": API_SECRET, "private_key": ""})
