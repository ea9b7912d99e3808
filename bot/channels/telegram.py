"""Telegram channel: ``POST /webhooks/telegram/webhook``, verified by the webhook's secret token.

Replaces Rasa 3.6's ``telegram`` connector, which checks nothing (its ``verify`` value is only
compared with the bot's own name, so anyone who knows the URL drives the bot as any chat id),
uses the chat id as the conversation id, and speaks to api.telegram.org through aiogram 2.15,
which knows neither ``secret_token`` nor another API server. This channel:

- registers the webhook at start (``setWebhook`` with ``secret_token``, only message and
  callback-query updates) through the Bot API with httpx, at ``KUMPEL_TELEGRAM_API_URL``
  (default https://api.telegram.org; the tests point it at a loopback fake);
- checks ``X-Telegram-Bot-Api-Secret-Token`` in constant time before it reads the body:
  missing -> 401, wrong -> 403, a JSON error, nothing parsed, nothing logged;
- answers a second delivery of the same ``update_id`` with 200 and runs no turn (``handle_inbound``
  keeps the id's hash with the user event and checks the tracker: across engine instances too);
- talks in private chats only (a group would mix several people's data in one conversation);
- hands every message to ``messenger.handling.handle_inbound`` (input rules, numbered picks,
  a conversation id that is an HMAC of the chat id, never the chat id itself);
- sends the bot's replies as HTML messages with inline keyboards (``messenger.rendering``),
  and answers a button's callback query so the citizen's app stops its spinner.

Telegram gives no signed timestamp (``message.date`` is not signed by anything but the secret
token itself), so there is no age check: whoever has the secret can send any date, and a check
would only drop the messages Telegram queued while the engine was down.

credentials.yml (the section is on only when the variables are set)::

    bot.channels.telegram.KumpelTelegramInput:
      access_token: ${KUMPEL_TELEGRAM_TOKEN}
      webhook_secret: ${KUMPEL_TELEGRAM_WEBHOOK_SECRET}
      webhook_url: ${KUMPEL_TELEGRAM_WEBHOOK_URL}
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.messenger.handling import handle_inbound
from bot.channels.messenger.identity import channel_id_secret
from bot.channels.messenger.rendering import TELEGRAM, Part, render
from bot.channels.messenger.signatures import constant_equal

logger = logging.getLogger(__name__)
# httpx logs every request's URL at INFO, and a Bot API URL carries the bot's token.
logging.getLogger("httpx").setLevel(logging.WARNING)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

API_URL_ENV = "KUMPEL_TELEGRAM_API_URL"
DEFAULT_API_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram allows 1-256 characters of A-Z a-z 0-9 _ -; shorter than 32 could be guessed.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,256}$")
# Telegram's limit for callback_data; longer payloads are sent as the option's number.
MAX_CALLBACK_BYTES = 64
TIMEOUT_SECONDS = 10.0

STYLE = TELEGRAM


class TelegramBotApi:
    """The few Bot API methods the channel calls, at a configurable server."""

    def __init__(self, token: str, base_url: str) -> None:
        self._base = f"{base_url.rstrip('/')}/bot{token}"

    async def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The API's JSON answer, or ``None`` when the call failed (logged without token or content)."""
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                reply = await client.post(f"{self._base}/{method}", json=payload)
        except httpx.HTTPError as error:
            logger.error("Telegram %s failed: %s", method, type(error).__name__)
            return None
        if reply.status_code != 200:
            logger.error("Telegram %s answered HTTP %s", method, reply.status_code)
            return None
        result: dict[str, Any] = reply.json()
        return result

    async def set_webhook(self, url: str, secret: str) -> bool:
        result = await self.call(
            "setWebhook",
            {"url": url, "secret_token": secret, "allowed_updates": ["message", "callback_query"]},
        )
        return bool(result and result.get("ok"))

    async def send_part(self, chat_id: int, part: Part) -> None:
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "text": part.text,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        buttons = [*part.buttons, *part.list_rows]
        if buttons:
            payload["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": button.title, "callback_data": callback_data(button.payload, number)}]
                    for number, button in enumerate(buttons, start=1)
                ]
            }
        await self.call("sendMessage", payload)

    async def answer_callback_query(self, callback_query_id: str) -> None:
        await self.call("answerCallbackQuery", {"callback_query_id": callback_query_id})


def callback_data(payload: str, number: int) -> str:
    """The button's payload when Telegram can carry it, else its number.

    A number is picked like a typed "2" (``messenger.choices``, from the tracker's last buttons).
    """
    return payload if len(payload.encode()) <= MAX_CALLBACK_BYTES else str(number)


class TelegramOutput(OutputChannel):
    """Sends to one chat; Rasa's recipient id is the hashed conversation id, not the chat."""

    def __init__(self, api: TelegramBotApi, chat_id: int) -> None:
        self._api = api
        self._chat_id = chat_id

    @classmethod
    def name(cls) -> str:
        return "telegram"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        for part in render([message], STYLE):
            await self._api.send_part(self._chat_id, part)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


