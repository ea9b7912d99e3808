"""Writing the inbox: called by the answer route and the feedback route, never by staff.

Every question is scrubbed (``answers/scrub.py``) before it is stored; no sender or conversation id
is ever passed in. Each message gives at most one item, of the first kind that applies:
refused > unknown > clarify > ignored_choice.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..answers.scrub import scrub
from ..answers.types import Answer
from ..core.text import fold
from .models import InboxItem, RateableAnswer

# A rating comes seconds or minutes after the answer; two days covers a tab left open overnight.
RATEABLE_HOURS = 48
MAX_KEY = 300
# Expired rateable questions are deleted by the daily ``kumpel-knowledge stats purge`` and, so that a
# service without that job still forgets them within RATEABLE_HOURS and a few minutes, by the answer
# route at most this often per process (in the answer's own transaction): not on every answer.
EXPIRY_EVERY_SECONDS = 600.0
_expiry_lock = threading.Lock()
_next_expiry = 0.0  # time.monotonic() when the next answer deletes expired rateable questions


def wording_key(question: str) -> str:
    """The question folded to its words: 'Wo melde ich meinen Hund an?' == 'wo melde ich meinen hund an'."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(question)))[:MAX_KEY]


def entry_key(entry_id: str | None) -> str:
    """The grouping key of a thumbs-down whose question is no longer known: its entry."""
    return f"#entry:{entry_id or '-'}"


def initial_status(session: Session, key: str) -> str:
    """Open, unless staff dismissed this very wording last time they decided on it.

    Dismissed means "nothing to do, ever" (spam, a joke, something the town does not do): the same
    wording again must not bring it back. Done means "we fixed it" (a FAQ, a synonym): if the bot
    misses the same wording again, the fix did not work, so staff must see it again.
    """
    latest = session.scalar(
        select(InboxItem.status)
        .where(InboxItem.wording_key == key, InboxItem.status != "open")
        .order_by(InboxItem.id.desc())
        .limit(1)
    )
    return "dismissed" if latest == "dismissed" else "open"


def _add(
    session: Session,
    kind: str,
    question: str,
    topic: str,
    candidates: Sequence[str],
    entry: dict[str, str] | None,
    now: datetime | None,
) -> InboxItem:
    key = wording_key(question) or entry_key((entry or {}).get("id"))
    item = InboxItem(
        kind=kind,
        question=question,
        wording_key=key,
        topic=topic,
        entry_type=(entry or {}).get("type"),
        entry_id=(entry or {}).get("id"),
        candidates=list(candidates)[:3],
        status=initial_status(session, key),
    )
    if now is not None:
        item.created_at = now.astimezone(UTC)  # stored in UTC: SQLite keeps no zone
    session.add(item)
    return item


def kind_of(answer: Answer, *, out_of_scope: bool, offered: Sequence[str], chosen: bool) -> str | None:
    """What the inbox makes of one answer, None when the bot did not miss it.

    ``offered``: the candidates of the conversation's last "Meinten Sie ...?"; ``chosen``: the
    citizen pressed one of its buttons. A follow-up asked back with the same candidates ("Und die
    Telefonnummer?") or answered about one of them did not ignore them.
    """
    if answer.unanswered:
        if out_of_scope:
            return "refused"
        return "unknown" if answer.status == "unknown" else "clarify"
    if not offered or chosen:
        return None
    about = (answer.entry or {}).get("id")
    asked_again = answer.status == "clarify" and [c["id"] for c in answer.choices] == list(offered)
    if about in offered or asked_again:
        return None
    return "ignored_choice"


def record_answer(
    session: Session,
    question: str,
    topic: str,
    answer: Answer,
    *,
    out_of_scope: bool = False,
    offered: Sequence[str] = (),
    chosen: bool = False,
    now: datetime | None = None,
    scrub_text: Callable[[str], str] = scrub,
) -> str | None:
    """Record what the bot missed in this answer; return the answer's rateable message id.

    ``scrub_text``: the answer route passes the engine's, which has scrubbed the question already.

    An answer with an entry gets a random message id under which its scrubbed question is kept for
    ``RATEABLE_HOURS`` (see ``EXPIRY_EVERY_SECONDS`` for when older ones are deleted). The rows are
    written (the rateable question by one INSERT, an inbox item added and flushed), not committed:
    the answer route commits once for the whole answer.
    """
    kind = kind_of(answer, out_of_scope=out_of_scope, offered=offered, chosen=chosen)
    clean = scrub_text(question)[:2000].strip() if (kind or answer.entry) and not chosen else ""
    if kind is not None and clean:
        candidates = [c["id"] for c in answer.choices] if answer.status == "clarify" else list(offered)
        _add(session, kind, clean, topic, candidates, answer.entry, now)
    message_id = None
    if answer.status == "answer" and answer.entry:
        message_id = secrets.token_urlsafe(18)
        at = (now or datetime.now(UTC)).astimezone(UTC)
        if _expiry_due():
            delete_expired_rateable(session, at)
        # A plain INSERT on the session's connection: written (or failed) here, not as a miscounted
        # answer in the caller's savepoint, and without an ORM object nobody reads back.
        session.connection().execute(
            insert(RateableAnswer).values(
                message_id=message_id,
                question=clean,
                topic=topic,
                entry_type=answer.entry.get("type"),
                entry_id=answer.entry.get("id"),
                created_at=at,
            )
        )
    if kind is not None:
        session.flush()  # a failed write shows here, not as a miscounted answer in the caller's savepoint
    return message_id


def _expiry_due() -> bool:
    global _next_expiry
    with _expiry_lock:
        now = time.monotonic()
        if now < _next_expiry:
            return False
        _next_expiry = now + EXPIRY_EVERY_SECONDS
        return True


def delete_expired_rateable(session: Session, now: datetime) -> int:
    """Delete the rateable questions older than ``RATEABLE_HOURS`` before ``now``; the caller commits."""
    cutoff = now.astimezone(UTC) - timedelta(hours=RATEABLE_HOURS)
    result = session.execute(delete(RateableAnswer).where(RateableAnswer.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)  # a CursorResult for a DELETE


def record_thumbs_down(session: Session, message_id: str, entry_type: str, entry_id: str) -> InboxItem:
    """A citizen rated an answer down: an item with the question behind it, if it is still known.

    The caller commits. Without a known question (expired, or an answer the action server rated
    under an id of its own) the item names only the entry, and groups with the entry's other such
    ratings.
    """
    rateable = session.get(RateableAnswer, message_id)
    question = rateable.question if rateable is not None else ""
    topic = rateable.topic if rateable is not None else "auto"
    return _add(session, "thumbs_down", question, topic, [], {"type": entry_type, "id": entry_id}, None)
