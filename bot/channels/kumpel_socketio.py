"""Socket.IO channel for the Kumpel web widget.

Extends Rasa 3.6's ``socketio`` channel where the widget needs more than the stock one gives:

- one ``bot_uttered`` event per bot response, with text, buttons and the ``custom`` payload
  together and a random ``message_id`` (the stock channel splits text on blank lines and
  crashes on ``custom`` payloads), so the widget can attach thumbs up/down to an answer;
- ``bot_done`` after the bot finished a turn (drives the typing indicator);
- ``session_history`` on (re)connect: the current session's messages from the tracker store,
  so a reload or a navigation shows the conversation without the browser storing its text;
- ``delete_session``: removes the conversation from the tracker store (SQL or Redis);
- Cross-origin access only from configured origins (never ``*`` in production);
- the input rules of every channel (``bot.channels.input_rules``): an empty or over-long text gets
  a polite German reply without reaching the NLU, lone surrogates and control characters are
  dropped, engine.io messages are bounded by ``KUMPEL_RASA_MAX_BODY_BYTES``.

credentials.yml::

    bot.channels.kumpel_socketio.KumpelSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      # cors_allowed_origins: "https://www.example-city.de"   (else env KUMPEL_CORS_ORIGINS, bot/settings.py)
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.input_rules import check_message, safe_metadata
from bot.patches import ConversationStoreUnavailable
from bot.settings import ORIGINS_ENV, EngineSettings, get_settings
from bot.tracker_deletion import TrackerDeletionUnsupported, delete_conversation

logger = logging.getLogger(__name__)

# Origins of the pages that embed the widget in development: the knowledge service serves the demo.
DEFAULT_DEV_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")
SESSION_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
HISTORY_LIMIT = 200


def parse_origins(value: None | str | list[str], env: str, configured: str | None = None) -> list[str]:
    """Allowed origins from credentials, else ``configured`` (``KUMPEL_CORS_ORIGINS``); ``*`` is refused in production.

    Args:
        value: ``cors_allowed_origins`` from credentials.yml, if given there.
        env: ``KUMPEL_ENV``.
        configured: the origins from the settings, used when credentials name none; when empty
            too, the development defaults (the knowledge service's demo page).
    """
    if value is None:
        value = configured or ",".join(DEFAULT_DEV_ORIGINS)
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    origins = [item.strip().rstrip("/") for item in items if item and item.strip()]
    if "*" in origins:
        if env == "production":
            raise ValueError(f"{ORIGINS_ENV} must list the embedding sites' origins; '*' is refused in production")
        logger.warning("Web chat accepts connections from any origin ('*'): development only")
        return ["*"]
    return origins


class KumpelSocketIOOutput(OutputChannel):
    """Emits each bot response as one ``bot_uttered`` event to the conversation's room."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        self.sio = sio
        self.bot_message_evt = bot_message_evt

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Send text, buttons, custom payload and attachments together, as the widget shows them."""
        await self.sio.emit(self.bot_message_evt, widget_message(message), room=recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


def widget_message(message: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
    """The wire format the widget renders (see webchat/README.md)."""
    buttons = message.get("quick_replies") or message.get("buttons") or []
    out: dict[str, Any] = {
        "message_id": message_id or uuid.uuid4().hex,
        "text": message.get("text") or "",
        "quick_replies": [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in buttons
            if isinstance(b, dict)
        ],
    }
    for key in ("custom", "image", "attachment", "elements"):
        if message.get(key):
            out[key] = message[key]
    return out


def history_messages(events: list[dict[str, Any]], limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """User and bot messages of the latest session, in order, from serialised tracker events."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") == "session_started":
            start = index
    messages: list[dict[str, Any]] = []
    for event in events[start:]:
        kind = event.get("event")
        if kind == "user":
            metadata = event.get("metadata") or {}
            text = metadata.get("display_text") if isinstance(metadata, dict) else None
            messages.append({"sender": "user", "text": str(text or event.get("text") or "")})
        elif kind == "bot":
            data = dict(event.get("data") or {})
            data["text"] = event.get("text") or ""
            entry = widget_message(data)
            entry["sender"] = "bot"
            messages.append(entry)
    return messages[-limit:]


async def _maybe_await(result: Any) -> Any:
    # python-socketio changed enter_room/leave_room to coroutines in 5.10; 5.9.0 is pinned (RasaHQ/rasa#13027).
    if inspect.isawaitable(result):
        return await result
    return result


class OriginCheckingEngineIOServer(engineio.AsyncServer):
    """Refuses other origins but leaves CORS response headers to Rasa's ``--cors`` (sanic-cors).

    Rasa installs sanic-cors on the whole app; when engine.io adds its own headers too, the
    HTTP long-polling transport gets ``Access-Control-Allow-Origin`` twice and browsers refuse
    it. WebSocket, the widget's first transport, needs no CORS headers at all.
    """

    def _cors_headers(self, environ: dict[str, Any]) -> list[Any]:
        return []


class OriginCheckingSocketServer(AsyncServer):
    def _engineio_server_class(self) -> Any:
        return OriginCheckingEngineIOServer


