"""Rasa with two Sanic workers (KUMPEL_RASA_WORKERS=2) on the default endpoints: SQLite and the file lock store.

Citizens talk at the same time over REST and over the widget's socket.io websocket; each conversation is
answered in order and stored whole, and a resent REST turn is answered once (bot.patches), whichever
worker gets it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.client import connect as websocket_connect

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation, make_stack

pytestmark = pytest.mark.integration

WEBHOOK = "/webhooks/rest/webhook"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with make_stack(tmp_path_factory.mktemp("workers"), KUMPEL_RASA_WORKERS="2") as stack:
        yield stack


def rasa_workers(stack: Stack) -> int:
    """Processes of the Rasa tree that listen on its port's socket: Sanic's workers (the main one only waits)."""
    rasa = next(p for p in stack.processes if p.name == "rasa")
    assert rasa.popen is not None
    children = Path(f"/proc/{rasa.popen.pid}/task/{rasa.popen.pid}/children").read_text().split()
    return len(children)


def user_texts(stack: Stack, sender: str) -> list[str]:
    with sqlite3.connect(Path(stack.state_dir) / "tracker.db") as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender,)
        ).fetchall()
    return [json.loads(data)["text"] for (data,) in rows]


def test_two_workers_run_and_concurrent_rest_conversations_are_answered_in_order(two_workers: Stack) -> None:
    assert rasa_workers(two_workers) >= 2

    def citizen(number: int) -> tuple[str, list[str]]:
        conversation = Conversation(two_workers)
        said = []
        for turn in range(4):
            text = "Wann hat das Bürgerbüro geöffnet?" if (number + turn) % 2 else "Was kostet die Hundesteuer?"
            conversation.say(text)
            said.append(text)
            assert ("Bürgerbüro" if "Bürgerbüro" in text else "111,32") in conversation.text, conversation.text
        return conversation.sender, said

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(citizen, range(6)))
    for sender, said in results:
        assert user_texts(two_workers, sender) == said


def test_a_resent_rest_turn_is_answered_once_by_either_worker(two_workers: Stack) -> None:
    sender = f"test-{uuid.uuid4().hex[:12]}"
    request_id = uuid.uuid4().hex
    url = two_workers.rasa_url + WEBHOOK
    body = {"sender": sender, "message": "Was kostet die Hundesteuer?"}
    replies = []
    for _ in range(4):  # new connections: the kernel may hand each to another worker
        with httpx.Client(timeout=30, trust_env=False) as client:
            response = client.post(url, json=body, headers={"X-Request-ID": request_id})
        assert response.status_code == 200
        replies.append([m.get("text") for m in response.json()])
    assert all(reply == replies[0] for reply in replies) and "111,32" in str(replies[0])
    assert user_texts(two_workers, sender) == ["Was kostet die Hundesteuer?"]


class WebsocketWidget:
    """The widget's socket.io session over its first-choice transport, the websocket (Engine.IO 4 by hand).

    python-socketio's own websocket client needs a newer aiohttp than Rasa pins; the protocol is small:
    ``4`` message + ``0`` connect / ``2`` event, ``2``/``3`` ping/pong.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, stack: Stack) -> WebsocketWidget:
        url = stack.rasa_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        widget = cls(await websocket_connect(url))
        assert str(await widget.connection.recv()).startswith("0")  # Engine.IO open
        await widget.connection.send("40")  # Socket.IO connect, default namespace
        assert str(await widget.connection.recv()).startswith("40")
        return widget

    async def emit(self, event: str, data: Any) -> None:
        await self.connection.send("42" + json.dumps([event, data]))

    async def next_event(self) -> tuple[str, Any]:
        while True:
            packet = str(await asyncio.wait_for(self.connection.recv(), 30))
            if packet == "2":
                await self.connection.send("3")
            elif packet.startswith("42"):
                event, *data = json.loads(packet[2:])
                return str(event), data[0] if data else None

    async def wait_for(self, name: str) -> Any:
        while True:
            event, data = await self.next_event()
            if event == name:
                return data

    async def close(self) -> None:
        await self.connection.close()


def test_the_widget_over_websocket_gets_answers_and_its_history(two_workers: Stack) -> None:
    async def scenario() -> tuple[list[str], list[dict[str, Any]]]:
        widget = await WebsocketWidget.open(two_workers)
        await widget.emit("session_request", {"session_id": None})
        session = await widget.wait_for("session_confirm")
        await widget.wait_for("session_history")
        await widget.emit("user_uttered", {"message": "Wann hat das Bürgerbüro geöffnet?", "session_id": session})
        answer: list[str] = []
        while True:
            event, data = await widget.next_event()
            if event == "bot_uttered":
                answer.append(str(data.get("text")))
            elif event == "bot_done":
                break
        await widget.close()
        again = await WebsocketWidget.open(two_workers)  # a reload: maybe the other worker
        await again.emit("session_request", {"session_id": session})
        history = list(await again.wait_for("session_history"))
        await again.close()
        return answer, history

    answer, history = asyncio.run(scenario())
    assert any("Bürgerbüro" in text for text in answer), answer
    assert history[0] == {"sender": "user", "text": "Wann hat das Bürgerbüro geöffnet?"}
    assert any("Bürgerbüro" in m["text"] for m in history if m["sender"] == "bot")
