"""Threema Gateway channel (end-to-end mode): ``POST /webhooks/threema/webhook``.

A city registers a Threema Gateway ID in end-to-end mode ("*KUMPEL1"); the Gateway then POSTs every
message a citizen writes to that ID to this callback, form-encoded: ``from``, ``to``, ``messageId``,
``date``, ``nonce``, ``box`` (the message, encrypted for our private key), ``mac`` and ``nickname``.
Receiving is only possible in end-to-end mode, so the private key is required.

Order of checks, before anything is parsed into a Rasa message or logged beyond method and path:

1. the MAC: HMAC-SHA256 with the Gateway's API secret over ``from + to + messageId + date + nonce
   + box`` (Threema's callback specification), compared in constant time. Missing fields or MAC:
   401; wrong MAC: 403. Bodies over the engine's limit never get here (413, ``bot.limits``);
2. ``to`` must be our Gateway ID (403), ``date`` within :data:`MAX_AGE_SECONDS` of now (403,
   a replay of a recorded callback);
3. ``messageId`` not seen before: the Gateway delivers again when our answer was slow or lost, and
   a second delivery is answered 200 without a second turn (``handle_inbound``: this process's
   memory, then the tracker, so a redelivery to another engine instance is caught too).

Then the box is decrypted with ``threema.gateway`` (the sender's public key comes from the
Gateway's key directory and is cached for an hour), the text goes through the same input rules as
every channel (``bot.channels.messenger.handling``), and the bot's replies are rendered for
Threema (no buttons: numbered options, and a reply "2" picks option 2) and sent back end-to-end
encrypted through the Gateway API (``KUMPEL_THREEMA_API_URL``, default the real Gateway).

The conversation id is ``threema-<HMAC of the Threema ID>``: the ID never reaches the tracker or
a log line.
"""

from __future__ import annotations

import binascii
import datetime
import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from threema.gateway import Connection, GatewayError
from threema.gateway.e2e import Message, TextMessage
from threema.gateway.exception import MessageError

from bot.channels.messenger.handling import handle_inbound
from bot.channels.messenger.identity import channel_id_secret, log_id
from bot.channels.messenger.rendering import THREEMA, render
from bot.channels.messenger.signatures import constant_equal, is_fresh

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

DEFAULT_API_URL = "https://msgapi.threema.ch"
# A callback whose ``date`` is older than this (or over a minute ahead) is refused as a replay.
# The date is set by the sender's app, so a message that waited longer on an offline phone is
# refused as well (that citizen gets no answer); ``max_age_seconds`` in the credentials widens the
# window, and the messageId check keeps a redelivery inside it from running twice.
MAX_AGE_SECONDS = 300
# The fields the MAC covers, in the order Threema concatenates them.
MAC_FIELDS = ("from", "to", "messageId", "date", "nonce", "box")
# A box holds at most 4,000 bytes (8,000 hex digits); the rest of a callback is small.
MAX_BOX_HEX = 8000
_THREEMA_ID = re.compile(r"^[A-Z0-9*][A-Z0-9]{7}$")
_HEX = re.compile(r"^[0-9a-fA-F]*$")

# Each Gateway call (key lookup, send) gives up after this long; the citizen's turn is not held up.
API_TIMEOUT_SECONDS = 10.0


