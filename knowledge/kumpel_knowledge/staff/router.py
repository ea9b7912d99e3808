"""Staff accounts and audit: log in (``POST /api/v1/auth/token``), who am I, the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.clock import Clock
from ..core.deps import get_clock, get_session, get_settings_dep
from ..core.net import client_address
from ..core.settings import Settings
from .auth import StaffIdentity, issue_token, require_role
from .login import attempt_login
from .models import AuditLog

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
staff_router = APIRouter(prefix="/api/v1/staff", tags=["staff"])


class Token(BaseModel):
    """An OAuth2-style bearer token."""

    access_token: str
    token_type: str = "bearer"


def _too_many_attempts(seconds: int) -> HTTPException:
    # One answer for every lock (account or address, existing account or not): nothing to enumerate.
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many failed logins; try again in {seconds} seconds",
        headers={"Retry-After": str(seconds)},
    )


@router.post("/token", response_model=Token)
def login(
    # No control characters: PostgreSQL cannot even compare a NUL, and no account name has one.
    username: Annotated[str, Form(max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")],
    password: Annotated[str, Form(max_length=200)],
    request: Request,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> Token:
    """Exchange user name and password for a bearer token.

    401 on a wrong pair; 429 with ``Retry-After`` while the account name or the client address is
    locked after too many failures, even for the right password. Failures and locks are audited
    under the name tried (never the password).
    """
    address = client_address(request, settings.trusted_proxy_networks)
    outcome = attempt_login(session, settings, clock(), username, password, address)
    if outcome.retry_after is not None:
        raise _too_many_attempts(outcome.retry_after)
    user = outcome.user
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return Token(access_token=issue_token(settings, user))


@router.get("/me")
def me(user: StaffIdentity = Depends(require_role("viewer"))) -> dict[str, str]:
    """Who the token belongs to."""
    return {"username": user.username, "role": user.role}


@staff_router.get("/audit")
def list_audit(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
    _user: StaffIdentity = Depends(require_role("admin")),
) -> dict[str, Any]:
    """The audit log, newest first (admins only)."""
    total = session.scalar(select(func.count()).select_from(AuditLog)) or 0
    rows = session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit).offset(offset))
    items = [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "username": r.username,
            "action": r.action,
            "entity_type": r.entity_type,
            "entity_id": r.entity_id,
            "detail": r.detail,
        }
        for r in rows
    ]
    return {"total": total, "items": items}
