"""Conversation ids and log ids for messenger users that reveal no phone number or chat id.

``conversation_id("whatsapp", "+4915112345678")`` is ``"whatsapp-<32 hex>"``: an HMAC-SHA256 of the
platform's user id under ``KUMPEL_CHANNEL_ID_SECRET``. A plain hash would not do: phone numbers are
few enough to hash them all. The id must stay the same across restarts, or every citizen's
conversation is lost: in production the secret is required; in development it is created once in
``var/channel-id-secret`` (mode 0600) and read from there on every start.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

SECRET_ENV = "KUMPEL_CHANNEL_ID_SECRET"
ENV_ENV = "KUMPEL_ENV"
# The repository root (bot/channels/messenger/identity.py -> three parents up).
ROOT = Path(__file__).resolve().parents[3]
DEVELOPMENT_SECRET_FILE = ROOT / "var" / "channel-id-secret"
MIN_PRODUCTION_SECRET_CHARS = 32
ID_HEX_CHARS = 32
LOG_ID_HEX_CHARS = 12


class ChannelSecretMissing(RuntimeError):
    """Production without a usable ``KUMPEL_CHANNEL_ID_SECRET``: a channel must not start."""


def load_secret(environ: Mapping[str, str] | None = None, secret_file: Path = DEVELOPMENT_SECRET_FILE) -> str:
    """The secret from the environment, or (development only) from ``secret_file``, created once."""
    env = os.environ if environ is None else environ
    configured = env.get(SECRET_ENV, "").strip()
    production = env.get(ENV_ENV, "development").strip().lower() == "production"
    if production:
        if len(configured) < MIN_PRODUCTION_SECRET_CHARS:
            raise ChannelSecretMissing(
                f"{SECRET_ENV} must be set to at least {MIN_PRODUCTION_SECRET_CHARS} characters in production "
                "(and never change: the conversation ids of all messenger users are derived from it)"
            )
        return configured
    return configured or _development_secret(secret_file)


def _development_secret(path: Path) -> str:
    """The secret in ``path``; created atomically (mode 0600) by the first process that needs it."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a private temporary file and linked into place: a second process starting at the
    # same moment either links first or reads the complete file, never a half-written one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its secret
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


@lru_cache(maxsize=1)
def channel_id_secret() -> str:
    """The process's secret (read once). Channels call it at start-up so production fails early."""
    return load_secret()


def _mac(secret: str, value: str) -> str:
    return hmac.new(secret.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def conversation_id(channel: str, platform_user_id: str, *, secret: str | None = None) -> str:
    """``"<channel>-<32 hex>"``: the stable conversation id of one user of one channel.

    The channel is part of the MAC, so one phone number on WhatsApp and on another channel gives
    two unrelated ids: the tracker store cannot link a citizen's conversations across messengers.
    """
    key = channel_id_secret() if secret is None else secret
    return f"{channel}-{_mac(key, f'{channel}:{platform_user_id}')[:ID_HEX_CHARS]}"


def log_id(value: str, *, secret: str | None = None) -> str:
    """A short keyed hash of ``value`` (a chat id, a message id) for log lines that must correlate.

    Keyed differently from :func:`conversation_id`, so a log line does not name the conversation.
    """
    key = channel_id_secret() if secret is None else secret
    return _mac(key, f"log:{value}")[:LOG_ID_HEX_CHARS]