class CallbackRejected(Exception):
    """A callback refused before anything in it is used: the status and a precise error."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


@dataclass(frozen=True)
class Callback:
    """A callback whose MAC, recipient and date have been checked."""

    # The citizen's Threema ID (8 characters). Personal data: never logged, only hashed.
    sender: str
    message_id: str
    date: int
    nonce: bytes
    box: bytes


def callback_mac(fields: Mapping[str, str], secret: str) -> str:
    """The hex HMAC-SHA256 the Gateway puts into ``mac`` for these fields."""
    message = "".join(fields[name] for name in MAC_FIELDS).encode("ascii")
    return hmac.new(secret.encode("ascii"), message, hashlib.sha256).hexdigest()


def parse_form(raw: bytes) -> dict[str, str]:
    """The fields of a form-encoded body (first value of each); :class:`CallbackRejected` if unreadable."""
    try:
        text = raw.decode("ascii")
        parsed = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise CallbackRejected(401, "unsigned", "the body is not a form-encoded Threema callback") from None
    return {name: values[0] for name, values in parsed.items()}


def verify_callback(
    raw: bytes, *, secret: str, gateway_id: str, now: float, max_age: int = MAX_AGE_SECONDS
) -> Callback:
    """The checked :class:`Callback` of a raw body, or :class:`CallbackRejected` (401/403/400).

    The MAC is checked first: nothing else in the body is looked at before it matches.
    """
    fields = parse_form(raw)
    missing = [name for name in (*MAC_FIELDS, "mac") if name not in fields]
    if missing:
        raise CallbackRejected(401, "unsigned", f"a Threema callback needs the fields {', '.join(missing)}")
    if not constant_equal(callback_mac(fields, secret), fields["mac"].lower()):
        raise CallbackRejected(403, "invalid_signature", "the MAC does not match the API secret")
    if not constant_equal(fields["to"], gateway_id):
        raise CallbackRejected(403, "wrong_recipient", "the callback is for another Gateway ID")
    if not fields["date"].isdigit():
        raise CallbackRejected(400, "invalid_date", '"date" must be a Unix time in seconds')
    date = int(fields["date"])
    if not is_fresh(date, now=now, max_age=max_age):
        raise CallbackRejected(403, "replayed", f"the callback's date is over {max_age} s old or in the future")
    if not _THREEMA_ID.fullmatch(fields["from"]):
        raise CallbackRejected(400, "invalid_sender", '"from" must be a Threema ID of 8 characters')
    message_id, nonce, box = fields["messageId"], fields["nonce"], fields["box"]
    if len(message_id) != 16 or not _HEX.fullmatch(message_id):
        raise CallbackRejected(400, "invalid_message_id", '"messageId" must be 16 hex digits')
    if len(nonce) != 48 or not _HEX.fullmatch(nonce):
        raise CallbackRejected(400, "invalid_nonce", '"nonce" must be 48 hex digits')
    if not 0 < len(box) <= MAX_BOX_HEX or len(box) % 2 or not _HEX.fullmatch(box):
        raise CallbackRejected(400, "invalid_box", f'"box" must be 1 to {MAX_BOX_HEX} hex digits')
    return Callback(
        sender=fields["from"],
        message_id=message_id.lower(),
        date=date,
        nonce=binascii.unhexlify(nonce),
        box=binascii.unhexlify(box),
    )


class Undecryptable(Exception):
    """A box that does not open with our private key and the sender's public key."""


@dataclass(frozen=True)
class Inbound:
    """The content of a decrypted callback, as far as the bot reads it."""

    kind: Literal["text", "receipt", "other"]
    text: str = ""


class ThreemaGateway:
    """The Gateway API in end-to-end mode, through ``threema.gateway`` against a configurable base URL."""

    def __init__(self, *, gateway_id: str, secret: str, private_key: str, api_url: str) -> None:
        self.gateway_id = gateway_id
        self._secret = secret
        # threema.gateway reads "private:<64 hex digits>"; the Gateway's tool prints it that way.
        self._private_key = private_key if private_key.startswith("private:") else f"private:{private_key}"
        self._api_url = api_url.rstrip("/")
        self._connection: Connection | None = None

    def _open(self) -> Connection:
        """The connection, created on first use inside the server's event loop (aiohttp needs one)."""
        if self._connection is None:
            session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS))
            connection = Connection(self.gateway_id, self._secret, key=self._private_key, session=session)
            # The library's URLs are a class attribute naming the real Gateway; this instance uses ours.
            connection.urls = {
                name: url.replace("https://msgapi.threema.ch", self._api_url) for name, url in Connection.urls.items()
            }
            self._connection = connection
        return self._connection

    async def read(self, callback: Callback) -> Inbound:
        """What a checked callback holds: a text, a delivery receipt, or something else.

        Only text messages are unpacked (by the library); an image or a file is not downloaded
        from the Gateway's blob store: the bot reads text only, and a citizen's photo is personal data.

        Raises:
            Undecryptable: the box does not open with our key and the sender's (a wrong key pair).
            GatewayError, aiohttp.ClientError: the sender's public key could not be looked up.
        """
        connection = self._open()
        parameters = {
            "from_id": callback.sender,
            "message_id": binascii.unhexlify(callback.message_id),
            "date": datetime.datetime.fromtimestamp(callback.date, tz=datetime.timezone.utc),
        }
        key_pair = await Message.get_decrypt_key_pair(connection, parameters)  # the sender's key: cached 1 h
        try:
            plaintext = Message.decrypt(callback.nonce, callback.box, key_pair)
        except MessageError:
            raise Undecryptable from None
        kind = plaintext[0] if plaintext else None
        if kind == Message.Type.delivery_receipt:
            return Inbound("receipt")
        if kind != Message.Type.text_message:
            return Inbound("other")
        try:
            message = await Message.receive(connection, parameters, callback.nonce, callback.box)
        except MessageError:  # not UTF-8, broken padding
            return Inbound("other")
        return Inbound("text", str(message.text))

    async def send_text(self, recipient: str, text: str) -> None:
        """Send ``text`` end-to-end encrypted to the Threema ID ``recipient``."""
        await TextMessage(self._open(), to_id=recipient, text=text).send()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


