"""Staff authentication: argon2 password hashes, signed bearer tokens, role checks.

Roles are ordered ``viewer`` < ``editor`` < ``admin``. Tokens are signed with ``KUMPEL_SECRET_KEY``
(itsdangerous, timestamped) and carry the user name and a password-hash fingerprint, so a changed
password or a deactivated user invalidates old tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.deps import get_session, get_settings_dep
from ..core.settings import Settings
from .models import StaffUser

ROLES = ("viewer", "editor", "admin")
_hasher = PasswordHasher()
_bearer = HTTPBearer(auto_error=False)
# Compared against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class StaffIdentity:
    """The authenticated member of staff."""

    username: str
    role: str

    def has(self, role: str) -> bool:
        """True when this identity's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_password(password: str) -> str:
    """Argon2id hash."""
    return _hasher.hash(password)


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def password_fingerprint(user: StaffUser) -> str:
    """A short digest of the user's password hash: it changes with the password (tokens, console sessions)."""
    return _fingerprint(user.password_hash)


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active user with this password, else None."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return user


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="kumpel-staff-token")


def issue_token(settings: Settings, user: StaffUser) -> str:
    """A signed, timestamped bearer token for this user."""
    return _serializer(settings).dumps({"u": user.username, "f": _fingerprint(user.password_hash)})


def identity_from_token(session: Session, settings: Settings, token: str) -> StaffIdentity | None:
    """The identity a valid, unexpired token stands for; None otherwise."""
    try:
        data = _serializer(settings).loads(token, max_age=settings.token_max_age_seconds)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = session.scalar(select(StaffUser).where(StaffUser.username == data.get("u")))
    if user is None or not user.active or data.get("f") != _fingerprint(user.password_hash):
        return None
    return StaffIdentity(user.username, user.role)


def require_role(role: str) -> Callable[..., StaffIdentity]:
    """FastAPI dependency: 401 without a valid token, 403 with too small a role.

    Usage: ``user: StaffIdentity = Depends(require_role("editor"))``.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {ROLES}")

    def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
        session: Session = Depends(get_session),
        settings: Settings = Depends(get_settings_dep),
    ) -> StaffIdentity:
        identity = None
        if credentials is not None and credentials.scheme.lower() == "bearer":
            identity = identity_from_token(session, settings, credentials.credentials)
        if identity is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "valid staff token required", headers={"WWW-Authenticate": "Bearer"}
            )
        if not identity.has(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {role} required")
        return identity

    return dependency


def add_user(session: Session, username: str, password: str, role: str) -> StaffUser:
    """Create a staff user or reset an existing one's password and role.

    Raises:
        ValueError: unknown role, empty name or a password shorter than 12 characters.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not username.strip() or len(username) > 80:
        raise ValueError("user name must be 1-80 characters")
    if len(password) < 12:
        raise ValueError("password must have at least 12 characters")
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        user = StaffUser(username=username, password_hash=hash_password(password), role=role)
        session.add(user)
    else:
        user.password_hash = hash_password(password)
        user.role = role
        user.active = True
    session.commit()
    return user
