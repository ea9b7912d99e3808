"""Upper bounds on what the engine reads from the network, installed by one explicit ``apply()``.

Sanic 21.12, Rasa's web server, accepts request bodies of up to 100 MB and WebSocket messages of
up to 1 MiB; a 2 MB REST message held Rasa's event loop for 38 s while every other citizen waited.
Sanic reads its limits from the app's config when a connection opens, and answers 413 as soon as
a body's ``Content-Length`` (or, for chunked bodies, the bytes counted so far) passes
``REQUEST_MAX_SIZE``, before reading or parsing the rest. Rasa builds its app in
``rasa.core.run.configure_app`` without a way to pass config; ``apply()`` wraps that function so
the app it returns carries Kumpel's limit (``KUMPEL_RASA_MAX_BODY_BYTES``, ``bot.settings``).
The socket.io channel applies the same limit to engine.io messages (``kumpel_socketio``).

``bot.engine.main`` calls ``apply()`` next to the patches, before Rasa's CLI starts.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import EngineSettings, get_settings

logger = logging.getLogger(__name__)

# Below this a request with a chat message and its metadata could be refused.
MIN_BODY_BYTES = 8 * 1024

_installed = False


def sanic_limits(settings: EngineSettings) -> dict[str, int]:
    """The Sanic config values that bound a request (``app.config.update`` takes them)."""
    limit = settings.rasa_max_body_bytes
    if limit < MIN_BODY_BYTES:
        raise ValueError(f"KUMPEL_RASA_MAX_BODY_BYTES must be at least {MIN_BODY_BYTES}, not {limit}")
    return {"REQUEST_MAX_SIZE": limit, "WEBSOCKET_MAX_SIZE": limit}


def too_large_handler(limit: int) -> Callable[[Request, Exception], HTTPResponse]:
    """Sanic's 413 as a precise JSON error for API clients (Sanic's own page is HTML for most clients)."""

    def handle(_: Request, error: Exception) -> HTTPResponse:
        return response.json(
            {"error": "payload_too_large", "message": f"the request is larger than {limit} bytes"}, status=413
        )

    return handle


def apply(settings: EngineSettings | None = None) -> dict[str, int]:
    """Make every app Rasa's server builds from now on carry Kumpel's request limits (idempotent).

    Returns:
        The Sanic config values set on the app.
    """
    global _installed
    values = sanic_limits(settings or get_settings())
    if _installed:
        return values
    import rasa.core.run as rasa_run
    from sanic.exceptions import PayloadTooLarge

    configure_app = rasa_run.configure_app

    @functools.wraps(configure_app)
    def configure_bounded_app(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        app.config.update(values)
        app.error_handler.add(PayloadTooLarge, too_large_handler(values["REQUEST_MAX_SIZE"]))
        return app

    # serve_application looks the function up in its module at call time.
    rasa_run.configure_app = configure_bounded_app
    _installed = True
    logger.info("Request bodies limited to %d bytes (larger: 413)", values["REQUEST_MAX_SIZE"])
    return values
