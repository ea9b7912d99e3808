"""Writing the dashboard's events: one call from the answer route, one from the form-event route.

Counting must never cost a citizen an answer: a failed write is logged (without content) and dropped.
An answer's count joins the answer route's one transaction inside a savepoint, so a failed count
never costs the inbox's row either.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from .models import AnswerEvent, ConversationDayKey, FormEvent

log = logging.getLogger(__name__)


def answer_kind(status: str, unanswered: bool, out_of_scope: bool) -> str:
    """The dashboard's kind of one answer.

    "refused" mirrors the action server's out-of-scope action: the NLU took the message for something
    the town does not offer, and the knowledge base did not know better (it did not know, or asked
    back with unlikely candidates), so the citizen was told that Kumpel cannot help with it.
    """
    if out_of_scope and (status == "unknown" or (status == "clarify" and unanswered)):
        return "refused"
    return {"answer": "answered", "clarify": "clarify"}.get(status, "unknown")


def _hour_and_day(now: datetime, city_timezone: str) -> tuple[datetime, date]:
    utc = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return utc, now.astimezone(ZoneInfo(city_timezone)).date()


def day_key(session: Session, day: date) -> bytes:
    """The HMAC key of ``day``, made at random on first use; the keys of other days are deleted.

    A key derived from a lasting secret could be recomputed for any day, and with it a conversation
    linked across days; a random key that is gone the next day cannot be. Kept in the database, so all
    replicas of the service use the same key on the same day.
    """
    found = _stored_day_key(session, day)
    if found is None:
        # A savepoint, committed with the caller's transaction (the first answer of the day).
        try:
            with session.begin_nested():
                session.execute(delete(ConversationDayKey).where(ConversationDayKey.day != day))
                session.add(ConversationDayKey(day=day, key=secrets.token_hex(32)))
        except IntegrityError:  # another replica made it at the same moment: use theirs
            pass
        found = _stored_day_key(session, day)
        assert found is not None
    return bytes.fromhex(found)


def _stored_day_key(session: Session, day: date) -> str | None:
    # A plain SELECT on the session's connection: read on every answer, it needs no ORM object.
    statement = select(ConversationDayKey.key).where(ConversationDayKey.day == day)
    return session.connection().execute(statement).scalar_one_or_none()


def conversation_key(session: Session, day: date, conversation_id: str) -> str:
    """An anonymous key of one conversation for one day (HMAC-SHA256 under the day's key)."""
    digest = hmac.new(day_key(session, day), conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:32]


def record_answer(
    session: Session,
    *,
    now: datetime,
    city_timezone: str,
    status: str,
    unanswered: bool,
    topic: str,
    entry: dict[str, str] | None,
    conversation_id: str | None,
    out_of_scope: bool = False,
) -> None:
    """Count one answer of ``POST /api/v1/answer`` (no question text is passed, none is stored).

    Written in a savepoint of the caller's transaction; the caller commits. A count that fails is
    rolled back to the savepoint, logged and dropped: the caller's other writes stay.
    """
    hour, day = _hour_and_day(now, city_timezone)
    try:
        with session.begin_nested():
            key = conversation_key(session, day, conversation_id) if conversation_id else None
            # One INSERT on the session's connection (inside the savepoint): nothing reads the row
            # back, so it needs neither an ORM object nor a flush of the unit of work.
            session.connection().execute(
                insert(AnswerEvent).values(
                    day=day,
                    hour=hour,
                    kind=answer_kind(status, unanswered, out_of_scope),
                    topic=topic[:40],
                    entry_type=(entry or {}).get("type"),
                    entry_id=(entry or {}).get("id"),
                    conversation_key=key,
                )
            )
    except SQLAlchemyError as error:
        log.warning("an answer was not counted: %s", type(error).__name__)


def record_form_event(session: Session, *, now: datetime, city_timezone: str, form: str, event: str) -> None:
    """Count one form started or cancelled (errors reach the caller: the action server retries nothing)."""
    hour, day = _hour_and_day(now, city_timezone)
    session.add(FormEvent(day=day, hour=hour, form=form, event=event))
    session.commit()


def purge_before(session: Session, today: date, retention_days: int) -> int:
    """Delete the events older than ``retention_days`` before ``today``; returns how many."""
    cutoff = today - timedelta(days=retention_days)
    deleted = 0
    for model in (AnswerEvent, FormEvent):
        result = session.execute(delete(model).where(model.day < cutoff))
        deleted += int(getattr(result, "rowcount", 0) or 0)  # a CursorResult for a DELETE
    session.commit()
    return deleted