class ThreemaOutput(CollectingOutputChannel):
    """Collects the bot's replies of one turn, then sends them rendered for Threema."""

    def __init__(self, gateway: ThreemaGateway, recipient: str) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []
        self._gateway = gateway
        self._recipient = recipient

    @classmethod
    def name(cls) -> str:
        return "threema"

    async def flush(self) -> None:
        """Send what the turn produced: long answers split, buttons as numbered options."""
        for part in render(self.messages, THREEMA):
            try:
                await self._gateway.send_text(self._recipient, part.text)
            except (GatewayError, aiohttp.ClientError, TimeoutError, ValueError) as error:
                # The error names the Gateway's status, never the recipient or the text.
                logger.error("Threema reply to %s not delivered: %s", log_id(self._recipient), type(error).__name__)
                return
        self.messages = []


class ThreemaInput(InputChannel):
    """The Threema Gateway callback. credentials.yml::

    bot.channels.threema.ThreemaInput:
      gateway_id: ${KUMPEL_THREEMA_ID}
      secret: ${KUMPEL_THREEMA_SECRET}
      private_key: ${KUMPEL_THREEMA_PRIVATE_KEY}
    """

    def __init__(self, gateway: ThreemaGateway, secret: str, max_age: int = MAX_AGE_SECONDS) -> None:
        self.gateway = gateway
        self._secret = secret
        self._max_age = max_age

    @classmethod
    def name(cls) -> str:
        return "threema"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        values = {key: str(credentials.get(key) or "").strip() for key in ("gateway_id", "secret", "private_key")}
        missing = [key for key, value in values.items() if not value]
        if missing:
            raise ValueError(
                f"Threema channel: {', '.join(missing)} missing (KUMPEL_THREEMA_ID, KUMPEL_THREEMA_SECRET, "
                "KUMPEL_THREEMA_PRIVATE_KEY; receiving needs end-to-end mode and its private key)"
            )
        channel_id_secret()  # production without KUMPEL_CHANNEL_ID_SECRET fails here, at start-up
        api_url = str(credentials.get("api_url") or os.environ.get("KUMPEL_THREEMA_API_URL") or DEFAULT_API_URL)
        gateway = ThreemaGateway(
            gateway_id=values["gateway_id"],
            secret=values["secret"],
            private_key=values["private_key"],
            api_url=api_url,
        )
        return cls(gateway, values["secret"], int(credentials.get("max_age_seconds") or MAX_AGE_SECONDS))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """``GET /webhooks/threema/`` (health) and ``POST /webhooks/threema/webhook`` (the callback)."""
        webhook = Blueprint("kumpel_threema_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                callback = verify_callback(
                    request.body,
                    secret=self._secret,
                    gateway_id=self.gateway.gateway_id,
                    now=time.time(),
                    max_age=self._max_age,
                )
            except CallbackRejected as rejected:
                return response.json({"error": rejected.error, "message": rejected.message}, status=rejected.status)
            return await self._handle(request, callback, on_new_message)

        @webhook.listener("after_server_stop")
        async def close_gateway(*_: Any) -> None:
            await self.gateway.close()

        return webhook

    async def _handle(self, request: Request, callback: Callback, on_new_message: OnNewMessage) -> HTTPResponse:
        """Decrypt a checked callback, run the turn and send the replies."""
        try:
            inbound = await self.gateway.read(callback)
        except (Undecryptable, GatewayError, aiohttp.ClientError, TimeoutError, ValueError) as error:
            # Signed by the Gateway but not readable with our key (or the key lookup failed).
            logger.warning("Threema message from %s not readable: %s", log_id(callback.sender), type(error).__name__)
            return response.json(
                {"error": "undecryptable", "message": "the box could not be decrypted with the Gateway's key"},
                status=400,
            )
        if inbound.kind == "receipt":  # "delivered" / "read" of one of our replies: nothing to answer
            return response.json({"status": "ok"})
        # Images, files, locations: the input rules answer an empty text with "please write your question".
        text = inbound.text
        output = ThreemaOutput(self.gateway, callback.sender)
        outcome = await handle_inbound(
            request,
            on_new_message,
            channel=self.name(),
            platform_user_id=callback.sender,
            text=text,
            output=output,
            # Message ids are chosen by the sender's app: unique per sender, not across senders.
            message_id=f"{callback.sender}:{callback.message_id}",
        )
        await output.flush()
        return response.json({"status": "duplicate" if outcome == "duplicate" else "ok"})