class KumpelSocketBlueprint(SocketBlueprint):
    """Remembers the Sanic app so socket handlers can reach the agent's tracker and lock store."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.app = app
        super().register(app, options)


class KumpelSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with history, deletion, a turn-done signal and strict CORS."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            session_persistence=credentials.get("session_persistence", True),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            jwt_key=credentials.get("jwt_key"),
            jwt_method=credentials.get("jwt_method", "HS256"),
            metadata_key=credentials.get("metadata_key", "metadata"),
            cors_allowed_origins=credentials.get("cors_allowed_origins"),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        session_persistence: bool = True,
        socketio_path: str | None = "/socket.io",
        jwt_key: str | None = None,
        jwt_method: str | None = "HS256",
        metadata_key: str | None = "metadata",
        cors_allowed_origins: None | str | list[str] = None,
        settings: EngineSettings | None = None,
    ) -> None:
        super().__init__(
            user_message_evt,
            bot_message_evt,
            namespace,
            session_persistence,
            socketio_path,
            jwt_key,
            jwt_method,
            metadata_key,
        )
        settings = settings or get_settings()
        self.cors_allowed_origins = parse_origins(cors_allowed_origins, settings.env, settings.cors_origins)
        self.max_message_bytes = settings.rasa_max_body_bytes

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return super().get_output_channel()
        return KumpelSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Socket handlers; the HTTP part is Rasa's (health route + socket.io attach)."""
        origins: str | list[str] = "*" if self.cors_allowed_origins == ["*"] else self.cors_allowed_origins
        sio = OriginCheckingSocketServer(
            async_mode="sanic", cors_allowed_origins=origins, max_http_buffer_size=self.max_message_bytes
        )
        webhook = KumpelSocketBlueprint(sio, self.socketio_path, "kumpel_socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace
        base = self

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        def agent() -> Any:
            app = getattr(webhook.ctx, "app", None)
            return getattr(app.ctx, "agent", None) if app is not None else None

        async def joined_session(sid: str) -> str | None:
            session = await sio.get_session(sid, namespace=namespace)
            return session.get("session_id") if session else None

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None = None) -> bool:
            if not base.jwt_key:
                return True
            from rasa.core.channels.channel import decode_bearer_token

            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, base.jwt_key, base.jwt_algorithm))

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            logger.debug("Web chat socket disconnected")

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            # Only ids of our own shape are accepted; anything else starts a fresh conversation.
            session_id = requested if isinstance(requested, str) and SESSION_ID_PATTERN.match(requested) else None
            is_new = session_id is None
            session_id = session_id or uuid.uuid4().hex
            await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
            await _maybe_await(sio.enter_room(sid, session_id, namespace=namespace))
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            history: list[dict[str, Any]] = []
            current = agent()
            if not is_new and current is not None and current.tracker_store is not None:
                try:
                    # The whole conversation: ``retrieve`` gives only the last turns (bot.bounded_tracker);
                    # history_messages picks the latest session. Once per (re)connect, not per turn.
                    tracker = await current.tracker_store.retrieve_full_tracker(session_id)
                except ConversationStoreUnavailable:  # logged by bot.patches; the widget gets no history
                    tracker = None
                if tracker is not None:
                    history = history_messages([event.as_dict() for event in tracker.events])
            await sio.emit("session_history", history, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            session_id = await joined_session(sid)
            if not isinstance(data, dict) or session_id is None:
                logger.debug("Web chat message without a session: ignored")
                return
            if data.get("session_id") not in (None, session_id):
                logger.debug("Web chat message for another session: ignored")
                return
            text = data.get("message")
            if not isinstance(text, str):
                return
            checked = check_message(text)
            if checked.reply is not None:
                # Answered here (empty or over-long): the NLU and the tracker never see it.
                await sio.emit(base.bot_message_evt, widget_message({"text": checked.reply}), room=session_id)
                await sio.emit("bot_done", {}, room=session_id, namespace=namespace)
                return
            assert checked.text is not None
            metadata = data.get(base.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            output = KumpelSocketIOOutput(sio, base.bot_message_evt)
            message = UserMessage(
                checked.text,
                output,
                session_id,
                input_channel=base.name(),
                metadata=safe_metadata(metadata),
            )
            try:
                await on_new_message(message)
            finally:
                await sio.emit("bot_done", {}, room=session_id, namespace=namespace)

        @sio.on("delete_session", namespace=namespace)
        async def delete_session(sid: str, data: Any) -> dict[str, Any]:
            session_id = await joined_session(sid)
            requested = data.get("session_id") if isinstance(data, dict) else None
            if session_id is None or requested != session_id:
                return {"deleted": False, "error": "unknown_session"}
            current = agent()
            if current is None or current.tracker_store is None:
                return {"deleted": False, "error": "not_ready"}
            try:
                async with current.lock_store.lock(session_id):
                    delete_conversation(current.tracker_store, session_id)
            except TrackerDeletionUnsupported as error:
                logger.error(str(error))
                return {"deleted": False, "error": "unsupported_store"}
            await sio.emit("session_deleted", {}, room=session_id, namespace=namespace, skip_sid=sid)
            await _maybe_await(sio.leave_room(sid, session_id, namespace=namespace))
            await sio.save_session(sid, {}, namespace=namespace)
            logger.info("Web chat conversation deleted on request")
            return {"deleted": True}

        return webhook
