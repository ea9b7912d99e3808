"""Value types of the answer engine and its HTTP contract (docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..kb.models import Faq, Office, Service
from ..search.types import Status

__all__ = ["Answer", "AnswerInput", "Entry", "Status", "Topic"]

Topic = Literal["service", "opening_hours", "contact", "fees", "documents", "office", "faq", "auto"]
Entry = Service | Office | Faq


@dataclass
class AnswerInput:
    """A question as the action server sends it."""

    question: str
    topic: Topic = "auto"
    service_id: str | None = None
    office_id: str | None = None
    entity_id: str | None = None
    now: datetime | None = None
    # The entries offered in the conversation's last "Meinten Sie ...?" (for follow-ups).
    candidates: tuple[str, ...] = ()


@dataclass
class Answer:
    """The reply, as in the contract of ``POST /api/v1/answer``."""

    status: Status
    text: str
    choices: list[dict[str, str]] = field(default_factory=list)
    source: dict[str, str] | None = None
    entry: dict[str, str] | None = None
    context: dict[str, str | None] = field(default_factory=lambda: {"service_id": None, "office_id": None})
    confidence: float = 0.0
    # True when the knowledge base counts the question as not answered (an honest "I don't know" or
    # a question back with unlikely candidates): it is recorded for the staff.
    unanswered: bool = False
