"""Facebook Messenger channel: ``/webhooks/facebook/webhook``, every delivery signed by Meta.

Replaces Rasa 3.6's ``facebook`` connector, which compares the signature with ``==`` (a timing
leak), uses the page-scoped user id as the conversation id, drops every button when there are
more than 3, and sends through fbmessenger to a hard-coded graph.facebook.com. This channel:

- answers Meta's verification handshake (``GET`` with ``hub.verify_token``, compared in
  constant time) with the challenge, anything else with 403;
- checks ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body under the app secret) in constant
  time before it parses the body: missing -> 401, wrong -> 403, a JSON error, nothing logged;
- refuses a signed body whose events are all older than 5 minutes (a replayed capture: 403)
  and runs no turn twice for the same message id (``handle_inbound`` checks the tracker);
- hands every message, quick reply and postback to ``messenger.handling.handle_inbound``;
- sends through the Graph API's Send API at ``KUMPEL_FACEBOOK_API_URL`` (default
  https://graph.facebook.com; the tests point it at a loopback fake) with httpx, the page token
  in the ``Authorization`` header (never in a URL that could be logged); buttons become quick
  replies (up to 13); titles over Meta's 20 characters are numbered lines in the text with
  quick replies "1", "2", ... that carry the options' payloads.

credentials.yml (the section is on only when the variables are set)::

    bot.channels.facebook.KumpelFacebookInput:
      verify_token: ${KUMPEL_FACEBOOK_VERIFY_TOKEN}
      app_secret: ${KUMPEL_FACEBOOK_APP_SECRET}
      page_access_token: ${KUMPEL_FACEBOOK_PAGE_ACCESS_TOKEN}
"""

from __future__ import annotations

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

from bot.channels.messenger.handling import handle_inbound
from bot.channels.messenger.identity import channel_id_secret, log_id
from bot.channels.messenger.rendering import FACEBOOK, Button, Part, render
from bot.channels.messenger.signatures import MAX_AGE_SECONDS, constant_equal, is_fresh, verify_hub_signature

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

API_URL_ENV = "KUMPEL_FACEBOOK_API_URL"
DEFAULT_API_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v19.0"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_QUICK_REPLIES = 13
TIMEOUT_SECONDS = 10.0
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

STYLE = FACEBOOK


class GraphSendApi:
    """Meta's Send API for one page, at a configurable Graph API server."""

    def __init__(self, page_access_token: str, base_url: str) -> None:
        self._url = f"{base_url.rstrip('/')}/{GRAPH_VERSION}/me/messages"
        self._headers = {"Authorization": f"Bearer {page_access_token}"}

    async def send(self, psid: str, message: dict[str, Any]) -> None:
        """Send one message to a page-scoped user id; failures are logged without content or id."""
        payload = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                reply = await client.post(self._url, json=payload, headers=self._headers)
        except httpx.HTTPError as error:
            logger.error("Facebook send failed: %s", type(error).__name__)
            return
        if reply.status_code != 200:
            logger.error("Facebook send answered HTTP %s for user %s", reply.status_code, log_id(psid))


def platform_message(part: Part) -> dict[str, Any]:
    """The Send API ``message`` of one rendered part: its text and quick replies."""
    message: dict[str, Any] = {"text": part.text}
    if part.buttons:
        message["quick_replies"] = [
            {"content_type": "text", "title": button.title, "payload": button.payload}
            for button in part.buttons[:MAX_QUICK_REPLIES]
        ]
    return message


def facebook_parts(message: dict[str, Any]) -> list[Part]:
    """The bot's message rendered for Messenger.

    When the titles are too long for quick replies, ``render`` numbers them in the text; the
    last part then gets quick replies "1", "2", ... with the options' payloads, so a tap works
    as well as typing the number.
    """
    parts = render([message], STYLE)
    options = [
        Button(str(button.get("title", "")), str(button.get("payload", "")))
        for button in message.get("buttons") or []
        if isinstance(button, dict) and button.get("title") and button.get("payload")
    ]
    if parts and options and not parts[-1].buttons and len(options) <= MAX_QUICK_REPLIES:
        numbered = [Button(str(number), option.payload) for number, option in enumerate(options, start=1)]
        parts[-1] = Part(parts[-1].text, buttons=numbered)
    return parts


class FacebookOutput(OutputChannel):
    """Sends to one page-scoped user; Rasa's recipient id is the hashed conversation id."""

    def __init__(self, api: GraphSendApi, psid: str) -> None:
        self._api = api
        self._psid = psid

    @classmethod
    def name(cls) -> str:
        return "facebook"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        for part in facebook_parts(message):
            await self._api.send(self._psid, platform_message(part))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


@dataclass(frozen=True)
class Inbound:
    """One citizen message of a verified delivery."""

    psid: str
    text: str
    message_id: str | None
    # The tapped quick reply's or postback button's label.
    display_text: str | None = None


