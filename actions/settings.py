"""Settings of the action server: read once from ``KUMPEL_*`` environment variables.

Pydantic 1 ``BaseSettings``: the action server shares Rasa 3.6's venv, which pins pydantic 1.10,
so pydantic-settings cannot be used here. Nothing in ``actions/`` reads ``os.environ`` itself.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseSettings, validator

DEFAULT_KNOWLEDGE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEZONE = "Europe/Berlin"
PRODUCTION = "production"
# The action server's secret: what every request but the health check must carry (actions/server.py).
MIN_SERVER_SECRET_LENGTH = 32
# Values seen in docs, examples and earlier defaults: known to everyone, so never a secret.
PLACEHOLDER_SECRETS = frozenset({"secret", "password", "test", "development", "action-server-secret"})
PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "placeholder", "example", "replace-me", "your-secret")


class InsecureSecretError(ValueError):
    """The action server was asked to start without a usable KUMPEL_ACTION_SERVER_SECRET."""


class ActionSettings(BaseSettings):
    """What the action server reads from the environment (``KUMPEL_<NAME>``)."""

    # The knowledge service's base URL (the launcher sets it; empty means the default).
    knowledge_url: str = DEFAULT_KNOWLEDGE_URL
    # Bearer token the action server proves itself with to the knowledge service ("" sends none).
    action_token: str = ""
    # The city's time zone: what "today" means for a form's dates.
    timezone: str = DEFAULT_TIMEZONE
    # "production" refuses what is only fit for tests and demos (a pinned clock).
    env: str = "development"
    # A pinned clock (ISO datetime) for reproducible tests and demos; without an offset it is read in
    # ``timezone``. Refused in production: there "now" must be now.
    fixed_now: datetime | None = None
    # Rasa proves itself to the action server with this (endpoints.yml: "Authorization: Bearer ...");
    # only the server reads it, so actions and their tests run without one (see server_secret()).
    action_server_secret: str = ""

    class Config:
        env_prefix = "KUMPEL_"

    @validator("knowledge_url", pre=True)
    def _default_when_empty(cls, value: Any) -> Any:
        return value or DEFAULT_KNOWLEDGE_URL

    @validator("timezone")
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"KUMPEL_TIMEZONE: unknown time zone {value!r}") from error
        return value

    @validator("fixed_now", pre=True)
    def _unset_when_empty(cls, value: Any) -> Any:
        return value or None

    @validator("fixed_now")
    def _not_in_production(cls, value: datetime | None, values: dict[str, Any]) -> datetime | None:
        if value is None:
            return None
        if values.get("env") == PRODUCTION:
            raise ValueError(
                "KUMPEL_FIXED_NOW pins the clock for tests and demos; it is refused with KUMPEL_ENV=production"
            )
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(values.get("timezone") or DEFAULT_TIMEZONE))
        return value

    def server_secret(self) -> str:
        """The secret the action server requires, or InsecureSecretError: it refuses to start without one.

        Without a secret anyone who reaches the port could run any action with a forged tracker (store
        a form without the dialogue). The launcher always sets a random one; in production it must be
        at least MIN_SERVER_SECRET_LENGTH characters and no placeholder.
        """
        secret = self.action_server_secret.strip()
        if not secret:
            raise InsecureSecretError(
                "KUMPEL_ACTION_SERVER_SECRET is not set: the action server accepts only the engine, which sends "
                "it (endpoints.yml). Set the same random value for Rasa and the action server."
            )
        if self.env == PRODUCTION and is_placeholder_secret(secret):
            raise InsecureSecretError(
                "Refusing to start with KUMPEL_ENV=production: KUMPEL_ACTION_SERVER_SECRET must be a random "
                f"value of at least {MIN_SERVER_SECRET_LENGTH} characters, not a placeholder."
            )
        return secret

    @property
    def tz(self) -> tzinfo:
        """The city's time zone as a ``tzinfo``."""
        return ZoneInfo(self.timezone)


def is_placeholder_secret(value: str) -> bool:
    """True for a secret that is short or a known placeholder."""
    normalised = value.strip().lower()
    return (
        len(normalised) < MIN_SERVER_SECRET_LENGTH
        or normalised in PLACEHOLDER_SECRETS
        or any(marker in normalised for marker in PLACEHOLDER_MARKERS)
    )


@lru_cache(maxsize=1)
def get_settings() -> ActionSettings:
    """The process's settings, read from the environment on first use."""
    return ActionSettings()
