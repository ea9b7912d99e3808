"""The audit log: who changed or viewed what, and when (never citizens' data)."""

from __future__ import annotations

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
