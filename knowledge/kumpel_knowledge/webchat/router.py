"""Serves the web chat widget (``/webchat/...``) and the demo city website (``/demo/``).

Only the files named here are served (no directory traversal, no listing). The demo pages get the
Rasa socket URL filled in and a Content-Security-Policy that allows nothing but this service and
the Rasa server: the proof that the widget loads nothing from third-party hosts.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from ..core.deps import get_settings_dep
from ..core.settings import REPO_ROOT, Settings

WEBCHAT_DIR = REPO_ROOT / "webchat"
DEMO_DIR = WEBCHAT_DIR / "demo"

# path below /webchat/ -> media type
WIDGET_ASSETS: dict[str, str] = {
    "kumpel-widget.js": "text/javascript; charset=utf-8",
    "kumpel-widget.css": "text/css; charset=utf-8",
    "vendor/socket.io.min.js": "text/javascript; charset=utf-8",
    "vendor/LICENSE.socket.io-client": "text/plain; charset=utf-8",
}
DEMO_PAGES = ("index.html", "buergerservice.html", "datenschutz.html")
DEMO_ASSETS: dict[str, str] = {"demo.css": "text/css; charset=utf-8"}
SOCKET_URL_PLACEHOLDER = "{{KUMPEL_SOCKET_URL}}"
DEFAULT_RASA_PORT = 5005

router = APIRouter(include_in_schema=False)


def socket_url(request: Request, settings: Settings) -> str:
    """Where the widget finds Rasa's socket.io channel.

    ``KUMPEL_WEBCHAT_SOCKET_URL`` (public URL behind a proxy) or ``KUMPEL_RASA_URL`` (set by the
    launcher); otherwise the host the visitor used, on Rasa's default port.
    """
    for configured in (settings.webchat_socket_url, settings.rasa_url):
        value = configured.strip().rstrip("/")
        if value and urlsplit(value).scheme in ("http", "https") and urlsplit(value).netloc:
            return value
    return f"{request.url.scheme}://{request.url.hostname}:{DEFAULT_RASA_PORT}"


def content_security_policy(socket: str) -> str:
    """Nothing but this service and the Rasa server (HTTP polling + WebSocket)."""
    parts = urlsplit(socket)
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    connect = f"'self' {parts.scheme}://{parts.netloc} {ws_scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )


@lru_cache(maxsize=8)
def _read_page(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@router.get("/")
def root() -> RedirectResponse:
    """``make run`` prints the service root: show the demo city website."""
    return RedirectResponse("/demo/", status_code=307)


@router.get("/demo")
def demo_without_slash() -> RedirectResponse:
    return RedirectResponse("/demo/", status_code=307)


@router.get("/demo/", response_model=None)
@router.get("/demo/{name}", response_model=None)
def demo(
    request: Request, name: str = "index.html", settings: Settings = Depends(get_settings_dep)
) -> FileResponse | HTMLResponse:
    """A demo page of the fictional city "Musterstadt" with the widget embedded; ``?lang=en``."""
    if name in DEMO_ASSETS:
        return FileResponse(DEMO_DIR / name, media_type=DEMO_ASSETS[name])
    if name not in DEMO_PAGES:
        raise HTTPException(status_code=404, detail="Not found")
    socket = socket_url(request, settings)
    page = _read_page(DEMO_DIR / name).replace(SOCKET_URL_PLACEHOLDER, html.escape(socket, quote=True))
    if request.query_params.get("lang") == "en":
        page = page.replace('data-language="de"', 'data-language="en"')
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": content_security_policy(socket),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/webchat/{path:path}")
def widget_asset(path: str) -> FileResponse:
    """The widget's own files; a city's page loads them cross-origin."""
    media_type = WIDGET_ASSETS.get(path)
    if media_type is None:
        raise HTTPException(status_code=404, detail="Not found")
    return FileResponse(
        WEBCHAT_DIR / path,
        media_type=media_type,
        headers={
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )
