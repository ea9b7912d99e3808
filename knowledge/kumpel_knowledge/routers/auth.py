"""``POST /api/v1/auth/token``: staff log in with user name and password (form fields)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from ..auth import StaffIdentity, authenticate, issue_token, require_role
from ..deps import get_session, get_settings_dep
from ..settings import Settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    """An OAuth2-style bearer token."""

    access_token: str
    token_type: str = "bearer"


@router.post("/token", response_model=Token)
def login(
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> Token:
    """Exchange user name and password for a bearer token (401 on a wrong pair)."""
    user = authenticate(session, username, password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return Token(access_token=issue_token(settings, user))


@router.get("/me")
def me(user: StaffIdentity = Depends(require_role("viewer"))) -> dict[str, str]:
    """Who the token belongs to."""
    return {"username": user.username, "role": user.role}
