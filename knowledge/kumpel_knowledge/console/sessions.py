"""Server-side sessions of the staff console: create, look up (and keep alive), end.

The cookie holds a random token; the table ``staff_sessions`` only its SHA-256, so the rows are
useless to someone who reads the database. A session ends after ``console_session_idle_seconds``
without a request, ``console_session_max_seconds`` after the login, at logout, and as soon as the
account is deactivated or its role or password changes (checked on every look-up, so a change made
through the CLI or the JSON API ends it as well).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..core.settings import Settings
from ..staff.auth import password_fingerprint
from ..staff.models import StaffSession, StaffUser

COOKIE_NAME = "kumpel_staff"
COOKIE_PATH = "/staff"
# Seen-at is written at most this often: a page with many htmx requests needs no write for each.
_TOUCH_INTERVAL = timedelta(seconds=30)
# Rows idle for longer than this (and than the idle timeout) are over anyway.
_FORGET_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class ActiveSession:
    """A valid session and its account, as of this request."""

    id: int
    username: str
    role: str
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def create(session: Session, settings: Settings, user: StaffUser, now: datetime) -> str:
    """Start a session for ``user``; returns the token for the cookie. Commits."""
    token = secrets.token_urlsafe(32)
    now = _aware(now).astimezone(timezone.utc)
    session.add(
        StaffSession(
            token_hash=_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            role=user.role,
            password_fingerprint=password_fingerprint(user),
            created_at=now,
            last_seen_at=now,
            flash=[],
        )
    )
    # Sessions nobody ended (a closed browser) go at the next login: a bounded table.
    session.execute(
        delete(StaffSession).where(StaffSession.last_seen_at < now - max(_FORGET_AFTER, _idle(settings))),
        execution_options={"synchronize_session": False},
    )
    session.commit()
    return token


def _idle(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.console_session_idle_seconds)


def lookup(session: Session, settings: Settings, token: str, now: datetime) -> ActiveSession | None:
    """The session this cookie token stands for, kept alive; None (and the row gone) when it is over."""
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if row is None:
        return None
    now = _aware(now).astimezone(timezone.utc)
    user = session.get(StaffUser, row.user_id)
    idle = now - _aware(row.last_seen_at) > _idle(settings)
    too_old = now - _aware(row.created_at) > timedelta(seconds=settings.console_session_max_seconds)
    changed = (
        user is None
        or not user.active
        or user.role != row.role
        or not secrets.compare_digest(password_fingerprint(user), row.password_fingerprint)
    )
    if idle or too_old or changed or user is None:
        session.delete(row)
        session.commit()
        return None
    if now - _aware(row.last_seen_at) >= _TOUCH_INTERVAL:
        row.last_seen_at = now
        session.commit()
    return ActiveSession(id=row.id, username=user.username, role=user.role, csrf_token=row.csrf_token)


def end(session: Session, token: str) -> None:
    """Logout: delete the session of this token (nothing happens for an unknown one). Commits."""
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _hash(token)))
    session.commit()


def end_all_for(session: Session, user_id: int, keep_session_id: int | None = None) -> int:
    """End every session of one account (deactivated, new role, new password); the caller commits.

    ``keep_session_id``: except this one (an admin who just reset their own password stays here).
    """
    query = delete(StaffSession).where(StaffSession.user_id == user_id)
    if keep_session_id is not None:
        query = query.where(StaffSession.id != keep_session_id)
    result = session.execute(query, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def adopt_password(session: Session, session_id: int, user: StaffUser) -> None:
    """Let this session outlive its own account's password change; the caller commits."""
    row = session.get(StaffSession, session_id)
    if row is not None and row.user_id == user.id:
        row.password_fingerprint = password_fingerprint(user)


def push_flash(session: Session, session_id: int, kind: str, text: str) -> None:
    """Keep a message for the next page of this session. Commits."""
    row = session.get(StaffSession, session_id)
    if row is not None:
        row.flash = [*(row.flash or []), {"kind": kind, "text": text}]
        session.commit()


def pop_flash(session: Session, session_id: int) -> list[dict[str, str]]:
    """The waiting messages of this session, removed. Commits when there were any."""
    row = session.get(StaffSession, session_id)
    if row is None or not row.flash:
        return []
    messages = [dict(item) for item in row.flash]
    row.flash = []
    session.commit()
    return messages
