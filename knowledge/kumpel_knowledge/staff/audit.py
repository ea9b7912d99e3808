"""The audit log: who changed or viewed what, and when (never citizens' data, never a password)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .auth import StaffIdentity
from .models import AuditLog


def record(
    session: Session, user: StaffIdentity, action: str, entity_type: str, entity_id: str, detail: dict[str, Any]
) -> None:
    """Add one audit entry to the session; the caller commits it with the change it describes."""
    session.add(
        AuditLog(username=user.username, action=action, entity_type=entity_type, entity_id=entity_id, detail=detail)
    )


def record_login(session: Session, username: str, action: str, at: datetime, detail: dict[str, Any]) -> None:
    """Add a login event (``login``, ``login_failed``, ``login_locked``) for the account name tried.

    ``username`` is what was typed, whether or not such an account exists; ``at`` comes from the
    service's clock, so the entries agree with the lockout times.
    """
    session.add(
        AuditLog(username=username, action=action, entity_type="staff_user", entity_id=username, detail=detail, at=at)
    )
