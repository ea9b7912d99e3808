"""Bounded input on every channel, against the real trained bot (issue 17, item 2).

What an attacker with curl or a socket client sees, and what the other citizens notice while he
tries: precise 400s, a 413 before a big body is read, a polite German reply for empty and
over-long text with nothing stored, no apology about an unreachable service for odd characters.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import socketio

from bot.channels.input_rules import EMPTY_MESSAGE_REPLY, TOO_LONG_REPLY
from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation

pytestmark = pytest.mark.integration

UNAVAILABLE = ("nicht erreichbar", "nicht auf die Wissensdatenbank zugreifen")
BIG = 2 * 1024 * 1024


def post_raw(stack: Stack, body: bytes, timeout: float = 30.0) -> tuple[int, Any]:
    """POST ``body`` as it is to the REST webhook; returns the status and the parsed JSON reply."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def tracker_events(stack: Stack, sender: str) -> int:
    """Events the SQL tracker store holds for ``sender`` (the conversation API is not enabled)."""
    with sqlite3.connect(Path(stack.state_dir) / "tracker.db") as connection:
        row = connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()
    return int(row[0])


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", "")) for m in replies)


def rasa_address(stack: Stack) -> tuple[str, int]:
    host, port = stack.rasa_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def test_a_json_array_gets_400_not_500(stack: Stack) -> None:
    status, body = post_raw(stack, b'[{"sender": "a", "message": "Hallo"}]')
    assert status == 400
    assert body["error"] == "invalid_body"


def test_no_sender_gets_400_and_no_shared_default_conversation(stack: Stack) -> None:
    status, body = post_raw(stack, json.dumps({"message": "Was kostet die Hundesteuer?"}).encode())
    assert status == 400
    assert body["error"] == "invalid_sender"
    assert tracker_events(stack, "default") == 0


def test_a_2_mb_body_gets_413_at_once(stack: Stack) -> None:
    with socket.create_connection(rasa_address(stack), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {BIG}\r\n\r\n".encode()
            + b'{"sender": "big", "message": "'
        )
        head = sock.recv(4096)
        elapsed = time.monotonic() - started
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert elapsed < 5, f"413 took {elapsed:.1f} s"


def test_a_2_mb_message_in_flight_does_not_delay_another_citizen(stack: Stack) -> None:
    outcome: dict[str, Any] = {}

    def send_big() -> None:
        # Sent in pieces, as a slow client would, while the other citizen talks to the bot.
        body = b'{"sender": "big-sender", "message": "' + b"x" * BIG + b'"}'
        try:
            with socket.create_connection(rasa_address(stack), timeout=30) as sock:
                sock.sendall(
                    b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                )
                for start in range(0, len(body), 64 * 1024):
                    sock.sendall(body[start : start + 64 * 1024])
                    time.sleep(0.05)
                outcome["head"] = sock.recv(4096)
        except OSError as error:  # the server closes the connection after its 413
            outcome["error"] = error

    big = threading.Thread(target=send_big, daemon=True)
    big.start()
    time.sleep(0.2)
    started = time.monotonic()
    replies = Conversation(stack).say("Hallo")
    elapsed = time.monotonic() - started
    big.join(timeout=60)
    assert texts(replies), "the other citizen got no reply"
    # Unbounded, the other citizen waited 31-36 s on this machine; a turn takes well under a second.
    assert elapsed < 10, f"'Hallo' took {elapsed:.1f} s while a 2 MB message was sent"
    assert outcome.get("head", b"HTTP/1.1 413").startswith(b"HTTP/1.1 413")
    assert tracker_events(stack, "big-sender") == 0


def test_2500_characters_are_refused_politely_and_not_stored(stack: Stack) -> None:
    conversation = Conversation(stack)
    conversation.say(("Ich möchte meinen Hund anmelden. " * 80)[:2500])
    assert conversation.text == TOO_LONG_REPLY
    assert "zu lang" in conversation.text
    assert tracker_events(stack, conversation.sender) == 0


@pytest.mark.parametrize("text", ["\ud800", "Was kostet die Hundesteuer? \ud800"])
def test_a_lone_surrogate_gets_no_apology_about_an_unreachable_service(stack: Stack, text: str) -> None:
    body = json.dumps({"sender": f"test-{uuid.uuid4().hex[:12]}", "message": text}).encode()  # "\ud800" escaped
    status, replies = post_raw(stack, body)
    assert status == 200
    said = texts(replies)
    assert said
    assert not any(phrase in said for phrase in UNAVAILABLE)
    if "Hundesteuer" in text:
        assert "111,32" in said


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_gets_the_prompt_not_a_guess(stack: Stack, text: str) -> None:
    conversation = Conversation(stack)
    conversation.say(text)
    assert conversation.text == EMPTY_MESSAGE_REPLY
    assert "Fahrzeug" not in conversation.text
    assert tracker_events(stack, conversation.sender) == 0


def test_markup_is_answered_without_being_echoed(stack: Stack) -> None:
    conversation = Conversation(stack)
    conversation.say('<script>alert("x")</script><b onmouseover="x()">Was kostet die Hundesteuer?</b>')
    assert conversation.text
    assert "<script" not in conversation.text.lower()
    assert "onmouseover" not in conversation.text


def test_the_web_chat_socket_follows_the_same_rules(stack: Stack) -> None:
    async def scenario() -> dict[str, list[str]]:
        client = socketio.AsyncClient(reconnection=False)
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for name in ("session_confirm", "bot_uttered", "bot_done"):

            async def record(data: Any = None, name: str = name) -> None:
                await events.put((name, data))

            client.on(name, record)
        await client.connect(stack.rasa_url, transports=["polling"], socketio_path="/socket.io")
        try:
            await client.emit("session_request", {"session_id": None})
            session_id = ""
            while not session_id:
                name, data = await asyncio.wait_for(events.get(), 30)
                session_id = str(data) if name == "session_confirm" else ""
            said: dict[str, list[str]] = {}
            for label, text in (
                ("empty", "  "),
                ("long", "x" * 2500),
                ("surrogate", "Was kostet die Hundesteuer? \ud800"),
            ):
                await client.emit("user_uttered", {"message": text, "session_id": session_id})
                said[label] = []
                while True:
                    name, data = await asyncio.wait_for(events.get(), 30)
                    if name == "bot_uttered":
                        said[label].append(str(data.get("text", "")))
                    elif name == "bot_done":
                        break
            return said
        finally:
            await client.disconnect()

    said = asyncio.run(scenario())
    assert said["empty"] == [EMPTY_MESSAGE_REPLY]
    assert said["long"] == [TOO_LONG_REPLY]
    assert any("111,32" in text for text in said["surrogate"])
    assert not any(phrase in text for text in said["surrogate"] for phrase in UNAVAILABLE)
