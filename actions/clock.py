"""The action server's clock: what "now" is for an answer and "today" for a form.

Injected into the actions (``clock=``), so a unit test passes ``fixed_clock(...)`` instead of
setting the environment; in the running server it comes from the settings (``KUMPEL_FIXED_NOW``
pins it for integration tests and demos).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from actions.settings import ActionSettings

# Returns an aware datetime.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, as an aware datetime (UTC)."""
    return datetime.now(timezone.utc)


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always says ``moment`` (which must carry its offset)."""
    if moment.tzinfo is None:
        raise ValueError("a fixed clock needs an aware datetime (with its UTC offset)")

    def clock() -> datetime:
        return moment

    return clock


def clock_from_settings(settings: ActionSettings) -> Clock:
    """The pinned clock when ``KUMPEL_FIXED_NOW`` is set, else the system clock."""
    return fixed_clock(settings.fixed_now) if settings.fixed_now is not None else system_clock
