"""Checks of a platform's signature or shared secret, in constant time, on the raw request body."""

from __future__ import annotations

import hashlib
import hmac
import time

HUB_SIGNATURE_PREFIX = "sha256="
# Updates older than this are refused as replays (where the platform signs a timestamp).
MAX_AGE_SECONDS = 300.0
# Clocks drift: an update up to this far in the future is still accepted.
MAX_CLOCK_SKEW_SECONDS = 60.0


def constant_equal(received: str | bytes | None, expected: str | bytes | None) -> bool:
    """``received == expected`` in constant time; never true for a missing or empty expected value.

    An empty secret in the configuration must not let an empty header through.
    """
    if received is None or not expected:
        return False
    left = received.encode("utf-8") if isinstance(received, str) else received
    right = expected.encode("utf-8") if isinstance(expected, str) else expected
    return hmac.compare_digest(left, right)


def hub_signature(body: bytes, app_secret: str) -> str:
    """Meta's ``X-Hub-Signature-256`` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return HUB_SIGNATURE_PREFIX + digest


def verify_hub_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` (``X-Hub-Signature-256``) is Meta's signature of the raw ``body`` with ``app_secret``."""
    if not header or not app_secret or not header.startswith(HUB_SIGNATURE_PREFIX):
        return False
    return constant_equal(header.strip().lower(), hub_signature(body, app_secret))


def is_fresh(
    timestamp: float | int | str | None, *, now: float | None = None, max_age: float = MAX_AGE_SECONDS
) -> bool:
    """Whether a platform's Unix ``timestamp`` is at most ``max_age`` seconds old (not a replay)."""
    try:
        sent = float(timestamp)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    return current - max_age <= sent <= current + MAX_CLOCK_SKEW_SECONDS
