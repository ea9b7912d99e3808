"""The tables the dashboard counts from: one row per answer, one per form start or cancel, the day keys.

Only counts-worthy fields: no question text, no sender id. A conversation appears only as an HMAC of
its id under the key of its day (``ConversationDayKey``); the key of a past day is deleted, so a
conversation cannot be linked across days, nor back to its sender.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base

# The kinds of answer the dashboard shows, in the order of its stacked chart.
ANSWER_KINDS = ("answered", "clarify", "unknown", "refused")
FORM_EVENTS = ("started", "cancelled")


class AnswerEvent(Base):
    """One answer of the knowledge service: when (by hour), which kind, about what."""

    __tablename__ = "answer_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The town's calendar day (KUMPEL_TIMEZONE), so "per day" is one GROUP BY.
    day: Mapped[date] = mapped_column(Date, index=True)
    # The start of the hour in UTC: enough for "busiest hours", too coarse to single out a message.
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(12))
    topic: Mapped[str] = mapped_column(String(40))
    entry_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    entry_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    conversation_key: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FormEvent(Base):
    """A form started or cancelled in the chat (submitted ones are counted from ``submissions``)."""

    __tablename__ = "form_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    form: Mapped[str] = mapped_column(String(80))
    event: Mapped[str] = mapped_column(String(12))


class ConversationDayKey(Base):
    """The random HMAC key of one day; only today's is kept."""

    __tablename__ = "stats_day_keys"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
