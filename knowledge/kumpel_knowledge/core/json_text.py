"""Text in JSON request bodies that no route can store or answer with: dropped before parsing.

JSON may carry a lone UTF-16 surrogate (``"\\ud800"``, or the raw bytes ``ED A0 80``), which
Python decodes into a ``str`` that cannot be encoded as UTF-8: pydantic then refuses it and
FastAPI's 422 response, which echoes the input, fails to encode, so every JSON route answered
500. NUL (``"\\u0000"``) is refused by PostgreSQL. Neither is a character a citizen or a staff
member meant to send, so this pure-ASGI middleware removes both from every string (keys included)
of a JSON body before the app parses it; ``"Hundesteuer \\ud800"`` is then answered as
``"Hundesteuer "``. Bodies without such text pass through unchanged (one scan of the bytes).

It buffers the body of JSON requests only, and runs inside FastAPI's body-size limit
(``core.request_limits``, ``KUMPEL_KNOWLEDGE_MAX_BODY_BYTES``), which counts every byte it
reads here: an oversized body gets 413 before it is buffered in full.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Escapes of U+D800-U+DFFF or U+0000, or surrogates written as raw (WTF-8) bytes.
_SUSPECT = re.compile(rb"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)|\xed[\xa0-\xbf]")
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def is_json(headers: Headers) -> bool:
    """Whether FastAPI parses this request's body as JSON (``application/json`` or ``+json``)."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def clean_value(value: Any) -> Any:
    """``value`` (parsed JSON) with lone surrogates and NUL removed from every string and key."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value)
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    if isinstance(value, dict):
        return {clean_value(key): clean_value(item) for key, item in value.items()}
    return value


def clean_body(body: bytes) -> bytes:
    """The body with unstorable text removed, or ``body`` itself when it holds none (or is no JSON)."""
    if not _SUSPECT.search(body):
        return body
    try:
        parsed = json.loads(body)
    except ValueError:
        return body  # FastAPI answers 422 "JSON decode error" (its error echoes no input)
    return json.dumps(clean_value(parsed), ensure_ascii=False).encode("utf-8")


class CleanJsonTextMiddleware:
    """Removes lone surrogates and NUL from JSON request bodies (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_json(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay(message, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        original = b"".join(chunks)
        body = clean_body(original)
        if body is not original:
            headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode("ascii"))]}
        await self.app(scope, _replay({"type": "http.request", "body": body, "more_body": False}, receive), send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that returns ``first`` once, then hands over to the server's ``receive``."""
    pending: list[Message] = [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
