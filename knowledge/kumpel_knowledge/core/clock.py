"""The service's clock, injected so that tests and the answer API can fix "now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)
