"""A running Kumpel for conversation tests: the real trained bot, action server and knowledge service.

One stack per test session on free ports, with its own databases in a temporary folder.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest

from bot.stack import Stack
from tests.stack_support import make_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with make_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@dataclass
class Conversation:
    """One citizen talking to the bot over the REST channel."""

    stack: Stack
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")
    last: list[dict[str, Any]] = field(default_factory=list)

    def say(self, text: str) -> list[dict[str, Any]]:
        self.last = self.stack.send(text, self.sender)
        return self.last

    @property
    def text(self) -> str:
        """All bot texts of the last turn, joined: what the citizen reads."""
        return "\n".join(str(m["text"]) for m in self.last if "text" in m)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.last for b in m.get("buttons", []) or []]

    @property
    def custom(self) -> list[dict[str, Any]]:
        return [m["custom"] for m in self.last if "custom" in m]


@pytest.fixture
def conversation(stack: Stack) -> Conversation:
    return Conversation(stack)
