"""A bound on request bodies for every route: 413 before an oversized body is read or parsed.

Pure ASGI, outermost in the app. A request whose ``Content-Length`` passes the limit is answered
at once, before the app runs (so no route acts on it); a body without ``Content-Length``
(``Transfer-Encoding: chunked``) is counted as the app reads it and refused at the first byte over
the limit. The limit is ``KUMPEL_KNOWLEDGE_MAX_BODY_BYTES`` (default 1 MiB): the largest body a
route takes is one knowledge-base entry or the town profile for the staff API, a few KiB; the
whole seed knowledge base is about 100 KiB. The console's import routes take a whole knowledge base
and have their own limit (``KUMPEL_KNOWLEDGE_IMPORT_MAX_BODY_BYTES``, ``path_limits``).

FastAPI's own ``max_body_size`` (Starlette's ``RequestBodyLimitMiddleware``) was not used: it lets
the route run and replaces the response afterwards when ``Content-Length`` is too large, and
answers in plain text or JSON depending on where the body was read.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised by the counting ``receive``.

    An ``HTTPException``, so FastAPI re-raises it from its body parsing (anything else becomes a
    400 "error parsing the body") and its exception handler answers 413 when a route read it.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    """The error an API client reads, with the limit it ran into."""
    return f"request body too large: at most {limit} bytes are accepted"


class BodySizeLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413 ``{"detail": ...}`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None) -> None:
        """``path_limits``: exact paths with a limit of their own (the console's whole-KB import)."""
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Read outside a route (a middleware buffering the body): nobody has answered yet.
            if response_started:
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        # Connection: close, so the server does not wait for (or read) the rest of the body.
        response = JSONResponse({"detail": too_large_detail(limit)}, status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)
