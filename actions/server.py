"""The action server (``kumpel-actions``): rasa-sdk's own Sanic app with one closed door.

Only the engine may run actions: every request except ``GET /health`` must carry
``Authorization: Bearer <KUMPEL_ACTION_SERVER_SECRET>`` (Rasa sends it from endpoints.yml). A request
without it gets 401 before anything runs: no action, no log of its body. Without this door anyone who
reaches the port could post a hand-written tracker (``action_finish_form`` with ``form_status:
confirmed``) and store a form without the dialogue; from a web page, too, as a ``text/plain`` "simple
request" that needs no CORS preflight. So there is no CORS at all: the engine is no browser, and a
browser cannot add the header without a preflight, which gets 401 as well.

    kumpel-actions --host 127.0.0.1 --port 5055
"""

from __future__ import annotations

import argparse
import hmac
import logging
from collections.abc import Sequence

from rasa_sdk import endpoint, utils
from rasa_sdk.constants import DEFAULT_SERVER_PORT
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.settings import InsecureSecretError, get_settings
from bot import log_privacy

ACTION_PACKAGE = "actions"
DEFAULT_HOST = "127.0.0.1"
# The one route a load balancer or the launcher may call without the secret: it runs nothing.
OPEN_ROUTES = frozenset({("GET", "/health"), ("HEAD", "/health")})

logger = logging.getLogger(__name__)


def is_authorised(authorization: str | None, secret: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <secret>`` (compared in constant time)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token or not secret:
        return False
    return hmac.compare_digest(token.strip().encode("utf-8"), secret.encode("utf-8"))


def _unauthorised() -> HTTPResponse:
    return response.json(
        {"error": "unauthorized", "detail": "Authorization: Bearer <action server secret> required"},
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="kumpel-actions"'},
    )


def _without_cors(app: Sanic, cors_origins: object = None) -> None:
    """Stands in for rasa-sdk's ``configure_cors``: the engine calls this server, never a browser."""


def create_app(secret: str, action_package: str = ACTION_PACKAGE) -> Sanic:
    """rasa-sdk's app for ``action_package`` (its routes and executor), behind the secret, without CORS."""
    if not secret:
        raise InsecureSecretError("the action server needs a secret")
    configure_cors = endpoint.configure_cors
    endpoint.configure_cors = _without_cors  # rasa-sdk always installs Sanic-CORS in create_app
    try:
        app = endpoint.create_app(action_package, cors_origins=None)
    finally:
        endpoint.configure_cors = configure_cors

    @app.middleware("request")
    async def require_secret(request: Request) -> HTTPResponse | None:
        # Runs before every route's handler (Sanic), so a refused call executes nothing.
        if (request.method, request.path) in OPEN_ROUTES:
            return None
        if is_authorised(request.headers.get("authorization"), secret):
            return None
        logger.warning("refused %s %s: no valid action server secret", request.method, request.path)
        return _unauthorised()

    @app.exception(SanicException)
    async def http_error(request: Request, exception: SanicException) -> HTTPResponse:
        # rasa-sdk's handler answers every exception, even an unknown route, with 500 and echoes the
        # request body; an HTTP error keeps its own status, and nothing of the body is sent back.
        status = int(getattr(exception, "status_code", 500) or 500)
        return response.json({"error": str(exception) or "error"}, status=status)

    return app


def configure_logging(level: int = logging.INFO) -> None:
    """The action server's logging: one place, so that a filter can be added to every handler here.

    Rasa's own logs and the request bodies may hold a citizen's data; nothing here logs a body.
    """
    utils.configure_colored_logging(level)
    log_privacy.install()  # no message text, slot value or query string in the action server's log


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="kumpel-actions", description="Kumpel's action server: runs actions for the Rasa engine only."
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_SERVER_PORT, help="port (default %(default)s)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the action server; refuses to start without a usable KUMPEL_ACTION_SERVER_SECRET."""
    args = parse_args(argv)
    configure_logging()
    try:
        secret = get_settings().server_secret()
    except InsecureSecretError as error:
        logger.error("%s", error)
        return 2
    app = create_app(secret)
    logger.info("Action server on http://%s:%s (engine only: bearer secret required)", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
