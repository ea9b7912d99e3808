"""Sign in and out of the console: ``/staff/login`` (form with login CSRF and lockout), ``/staff/logout``."""

from __future__ import annotations

import math
import re
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ...core.clock import Clock
from ...core.deps import get_clock, get_session, get_settings_dep
from ...core.net import client_address
from ...core.settings import Settings
from ...staff.login import attempt_login
from .. import sessions
from ..cookies import (
    clear_login_cookie,
    clear_session_cookie,
    login_form_token_valid,
    new_login_form_token,
    set_session_cookie,
)
from ..core import LOGIN_PATH, PREFIX, ConsoleUser, NavItem, csrf_protected, current_user, render

router = APIRouter()
NAV: list[NavItem] = []

HOME = f"{PREFIX}/"
WRONG_PAIR = "Benutzername oder Passwort ist falsch. Bitte prüfen Sie beide Angaben."
LOGIN_FORM_STALE = (
    "Sicherheitsprüfung fehlgeschlagen: Das Anmeldeformular ist abgelaufen. Bitte melden Sie sich erneut an."
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(value: str | None) -> str:
    """Where to go after the login: a path of the console only, never another site (no open redirect)."""
    if not value or _CONTROL.search(value) or "\\" in value:
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return HOME
    if not (parts.path == PREFIX or parts.path.startswith(f"{PREFIX}/")):
        return HOME
    if parts.path in (LOGIN_PATH, f"{PREFIX}/logout") or "/static/" in parts.path:
        return HOME
    return value


def too_many_attempts_text(seconds: int) -> str:
    """The German lockout message, in whole minutes (at least one)."""
    minutes = max(1, math.ceil(seconds / 60))
    unit = "Minute" if minutes == 1 else "Minuten"
    return f"Zu viele Fehlversuche. Bitte versuchen Sie es in {minutes} {unit} erneut."


def _login_page(
    request: Request,
    settings: Settings,
    *,
    next_path: str,
    username: str = "",
    error: str | None = None,
    info: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    placeholder = HTMLResponse("")
    form_token = new_login_form_token(placeholder, request, settings)
    context = {"next": next_path, "username": username, "error": error, "info": info, "login_token": form_token}
    response = render(request, "auth/login.html", context, None, status_code)
    for cookie in placeholder.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", cookie)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    next: str | None = None,
    logged_out: bool = False,
    user: ConsoleUser | None = Depends(current_user),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """The login form; already signed in: straight on to ``next``."""
    target = safe_next(next)
    if user is not None:
        return RedirectResponse(target, status_code=303)
    info = "Sie wurden abgemeldet." if logged_out else None
    return _login_page(request, settings, next_path=target, info=info)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    login_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> Response:
    """Check the pair as ``POST /api/v1/auth/token`` does (``staff/login.py``), then start a session.

    Wrong pair: one message for unknown and known accounts (401); locked: 429 with the minutes to
    wait; a stale or foreign form: 403.
    """
    target = safe_next(next)
    shown_name = username[:80] if not _CONTROL.search(username) else ""
    if not login_form_token_valid(request, settings, login_token):
        return _login_page(
            request, settings, next_path=target, username=shown_name, error=LOGIN_FORM_STALE, status_code=403
        )
    if len(username) > 80 or len(password) > 200 or _CONTROL.search(username) or not username or not password:
        # Nothing to look up (no account has such a name); the same answer as for a wrong pair.
        return _login_page(request, settings, next_path=target, username=shown_name, error=WRONG_PAIR, status_code=401)
    now = clock()
    address = client_address(request, settings.trusted_proxy_networks)
    outcome = attempt_login(session, settings, now, username, password, address, detail={"via": "console"})
    if outcome.retry_after is not None:
        return _login_page(
            request,
            settings,
            next_path=target,
            username=shown_name,
            error=too_many_attempts_text(outcome.retry_after),
            status_code=429,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    user = outcome.user
    if user is None:
        return _login_page(request, settings, next_path=target, username=shown_name, error=WRONG_PAIR, status_code=401)
    token = sessions.create(session, settings, user, now)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, settings, token)
    clear_login_cookie(response, request, settings)
    return response


@router.post("/logout")
def logout(
    request: Request,
    _user: ConsoleUser = Depends(csrf_protected),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """End this session (the row is deleted: the old cookie is worthless) and show the login form."""
    token = request.cookies.get(sessions.COOKIE_NAME)
    if token:
        sessions.end(session, token)
    response = RedirectResponse(f"{LOGIN_PATH}?logged_out=true", status_code=303)
    clear_session_cookie(response, request, settings)
    return response
