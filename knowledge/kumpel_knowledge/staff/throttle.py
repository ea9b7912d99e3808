"""Failed staff logins: lock an account, or a client address, after too many of them.

Counted per account name (whether or not the account exists, so that the answers reveal no user
names) and per client address (across account names, against guessing many accounts). The
counters live in the database table ``login_throttle``, so several replicas of the service share
them; "now" comes from the service's injected clock.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.settings import Settings
from .models import LoginThrottle

Scope = Literal["account", "address"]
# Doubling stops here: 2**16 lockouts are far past any sensible maximum duration anyway.
_MAX_DOUBLINGS = 16


@dataclass(frozen=True)
class LoginPolicy:
    """Thresholds and durations of the lockout (``KUMPEL_LOGIN_*`` settings)."""

    account_max_failures: int
    address_max_failures: int
    window: timedelta
    lockout: timedelta
    lockout_max: timedelta
    forget_after: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        """The policy the settings describe."""
        return cls(
            account_max_failures=settings.login_max_failures,
            address_max_failures=settings.login_address_max_failures,
            window=timedelta(seconds=settings.login_failure_window_seconds),
            lockout=timedelta(seconds=settings.login_lockout_seconds),
            lockout_max=timedelta(seconds=settings.login_lockout_max_seconds),
            forget_after=timedelta(seconds=settings.login_forget_seconds),
        )

    def max_failures(self, scope: Scope) -> int:
        """Failures within the window that lock this scope."""
        return self.account_max_failures if scope == "account" else self.address_max_failures

    def lock_duration(self, lockouts: int) -> timedelta:
        """How long the n-th lock in a row lasts: doubling each time, never past the maximum."""
        doublings: int = 2 ** min(lockouts - 1, _MAX_DOUBLINGS)
        return min(self.lockout * doublings, self.lockout_max)


@dataclass(frozen=True)
class Lockout:
    """A lock that one failed login has just started (for the audit log)."""

    scope: Scope
    until: datetime
    lockouts: int


def _targets(username: str, address: str) -> tuple[tuple[Scope, str], ...]:
    return (("account", username), ("address", address))


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class LoginThrottler:
    """The lockout state of one login attempt's account name and client address."""

    def __init__(self, session: Session, policy: LoginPolicy, secret: str, now: datetime) -> None:
        self.session = session
        self.policy = policy
        self._secret = secret.encode("utf-8")
        # Stored and compared in UTC: SQLite keeps the wall time only, so one zone for every row.
        self.now = _aware(now).astimezone(timezone.utc)

    def _key(self, scope: Scope, value: str) -> str:
        # Keyed with the service's secret: a stored key cannot be reversed by hashing all IPv4 addresses.
        return hmac.new(self._secret, f"{scope}:{value}".encode(), hashlib.sha256).hexdigest()

    def _row(self, scope: Scope, value: str, *, for_update: bool = False) -> LoginThrottle | None:
        query = select(LoginThrottle).where(LoginThrottle.key == self._key(scope, value))
        if for_update:
            query = query.with_for_update()  # PostgreSQL: replicas count one failure after the other
        return self.session.scalar(query)

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until the account and the address may try again; None when neither is locked."""
        waits = []
        for scope, value in _targets(username, address):
            row = self._row(scope, value)
            if row is not None and row.locked_until is not None and _aware(row.locked_until) > self.now:
                waits.append(math.ceil((_aware(row.locked_until) - self.now).total_seconds()))
        return max(waits) if waits else None

    def record_failure(self, username: str, address: str) -> list[Lockout]:
        """Count a failed login for the account name and the address; the locks it starts.

        The caller commits (together with the audit entries).
        """
        for attempt in range(2):
            try:
                started = [
                    lock
                    for scope, value in _targets(username, address)
                    if (lock := self._count(scope, value)) is not None
                ]
                self.session.flush()
                return started
            except IntegrityError:
                # Another replica created the same counter a moment ago: count on its row.
                self.session.rollback()
                if attempt:
                    raise
        return []  # pragma: no cover - the loop returns or raises

    def record_success(self, username: str) -> None:
        """A correct login: the account starts afresh (the address keeps its count)."""
        self.session.execute(
            delete(LoginThrottle).where(LoginThrottle.key == self._key("account", username)),
            execution_options={"synchronize_session": False},
        )

    def _count(self, scope: Scope, value: str) -> Lockout | None:
        row = self._row(scope, value, for_update=True)
        if row is None:
            self._forget_stale()
            row = LoginThrottle(key=self._key(scope, value), scope=scope, failures=0, lockouts=0)
            self.session.add(row)
        elif _aware(row.last_failure_at) <= self.now - self.policy.forget_after:
            row.failures, row.lockouts = 0, 0  # a quiet day: earlier locks no longer make the next one longer
        if row.window_started_at is None or _aware(row.window_started_at) <= self.now - self.policy.window:
            row.failures, row.window_started_at = 0, self.now
        row.failures += 1
        row.last_failure_at = self.now
        if row.failures < self.policy.max_failures(scope):
            return None
        row.lockouts += 1
        until = self.now + self.policy.lock_duration(row.lockouts)
        row.locked_until, row.failures, row.window_started_at = until, 0, None
        return Lockout(scope=scope, until=until, lockouts=row.lockouts)

    def _forget_stale(self) -> None:
        """Drop counters of names and addresses that have been quiet for a day (bounded table)."""
        horizon = self.now - self.policy.forget_after
        self.session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.last_failure_at < horizon,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < self.now),
            ),
            execution_options={"synchronize_session": False},
        )
