"""One login attempt, the same for the JSON API's token and the console's form: lockout, check, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..core.settings import Settings
from . import audit
from .auth import authenticate
from .models import StaffUser
from .throttle import LoginPolicy, LoginThrottler


@dataclass(frozen=True)
class LoginOutcome:
    """``user`` on success; ``retry_after`` (seconds) while the name or the address is locked; else neither."""

    user: StaffUser | None = None
    retry_after: int | None = None


def attempt_login(
    session: Session,
    settings: Settings,
    now: datetime,
    username: str,
    password: str,
    address: str,
    detail: dict[str, Any] | None = None,
) -> LoginOutcome:
    """Check a user name and password unless locked; count failures, start locks, audit. Commits.

    Locked: the password is not even checked (no oracle while locked). Failures and locks are
    audited under the name tried, never the password; ``detail`` is added to each entry.
    """
    extra = detail or {}
    throttle = LoginThrottler(session, LoginPolicy.from_settings(settings), settings.secret_key, now)
    wait = throttle.retry_after(username, address)
    if wait is not None:
        return LoginOutcome(retry_after=wait)
    user = authenticate(session, username, password)
    if user is None:
        locks = throttle.record_failure(username, address)
        audit.record_login(session, username, "login_failed", now, dict(extra))
        for lock in locks:
            lock_detail = {"scope": lock.scope, "until": lock.until.isoformat(), "lockouts": lock.lockouts, **extra}
            audit.record_login(session, username, "login_locked", now, lock_detail)
        session.commit()
        return LoginOutcome()
    throttle.record_success(username)
    audit.record_login(session, username, "login", now, dict(extra))
    session.commit()
    return LoginOutcome(user=user)
