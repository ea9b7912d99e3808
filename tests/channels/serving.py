"""A messenger channel served by Rasa's own app on a loopback port, with a recording engine behind it.

The app is built by ``rasa.core.run.configure_app`` with ``bot.limits`` applied, as ``kumpel-rasa
run`` builds it; the channel's start-up listeners run (Telegram registers its webhook there). The
engine stands in for Rasa's agent: it answers each message with the reply a test gives it and keeps
what reached it, which is what would have reached the NLU and the tracker.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Sanic

from bot import limits
from bot.settings import EngineSettings

BODY_LIMIT = 64 * 1024
Reply = Callable[[str], list[dict[str, Any]]]


@dataclass
class RecordingEngine:
    """Stands in for Rasa's agent: answers with ``reply(text)`` and keeps every message."""

    reply: Reply = lambda text: [{"text": f"Antwort auf: {text}"}]
    received: list[UserMessage] = field(default_factory=list)
    # No tracker store: numbered picks and the tracker's duplicate check are in the integration tests.
    tracker_store: Any = None

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        for bot_message in self.reply(message.text or ""):
            await message.output_channel.send_response(message.sender_id, dict(bot_message))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_channel(channel: InputChannel, engine: RecordingEngine) -> Iterator[str]:
    """Serve ``channel`` under ``/webhooks/``; yields the base URL (``http://127.0.0.1:<port>``)."""
    import rasa.core.run

    Sanic.test_mode = True  # several tests in one process build apps of the same name
    limits.apply(EngineSettings(rasa_max_body_bytes=BODY_LIMIT))
    app = rasa.core.run.configure_app([channel], enable_api=False, route="/webhooks/")
    app.ctx.agent = engine
    port = _free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        served = loop.run_until_complete(
            app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
        )
        assert served is not None
        loop.run_until_complete(served.startup())
        loop.run_until_complete(served.before_start())
        loop.run_until_complete(served.after_start())
        holder["server"] = served
        ready.set()
        loop.run_until_complete(served.serve_forever())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30), "Sanic did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(holder["server"].close)
        thread.join(timeout=10)
