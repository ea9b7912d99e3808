"""Tables of the inbox: what the bot missed, and the answers a citizen may still rate.

Nothing here names a citizen: no sender or conversation id, and every question is scrubbed of
personal data (``answers/scrub.py``) before it is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, utcnow

KINDS = ("unknown", "clarify", "refused", "ignored_choice", "thumbs_down")
STATUSES = ("open", "done", "dismissed")


class InboxItem(Base):
    """One occurrence of something the bot missed, for the staff to curate.

    ``kind``: ``unknown`` (an honest "I don't know"), ``clarify`` (a "Meinten Sie ...?" with unlikely
    candidates), ``refused`` (the NLU took it for out of scope and the knowledge base did not know it
    either: the citizen was told "Dabei kann ich leider nicht helfen"), ``ignored_choice`` (the
    citizen's next message after a "Meinten Sie ...?" was none of the choices) or ``thumbs_down``.
    ``wording_key`` is the folded question (``core.text.fold``, words only): the same wording twice
    has the same key, which is what "a new occurrence of a dismissed wording" means.
    """

    __tablename__ = "inbox_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    question: Mapped[str] = mapped_column(Text, default="")
    wording_key: Mapped[str] = mapped_column(String(300), index=True)
    topic: Mapped[str] = mapped_column(String(40), default="auto")
    # The entry the bot answered with (a thumbs-down, an ignored choice answered otherwise).
    entry_type: Mapped[str | None] = mapped_column(String(20))
    entry_id: Mapped[str | None] = mapped_column(String(80), index=True)
    # The entries the bot offered in its "Meinten Sie ...?" (ids): where a synonym most likely belongs.
    candidates: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateableAnswer(Base):
    """The scrubbed question behind one answer, kept briefly so that a thumbs-down can name it.

    A rating carries only the bot message's random id; the knowledge service hands out that id with
    the answer and keeps question and entry under it for ``RATEABLE_HOURS``, then forgets them.
    """

    __tablename__ = "inbox_rateable_answers"

    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    question: Mapped[str] = mapped_column(Text, default="")
    topic: Mapped[str] = mapped_column(String(40), default="auto")
    entry_type: Mapped[str | None] = mapped_column(String(20))
    entry_id: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
