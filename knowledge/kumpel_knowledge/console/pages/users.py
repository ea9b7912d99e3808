"""Staff accounts in the console (admins only): list, add, change role, (de)activate, reset password.

An admin can neither give up their own admin role nor deactivate themself, so the console can
never lose its last admin (the first one comes from ``kumpel-knowledge users add``). Every change
is audited; a new role, a new password or a deactivation ends that account's sessions at once.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.deps import get_session
from ...staff import audit
from ...staff.auth import ROLES, StaffIdentity, hash_password
from ...staff.models import StaffUser
from .. import sessions
from ..core import ROLE_LABELS, ConsoleForbidden, ConsoleUser, NavItem, console_user, csrf_protected, flash, render

router = APIRouter()
NAV = [
    NavItem(
        "Benutzer", "/staff/users", "admin", 90, "Zugänge für das Redaktionsteam anlegen, Rollen vergeben, sperren."
    )
]

MIN_PASSWORD_LENGTH = 12
ROLE_OPTIONS = [(role, f"{ROLE_LABELS[role]} ({role})") for role in ROLES]
ROLE_HELP = (
    "Lesen: nur ansehen. Bearbeiten: Wissen und Posteingang pflegen. "
    "Verwalten: zusätzlich Benutzer und Formulareingänge."
)
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,80}$")


def _actor(user: ConsoleUser) -> StaffIdentity:
    return StaffIdentity(user.username, user.role)


def _find(session: Session, user_id: int) -> StaffUser:
    target = session.get(StaffUser, user_id)
    if target is None:
        raise ConsoleForbidden(None, "Diesen Benutzer gibt es nicht (mehr).")
    return target


def _password_error(password: str, field_label: str = "Passwort") -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"{field_label}: Bitte mindestens {MIN_PASSWORD_LENGTH} Zeichen eingeben."
    if len(password) > 200:
        return f"{field_label}: Höchstens 200 Zeichen."
    return None


def _list_page(
    request: Request,
    session: Session,
    user: ConsoleUser,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    accounts = list(session.scalars(select(StaffUser).order_by(StaffUser.username)))
    context: dict[str, Any] = {
        "accounts": accounts,
        "errors": errors or {},
        "form": form or {"username": "", "role": "editor"},
        "role_options": ROLE_OPTIONS,
        "role_help": ROLE_HELP,
    }
    return render(request, "users/list.html", context, user, status_code)


def _detail_page(
    request: Request,
    user: ConsoleUser,
    target: StaffUser,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "account": target,
        "is_self": target.username == user.username,
        "errors": errors or {},
        "role_options": ROLE_OPTIONS,
        "role_help": ROLE_HELP,
    }
    return render(request, "users/detail.html", context, user, status_code)


def _back_to(target: StaffUser) -> RedirectResponse:
    return RedirectResponse(f"/staff/users/{target.id}", status_code=303)


@router.get("/users", response_class=HTMLResponse)
def list_users(
    request: Request,
    user: ConsoleUser = Depends(console_user("admin")),
    session: Session = Depends(get_session),
) -> HTMLResponse:
    """Every account with its role and state, and the form for a new one."""
    return _list_page(request, session, user)


@router.post("/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    _checked: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("admin")),
    session: Session = Depends(get_session),
) -> Response:
    """A new account with an initial password (argon2); the person changes nothing else here."""
    username = username.strip()
    errors: dict[str, str] = {}
    if not _NAME_PATTERN.match(username):
        errors["username"] = (
            "Benutzername: 1 bis 80 Zeichen, nur Buchstaben ohne Umlaute, Ziffern und . _ @ - "
            "(zum Beispiel „m.muster“)."
        )
    elif session.scalar(select(StaffUser).where(StaffUser.username == username)) is not None:
        errors["username"] = "Benutzername: Diesen Namen gibt es schon. Bitte wählen Sie einen anderen."
    if role not in ROLES:
        errors["role"] = "Rolle: Bitte wählen Sie Lesen, Bearbeiten oder Verwalten."
    if error := _password_error(password, "Erstes Passwort"):
        errors["password"] = error
    if errors:
        return _list_page(
            request, session, user, errors=errors, form={"username": username, "role": role}, status_code=422
        )
    account = StaffUser(username=username, password_hash=hash_password(password), role=role, active=True)
    session.add(account)
    audit.record(
        session, _actor(user), "user_created", "staff_user", username, {"after": {"role": role, "active": True}}
    )
    session.commit()
    flash(request, user, f"Der Zugang „{username}“ ist angelegt. Geben Sie das erste Passwort persönlich weiter.")
    return RedirectResponse("/staff/users", status_code=303)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def show_user(
    request: Request,
    user_id: int,
    user: ConsoleUser = Depends(console_user("admin")),
    session: Session = Depends(get_session),
) -> HTMLResponse:
    """One account: its role, its state and a new password."""
    return _detail_page(request, user, _find(session, user_id))


@router.post("/users/{user_id}/role", response_class=HTMLResponse)
def change_role(
    request: Request,
    user_id: int,
    role: Annotated[str, Form()] = "",
    _checked: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("admin")),
    session: Session = Depends(get_session),
) -> Response:
    """A new role; the account's sessions end (it signs in again with the new rights)."""
    target = _find(session, user_id)
    if role not in ROLES:
        return _detail_page(
            request,
            user,
            target,
            errors={"role": "Rolle: Bitte wählen Sie Lesen, Bearbeiten oder Verwalten."},
            status_code=422,
        )
    if target.username == user.username and role != "admin":
        message = (
            "Rolle: Sie können Ihre eigene Rolle „Verwalten“ nicht abgeben. "
            "Das muss eine andere Person mit dieser Rolle tun."
        )
        return _detail_page(request, user, target, errors={"role": message}, status_code=422)
    if role != target.role:
        before = target.role
        target.role = role
        sessions.end_all_for(session, target.id)
        audit.record(
            session,
            _actor(user),
            "user_role_changed",
            "staff_user",
            target.username,
            {"before": {"role": before}, "after": {"role": role}},
        )
        session.commit()
        flash(request, user, f"„{target.username}“ hat jetzt die Rolle „{ROLE_LABELS[role]}“.")
    return _back_to(target)


