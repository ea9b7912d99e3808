"""WhatsApp Business Cloud API (Meta) as a Rasa input channel: ``/webhooks/whatsapp/webhook``.

- ``GET``: Meta's verification handshake. ``hub.mode=subscribe`` and ``hub.verify_token`` equal (in
  constant time) to ``KUMPEL_WHATSAPP_VERIFY_TOKEN``: the ``hub.challenge`` is echoed; else 403.
- ``POST``: ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body under the Meta app secret) is checked
  before the body is parsed: missing 401, wrong 403, both with a JSON error, nothing else done or
  logged. Then each message of the update (text; ``interactive`` ``button_reply`` / ``list_reply`` and
  template ``button`` replies as picks; anything else gets the polite "please write text" reply;
  ``statuses`` and reactions are ignored) runs one turn, answered through the Graph API
  (``POST {KUMPEL_WHATSAPP_API_URL}/{phone_number_id}/messages``, bearer access token): text, reply
  buttons (up to 3) or a list (up to 10 rows), from ``bot.channels.messenger.rendering.render``.
- Replays: a message whose ``timestamp`` (inside the signed body) is more than five minutes old (or
  a minute ahead) is not run; an update of only such messages gets 403.
- Redeliveries: Meta delivers a message again when our 200 was slow or lost. A message id seen
  before is answered 200 and not run again: ``handle_inbound`` remembers a keyed hash of the id in
  this process (a redelivery racing the first turn) and stores it with the user event in the tracker,
  checked before each turn (a redelivery that reaches another engine instance afterwards). Only two
  deliveries racing on two instances at the same moment could both run; a form's idempotency key
  still stores its submission once.
- Meta waits for our 200, and redelivers when it is slow: the turns run after the 200, in order.
- The conversation id is ``messenger.identity.conversation_id("whatsapp", wa_id)``: an HMAC, not the
  phone number. The phone number lives only in the reply's ``to`` field, never in a log line or the
  tracker (the output channel holds it for the one turn).

Why not pywa (checked: pywa 4.5.0): its core needs only httpx>=0.27, which the pins satisfy, but its
webhook side is written for FastAPI/Flask (Starlette, uvicorn extras), not for Sanic and Rasa's
``InputChannel``; it dispatches to its own handler callbacks instead of ``on_new_message``, and knows
neither Rasa's button payloads nor our replay window or tracker-backed de-duplication. What would be
left to use is the outbound call, three JSON shapes over httpx, which is already in the Rasa venv:
a dependency with a major release every few months for that is more to keep than this module.

credentials.yml (the values come from the environment)::

    bot.channels.whatsapp.WhatsAppInput:
      verify_token: ${KUMPEL_WHATSAPP_VERIFY_TOKEN}
      app_secret: ${KUMPEL_WHATSAPP_APP_SECRET}
      access_token: ${KUMPEL_WHATSAPP_ACCESS_TOKEN}
      phone_number_id: ${KUMPEL_WHATSAPP_PHONE_NUMBER_ID}

``KUMPEL_WHATSAPP_API_URL`` (default :data:`DEFAULT_API_URL`) is where the replies go; the tests point
it at a loopback fake of the Graph API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.messenger import identity
from bot.channels.messenger.handling import handle_inbound
from bot.channels.messenger.identity import conversation_id, log_id
from bot.channels.messenger.rendering import WHATSAPP, Button, ChannelStyle, Part, numbered_lines, render
from bot.channels.messenger.signatures import MAX_AGE_SECONDS, constant_equal, is_fresh, verify_hub_signature

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

CHANNEL = "whatsapp"
DEFAULT_API_URL = "https://graph.facebook.com/v21.0"
# Meta's limit on a button's or list row's id (text, title and row limits: ``rendering.WHATSAPP``).
MAX_REPLY_ID = 256
# The label of the button that opens a list (at most 20 characters).
LIST_BUTTON_LABEL = "Auswahl"
# Meta's hub.challenge is a number; anything else is not echoed (no reflected content).
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# Types that need no answer: a reaction to one of our messages, Meta's own system notices.
_IGNORED_TYPES = frozenset({"reaction", "system", "ephemeral"})

# Meta's list row: a title of up to 24 characters and a description of up to 72. Options with longer
# titles ("Muss ich mich in meiner alten Stadt abmelden?") stay tappable rows: the title cut, the whole
# title in the description (``_row``); only beyond 72 characters do they become numbered lines.
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
STYLE: ChannelStyle = dataclasses.replace(WHATSAPP, max_list_row_title=MAX_ROW_DESCRIPTION)


def error(status: int, code: str, message: str) -> HTTPResponse:
    """A precise JSON error for the caller (Meta, or whoever tries to forge it)."""
    return response.json({"error": code, "message": message}, status=status)


# ---------------------------------------------------------------- inbound: Meta's update shape
@dataclass(frozen=True)
class Inbound:
    """One citizen message of an update, as far as the bot needs it."""

    message_id: str
    # The citizen's WhatsApp id (their phone number): only for the reply's ``to``.
    wa_id: str
    timestamp: int
    # What goes to the NLU: the typed text, or the payload of the picked button / list row.
    text: str
    # The title of a picked button (shown in the history instead of the payload).
    display_text: str | None = None


class MalformedUpdate(ValueError):
    """A signed body that is not a WhatsApp update we understand (400, with what is wrong)."""


def parse_update(body: Any, phone_number_id: str) -> list[Inbound]:
    """The messages of a webhook update sent to our number, in order (statuses and others left out).

    Args:
        body: the parsed JSON of a correctly signed request.
        phone_number_id: our number's id; an app may receive updates for other numbers too.
    """
    if not isinstance(body, dict) or not isinstance(body.get("entry", []), list):
        raise MalformedUpdate('the body must be an object with an "entry" array')
    messages: list[Inbound] = []
    for entry in body.get("entry", []):
        changes = entry.get("changes", []) if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise MalformedUpdate('each entry must be an object with a "changes" array')
        for change in changes:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                continue
            metadata = value.get("metadata")
            if not isinstance(metadata, dict) or str(metadata.get("phone_number_id")) != phone_number_id:
                continue
            raw_messages = value.get("messages", [])
            if not isinstance(raw_messages, list):
                raise MalformedUpdate('"messages" must be an array')
            messages.extend(message for raw in raw_messages if (message := parse_message(raw)) is not None)
    return messages


def parse_message(raw: Any) -> Inbound | None:
    """One entry of ``value.messages``; ``None`` for what needs no answer (reactions, system notices)."""
    if not isinstance(raw, dict):
        raise MalformedUpdate("each message must be an object")
    message_id, wa_id, timestamp, kind = raw.get("id"), raw.get("from"), raw.get("timestamp"), raw.get("type")
    if not isinstance(message_id, str) or not message_id or not isinstance(wa_id, str) or not wa_id:
        raise MalformedUpdate('each message needs "id" and "from" strings')
    try:
        seconds = int(str(timestamp))
    except ValueError:
        raise MalformedUpdate('each message needs a numeric "timestamp"') from None
    if kind in _IGNORED_TYPES:
        return None
    text, display = "", None
    if kind == "text":
        text = _string(_object(raw.get("text")).get("body"))
    elif kind == "interactive":
        interactive = _object(raw.get("interactive"))
        picked = _object(interactive.get(str(interactive.get("type"))))  # button_reply / list_reply
        text, display = _string(picked.get("id")), _string(picked.get("title")) or None
    elif kind == "button":  # a quick-reply button of a template message
        button = _object(raw.get("button"))
        text, display = _string(button.get("payload")), _string(button.get("text")) or None
    # Images, voice messages, locations...: an empty text, which gets the polite "please write" reply.
    return Inbound(message_id=message_id, wa_id=wa_id, timestamp=seconds, text=text, display_text=display)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------- outbound: the Graph API's shapes
def graph_messages(part: Part, to: str) -> list[dict[str, Any]]:
    """The Graph API request body that shows ``part``: a text, reply buttons or a list.

    ``render`` with :data:`STYLE` keeps to Meta's limits (3 buttons of 20 characters, 10 rows,
    1,024 characters of text with them); a payload longer than a reply id (256) cannot be a button
    and becomes a numbered line instead (a reply "2" picks it, ``choices.pick_numbered``).
    """
    options = part.buttons or part.list_rows
    if any(len(option.payload) > MAX_REPLY_ID for option in options):
        numbered = numbered_lines(options, STYLE.link_format)
        return [_envelope(to, "text", {"preview_url": False, "body": f"{part.text}\n\n{numbered}"})]
    if part.buttons:
        buttons = [{"type": "reply", "reply": {"id": b.payload, "title": b.title}} for b in part.buttons]
        interactive: dict[str, Any] = {"type": "button", "body": {"text": part.text}, "action": {"buttons": buttons}}
        return [_envelope(to, "interactive", interactive)]
    if part.list_rows:
        rows = [_row(option) for option in part.list_rows]
        action = {"button": LIST_BUTTON_LABEL, "sections": [{"rows": rows}]}
        return [_envelope(to, "interactive", {"type": "list", "body": {"text": part.text}, "action": action})]
    return [_envelope(to, "text", {"preview_url": False, "body": part.text})]


def _row(option: Button) -> dict[str, str]:
    """A list row: a title over 24 characters is cut, and the whole title shown as the description."""
    if len(option.title) <= MAX_ROW_TITLE:
        return {"id": option.payload, "title": option.title}
    # Whole words that leave room for the ellipsis; a single over-long word is cut.
    words = option.title[:MAX_ROW_TITLE].rsplit(" ", 1)[0] if " " in option.title[:MAX_ROW_TITLE] else ""
    title = (words or option.title[: MAX_ROW_TITLE - 1]).rstrip() + "…"
    return {"id": option.payload, "title": title, "description": option.title[:MAX_ROW_DESCRIPTION]}


def _envelope(to: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: content}


class GraphClient:
    """Sends message bodies to ``{api_url}/{phone_number_id}/messages`` with the access token."""

    def __init__(self, api_url: str, phone_number_id: str, access_token: str) -> None:
        self._url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._client: httpx.AsyncClient | None = None

    async def send(self, body: dict[str, Any], correlation: str) -> bool:
        """POST one message; ``False`` (logged with the status only) when the Graph API refused it."""
        if self._client is None:  # created on the server's event loop, at the first reply
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0), headers=self._headers)
        try:
            answer = await self._client.post(self._url, json=body)
        except httpx.HTTPError as failure:
            logger.error("WhatsApp reply to %s not sent: %s", correlation, type(failure).__name__)
            return False
        if answer.status_code >= 400:
            # The error body can quote the recipient's number: only the status goes to the log.
            logger.error("WhatsApp reply to %s refused by the Graph API: HTTP %d", correlation, answer.status_code)
            return False
        return True


class WhatsAppOutput(OutputChannel):
    """The replies of one turn to one citizen: rendered for WhatsApp, sent through the Graph API."""

    def __init__(self, client: GraphClient, wa_id: str) -> None:
        self._client = client
        self._wa_id = wa_id  # the phone number: kept for this turn only, never logged

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """One bot message (text, buttons, source in ``custom``) as WhatsApp messages."""
        for part in render([message], STYLE):
            for body in graph_messages(part, self._wa_id):
                if not await self._client.send(body, log_id(recipient_id)):
                    return  # the rest of this message would make no sense without its first part

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})


# ---------------------------------------------------------------- the channel
class WhatsAppInput(InputChannel):
    """The WhatsApp Business Cloud API webhook (see the module's docstring)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        values = credentials or {}
        missing = [
            key for key in ("verify_token", "app_secret", "access_token", "phone_number_id") if not values.get(key)
        ]
        if missing:
            raise ValueError(f"WhatsApp channel: credentials missing: {', '.join(missing)}")
        identity.channel_id_secret()  # in production without KUMPEL_CHANNEL_ID_SECRET: fail at start
        return cls(
            verify_token=str(values["verify_token"]),
            app_secret=str(values["app_secret"]),
            access_token=str(values["access_token"]),
            phone_number_id=str(values["phone_number_id"]),
            api_url=str(values.get("api_url") or os.environ.get("KUMPEL_WHATSAPP_API_URL") or DEFAULT_API_URL),
        )

    def __init__(
        self, *, verify_token: str, app_secret: str, access_token: str, phone_number_id: str, api_url: str
    ) -> None:
        self._verify_token = verify_token
        self._app_secret = app_secret
        self._phone_number_id = phone_number_id
        self._client = GraphClient(api_url, phone_number_id, access_token)
        # Strong references to the running turns (the event loop keeps only weak ones).
        self._turns: set[asyncio.Task[None]] = set()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """``GET /webhooks/whatsapp/webhook`` (handshake) and ``POST`` the same (updates)."""
        webhook = Blueprint("kumpel_whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return self.handshake(
                request.args.get("hub.mode"), request.args.get("hub.verify_token"), request.args.get("hub.challenge")
            )

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        return webhook

    def handshake(self, mode: str | None, token: str | None, challenge: str | None) -> HTTPResponse:
        """Meta's subscription check: the challenge back for the right token, else 403."""
        if mode != "subscribe" or token is None or not constant_equal(token, self._verify_token):
            return error(403, "verification_failed", "hub.mode must be subscribe and hub.verify_token must match")
        if challenge is None or not _CHALLENGE.fullmatch(challenge):
            return error(400, "invalid_challenge", "hub.challenge must be 1-128 letters or digits")
        return response.text(challenge)

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Verify, then acknowledge at once and run the update's fresh, new messages after the 200."""
        header = request.headers.get("X-Hub-Signature-256")
        if not header:
            return error(401, "signature_missing", "the X-Hub-Signature-256 header is required")
        if not verify_hub_signature(request.body, header, self._app_secret):
            return error(403, "signature_invalid", "X-Hub-Signature-256 does not match the body")
        try:
            messages = parse_update(json.loads(request.body), self._phone_number_id)
        except ValueError as failure:  # invalid JSON (also invalid UTF-8) or MalformedUpdate
            detail = str(failure) if isinstance(failure, MalformedUpdate) else "the body is not valid JSON"
            return error(400, "invalid_update", detail)
        now = time.time()
        fresh = [message for message in messages if is_fresh(message.timestamp, now=now)]
        if messages and not fresh:
            return error(403, "replayed", f"the messages are older than {MAX_AGE_SECONDS:.0f} seconds")
        if fresh:
            turn = asyncio.create_task(self._run_turns(request, on_new_message, fresh))
            self._turns.add(turn)
            turn.add_done_callback(self._turns.discard)
        return response.json({"status": "ok"})

    async def _run_turns(self, request: Request, on_new_message: OnNewMessage, messages: list[Inbound]) -> None:
        """The turns of one update, one after the other (a citizen's messages keep their order)."""
        for message in messages:
            sender = conversation_id(CHANNEL, message.wa_id)
            try:
                metadata = {"display_text": message.display_text} if message.display_text else None
                await handle_inbound(
                    request,
                    on_new_message,
                    channel=CHANNEL,
                    platform_user_id=message.wa_id,
                    text=message.text,
                    output=WhatsAppOutput(self._client, message.wa_id),
                    metadata=metadata,
                    message_id=message.message_id,
                )
            except Exception:
                logger.exception("WhatsApp turn for %s failed", log_id(sender))
