"""The console's cookies: the session cookie and the short-lived, signed login-form cookie."""

from __future__ import annotations

import secrets

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..core.settings import Settings
from .sessions import COOKIE_NAME, COOKIE_PATH

LOGIN_COOKIE_NAME = "kumpel_staff_login"
# Long enough to look up a forgotten password in the drawer, short enough that a copied form is stale.
LOGIN_FORM_MAX_AGE_SECONDS = 3600


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Secure whenever the browser came over https (uvicorn applies trusted proxies' X-Forwarded-Proto)."""
    return settings.console_cookie_secure or request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, only for /staff; it lasts as long as the browser."""
    response.set_cookie(
        COOKIE_NAME,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request, settings),
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(
        COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="strict", secure=cookie_secure(request, settings)
    )


def _login_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="kumpel-console-login-form")


def new_login_form_token(response: Response, request: Request, settings: Settings) -> str:
    """A fresh login-form token: its signed copy goes into a cookie, the plain one into the form.

    A page of another site cannot read the cookie, so it cannot post a login form that matches it
    (login CSRF: signing a victim in to the attacker's account).
    """
    nonce = secrets.token_urlsafe(24)
    response.set_cookie(
        LOGIN_COOKIE_NAME,
        _login_serializer(settings).dumps(nonce),
        max_age=LOGIN_FORM_MAX_AGE_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request, settings),
    )
    return nonce


def login_form_token_valid(request: Request, settings: Settings, submitted: str) -> bool:
    """True when the form's token matches the signed, unexpired login cookie."""
    cookie = request.cookies.get(LOGIN_COOKIE_NAME)
    if not cookie or not submitted:
        return False
    try:
        nonce = _login_serializer(settings).loads(cookie, max_age=LOGIN_FORM_MAX_AGE_SECONDS)
    except (BadSignature, SignatureExpired):
        return False
    return isinstance(nonce, str) and secrets.compare_digest(nonce.encode(), submitted.encode())


def clear_login_cookie(response: Response, request: Request, settings: Settings) -> None:
    """The login form is used up."""
    response.delete_cookie(
        LOGIN_COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="strict", secure=cookie_secure(request, settings)
    )