@dataclass(frozen=True)
class Inbound:
    """What a Telegram update asks of the bot."""

    chat_id: int
    text: str
    # Set for a button press: answered so the app stops showing progress.
    callback_query_id: str | None = None
    # The pressed button's label, kept as the message's display text.
    display_text: str | None = None


def parse_update(update: dict[str, Any]) -> Inbound | None:
    """The citizen's message in a verified update, or ``None`` for anything the bot does not answer."""
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        message = callback.get("message")
        data = callback.get("data")
        if not isinstance(message, dict) or not isinstance(data, str) or not isinstance(callback.get("id"), str):
            return None
        chat_id = _private_chat_id(message)
        if chat_id is None:
            return None
        return Inbound(chat_id, data, callback["id"], _button_title(message, data))
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat_id = _private_chat_id(message)
    if chat_id is None:
        return None
    text = message.get("text")
    # A photo, sticker or voice message has no text: the input rules ask for text.
    text = text if isinstance(text, str) else ""
    if re.fullmatch(r"/start(@\w+)?(\s.*)?", text, flags=re.DOTALL):
        # Telegram sends /start when a citizen opens the bot; Rasa would read it as an unknown intent.
        text = "/greet"
    return Inbound(chat_id, text)


def _private_chat_id(message: dict[str, Any]) -> int | None:
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private":
        return None
    chat_id = chat.get("id")
    return chat_id if isinstance(chat_id, int) and not isinstance(chat_id, bool) else None


def _button_title(message: dict[str, Any], data: str) -> str | None:
    markup = message.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                title = button.get("text")
                return title if isinstance(title, str) else None
    return None


def _refused(status: int, error: str, message: str) -> HTTPResponse:
    return response.json({"error": error, "message": message}, status=status)


class KumpelTelegramInput(InputChannel):
    """The Telegram webhook, verified by its secret token."""

    def __init__(self, access_token: str, webhook_secret: str, webhook_url: str, api_url: str) -> None:
        if not access_token:
            raise ValueError("the Telegram channel needs access_token (KUMPEL_TELEGRAM_TOKEN)")
        if not SECRET_PATTERN.fullmatch(webhook_secret or ""):
            raise ValueError(
                "KUMPEL_TELEGRAM_WEBHOOK_SECRET must be 32-256 characters of A-Z a-z 0-9 _ - "
                "(for example: openssl rand -hex 32)"
            )
        if not webhook_url.startswith(("https://", "http://")):
            raise ValueError("KUMPEL_TELEGRAM_WEBHOOK_URL must be the public URL of /webhooks/telegram/webhook")
        self.api = TelegramBotApi(access_token, api_url)
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        channel_id_secret()  # in production without KUMPEL_CHANNEL_ID_SECRET: fail at start, not per message

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            access_token=str(credentials.get("access_token") or ""),
            webhook_secret=str(credentials.get("webhook_secret") or ""),
            webhook_url=str(credentials.get("webhook_url") or ""),
            api_url=os.environ.get(API_URL_ENV) or DEFAULT_API_URL,
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """``GET /webhooks/telegram/`` (health) and ``POST /webhooks/telegram/webhook``."""
        webhook = Blueprint("kumpel_telegram_webhook", __name__)

        @webhook.listener("after_server_start")
        async def register_webhook(_: Sanic, __: Any) -> None:
            if await self.api.set_webhook(self.webhook_url, self.webhook_secret):
                logger.info("Telegram webhook registered")
            else:
                logger.error("Telegram webhook could not be registered: no Telegram messages will arrive")

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            secret = request.headers.get(SECRET_HEADER)
            if secret is None:
                return _refused(401, "unauthorized", f"the {SECRET_HEADER} header is missing")
            if not constant_equal(secret, self.webhook_secret):
                return _refused(403, "forbidden", f"the {SECRET_HEADER} header is wrong")
            try:
                update = json.loads(request.body)
            except ValueError:
                return _refused(400, "invalid_json", "the body is not valid JSON")
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                return _refused(400, "invalid_update", 'the body must be an update object with an integer "update_id"')
            inbound = parse_update(update)
            if inbound is None:
                return response.json({"status": "ignored"})
            if inbound.callback_query_id is not None:
                await self.api.answer_callback_query(inbound.callback_query_id)
            outcome = await handle_inbound(
                request,
                on_new_message,
                channel=self.name(),
                platform_user_id=str(inbound.chat_id),
                text=inbound.text,
                output=TelegramOutput(self.api, inbound.chat_id),
                metadata={"display_text": inbound.display_text} if inbound.display_text else None,
                message_id=f"update-{update_id}",
            )
            # 200 even when the turn failed: Telegram would deliver the update again and again.
            return response.json({"status": "duplicate" if outcome == "duplicate" else "ok"})

        return webhook
