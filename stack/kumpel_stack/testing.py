"""The running stack the integration and browser tests share (both venvs import it)."""

from __future__ import annotations

from pathlib import Path

from bot.stack import Ports, Stack

# A Monday morning, no holiday: "is it open now?" has a reproducible answer.
FIXED_NOW = "2026-11-23T10:00:00+01:00"


def make_stack(state: Path, **extra_env: str) -> Stack:
    """A stack on free ports with its own databases under `state` and the clock pinned to FIXED_NOW."""
    env = {
        "KUMPEL_FIXED_NOW": FIXED_NOW,
        "KUMPEL_DATABASE_URL": f"sqlite:///{state / 'kumpel.db'}",
        "KUMPEL_TRACKER_DB": str(state / "tracker.db"),
    }
    env.update(extra_env)
    return Stack(ports=Ports.free(), state_dir=state, extra_env=env)

