"""What every console page uses: templates, the signed-in user, CSRF checks, the navigation, ``render``.

Page modules (``console/pages/*.py``) use it like this::

    router = APIRouter()
    NAV = [NavItem("Leistungen", "/staff/services", "viewer", 20)]

    @router.get("/services")
    def services(request: Request, user: ConsoleUser = Depends(console_user("viewer"))) -> HTMLResponse:
        return render(request, "knowledge/services.html", {"items": ...}, user)

    @router.post("/services/{slug}", dependencies=[Depends(csrf_protected)])
    def save(...): ...

The Content-Security-Policy allows scripts and styles from ``/staff/static`` only: no inline
``<script>``, no ``style="..."`` attributes, no ``hx-on`` (htmx runs without eval). Put behaviour in
``static/<area>.js`` and looks in ``static/<area>.css``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from ..core.clock import Clock
from ..core.deps import get_clock, get_runtime, get_session, get_settings_dep
from ..core.settings import Settings
from ..kb.municipality import municipality
from ..staff.auth import ROLES
from . import sessions

CONSOLE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = CONSOLE_DIR / "templates"
STATIC_DIR = CONSOLE_DIR / "static"
PREFIX = "/staff"
LOGIN_PATH = f"{PREFIX}/login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FAILED = (
    "Sicherheitsprüfung fehlgeschlagen: Das Formular ist abgelaufen oder kam nicht von dieser Seite. "
    "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
)
ROLE_LABELS = {"viewer": "Lesen", "editor": "Bearbeiten", "admin": "Verwalten"}

# Starlette's Jinja2Templates switches autoescape on for every template.
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["role_labels"] = ROLE_LABELS


@dataclass(frozen=True)
class ConsoleUser:
    """The member of staff signed in to the console, with the CSRF token of their session."""

    username: str
    role: str
    csrf_token: str
    session_id: int = field(default=0, compare=False)

    def has(self, role: str) -> bool:
        """True when this user's role is at least ``role`` (viewer < editor < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class NavItem:
    """One entry of the console's menu, shown to users with at least ``role``, sorted by ``order``.

    ``description``: one plain sentence for the area's card on the home page.
    """

    label: str
    path: str
    role: str = "viewer"
    order: int = 100
    description: str = ""


_NAV: list[NavItem] = []


def register_nav(items: list[NavItem]) -> None:
    """Add menu entries (``console/router.py`` does it for every page module's ``NAV``)."""
    for item in items:
        if item not in _NAV:
            _NAV.append(item)
    _NAV.sort(key=lambda item: (item.order, item.label))


def nav_for(user: ConsoleUser | None) -> list[NavItem]:
    """The menu entries this user may see."""
    if user is None:
        return []
    return [item for item in _NAV if user.has(item.role)]


class ConsoleLoginRequired(Exception):
    """No valid session: a page redirects to the login, an htmx request gets 401."""

    def __init__(self, next_path: str, htmx: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.htmx = htmx


class ConsoleForbidden(Exception):
    """Signed in, but the role or the CSRF token does not allow this: a 403 page."""

    def __init__(self, user: ConsoleUser | None, message: str) -> None:
        super().__init__(message)
        self.user = user
        self.message = message


def login_url(next_path: str) -> str:
    """The login page, coming back to ``next_path`` afterwards."""
    return f"{LOGIN_PATH}?next={quote(next_path, safe='/')}"


def _requested_path(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def current_user(
    request: Request,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> ConsoleUser | None:
    """FastAPI dependency: the signed-in user, or None (for pages such as the login itself).

    FastAPI runs it once per request, however many dependencies use it.
    """
    token = request.cookies.get(sessions.COOKIE_NAME)
    active = sessions.lookup(session, settings, token, clock()) if token else None
    if active is None:
        return None
    return ConsoleUser(active.username, active.role, active.csrf_token, session_id=active.id)


def signed_in_user(request: Request, user: ConsoleUser | None = Depends(current_user)) -> ConsoleUser:
    """FastAPI dependency: the signed-in user of any role; without one the login (see ``console_user``)."""
    if user is None:
        raise ConsoleLoginRequired(_requested_path(request), htmx=request.headers.get("HX-Request") == "true")
    return user


def console_user(role: str = "viewer") -> Callable[..., ConsoleUser]:
    """FastAPI dependency: the signed-in user, at least ``role``.

    No session: 303 to ``/staff/login?next=...`` (an htmx request: 401, its page reloads to the
    login); too low a role: a 403 page.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {ROLES}")

    def dependency(user: ConsoleUser = Depends(signed_in_user)) -> ConsoleUser:
        if not user.has(role):
            raise ConsoleForbidden(
                user, f"Diese Seite ist nur für die Rolle „{ROLE_LABELS[role]}“ und höher freigegeben."
            )
        return user

    return dependency


async def _submitted_csrf_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette keeps it: the route's Form() parameters read it again
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def csrf_protected(request: Request, user: ConsoleUser = Depends(signed_in_user)) -> ConsoleUser:
    """FastAPI dependency for every state-changing console route (POST/PUT/PATCH/DELETE).

    The form field ``csrf_token`` or the header ``X-CSRF-Token`` must equal the session's token,
    else a 403 page ("Sicherheitsprüfung fehlgeschlagen ..."); without a session as ``console_user``.
    Gives the signed-in user.
    """
    submitted = await _submitted_csrf_token(request)
    if not submitted or not hmac.compare_digest(submitted.encode(), user.csrf_token.encode()):
        raise ConsoleForbidden(user, CSRF_FAILED)
    return user


def flash(request: Request, user: ConsoleUser, text: str, kind: str = "success") -> None:
    """Show ``text`` once on the next page of this user's session (after a redirect, say).

    ``kind``: ``success``, ``info`` or ``error``.
    """
    with get_runtime(request).sessions() as db:
        sessions.push_flash(db, user.session_id, kind, text)


def town_name(request: Request) -> str:
    """The town's name from its profile, for the header; empty while there is none."""
    with get_runtime(request).sessions() as db:
        town = municipality(db)
        return town.name if town is not None else ""


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    user: ConsoleUser | None,
    status_code: int = 200,
) -> HTMLResponse:
    """A console page: ``template`` with ``context`` plus ``user``, ``csrf_token``, ``nav``, ``request``.

    Also ``town`` (the header's name), ``flashes`` (messages waiting for this session) and
    ``current_path`` (to mark the menu entry of this page).
    """
    flashes: list[dict[str, str]] = []
    if user is not None and user.session_id:
        with get_runtime(request).sessions() as db:
            flashes = sessions.pop_flash(db, user.session_id)
    full: dict[str, Any] = {
        "town": town_name(request),
        "flashes": flashes,
        "current_path": request.url.path,
        **context,
        "request": request,
        "user": user,
        "csrf_token": user.csrf_token if user else context.get("csrf_token", ""),
        "nav": nav_for(user),
    }
    return templates.TemplateResponse(request, template, full, status_code=status_code)
