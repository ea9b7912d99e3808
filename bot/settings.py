"""Settings of the engine side (``bot/``): read once from ``KUMPEL_*`` environment variables.

Pydantic 1 ``BaseSettings``: Rasa 3.6 pins pydantic 1.10, so pydantic-settings cannot be used here.
Values that Rasa's own YAML files read (tracker store, Redis, action endpoint) stay ``${VAR}``
substitutions in endpoints.yml; this class holds what Kumpel's Python code reads.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseSettings

# Space or comma separated; the launcher sets it to the knowledge service's origins.
ORIGINS_ENV = "KUMPEL_CORS_ORIGINS"


class EngineSettings(BaseSettings):
    """What the engine's extensions (channels, limits) read from the environment."""

    # Origins of the pages that may embed the widget; unset: the development defaults of the channel.
    cors_origins: str | None = None
    # "production" refuses what is only fit for development (a '*' origin).
    env: str = "development"
    # Largest request body (and socket.io message) Rasa reads, in bytes; larger ones get 413 unread
    # (bot/limits.py). A chat message is at most 2,000 characters: 64 KiB leaves room for metadata.
    rasa_max_body_bytes: int = 64 * 1024

    class Config:
        env_prefix = "KUMPEL_"


@lru_cache(maxsize=1)
def get_settings() -> EngineSettings:
    """The process's settings, read from the environment on first use."""
    return EngineSettings()
