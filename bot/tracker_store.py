"""Rasa's SQL tracker store, with a retention: conversations idle longer than it are deleted.

A conversation holds what the citizen typed, form answers included (names, addresses, IBANs), so
it must not be kept for ever. Redis does this itself (``record_exp``); Rasa's SQL store has no
expiry, so this subclass deletes every conversation whose newest event is older than
``retention_seconds``: on start, then at most every ``purge_interval_seconds`` when a
conversation is saved, and when a conversation read for a new turn turns out to be expired (so an
expired conversation is never continued, even between two purges).

Configured in endpoints.yml::

    tracker_store:
      type: bot.tracker_store.RetainingSQLTrackerStore
      dialect: sqlite
      db: ${KUMPEL_TRACKER_DB}
      retention_seconds: ${KUMPEL_TRACKER_RETENTION_SECONDS}

``retention_seconds`` empty (or 0) keeps conversations for ever, as Rasa's own store does.

Per turn it costs what the turn needs, not what the conversation has grown to:

- ``retrieve`` gives a *bounded* tracker (``bot.bounded_tracker``): the state so far plus the last
  ``TAIL_TURNS`` turns; ``retrieve_full_tracker`` (history, exports) still reads everything;
- ``save`` appends the events added since the tracker was read, without counting the stored ones
  again (Rasa runs one more query per save for that) and without serialising anything twice;
- SQLite runs in WAL mode with ``synchronous=NORMAL`` on pooled connections (Rasa opens a new
  connection per query): a commit no longer waits for the disk. A crash of the process loses
  nothing committed; a power cut or an OS crash may lose the last turns committed before it (the
  database stays consistent): for a chat, the citizen sends the message again.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot.bounded_tracker import (
    SKELETON_TYPES,
    STATE_TYPES,
    TAIL_TURNS,
    CachedState,
    SkeletonRow,
    StateCache,
    decode,
    skeleton_event,
    state_events,
)
from bot.tracker_deletion import delete_conversation

logger = logging.getLogger(__name__)

DEFAULT_PURGE_INTERVAL_SECONDS = 300.0
# On a tracker this store built: how many of its events are stored already (``save`` appends the rest).
STORED_EVENTS_ATTRIBUTE = "_kumpel_stored_events"


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL: readers do not block the writer (several Rasa workers); NORMAL: no fsync per commit."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _seconds(value: float | str | None, name: str) -> float:
    """Endpoint values arrive as strings after ${VAR} substitution; "" means not set."""
    if value is None or str(value).strip() == "":
        return 0.0
    try:
        seconds = float(value)
    except ValueError as error:
        raise ValueError(f"tracker store: {name} must be a number of seconds, not {value!r}") from error
    if seconds < 0:
        raise ValueError(f"tracker store: {name} must not be negative")
    return seconds


class RetainingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that deletes conversations after ``retention_seconds`` of silence."""

    def __init__(
        self,
        *args: Any,
        retention_seconds: float | str | None = None,
        purge_interval_seconds: float | str | None = DEFAULT_PURGE_INTERVAL_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._pool_sqlite_connections()
        self._states = StateCache()
        self.retention_seconds = _seconds(retention_seconds, "retention_seconds")
        self.purge_interval_seconds = _seconds(purge_interval_seconds, "purge_interval_seconds")
        self._next_purge = 0.0
        self.purge_expired()

    def _pool_sqlite_connections(self) -> None:
        """Reuse SQLite connections (SQLAlchemy 1.4 opens one per session for a file) with the pragmas."""
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]  # Rasa leaves it unannotated
        url = engine.url
        if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:"):
            return
        engine.dispose()
        self.engine = sa.create_engine(
            url, poolclass=QueuePool, pool_size=2, max_overflow=8, connect_args={"check_same_thread": False}
        )
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(bind=self.engine)

    def purge_expired(self, now: float | None = None) -> int:
        """Delete every conversation whose newest event is older than the retention; returns events deleted."""
        if not self.retention_seconds:
            return 0
        now = time.time() if now is None else now
        cutoff = now - self.retention_seconds
        event = self.SQLEvent
        with self.session_scope() as session:
            idle = select(event.sender_id).group_by(event.sender_id).having(func.max(event.timestamp) < cutoff)
            deleted = session.query(event).filter(event.sender_id.in_(idle)).delete(synchronize_session=False)
            session.commit()
        self._next_purge = now + self.purge_interval_seconds
        if deleted:
            # Counts only: sender ids may be personal (a messenger's user id).
            logger.info("tracker retention: deleted %d events of expired conversations", deleted)
        return int(deleted)

    def _purge_if_due(self) -> None:
        if self.retention_seconds and time.time() >= self._next_purge:
            self.purge_expired()

    def _unless_expired(self, tracker: DialogueStateTracker | None) -> DialogueStateTracker | None:
        """The tracker, or None after deleting it if it has been idle too long (between two purges).

        Judged from the events just read (the newest is always in the current session), so a
        turn costs no extra query.
        """
        if tracker is None or not self.retention_seconds or not tracker.events:
            return tracker
        if tracker.events[-1].timestamp >= time.time() - self.retention_seconds:
            return tracker
        delete_conversation(self, tracker.sender_id)
        return None

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return self._unless_expired(self._retrieve_bounded(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return self._unless_expired(await super().retrieve_full_tracker(conversation_id))

    def _retrieve_bounded(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session's state plus its last ``TAIL_TURNS`` turns (see ``bot.bounded_tracker``)."""
        event = self.SQLEvent
        columns = (event.id, event.timestamp, event.type_name, event.action_name)
        with self.session_scope() as session:
            in_session = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            tail_start = (
                in_session.filter(event.type_name == "action", event.action_name == "action_listen")
                .order_by(None)
                .order_by(event.id.desc())
                .offset(TAIL_TURNS - 1)
                .limit(1)
                .with_entities(event.id)
                .scalar()
            )
            tail = in_session.filter(event.id >= (tail_start or 0)).with_entities(*columns, event.data).all()
            if tail_start is None or not tail:
                self._states.drop(sender_id)
                skeleton: list[Any] = []
                earlier: list[Event] = []
            else:
                cached = self._states.get(sender_id)
                state_data = sa.case((event.type_name.in_(STATE_TYPES), event.data), else_=None)
                since = cached.start_id if cached and cached.start_id <= tail_start else 0
                skeleton = (
                    in_session.filter(event.id >= since, event.id < tail_start, event.type_name.in_(SKELETON_TYPES))
                    .with_entities(*columns, state_data)
                    .all()
                )
                # The cached state holds if its start event is still the one it was taken at.
                start_row = skeleton[0] if skeleton else tail[0]
                if (
                    cached
                    and since
                    and (start_row.id, start_row.timestamp) == (cached.start_id, cached.start_timestamp)
                ):
                    earlier = list(cached.events)
                else:
                    earlier = []
                    if since:  # stale: the whole skeleton after all
                        skeleton = (
                            in_session.filter(event.id < tail_start, event.type_name.in_(SKELETON_TYPES))
                            .with_entities(*columns, state_data)
                            .all()
                        )
        if not tail or self.domain is None:
            return None
        slots = list(self.domain.slots)
        events: list[Event] = []
        if tail_start is not None:
            earlier.extend(skeleton_event(SkeletonRow(row[2], row[3], row[4])) for row in skeleton)
            events = state_events(sender_id, earlier, slots, at=tail[0].timestamp)
            self._states.put(sender_id, CachedState(tail[0].id, tail[0].timestamp, events))
        events = list(events)
        events.extend(decode(row.data) for row in tail)
        tracker = DialogueStateTracker.from_events(sender_id, events, slots)
        setattr(tracker, STORED_EVENTS_ATTRIBUTE, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        stored = getattr(tracker, STORED_EVENTS_ATTRIBUTE, None)
        if stored is None or stored > len(tracker.events) or self.event_broker is not None:
            # Not built here (a new conversation), or a broker that wants Rasa's own diff: Rasa's way.
            await super().save(tracker)
        else:
            self._append(tracker, list(tracker.events)[stored:])
        setattr(tracker, STORED_EVENTS_ATTRIBUTE, len(tracker.events))
        self._purge_if_due()

    def _append(self, tracker: DialogueStateTracker, events: list[Event]) -> None:
        """Store the events added since the tracker was read (as Rasa's ``save`` stores each event)."""
        if not events:
            return
        with self.session_scope() as session:
            for new in events:
                data = new.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=new.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=((data.get("parse_data") or {}).get("intent") or {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
