"""REST channel with bounded, validated input: ``POST /webhooks/rest/webhook``.

Rasa 3.6's own ``rest`` channel (``rasa/core/channels/rest.py``) takes whatever JSON arrives: a
JSON array gives a 500, a missing ``sender`` puts every such client into one shared conversation
``default``, an empty text is answered by the NLU's best guess, any text length goes to the NLU
and into the tracker, and the text is logged when a turn fails. This channel keeps its URL and
reply format (a JSON list of ``{"recipient_id", "text", "buttons", "custom", ...}``, or JSON lines
with ``?stream=true``) and answers:

- a body that is not a JSON object, or fields of the wrong type: 400 ``{"error", "message"}``;
- a missing or malformed ``sender`` (1-128 characters of ``[A-Za-z0-9._:@-]``): 400;
- an empty text or one over 2,000 characters: a polite German reply, without the NLU and
  without a tracker entry (``bot.channels.input_rules``, the same rule as the socket channel);
- lone surrogates and control characters are dropped from the text, never a 500.

Bodies over the engine's size limit never get here: Sanic answers 413 (``bot.limits``).

credentials.yml::

    bot.channels.kumpel_rest.KumpelRestInput:
"""

from __future__ import annotations

import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.channels.input_rules import SENDER_PATTERN, check_message, is_valid_sender, safe_metadata

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class RequestRejected(Exception):
    """A request the channel refuses with 400 and a precise error for the client."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def bad_request(error: RequestRejected) -> HTTPResponse:
    """The 400 response an API client gets: a machine-readable code and what is wrong."""
    return response.json({"error": error.error, "message": error.message}, status=400)


def parse_body(raw: bytes) -> tuple[str, str, dict[str, str]]:
    """``(sender, text, metadata)`` of a webhook body, or :class:`RequestRejected`.

    Args:
        raw: the request body as received (at most the engine's size limit).
    """
    try:
        body = json.loads(raw)
    except ValueError as error:  # also invalid UTF-8
        raise RequestRejected("invalid_json", f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise RequestRejected(
            "invalid_body", f'the body must be a JSON object {{"sender": ..., "message": ...}}, not {_json_type(body)}'
        )
    sender = body.get("sender")
    if not is_valid_sender(sender):
        raise RequestRejected(
            "invalid_sender",
            f'"sender" must be a string matching {SENDER_PATTERN.pattern} (the conversation id), '
            f"got {_json_type(sender)}" + (f" of {len(sender)} characters" if isinstance(sender, str) else ""),
        )
    text = body.get("message")
    if not isinstance(text, str):
        raise RequestRejected("invalid_message", f'"message" must be a string, got {_json_type(text)}')
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestRejected("invalid_metadata", f'"metadata" must be an object, got {_json_type(metadata)}')
    assert isinstance(sender, str)  # is_valid_sender
    return sender, text, safe_metadata(metadata)


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages (never the value itself)."""
    if value is None:
        return "null"
    for python_type, name in ((bool, "a boolean"), (str, "a string"), (dict, "an object"), (list, "an array")):
        if isinstance(value, python_type):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


class KumpelRestInput(RestInput):
    """Rasa's REST channel (same URL and replies) with the input rules of ``input_rules``."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """``GET /webhooks/rest/`` (health) and ``POST /webhooks/rest/webhook``."""
        webhook = Blueprint("kumpel_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse | ResponseStream:
            try:
                sender, raw_text, metadata = parse_body(request.body)
            except RequestRejected as error:
                return bad_request(error)
            stream = rasa.utils.endpoints.bool_arg(request, "stream", default=False)
            checked = check_message(raw_text)
            if checked.reply is not None:
                # Answered here: the NLU, the tracker and the action server never see this message.
                reply = {"recipient_id": sender, "text": checked.reply}
                if stream:
                    return response.stream(_lines([reply]), content_type="text/event-stream")
                return response.json([reply])
            assert checked.text is not None
            if stream:
                return response.stream(
                    self.stream_response(on_new_message, checked.text, sender, self.name(), metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            message = UserMessage(checked.text, collector, sender, input_channel=self.name(), metadata=metadata)
            try:
                await on_new_message(message)
            except CancelledError:
                # Rasa's own channel logs the text here; it may hold personal data.
                logger.error("REST turn timed out")
            except Exception:
                logger.exception("REST turn failed")
            return response.json(collector.messages)

        return webhook


def _lines(messages: list[dict[str, Any]]) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """A stream writer for ``?stream=true``: one JSON line per message, as Rasa's channel writes them."""

    async def write(resp: Any) -> None:
        for message in messages:
            await resp.write(json.dumps(message) + "\n")

    return write
