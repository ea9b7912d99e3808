"""Loopback fakes of the messenger platforms' APIs (Telegram Bot API, Meta Graph API, Threema Gateway).

:class:`RecordingServer` is a small HTTP server on 127.0.0.1 (stdlib ``http.server`` in a thread)
that records every request it gets and answers with canned JSON per path. A channel under test is
given ``server.url`` as its API base (``KUMPEL_<CHANNEL>_API_URL``); the test then asserts exactly
what our side sent::

    with RecordingServer({"/bot123:abc/sendMessage": {"ok": True, "result": {}}}) as api:
        ...  # post a signed update to the webhook
        sent = api.wait_for(lambda r: r.path.endswith("/sendMessage"))
        assert "Quelle:" in sent[0].json["text"]
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

# A canned answer: a JSON value (status 200), a (status, JSON value) pair, or a function of the request.
Canned = Any
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any = field(default=None)

    def form(self) -> dict[str, list[str]]:
        """The body as ``application/x-www-form-urlencoded`` fields (Threema's Gateway API)."""
        return parse_qs(self.body.decode("utf-8"))


class RecordingServer:
    """An HTTP server on 127.0.0.1 that records requests and answers from ``responses`` by path.

    Args:
        responses: path -> canned answer; a key matches the request path exactly, else as its suffix.
            Unknown paths get ``default``.
        default: the answer to any other path (status 200).
    """

    def __init__(self, responses: Mapping[str, Canned] | None = None, default: Canned = None) -> None:
        self.responses: dict[str, Canned] = dict(responses or {})
        self.default: Canned = {"ok": True} if default is None else default
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="recording-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:43121`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def start(self) -> RecordingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool] = lambda _: True,
        count: int = 1,
        timeout: float = 30.0,
    ) -> list[RecordedRequest]:
        """The recorded requests matching ``predicate`` once there are at least ``count`` (bounded wait).

        Raises:
            AssertionError: fewer than ``count`` arrived within ``timeout`` seconds (lists what did).
        """
        deadline = time.monotonic() + timeout
        while True:
            matching = [request for request in self.requests if predicate(request)]
            if len(matching) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if len(matching) < count:
            seen = [f"{request.method} {request.path}" for request in self.requests]
            raise AssertionError(
                f"expected {count} matching request(s) within {timeout} s, got {len(matching)}: {seen}"
            )
        return matching

    def _answer(self, request: RecordedRequest) -> tuple[int, Any]:
        canned = self.responses.get(request.path)
        if canned is None:
            canned = next((value for key, value in self.responses.items() if request.path.endswith(key)), self.default)
        if callable(canned):
            canned = canned(request)
        if isinstance(canned, tuple) and len(canned) == 2 and isinstance(canned[0], int):
            return canned[0], canned[1]
        return 200, canned

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY_BYTES)
                body = self.rfile.read(length) if length else b""
                parsed: Any = None
                if body and "json" in (self.headers.get("Content-Type") or ""):
                    try:
                        parsed = json.loads(body)
                    except ValueError:
                        parsed = None
                split = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body,
                    json=parsed,
                )
                server._record(request)
                status, payload = server._answer(request)
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
                """Silent: the test output stays readable."""

        return Handler