def parse_events(body: dict[str, Any], now: float) -> tuple[list[Inbound], int]:
    """The fresh citizen messages of a delivery, and how many events were too old."""
    messages: list[Inbound] = []
    stale = 0
    entries = body.get("entry") if body.get("object") == "page" else None
    for entry in entries if isinstance(entries, list) else []:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        for event in events if isinstance(events, list) else []:
            if not isinstance(event, dict):
                continue
            timestamp = event.get("timestamp")
            # Meta's timestamps are milliseconds.
            if not isinstance(timestamp, int | float) or not is_fresh(timestamp / 1000, now=now):
                stale += 1
                continue
            inbound = _inbound(event)
            if inbound is not None:
                messages.append(inbound)
    return messages, stale


def _inbound(event: dict[str, Any]) -> Inbound | None:
    sender = event.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(psid, str) or not psid:
        return None
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None  # the page's own message, sent back to the webhook
        mid = message.get("mid") if isinstance(message.get("mid"), str) else None
        raw_text = message.get("text")
        text = raw_text if isinstance(raw_text, str) else ""
        quick_reply = message.get("quick_reply")
        payload = quick_reply.get("payload") if isinstance(quick_reply, dict) else None
        if isinstance(payload, str) and payload:
            return Inbound(psid, payload, mid, text or None)
        # An image or voice message has no text: the input rules ask for text.
        return Inbound(psid, text, mid)
    postback = event.get("postback")
    if isinstance(postback, dict) and isinstance(postback.get("payload"), str):
        mid = postback.get("mid") if isinstance(postback.get("mid"), str) else None
        title = postback.get("title") if isinstance(postback.get("title"), str) else None
        return Inbound(psid, postback["payload"], mid, title)
    return None  # deliveries, reads, reactions


def _refused(status: int, error: str, message: str) -> HTTPResponse:
    return response.json({"error": error, "message": message}, status=status)


class KumpelFacebookInput(InputChannel):
    """The Messenger webhook of one Facebook page, verified by Meta's signature."""

    def __init__(self, verify_token: str, app_secret: str, page_access_token: str, api_url: str) -> None:
        missing = [
            variable
            for variable, value in (
                ("KUMPEL_FACEBOOK_VERIFY_TOKEN", verify_token),
                ("KUMPEL_FACEBOOK_APP_SECRET", app_secret),
                ("KUMPEL_FACEBOOK_PAGE_ACCESS_TOKEN", page_access_token),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"the Facebook channel needs {', '.join(missing)}")
        self.verify_token = verify_token
        self.app_secret = app_secret
        self.api = GraphSendApi(page_access_token, api_url)
        channel_id_secret()  # in production without KUMPEL_CHANNEL_ID_SECRET: fail at start, not per message

    @classmethod
    def name(cls) -> str:
        return "facebook"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            verify_token=str(credentials.get("verify_token") or ""),
            app_secret=str(credentials.get("app_secret") or ""),
            page_access_token=str(credentials.get("page_access_token") or ""),
            api_url=os.environ.get(API_URL_ENV) or DEFAULT_API_URL,
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """``GET /webhooks/facebook/`` (health), ``GET`` and ``POST /webhooks/facebook/webhook``."""
        webhook = Blueprint("kumpel_facebook_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            challenge = request.args.get("hub.challenge") or ""
            if request.args.get("hub.mode") != "subscribe" or not constant_equal(token, self.verify_token):
                return _refused(403, "forbidden", "hub.mode must be subscribe and hub.verify_token must match")
            if not _CHALLENGE.fullmatch(challenge):
                return _refused(400, "invalid_challenge", "hub.challenge must be 1-128 letters or digits")
            return response.text(challenge)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            signature = request.headers.get(SIGNATURE_HEADER)
            if signature is None:
                return _refused(401, "unauthorized", f"the {SIGNATURE_HEADER} header is missing")
            if not verify_hub_signature(request.body, signature, self.app_secret):
                return _refused(403, "forbidden", f"the {SIGNATURE_HEADER} header does not match the body")
            try:
                body = json.loads(request.body)
            except ValueError:
                return _refused(400, "invalid_json", "the body is not valid JSON")
            if not isinstance(body, dict):
                return _refused(400, "invalid_body", "the body must be a JSON object")
            messages, stale = parse_events(body, time.time())
            if stale and not messages:
                return _refused(403, "stale_request", f"the events are older than {MAX_AGE_SECONDS:.0f} seconds")
            for inbound in messages:
                # A failed turn is logged there and still answered 200: Meta would deliver again
                # and finally switch the webhook off.
                await handle_inbound(
                    request,
                    on_new_message,
                    channel=self.name(),
                    platform_user_id=inbound.psid,
                    text=inbound.text,
                    output=FacebookOutput(self.api, inbound.psid),
                    metadata={"display_text": inbound.display_text} if inbound.display_text else None,
                    message_id=inbound.message_id,
                )
            return response.json({"status": "ok"})

        return webhook