@router.post("/users/{user_id}/active", response_class=HTMLResponse)
def change_active(
    request: Request,
    user_id: int,
    active: Annotated[str, Form()] = "",
    _checked: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("admin")),
    session: Session = Depends(get_session),
) -> Response:
    """Deactivate (sign-in refused, sessions end at once) or reactivate an account."""
    target = _find(session, user_id)
    wanted = active == "true"
    if target.username == user.username and not wanted:
        message = "Sie können sich nicht selbst sperren. Das muss eine andere Person mit der Rolle „Verwalten“ tun."
        return _detail_page(request, user, target, errors={"active": message}, status_code=422)
    if wanted != target.active:
        target.active = wanted
        if not wanted:
            sessions.end_all_for(session, target.id)
        action = "user_reactivated" if wanted else "user_deactivated"
        audit.record(
            session,
            _actor(user),
            action,
            "staff_user",
            target.username,
            {"before": {"active": not wanted}, "after": {"active": wanted}},
        )
        session.commit()
        text = "ist wieder freigeschaltet" if wanted else "ist gesperrt und überall abgemeldet"
        flash(request, user, f"Der Zugang „{target.username}“ {text}.")
    return _back_to(target)


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
def reset_password(
    request: Request,
    user_id: int,
    new_password: Annotated[str, Form()] = "",
    _checked: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("admin")),
    session: Session = Depends(get_session),
) -> Response:
    """A new password; the account's other sessions end (your own current one stays)."""
    target = _find(session, user_id)
    if error := _password_error(new_password, "Neues Passwort"):
        return _detail_page(request, user, target, errors={"new_password": error}, status_code=422)
    target.password_hash = hash_password(new_password)
    own = target.username == user.username
    sessions.end_all_for(session, target.id, keep_session_id=user.session_id if own else None)
    if own:
        sessions.adopt_password(session, user.session_id, target)
    audit.record(session, _actor(user), "user_password_reset", "staff_user", target.username, {})
    session.commit()
    flash(request, user, f"Das Passwort von „{target.username}“ ist neu gesetzt. Alte Anmeldungen gelten nicht mehr.")
    return _back_to(target)
