"""The running stack the integration and browser tests share (both venvs import it).

``make_stack`` gives a stack on free ports with its own databases and the clock pinned to
``FIXED_NOW``; ``Conversation`` is one citizen talking to it over the REST channel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kumpel_stack.launcher import Ports, Stack

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


@dataclass
class Conversation:
    """One citizen talking to the bot over the REST channel."""

    stack: Stack
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")
    last: list[dict[str, Any]] = field(default_factory=list)

    def say(self, text: str) -> list[dict[str, Any]]:
        """Send one message; returns (and keeps) the bot's replies."""
        self.last = self.stack.send(text, self.sender)
        return self.last

    @property
    def text(self) -> str:
        """All bot texts of the last turn, joined: what the citizen reads."""
        return "\n".join(str(m["text"]) for m in self.last if "text" in m)

    @property
    def buttons(self) -> list[dict[str, str]]:
        """The buttons of the last turn, in order."""
        return [b for m in self.last for b in m.get("buttons", []) or []]

    @property
    def custom(self) -> list[dict[str, Any]]:
        """The custom payloads of the last turn."""
        return [m["custom"] for m in self.last if "custom" in m]
