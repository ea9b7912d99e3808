"""The web widget's socket.io channel against the real trained bot (a python-socketio client).

What a widget (or an attacker with a socket client) sees: answers with their payload, history
after a reconnect, deletion, and refusal of other sessions, other origins and malformed input.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
import socketio

from kumpel_stack.launcher import Stack

pytestmark = pytest.mark.integration

ANSWER_TIMEOUT = 30.0


class WidgetClient:
    """A socket.io client speaking the widget's protocol (webchat/README.md)."""

    def __init__(self, stack: Stack, origin: str | None = None) -> None:
        self.stack = stack
        self.origin = origin
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.session_id: str | None = None
        self.history: list[dict[str, Any]] | None = None
        for name in ("session_confirm", "session_history", "bot_uttered", "bot_done", "session_deleted"):
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            if name == "session_confirm":
                self.session_id = str(data)
            if name == "session_history":
                self.history = list(data)
            await self.events.put((name, data))

        return record

    async def connect(self, session_id: str | None = None) -> WidgetClient:
        headers = {"Origin": self.origin} if self.origin else {}
        await self.sio.connect(self.stack.rasa_url, headers=headers, transports=["polling"], socketio_path="/socket.io")
        await self.sio.emit("session_request", {"session_id": session_id})
        await self.wait_for("session_history")
        return self

    async def wait_for(self, name: str, timeout: float = ANSWER_TIMEOUT) -> Any:
        async def next_named() -> Any:
            while True:
                event, data = await self.events.get()
                if event == name:
                    return data

        return await asyncio.wait_for(next_named(), timeout)

    async def say(self, text: str, session_id: str | None = None) -> list[dict[str, Any]]:
        """One turn: all bot messages until the channel signals the end of the turn."""
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id or self.session_id})
        messages: list[dict[str, Any]] = []
        while True:
            event, data = await asyncio.wait_for(self.events.get(), ANSWER_TIMEOUT)
            if event == "bot_uttered":
                messages.append(data)
            elif event == "bot_done":
                return messages

    async def close(self) -> None:
        await self.sio.disconnect()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def tracker_events(stack: Stack, session_id: str) -> int:
    with sqlite3.connect(Path(stack.state_dir) / "tracker.db") as connection:
        return int(connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (session_id,)).fetchone()[0])


def test_answer_arrives_as_one_message_with_its_source_and_entry(stack: Stack) -> None:
    async def scenario() -> list[dict[str, Any]]:
        client = await WidgetClient(stack).connect()
        try:
            return await client.say("Was kostet die Hundesteuer?")
        finally:
            await client.close()

    messages = run(scenario())
    answer = next(m for m in messages if "111,32" in m["text"])
    assert "Quelle:" in answer["text"]  # text and citation together, not split on blank lines
    meta = answer["custom"]["kumpel"]
    assert meta["entry"]["type"] == "service" and meta["entry"]["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", answer["message_id"])


def test_history_is_sent_again_after_reconnect(stack: Stack) -> None:
    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        first = await WidgetClient(stack).connect()
        await first.say("Wann hat das Bürgerbüro geöffnet?")
        session = first.session_id
        await first.close()
        second = await WidgetClient(stack).connect(session)
        await second.close()
        assert second.session_id == session
        return str(session), second.history or []

    _, history = run(scenario())
    assert history[0] == {"sender": "user", "text": "Wann hat das Bürgerbüro geöffnet?"}
    assert any("Bürgerbüro" in m["text"] for m in history if m["sender"] == "bot")


@pytest.mark.parametrize("bogus", ["../../etc/passwd", "<script>", "a" * 5000, 42, "ABCDEF" * 6])
def test_malformed_session_ids_get_a_fresh_session(stack: Stack, bogus: Any) -> None:
    async def scenario() -> WidgetClient:
        client = await WidgetClient(stack).connect(bogus)
        await client.close()
        return client

    client = run(scenario())
    assert client.session_id != bogus and re.fullmatch(r"[0-9a-f]{32}", client.session_id or "")
    assert client.history == []


def test_one_socket_cannot_write_into_or_delete_another_conversation(stack: Stack) -> None:
    async def scenario() -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        victim = await WidgetClient(stack).connect()
        await victim.say("Was kostet die Hundesteuer?")
        attacker = await WidgetClient(stack).connect()
        try:
            await attacker.sio.emit("user_uttered", {"message": "hallo", "session_id": victim.session_id})
            with pytest.raises(asyncio.TimeoutError):
                await attacker.wait_for("bot_uttered", timeout=3)
            ack = await attacker.sio.call("delete_session", {"session_id": victim.session_id}, timeout=10)
        finally:
            await attacker.close()
            await victim.close()
        return str(victim.session_id), [], ack

    victim_session, _, ack = run(scenario())
    assert ack == {"deleted": False, "error": "unknown_session"}
    assert tracker_events(stack, victim_session) > 0


def test_delete_removes_the_conversation_from_the_tracker_store(stack: Stack) -> None:
    async def scenario() -> tuple[str, dict[str, Any], list[dict[str, Any]] | None]:
        client = await WidgetClient(stack).connect()
        await client.say("Wann hat das Bürgerbüro geöffnet?")
        session = str(client.session_id)
        assert tracker_events(stack, session) > 0
        ack = await client.sio.call("delete_session", {"session_id": session}, timeout=10)
        await client.close()
        again = await WidgetClient(stack).connect(session)
        await again.close()
        return session, ack, again.history

    session, ack, history_after = run(scenario())
    assert ack == {"deleted": True}
    assert tracker_events(stack, session) == 0
    assert history_after == []


# Whitespace-only text is answered with a prompt now (tests/integration/test_bounded_input.py).
@pytest.mark.parametrize("payload", ["just a string", None, [1, 2], {"message": 42}])
def test_malformed_messages_are_ignored_and_the_channel_keeps_working(stack: Stack, payload: Any) -> None:
    async def scenario() -> list[dict[str, Any]]:
        client = await WidgetClient(stack).connect()
        try:
            await client.sio.emit("user_uttered", payload)
            return await client.say("Was kostet die Hundesteuer?")
        finally:
            await client.close()

    assert any("111,32" in m["text"] for m in run(scenario()))


def test_other_websites_are_refused(stack: Stack) -> None:
    async def scenario() -> None:
        await WidgetClient(stack, origin="https://evil.example").connect()

    with pytest.raises(socketio.exceptions.ConnectionError):
        run(scenario())


def test_a_duplicated_message_gets_an_answer_each_time_and_no_crash(stack: Stack) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        client = await WidgetClient(stack).connect()
        try:
            first = await client.say("Was kostet die Hundesteuer?")
            second = await client.say("Was kostet die Hundesteuer?")
            return first, second
        finally:
            await client.close()

    first, second = run(scenario())
    assert any("111,32" in m["text"] for m in first) and any("111,32" in m["text"] for m in second)
    assert uuid.UUID(first[0]["message_id"]) != uuid.UUID(second[0]["message_id"])
